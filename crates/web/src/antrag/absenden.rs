//! The page to check every answer, and submitting: every answer checked again in one
//! call, then the submission with its files and the confirmation e-mail in one commit
//! (`amtsweg_portal::submission`). The same form token again shows the same receipt
//! instead of a second submission.

use super::fields;
use super::journey::{Journey, base, find_draft, load_draft, no_store};
use crate::AppState;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_forms::display::{amounts, sections};
use amtsweg_forms::{Form, Item, Step};
use amtsweg_portal::drafts::{self, FileInfo};
use amtsweg_portal::submission::{self, Owner};
use amtsweg_store::submissions::ApplicationDraft;
use axum::Form as PostForm;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

/// The step that asks for the answer at `path`.
fn step_of<'f>(form: &'f Form, path: &str) -> Option<&'f Step> {
    let id = path.split(['[', '.']).next().unwrap_or(path);
    form.steps.iter().find(|s| {
        s.items.iter().any(|i| match i {
            Item::Field(f) => f.id == id,
            Item::Group(g) => g.id == id || g.fields.iter().any(|f| f.id == id),
        })
    })
}

/// The check page with the problems of the whole application (none: it may be sent).
fn render_check(
    state: &AppState,
    j: &Journey,
    headers: &HeaderMap,
    d: &ApplicationDraft,
    accepted: &amtsweg_forms::Accepted,
    files: &[FileInfo],
    problems: &[(String, String)],
) -> Result<Response, AppError> {
    let answers = &accepted.answers;
    let url = j.draft_url(&d.token);
    let errors: Vec<_> = problems
        .iter()
        .map(|(path, message)| {
            let to = step_of(&j.form, path).map_or_else(|| url.clone(), |s| format!("{url}{}?zurueck=pruefen", s.id));
            context! { href => format!("{to}#{}", fields::anchor(path)), message }
        })
        .collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let account = j.citizen.as_ref().and_then(|c| c.citizen.email.as_deref());
    let email = submission::contact_email(account, &j.form, answers);
    let sections: Vec<_> = sections(&j.form, answers, files)
        .into_iter()
        .map(|s| context! { title => s.title, url => format!("{url}{}?zurueck=pruefen", s.step), lines => s.lines })
        .collect();
    let computed = amounts(&j.form, &accepted.computed);
    let ctx = context! {
        title => if errors.is_empty() { "Angaben prüfen".to_owned() } else { "Fehler: Angaben prüfen".to_owned() },
        sections, computed, errors,
        action => format!("{url}absenden"), csrf => &d.csrf, email,
        discard => format!("{url}verwerfen"), save => format!("{url}gespeichert"),
        ..base(state, j, headers, &format!("{url}pruefen"), "Angaben prüfen")
    };
    Ok(no_store((status, render_page(state, "antrag/pruefen.html", ctx)?).into_response()))
}

/// The page to check every answer before submitting.
pub(crate) async fn check(
    State(state): State<AppState>,
    mut j: Journey,
    headers: HeaderMap,
    Path((_, _, token)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let d = load_draft(&state, &mut j, &token).await?;
    let answers = drafts::answers(&state.portal, &d).await?;
    let (_, files) = drafts::files(&state.portal, &d).await?;
    let (accepted, problems) = submission::accept(&state.catalogue(), &j.form, &answers, &files);
    render_check(&state, &j, &headers, &d, &accepted, &files, &problems)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SubmitForm {
    csrf: String,
    /// "ja": send a copy of the answers by e-mail.
    kopie: Option<String>,
}

/// Submits: every answer checked again, then the submission with its files and the
/// confirmation e-mail in one commit. The same form token again shows the same
/// receipt instead of a second submission. Reads the draft row and its files once.
pub(crate) async fn submit(
    State(state): State<AppState>,
    mut j: Journey,
    headers: HeaderMap,
    Path((_, _, token)): Path<(String, String, String)>,
    PostForm(f): PostForm<SubmitForm>,
) -> Result<Response, AppError> {
    let Some(d) = find_draft(&state, &mut j, &token).await? else {
        return already_submitted(&state, &j, &token).await;
    };
    crate::csrf::check(&headers, &d.csrf, &f.csrf)?;
    let answers = drafts::answers(&state.portal, &d).await?;
    let (stored_files, files) = drafts::files(&state.portal, &d).await?;
    let (accepted, problems) = submission::accept(&state.catalogue(), &j.form, &answers, &files);
    if !problems.is_empty() {
        return render_check(&state, &j, &headers, &d, &accepted, &files, &problems);
    }
    let owner = Owner { citizen_id: d.citizen_id, browser_hash: d.browser_hash.clone() };
    let app = j.application(&token, owner, &accepted.answers);
    let copy = f.kopie.as_deref() == Some("ja");
    submission::store(&state.portal, &app, accepted, &files, &stored_files, copy).await?;
    Ok(Redirect::to(&app.receipt_path).into_response())
}

async fn already_submitted(state: &AppState, j: &Journey, token: &str) -> Result<Response, AppError> {
    match state.store.submission_by_token(token).await? {
        Some(s) if s.authority_id == j.authority.id && j.may_access(s.citizen_id, &s.browser_hash) => {
            Ok(Redirect::to(&j.receipt_url(token)).into_response())
        }
        _ => Err(AppError::NotFound),
    }
}
