//! The citizen account (Bürgerkonto) under `/konto/`: one account for the whole
//! Verbund. Sessions, CSRF and throttling come from `crate::session` (shared with the
//! back office); member authorities on their own host names receive the sign-in from
//! the central account host (`sso`).

mod anmelden;
mod identity;
mod oidc;
pub mod postfach;
mod profil;
mod registrieren;
pub mod saml;
pub mod sso;

use crate::AppState;
use crate::error::AppError;
use crate::session::{self, ActiveSession};
use amtsweg_domain::TrustLevel;
use amtsweg_store::konto::Citizen;
use axum::Router;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post};
use minijinja::{Value, context};

/// Every account route: path, methods, handlers (the isolation test walks it).
fn table() -> Vec<(&'static str, &'static [&'static str], MethodRouter<AppState>)> {
    vec![
        ("/konto", &["GET"], get(crate::pages::add_slash)),
        ("/konto/", &["GET"], get(profil::overview)),
        ("/konto/anmelden", &["GET", "POST"], get(anmelden::form).post(anmelden::submit)),
        ("/konto/anmelden/code", &["GET", "POST"], get(anmelden::code_form).post(anmelden::code_submit)),
        ("/konto/abmelden", &["POST"], post(anmelden::logout)),
        ("/konto/ueberall-abmelden", &["POST"], post(anmelden::logout_everywhere)),
        ("/konto/registrieren", &["GET", "POST"], get(registrieren::form).post(registrieren::submit)),
        ("/konto/bestaetigen/{token}", &["GET"], get(registrieren::confirm)),
        (
            "/konto/passwort-vergessen",
            &["GET", "POST"],
            get(registrieren::forgot_form).post(registrieren::forgot_submit),
        ),
        (
            "/konto/passwort-neu/{token}",
            &["GET", "POST"],
            get(registrieren::reset_form).post(registrieren::reset_submit),
        ),
        ("/konto/profil", &["GET", "POST"], get(profil::profile_form).post(profil::profile_submit)),
        ("/konto/sicherheit", &["GET", "POST"], get(profil::security_form).post(profil::security_submit)),
        ("/konto/vertrauensniveau", &["GET"], get(profil::trust_page)),
        ("/konto/postfach/", &["GET"], get(postfach::list)),
        ("/konto/postfach/{thread}", &["GET", "POST"], get(postfach::thread).post(postfach::reply)),
        ("/konto/postfach/anhang/{id}", &["GET"], get(postfach::attachment)),
        ("/konto/oidc/{name}/start", &["GET", "POST"], get(oidc::start).post(oidc::start_linked)),
        ("/konto/oidc/{name}/callback", &["GET"], get(oidc::callback)),
        ("/konto/saml/metadata", &["GET"], get(saml::metadata)),
        ("/konto/saml/anmelden", &["GET", "POST"], get(saml::start).post(saml::start_linked)),
        ("/konto/saml/acs", &["POST"], post(saml::acs)),
        ("/konto/sso/start", &["GET"], get(sso::start)),
        ("/konto/sso/annehmen", &["GET"], get(sso::accept)),
    ]
}

pub fn routes() -> Router<AppState> {
    table().into_iter().fold(Router::new(), |r, (path, _, handlers)| r.route(path, handlers))
}

/// The account routes as (path, methods), for tests that must cover every route.
#[must_use]
pub fn route_table() -> Vec<(&'static str, &'static [&'static str])> {
    let mut t: Vec<_> = table().into_iter().map(|(p, m, _)| (p, m)).collect();
    t.extend(crate::antrag::konto_route_table());
    t
}

/// A signed-in citizen and how well they were identified in this session.
pub struct CitizenContext {
    pub citizen: Citizen,
    pub session: ActiveSession,
    pub trust: TrustLevel,
}

impl CitizenContext {
    /// The form was sent from a page of this session (CSRF token and same origin).
    pub(crate) fn check_form(&self, headers: &HeaderMap, token: &str) -> Result<(), AppError> {
        if session::same_origin(headers) && session::tokens_match(&self.session.record.csrf_token, token) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    pub(crate) fn actor(&self) -> String {
        format!("citizen:{}", self.citizen.id)
    }
}

impl axum::extract::FromRequestParts<AppState> for CitizenContext {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &AppState) -> Result<Self, Response> {
        require_citizen(state, &parts.headers, &parts.uri).await
    }
}

/// Only local paths are followed after sign-in (no other hosts, no `//`).
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        // No whitespace or control characters either: browsers drop tabs and line
        // breaks from URLs, which would turn "/<tab>/evil.example" into "//evil.example".
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && !p.contains("://")
                && !p.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            p.to_owned()
        }
        _ => "/konto/".to_owned(),
    }
}

/// Where to sign in and come back to `uri` (on a member authority's own host name
/// through the central account host).
fn login_redirect(state: &AppState, headers: &HeaderMap, uri: &Uri) -> Response {
    let back = uri.path_and_query().map_or("/konto/", |p| p.as_str());
    if let Some(r) = sso::redirect_to_central(state, headers, back) {
        return r;
    }
    Redirect::to(&format!("/konto/anmelden?weiter={}", crate::verwaltung::urlencode(back))).into_response()
}

/// The citizen of this request, or the response that sends them to sign in.
pub async fn require_citizen(state: &AppState, headers: &HeaderMap, uri: &Uri) -> Result<CitizenContext, Response> {
    let session = match session::current(state, headers, "citizen").await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(login_redirect(state, headers, uri)),
        Err(e) => return Err(AppError::from(e).into_response()),
    };
    let citizen = match state.store.citizen_by_id(session.record.subject_id).await {
        Ok(Some(c)) if !c.disabled => c,
        Ok(_) => return Err(login_redirect(state, headers, uri)),
        Err(e) => return Err(AppError::from(e).into_response()),
    };
    if citizen.totp_secret.is_some() && session.record.auth_method == "password" && !session.record.second_factor_done {
        return Err(Redirect::to("/konto/anmelden/code").into_response());
    }
    let trust = TrustLevel::parse(&session.record.trust_level).unwrap_or(TrustLevel::Normal);
    Ok(CitizenContext { citizen, session, trust })
}

/// The trust-level guard: the citizen is signed in *and* was identified at least at
/// `needed` in this session. Otherwise the response sends them to sign in, or to the
/// page that explains how to reach the level (and returns to `uri` afterwards).
///
/// # Errors
/// The response to send instead.
pub async fn require_trust(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    needed: TrustLevel,
) -> Result<CitizenContext, Response> {
    let c = require_citizen(state, headers, uri).await?;
    if amtsweg_domain::konto::satisfies(c.trust, needed) {
        return Ok(c);
    }
    let back = uri.path_and_query().map_or("/konto/", |p| p.as_str());
    Err(Redirect::to(&format!(
        "/konto/vertrauensniveau?benoetigt={}&weiter={}",
        needed.as_str(),
        crate::verwaltung::urlencode(back)
    ))
    .into_response())
}

/// The form that starts a sign-in at an ID provider from a signed-in session (to
/// link the identity or to step up): the session's CSRF token, the level, the way back.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct LinkForm {
    pub(crate) csrf: String,
    pub(crate) niveau: Option<String>,
    pub(crate) weiter: Option<String>,
}

/// The ID providers to offer on a page (BundID first), asking for `level` and
/// returning to `next`.
pub(crate) fn offers(state: &AppState, level: TrustLevel, next: &str) -> Vec<Value> {
    let mut v: Vec<Value> = saml::offer(state, level, next).into_iter().collect();
    v.extend(oidc::offers(state, level, next));
    v
}

/// Context of every account page: the public layout, without a tenant.
pub(crate) fn base(state: &AppState, citizen: Option<&CitizenContext>, path: &str) -> Value {
    let catalogue = state.catalogue();
    let base = crate::pages::base_context(state, &catalogue, None, &HeaderMap::new(), path, Vec::new());
    let me = citizen.map(|c| {
        context! {
            email => &c.citizen.email, csrf => &c.session.record.csrf_token, trust => c.trust.label(),
            trust_key => c.trust.as_str(), ends_at_ms => c.session.ends_at(),
            method => match c.session.record.auth_method.as_str() {
                "bundid" => "die BundID".to_owned(),
                "password" => "E-Mail-Adresse und Passwort".to_owned(),
                other => format!("den Anmeldedienst {}", other.trim_start_matches("oidc:")),
            },
        }
    });
    context! { me, account => true, ..base }
}
