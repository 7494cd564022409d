//! The audit log from the web edge: one entry per sign-in, staff write and API
//! access, in its own transaction (the hash chain is kept by the store). Writes that
//! change data append their entry in their own transaction instead.
//!
//! Looks at data on a GET ([`audit_view`]) take the request's `Sec-Fetch-Site` into
//! account: another website can make a signed-in browser open any back-office URL
//! (the session cookie is `SameSite=Lax`, so it rides along on top-level
//! navigations). Such an entry would read as if the person had chosen to look.
//! The views that write an entry on a GET show personal data or change state (an
//! application, its files, its receipt; opening it marks replies read): the look
//! did happen and must stay in the log, so the entry is *flagged* with the outcome
//! [`CROSS_SITE`] rather than dropped. Plain views (lists, content pages) are
//! skipped altogether — they write no entry, from this site or another — so a
//! foreign page cannot fill the log with entries in someone's name.

use crate::AppState;
use crate::error::AppError;
use amtsweg_domain::audit::AuditEntry;
use axum::http::HeaderMap;

/// The outcome of an entry whose view was opened from another website.
pub const CROSS_SITE: &str = "cross_site";

/// Writes one audit entry in its own transaction.
///
/// # Errors
/// On store errors.
pub async fn audit(
    state: &AppState,
    actor: &str,
    authority_id: Option<i64>,
    action: &str,
    target: &str,
    outcome: &str,
) -> Result<(), AppError> {
    let mut tx = state.store.begin().await?;
    tx.append_audit(&AuditEntry {
        at: amtsweg_store::now_ms(),
        actor: actor.to_owned(),
        authority_id,
        action: action.to_owned(),
        target: target.to_owned(),
        outcome: outcome.to_owned(),
    })
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Whether the browser says this request was started by another website.
#[must_use]
pub fn cross_site(headers: &HeaderMap) -> bool {
    headers.get("sec-fetch-site").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"))
}

/// The outcome to record for a view of personal data.
#[must_use]
pub fn view_outcome(headers: &HeaderMap) -> &'static str {
    if cross_site(headers) { CROSS_SITE } else { "success" }
}

/// Records a view (a GET) of personal data in the audit log, flagged when another
/// website started it (see the module docs).
///
/// # Errors
/// On store errors.
pub async fn audit_view(
    state: &AppState,
    headers: &HeaderMap,
    actor: &str,
    authority_id: Option<i64>,
    action: &str,
    target: &str,
) -> Result<(), AppError> {
    audit(state, actor, authority_id, action, target, view_outcome(headers)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(site: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(s) = site {
            h.insert("sec-fetch-site", s.parse().unwrap());
        }
        h
    }

    #[test]
    fn cross_site_views_are_flagged() {
        for same in [None, Some("same-origin"), Some("same-site"), Some("none")] {
            assert_eq!(view_outcome(&headers(same)), "success");
        }
        assert_eq!(view_outcome(&headers(Some("cross-site"))), CROSS_SITE);
        assert_eq!(view_outcome(&headers(Some("Cross-Site"))), CROSS_SITE);
    }
}
