//! Citizen accounts: identities and profile values with their sources, Postfach
//! threads per citizen, and single-sign-on codes that work once on their host.

use super::{on_both, seed};
use amtsweg_domain::TrustLevel;
use amtsweg_domain::konto::{ProfileField, ProfileSource};
use amtsweg_store::konto::{Direction, NewAttachment, SsoGrant};
use amtsweg_store::now_ms;
use amtsweg_store::outbox::TokenProblem;

#[tokio::test]
async fn accounts_identities_and_profile_sources() {
    on_both(|store| async move {
        seed(&store).await;
        let mut tx = store.begin().await.unwrap();
        let erika = tx.insert_citizen("erika@example.org", "hash").await.unwrap().unwrap();
        assert_eq!(tx.insert_citizen("erika@example.org", "hash2").await.unwrap(), None, "one account per address");
        tx.insert_citizen_token("t1", "verify", erika, now_ms() + 60_000).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(store.citizen_token("t1", "reset").await.unwrap(), Err(TokenProblem::Unknown));
        assert_eq!(store.citizen_token("t1", "verify").await.unwrap(), Ok(erika));
        let mut tx = store.begin().await.unwrap();
        assert!(tx.use_citizen_token("t1", "verify").await.unwrap());
        assert!(!tx.use_citizen_token("t1", "verify").await.unwrap(), "one-time");
        tx.mark_email_verified(erika).await.unwrap();
        // Linking: one identity, one account.
        assert!(tx.link_identity(erika, "bundid", "bpk2-abc", TrustLevel::Substanziell).await.unwrap());
        let other = tx.insert_citizen_for_identity("oidc:nds", "sub-1", TrustLevel::Normal).await.unwrap();
        assert!(!tx.link_identity(other, "bundid", "bpk2-abc", TrustLevel::Hoch).await.unwrap());
        // Profile: provider values are locked against self-entered ones.
        let bundid = ProfileSource::Provider("bundid".into());
        tx.set_profile_value(erika, ProfileField::FamilyName, "Muster", &bundid, TrustLevel::Substanziell)
            .await
            .unwrap();
        assert!(
            !tx.set_profile_value(
                erika,
                ProfileField::FamilyName,
                "Fake",
                &ProfileSource::SelfEntered,
                TrustLevel::Normal
            )
            .await
            .unwrap()
        );
        tx.set_profile_value(erika, ProfileField::Phone, "05141 1", &ProfileSource::SelfEntered, TrustLevel::Normal)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(store.citizen_by_id(erika).await.unwrap().unwrap().email_verified);
        assert_eq!(store.identity("bundid", "bpk2-abc").await.unwrap().unwrap().citizen_id, erika);
        assert_eq!(store.identities_of(other).await.unwrap().len(), 1);
        let p = store.profile(erika).await.unwrap();
        let name = p.iter().find(|v| v.field == "family_name").unwrap();
        assert_eq!(
            (name.value.as_str(), name.source.as_str(), name.trust_level.as_str()),
            ("Muster", "bundid", "substanziell")
        );
        assert!(store.profile(other).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn postfach_threads_are_per_citizen() {
    on_both(|store| async move {
        let s = seed(&store).await;
        let mut tx = store.begin().await.unwrap();
        let a = tx.insert_citizen("a@example.org", "h").await.unwrap().unwrap();
        let b = tx.insert_citizen("b@example.org", "h").await.unwrap().unwrap();
        let file = NewAttachment {
            file_name: "bescheid.pdf".into(),
            content_type: "application/pdf".into(),
            size: 4,
            object_key: "k".into(),
        };
        let (thread, _) = tx
            .post_message(a, s.town, None, "Ihr Antrag", Direction::ToCitizen, "Stadt Moorbrück", "Guten Tag", &[file])
            .await
            .unwrap();
        tx.post_message(a, s.town, Some(thread), "", Direction::FromCitizen, "Bürger", "Danke", &[]).await.unwrap();
        assert!(
            tx.post_message(b, s.town, Some(thread), "", Direction::FromCitizen, "B", "fremd", &[]).await.is_err(),
            "nobody writes into another citizen's thread"
        );
        tx.commit().await.unwrap();
        assert_eq!(store.threads(a).await.unwrap().len(), 1);
        assert!(store.threads(b).await.unwrap().is_empty());
        assert!(store.thread(b, thread).await.unwrap().is_none());
        assert!(store.messages(b, thread).await.unwrap().is_empty());
        assert_eq!(store.messages(a, thread).await.unwrap().len(), 2);
        assert_eq!(store.unread_count(a).await.unwrap(), 1, "only the authority's message counts");
        let att = store.attachments(a, thread).await.unwrap();
        assert_eq!(att.len(), 1);
        assert!(store.attachment(b, att[0].id).await.unwrap().is_none());
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.mark_thread_read(a, thread).await.unwrap(), 1);
        tx.commit().await.unwrap();
        assert_eq!(store.unread_count(a).await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn sso_codes_work_once_on_their_host() {
    on_both(|store| async move {
        seed(&store).await;
        let mut tx = store.begin().await.unwrap();
        let a = tx.insert_citizen("a@example.org", "h").await.unwrap().unwrap();
        let grant = |host: &str, expires_at| SsoGrant {
            citizen_id: a,
            trust_level: "normal".into(),
            auth_method: "password".into(),
            host: host.into(),
            expires_at,
            browser_hash: "b".into(),
        };
        tx.insert_sso_code("c1", &grant("moorbrueck.example", now_ms() + 60_000)).await.unwrap();
        tx.insert_sso_code("c2", &grant("moorbrueck.example", now_ms() - 1)).await.unwrap();
        tx.insert_sso_code("c3", &grant("moorbrueck.example", now_ms() + 60_000)).await.unwrap();
        assert!(tx.take_sso_code("c3", "evil.example").await.unwrap().is_none(), "wrong host");
        assert!(tx.take_sso_code("c3", "moorbrueck.example").await.unwrap().is_none(), "burnt by the wrong host");
        assert!(tx.take_sso_code("c2", "moorbrueck.example").await.unwrap().is_none(), "expired");
        assert_eq!(tx.take_sso_code("c1", "moorbrueck.example").await.unwrap().unwrap().citizen_id, a);
        assert!(tx.take_sso_code("c1", "moorbrueck.example").await.unwrap().is_none(), "once");
        tx.commit().await.unwrap();
    })
    .await;
}
