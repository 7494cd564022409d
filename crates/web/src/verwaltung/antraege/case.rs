//! One application for case work: the answers on the left; status, actions, the
//! conversation with the citizen (both directions, with attachments) and the history
//! on the right. Opening it marks the citizen's replies as read (after showing which
//! were new).

use super::{StaffContext, audit_case, case_for, delivery_label, german_date, no_store};
use crate::AppState;
use crate::antrag::{pdf_response, receipt_view};
use crate::error::AppError;
use crate::render::render_page;
use crate::verwaltung::base;
use amtsweg_domain::konto::{MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS};
use amtsweg_portal::casework::{self, Case, conversation};
use amtsweg_portal::submission::open_data;
use amtsweg_portal::time::when;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};
use serde::Deserialize;

/// What the person typed into the forms of the page, to show again with an error.
#[derive(Debug, Default)]
pub(super) struct Typed {
    pub status: String,
    pub text: String,
    pub note: String,
    pub reason: String,
    /// The payment panel's forms (counter payment, refund).
    pub pay_amount: String,
    pub pay_method: String,
    pub refund_amount: String,
    pub refund_reason: String,
    pub refund_iban: String,
}

/// Which form of the page an error belongs to, and its message.
pub(super) type Problem<'a> = Option<(&'a str, String)>;

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_owned).collect()
}

#[allow(clippy::too_many_lines)]
pub(super) async fn render_case(
    state: &AppState,
    staff: &StaffContext,
    case: &Case,
    error: Problem<'_>,
    typed: &Typed,
    notice: Option<&str>,
) -> Result<Response, AppError> {
    let s = &case.row;
    let data = open_data(&state.portal, s).await?;
    let (sections, computed, files) = receipt_view(&case.form, &data);
    let workflow = case.form.workflow();
    let mut transitions = Vec::new();
    for next in workflow.next_of(&s.status) {
        if next.outcomes.is_empty() {
            transitions.push(context! {
                value => &next.id, label => &next.label, asks => next.asks_citizen, is_final => next.is_final,
            });
        } else {
            for o in &next.outcomes {
                transitions.push(context! {
                    value => format!("{}|{}", next.id, o.id), label => format!("{}: {}", next.label, o.label),
                    asks => false, is_final => next.is_final,
                });
            }
        }
    }
    let mut history = Vec::new();
    for e in state.store.submission_events(s.id).await? {
        // Texts of messages are in the conversation; the history shows those of
        // notes, assignments and reasons for reopening.
        let own_text = matches!(e.kind.as_str(), "note" | "assign" | "reopen") || s.citizen_id.is_none();
        let text = if own_text {
            casework::open_text(&state.portal, s.authority_id, s.id, &e.body).await
        } else {
            String::new()
        };
        history.push(context! {
            kind => &e.kind, status => workflow.label(&e.status, &e.sub_status), actor => &e.actor,
            when => when(e.created_at), public => e.is_public(), lines => lines(&text),
            has_message => !own_text && !e.body.is_empty(),
        });
    }
    let messages = conversation::conversation(&state.portal, case).await?;
    let unread = messages.iter().filter(|m| m.unread).count();
    let conversation: Vec<Value> = messages
        .iter()
        .map(|m| {
            let files: Vec<Value> = m
                .files
                .iter()
                .map(|f| context! { id => f.id, name => &f.name, kb => (f.size + 1023) / 1024 })
                .collect();
            context! {
                from_citizen => m.from_citizen, sender => &m.sender, when => when(m.at),
                lines => lines(&m.text), files, unread => m.unread,
            }
        })
        .collect();
    let catalogue = state.catalogue();
    let mut deliveries = Vec::new();
    let connectors = state.store.connectors_of(s.authority_id).await?;
    for d in state.store.deliveries_of(s.authority_id, s.id).await? {
        let c = connectors.iter().find(|c| c.id == d.connector_id);
        deliveries.push(context! {
            id => d.id, target => c.map(|c| c.name.clone()), kind => c.map(|c| c.kind.clone()),
            status => delivery_label(&d), attempts => d.attempts, error => &d.last_error,
            reference => &d.reference, delivered => d.delivered_at.map(when),
            next => (d.status == "pending").then(|| when(d.next_attempt_at)),
        });
    }
    let workers: Vec<Value> = state
        .store
        .case_workers_of(s.authority_id)
        .await?
        .into_iter()
        .map(|(id, name)| context! { id, name, selected => s.assignee_id == Some(id) })
        .collect();
    let assignee = match s.assignee_id {
        Some(id) => state.store.staff_by_id(id).await?.map(|u| u.display_name),
        None => None,
    };
    // The consequence of the final state the person chose, to confirm it.
    let (to, outcome) = typed.status.split_once('|').unwrap_or((typed.status.as_str(), ""));
    let consequence = casework::decisions::final_consequence(case, to, outcome);
    let (error_field, error) = error.map_or((None, None), |(f, m)| (Some(f), Some(m)));
    let ctx = context! {
        title => format!("{} – {}", s.title, s.receipt_number),
        s => context! {
            id => s.id, title => &s.title, receipt_number => &s.receipt_number, hash => &s.data_hash,
            submitted => when(s.submitted_at), status => workflow.label(&s.status, &s.sub_status),
            status_at => when(s.status_at), due => german_date(&s.due_on), due_iso => &s.due_on,
            has_account => s.citizen_id.is_some(), assignee,
            is_final => workflow.state(&s.status).is_some_and(|st| st.is_final),
        },
        authority => &case.authority.name,
        org_unit => s.org_unit_id.and_then(|u| catalogue.org_unit(s.authority_id, u)).map(|u| u.name.clone()),
        sections, computed, files, transitions, history, deliveries, workers, conversation, unread,
        error, error_field, consequence,
        typed => context! { status => &typed.status, text => &typed.text, note => &typed.note, reason => &typed.reason },
        notice, max_files => MAX_ATTACHMENTS, max_mb => MAX_ATTACHMENT_BYTES / 1024 / 1024,
        payment => super::zahlung::panel(state, staff, case).await?,
        pay_typed => context! {
            amount => &typed.pay_amount, method => &typed.pay_method, refund_amount => &typed.refund_amount,
            refund_reason => &typed.refund_reason, refund_iban => &typed.refund_iban,
        },
        ..base(state, Some(staff), "/verwaltung/antraege/")
    };
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok(no_store((status, render_page(state, "verwaltung/antrag.html", ctx)?).into_response()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Notice {
    hinweis: String,
}

fn notice_text(code: &str) -> Option<&'static str> {
    match code {
        "stand" => Some("Der Bearbeitungsstand ist geändert."),
        "nachricht" => Some("Die Nachricht ist im Postfach der antragstellenden Person."),
        "notiz" => Some("Die Notiz ist gespeichert."),
        "zuweisung" => Some("Zuständigkeit und Frist sind gespeichert."),
        "erneut" => Some("Die Übergabe wird erneut versucht."),
        "wieder" => Some("Der Antrag ist wieder in Bearbeitung. Die antragstellende Person ist informiert."),
        "zahlung" => Some("Die Zahlung ist gebucht."),
        "pruefung" => Some("Die Prüfung der Zahlung ist abgeschlossen."),
        "erstattung" => {
            Some("Die Erstattung ist erfasst. Die Kasse zahlt sie aus; die antragstellende Person sieht sie.")
        }
        _ => None,
    }
}

pub async fn detail(
    State(state): State<AppState>,
    staff: StaffContext,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(n): Query<Notice>,
) -> Result<Response, AppError> {
    let case = case_for(&state, &staff, id).await?;
    audit_case(&state, &staff, &headers, &case, "submission.view", "").await?;
    let page = render_case(&state, &staff, &case, None, &Typed::default(), notice_text(&n.hinweis)).await?;
    // Shown (with the new replies marked) — now they are read.
    conversation::mark_read(&state.portal, &case).await?;
    Ok(page)
}

pub async fn pdf(
    State(state): State<AppState>,
    staff: StaffContext,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let case = case_for(&state, &staff, id).await?;
    audit_case(&state, &staff, &headers, &case, "submission.receipt", "").await?;
    pdf_response(&state, &case.authority, &case.form, &case.row).await
}

/// One attached file, by its position in the submission (as the page lists them).
pub async fn file(
    State(state): State<AppState>,
    staff: StaffContext,
    headers: HeaderMap,
    Path((id, index)): Path<(i64, usize)>,
) -> Result<Response, AppError> {
    let case = case_for(&state, &staff, id).await?;
    let f = state.store.submission_files(id).await?.into_iter().nth(index).ok_or(AppError::NotFound)?;
    let bytes = amtsweg_portal::drafts::read_file(&state.portal, case.row.authority_id, &f.object_key).await?;
    let name =
        amtsweg_portal::drafts::open_file_name(&state.portal, case.row.authority_id, &f.object_key, &f.file_name).await;
    audit_case(&state, &staff, &headers, &case, "submission.file", &format!("/file:{}", f.id)).await?;
    Ok(crate::download::attachment(bytes, &name, &f.content_type))
}

/// A file of the conversation (the citizen's or the authority's), only of this
/// case's thread.
pub async fn message_file(
    State(state): State<AppState>,
    staff: StaffContext,
    headers: HeaderMap,
    Path((id, attachment)): Path<(i64, String)>,
) -> Result<Response, AppError> {
    let case = case_for(&state, &staff, id).await?;
    let attachment: i64 = attachment.parse().map_err(|_| AppError::NotFound)?;
    let (name, content_type, bytes) = conversation::attachment(&state.portal, &case, attachment).await?;
    audit_case(&state, &staff, &headers, &case, "submission.message_file", &format!("/message_file:{attachment}"))
        .await?;
    Ok(crate::download::attachment(bytes, &name, &content_type))
}
