//! Issue 18, findings 7–9: second-factor codes are accepted once, removing the
//! citizen's second factor needs the owner, TOTP secrets are sealed and bound to
//! their row, and the audit chain is keyed and anchored by signed checkpoints.

use crate::on_each_backend;
use crate::support::TestApp;
use crate::verwaltung::{Jar, enc, get, hidden, post};
use amtsweg::staff::{DEMO_LOGINS, DEMO_PASSWORD};
use amtsweg_domain::audit::{AuditEntry, GENESIS, chain_hash};
use amtsweg_portal::audit_anchor::{self, Verdict};
use amtsweg_store::testing::execute_sql;

/// The citizen password of `konto::citizen`.
const CITIZEN_PASSWORD: &str = "Mein Rad steht im Keller";
const ADMIN: &str = "admin@moorbrueck.example";

fn demo_secret(email: &str) -> &'static str {
    DEMO_LOGINS.iter().find(|d| d.email == email).and_then(|d| d.totp_secret).unwrap()
}

/// A staff browser after the password step, on the code page: (jar, csrf).
async fn at_code_step(app: &TestApp, email: &str) -> (Jar, String) {
    let mut jar = Jar::default();
    let form = get(app, &mut jar, "/verwaltung/anmelden").await;
    let csrf = hidden(&form.body, "csrf");
    let body = format!("email={}&password={}&csrf={csrf}", enc(email), enc(DEMO_PASSWORD));
    let r = post(app, &mut jar, "/verwaltung/anmelden", &body).await;
    assert!(r.location().starts_with("/verwaltung/anmelden/code"), "{}", r.location());
    let page = get(app, &mut jar, "/verwaltung/anmelden/code").await;
    let csrf = hidden(&page.body, "csrf");
    (jar, csrf)
}

#[tokio::test]
async fn a_second_factor_code_is_accepted_only_once() {
    on_each_backend!(|app| {
        let code = amtsweg_web::current_totp_code(demo_secret(ADMIN)).unwrap();
        let (mut first, csrf) = at_code_step(app, ADMIN).await;
        let r = post(app, &mut first, "/verwaltung/anmelden/code", &format!("code={code}&csrf={csrf}")).await;
        assert_eq!(r.status, 303, "{}", r.body);

        // Someone who saw the code signs in with the password and the same code.
        let (mut second, csrf) = at_code_step(app, ADMIN).await;
        let again = post(app, &mut second, "/verwaltung/anmelden/code", &format!("code={code}&csrf={csrf}")).await;
        assert_eq!(again.status, 422);
        assert!(again.body.contains("Dieser Code wurde schon verwendet"), "{}", again.body);
        assert_eq!(get(app, &mut second, "/verwaltung/").await.status, 303, "not signed in");

        // The app's next code is fine.
        let next = amtsweg_web::next_totp_code(demo_secret(ADMIN)).unwrap();
        let ok = post(app, &mut second, "/verwaltung/anmelden/code", &format!("code={next}&csrf={csrf}")).await;
        assert_eq!(ok.status, 303, "{}", ok.body);
    });
}

/// A citizen with a second factor; returns (browser, csrf, secret).
async fn citizen_with_second_factor(app: &TestApp, email: &str) -> (Jar, String, String) {
    let (mut jar, _) = crate::konto::citizen(app, email).await;
    let page = get(app, &mut jar, "/konto/sicherheit").await;
    let csrf = hidden(&page.body, "csrf");
    let r = post(app, &mut jar, "/konto/sicherheit", &format!("csrf={csrf}&aktion=einrichten")).await;
    let secret = r.body.split("Schlüssel: <code>").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let code = amtsweg_web::current_totp_code(&secret).unwrap();
    let r = post(app, &mut jar, "/konto/sicherheit", &format!("csrf={csrf}&aktion=bestaetigen&code={code}")).await;
    assert!(r.location().contains("eingerichtet"), "{}", r.body);
    (jar, csrf, secret)
}

#[tokio::test]
async fn removing_the_citizens_second_factor_needs_the_password_and_is_throttled() {
    on_each_backend!(|app| {
        let (mut jar, csrf, secret) = citizen_with_second_factor(app, "faktor@example.org").await;
        let remove = |code: String, password: &str| {
            format!("csrf={csrf}&aktion=entfernen&code={code}&passwort={}", enc(password))
        };
        // A taken-over session (no password) cannot remove it, even with a code.
        let code = amtsweg_web::next_totp_code(&secret).unwrap();
        let r = post(app, &mut jar, "/konto/sicherheit", &remove(code.clone(), "geraten")).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("Das Passwort stimmt nicht"), "{}", r.body);
        let page = get(app, &mut jar, "/konto/sicherheit").await;
        assert!(page.body.contains("Zweiten Faktor entfernen"), "still there");

        // Guessing is throttled per account: after ten failures even the owner waits.
        for _ in 0..10 {
            post(app, &mut jar, "/konto/sicherheit", &remove("000000".into(), "geraten")).await;
        }
        let r = post(app, &mut jar, "/konto/sicherheit", &remove(code.clone(), CITIZEN_PASSWORD)).await;
        assert!(r.body.contains("Zu viele falsche Codes"), "{}", r.body);
        execute_sql(&app.store.store, "DELETE FROM login_failures").await;

        // The owner: password and a fresh code.
        let r = post(app, &mut jar, "/konto/sicherheit", &remove(code, CITIZEN_PASSWORD)).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert!(r.location().contains("entfernt"));
    });
}

#[tokio::test]
async fn second_factor_secrets_are_sealed_and_bound_to_their_account() {
    on_each_backend!(|app| {
        let (_, _, secret) = citizen_with_second_factor(app, "versiegelt@example.org").await;
        let store = &app.store.store;
        assert_eq!(amtsweg_store::testing::count_containing(store, "citizens", "totp_secret", &secret).await, 0);
        // The demo's staff secrets were written in clear (as by older versions) and
        // sealed when the portal started.
        let admin = store.staff_by_email(ADMIN).await.unwrap().unwrap();
        let sealed = admin.totp_secret.clone().unwrap();
        assert!(sealed.starts_with("v2:") && !sealed.contains(demo_secret(ADMIN)), "{sealed}");
        let holder = amtsweg_portal::second_factor::TotpHolder::Staff(admin.id);
        let portal = &app.state.portal;
        assert_eq!(
            amtsweg_portal::second_factor::open_secret(portal, &holder, &sealed).await.unwrap(),
            demo_secret(ADMIN)
        );

        // Copied onto another account, the sealed secret does not open there.
        let other = store.staff_by_email("redaktion@moorbrueck.example").await.unwrap().unwrap();
        let elsewhere = amtsweg_portal::second_factor::TotpHolder::Staff(other.id);
        assert!(amtsweg_portal::second_factor::open_secret(portal, &elsewhere, &sealed).await.is_err());

        // Sealing at start-up is idempotent: a clear secret is sealed, a sealed one kept.
        execute_sql(store, &format!("UPDATE staff_users SET totp_secret = 'KRSXG5CT' WHERE id = {}", other.id)).await;
        let n = amtsweg_portal::second_factor::seal_clear_secrets(store, &portal.keyring).await.unwrap();
        assert_eq!(n, 1);
        assert_eq!(amtsweg_portal::second_factor::seal_clear_secrets(store, &portal.keyring).await.unwrap(), 0);
        let other = store.staff_by_email("redaktion@moorbrueck.example").await.unwrap().unwrap();
        let stored = other.totp_secret.unwrap();
        assert_eq!(amtsweg_portal::second_factor::open_secret(portal, &elsewhere, &stored).await.unwrap(), "KRSXG5CT");
    });
}

async fn append(app: &TestApp, n: usize) {
    for i in 0..n {
        let mut tx = app.store.store.begin().await.unwrap();
        tx.append_audit(&AuditEntry {
            at: amtsweg_store::now_ms(),
            actor: "staff:1".into(),
            authority_id: None,
            action: "test.entry".into(),
            target: format!("test:{i}"),
            outcome: "success".into(),
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
}

async fn verdict(app: &TestApp, dir: &std::path::Path) -> Verdict {
    let keys = app.state.portal.keyring.audit_keys(&app.store.store).await.unwrap();
    audit_anchor::verify(&app.store.store, Some(&keys), dir).await.unwrap()
}

fn failed(v: &Verdict) -> &str {
    match v {
        Verdict::Failed(what) => what,
        Verdict::Intact { .. } => panic!("expected a failure, got {v:?}"),
    }
}

#[tokio::test]
async fn the_audit_chain_is_keyed_and_cutting_or_rewriting_it_is_detected() {
    on_each_backend!(|app| {
        let store = &app.store.store;
        append(app, 3).await;
        let early = tempfile::tempdir().unwrap();
        let c = audit_anchor::checkpoint_now(&app.state.portal, early.path()).await.unwrap().unwrap();
        // Untouched: intact, and entries of this version are keyed.
        match verdict(app, early.path()).await {
            Verdict::Intact { entries, keyed, checkpoint } => {
                assert_eq!(entries, c.entries);
                assert!(keyed >= 3);
                assert_eq!(checkpoint, Some(c.clone()));
            }
            v @ Verdict::Failed(_) => panic!("{v:?}"),
        }
        assert!(early.path().join("audit-checkpoints.log").exists());

        // Deleting the newest entries: the chain alone still verifies, the checkpoint does not.
        append(app, 2).await;
        let late = tempfile::tempdir().unwrap();
        let c2 = audit_anchor::checkpoint_now(&app.state.portal, late.path()).await.unwrap().unwrap();
        assert_eq!(c2.entries, c.entries + 2);
        execute_sql(store, &format!("DELETE FROM audit_log WHERE id > {}", c.head_id)).await;
        assert!(matches!(store.verify_audit_chain().await.unwrap(), amtsweg_store::staff::ChainCheck::Intact { .. }));
        let v = verdict(app, late.path()).await;
        assert_eq!(failed(&v), format!("truncated: checkpoint has {} entries, database {}", c2.entries, c.entries));
        // Nor does the server overwrite that evidence with a checkpoint of the shorter log.
        assert!(audit_anchor::checkpoint_now(&app.state.portal, late.path()).await.unwrap().is_none());
        assert!(matches!(verdict(app, early.path()).await, Verdict::Intact { .. }), "what remains is unchanged");

        // Changing an entry breaks the chain.
        let id = c.head_id - 1;
        execute_sql(store, &format!("UPDATE audit_log SET target = 'anders' WHERE id = {id}")).await;
        assert!(failed(&verdict(app, early.path()).await).contains(&format!("chain broken at entry {id}")));
        execute_sql(store, &format!("UPDATE audit_log SET target = 'test:1' WHERE id = {id}")).await;
        assert!(matches!(verdict(app, early.path()).await, Verdict::Intact { .. }));

        // Rewriting the whole chain without the key (as plain SHA-256) makes it
        // consistent again — but not with the signed checkpoint.
        let report = store.audit_chain_report().await.unwrap();
        let (rows, _) = store
            .audit_page(&amtsweg_store::audit_log::AuditQuery { limit: 10_000, ..Default::default() })
            .await
            .unwrap();
        let mut prev = GENESIS.to_owned();
        for link in &report.links {
            let r = rows.iter().find(|r| r.id == link.id).unwrap();
            let entry = AuditEntry {
                at: r.at,
                actor: r.actor.clone(),
                authority_id: r.authority_id,
                action: r.action.clone(),
                target: if r.id == id { "gefälscht".into() } else { r.target.clone() },
                outcome: r.outcome.clone(),
            };
            let hash = chain_hash(&prev, &entry);
            execute_sql(
                store,
                &format!(
                    "UPDATE audit_log SET target = '{}', prev_hash = '{prev}', hash = '{hash}', chain = 1 WHERE id = {}",
                    entry.target, r.id
                ),
            )
            .await;
            prev = hash;
        }
        assert!(matches!(store.verify_audit_chain().await.unwrap(), amtsweg_store::staff::ChainCheck::Intact { .. }));
        assert!(failed(&verdict(app, early.path()).await).starts_with("rewritten:"));

        // A checkpoint edited by hand does not pass either.
        let path = early.path().join("audit-checkpoint.json");
        let forged = std::fs::read_to_string(&path).unwrap().replace(&c.head_hash, &prev);
        std::fs::write(&path, forged).unwrap();
        assert!(failed(&verdict(app, early.path()).await).contains("not signed"));
    });
}

/// `amtsweg audit verify` on a data directory: intact, then the newest entry cut off.
#[tokio::test]
async fn audit_verify_of_the_binary_reports_a_truncated_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_owned();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_amtsweg"))
            .arg("--data-dir")
            .arg(&data)
            .args(args)
            .env("AMTSWEG_LOG", "warn")
            .output()
            .unwrap()
    };
    let master = amtsweg_portal::Keyring::new_master_key();
    std::fs::write(data.join("master.key"), &master).unwrap();
    // Two entries of the unkeyed chain (as before this version) …
    for email in ["a@kreis.example", "b@kreis.example"] {
        assert!(run(&["user", "create-admin", "--email", email, "--name", "A"]).status.success());
    }
    // … then a portal keys the chain, writes entries and a checkpoint.
    let store = amtsweg_store::Store::open_sqlite(&data.join("amtsweg.db")).await.unwrap();
    let keyring = amtsweg_portal::Keyring::from_base64(&master).unwrap();
    let keys = audit_anchor::attach(&store, &keyring).await.unwrap();
    for _ in 0..2 {
        let mut tx = store.begin().await.unwrap();
        tx.append_audit(&AuditEntry {
            at: amtsweg_store::now_ms(),
            actor: "staff:1".into(),
            authority_id: None,
            action: "test.entry".into(),
            target: "test".into(),
            outcome: "success".into(),
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let c = audit_anchor::write_checkpoint(&store, &keys, &data).await.unwrap().unwrap();
    assert_eq!(c.entries, 4);
    // A command of the binary appends keyed entries to a keyed chain.
    assert!(run(&["user", "create-admin", "--email", "c@kreis.example", "--name", "C"]).status.success());

    let ok = run(&["audit", "verify"]);
    let said = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{said}{}", String::from_utf8_lossy(&ok.stderr));
    assert!(said.contains("intakt: 5 Einträge") && said.contains("3 mit Schlüssel"), "{said}");

    execute_sql(&store, "DELETE FROM audit_log WHERE id >= 4").await;
    store.close().await;
    let cut = run(&["audit", "verify"]);
    assert_eq!(cut.status.code(), Some(1));
    let said = String::from_utf8_lossy(&cut.stderr);
    assert!(said.contains("truncated: checkpoint has 4 entries, database 3"), "{said}");
}
