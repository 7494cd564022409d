//! Accepting an application: every answer checked again (the rule engine and the
//! checks that need the portal's data), then the submission with its files, the
//! confirmation e-mail and the outbox rows in one commit through the group-commit
//! writer. The same form token again finds the same submission, never a second one.

use crate::catalogue::{Catalogue, PublishedForm};
use crate::drafts::FileInfo;
use crate::fresh_receipts::FreshReceipt;
use crate::keyring::{authority_scope, record};
use crate::{Portal, PortalError, Result};
use amtsweg_domain::Authority;
use amtsweg_forms::{Answer, Answers, Form, Item, Kind, Step, visible_steps};
use amtsweg_store::outbox::EmailMessage;
use amtsweg_store::submissions::{FileRow, OwnedSubmission, SubmissionRow};
use sha2::{Digest, Sha256};

pub(crate) mod data;
pub use data::{SubmissionData, SubmittedFile};

/// Purpose the submission data is sealed for (bound to the form token, which is
/// known before the group commit gives the row its id).
pub(crate) const SUBMISSION: &str = "antrag:submission";

/// Checks the engine cannot make because they need the portal's data: addresses
/// inside the Verbund, and that every file answer names a file of this draft.
/// (field or path, message) for each problem.
#[must_use]
pub fn server_checks(
    c: &Catalogue,
    form: &Form,
    step: Option<&Step>,
    answers: &Answers,
    files: &[FileInfo],
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for s in visible_steps(form, answers) {
        if step.is_some_and(|x| x.id != s.id) {
            continue;
        }
        for item in &s.items {
            let Item::Field(f) = item else { continue };
            if f.visible_if.as_ref().is_some_and(|c| !amtsweg_forms::holds(c, answers)) {
                continue;
            }
            let Some(Answer::One(v)) = answers.get(&f.id) else { continue };
            match &f.kind {
                Kind::Address { in_verbund: true } if !v.is_empty() => {
                    let (_, place) = amtsweg_forms::split_address(v);
                    let (plz, city) = place.split_once(' ').unwrap_or((place, ""));
                    let known = c.places.iter().any(|p| {
                        p.plz.iter().any(|x| x == plz.trim()) && p.name.to_lowercase() == city.trim().to_lowercase()
                    });
                    if !known && amtsweg_forms::check_value(f, v, crate::time::today()).is_ok() {
                        let names: Vec<&str> = c.places.iter().map(|p| p.name.as_str()).collect();
                        out.push((
                            f.id.clone(),
                            format!(
                                "Die Anschrift bei „{}“ muss im {} liegen ({}). Bitte prüfen Sie Postleitzahl und Ort.",
                                f.label,
                                c.verbund_name,
                                names.join(", ")
                            ),
                        ));
                    }
                }
                Kind::File { .. } if !v.is_empty() => {
                    let ok = v
                        .strip_prefix("datei:")
                        .and_then(|id| id.parse::<i64>().ok())
                        .is_some_and(|id| files.iter().any(|x| x.id == id && x.field == f.id));
                    if !ok {
                        out.push((
                            f.id.clone(),
                            format!("Die Datei zu „{}“ fehlt. Bitte laden Sie sie erneut hoch.", f.label),
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// Accepts a whole application in one call: the rule engine's [`amtsweg_forms::accept`]
/// over every visible step, and the server's checks. The problems of both, as
/// (path, message); none means it may be stored with [`store`].
#[must_use]
pub fn accept(
    c: &Catalogue,
    form: &Form,
    answers: &Answers,
    files: &[FileInfo],
) -> (amtsweg_forms::Accepted, Vec<(String, String)>) {
    let accepted = amtsweg_forms::accept(form, None, answers, crate::time::today());
    let mut problems: Vec<(String, String)> =
        accepted.problems.iter().map(|p| (p.path.clone(), p.message.clone())).collect();
    problems.extend(server_checks(c, form, None, &accepted.answers, files));
    (accepted, problems)
}

/// Who a submission belongs to: the account, or the anonymous browser (hash of its
/// draft cookie).
#[derive(Debug, Clone)]
pub struct Owner {
    pub citizen_id: Option<i64>,
    pub browser_hash: String,
}

/// An application ready to be stored: which form version, where, by whom.
pub struct Application<'a> {
    pub authority: &'a Authority,
    pub published: &'a PublishedForm,
    /// The definition of the version it was filled in with.
    pub form: &'a Form,
    pub version: i64,
    /// The form token: the key of the draft and of the submission.
    pub token: &'a str,
    pub owner: Owner,
    /// Where the confirmation goes: the account's address, else the form's first
    /// e-mail answer.
    pub email: Option<String>,
    /// The receipt page's path (the e-mail links to it).
    pub receipt_path: String,
}

/// The e-mail address a confirmation goes to: the account's, else the first e-mail
/// answer of the form.
#[must_use]
pub fn contact_email(account: Option<&str>, form: &Form, answers: &Answers) -> Option<String> {
    if let Some(e) = account {
        return Some(e.to_owned());
    }
    form.steps.iter().flat_map(|s| &s.items).find_map(|i| match i {
        Item::Field(f) if matches!(f.kind, Kind::Email) => match answers.get(&f.id) {
            Some(Answer::One(v)) if !v.is_empty() => Some(v.clone()),
            _ => None,
        },
        _ => None,
    })
}

/// Stores an application [`accept`]ed without problems as a submission in one
/// commit (normalised answers sealed with their hash, the draft's files, the
/// confirmation e-mail — with a copy of the answers when `copy` —, the outbox rows).
/// Stored twice with the same token, the second call finds the first.
///
/// # Errors
/// On store or crypto errors.
pub async fn store(
    portal: &Portal,
    app: &Application<'_>,
    accepted: amtsweg_forms::Accepted,
    files: &[FileInfo],
    stored_files: &[FileRow],
    copy: bool,
) -> Result<()> {
    let form = app.form;
    let answers = &accepted.answers;
    let data = SubmissionData {
        form: app.published.slug.clone(),
        version: app.version,
        answers: accepted.normalized,
        computed: accepted.computed,
        files: stored_files
            .iter()
            .map(|x| SubmittedFile {
                field: x.field.clone(),
                name: files.iter().find(|i| i.id == x.id).map(|i| i.name.clone()).unwrap_or_default(),
                size: x.size,
                sha256: x.sha256.clone(),
            })
            .collect(),
    };
    let json = serde_json::to_string(&data).map_err(|e| PortalError::Internal(e.to_string()))?;
    let hash = hex::encode(Sha256::digest(json.as_bytes()));
    let scope = authority_scope(app.authority.id);
    let sealed = portal.seal_bound(&scope, SUBMISSION, &record::submission(app.token), json.as_bytes()).await?;
    // The status page (no personal data) opens from any browser; the receipt itself
    // only for the account or the browser that applied.
    let status = crate::receipt::status_path(portal, app.authority.slug.as_str(), &app.published.slug, app.token)?;
    let link = format!("{}{status}", portal.settings.base_url());
    // The fee, decided and numbered before the commit (which stays free of I/O).
    let plan = crate::payments::plan::for_submission(portal, app, &data.computed).await?;
    let mail = app.email.clone().map(|to| {
        let copy = if copy {
            let sections = amtsweg_forms::display::sections(form, answers, files);
            format!("\nIhre Angaben:\n{}\n", amtsweg_forms::display::plain_text(&sections))
        } else {
            String::new()
        };
        let payment = plan.as_ref().map(|p| p.mail_text.as_str()).unwrap_or_default();
        EmailMessage {
            to,
            subject: format!("Eingangsbestätigung {{eingangsnummer}} – {}", form.title),
            body: format!(
                "Guten Tag,\n\n{} hat Ihren Antrag „{}“ erhalten.\nEingangsnummer: {{eingangsnummer}}\n{payment}\nDen Stand Ihres Antrags sehen Sie unter diesem Link (er zeigt keine persönlichen Angaben; bitte geben Sie ihn nicht weiter):\n{link}\n{copy}\nBitte geben Sie die Eingangsnummer bei Rückfragen an.\n",
                app.authority.name, form.title
            ),
            attachments: plan.as_ref().and_then(|p| p.attachment.clone()).into_iter().collect(),
        }
    });
    let year = i64::from(crate::time::now_local().year());
    let browser_hash = if app.owner.citizen_id.is_some() { String::new() } else { app.owner.browser_hash.clone() };
    let catalogue = portal.catalogue();
    let new = OwnedSubmission {
        form_token: app.token.to_owned(),
        authority_id: app.authority.id,
        form_id: app.published.form_id,
        form_version: app.version,
        title: form.title.clone(),
        org_unit_id: app
            .published
            .leistung_id
            .and_then(|id| catalogue.leistungen.iter().find(|l| l.id == id).and_then(|l| l.org_unit_id)),
        citizen_id: app.owner.citizen_id,
        browser_hash: browser_hash.clone(),
        data: sealed,
        data_hash: hash.clone(),
        receipt_prefix: app.authority.receipt_prefix(),
        year,
        confirmation: mail,
    };
    // With a payment the receipt page reads the store: it shows the payment's state.
    let with_payment = plan.is_some();
    match portal.submissions.submit_with_payment(new, plan.map(|p| p.payment)).await {
        Ok(s) => {
            if s.new && !with_payment {
                let receipt = FreshReceipt {
                    authority_id: app.authority.id,
                    form_id: app.published.form_id,
                    form_version: app.version,
                    citizen_id: app.owner.citizen_id,
                    browser_hash,
                    receipt_number: s.receipt_number,
                    submitted_at: s.submitted_at,
                    data_hash: hash,
                    data,
                };
                portal.fresh_receipts.put(app.token, receipt);
            }
            Ok(())
        }
        // Sent twice at the same moment: the other request stored it.
        Err(e) => match portal.store.submission_by_token(app.token).await? {
            Some(_) => Ok(()),
            None => Err(e.into()),
        },
    }
}

/// The stored data of a submission, opened.
///
/// # Errors
/// When it does not open or parse.
pub async fn open_data(portal: &Portal, s: &SubmissionRow) -> Result<SubmissionData> {
    let scope = authority_scope(s.authority_id);
    let json = portal.open_bound_text(&scope, SUBMISSION, &record::submission(&s.form_token), &s.data).await?;
    serde_json::from_str(&json).map_err(|e| PortalError::Internal(format!("submission data: {e}")))
}
