//! Staff offboarding in the store: the staff list per authority, changing roles at
//! one authority, disabling an account, and the rule that an authority never loses
//! its last administrator who can sign in.

use super::on_both;
use crate::fixtures::seed;
use amtsweg_domain::staff::{Grant, Role};
use amtsweg_store::Store;
use amtsweg_store::staff::{NewStaff, SessionRecord};
use amtsweg_store::staff_admin::{StaffChangeRefused, UNUSABLE_PASSWORD};

async fn person(store: &Store, email: &str, hash: &str, grants: &[Grant]) -> i64 {
    let mut tx = store.begin().await.unwrap();
    let id = tx
        .insert_staff(&NewStaff {
            email: email.into(),
            display_name: email.into(),
            password_hash: hash.into(),
            totp_secret: None,
        })
        .await
        .unwrap();
    for g in grants {
        tx.grant_role(id, g).await.unwrap();
    }
    tx.commit().await.unwrap();
    id
}

fn at(role: Role, authority: i64) -> Grant {
    Grant { role, authority_id: Some(authority), org_unit_id: None }
}

async fn session_for(store: &Store, id: i64) {
    let mut tx = store.begin().await.unwrap();
    tx.insert_session(&SessionRecord {
        id_hash: format!("sitzung-{id}"),
        kind: "staff".into(),
        subject_id: id,
        csrf_token: "t".into(),
        second_factor_done: true,
        pending_totp_secret: None,
        created_at: 1,
        last_seen_at: 1,
        expires_at: i64::MAX / 2,
        trust_level: "normal".into(),
        auth_method: "password".into(),
    })
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn the_last_administrator_stays_and_disabling_ends_sessions() {
    on_both(|store| async move {
        let s = seed(&store).await;
        let anna = person(&store, "anna@stadt.example", "argon", &[at(Role::AuthorityAdmin, s.town)]).await;
        let ben = person(&store, "ben@stadt.example", "argon", &[at(Role::Editor, s.town)]).await;
        let kim = person(&store, "kim@kreis.example", "argon", &[at(Role::AuthorityAdmin, s.county)]).await;
        // A pending invitation is no administrator yet.
        let _pending =
            person(&store, "neu@stadt.example", UNUSABLE_PASSWORD, &[at(Role::AuthorityAdmin, s.town)]).await;

        let town_list = store.staff_list(Some(s.town)).await.unwrap();
        let emails: Vec<&str> = town_list.iter().map(|p| p.email.as_str()).collect();
        assert_eq!(emails, ["anna@stadt.example", "ben@stadt.example", "neu@stadt.example"], "only the town's staff");
        assert!(town_list.iter().all(|p| p.last_login_at.is_none() && !p.has_second_factor));
        assert!(town_list.iter().any(|p| p.invitation_pending));
        assert_eq!(store.staff_list(None).await.unwrap().len(), 4);

        let mut tx = store.begin().await.unwrap();
        tx.record_staff_sign_in(ben, 1_700_000_000_000).await.unwrap();
        tx.commit().await.unwrap();
        let list = store.staff_list(Some(s.town)).await.unwrap();
        assert_eq!(list.iter().find(|p| p.id == ben).unwrap().last_login_at, Some(1_700_000_000_000));

        // The last administrator who can sign in: neither disabled nor demoted.
        let mut tx = store.begin().await.unwrap();
        assert_eq!(
            tx.disable_staff(anna).await.unwrap(),
            Err(StaffChangeRefused::LastAdministrator { authority_id: s.town })
        );
        assert_eq!(
            tx.set_roles_at(anna, s.town, &[at(Role::Editor, s.town)]).await.unwrap(),
            Err(StaffChangeRefused::LastAdministrator { authority_id: s.town })
        );
        assert_eq!(
            tx.set_roles_at(anna, s.town, &[]).await.unwrap(),
            Err(StaffChangeRefused::LastAdministrator { authority_id: s.town })
        );
        assert!(tx.set_roles_at(ben, s.town, &[at(Role::Editor, s.county)]).await.is_err(), "one authority at a time");
        // Ben becomes a second administrator; now Anna may go.
        tx.set_roles_at(ben, s.town, &[at(Role::AuthorityAdmin, s.town)]).await.unwrap().unwrap();
        tx.commit().await.unwrap();
        session_for(&store, anna).await;
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.disable_staff(anna).await.unwrap(), Ok(1), "her session ended");
        assert_eq!(tx.disable_staff(anna).await.unwrap(), Err(StaffChangeRefused::AlreadyDisabled));
        tx.commit().await.unwrap();
        assert!(store.session(&format!("sitzung-{anna}")).await.unwrap().is_none());
        let anna_now = store.staff_by_id(anna).await.unwrap().unwrap();
        assert!(anna_now.disabled);
        assert_eq!(anna_now.password_hash, UNUSABLE_PASSWORD, "the old password is gone");
        // A disabled administrator does not count: Ben is the last one now.
        let mut tx = store.begin().await.unwrap();
        assert_eq!(
            tx.disable_staff(ben).await.unwrap(),
            Err(StaffChangeRefused::LastAdministrator { authority_id: s.town })
        );
        // Another authority's administrator is untouched by all this.
        assert_eq!(
            tx.disable_staff(kim).await.unwrap(),
            Err(StaffChangeRefused::LastAdministrator { authority_id: s.county })
        );
        // Back through an invitation: old roles go, the account is enabled on acceptance.
        tx.reset_disabled_staff_roles(anna).await.unwrap();
        tx.grant_role(anna, &at(Role::CaseWorker, s.town)).await.unwrap();
        tx.enable_staff(anna).await.unwrap();
        tx.commit().await.unwrap();
        assert!(!store.staff_by_id(anna).await.unwrap().unwrap().disabled);
        let grants = store.stored_grants_of(anna).await.unwrap();
        assert_eq!(grants.len(), 1);
        assert_eq!(grants[0].grant, at(Role::CaseWorker, s.town));
    })
    .await;
}
