//! Staff accounts: grants per authority and role, sessions and login throttling, and
//! the audit log's hash chain (tampering detected, concurrent writers keep one chain).

use super::on_both;
use amtsweg_domain::audit::AuditEntry;
use amtsweg_domain::staff::{Grant, Role};
use amtsweg_store::staff::{ChainCheck, NewStaff, SessionRecord};

fn entry(i: i64) -> AuditEntry {
    AuditEntry {
        at: 1_000 + i,
        actor: "staff:1".into(),
        authority_id: Some(1),
        action: "leistung.publish".into(),
        target: format!("leistung:{i}"),
        outcome: "success".into(),
    }
}

#[tokio::test]
async fn staff_grants_sessions_and_throttling() {
    on_both(|store| async move {
        let mut tx = store.begin().await.unwrap();
        let id = tx
            .insert_staff(&NewStaff {
                email: "Anna@Example.org ".into(),
                display_name: "Anna".into(),
                password_hash: "x".into(),
                totp_secret: None,
            })
            .await
            .unwrap();
        tx.grant_role(id, &Grant { role: Role::VerbundAdmin, authority_id: None, org_unit_id: None }).await.unwrap();
        assert!(
            tx.grant_role(id, &Grant { role: Role::Editor, authority_id: None, org_unit_id: None }).await.is_err(),
            "an editor needs an authority"
        );
        tx.commit().await.unwrap();
        let u = store.staff_by_email("anna@example.org").await.unwrap().unwrap();
        assert_eq!(u.id, id);
        assert_eq!(store.grants_of(id).await.unwrap()[0].role, Role::VerbundAdmin);

        let mut tx = store.begin().await.unwrap();
        for n in 0..2 {
            tx.insert_session(&SessionRecord {
                id_hash: format!("h{n}"),
                kind: "staff".into(),
                subject_id: id,
                csrf_token: "c".into(),
                second_factor_done: false,
                pending_totp_secret: None,
                created_at: 1,
                last_seen_at: 1,
                expires_at: 10,
                trust_level: "normal".into(),
                auth_method: "password".into(),
            })
            .await
            .unwrap();
        }
        tx.touch_session("h0", 5).await.unwrap();
        tx.mark_second_factor_done("h0").await.unwrap();
        tx.commit().await.unwrap();
        let s = store.session("h0").await.unwrap().unwrap();
        assert_eq!(s.last_seen_at, 5);
        assert!(s.second_factor_done);
        let mut tx = store.begin().await.unwrap();
        tx.set_staff_password(id, "y").await.unwrap();
        tx.commit().await.unwrap();
        assert!(store.session("h0").await.unwrap().is_none(), "password change ends sessions");
        assert!(store.session("h1").await.unwrap().is_none());

        let mut tx = store.begin().await.unwrap();
        for at in [10, 20, 30] {
            tx.record_login_failure("anna@example.org", at).await.unwrap();
        }
        tx.commit().await.unwrap();
        assert_eq!(store.login_failures_since("anna@example.org", 15).await.unwrap(), 2);
        assert_eq!(store.login_failures_since("niemand@example.org", 0).await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn the_audit_chain_detects_tampering() {
    on_both(|store| async move {
        for i in 0..5 {
            let mut tx = store.begin().await.unwrap();
            tx.append_audit(&entry(i)).await.unwrap();
            tx.commit().await.unwrap();
        }
        assert_eq!(store.verify_audit_chain().await.unwrap(), ChainCheck::Intact { entries: 5 });
        assert_eq!(store.audit_entries(Some(&[1]), 3).await.unwrap().len(), 3);
        assert!(store.audit_entries(Some(&[2]), 3).await.unwrap().is_empty());
        amtsweg_store::testing::execute_sql(&store, "UPDATE audit_log SET outcome = 'failure' WHERE id = 3").await;
        assert!(matches!(store.verify_audit_chain().await.unwrap(), ChainCheck::Broken { id: 3, .. }));
        amtsweg_store::testing::execute_sql(&store, "UPDATE audit_log SET outcome = 'success' WHERE id = 3").await;
        amtsweg_store::testing::execute_sql(&store, "DELETE FROM audit_log WHERE id = 2").await;
        assert!(matches!(store.verify_audit_chain().await.unwrap(), ChainCheck::Broken { id: 3, .. }));
    })
    .await;
}

#[tokio::test]
async fn concurrent_audit_writers_keep_one_chain() {
    on_both(|store| async move {
        let mut tasks = Vec::new();
        for i in 0..20 {
            let s = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = s.begin().await.unwrap();
                tx.append_audit(&entry(i)).await.unwrap();
                tx.commit().await.unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(store.verify_audit_chain().await.unwrap(), ChainCheck::Intact { entries: 20 });
    })
    .await;
}
