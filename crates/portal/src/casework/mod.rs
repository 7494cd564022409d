//! Case work shared by the back office and the API: opening an authority's
//! submission, status changes along the form's workflow, messages and questions to
//! the citizen through the Postfach, internal notes, and the citizen's answers.
//!
//! Texts of the history are sealed under the authority's data key like the answers;
//! every change is written in one transaction with its history entry, the Postfach
//! message, the citizen's e-mail notice (never with content) and the audit entry.
//!
//! * [`conversation`]: the Postfach messages of a case in both directions, with
//!   attachments, and which replies nobody of the authority has read.
//! * [`decisions`]: the confirmation a final state needs, reopening a closed case,
//!   assignment of one case or many.
//! * [`withdraw`]: the citizen withdraws their own open application.
//! * [`applicant_name`]: the applicant's name for the inbox, from the answers.

mod applicant;
pub mod conversation;
pub mod decisions;
pub mod withdraw;

pub use applicant::applicant_name;

use crate::keyring::{authority_scope, record};
use crate::postfach::{self, Delivery, DeliveryError};
use crate::{Portal, PortalError, Result};
use amtsweg_domain::Authority;
use amtsweg_domain::audit::AuditEntry;
use amtsweg_domain::konto::{check_attachment, check_message};
use amtsweg_forms::Form;
use amtsweg_store::casework::NewEvent;
use amtsweg_store::konto::Direction;
use amtsweg_store::submissions::SubmissionRow;

/// Purpose the texts of a submission's history are sealed for (bound to the case:
/// an event's id is known only after its insert).
pub(crate) const EVENT_TEXT: &str = "antrag:event";

/// A submission opened for case work.
pub struct Case {
    pub row: SubmissionRow,
    pub authority: Authority,
    pub form: Form,
}

/// Who acts: the name the history shows and the audit log's actor.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    pub audit: String,
}

/// A message to the citizen: text and files (name, bytes).
#[derive(Debug, Default)]
pub struct Outgoing {
    pub text: String,
    pub files: Vec<(String, Vec<u8>)>,
}

impl Outgoing {
    fn is_empty(&self) -> bool {
        self.text.trim().is_empty() && self.files.is_empty()
    }
}

/// The definition of the form version a submission was made with.
///
/// # Errors
/// When the form or version is gone (404) or does not parse.
pub async fn form_of(portal: &Portal, row: &SubmissionRow) -> Result<Form> {
    // The form may be another authority's (adopted from the library).
    let owner = portal.store.form_owner(row.form_id).await?.ok_or(PortalError::NotFound)?;
    portal
        .store
        .form_version(owner, row.form_id, row.form_version)
        .await?
        .ok_or(PortalError::NotFound)?
        .form()
        .map_err(|e| PortalError::Form(e.to_string()))
}

/// The authority's submission `id`; 404 for another authority's or an unknown one.
///
/// # Errors
/// Not found, store errors.
pub async fn open_case(portal: &Portal, authority_id: i64, id: i64) -> Result<Case> {
    let row = portal.store.submission(authority_id, id).await?.ok_or(PortalError::NotFound)?;
    let authority = portal.catalogue().authority(authority_id).cloned().ok_or(PortalError::NotFound)?;
    let form = form_of(portal, &row).await?;
    Ok(Case { row, authority, form })
}

/// Seals a text of the history of submission `submission_id`.
///
/// # Errors
/// On crypto or store errors.
pub async fn seal_text(portal: &Portal, authority_id: i64, submission_id: i64, text: &str) -> Result<String> {
    if text.trim().is_empty() {
        return Ok(String::new());
    }
    let case = record::case(submission_id);
    portal.seal_bound(&authority_scope(authority_id), EVENT_TEXT, &case, text.trim().as_bytes()).await
}

/// Opens a text of the history of submission `submission_id`; one that does not
/// open shows as a notice.
pub async fn open_text(portal: &Portal, authority_id: i64, submission_id: i64, sealed: &str) -> String {
    if sealed.is_empty() {
        return String::new();
    }
    let case = record::case(submission_id);
    match portal.open_bound_text(&authority_scope(authority_id), EVENT_TEXT, &case, sealed).await {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "history text does not open");
            "(nicht lesbar)".into()
        }
    }
}

async fn prepare_message(
    portal: &Portal,
    case: &Case,
    out: &Outgoing,
) -> Result<Result<Option<postfach::Prepared>, String>> {
    if out.is_empty() {
        return Ok(Ok(None));
    }
    let Some(citizen_id) = case.row.citizen_id else {
        return Ok(Err("Der Antrag wurde ohne Bürgerkonto gestellt: Eine Nachricht kann nicht ins Postfach \
                       zugestellt werden. Bitte nehmen Sie auf anderem Weg Kontakt auf."
            .into()));
    };
    let d = Delivery {
        citizen_id,
        authority_id: case.row.authority_id,
        sender: case.authority.name.clone(),
        subject: format!("Ihr Antrag „{}“ ({})", case.row.title, case.row.receipt_number),
        body: out.text.clone(),
        attachments: out.files.clone(),
    };
    match postfach::prepare(portal, &d).await {
        Ok(p) => Ok(Ok(Some(p))),
        Err(DeliveryError::Invalid(m)) => Ok(Err(m)),
        Err(DeliveryError::UnknownCitizen) => Ok(Err(
            "Das Bürgerkonto dieses Antrags gibt es nicht mehr; die Nachricht kann nicht zugestellt werden.".into(),
        )),
        Err(DeliveryError::Portal(e)) => Err(e),
    }
}

/// Writes the message (if any) into the application's thread, or — without a
/// message — queues an e-mail notice of the new status for a signed-up citizen.
async fn write_message(
    portal: &Portal,
    tx: &mut amtsweg_store::Tx,
    case: &Case,
    prepared: Option<&postfach::Prepared>,
) -> Result<()> {
    let base = portal.settings.base_url().to_owned();
    if let Some(p) = prepared {
        let (thread, _) = postfach::write(tx, p, case.row.thread_id, &base)
            .await
            .map_err(|e| PortalError::Internal(e.to_string()))?;
        if case.row.thread_id != Some(thread) {
            tx.set_submission_thread(case.row.id, thread).await?;
        }
        return Ok(());
    }
    if let Some(cid) = case.row.citizen_id
        && let Some(c) = portal.store.citizen_by_id(cid).await?
        && let Some(email) = c.email.filter(|_| c.email_verified)
    {
        tx.enqueue_email(&amtsweg_store::outbox::EmailMessage {
            to: email,
            subject: "Neuigkeiten zu Ihrem Antrag".into(),
            body: format!(
                "Guten Tag,\n\nzu Ihrem Antrag mit der Eingangsnummer {} gibt es einen neuen Bearbeitungsstand.\n\
                 Aus Datenschutzgründen steht er nicht in dieser E-Mail. Sie sehen ihn nach der Anmeldung hier:\n\n\
                 {base}/konto/antraege/{}\n",
                case.row.receipt_number, case.row.id
            ),
            attachments: Vec::new(),
        })
        .await?;
    }
    Ok(())
}

fn audit_entry(case: &Case, actor: &Actor, action: &str, outcome: &str) -> AuditEntry {
    AuditEntry {
        at: amtsweg_store::now_ms(),
        actor: actor.audit.clone(),
        authority_id: Some(case.row.authority_id),
        action: action.into(),
        target: format!("submission:{}", case.row.id),
        outcome: outcome.into(),
    }
}

/// Moves the submission to `to` (with `outcome` for a final state) and, with a
/// message, tells the citizen in the Postfach. `Ok(Err(..))` carries what the person
/// must fix, in plain German.
///
/// # Errors
/// On store, object-store or crypto errors.
pub async fn change_status(
    portal: &Portal,
    case: &Case,
    to: &str,
    outcome: &str,
    out: &Outgoing,
    actor: &Actor,
) -> Result<Result<(), String>> {
    let workflow = case.form.workflow();
    if let Err(e) = workflow.check_transition(&case.row.status, to, outcome, &out.text) {
        return Ok(Err(e.0));
    }
    let prepared = match prepare_message(portal, case, out).await? {
        Ok(p) => p,
        Err(m) => return Ok(Err(m)),
    };
    let body = seal_text(portal, case.row.authority_id, case.row.id, &out.text).await?;
    let mut tx = portal.store.begin().await?;
    let event =
        NewEvent { kind: "status", status: to, sub_status: outcome, body: &body, public: true, actor: &actor.name };
    if !tx.change_status(case.row.authority_id, case.row.id, &case.row.status, &event).await? {
        return Ok(Err("Der Antrag wurde inzwischen anderweitig geändert. Bitte laden Sie die Seite neu und \
                       prüfen Sie den aktuellen Stand."
            .into()));
    }
    write_message(portal, &mut tx, case, prepared.as_ref()).await?;
    tx.append_audit(&audit_entry(case, actor, "submission.status", &format!("{to}{}", sub(outcome)))).await?;
    tx.commit().await?;
    portal.fresh_receipts.forget(&case.row.form_token);
    Ok(Ok(()))
}

fn sub(outcome: &str) -> String {
    if outcome.is_empty() { String::new() } else { format!(":{outcome}") }
}

/// Sends a message to the citizen without changing the status.
///
/// # Errors
/// On store, object-store or crypto errors.
pub async fn message(portal: &Portal, case: &Case, out: &Outgoing, actor: &Actor) -> Result<Result<(), String>> {
    if out.text.trim().is_empty() {
        return Ok(Err("Bitte schreiben Sie eine Nachricht.".into()));
    }
    let prepared = match prepare_message(portal, case, out).await? {
        Ok(p) => p,
        Err(m) => return Ok(Err(m)),
    };
    let body = seal_text(portal, case.row.authority_id, case.row.id, &out.text).await?;
    let mut tx = portal.store.begin().await?;
    let event = NewEvent {
        kind: "message",
        status: &case.row.status,
        sub_status: &case.row.sub_status,
        body: &body,
        public: true,
        actor: &actor.name,
    };
    tx.add_event(case.row.id, &event).await?;
    write_message(portal, &mut tx, case, prepared.as_ref()).await?;
    tx.append_audit(&audit_entry(case, actor, "submission.message", "success")).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// An internal note, never shown to the citizen.
///
/// # Errors
/// On store or crypto errors.
pub async fn note(portal: &Portal, case: &Case, text: &str, actor: &Actor) -> Result<Result<(), String>> {
    if text.trim().is_empty() {
        return Ok(Err("Bitte schreiben Sie eine Notiz.".into()));
    }
    if text.chars().count() > 10_000 {
        return Ok(Err("Eine Notiz darf höchstens 10.000 Zeichen lang sein.".into()));
    }
    let body = seal_text(portal, case.row.authority_id, case.row.id, text).await?;
    let mut tx = portal.store.begin().await?;
    let event = NewEvent {
        kind: "note",
        status: &case.row.status,
        sub_status: &case.row.sub_status,
        body: &body,
        public: false,
        actor: &actor.name,
    };
    tx.add_event(case.row.id, &event).await?;
    tx.append_audit(&audit_entry(case, actor, "submission.note", "success")).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// A reply of the citizen in one of their threads: message and attachments checked,
/// files stored first (a crash leaves at most an orphan file, never a message with a
/// missing attachment), then the message with the case-work consequences (a question
/// answered moves on) in one transaction. `Ok(Err(..))` says what to fix.
///
/// # Errors
/// On store, object-store or crypto errors; `NotFound` for another's thread.
pub async fn reply(
    portal: &Portal,
    citizen_id: i64,
    thread_id: i64,
    body: &str,
    files: &[(String, Vec<u8>)],
) -> Result<Result<i64, String>> {
    let t = portal.store.thread(citizen_id, thread_id).await?.ok_or(PortalError::NotFound)?;
    let mut checked = Vec::new();
    for (name, bytes) in files {
        match check_attachment(name, bytes) {
            Ok(content_type) => checked.push((name.as_str(), content_type, bytes.as_slice())),
            Err(e) => return Ok(Err(e.0)),
        }
    }
    if let Err(e) = check_message("Antwort", body) {
        return Ok(Err(e.0));
    }
    let stored = postfach::store_attachments(portal, t.authority_id, citizen_id, &checked).await?;
    let sealed =
        postfach::seal(portal, t.authority_id, "message", &record::citizen(citizen_id), body.trim().as_bytes()).await?;
    let mut tx = portal.store.begin().await?;
    tx.post_message(
        citizen_id,
        t.authority_id,
        Some(thread_id),
        "",
        Direction::FromCitizen,
        "Bürgerin/Bürger",
        &sealed,
        &stored,
    )
    .await?;
    citizen_replied(portal, &mut tx, citizen_id, thread_id).await?;
    tx.commit().await?;
    Ok(Ok(t.authority_id))
}

/// The citizen answered in the application's Postfach thread: recorded in the
/// history, and a question (Rückfrage) moves on to the workflow's next portal. Runs in
/// the transaction that stores the reply.
///
/// # Errors
/// On store errors.
pub async fn citizen_replied(
    portal: &Portal,
    tx: &mut amtsweg_store::Tx,
    citizen_id: i64,
    thread_id: i64,
) -> Result<()> {
    let Some(row) = portal.store.submission_of_thread(citizen_id, thread_id).await? else { return Ok(()) };
    let form = form_of(portal, &row).await?;
    let workflow = form.workflow();
    let next = workflow.state(&row.status).filter(|s| s.asks_citizen).and_then(|s| s.on_reply.clone());
    let actor = "Antragsteller/in";
    match next {
        Some(to) => {
            let e = NewEvent { kind: "reply", status: &to, sub_status: "", body: "", public: true, actor };
            tx.change_status(row.authority_id, row.id, &row.status, &e).await?;
            portal.fresh_receipts.forget(&row.form_token);
        }
        None => {
            let e = NewEvent {
                kind: "reply",
                status: &row.status,
                sub_status: &row.sub_status,
                body: "",
                public: true,
                actor,
            };
            tx.add_event(row.id, &e).await?;
        }
    }
    Ok(())
}
