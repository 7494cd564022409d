//! Errors at the web edge become a page (or JSON problem detail) with a correlation
//! id; details go to the log, never to the user.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    /// A request that cannot be carried out, with a message for the user.
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("store: {0}")]
    Store(#[from] amtsweg_store::StoreError),
    #[error("search: {0}")]
    Search(#[from] amtsweg_search::SearchError),
    #[error("template: {0}")]
    Template(#[from] minijinja::Error),
    #[error("object store: {0}")]
    Objects(String),
    #[error("internal: {0}")]
    Internal(String),
    #[error("crypto: {0}")]
    Crypto(#[from] amtsweg_portal::keyring::CryptoError),
    /// A page that explains instead (e.g. "this application was already sent" when
    /// a helper that expected a draft finds its submission): its HTML, sent with
    /// 200 and never cached.
    #[error("page")]
    Page(String),
}

impl From<amtsweg_portal::PortalError> for AppError {
    fn from(e: amtsweg_portal::PortalError) -> Self {
        use amtsweg_portal::PortalError as P;
        match e {
            P::NotFound => Self::NotFound,
            P::Store(e) => Self::Store(e),
            P::Crypto(e) => Self::Crypto(e),
            P::Objects(m) => Self::Objects(m),
            P::Form(m) | P::Internal(m) => Self::Internal(m),
        }
    }
}

/// Marks a response whose body the error layer should replace with an error page,
/// optionally with a message that says what went wrong in plain language.
#[derive(Debug, Clone)]
pub struct ErrorPage(pub Option<String>);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut detail = None;
        let status = match self {
            Self::Page(html) => {
                let no_store = (axum::http::header::CACHE_CONTROL, "no-store");
                return ([no_store], axum::response::Html(html)).into_response();
            }
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::BadRequest(message) => {
                detail = Some(message);
                StatusCode::BAD_REQUEST
            }
            other => {
                tracing::error!(error = %other, "request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let mut r = status.into_response();
        r.extensions_mut().insert(ErrorPage(detail));
        r
    }
}
