//! `amtsweg bench …`: measurements printed as a human summary and a final JSON line.
//! Each benchmark measures its baseline in the same run, so the ratio is what counts
//! on any machine.

use crate::bench_client::Connection;
use crate::seed;
use amtsweg_search::{DocKind, SearchDoc, SearchIndex};
use amtsweg_store::Store;
use anyhow::{Context, anyhow};
use clap::Subcommand;
use hdrhistogram::Histogram;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

#[derive(Debug, Subcommand)]
pub enum Which {
    /// A themed tenant's service page vs. a bare hello-world handler, 64 connections each.
    Pages {
        #[arg(long, default_value_t = 64)]
        connections: usize,
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// The page to measure (default: a themed tenant's service page).
        #[arg(long, default_value = "/o/moorbrueck/leistungen/meldebescheinigung")]
        path: String,
    },
    /// The postal-vote rush: the real HTTP journey (form, submit, receipt) of many
    /// citizens at once against a bare form-parsing handler; every receipt checked.
    Submit {
        /// A PostgreSQL server URL (e.g. postgres://postgres@127.0.0.1/postgres): the run
        /// creates and drops its own database there. Default: SQLite in a temp folder.
        #[arg(long)]
        pg: Option<String>,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// The appointment rush: a month of times for one location released at once,
    /// citizens racing for them through the real HTTP journey (day, hold, confirm);
    /// afterwards no time may be booked twice and every shown booking must exist.
    Booking {
        /// A PostgreSQL server URL (e.g. postgres://postgres@127.0.0.1/postgres): the run
        /// creates and drops its own database there. Default: SQLite in a temp folder.
        #[arg(long, alias = "database")]
        pg: Option<String>,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// At most this long; the run ends earlier when every time is booked.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Counters working in parallel (8: about 10,000 times in the month).
        #[arg(long, default_value_t = 8)]
        counters: u16,
        /// `[web.appointments] group_commit` for the run (SQLite only): `false`
        /// commits every hold and confirmation by itself, for comparison.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        group_commit: bool,
    },
    /// Cold start of the real binary on a database with this many submissions.
    Startup {
        #[arg(long, default_value_t = 1_000_000)]
        submissions: i64,
    },
    /// p50/p99 search latency over a fixed query mix on 100,000 synthetic documents.
    Search {
        #[arg(long, default_value_t = 1000)]
        authorities: usize,
        #[arg(long, default_value_t = 100)]
        services_per_authority: usize,
        #[arg(long, default_value_t = 200)]
        rounds: usize,
    },
}

pub async fn run(which: Which) -> anyhow::Result<()> {
    match which {
        Which::Pages { connections, seconds, path } => pages(connections, Duration::from_secs(seconds), &path).await,
        Which::Startup { submissions } => crate::bench_startup::run(submissions).await,
        Which::Submit { pg, concurrency, seconds } => crate::bench_submit::run(pg, concurrency, seconds).await,
        Which::Booking { pg, concurrency, seconds, counters, group_commit } => {
            crate::bench_booking::run(pg, concurrency, seconds, counters, group_commit).await
        }
        Which::Search { authorities, services_per_authority, rounds } => {
            tokio::task::spawn_blocking(move || search(authorities, services_per_authority, rounds)).await?
        }
    }
}

struct LoadResult {
    requests: u64,
    errors: u64,
    elapsed: Duration,
    latency_us: Histogram<u64>,
}

impl LoadResult {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
    fn ms(&self, q: f64) -> f64 {
        self.latency_us.value_at_quantile(q) as f64 / 1000.0
    }
}

async fn connection_loop(addr: SocketAddr, path: String, until: Instant) -> anyhow::Result<(u64, u64, Histogram<u64>)> {
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut conn = Connection::connect(addr).await?;
    let (mut ok, mut errors) = (0u64, 0u64);
    while Instant::now() < until {
        let start = Instant::now();
        let status = conn.send("GET", &path, &[], None).await?.status;
        hist.record(u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX).max(1))?;
        if (200..300).contains(&status) { ok += 1 } else { errors += 1 }
    }
    Ok((ok, errors, hist))
}

/// Drives `path` on `addr` with `connections` keep-alive connections for `duration`
/// (after a one-second warm-up that is not counted).
async fn load(addr: SocketAddr, path: &str, connections: usize, duration: Duration) -> anyhow::Result<LoadResult> {
    let warm = Instant::now() + Duration::from_secs(1);
    let warmups: Vec<_> =
        (0..connections).map(|_| tokio::spawn(connection_loop(addr, path.to_owned(), warm))).collect();
    for w in warmups {
        w.await??;
    }
    let start = Instant::now();
    let until = start + duration;
    let tasks: Vec<_> = (0..connections).map(|_| tokio::spawn(connection_loop(addr, path.to_owned(), until))).collect();
    let mut total = LoadResult {
        requests: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latency_us: Histogram::new_with_bounds(1, 60_000_000, 3)?,
    };
    for t in tasks {
        let (ok, err, h) = t.await??;
        total.requests += ok;
        total.errors += err;
        total.latency_us.add(h)?;
    }
    total.elapsed = start.elapsed();
    Ok(total)
}

async fn spawn_server(app: axum::Router) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

async fn pages(connections: usize, duration: Duration, path: &str) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("amtsweg-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = Store::open_sqlite(&dir.join("bench.db")).await?;
    store.migrate().await?;
    seed::apply(&store, &seed::parse(seed::DEMO)?).await?;
    // One load generator on one address: request rates are not what is measured.
    let limits = amtsweg_web::limits::LimitsConfig::default().without_request_rates();
    let config = amtsweg_web::WebConfig { limits, ..amtsweg_web::WebConfig::default() };
    let state = amtsweg_web::AppState::new(store.clone(), config, crate::printer()).await?;
    // The baseline is a hello-world handler behind the very same layers (request ids,
    // tracing, security headers, tenant resolution, limits, error pages) on the same
    // server; a bare axum hello world on its own server is printed for context.
    let hello_route = axum::Router::new().route("/_hallo", axum::routing::get(|| async { "Hallo Welt" }));
    let app = spawn_server(amtsweg_web::router_with(state, hello_route)).await?;
    let bare = spawn_server(axum::Router::new().route("/", axum::routing::get(|| async { "Hallo Welt" }))).await?;
    let probe = connection_loop(app, path.to_owned(), Instant::now() + Duration::from_millis(50)).await?;
    if probe.1 > 0 || probe.0 == 0 {
        return Err(anyhow!("the page {path} does not answer with 200; is the demo seed complete?"));
    }
    eprintln!(
        "Messe {path}, Hello World und reines axum mit je {connections} Verbindungen für je {} s …",
        duration.as_secs()
    );
    let page = load(app, path, connections, duration).await?;
    let base = load(app, "/_hallo", connections, duration).await?;
    let raw = load(bare, "/", connections, duration).await?;
    let ratio = page.rps() / base.rps();
    let line = |name: &str, r: &LoadResult| {
        println!(
            "{name:<52} {:>9.0} Anfragen/s  p50 {:>6.2} ms  p99 {:>6.2} ms  Fehler {}",
            r.rps(),
            r.ms(0.5),
            r.ms(0.99),
            r.errors
        );
    };
    line("Leistungsseite (Mandant moorbrueck, Theme, Vorlagen)", &page);
    line("Hello World (gleicher HTTP-Stack mit allen Schichten)", &base);
    line("zum Vergleich: reines axum ohne Schichten", &raw);
    println!(
        "Verhältnis Seite/Hello World: {ratio:.2} (Ziel ≥ 0,5); gegen reines axum {:.2}; p99 Seite {:.2} ms (Ziel < 10 ms)",
        page.rps() / raw.rps(),
        page.ms(0.99)
    );
    let json = serde_json::json!({
        "bench": "pages", "connections": connections, "seconds": duration.as_secs(),
        "page": {"path": path, "rps": page.rps().round(), "p50_ms": page.ms(0.5), "p99_ms": page.ms(0.99), "errors": page.errors},
        "hello": {"rps": base.rps().round(), "p50_ms": base.ms(0.5), "p99_ms": base.ms(0.99)},
        "bare_axum": {"rps": raw.rps().round(), "p50_ms": raw.ms(0.5), "p99_ms": raw.ms(0.99)},
        "ratio": (ratio * 100.0).round() / 100.0,
        "ratio_vs_bare_axum": (page.rps() / raw.rps() * 100.0).round() / 100.0,
        "target_met": ratio >= 0.5 && page.ms(0.99) < 10.0,
    });
    println!("{json}");
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

const QUERY_MIX: &[&str] = &[
    "Personalausweis",
    "Perso",
    "Meldebescheinigng",
    "Hundesteuer",
    "steuer hund",
    "Gewerbe anmelden",
    "Gewerbeanmeldung",
    "Kfz Zulassung",
    "Baugenehmigung",
    "Sperrmüll Abholung",
    "Briefwahl",
    "Führerschein umtauschen",
    "Wohngeld",
    "Kita",
    "Gewer",
    "Reisepas",
    "Geburtsurkunde beantragen",
    "Wunschkennzeichen",
    "Osterfeuer anmelden",
    "Waffenbesitzkarte",
];

fn search(authorities: usize, per_authority: usize, rounds: usize) -> anyhow::Result<()> {
    let demo = seed::parse(seed::DEMO)?;
    let texts = demo.service_texts();
    let index = SearchIndex::new().context("cannot create the index")?;
    let build_start = Instant::now();
    let mut docs = Vec::with_capacity(authorities * per_authority);
    for a in 0..authorities {
        for s in 0..per_authority {
            let (name, body, keywords) = &texts[(a * 7 + s) % texts.len()];
            docs.push(SearchDoc {
                key: format!("leistung:{a}:{s}"),
                kind: DocKind::Leistung,
                authority_id: i64::try_from(a).unwrap_or(0),
                authority_name: format!("Gemeinde {a}"),
                leika: format!("99{:012}", s),
                title: if s < texts.len() { name.clone() } else { format!("{name} ({s})") },
                keywords: keywords.clone(),
                summary: String::new(),
                body: body.clone(),
                url: format!("/o/g{a}/leistungen/{s}"),
            });
        }
    }
    index.replace_all(&docs)?;
    drop(docs);
    let build = build_start.elapsed();
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for q in QUERY_MIX {
        index.search(q, 10)?;
    }
    let mut hits_total = 0usize;
    let mut per_query: Vec<Histogram<u64>> = QUERY_MIX.iter().map(|_| hist.clone()).collect();
    for _ in 0..rounds {
        for (i, q) in QUERY_MIX.iter().enumerate() {
            let start = Instant::now();
            let r = index.search(q, 10)?;
            let us = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX).max(1);
            hist.record(us)?;
            per_query[i].record(us)?;
            hits_total += usize::from(!r.hits.is_empty());
        }
    }
    let mut slowest: Vec<(f64, &str)> =
        per_query.iter().zip(QUERY_MIX).map(|(h, q)| (h.value_at_quantile(0.99) as f64 / 1000.0, *q)).collect();
    slowest.sort_by(|a, b| b.0.total_cmp(&a.0));
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    let n = index.len();
    println!("Index: {n} Dokumente in {:.1} s aufgebaut", build.as_secs_f64());
    println!(
        "{} Suchen ({} Anfragen × {rounds} Runden, mit Tippfehlern und Komposita): p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms (Ziel p99 < 5 ms)",
        hist.len(),
        QUERY_MIX.len(),
        ms(0.5),
        ms(0.99),
        hist.max() as f64 / 1000.0
    );
    let slow: Vec<String> = slowest.iter().take(3).map(|(ms, q)| format!("„{q}“ {ms:.2} ms")).collect();
    println!("Langsamste Anfragen (p99): {}", slow.join(", "));
    let json = serde_json::json!({
        "bench": "search", "documents": n, "queries": hist.len(), "build_seconds": (build.as_secs_f64() * 10.0).round() / 10.0,
        "p50_ms": ms(0.5), "p99_ms": ms(0.99), "max_ms": hist.max() as f64 / 1000.0,
        "queries_with_hits": hits_total, "target_met": ms(0.99) < 5.0,
    });
    println!("{json}");
    Ok(())
}
