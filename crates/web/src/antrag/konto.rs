//! "Meine Anträge" in the citizen account: drafts to continue (until they expire)
//! and submitted applications with their status and receipt.

use super::{pdf_response, receipt_view};
use crate::AppState;
use crate::error::AppError;
use crate::konto::CitizenContext;
use crate::render::render_page;
use amtsweg_portal::submission::open_data;
use amtsweg_portal::time::when;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use minijinja::context;

/// The form's address (`/o/<slug>/antrag/<form>/`), title and authority name, by
/// the authority that receives it and the form id (own or adopted form).
fn form_url(state: &AppState, authority_id: i64, form_id: i64) -> Option<(String, String, String)> {
    let c = state.catalogue();
    let a = c.authority(authority_id)?;
    let f = c.form_by_id(authority_id, form_id)?;
    Some((format!("/o/{}/antrag/{}/", a.slug, f.slug), f.form.title.clone(), a.name.clone()))
}

pub async fn list(State(state): State<AppState>, me: CitizenContext) -> Result<Response, AppError> {
    let now = amtsweg_store::now_ms();
    let mut drafts = Vec::new();
    for d in state.store.application_drafts_of_citizen(me.citizen.id).await? {
        if d.expires_at < now {
            continue;
        }
        // A form no longer offered cannot be continued; the draft expires.
        let Some((url, title, authority)) = form_url(&state, d.authority_id, d.form_id) else { continue };
        drafts.push(context! {
            title, authority, url => format!("{url}{}/{}", d.token, d.step), changed => when(d.updated_at), expires => when(d.expires_at),
        });
    }
    let rows = state.store.submissions_of_citizen(me.citizen.id).await?;
    let ids: Vec<i64> = rows.iter().map(|s| s.id).collect();
    let payments = state.store.payments_of_submissions(&ids).await?;
    let submissions: Vec<_> = rows
        .into_iter()
        .map(|s| {
            let payment = payments.iter().find(|p| p.submission_id == Some(s.id)).map(|p| {
                context! {
                    status => amtsweg_portal::payments::view::status_label(p),
                    amount => amtsweg_domain::payment::Cents(p.amount_cents).german(),
                    kassenzeichen => &p.kassenzeichen,
                    paid => p.status == "paid",
                }
            });
            let authority = state.catalogue().authority(s.authority_id).map(|a| a.name.clone()).unwrap_or_default();
            let status = state.catalogue().form_by_id(s.authority_id, s.form_id).map_or_else(
                || amtsweg_forms::Workflow::default().label(&s.status, &s.sub_status),
                |f| f.form.workflow().label(&s.status, &s.sub_status),
            );
            context! {
                id => s.id, title => s.title, receipt_number => s.receipt_number, status,
                submitted => when(s.submitted_at), authority, payment,
            }
        })
        .collect();
    let ctx = context! { title => "Meine Anträge", drafts, submissions, ..crate::konto::base(&state, Some(&me), "/konto/antraege/") };
    Ok(render_page(&state, "konto/antraege.html", ctx)?.into_response())
}

async fn own(
    state: &AppState,
    me: &CitizenContext,
    id: i64,
) -> Result<(amtsweg_store::submissions::SubmissionRow, amtsweg_domain::Authority, amtsweg_forms::Form), AppError> {
    let s = state.store.submission_of_citizen(me.citizen.id, id).await?.ok_or(AppError::NotFound)?;
    let a = state.catalogue().authority(s.authority_id).cloned().ok_or(AppError::NotFound)?;
    // The form may be another authority's (adopted from the library).
    let owner = state.store.form_owner(s.form_id).await?.ok_or(AppError::NotFound)?;
    let form = state.store.form_version(owner, s.form_id, s.form_version).await?.ok_or(AppError::NotFound)?.form()?;
    Ok((s, a, form))
}

pub async fn detail(
    State(state): State<AppState>,
    me: CitizenContext,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let (s, a, form) = own(&state, &me, id).await?;
    let data = open_data(&state.portal, &s).await?;
    let payment_view = amtsweg_portal::payments::view::of_submission(&state.portal, s.authority_id, s.id).await?;
    // Paying goes through the receipt's form (the citizen owns the receipt): offered
    // while the form is still published.
    let receipt = state
        .catalogue()
        .form_by_id(s.authority_id, s.form_id)
        .map(|f| format!("/o/{}/antrag/{}/eingang/{}", a.slug, f.slug, s.form_token));
    let payment = payment_view.as_ref().map(|p| {
        let pay = receipt.as_ref().map(|r| (format!("{r}/bezahlen"), me.session.record.csrf_token.clone()));
        super::zahlung::payment_context(p, pay)
    });
    let (sections, computed, files) = receipt_view(&form, &data);
    let workflow = form.workflow();
    let mut history = Vec::new();
    // A reopened case says so next to its status until the status changes again.
    let mut reopened = None;
    for e in state.store.submission_events(s.id).await?.into_iter().filter(|e| e.is_public()) {
        match e.kind.as_str() {
            "reopen" => reopened = Some(when(e.created_at)),
            "status" | "reply" => reopened = None,
            _ => {}
        }
        let text = amtsweg_portal::casework::open_text(&state.portal, s.authority_id, s.id, &e.body).await;
        history.push(context! {
            kind => e.kind, status => workflow.label(&e.status, &e.sub_status), when => when(e.created_at),
            lines => text.lines().map(str::to_owned).collect::<Vec<_>>(),
        });
    }
    let ctx = context! {
        title => format!("{} – {}", s.title, s.receipt_number), s => context! {
            id => s.id, title => &s.title, receipt_number => &s.receipt_number,
            status => workflow.label(&s.status, &s.sub_status),
            submitted => when(s.submitted_at), status_at => when(s.status_at), hash => &s.data_hash,
            thread => s.thread_id, reopened,
            asks => workflow.state(&s.status).is_some_and(|st| st.asks_citizen),
            withdraw => workflow.check_withdrawal(&s.status).is_ok(),
            withdrawn => s.status == amtsweg_forms::workflow::WITHDRAWN,
        },
        authority => a.name, sections, computed, files, history, payment,
        ..crate::konto::base(&state, Some(&me), &format!("/konto/antraege/{id}"))
    };
    let r = render_page(&state, "konto/antrag.html", ctx)?.into_response();
    Ok(super::zahlung::allow_provider(r, payment_view.as_ref()))
}

pub async fn pdf(State(state): State<AppState>, me: CitizenContext, Path(id): Path<i64>) -> Result<Response, AppError> {
    let (s, a, form) = own(&state, &me, id).await?;
    pdf_response(&state, &a, &form, &s).await
}
