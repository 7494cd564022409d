//! The API agrees with its document: Schemathesis sends every check it has against
//! `/api/openapi.json` of the real binary, and the refusals it once found — ids
//! beyond 64 bits, negative limits, JSON as text, oversized bodies, NUL characters,
//! broken form escapes — are answered with the problems the document names.

use crate::on_each_backend;
use crate::support::{Reply, TestApp};
use crate::verwaltung::{get, sign_in};
use axum::body::Body;
use axum::http::Request;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CLIENT: &str = "fuzz-client";
const SECRET: &str = "fuzz-geheimnis";

async fn api_client(app: &TestApp) -> String {
    let a = app.authority_id("moorbrueck").await;
    let mut tx = app.store.store.begin().await.unwrap();
    let scopes = "submissions:read submissions:write";
    tx.insert_api_client(a, "Fachverfahren", CLIENT, &amtsweg_web::api::secret_hash(SECRET), scopes).await.unwrap();
    tx.commit().await.unwrap();
    format!("{CLIENT}:{SECRET}")
}

async fn send(app: &TestApp, method: &str, path: &str, key: &str, body: Option<(&str, Vec<u8>)>) -> Reply {
    let b = Request::builder().method(method).uri(path).header("host", "127.0.0.1:8080").header("x-api-key", key);
    let req = match body {
        Some((ct, bytes)) => b.header("content-type", ct).body(Body::from(bytes)).unwrap(),
        None => b.body(Body::empty()).unwrap(),
    };
    app.request(req).await
}

/// A problem detail of the API's own kind (not the generic `about:blank`).
fn problem(r: &Reply, status: u16, kind: &str) -> serde_json::Value {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.headers["content-type"], "application/problem+json", "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["type"], format!("https://amtsweg.de/probleme/{kind}"), "{}", r.body);
    v
}

fn token_request(body: &str) -> Request<Body> {
    Request::post("/api/v1/token")
        .header("host", "127.0.0.1:8080")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

#[tokio::test]
async fn api_refusals_are_the_problems_its_document_names() {
    on_each_backend!(|app| {
        let (_, id, _) = crate::casework::applied(app, "api.fuzz@example.org").await;
        let key = api_client(app).await;

        // Path and query values that do not parse: the API's problems, not axum's text.
        let r = send(app, "GET", "/api/v1/antraege/99999999999999999999", &key, None).await;
        problem(&r, 404, "not-found");
        let r = send(app, "GET", &format!("/api/v1/antraege/{id}/dateien/-1.5"), &key, None).await;
        problem(&r, 404, "not-found");
        for q in ["limit=-1", "limit=0", "limit=501", "limit=zehn", "after=1e3", "status=neu"] {
            let r = send(app, "GET", &format!("/api/v1/antraege?{q}"), &key, None).await;
            problem(&r, 422, "invalid-request");
        }

        // JSON bodies: only as JSON, only up to `body_limit`, no control characters.
        let status = format!("/api/v1/antraege/{id}/status");
        let json = br#"{"status":"in_bearbeitung"}"#.to_vec();
        let r = send(app, "POST", &status, &key, Some(("text/plain", json.clone()))).await;
        problem(&r, 415, "unsupported-media-type");
        let r = send(app, "POST", &status, &key, None).await;
        problem(&r, 415, "unsupported-media-type");
        let limit = app.state.config.body_limit;
        let big = format!(r#"{{"status":"in_bearbeitung","message":"{}"}}"#, "x".repeat(limit));
        let r = send(app, "POST", &status, &key, Some(("application/json", big.into_bytes()))).await;
        problem(&r, 413, "too-large");
        let messages = format!("/api/v1/antraege/{id}/nachrichten");
        let nul = br#"{"text":"Guten Tag\u0000, Ihr Antrag"}"#.to_vec();
        let r = send(app, "POST", &messages, &key, Some(("application/json", nul))).await;
        let v = problem(&r, 422, "invalid-request");
        assert!(v["detail"].as_str().unwrap().contains("Steuerzeichen"), "{v}");
        let r = send(app, "POST", &status, &key, Some(("application/json", json))).await;
        assert_eq!(r.status, 200, "a fitting body still works: {}", r.body);
        let events = app.store.store.submission_events(id).await.unwrap();
        assert_eq!(events.len(), 1, "only the fitting status change is stored");

        // The back-office form refuses the same text by the same rule.
        let mut clerk = sign_in(app, "sachbearbeitung@moorbrueck.example").await;
        let page = get(app, &mut clerk, &format!("/verwaltung/antraege/{id}")).await;
        let csrf = crate::verwaltung::hidden(&page.body, "csrf");
        let boundary = "----amtsweg-api-fuzz";
        let form = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nGuten Tag\0, Ihr Antrag\r\n--{boundary}--\r\n"
        );
        let req = Request::post(format!("/verwaltung/antraege/{id}/nachricht"))
            .header("host", "localhost")
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .header("cookie", clerk.header())
            .header("origin", "http://localhost")
            .body(Body::from(form))
            .unwrap();
        let r = app.request(req).await;
        assert!(r.body.contains("Steuerzeichen"), "{} {}", r.status, r.body);
        assert_eq!(app.store.store.submission_events(id).await.unwrap().len(), 1, "nothing stored");

        // The token endpoint: form bodies decoded by the standard rules, grant_type required.
        let r = app.request(token_request("grant_type=client_credentials&client_id=%ä&client_secret=%1ö")).await;
        assert_eq!(r.status, 401, "a broken escape before a multibyte character is no panic: {}", r.body);
        assert!(r.body.contains("invalid_client"));
        let r = app.request(token_request(&format!("client_id={CLIENT}&client_secret={SECRET}"))).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("invalid_request"), "{}", r.body);
        let r = app
            .request(token_request(&format!("grant_type=client_credentials&client_id={CLIENT}&client_secret={SECRET}")))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);

        // A valid key beside a forged bearer token is refused, not picked.
        let req = Request::get("/api/v1/antraege")
            .header("host", "127.0.0.1:8080")
            .header("x-api-key", key.as_str())
            .header("authorization", "Bearer at.fuzz-client.1.gefaelscht")
            .body(Body::empty())
            .unwrap();
        problem(&app.request(req).await, 401, "unauthenticated");
    });
}

#[test]
fn the_document_names_every_error_as_a_problem_with_its_limits() {
    let doc: serde_json::Value = serde_json::from_str(&amtsweg_web::api::openapi_document().unwrap()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().unwrap() {
                let Some(content) = response["content"].as_object() else { continue };
                if path != "/api/v1/token" && !status.starts_with('2') {
                    assert!(
                        content.keys().all(|k| k == "application/problem+json"),
                        "{method} {path} {status}: {content:?}"
                    );
                }
            }
            assert!(op["responses"]["429"].is_object(), "{method} {path} names its rate limit");
        }
    }
    let limit = doc["paths"]["/api/v1/antraege"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap()
        .clone();
    assert_eq!((limit["schema"]["minimum"].as_i64(), limit["schema"]["maximum"].as_i64()), (Some(1), Some(500)));
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["MessageIn"]["properties"]["text"]["minLength"], 1);
    assert_eq!(schemas["StatusUpdate"]["properties"]["status"]["minLength"], 1);
    assert!(schemas["TokenRequest"]["required"].as_array().unwrap().iter().any(|r| r == "grant_type"));
}

#[tokio::test]
async fn the_reconciliation_report_refuses_periods_it_cannot_cover() {
    on_each_backend!(|app| {
        let mut admin = sign_in(app, "admin@moorbrueck.example").await;
        let csv = "/verwaltung/behoerden/moorbrueck/schnittstellen/abgleich.csv";
        let r = get(app, &mut admin, &format!("{csv}?von=2026-01-01&bis=9999-12-31")).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("zwischen 2000 und 2100"), "{}", r.body);
        let r = get(app, &mut admin, &format!("{csv}?von=2025-01-01&bis=2026-06-30")).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("höchstens einem Jahr"), "{}", r.body);
        let r = get(app, &mut admin, &format!("{csv}?von=2025-07-01&bis=2026-07-01")).await;
        assert_eq!(r.status, 200, "one year is fine: {}", r.body);
    });
}

/// The Schemathesis command when it is installed; else the test is skipped with a
/// notice — or fails under CI=true, where `.ci/run` installs it.
fn schemathesis() -> Option<String> {
    let exe = std::env::var("SCHEMATHESIS").unwrap_or_else(|_| "schemathesis".into());
    let there = Command::new(&exe).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    if there.is_ok_and(|s| s.success()) {
        return Some(exe);
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "API fuzzing needs Schemathesis (pip install schemathesis; CI=true)"
    );
    eprintln!("SKIPPED API fuzzing: pip install schemathesis");
    None
}

struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Status changes and messages are refused with 422 for reasons no schema can hold:
/// the form's own workflow (which states follow which) and whether the citizen has a
/// Postfach; so are claims and activation codes (a Kassenzeichen of printable ASCII,
/// an open amount within the claim's, a notice that is a PDF, no control characters).
/// The document says so; every other check stays as Schemathesis has it.
const CONFIG: &str = r#"
[[operations]]
include-path = "/api/v1/antraege/{id}/status"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

[[operations]]
include-path = "/api/v1/antraege/{id}/nachrichten"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

[[operations]]
include-path = "/api/v1/termine/{id}/status"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

[[operations]]
include-path = "/api/v1/forderungen"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

[[operations]]
include-path = "/api/v1/aktivierungscodes"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]
"#;

/// The answers of the one-page Briefwahl form (as the rush benchmark sends them).
const ANSWERS: &str = "aktion=absenden&f.vorname=Erika&f.familienname=Musterfrau&f.geburtsdatum=12.03.1980\
&f.strasse=Am+Markt+1&f.plz=29391&f.ort=Moorbr%C3%BCck&f.wahlbezirk=012&f.waehlerverzeichnis=1234\
&f.versand=wohnung&f.versicherung=ja";

fn field(body: &str, name: &str) -> String {
    let at = body.find(&format!("name=\"{name}\"")).unwrap_or_else(|| panic!("no {name} in {body}"));
    let tag = &body[body[..at].rfind('<').unwrap()..at + body[at..].find('>').unwrap()];
    tag.split("value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned()
}

/// Applies for Briefwahl in the running server, so the API has submissions to serve.
async fn apply(addr: std::net::SocketAddr, form: &str) {
    let mut c = amtsweg::bench_client::Connection::connect(addr).await.unwrap();
    let page = c.send("GET", form, &[], None).await.unwrap();
    assert_eq!(page.status, 200, "{}", page.body);
    let cookie = page.cookies.join("; ");
    let body = format!("csrf={}&token={}&{ANSWERS}", field(&page.body, "csrf"), field(&page.body, "token"));
    let origin = c.origin();
    let headers = [
        ("cookie", cookie.as_str()),
        ("content-type", "application/x-www-form-urlencoded"),
        ("origin", origin.as_str()),
    ];
    let r = c.send("POST", form, &headers, Some(body.as_bytes())).await.unwrap();
    assert_eq!(r.status, 303, "{}", r.body);
}

#[tokio::test]
async fn schemathesis_finds_no_mismatch_between_the_api_and_its_document() {
    let Some(exe) = schemathesis() else { return };
    // Hypothesis and the server together take both cores.
    let _alone = crate::support::EXCLUSIVE.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("daten");
    let bin = env!("CARGO_BIN_EXE_amtsweg");
    let seeded =
        Command::new(bin).arg("--data-dir").arg(&data).arg("seed").env("AMTSWEG_LOG", "warn").output().unwrap();
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));
    let store = amtsweg_store::Store::open_sqlite(&data.join("amtsweg.db")).await.unwrap();
    let form = amtsweg::seed::publish_one_page_briefwahl(&store, "moorbrueck").await.unwrap();
    let a = store.authority_by_slug("moorbrueck").await.unwrap().unwrap().id;
    let mut tx = store.begin().await.unwrap();
    let scopes = "submissions:read submissions:write termine finanzen";
    tx.insert_api_client(a, "Schemathesis", CLIENT, &amtsweg_web::api::secret_hash(SECRET), scopes).await.unwrap();
    tx.commit().await.unwrap();
    store.close().await;

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut server = Command::new(bin);
    server.arg("--data-dir").arg(&data).args(["demo", "--port", &port.to_string()]);
    server.env("AMTSWEG_LOG", "warn").stdout(Stdio::null()).stderr(Stdio::null());
    // Thousands of requests from one address in a few minutes: the fuzz run tests the
    // API, not the rate limits (they have tests of their own), so it lifts them.
    for class in ["SIGN_IN", "POST", "EXPENSIVE"] {
        for key in ["PER_CLIENT_PER_MINUTE", "CLIENT_BURST", "GLOBAL_PER_SECOND", "GLOBAL_BURST"] {
            server.env(format!("AMTSWEG_WEB__LIMITS__{class}__{key}"), "0");
        }
    }
    let _running = Running(server.spawn().unwrap());
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let deadline = Instant::now() + Duration::from_secs(60);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for _ in 0..3 {
        apply(addr, &form).await;
    }

    let report = dir.path().join("schemathesis");
    let config = dir.path().join("schemathesis.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let out = tokio::process::Command::new(exe)
        .current_dir(dir.path())
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("http://127.0.0.1:{port}/api/openapi.json"), "--checks", "all"])
        .args(["--header", &format!("X-API-Key: {CLIENT}:{SECRET}")])
        // Bounded: about two minutes on two cores; the seed makes a failure reproducible.
        .args(["--max-examples", "100", "--seed", "18", "--workers", "2", "--request-timeout", "20"])
        // The key above authenticates; made-up bearer tokens beside it would only be refused.
        .args(["--generation-with-security-parameters", "false", "--generation-database", "none"])
        .args(["--no-color", "--report-dir"])
        .arg(&report)
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}");
    assert!(out.status.success(), "Schemathesis found mismatches:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
    // Every operation of the document, so a new endpoint is fuzzed the day it appears.
    let doc: serde_json::Value = serde_json::from_str(include_str!("../../../../docs/openapi.json")).unwrap();
    let operations: usize = doc["paths"].as_object().unwrap().values().map(|p| p.as_object().unwrap().len()).sum();
    assert!(text.contains(&format!("Tested: {operations}")), "every operation ({operations}) was tested: {text}");
}
