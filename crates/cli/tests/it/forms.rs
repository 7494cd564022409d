//! The demo's forms are seeded as published versions of their services (both
//! databases), and the rule engine runs on them.

use crate::on_each_backend;
use amtsweg_forms::{Answer, Answers, Date, validate};

#[tokio::test]
async fn demo_forms_are_published_and_checked_by_the_engine() {
    on_each_backend!(|app| {
        let town = app.authority_id("moorbrueck").await;
        let forms = app.store.store.forms_of(town).await.unwrap();
        assert_eq!(forms.len(), 3);
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
