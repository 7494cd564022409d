//! Sessions, CSRF protection and login throttling, shared by the staff back office
//! (`/verwaltung/`, session kind "staff") and the citizen account (`/konto/`, kind
//! "citizen"). Each kind has its own cookie, so one browser can hold both.
//!
//! * The cookie holds a random 256-bit token; the database only its SHA-256.
//! * `__Host-` prefix, `Secure`, `HttpOnly`, `SameSite=Lax`, `Path=/`.
//! * A new session on every sign-in; idle and absolute timeouts are enforced on the
//!   server; sign-out and password changes delete sessions server-side.
//! * Every state-changing request carries the session's CSRF token and an `Origin`
//!   (or `Referer`) of this very host.

use crate::AppState;
use amtsweg_store::staff::SessionRecord;
use axum::http::{HeaderMap, HeaderValue, header};

pub const SESSION_COOKIE: &str = "__Host-amtsweg_sitzung";
/// The citizen account's session cookie.
pub const CITIZEN_COOKIE: &str = "__Host-amtsweg_konto";

/// The cookie that carries sessions of `kind`.
#[must_use]
pub fn cookie_name(kind: &str) -> &'static str {
    if kind == "citizen" { CITIZEN_COOKIE } else { SESSION_COOKIE }
}
/// Double-submit token for forms shown before a session exists (the sign-in form).
pub const PRE_SESSION_COOKIE: &str = "__Host-amtsweg_csrf";

/// At most this many requests an hour for other keys of [`may_try`].
pub const MAX_FAILURES_PER_HOUR: i64 = 100;
/// At most this many wrong second-factor codes per account and hour: a six-digit
/// code must not be guessable over days by someone who has the password. This limit
/// stays per account (not per client): whoever tries codes knows the password.
pub const MAX_CODE_FAILURES_PER_HOUR: i64 = 10;

pub use amtsweg_portal::tokens::{hash_token, random_token, tokens_match};

#[must_use]
pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// `Set-Cookie` for a `__Host-` cookie (always `Secure`: browsers accept that on
/// `localhost` too, and anything else must be served over HTTPS).
#[must_use]
pub fn set_cookie(name: &str, value: &str, max_age_secs: i64) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("{name}={value}; Path=/; Max-Age={max_age_secs}; Secure; HttpOnly; SameSite=Lax"))
        .ok()
}

/// The request comes from a page of this very host: `Origin` (or, when a browser
/// sends none, `Referer`) must name the `Host` the request was sent to.
#[must_use]
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else { return false };
    let matches = |url: &str| {
        let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
        rest.is_some_and(|r| r.split('/').next() == Some(host))
    };
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(origin) => origin != "null" && matches(origin),
        None => headers.get(header::REFERER).and_then(|v| v.to_str().ok()).is_some_and(matches),
    }
}

/// A live session found for a request.
#[derive(Debug, Clone)]
pub struct ActiveSession {
    pub record: SessionRecord,
    /// When the idle timeout will end it unless there is activity (ms since epoch).
    pub idle_deadline: i64,
}

impl ActiveSession {
    /// The moment the session ends: idle or absolute deadline, whichever is first.
    #[must_use]
    pub fn ends_at(&self) -> i64 {
        self.idle_deadline.min(self.record.expires_at)
    }
}

fn idle_ms(state: &AppState, kind: &str) -> i64 {
    let minutes = if kind == "citizen" { state.config.citizen_idle_minutes } else { state.config.staff_idle_minutes };
    i64::try_from(minutes).unwrap_or(30).saturating_mul(60_000)
}

fn absolute_ms(state: &AppState, kind: &str) -> i64 {
    let hours = if kind == "citizen" { state.config.citizen_absolute_hours } else { state.config.staff_absolute_hours };
    i64::try_from(hours).unwrap_or(12).saturating_mul(3_600_000)
}

/// How the person of a new session was identified.
#[derive(Debug, Clone)]
pub struct Identification {
    pub trust_level: amtsweg_domain::TrustLevel,
    /// "password", "bundid", "oidc:<name>".
    pub method: String,
}

impl Identification {
    #[must_use]
    pub fn password() -> Self {
        Self { trust_level: amtsweg_domain::TrustLevel::Normal, method: "password".into() }
    }
}

/// Creates a session and returns the cookie token and the record.
///
/// # Errors
/// On store errors.
pub async fn start(
    state: &AppState,
    kind: &str,
    subject_id: i64,
    second_factor_done: bool,
    how: &Identification,
) -> amtsweg_store::Result<(String, SessionRecord)> {
    let token = random_token();
    let now = amtsweg_store::now_ms();
    let absolute = absolute_ms(state, kind);
    let record = SessionRecord {
        id_hash: hash_token(&token),
        kind: kind.to_owned(),
        subject_id,
        csrf_token: random_token(),
        second_factor_done,
        pending_totp_secret: None,
        created_at: now,
        last_seen_at: now,
        expires_at: now.saturating_add(absolute),
        trust_level: how.trust_level.as_str().to_owned(),
        auth_method: how.method.clone(),
    };
    let mut tx = state.store.begin().await?;
    tx.insert_session(&record).await?;
    tx.commit().await?;
    Ok((token, record))
}

/// The live session of `kind` named by the request's cookie. Expired sessions are
/// deleted; activity moves the idle deadline (written at most once a minute).
///
/// # Errors
/// On store errors.
pub async fn current(
    state: &AppState,
    headers: &HeaderMap,
    kind: &str,
) -> amtsweg_store::Result<Option<ActiveSession>> {
    let Some(token) = cookie_value(headers, cookie_name(kind)) else { return Ok(None) };
    let id_hash = hash_token(token);
    let Some(mut record) = state.store.session(&id_hash).await? else { return Ok(None) };
    if record.kind != kind {
        return Ok(None);
    }
    let now = amtsweg_store::now_ms();
    let idle = idle_ms(state, kind);
    if now >= record.expires_at || now - record.last_seen_at >= idle {
        let mut tx = state.store.begin().await?;
        tx.delete_session(&id_hash).await?;
        tx.commit().await?;
        return Ok(None);
    }
    if now - record.last_seen_at > 60_000 {
        let mut tx = state.store.begin().await?;
        tx.touch_session(&id_hash, now).await?;
        tx.commit().await?;
        record.last_seen_at = now;
    }
    Ok(Some(ActiveSession { idle_deadline: record.last_seen_at + idle, record }))
}

/// Whether the key may be tried now (fewer than the hourly maximum of failures):
/// second-factor codes per account. The same answer for existing and unknown accounts.
///
/// # Errors
/// On store errors.
pub async fn may_try(state: &AppState, account_key: &str) -> amtsweg_store::Result<bool> {
    let hour_ago = amtsweg_store::now_ms() - 3_600_000;
    let limit = if account_key.contains("totp:") { MAX_CODE_FAILURES_PER_HOUR } else { MAX_FAILURES_PER_HOUR };
    Ok(state.store.login_failures_since(account_key, hour_ago).await? < limit)
}

const HOUR_MS: i64 = 3_600_000;

/// How long a sign-in for the typed address `account_key` from `client` must wait,
/// in milliseconds; `None` when it may be tried now. The same answer for existing
/// and unknown accounts.
///
/// Failures count per address *and* client, and per address alone: a client that
/// failed `per_client_per_hour` times for an address waits until its oldest of those
/// is an hour old — other clients are not affected. Beyond
/// `per_address_before_delay` failures of the address from all clients together,
/// every attempt for it waits 1 s after the latest failure, doubling with each
/// further failure up to `max_delay_seconds`: many clients together slow the
/// owner down, but never lock the account for good.
///
/// # Errors
/// On store errors.
pub async fn sign_in_wait(
    state: &AppState,
    account_key: &str,
    client: &crate::limits::Client,
) -> amtsweg_store::Result<Option<i64>> {
    let limits = &state.config.limits.sign_in_failures;
    let now = amtsweg_store::now_ms();
    let per_client = limits.per_client_per_hour.max(1);
    let times = state
        .store
        .failure_times_from(account_key, &client.stored(), now - HOUR_MS, u64::try_from(per_client).unwrap_or(10))
        .await?;
    if i64::try_from(times.len()).unwrap_or(i64::MAX) >= per_client
        && let Some(oldest) = times.last()
    {
        return Ok(Some((oldest + HOUR_MS - now).max(1000)));
    }
    let all = state.store.failures_of(account_key, now - HOUR_MS).await?;
    Ok(address_delay(all.count, limits.per_address_before_delay, limits.max_delay_seconds)
        .and_then(|delay| all.latest.map(|latest| latest + delay - now))
        .filter(|wait| *wait > 0))
}

/// The wait after the latest failure of an address with `failures` within the hour:
/// none up to `free`, then 1 s doubling per failure up to `max_seconds` (ms).
#[must_use]
pub fn address_delay(failures: i64, free: i64, max_seconds: i64) -> Option<i64> {
    let over = failures.checked_sub(free).filter(|o| *o >= 0)?;
    let seconds = if over >= 20 { max_seconds } else { (1_i64 << over).min(max_seconds) };
    Some(seconds.max(1) * 1000)
}

/// Counts a failed sign-in for the typed address `account_key` from `client`.
///
/// # Errors
/// On store errors.
pub async fn record_sign_in_failure(
    state: &AppState,
    account_key: &str,
    client: &crate::limits::Client,
) -> amtsweg_store::Result<()> {
    let mut tx = state.store.begin().await?;
    tx.record_failure_from(account_key, &client.stored()).await?;
    tx.commit().await
}

/// What the sign-in page says while an address must wait `wait_ms`.
#[must_use]
pub fn wait_message(wait_ms: i64) -> String {
    let seconds = (wait_ms + 999) / 1000;
    let when = if seconds > 90 { format!("{} Minuten", (seconds + 59) / 60) } else { format!("{seconds} Sekunden") };
    format!("Zu viele fehlgeschlagene Anmeldungen für diese Adresse. Bitte versuchen Sie es in {when} erneut.")
}

/// `Retry-After` for a wait of `wait_ms`.
#[must_use]
pub fn retry_after(wait_ms: i64) -> (axum::http::HeaderName, HeaderValue) {
    let seconds = ((wait_ms + 999) / 1000).max(1);
    (header::RETRY_AFTER, HeaderValue::from_str(&seconds.to_string()).unwrap_or(HeaderValue::from_static("60")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn origin_must_be_this_host() {
        assert!(same_origin(&headers(&[("host", "localhost:8080"), ("origin", "http://localhost:8080")])));
        assert!(!same_origin(&headers(&[("host", "localhost:8080"), ("origin", "http://evil.example")])));
        assert!(!same_origin(&headers(&[("host", "localhost:8080"), ("origin", "null")])));
        assert!(same_origin(&headers(&[("host", "localhost:8080"), ("referer", "http://localhost:8080/verwaltung/")])));
        assert!(!same_origin(&headers(&[("host", "localhost:8080"), ("referer", "http://localhost:8080.evil/")])));
        assert!(!same_origin(&headers(&[("host", "localhost:8080")])));
    }

    #[test]
    fn the_delay_per_address_grows_and_is_capped() {
        assert_eq!(address_delay(19, 20, 60), None);
        assert_eq!(address_delay(20, 20, 60), Some(1000));
        assert_eq!(address_delay(21, 20, 60), Some(2000));
        assert_eq!(address_delay(25, 20, 60), Some(32_000));
        assert_eq!(address_delay(26, 20, 60), Some(60_000));
        assert_eq!(address_delay(10_000, 20, 60), Some(60_000));
        assert!(wait_message(61_000).contains("in 61 Sekunden"));
        assert!(wait_message(3_000_000).contains("in 50 Minuten"));
    }

    #[test]
    fn tokens() {
        let t = random_token();
        assert_eq!(t.len(), 43);
        assert_ne!(t, random_token());
        assert_eq!(hash_token("a").len(), 64);
        assert!(tokens_match(&t, &t.clone()));
        assert!(!tokens_match(&t, "x"));
        assert!(!tokens_match("", ""));
        let c = set_cookie(SESSION_COOKIE, "v", 10).unwrap();
        let c = c.to_str().unwrap();
        assert!(c.contains("Secure") && c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Path=/"));
    }
}
