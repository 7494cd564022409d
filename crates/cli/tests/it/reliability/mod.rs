//! Reliability of the submission path and the hand-off under crashes and broken
//! receivers, on SQLite and PostgreSQL, with the real binary (issue 6, item 7):
//!
//! * the server is killed with SIGKILL 50 times while eight browsers submit
//!   applications (some with a PDF attached): every acknowledged receipt exists exactly
//!   once with its attachment byte for byte, and every delivery reaches a counting
//!   webhook receiver with exactly one effect;
//! * a receiver that is down, answers 500 or 429, hangs, or takes the request and then
//!   resets the connection gets everything with one effect each once it recovers, while
//!   another authority's deliveries keep flowing and a restart in the middle of the
//!   retries loses nothing.
//!
//! The receiver is a raw TCP server, not axum: "take the request, then reset the
//! connection" needs control below HTTP. It counts effects the way a real back office
//! must: once per `Idempotency-Key`.
//!
//! The parts, one file each: [`server`] (the binary as a child process and the
//! seeded database it runs on), [`browser`] (a browser without JavaScript over real
//! HTTP), [`journeys`] (applications from the first page to the receipt),
//! [`receiver`] (the counting webhook receiver), [`checks`] (the one-effect-each
//! check both tests end with), and the two tests: [`kill_9`] and
//! [`broken_receivers`]. This file holds the form paths and small helpers they share.

mod broken_receivers;
pub(crate) mod browser;
mod checks;
pub(crate) mod journeys;
mod kill_9;
mod receiver;
pub(crate) mod server;

use std::time::{Duration, Instant};

pub(crate) const BRIEFWAHL: &str = "/o/moorbrueck/antrag/briefwahl/";
pub(crate) const OSTERFEUER: &str = "/o/moorbrueck/antrag/osterfeuer/";
/// Created by [`server::setup`]: the demo has no form of another authority at trust level
/// "normal" (the Samtgemeinde's Gewerbeanmeldung needs an eID).
const BRIEFWAHL_HEIDELAND: &str = "/o/sg-heideland/antrag/briefwahl/";
/// Shared secret of the test webhooks.
const SECRET: &str = "zuverlaessigkeit-0123456789abcdefghij";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn sha256_hex(bytes: &[u8]) -> String {
    openssl::sha::sha256(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Polls `check` until it holds; panics with `what` after `limit`.
async fn eventually(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
