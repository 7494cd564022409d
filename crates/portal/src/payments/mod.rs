//! Fees and payment of applications (and of claims from the finance software): what
//! is to be paid and how ([`plan`]), paying online through an XBezahldienste provider
//! ([`online`]) with a poll worker that learns every outcome even when the citizen
//! never comes back ([`worker`]), payments at the counter ([`counter`]), what the
//! citizen, the case worker and the hand-off see ([`view`]), GiroCodes ([`qr`]), the
//! notices by e-mail ([`mail`]), closing a payment's review ([`review`]), and the
//! authority's payment connectors and settings ([`connectors`], [`settings`]).
//!
//! A form asking for payment *before* release (`vorab`) stores its submission as
//! `zahlung_ausstehend`: the store keeps it out of every inbox, count and API list and
//! releases it in the transaction that books the payment — exactly once, whoever
//! learns of the payment first (the return page, the worker, the counter). An
//! authority without a working connector gets no held applications: the payment is
//! then recorded as due at the counter (`vor_ort`) and [`settings::warnings`] tells the
//! back office.

pub mod connectors;
pub mod counter;
pub mod mail;
pub mod online;
pub mod plan;
pub mod qr;
pub mod review;
pub mod settings;
pub mod view;
pub mod worker;

use crate::{Portal, Result};
use amtsweg_domain::payment::{Cents, GiroCode, GiroVersion, InvoiceAccount, Remittance, payload};
use amtsweg_handoff::payment::xbezahl::XBezahlConfig;
use amtsweg_store::payments::{KIND_RECHNUNG, KIND_XBEZAHLDIENSTE, PaymentConnectorRow};

/// The active XBezahldienste connector for a form of the authority (one for the form
/// before one for all forms), with its opened configuration. A connector whose
/// configuration does not open or parse counts as none (and is logged).
///
/// # Errors
/// On store errors.
pub async fn online_connector(
    portal: &Portal,
    authority_id: i64,
    form_id: Option<i64>,
) -> Result<Option<(PaymentConnectorRow, XBezahlConfig)>> {
    let Some(c) = portal.store.payment_connector_for(authority_id, form_id, KIND_XBEZAHLDIENSTE).await? else {
        return Ok(None);
    };
    Ok(xbezahl_config(portal, &c).await.map(|cfg| (c, cfg)))
}

/// The opened configuration of an XBezahldienste connector; `None` (logged) when it
/// does not open or parse.
pub(crate) async fn xbezahl_config(portal: &Portal, c: &PaymentConnectorRow) -> Option<XBezahlConfig> {
    if c.kind != KIND_XBEZAHLDIENSTE {
        return None;
    }
    let json = match connectors::open_config(portal, c).await {
        Ok(j) => j,
        Err(e) => {
            tracing::error!(connector = c.id, error = %e, "payment connector settings do not open");
            return None;
        }
    };
    match serde_json::from_str::<XBezahlConfig>(&json) {
        Ok(cfg) => Some(cfg),
        Err(e) => {
            tracing::error!(connector = c.id, error = %e, "payment connector settings do not parse");
            None
        }
    }
}

/// The active invoice account (`rechnung` connector) for a form of the authority,
/// opened and checked; `None` when there is none or it is not valid (logged).
///
/// # Errors
/// On store errors.
pub async fn invoice_account(
    portal: &Portal,
    authority_id: i64,
    form_id: Option<i64>,
) -> Result<Option<(PaymentConnectorRow, InvoiceAccount)>> {
    let Some(c) = portal.store.payment_connector_for(authority_id, form_id, KIND_RECHNUNG).await? else {
        return Ok(None);
    };
    Ok(account_of(portal, &c).await.map(|a| (c, a)))
}

/// The opened, valid account of a `rechnung` connector.
pub(crate) async fn account_of(portal: &Portal, c: &PaymentConnectorRow) -> Option<InvoiceAccount> {
    if c.kind != KIND_RECHNUNG {
        return None;
    }
    let json = match connectors::open_config(portal, c).await {
        Ok(j) => j,
        Err(e) => {
            tracing::error!(connector = c.id, error = %e, "invoice account does not open");
            return None;
        }
    };
    match serde_json::from_str::<InvoiceAccount>(&json).map_err(|e| e.to_string()).and_then(|a| {
        a.validate().map_err(|e| e.0)?;
        Ok(a)
    }) {
        Ok(a) => Some(a),
        Err(e) => {
            tracing::error!(connector = c.id, error = %e, "invoice account is not valid");
            None
        }
    }
}

/// The GiroCode payload (version 002, UTF-8) for paying `amount` to `account` with
/// the RF reference `rf` — or, without one, the Kassenzeichen as text.
///
/// # Errors
/// When a field breaks EPC069-12 (German message).
pub fn girocode_payload(
    account: &InvoiceAccount,
    amount: Cents,
    rf: &str,
    kassenzeichen: &str,
) -> Result<String, String> {
    let name: String = account.recipient.chars().take(70).collect();
    let remittance = if rf.is_empty() { Remittance::Text(kassenzeichen) } else { Remittance::Structured(rf) };
    payload(&GiroCode {
        version: GiroVersion::V002,
        bic: account.bic.trim(),
        name: name.trim(),
        iban: &account.iban,
        amount: Some(amount),
        purpose: "",
        remittance,
        note: "",
    })
    .map_err(|e| e.0)
}

/// The GiroCode as SVG, titled for screen readers.
///
/// # Errors
/// When the payload cannot be made or encoded.
pub fn girocode_svg(account: &InvoiceAccount, amount: Cents, rf: &str, kassenzeichen: &str) -> Result<String, String> {
    let text = girocode_payload(account, amount, rf, kassenzeichen)?;
    let title = format!(
        "GiroCode: Überweisung von {} an {} – mit der Banking-App scannen",
        amount.german(),
        account.recipient.trim()
    );
    Ok(qr::encode(&text)?.svg(&title))
}

/// The GiroCode as PNG for e-mails (6 pixels per module).
///
/// # Errors
/// When the payload cannot be made or encoded.
pub fn girocode_png(account: &InvoiceAccount, amount: Cents, rf: &str, kassenzeichen: &str) -> Result<Vec<u8>, String> {
    let text = girocode_payload(account, amount, rf, kassenzeichen)?;
    qr::encode(&text)?.png(6)
}

/// Today in Germany as `YYYY-MM-DD`.
pub(crate) fn today() -> String {
    crate::time::now_local().date().to_string()
}

/// `YYYY-MM-DD` as `07.12.2026`; other text as it is.
#[must_use]
pub fn german_date(iso: &str) -> String {
    iso.parse::<jiff::civil::Date>().map_or_else(|_| iso.to_owned(), |d| d.strftime("%d.%m.%Y").to_string())
}
