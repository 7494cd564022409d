//! Cross-site request forgery: every POST must come from a page of this very host
//! (`Origin`, or `Referer` when a browser sends none) and carry the token of the
//! session that page was shown in.
//!
//! Handlers of a signed-in person take [`Csrf<Form<T>>`] instead of `Form<T>`: the
//! session extractors (`StaffContext`, `CitizenContext`) put the token they expect
//! into the request ([`ExpectedCsrf`]) and `Csrf` checks the posted `csrf` field
//! against it before the form is read — so no handler writes the check out. Forms
//! whose token is not the session's (the sign-in pages' double-submit cookie, a
//! draft's own token, multipart uploads) call [`check`].

use crate::AppState;
use crate::error::AppError;
use crate::session::{self, PRE_SESSION_COOKIE};
use axum::Form;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

/// The CSRF token the session of this request expects.
#[derive(Debug, Clone)]
pub(crate) struct ExpectedCsrf(pub String);

/// A form posted from a page of this session, checked before it is read.
#[derive(Debug)]
pub struct Csrf<T>(pub T);

/// A form with nothing but its CSRF token (buttons such as "sign out").
#[derive(Debug, Default, serde::Deserialize)]
pub struct NoFields {}

/// The token of a form whose expected token is not the session's (a draft's own),
/// checked with [`check`].
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct CsrfField {
    pub csrf: String,
}

/// `Ok` when the request comes from this host and `sent` is the `expected` token.
///
/// # Errors
/// 403 otherwise.
pub fn check(headers: &HeaderMap, expected: &str, sent: &str) -> Result<(), AppError> {
    if session::same_origin(headers) && session::tokens_match(expected, sent) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// The token of the pages shown before a session exists (sign-in, registration,
/// forgotten password, links from e-mails): a double-submit cookie. The browser's
/// token is kept while it is valid, so two open tabs both work.
#[must_use]
pub fn pre_session_token(headers: &HeaderMap) -> String {
    session::cookie_value(headers, PRE_SESSION_COOKIE)
        .filter(|t| t.len() == 43)
        .map_or_else(session::random_token, str::to_owned)
}

/// Sets the pre-session cookie with `token` on a page that shows a form with it; such
/// pages are never kept by caches.
#[must_use]
pub fn with_pre_session_cookie(mut r: Response, token: &str) -> Response {
    if let Some(c) = session::set_cookie(PRE_SESSION_COOKIE, token, 3600) {
        r.headers_mut().append(header::SET_COOKIE, c);
    }
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// [`check`] for a form of a page shown before a session exists: the posted token
/// must be the browser's pre-session cookie.
///
/// # Errors
/// 403 otherwise.
pub fn check_pre_session(headers: &HeaderMap, sent: &str) -> Result<(), AppError> {
    check(headers, session::cookie_value(headers, PRE_SESSION_COOKIE).unwrap_or_default(), sent)
}

impl<T> FromRequest<AppState> for Csrf<Form<T>>
where
    T: DeserializeOwned + Send,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Response> {
        let (parts, body) = req.into_parts();
        // Fail closed: a route without a session extractor before this one has
        // nothing to compare with.
        let Some(ExpectedCsrf(expected)) = parts.extensions.get::<ExpectedCsrf>().cloned() else {
            return Err(AppError::Forbidden.into_response());
        };
        let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let sent = serde_urlencoded::from_bytes::<CsrfField>(&bytes).map(|t| t.csrf).unwrap_or_default();
        check(&parts.headers, &expected, &sent).map_err(IntoResponse::into_response)?;
        // axum's own form reading from here on: the same answers to a wrong content
        // type or a body that does not fit `T` as before.
        let form = Form::<T>::from_request(Request::from_parts(parts, Body::from(bytes)), state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self(form))
    }
}
