//! Fresh stores for tests on both backends (the contract test suite).
//!
//! SQLite lives in a temporary directory. PostgreSQL is the server at
//! `AMTSWEG_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`); when
//! none answers there but the PostgreSQL binaries (`initdb`, `pg_ctl`) are installed,
//! a throwaway cluster is started in the temporary directory and reused by later runs
//! (`AMTSWEG_TEST_PG_THROWAWAY=1` forces that). Each test gets its own database,
//! dropped afterwards. With `CI=true` a missing PostgreSQL fails the test; elsewhere
//! the PostgreSQL half is skipped with a message.

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
    /// The PostgreSQL connection URL of this test database (None for SQLite), for
    /// tests that start the real binary on it.
    #[must_use]
    pub fn postgres_url(&self) -> Option<String> {
        self.pg_admin.as_ref().map(|(admin_url, db)| match admin_url.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{db}"),
            None => format!("{admin_url}/{db}"),
        })
    }

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

/// Where `initdb` and `pg_ctl` live: on the PATH or in Debian's versioned folders.
fn pg_bin_dir() -> Option<std::path::PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
    });
    on_path.or_else(|| {
        let mut dirs: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|d| d.join("initdb").is_file())
            .collect();
        dirs.sort();
        dirs.pop()
    })
}

fn run_as_cluster_owner(bin: &std::path::Path, args: &[&str], as_postgres: bool) -> bool {
    let mut cmd = if as_postgres {
        // initdb refuses to run as root; Debian's postgres user owns the cluster then.
        let mut c = std::process::Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        std::process::Command::new(bin)
    };
    cmd.args(args).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    cmd.status().is_ok_and(|s| s.success())
}

/// Starts (or finds running) a throwaway cluster and returns its admin URL.
fn throwaway_cluster() -> Option<String> {
    let bin = pg_bin_dir()?;
    let is_root = std::process::Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let dir = std::env::temp_dir().join("amtsweg-test-pg");
    let data = dir.join("data");
    let port_file = dir.join("port");
    let data_s = data.to_str()?.to_owned();
    if let Ok(port) = std::fs::read_to_string(&port_file)
        && run_as_cluster_owner(&bin.join("pg_ctl"), &["-D", &data_s, "status"], is_root)
    {
        return Some(format!("postgres://postgres@127.0.0.1:{}/postgres", port.trim()));
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).ok()?;
    if is_root {
        let _ = std::process::Command::new("chown").args(["postgres", dir.to_str()?]).status();
    }
    if !run_as_cluster_owner(
        &bin.join("initdb"),
        &["-D", &data_s, "-U", "postgres", "-A", "trust", "--no-sync"],
        is_root,
    ) {
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    let opts = format!("-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", dir.to_str()?);
    let log = dir.join("log");
    let started = run_as_cluster_owner(
        &bin.join("pg_ctl"),
        &["-D", &data_s, "-o", &opts, "-l", log.to_str()?, "-w", "start"],
        is_root,
    );
    if !started {
        return None;
    }
    std::fs::write(&port_file, port.to_string()).ok()?;
    eprintln!("started a throwaway PostgreSQL cluster on port {port} in {}", dir.display());
    Some(format!("postgres://postgres@127.0.0.1:{port}/postgres"))
}

/// The admin connection for test databases: the configured server, else a throwaway cluster.
async fn pg_admin() -> Result<(String, Store), String> {
    let forced = std::env::var("AMTSWEG_TEST_PG_THROWAWAY").is_ok_and(|v| v == "1");
    let configured = std::env::var("AMTSWEG_TEST_PG_URL").is_ok();
    let mut last_error = String::new();
    if !forced {
        let url = pg_admin_url();
        match Store::open_postgres(&url).await {
            Ok(s) => return Ok((url, s)),
            Err(e) if configured => return Err(format!("no server at {url}: {e}")),
            Err(e) => last_error = format!("no server at {url}: {e}"),
        }
    }
    static THROWAWAY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let url = THROWAWAY
        .get_or_init(throwaway_cluster)
        .clone()
        .ok_or_else(|| format!("{last_error}; no PostgreSQL binaries for a throwaway cluster"))?;
    Store::open_postgres(&url).await.map(|s| (url.clone(), s)).map_err(|e| format!("throwaway cluster at {url}: {e}"))
}

/// A migrated SQLite store in a fresh temporary directory.
///
/// # Panics
/// When the temporary directory or database cannot be created (test setup failure).
#[allow(clippy::expect_used)]
pub async fn sqlite() -> TestStore {
    sqlite_in(tempfile::tempdir().expect("temp dir")).await
}

/// [`sqlite`] with the database in `dir` (e.g. on a small file system the test
/// mounted there).
///
/// # Panics
/// When the database cannot be created (test setup failure).
#[allow(clippy::expect_used)]
pub async fn sqlite_in(dir: tempfile::TempDir) -> TestStore {
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
    let (admin_url, admin) = match pg_admin().await {
        Ok(a) => a,
        Err(e) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("PostgreSQL is required with CI=true: {e}");
            }
            eprintln!("SKIPPED PostgreSQL half of this test: {e}; set AMTSWEG_TEST_PG_URL");
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

/// Runs raw SQL (for tests that tamper with data on purpose).
///
/// # Panics
/// When the statement fails.
#[allow(clippy::expect_used)]
pub async fn execute_sql(store: &Store, sql: &str) {
    store.exec_untransacted(sql).await.expect("raw SQL");
}

/// How many rows of `table` have `needle` inside `column` (for tests proving that
/// something is not stored in clear). Table and column are test constants; the
/// needle must be alphanumeric.
///
/// # Panics
/// On database errors or a needle that is not alphanumeric.
#[allow(clippy::expect_used)]
pub async fn count_containing(store: &Store, table: &str, column: &str, needle: &str) -> i64 {
    assert!(needle.chars().all(char::is_alphanumeric), "needle must be alphanumeric");
    let rows = store
        .raw_fetch_i64(&format!("SELECT COUNT(*) FROM {table} WHERE {column} LIKE '%{needle}%'"))
        .await
        .expect("count");
    rows.first().copied().unwrap_or(0)
}
