//! The form editor in the back office: building a form without JSON (steps, fields,
//! groups, order, options, conditions, rules, computed amounts), the structural check,
//! optimistic locking, preview, JSON export and import, XDatenfelder upload,
//! publishing, versions, and that nobody edits another authority's forms.

use crate::on_each_backend;
use crate::support::{Reply, TestApp};
use crate::verwaltung::{Jar, enc, get, hidden, post, sign_in};
use amtsweg_forms::{Computed, Cond, Expr, Form, Group, Item, Kind, Repeat, Rule};

const LIST: &str = "/verwaltung/behoerden/moorbrueck/formulare/";

fn body_of(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}={}", enc(v))).collect::<Vec<_>>().join("&")
}

/// Sends a form of the page at `page` (its CSRF token and draft version) to `target`.
async fn send(app: &TestApp, jar: &mut Jar, page: &str, target: &str, fields: &[(&str, &str)]) -> Reply {
    let p = get(app, jar, page).await;
    assert_eq!(p.status, 200, "{page}: {}", p.body);
    let (csrf, version) = (hidden(&p.body, "csrf"), hidden(&p.body, "version"));
    let mut all = vec![("csrf", csrf.as_str()), ("version", version.as_str())];
    all.extend_from_slice(fields);
    post(app, jar, target, &body_of(&all)).await
}

/// One change in the editor; it must be stored.
async fn change(app: &TestApp, jar: &mut Jar, editor: &str, fields: &[(&str, &str)]) -> Reply {
    let r = send(app, jar, editor, editor, fields).await;
    assert_eq!(r.status, 303, "{fields:?}: {}", r.body);
    r
}

async fn draft(app: &TestApp, slug: &str) -> (Form, i64) {
    let town = app.authority_id("moorbrueck").await;
    let row = app.store.store.form_by_slug(town, slug).await.unwrap().unwrap();
    (row.draft().unwrap(), row.draft_version)
}

fn ids(form: &Form, step: usize) -> Vec<String> {
    form.steps[step]
        .items
        .iter()
        .map(|i| match i {
            Item::Field(f) => f.id.clone(),
            Item::Group(g) => g.id.clone(),
        })
        .collect()
}

fn field<'f>(form: &'f Form, id: &str) -> &'f amtsweg_forms::Field {
    form.steps
        .iter()
        .flat_map(|s| &s.items)
        .find_map(|i| match i {
            Item::Field(f) if f.id == id => Some(f),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no field {id}"))
}

fn group<'f>(form: &'f Form, id: &str) -> &'f Group {
    form.steps
        .iter()
        .flat_map(|s| &s.items)
        .find_map(|i| match i {
            Item::Group(g) if g.id == id => Some(g),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no group {id}"))
}

#[tokio::test]
async fn form_editor_builds_checks_and_publishes_a_form() {
    on_each_backend!(|app| {
        let mut jar = sign_in(app, "redaktion@moorbrueck.example").await;
        let start = get(app, &mut jar, "/verwaltung/").await;
        assert!(start.body.contains("href=\"/verwaltung/behoerden/moorbrueck/formulare/\""), "linked from the start");
        let list = get(app, &mut jar, LIST).await;
        assert_eq!(list.status, 200);
        assert!(list.body.contains("Fassung 1 veröffentlicht") && list.body.contains("briefwahl"), "{}", list.body);

        // A new form: a title is needed.
        let csrf = hidden(&list.body, "csrf");
        let empty = post(app, &mut jar, &format!("{LIST}neu"), &body_of(&[("csrf", &csrf), ("title", " ")])).await;
        assert_eq!(empty.status, 422);
        assert!(empty.body.contains("href=\"#feld-title\"") && empty.body.contains("Es wurde nichts gespeichert"));
        let r = post(
            app,
            &mut jar,
            &format!("{LIST}neu"),
            &body_of(&[("csrf", &csrf), ("title", "Sondernutzung beantragen")]),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let editor = r.location().split('?').next().unwrap().to_owned();
        assert!(editor.starts_with(LIST));
        let slug = "sondernutzung-beantragen";
        let page = get(app, &mut jar, &editor).await;
        assert!(page.body.contains("Ihre Angaben") && page.body.contains("noch nicht veröffentlicht"), "{}", page.body);

        // Steps and fields, ids made from the labels.
        change(app, &mut jar, &editor, &[("aktion", "schritt_neu"), ("schritt_titel", "Ort und Zeit")]).await;
        for (label, art, pflicht) in [("Name", "name", "ja"), ("Verein", "text", ""), ("E-Mail-Adresse", "email", "")] {
            let r = change(
                app,
                &mut jar,
                &editor,
                &[("aktion", "feld_neu"), ("schritt", "angaben"), ("label", label), ("art", art), ("pflicht", pflicht)],
            )
            .await;
            // Back to the step's pane, to add the next field; the new one is marked in the outline.
            assert!(
                r.location().starts_with(&format!("{editor}?schritt=angaben&hinweis=gespeichert#element-")),
                "{}",
                r.location()
            );
        }
        let r = change(
            app,
            &mut jar,
            &editor,
            &[
                ("aktion", "feld_neu"),
                ("schritt", "angaben"),
                ("label", "Art der Nutzung"),
                ("art", "radio"),
                ("pflicht", "ja"),
            ],
        )
        .await;
        assert_eq!(r.location(), format!("{editor}/felder/art_der_nutzung?hinweis=neu"), "choices are set up next");
        for label in ["Beginn", "Ende"] {
            let fields = [("aktion", "feld_neu"), ("schritt", "ort_und_zeit"), ("label", label), ("art", "date")];
            change(app, &mut jar, &editor, &fields).await;
        }
        let (form, _) = draft(app, slug).await;
        assert_eq!(ids(&form, 0), ["name", "verein", "e_mail_adresse", "art_der_nutzung"]);
        assert_eq!(ids(&form, 1), ["beginn", "ende"]);
        assert!(field(&form, "name").required && !field(&form, "verein").required);
        assert_eq!(amtsweg_forms::check(&form), Vec::<String>::new());
        let page = get(app, &mut jar, &editor).await;
        assert!(page.body.contains("Auswahl (eine Möglichkeit)") && page.body.contains("Pflichtangabe"));

        // Reorder fields and steps.
        change(app, &mut jar, &editor, &[("aktion", "element_runter"), ("element", "verein")]).await;
        change(app, &mut jar, &editor, &[("aktion", "element_runter"), ("element", "verein")]).await;
        change(app, &mut jar, &editor, &[("aktion", "element_hoch"), ("element", "art_der_nutzung")]).await;
        let (form, _) = draft(app, slug).await;
        assert_eq!(ids(&form, 0), ["name", "art_der_nutzung", "e_mail_adresse", "verein"]);
        change(app, &mut jar, &editor, &[("aktion", "schritt_hoch"), ("schritt", "ort_und_zeit")]).await;
        assert_eq!(draft(app, slug).await.0.steps[0].id, "ort_und_zeit");
        change(app, &mut jar, &editor, &[("aktion", "schritt_runter"), ("schritt", "ort_und_zeit")]).await;
        change(
            app,
            &mut jar,
            &editor,
            &[("aktion", "schritt_umbenennen"), ("schritt", "angaben"), ("schritt_titel", "Wer beantragt?")],
        )
        .await;
        change(app, &mut jar, &editor, &[("aktion", "element_loeschen"), ("element", "e_mail_adresse")]).await;
        let (form, _) = draft(app, slug).await;
        assert_eq!((form.steps[0].title.as_str(), form.steps[1].id.as_str()), ("Wer beantragt?", "ort_und_zeit"));
        assert_eq!(ids(&form, 0), ["name", "art_der_nutzung", "verein"]);

        // A field's options and a condition on another field.
        let art = format!("{editor}/felder/art_der_nutzung");
        let page = get(app, &mut jar, &art).await;
        assert!(page.body.contains("moeglichkeit_1 = Möglichkeit 1"), "{}", page.body);
        let options = "stand = Infostand\nfest = Straßenfest\nBaustelle";
        let fields = [("label", "Art der Nutzung"), ("art", "radio"), ("pflicht", "ja"), ("optionen", options)];
        let r = send(app, &mut jar, &art, &art, &fields).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let verein = format!("{editor}/felder/verein");
        let page = get(app, &mut jar, &verein).await;
        assert!(page.body.contains("value=\"art_der_nutzung=fest\""), "conditions offer the options");
        let verein_fields = [
            ("label", "Verein"),
            ("art", "text"),
            ("max_len", "120"),
            ("hint", "Wer richtet das Fest aus?"),
            ("sichtbar", "art_der_nutzung=fest"),
            ("pflicht_wenn", "art_der_nutzung=fest"),
        ];
        assert_eq!(send(app, &mut jar, &verein, &verein, &verein_fields).await.status, 303);
        let (form, version) = draft(app, slug).await;
        let Kind::Radio { options } = &field(&form, "art_der_nutzung").kind else { panic!("not a radio") };
        let values: Vec<&str> = options.iter().map(|o| o.value.as_str()).collect();
        assert_eq!(values, ["stand", "fest", "baustelle"]);
        let v = field(&form, "verein");
        assert_eq!(v.kind, Kind::Text { max_len: 120 });
        assert_eq!(v.visible_if, Some(Cond::Equals { field: "art_der_nutzung".into(), value: "fest".into() }));
        assert!(v.required_if.is_some() && v.hint == "Wer richtet das Fest aus?");

        // The check: duplicate option values are shown, nothing is stored.
        let fields = [("label", "Art der Nutzung"), ("art", "radio"), ("optionen", "a = Eins\na = Zwei")];
        let r = send(app, &mut jar, &art, &art, &fields).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("„a“ kommt mehrfach vor") && r.body.contains("href=\"#feld-optionen\""), "{}", r.body);
        assert!(r.body.contains("a = Eins\na = Zwei"), "what was typed is kept");
        // An option a condition uses cannot go.
        let fields = [("label", "Art der Nutzung"), ("art", "radio"), ("optionen", "stand = Infostand")];
        let r = send(app, &mut jar, &art, &art, &fields).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("den Wert „fest“"), "{}", r.body);
        // Typed input errors name the input.
        let fields = [("label", "Verein"), ("art", "text"), ("max_len", "viele")];
        let r = send(app, &mut jar, &verein, &verein, &fields).await;
        assert!(r.status == 422 && r.body.contains("href=\"#feld-max_len\""));
        // A step id that is a path word of the journey (only possible through JSON).
        let mut reserved = form.clone();
        reserved.steps[1].id = "pruefen".into();
        let json = serde_json::to_string(&reserved).unwrap();
        let r = send(app, &mut jar, &editor, &format!("{editor}/json"), &[("json", &json)]).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("reserviert") && r.body.contains("href=\"#feld-json\""), "{}", r.body);
        assert!(r.body.contains("<details open>"), "the JSON stays open with what was typed");
        assert_eq!(draft(app, slug).await, (form.clone(), version), "nothing stored");

        // A stale page: someone else saved in between.
        let stale = get(app, &mut jar, &editor).await;
        change(
            app,
            &mut jar,
            &editor,
            &[("aktion", "formular"), ("title", "Sondernutzung beantragen"), ("trust_level", "normal")],
        )
        .await;
        let body = body_of(&[
            ("csrf", &hidden(&stale.body, "csrf")),
            ("version", &hidden(&stale.body, "version")),
            ("aktion", "element_loeschen"),
            ("element", "name"),
        ]);
        let r = post(app, &mut jar, &editor, &body).await;
        assert_eq!(r.status, 409);
        assert!(r.body.contains("hat jemand anderes dieses Formular gespeichert"), "{}", r.body);
        assert!(ids(&draft(app, slug).await.0, 0).contains(&"name".to_owned()), "not deleted");
        let r = send(app, &mut jar, &verein, &verein, &verein_fields).await;
        assert_eq!(r.status, 303, "saving unchanged is fine");
        let body = format!(
            "csrf={}&version={}&label=Verein&art=text",
            hidden(&stale.body, "csrf"),
            hidden(&stale.body, "version")
        );
        assert_eq!(post(app, &mut jar, &verein, &body).await.status, 409, "the field page too");

        // Rules across fields; a field a rule needs cannot be deleted.
        let rules = format!("{editor}/regeln");
        let fields = [
            ("aktion", "nach"),
            ("nach_feld", "ende"),
            ("nach_anderes", "beginn"),
            ("nach_meldung", "Das Ende liegt nach dem Beginn."),
        ];
        assert_eq!(send(app, &mut jar, &rules, &rules, &fields).await.status, 303);
        let r =
            send(app, &mut jar, &rules, &rules, &[("aktion", "frist"), ("frist_feld", "beginn"), ("frist_tage", "x")])
                .await;
        assert!(r.status == 422 && r.body.contains("#feld-frist_tage") && r.body.contains("#feld-frist_meldung"));
        let (form, _) = draft(app, slug).await;
        assert_eq!(
            form.rules,
            [Rule::DateAfter {
                field: "ende".into(),
                other: "beginn".into(),
                message: "Das Ende liegt nach dem Beginn.".into()
            }]
        );
        let r = send(app, &mut jar, &editor, &editor, &[("aktion", "element_loeschen"), ("element", "beginn")]).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("Regel 1: das Feld „beginn“ gibt es nicht"), "{}", r.body);
        let page = get(app, &mut jar, &rules).await;
        assert!(page.body.contains("„Ende“ muss nach „Beginn“ liegen."));

        // A step with fields is deleted only when confirmed.
        change(app, &mut jar, &editor, &[("aktion", "schritt_neu"), ("schritt_titel", "Anlagen")]).await;
        let fields = [("aktion", "feld_neu"), ("schritt", "anlagen"), ("label", "Lageplan"), ("art", "file")];
        let r = change(app, &mut jar, &editor, &fields).await;
        assert_eq!(r.location(), format!("{editor}/felder/lageplan?hinweis=neu"));
        let r = send(app, &mut jar, &editor, &editor, &[("aktion", "schritt_loeschen"), ("schritt", "anlagen")]).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("href=\"#loeschen-anlagen\""));
        change(app, &mut jar, &editor, &[("aktion", "schritt_loeschen"), ("schritt", "anlagen"), ("bestaetigt", "ja")])
            .await;
        assert_eq!(draft(app, slug).await.0.steps.len(), 2);

        // Preview as a citizen.
        let preview = get(app, &mut jar, &format!("{editor}/vorschau")).await;
        assert_eq!(preview.status, 200);
        for text in [
            "Vorschau",
            "Art der Nutzung",
            "Straßenfest",
            "Verein",
            "Beginn",
            "Nur gefragt, wenn „Art der Nutzung“ ist „Straßenfest“",
        ] {
            assert!(preview.body.contains(text), "{text}: {}", preview.body);
        }
        assert!(!preview.body.contains("<form method=\"post\" action=\"/o/"), "nothing to submit");

        // JSON export → import round trip.
        let export = get(app, &mut jar, &format!("{editor}/json")).await;
        assert_eq!(export.status, 200);
        assert!(export.headers["content-type"].to_str().unwrap().starts_with("application/json"));
        assert!(export.headers["content-disposition"].to_str().unwrap().starts_with("attachment"));
        let exported: Form = serde_json::from_str(&export.body).unwrap();
        assert_eq!(exported, draft(app, slug).await.0);
        let list = get(app, &mut jar, LIST).await;
        let csrf = hidden(&list.body, "csrf");
        let r =
            post(app, &mut jar, &format!("{LIST}import"), &body_of(&[("csrf", &csrf), ("json", &export.body)])).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let town = app.authority_id("moorbrueck").await;
        let copy = app.store.store.form_by_slug(town, "sondernutzung-beantragen-2").await.unwrap().unwrap();
        assert_eq!(copy.draft().unwrap(), exported, "a free short name is made from the form's id");
        let r =
            post(app, &mut jar, &format!("{LIST}import"), &body_of(&[("csrf", &csrf), ("json", "{\"id\": 1}")])).await;
        assert!(r.status == 422 && r.body.contains("Das JSON ist kein Formular"));
        // Replacing the draft from JSON.
        let mut changed = exported.clone();
        changed.title = "Sondernutzung öffentlicher Straßen".into();
        let json = serde_json::to_string_pretty(&changed).unwrap();
        let r = send(app, &mut jar, &editor, &format!("{editor}/json"), &[("json", &json)]).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(draft(app, slug).await.0, changed);

        // Publish: version 1, reachable by citizens at once.
        let r = send(app, &mut jar, &editor, &format!("{editor}/veroeffentlichen"), &[]).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(r.location(), format!("{editor}?hinweis=veroeffentlicht"));
        let row = app.store.store.form_by_slug(town, slug).await.unwrap().unwrap();
        assert_eq!(row.published_version, 1);
        let citizen = app.get_with(&format!("/o/moorbrueck/antrag/{slug}/"), "localhost", None).await;
        assert_eq!(citizen.status, 200);
        assert!(citizen.body.contains("Sondernutzung öffentlicher Straßen"));
        // An empty step cannot be published.
        change(app, &mut jar, &editor, &[("aktion", "schritt_neu"), ("schritt_titel", "Leer")]).await;
        let r = send(app, &mut jar, &editor, &format!("{editor}/veroeffentlichen"), &[]).await;
        assert!(r.status == 422 && r.body.contains("Der Schritt „Leer“ hat noch keine Felder."));
        change(app, &mut jar, &editor, &[("aktion", "schritt_loeschen"), ("schritt", "leer")]).await;
        // A stale publish is refused.
        let stale = get(app, &mut jar, &editor).await;
        let fields =
            [("label", "Name der Antragstellerin oder des Antragstellers"), ("art", "name"), ("pflicht", "ja")];
        let name = format!("{editor}/felder/name");
        assert_eq!(send(app, &mut jar, &name, &name, &fields).await.status, 303);
        let body = format!("csrf={}&version={}", hidden(&stale.body, "csrf"), hidden(&stale.body, "version"));
        let r = post(app, &mut jar, &format!("{editor}/veroeffentlichen"), &body).await;
        assert_eq!(r.status, 409);

        // Versions: the draft against version 1, then version 2 against version 1.
        let versions = get(app, &mut jar, &format!("{editor}/versionen")).await;
        assert_eq!(versions.status, 200);
        assert!(versions.body.contains("Entwurf gegenüber Fassung 1"), "{}", versions.body);
        assert!(versions.body.contains("Feld geändert: „Name der Antragstellerin oder des Antragstellers“ (name)"));
        assert_eq!(send(app, &mut jar, &editor, &format!("{editor}/veroeffentlichen"), &[]).await.status, 303);
        let versions = get(app, &mut jar, &format!("{editor}/versionen")).await;
        assert!(
            versions.body.contains("Fassung 2, veröffentlicht")
                && versions.body.contains("Änderungen gegenüber Fassung 1")
        );
        assert!(versions.body.contains("Der Entwurf entspricht Fassung 2."));
        let list = get(app, &mut jar, LIST).await;
        assert!(list.body.contains("Fassung 2 veröffentlicht"));
    });
}

#[tokio::test]
async fn form_editor_builds_groups_and_computed_amounts() {
    on_each_backend!(|app| {
        let mut jar = sign_in(app, "redaktion@moorbrueck.example").await;
        let list = get(app, &mut jar, LIST).await;
        let csrf = hidden(&list.body, "csrf");
        let r = post(
            app,
            &mut jar,
            &format!("{LIST}neu"),
            &body_of(&[("csrf", &csrf), ("title", "Kita-Platz beantragen")]),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let editor = r.location().split('?').next().unwrap().to_owned();
        let slug = "kita-platz-beantragen";
        // A choice the fee depends on, and an e-mail address at the top level.
        let fields = [("aktion", "feld_neu"), ("schritt", "angaben"), ("label", "Betreuung"), ("art", "radio")];
        change(app, &mut jar, &editor, &fields).await;
        let betreuung = format!("{editor}/felder/betreuung");
        let fields = [
            ("label", "Betreuung"),
            ("art", "radio"),
            ("pflicht", "ja"),
            ("optionen", "halbtags = Halbtags\nganztags = Ganztags"),
        ];
        assert_eq!(send(app, &mut jar, &betreuung, &betreuung, &fields).await.status, 303);
        let fields = [("aktion", "feld_neu"), ("schritt", "angaben"), ("label", "E-Mail-Adresse"), ("art", "email")];
        change(app, &mut jar, &editor, &fields).await;

        // "Gruppe hinzufügen": a repeating group with its first field.
        let new_group = |label: &'static str, min: &'static str, max: &'static str, first: &'static str| {
            [
                ("aktion", "gruppe_neu"),
                ("schritt", "angaben"),
                ("gruppe_label", label),
                ("mehrfach", if max.is_empty() { "" } else { "ja" }),
                ("min", min),
                ("max", max),
                ("label", first),
                ("art", "text"),
                ("pflicht", "ja"),
            ]
        };
        let r = change(app, &mut jar, &editor, &new_group("Elternteil", "1", "2", "Name")).await;
        assert_eq!(r.location(), format!("{editor}/gruppen/elternteil?hinweis=gruppe"), "the new group's pane");
        // Problems of the inputs link to them; nothing is stored.
        let before = draft(app, slug).await;
        let r = send(app, &mut jar, &editor, &editor, &new_group("", "3", "2", "")).await;
        assert_eq!(r.status, 422);
        for text in [
            "href=\"#neu-gruppe-angaben\"",
            "href=\"#neu-gruppe-min-angaben\"",
            "Mindestens 3 Einträge sind mehr als höchstens 2.",
            "href=\"#neu-gruppe-feld-angaben\"",
            "Es wurde nichts gespeichert",
        ] {
            assert!(r.body.contains(text), "{text}: {}", r.body);
        }
        assert_eq!(draft(app, slug).await, before);

        // The group's page: a second field, its id scoped to the repeating group.
        let gruppe = format!("{editor}/gruppen/elternteil");
        let page = get(app, &mut jar, &gruppe).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Gruppe „Elternteil“ bearbeiten") && page.body.contains("value=\"2\""));
        let fields = [("aktion", "feld_neu"), ("feld_label", "E-Mail-Adresse"), ("feld_art", "email")];
        let r = send(app, &mut jar, &gruppe, &gruppe, &fields).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(r.location(), format!("{gruppe}?hinweis=feld#felder"));
        let (form, _) = draft(app, slug).await;
        let g = group(&form, "elternteil");
        assert_eq!((g.label.as_str(), g.repeat), ("Elternteil", Some(Repeat { min: 1, max: 2 })));
        let inner: Vec<&str> = g.fields.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(inner, ["name", "e_mail_adresse"], "the step's e-mail address does not count");
        assert!(g.fields[0].required && !g.fields[1].required);
        assert_eq!(ids(&form, 0), ["betreuung", "e_mail_adresse", "elternteil"]);
        assert_eq!(amtsweg_forms::check(&form), Vec::<String>::new());
        let page = get(app, &mut jar, &editor).await;
        assert!(page.body.contains("Wiederholbare Gruppe, 1 bis 2 Einträge"), "{}", page.body);
        assert!(page.body.contains(&format!("href=\"{gruppe}\"")));
        assert!(page.body.contains(&format!("href=\"{editor}/felder/elternteil.e_mail_adresse\"")));

        // Label and limits on the group's page.
        let settings = |label: &'static str, mehrfach: &'static str, min: &'static str, max: &'static str| {
            [("aktion", "speichern"), ("label", label), ("mehrfach", mehrfach), ("min", min), ("max", max)]
        };
        let r = send(app, &mut jar, &gruppe, &gruppe, &settings("Elternteile", "ja", "1", "3")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(r.location(), format!("{gruppe}?hinweis=gespeichert"), "the group's pane again");
        let (form, _) = draft(app, slug).await;
        let g = group(&form, "elternteil");
        assert_eq!((g.label.as_str(), g.repeat), ("Elternteile", Some(Repeat { min: 1, max: 3 })));
        // min > max: the error links to the input, what was typed stays, nothing is stored.
        let before = draft(app, slug).await;
        let r = send(app, &mut jar, &gruppe, &gruppe, &settings("Eltern", "ja", "4", "2")).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("Mindestens 4 Einträge sind mehr als höchstens 2."), "{}", r.body);
        assert!(r.body.contains("href=\"#feld-min\"") && r.body.contains("Es wurde nichts gespeichert"));
        assert!(r.body.contains("value=\"4\"") && r.body.contains("value=\"Eltern\""));
        assert_eq!(draft(app, slug).await, before);
        // Without repetition its e-mail address would clash with the step's: refused by the check.
        let r = send(app, &mut jar, &gruppe, &gruppe, &settings("Elternteile", "", "", "")).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("mehrere Felder") && r.body.contains("href=\"#feld-mehrfach\""), "{}", r.body);
        assert_eq!(draft(app, slug).await, before);

        // A plain group: moved up, deleted only when confirmed.
        change(app, &mut jar, &editor, &new_group("Kontakt", "", "", "Telefon")).await;
        let (form, _) = draft(app, slug).await;
        assert_eq!(group(&form, "kontakt").repeat, None);
        change(app, &mut jar, &editor, &[("aktion", "element_hoch"), ("element", "kontakt")]).await;
        assert_eq!(ids(&draft(app, slug).await.0, 0), ["betreuung", "e_mail_adresse", "kontakt", "elternteil"]);
        let r = send(app, &mut jar, &editor, &editor, &[("aktion", "element_loeschen"), ("element", "kontakt")]).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("href=\"#gruppe-loeschen-kontakt\""), "{}", r.body);
        let fields = [("aktion", "element_loeschen"), ("element", "kontakt"), ("bestaetigt", "ja")];
        change(app, &mut jar, &editor, &fields).await;
        assert_eq!(ids(&draft(app, slug).await.0, 0), ["betreuung", "e_mail_adresse", "elternteil"]);
        // … and on its own page.
        change(app, &mut jar, &editor, &new_group("Geschwister", "", "4", "Vorname")).await;
        let geschwister = format!("{editor}/gruppen/geschwister");
        let r = send(app, &mut jar, &geschwister, &geschwister, &[("aktion", "loeschen")]).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("href=\"#feld-bestaetigt\""), "{}", r.body);
        let r = send(app, &mut jar, &geschwister, &geschwister, &[("aktion", "loeschen"), ("bestaetigt", "ja")]).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(ids(&draft(app, slug).await.0, 0), ["betreuung", "e_mail_adresse", "elternteil"]);
        assert_eq!(get(app, &mut jar, &geschwister).await.status, 404);

        // A computed fee from the three parts of the builder.
        let rules = format!("{editor}/regeln");
        let page = get(app, &mut jar, &rules).await;
        assert!(page.body.contains("Berechnete Beträge") && page.body.contains("Je Eintrag in „Elternteile“"));
        assert!(page.body.contains("value=\"betreuung=ganztags\""), "{}", page.body);
        let fee = |aktion: &'static str, fixed: &'static str| {
            [
                ("aktion", aktion),
                ("nr", "0"),
                ("berechnet_label", "Gebühr"),
                ("grundbetrag", fixed),
                ("je_gruppe", "elternteil"),
                ("je_betrag", "10,50"),
                ("wenn", "betreuung=ganztags"),
                ("dann_betrag", "40"),
                ("sonst_betrag", "20,00"),
            ]
        };
        let r = send(app, &mut jar, &rules, &rules, &fee("berechnet_neu", "25")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(r.location(), format!("{rules}#berechnet"));
        let expr = |fixed: i64| {
            Expr::Sum(vec![
                Expr::Cents(fixed),
                Expr::Product(vec![Expr::Count("elternteil".into()), Expr::Cents(1050)]),
                Expr::If {
                    when: Cond::Equals { field: "betreuung".into(), value: "ganztags".into() },
                    then: Box::new(Expr::Cents(4000)),
                    otherwise: Box::new(Expr::Cents(2000)),
                },
            ])
        };
        let (form, _) = draft(app, slug).await;
        assert_eq!(form.computed, [Computed { id: "gebuehr".into(), label: "Gebühr".into(), expr: expr(2500) }]);
        let export = get(app, &mut jar, &format!("{editor}/json")).await;
        let json: serde_json::Value = serde_json::from_str(&export.body).unwrap();
        assert_eq!(
            json["computed"][0]["expr"],
            serde_json::json!({"sum": [
                {"cents": 2500},
                {"product": [{"count": "elternteil"}, {"cents": 1050}]},
                {"if": {"when": {"equals": {"field": "betreuung", "value": "ganztags"}},
                        "then": {"cents": 4000}, "otherwise": {"cents": 2000}}}
            ]})
        );
        // Incomplete parts: the error links to the input, nothing is stored.
        let fields = [("aktion", "berechnet_neu"), ("berechnet_label", "Zuschlag"), ("je_gruppe", "elternteil")];
        let r = send(app, &mut jar, &rules, &rules, &fields).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("href=\"#feld-je_betrag\"") && r.body.contains("value=\"Zuschlag\""), "{}", r.body);
        assert_eq!(draft(app, slug).await.0.computed.len(), 1);
        // Edited in the builder, which shows the stored parts.
        let edit = format!("{rules}?berechnet=0");
        let page = get(app, &mut jar, &edit).await;
        assert!(page.body.contains("Berechneten Betrag „Gebühr“ ändern"), "{}", page.body);
        assert!(page.body.contains("value=\"25,00\"") && page.body.contains("value=\"10,50\""));
        let r = send(app, &mut jar, &edit, &rules, &fee("berechnet_aendern", "30")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(draft(app, slug).await.0.computed[0].expr, expr(3000));
        // A second amount, then deleted.
        let fields = [("aktion", "berechnet_neu"), ("berechnet_label", "Zuschlag"), ("grundbetrag", "5")];
        assert_eq!(send(app, &mut jar, &rules, &rules, &fields).await.status, 303);
        assert_eq!(draft(app, slug).await.0.computed[1].expr, Expr::Sum(vec![Expr::Cents(500)]));
        let fields = [("aktion", "berechnet_loeschen"), ("nr", "1")];
        assert_eq!(send(app, &mut jar, &rules, &rules, &fields).await.status, 303);
        assert_eq!(draft(app, slug).await.0.computed.len(), 1);
        // An amount of another shape (from the JSON) is shown read-only and kept.
        let (mut form, _) = draft(app, slug).await;
        form.computed.push(Computed {
            id: "porto".into(),
            label: "Porto".into(),
            expr: Expr::If {
                when: Cond::Filled { field: "e_mail_adresse".into() },
                then: Box::new(Expr::Cents(0)),
                otherwise: Box::new(Expr::Cents(95)),
            },
        });
        let json = serde_json::to_string(&form).unwrap();
        assert_eq!(send(app, &mut jar, &editor, &format!("{editor}/json"), &[("json", &json)]).await.status, 303);
        let page = get(app, &mut jar, &rules).await;
        assert!(page.body.contains("passt nicht in die einfache Eingabe"), "{}", page.body);
        assert!(!page.body.contains("regeln?berechnet=1"), "no builder for it");
        let fields = [("aktion", "berechnet_loeschen"), ("nr", "1")];
        let r = send(app, &mut jar, &rules, &rules, &fields).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("href=\"#berechnet-1\""), "{}", r.body);
        assert_eq!(draft(app, slug).await.0, form);

        // The preview shows the group and the fee.
        let preview = get(app, &mut jar, &format!("{editor}/vorschau")).await;
        assert_eq!(preview.status, 200);
        for text in ["Elternteile 1", "1 bis 3 Einträge", "Anzahl der Einträge bei „Elternteile“", "Gebühr"] {
            assert!(preview.body.contains(text), "{text}: {}", preview.body);
        }

        // Published: citizens fill in the group's rows.
        let r = send(app, &mut jar, &editor, &format!("{editor}/veroeffentlichen"), &[]).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let citizen = app.get_with(&format!("/o/moorbrueck/antrag/{slug}/"), "localhost", None).await;
        assert_eq!(citizen.status, 200);
        for text in [
            "id=\"g-elternteil-0\"",
            "<legend>Elternteile 1</legend>",
            "name=\"g.elternteil.0.e_mail_adresse\"",
            "name=\"g.elternteil.anzahl\" value=\"1\"",
            "Weitere Angabe zu „Elternteile“ hinzufügen",
        ] {
            assert!(citizen.body.contains(text), "{text}: {}", citizen.body);
        }
    });
}

/// Uploads a file through the form on the list page.
async fn upload(app: &TestApp, jar: &mut Jar, name: &str, bytes: &[u8], kurzname: &str) -> Reply {
    let list = get(app, jar, LIST).await;
    let csrf = hidden(&list.body, "csrf");
    let fields = [("csrf", csrf.as_str()), ("kurzname", kurzname), ("leistung", "")];
    app.post_multipart(&format!("{LIST}xdatenfelder"), &fields, ("datei", name, bytes), &jar.header()).await
}

#[tokio::test]
async fn xdatenfelder_upload_creates_a_draft_and_refuses_broken_files() {
    on_each_backend!(|app| {
        let mut jar = sign_in(app, "redaktion@moorbrueck.example").await;
        let town = app.authority_id("moorbrueck").await;
        let before = app.store.store.forms_of(town).await.unwrap().len();
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../xdf/tests/fixtures/xdf1");
        // Broken and foreign files are refused with the importer's message.
        let broken = std::fs::read(fixtures.join("broken-halfway.xml")).unwrap();
        let r = upload(app, &mut jar, "broken-halfway.xml", &broken, "").await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("Import abgelehnt") && r.body.contains("endet mitten im Dokument"), "{}", r.body);
        assert!(r.body.contains("href=\"#feld-datei\""));
        let r = upload(app, &mut jar, "kein.xml", b"<html><body>kein Schema</body></html>", "").await;
        assert!(r.status == 422 && r.body.contains("kein XDatenfelder-Dokument"), "{}", r.body);
        let r = upload(app, &mut jar, "bild.xml", &[0xff, 0xd8, 0xff, 0xe0], "").await;
        assert!(r.status == 422 && r.body.contains("keine Textdatei in UTF-8"));
        assert_eq!(app.store.store.forms_of(town).await.unwrap().len(), before, "nothing stored");

        // An xdf1 schema from the repository.
        let xml = std::fs::read(fixtures.join("sondernutzung.xml")).unwrap();
        let r = upload(app, &mut jar, "sondernutzung.xml", &xml, "sondernutzung-xdf").await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.body.contains("XDatenfelder-Datei importiert") && r.body.contains("xdf1"), "{}", r.body);
        let row = app.store.store.form_by_slug(town, "sondernutzung-xdf").await.unwrap().unwrap();
        let form = row.draft().unwrap();
        assert!(form.steps.iter().all(|s| amtsweg_forms::valid_id(&s.id)), "ids are tidied: {:?}", form.steps);
        assert_eq!(row.published_version, 0);

        // The FIM example, when the conformance files are there.
        let blue = std::path::Path::new("/work/shared/conformance/xdatenfelder/xdf2/S00000121_BlaueKarteEU.xml");
        if let Ok(xml) = std::fs::read(blue) {
            let r = upload(app, &mut jar, "S00000121_BlaueKarteEU.xml", &xml, "").await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert!(r.body.contains("Antrag auf Blaue Karte EU") && r.body.contains("88 Datenfelder"), "{}", r.body);
            assert!(r.body.contains("Nicht übernommen") && r.body.contains("Codeliste"), "the report lists the gaps");
            let row = app.store.store.form_by_slug(town, "antrag-auf-blaue-karte-eu").await.unwrap().unwrap();
            let form = row.draft().unwrap();
            assert!(form.steps.len() >= 9);
            let editor = format!("{LIST}{}", row.id);
            let page = get(app, &mut jar, &editor).await;
            assert!(page.body.contains("Vor dem Veröffentlichen zu beheben"), "open problems are listed");
            assert!(page.body.contains("braucht mindestens eine Auswahlmöglichkeit"));
            // Other changes can still be stored while the gaps are open; publishing cannot.
            let r = send(app, &mut jar, &editor, &editor, &[("aktion", "schritt_neu"), ("schritt_titel", "Erklärung")])
                .await;
            assert_eq!(r.status, 303, "{}", r.body);
            let r = send(app, &mut jar, &editor, &format!("{editor}/veroeffentlichen"), &[]).await;
            assert_eq!(r.status, 422);
            let preview = get(app, &mut jar, &format!("{editor}/vorschau")).await;
            assert_eq!(preview.status, 200);
        }
    });
}

#[tokio::test]
async fn form_editor_refuses_other_authorities_and_units() {
    on_each_backend!(|app| {
        let town = app.authority_id("moorbrueck").await;
        let form = app.store.store.form_by_slug(town, "briefwahl").await.unwrap().unwrap();
        let mut editor = sign_in(app, "redaktion@moorbrueck.example").await;
        for path in [
            "/verwaltung/behoerden/sg-heideland/formulare/".to_owned(),
            format!("/verwaltung/behoerden/sg-heideland/formulare/{}", form.id),
            format!("/verwaltung/behoerden/sg-heideland/formulare/{}/json", form.id),
        ] {
            assert_eq!(get(app, &mut editor, &path).await.status, 403, "{path}");
        }
        let own = format!("{LIST}{}", form.id);
        assert_eq!(get(app, &mut editor, &own).await.status, 200);
        // Case workers do not edit; an editor of one org unit edits forms of its services only.
        let mut case_worker = sign_in(app, "sachbearbeitung@moorbrueck.example").await;
        assert_eq!(get(app, &mut case_worker, LIST).await.status, 403);
        let mut registry = sign_in(app, "standesamt@moorbrueck.example").await;
        assert_eq!(get(app, &mut registry, LIST).await.status, 200);
        let r = get(app, &mut registry, &own).await;
        assert_eq!(r.status, 403, "Briefwahl belongs to another unit");
        let page = get(app, &mut registry, LIST).await;
        let csrf = hidden(&page.body, "csrf");
        let r =
            post(app, &mut registry, &format!("{LIST}neu"), &body_of(&[("csrf", &csrf), ("title", "Ohne Leistung")]))
                .await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("Bitte wählen Sie die Leistung Ihrer Stelle"));
    });
}

/// Creates an empty form through the list page; returns its editor's address.
async fn new_form(app: &TestApp, jar: &mut Jar, title: &str) -> String {
    let list = get(app, jar, LIST).await;
    let csrf = hidden(&list.body, "csrf");
    let r = post(app, jar, &format!("{LIST}neu"), &body_of(&[("csrf", &csrf), ("title", title)])).await;
    assert_eq!(r.status, 303, "{}", r.body);
    r.location().split('?').next().unwrap().to_owned()
}

/// The outline of an editor page.
fn outline(body: &str) -> &str {
    body.split("id=\"gliederung-titel\"").nth(1).and_then(|r| r.split("</nav>").next()).expect("an outline")
}

/// The editing pane of an editor page.
fn pane(body: &str) -> &str {
    body.split("class=\"col-main editor-pane\"").nth(1).expect("a pane")
}

#[tokio::test]
async fn form_editor_is_an_outline_and_one_editing_pane() {
    on_each_backend!(|app| {
        let mut jar = sign_in(app, "redaktion@moorbrueck.example").await;
        let editor = new_form(app, &mut jar, "Gliederung prüfen").await;
        change(app, &mut jar, &editor, &[("aktion", "schritt_neu"), ("schritt_titel", "Hund")]).await;
        for (label, art) in [("Name", "name"), ("E-Mail", "email")] {
            let fields = [("aktion", "feld_neu"), ("schritt", "angaben"), ("label", label), ("art", art)];
            change(app, &mut jar, &editor, &fields).await;
        }
        let group = [
            ("aktion", "gruppe_neu"),
            ("schritt", "angaben"),
            ("gruppe_label", "Halter"),
            ("label", "Telefon"),
            ("art", "phone"),
        ];
        change(app, &mut jar, &editor, &group).await;

        // The form's pane: the outline links every part, the form itself is selected,
        // and no step's tools are on the page.
        let page = get(app, &mut jar, &editor).await;
        let nav = outline(&page.body);
        for href in [
            format!("{editor}?schritt=angaben"),
            format!("{editor}?schritt=hund"),
            format!("{editor}/felder/name"),
            format!("{editor}/felder/e_mail"),
            format!("{editor}/gruppen/halter"),
            format!("{editor}/felder/halter.telefon"),
        ] {
            assert!(nav.contains(&format!("<a href=\"{href}\">")), "{href}: {nav}");
        }
        assert!(nav.contains(&format!("<a href=\"{editor}\" aria-current=\"page\">")), "{nav}");
        assert_eq!(nav.matches("aria-current").count(), 1, "one part is selected");
        let form_pane = pane(&page.body);
        assert!(form_pane.contains("Titel und Vertrauensniveau") && form_pane.contains("Schritt hinzufügen"));
        assert!(!form_pane.contains("Feld zu „"), "no step's tools on the form's pane");
        assert!(page.body.contains("class=\"columns editor-layout\""), "two columns where there is room");

        // A step's pane: its tools as labelled buttons, deleting behind a confirmation.
        let step = get(app, &mut jar, &format!("{editor}?schritt=hund")).await;
        assert_eq!(step.status, 200);
        let nav = outline(&step.body);
        assert!(nav.contains(&format!("<a href=\"{editor}?schritt=hund\" aria-current=\"page\">Schritt 2: Hund</a>")));
        assert_eq!(nav.matches("aria-current").count(), 1);
        let step_pane = pane(&step.body);
        assert!(step_pane.contains("<h2 id=\"pane-titel\">Schritt 2: Hund</h2>"), "{step_pane}");
        assert!(step_pane.contains("Feld zu „Hund“ hinzufügen") && !step_pane.contains("Feld zu „Ihre Angaben“"));
        assert!(step_pane.contains("class=\"kern-btn kern-btn--secondary\">Schritt nach oben"));
        assert!(!step_pane.contains("Schritt nach unten"), "the last step does not move down");
        assert!(
            step_pane
                .contains("<summary class=\"kern-btn kern-btn--secondary btn-danger\">Schritt löschen …</summary>")
        );
        assert!(step_pane.contains("value=\"schritt_loeschen\" class=\"kern-btn kern-btn--secondary btn-danger\""));
        assert_eq!(get(app, &mut jar, &format!("{editor}?schritt=gibt_es_nicht")).await.status, 404);

        // A field's pane: its settings, and moving and deleting it.
        let name = format!("{editor}/felder/name");
        let field = get(app, &mut jar, &name).await;
        assert!(outline(&field.body).contains(&format!("<a href=\"{name}\" aria-current=\"page\">Name</a>")));
        let field_pane = pane(&field.body);
        assert!(field_pane.contains("Feld „Name“ bearbeiten") && field_pane.contains(">Feld speichern</button>"));
        assert!(field_pane.contains("Feld nach unten") && !field_pane.contains("Feld nach oben"), "the first field");
        assert!(
            field_pane.contains("<summary class=\"kern-btn kern-btn--secondary btn-danger\">Feld löschen …</summary>")
        );
        let r = send(app, &mut jar, &name, &editor, &[("aktion", "element_runter"), ("element", "name")]).await;
        assert_eq!(r.status, 303);
        assert_eq!(r.location(), format!("{name}?hinweis=verschoben"), "the moved field stays selected");
        let (form, _) = draft(app, "gliederung-pruefen").await;
        assert_eq!(ids(&form, 0), ["e_mail", "name", "halter"]);
        let field = get(app, &mut jar, r.location()).await;
        assert!(pane(&field.body).contains("Feld nach oben") && field.body.contains("Die Reihenfolge wurde geändert"));
        let mail = format!("{editor}/felder/e_mail");
        let r = send(app, &mut jar, &mail, &editor, &[("aktion", "element_loeschen"), ("element", "e_mail")]).await;
        assert_eq!(r.location(), format!("{editor}?schritt=angaben&hinweis=entfernt"), "back to the step");
        assert_eq!(ids(&draft(app, "gliederung-pruefen").await.0, 0), ["name", "halter"]);

        // Problems are shown in the pane the change came from.
        let r = send(app, &mut jar, &editor, &editor, &[("aktion", "schritt_umbenennen"), ("schritt", "hund")]).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("href=\"#titel-hund\""), "{}", r.body);
        assert!(pane(&r.body).contains("id=\"titel-hund\" name=\"schritt_titel\""), "the input is on the page");
        let r = send(app, &mut jar, &editor, &editor, &[("aktion", "element_loeschen"), ("element", "halter")]).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("href=\"#gruppe-loeschen-halter\""));
        let group_pane = pane(&r.body);
        assert!(group_pane.contains("Gruppe „Halter“ bearbeiten"), "{group_pane}");
        assert!(group_pane.contains("id=\"gruppe-loeschen-halter\" open>"), "the confirmation is open: {group_pane}");
        assert!(outline(&r.body).contains(&format!("<a href=\"{editor}/gruppen/halter\" aria-current=\"page\">")));
    });
}

/// The versions page says, setting by setting, what changed in a field from what to
/// what, and names who published each version.
#[tokio::test]
async fn form_versions_show_changed_settings_and_the_editor() {
    on_each_backend!(|app| {
        let email = "redaktion@moorbrueck.example";
        let name = app.store.store.staff_by_email(email).await.unwrap().unwrap().display_name;
        let mut jar = sign_in(app, email).await;
        let editor = new_form(app, &mut jar, "Fundsache melden").await;
        let fields =
            [("aktion", "feld_neu"), ("schritt", "angaben"), ("label", "Name"), ("art", "name"), ("pflicht", "ja")];
        change(app, &mut jar, &editor, &fields).await;
        change(
            app,
            &mut jar,
            &editor,
            &[("aktion", "feld_neu"), ("schritt", "angaben"), ("label", "Fundort"), ("art", "radio")],
        )
        .await;
        let fundort = format!("{editor}/felder/fundort");
        let options = [("label", "Fundort"), ("art", "radio"), ("optionen", "bus = Im Bus\nstrasse = Auf der Straße")];
        assert_eq!(send(app, &mut jar, &fundort, &fundort, &options).await.status, 303);
        let publish = format!("{editor}/veroeffentlichen");
        assert_eq!(send(app, &mut jar, &editor, &publish, &[]).await.status, 303);

        let field = format!("{editor}/felder/name");
        let changed = [("label", "Name der findenden Person"), ("art", "name"), ("pflicht", "")];
        assert_eq!(send(app, &mut jar, &field, &field, &changed).await.status, 303);
        let options = [
            ("label", "Fundort"),
            ("art", "radio"),
            ("optionen", "bus = Im Bus\nstrasse = Auf der Straße\nrathaus = Im Rathaus"),
        ];
        assert_eq!(send(app, &mut jar, &fundort, &fundort, &options).await.status, 303);
        assert_eq!(send(app, &mut jar, &editor, &publish, &[]).await.status, 303);

        let page = get(app, &mut jar, &format!("{editor}/versionen")).await;
        assert_eq!(page.status, 200);
        let v2 = page.body.split("id=\"fassung-2\"").nth(1).unwrap().split("id=\"fassung-1\"").next().unwrap();
        assert!(v2.contains(&format!(" von {name}</h2>")), "{v2}");
        assert!(!page.body.contains("Konto "), "no account numbers");
        assert!(v2.contains("Uhr</") || v2.contains(" Uhr von "), "German time: {v2}");
        let step = |what: &str, before: &str, after: &str| {
            format!(
                "{what}: <del><span class=\"visually-hidden\">vorher: </span>{before}</del> → <ins><span class=\"visually-hidden\">jetzt: </span>{after}</ins>"
            )
        };
        for expected in [
            "Feld geändert: „Name der findenden Person“ (name)".to_owned(),
            step("Bezeichnung", "„Name“", "„Name der findenden Person“"),
            step("Pflichtangabe", "ja", "nein"),
            step(
                "Auswahlmöglichkeiten",
                "„bus = Im Bus; strasse = Auf der Straße“",
                "„bus = Im Bus; strasse = Auf der Straße; rathaus = Im Rathaus“",
            ),
        ] {
            assert!(v2.contains(&expected), "{expected}: {v2}");
        }
        assert!(!v2.contains("Art des Feldes:"), "unchanged settings are not listed");
    });
}
