//! Periodic clean-up of one node: expired drafts with their files, the rows the
//! abuse limits count (failed sign-ins, mails sent) once they no longer count —
//! without it `login_failures` would grow with every attempt for ever — and the
//! appointments' sweep (expired holds, reminders, deletion of personal data).

use crate::Portal;
use std::time::Duration;

/// Rows of `login_failures` are kept this long; the limits look back one hour.
pub const KEEP_FAILURES: Duration = Duration::from_secs(24 * 3600);

/// One round: deletes expired drafts and failures older than [`KEEP_FAILURES`].
/// Returns (drafts, failures) deleted.
///
/// # Errors
/// On store errors.
pub async fn run_once(portal: &Portal) -> crate::Result<(u64, u64)> {
    let drafts = crate::drafts::sweep_expired(portal).await?;
    let keep = i64::try_from(KEEP_FAILURES.as_millis()).unwrap_or(i64::MAX);
    let mut tx = portal.store.begin().await?;
    let failures = tx.prune_login_failures(amtsweg_store::now_ms() - keep).await?;
    tx.commit().await?;
    // Appointments: expired holds, due reminders, personal data past retention. A
    // failure is logged and does not stop the other clean-ups.
    match crate::appointments::sweep::sweep(portal, amtsweg_store::now_ms()).await {
        Ok(r) if r.is_empty() => {}
        Ok(r) => tracing::info!(
            expired = r.expired,
            reminded = r.reminded,
            purged = r.purged,
            "housekeeping: appointments swept"
        ),
        Err(e) => tracing::warn!(error = %e, "housekeeping: sweeping appointments failed"),
    }
    Ok((drafts, failures))
}

/// Runs [`run_once`] every `every` until the process ends.
pub fn spawn(portal: Portal, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match run_once(&portal).await {
                Ok((0, 0)) => {}
                Ok((drafts, failures)) => tracing::info!(drafts, failures, "housekeeping: old rows deleted"),
                Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
            }
        }
    })
}
