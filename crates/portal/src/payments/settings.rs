//! An authority's payment settings (one JSON document, versioned: a form opened
//! before someone else saved cannot overwrite that), and what the back office should
//! be warned about.

use crate::{Portal, PortalError, Result};
use amtsweg_domain::audit::AuditEntry;
use amtsweg_domain::payment::PaymentSettings;
use amtsweg_forms::FormPayMode;

/// Shown when the settings changed since the form was opened.
pub const CONFLICT: &str = "Jemand hat die Zahlungseinstellungen inzwischen geändert. Bitte laden Sie die Seite neu und tragen Sie Ihre Änderung erneut ein.";

/// The authority's settings and their version (0: never saved, the defaults). Stored
/// settings that no longer parse count as the defaults (logged), so a bad document
/// never stops applications.
///
/// # Errors
/// On store errors.
pub async fn load_versioned(portal: &Portal, authority_id: i64) -> Result<(PaymentSettings, i64)> {
    let Some(row) = portal.store.payment_settings(authority_id).await? else {
        return Ok((PaymentSettings::default(), 0));
    };
    match serde_json::from_str::<PaymentSettings>(&row.settings) {
        Ok(s) => Ok((s, row.version)),
        Err(e) => {
            tracing::error!(authority = authority_id, error = %e, "payment settings do not parse; using the defaults");
            Ok((PaymentSettings::default(), row.version))
        }
    }
}

/// The authority's settings (the defaults when none were saved).
///
/// # Errors
/// On store errors.
pub async fn load(portal: &Portal, authority_id: i64) -> Result<PaymentSettings> {
    Ok(load_versioned(portal, authority_id).await?.0)
}

/// Saves the settings after checking them; `version` is the one the form was shown
/// with (0 when none were saved). `Ok(Err(messages))` says what to fix, in German.
/// Audited (`payment.settings_saved`).
///
/// # Errors
/// On store errors.
pub async fn save(
    portal: &Portal,
    actor: &str,
    authority_id: i64,
    settings: &PaymentSettings,
    version: i64,
) -> Result<Result<(), Vec<String>>> {
    let problems = settings.problems();
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    let json = serde_json::to_string(settings).map_err(|e| PortalError::Internal(e.to_string()))?;
    let mut tx = portal.store.begin().await?;
    if !tx.save_payment_settings(authority_id, &json, Some(version)).await? {
        return Ok(Err(vec![CONFLICT.to_owned()]));
    }
    tx.append_audit(&AuditEntry {
        at: amtsweg_store::now_ms(),
        actor: actor.to_owned(),
        authority_id: Some(authority_id),
        action: "payment.settings_saved".into(),
        target: format!("authority:{authority_id}"),
        outcome: format!("version:{}", version + 1),
    })
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// What the authority's payment overview should warn about, in German: published
/// forms that ask for payment the authority cannot take as asked (no active
/// connector, or one whose settings do not work) — their applications are then
/// released at once with the fee due at the counter.
///
/// # Errors
/// On store errors.
pub async fn warnings(portal: &Portal, authority_id: i64) -> Result<Vec<String>> {
    let catalogue = portal.catalogue();
    let mut forms: Vec<_> = catalogue
        .all_forms()
        .filter(|f| f.authority_id == authority_id)
        .filter_map(|f| f.form.payment.as_ref().map(|p| (f.form_id, f.form.title.clone(), p.mode)))
        .collect();
    forms.sort_by(|a, b| a.1.cmp(&b.1));
    let mut out = Vec::new();
    for (form_id, title, mode) in forms {
        match mode {
            FormPayMode::Vorab if super::online_connector(portal, authority_id, Some(form_id)).await?.is_none() => {
                out.push(format!(
                    "„{title}“ verlangt die Zahlung vor der Weiterleitung, aber es gibt keine funktionierende \
                     Verbindung zu einem Bezahldienst. Anträge werden deshalb sofort weitergeleitet; die Gebühr wird \
                     per Rechnung erhoben, wenn ein Konto für Überweisungen eingetragen ist, sonst vor Ort."
                ));
            }
            FormPayMode::Rechnung if super::invoice_account(portal, authority_id, Some(form_id)).await?.is_none() => {
                out.push(format!(
                    "„{title}“ soll per Rechnung bezahlt werden, aber es ist kein gültiges Konto für Überweisungen \
                     eingetragen. Die Gebühr ist deshalb vor Ort zu bezahlen."
                ));
            }
            _ => {}
        }
    }
    Ok(out)
}
