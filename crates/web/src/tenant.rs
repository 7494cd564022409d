//! The tenant of a request comes from its path (`/o/<slug>/…`) or its host name
//! (`<slug>.localhost`, or a host configured for an authority). Host-based requests
//! are rewritten to the path form before routing, so every page has one handler.
//!
//! Citizens sign in on the central account host (`konto::sso`); a page on a member
//! authority's own host may therefore send a form whose answer continues there (a
//! sign-out, a form sent after the session ran out). Chromium applies `form-action`
//! to every redirect after a form is sent, so member hosts' pages allow exactly one
//! more form target: the central account host.

use crate::AppState;
use crate::error::AppError;
use axum::extract::{Request, State};
use axum::http::{Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Paths that stay Verbund-wide even on an authority's own host name.
const SHARED_PREFIXES: &[&str] = &["/o/", "/static/", "/api/", "/healthz", "/suche", "/ort", "/konto"];

/// Host name without port, lower-case; `[::1]:8080` → `[::1]`. A `Host` header that
/// is not plain ASCII keeps its bytes (lossily) so it matches no host and is answered
/// like any unknown one — never as the Verbund portal.
pub fn host_of(req: &Request) -> String {
    let raw = match req.headers().get(header::HOST) {
        // ASCII lower-casing only: Unicode would turn e.g. the Kelvin sign into `k`.
        Some(h) => String::from_utf8_lossy(h.as_bytes()).to_ascii_lowercase(),
        None => req.uri().authority().map(|a| a.as_str().to_ascii_lowercase()).unwrap_or_default(),
    };
    if raw.starts_with('[') {
        return raw.split_once(']').map_or(raw.clone(), |(h, _)| format!("{h}]"));
    }
    raw.split(':').next().unwrap_or_default().to_owned()
}

fn scheme(state: &AppState) -> &'static str {
    if state.config.public_base_url.starts_with("https://") { "https" } else { "http" }
}

/// The central host where citizens sign in (with port, as in a URL): `account_host`
/// from the configuration, else the host of `public_base_url`.
#[must_use]
pub fn account_host(state: &AppState) -> String {
    if !state.config.account_host.is_empty() {
        return state.config.account_host.clone();
    }
    let url = &state.config.public_base_url;
    url.split_once("://").map_or(url.as_str(), |(_, rest)| rest).split('/').next().unwrap_or_default().to_owned()
}

/// `scheme://host` of a host of this installation (`host` with port, as in a URL).
#[must_use]
pub fn origin(state: &AppState, host: &str) -> String {
    format!("{}://{host}", scheme(state))
}

/// The central account host's origin (`http://localhost:8080`).
#[must_use]
pub fn central_origin(state: &AppState) -> String {
    origin(state, &account_host(state))
}

pub async fn resolve_host(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if req.headers().get_all(header::HOST).iter().nth(1).is_some() {
        // Which one would a proxy in front have used? Refuse rather than guess.
        return AppError::BadRequest("Die Anfrage nennt mehr als einen Host.".into()).into_response();
    }
    let host = host_of(&req);
    if host.is_empty() || state.config.verbund_hosts.iter().any(|h| h.eq_ignore_ascii_case(&host)) {
        return next.run(req).await;
    }
    let catalogue = state.catalogue();
    let Some(authority) = catalogue.authority_by_host(&host) else {
        tracing::info!(?host, "request for an unknown host");
        return AppError::NotFound.into_response();
    };
    let path = req.uri().path();
    if !SHARED_PREFIXES.iter().any(|p| path.starts_with(p)) {
        let rewritten = match req.uri().query() {
            Some(q) => format!("/o/{}{path}?{q}", authority.slug),
            None => format!("/o/{}{path}", authority.slug),
        };
        match rewritten.parse::<Uri>() {
            Ok(uri) => *req.uri_mut() = uri,
            Err(_) => return AppError::NotFound.into_response(),
        }
    }
    let mut resp = next.run(req).await;
    if !resp.headers().contains_key(header::CONTENT_SECURITY_POLICY)
        && let Some(v) = crate::security::csp_with_form_targets(&[central_origin(&state)])
    {
        resp.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    resp
}
