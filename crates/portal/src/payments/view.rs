//! What people see of a payment: the citizen on the receipt page, in "Meine
//! Anträge" and in the receipt PDF; the case worker in the case; and what the hand-off
//! tells the receiving system. Read-only.

use crate::{Portal, Result};
use amtsweg_domain::payment::{
    Cents, Iban, InvoiceAccount, PayMode, PaymentStatus, ProviderStatus, Review, rf_printed,
};
use amtsweg_domain::receipt::ReceiptPayment;
use amtsweg_handoff::package::PackagePayment;
use amtsweg_store::payments::{AWAITING_PAYMENT, BookingRow, KIND_RECHNUNG, PAYMENT_EXPIRED, PaymentRow, RefundRow};
use serde::Serialize;

/// A payment as pages show it (amounts as German text and in cents).
#[derive(Debug, Clone, Serialize)]
pub struct PaymentView {
    pub id: i64,
    /// `vorab`, `rechnung`, `vor_ort`, `forderung`.
    pub mode: String,
    pub mode_label: String,
    /// `domain::payment::PaymentStatus` as text.
    pub status: String,
    pub status_label: String,
    pub amount: String,
    pub paid: String,
    pub refunded: String,
    pub open: String,
    pub amount_cents: i64,
    pub paid_cents: i64,
    pub refunded_cents: i64,
    pub open_cents: i64,
    pub kassenzeichen: String,
    /// The RF reference in groups of four, '' when none.
    pub rf: String,
    /// `07.12.2026`, '' when none (invoices).
    pub due_on: String,
    /// Until when a held application can be paid (`24.11.2026, 14:05 Uhr`), '' when none.
    pub expires: String,
    /// Why a person should look (German), '' when nothing.
    pub review: String,
    /// The account to transfer to (invoices).
    pub bank: Option<InvoiceAccount>,
    /// The IBAN in groups of four, '' without an account.
    pub iban: String,
    /// The GiroCode for the open amount (invoices), SVG to inline.
    pub girocode_svg: Option<String>,
    /// Whether the citizen can pay the open amount online now.
    pub can_pay_online: bool,
    /// The origin of the provider's pay page (for the page's `form-action`).
    pub provider_origin: Option<String>,
    /// The application waits for this payment before it is passed on.
    pub held: bool,
    /// The application was not paid in time.
    pub expired_unpaid: bool,
    /// The state of the last online attempt, '' when none.
    pub last_attempt: String,
    pub bookings: Vec<BookingView>,
    pub refunds: Vec<RefundView>,
}

/// Money booked.
#[derive(Debug, Clone, Serialize)]
pub struct BookingView {
    /// `07.12.2026`.
    pub date: String,
    pub amount: String,
    pub amount_cents: i64,
    pub source: String,
    pub source_label: String,
    pub method_label: String,
    pub reference: String,
}

/// A refund.
#[derive(Debug, Clone, Serialize)]
pub struct RefundView {
    pub id: i64,
    pub amount: String,
    pub amount_cents: i64,
    /// `instructed`, `done`, `failed`.
    pub status: String,
    pub status_label: String,
    pub created: String,
    pub done: String,
    /// Why the money is paid back (the citizen sees it), '' when it does not open.
    pub reason: String,
}

/// How money came in, for people.
#[must_use]
pub fn source_label(source: &str) -> &'static str {
    match source {
        "online" => "Online",
        "bank" => "Überweisung",
        "counter" => "Vor Ort",
        "refund" => "Erstattung",
        "correction" => "Korrektur",
        _ => "Sonstiges",
    }
}

/// A payment method (provider's or the counter's), for people.
#[must_use]
pub fn method_label(method: &str) -> String {
    match method {
        "CREDITCARD" => "Kreditkarte".into(),
        "GIROPAY" => "giropay".into(),
        "PAYPAL" => "PayPal".into(),
        "PAYDIRECT" => "paydirekt".into(),
        "INVOICE" => "Rechnung".into(),
        "OTHER" | "" => String::new(),
        other => super::counter::METHODS
            .iter()
            .find(|(m, _)| *m == other)
            .map_or_else(|| other.to_owned(), |(_, l)| (*l).to_owned()),
    }
}

fn refund_label(status: &str) -> &'static str {
    match status {
        "instructed" => "Angewiesen",
        "done" => "Ausgezahlt",
        "failed" => "Fehlgeschlagen",
        _ => "",
    }
}

/// The state of a payment in a few words (lists such as "Meine Anträge").
#[must_use]
pub fn status_label(p: &PaymentRow) -> String {
    PaymentStatus::parse(&p.status).map_or_else(|| p.status.clone(), |s| s.label_de().to_owned())
}

/// The payment of the authority's submission as pages show it; `None` without one.
///
/// # Errors
/// On store errors.
pub async fn of_submission(portal: &Portal, authority_id: i64, submission_id: i64) -> Result<Option<PaymentView>> {
    let Some(p) = portal.store.payment_of_submission(authority_id, submission_id).await? else { return Ok(None) };
    let s = portal.store.submission(authority_id, submission_id).await?;
    let held = s.as_ref().is_some_and(|s| s.status == AWAITING_PAYMENT);
    let expired_unpaid = s.as_ref().is_some_and(|s| s.status == PAYMENT_EXPIRED);
    Ok(Some(view(portal, &p, s.map(|s| s.form_id), held, expired_unpaid).await?))
}

/// A payment row as pages show it; `form_id` picks the connectors of the form.
///
/// # Errors
/// On store errors.
pub async fn view(
    portal: &Portal,
    p: &PaymentRow,
    form_id: Option<i64>,
    held: bool,
    expired_unpaid: bool,
) -> Result<PaymentView> {
    let status = PaymentStatus::parse(&p.status);
    let mode = PayMode::parse(&p.mode);
    let open = Cents((p.amount_cents - p.paid_cents).max(0));
    let payable = matches!(status, Some(PaymentStatus::Open | PaymentStatus::PartlyPaid)) && open.0 > 0;
    let attempts = portal.store.attempts_of(p.id).await?;
    let last = attempts.last();
    let mut can_pay_online = false;
    let mut provider_origin = None;
    if payable
        && open <= Cents::MAX_ONLINE
        && matches!(mode, Some(PayMode::Vorab | PayMode::Rechnung | PayMode::Forderung))
    {
        let own = match p.connector_id {
            Some(id) => portal.store.payment_connector(id).await?.filter(|c| c.active == 1),
            None => None,
        };
        let cfg = match &own {
            Some(c) => super::xbezahl_config(portal, c).await,
            None => None,
        };
        let cfg = match cfg {
            Some(cfg) => Some(cfg),
            None => super::online_connector(portal, p.authority_id, form_id).await?.map(|(_, cfg)| cfg),
        };
        if let Some(cfg) = cfg {
            can_pay_online = true;
            // The configured pay-page origin only, never one an answer named: the
            // client refuses pay pages elsewhere, so nothing else needs to be reached.
            provider_origin = cfg.pay_page_origin();
        }
    }
    let account = if mode == Some(PayMode::Rechnung) || mode == Some(PayMode::Forderung) {
        let own = match p.connector_id {
            Some(id) => portal.store.payment_connector(id).await?.filter(|c| c.kind == KIND_RECHNUNG && c.active == 1),
            None => None,
        };
        match own {
            Some(c) => super::account_of(portal, &c).await,
            None if mode == Some(PayMode::Rechnung) => {
                super::invoice_account(portal, p.authority_id, form_id).await?.map(|(_, a)| a)
            }
            None => None,
        }
    } else {
        None
    };
    let girocode_svg = match &account {
        Some(a) if payable && open <= Cents::MAX_GIROCODE => {
            match super::girocode_svg(a, open, &p.rf_reference, &p.kassenzeichen) {
                Ok(svg) => Some(svg),
                Err(e) => {
                    tracing::warn!(payment = p.id, error = %e, "no GiroCode");
                    None
                }
            }
        }
        _ => None,
    };
    let bookings = portal.store.bookings_of_payment(p.id).await?.iter().map(booking_view).collect();
    let mut refunds = Vec::new();
    for r in portal.store.refunds_of(p.id).await? {
        let reason = crate::reconcile::refund::view(portal, &r, &p.kassenzeichen).await.reason;
        refunds.push(RefundView { reason, ..refund_view(&r) });
    }
    Ok(PaymentView {
        id: p.id,
        mode: p.mode.clone(),
        mode_label: mode.map(|m| m.label_de().to_owned()).unwrap_or_default(),
        status: p.status.clone(),
        status_label: status_label(p),
        amount: Cents(p.amount_cents).german(),
        paid: Cents(p.paid_cents).german(),
        refunded: Cents(p.refunded_cents).german(),
        open: open.german(),
        amount_cents: p.amount_cents,
        paid_cents: p.paid_cents,
        refunded_cents: p.refunded_cents,
        open_cents: open.0,
        kassenzeichen: p.kassenzeichen.clone(),
        rf: if p.rf_reference.is_empty() { String::new() } else { rf_printed(&p.rf_reference) },
        due_on: super::german_date(&p.due_on),
        expires: if held { p.expires_at.map(crate::time::when).unwrap_or_default() } else { String::new() },
        review: Review::parse(&p.review).map(|r| r.label_de().to_owned()).unwrap_or_default(),
        iban: account
            .as_ref()
            .map(|a| Iban::parse(&a.iban).map_or_else(|_| a.iban.clone(), |i| i.printed()))
            .unwrap_or_default(),
        bank: account,
        girocode_svg,
        can_pay_online,
        provider_origin,
        held,
        expired_unpaid,
        last_attempt: last
            .and_then(|a| ProviderStatus::parse(&a.provider_status))
            .map(|s| s.label_de().to_owned())
            .unwrap_or_default(),
        bookings,
        refunds,
    })
}

fn booking_view(b: &BookingRow) -> BookingView {
    BookingView {
        date: super::german_date(&b.booked_on),
        amount: Cents(b.amount_cents).german(),
        amount_cents: b.amount_cents,
        source: b.source.clone(),
        source_label: source_label(&b.source).to_owned(),
        method_label: method_label(&b.method),
        reference: b.reference.clone(),
    }
}

fn refund_view(r: &RefundRow) -> RefundView {
    RefundView {
        id: r.id,
        amount: Cents(r.amount_cents).german(),
        amount_cents: r.amount_cents,
        status: r.status.clone(),
        status_label: refund_label(&r.status).to_owned(),
        created: crate::time::when(r.created_at),
        done: r.done_at.map(crate::time::when).unwrap_or_default(),
        reason: String::new(),
    }
}

/// The payment part of the receipt PDF.
///
/// # Errors
/// On store errors.
pub async fn receipt_payment(portal: &Portal, authority_id: i64, submission_id: i64) -> Result<Option<ReceiptPayment>> {
    let Some(v) = of_submission(portal, authority_id, submission_id).await? else { return Ok(None) };
    let authority = portal.catalogue().authority(authority_id).map(|a| a.name.clone()).unwrap_or_default();
    let mut lines = vec![
        ("Kassenzeichen".to_owned(), v.kassenzeichen.clone()),
        ("Betrag".to_owned(), v.amount.clone()),
        ("Zahlungsweise".to_owned(), v.mode_label.clone()),
        ("Stand".to_owned(), v.status_label.clone()),
    ];
    if v.paid_cents > 0 && v.open_cents > 0 {
        lines.push(("Noch offen".into(), v.open.clone()));
    }
    if let Some(a) = &v.bank {
        lines.push(("Empfänger".into(), a.recipient.trim().to_owned()));
        lines.push(("IBAN".into(), v.iban.clone()));
        if !a.bic.trim().is_empty() {
            lines.push(("BIC".into(), a.bic.trim().to_owned()));
        }
        lines.push(("Verwendungszweck".into(), if v.rf.is_empty() { v.kassenzeichen.clone() } else { v.rf.clone() }));
    }
    if !v.due_on.is_empty() {
        lines.push(("Zahlbar bis".into(), v.due_on.clone()));
    }
    if !v.expires.is_empty() {
        lines.push(("Bezahlen bis".into(), v.expires.clone()));
    }
    let note = match (v.status.as_str(), v.mode.as_str()) {
        ("paid", _) => "Die Gebühr ist bezahlt. Vielen Dank.".to_owned(),
        (_, "vorab") if v.held => format!(
            "Ihr Antrag wird erst an {authority} weitergeleitet, wenn die Gebühr bezahlt ist. Bezahlen Sie online auf der Seite Ihrer Eingangsbestätigung."
        ),
        (_, "vorab") if v.expired_unpaid => {
            "Die Frist zum Bezahlen ist abgelaufen; der Antrag wurde nicht weitergeleitet.".to_owned()
        }
        (_, "rechnung") if v.bank.is_some() => {
            "Bitte überweisen Sie den Betrag mit dem angegebenen Verwendungszweck. Mit dem GiroCode füllt Ihre Banking-App die Überweisung aus.".to_owned()
        }
        _ => format!("Bitte bezahlen Sie die Gebühr bei {authority} und nennen Sie dabei das Kassenzeichen."),
    };
    Ok(Some(ReceiptPayment { lines, girocode_svg: v.girocode_svg, note }))
}

/// The payment of a submission for the hand-off (FIT-Connect `paymentInformation`,
/// xdomea, webhook).
///
/// # Errors
/// On store errors.
pub async fn package_payment(portal: &Portal, authority_id: i64, submission_id: i64) -> Result<Option<PackagePayment>> {
    let Some(p) = portal.store.payment_of_submission(authority_id, submission_id).await? else { return Ok(None) };
    let status = match PaymentStatus::parse(&p.status) {
        Some(PaymentStatus::Paid) => "BOOKED",
        Some(PaymentStatus::Expired) => "FAILED",
        Some(PaymentStatus::Cancelled) => "CANCELED",
        _ => "INITIAL",
    };
    let bookings = portal.store.bookings_of_payment(p.id).await?;
    let online = bookings.iter().rev().find(|b| b.attempt_id.is_some());
    let payment_method = match (online, bookings.iter().rev().find(|b| b.amount_cents > 0)) {
        (Some(b), _) if ["GIROPAY", "PAYDIRECT", "CREDITCARD", "PAYPAL", "INVOICE"].contains(&b.method.as_str()) => {
            b.method.clone()
        }
        (Some(_), _) => "OTHER".to_owned(),
        (None, Some(b)) if b.source == "bank" => "INVOICE".to_owned(),
        (None, Some(_)) => "OTHER".to_owned(),
        (None, None) if p.mode == PayMode::Rechnung.as_str() => "INVOICE".to_owned(),
        (None, None) => "OTHER".to_owned(),
    };
    let (mut transaction_id, mut transaction_url) = (String::new(), None);
    if let Some(attempt_id) = online.and_then(|b| b.attempt_id)
        && let Some(a) = portal.store.attempts_of(p.id).await?.into_iter().find(|a| a.id == attempt_id)
        && let Some(txid) = a.transaction_id
    {
        if let Some(c) = portal.store.payment_connector(a.connector_id).await?
            && let Some(cfg) = super::xbezahl_config(portal, &c).await
        {
            transaction_url = Some(cfg.status_url(&txid));
        }
        transaction_id = txid;
    }
    Ok(Some(PackagePayment {
        mode: p.mode.clone(),
        status: status.to_owned(),
        kassenzeichen: p.kassenzeichen.clone(),
        rf_reference: p.rf_reference.clone(),
        amount_cents: p.amount_cents,
        paid_cents: p.paid_cents,
        payment_method,
        transaction_id,
        transaction_url,
        provider_reference: online.map(|b| b.reference.clone()).unwrap_or_default(),
        paid_at_ms: p.paid_at,
    }))
}
