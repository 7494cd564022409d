//! Proof by looking (tests/browser/screens.mjs): full-page screenshots of the key
//! pages of citizens and clerks at 1280 and 320 CSS px, written as test artefacts to
//! `$CARGO_TARGET_DIR/screenshots/` (or `target/screenshots/`). The check fails when
//! a visible control is smaller than 24 × 24 CSS px or text overflows its box at
//! 320 px.
//!
//! Needs `npm ci` in tests/browser and Debian's chromium (`.ci/run` installs both).
//! Elsewhere the test is skipped with a message; with CI=true missing parts fail it.

use std::path::PathBuf;
use std::process::Command;

/// Where the screenshots go: next to the build's other artefacts.
fn screenshot_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"), PathBuf::from)
        .join("screenshots")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_pages_have_large_enough_controls_and_no_overflow() {
    let Some(dir) = crate::support::browser_tools("screenshot checks") else { return };
    let _exclusive = crate::support::EXCLUSIVE.lock().await;
    let t = amtsweg_store::testing::sqlite().await;
    amtsweg::seed::apply(&t.store, &amtsweg::seed::parse(amtsweg::seed::DEMO).unwrap()).await.unwrap();
    amtsweg::staff::seed_demo(&t.store).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = amtsweg_web::WebConfig {
        public_base_url: format!("http://127.0.0.1:{}", addr.port()),
        ..amtsweg_web::WebConfig::default()
    };
    let state = amtsweg_web::AppState::new(t.store.clone(), config, amtsweg::printer()).await.unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, amtsweg_web::router(state)).await });
    let shots = screenshot_dir();
    // Only this run's screenshots: an old file must not pass for a new one.
    let _ = std::fs::remove_dir_all(&shots);
    let target = shots.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("screens.mjs")
            .arg(format!("http://127.0.0.1:{}", addr.port()))
            .arg(&target)
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
    assert!(out.status.success(), "screenshot checks failed (screenshots in {}):\n{stderr}", shots.display());
    for name in [
        "buerger-01-start-320.png",
        "buerger-06-eingangsbestaetigung-1280.png",
        "verwaltung-05-formular-editor-320.png",
    ] {
        assert!(shots.join(name).is_file(), "{name} was not written");
    }
    t.cleanup().await;
}
