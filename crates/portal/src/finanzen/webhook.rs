//! The worker that pokes the finance software: for every active `finanzen_webhook`
//! connector whose authority booked something it was not told of yet, one signed
//! POST "payments up to sequence N are there" (no payment data: the receiver fetches
//! them with its own API credentials). A failure waits with growing back-off (or
//! the receiver's `Retry-After`) and is tried again; the next success tells
//! everything up to the newest sequence at once.

use crate::{Portal, Result};
use amtsweg_handoff::deliver::WebhookTarget;
use amtsweg_handoff::outbound::Policy;
use amtsweg_handoff::payment::PaymentTarget;
use amtsweg_store::now_ms;
use std::time::Duration;

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Webhooks told.
    pub poked: usize,
    /// Webhooks that failed (tried again later).
    pub failed: usize,
}

/// A failure that trying again cannot cure soon (a refused address, a broken
/// configuration) waits this long; a person fixes the connector meanwhile.
const PERMANENT_WAIT_MS: i64 = 6 * 3_600_000;

/// Pokes every due finance webhook once.
///
/// # Errors
/// On store errors (a webhook's own failure is recorded, not returned).
pub async fn run_once(portal: &Portal, policy: &Policy) -> Result<Round> {
    let mut round = Round::default();
    for (c, _delivered, last) in portal.store.finance_webhooks_due(now_ms()).await? {
        let state = portal.store.finance_webhook_state(c.id).await?;
        let outcome = match target(portal, &c, policy).await {
            Ok(t) => {
                let slug = match portal.catalogue().authority(c.authority_id) {
                    Some(a) => a.slug.to_string(),
                    None => c.authority_id.to_string(),
                };
                amtsweg_handoff::payment::webhook::poke(policy, &t, &slug, last).await.map_err(|f| {
                    let wait = if f.permanent {
                        PERMANENT_WAIT_MS
                    } else {
                        let backoff = amtsweg_handoff::backoff_ms(state.attempts);
                        f.retry_after.map_or(backoff, |r| i64::try_from(r.as_millis()).unwrap_or(backoff).max(backoff))
                    };
                    (f.message, wait)
                })
            }
            Err(message) => Err((message, PERMANENT_WAIT_MS)),
        };
        let mut tx = portal.store.begin().await?;
        match outcome {
            Ok(()) => {
                tx.finance_webhook_done(c.id, last).await?;
                round.poked += 1;
            }
            Err((message, wait)) => {
                tracing::warn!(connector = c.id, error = %message, "finance webhook failed");
                tx.finance_webhook_failed(c.id, &message, now_ms() + wait).await?;
                round.failed += 1;
            }
        }
        tx.commit().await?;
    }
    Ok(round)
}

/// The connector's webhook target, opened and checked; a German reason otherwise.
async fn target(
    portal: &Portal,
    c: &amtsweg_store::payments::PaymentConnectorRow,
    policy: &Policy,
) -> std::result::Result<WebhookTarget, String> {
    let json = crate::payments::connectors::open_config(portal, c).await.map_err(|e| {
        tracing::error!(error = %e, connector = c.id, "finance webhook settings do not open");
        "Die Einstellungen der Verbindung lassen sich nicht öffnen.".to_owned()
    })?;
    match PaymentTarget::parse(&c.kind, &json, policy)? {
        PaymentTarget::FinanceWebhook(t) => Ok(t),
        _ => Err("Diese Verbindung ist keine Benachrichtigung der Finanzsoftware.".into()),
    }
}

/// Runs [`run_once`] every `every` until the process ends.
pub fn spawn(portal: Portal, policy: Policy, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match run_once(&portal, &policy).await {
                Ok(Round { poked: 0, failed: 0 }) => {}
                Ok(r) => tracing::info!(poked = r.poked, failed = r.failed, "finance webhooks"),
                Err(e) => tracing::warn!(error = %e, "finance webhook round failed"),
            }
        }
    })
}
