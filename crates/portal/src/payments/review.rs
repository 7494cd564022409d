//! Closing the review of a payment ("Prüfung abschließen"): a payment the provider
//! or the bank reported differently (another amount, more than asked, after expiry,
//! no final state, part paid at expiry) waits for a person. They either release the
//! held application — the money was booked, the authority accepts it — or mark the
//! payment as checked (e.g. after a refund). Either way with a short note, which
//! goes into the case history as an internal note, in one transaction with the
//! audit entry `payment.review`.

use crate::casework::{Actor, seal_text};
use crate::{Portal, Result};
use amtsweg_domain::audit::AuditEntry;
use amtsweg_store::payments::bookings::ReviewRefusal;
use amtsweg_store::submissions::STATUS_RECEIVED;

/// Longest note accepted.
pub const MAX_NOTE: usize = 500;

/// What the person decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Release the held application and close the review.
    Release,
    /// Only close the review.
    Checked,
}

/// Closes the review of the payment of the authority's submission with `note`.
/// `Ok(Err(message))` in German when nothing changed.
///
/// # Errors
/// On store or crypto errors.
pub async fn resolve(
    portal: &Portal,
    actor: &Actor,
    authority_id: i64,
    submission_id: i64,
    decision: Decision,
    note: &str,
) -> Result<Result<(), String>> {
    let note = note.trim();
    if note.is_empty() {
        return Ok(Err("Bitte schreiben Sie kurz, was Sie geprüft haben.".into()));
    }
    if note.chars().count() > MAX_NOTE {
        return Ok(Err(format!("Die Notiz darf höchstens {MAX_NOTE} Zeichen lang sein.")));
    }
    let Some(p) = portal.store.payment_of_submission(authority_id, submission_id).await? else {
        return Ok(Err("Für diesen Antrag ist keine Gebühr zu bezahlen.".into()));
    };
    let Some(s) = portal.store.submission(authority_id, submission_id).await? else {
        return Ok(Err("Diesen Antrag gibt es nicht.".into()));
    };
    let mail = match decision {
        Decision::Release => super::mail::release_notice(portal, &p).await?,
        Decision::Checked => None,
    };
    let label = match decision {
        Decision::Release => "Prüfung der Zahlung abgeschlossen, Antrag freigegeben",
        Decision::Checked => "Prüfung der Zahlung abgeschlossen",
    };
    let body = seal_text(portal, authority_id, submission_id, &format!("{label}: {note}")).await?;
    let mut tx = portal.store.begin().await?;
    let resolved = match tx
        .resolve_review(authority_id, p.id, decision == Decision::Release, &actor.audit, mail.as_ref())
        .await?
    {
        Ok(r) => r,
        Err(ReviewRefusal::NoReview) => {
            return Ok(Err("Diese Zahlung ist nicht (mehr) zur Prüfung vorgemerkt.".into()));
        }
        Err(ReviewRefusal::NotHeld) => {
            return Ok(Err("Der Antrag wartet nicht (mehr) auf die Zahlung und ist schon weitergeleitet.".into()));
        }
        Err(ReviewRefusal::NothingPaid) => {
            return Ok(Err("Auf diese Zahlung ist noch kein Geld gebucht. Der Antrag bleibt zurückgehalten.".into()));
        }
    };
    // After a release the history shows the new status; the note belongs to it.
    let status = if resolved.released.is_some() { STATUS_RECEIVED } else { s.status.as_str() };
    let event = amtsweg_store::casework::NewEvent {
        kind: "note",
        status,
        sub_status: &s.sub_status,
        body: &body,
        public: false,
        actor: &actor.name,
    };
    tx.add_event(submission_id, &event).await?;
    tx.append_audit(&AuditEntry {
        at: amtsweg_store::now_ms(),
        actor: actor.audit.clone(),
        authority_id: Some(authority_id),
        action: "payment.review".into(),
        target: format!("submission:{submission_id}"),
        outcome: format!(
            "payment:{} review:{}{}",
            p.id,
            resolved.review,
            if resolved.released.is_some() { " released" } else { " checked" }
        ),
    })
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}
