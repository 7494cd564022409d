//! Refunds and corrections recorded by a case worker.
//!
//! XBezahldienste 1.0 defines no refund call, so every refund is a payout
//! instruction: a negative booking (in the finance feed and the period report) that
//! the treasury pays out and a person then marks as done. The reason and the payout
//! account are sealed under the authority's key, bound to the payment. The citizen
//! sees the refund in the application's history and, with an account, gets a
//! Postfach message; the refund is audited as `payment.refund`.

use crate::casework::{Actor, seal_text};
use crate::keyring::{authority_scope, record};
use crate::postfach::{self, Delivery, DeliveryError};
use crate::{Portal, PortalError, Result};
use amtsweg_domain::audit::AuditEntry;
use amtsweg_domain::payment::{Cents, Iban};
use amtsweg_store::casework::NewEvent;
use amtsweg_store::payments::RefundRow;
use amtsweg_store::payments::refunds::{NewRefund, REFUND_DONE, REFUND_PAYOUT};
use serde::Serialize;

/// Purposes the refund's texts are sealed for (bound to the payment).
const REASON: &str = "payment:refund_reason";
const PAYOUT_IBAN: &str = "payment:refund_iban";

/// A refund of the same amount of the same payment within this time is taken for the
/// same refund sent twice.
const SAME_REFUND_MS: i64 = 60 * 1000;

/// Longest reason accepted.
pub const MAX_REASON: usize = 500;

/// A refund as staff and the citizen see it.
#[derive(Debug, Clone, Serialize)]
pub struct RefundView {
    pub id: i64,
    pub payment_id: i64,
    pub kassenzeichen: String,
    pub amount: Cents,
    /// "12,50 €".
    pub amount_de: String,
    pub reason: String,
    /// Printed in groups of four, '' when none was given.
    pub payout_iban: String,
    pub done: bool,
    /// "Auszahlung veranlasst" / "Ausgezahlt".
    pub status_de: String,
    /// German time.
    pub created: String,
    pub done_at: String,
    pub actor: String,
}

/// Records a refund of `amount` for a payment of the authority, paid back to
/// `payout_iban` (or, without one, to the account the money came from). At most
/// what was paid and not refunded yet. `Ok(Err(..))` says in German what to fix.
///
/// # Errors
/// On store or crypto errors.
pub async fn refund(
    portal: &Portal,
    actor: &Actor,
    authority_id: i64,
    payment_id: i64,
    amount: Cents,
    reason: &str,
    payout_iban: Option<&str>,
) -> Result<Result<(), String>> {
    let Some(p) = portal.store.payment(authority_id, payment_id).await? else {
        return Ok(Err("Diese Zahlung gibt es nicht.".into()));
    };
    if amount.0 <= 0 {
        return Ok(Err("Bitte geben Sie einen Betrag über 0,00 € an.".into()));
    }
    let left = Cents(p.paid_cents - p.refunded_cents);
    if amount > left {
        return Ok(Err(too_much(left, &p)));
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Ok(Err("Bitte geben Sie den Grund der Erstattung an.".into()));
    }
    if reason.chars().count() > MAX_REASON {
        return Ok(Err(format!("Der Grund darf höchstens {MAX_REASON} Zeichen lang sein.")));
    }
    let iban = match payout_iban.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match Iban::parse(s) {
            Ok(i) => Some(i),
            Err(e) => return Ok(Err(format!("Die IBAN für die Auszahlung ist nicht gültig: {}", e.0))),
        },
    };
    let submission = match p.submission_id {
        Some(id) => portal.store.submission(authority_id, id).await?,
        None => None,
    };
    let authority =
        portal.catalogue().authority(authority_id).map(|a| a.name.clone()).ok_or_else(|| PortalError::NotFound)?;

    let rec = record::payment(p.id);
    let scope = authority_scope(authority_id);
    portal.keyring.ready(&portal.store, &scope).await?;
    let sealed_reason = portal.seal_bound(&scope, REASON, &rec, reason.as_bytes()).await?;
    let sealed_iban = match &iban {
        Some(i) => portal.seal_bound(&scope, PAYOUT_IBAN, &rec, i.as_str().as_bytes()).await?,
        None => String::new(),
    };
    let to_account = match &iban {
        Some(i) => format!("auf das Konto {}", i.printed()),
        None => "auf das Konto, von dem Sie bezahlt haben".to_owned(),
    };
    let subject_ref = match &submission {
        Some(s) => format!("Ihr Antrag „{}“ ({})", s.title, s.receipt_number),
        None => format!("Kassenzeichen {}", p.kassenzeichen),
    };
    let text = format!(
        "Erstattung: Wir zahlen Ihnen {} zurück (Kassenzeichen {}).\nGrund: {reason}\nDas Geld überweisen wir {to_account}; \
         das kann einige Tage dauern.",
        amount.german(),
        p.kassenzeichen,
    );
    // The Postfach message is prepared (checked, sealed) before the transaction.
    let citizen_id = submission.as_ref().and_then(|s| s.citizen_id).or(p.citizen_id);
    let prepared = match citizen_id {
        Some(citizen_id) => {
            let d = Delivery {
                citizen_id,
                authority_id,
                sender: authority.clone(),
                subject: format!("Erstattung – {subject_ref}"),
                body: text.clone(),
                attachments: Vec::new(),
            };
            match postfach::prepare(portal, &d).await {
                Ok(prepared) => Some(prepared),
                // The account was deleted: the refund stands, the history tells.
                Err(DeliveryError::UnknownCitizen) => None,
                Err(DeliveryError::Invalid(m)) => return Ok(Err(m)),
                Err(DeliveryError::Portal(e)) => return Err(e),
            }
        }
        None => None,
    };
    let event_body = match &submission {
        Some(s) => seal_text(portal, authority_id, s.id, &text).await?,
        None => String::new(),
    };

    let booked_on = crate::time::now_local().date().to_string();
    let mut tx = portal.store.begin().await?;
    // Under the payment's lock: the same refund sent twice (a double click, two
    // people) would fit under the cap both times but must be paid out once.
    if tx.lock_payment(authority_id, p.id).await?.is_some()
        && tx.same_refund_since(p.id, amount.0, amtsweg_store::now_ms() - SAME_REFUND_MS).await?
    {
        return Ok(Err(format!(
            "Eine Erstattung über {} wurde für diese Zahlung gerade erst erfasst. Wenn wirklich ein zweites Mal \
             erstattet werden soll, erfassen Sie sie bitte in einer Minute noch einmal.",
            amount.german()
        )));
    }
    let new = NewRefund {
        authority_id,
        payment_id: p.id,
        amount_cents: amount.0,
        reason: &sealed_reason,
        method: REFUND_PAYOUT,
        payout_iban: &sealed_iban,
        actor: &actor.audit,
        booked_on: &booked_on,
    };
    let Some(refund_id) = tx.insert_refund(&new).await? else {
        // Somebody refunded meanwhile: read again for the message.
        drop(tx);
        let p = portal.store.payment(authority_id, payment_id).await?.unwrap_or(p);
        return Ok(Err(too_much(Cents(p.paid_cents - p.refunded_cents), &p)));
    };
    if let Some(s) = &submission {
        let e = NewEvent {
            kind: "message",
            status: &s.status,
            sub_status: &s.sub_status,
            body: &event_body,
            public: true,
            actor: &actor.name,
        };
        tx.add_event(s.id, &e).await?;
    }
    if let Some(prepared) = &prepared {
        let thread = submission.as_ref().and_then(|s| s.thread_id);
        let (new_thread, _) = postfach::write(&mut tx, prepared, thread, portal.settings.base_url())
            .await
            .map_err(|e| PortalError::Internal(e.to_string()))?;
        if let Some(s) = &submission
            && s.thread_id != Some(new_thread)
        {
            tx.set_submission_thread(s.id, new_thread).await?;
        }
    }
    tx.append_audit(&AuditEntry {
        at: amtsweg_store::now_ms(),
        actor: actor.audit.clone(),
        authority_id: Some(authority_id),
        action: "payment.refund".into(),
        target: format!("payment:{}", p.id),
        outcome: format!("success:refund:{refund_id}:{}", amount.0),
    })
    .await?;
    tx.commit().await?;
    if let Some(s) = &submission {
        portal.fresh_receipts.forget(&s.form_token);
    }
    Ok(Ok(()))
}

fn too_much(left: Cents, p: &amtsweg_store::payments::PaymentRow) -> String {
    if left.0 <= 0 {
        return "Für diese Zahlung ist nichts (mehr) zu erstatten: Es wurde nichts bezahlt oder schon alles erstattet."
            .into();
    }
    format!(
        "Erstattet werden können höchstens {} (bezahlt {}, bereits erstattet {}).",
        left.german(),
        Cents(p.paid_cents).german(),
        Cents(p.refunded_cents).german()
    )
}

/// Marks a refund of the authority as paid out (audited). False when there is none
/// to mark (unknown, another authority's, or marked before).
///
/// # Errors
/// On store errors.
pub async fn mark_done(portal: &Portal, actor: &Actor, authority_id: i64, refund_id: i64) -> Result<bool> {
    let mut tx = portal.store.begin().await?;
    if !tx.mark_refund_done(authority_id, refund_id).await? {
        return Ok(false);
    }
    tx.append_audit(&AuditEntry {
        at: amtsweg_store::now_ms(),
        actor: actor.audit.clone(),
        authority_id: Some(authority_id),
        action: "payment.refund_done".into(),
        target: format!("refund:{refund_id}"),
        outcome: "success".into(),
    })
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The refunds of a payment of the authority, oldest first.
///
/// # Errors
/// On store errors.
pub async fn of_payment(portal: &Portal, authority_id: i64, payment_id: i64) -> Result<Vec<RefundView>> {
    let Some(p) = portal.store.payment(authority_id, payment_id).await? else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for r in portal.store.refunds_of(p.id).await? {
        out.push(view(portal, &r, &p.kassenzeichen).await);
    }
    Ok(out)
}

/// The authority's refunds still to pay out, oldest first.
///
/// # Errors
/// On store errors.
pub async fn open(portal: &Portal, authority_id: i64) -> Result<Vec<RefundView>> {
    let mut out = Vec::new();
    for r in portal.store.refunds_open(authority_id).await? {
        let kz = portal.store.payment(authority_id, r.payment_id).await?.map(|p| p.kassenzeichen).unwrap_or_default();
        out.push(view(portal, &r, &kz).await);
    }
    Ok(out)
}

/// One refund for people: its sealed texts opened (a text that does not open shows
/// as a notice).
pub async fn view(portal: &Portal, r: &RefundRow, kassenzeichen: &str) -> RefundView {
    let rec = record::payment(r.payment_id);
    let scope = authority_scope(r.authority_id);
    let open = |purpose: &'static str, sealed: String| {
        let rec = rec.clone();
        let scope = scope.clone();
        async move {
            if sealed.is_empty() {
                return String::new();
            }
            portal.open_bound_text(&scope, purpose, &rec, &sealed).await.unwrap_or_else(|e| {
                tracing::error!(error = %e, "refund text does not open");
                "(nicht lesbar)".into()
            })
        }
    };
    let reason = open(REASON, r.reason.clone()).await;
    let iban = open(PAYOUT_IBAN, r.payout_iban.clone()).await;
    let done = r.status == REFUND_DONE;
    RefundView {
        id: r.id,
        payment_id: r.payment_id,
        kassenzeichen: kassenzeichen.to_owned(),
        amount: Cents(r.amount_cents),
        amount_de: Cents(r.amount_cents).german(),
        reason,
        payout_iban: Iban::parse(&iban).map(|i| i.printed()).unwrap_or(iban),
        done,
        status_de: if done { "Ausgezahlt" } else { "Auszahlung veranlasst" }.into(),
        created: crate::time::berlin_time(r.created_at),
        done_at: r.done_at.map(crate::time::berlin_time).unwrap_or_default(),
        actor: r.actor.clone(),
    }
}
