//! Contract tests: every test runs on SQLite and on PostgreSQL.
//!
//! This file is the harness: [`on_both`] runs a test once per backend, each on a
//! fresh database. The seed data is in `fixtures`; the tests are in one file per
//! part of the store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod appointments;
mod catalogue;
mod editing;
mod finanzen;
mod fixtures;
mod forms;
mod group_commit;
mod handoff;
mod konto;
mod library;
mod outbox;
mod payments;
mod payments_bank;
mod schema;
mod staff;
mod staff_offboarding;
mod submissions;

use amtsweg_store::Store;
use amtsweg_store::testing::{TestStore, both};
use fixtures::{leistung, seed};

async fn on_both<F, Fut>(f: F)
where
    F: Fn(Store) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for t in both().await {
        let TestStore { name, .. } = &t;
        eprintln!("backend: {name}");
        f(t.store.clone()).await;
        t.cleanup().await;
    }
}
