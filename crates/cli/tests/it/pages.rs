//! Every public page type renders, in German, with the content a citizen needs.

use crate::on_each_backend;

#[tokio::test]
async fn every_page_type_renders_for_two_tenants() {
    on_each_backend!(|app| {
        let start = app.get("/").await;
        assert_eq!(start.status, 200);
        assert!(start.body.contains("<html lang=\"de\""));
        assert!(start.body.contains("Portalverbund Landkreis Heidekamp"));
        assert!(start.body.contains("/o/sg-heideland/"));

        let az = app.get("/leistungen/").await;
        assert_eq!(az.status, 200);
        assert!(az.body.contains("href=\"#buchstabe-M\""), "letter navigation");
        assert!(az.body.contains("Meldebescheinigung"));
        assert!(az.body.contains("bei 2 Behörden"), "one entry per service across the Verbund");

        for tenant in ["moorbrueck", "landkreis-heidekamp"] {
            let home = app.get(&format!("/o/{tenant}/")).await;
            assert_eq!(home.status, 200, "{tenant}");
            assert!(home.body.contains("Öffnungszeiten"), "{tenant} shows opening hours");
            assert!(home.body.contains("Kontakt"));
            assert!(home.body.contains("geöffnet") || home.body.contains("geschlossen"), "open-now state");
            assert!(home.body.contains(&format!("/o/{tenant}/theme.css")));
            let az = app.get(&format!("/o/{tenant}/leistungen/")).await;
            assert_eq!(az.status, 200);
            assert!(az.body.contains("Leistungen von A bis Z"));
            let units = app.get(&format!("/o/{tenant}/organisation/")).await;
            assert_eq!(units.status, 200);
            let contacts = app.get(&format!("/o/{tenant}/kontakte/")).await;
            assert_eq!(contacts.status, 200);
            assert!(contacts.body.contains("<caption>"));
        }

        let detail = app.get("/o/moorbrueck/leistungen/meldebescheinigung").await;
        assert_eq!(detail.status, 200);
        for heading in [
            "Beschreibung",
            "Voraussetzungen",
            "Welche Unterlagen werden benötigt?",
            "Welche Gebühren fallen an?",
            "Welche Fristen muss ich beachten?",
            "Verfahrensablauf",
            "Bearbeitungsdauer",
            "Rechtsgrundlage",
            "Ansprechpartner und Ort",
            "Vertrauensniveau",
        ] {
            assert!(detail.body.contains(heading), "service page lacks {heading}");
        }
        assert!(detail.body.contains("99115003012000"), "LeiKa key shown");

        let kfz = app.get("/o/landkreis-heidekamp/leistungen/kfz-neuzulassung").await;
        assert_eq!(kfz.status, 200);
        assert!(!kfz.body.contains("Vertrauensniveau"), "no trust level box without an online form");

        let ou = app.get("/o/landkreis-heidekamp/organisation/lk-zulassung").await;
        assert_eq!(ou.status, 200);
        assert!(ou.body.contains("Fahrzeug zulassen"));
        let contact = app.get("/o/landkreis-heidekamp/kontakte/lk-schroeder").await;
        assert_eq!(contact.status, 200);

        let theme = app.get("/o/moorbrueck/theme.css").await;
        assert!(theme.body.contains("--color-primary: #"));
        assert!(theme.headers[axum::http::header::CONTENT_TYPE].to_str().unwrap().starts_with("text/css"));

        let health = app.get("/healthz").await;
        assert_eq!(health.status, 200);
        let json: serde_json::Value = serde_json::from_str(&health.body).unwrap();
        assert_eq!(json["status"], "ok");
        assert_eq!(json["backend"], app.name());
    });
}

#[tokio::test]
async fn pages_have_the_accessibility_skeleton() {
    on_each_backend!(|app| {
        for path in [
            "/",
            "/leistungen/",
            "/o/moorbrueck/",
            "/o/moorbrueck/leistungen/meldebescheinigung",
            "/suche?q=hund",
            "/gibt-es-nicht",
        ] {
            let r = app.get(path).await;
            assert_eq!(r.body.matches("<h1").count(), 1, "{path}: exactly one h1");
            assert!(r.body.contains("class=\"skip-link\" href=\"#inhalt\""), "{path}: skip link");
            assert!(r.body.contains("<main id=\"inhalt\""), "{path}: main landmark");
            assert!(r.body.contains("<nav") && r.body.contains("<footer"), "{path}: landmarks");
            assert!(!r.body.contains("<script>"), "{path}: no inline script");
            assert!(!r.body.contains("style=\""), "{path}: no inline style");
        }
    });
}

#[tokio::test]
async fn trailing_slashes_redirect() {
    on_each_backend!(|app| {
        let r = app.get("/o/moorbrueck/leistungen").await;
        assert_eq!(r.status, 308);
        assert_eq!(r.location(), "/o/moorbrueck/leistungen/");
    });
}
