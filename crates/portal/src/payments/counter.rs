//! A payment taken at the counter (cash, card, a transfer seen by the treasury),
//! recorded by a case worker: booked like any other money — a held application is
//! released by it, exactly once — and audited.

use crate::casework::Actor;
use crate::{Portal, Result};
use amtsweg_domain::audit::AuditEntry;
use amtsweg_domain::payment::{Cents, PaymentStatus};
use amtsweg_store::payments::{NewBooking, PaymentRow, SOURCE_COUNTER};

/// How money can be taken at the counter: (stored word, label).
pub const METHODS: [(&str, &str); 3] =
    [("bar", "Bar"), ("karte", "Karte (girocard oder Kreditkarte)"), ("ueberweisung", "Überweisung an die Kasse")];

/// Records `amount` paid for the authority's submission by `method` (one of
/// [`METHODS`]). `Ok(Err(message))` in German when it cannot be recorded: no fee,
/// paid already, an amount of nothing or more than is open, an unknown method.
/// An application held for payment (also one that expired unpaid) is released when
/// the fee is paid in full.
///
/// # Errors
/// On store errors.
pub async fn record_counter_payment(
    portal: &Portal,
    actor: &Actor,
    authority_id: i64,
    submission_id: i64,
    amount: Cents,
    method: &str,
) -> Result<Result<(), String>> {
    let Some(p) = portal.store.payment_of_submission(authority_id, submission_id).await? else {
        return Ok(Err("Für diesen Antrag ist keine Gebühr zu bezahlen.".into()));
    };
    if !METHODS.iter().any(|(m, _)| *m == method) {
        return Ok(Err("Bitte wählen Sie, wie bezahlt wurde.".into()));
    }
    if amount.0 <= 0 {
        return Ok(Err("Bitte geben Sie einen Betrag über 0,00 € ein.".into()));
    }
    let mail = super::mail::release_notice(portal, &p).await?;
    let mut tx = portal.store.begin().await?;
    // Checked on the locked row: a double click, a colleague or an online payment
    // booked meanwhile is seen here, so the money is booked once.
    let Some(p) = tx.lock_payment(authority_id, p.id).await? else {
        return Ok(Err("Für diesen Antrag ist keine Gebühr zu bezahlen.".into()));
    };
    if let Some(refusal) = refusal(&p, amount) {
        return Ok(Err(refusal));
    }
    let booked = tx
        .book_payment(
            &NewBooking {
                authority_id,
                payment_id: Some(p.id),
                claim_id: None,
                source: SOURCE_COUNTER,
                amount_cents: amount.0,
                method,
                reference: "",
                bank_entry_id: None,
                attempt_id: None,
                actor: &actor.audit,
                booked_on: &super::today(),
            },
            mail.as_ref(),
        )
        .await?;
    tx.append_audit(&AuditEntry {
        at: amtsweg_store::now_ms(),
        actor: actor.audit.clone(),
        authority_id: Some(authority_id),
        action: "payment.counter".into(),
        target: format!("submission:{submission_id}"),
        outcome: format!(
            "payment:{} amount:{} method:{method}{}",
            p.id,
            amount.decimal(),
            if booked.released.is_some() { " released" } else { "" }
        ),
    })
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Why `amount` cannot be booked on the payment as it is now (German), if not.
fn refusal(p: &PaymentRow, amount: Cents) -> Option<String> {
    match PaymentStatus::parse(&p.status) {
        Some(PaymentStatus::Open | PaymentStatus::PartlyPaid | PaymentStatus::Expired) => {}
        Some(PaymentStatus::Paid) => return Some("Die Gebühr ist bereits bezahlt.".into()),
        _ => return Some("Diese Zahlung ist storniert.".into()),
    }
    let open = Cents(p.amount_cents - p.paid_cents);
    if open.0 <= 0 {
        return Some("Die Gebühr ist bereits bezahlt.".into());
    }
    (amount > open).then(|| format!("Der Betrag ist höher als der offene Betrag von {}.", open.german()))
}
