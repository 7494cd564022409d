//! `amtsweg bench submit`: the postal-vote rush. Virtual citizens run the real HTTP
//! journey against a server in this process — GET the one-page Briefwahl form, POST
//! the answers with the form token, follow the 303, GET the receipt — while the same
//! load against a bare handler that only parses the POST body is the baseline.
//! Afterwards every receipt a citizen was shown is looked up in the store.

use crate::bench_client::{Answer, Connection};
use crate::seed;
use amtsweg_store::Store;
use anyhow::{Context, anyhow, bail};
use hdrhistogram::Histogram;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const AUTHORITY: &str = "moorbrueck";
const ANSWERS: &str = "aktion=absenden&f.vorname=Erika&f.familienname=Musterfrau&f.geburtsdatum=12.03.1980\
&f.strasse=Am+Markt+1&f.plz=29391&f.ort=Moorbr%C3%BCck&f.wahlbezirk=012&f.waehlerverzeichnis=1234\
&f.versand=wohnung&f.versicherung=ja";

/// Where the benchmark's data lives, and how to remove it afterwards.
pub(crate) enum Backend {
    Sqlite(std::path::PathBuf),
    Postgres { admin: String, db: String },
}

pub(crate) async fn open(pg: Option<&str>) -> anyhow::Result<(Store, Backend)> {
    match pg {
        None => {
            let dir = std::env::temp_dir().join(format!("amtsweg-bench-submit-{}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            let store = Store::open_sqlite(&dir.join("bench.db")).await?;
            Ok((store, Backend::Sqlite(dir)))
        }
        Some(url) => {
            let admin = Store::open_postgres(url).await.with_context(|| format!("cannot connect to {url}"))?;
            let db = format!("amtsweg_bench_{}", std::process::id());
            admin.postgres_database(&db, false).await?;
            admin.postgres_database(&db, true).await?;
            admin.close().await;
            let base = url.rsplit_once('/').map_or(url, |(b, _)| b);
            let store = Store::open_postgres(&format!("{base}/{db}")).await?;
            Ok((store, Backend::Postgres { admin: url.to_owned(), db }))
        }
    }
}

pub(crate) async fn remove(b: Backend) -> anyhow::Result<()> {
    match b {
        Backend::Sqlite(dir) => {
            let _ = std::fs::remove_dir_all(dir);
        }
        Backend::Postgres { admin, db } => {
            let store = Store::open_postgres(&admin).await?;
            store.postgres_database(&db, false).await?;
            store.close().await;
        }
    }
    Ok(())
}

/// CPU seconds (user + system) of this process so far; Linux only (`/proc`), where
/// the benchmark runs — elsewhere 0.
pub(crate) fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return 0.0 };
    // Fields after the command name (which may contain spaces) start after ") ".
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the whole line (11 and 12 here), in
    // clock ticks of 1/100 s on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

/// Peak resident memory of this process in MB (`VmHWM`); 0 where `/proc` is missing.
pub(crate) fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The value of `<input … name="NAME" value="…">` in a page.
fn hidden(body: &str, name: &str) -> Option<String> {
    let at = body.find(&format!("name=\"{name}\""))?;
    let tag_start = body[..at].rfind('<')?;
    let tag = &body[tag_start..at + body[at..].find('>')?];
    let v = tag.split("value=\"").nth(1)?;
    Some(v[..v.find('"')?].to_owned())
}

/// A browser: one keep-alive connection and its cookie.
struct Client {
    conn: Connection,
    origin: String,
    cookie: String,
}

impl Client {
    async fn connect(addr: SocketAddr) -> anyhow::Result<Self> {
        let conn = Connection::connect(addr).await?;
        Ok(Self { origin: conn.origin(), conn, cookie: String::new() })
    }

    async fn send(&mut self, method: &str, path: &str, form: Option<&str>) -> anyhow::Result<Answer> {
        let mut headers: Vec<(&str, &str)> = Vec::with_capacity(3);
        if !self.cookie.is_empty() {
            headers.push(("cookie", &self.cookie));
        }
        if form.is_some() {
            headers.push(("content-type", "application/x-www-form-urlencoded"));
            headers.push(("origin", &self.origin));
        }
        let a = self.conn.send(method, path, &headers, form.map(str::as_bytes)).await?;
        if let Some(c) = a.cookies.last() {
            self.cookie.clone_from(c);
        }
        Ok(a)
    }
}

/// What one virtual citizen did.
struct Citizen {
    receipts: Vec<String>,
    journeys_us: Histogram<u64>,
    posts_us: Histogram<u64>,
    errors: u64,
}

fn us(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX).max(1)
}

/// One citizen applying again and again until `until` (a new browser each time).
async fn citizen(addr: SocketAddr, form: String, until: Instant) -> anyhow::Result<Citizen> {
    let mut out = Citizen {
        receipts: Vec::new(),
        journeys_us: Histogram::new_with_bounds(1, 60_000_000, 3)?,
        posts_us: Histogram::new_with_bounds(1, 60_000_000, 3)?,
        errors: 0,
    };
    let mut client = Client::connect(addr).await?;
    while Instant::now() < until {
        client.cookie.clear();
        let start = Instant::now();
        let page = client.send("GET", &form, None).await?;
        let (Some(csrf), Some(token)) = (hidden(&page.body, "csrf"), hidden(&page.body, "token")) else {
            out.errors += 1;
            continue;
        };
        let post_start = Instant::now();
        let body = format!("csrf={csrf}&token={}&{ANSWERS}", token.replace('.', "%2E"));
        let r = client.send("POST", &form, Some(&body)).await?;
        out.posts_us.record(us(post_start))?;
        if r.status != 303 || !r.location.contains("/eingang/") {
            out.errors += 1;
            continue;
        }
        let receipt = client.send("GET", &r.location, None).await?;
        if receipt.status != 200 || !receipt.body.contains("MOO-") {
            out.errors += 1;
            continue;
        }
        out.journeys_us.record(us(start))?;
        out.receipts.push(r.location.rsplit('/').next().unwrap_or_default().to_owned());
    }
    Ok(out)
}

/// The baseline: the same POST body to a handler that only parses it.
async fn bare(addr: SocketAddr, until: Instant) -> anyhow::Result<(u64, Histogram<u64>)> {
    let mut hist = Histogram::new_with_bounds(1, 60_000_000, 3)?;
    let mut client = Client::connect(addr).await?;
    let mut n = 0;
    let body = format!("csrf=x&token=y&{ANSWERS}");
    while Instant::now() < until {
        let start = Instant::now();
        let r = client.send("POST", "/_bench/formular", Some(&body)).await?;
        hist.record(us(start))?;
        if r.status == 200 {
            n += 1;
        }
    }
    Ok((n, hist))
}

pub async fn run(pg: Option<String>, concurrency: usize, seconds: u64) -> anyhow::Result<()> {
    if concurrency == 0 || seconds == 0 {
        bail!("--concurrency and --seconds must be at least 1");
    }
    let started = Instant::now();
    let (store, backend) = open(pg.as_deref()).await?;
    let result = measure(&store, &backend, concurrency, Duration::from_secs(seconds), started).await;
    store.close().await;
    remove(backend).await?;
    result
}

async fn measure(
    store: &Store,
    backend: &Backend,
    concurrency: usize,
    duration: Duration,
    started: Instant,
) -> anyhow::Result<()> {
    store.migrate().await?;
    seed::apply(store, &seed::parse(seed::DEMO)?).await?;
    let form = seed::publish_one_page_briefwahl(store, AUTHORITY).await?;
    let objects = match backend {
        Backend::Sqlite(dir) => dir.join("objects"),
        Backend::Postgres { db, .. } => std::env::temp_dir().join(format!("{db}-objects")),
    };
    let config = amtsweg_web::WebConfig {
        master_key: Some(amtsweg_portal::Keyring::new_master_key()),
        objects_dir: Some(objects),
        // Every virtual citizen comes from this one address: a load generator, not
        // an abuser (the limits themselves are measured by the tests).
        limits: amtsweg_web::limits::LimitsConfig::default().without_request_rates(),
        ..amtsweg_web::WebConfig::default()
    };
    let state = amtsweg_web::AppState::new(store.clone(), config, crate::printer()).await?;
    // Every submission also writes its outbox row: a webhook for the authority (not
    // delivered during the run; the worker is not started).
    let town = store.authority_by_slug(AUTHORITY).await?.ok_or_else(|| anyhow!("demo authority missing"))?.id;
    let connector = amtsweg_store::handoff::NewConnector {
        authority_id: town,
        form_id: None,
        kind: "webhook",
        name: "Wahlamt",
        config: "",
    };
    amtsweg_portal::handoff::add_connector(
        &state.portal,
        &connector,
        r#"{"url":"https://wahlamt.example/eingang","secret":"benchmark-secret-0123456789abcdef"}"#,
    )
    .await?;
    let bare_route = axum::Router::new().route(
        "/_bench/formular",
        axum::routing::post(|axum::Form(f): axum::Form<Vec<(String, String)>>| async move { f.len().to_string() }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = amtsweg_web::router_with(state, bare_route);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let setup = started.elapsed();
    let name = match backend {
        Backend::Sqlite(_) => "SQLite",
        Backend::Postgres { .. } => "PostgreSQL",
    };
    eprintln!(
        "Briefwahl-Ansturm auf {name}: {concurrency} Bürgerinnen und Bürger gleichzeitig für {} s, dann dieselbe Last gegen einen Handler, der nur das Formular liest …",
        duration.as_secs()
    );

    let cpu_before = cpu_seconds();
    let until = Instant::now() + duration;
    let begin = Instant::now();
    let tasks: Vec<_> = (0..concurrency).map(|_| tokio::spawn(citizen(addr, form.clone(), until))).collect();
    let mut receipts = Vec::new();
    let mut journeys = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut posts = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut errors = 0;
    for t in tasks {
        let c = t.await??;
        receipts.extend(c.receipts);
        journeys.add(c.journeys_us)?;
        posts.add(c.posts_us)?;
        errors += c.errors;
    }
    let elapsed = begin.elapsed();
    let cpu = cpu_seconds() - cpu_before;
    let rss = peak_rss_mb();

    let until = Instant::now() + duration;
    let bare_begin = Instant::now();
    let tasks: Vec<_> = (0..concurrency).map(|_| tokio::spawn(bare(addr, until))).collect();
    let mut bare_n = 0;
    let mut bare_hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for t in tasks {
        let (n, h) = t.await??;
        bare_n += n;
        bare_hist.add(h)?;
    }
    let bare_rps = bare_n as f64 / bare_begin.elapsed().as_secs_f64();

    // Every receipt a citizen saw must be stored, once.
    let mut missing = 0;
    for token in &receipts {
        if store.submission_by_token(token).await?.is_none() {
            missing += 1;
        }
    }
    let stored = store.count_submissions(town).await?;
    let per_s = receipts.len() as f64 / elapsed.as_secs_f64();
    let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    let ratio = per_s / bare_rps;
    let target_met = per_s >= 3000.0 && ms(&journeys, 0.99) < 50.0 && rss < 150.0 && missing == 0;
    println!("Einrichtung (Migration, Demo, Formular): {:.1} s", setup.as_secs_f64());
    println!(
        "Anträge: {} in {:.1} s = {per_s:.0}/s ({name}, {concurrency} gleichzeitig; Ziel ≥ 3000/s mit SQLite)",
        receipts.len(),
        elapsed.as_secs_f64()
    );
    println!(
        "Dauer eines ganzen Antrags (Formular, Absenden, Eingangsbestätigung): p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms (Ziel p99 < 50 ms); Absenden allein p99 {:.1} ms",
        ms(&journeys, 0.5),
        ms(&journeys, 0.99),
        journeys.max() as f64 / 1000.0,
        ms(&posts, 0.99)
    );
    println!(
        "CPU: {cpu:.1} s in {:.1} s ({:.2} Kerne, Server und Lastgenerator zusammen); Speicher (Spitze): {rss:.0} MB (Ziel < 150 MB)",
        elapsed.as_secs_f64(),
        cpu / elapsed.as_secs_f64()
    );
    println!(
        "Vergleich: Handler, der nur das Formular liest: {bare_rps:.0} Anfragen/s, p99 {:.2} ms; Verhältnis Anträge/Handler {ratio:.3}",
        ms(&bare_hist, 0.99)
    );
    println!(
        "Geprüft: {} Eingangsbestätigungen, {missing} fehlen im Speicher, {stored} Anträge gespeichert, {errors} Fehler",
        receipts.len()
    );
    let json = serde_json::json!({
        "bench": "submit", "backend": name.to_lowercase(), "concurrency": concurrency, "seconds": duration.as_secs(),
        "submissions": receipts.len(), "submissions_per_s": per_s.round(),
        "p50_ms": ms(&journeys, 0.5), "p99_ms": ms(&journeys, 0.99), "max_ms": journeys.max() as f64 / 1000.0,
        "submit_post_p99_ms": ms(&posts, 0.99), "cpu_seconds": (cpu * 10.0).round() / 10.0,
        "peak_rss_mb": rss.round(), "bare_rps": bare_rps.round(), "ratio": (ratio * 1000.0).round() / 1000.0,
        "errors": errors, "missing_receipts": missing, "stored": stored, "target_met": target_met,
    });
    println!("{json}");
    if missing > 0 {
        bail!("{missing} receipts shown to citizens are not in the store");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::hidden;

    #[test]
    fn hidden_inputs_are_found_in_any_attribute_order() {
        let page = r#"<form><input type="hidden" name="csrf" value="abc"><input value="t.1.m" type="hidden" name="token"></form>"#;
        assert_eq!(hidden(page, "csrf").as_deref(), Some("abc"));
        assert_eq!(hidden(page, "token").as_deref(), Some("t.1.m"));
        assert_eq!(hidden(page, "fehlt"), None);
    }
}
