//! The case-worker inbox (`/verwaltung/antraege/`): the submissions of every
//! authority (and org unit) the staff member processes, with filters, a full-text
//! search, pages and bulk assignment ([`inbox`]); one submission with its answers,
//! files, receipt, the conversation with the citizen, history and deliveries
//! ([`case`]); status changes (final ones confirmed), reopening, messages and
//! questions to the citizen, notes, assignment and due dates ([`actions`]). Every
//! look at a submission is in the audit log.

mod actions;
mod case;
mod inbox;
mod zahlung;

pub use actions::{assign, change_status, message, note, reopen, resend};
pub use case::{detail, file, message_file, pdf};
pub use inbox::{assign_many, list};
pub use zahlung::{counter_payment, refund_payment, resolve_review};

use super::StaffContext;
use crate::AppState;
use crate::audit::audit_view;
use crate::error::AppError;
use amtsweg_portal::casework::{self, Actor, Case};
use amtsweg_store::submissions::SubmissionRow;
use axum::http::HeaderMap;

/// The authorities whose applications this person processes: only through a case
/// grant of that authority (the Verbund administrator's grant opens none).
fn case_authorities(staff: &StaffContext) -> Vec<i64> {
    staff.perms.case_authority_ids()
}

/// Records a look at a submission in the audit log (flagged when another website
/// opened it: see [`crate::audit`]).
async fn audit_case(
    state: &AppState,
    staff: &StaffContext,
    headers: &HeaderMap,
    case: &Case,
    action: &str,
    target: &str,
) -> Result<(), AppError> {
    audit_view(
        state,
        headers,
        &staff.actor(),
        Some(case.row.authority_id),
        action,
        &format!("submission:{}{target}", case.row.id),
    )
    .await
}

fn actor(staff: &StaffContext) -> Actor {
    Actor { name: staff.user.display_name.clone(), audit: staff.actor() }
}

/// Submission `id` if this person may process it (404 otherwise — whether it
/// exists elsewhere is not revealed).
async fn case_for(state: &AppState, staff: &StaffContext, id: i64) -> Result<Case, AppError> {
    let ids = case_authorities(staff);
    let row = state.store.submission_in(&ids, id).await?.ok_or(AppError::NotFound)?;
    if !staff.perms.can_work_cases(row.authority_id, row.org_unit_id) {
        return Err(AppError::NotFound);
    }
    Ok(casework::open_case(&state.portal, row.authority_id, id).await?)
}

fn status_label(state: &AppState, row: &SubmissionRow) -> String {
    let form = state.catalogue().form_by_id(row.authority_id, row.form_id);
    form.map_or_else(
        || amtsweg_forms::Workflow::default().label(&row.status, &row.sub_status),
        |f| f.form.workflow().label(&row.status, &row.sub_status),
    )
}

/// "31.01.2030" for a stored due date (YYYY-MM-DD); other values as they are.
fn german_date(iso: &str) -> String {
    match amtsweg_forms::Date::parse(iso) {
        Some(d) => format!("{:02}.{:02}.{:04}", d.day, d.month, d.year),
        None => iso.to_owned(),
    }
}

/// "24.11.2026" in German time.
fn german_day(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(crate::render::berlin()).strftime("%d.%m.%Y").to_string())
        .unwrap_or_default()
}

/// "zugestellt", "ausstehend", "fehlgeschlagen (wird wiederholt)", "aufgegeben".
pub(crate) fn delivery_label(d: &amtsweg_store::handoff::DeliveryRow) -> &'static str {
    match (d.status.as_str(), d.attempts) {
        ("delivered", _) => "zugestellt",
        ("dead", _) => "aufgegeben – bitte prüfen und erneut senden",
        (_, 0) => "ausstehend",
        _ => "fehlgeschlagen, wird wiederholt",
    }
}

fn no_store(mut r: axum::response::Response) -> axum::response::Response {
    r.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    r
}
