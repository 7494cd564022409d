//! Fresh stores for tests on both backends (the contract test suite).
//!
//! SQLite lives in a temporary directory. PostgreSQL is the server at
//! `AMTSWEG_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`); each
//! test gets its own database, dropped afterwards. With `CI=true` a missing
//! PostgreSQL fails the test; elsewhere the PostgreSQL half is skipped with a message.

use crate::Store;
use std::sync::atomic::{AtomicU32, Ordering};

/// A migrated store for one test plus what is needed to clean it up.
pub struct TestStore {
    pub store: Store,
    pub name: &'static str,
    /// Where the SQLite file lives; kept alive for the test's duration.
    pub dir: Option<tempfile::TempDir>,
    pg_admin: Option<(String, String)>,
}

impl TestStore {
    /// Closes the store and drops a PostgreSQL test database.
    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some((admin_url, db)) = self.pg_admin
            && let Ok(admin) = Store::open_postgres(&admin_url).await
        {
            let _ = admin.exec_untransacted(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)")).await;
            admin.close().await;
        }
    }
}

fn pg_admin_url() -> String {
    std::env::var("AMTSWEG_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A migrated SQLite store in a fresh temporary directory.
///
/// # Panics
/// When the temporary directory or database cannot be created (test setup failure).
#[allow(clippy::expect_used)]
pub async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open_sqlite(&dir.path().join("amtsweg.db")).await.expect("open sqlite");
    store.migrate().await.expect("migrate sqlite");
    TestStore { store, name: "sqlite", dir: Some(dir), pg_admin: None }
}

/// A migrated PostgreSQL store in a fresh database, or `None` (with a printed
/// notice) when no server is reachable outside CI.
///
/// # Panics
/// With `CI=true` when PostgreSQL is not reachable.
#[allow(clippy::expect_used, clippy::panic)]
pub async fn postgres() -> Option<TestStore> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let admin_url = pg_admin_url();
    let admin = match Store::open_postgres(&admin_url).await {
        Ok(a) => a,
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL at {admin_url} is required with CI=true: {e}");
            }
            eprintln!("SKIPPED PostgreSQL half of this test: no server at {admin_url} ({e}); set AMTSWEG_TEST_PG_URL");
            return None;
        }
    };
    let db = format!(
        "amtsweg_t_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        crate::now_ms() % 1_000_000
    );
    admin.exec_untransacted(&format!("CREATE DATABASE \"{db}\"")).await.expect("create test database");
    admin.close().await;
    let url = match admin_url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{db}"),
        None => format!("{admin_url}/{db}"),
    };
    let store = Store::open_postgres(&url).await.expect("open test database");
    store.migrate().await.expect("migrate postgres");
    Some(TestStore { store, name: "postgres", dir: None, pg_admin: Some((admin_url, db)) })
}

/// Both backends, for contract tests: `for t in testing::both().await { … }`.
pub async fn both() -> Vec<TestStore> {
    let mut v = vec![sqlite().await];
    v.extend(postgres().await);
    v
}
