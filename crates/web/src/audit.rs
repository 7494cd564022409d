//! The audit log from the web edge: one entry per sign-in, staff write and API
//! access, in its own transaction (the hash chain is kept by the store). Writes that
//! change data append their entry in their own transaction instead.

use crate::AppState;
use crate::error::AppError;
use amtsweg_domain::audit::AuditEntry;

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
