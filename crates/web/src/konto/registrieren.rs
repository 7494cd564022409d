//! Registration with e-mail confirmation, and password reset. Both answer alike for
//! known and unknown addresses: a registration for a taken address sends that address
//! a notice instead of revealing the account to whoever typed it. Both send mail only
//! within the limits per address and client (`limits::quotas::mail_allowed`); beyond
//! them the page is the same, but nothing is sent or stored.

use super::base;
use crate::AppState;
use crate::audit::audit;
use crate::csrf::{pre_session_token, with_pre_session_cookie};
use crate::error::AppError;
use crate::limits::{Client, hashing, quotas};
use crate::render::render_page;
use crate::session;
use amtsweg_domain::konto::{check_password, normalize_email};
use amtsweg_store::outbox::{EmailMessage, TokenProblem};
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

/// Confirmation links are valid for two days (reset links: `account::RESET_MINUTES`).
const CONFIRM_HOURS: i64 = 48;

fn link(state: &AppState, path: &str) -> String {
    format!("{}{path}", state.config.public_base_url.trim_end_matches('/'))
}

/// Queues the confirmation mail with a fresh one-time link.
pub(super) async fn send_confirmation(state: &AppState, citizen_id: i64, email: &str) -> Result<(), AppError> {
    let token = session::random_token();
    let mut tx = state.store.begin().await?;
    tx.insert_citizen_token(
        &session::hash_token(&token),
        "verify",
        citizen_id,
        amtsweg_store::now_ms() + CONFIRM_HOURS * 3_600_000,
    )
    .await?;
    tx.enqueue_email(&EmailMessage {
        to: email.to_owned(),
        subject: "Bitte bestätigen Sie Ihr Bürgerkonto".into(),
        body: format!(
            "Guten Tag,\n\nSie haben ein Bürgerkonto im {} angelegt. Bitte bestätigen Sie Ihre E-Mail-Adresse innerhalb von {CONFIRM_HOURS} Stunden:\n\n{}\n\nWenn Sie kein Konto angelegt haben, ignorieren Sie diese E-Mail.\n",
            state.catalogue().verbund_name,
            link(state, &format!("/konto/bestaetigen/{token}")),
        ),
        attachments: Vec::new(),
    })
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Default, Deserialize, serde::Serialize)]
#[serde(default)]
pub struct RegisterForm {
    #[serde(skip_serializing)]
    csrf: String,
    email: String,
    #[serde(skip_serializing)]
    password: String,
    #[serde(skip_serializing)]
    password2: String,
}

fn render_register(
    state: &AppState,
    csrf: &str,
    f: &RegisterForm,
    errors: &[(&str, String)],
    done: bool,
) -> Result<Response, AppError> {
    let error_of = |name: &str| errors.iter().find(|(k, _)| *k == name).map(|(_, m)| m.clone());
    let (email_error, pw_error, pw2_error) = (error_of("email"), error_of("password"), error_of("password2"));
    let errors: Vec<_> = errors.iter().map(|(field, message)| context! { field, message }).collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let ctx = context! { csrf, f, errors, done, email_error, pw_error, pw2_error, min => amtsweg_domain::konto::MIN_PASSWORD_CHARS, ..base(state, None, "/konto/registrieren") };
    Ok(with_pre_session_cookie((status, render_page(state, "konto/registrieren.html", ctx)?).into_response(), csrf))
}

pub async fn form(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    render_register(&state, &pre_session_token(&headers), &RegisterForm::default(), &[], false)
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: Client,
    Form(f): Form<RegisterForm>,
) -> Result<Response, AppError> {
    crate::csrf::check_pre_session(&headers, &f.csrf)?;
    let csrf = pre_session_token(&headers);
    let mut errors: Vec<(&str, String)> = Vec::new();
    let email = match normalize_email(&f.email) {
        Ok(e) => e,
        Err(e) => {
            errors.push(("email", e.0));
            String::new()
        }
    };
    if let Err(e) = check_password(&f.password, &email) {
        errors.push(("password", e.0));
    } else if f.password != f.password2 {
        errors.push(("password2", "Die beiden Passwörter stimmen nicht überein.".into()));
    }
    if !errors.is_empty() {
        return render_register(&state, &csrf, &f, &errors, false);
    }
    let done = RegisterForm { email: email.clone(), ..RegisterForm::default() };
    // Every registration sends one mail (a confirmation or "you have an account"):
    // beyond the mail limits the same page, but nothing is sent, stored or hashed.
    if !quotas::mail_allowed(&state, &email, &client).await? {
        return render_register(&state, &csrf, &done, &[], true);
    }
    let hash = hashing::hash_password(&state, f.password.clone()).await?;
    let mut tx = state.store.begin().await?;
    let created = tx.insert_citizen(&email, &hash).await?;
    if created.is_none() {
        tx.enqueue_email(&EmailMessage {
            to: email.clone(),
            subject: "Sie haben bereits ein Bürgerkonto".into(),
            body: format!(
                "Guten Tag,\n\njemand hat versucht, mit dieser Adresse ein Bürgerkonto anzulegen. Sie haben bereits eines.\nAnmelden: {}\nPasswort vergessen: {}\n\nWenn Sie das nicht waren, ignorieren Sie diese E-Mail.\n",
                link(&state, "/konto/anmelden"),
                link(&state, "/konto/passwort-vergessen"),
            ),
            attachments: Vec::new(),
        })
        .await?;
    }
    tx.commit().await?;
    if let Some(id) = created {
        send_confirmation(&state, id, &email).await?;
        audit(&state, &format!("citizen:{id}"), None, "citizen.register", &format!("citizen:{id}"), "success").await?;
    }
    render_register(&state, &csrf, &done, &[], true)
}

fn token_problem_page(state: &AppState, problem: &TokenProblem) -> Result<Response, AppError> {
    let message = match problem {
        TokenProblem::Expired => "Dieser Link ist abgelaufen. Fordern Sie bitte einen neuen an.",
        TokenProblem::Used => "Dieser Link wurde schon benutzt.",
        TokenProblem::Unknown => "Dieser Link ist ungültig. Bitte prüfen Sie, ob er vollständig kopiert wurde.",
    };
    let ctx = context! { title => "Link nicht gültig", message, ..base(state, None, "/konto/") };
    Ok((StatusCode::GONE, render_page(state, "konto/hinweis.html", ctx)?).into_response())
}

pub async fn confirm(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, AppError> {
    let hash = session::hash_token(&token);
    let citizen_id = match state.store.citizen_token(&hash, "verify").await? {
        Ok(id) => id,
        Err(p) => return token_problem_page(&state, &p),
    };
    let mut tx = state.store.begin().await?;
    if !tx.use_citizen_token(&hash, "verify").await? {
        return token_problem_page(&state, &TokenProblem::Used);
    }
    tx.mark_email_verified(citizen_id).await?;
    tx.commit().await?;
    audit(
        &state,
        &format!("citizen:{citizen_id}"),
        None,
        "citizen.confirm_email",
        &format!("citizen:{citizen_id}"),
        "success",
    )
    .await?;
    Ok(Redirect::to("/konto/anmelden?hinweis=bestaetigt").into_response())
}

fn render_forgot(state: &AppState, csrf: &str, sent: bool) -> Result<Response, AppError> {
    let ctx = context! { csrf, sent, ..base(state, None, "/konto/passwort-vergessen") };
    Ok(with_pre_session_cookie(render_page(state, "konto/passwort_vergessen.html", ctx)?.into_response(), csrf))
}

pub async fn forgot_form(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    render_forgot(&state, &pre_session_token(&headers), false)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ForgotForm {
    csrf: String,
    email: String,
}

/// Always the same answer, whether or not an account exists.
pub async fn forgot_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    client: Client,
    Form(f): Form<ForgotForm>,
) -> Result<Response, AppError> {
    crate::csrf::check_pre_session(&headers, &f.csrf)?;
    let email = normalize_email(&f.email).unwrap_or_default();
    crate::account::request_reset(&state, crate::account::Who::Citizen, &email, &client).await?;
    render_forgot(&state, &pre_session_token(&headers), true)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ResetForm {
    csrf: String,
    password: String,
    password2: String,
}

fn render_reset(state: &AppState, csrf: &str, token: &str, error: Option<String>) -> Result<Response, AppError> {
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! { csrf, token, error, min => amtsweg_domain::konto::MIN_PASSWORD_CHARS, ..base(state, None, "/konto/passwort-neu") };
    Ok(with_pre_session_cookie((status, render_page(state, "konto/passwort_neu.html", ctx)?).into_response(), csrf))
}

pub async fn reset_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    if let Err(p) = state.store.citizen_token(&session::hash_token(&token), "reset").await? {
        return token_problem_page(&state, &p);
    }
    render_reset(&state, &pre_session_token(&headers), &token, None)
}

pub async fn reset_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(f): Form<ResetForm>,
) -> Result<Response, AppError> {
    crate::csrf::check_pre_session(&headers, &f.csrf)?;
    let hash = session::hash_token(&token);
    let citizen_id = match state.store.citizen_token(&hash, "reset").await? {
        Ok(id) => id,
        Err(p) => return token_problem_page(&state, &p),
    };
    let email = state.store.citizen_by_id(citizen_id).await?.and_then(|c| c.email).unwrap_or_default();
    let error = match check_password(&f.password, &email) {
        Err(e) => Some(e.0),
        Ok(()) if f.password != f.password2 => Some("Die beiden Passwörter stimmen nicht überein.".to_owned()),
        Ok(()) => None,
    };
    if error.is_some() {
        return render_reset(&state, &f.csrf, &token, error);
    }
    let who = crate::account::Who::Citizen;
    if !crate::account::set_password_by_link(&state, who, "reset", &hash, citizen_id, f.password).await? {
        return token_problem_page(&state, &TokenProblem::Used);
    }
    Ok(Redirect::to("/konto/anmelden?hinweis=passwort").into_response())
}
