//! Hand-off end to end on both databases: API clients made in the back office pull,
//! acknowledge and answer through `/api/v1/` (with every bad-input case), and a
//! webhook set up in the back office receives each submission once in effect —
//! through errors, rate limits and retries — signed, with files by link; the delivery
//! view, resend and the reconciliation report show it.

use crate::casework::applied;
use crate::on_each_backend;
use crate::outbound::local_receivers;
use crate::support::{Reply, TestApp};
use crate::verwaltung::{Jar, enc, get, hidden, post, sign_in};
use amtsweg_handoff::deliver::{Connectors, RetryPolicy, Worker};
use amtsweg_portal::Portal;
use axum::body::Body;
use axum::http::Request;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ADMIN: &str = "admin@moorbrueck.example";

fn code_after(body: &str, label: &str) -> String {
    let rest = body.split(label).nth(1).unwrap_or_else(|| panic!("no {label} in {body}"));
    rest.split("<code>").nth(1).unwrap().split("</code>").next().unwrap().to_owned()
}

/// Creates an API client in the back office; returns (client id, secret).
async fn api_client(app: &TestApp, jar: &mut Jar, name: &str, write: bool) -> (String, String) {
    let page = get(app, jar, "/verwaltung/behoerden/moorbrueck/schnittstellen/").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = hidden(&page.body, "csrf");
    let body = format!("csrf={csrf}&name={}&lesen=1{}", enc(name), if write { "&schreiben=1" } else { "" });
    let r = post(app, jar, "/verwaltung/behoerden/moorbrueck/schnittstellen/zugaenge", &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    (code_after(&r.body, "Client-ID"), code_after(&r.body, "Geheimnis</dt>"))
}

async fn api(
    app: &TestApp,
    method: &str,
    path: &str,
    auth: &[(&str, &str)],
    body: Option<&str>,
) -> (Reply, serde_json::Value) {
    let mut b = Request::builder().method(method).uri(path).header("host", "127.0.0.1:8080");
    for (k, v) in auth {
        b = b.header(*k, *v);
    }
    let req = match body {
        Some(json) => b.header("content-type", "application/json").body(Body::from(json.to_owned())).unwrap(),
        None => b.body(Body::empty()).unwrap(),
    };
    let r = app.request(req).await;
    let v = serde_json::from_str(&r.body).unwrap_or(serde_json::Value::Null);
    (r, v)
}

async fn token(app: &TestApp, id: &str, secret: &str) -> String {
    let req = Request::post("/api/v1/token")
        .header("host", "127.0.0.1:8080")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!("grant_type=client_credentials&client_id={}&client_secret={}", enc(id), enc(secret))))
        .unwrap();
    let r = app.request(req).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["token_type"], "Bearer");
    format!("Bearer {}", v["access_token"].as_str().unwrap())
}

fn problem(r: &Reply, v: &serde_json::Value, status: u16, kind: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.headers["content-type"], "application/problem+json", "{}", r.body);
    assert_eq!(v["type"], format!("https://amtsweg.de/probleme/{kind}"), "{}", r.body);
    assert!(v["detail"].as_str().is_some_and(|d| d.len() > 10), "{}", r.body);
}

#[tokio::test]
async fn back_office_software_pulls_acknowledges_and_answers() {
    on_each_backend!(|app| {
        let (mut citizen_jar, id, receipt) = applied(app, "api.citizen@example.org").await;
        let mut admin = sign_in(app, ADMIN).await;
        let (reader_id, reader_secret) = api_client(app, &mut admin, "Wahlamt (lesend)", false).await;
        let (writer_id, writer_secret) = api_client(app, &mut admin, "Fachverfahren", true).await;
        let reader = token(app, &reader_id, &reader_secret).await;
        let auth = [("authorization", reader.as_str())];

        // Without or with wrong credentials: 401 with a problem detail.
        let (r, v) = api(app, "GET", "/api/v1/antraege", &[], None).await;
        problem(&r, &v, 401, "unauthenticated");
        let (r, v) = api(app, "GET", "/api/v1/antraege", &[("authorization", "Bearer at.x.1.y")], None).await;
        problem(&r, &v, 401, "unauthenticated");
        let wrong = format!("{reader_id}:falsch");
        let (r, _) = api(app, "GET", "/api/v1/antraege", &[("x-api-key", wrong.as_str())], None).await;
        assert_eq!(r.status, 401);
        let bad = app
            .request(
                Request::post("/api/v1/token")
                    .header("host", "127.0.0.1:8080")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Body::from(format!("grant_type=client_credentials&client_id={reader_id}&client_secret=nein")))
                    .unwrap(),
            )
            .await;
        assert_eq!(bad.status, 401);
        assert!(bad.body.contains("invalid_client"));

        // New submissions, the full one, its receipt.
        let (r, v) = api(app, "GET", "/api/v1/antraege", &auth, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let items = v["items"].as_array().unwrap();
        assert!(items.iter().any(|i| i["id"] == id && i["receipt_number"] == receipt.as_str()), "{v}");
        let (r, v) = api(app, "GET", &format!("/api/v1/antraege/{id}"), &auth, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(v["data"]["familienname"], "Musterfrau", "{v}");
        assert_eq!(v["status"], "eingegangen");
        assert!(v["next_statuses"].as_array().unwrap().iter().any(|s| s == "abgeschlossen:bewilligt"));
        let (r, _) = api(app, "GET", &format!("/api/v1/antraege/{id}/quittung.pdf"), &auth, None).await;
        assert!(r.body.starts_with("%PDF-"));
        let audited: Vec<String> = app
            .store
            .store
            .audit_entries(None, 500)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.actor == format!("api:{reader_id}"))
            .map(|e| e.action)
            .collect();
        assert!(audited.contains(&"api.submission.view".to_owned()), "{audited:?}");

        // Unknown and foreign ids look the same: 404.
        let (r, v) = api(app, "GET", "/api/v1/antraege/999999", &auth, None).await;
        problem(&r, &v, 404, "unknown-submission");
        let heideland = app.authority_id("sg-heideland").await;
        let mut tx = app.store.store.begin().await.unwrap();
        tx.insert_api_client(
            heideland,
            "Fremd",
            "fremd-client",
            &amtsweg_web::api::secret_hash("fremd-geheim"),
            "submissions:read submissions:write",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let foreign = [("x-api-key", "fremd-client:fremd-geheim")];
        let (r, v) = api(app, "GET", &format!("/api/v1/antraege/{id}"), &foreign, None).await;
        problem(&r, &v, 404, "unknown-submission");
        let (r, v) = api(app, "GET", "/api/v1/antraege?status=all", &foreign, None).await;
        assert_eq!(r.status, 200);
        assert!(v["items"].as_array().unwrap().is_empty(), "no data of another authority: {v}");
        let (r, v) = api(app, "POST", &format!("/api/v1/antraege/{id}/empfangsbestaetigung"), &foreign, None).await;
        problem(&r, &v, 404, "unknown-submission");

        // Acknowledge once; the replay is refused; the list of new ones is empty then.
        let (r, v) = api(app, "POST", &format!("/api/v1/antraege/{id}/empfangsbestaetigung"), &auth, None).await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert!(v["acknowledged_at"].as_str().is_some());
        let (r, v) = api(app, "POST", &format!("/api/v1/antraege/{id}/empfangsbestaetigung"), &auth, None).await;
        problem(&r, &v, 409, "already-acknowledged");
        let (_, v) = api(app, "GET", "/api/v1/antraege", &auth, None).await;
        assert!(!v["items"].as_array().unwrap().iter().any(|i| i["id"] == id), "{v}");
        let (_, v) = api(app, "GET", "/api/v1/antraege?status=all", &auth, None).await;
        assert!(v["items"].as_array().unwrap().iter().any(|i| i["id"] == id));
        let (r, v) = api(app, "GET", "/api/v1/antraege?limit=0", &auth, None).await;
        problem(&r, &v, 422, "invalid-request");
        let (r, v) = api(app, "GET", "/api/v1/antraege?status=neu", &auth, None).await;
        problem(&r, &v, 422, "invalid-request");

        // The read-only client may not write; English on request.
        let (r, v) =
            api(app, "POST", &format!("/api/v1/antraege/{id}/status"), &auth, Some(r#"{"status":"in_bearbeitung"}"#))
                .await;
        problem(&r, &v, 403, "insufficient-scope");
        let en = [("authorization", reader.as_str()), ("accept-language", "en-GB,en;q=0.9")];
        let (r, v) =
            api(app, "POST", &format!("/api/v1/antraege/{id}/status"), &en, Some(r#"{"status":"in_bearbeitung"}"#))
                .await;
        assert_eq!(r.status, 403);
        assert!(v["detail"].as_str().unwrap().starts_with("This client lacks"), "{v}");

        // Malformed and impossible status updates, then a real one with a message.
        let key = format!("{writer_id}:{writer_secret}");
        let writer = [("x-api-key", key.as_str())];
        for bad in [
            r#"{"status":}"#,
            r#"{"state":"in_bearbeitung"}"#,
            r#"{"status":"erledigt"}"#,
            r#"{"status":"abgeschlossen"}"#,
            r#"{"status":"rueckfrage"}"#,
        ] {
            let (r, v) = api(app, "POST", &format!("/api/v1/antraege/{id}/status"), &writer, Some(bad)).await;
            problem(&r, &v, 422, "invalid-request");
        }
        assert!(app.store.store.submission_events(id).await.unwrap().is_empty(), "nothing stored by bad input");
        let (r, v) = api(
            app,
            "POST",
            &format!("/api/v1/antraege/{id}/status"),
            &writer,
            Some(r#"{"status":"abgeschlossen","outcome":"bewilligt","message":"Die Unterlagen kommen mit der Post."}"#),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(v["status_label"], "Abgeschlossen: Bewilligt");
        let (r, _) = api(
            app,
            "POST",
            &format!("/api/v1/antraege/{id}/nachrichten"),
            &writer,
            Some(r#"{"text":"Viel Erfolg bei der Wahl."}"#),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let (r, v) =
            api(app, "POST", &format!("/api/v1/antraege/{id}/nachrichten"), &writer, Some(r#"{"text":""}"#)).await;
        problem(&r, &v, 422, "invalid-request");
        let mine = get(app, &mut citizen_jar, &format!("/konto/antraege/{id}")).await;
        assert!(
            mine.body.contains("Abgeschlossen: Bewilligt") && mine.body.contains("Die Unterlagen kommen mit der Post.")
        );
        assert!(mine.body.contains("Viel Erfolg bei der Wahl."));

        // Signed download links: genuine ones work, changed ones do not.
        let t = amtsweg_portal::handoff::download_token(&app.state.portal, id, 0, amtsweg_store::now_ms() + 60_000)
            .unwrap();
        let (r, _) = api(app, "GET", &format!("/api/v1/dateien/{t}"), &[], None).await;
        assert!(r.body.starts_with("%PDF-"), "{}", r.status);
        let (r, v) =
            api(app, "GET", &format!("/api/v1/dateien/{}.{}", id + 1, t.split_once('.').unwrap().1), &[], None).await;
        problem(&r, &v, 404, "unknown-link");
        let old = amtsweg_portal::handoff::download_token(&app.state.portal, id, 0, 1).unwrap();
        let (r, _) = api(app, "GET", &format!("/api/v1/dateien/{old}"), &[], None).await;
        assert_eq!(r.status, 404, "expired");

        // A revoked client is out at once, also with a token issued before.
        let page = get(app, &mut admin, "/verwaltung/behoerden/moorbrueck/schnittstellen/").await;
        let csrf = hidden(&page.body, "csrf");
        let client = app.store.store.api_client(&reader_id).await.unwrap().unwrap();
        let r = post(
            app,
            &mut admin,
            &format!("/verwaltung/behoerden/moorbrueck/schnittstellen/zugaenge/{}/widerrufen", client.id),
            &format!("csrf={csrf}"),
        )
        .await;
        assert_eq!(r.status, 303);
        let (r, _) = api(app, "GET", "/api/v1/antraege", &auth, None).await;
        assert_eq!(r.status, 401);
    });
}

/// What the test receiver saw: (idempotency key, signature, body) per request.
type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

/// A receiver that fails twice (500, then 429 with Retry-After: 0) and then accepts.
async fn flaky_receiver() -> (String, Seen, tokio::task::JoinHandle<()>) {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let s = s.clone();
            async move {
                let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                let n = {
                    let mut seen = s.lock().unwrap();
                    seen.push((h("idempotency-key"), h("x-amtsweg-signature"), body));
                    seen.len()
                };
                match n {
                    1 => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, [("retry-after", "0")], "kaputt"),
                    2 => (axum::http::StatusCode::TOO_MANY_REQUESTS, [("retry-after", "0")], "langsam"),
                    _ => (axum::http::StatusCode::OK, [("retry-after", "0")], "ok"),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://127.0.0.1:{}/hook", addr.port()), seen, task)
}

fn policy(max_attempts: i64) -> RetryPolicy {
    RetryPolicy {
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
        max_attempts,
        lease: Duration::from_secs(30),
        request_timeout: Duration::from_secs(5),
        concurrency: 4,
    }
}

async fn run_until(worker: &Worker<Portal>, done: impl AsyncFn() -> bool) {
    for _ in 0..200 {
        worker.run_once().await.unwrap();
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    panic!("deliveries did not finish");
}

const SECRET: &str = "ein-langes-gemeinsames-geheimnis-fuer-den-webhook";

#[tokio::test]
async fn a_webhook_receives_each_submission_once_in_effect() {
    for owned in crate::support::apps_with(local_receivers(Connectors::default())).await {
        let app = &owned;
        let (url, seen, receiver) = flaky_receiver().await;
        let mut admin = sign_in(app, ADMIN).await;
        let page = get(app, &mut admin, "/verwaltung/behoerden/moorbrueck/schnittstellen/").await;
        let csrf = hidden(&page.body, "csrf");
        let path = "/verwaltung/behoerden/moorbrueck/schnittstellen/verbindungen";
        // Misconfigured connectors are refused with what to fix.
        let r = post(
            app,
            &mut admin,
            path,
            &format!(
                "csrf={csrf}&name=Wahlamt&art=webhook&webhook_url={}&webhook_secret={SECRET}",
                enc("http://wahlamt.example/in")
            ),
        )
        .await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("https://"), "{}", r.body);
        let r = post(
            app,
            &mut admin,
            path,
            &format!("csrf={csrf}&name=Wahlamt&art=webhook&webhook_url={}&webhook_secret=kurz", enc(&url)),
        )
        .await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("32 Zeichen"));
        let r = post(app, &mut admin, path, &format!("csrf={csrf}&name=Post&art=email&email_to=kein-postfach")).await;
        assert_eq!(r.status, 422);
        assert!(app.store.store.connectors_of(app.authority_id("moorbrueck").await).await.unwrap().is_empty());
        let r = post(
            app,
            &mut admin,
            path,
            &format!("csrf={csrf}&name=Wahlamt&art=webhook&webhook_url={}&webhook_secret={SECRET}", enc(&url)),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        // An unreachable receiver gives up after its attempts and can be resent.
        let dead_url = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("http://127.0.0.1:{}/weg", l.local_addr().unwrap().port())
        };
        let r = post(
            app,
            &mut admin,
            path,
            &format!("csrf={csrf}&name=Archiv&art=webhook&webhook_url={}&webhook_secret={SECRET}", enc(&dead_url)),
        )
        .await;
        assert_eq!(r.status, 303);

        let (_, id, receipt) = applied(app, "webhook.citizen@example.org").await;
        let town = app.authority_id("moorbrueck").await;
        assert_eq!(
            app.store.store.deliveries_of(town, id).await.unwrap().len(),
            2,
            "one per connector, in the submission's commit"
        );

        let worker = Worker::new(app.store.store.clone(), app.state.portal.clone(), None, policy(3))
            .unwrap()
            .with_connectors(app.state.config.connectors.clone())
            .unwrap();
        let store = app.store.store.clone();
        run_until(&worker, async || store.deliveries_of(town, id).await.unwrap().iter().all(|d| d.status != "pending"))
            .await;
        let deliveries = app.store.store.deliveries_of(town, id).await.unwrap();
        assert_eq!(deliveries[0].status, "delivered", "{deliveries:?}");
        assert_eq!(deliveries[0].attempts, 3);
        assert_eq!(deliveries[1].status, "dead");
        assert!(!deliveries[1].last_error.is_empty());

        // Three requests, one key, each signed over its timestamp and body.
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 3);
        assert!(seen.iter().all(|(k, _, _)| k == &seen[0].0 && !k.is_empty()), "one idempotency key");
        for (_, sig, body) in &seen {
            let t: i64 = sig.strip_prefix("t=").unwrap().split(',').next().unwrap().parse().unwrap();
            assert_eq!(sig, &amtsweg_handoff::deliver::signature(SECRET, t, body.as_bytes()).unwrap());
        }
        let body: serde_json::Value = serde_json::from_str(&seen[2].2).unwrap();
        assert_eq!(body["receipt_number"], receipt.as_str());
        assert_eq!(body["data"]["familienname"], "Musterfrau");
        let pdf_url = body["receipt_pdf_url"].as_str().unwrap();
        let pdf = app.get(&pdf_url[pdf_url.find("/api/").unwrap()..]).await;
        assert!(pdf.body.starts_with("%PDF-"), "the file link works: {} {}", pdf.status, pdf.body);

        // The delivery view, a resend of the dead one, and the reconciliation report.
        let mut worker_jar = sign_in(app, "sachbearbeitung@moorbrueck.example").await;
        let view = get(app, &mut worker_jar, &format!("/verwaltung/antraege/{id}")).await;
        assert!(view.body.contains("zugestellt") && view.body.contains("aufgegeben"), "{}", view.body);
        let csrf_w = hidden(&view.body, "csrf");
        let r = post(
            app,
            &mut worker_jar,
            &format!("/verwaltung/antraege/{id}/zustellungen/{}/erneut", deliveries[1].id),
            &format!("csrf={csrf_w}"),
        )
        .await;
        assert_eq!(r.status, 303);
        let again = app.store.store.deliveries_of(town, id).await.unwrap();
        assert_eq!((again[1].status.as_str(), again[1].attempts), ("pending", 0));
        let berlin = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
        let today = jiff::Zoned::now().with_time_zone(berlin).date();
        let csv = get(
            app,
            &mut admin,
            &format!("/verwaltung/behoerden/moorbrueck/schnittstellen/abgleich.csv?von={today}&bis={today}"),
        )
        .await;
        assert_eq!(csv.status, 200, "{}", csv.body);
        assert!(csv.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
        let line = csv
            .body
            .lines()
            .find(|l| l.contains(&receipt) && l.contains("Wahlamt"))
            .unwrap_or_else(|| panic!("{}", csv.body));
        assert!(line.ends_with("genau einmal zugestellt"), "{line}");
        assert!(csv.body.lines().any(|l| l.contains(&receipt) && l.contains("noch nicht zugestellt")));
        let bad =
            get(app, &mut admin, "/verwaltung/behoerden/moorbrueck/schnittstellen/abgleich.csv?von=gestern&bis=heute")
                .await;
        assert_eq!(bad.status, 400);
        receiver.abort();
        owned.cleanup().await;
    }
}

/// An xdomea connector for one form, set up in the back office: the worker writes the
/// submission as a Vorgang ZIP into the DMS import folder (once, even when resent), the
/// message validates against the official schema, and another form's connector is not
/// used for it.
#[tokio::test]
async fn an_xdomea_folder_receives_the_vorgang_once() {
    let root = tempfile::tempdir().unwrap();
    let dirs = amtsweg_handoff::xdomea::XdomeaDirs { base_dir: Some(root.path().to_owned()), ..Default::default() };
    for owned in crate::support::apps_with(local_receivers(Connectors { xdomea: dirs, ..Connectors::default() })).await
    {
        let app = &owned;
        // The operator's folder for the Verbund; the server makes one per authority.
        let folder = root.path().join("moorbrueck");
        let mut admin = sign_in(app, ADMIN).await;
        let page = get(app, &mut admin, "/verwaltung/behoerden/moorbrueck/schnittstellen/").await;
        let csrf = hidden(&page.body, "csrf");
        let town = app.authority_id("moorbrueck").await;
        let form_id = |slug: &str| app.state.catalogue().form(town, slug).unwrap().form_id;
        let path = "/verwaltung/behoerden/moorbrueck/schnittstellen/verbindungen";
        let body = format!("csrf={csrf}&name=DMS&art=xdomea&formular={}", form_id("briefwahl"));
        assert_eq!(post(app, &mut admin, path, &body).await.status, 303);
        let other = format!(
            "csrf={csrf}&name=Feuerwehr&art=webhook&formular={}&webhook_url={}&webhook_secret={SECRET}",
            form_id("osterfeuer"),
            enc("https://feuerwehr.example/eingang")
        );
        assert_eq!(post(app, &mut admin, path, &other).await.status, 303);

        let (_, id, receipt) = applied(app, "xdomea.citizen@example.org").await;
        let deliveries = app.store.store.deliveries_of(town, id).await.unwrap();
        assert_eq!(deliveries.len(), 1, "only the connector of this form");
        let worker = Worker::new(app.store.store.clone(), app.state.portal.clone(), None, policy(3))
            .unwrap()
            .with_connectors(app.state.config.connectors.clone())
            .unwrap();
        let store = app.store.store.clone();
        run_until(&worker, async || store.deliveries_of(town, id).await.unwrap()[0].status == "delivered").await;
        // Sent again by a person: the same file, not a second one.
        let mut tx = app.store.store.begin().await.unwrap();
        tx.resend_delivery(town, deliveries[0].id).await.unwrap();
        tx.commit().await.unwrap();
        run_until(&worker, async || store.deliveries_of(town, id).await.unwrap()[0].status == "delivered").await;
        let zips: Vec<_> = std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(zips.len(), 1, "{zips:?}");
        assert!(zips[0].to_str().unwrap().ends_with("_FVDaten.SGOAblegen.0605.zip"));
        let mut archive = zip::ZipArchive::new(std::fs::File::open(&zips[0]).unwrap()).unwrap();
        let mut xml = String::new();
        let mut pdfs = 0;
        for i in 0..archive.len() {
            let mut f = archive.by_index(i).unwrap();
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut f, &mut bytes).unwrap();
            if f.name().unwrap().ends_with(".xml") {
                xml = String::from_utf8(bytes).unwrap();
            } else if bytes.starts_with(b"%PDF-") {
                pdfs += 1;
            }
        }
        assert!(xml.contains(&receipt), "the Vorgang names the receipt number");
        assert_eq!(pdfs, 1, "the receipt PDF is a document");
        let xsd = std::env::var_os("AMTSWEG_CONFORMANCE_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance"))
            .join("xdomea/xsd/xdomea_3.0.0/xdomea.xsd");
        if xsd.is_file() {
            let file = root.path().join("message.xml.check");
            std::fs::write(&file, &xml).unwrap();
            let out = std::process::Command::new("xmllint")
                .args(["--noout", "--schema", xsd.to_str().unwrap(), file.to_str().unwrap()])
                .output()
                .expect("xmllint (libxml2-utils)");
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        } else {
            eprintln!("SKIPPED xdomea schema check: {} not found", xsd.display());
        }
        // The folder is the Verbund's, shared by both backends' runs.
        for z in &zips {
            std::fs::remove_file(z).unwrap();
        }
        owned.cleanup().await;
    }
}
