//! `amtsweg bench startup`: cold start of the real binary on a database that holds a
//! million submissions — from process start to the first answered `/healthz`. The
//! portal loads the catalogue, not the submissions, so the count must not matter;
//! this proves it.

use crate::seed;
use amtsweg_store::Store;
use anyhow::{Context, anyhow, bail};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn healthy(port: u16) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}

/// Starts `amtsweg serve` on `data_dir` and returns the time to the first healthy answer.
fn start_once(exe: &std::path::Path, config: &std::path::Path, port: u16) -> anyhow::Result<Duration> {
    let begin = Instant::now();
    let mut child = std::process::Command::new(exe)
        .args(["--config", config.to_str().unwrap_or_default(), "serve"])
        .env("AMTSWEG_LISTEN", format!("127.0.0.1:{port}"))
        .env("AMTSWEG_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("cannot start amtsweg serve")?;
    let took = loop {
        if healthy(port) {
            break begin.elapsed();
        }
        if begin.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            bail!("the server did not answer within 60 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let _ = child.kill();
    let _ = child.wait();
    Ok(took)
}

pub async fn run(submissions: i64) -> anyhow::Result<()> {
    if submissions < 0 {
        bail!("--submissions must not be negative");
    }
    let dir = std::env::temp_dir().join(format!("amtsweg-bench-startup-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = measure(&dir, submissions).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn measure(dir: &std::path::Path, submissions: i64) -> anyhow::Result<()> {
    let db = dir.join("amtsweg.db");
    let fill = Instant::now();
    let store = Store::open_sqlite(&db).await?;
    store.migrate().await?;
    seed::apply(&store, &seed::parse(seed::DEMO)?).await?;
    seed::publish_one_page_briefwahl(&store, "moorbrueck").await?;
    let a = store.authority_by_slug("moorbrueck").await?.ok_or_else(|| anyhow!("demo authority missing"))?;
    let form = store.form_by_slug(a.id, "briefwahl-schnell").await?.ok_or_else(|| anyhow!("form missing"))?;
    eprintln!("Lege {submissions} Anträge an …");
    let mut done = 0;
    while done < submissions {
        let n = (submissions - done).min(100_000);
        let mut tx = store.begin().await?;
        tx.fill_benchmark_submissions(a.id, form.id, done + 1, n).await?;
        tx.commit().await?;
        done += n;
    }
    let stored = store.count_submissions(a.id).await?;
    store.close().await;
    let filled = fill.elapsed();
    let size_mb = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0) as f64 / 1_048_576.0;
    let config = dir.join("amtsweg.toml");
    std::fs::write(&config, format!("data_dir = {:?}\n", dir.to_string_lossy()))?;
    let exe = std::env::current_exe()?;
    let mut times = Vec::new();
    for _ in 0..3 {
        times.push(start_once(&exe, &config, free_port()?)?);
    }
    times.sort();
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    let worst = times.last().map(ms).unwrap_or_default();
    println!("Datenbank: {stored} Anträge, {size_mb:.0} MB (angelegt in {:.1} s)", filled.as_secs_f64());
    println!(
        "Start bis zur ersten Antwort (3 Starts): {} ms; Ziel < 1000 ms",
        times.iter().map(|t| format!("{:.0}", ms(t))).collect::<Vec<_>>().join(" / ")
    );
    let json = serde_json::json!({
        "bench": "startup", "submissions": stored, "database_mb": size_mb.round(),
        "startup_ms": times.iter().map(|t| (ms(t) * 10.0).round() / 10.0).collect::<Vec<_>>(),
        "worst_ms": (worst * 10.0).round() / 10.0, "target_met": worst < 1000.0,
    });
    println!("{json}");
    Ok(())
}
