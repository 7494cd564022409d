//! Decisions that end a case and the way back, and who works on a case.
//!
//! * A final state (a decision such as "Abgeschlossen: Bewilligt", or a withdrawal)
//!   ends the case for good in the workflow: the back office asks for an explicit
//!   confirmation that names this consequence ([`final_consequence`]).
//! * A case worker can reopen a closed case ([`reopen`]) with a reason: the case
//!   goes back to the last open state it had, the reason is in the history, the
//!   citizen is told in the Postfach (or by the e-mail notice of a new status), and
//!   the audit log records it — all in one transaction.
//! * Assignment ([`assign`]) of one case or many (the inbox's bulk assignment).

use super::{Actor, Case, Outgoing, audit_entry, prepare_message, seal_text, write_message};
use crate::{Portal, Result};
use amtsweg_forms::workflow::RECEIVED;
use amtsweg_store::casework::NewEvent;

/// The longest reason for reopening a case.
pub const MAX_REASON: usize = 2_000;

/// What setting `to` (with `outcome`) means, when it is a final state: a sentence
/// for the confirmation. `None` for a state that is not final.
#[must_use]
pub fn final_consequence(case: &Case, to: &str, outcome: &str) -> Option<String> {
    let workflow = case.form.workflow();
    let state = workflow.state(to).filter(|s| s.is_final)?;
    let label = workflow.label(&state.id, outcome);
    let tell = if case.row.citizen_id.is_some() {
        "die antragstellende Person wird darüber benachrichtigt"
    } else {
        "der Antrag wurde ohne Bürgerkonto gestellt, informieren Sie die antragstellende Person bitte auf anderem Weg"
    };
    Some(format!(
        "„{label}“ ist eine abschließende Entscheidung: Der Antrag ist danach abgeschlossen und kann nicht mehr \
         bearbeitet werden, {tell}. Nur mit einer Begründung kann er wieder aufgenommen werden."
    ))
}

/// The state a reopened case returns to: the last open state of its history that
/// asks the citizen nothing, else the first such state after "eingegangen".
async fn reopen_target(portal: &Portal, case: &Case) -> Result<String> {
    let workflow = case.form.workflow();
    let open = |id: &str| workflow.state(id).is_some_and(|s| !s.is_final && !s.asks_citizen);
    let events = portal.store.submission_events(case.row.id).await?;
    if let Some(e) = events.iter().rev().find(|e| e.kind != "note" && open(&e.status)) {
        return Ok(e.status.clone());
    }
    let first_after_received =
        workflow.next_of(RECEIVED).into_iter().find(|s| !s.is_final && !s.asks_citizen).map(|s| s.id.clone());
    Ok(first_after_received.unwrap_or_else(|| RECEIVED.to_owned()))
}

/// Reopens a closed case with a reason. `Ok(Ok(state))` names the state it returned
/// to; `Ok(Err(..))` says what to fix, in plain German.
///
/// # Errors
/// On store, object-store or crypto errors.
pub async fn reopen(portal: &Portal, case: &Case, reason: &str, actor: &Actor) -> Result<Result<String, String>> {
    let workflow = case.form.workflow();
    if !workflow.state(&case.row.status).is_some_and(|s| s.is_final) {
        return Ok(Err("Der Antrag ist nicht abgeschlossen; er muss nicht wieder aufgenommen werden.".into()));
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Ok(Err("Bitte geben Sie an, warum der Antrag wieder aufgenommen wird.".into()));
    }
    if reason.chars().count() > MAX_REASON {
        return Ok(Err(format!("Die Begründung darf höchstens {MAX_REASON} Zeichen lang sein.")));
    }
    let to = reopen_target(portal, case).await?;
    let label = workflow.label(&to, "");
    // The citizen was told of the decision; they are told it is open again, and why.
    let out = Outgoing {
        text: format!(
            "Ihr Antrag wird wieder bearbeitet (Stand: {label}). Die bisherige Entscheidung gilt nicht mehr.\n\n\
             Begründung: {reason}"
        ),
        files: Vec::new(),
    };
    let prepared = if case.row.citizen_id.is_some() {
        match prepare_message(portal, case, &out).await? {
            Ok(p) => p,
            Err(m) => return Ok(Err(m)),
        }
    } else {
        None
    };
    let body = seal_text(portal, case.row.authority_id, case.row.id, reason).await?;
    let mut tx = portal.store.begin().await?;
    let event = NewEvent { kind: "reopen", status: &to, sub_status: "", body: &body, public: true, actor: &actor.name };
    if !tx.change_status(case.row.authority_id, case.row.id, &case.row.status, &event).await? {
        return Ok(Err("Der Antrag wurde inzwischen anderweitig geändert. Bitte laden Sie die Seite neu und \
                       prüfen Sie den aktuellen Stand."
            .into()));
    }
    write_message(portal, &mut tx, case, prepared.as_ref()).await?;
    tx.append_audit(&audit_entry(case, actor, "submission.reopen", &to)).await?;
    tx.commit().await?;
    portal.fresh_receipts.forget(&case.row.form_token);
    Ok(Ok(label))
}

/// "31.01.2030" for a stored due date, "keine" for none.
fn german_date(iso: &str) -> String {
    match amtsweg_forms::Date::parse(iso) {
        Some(d) => format!("{:02}.{:02}.{:04}", d.day, d.month, d.year),
        None if iso.is_empty() => "keine".into(),
        None => iso.to_owned(),
    }
}

/// Who works on a case now: a staff member (id, name) or nobody.
#[derive(Debug, Clone)]
pub struct Assignee {
    pub id: Option<i64>,
    pub name: String,
}

/// Assigns each case (of any authority the caller checked) to `to` and, when `due`
/// is `Some`, sets the due date (YYYY-MM-DD as stored, "" for none); one history entry and
/// one audit entry per case, all in one transaction. The caller checks that `to`
/// works cases of every case's authority.
///
/// # Errors
/// On store or crypto errors.
pub async fn assign(portal: &Portal, cases: &[&Case], to: &Assignee, due: Option<&str>, actor: &Actor) -> Result<()> {
    let mut sealed = Vec::new();
    for case in cases {
        let text = match due {
            Some(d) => format!("Bearbeitung: {}; Frist: {}", to.name, german_date(d)),
            None => format!("Bearbeitung: {}", to.name),
        };
        sealed.push(seal_text(portal, case.row.authority_id, case.row.id, &text).await?);
    }
    let outcome = to.id.map_or_else(|| "niemand".to_owned(), |id| format!("staff:{id}"));
    let mut tx = portal.store.begin().await?;
    for (case, body) in cases.iter().zip(&sealed) {
        let (authority_id, id) = (case.row.authority_id, case.row.id);
        tx.assign_submission(authority_id, id, to.id).await?;
        if let Some(d) = due {
            tx.set_submission_due(authority_id, id, d).await?;
        }
        let e = NewEvent {
            kind: "assign",
            status: &case.row.status,
            sub_status: &case.row.sub_status,
            body,
            public: false,
            actor: &actor.name,
        };
        tx.add_event(id, &e).await?;
        tx.append_audit(&audit_entry(case, actor, "submission.assign", &outcome)).await?;
    }
    tx.commit().await?;
    Ok(())
}
