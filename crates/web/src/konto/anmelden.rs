//! Citizen sign-in (password, then the optional second factor) and sign-out.
//!
//! No account enumeration: unknown addresses get the same message, status and time
//! (a hash is verified either way) as wrong passwords; throttling counts failures per
//! typed address and client whether or not the address exists
//! ([`session::sign_in_wait`]).

use super::{CitizenContext, base, safe_next};
use crate::AppState;
use crate::account::{self, Code, TOO_MANY_CODES, WRONG_CODE, Who};
use crate::audit::audit;
use crate::csrf::{Csrf, NoFields};
use crate::error::AppError;
use crate::limits::{Client, hashing};
use crate::render::render_page;
use crate::session::{self, CITIZEN_COOKIE, Identification};
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct NextParam {
    weiter: Option<String>,
    hinweis: Option<String>,
}

fn notice_text(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "abgemeldet" => Some("Sie sind abgemeldet – auf allen Portalen des Verbunds."),
        "bestaetigt" => Some("Ihre E-Mail-Adresse ist bestätigt. Sie können sich jetzt anmelden."),
        "passwort" => Some("Ihr neues Passwort ist gespeichert. Bitte melden Sie sich damit an."),
        _ => None,
    }
}

use crate::csrf::{pre_session_token, with_pre_session_cookie};

struct LoginView<'a> {
    csrf: &'a str,
    next: &'a str,
    email: &'a str,
    error: Option<&'a str>,
    notice: Option<&'a str>,
}

/// Where the citizen will be signed in, for the page to say so: the member
/// authority's portal the sign-in is handed over to, if any.
fn hand_over_view(state: &AppState, next: &str) -> Option<minijinja::Value> {
    super::sso::hand_over(state, next).map(|h| {
        context! { host => h.host, authority => h.authority, central => super::sso::account_host(state) }
    })
}

fn render_login(state: &AppState, v: &LoginView<'_>, status: StatusCode) -> Result<Response, AppError> {
    let providers = super::offers(state, amtsweg_domain::TrustLevel::Normal, v.next);
    let ctx = context! {
        csrf => v.csrf, weiter => v.next, email => v.email, error => v.error, notice => v.notice, providers,
        hand_over => hand_over_view(state, v.next),
        ..base(state, None, "/konto/anmelden")
    };
    let r = with_pre_session_cookie((status, render_page(state, "konto/anmelden.html", ctx)?).into_response(), v.csrf);
    // After signing in, the answer to this form continues on the member host.
    Ok(crate::security::allow_form_targets(r, &super::sso::form_targets(state, v.next)))
}

/// On a member authority's own host after signing out: said here, on this host (the
/// sign-in page itself lives on the central host).
fn signed_out_here(state: &AppState, headers: &HeaderMap) -> Result<Response, AppError> {
    let host = super::sso::this_host(headers);
    let ctx = context! {
        title => "Sie sind abgemeldet",
        message => format!(
            "Sie sind abgemeldet – hier auf {host} und auf allen anderen Portalen im {}.",
            state.catalogue().verbund_name
        ),
        links => vec![
            context! { url => "/konto/anmelden", label => "Wieder anmelden" },
            context! { url => "/", label => "Zur Startseite" },
        ],
        ..base(state, None, "/konto/anmelden")
    };
    let mut r = render_page(state, "konto/hinweis.html", ctx)?.into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(r)
}

pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextParam>,
) -> Result<Response, AppError> {
    let next = safe_next(q.weiter.as_deref());
    if q.hinweis.as_deref() == Some("abgemeldet") && super::sso::on_member_host(&state, &headers) {
        return signed_out_here(&state, &headers);
    }
    // On a member authority's own host name, sign-in happens on the central host.
    if let Some(r) = super::sso::redirect_to_central(&state, &headers, &next) {
        return Ok(r);
    }
    if session::current(&state, &headers, "citizen").await?.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    let csrf = pre_session_token(&headers);
    let v = LoginView { csrf: &csrf, next: &next, email: "", error: None, notice: notice_text(q.hinweis.as_deref()) };
    render_login(&state, &v, StatusCode::OK)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginForm {
    email: String,
    password: String,
    csrf: String,
    weiter: Option<String>,
}

fn forbidden() -> Response {
    (StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "Anfrage abgelehnt").into_response()
}

pub(super) use super::identity::sign_in;

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
    let email = f.email.trim().to_lowercase();
    let fresh = session::random_token();
    let view = |error| LoginView { csrf: &fresh, next: &next, email: &email, error: Some(error), notice: None };
    if email.is_empty() || f.password.is_empty() {
        let v = view("Bitte geben Sie Ihre E-Mail-Adresse und Ihr Passwort ein.");
        return render_login(&state, &v, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let key = format!("citizen:{email}");
    if let Some(wait) = session::sign_in_wait(&state, &key, &client).await? {
        audit(&state, "anonymous", None, "login", "citizen", "throttled").await?;
        let message = session::wait_message(wait);
        let mut r = render_login(&state, &view(message.as_str()), StatusCode::TOO_MANY_REQUESTS)?;
        r.headers_mut().extend([session::retry_after(wait)]);
        return Ok(r);
    }
    let citizen = state.store.citizen_by_email(&email).await?;
    let hash = citizen.as_ref().and_then(|c| c.password_hash.clone());
    let ok = hashing::verify_password(&state, f.password.clone(), hash).await?;
    let citizen = match citizen {
        Some(c) if ok && !c.disabled && c.password_hash.is_some() => c,
        other => {
            session::record_sign_in_failure(&state, &key, &client).await?;
            let actor = other.map_or_else(|| "anonymous".to_owned(), |c| format!("citizen:{}", c.id));
            audit(&state, &actor, None, "login", "citizen", "failure").await?;
            return render_login(
                &state,
                &view("E-Mail-Adresse oder Passwort ist falsch."),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    if !citizen.email_verified {
        // The password was right, so saying this reveals nothing to a stranger.
        if crate::limits::quotas::mail_allowed(&state, &email, &client).await? {
            super::registrieren::send_confirmation(&state, citizen.id, &email).await?;
        }
        let v = view(
            "Bitte bestätigen Sie zuerst Ihre E-Mail-Adresse. Wir haben Ihnen den Bestätigungslink noch einmal geschickt.",
        );
        return render_login(&state, &v, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let needs_code = citizen.totp_secret.is_some();
    audit(&state, &format!("citizen:{}", citizen.id), None, "login.password", "citizen", "success").await?;
    let target = if needs_code {
        format!("/konto/anmelden/code?weiter={}", crate::verwaltung::urlencode(&next))
    } else {
        next.clone()
    };
    sign_in(&state, citizen.id, !needs_code, &Identification::password(), &target).await
}

pub async fn code_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextParam>,
) -> Result<Response, AppError> {
    let Some(s) = session::current(&state, &headers, "citizen").await? else {
        return Ok(Redirect::to("/konto/anmelden").into_response());
    };
    if s.record.second_factor_done {
        return Ok(Redirect::to(&safe_next(q.weiter.as_deref())).into_response());
    }
    render_code(&state, &s, q.weiter.as_deref(), None, StatusCode::OK)
}

fn render_code(
    state: &AppState,
    s: &session::ActiveSession,
    next: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let next = safe_next(next);
    let ctx = context! {
        csrf => &s.record.csrf_token, weiter => &next, error, hand_over => hand_over_view(state, &next),
        ..base(state, None, "/konto/anmelden/code")
    };
    let mut r = (status, render_page(state, "konto/code.html", ctx)?).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    Ok(crate::security::allow_form_targets(r, &super::sso::form_targets(state, &next)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CodeForm {
    code: String,
    csrf: String,
    weiter: Option<String>,
}

pub async fn code_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> Result<Response, AppError> {
    let Some(s) = session::current(&state, &headers, "citizen").await? else {
        return Ok(Redirect::to("/konto/anmelden").into_response());
    };
    if crate::csrf::check(&headers, &s.record.csrf_token, &f.csrf).is_err() {
        return Ok(forbidden());
    }
    let Some(citizen) = state.store.citizen_by_id(s.record.subject_id).await? else {
        return Ok(Redirect::to("/konto/anmelden").into_response());
    };
    let secret = citizen.totp_secret.as_deref().unwrap_or_default();
    let refused = match account::check_code(&state, Who::Citizen, citizen.id, secret, &f.code).await? {
        Code::Right => None,
        Code::Throttled => Some((TOO_MANY_CODES, StatusCode::TOO_MANY_REQUESTS)),
        Code::Wrong => Some((WRONG_CODE, StatusCode::UNPROCESSABLE_ENTITY)),
        Code::Reused => Some((account::REUSED_CODE, StatusCode::UNPROCESSABLE_ENTITY)),
    };
    if let Some((msg, status)) = refused {
        return render_code(&state, &s, f.weiter.as_deref(), Some(msg), status);
    }
    let mut tx = state.store.begin().await?;
    tx.mark_second_factor_done(&s.record.id_hash).await?;
    tx.commit().await?;
    audit(&state, &format!("citizen:{}", citizen.id), None, "login.second_factor", "citizen", "success").await?;
    Ok(Redirect::to(&safe_next(f.weiter.as_deref())).into_response())
}

fn signed_out() -> Response {
    let mut r = Redirect::to("/konto/anmelden?hinweis=abgemeldet").into_response();
    if let Some(c) = session::set_cookie(CITIZEN_COOKIE, "", 0) {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r
}

/// Signing out ends the account's sessions on every portal of the Verbund: the
/// sign-in was one, so is the sign-out.
pub async fn logout(
    State(state): State<AppState>,
    me: CitizenContext,
    Csrf(Form(_)): Csrf<Form<NoFields>>,
) -> Result<Response, AppError> {
    // Signing out ends the account's sessions on every portal of the Verbund.
    account::sign_out(&state, Who::Citizen, me.citizen.id, None).await?;
    Ok(signed_out())
}

/// The same as signing out, offered under its familiar name on the security page.
pub async fn logout_everywhere(
    state: State<AppState>,
    me: CitizenContext,
    f: Csrf<Form<NoFields>>,
) -> Result<Response, AppError> {
    logout(state, me, f).await
}
