//! The e-mails about a held application: released after payment, or expired
//! unpaid. Like every notice they carry no answers — the receipt number, the
//! service, the amount and the status link (which shows no personal data).
//!
//! The address is the account's, else the form's first e-mail answer (opened from
//! the sealed data only when a notice is actually due).

use crate::submission::{contact_email, open_data};
use crate::{Portal, Result};
use amtsweg_domain::payment::Cents;
use amtsweg_store::outbox::EmailMessage;
use amtsweg_store::payments::{AWAITING_PAYMENT, PAYMENT_EXPIRED, PaymentRow};
use amtsweg_store::submissions::SubmissionRow;

/// Who a notice about a submission goes to and what it names.
#[derive(Debug, Clone)]
pub struct Notice {
    pub to: String,
    pub receipt_number: String,
    pub title: String,
    pub authority: String,
    /// Absolute link to the status page.
    pub status_link: String,
}

/// The notice context of the authority's submission `submission_id`; `None` when it
/// has no e-mail address (or no longer exists).
///
/// # Errors
/// On store errors. Data that does not open only loses the address (logged).
pub async fn notice(portal: &Portal, authority_id: i64, submission_id: i64) -> Result<Option<Notice>> {
    let Some(s) = portal.store.submission(authority_id, submission_id).await? else { return Ok(None) };
    let Some(to) = address(portal, &s).await? else { return Ok(None) };
    let catalogue = portal.catalogue();
    let authority = catalogue.authority(authority_id).map(|a| (a.name.clone(), a.slug.as_str().to_owned()));
    let form_slug = catalogue.form_by_id(authority_id, s.form_id).map(|f| f.slug.clone());
    let status_link = match (&authority, form_slug) {
        (Some((_, slug)), Some(form)) => format!(
            "{}{}",
            portal.settings.base_url(),
            crate::receipt::status_path(portal, slug, &form, &s.form_token)?
        ),
        _ => portal.settings.base_url().to_owned(),
    };
    Ok(Some(Notice {
        to,
        receipt_number: s.receipt_number.clone(),
        title: s.title.clone(),
        authority: authority.map(|a| a.0).unwrap_or_default(),
        status_link,
    }))
}

/// The release notice for a payment whose application is still held (`None`
/// otherwise, or without an address): handed to the booking, which sends it only
/// when it really releases.
///
/// # Errors
/// On store errors.
pub async fn release_notice(portal: &Portal, p: &PaymentRow) -> Result<Option<EmailMessage>> {
    let Some(sid) = p.submission_id else { return Ok(None) };
    let Some(s) = portal.store.submission(p.authority_id, sid).await? else { return Ok(None) };
    if s.status != AWAITING_PAYMENT && s.status != PAYMENT_EXPIRED {
        return Ok(None);
    }
    Ok(notice(portal, p.authority_id, sid).await?.map(|n| released(&n, Cents(p.amount_cents))))
}

async fn address(portal: &Portal, s: &SubmissionRow) -> Result<Option<String>> {
    if let Some(id) = s.citizen_id
        && let Some(c) = portal.store.citizen_by_id(id).await?
        && let Some(email) = c.email.filter(|e| !e.is_empty())
    {
        return Ok(Some(email));
    }
    let form = match crate::casework::form_of(portal, s).await {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(submission = s.id, error = %e, "form of a held application not found");
            return Ok(None);
        }
    };
    match open_data(portal, s).await {
        Ok(data) => Ok(contact_email(None, &form, &data.answers)),
        Err(e) => {
            tracing::error!(submission = s.id, error = %e, "data of a held application does not open");
            Ok(None)
        }
    }
}

/// The application was paid and is now with the authority.
#[must_use]
pub fn released(n: &Notice, amount: Cents) -> EmailMessage {
    EmailMessage {
        to: n.to.clone(),
        subject: format!("Zahlung eingegangen – {} {}", n.title, n.receipt_number),
        body: format!(
            "Guten Tag,\n\nwir haben Ihre Zahlung über {} erhalten. Ihr Antrag „{}“ (Eingangsnummer {}) ist jetzt bei {} und wird bearbeitet.\n\nDen Stand Ihres Antrags sehen Sie hier (der Link zeigt keine persönlichen Angaben; bitte geben Sie ihn nicht weiter):\n{}\n",
            amount.german(),
            n.title,
            n.receipt_number,
            n.authority,
            n.status_link
        ),
        attachments: Vec::new(),
    }
}

/// The application was not paid in time and was not passed on.
#[must_use]
pub fn expired(n: &Notice) -> EmailMessage {
    EmailMessage {
        to: n.to.clone(),
        subject: format!("Antrag nicht bezahlt – {} {}", n.title, n.receipt_number),
        body: format!(
            "Guten Tag,\n\nfür Ihren Antrag „{}“ (Eingangsnummer {}) ist keine Zahlung eingegangen. Die Frist ist abgelaufen; der Antrag wurde deshalb nicht an {} weitergeleitet.\n\nWenn Sie den Antrag weiter stellen möchten, füllen Sie ihn bitte erneut aus. Haben Sie doch bezahlt, wenden Sie sich bitte mit der Eingangsnummer an {}.\n\nStand des Antrags:\n{}\n",
            n.title, n.receipt_number, n.authority, n.authority, n.status_link
        ),
        attachments: Vec::new(),
    }
}
