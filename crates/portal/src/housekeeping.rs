//! Periodic clean-up of one node: expired drafts with their files, the rows the
//! abuse limits count (failed sign-ins, mails sent) once they no longer count —
//! without it `login_failures` would grow with every attempt for ever — and the
//! appointments' sweep (expired holds, reminders, deletion of personal data) — and
//! the content of finished e-mails in the outbox (addresses, names, manage links),
//! which is removed once their retention has passed.

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

/// How long finished e-mails keep their content in the outbox (`mail.keep_sent_days`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxRetention {
    /// After sending; zero: at the next round.
    pub keep_sent: Duration,
    /// After queueing, for e-mails that could not be sent: long enough for the
    /// operator to look at why (they are parked within about two days).
    pub keep_dead: Duration,
}

impl OutboxRetention {
    /// Dead e-mails keep their content this long.
    pub const KEEP_DEAD: Duration = Duration::from_secs(30 * 86_400);

    /// `keep_sent_days` days for sent e-mails, [`Self::KEEP_DEAD`] for dead ones.
    #[must_use]
    pub fn days(keep_sent_days: u32) -> Self {
        Self { keep_sent: Duration::from_secs(u64::from(keep_sent_days) * 86_400), keep_dead: Self::KEEP_DEAD }
    }
}

impl Default for OutboxRetention {
    fn default() -> Self {
        Self::days(7)
    }
}

/// Replaces the content of the e-mails whose retention has passed at `now` (ms)
/// with a marker; returns how many.
///
/// # Errors
/// On store errors.
pub async fn redact_outbox(portal: &Portal, keep: OutboxRetention, now: i64) -> crate::Result<u64> {
    let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let mut tx = portal.store.begin().await?;
    let redacted =
        tx.redact_outbox(now.saturating_sub(ms(keep.keep_sent)), now.saturating_sub(ms(keep.keep_dead))).await?;
    tx.commit().await?;
    Ok(redacted)
}

/// Runs [`run_once`] and [`redact_outbox`] every `every` until the process ends.
pub fn spawn(portal: Portal, every: Duration, outbox: OutboxRetention) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match run_once(&portal).await {
                Ok((0, 0)) => {}
                Ok((drafts, failures)) => tracing::info!(drafts, failures, "housekeeping: old rows deleted"),
                Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
            }
            match redact_outbox(&portal, outbox, amtsweg_store::now_ms()).await {
                Ok(0) => {}
                Ok(redacted) => tracing::info!(redacted, "housekeeping: content of finished e-mails removed"),
                Err(e) => tracing::warn!(error = %e, "housekeeping: redacting the outbox failed"),
            }
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::{OutboxRetention, redact_outbox};
    use crate::appointments::booking;
    use crate::appointments::testing::{at, both, journey};
    use crate::appointments::view::Contact;
    use amtsweg_store::testing::count_containing;

    fn contact(name: &str, email: &str) -> Contact {
        Contact { name: name.into(), email: email.into(), phone: "05551 1234".into(), notes: String::new() }
    }

    /// Review finding 3: the confirmation e-mail (address, name, manage link) is
    /// gone from the outbox once it was sent `keep_sent_days` ago; one still waiting
    /// to be sent keeps everything, and the booking itself is untouched.
    #[tokio::test]
    async fn sent_confirmations_leave_no_address_name_or_link_in_the_outbox() {
        for fx in both().await {
            let portal = &fx.portal;
            let held =
                booking::hold(portal, fx.authority, &journey(), at(10, 0), "", None, None).await.unwrap().unwrap();
            booking::confirm(portal, &held.token, contact("Erika Mustermann", "erika@example.org"), None)
                .await
                .unwrap()
                .unwrap();
            // The worker sends it.
            let sent = portal.store.claim_outbox(10, 60_000).await.unwrap();
            assert_eq!(sent.len(), 1, "{}", fx.t.name);
            let mut tx = portal.store.begin().await.unwrap();
            tx.mark_outbox_done(sent[0].id).await.unwrap();
            tx.commit().await.unwrap();
            // A second booking whose e-mail has not gone out yet.
            let other =
                booking::hold(portal, fx.authority, &journey(), at(14, 0), "", None, None).await.unwrap().unwrap();
            booking::confirm(portal, &other.token, contact("Max Beispiel", "max@example.org"), None)
                .await
                .unwrap()
                .unwrap();
            let in_outbox = |needle: &'static str| count_containing(&portal.store, "outbox", "payload", needle);
            assert_eq!(in_outbox("Mustermann").await, 1);
            let before = portal.store.outbox_entries(10).await.unwrap();
            assert!(before.iter().any(|r| r.payload.contains(&held.token)), "the manage link was in the e-mail");

            let now = amtsweg_store::now_ms();
            assert_eq!(redact_outbox(portal, OutboxRetention::default(), now).await.unwrap(), 0, "kept 7 days");
            let later = now + 7 * 86_400_000 + 1;
            assert_eq!(redact_outbox(portal, OutboxRetention::default(), later).await.unwrap(), 1);
            let rows = portal.store.outbox_entries(10).await.unwrap();
            for needle in ["Mustermann", "erika@example.org", held.token.as_str()] {
                assert!(
                    rows.iter().all(|r| !r.payload.contains(needle) && !r.last_error.contains(needle)),
                    "{needle} left in the outbox on {}",
                    fx.t.name
                );
            }
            let done = rows.iter().find(|r| r.id == sent[0].id).unwrap();
            assert!(done.is_redacted() && done.status == "done");
            // Not yet sent: still complete, however old.
            assert_eq!(in_outbox("Beispiel").await, 1);
            let waiting = rows.iter().find(|r| r.id != sent[0].id).unwrap();
            assert_eq!(waiting.email().unwrap().to, "max@example.org");
            // The citizen's booking and its link are not affected.
            let v = booking::by_token(portal, &held.token).await.unwrap().unwrap();
            assert_eq!(v.contact.map(|c| c.name), Some("Erika Mustermann".into()));
            fx.cleanup().await;
        }
    }

    #[test]
    fn zero_days_removes_the_content_at_the_next_round() {
        assert_eq!(OutboxRetention::days(0).keep_sent, std::time::Duration::ZERO);
        assert_eq!(OutboxRetention::default().keep_sent.as_secs(), 7 * 86_400);
        assert_eq!(OutboxRetention::days(0).keep_dead, OutboxRetention::KEEP_DEAD);
    }
}
