//! What a submission is to pay, decided before its commit: the mode the authority
//! can really offer (graceful fallback), the Kassenzeichen (allocated in a small
//! transaction of its own, so the commit stays free of I/O; a submission that then
//! fails leaves a gap in the numbers), the RF reference, the booking data for the
//! treasury, the due date or expiry — and the confirmation e-mail's payment part with
//! the GiroCode as PNG for an invoice.

use crate::submission::Application;
use crate::{Portal, PortalError, Result};
use amtsweg_domain::payment::{Cents, Iban, InvoiceAccount, KassenzeichenPattern, PayMode, rf_from, rf_printed};
use amtsweg_forms::FormPayMode;
use amtsweg_store::outbox::EmailAttachment;
use amtsweg_store::payments::NewPayment;
use serde::{Deserialize, Serialize};

/// A payment planned for a submission.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Stored with the submission in its commit.
    pub payment: NewPayment,
    /// Appended to the confirmation e-mail.
    pub mail_text: String,
    /// The GiroCode (PNG) for the confirmation e-mail of an invoice.
    pub attachment: Option<EmailAttachment>,
}

/// The `booking` column: the service and the treasury's booking data. No personal data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    #[serde(default)]
    pub leika: String,
    /// `bookingData` for the provider, in order.
    #[serde(default)]
    pub data: Vec<(String, String)>,
}

impl Booking {
    /// The booking of a payment row ('' or unreadable: none).
    #[must_use]
    pub fn of(json: &str) -> Self {
        serde_json::from_str(json).unwrap_or_default()
    }
}

/// The payment of an application about to be stored, or `None` when its form
/// charges nothing (no payment part, or the amount computed is zero). The mode is
/// the form's where the authority can take it so: `vorab` needs an active
/// XBezahldienste connector (and an amount payable online), else it becomes an
/// invoice where there is an account; `rechnung` needs a valid account; otherwise
/// the fee is due at the counter (`vor_ort`). Only `vorab` holds the application.
///
/// # Errors
/// On store errors.
pub async fn for_submission(
    portal: &Portal,
    app: &Application<'_>,
    computed: &[(String, i64)],
) -> Result<Option<Plan>> {
    let Some(spec) = app.form.payment.as_ref() else { return Ok(None) };
    let Some(amount) = computed.iter().find(|(id, _)| *id == spec.amount).map(|(_, c)| Cents(*c)) else {
        // The form check refuses an unknown id; a value hidden by a condition is no fee.
        return Ok(None);
    };
    if amount.0 <= 0 {
        return Ok(None);
    }
    // Sent again (a retry with the same form token): the first submission keeps its
    // payment; no second Kassenzeichen is spent on it.
    if portal.store.submission_by_token(app.token).await?.is_some() {
        return Ok(None);
    }
    let authority = app.authority;
    let form_id = Some(app.published.form_id);
    let settings = super::settings::load(portal, authority.id).await?;
    let catalogue = portal.catalogue();
    let leika = app
        .published
        .leistung_id
        .and_then(|id| catalogue.leistungen.iter().find(|l| l.id == id))
        .map(|l| l.leika.as_str().to_owned())
        .unwrap_or_default();
    let (mode, connector_id, account) = match spec.mode {
        FormPayMode::Vorab => match super::online_connector(portal, authority.id, form_id).await? {
            Some((c, _)) if amount <= Cents::MAX_ONLINE => (PayMode::Vorab, Some(c.id), None),
            // Not payable online here (no working provider, or more than a provider
            // takes): an invoice where the authority has an account, so the citizen
            // still gets the bank details and a GiroCode; the back office's overview
            // warns about the form either way.
            _ => match super::invoice_account(portal, authority.id, form_id).await? {
                Some((c, a)) => (PayMode::Rechnung, Some(c.id), Some(a)),
                None => (PayMode::VorOrt, None, None),
            },
        },
        FormPayMode::Rechnung => match super::invoice_account(portal, authority.id, form_id).await? {
            Some((c, a)) => (PayMode::Rechnung, Some(c.id), Some(a)),
            None => (PayMode::VorOrt, None, None),
        },
        FormPayMode::VorOrt => (PayMode::VorOrt, None, None),
    };
    let kassenzeichen = allocate(portal, authority, &settings.pattern_for(&leika)).await?;
    // Up to 21 characters after compaction fit an RF reference; a longer
    // Kassenzeichen is named as text instead.
    let rf = rf_from(&kassenzeichen).unwrap_or_default();
    let purpose = if spec.purpose.trim().is_empty() { app.form.title.clone() } else { spec.purpose.trim().to_owned() };
    let booking = Booking { leika: leika.clone(), data: settings.booking_data(&leika, &kassenzeichen) };
    let booking = serde_json::to_string(&booking).map_err(|e| PortalError::Internal(e.to_string()))?;
    let now = amtsweg_store::now_ms();
    let (due_on, expires_at) = match mode {
        PayMode::Rechnung => {
            let days = i64::from(settings.invoice_due_days.clamp(1, 90));
            let due = crate::time::now_local().date().checked_add(jiff::Span::new().days(days)).ok();
            (due.map(|d| d.to_string()).unwrap_or_default(), None)
        }
        PayMode::Vorab => {
            (String::new(), Some(now + i64::from(settings.expire_unpaid_hours.clamp(1, 720)) * 3_600_000))
        }
        _ => (String::new(), None),
    };
    let mail_text =
        mail_text(mode, amount, &kassenzeichen, &rf, &due_on, expires_at, account.as_ref(), &authority.name);
    let attachment = match &account {
        Some(a) if amount <= Cents::MAX_GIROCODE => match super::girocode_png(a, amount, &rf, &kassenzeichen) {
            Ok(png) => {
                Some(EmailAttachment::binary(&format!("GiroCode-{}.png", file_safe(&kassenzeichen)), "image/png", &png))
            }
            Err(e) => {
                tracing::warn!(authority = authority.id, error = %e, "no GiroCode for an invoice");
                None
            }
        },
        _ => None,
    };
    let payment = NewPayment {
        authority_id: authority.id,
        mode: mode.as_str().to_owned(),
        connector_id,
        kassenzeichen,
        rf_reference: rf,
        purpose,
        amount_cents: amount.0,
        booking,
        due_on,
        expires_at,
        citizen_id: app.owner.citizen_id,
        hold: mode == PayMode::Vorab,
    };
    Ok(Some(Plan { payment, mail_text, attachment }))
}

/// The next Kassenzeichen of the authority by `pattern` (its own small transaction).
/// A pattern without a year counts on across years (counter year 0), so numbers never
/// repeat; a stored pattern that does not parse falls back to the default.
async fn allocate(portal: &Portal, authority: &amtsweg_domain::Authority, pattern: &str) -> Result<String> {
    let pattern = KassenzeichenPattern::parse(pattern).unwrap_or_else(|e| {
        tracing::error!(authority = authority.id, error = %e.0, "Kassenzeichen pattern does not parse; using the default");
        KassenzeichenPattern::parse(KassenzeichenPattern::DEFAULT).unwrap_or_else(|_| unreachable!())
    });
    let year = crate::time::now_local().year();
    let yearly = pattern.as_str().contains("{jahr}") || pattern.as_str().contains("{jj}");
    let mut tx = portal.store.begin().await?;
    let number = tx.next_kassenzeichen_number(authority.id, if yearly { i64::from(year) } else { 0 }).await?;
    tx.commit().await?;
    let amt = authority.receipt_prefix();
    pattern.render(year, number, &amt).or_else(|e| {
        tracing::error!(authority = authority.id, error = %e.0, "Kassenzeichen does not render; using the default");
        KassenzeichenPattern::parse(KassenzeichenPattern::DEFAULT)
            .and_then(|p| p.render(year, number, &amt))
            .map_err(|e| PortalError::Internal(e.0))
    })
}

/// Letters, digits and `-` (for file names).
fn file_safe(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect()
}

/// The payment part of the confirmation e-mail.
#[allow(clippy::too_many_arguments)]
fn mail_text(
    mode: PayMode,
    amount: Cents,
    kassenzeichen: &str,
    rf: &str,
    due_on: &str,
    expires_at: Option<i64>,
    account: Option<&InvoiceAccount>,
    authority: &str,
) -> String {
    let amount = amount.german();
    match (mode, account) {
        (PayMode::Vorab, _) => {
            let until = expires_at.map(crate::time::when).unwrap_or_default();
            format!(
                "\nZahlung\nIhr Antrag wird erst an {authority} weitergeleitet, wenn die Gebühr bezahlt ist.\nBetrag: {amount}\nKassenzeichen: {kassenzeichen}\nBitte bezahlen Sie bis {until} online: auf der Seite Ihrer Eingangsbestätigung mit „Jetzt bezahlen“. Ohne Zahlung wird der Antrag danach nicht bearbeitet.\n"
            )
        }
        (PayMode::Rechnung, Some(a)) => {
            let iban = Iban::parse(&a.iban).map(|i| i.printed()).unwrap_or_else(|_| a.iban.clone());
            let bic = if a.bic.trim().is_empty() { String::new() } else { format!("BIC: {}\n", a.bic.trim()) };
            let reference = if rf.is_empty() {
                format!("Verwendungszweck: {kassenzeichen}\n")
            } else {
                format!("Verwendungszweck: {} (bitte genau so angeben)\n", rf_printed(rf))
            };
            format!(
                "\nZahlung\nBitte überweisen Sie {amount} bis zum {}.\nEmpfänger: {}\nIBAN: {iban}\n{bic}{reference}Kassenzeichen: {kassenzeichen}\nMit dem GiroCode im Anhang füllt Ihre Banking-App die Überweisung aus.\n",
                super::german_date(due_on),
                a.recipient.trim()
            )
        }
        _ => format!(
            "\nZahlung\nDie Gebühr von {amount} bezahlen Sie bei {authority}. Bitte nennen Sie dabei das Kassenzeichen {kassenzeichen}.\n"
        ),
    }
}
