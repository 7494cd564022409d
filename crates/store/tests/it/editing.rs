//! Editing service descriptions: drafts with history, publishing, conflict detection
//! by version, and new services that start unpublished with unique slugs.

use super::{on_both, seed};
use amtsweg_domain::Slug;
use amtsweg_domain::leistung::LeistungContent;
use amtsweg_store::editing::Saved;

fn content(name: &str) -> LeistungContent {
    LeistungContent {
        name: name.into(),
        leika: "99115003019000".into(),
        trust_level: "normal".into(),
        description: "Neu beschrieben".into(),
        ..LeistungContent::default()
    }
}

#[tokio::test]
async fn drafts_publish_with_history_and_detect_conflicts() {
    on_both(|store| async move {
        let s = seed(&store).await;
        let l = store.leistung(s.town, "meldebescheinigung").await.unwrap().unwrap();
        let mut tx = store.begin().await.unwrap();
        assert_eq!(
            tx.save_draft(s.town, l.id, 0, &content("Meldebescheinigung neu"), Some(1)).await.unwrap(),
            Saved::Ok(1)
        );
        // A second editor who also started from "no draft" is refused.
        assert_eq!(
            tx.save_draft(s.town, l.id, 0, &content("Anderer Stand"), Some(2)).await.unwrap(),
            Saved::Conflict { current_version: 1 }
        );
        // Another authority cannot write a draft for this service.
        assert!(tx.save_draft(s.county, l.id, 0, &content("fremd"), Some(3)).await.is_err());
        tx.commit().await.unwrap();
        assert_eq!(
            store.leistung(s.town, "meldebescheinigung").await.unwrap().unwrap().name,
            "Meldebescheinigung",
            "citizens still see the published state"
        );
        assert!(store.draft(s.county, l.id).await.unwrap().is_none());

        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.publish_draft(s.town, l.id, 0, Some(1)).await.unwrap(), Saved::Conflict { current_version: 1 });
        assert_eq!(tx.publish_draft(s.town, l.id, 1, Some(1)).await.unwrap(), Saved::Ok(2));
        tx.commit().await.unwrap();
        let now = store.leistung(s.town, "meldebescheinigung").await.unwrap().unwrap();
        assert_eq!(now.name, "Meldebescheinigung neu");
        assert_eq!(now.revision, 2);
        assert!(store.draft(s.town, l.id).await.unwrap().is_none());
        let revs = store.revisions(s.town, l.id).await.unwrap();
        assert_eq!(revs.len(), 2, "the seeded state the publication replaced is kept");
        assert_eq!(revs[0].content().unwrap().name, "Meldebescheinigung neu");
        assert_eq!((revs[1].revision, revs[1].published_by), (1, None));
        assert_eq!(revs[1].content().unwrap().name, "Meldebescheinigung");
        assert!(store.revisions(s.county, l.id).await.unwrap().is_empty());
        assert!(store.verify_audit_chain().await.is_ok());
    })
    .await;
}

#[tokio::test]
async fn new_services_start_unpublished_and_slugs_are_unique() {
    on_both(|store| async move {
        let s = seed(&store).await;
        let mut tx = store.begin().await.unwrap();
        let id =
            tx.create_leistung(s.town, &Slug::parse("neu").unwrap(), &content("Neue Leistung"), Some(1)).await.unwrap();
        tx.commit().await.unwrap();
        let l = store.leistung_by_id(s.town, id).await.unwrap().unwrap();
        assert!(!l.published);
        assert_eq!(store.draft(s.town, id).await.unwrap().unwrap().version, 1);
        assert!(store.leistung_by_id(s.county, id).await.unwrap().is_none());
        let mut tx = store.begin().await.unwrap();
        assert!(tx.create_leistung(s.town, &Slug::parse("neu").unwrap(), &content("Doppelt"), Some(1)).await.is_err());
    })
    .await;
}
