//! The Verbund's service library: offering a service, adopting it as a copy or linked,
//! following the source's changes and accepting them without losing local edits.

use super::{on_both, seed};
use amtsweg_domain::leistung::LeistungContent;
use amtsweg_domain::library::AdoptionMode;
use amtsweg_store::editing::Saved;
use amtsweg_store::library::Adopted;

/// The county offers its Kfz service; the town adopts it linked, sets its own
/// fee, and later accepts the county's changed text without losing the fee.
#[tokio::test]
async fn offer_adopt_linked_follow_and_accept() {
    on_both(|store| async move {
        let s = seed(&store).await;
        let kfz = store.leistung(s.county, "kfz").await.unwrap().unwrap();
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.offer_to_library(s.town, kfz.id, Some(1)).await.unwrap(), None, "not the town's service");
        let entry = tx.offer_to_library(s.county, kfz.id, Some(1)).await.unwrap().unwrap();
        tx.commit().await.unwrap();
        assert_eq!(store.library_entries().await.unwrap().len(), 1);

        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.adopt(s.county, entry, AdoptionMode::Linked, Some(1)).await.unwrap(), Adopted::OwnEntry);
        let Adopted::Created(own) = tx.adopt(s.town, entry, AdoptionMode::Linked, Some(2)).await.unwrap() else {
            panic!("not adopted")
        };
        assert_eq!(
            tx.adopt(s.town, entry, AdoptionMode::Copy, Some(2)).await.unwrap(),
            Adopted::AlreadyAdopted(own),
            "never two services for one entry"
        );
        tx.commit().await.unwrap();
        let adopted = store.leistung_by_id(s.town, own).await.unwrap().unwrap();
        assert!(!adopted.published, "the adopter reviews before publishing");
        let draft = store.draft(s.town, own).await.unwrap().unwrap();
        assert_eq!(draft.content().unwrap().name, kfz.name);
        assert_eq!(store.library_usage(entry).await.unwrap().len(), 1);

        // The town sets its fee and tries to change the shared text: only the fee sticks.
        let mut mine = draft.content().unwrap();
        mine.fees = "In Moorbrück: 30 Euro".into();
        mine.description = "Eigener Text".into();
        let mut tx = store.begin().await.unwrap();
        let Saved::Ok(v) = tx.save_draft(s.town, own, draft.version, &mine, Some(2)).await.unwrap() else {
            panic!("conflict")
        };
        tx.publish_draft(s.town, own, v, Some(2)).await.unwrap();
        tx.commit().await.unwrap();
        let live = store.leistung_by_id(s.town, own).await.unwrap().unwrap();
        assert_eq!(live.fees, "In Moorbrück: 30 Euro");
        assert_eq!(live.description, kfz.description, "linked text stays the county's");

        // The county publishes a new text: the library follows, the town sees it pending.
        let mut tx = store.begin().await.unwrap();
        let newer = LeistungContent { description: "Neue Regeln ab 2027".into(), ..LeistungContent::of(&kfz) };
        tx.save_draft(s.county, kfz.id, 0, &newer, Some(1)).await.unwrap();
        tx.publish_draft(s.county, kfz.id, 1, Some(1)).await.unwrap();
        tx.commit().await.unwrap();
        let e = store.library_entry(entry).await.unwrap().unwrap();
        assert_eq!(e.revision, 2);
        let a = store.adoption(s.town, own).await.unwrap().unwrap();
        assert!(a.adopted_revision < e.revision, "pending upstream change");
        assert_eq!(store.library_revision(entry, 1).await.unwrap().unwrap().description, kfz.description);

        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.accept_upstream(s.county, own, Some(1)).await.unwrap(), None, "foreign authority");
        assert_eq!(tx.accept_upstream(s.town, own, Some(2)).await.unwrap(), Some(2));
        assert_eq!(tx.accept_upstream(s.town, own, Some(2)).await.unwrap(), None, "nothing left to accept");
        tx.commit().await.unwrap();
        let live = store.leistung_by_id(s.town, own).await.unwrap().unwrap();
        assert_eq!(live.description, "Neue Regeln ab 2027");
        assert_eq!(live.fees, "In Moorbrück: 30 Euro", "local fee kept");

        // Detached, the town may write its own text.
        let mut tx = store.begin().await.unwrap();
        assert!(tx.detach_from_library(s.town, own, Some(2)).await.unwrap());
        let own_text = LeistungContent { description: "Jetzt eigener Text".into(), ..LeistungContent::of(&live) };
        tx.save_draft(s.town, own, 0, &own_text, Some(2)).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            store.draft(s.town, own).await.unwrap().unwrap().content().unwrap().description,
            "Jetzt eigener Text"
        );

        // Withdrawn entries cannot be adopted any more; adopters keep theirs.
        let mut tx = store.begin().await.unwrap();
        assert!(tx.withdraw_from_library(s.county, kfz.id, Some(1)).await.unwrap());
        tx.commit().await.unwrap();
        assert!(store.library_entries().await.unwrap().is_empty());
        assert!(store.leistung_by_id(s.town, own).await.unwrap().is_some());
        assert!(store.verify_audit_chain().await.is_ok());
    })
    .await;
}

#[tokio::test]
async fn copies_are_free_and_unpublished_services_cannot_be_offered() {
    on_both(|store| async move {
        let s = seed(&store).await;
        let draft_only = store.leistung(s.town, "entwurf").await.unwrap().unwrap();
        let kfz = store.leistung(s.county, "kfz").await.unwrap().unwrap();
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.offer_to_library(s.town, draft_only.id, Some(1)).await.unwrap(), None);
        let entry = tx.offer_to_library(s.county, kfz.id, Some(1)).await.unwrap().unwrap();
        let Adopted::Created(copy) = tx.adopt(s.town, entry, AdoptionMode::Copy, Some(2)).await.unwrap() else {
            panic!("not adopted")
        };
        tx.commit().await.unwrap();
        let d = store.draft(s.town, copy).await.unwrap().unwrap().content().unwrap();
        let mine = LeistungContent { description: "Unser eigener Text".into(), ..d };
        let mut tx = store.begin().await.unwrap();
        tx.save_draft(s.town, copy, 1, &mine, Some(2)).await.unwrap();
        tx.commit().await.unwrap();
        let d = store.draft(s.town, copy).await.unwrap().unwrap().content().unwrap();
        assert_eq!(d.description, "Unser eigener Text");
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.accept_upstream(s.town, copy, Some(2)).await.unwrap(), None);
        // The slug of the adopted service does not clash with the town's own.
        assert!(store.leistung_by_id(s.town, copy).await.unwrap().unwrap().slug.as_str().starts_with("kfz"));
    })
    .await;
}
