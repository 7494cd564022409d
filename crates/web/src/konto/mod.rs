//! The citizen account (Bürgerkonto) under `/konto/`: one account for the whole
//! Verbund. Sessions, CSRF and throttling come from `crate::session` (shared with the
//! back office); member authorities on their own host names receive the sign-in from
//! the central account host (`sso`).

pub(crate) mod anmelden;
pub(crate) mod finanzen;
pub(crate) mod identity;
pub(crate) mod niveau;
pub(crate) mod oidc;
pub mod postfach;
pub(crate) mod profil;
pub(crate) mod registrieren;
pub mod saml;
pub mod sso;

use crate::AppState;
use crate::error::AppError;
use crate::session::{self, ActiveSession};
use amtsweg_domain::TrustLevel;
use amtsweg_store::konto::Citizen;
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};

/// A signed-in citizen and how well they were identified in this session.
pub struct CitizenContext {
    pub citizen: Citizen,
    pub session: ActiveSession,
    pub trust: TrustLevel,
    /// The host this request came to (with port), and whether it is a member
    /// authority's own host (signed in there through the central hand-over).
    pub host: String,
    pub member_host: bool,
}

impl CitizenContext {
    /// The form was sent from a page of this session (CSRF token and same origin).
    pub(crate) fn check_form(&self, headers: &HeaderMap, token: &str) -> Result<(), AppError> {
        crate::csrf::check(headers, &self.session.record.csrf_token, token)
    }

    pub(crate) fn actor(&self) -> String {
        format!("citizen:{}", self.citizen.id)
    }
}

impl axum::extract::FromRequestParts<AppState> for CitizenContext {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &AppState) -> Result<Self, Response> {
        let me = require_citizen(state, &parts.headers, &parts.uri).await?;
        // What `Csrf<Form<_>>` compares the posted token with.
        parts.extensions.insert(crate::csrf::ExpectedCsrf(me.session.record.csrf_token.clone()));
        Ok(me)
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
    let host = sso::this_host(headers);
    let member_host = sso::on_member_host(state, headers);
    Ok(CitizenContext { citizen, session, trust, host, member_host })
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
    let base = crate::render::base_context(state, &catalogue, None, &HeaderMap::new(), path, Vec::new());
    let me = citizen.map(|c| {
        context! {
            email => &c.citizen.email, csrf => &c.session.record.csrf_token, trust => c.trust.label(),
            trust_key => c.trust.as_str(), ends_at_ms => c.session.ends_at(),
            method => match c.session.record.auth_method.as_str() {
                "bundid" => "die BundID".to_owned(),
                "password" => "E-Mail-Adresse und Passwort".to_owned(),
                other => format!("den Anmeldedienst {}", other.trim_start_matches("oidc:")),
            },
            host => &c.host, member_host => c.member_host,
            portal => c.member_host.then(|| catalogue.authority_by_host(sso::without_port(&c.host)).map(|a| a.name.clone())).flatten(),
            central => sso::account_host(state),
        }
    });
    context! { me, account => true, ..base }
}

/// Only local paths are followed after sign-in (see [`crate::urls::local_target`]).
pub(crate) fn safe_next(next: Option<&str>) -> String {
    crate::urls::local_target(next, "/", "/konto/")
}
