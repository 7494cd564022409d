//! Password hashing with a bound: Argon2 takes ~19 MiB and tens of milliseconds per
//! hash on a blocking thread, and every failed sign-in or registration with a new
//! address costs one. Without a bound, a flood of sign-ins starts up to 512 blocking
//! threads. Here at most `hashing_concurrency` hashes run at once; a request waits
//! `hashing_wait_ms` for a slot and is then answered with 503 instead.

use super::LimitsConfig;
use crate::AppState;
use crate::error::ErrorPage;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, LazyLock};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Verified when an account has no usable hash (unknown address, a pending
/// invitation, an account without password), so every answer costs the same time.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| password_auth::generate_hash("amtsweg-kein-konto"));

/// The hashing slots of one node.
pub struct Hashing {
    slots: Arc<Semaphore>,
    wait: Duration,
}

impl Hashing {
    #[must_use]
    pub fn new(c: &LimitsConfig) -> Self {
        let slots = if c.hashing_concurrency > 0 {
            c.hashing_concurrency
        } else {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get) * 2
        };
        Self { slots: Arc::new(Semaphore::new(slots)), wait: Duration::from_millis(c.hashing_wait_ms) }
    }
}

/// No hashing slot became free in time: 503 with `Retry-After` and a German page.
#[derive(Debug, Clone, Copy)]
pub struct Busy;

impl IntoResponse for Busy {
    fn into_response(self) -> Response {
        let mut r = StatusCode::SERVICE_UNAVAILABLE.into_response();
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        r.extensions_mut().insert(ErrorPage(Some(
            "Gerade melden sich sehr viele Menschen an. Bitte versuchen Sie es in einigen Sekunden erneut.".into(),
        )));
        r
    }
}

async fn bounded<T: Send + 'static>(state: &AppState, work: impl FnOnce() -> T + Send + 'static) -> Result<T, Busy> {
    let h = &state.limits.hashing;
    let permit = match tokio::time::timeout(h.wait, h.slots.clone().acquire_owned()).await {
        Ok(Ok(p)) => p,
        _ => {
            tracing::warn!("no password hashing slot free in time");
            return Err(Busy);
        }
    };
    let out = tokio::task::spawn_blocking(move || {
        let out = work();
        drop(permit);
        out
    })
    .await;
    out.map_err(|_| Busy)
}

/// Whether `password` matches `hash`. A missing or unusable hash (no account, a
/// pending invitation) is verified against a dummy hash and never matches, so it
/// takes as long as a real one.
///
/// # Errors
/// [`Busy`] when no hashing slot became free in time.
pub async fn verify_password(state: &AppState, password: String, hash: Option<String>) -> Result<bool, Busy> {
    let usable = hash.filter(|h| h.starts_with("$argon2"));
    bounded(state, move || match usable {
        Some(h) => password_auth::verify_password(password, &h).is_ok(),
        None => {
            let _ = password_auth::verify_password(password, &DUMMY_HASH);
            false
        }
    })
    .await
}

/// A new Argon2 hash of `password`.
///
/// # Errors
/// [`Busy`] when no hashing slot became free in time.
pub async fn hash_password(state: &AppState, password: String) -> Result<String, Busy> {
    bounded(state, move || password_auth::generate_hash(password)).await
}

impl From<Busy> for crate::AppError {
    fn from(_: Busy) -> Self {
        Self::Busy
    }
}
