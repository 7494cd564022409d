//! Authorisation gaps of issue 18: library forms pinned for adopters, org-unit
//! limits on preview, history and saving, no case access for the Verbund
//! administrator, cross-site looks in the audit log, and the SSO hand-over target.

use crate::casework::applied;
use crate::editing::{form_body, id_of};
use crate::konto::citizen;
use crate::on_each_backend;
use crate::support::{Reply, TestApp};
use crate::verwaltung::{Jar, get, hidden, post, sign_in};
use amtsweg_domain::library::AdoptionMode;
use amtsweg_store::library::Adopted;

fn dgh_form(trust: &str, extra_field: bool) -> amtsweg_forms::Form {
    let mut items = vec![
        serde_json::json!({"item": "field", "id": "name", "label": "Name", "type": "name", "required": true}),
        serde_json::json!({"item": "field", "id": "ok", "label": "Hausordnung", "type": "declaration", "text": "Ich beachte die Hausordnung."}),
    ];
    if extra_field {
        items.push(serde_json::json!({"item": "field", "id": "gaeste", "label": "Anzahl der Gäste", "type": "text"}));
    }
    serde_json::from_value(serde_json::json!({
        "id": "dgh", "title": "Dorfgemeinschaftshaus mieten", "trust_level": trust,
        "steps": [{"id": "anfrage", "title": "Ihre Anfrage", "items": items}]
    }))
    .unwrap()
}

/// Birkhusen builds a form (v1, trust level "substanziell") for its library service;
/// Moorbrück adopts the service linked and publishes it. Returns (form id, Moorbrück's
/// service id).
async fn moorbrueck_adopts_the_dgh_form(app: &TestApp) -> (i64, i64) {
    let store = &app.store.store;
    let birkhusen = app.authority_id("birkhusen").await;
    let moorbrueck = app.authority_id("moorbrueck").await;
    let source = id_of(app, "birkhusen", "dorfgemeinschaftshaus-mieten").await;
    let entry = store.library_entry_of(birkhusen, source).await.unwrap().unwrap();
    let mut tx = store.begin().await.unwrap();
    let slug = amtsweg_domain::Slug::parse("dgh").unwrap();
    let form_id = tx.create_form(birkhusen, &slug, Some(source), &dgh_form("substanziell", false), None).await.unwrap();
    tx.publish_form(birkhusen, form_id, 1, None).await.unwrap();
    let Adopted::Created(adopted) = tx.adopt(moorbrueck, entry.id, AdoptionMode::Linked, None).await.unwrap() else {
        panic!("not adopted")
    };
    tx.commit().await.unwrap();
    let version = store.draft(moorbrueck, adopted).await.unwrap().unwrap().version;
    let mut tx = store.begin().await.unwrap();
    tx.publish_draft(moorbrueck, adopted, version, None).await.unwrap();
    tx.commit().await.unwrap();
    amtsweg_web::sync::refresh(&app.state).await.unwrap();
    (form_id, adopted)
}

#[tokio::test]
async fn an_adopter_keeps_its_form_version_until_it_accepts_the_owners_new_one() {
    on_each_backend!(|app| {
        let store = &app.store.store;
        let (form_id, adopted) = moorbrueck_adopts_the_dgh_form(app).await;
        let birkhusen = app.authority_id("birkhusen").await;
        let moorbrueck = app.authority_id("moorbrueck").await;
        let served = |authority| app.state.catalogue().form(authority, "dgh").unwrap();
        assert_eq!(served(moorbrueck).version, 1);

        // The owner publishes v2: a new field and a lower trust level.
        let mut tx = store.begin().await.unwrap();
        tx.save_form_draft(birkhusen, form_id, 1, &dgh_form("normal", true), None).await.unwrap();
        tx.publish_form(birkhusen, form_id, 2, None).await.unwrap();
        tx.commit().await.unwrap();
        amtsweg_web::sync::refresh(&app.state).await.unwrap();
        assert_eq!(served(birkhusen).version, 2, "the owner serves its new version");
        let mine = served(moorbrueck);
        assert_eq!(mine.version, 1, "the adopter still serves the version it accepted");
        assert_eq!(mine.form.trust_level, "substanziell", "no lower trust level without acceptance");
        // A citizen without a stronger sign-in still cannot start Moorbrück's form.
        assert_ne!(app.get("/o/moorbrueck/antrag/dgh/").await.status, 200);

        // The editor sees the change with what it changes, and accepts it.
        let mut jar = sign_in(app, "redaktion@moorbrueck.example").await;
        let edit = format!("/verwaltung/behoerden/moorbrueck/leistungen/{adopted}");
        let page = get(app, &mut jar, &edit).await;
        assert!(page.body.contains("Formular „Dorfgemeinschaftshaus mieten“: neue Fassung 2"), "{}", page.body);
        assert!(page.body.contains("Feld hinzugefügt: „Anzahl der Gäste“"));
        assert!(page.body.contains("Das Vertrauensniveau sinkt"));
        assert!(page.body.contains("Änderungen übernehmen"));
        let csrf = hidden(&page.body, "csrf");
        let r =
            post(app, &mut jar, &format!("{edit}/bibliothek"), &format!("csrf={csrf}&aktion=aenderungen-uebernehmen"))
                .await;
        assert_eq!(r.status, 303);
        assert!(r.location().contains("hinweis=aenderungen-uebernommen"), "{}", r.location());
        assert_eq!(served(moorbrueck).version, 2, "after accepting, v2 is served");
        let start = app.get("/o/moorbrueck/antrag/dgh/").await;
        assert_eq!(start.status, 200);
        assert!(start.body.contains("Anzahl der Gäste"));
        let page = get(app, &mut jar, &edit).await;
        assert!(page.body.contains("Ihr Stand ist aktuell"));
        let entries = store.audit_entries(None, 1000).await.unwrap();
        assert!(
            entries.iter().any(|e| e.action == "library.accept_form"
                && e.target == format!("form:{form_id}")
                && e.authority_id == Some(moorbrueck)
                && e.outcome == "version:2"),
            "the acceptance is in the audit log"
        );
    });
}

#[tokio::test]
async fn a_form_the_owner_adds_later_waits_for_the_adopters_acceptance() {
    on_each_backend!(|app| {
        let store = &app.store.store;
        let birkhusen = app.authority_id("birkhusen").await;
        let moorbrueck = app.authority_id("moorbrueck").await;
        let source = id_of(app, "birkhusen", "dorfgemeinschaftshaus-mieten").await;
        let entry = store.library_entry_of(birkhusen, source).await.unwrap().unwrap();
        let mut tx = store.begin().await.unwrap();
        let Adopted::Created(adopted) = tx.adopt(moorbrueck, entry.id, AdoptionMode::Linked, None).await.unwrap()
        else {
            panic!("not adopted")
        };
        tx.commit().await.unwrap();
        let version = store.draft(moorbrueck, adopted).await.unwrap().unwrap().version;
        let mut tx = store.begin().await.unwrap();
        tx.publish_draft(moorbrueck, adopted, version, None).await.unwrap();
        let slug = amtsweg_domain::Slug::parse("dgh").unwrap();
        let form_id = tx.create_form(birkhusen, &slug, Some(source), &dgh_form("normal", false), None).await.unwrap();
        tx.publish_form(birkhusen, form_id, 1, None).await.unwrap();
        tx.commit().await.unwrap();
        amtsweg_web::sync::refresh(&app.state).await.unwrap();
        assert!(app.state.catalogue().form(moorbrueck, "dgh").is_none(), "not offered before acceptance");
        let mut tx = store.begin().await.unwrap();
        assert!(tx.accept_upstream(moorbrueck, adopted, None).await.unwrap().is_some());
        assert_eq!(tx.accept_upstream(moorbrueck, adopted, None).await.unwrap(), None, "nothing left");
        tx.commit().await.unwrap();
        amtsweg_web::sync::refresh(&app.state).await.unwrap();
        assert_eq!(app.state.catalogue().form(moorbrueck, "dgh").unwrap().version, 1);
    });
}

#[tokio::test]
async fn an_editor_limited_to_one_org_unit_cannot_preview_or_read_other_units_history() {
    on_each_backend!(|app| {
        let mut jar = sign_in(app, "standesamt@moorbrueck.example").await;
        let base = "/verwaltung/behoerden/moorbrueck/leistungen";
        let birth = id_of(app, "moorbrueck", "geburtsurkunde").await;
        let passport = id_of(app, "moorbrueck", "reisepass").await;
        assert_eq!(get(app, &mut jar, &format!("{base}/{birth}/vorschau")).await.status, 200);
        assert_eq!(get(app, &mut jar, &format!("{base}/{birth}/versionen")).await.status, 200);
        assert_eq!(get(app, &mut jar, &format!("{base}/{passport}/vorschau")).await.status, 403);
        assert_eq!(get(app, &mut jar, &format!("{base}/{passport}/versionen")).await.status, 403);
    });
}

#[tokio::test]
async fn a_service_cannot_be_saved_with_another_authoritys_org_unit() {
    on_each_backend!(|app| {
        let store = &app.store.store;
        let moorbrueck = app.authority_id("moorbrueck").await;
        let ellerloh = app.authority_id("ellerloh").await;
        let foreign = store.org_units(ellerloh).await.unwrap().first().expect("Ellerloh has org units").id.to_string();
        let mut jar = sign_in(app, "redaktion@moorbrueck.example").await;
        let passport = id_of(app, "moorbrueck", "reisepass").await;
        let path = format!("/verwaltung/behoerden/moorbrueck/leistungen/{passport}");
        let page = get(app, &mut jar, &path).await;
        let r = post(app, &mut jar, &path, &form_body(&page.body, &[("org_unit_id", &foreign)], "speichern")).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("Diese Stelle gehört nicht zu Ihrer Behörde"), "{}", r.body);
        assert!(store.draft(moorbrueck, passport).await.unwrap().is_none(), "nothing stored");
        // Nor a new service.
        let new = get(app, &mut jar, "/verwaltung/behoerden/moorbrueck/leistungen/neu").await;
        let body = format!(
            "csrf={}&name=Testleistung&leika=99102013104000&trust_level=normal&org_unit_id={foreign}&summary=Kurz&aktion=speichern",
            hidden(&new.body, "csrf")
        );
        let r = post(app, &mut jar, "/verwaltung/behoerden/moorbrueck/leistungen/neu", &body).await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(r.body.contains("Diese Stelle gehört nicht zu Ihrer Behörde"));
        assert!(store.leistung(moorbrueck, "testleistung").await.unwrap().is_none());
    });
}

#[tokio::test]
async fn the_verbund_administrator_reads_no_applications_without_a_grant() {
    on_each_backend!(|app| {
        let (_, id, receipt) = applied(app, "verbund-case@example.org").await;
        let mut verbund = sign_in(app, "verbund-admin@landkreis-heidekamp.example").await;
        let start = get(app, &mut verbund, "/verwaltung/").await;
        assert!(!start.body.contains("href=\"/verwaltung/antraege/\""), "no Anträge area");
        assert_eq!(get(app, &mut verbund, "/verwaltung/antraege/").await.status, 403);
        for path in [
            format!("/verwaltung/antraege/{id}"),
            format!("/verwaltung/antraege/{id}/quittung.pdf"),
            format!("/verwaltung/antraege/{id}/datei/0"),
        ] {
            let r = get(app, &mut verbund, &path).await;
            assert_eq!(r.status, 404, "{path}");
            assert!(!r.body.contains(&receipt));
        }
        // The technical administration and the audit log stay.
        assert_eq!(get(app, &mut verbund, "/verwaltung/verbund/behoerden/").await.status, 200);
        assert_eq!(get(app, &mut verbund, "/verwaltung/protokoll/").await.status, 200);
        // The authority's case worker, with an explicit grant, reads it.
        let mut worker = sign_in(app, "sachbearbeitung@moorbrueck.example").await;
        let page = get(app, &mut worker, &format!("/verwaltung/antraege/{id}")).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains(&receipt));
    });
}

async fn get_from(app: &TestApp, jar: &mut Jar, path: &str, site: &str) -> Reply {
    let req = axum::http::Request::get(path)
        .header("host", "localhost")
        .header("cookie", jar.header())
        .header("sec-fetch-site", site)
        .header("sec-fetch-mode", "navigate")
        .body(axum::body::Body::empty())
        .unwrap();
    let r = app.request(req).await;
    jar.take_pub(&r);
    r
}

#[tokio::test]
async fn a_look_at_an_application_opened_from_another_site_is_flagged() {
    on_each_backend!(|app| {
        let (_, id, _) = applied(app, "cross-site@example.org").await;
        let mut worker = sign_in(app, "sachbearbeitung@moorbrueck.example").await;
        let path = format!("/verwaltung/antraege/{id}");
        assert_eq!(get_from(app, &mut worker, &path, "same-origin").await.status, 200);
        assert_eq!(get_from(app, &mut worker, &path, "cross-site").await.status, 200);
        let outcomes: Vec<String> = app
            .store
            .store
            .audit_entries(None, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "submission.view" && e.target == format!("submission:{id}"))
            .map(|e| e.outcome)
            .collect();
        assert_eq!(outcomes.iter().filter(|o| *o == "success").count(), 1, "{outcomes:?}");
        assert_eq!(outcomes.iter().filter(|o| *o == "cross_site").count(), 1, "{outcomes:?}");
        let mut admin = sign_in(app, "admin@moorbrueck.example").await;
        let log = get(app, &mut admin, "/verwaltung/protokoll/").await;
        assert!(log.body.contains("geöffnet über einen Link einer fremden Website"), "{}", log.body);
    });
}

/// The central path a member host sends a browser without a session to.
async fn hand_over_start(app: &TestApp, host: &str) -> String {
    let r = app.get_with("/konto/postfach/", host, None).await;
    r.location().trim_start_matches("http://127.0.0.1:8080").to_owned()
}

#[tokio::test]
async fn the_sso_hand_over_refuses_a_forged_binding_or_port() {
    on_each_backend!(|app| {
        let (central, _) = citizen(app, "sso-forged@example.org").await;
        let central_host = "127.0.0.1:8080";
        // A binding the caller made up (the hash of a cookie the attacker holds).
        let forged = amtsweg_web::session::hash_token("attacker-cookie");
        let path = format!("/konto/sso/start?host=moorbrueck.localhost%3A8080&bind={forged}&weiter=%2F");
        let r = app.get_with(&path, central_host, Some(&central.header())).await;
        assert_eq!(r.status, 400, "{}", r.location());
        assert!(!r.location().contains("code="));
        // A binding issued for another port of the member host, sent there.
        let other_port = hand_over_start(app, "moorbrueck.localhost:9999").await;
        assert!(other_port.starts_with("/konto/sso/start?host=moorbrueck.localhost%3A9999&bind="), "{other_port}");
        let r = app.get_with(&other_port, central_host, Some(&central.header())).await;
        assert_eq!(r.status, 400, "{}", r.location());
        // A real binding for the right host, with the port swapped.
        let real = hand_over_start(app, "moorbrueck.localhost:8080").await;
        let swapped = real.replace("moorbrueck.localhost%3A8080", "moorbrueck.localhost%3A9999");
        assert_eq!(app.get_with(&swapped, central_host, Some(&central.header())).await.status, 400);
        // The real one still works.
        let r = app.get_with(&real, central_host, Some(&central.header())).await;
        assert_eq!(r.status, 303);
        assert!(r.location().starts_with("http://moorbrueck.localhost:8080/konto/sso/annehmen?code="));
    });
}
