//! Quotas kept in the database (so they hold across nodes and restarts): account
//! e-mails per address and per client, and drafts of visitors without an account —
//! how many one client begins a day, and how many bytes of files its open drafts and
//! all open anonymous drafts together hold.

use super::Client;
use crate::AppState;
use crate::error::AppError;
use axum::http::{HeaderValue, StatusCode};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
const MB: i64 = 1_048_576;

/// Whether one more account e-mail may go to `email` because of a request from
/// `client`; if so it is counted now. Beyond the limits callers send nothing but
/// answer exactly as if they had, so the limit reveals nothing about an account.
///
/// # Errors
/// On store errors.
pub async fn mail_allowed(state: &AppState, email: &str, client: &Client) -> Result<bool, AppError> {
    let limits = &state.config.limits.mails;
    let since = amtsweg_store::now_ms() - HOUR_MS;
    let key = format!("mail:{email}");
    let stored = client.stored();
    if state.store.failures_of(&key, since).await?.count >= limits.per_address_per_hour
        || state.store.failures_of_client("mail:", &stored, since).await? >= limits.per_client_per_hour
    {
        tracing::info!("account mail not sent: mail limit reached");
        return Ok(false);
    }
    let mut tx = state.store.begin().await?;
    tx.record_failure_from(&key, &stored).await?;
    tx.commit().await?;
    Ok(true)
}

/// Why no new draft can be kept for a visitor without an account. Nothing saved
/// before is touched; the caller shows the page sent again with its answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DraftRefused {
    /// 429 for this client, 503 when the portal as a whole is full.
    pub status: StatusCode,
    pub message: &'static str,
}

impl DraftRefused {
    /// Headers to send with the refusal: when to try again (the per-client count is
    /// per day, so an hour is a fair first guess; the total has no such time).
    #[must_use]
    pub fn retry_after(self) -> Option<HeaderValue> {
        (self.status == StatusCode::TOO_MANY_REQUESTS).then(|| HeaderValue::from_static("3600"))
    }
}

/// `Ok(None)` when `client` (without an account) may begin one more draft; otherwise
/// why not (429 for this client, 503 when the portal as a whole holds as many
/// anonymous drafts as it takes).
///
/// # Errors
/// On store errors.
pub async fn may_begin_draft(state: &AppState, client: &Client) -> Result<Option<DraftRefused>, AppError> {
    let q = &state.config.limits.drafts;
    let since = amtsweg_store::now_ms() - DAY_MS;
    if state.store.anonymous_drafts(Some(&client.stored()), since).await? >= q.per_client_per_day {
        return Ok(Some(DraftRefused {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: "Von Ihrem Anschluss wurden heute schon sehr viele Anträge begonnen, ohne sie abzusenden. Deshalb konnten wir diese Seite nicht zwischenspeichern; Ihre Angaben stehen unten noch im Formular. Bitte setzen Sie einen begonnenen Antrag fort, melden Sie sich mit Ihrem Bürgerkonto an oder versuchen Sie es später erneut. Bereits gespeicherte Anträge bleiben erhalten.",
        }));
    }
    if state.store.anonymous_drafts(None, 0).await? >= q.total {
        return Ok(Some(DraftRefused {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "Das Portal kann gerade keine weiteren Anträge ohne Bürgerkonto zwischenspeichern. Ihre Angaben stehen unten noch im Formular. Bitte versuchen Sie es später erneut oder melden Sie sich mit Ihrem Bürgerkonto an. Bereits gespeicherte Anträge bleiben erhalten.",
        }));
    }
    Ok(None)
}

/// How many more bytes of files drafts without an account may take for `client`:
/// the least of its own room and the room left for everyone, and whether that room
/// is the client's own (for the message).
///
/// # Errors
/// On store errors.
pub async fn file_room(state: &AppState, client: &Client) -> Result<(u64, bool), AppError> {
    let q = &state.config.limits.drafts;
    let own =
        q.files_mb_per_client.saturating_mul(MB) - state.store.anonymous_draft_bytes(Some(&client.stored())).await?;
    let all = q.files_mb_total.saturating_mul(MB) - state.store.anonymous_draft_bytes(None).await?;
    let room = |n: i64| u64::try_from(n).unwrap_or(0);
    Ok((room(own.min(all)), own <= all))
}
