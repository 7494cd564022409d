//! The tenant of a request comes from its path (`/o/<slug>/…`) or its host name
//! (`<slug>.localhost`, or a host configured for an authority). Host-based requests
//! are rewritten to the path form before routing, so every page has one handler.

use crate::AppState;
use crate::error::AppError;
use axum::extract::{Request, State};
use axum::http::{Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Paths that stay Verbund-wide even on an authority's own host name.
const SHARED_PREFIXES: &[&str] = &["/o/", "/static/", "/api/", "/healthz", "/suche", "/ort", "/konto"];

/// Host name without port, lower-case; `[::1]:8080` → `[::1]`.
pub fn host_of(req: &Request) -> String {
    let raw = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(axum::http::uri::Authority::as_str))
        .unwrap_or_default()
        .to_ascii_lowercase();
    if raw.starts_with('[') {
        return raw.split_once(']').map_or(raw.clone(), |(h, _)| format!("{h}]"));
    }
    raw.split(':').next().unwrap_or_default().to_owned()
}

pub async fn resolve_host(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let host = host_of(&req);
    if host.is_empty() || state.config.verbund_hosts.iter().any(|h| h.eq_ignore_ascii_case(&host)) {
        return next.run(req).await;
    }
    let catalogue = state.catalogue();
    let Some(authority) = catalogue.authority_by_host(&host) else {
        tracing::info!(%host, "request for an unknown host");
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
    next.run(req).await
}
