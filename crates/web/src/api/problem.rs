//! Problem details (RFC 9457) for the API, in German or — with
//! `Accept-Language: en` — in English.

use crate::error::AppError;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// An API error as `application/problem+json`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// `https://amtsweg.de/probleme/<code>`: stable, for programs.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What went wrong and what to do, for people.
    pub detail: String,
    #[serde(skip)]
    english: String,
}

/// The English detail, carried on the response until the language layer sees it.
#[derive(Debug, Clone)]
struct English(Problem);

impl Problem {
    #[must_use]
    pub fn new(status: StatusCode, code: &str, de: String, en: String) -> Self {
        Self {
            kind: format!("https://amtsweg.de/probleme/{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: de,
            english: en,
        }
    }

    /// A server-side failure; the cause goes to the log, not to the client.
    #[must_use]
    pub fn internal(cause: &str) -> Self {
        tracing::error!(%cause, "API request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Bei uns ist ein Fehler aufgetreten. Nichts ging verloren; bitte versuchen Sie es später noch einmal."
                .into(),
            "An error occurred on our side. Nothing was lost; please try again later.".into(),
        )
    }

    /// A full disk: nothing was stored, and the same request works again later.
    #[must_use]
    pub fn storage_full(cause: &str) -> Self {
        tracing::warn!(%cause, "API request refused: storage full");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage-full",
            "Der Speicher ist voll; das Speichern ist vorübergehend nicht möglich. Nichts wurde gespeichert; bitte senden Sie die Anfrage später noch einmal.".into(),
            "Storage is full; saving is temporarily not possible. Nothing was stored; please send the request again later.".into(),
        )
    }

    fn body(&self, english: bool) -> String {
        let mut p = self.clone();
        if english {
            p.detail = self.english.clone();
        }
        serde_json::to_string(&p).unwrap_or_default()
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut r = (status, [(header::CONTENT_TYPE, "application/problem+json")], self.body(false)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"amtsweg\""));
        }
        r.extensions_mut().insert(English(self));
        r
    }
}

impl From<AppError> for Problem {
    fn from(e: AppError) -> Self {
        match e {
            AppError::NotFound => {
                Self::new(StatusCode::NOT_FOUND, "not-found", "Das Gesuchte gibt es nicht.".into(), "Not found.".into())
            }
            AppError::Forbidden => {
                Self::new(StatusCode::FORBIDDEN, "forbidden", "Kein Zugriff.".into(), "Access denied.".into())
            }
            AppError::BadRequest(m) => {
                Self::new(StatusCode::BAD_REQUEST, "bad-request", m, "The request cannot be carried out.".into())
            }
            full if full.is_storage_full() => Self::storage_full(&full.to_string()),
            other => Self::internal(&other.to_string()),
        }
    }
}

impl From<amtsweg_portal::PortalError> for Problem {
    fn from(e: amtsweg_portal::PortalError) -> Self {
        AppError::from(e).into()
    }
}

impl From<amtsweg_store::StoreError> for Problem {
    fn from(e: amtsweg_store::StoreError) -> Self {
        if e.is_storage_full() { Self::storage_full(&e.to_string()) } else { Self::internal(&e.to_string()) }
    }
}

fn wants_english(req: &Request) -> bool {
    req.headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|first| first.trim().to_ascii_lowercase().starts_with("en"))
}

/// Rewrites problem details into English for clients that ask for it.
pub async fn language(req: Request, next: Next) -> Response {
    let english = wants_english(&req);
    let mut resp = next.run(req).await;
    if english && let Some(English(p)) = resp.extensions_mut().remove::<English>() {
        let status = resp.status();
        let headers = resp.headers().clone();
        let mut out = (status, p.body(true)).into_response();
        *out.headers_mut() = headers;
        out.headers_mut().remove(header::CONTENT_LENGTH);
        return out;
    }
    resp
}
