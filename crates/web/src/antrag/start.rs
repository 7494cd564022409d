//! The first page of a form: shown with a fresh signed form token (nothing is stored
//! yet), and its first POST — which keeps the draft and continues like any step, or,
//! for a one-page form sent complete and valid, submits at once without a draft.

use super::journey::{
    Journey, find_draft, first_csrf, issue_token, load_draft, no_store, prefill, verify_token, with_browser_cookie,
};
use super::schritt::{RESERVED, StepPage, handle_step, step_html_with};
use super::{fields, first_page, upload};
use crate::AppState;
use crate::error::AppError;
use crate::session;
use amtsweg_forms::{Answers, visible_steps};
use amtsweg_portal::drafts;
use amtsweg_portal::submission::{self, Owner};
use amtsweg_store::submissions::NewDraft;
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};

/// The first page of a form with a fresh form token (nothing is stored yet).
pub(crate) async fn start(State(state): State<AppState>, j: Journey, headers: HeaderMap) -> Result<Response, AppError> {
    let (answers, locked) = prefill(&state, &j).await?;
    let Some(first) = visible_steps(&j.form, &answers).first().copied() else { return Err(AppError::NotFound) };
    let browser = j.browser.clone().unwrap_or_else(session::random_token);
    let token = issue_token(&state, &j)?;
    let nonce = token.split('.').next().unwrap_or_default().to_owned();
    let page = StepPage {
        step: first,
        answers: &answers,
        errors: Vec::new(),
        files: &[],
        locked: &locked,
        action: j.base_url(),
        csrf: first_csrf(&state, &j, &browser, &nonce)?,
        token,
        back_to_check: false,
    };
    let (status, html) = first_page::render(&state, &j, &headers, &page)?;
    Ok(with_browser_cookie(&state, (status, axum::response::Html(html)).into_response(), &browser))
}

/// The first POST: checks the form token, keeps the draft, continues like any step.
pub(crate) async fn first_post(
    State(state): State<AppState>,
    mut j: Journey,
    headers: HeaderMap,
    client: crate::limits::Client,
    request: Request,
) -> Result<Response, AppError> {
    let first_step = j.form.steps.first().cloned().ok_or(AppError::NotFound)?;
    let posted = upload::read(&state, request, &first_step, state.config.form_files_limit).await?;
    let tampered = || {
        AppError::BadRequest(
            "Dieses Formular ist nicht mehr gültig oder wurde verändert. Bitte beginnen Sie den Antrag neu.".into(),
        )
    };
    let (nonce, version) = verify_token(&state, &j, posted.get("token").unwrap_or_default()).ok_or_else(tampered)?;
    // A one-page form sent complete from its first page is submitted at once, without
    // looking for a draft first: a draft of this token (the page sent before, with
    // errors, then again after "back") is deleted in the submission's commit, and a
    // submission of this token (sent twice) is found there and its receipt shown.
    if j.form.direct_submit
        && posted.get("aktion") == Some("absenden")
        && let Some(browser) = j.browser.clone()
        && first_page_csrf_ok(&state, &j, &headers, &posted, &browser, &nonce)?
    {
        j.use_version(&state, version).await?;
        let (answers, locked) = prefill(&state, &j).await?;
        let owner = j.citizen.as_ref().map(|c| c.citizen.id);
        let browser_hash = if owner.is_some() { String::new() } else { session::hash_token(&browser) };
        if let Some(r) =
            direct_submit(&state, &j, &first_step, &nonce, &answers, &locked, owner, &browser_hash, &posted).await?
        {
            return Ok(r);
        }
    }
    // No draft with this token yet: keep one. Otherwise the first page was sent twice
    // (or after going back in the browser): continue with that draft.
    let Some(d) = find_draft(&state, &mut j, &nonce).await? else {
        let browser = j.browser.clone().ok_or_else(|| {
            AppError::BadRequest("Bitte erlauben Sie Cookies für dieses Portal: ohne sie können wir Ihren Antrag zwischen den Seiten nicht aufbewahren.".into())
        })?;
        if !first_page_csrf_ok(&state, &j, &headers, &posted, &browser, &nonce)? {
            return Err(AppError::Forbidden);
        }
        j.use_version(&state, version).await?;
        let (answers, locked) = prefill(&state, &j).await?;
        let owner = j.citizen.as_ref().map(|c| c.citizen.id);
        // Drafts without an account are limited per client and in total.
        if owner.is_none()
            && let Some(refused) = crate::limits::quotas::may_begin_draft(&state, &client).await?
        {
            let kept =
                Kept { step: &first_step, prefilled: &answers, locked: &locked, nonce: &nonce, browser: &browser };
            return refused_first_page(&state, &j, &headers, &kept, &posted, refused);
        }
        let browser_hash = if owner.is_some() { String::new() } else { session::hash_token(&browser) };
        let sealed = drafts::seal_answers(&state.portal, j.authority.id, &nonce, &answers).await?;
        let draft_csrf = session::random_token();
        let mut tx = state.store.begin().await?;
        tx.create_application_draft(&NewDraft {
            token: &nonce,
            authority_id: j.authority.id,
            form_id: j.published.form_id,
            form_version: version,
            citizen_id: owner,
            browser_hash: &browser_hash,
            csrf: &draft_csrf,
            answers: &sealed,
            step: &first_step.id,
            expires_at: amtsweg_store::now_ms() + state.portal.settings.draft_ttl_ms(),
        })
        .await?;
        if owner.is_none() {
            tx.set_application_draft_client(&nonce, &client.stored()).await?;
        }
        tx.commit().await?;
        let d = load_draft(&state, &mut j, &nonce).await?;
        return handle_step(&state, &mut j, &headers, d, Vec::new(), &first_step.id, posted).await;
    };
    // The first page sent again (after "back" in the browser): its CSRF token is the
    // first page's, or the draft's when the page was shown from the draft.
    let sent = posted.get("csrf").unwrap_or_default();
    let first_page = j.browser.as_deref().map(|b| first_csrf(&state, &j, b, &nonce)).transpose()?;
    if crate::csrf::check(&headers, &d.csrf, sent).is_err()
        && first_page.is_none_or(|c| crate::csrf::check(&headers, &c, sent).is_err())
    {
        return Err(AppError::Forbidden);
    }
    let (_, files) = drafts::files(&state.portal, &d).await?;
    handle_step(&state, &mut j, &headers, d, files, &first_step.id, posted).await
}

/// Whether a POST of the first page carries that page's CSRF token and comes from
/// this portal.
pub(super) fn first_page_csrf_ok(
    state: &AppState,
    j: &Journey,
    headers: &HeaderMap,
    posted: &upload::Posted,
    browser: &str,
    nonce: &str,
) -> Result<bool, AppError> {
    let csrf = first_csrf(state, j, browser, nonce)?;
    Ok(crate::csrf::check(headers, &csrf, posted.get("csrf").unwrap_or_default()).is_ok())
}

/// What the first page was shown with, to show it again.
struct Kept<'a> {
    step: &'a amtsweg_forms::Step,
    prefilled: &'a Answers,
    locked: &'a std::collections::BTreeSet<String>,
    nonce: &'a str,
    browser: &'a str,
}

/// The first page sent when no draft may be kept for it (a quota): the page again
/// with what was typed, and why it was not saved, under the same form token — so
/// sending it again later still begins the application, and nothing typed is lost.
fn refused_first_page(
    state: &AppState,
    j: &Journey,
    headers: &HeaderMap,
    kept: &Kept<'_>,
    posted: &upload::Posted,
    refused: crate::limits::quotas::DraftRefused,
) -> Result<Response, AppError> {
    let read = fields::read_step(&j.form, kept.step, kept.prefilled, &posted.pairs, RESERVED);
    let mut answers = kept.prefilled.clone();
    answers.extend(fields::without_empty(read.answers));
    for id in kept.locked {
        if let Some(v) = kept.prefilled.get(id) {
            answers.insert(id.clone(), v.clone());
        }
    }
    let page = StepPage {
        step: kept.step,
        answers: &answers,
        errors: Vec::new(),
        files: &[],
        locked: kept.locked,
        action: j.base_url(),
        token: posted.get("token").unwrap_or_default().to_owned(),
        csrf: first_csrf(state, j, kept.browser, kept.nonce)?,
        back_to_check: false,
    };
    let mut notice = refused.message.to_owned();
    if !posted.files.is_empty() {
        // Files are only kept with a draft.
        notice.push_str(" Ausgewählte Dateien wählen Sie bitte beim nächsten Versuch noch einmal aus.");
    }
    let (_, html) = step_html_with(state, j, headers, &page, Some(&notice))?;
    let mut r = no_store((refused.status, axum::response::Html(html)).into_response());
    if let Some(v) = refused.retry_after() {
        r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
    }
    Ok(r)
}

/// A one-page form sent complete and valid is submitted right away, without a draft:
/// one commit for the whole application (postal votes at rush hour). Anything else —
/// an error, a file, a row added — returns `None` and takes the usual way through a
/// draft, which shows the errors and keeps the answers.
#[allow(clippy::too_many_arguments)]
async fn direct_submit(
    state: &AppState,
    j: &Journey,
    step: &amtsweg_forms::Step,
    token: &str,
    prefilled: &Answers,
    locked: &std::collections::BTreeSet<String>,
    owner: Option<i64>,
    browser_hash: &str,
    posted: &upload::Posted,
) -> Result<Option<Response>, AppError> {
    if j.form.steps.len() != 1 || !posted.files.is_empty() || !posted.problems.is_empty() {
        return Ok(None);
    }
    let read = fields::read_step(&j.form, step, prefilled, &posted.pairs, RESERVED);
    if !read.foreign.is_empty() {
        return Ok(None);
    }
    let mut answers = fields::without_empty(read.answers);
    for id in locked {
        if let Some(v) = prefilled.get(id) {
            answers.insert(id.clone(), v.clone());
        }
    }
    let (accepted, problems) = submission::accept(&state.catalogue(), &j.form, &answers, &[]);
    if !problems.is_empty() {
        return Ok(None);
    }
    let owner = Owner { citizen_id: owner, browser_hash: browser_hash.to_owned() };
    let app = j.application(token, owner, &accepted.answers);
    // No check page, so no "send me a copy" choice: the confirmation carries no answers.
    submission::store(&state.portal, &app, accepted, &[], &[], false).await?;
    Ok(Some(Redirect::to(&app.receipt_path).into_response()))
}
