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
    /// No password-hashing slot became free in time (`limits::hashing`): 503.
    #[error("busy")]
    Busy,
    /// The disk under the uploaded files is full (message for the log): 503, like a
    /// store error that means a full database disk.
    #[error("storage full: {0}")]
    StorageFull(String),
}

/// What a citizen reads while the disk is full: nothing of the last step was kept,
/// and sending it again later works (nothing needs a restart).
pub const STORAGE_FULL_MESSAGE: &str = "Der Speicher des Portals ist voll. Deshalb ist das Speichern vorübergehend nicht möglich: Was Sie eben gesendet haben, wurde nicht gespeichert, und ein Antrag ist damit noch nicht eingegangen. Bitte senden Sie es in einigen Minuten noch einmal – Ihre bisherigen Angaben bleiben erhalten.";

impl AppError {
    /// Whether the request failed only because a disk is full (database or files).
    #[must_use]
    pub fn is_storage_full(&self) -> bool {
        match self {
            Self::StorageFull(_) => true,
            Self::Store(e) => e.is_storage_full(),
            _ => false,
        }
    }
}

/// The 503 answer while a disk is full (the error layer renders the page).
fn storage_full() -> Response {
    let mut r = StatusCode::SERVICE_UNAVAILABLE.into_response();
    r.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from_static("60"));
    r.extensions_mut().insert(ErrorPage(Some(STORAGE_FULL_MESSAGE.into())));
    r
}

impl From<amtsweg_portal::PortalError> for AppError {
    fn from(e: amtsweg_portal::PortalError) -> Self {
        use amtsweg_portal::PortalError as P;
        match e {
            P::NotFound => Self::NotFound,
            P::Store(e) => Self::Store(e),
            P::Crypto(e) => Self::Crypto(e),
            P::Objects(m) => Self::Objects(m),
            P::StorageFull(m) => Self::StorageFull(m),
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
        if self.is_storage_full() {
            tracing::warn!(error = %self, "storage full: answered 503");
            return storage_full();
        }
        let mut detail = None;
        let status = match self {
            Self::Page(html) => {
                let no_store = (axum::http::header::CACHE_CONTROL, "no-store");
                return ([no_store], axum::response::Html(html)).into_response();
            }
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::Busy => return crate::limits::hashing::Busy.into_response(),
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

#[cfg(test)]
mod tests {
    use super::{AppError, ErrorPage, STORAGE_FULL_MESSAGE};
    use axum::http::StatusCode;
    use axum::response::IntoResponse;

    #[test]
    fn a_full_disk_is_a_503_with_the_german_explanation_not_a_500() {
        let full = || std::io::Error::from_raw_os_error(28);
        for e in [
            AppError::Store(amtsweg_store::StoreError::Io(full())),
            AppError::from(amtsweg_portal::PortalError::StorageFull("no space".into())),
        ] {
            let r = e.into_response();
            assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert!(r.headers().contains_key(axum::http::header::RETRY_AFTER));
            let detail = r.extensions().get::<ErrorPage>().and_then(|p| p.0.clone()).unwrap();
            assert_eq!(detail, STORAGE_FULL_MESSAGE);
        }
        assert!(STORAGE_FULL_MESSAGE.contains("vorübergehend nicht möglich"));
        // Any other store failure stays a 500.
        let other = AppError::Store(amtsweg_store::StoreError::Io(std::io::Error::other("broken")));
        assert_eq!(other.into_response().status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
