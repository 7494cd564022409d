//! The poll worker: XBezahldienste sends no notification, so every open attempt is
//! asked about until it is final (20 s after creation, doubling to every 10 minutes,
//! for 48 hours; FAILED and CANCELED three more times within 30 minutes, in case a
//! late PAYED follows). A PAYED books the money and releases the held application in
//! one transaction — the citizen who closed the tab after paying is served all the
//! same. Attempts are claimed with a lease like every outbox row, so several nodes
//! share the work without asking twice.
//!
//! Then expiry: a held application whose payment time ran out is marked
//! `zahlung_abgelaufen` with a notice — unless an attempt begun within the last hour
//! may still be paid.

use super::online;
use crate::{Portal, Result};
use amtsweg_domain::payment::{ProviderStatus, Review, poll_delay_ms};
use amtsweg_handoff::payment::Gateway;
use amtsweg_store::payments::AttemptRow;
use std::time::Duration;

/// Attempts claimed per round.
pub const BATCH: u64 = 20;
/// How long a claim holds (longer than any status request may take).
pub const LEASE_MS: i64 = 2 * 60 * 1000;
/// Payments expired per round at most.
const EXPIRE_BATCH: u64 = 50;
/// An attempt begun this recently keeps its payment from expiring.
const GRACE_MS: i64 = 60 * 60 * 1000;

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Attempts the provider was asked about and answered.
    pub polled: usize,
    /// … whose stored state changed.
    pub changed: usize,
    /// Applications released (paid).
    pub released: usize,
    /// Attempts the provider could not be asked about (asked again later).
    pub unanswered: usize,
    /// Attempts whose creation request was lost (the process ended meanwhile).
    pub abandoned: usize,
    /// Held applications expired unpaid.
    pub expired: usize,
}

enum Outcome {
    Polled { changed: bool, released: bool },
    Unanswered,
    Abandoned,
}

/// One round: polls the attempts due, then expires what ran out.
///
/// # Errors
/// On store errors (of the claim or the expiry; a failing attempt is logged).
pub async fn run_once(portal: &Portal, gw: &Gateway) -> Result<Round> {
    let mut round = Round::default();
    let attempts = portal.store.claim_attempts(BATCH, LEASE_MS).await?;
    // Concurrently: one slow provider must not hold the others past their lease.
    let mut set = tokio::task::JoinSet::new();
    for a in attempts {
        let (portal, gw) = (portal.clone(), gw.clone());
        set.spawn(async move { poll_one(&portal, &gw, &a).await.map_err(|e| (a.id, e)) });
    }
    while let Some(done) = set.join_next().await {
        match done {
            Ok(Ok(Outcome::Polled { changed, released })) => {
                round.polled += 1;
                round.changed += usize::from(changed);
                round.released += usize::from(released);
            }
            Ok(Ok(Outcome::Unanswered)) => round.unanswered += 1,
            Ok(Ok(Outcome::Abandoned)) => round.abandoned += 1,
            Ok(Err((id, e))) => tracing::warn!(attempt = id, error = %e, "payment poll failed"),
            Err(e) => tracing::error!(error = %e, "payment poll task failed"),
        }
    }
    round.expired = expire(portal).await?;
    Ok(round)
}

async fn poll_one(portal: &Portal, gw: &Gateway, a: &AttemptRow) -> Result<Outcome> {
    let stored = ProviderStatus::parse(&a.provider_status).unwrap_or(ProviderStatus::New);
    if stored == ProviderStatus::New {
        // First due two minutes after it began: its request is gone.
        let mut tx = portal.store.begin().await?;
        tx.abandon_attempt(a.id, "Die Anfrage an den Bezahldienst wurde nicht beantwortet.").await?;
        tx.commit().await?;
        return Ok(Outcome::Abandoned);
    }
    match online::ask(portal, gw, a, gw.timeout() + Duration::from_secs(1)).await? {
        Ok((ts, sent_at)) => {
            let r = online::observe(portal, a, &ts, sent_at).await?;
            let released = r.booked.as_ref().is_some_and(|b| b.released.is_some());
            Ok(Outcome::Polled { changed: r.changed, released })
        }
        Err(why) => {
            let now = amtsweg_store::now_ms();
            let mut tx = portal.store.begin().await?;
            match poll_delay_ms(stored, a.polls + 1, now - a.created_at) {
                Some(delay) => tx.attempt_poll_later(a.id, now + delay, &why).await?,
                None => {
                    let review = if stored.is_final() { "" } else { Review::NoFinalStatus.as_str() };
                    tx.attempt_poll_done(a.id, review).await?;
                }
            }
            tx.commit().await?;
            Ok(Outcome::Unanswered)
        }
    }
}

/// Expires held applications whose payment time ran out; how many.
async fn expire(portal: &Portal) -> Result<usize> {
    let now = amtsweg_store::now_ms();
    let mut expired = 0;
    for p in portal.store.expirable_payments(now, EXPIRE_BATCH).await? {
        let running = portal.store.attempts_of(p.id).await?.iter().any(|a| {
            matches!(ProviderStatus::parse(&a.provider_status), Some(ProviderStatus::New | ProviderStatus::Initial))
                && a.created_at > now - GRACE_MS
        });
        if running {
            continue;
        }
        let Some(sid) = p.submission_id else { continue };
        let mail = super::mail::notice(portal, p.authority_id, sid).await?.map(|n| super::mail::expired(&n));
        let mut tx = portal.store.begin().await?;
        let done = tx.expire_payment(p.id, now, mail.as_ref()).await?;
        tx.commit().await?;
        if done {
            tracing::info!(submission = sid, payment = p.id, "unpaid application expired");
            expired += 1;
        }
    }
    Ok(expired)
}

/// Runs [`run_once`] every `every` until the process ends.
pub fn spawn(portal: Portal, gw: Gateway, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match run_once(&portal, &gw).await {
                Ok(r) if r == Round::default() => {}
                Ok(r) => tracing::info!(
                    polled = r.polled,
                    changed = r.changed,
                    released = r.released,
                    unanswered = r.unanswered,
                    abandoned = r.abandoned,
                    expired = r.expired,
                    "payment worker"
                ),
                Err(e) => tracing::warn!(error = %e, "payment worker failed"),
            }
        }
    })
}
