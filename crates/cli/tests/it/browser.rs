//! Headless Chromium with axe-core over every public page type of two tenants,
//! plus reflow and a keyboard-only search journey (tests/browser/a11y.mjs).
//!
//! Needs `npm ci` in tests/browser and Debian's chromium (`.ci/run` installs both).
//! Elsewhere the test is skipped with a message; with CI=true missing parts fail it.

use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_pass_axe_reflow_and_keyboard_checks() {
    let Some(dir) = crate::support::browser_tools("browser tests") else { return };
    let _exclusive = crate::support::EXCLUSIVE.lock().await;
    let t = amtsweg_store::testing::sqlite().await;
    amtsweg::seed::apply(&t.store, &amtsweg::seed::parse(amtsweg::seed::DEMO).unwrap()).await.unwrap();
    amtsweg::staff::seed_demo(&t.store).await.unwrap();
    // The demo's appointment calendars, for the booking pages.
    amtsweg::seed_termine::seed(&t.store).await.unwrap();
    // A confirmed citizen account with one message in its Postfach.
    let mut tx = t.store.begin().await.unwrap();
    let citizen = tx
        .insert_citizen("buergerin@example.org", &password_auth::generate_hash("Mein Rad steht im Keller"))
        .await
        .unwrap()
        .unwrap();
    tx.mark_email_verified(citizen).await.unwrap();
    tx.commit().await.unwrap();
    // BundID sign-in against the test IdP, when its templates and signxml are there.
    let idp = crate::bundid::start_idp();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let with_bundid = idp.is_some();
    // The public address is where BundID sends the browser back to.
    let config = amtsweg_web::WebConfig {
        saml: idp.as_ref().map(|(_, s)| s.clone()),
        public_base_url: format!("http://127.0.0.1:{}", addr.port()),
        ..amtsweg_web::WebConfig::default()
    };
    let state = amtsweg_web::AppState::new(t.store.clone(), config, amtsweg::printer()).await.unwrap();
    let town = t.store.authority_by_slug("moorbrueck").await.unwrap().unwrap().id;
    amtsweg_portal::postfach::deliver(
        &state.portal,
        &amtsweg_portal::postfach::Delivery {
            citizen_id: citizen,
            authority_id: town,
            sender: "Stadt Moorbrück, Bürgerbüro".into(),
            subject: "Ihre Meldebescheinigung".into(),
            body: "Guten Tag,\nanbei Ihre Meldebescheinigung.".into(),
            attachments: vec![("Meldebescheinigung.pdf".into(), b"%PDF-1.7".to_vec())],
        },
    )
    .await
    .unwrap();
    // "Meine Finanzen": an account of the town linked to the citizen, with an open
    // claim (notice, bank details, GiroCode) and a settled one.
    seed_finances(&state, town, citizen).await;
    let server = tokio::spawn(async move { axum::serve(listener, amtsweg_web::router(state)).await });
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new("node");
        cmd.arg("a11y.mjs").arg(format!("http://127.0.0.1:{}", addr.port()));
        if with_bundid {
            cmd.arg("--bundid");
        }
        cmd.current_dir(dir).output()
    })
    .await
    .unwrap()
    .expect("node runs");
    server.abort();
    drop(idp);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}\n{stderr}");
    assert!(out.status.success(), "browser checks failed:\n{stderr}");
    t.cleanup().await;
}

async fn seed_finances(state: &amtsweg_web::AppState, town: i64, citizen: i64) {
    use amtsweg_domain::payment::{Cents, ClaimInput, ClaimState};
    use amtsweg_portal::finanzen::{ClaimUpload, NoticeUpload};
    let claim = |kz: &str, title: &str, due: &str, open: i64| ClaimInput {
        kassenzeichen: kz.into(),
        due_on: due.parse().unwrap(),
        kind: "Grundsteuer".into(),
        title: title.into(),
        amount: Cents(12_345),
        open: Cents(open),
        state: if open == 0 { ClaimState::Settled } else { ClaimState::Open },
        dunning_level: 0,
        account: "MB-10042".into(),
    };
    let notice = NoticeUpload {
        title: "Grundsteuerbescheid 2026".into(),
        file_name: "Grundsteuerbescheid-2026.pdf".into(),
        bytes: b"%PDF-1.7\n% Demo\n".to_vec(),
    };
    let items = vec![
        ClaimUpload {
            claim: claim("GS-2026-0042", "Grundsteuer 2026, 2. Quartal", "2026-05-15", 12_345),
            notices: vec![notice],
        },
        ClaimUpload {
            claim: claim("GS-2026-0041", "Grundsteuer 2026, 1. Quartal", "2026-02-15", 0),
            notices: Vec::new(),
        },
    ];
    amtsweg_portal::finanzen::upsert_claims(&state.portal, town, "test", items).await.unwrap().unwrap();
    amtsweg_portal::payments::connectors::add(
        &state.portal,
        town,
        None,
        "rechnung",
        "Stadtkasse",
        r#"{"recipient":"Stadtkasse Moorbrück","iban":"DE02120300000000202051","bic":"BYLADEM1001"}"#,
    )
    .await
    .unwrap();
    let (code, _) = amtsweg_portal::finanzen::create_activation_code(&state.portal, "test", town, "MB-10042", 30)
        .await
        .unwrap()
        .unwrap();
    let linked = amtsweg_portal::finanzen::activate(&state.portal, citizen, "test", &code).await.unwrap();
    assert!(matches!(linked, amtsweg_portal::finanzen::Activation::Linked(_)), "{linked:?}");
}
