//! A draft kept for later: the "saved" page with the offer of an e-mailed one-time
//! link to continue on any device, using that link, discarding a draft, and
//! downloading one of its own files.

use super::DRAFT_COOKIE;
use super::journey::{Journey, base, load_draft, no_store, with_browser_cookie};
use crate::AppState;
use crate::error::AppError;
use crate::render::render_page;
use crate::session;
use amtsweg_portal::drafts;
use amtsweg_portal::time::when;
use amtsweg_store::outbox::EmailMessage;
use axum::Form as PostForm;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LinkForm {
    csrf: String,
    email: String,
}

async fn render_saved(
    state: &AppState,
    j: &Journey,
    headers: &HeaderMap,
    d: &amtsweg_store::submissions::ApplicationDraft,
    sent_to: Option<&str>,
    error: Option<String>,
    email: &str,
) -> Result<Response, AppError> {
    let url = j.draft_url(&d.token);
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! {
        title => if error.is_some() { "Fehler: Antrag gespeichert" } else { "Antrag gespeichert" },
        in_account => d.citizen_id.is_some(), expires => when(d.expires_at), sent_to, error, email,
        action => format!("{url}gespeichert"), csrf => &d.csrf, continue_url => format!("{url}{}", d.step),
        days => state.config.draft_days,
        ..base(state, j, headers, &format!("{url}gespeichert"), "Antrag gespeichert")
    };
    Ok(no_store((status, render_page(state, "antrag/gespeichert.html", ctx)?).into_response()))
}

/// "Saved": in the account, or — without one — with the offer of a resume link.
pub(crate) async fn saved(
    State(state): State<AppState>,
    mut j: Journey,
    headers: HeaderMap,
    Path((_, _, token)): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    let d = load_draft(&state, &mut j, &token).await?;
    render_saved(&state, &j, &headers, &d, None, None, "").await
}

/// Sends a one-time link to continue the draft on any device — within the mail
/// limits per address and client; beyond them the page says the same, but nothing
/// is sent.
pub(crate) async fn send_link(
    State(state): State<AppState>,
    mut j: Journey,
    headers: HeaderMap,
    client: crate::limits::Client,
    Path((_, _, token)): Path<(String, String, String)>,
    PostForm(f): PostForm<LinkForm>,
) -> Result<Response, AppError> {
    let d = load_draft(&state, &mut j, &token).await?;
    crate::csrf::check(&headers, &d.csrf, &f.csrf)?;
    let email = match amtsweg_domain::konto::normalize_email(&f.email) {
        Ok(e) => e,
        Err(e) => return render_saved(&state, &j, &headers, &d, None, Some(e.0), &f.email).await,
    };
    if !crate::limits::quotas::mail_allowed(&state, &email, &client).await? {
        return render_saved(&state, &j, &headers, &d, Some(&email), None, "").await;
    }
    let secret = session::random_token();
    let link = format!(
        "{}/o/{}/antrag/fortsetzen/{secret}",
        state.config.public_base_url.trim_end_matches('/'),
        j.authority.slug
    );
    let mut tx = state.store.begin().await?;
    tx.set_application_draft_resume(&d.token, &session::hash_token(&secret)).await?;
    tx.enqueue_email(&EmailMessage {
        to: email.clone(),
        subject: format!("Ihr Antrag „{}“ wartet auf Sie", j.form.title),
        body: format!(
            "Guten Tag,\n\nSie haben Ihren Antrag „{}“ bei {} gespeichert. Mit diesem Link setzen Sie ihn fort (er gilt einmal; der Antrag wird am {} gelöscht, wenn Sie ihn bis dahin nicht weiter bearbeiten):\n\n{link}\n\nWenn Sie das nicht waren, ignorieren Sie diese E-Mail.\n",
            j.form.title,
            j.authority.name,
            when(d.expires_at)
        ),
        attachments: Vec::new(),
    })
    .await?;
    tx.commit().await?;
    render_saved(&state, &j, &headers, &d, Some(&email), None, "").await
}

fn resume_invalid(state: &AppState, headers: &HeaderMap, slug: &str) -> Result<Response, AppError> {
    let c = state.catalogue();
    let a = c.authority_by_slug(slug).ok_or(AppError::NotFound)?;
    let base = crate::render::base_context(state, &c, Some(a), headers, "/", Vec::new());
    let ctx = context! { title => "Link nicht mehr gültig", invalid => true, ..base };
    Ok((StatusCode::NOT_FOUND, render_page(state, "antrag/fortsetzen.html", ctx)?).into_response())
}

/// The page behind an e-mailed resume link: one button (mail scanners that open
/// links must not use it up).
pub async fn resume_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((slug, secret)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let Some(d) = state.store.application_draft_by_resume(&session::hash_token(&secret)).await? else {
        return resume_invalid(&state, &headers, &slug);
    };
    let c = state.catalogue();
    let a = c.authority_by_slug(&slug).filter(|a| a.id == d.authority_id).ok_or(AppError::NotFound)?;
    if d.expires_at < amtsweg_store::now_ms() {
        return resume_invalid(&state, &headers, &slug);
    }
    let base = crate::render::base_context(&state, &c, Some(a), &headers, "/", Vec::new());
    let ctx = context! { title => "Antrag fortsetzen", invalid => false, action => format!("/o/{slug}/antrag/fortsetzen/{secret}"), ..base };
    let mut r = no_store(render_page(&state, "antrag/fortsetzen.html", ctx)?.into_response());
    r.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Ok(r)
}

/// Uses the resume link: the draft now belongs to this browser.
pub async fn resume(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((slug, secret)): Path<(String, String)>,
) -> Result<Response, AppError> {
    if !session::same_origin(&headers) {
        return Err(AppError::Forbidden);
    }
    let hash = session::hash_token(&secret);
    let Some(d) = state.store.application_draft_by_resume(&hash).await? else {
        return resume_invalid(&state, &headers, &slug);
    };
    let c = state.catalogue();
    let a = c.authority_by_slug(&slug).filter(|a| a.id == d.authority_id).ok_or(AppError::NotFound)?;
    let form = c.form_by_id(a.id, d.form_id).ok_or(AppError::NotFound)?;
    let browser = session::cookie_value(&headers, DRAFT_COOKIE)
        .filter(|v| v.len() == 43)
        .map_or_else(session::random_token, str::to_owned);
    let mut tx = state.store.begin().await?;
    let ok = tx.rebind_application_draft(&d.token, &hash, &session::hash_token(&browser)).await?;
    tx.commit().await?;
    if !ok {
        return resume_invalid(&state, &headers, &slug);
    }
    let to = format!("/o/{slug}/antrag/{}/{}/{}", form.slug, d.token, d.step);
    Ok(with_browser_cookie(&state, Redirect::to(&to).into_response(), &browser))
}

/// Discards a draft with its files.
pub(crate) async fn discard(
    State(state): State<AppState>,
    mut j: Journey,
    headers: HeaderMap,
    Path((_, _, token)): Path<(String, String, String)>,
    PostForm(f): PostForm<crate::csrf::CsrfField>,
) -> Result<Response, AppError> {
    let d = load_draft(&state, &mut j, &token).await?;
    crate::csrf::check(&headers, &d.csrf, &f.csrf)?;
    drafts::discard(&state.portal, &d).await?;
    let url = j.base_url();
    let ctx =
        context! { title => "Antrag verworfen", start => url, ..base(&state, &j, &headers, &url, "Antrag verworfen") };
    Ok(render_page(&state, "antrag/verworfen.html", ctx)?.into_response())
}

/// One of the draft's own files, as a download.
pub(crate) async fn draft_file(
    State(state): State<AppState>,
    mut j: Journey,
    Path((_, _, token, id)): Path<(String, String, String, i64)>,
) -> Result<Response, AppError> {
    let d = load_draft(&state, &mut j, &token).await?;
    let f = state
        .store
        .application_draft_files(&d.token)
        .await?
        .into_iter()
        .find(|f| f.id == id)
        .ok_or(AppError::NotFound)?;
    let bytes = drafts::read_file(&state.portal, d.authority_id, &f.object_key).await?;
    let name = drafts::open_file_name(&state.portal, d.authority_id, &f.object_key, &f.file_name).await;
    Ok(crate::download::attachment(bytes, &name, &f.content_type))
}
