//! Connectors cannot reach outside their tenant (issue 18, findings 3 and 4), on both
//! databases: URLs into the server's own network are refused when saved and again at
//! delivery time (a name whose DNS answer points inside), redirects are not followed,
//! staff see only a classified error; xdomea packages go only below the folder the
//! operator configured, whatever an administrator typed or stored earlier.

use crate::casework::applied;
use crate::support::{TestApp, apps_with};
use crate::verwaltung::{enc, get, hidden, post, sign_in};
use amtsweg_handoff::deliver::{Connectors, RetryPolicy, Worker};
use amtsweg_handoff::outbound::{OutboundConfig, Policy};
use amtsweg_store::handoff::NewConnector;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const ADMIN: &str = "admin@moorbrueck.example";
const CREATE: &str = "/verwaltung/behoerden/moorbrueck/schnittstellen/verbindungen";
const SECRET: &str = "ein-langes-gemeinsames-geheimnis-fuer-den-webhook";

/// The operator's explicit allowance for test receivers at the host 127.0.0.1 (plain
/// HTTP, its address) — what a test configuration sets, no blanket bypass: a name
/// that resolves to 127.0.0.1 (`localhost`) is still refused.
pub(crate) fn local_receivers(connectors: Connectors) -> amtsweg_web::WebConfig {
    let outbound = Policy::new(&OutboundConfig {
        allow_hosts: vec!["127.0.0.1".into()],
        http_hosts: vec!["127.0.0.1".into()],
        ..OutboundConfig::default()
    })
    .unwrap();
    amtsweg_web::WebConfig { connectors: Connectors { outbound, ..connectors }, ..amtsweg_web::WebConfig::default() }
}

/// A worker with the app's connector settings.
pub(crate) fn worker(app: &TestApp) -> Worker<amtsweg_portal::Portal> {
    let policy = RetryPolicy {
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
        max_attempts: 3,
        lease: Duration::from_secs(30),
        request_timeout: Duration::from_secs(5),
        concurrency: 4,
    };
    Worker::new(app.store.store.clone(), app.state.portal.clone(), None, policy)
        .unwrap()
        .with_connectors(app.state.config.connectors.clone())
        .unwrap()
}

async fn deliver_all(app: &TestApp, town: i64, id: i64) -> Vec<amtsweg_store::handoff::DeliveryRow> {
    let w = worker(app);
    for _ in 0..200 {
        w.run_once().await.unwrap();
        let d = app.store.store.deliveries_of(town, id).await.unwrap();
        if d.iter().all(|d| d.status != "pending") {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    panic!("deliveries did not finish");
}

/// A connector stored as the portal stores it, bypassing the form's checks (settings
/// saved before a DNS change, or before this policy).
async fn stored_connector(app: &TestApp, kind: &str, name: &str, json: &str) -> i64 {
    let town = app.authority_id("moorbrueck").await;
    let new = NewConnector { authority_id: town, form_id: None, kind, name, config: "" };
    amtsweg_portal::handoff::add_connector(&app.state.portal, &new, json).await.unwrap()
}

#[tokio::test]
async fn connector_urls_into_the_servers_network_are_refused_when_saved() {
    // Even with the test allowance for 127.0.0.1, nothing else inside is reachable.
    for owned in apps_with(local_receivers(Connectors::default())).await {
        let app = &owned;
        eprintln!("backend: {}", app.name());
        let mut admin = sign_in(app, ADMIN).await;
        let page = get(app, &mut admin, "/verwaltung/behoerden/moorbrueck/schnittstellen/").await;
        let csrf = hidden(&page.body, "csrf");
        let hook =
            |url: &str| format!("csrf={csrf}&name=Test&art=webhook&webhook_url={}&webhook_secret={SECRET}", enc(url));
        for url in [
            "http://127.0.0.1@10.0.0.5/",
            "http://localhost.attacker.example/",
            // 10.0.0.1 in decimal and hex; another loopback address than the allowed one.
            "https://167772161/",
            "https://0xa.1/",
            "https://127.0.0.2/",
            "https://[::ffff:10.0.0.1]/",
            "https://169.254.169.254/latest/meta-data/",
            "https://[fd00:ec2::254]/",
            "https://localhost/",
            "http://wahlamt.example/eingang",
        ] {
            let r = post(app, &mut admin, CREATE, &hook(url)).await;
            assert_eq!(r.status, 422, "{url}: {}", r.body);
            assert!(r.body.contains("Ziel nicht erlaubt") || r.body.contains("https://"), "{url}: {}", r.body);
        }
        let fit = format!(
            "csrf={csrf}&name=FIT&art=fitconnect&fit_api={}&fit_destination=7d1e5e4a-1f5e-4c1b-9a59-2d6f0e6b8c11",
            enc("https://10.1.2.3/")
        );
        let r = post(app, &mut admin, CREATE, &fit).await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(r.body.contains("Ziel nicht erlaubt"), "{}", r.body);
        let xdomea = format!("csrf={csrf}&name=DMS&art=xdomea&xdomea_url={}", enc("https://192.168.1.10/import"));
        let r = post(app, &mut admin, CREATE, &xdomea).await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(app.store.store.connectors_of(app.authority_id("moorbrueck").await).await.unwrap().is_empty());
        // The allowed test receiver address is accepted.
        let r = post(app, &mut admin, CREATE, &hook("http://127.0.0.1:9/eingang")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        owned.cleanup().await;
    }
}

/// A receiver on 127.0.0.1: `/fehler` answers 500 with an internal text, `/weiter`
/// redirects to `/ziel`; counts every request.
async fn receiver() -> (u16, Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let (h1, h2, h3) = (hits.clone(), hits.clone(), hits.clone());
    let app = axum::Router::new()
        .route(
            "/fehler",
            axum::routing::post(move || {
                h1.fetch_add(1, Ordering::SeqCst);
                async {
                    (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "interne-Datenbank db01.intern: Passwort falsch")
                }
            }),
        )
        .route(
            "/weiter",
            axum::routing::post(move || {
                h2.fetch_add(1, Ordering::SeqCst);
                async { (axum::http::StatusCode::TEMPORARY_REDIRECT, [("location", "/ziel")], "") }
            }),
        )
        .route(
            "/ziel",
            axum::routing::post(move || {
                h3.fetch_add(1000, Ordering::SeqCst);
                async { "ok" }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (port, hits, task)
}

#[tokio::test]
async fn deliveries_check_the_target_again_and_staff_see_only_a_class() {
    for owned in apps_with(local_receivers(Connectors::default())).await {
        let app = &owned;
        eprintln!("backend: {}", app.name());
        let (port, hits, task) = receiver().await;
        let hook = |url: String| serde_json::json!({ "url": url, "secret": SECRET }).to_string();
        // "localhost" stands for 127.0.0.1 only when resolved, at delivery time: the
        // name passes every check without the network, like a name whose DNS answer
        // changed after it was saved; plain HTTP to it is not even allowed.
        stored_connector(app, "webhook", "Umgebogen", &hook(format!("http://localhost:{port}/fehler"))).await;
        stored_connector(app, "webhook", "Umgebogen TLS", &hook(format!("https://localhost:{port}/fehler"))).await;
        stored_connector(app, "webhook", "Fehler", &hook(format!("http://127.0.0.1:{port}/fehler"))).await;
        stored_connector(app, "webhook", "Weiterleitung", &hook(format!("http://127.0.0.1:{port}/weiter"))).await;
        stored_connector(app, "webhook", "Alt", &hook("http://127.0.0.1@10.0.0.5/".into())).await;

        let (_, id, _) = applied(app, "outbound.citizen@example.org").await;
        let town = app.authority_id("moorbrueck").await;
        let deliveries = deliver_all(app, town, id).await;
        let connectors = app.store.store.connectors_of(town).await.unwrap();
        let error_of = |name: &str| {
            let c = connectors.iter().find(|c| c.name == name).unwrap().id;
            let d = deliveries.iter().find(|d| d.connector_id == c).unwrap();
            assert_eq!(d.status, "dead", "{name}: {d:?}");
            d.last_error.clone()
        };
        assert!(error_of("Umgebogen").contains("https://"), "{}", error_of("Umgebogen"));
        assert!(error_of("Umgebogen TLS").starts_with("Webhook: Ziel nicht erlaubt"), "{}", error_of("Umgebogen TLS"));
        assert!(error_of("Alt").contains("https://"), "{}", error_of("Alt"));
        let failed = error_of("Fehler");
        assert!(failed.starts_with("Webhook: Antwort 5xx") && failed.contains("500"), "{failed}");
        assert!(!failed.contains("intern") && !failed.contains("Passwort"), "no answer excerpt: {failed}");
        assert!(error_of("Weiterleitung").contains("Weiterleitung nicht erlaubt"), "{}", error_of("Weiterleitung"));
        // Three attempts at /fehler, one at /weiter (a redirect is not retried), none at
        // /ziel (redirects are not followed) and none by the refused ones.
        assert_eq!(hits.load(Ordering::SeqCst), 3 + 1);

        // What staff see on the case page: the class, not the receiver's text.
        let mut clerk = sign_in(app, "sachbearbeitung@moorbrueck.example").await;
        let view = get(app, &mut clerk, &format!("/verwaltung/antraege/{id}")).await;
        assert!(view.body.contains("Antwort 5xx") && !view.body.contains("db01.intern"), "{}", view.body);
        task.abort();
        owned.cleanup().await;
    }
}

#[tokio::test]
async fn xdomea_packages_go_only_below_the_configured_folder() {
    let root = tempfile::tempdir().unwrap();
    let base = root.path().join("dms");
    let elsewhere = root.path().join("anderswo");
    std::fs::create_dir_all(&base).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    let connectors = Connectors {
        xdomea: amtsweg_handoff::xdomea::XdomeaDirs { base_dir: Some(base.clone()), ..Default::default() },
        ..Connectors::default()
    };
    for owned in apps_with(local_receivers(connectors)).await {
        let app = &owned;
        eprintln!("backend: {}", app.name());
        let mut admin = sign_in(app, ADMIN).await;
        let page = get(app, &mut admin, "/verwaltung/behoerden/moorbrueck/schnittstellen/?art=xdomea").await;
        assert!(!page.body.contains("xdomea_directory"), "no folder input any more");
        assert!(page.body.contains("Ablageverzeichnis"), "{}", page.body);
        let csrf = hidden(&page.body, "csrf");
        // A folder typed in anyway is ignored.
        let body = format!("csrf={csrf}&name=DMS&art=xdomea&xdomea_directory={}", enc(elsewhere.to_str().unwrap()));
        let r = post(app, &mut admin, CREATE, &body).await;
        assert_eq!(r.status, 303, "{}", r.body);
        // One stored earlier with a folder of its own: the edit page says it is not used.
        let legacy = serde_json::json!({ "directory": elsewhere }).to_string();
        let old = stored_connector(app, "xdomea", "DMS alt", &legacy).await;
        let edit = get(
            app,
            &mut admin,
            &format!("/verwaltung/behoerden/moorbrueck/schnittstellen/verbindungen/{old}/bearbeiten"),
        )
        .await;
        assert_eq!(edit.status, 200, "{}", edit.body);
        assert!(edit.body.contains("wird nicht mehr verwendet"), "{}", edit.body);
        assert!(!edit.body.contains(elsewhere.to_str().unwrap()), "the old path is not shown");

        let (_, id, _) = applied(app, &format!("xdomea.{}@example.org", app.name())).await;
        let town = app.authority_id("moorbrueck").await;
        let deliveries = deliver_all(app, town, id).await;
        assert!(deliveries.iter().all(|d| d.status == "delivered"), "{deliveries:?}");
        assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0, "nothing written where an administrator said");
        let zips: Vec<_> = std::fs::read_dir(base.join("moorbrueck")).unwrap().map(|e| e.unwrap().path()).collect();
        assert!(!zips.is_empty() && zips.iter().all(|z| z.to_str().unwrap().ends_with(".zip")), "{zips:?}");
        for z in zips {
            std::fs::remove_file(z).unwrap();
        }
        owned.cleanup().await;
    }
}

#[tokio::test]
async fn without_a_configured_folder_xdomea_needs_an_address_and_errors_name_no_paths() {
    let missing = std::env::temp_dir().join(format!("amtsweg-fehlt-{}", std::process::id()));
    for owned in apps_with(local_receivers(Connectors::default())).await {
        let app = &owned;
        let mut admin = sign_in(app, ADMIN).await;
        let page = get(app, &mut admin, "/verwaltung/behoerden/moorbrueck/schnittstellen/").await;
        let csrf = hidden(&page.body, "csrf");
        let r = post(app, &mut admin, CREATE, &format!("csrf={csrf}&name=DMS&art=xdomea")).await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(r.body.contains("kein Ablageverzeichnis eingerichtet"), "{}", r.body);
        owned.cleanup().await;
    }
    // A configured folder that is missing on disk: staff learn that, not where.
    let connectors = Connectors {
        xdomea: amtsweg_handoff::xdomea::XdomeaDirs { base_dir: Some(missing.clone()), ..Default::default() },
        ..Connectors::default()
    };
    for owned in apps_with(local_receivers(connectors)).await {
        let app = &owned;
        stored_connector(app, "xdomea", "DMS", "{}").await;
        let (_, id, _) = applied(app, "xdomea.fehlt@example.org").await;
        let town = app.authority_id("moorbrueck").await;
        let w = worker(app);
        w.run_once().await.unwrap();
        let d = app.store.store.deliveries_of(town, id).await.unwrap();
        assert!(d[0].last_error.contains("Ablageverzeichnis"), "{:?}", d[0]);
        assert!(!d[0].last_error.contains(missing.to_str().unwrap()) && !d[0].last_error.contains('/'), "{:?}", d[0]);
        owned.cleanup().await;
    }
}
