//! The e-mail outbox through the workers, against a small SMTP sink in the test: two
//! workers at once send every e-mail exactly once, and the one loop of
//! [`Worker::spawn`] sends the e-mails as well as the deliveries. On SQLite and, when
//! a server answers at `AMTSWEG_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), on PostgreSQL.

use crate::deliver::{Links, RetryPolicy, Round, Source, Worker};
use crate::mail::{MailConfig, Mailer};
use crate::package::Package;
use amtsweg_store::Store;
use amtsweg_store::handoff::{ConnectorRow, DeliveryRow};
use amtsweg_store::outbox::EmailMessage;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// A fresh, migrated store and how to remove it afterwards.
struct TestDb {
    store: Store,
    name: &'static str,
    cleanup: Box<dyn FnOnce() -> std::pin::Pin<Box<dyn Future<Output = ()>>>>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        amtsweg_store::now_ms() % 1_000_000
    )
}

async fn databases() -> Vec<TestDb> {
    let dir = std::env::temp_dir().join(unique("amtsweg_handoff"));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::open_sqlite(&dir.join("amtsweg.db")).await.unwrap();
    store.migrate().await.unwrap();
    let closing = store.clone();
    let mut dbs = vec![TestDb {
        store,
        name: "sqlite",
        cleanup: Box::new(move || {
            Box::pin(async move {
                closing.close().await;
                let _ = std::fs::remove_dir_all(dir);
            })
        }),
    }];
    let admin_url =
        std::env::var("AMTSWEG_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let admin = match Store::open_postgres(&admin_url).await {
        Ok(a) => a,
        Err(e) => {
            assert!(std::env::var("CI").map_or(true, |v| v != "true"), "PostgreSQL is required with CI=true: {e}");
            eprintln!("SKIPPED PostgreSQL half of this test: no server at {admin_url}: {e}");
            return dbs;
        }
    };
    let db = unique("amtsweg_h");
    admin.postgres_database(&db, true).await.unwrap();
    let url = match admin_url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{db}"),
        None => format!("{admin_url}/{db}"),
    };
    let store = Store::open_postgres(&url).await.unwrap();
    store.migrate().await.unwrap();
    let closing = store.clone();
    dbs.push(TestDb {
        store,
        name: "postgres",
        cleanup: Box::new(move || {
            Box::pin(async move {
                closing.close().await;
                let _ = admin.postgres_database(&db, false).await;
                admin.close().await;
            })
        }),
    });
    dbs
}

/// Just enough SMTP to take mails from lettre; keeps every message it received.
struct Sink {
    port: u16,
    received: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Sink {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(Self::session(conn, store.clone()));
            }
        });
        Self { port, received, task }
    }

    async fn session(conn: tokio::net::TcpStream, received: Arc<Mutex<Vec<String>>>) {
        let (read, mut write) = conn.into_split();
        let mut lines = BufReader::new(read).lines();
        if write.write_all(b"220 sink ESMTP\r\n").await.is_err() {
            return;
        }
        while let Ok(Some(line)) = lines.next_line().await {
            let verb = line.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
            let answer: &[u8] = match verb.as_str() {
                "EHLO" | "HELO" => b"250 sink\r\n",
                "DATA" => {
                    write.write_all(b"354 go ahead\r\n").await.unwrap();
                    let mut message = String::new();
                    while let Ok(Some(l)) = lines.next_line().await {
                        if l == "." {
                            break;
                        }
                        message.push_str(&l);
                        message.push('\n');
                    }
                    // A little time per mail, so that two workers overlap.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    received.lock().unwrap().push(message);
                    b"250 queued\r\n"
                }
                "QUIT" => {
                    let _ = write.write_all(b"221 bye\r\n").await;
                    return;
                }
                _ => b"250 ok\r\n",
            };
            if write.write_all(answer).await.is_err() {
                return;
            }
        }
    }

    fn mailer(&self) -> Mailer {
        let cfg = MailConfig {
            transport: "smtp".into(),
            smtp_host: "127.0.0.1".into(),
            smtp_port: self.port,
            tls: "none".into(),
            ..MailConfig::default()
        };
        Mailer::from_config(&cfg).unwrap().unwrap()
    }

    /// How often each subject arrived.
    fn subjects(&self) -> BTreeMap<String, usize> {
        let mut seen = BTreeMap::new();
        for m in self.received.lock().unwrap().iter() {
            let subject = m.lines().find_map(|l| l.strip_prefix("Subject: ")).unwrap_or_default();
            *seen.entry(subject.to_owned()).or_insert(0) += 1;
        }
        seen
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// No deliveries in these tests; the worker never asks.
struct NoSource;

impl Source for NoSource {
    fn package(&self, _: &DeliveryRow) -> impl Future<Output = Result<(Package, Links), String>> + Send {
        std::future::ready(Err("no package in this test".to_owned()))
    }

    fn connector_config(&self, _: &ConnectorRow) -> impl Future<Output = Result<String, String>> + Send {
        std::future::ready(Err("no connector in this test".to_owned()))
    }
}

async fn enqueue(store: &Store, from: usize, to: usize) {
    let mails: Vec<EmailMessage> = (from..to)
        .map(|i| EmailMessage {
            to: format!("person{i}@example.org"),
            subject: format!("Nachricht {i}"),
            body: "Hallo".into(),
            attachments: Vec::new(),
        })
        .collect();
    let mut tx = store.begin().await.unwrap();
    tx.enqueue_emails(&mails).await.unwrap();
    tx.commit().await.unwrap();
}

fn expected(to: usize) -> BTreeMap<String, usize> {
    (0..to).map(|i| (format!("Nachricht {i}"), 1)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_send_each_email_exactly_once() {
    for db in databases().await {
        eprintln!("backend: {}", db.name);
        let sink = Sink::start().await;
        let store = &db.store;
        enqueue(store, 0, 25).await;
        let worker = |mailer| Worker::new(store.clone(), NoSource, Some(mailer), RetryPolicy::default()).unwrap();
        let (a, b) = (worker(sink.mailer()), worker(sink.mailer()));
        let (ra, rb) = tokio::join!(a.run_all_once(), b.run_all_once());
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        assert_eq!(ra.emails + rb.emails, 25, "{ra:?} {rb:?}");
        assert_eq!(ra.deliveries + rb.deliveries, 0);
        assert_eq!(sink.subjects(), expected(25), "every e-mail arrived once");
        assert!(store.outbox_entries(100).await.unwrap().iter().all(|r| r.status == "done" && r.claimed_until == 0));

        // The same e-mails are not sent again by anyone.
        let (ra, rb) = tokio::join!(a.run_all_once(), b.run_all_once());
        assert_eq!((ra.unwrap(), rb.unwrap()), (Round::default(), Round::default()));
        assert_eq!(crate::run_once(store, &sink.mailer()).await.unwrap(), 0);
        assert_eq!(sink.subjects(), expected(25));
        (db.cleanup)().await;
    }
}

/// The node's one loop (`Worker::spawn`) sends the e-mails of the outbox too; next to
/// the plain e-mail loop (`handoff::spawn`) it sends nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_delivery_loop_sends_the_emails_of_the_outbox() {
    async fn all_done(store: &Store) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while store.outbox_entries(100).await.unwrap().iter().any(|r| r.status != "done") {
            assert!(tokio::time::Instant::now() < deadline, "the loops did not send everything");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    for db in databases().await {
        eprintln!("backend: {}", db.name);
        let sink = Sink::start().await;
        let store = db.store.clone();
        let every = Duration::from_millis(20);
        let worker = Worker::new(store.clone(), NoSource, Some(sink.mailer()), RetryPolicy::default()).unwrap();
        let one_loop = worker.spawn(every);
        enqueue(&store, 0, 12).await;
        all_done(&store).await;
        assert_eq!(sink.subjects(), expected(12), "the one loop sent every e-mail once");

        let mail_loop = crate::spawn(store.clone(), sink.mailer(), every);
        enqueue(&store, 12, 20).await;
        tokio::time::sleep(Duration::from_millis(30)).await;
        enqueue(&store, 20, 40).await;
        all_done(&store).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        one_loop.abort();
        mail_loop.abort();
        assert_eq!(sink.subjects(), expected(40), "two loops, every e-mail once");

        // Without a mailer the loop leaves the e-mails where they are.
        let worker = Worker::new(store.clone(), NoSource, None, RetryPolicy::default()).unwrap();
        enqueue(&store, 40, 41).await;
        let quiet = worker.spawn(every);
        tokio::time::sleep(Duration::from_millis(200)).await;
        quiet.abort();
        assert_eq!(store.outbox_entries(1).await.unwrap()[0].status, "pending");
        drop(store);
        (db.cleanup)().await;
    }
}
