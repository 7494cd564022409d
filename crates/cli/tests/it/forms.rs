//! The demo's forms are seeded as published versions of their services (both
//! databases), and the rule engine runs on them.

use crate::on_each_backend;
use amtsweg_forms::{Answer, Answers, Date, validate};

#[tokio::test]
async fn demo_forms_are_published_and_checked_by_the_engine() {
    on_each_backend!(|app| {
        let town = app.authority_id("moorbrueck").await;
        let forms = app.store.store.forms_of(town).await.unwrap();
        assert_eq!(forms.len(), 5, "Briefwahl, Hundesteuer, Kita, Meldebescheinigung, Osterfeuer");
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
