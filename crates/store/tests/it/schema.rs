//! The ground under every other test: migrations that can run twice, the same
//! logical schema from the SQLite and the PostgreSQL migration sets, and
//! transactions that store nothing when dropped after a failure.

use super::{leistung, on_both, seed};
use amtsweg_store::testing::both;

#[tokio::test]
async fn a_failed_transaction_stores_nothing() {
    on_both(|store| async move {
        let s = seed(&store).await;
        let mut tx = store.begin().await.unwrap();
        tx.insert_leistung(s.town, &leistung("neu", "Neu", "99115003019002", true), &[]).await.unwrap();
        // Same slug in the same authority violates the unique constraint.
        assert!(tx.insert_leistung(s.town, &leistung("neu", "Neu 2", "99115003019002", true), &[]).await.is_err());
        drop(tx);
        assert!(store.leistung(s.town, "neu").await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn migrations_are_idempotent() {
    on_both(|store| async move {
        assert!(store.migrate().await.unwrap().is_empty());
        store.ping().await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn both_migration_sets_give_the_same_logical_schema() {
    let stores = both().await;
    if stores.len() < 2 {
        eprintln!("SKIPPED schema comparison: PostgreSQL not available");
    } else {
        let a = stores[0].store.logical_schema().await.unwrap();
        let b = stores[1].store.logical_schema().await.unwrap();
        assert!(!a.is_empty());
        let only_a: Vec<_> = a.iter().filter(|c| !b.contains(c)).collect();
        let only_b: Vec<_> = b.iter().filter(|c| !a.contains(c)).collect();
        assert!(only_a.is_empty() && only_b.is_empty(), "sqlite only: {only_a:?}\npostgres only: {only_b:?}");
    }
    for t in stores {
        t.cleanup().await;
    }
}
