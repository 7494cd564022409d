//! Extractors for the API whose refusals are the API's own problem details, as the
//! OpenAPI document promises — axum's would answer a bad id or query with a plain
//! text 400 that no client can tell apart from any other failure.

use super::Problem;
use super::antraege::invalid;
use crate::AppState;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::{StatusCode, header, request::Parts};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;

/// Path parameters; one that does not parse (an id beyond 64 bits, a word) names
/// nothing that exists, so it is answered like an unknown one: 404.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(Self(v)),
            Err(_) => Err(Problem::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "Diese Adresse gibt es nicht: Kennungen sind ganze Zahlen.".into(),
                "No such address: ids are whole numbers.".into(),
            )),
        }
    }
}

/// Query parameters; one that does not parse (a negative or fractional `limit`) is
/// refused like one outside its range: 422.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(Self(v)),
            Err(e) => Err(invalid(
                &format!("Die Parameter der Adresse passen nicht: {}", e.body_text()),
                &format!("The query parameters do not fit: {}", e.body_text()),
            )),
        }
    }
}

/// A JSON body: `application/json` only (415 otherwise), at most the configured
/// `body_limit` (413; the route-wide cap for API paths is the larger upload limit),
/// and of the expected shape (422).
pub struct ApiJson<T>(pub T);

fn is_json(req: &Request) -> bool {
    let Some(ct) = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn too_large(limit: usize) -> Problem {
    let mib = limit.div_ceil(1024 * 1024);
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too-large",
        format!("Der Inhalt ist zu groß: höchstens {mib} MiB."),
        format!("The body is too large: at most {mib} MiB."),
    )
}

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Problem> {
        if !is_json(&req) {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Bitte senden Sie den Inhalt als JSON (Content-Type: application/json).".into(),
                "Send the body as JSON (Content-Type: application/json).".into(),
            ));
        }
        let limit = state.config.body_limit;
        let declared =
            req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large(limit));
        }
        let bytes = match http_body_util::Limited::new(req.into_body(), limit).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) if is_length_error(e.as_ref()) => return Err(too_large(limit)),
            Err(_) => {
                return Err(Problem::new(
                    StatusCode::BAD_REQUEST,
                    "unreadable-body",
                    "Der Inhalt kam unvollständig an. Bitte senden Sie ihn noch einmal.".into(),
                    "The body arrived incomplete; please send it again.".into(),
                ));
            }
        };
        super::antraege::json_body(&bytes).map(Self)
    }
}

/// Whether reading failed at a length limit: ours, or the route-wide one below it.
fn is_length_error(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cur = err.source();
    }
    false
}
