//! The periodic work on bookings (run by `housekeeping` on every node): holds and
//! unconfirmed bookings that ran out become expired, due reminders go out with the
//! calendar file, and personal data whose retention ended is deleted.
//!
//! Idempotent and safe on several nodes at once: the store takes due rows with
//! `SKIP LOCKED`, a reminder is recorded (`reminded_at`) in the transaction that
//! queues its e-mail, and a purge only touches rows not purged yet. A second run
//! right after the first finds nothing to do.

use super::mail;
use super::view::{open_personal, rules_of, view_with};
use crate::{Portal, Result};
use amtsweg_domain::appointments::BookingRules;
use std::collections::HashMap;

/// Reminders taken per transaction.
const REMINDER_BATCH: u64 = 50;
/// At most this many batches per run; the rest waits for the next run.
const MAX_BATCHES: usize = 40;

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Holds and unconfirmed bookings that ran out.
    pub expired: u64,
    /// Reminder e-mails queued.
    pub reminded: u64,
    /// Due reminders without an e-mail address (booked by staff for a caller, data
    /// deleted): recorded as done without a message.
    pub reminders_skipped: u64,
    /// Bookings whose personal data was deleted.
    pub purged: u64,
}

impl SweepReport {
    /// Whether the run changed nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// One run at `now_ms`.
///
/// # Errors
/// On store errors (what was committed before stays done).
pub async fn sweep(portal: &Portal, now_ms: i64) -> Result<SweepReport> {
    let mut report = SweepReport::default();
    let mut tx = portal.store.begin().await?;
    report.expired = tx.expire_holds(now_ms).await?;
    tx.commit().await?;
    remind(portal, now_ms, &mut report).await?;
    let mut tx = portal.store.begin().await?;
    report.purged = tx.purge_appointment_personal(now_ms).await?;
    tx.commit().await?;
    Ok(report)
}

/// Queues the due reminders, each with its `reminded_at` in the same transaction.
async fn remind(portal: &Portal, now_ms: i64, report: &mut SweepReport) -> Result<()> {
    let mut rules: HashMap<i64, BookingRules> = HashMap::new();
    for _ in 0..MAX_BATCHES {
        let mut tx = portal.store.begin().await?;
        let due = tx.due_reminders(now_ms, REMINDER_BATCH).await?;
        if due.is_empty() {
            return Ok(());
        }
        for row in &due {
            let r = match rules.get(&row.authority_id) {
                Some(r) => r.clone(),
                None => {
                    let r = rules_of(portal, row.authority_id).await?;
                    rules.insert(row.authority_id, r.clone());
                    r
                }
            };
            let personal = open_personal(portal, row).await;
            let token = personal.as_ref().map(|p| p.manage.clone()).filter(|t| !t.is_empty());
            let message = match view_with(portal, row, personal.map(|p| p.contact)).await {
                Ok(v) => mail::reminder(portal, &v, token.as_deref(), &r),
                // The location is gone: nothing sensible to remind of.
                Err(crate::PortalError::NotFound) => None,
                Err(e) => return Err(e),
            };
            if !tx.mark_reminded(row.id, now_ms).await? {
                continue;
            }
            match message {
                Some(m) => {
                    tx.enqueue_email(&m).await?;
                    report.reminded += 1;
                }
                None => report.reminders_skipped += 1,
            }
        }
        tx.commit().await?;
        if (due.len() as u64) < REMINDER_BATCH {
            return Ok(());
        }
    }
    Ok(())
}
