//! The audit log from the web edge: one entry per sign-in, staff write and API
//! access, in its own transaction (the hash chain is kept by the store). Writes that
//! change data append their entry in their own transaction instead.
//!
//! Looks at data on a GET ([`audit_view`]) take the request's `Sec-Fetch-Site` into
//! account: another website can make a signed-in browser open any back-office URL
//! (the session cookie is `SameSite=Lax`, so it rides along on top-level
//! navigations). Such an entry would read as if the person had chosen to look.
//! A view that shows personal data (or changes state, like marking replies read)
//! did happen and must stay in the log, so its entry is *flagged* with the outcome
//! [`CROSS_SITE`]; a plain view shows nothing worth a record and is *skipped*, so a
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

/// What a viewed page shows, which decides what a cross-site navigation leaves in
/// the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// Personal data (an application, its files) or a view that changes state: always
    /// recorded, flagged when opened from another site.
    PersonalData,
    /// Nothing personal: recorded only when opened from this portal itself.
    Plain,
}

/// Whether the browser says this request was started by another website.
#[must_use]
pub fn cross_site(headers: &HeaderMap) -> bool {
    headers.get("sec-fetch-site").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"))
}

/// The outcome to record for a view, or `None` when it is not recorded.
#[must_use]
pub fn view_outcome(headers: &HeaderMap, shown: Shown) -> Option<&'static str> {
    match (cross_site(headers), shown) {
        (false, _) => Some("success"),
        (true, Shown::PersonalData) => Some(CROSS_SITE),
        (true, Shown::Plain) => None,
    }
}

/// Records a view (a GET) in the audit log, flagged or skipped when another website
/// started it (see the module docs).
///
/// # Errors
/// On store errors.
pub async fn audit_view(
    state: &AppState,
    headers: &HeaderMap,
    shown: Shown,
    actor: &str,
    authority_id: Option<i64>,
    action: &str,
    target: &str,
) -> Result<(), AppError> {
    match view_outcome(headers, shown) {
        Some(outcome) => audit(state, actor, authority_id, action, target, outcome).await,
        None => Ok(()),
    }
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
    fn cross_site_views_are_flagged_or_skipped() {
        for same in [None, Some("same-origin"), Some("same-site"), Some("none")] {
            assert_eq!(view_outcome(&headers(same), Shown::PersonalData), Some("success"));
            assert_eq!(view_outcome(&headers(same), Shown::Plain), Some("success"));
        }
        assert_eq!(view_outcome(&headers(Some("cross-site")), Shown::PersonalData), Some(CROSS_SITE));
        assert_eq!(view_outcome(&headers(Some("Cross-Site")), Shown::Plain), None);
    }
}
