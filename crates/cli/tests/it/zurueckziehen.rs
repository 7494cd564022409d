//! Issue 21, point 5: the citizen withdraws a submitted application from "Meine
//! Anträge" — through the real router on both databases: the confirmation page,
//! the optional reason (sealed, at most 500 characters, nothing lost when refused),
//! the status `zurueckgezogen` in the citizen's view, the back office (out of the
//! open inbox, reason in the history), the API and the audit log; and the refusals:
//! another's application, one already withdrawn or decided, a missing CSRF token.

use crate::casework::applied;
use crate::on_each_backend;
use crate::support::{Reply, TestApp};
use crate::verwaltung::{Jar, enc, get, hidden, post, sign_in};
use axum::body::Body;
use axum::http::Request;

const WORKER: &str = "sachbearbeitung@moorbrueck.example";

fn url(id: i64) -> String {
    format!("/konto/antraege/{id}/zurueckziehen")
}

/// Opens the confirmation page and posts it with `reason`.
async fn withdraw(app: &TestApp, jar: &mut Jar, id: i64, reason: &str) -> Reply {
    let page = get(app, jar, &url(id)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = hidden(&page.body, "csrf");
    post(app, jar, &url(id), &format!("csrf={csrf}&begruendung={}", enc(reason))).await
}

async fn status(app: &TestApp, id: i64) -> String {
    let a = app.authority_id("moorbrueck").await;
    app.store.store.submission(a, id).await.unwrap().unwrap().status
}

/// Sets the state of case `id` as the back office's case view does (multipart).
async fn set_state(app: &TestApp, jar: &mut Jar, id: i64, fields: &[(&str, &str)]) -> Reply {
    let boundary = "----amtsweg-zurueckziehen";
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    let req = Request::post(format!("/verwaltung/antraege/{id}/stand"))
        .header("host", "localhost")
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .header("cookie", jar.header())
        .header("origin", "http://localhost")
        .body(Body::from(body))
        .unwrap();
    let r = app.request(req).await;
    jar.take_pub(&r);
    r
}

/// The submission as back-office software reads it over the API.
async fn api_detail(app: &TestApp, id: i64) -> serde_json::Value {
    let a = app.authority_id("moorbrueck").await;
    let mut tx = app.store.store.begin().await.unwrap();
    let hash = amtsweg_web::api::secret_hash("geheim-zurueck");
    tx.insert_api_client(a, "Fachverfahren", "zurueck-client", &hash, "submissions:read").await.unwrap();
    tx.commit().await.unwrap();
    let req = Request::get(format!("/api/v1/antraege/{id}"))
        .header("host", "127.0.0.1:8080")
        .header("x-api-key", "zurueck-client:geheim-zurueck")
        .body(Body::empty())
        .unwrap();
    let r = app.request(req).await;
    assert_eq!(r.status, 200, "{}", r.body);
    serde_json::from_str(&r.body).unwrap()
}

#[tokio::test]
async fn a_citizen_withdraws_an_open_application_with_a_reason() {
    on_each_backend!(|app| {
        let (mut jar, id, receipt) = applied(app, "zurueck.erika@example.org").await;
        let (_, _, other_receipt) = applied(app, "zurueck.max@example.org").await;
        let citizen_id = app.store.store.citizen_by_email("zurueck.erika@example.org").await.unwrap().unwrap().id;

        // "Meine Anträge" offers it on the open application.
        let mine = get(app, &mut jar, &format!("/konto/antraege/{id}")).await;
        assert!(mine.body.contains(&format!("href=\"{}\"", url(id))), "{}", mine.body);

        // A reason too long is refused, with the text typed kept and nothing changed.
        let long = format!("Umzug {}", "x".repeat(500));
        let r = withdraw(app, &mut jar, id, &long).await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(r.body.contains("höchstens 500 Zeichen") && r.body.contains(&long), "{}", r.body);
        assert_eq!(status(app, id).await, "eingegangen");

        // Withdrawn with a reason: back to the application, which says so.
        let reason = "Ich bin umgezogen & wähle per Urne.";
        let r = withdraw(app, &mut jar, id, reason).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(r.location(), format!("/konto/antraege/{id}"));
        assert_eq!(status(app, id).await, "zurueckgezogen");
        let mine = get(app, &mut jar, &format!("/konto/antraege/{id}")).await;
        let state = mine.body.split("<dt>Stand</dt>").nth(1).unwrap().split("</dd>").next().unwrap();
        assert!(state.contains("Zurückgezogen"), "{state}");
        assert!(mine.body.contains("Dieser Antrag ist zurückgezogen."), "{}", mine.body);
        assert!(!mine.body.contains(&url(id)), "no second withdrawal offered");
        let escaped = reason.replace('&', "&amp;");

        // A public change of state by the applicant; the reason is internal, sealed.
        let events = app.store.store.submission_events(id).await.unwrap();
        let e = events.iter().find(|e| e.kind == "status" && e.status == "zurueckgezogen").expect("a history entry");
        assert!(e.is_public() && e.actor == "Antragsteller/in", "{e:?}");
        let note = events.iter().find(|e| e.kind == "note").expect("the reason");
        assert!(!note.is_public() && note.actor == "Antragsteller/in", "{note:?}");
        assert!(!note.body.is_empty() && !note.body.contains("umgezogen"), "sealed: {}", note.body);

        // Audited without content.
        let audit = app.store.store.audit_entries(None, 1000).await.unwrap();
        let entry = audit.iter().find(|a| a.action == "submission.withdraw").expect("audited");
        assert_eq!(
            (entry.actor.as_str(), entry.target.as_str(), entry.outcome.as_str()),
            (format!("citizen:{citizen_id}").as_str(), format!("submission:{id}").as_str(), "success")
        );

        // The case worker: out of the open inbox, in "alle", reason in the case view.
        let mut worker = sign_in(app, WORKER).await;
        let open = get(app, &mut worker, "/verwaltung/antraege/?stand=offen").await;
        assert!(open.body.contains(&other_receipt) && !open.body.contains(&receipt), "{}", open.body);
        let all = get(app, &mut worker, "/verwaltung/antraege/?stand=alle").await;
        assert!(all.body.contains(&receipt), "{}", all.body);
        let case = get(app, &mut worker, &format!("/verwaltung/antraege/{id}")).await;
        assert_eq!(case.status, 200, "{}", case.body);
        assert!(case.body.contains("Stand: Zurückgezogen"), "{}", case.body);
        assert!(case.body.contains(&format!("Begründung für das Zurückziehen: {escaped}")), "{}", case.body);

        // Back-office software reads the new status and the history entry.
        let v = api_detail(app, id).await;
        assert_eq!((v["status"].as_str(), v["status_label"].as_str()), (Some("zurueckgezogen"), Some("Zurückgezogen")));
        let history = v["history"].as_array().unwrap();
        assert!(history.iter().any(|h| h["kind"] == "status" && h["status"] == "zurueckgezogen"), "{history:?}");
    });
}

#[tokio::test]
async fn withdrawing_is_refused_for_anothers_a_withdrawn_or_a_decided_application() {
    on_each_backend!(|app| {
        let (mut erika, id, _) = applied(app, "zurueck.a@example.org").await;
        let (mut max, decided, _) = applied(app, "zurueck.b@example.org").await;

        // Another's application is not found, on the page and by POST.
        assert_eq!(get(app, &mut max, &url(id)).await.status, 404);
        let own_page = get(app, &mut max, &url(decided)).await;
        let max_csrf = hidden(&own_page.body, "csrf");
        let r = post(app, &mut max, &url(id), &format!("csrf={max_csrf}&begruendung=")).await;
        assert_eq!(r.status, 404);
        assert_eq!(status(app, id).await, "eingegangen");

        // Without the session's token nothing happens.
        let r = post(app, &mut erika, &url(id), "csrf=falsch&begruendung=").await;
        assert_eq!(r.status, 403);
        assert_eq!(status(app, id).await, "eingegangen");

        // Without a reason it works; a second time it is refused in plain German.
        let page = get(app, &mut erika, &url(id)).await;
        let csrf = hidden(&page.body, "csrf");
        let r = post(app, &mut erika, &url(id), &format!("csrf={csrf}&begruendung=")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let r = post(app, &mut erika, &url(id), &format!("csrf={csrf}&begruendung=nochmal")).await;
        assert_eq!(r.status, 409, "{}", r.body);
        assert!(r.body.contains("Dieser Antrag ist bereits zurückgezogen."), "{}", r.body);
        let again = get(app, &mut erika, &url(id)).await;
        assert!(again.body.contains("bereits zurückgezogen") && !again.body.contains("name=\"begruendung\""));
        let withdrawals = app.store.store.submission_events(id).await.unwrap();
        assert_eq!(withdrawals.iter().filter(|e| e.status == "zurueckgezogen").count(), 1);

        // A decided application stays decided.
        let mut worker = sign_in(app, WORKER).await;
        let case = get(app, &mut worker, &format!("/verwaltung/antraege/{decided}")).await;
        let staff_csrf = hidden(&case.body, "csrf");
        let fields = [("csrf", staff_csrf.as_str()), ("stand", "abgeschlossen|bewilligt"), ("bestaetigt", "ja")];
        let r = set_state(app, &mut worker, decided, &[fields[0], ("stand", "in_bearbeitung")]).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let r = set_state(app, &mut worker, decided, &fields).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let mine = get(app, &mut max, &format!("/konto/antraege/{decided}")).await;
        assert!(!mine.body.contains(&url(decided)), "not offered once decided");
        let r = post(app, &mut max, &url(decided), &format!("csrf={max_csrf}&begruendung=")).await;
        assert_eq!(r.status, 409, "{}", r.body);
        assert!(r.body.contains("bereits abgeschlossen („Abgeschlossen“)"), "{}", r.body);
        assert_eq!(status(app, decided).await, "abgeschlossen");
        assert!(
            !app.store
                .store
                .audit_entries(None, 1000)
                .await
                .unwrap()
                .iter()
                .any(|a| a.action == "submission.withdraw" && a.target == format!("submission:{decided}"))
        );
    });
}
