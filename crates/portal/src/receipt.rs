//! The receipt of a submission as PDF ("Eingangsbestätigung"), printed by the
//! portal's [`amtsweg_domain::receipt::ReceiptPrinter`] from the answers in words
//! (`amtsweg_forms::display`), the same lines the receipt page and the check page show.
//!
//! The confirmation e-mail links to a status page that shows no personal data
//! (reference, service, authority, date, status). Its link carries a key: an HMAC of
//! the form token under the keyring's MAC key, so the store keeps nothing for it and
//! no one can derive it from the form token (which the receipt address shows).

use crate::{Portal, PortalError, Result};
use amtsweg_domain::Authority;
use amtsweg_forms::Form;
use amtsweg_store::submissions::SubmissionRow;

/// The receipt of a submission as PDF bytes (printed off the async threads).
///
/// # Errors
/// When the data does not open or typesetting fails.
pub async fn pdf(portal: &Portal, authority: &Authority, form: &Form, s: &SubmissionRow) -> Result<Vec<u8>> {
    let data = crate::submission::open_data(portal, s).await?;
    let files = data.file_infos();
    let doc = amtsweg_domain::receipt::Receipt {
        authority: authority.name.clone(),
        title: s.title.clone(),
        receipt_number: s.receipt_number.clone(),
        submitted: crate::time::when(s.submitted_at),
        sections: amtsweg_forms::display::sections(form, &data.answers, &files)
            .into_iter()
            .map(|st| (st.title, st.lines.into_iter().map(|l| (l.label, l.value)).collect()))
            .collect(),
        computed: amtsweg_forms::display::amounts(form, &data.computed)
            .into_iter()
            .map(|a| (a.label, a.value))
            .collect(),
        files: data.files.iter().map(|f| (f.name.clone(), f.size)).collect(),
        payment: crate::payments::view::receipt_payment(portal, s.authority_id, s.id).await?,
    };
    let printer = std::sync::Arc::clone(&portal.printer);
    tokio::task::spawn_blocking(move || printer.print(&doc))
        .await
        .map_err(|e| PortalError::Internal(e.to_string()))?
        .map_err(PortalError::Internal)
}

/// The key of the status link of the submission with form token `token`.
///
/// # Errors
/// On crypto errors.
pub fn status_key(portal: &Portal, token: &str) -> Result<String> {
    portal.keyring.mac(&format!("eingang-status|{token}")).map_err(PortalError::Crypto)
}

/// Whether `key` is the status key of form token `token` (compared in constant time).
#[must_use]
pub fn status_key_matches(portal: &Portal, token: &str, key: &str) -> bool {
    status_key(portal, token).is_ok_and(|k| crate::tokens::tokens_match(&k, key))
}

/// The path of the status page the confirmation e-mail links to.
///
/// # Errors
/// On crypto errors.
pub fn status_path(portal: &Portal, authority_slug: &str, form_slug: &str, token: &str) -> Result<String> {
    Ok(format!("/o/{authority_slug}/antrag/{form_slug}/status/{token}?schluessel={}", status_key(portal, token)?))
}

/// The file name a receipt is downloaded as.
#[must_use]
pub fn file_name(s: &SubmissionRow) -> String {
    format!("Eingangsbestaetigung-{}.pdf", s.receipt_number)
}
