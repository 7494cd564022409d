//! Delivers what the transactional outbox holds. E-mail is sent only from here, never
//! on a request path, so a slow or broken mail server never delays or breaks a page.
//!
//! E-mails are claimed for a lease exactly like the hand-off deliveries
//! (`Store::claim_outbox`, `Store::claim_deliveries`), so several workers or nodes never
//! send one e-mail twice. [`deliver::Worker::spawn`] runs both outboxes in one loop;
//! [`spawn`] is the loop for the e-mails alone.

pub mod deliver;
pub mod fitconnect;
pub mod mail;
pub mod package;
pub mod payment;
pub mod xdomea;

/// The outbound-URL policy every connector uses (its own crate, shared with sign-in).
pub use amtsweg_outbound as outbound;

use amtsweg_store::Store;
use amtsweg_store::outbox::OutboxRow;
use std::time::Duration;

/// Delay before the next attempt: 30 s doubling per attempt, capped at 6 h, with
/// ±20 % jitter so that many failed entries do not retry in lockstep.
#[must_use]
pub fn backoff_ms(attempts: i64) -> i64 {
    let exp = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
    let base = 30_000i64.saturating_mul(1i64 << exp).min(6 * 3_600_000);
    let jitter = rand::random_range(0.8..1.2);
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    let ms = (base as f64 * jitter) as i64;
    ms
}

/// E-mails claimed at a time. They are sent one after the other, so the batch times
/// the SMTP transport's timeout (20 s per step) must fit well into [`EMAIL_LEASE`].
const EMAIL_BATCH: u64 = 10;

/// How long a worker holds the e-mails it claimed; afterwards another may take them.
pub const EMAIL_LEASE: Duration = Duration::from_secs(300);

/// No e-mail is started with less of its lease left than this: it would risk that
/// another worker takes it over while it is still being sent, and sends it again.
/// What is left over is taken again once the lease has run out.
const SEND_MARGIN: Duration = Duration::from_secs(60);

/// Claims the due e-mails and sends each once, batch after batch until none is due;
/// returns how many were sent.
///
/// # Errors
/// On store errors (delivery errors are recorded on the entry instead).
pub async fn run_once(store: &Store, mailer: &mail::Mailer) -> amtsweg_store::Result<usize> {
    let lease = millis(EMAIL_LEASE);
    let mut delivered = 0;
    loop {
        let claimed_at = amtsweg_store::now_ms();
        let rows = store.claim_outbox(EMAIL_BATCH, lease).await?;
        let full = rows.len() as u64 == EMAIL_BATCH;
        let last_start = claimed_at + lease - millis(SEND_MARGIN);
        for row in rows {
            if amtsweg_store::now_ms() > last_start {
                tracing::warn!(id = row.id, "outbox: lease nearly over; the e-mail is left for the next claim");
                return Ok(delivered);
            }
            let result = deliver(mailer, &row).await;
            let mut tx = store.begin().await?;
            match result {
                Ok(()) => {
                    tx.mark_outbox_done(row.id).await?;
                    delivered += 1;
                }
                Err(e) => {
                    tracing::warn!(id = row.id, attempts = row.attempts + 1, error = %e, "outbox delivery failed");
                    let next = amtsweg_store::now_ms() + backoff_ms(row.attempts);
                    tx.mark_outbox_failed(&row, &e, next).await?;
                }
            }
            tx.commit().await?;
        }
        if !full {
            return Ok(delivered);
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}

async fn deliver(mailer: &mail::Mailer, row: &OutboxRow) -> Result<(), String> {
    match row.kind.as_str() {
        "email" => {
            let m = row.email().map_err(|e| e.to_string())?;
            mailer.send(&m).await.map_err(|e| e.to_string())
        }
        other => Err(format!("no connector for outbox kind {other}")),
    }
}

/// Runs the e-mail outbox alone every `every` until the process ends. A node that also
/// hands submissions over runs [`deliver::Worker::spawn`] instead, which serves both.
pub fn spawn(store: Store, mailer: mail::Mailer, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = run_once(&store, &mailer).await {
                tracing::warn!(error = %e, "outbox worker: store error");
            }
        }
    })
}

#[cfg(test)]
mod worker_tests;

#[cfg(test)]
mod tests {
    use super::backoff_ms;

    #[test]
    fn backoff_grows_with_jitter_and_a_cap() {
        let first = backoff_ms(0);
        assert!((24_000..=36_000).contains(&first), "{first}");
        assert!(backoff_ms(3) > backoff_ms(0));
        assert!(backoff_ms(30) <= 6 * 3_600_000 * 12 / 10);
    }
}
