//! Health check, static files, themes, slash redirects and the 404 fallback.

use crate::AppState;
use crate::error::AppError;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};

pub async fn healthz(State(state): State<AppState>) -> Response {
    let db_ok = state.store.ping().await.is_ok();
    let room = crate::storage_health::room(&state).await;
    let body = serde_json::json!({
        "status": if db_ok && !room.is_full() { "ok" } else { "degraded" },
        "database": if db_ok { "ok" } else { "unreachable" },
        "storage": room.label(),
        "backend": format!("{:?}", state.store.backend()).to_lowercase(),
        "search_documents": state.search.len(),
        "version": env!("CARGO_PKG_VERSION"),
    });
    let status = if db_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

pub async fn static_file(Path(file): Path<String>, uri: Uri) -> Response {
    crate::assets::response(&file, uri.query()).unwrap_or_else(|| AppError::NotFound.into_response())
}

pub async fn theme_css(State(state): State<AppState>, Path(slug): Path<String>) -> Response {
    let catalogue = state.catalogue();
    let Some(a) = catalogue.authority_by_slug(&slug) else {
        return AppError::NotFound.into_response();
    };
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=300")],
        crate::theme::css(&a.primary_color),
    )
        .into_response()
}

/// `/leistungen` → `/leistungen/` and the like, keeping the query.
pub async fn add_slash(uri: Uri) -> Redirect {
    let target = match uri.query() {
        Some(q) => format!("{}/?{q}", uri.path()),
        None => format!("{}/", uri.path()),
    };
    Redirect::permanent(&target)
}

pub async fn not_found() -> AppError {
    AppError::NotFound
}
