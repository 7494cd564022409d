//! Citizen sign-in with OpenID Connect against a real provider (npm `oidc-provider`,
//! started by the test from tests/browser/op.mjs): code flow with PKCE, state and
//! nonce, `acr` mapped to the trust level, linking to an existing account, step-up,
//! and refusal of replayed or foreign callbacks. Both databases.

use crate::support::{Reply, TestApp, apps_with};
use crate::verwaltung::{Jar, get};
use amtsweg_domain::TrustLevel;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

const CALLBACK: &str = "http://127.0.0.1:8080/konto/oidc/test/callback";

struct Op {
    child: Child,
    issuer: String,
}

impl Drop for Op {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_op() -> Option<Op> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    if !dir.join("node_modules/oidc-provider").is_dir() {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "the OpenID Connect test needs `npm ci` in tests/browser (CI=true)"
        );
        eprintln!("SKIPPED: run `npm ci` in tests/browser for the OpenID Connect provider");
        return None;
    }
    let mut child = Command::new("node")
        .args(["op.mjs", "0", "amtsweg", "test-geheimnis", CALLBACK])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node starts");
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    out.read_line(&mut line).unwrap();
    // Keep reading: a closed pipe would kill the provider at its next log line.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let issuer = line.trim().strip_prefix("READY ").expect("provider ready").to_owned();
    Some(Op { child, issuer })
}

fn config(issuer: &str) -> amtsweg_web::WebConfig {
    let acr = |a: &str, l: &str| (a.to_owned(), l.to_owned());
    amtsweg_web::WebConfig {
        oidc: vec![amtsweg_oidc::ProviderConfig {
            name: "test".into(),
            label: "Servicekonto Test".into(),
            issuer: issuer.to_owned(),
            client_id: "amtsweg".into(),
            client_secret: "test-geheimnis".into(),
            acr_map: [
                acr("urn:amtsweg:loa:low", "normal"),
                acr("urn:amtsweg:loa:substantial", "substanziell"),
                acr("urn:amtsweg:loa:high", "hoch"),
            ]
            .into_iter()
            .collect(),
        }],
        // The test provider runs on 127.0.0.1: the operator's explicit allowance.
        connectors: amtsweg_handoff::deliver::Connectors {
            outbound: amtsweg_handoff::outbound::Policy::new(&amtsweg_handoff::outbound::OutboundConfig {
                allow_hosts: vec!["127.0.0.1".into()],
                http_hosts: vec!["127.0.0.1".into()],
                ..Default::default()
            })
            .unwrap(),
            ..Default::default()
        },
        ..amtsweg_web::WebConfig::default()
    }
}

/// Plays the browser at the provider: follows its redirects (carrying its cookies)
/// until it sends us back to the portal's callback; returns that path and query.
async fn at_provider(start: &str, user: &str, acr: &str) -> String {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let origin = {
        let u = reqwest::Url::parse(start).unwrap();
        format!("{}://{}", u.scheme(), u.host_str().unwrap()) + &u.port().map(|p| format!(":{p}")).unwrap_or_default()
    };
    let mut cookies: Vec<(String, String)> = Vec::new();
    let mut url = start.to_owned();
    for _ in 0..6 {
        let header = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let r = http.get(&url).header("cookie", header).send().await.unwrap();
        for c in r.headers().get_all("set-cookie") {
            if let Some((k, v)) = c.to_str().unwrap().split(';').next().and_then(|p| p.split_once('=')) {
                cookies.retain(|(n, _)| n != k);
                cookies.push((k.to_owned(), v.to_owned()));
            }
        }
        let location = r.headers().get("location").map(|l| l.to_str().unwrap().to_owned()).expect("redirect");
        if let Some(back) = location.strip_prefix("http://127.0.0.1:8080") {
            return back.to_owned();
        }
        url = if location.starts_with('/') { format!("{origin}{location}") } else { location };
        if url.contains("/interaction/") {
            url = format!("{url}?sub={user}&acr={acr}");
        }
    }
    panic!("the provider did not send the browser back");
}

/// Starts at the portal, signs in at the provider as `user` with `acr`, and returns
/// the portal's answer to the callback.
async fn sign_in_with_provider(app: &TestApp, jar: &mut Jar, start: &str, user: &str, acr: &str) -> Reply {
    let r = get(app, jar, start).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let callback = at_provider(r.location(), user, acr).await;
    get(app, jar, &callback).await
}

/// Links (or steps up) the signed-in account: the explicit form of the session.
async fn link_with_provider(app: &TestApp, jar: &mut Jar, niveau: &str, weiter: &str, user: &str, acr: &str) -> Reply {
    let csrf = crate::verwaltung::hidden(&get(app, jar, "/konto/").await.body, "csrf");
    let body = format!("csrf={csrf}&niveau={niveau}&weiter={}", crate::verwaltung::enc(weiter));
    let r = crate::verwaltung::post(app, jar, "/konto/oidc/test/start", &body).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let callback = at_provider(r.location(), user, acr).await;
    get(app, jar, &callback).await
}

#[tokio::test]
async fn citizens_sign_in_link_and_step_up_with_openid_connect() {
    let Some(op) = start_op() else { return };
    for owned in apps_with(config(&op.issuer)).await {
        eprintln!("backend: {}", owned.name());
        let app = &owned;
        // The sign-in page offers the provider.
        let mut jar = Jar::default();
        let page = get(app, &mut jar, "/konto/anmelden").await;
        assert!(page.body.contains("Anmelden mit Servicekonto Test"));

        // First sign-in: a new account, trust level from acr, name from the provider.
        let r = sign_in_with_provider(
            app,
            &mut jar,
            "/konto/oidc/test/start?weiter=%2Fkonto%2F",
            "alice",
            "urn:amtsweg:loa:substantial",
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(r.location(), "/konto/");
        let me = get(app, &mut jar, "/konto/").await;
        assert!(me.body.contains("substanziell (z. B. ELSTER-Zertifikat)"), "{}", me.body);
        let alice = app.store.store.identity("oidc:test", "alice").await.unwrap().expect("identity stored");
        let profile = amtsweg_portal::profile::profile(&app.state.portal, alice.citizen_id).await.unwrap();
        assert!(
            profile.iter().any(|v| v.field == "family_name" && v.value == "alice" && v.source.as_str() == "oidc:test")
        );
        // Again: the same account, never a second one.
        let mut again = Jar::default();
        sign_in_with_provider(app, &mut again, "/konto/oidc/test/start", "alice", "urn:amtsweg:loa:low").await;
        assert_eq!(app.store.store.identity("oidc:test", "alice").await.unwrap().unwrap().citizen_id, alice.citizen_id);
        assert!(
            get(app, &mut again, "/konto/").await.body.contains("normal (Benutzername und Passwort)"),
            "acr low → normal"
        );

        // A local account links its identity while signed in, and then steps up.
        let (mut local, local_id) = crate::konto::citizen(app, "verknuepfen@example.org").await;
        let r = link_with_provider(app, &mut local, "normal", "/konto/sicherheit", "bob", "urn:amtsweg:loa:low").await;
        assert_eq!(r.location(), "/konto/sicherheit");
        assert_eq!(app.store.store.identity("oidc:test", "bob").await.unwrap().unwrap().citizen_id, local_id);
        assert!(get(app, &mut local, "/konto/sicherheit").await.body.contains("vom Anmeldedienst test"));
        // Step-up: a service needs substanziell; the explanation page offers the provider.
        let page =
            get(app, &mut local, "/konto/vertrauensniveau?benoetigt=substanziell&weiter=%2Fo%2Fmoorbrueck%2F").await;
        assert!(page.body.contains("action=\"/konto/oidc/test/start\""), "step-up offered");
        assert!(page.body.contains("name=\"niveau\" value=\"substanziell\""));
        let r =
            link_with_provider(app, &mut local, "substanziell", "/o/moorbrueck/", "bob", "urn:amtsweg:loa:substantial")
                .await;
        assert_eq!(r.location(), "/o/moorbrueck/", "back where the citizen was");
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(axum::http::header::COOKIE, local.header().parse().unwrap());
        let uri: axum::http::Uri = "/o/moorbrueck/".parse().unwrap();
        let guard = amtsweg_web::konto::require_trust(&app.state, &headers, &uri, TrustLevel::Substanziell).await;
        assert_eq!(guard.ok().map(|c| c.citizen.id), Some(local_id), "the guard lets the stepped-up session pass");
        // Asked for substanziell but the provider only vouched for normal: not let through.
        let r =
            link_with_provider(app, &mut local, "substanziell", "/o/moorbrueck/", "bob", "urn:amtsweg:loa:low").await;
        assert!(r.location().starts_with("/konto/vertrauensniveau?benoetigt=substanziell"), "{}", r.location());

        // Linking an identity that belongs to another account is refused.
        let r = link_with_provider(app, &mut local, "normal", "/konto/", "alice", "urn:amtsweg:loa:low").await;
        assert_eq!(r.status, 409);
        assert!(r.body.contains("bereits mit einem anderen Bürgerkonto verknüpft"));
        assert_eq!(app.store.store.identity("oidc:test", "alice").await.unwrap().unwrap().citizen_id, alice.citizen_id);

        // A plain start link (which any site could send the browser to) never links:
        // the identity gets its own account, the signed-in one stays untouched.
        let (mut other, other_id) = crate::konto::citizen(app, "unberuehrt@example.org").await;
        sign_in_with_provider(app, &mut other, "/konto/oidc/test/start", "dave", "urn:amtsweg:loa:low").await;
        let dave = app.store.store.identity("oidc:test", "dave").await.unwrap().unwrap();
        assert_ne!(dave.citizen_id, other_id);
        assert!(app.store.store.identities_of(other_id).await.unwrap().is_empty());

        // A callback replayed, or arriving in another browser, is refused.
        let mut victim = Jar::default();
        let r = get(app, &mut victim, "/konto/oidc/test/start").await;
        let callback = at_provider(r.location(), "carol", "urn:amtsweg:loa:low").await;
        let mut attacker = Jar::default();
        let r = get(app, &mut attacker, &callback).await;
        assert_eq!(r.status, 400, "another browser");
        assert!(r.body.contains("Anmeldung abgelaufen"));
        let r = get(app, &mut victim, &callback).await;
        assert_eq!(r.status, 400, "the request was used up by the refused attempt");
        assert!(app.store.store.identity("oidc:test", "carol").await.unwrap().is_none());
        owned.cleanup().await;
    }
}
