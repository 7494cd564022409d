//! The server under test: `amtsweg serve` as a child process that can be killed with
//! SIGKILL and restarted, and the seeded database with webhook connectors and the
//! configuration file it runs on.

use super::{SECRET, free_port};
use amtsweg_portal::Keyring;
use amtsweg_store::Store;
use amtsweg_store::handoff::{NewConnector, ReconciliationRow};
use amtsweg_store::submissions::SubmissionRow;
use amtsweg_store::testing::TestStore;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// `amtsweg serve` as a child process; killed (SIGKILL) on drop.
pub(crate) struct Server {
    child: Option<Child>,
    config: PathBuf,
    log: PathBuf,
    port: u16,
}

impl Server {
    pub(crate) async fn start(s: &Setup) -> Self {
        let mut server = Self { child: None, config: s.config.clone(), log: s.log.clone(), port: s.port };
        server.spawn().await;
        server
    }

    async fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_amtsweg"))
            .args(["serve", "--config", self.config.to_str().unwrap()])
            .env("AMTSWEG_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let child = self.child.insert(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).await.is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the server ended ({status}):\n{}", std::fs::read_to_string(&self.log).unwrap_or_default());
            }
            assert!(Instant::now() < deadline, "the server did not start listening");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL (what `Child::kill` sends on Unix): no shutdown code runs.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub(crate) async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            eprintln!("server log (last lines):\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
        }
    }
}

/// A seeded database with webhook connectors, and the server's configuration.
pub(crate) struct Setup {
    pub(crate) t: TestStore,
    /// The data directory for PostgreSQL (uploaded files); SQLite uses the store's.
    _objects: Option<tempfile::TempDir>,
    /// The server's log, outside the data directory (which a test may fill up).
    _logs: tempfile::TempDir,
    config: PathBuf,
    log: PathBuf,
    pub(crate) port: u16,
    pub(crate) moorbrueck: i64,
    pub(crate) heideland: i64,
    /// Authority id → its webhook connector.
    pub(crate) connectors: HashMap<i64, i64>,
}

impl Setup {
    pub(crate) fn store(&self) -> &Store {
        &self.t.store
    }

    /// The `Idempotency-Key` the worker sends for a submission of `authority`.
    pub(crate) fn key(&self, authority: i64, submission: i64) -> String {
        format!("amtsweg-{authority}-{submission}-{}", self.connectors[&authority])
    }

    pub(crate) async fn submission(&self, token: &str) -> SubmissionRow {
        self.store().submission_by_token(token).await.unwrap().unwrap_or_else(|| panic!("no submission {token}"))
    }

    pub(crate) async fn deliveries(&self, authority: i64) -> Vec<ReconciliationRow> {
        self.store().reconciliation(authority, 0, i64::MAX).await.unwrap()
    }

    pub(crate) async fn all_delivered(&self, authority: i64) -> bool {
        self.deliveries(authority).await.iter().all(|r| r.status.as_deref() == Some("delivered"))
    }
}

/// Seeds the demo Verbund into `t` (the Samtgemeinde Heideland's Briefwahl form among
/// its forms), adds a webhook connector per `(authority slug, receiver port)`, and
/// writes the server's configuration (with `handoff`, the `[handoff]` table).
pub(crate) async fn setup(t: TestStore, receivers: &[(&str, u16)], handoff: &str) -> Setup {
    setup_in(t, receivers, handoff, None).await
}

/// [`setup`] with `data` as the data directory on PostgreSQL (SQLite's is always the
/// store's own directory).
pub(crate) async fn setup_in(
    t: TestStore,
    receivers: &[(&str, u16)],
    handoff: &str,
    data: Option<tempfile::TempDir>,
) -> Setup {
    let store = t.store.clone();
    amtsweg::seed::apply(&store, &amtsweg::seed::parse(amtsweg::seed::DEMO).unwrap()).await.unwrap();
    let id = async |slug: &str| store.authority_by_slug(slug).await.unwrap().unwrap().id;
    let (moorbrueck, heideland) = (id("moorbrueck").await, id("sg-heideland").await);
    let form = store.form_by_slug(heideland, "briefwahl").await.unwrap();
    assert!(form.is_some(), "the demo gives the Samtgemeinde Heideland a Briefwahl form");

    // The connector settings are sealed as the portal seals them, with the master key
    // the server is given below.
    let master = Keyring::new_master_key();
    let keyring = Keyring::from_base64(&master).unwrap();
    let mut connectors = HashMap::new();
    for (slug, port) in receivers {
        let authority = id(slug).await;
        let json = serde_json::json!({ "url": format!("http://127.0.0.1:{port}/eingang"), "secret": SECRET });
        let sealed = keyring
            .seal(&store, &format!("authority:{authority}"), "connector:config", json.to_string().as_bytes())
            .await
            .unwrap();
        let mut tx = store.begin().await.unwrap();
        let c = tx
            .insert_connector(&NewConnector {
                authority_id: authority,
                form_id: None,
                kind: "webhook",
                name: "Fachverfahren (Test)",
                config: &sealed,
            })
            .await
            .unwrap();
        tx.commit().await.unwrap();
        connectors.insert(authority, c);
    }

    let objects = if t.dir.is_none() { Some(data.unwrap_or_else(|| tempfile::tempdir().unwrap())) } else { None };
    let data = t.dir.as_ref().or(objects.as_ref()).unwrap().path().to_owned();
    let port = free_port();
    let mut cfg = format!("data_dir = {:?}\nlisten = \"127.0.0.1:{port}\"\n", data.to_str().unwrap());
    if let Some(url) = t.postgres_url() {
        cfg.push_str(&format!("database_url = {url:?}\n"));
    }
    cfg.push_str(&format!(
        "[web]\nmaster_key = {master:?}\npublic_base_url = \"http://127.0.0.1:{port}\"\n\
         [mail]\ntransport = \"none\"\n[handoff]\n{handoff}\n\
         [outbound]\nallow_hosts = [\"127.0.0.1\"]\nhttp_hosts = [\"127.0.0.1\"]\n"
    ));
    // Every browser of the load comes from 127.0.0.1, like a load generator: no
    // request rates (empty tables mean "no limit"), and draft quotas far above the load.
    cfg.push_str(
        "[web.limits.sign_in]\n[web.limits.post]\n[web.limits.expensive]\n[web.limits.drafts]\n\
         per_client_per_day = 1000000\nfiles_mb_per_client = 1000000\ntotal = 1000000\nfiles_mb_total = 1000000\n",
    );
    let config = data.join("amtsweg-test.toml");
    std::fs::write(&config, cfg).unwrap();
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("server.log");
    Setup { t, _objects: objects, _logs: logs, config, log, port, moorbrueck, heideland, connectors }
}
