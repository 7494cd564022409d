//! The demo's forms are seeded as published versions of their services (both
//! databases), and the rule engine runs on them.

use crate::on_each_backend;
use crate::support::TestApp;
use crate::verwaltung::{Jar, get, hidden, post, sign_in};
use amtsweg_forms::{Answer, Answers, Date, validate};

#[tokio::test]
async fn demo_forms_are_published_and_checked_by_the_engine() {
    on_each_backend!(|app| {
        let town = app.authority_id("moorbrueck").await;
        let forms = app.store.store.forms_of(town).await.unwrap();
        assert_eq!(forms.len(), 6, "Briefwahl, Hundesteuer, Kita, Meldebescheinigung, Osterfeuer, Personalausweis");
        assert!(forms.iter().all(|f| f.published_version == 1 && f.leistung_id.is_some()));
        let briefwahl = app.store.store.form_by_slug(town, "briefwahl").await.unwrap().unwrap();
        let form = app.store.store.form_version(town, briefwahl.id, 1).await.unwrap().unwrap().form().unwrap();
        let today = Date::new(2026, 11, 23).unwrap();
        let empty = validate(&form, None, &Answers::new(), today);
        assert!(empty.iter().any(|p| p.path == "familienname" && p.message.contains("Familienname")));
        // The other address is asked for only when chosen.
        let mut a = Answers::new();
        for (k, v) in [
            ("vorname", "Erika"),
            ("familienname", "Mustermann"),
            ("geburtsdatum", "12.08.1964"),
            ("strasse", "Heidestraße 17"),
            ("plz", "29391"),
            ("ort", "Moorbrück"),
            ("versand", "wohnung"),
            ("versicherung", "ja"),
        ] {
            a.insert(k.into(), Answer::One(v.into()));
        }
        assert!(validate(&form, None, &a, today).is_empty());
        a.insert("versand".into(), Answer::One("andere".into()));
        let p = validate(&form, None, &a, today);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].path, "versandanschrift");
    });
}

/// The FIM schema "Blaue Karte EU" (when the conformance files are there) imports
/// completely, is published for the county and renders as a citizen's form.
#[tokio::test]
async fn the_fim_blaue_karte_form_imports_publishes_and_renders() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/xdatenfelder/xdf2/S00000121_BlaueKarteEU.xml");
    if !file.is_file() {
        eprintln!("SKIPPED: no conformance files at {}", file.display());
        return;
    }
    on_each_backend!(|app| {
        let path = amtsweg::seed::import_published_form(&app.store.store, &file).await.unwrap();
        assert_eq!(path, amtsweg::seed::import_published_form(&app.store.store, &file).await.unwrap(), "once");
        amtsweg_web::sync::refresh(&app.state).await.unwrap();
        let page = app.get(&path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert!(page.body.contains("Schritt 1 von"), "{}", page.body);
        assert!(page.body.contains("<form method=\"post\""));
        let county = app.authority_id("landkreis-heidekamp").await;
        let forms = app.store.store.forms_of(county).await.unwrap();
        assert_eq!(forms.len(), 1);
        assert_eq!(forms[0].published_version, 1);
    });
}

/// Starts `form` of Moorbrück and sends its first page; returns the draft's address
/// (ending in `/`) and the reply.
async fn first_page(app: &TestApp, jar: &mut Jar, form: &str, fields: &str) -> (String, crate::support::Reply) {
    let path = format!("/o/moorbrueck/antrag/{form}/");
    let page = get(app, jar, &path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let first = format!("csrf={}&token={}", hidden(&page.body, "csrf"), hidden(&page.body, "token"));
    let r = post(app, jar, &path, &format!("{first}&aktion=weiter&{fields}")).await;
    let draft = r.location().rsplit_once('/').map(|(d, _)| format!("{d}/")).unwrap_or_default();
    (draft, r)
}

/// The "Andere Anschrift" of the Briefwahl is not offered as optional and then
/// demanded: it says when it is needed. Choices are chosen, declarations confirmed,
/// and a birth date that does not exist is called that — not a format error.
#[tokio::test]
async fn the_form_runtime_says_what_it_means() {
    on_each_backend!(|app| {
        let mut jar = Jar::default();
        let page = get(app, &mut jar, "/o/moorbrueck/antrag/briefwahl/").await;
        // The birth-date hint is an example in the past (the field wants someone of 16 or older).
        assert!(!page.body.contains("24.12.2026"), "{}", page.body);
        let hint = page.body.split("id=\"hinweis-f-geburtsdatum\">Zum Beispiel ").nth(1).expect("a birth-date example");
        let example = Date::parse(&hint[..10]).unwrap();
        assert!(example.years_until(amtsweg_portal::time::today()) >= 16, "{example:?}");

        let (_, r) = first_page(
            app,
            &mut jar,
            "briefwahl",
            "f.vorname=Erika&f.familienname=Muster&f.geburtsdatum=31.02.1980&f.strasse=Am+Markt+1&f.plz=29391&f.ort=Moorbr%C3%BCck",
        )
        .await;
        assert_eq!(r.status, 422);
        assert!(
            r.body.contains("Den 31.02.1980 gibt es nicht. Bitte prüfen Sie bei „Geburtsdatum“ Tag und Monat."),
            "{}",
            r.body
        );
        assert!(!r.body.contains("als TT.MM.JJJJ an"), "31.02.1980 has the right format");

        let (draft, r) = first_page(
            app,
            &mut jar,
            "briefwahl",
            "f.vorname=Erika&f.familienname=Muster&f.geburtsdatum=28.02.1980&f.strasse=Am+Markt+1&f.plz=29391&f.ort=Moorbr%C3%BCck",
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let versand = get(app, &mut jar, &format!("{draft}versand")).await;
        let label = versand.body.split("for=\"f-versandanschrift\">").nth(1).unwrap().split("</label>").next().unwrap();
        assert!(!label.contains("freiwillig"), "the other address is not optional: {label}");
        assert!(
            versand.body.contains(
                "Nur auszufüllen, wenn „Wohin sollen die Unterlagen?“ ist „an eine andere Anschrift“. Dann ist diese Angabe Pflicht."
            ),
            "{}",
            versand.body
        );
        let e_mail = versand.body.split("for=\"f-email\">").nth(1).unwrap().split("</label>").next().unwrap();
        assert!(e_mail.contains("(freiwillig)"), "a truly optional field still says so: {e_mail}");
        let csrf = hidden(&versand.body, "csrf");
        let r = post(app, &mut jar, &format!("{draft}versand"), &format!("csrf={csrf}&aktion=weiter")).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("Bitte wählen Sie bei „Wohin sollen die Unterlagen?“ eine Antwort aus."), "{}", r.body);
        assert!(!r.body.contains("Bitte füllen Sie „Wohin"), "a radio is chosen, not filled in");
        let r =
            post(app, &mut jar, &format!("{draft}versand"), &format!("csrf={csrf}&aktion=weiter&f.versand=wohnung"))
                .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let r = post(app, &mut jar, &format!("{draft}erklaerung"), &format!("csrf={csrf}&aktion=weiter")).await;
        assert_eq!(r.status, 422);
        assert!(
            r.body
                .contains("Bitte bestätigen Sie „Ich versichere, dass ich die Unterlagen für mich selbst beantrage“."),
            "{}",
            r.body
        );
    });
}

/// Hundesteuer: no amount before any dog is entered (it showed "−30,00 €"), then
/// 90 € for the first and 135 € for every further dog, as the service text says.
#[tokio::test]
async fn the_dog_tax_is_shown_once_the_dogs_are_entered_and_matches_the_service_text() {
    on_each_backend!(|app| {
        let mut jar = Jar::default();
        let (draft, r) =
            first_page(app, &mut jar, "hundesteuer", "f.name=Erika+Muster&f.email=erika%40example.org").await;
        assert_eq!(r.status, 303, "{}", r.body);
        let dogs = get(app, &mut jar, &format!("{draft}hunde")).await;
        assert!(!dogs.body.contains("Hundesteuer im Jahr"), "no amount before the dogs: {}", dogs.body);
        assert!(!dogs.body.contains("−") && !dogs.body.contains("-30,00"));
        let csrf = hidden(&dogs.body, "csrf");
        for (n, amount) in [(1, "90,00 €"), (2, "225,00 €"), (3, "360,00 €")] {
            let mut body = format!("csrf={csrf}&aktion=weiter&g.hunde.anzahl={n}");
            for i in 0..n {
                body.push_str(&format!(
                    "&g.hunde.{i}.rufname=Hund{i}&g.hunde.{i}.rasse=Mischling&g.hunde.{i}.seit=01.03.2024"
                ));
            }
            let r = post(app, &mut jar, &format!("{draft}hunde"), &body).await;
            assert_eq!(r.status, 303, "{}", r.body);
            let next = get(app, &mut jar, &format!("{draft}zahlung")).await;
            assert!(next.body.contains("Hundesteuer im Jahr"), "{}", next.body);
            assert!(next.body.contains(amount), "{n} dogs cost {amount}: {}", next.body);
        }
    });
}

/// The computed-amount builder expresses the demo's tariffs without JSON: a
/// Staffel (first dog, every further dog) and a Befreiung (associations and fire
/// brigades pay nothing), with plain-language errors.
#[tokio::test]
async fn editors_build_tiered_fees_and_exemptions_without_json() {
    on_each_backend!(|app| {
        let town = app.authority_id("moorbrueck").await;
        let mut jar = sign_in(app, "redaktion@moorbrueck.example").await;
        for (slug, expected) in [
            (
                "hundesteuer",
                "Staffel nach die Einträge bei „Hund“: 90,00 € für die erste Einheit, 135,00 € für jede weitere",
            ),
            ("osterfeuer", "Befreit, wenn"),
        ] {
            let form = app.store.store.form_by_slug(town, slug).await.unwrap().unwrap();
            let rules = format!("/verwaltung/behoerden/moorbrueck/formulare/{}/regeln", form.id);
            let page = get(app, &mut jar, &rules).await;
            assert_eq!(page.status, 200, "{}", page.body);
            assert!(page.body.contains(expected), "{slug}: {}", page.body);
            assert!(page.body.contains("?berechnet=0#berechnet-bearbeiten"), "{slug}: editable without JSON");
            let edit = get(app, &mut jar, &format!("{rules}?berechnet=0")).await;
            assert_eq!(edit.status, 200);
            if slug == "osterfeuer" {
                for pair in ["art=verein", "art=feuerwehr", "art=kirchengemeinde"] {
                    assert!(edit.body.contains(&format!("value=\"{pair}\" selected")), "{pair}: {}", edit.body);
                }
                assert!(
                    edit.body.contains("id=\"feld-grundbetrag\" name=\"grundbetrag\"")
                        && edit.body.contains("value=\"15,00\"")
                );
            } else {
                assert!(edit.body.contains("value=\"hunde\" selected") && edit.body.contains("value=\"135,00\""));
            }
        }
        // A new Staffel: a missing amount for every further unit is named in plain
        // words, a complete one is stored as the engine's Staffel.
        let form = app.store.store.form_by_slug(town, "hundesteuer").await.unwrap().unwrap();
        let rules = format!("/verwaltung/behoerden/moorbrueck/formulare/{}/regeln", form.id);
        let page = get(app, &mut jar, &rules).await;
        let csrf = hidden(&page.body, "csrf");
        let version = hidden(&page.body, "version");
        let r = post(
            app,
            &mut jar,
            &rules,
            &format!("csrf={csrf}&version={version}&aktion=berechnet_neu&berechnet_label=Probe&staffel_einheiten=hunde&staffel_erste=90"),
        )
        .await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(
            r.body.contains("Bitte geben Sie an, was jede weitere Einheit kostet, zum Beispiel 135,00."),
            "{}",
            r.body
        );
        let r = post(
            app,
            &mut jar,
            &rules,
            &format!("csrf={csrf}&version={version}&aktion=berechnet_neu&berechnet_label=Probe&staffel_einheiten=hunde&staffel_erste=90&staffel_weitere=135"),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let draft = app.store.store.form_by_slug(town, "hundesteuer").await.unwrap().unwrap().draft().unwrap();
        let probe = draft.computed.iter().find(|c| c.label == "Probe").unwrap();
        assert_eq!(
            probe.expr,
            amtsweg_forms::Expr::Sum(vec![amtsweg_forms::Expr::Tiered {
                units: "hunde".into(),
                first: 9000,
                further: 13_500
            }])
        );
    });
}
