//! Headless Chromium signs in on a member authority's own host
//! (`moorbrueck.localhost`), lands signed in there, sees the step-up page's other
//! ways and signs out there (tests/browser/hosts.mjs). Before the fix Chromium
//! blocked the hand-over back to the member host (`form-action 'self'` applies to the
//! redirects after a form) and the sign-in page just stayed.
//!
//! Needs `npm ci` in tests/browser and Debian's chromium (`.ci/run` installs both).
//! Elsewhere the test is skipped with a message; with CI=true missing parts fail it.

use std::process::Command;

const EMAIL: &str = "grenzgaengerin@example.org";
const PASSWORD: &str = "Zwei Hosts, ein Konto";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_on_a_member_host_lands_signed_in_there() {
    let Some(dir) = crate::support::browser_tools("browser host tests") else { return };
    let _exclusive = crate::support::EXCLUSIVE.lock().await;
    let t = amtsweg_store::testing::sqlite().await;
    amtsweg::seed::apply(&t.store, &amtsweg::seed::parse(amtsweg::seed::DEMO).unwrap()).await.unwrap();
    let mut tx = t.store.begin().await.unwrap();
    let citizen = tx.insert_citizen(EMAIL, &password_auth::generate_hash(PASSWORD)).await.unwrap().unwrap();
    tx.mark_email_verified(citizen).await.unwrap();
    tx.commit().await.unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // The central host is 127.0.0.1:<port>; moorbrueck.localhost:<port> is a member host.
    let config = amtsweg_web::WebConfig {
        public_base_url: format!("http://127.0.0.1:{}", addr.port()),
        ..amtsweg_web::WebConfig::default()
    };
    let state = amtsweg_web::AppState::new(t.store.clone(), config, amtsweg::printer()).await.unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, amtsweg_web::router(state)).await });
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("hosts.mjs")
            .arg(format!("http://127.0.0.1:{}", addr.port()))
            .args([EMAIL, PASSWORD])
            .current_dir(dir)
            .output()
    })
    .await
    .unwrap()
    .expect("node runs");
    server.abort();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}\n{stderr}");
    assert!(out.status.success(), "browser checks on a member host failed:\n{stderr}");
    t.cleanup().await;
}
