//! The citizen withdraws their own application (Antrag zurückziehen) while it is
//! open in its workflow, with an optional reason.
//!
//! One transaction: the status `zurueckgezogen` compare-and-set from the state the
//! citizen saw, a public history entry of kind `status` (so the back office, the
//! citizen's history and the API show it like any change of state), the reason —
//! if given — as an internal history entry the case view shows (sealed like every
//! text of the history; the case view shows texts of status entries only as
//! Postfach messages), and the audit entry `submission.withdraw` without content.
//!
//! Hand-off targets learn of it the way they learn of every change of state: the
//! API shows the new status and the history entry. Webhooks carry only the receipt
//! of a new submission; there is no status event for them yet (for no change of
//! state), so a withdrawal is not pushed either.

use super::{form_of, seal_text};
use crate::{Portal, PortalError, Result};
use amtsweg_domain::audit::AuditEntry;
use amtsweg_forms::workflow::WITHDRAWN;
use amtsweg_store::casework::NewEvent;
use amtsweg_store::submissions::SubmissionRow;

/// The longest reason a citizen may give.
pub const MAX_REASON: usize = 500;

/// Who the history names for the citizen's own actions.
const APPLICANT: &str = "Antragsteller/in";

/// The citizen's application `id`; `NotFound` for another's or an unknown one.
///
/// # Errors
/// Not found, store errors.
pub async fn own(portal: &Portal, citizen_id: i64, id: i64) -> Result<SubmissionRow> {
    portal.store.submission_of_citizen(citizen_id, id).await?.ok_or(PortalError::NotFound)
}

/// Why the application cannot be withdrawn now, in plain German; `None` when it can.
///
/// # Errors
/// When the form version is gone or does not parse; store errors.
pub async fn refusal(portal: &Portal, row: &SubmissionRow) -> Result<Option<String>> {
    let form = form_of(portal, row).await?;
    Ok(form.workflow().check_withdrawal(&row.status).err().map(|e| e.0))
}

/// Checks the optional reason: at most [`MAX_REASON`] characters, no control
/// characters but line breaks and tabs.
fn check_reason(reason: &str) -> std::result::Result<(), String> {
    if reason.chars().count() > MAX_REASON {
        return Err(format!(
            "Die Begründung darf höchstens {MAX_REASON} Zeichen lang sein (jetzt {}).",
            reason.chars().count()
        ));
    }
    if reason.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err("Die Begründung enthält Steuerzeichen. Bitte geben Sie nur Text ein.".into());
    }
    Ok(())
}

/// Withdraws the citizen's application `id`. `Ok(Err(..))` says, in plain German,
/// why not (already withdrawn or decided, held for payment, reason too long).
///
/// # Errors
/// `NotFound` for another's application; store, crypto errors.
pub async fn withdraw(
    portal: &Portal,
    citizen_id: i64,
    id: i64,
    reason: &str,
) -> Result<std::result::Result<(), String>> {
    let row = own(portal, citizen_id, id).await?;
    if let Some(why) = refusal(portal, &row).await? {
        return Ok(Err(why));
    }
    let reason = reason.trim();
    if let Err(why) = check_reason(reason) {
        return Ok(Err(why));
    }
    let body = if reason.is_empty() {
        String::new()
    } else {
        seal_text(portal, row.authority_id, row.id, &format!("Begründung für das Zurückziehen: {reason}")).await?
    };
    let mut tx = portal.store.begin().await?;
    let event =
        NewEvent { kind: "status", status: WITHDRAWN, sub_status: "", body: "", public: true, actor: APPLICANT };
    if !tx.change_status(row.authority_id, row.id, &row.status, &event).await? {
        return Ok(
            Err("Der Stand des Antrags hat sich eben geändert. Bitte sehen Sie ihn sich noch einmal an.".into()),
        );
    }
    if !body.is_empty() {
        let note =
            NewEvent { kind: "note", status: WITHDRAWN, sub_status: "", body: &body, public: false, actor: APPLICANT };
        tx.add_event(row.id, &note).await?;
    }
    tx.append_audit(&AuditEntry {
        at: amtsweg_store::now_ms(),
        actor: format!("citizen:{citizen_id}"),
        authority_id: Some(row.authority_id),
        action: "submission.withdraw".into(),
        target: format!("submission:{}", row.id),
        outcome: "success".into(),
    })
    .await?;
    tx.commit().await?;
    portal.fresh_receipts.forget(&row.form_token);
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_short_plain_text() {
        assert!(check_reason("").is_ok());
        assert!(check_reason(&"ä".repeat(MAX_REASON)).is_ok());
        assert!(check_reason(&"ä".repeat(MAX_REASON + 1)).unwrap_err().contains("höchstens 500"));
        assert!(check_reason("Zeile 1\nZeile 2\t!").is_ok());
        assert!(check_reason("a\u{0}b").is_err());
    }
}
