//! Sign-in (password, then second factor), enrolment of the second factor, sign-out.
//!
//! No account enumeration: unknown addresses and pending invitations get the same
//! message and status as wrong passwords, a password hash is verified either way
//! (same timing), and throttling counts failures per typed address and client
//! whether or not the address exists ([`session::sign_in_wait`]).

use super::{StaffContext, base};
use crate::AppState;
use crate::account::{self, Code, TOO_MANY_CODES, WRONG_CODE, Who};
use crate::audit::audit;
use crate::csrf::{Csrf, NoFields};
use crate::error::AppError;
use crate::limits::{Client, hashing};
use crate::render::render_page;
use crate::second_factor;
use crate::session::{self, PRE_SESSION_COOKIE, SESSION_COOKIE};
use amtsweg_domain::staff::Permissions;
use amtsweg_store::staff::normalize_email;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

/// Only back-office paths are followed after sign-in.
fn safe_next(next: Option<&str>) -> String {
    crate::urls::local_target(next, "/verwaltung/", "/verwaltung/")
}

#[derive(Debug, Deserialize)]
pub struct NextParam {
    weiter: Option<String>,
}

fn render_login(
    state: &AppState,
    csrf: &str,
    next: &str,
    email: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let ctx = context! { csrf, weiter => next, email, error, ..base(state, None, "/verwaltung/anmelden") };
    match render_page(state, "verwaltung/login.html", ctx) {
        Ok(html) => crate::csrf::with_pre_session_cookie((status, html).into_response(), csrf),
        Err(e) => AppError::from(e).into_response(),
    }
}

pub async fn form(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<NextParam>) -> Response {
    let csrf = crate::csrf::pre_session_token(&headers);
    render_login(&state, &csrf, &safe_next(q.weiter.as_deref()), "", None, StatusCode::OK)
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    weiter: Option<String>,
}

fn forbidden() -> Response {
    (StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "Anfrage abgelehnt").into_response()
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: Client,
    Form(f): Form<LoginForm>,
) -> Result<Response, AppError> {
    if crate::csrf::check_pre_session(&headers, &f.csrf).is_err() {
        return Ok(forbidden());
    }
    let next = safe_next(f.weiter.as_deref());
    let email = normalize_email(&f.email);
    let fresh_csrf = session::random_token();
    if email.is_empty() || f.password.is_empty() {
        let msg = "Bitte geben Sie Ihre E-Mail-Adresse und Ihr Passwort ein.";
        return Ok(render_login(&state, &fresh_csrf, &next, &email, Some(msg), StatusCode::UNPROCESSABLE_ENTITY));
    }
    if let Some(wait) = session::sign_in_wait(&state, &email, &client).await? {
        audit(&state, "anonymous", None, "login", "staff", "throttled").await?;
        let msg = session::wait_message(wait);
        let mut r = render_login(&state, &fresh_csrf, &next, &email, Some(&msg), StatusCode::TOO_MANY_REQUESTS);
        r.headers_mut().extend([session::retry_after(wait)]);
        return Ok(r);
    }
    let user = state.store.staff_by_email(&email).await?;
    // A pending invitation has no usable hash ("!"): a dummy hash is verified
    // instead, so it answers as slowly as a real account.
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let ok = hashing::verify_password(&state, f.password.clone(), hash).await?;
    let user = match user {
        Some(u) if ok && !u.disabled => u,
        other => {
            session::record_sign_in_failure(&state, &email, &client).await?;
            let actor = other.map_or_else(|| "anonymous".to_owned(), |u| format!("staff:{}", u.id));
            audit(&state, &actor, None, "login", "staff", "failure").await?;
            // The same words for a disabled account: nothing more is revealed.
            let msg = "E-Mail-Adresse oder Passwort ist falsch. Wurde Ihr Zugang beendet, kann ihn nur die Administration Ihrer Behörde mit einer neuen Einladung wieder öffnen.";
            return Ok(render_login(&state, &fresh_csrf, &next, &email, Some(msg), StatusCode::UNPROCESSABLE_ENTITY));
        }
    };
    let perms = Permissions::new(state.store.grants_of(user.id).await?);
    let needs_code = perms.requires_second_factor() || user.totp_secret.is_some();
    let (token, _) =
        session::start(&state, "staff", user.id, !needs_code, &session::Identification::password()).await?;
    audit(&state, &format!("staff:{}", user.id), None, "login.password", "staff", "success").await?;
    if !needs_code {
        let mut tx = state.store.begin().await?;
        tx.record_staff_sign_in(user.id, amtsweg_store::now_ms()).await?;
        tx.commit().await?;
    }
    let target =
        if needs_code { format!("/verwaltung/anmelden/code?weiter={}", super::urlencode(&next)) } else { next };
    let mut r = Redirect::to(&target).into_response();
    if let Some(c) = session::set_cookie(SESSION_COOKIE, &token, 12 * 3600) {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    if let Some(c) = session::set_cookie(PRE_SESSION_COOKIE, "", 0) {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(r)
}

/// The session that has passed the password step but not yet the second factor.
async fn half_signed_in(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(session::ActiveSession, amtsweg_store::staff::StaffUser)>, AppError> {
    let Some(s) = session::current(state, headers, "staff").await? else { return Ok(None) };
    let Some(user) = state.store.staff_by_id(s.record.subject_id).await? else { return Ok(None) };
    Ok(Some((s, user)))
}

pub async fn code_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextParam>,
) -> Result<Response, AppError> {
    let Some((s, user)) = half_signed_in(&state, &headers).await? else {
        return Ok(Redirect::to("/verwaltung/anmelden").into_response());
    };
    if s.record.second_factor_done {
        return Ok(Redirect::to(&safe_next(q.weiter.as_deref())).into_response());
    }
    render_code(&state, &s, &user, q.weiter.as_deref(), None, StatusCode::OK).await
}

async fn render_code(
    state: &AppState,
    s: &session::ActiveSession,
    user: &amtsweg_store::staff::StaffUser,
    next: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, AppError> {
    // Enrolment: an administrator without a second factor sets one up now.
    let enrol_secret = if user.totp_secret.is_none() {
        match &s.record.pending_totp_secret {
            Some(p) => Some(account::pending_secret(state, &s.record.id_hash, p).await?),
            None => {
                let (secret, sealed) = account::new_enrolment(state, &s.record.id_hash).await?;
                let mut tx = state.store.begin().await?;
                tx.set_pending_totp(&s.record.id_hash, Some(&sealed)).await?;
                tx.commit().await?;
                Some(secret)
            }
        }
    } else {
        None
    };
    let uri = enrol_secret.as_deref().map(|sec| second_factor::otpauth_uri(sec, &user.email, "Amtsweg Verwaltung"));
    let ctx = context! {
        csrf => &s.record.csrf_token, weiter => safe_next(next), error, secret => enrol_secret, otpauth => uri,
        ..base(state, None, "/verwaltung/anmelden/code")
    };
    let mut r = (status, render_page(state, "verwaltung/code.html", ctx)?).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(r)
}

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    csrf: String,
    weiter: Option<String>,
}

pub async fn code_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> Result<Response, AppError> {
    let Some((s, user)) = half_signed_in(&state, &headers).await? else {
        return Ok(Redirect::to("/verwaltung/anmelden").into_response());
    };
    if crate::csrf::check(&headers, &s.record.csrf_token, &f.csrf).is_err() {
        return Ok(forbidden());
    }
    let enrolling = user.totp_secret.is_none().then_some(s.record.pending_totp_secret.as_deref()).flatten();
    let checked = match (user.totp_secret.as_deref(), enrolling) {
        (None, Some(p)) => {
            account::check_enrolment_code(&state, Who::Staff, user.id, &s.record.id_hash, p, &f.code).await?
        }
        (stored, _) => account::check_code(&state, Who::Staff, user.id, stored.unwrap_or_default(), &f.code).await?,
    };
    let refused = match checked {
        Code::Right => None,
        Code::Throttled => Some((TOO_MANY_CODES, StatusCode::TOO_MANY_REQUESTS)),
        Code::Wrong => Some((WRONG_CODE, StatusCode::UNPROCESSABLE_ENTITY)),
        Code::Reused => Some((account::REUSED_CODE, StatusCode::UNPROCESSABLE_ENTITY)),
    };
    if let Some((msg, status)) = refused {
        return render_code(&state, &s, &user, f.weiter.as_deref(), Some(msg), status).await;
    }
    let mut tx = state.store.begin().await?;
    if let (None, Some(p)) = (user.totp_secret.as_deref(), enrolling) {
        let sealed = account::enrolled_secret(&state, Who::Staff, user.id, &s.record.id_hash, p).await?;
        tx.set_totp_secret(user.id, Some(&sealed)).await?;
        tx.set_pending_totp(&s.record.id_hash, None).await?;
    }
    tx.mark_second_factor_done(&s.record.id_hash).await?;
    tx.record_staff_sign_in(user.id, amtsweg_store::now_ms()).await?;
    tx.commit().await?;
    let action = if user.totp_secret.is_none() { "second_factor.enrol" } else { "login.second_factor" };
    audit(&state, &format!("staff:{}", user.id), None, action, "staff", "success").await?;
    Ok(Redirect::to(&safe_next(f.weiter.as_deref())).into_response())
}

fn signed_out() -> Response {
    let mut r = Redirect::to("/verwaltung/anmelden?abgemeldet=1").into_response();
    if let Some(c) = session::set_cookie(SESSION_COOKIE, "", 0) {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

pub async fn logout(
    State(state): State<AppState>,
    staff: StaffContext,
    Csrf(Form(_)): Csrf<Form<NoFields>>,
) -> Result<Response, AppError> {
    account::sign_out(&state, Who::Staff, staff.user.id, Some(&staff.session.record.id_hash)).await?;
    Ok(signed_out())
}

pub async fn logout_everywhere(
    State(state): State<AppState>,
    staff: StaffContext,
    Csrf(Form(_)): Csrf<Form<NoFields>>,
) -> Result<Response, AppError> {
    account::sign_out(&state, Who::Staff, staff.user.id, None).await?;
    Ok(signed_out())
}

/// A staff member without a second factor sets one up voluntarily: the session goes
/// back through the code step, which enrols when no secret exists yet.
pub async fn enrol_second_factor(
    State(state): State<AppState>,
    staff: StaffContext,
    Csrf(Form(_)): Csrf<Form<NoFields>>,
) -> Result<Response, AppError> {
    if staff.user.totp_secret.is_some() {
        return Ok(Redirect::to("/verwaltung/").into_response());
    }
    let mut tx = state.store.begin().await?;
    tx.require_second_factor_again(&staff.session.record.id_hash).await?;
    tx.commit().await?;
    Ok(Redirect::to("/verwaltung/anmelden/code").into_response())
}
