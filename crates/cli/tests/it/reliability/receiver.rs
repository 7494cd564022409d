//! The counting webhook receiver: a raw TCP server (not axum, because "take the
//! request, then reset the connection" needs control below HTTP) that can be down,
//! answer 500 or 429, hang, or reset, and counts effects once per `Idempotency-Key`
//! as a real back office must.

use super::SECRET;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Mode {
    /// 200 at once.
    Ok,
    /// 500 at once, no effect.
    Fail500,
    /// 429 with `Retry-After: 1`, no effect.
    TooMany,
    /// Takes effect, answers 200 only after 4 s (the sender gave up after 3 s).
    Slow,
    /// Takes effect, then resets the connection without an answer.
    Reset,
}

#[derive(Default)]
pub(super) struct Seen {
    /// Idempotency key → the mode each request for it met.
    pub(super) requests: HashMap<String, Vec<Mode>>,
    /// Idempotency key → the body of the request that took effect (one per key: the
    /// receiver deduplicates as a back office must).
    pub(super) effects: HashMap<String, serde_json::Value>,
    /// Requests for a key that had already taken effect (answered, no second effect).
    pub(super) repeats: u32,
    /// Requests without a key or with a wrong signature.
    pub(super) bad: Vec<String>,
}

impl Seen {
    pub(super) fn count(&self, mode: Mode) -> usize {
        self.requests.values().flatten().filter(|m| **m == mode).count()
    }
}

pub(super) struct Receiver {
    port: u16,
    mode: Arc<Mutex<Mode>>,
    seen: Arc<Mutex<Seen>>,
    accept: Option<tokio::task::JoinHandle<()>>,
}

impl Receiver {
    /// A receiver on `port`, not yet listening (the port is closed: "down").
    pub(super) fn new(port: u16) -> Self {
        Self { port, mode: Arc::new(Mutex::new(Mode::Ok)), seen: Arc::default(), accept: None }
    }

    pub(super) async fn listen(&mut self) {
        if self.accept.is_some() {
            return;
        }
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        let (mode, seen) = (self.mode.clone(), self.seen.clone());
        self.accept = Some(tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                tokio::spawn(answer(stream, mode.clone(), seen.clone()));
            }
        }));
    }

    /// Closes the port: connections are refused.
    pub(super) async fn close(&mut self) {
        if let Some(task) = self.accept.take() {
            task.abort();
            let _ = task.await;
        }
    }

    pub(super) fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    pub(super) fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap()
    }

    /// (requests, effects, requests for keys that had taken effect already)
    pub(super) fn stats(&self) -> (usize, usize, u32) {
        let seen = self.seen();
        (seen.requests.values().map(Vec::len).sum(), seen.effects.len(), seen.repeats)
    }
}

/// Reads one HTTP request: (head, body).
async fn read_request(s: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 64 * 1024 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let len: usize = header(&head, "content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = buf.split_off(head_end);
    while body.len() < len {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((head, body))
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// Checks `t=<secs>,v1=<hex>` against the body.
fn signature_ok(sig: &str, body: &[u8]) -> bool {
    let Some((t, _)) = sig.strip_prefix("t=").and_then(|r| r.split_once(',')) else { return false };
    t.parse().ok().and_then(|t| amtsweg_handoff::deliver::signature(SECRET, t, body).ok()).is_some_and(|s| s == sig)
}

async fn answer(mut s: TcpStream, mode: Arc<Mutex<Mode>>, seen: Arc<Mutex<Seen>>) {
    let Some((head, body)) = read_request(&mut s).await else { return };
    let mode = *mode.lock().unwrap();
    let key = header(&head, "idempotency-key").unwrap_or_default().to_owned();
    {
        let mut seen = seen.lock().unwrap();
        if key.is_empty() || !header(&head, "x-amtsweg-signature").is_some_and(|sig| signature_ok(sig, &body)) {
            seen.bad.push(head.clone());
        }
        seen.requests.entry(key.clone()).or_default().push(mode);
        if matches!(mode, Mode::Ok | Mode::Slow | Mode::Reset) {
            match seen.effects.entry(key) {
                std::collections::hash_map::Entry::Occupied(_) => seen.repeats += 1,
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(serde_json::from_slice(&body).unwrap_or_default());
                }
            }
        }
    }
    let reply = |status: &str, extra: &str| {
        format!("HTTP/1.1 {status}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n")
    };
    let reply = match mode {
        Mode::Ok => reply("200 OK", ""),
        Mode::Fail500 => reply("500 Internal Server Error", ""),
        Mode::TooMany => reply("429 Too Many Requests", "Retry-After: 1\r\n"),
        Mode::Slow => {
            tokio::time::sleep(Duration::from_secs(4)).await;
            reply("200 OK", "")
        }
        Mode::Reset => {
            // RST instead of FIN: the sender sees "connection reset", not an answer.
            let _ = s.set_zero_linger();
            return;
        }
    };
    let _ = s.write_all(reply.as_bytes()).await;
    let _ = s.shutdown().await;
}
