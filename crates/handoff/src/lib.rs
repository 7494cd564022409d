//! Delivers what the transactional outbox holds. E-mail is sent only from here, never
//! on a request path, so a slow or broken mail server never delays or breaks a page.

pub mod deliver;
pub mod fitconnect;
pub mod mail;
pub mod package;
pub mod xdomea;

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

/// Sends every due entry once; returns how many were delivered.
///
/// # Errors
/// On store errors (delivery errors are recorded on the entry instead).
pub async fn run_once(store: &Store, mailer: &mail::Mailer) -> amtsweg_store::Result<usize> {
    let now = amtsweg_store::now_ms();
    let mut delivered = 0;
    for row in store.due_outbox(now, 50).await? {
        let result = deliver(mailer, &row).await;
        let mut tx = store.begin().await?;
        match result {
            Ok(()) => {
                tx.mark_outbox_done(row.id).await?;
                delivered += 1;
            }
            Err(e) => {
                tracing::warn!(id = row.id, attempts = row.attempts + 1, error = %e, "outbox delivery failed");
                tx.mark_outbox_failed(&row, &e, now + backoff_ms(row.attempts)).await?;
            }
        }
        tx.commit().await?;
    }
    Ok(delivered)
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

/// Runs the worker every `every` until the process ends.
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
