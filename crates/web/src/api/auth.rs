//! Who calls the API: clients registered per authority, authenticated by OAuth 2.0
//! client credentials (`POST /api/v1/token`, then a bearer token) or by their key
//! directly (`X-API-Key`); and the scopes a client holds.

use super::Problem;
use crate::AppState;
use amtsweg_portal::casework::Actor;
use amtsweg_store::handoff::ApiClientRow;
use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::{HeaderMap, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// Lifetime of an access token.
const TOKEN_SECONDS: i64 = 3600;

/// SHA-256 (hex) of a client secret: secrets are 256 random bits, so a plain hash
/// is enough and keeps every API call cheap.
#[must_use]
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The authenticated client of a request.
pub struct Client {
    pub(super) row: ApiClientRow,
}

impl Client {
    /// `Ok` when the client holds `scope`; else a 403 problem that names it.
    pub(super) fn require(&self, scope: &str) -> Result<(), Problem> {
        if self.row.scopes.split_whitespace().any(|s| s == scope) {
            Ok(())
        } else {
            Err(Problem::new(
                StatusCode::FORBIDDEN,
                "insufficient-scope",
                format!(
                    "Diesem Zugang fehlt die Berechtigung „{scope}“. Die Administration der Behörde kann sie in einem neuen Zugang vergeben."
                ),
                format!(
                    "This client lacks the scope \"{scope}\"; the authority's administrators can grant it with a new client."
                ),
            ))
        }
    }

    pub(super) fn actor(&self) -> Actor {
        Actor { name: format!("Schnittstelle: {}", self.row.name), audit: format!("api:{}", self.row.client_id) }
    }

    pub(super) async fn audit(&self, state: &AppState, action: &str, target: &str) -> Result<(), Problem> {
        crate::audit::audit(
            state,
            &format!("api:{}", self.row.client_id),
            Some(self.row.authority_id),
            action,
            target,
            "success",
        )
        .await
        .map_err(Problem::from)
    }
}

pub(super) fn unauthenticated() -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "Bitte melden Sie sich an: Authorization: Bearer <Token> (von /api/v1/token) oder X-API-Key: <Client-ID>:<Geheimnis>."
            .into(),
        "Authenticate with Authorization: Bearer <token> (from /api/v1/token) or X-API-Key: <client_id>:<secret>.".into(),
    )
}

pub(super) fn access_token(state: &AppState, c: &ApiClientRow, expires: i64) -> Result<String, Problem> {
    let mac = state
        .portal
        .keyring
        .mac(&format!("api-token|{}|{expires}|{}", c.client_id, c.secret_hash))
        .map_err(|e| Problem::internal(&e.to_string()))?;
    Ok(format!("at.{}.{expires}.{mac}", c.client_id))
}

pub(crate) async fn active_client(state: &AppState, client_id: &str) -> Result<Option<ApiClientRow>, Problem> {
    Ok(state.store.api_client(client_id).await.map_err(Problem::from)?.filter(|c| c.revoked_at.is_none()))
}

pub(super) fn constant_eq(a: &str, b: &str) -> bool {
    subtle::ConstantTimeEq::ct_eq(a.as_bytes(), b.as_bytes()).into()
}

/// The client named by the request's credentials. Every credential sent must hold:
/// a valid key beside a forged or expired bearer token is refused, not picked.
pub(crate) async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Client, Problem> {
    let by_key = match headers.get("x-api-key") {
        Some(v) => Some(by_api_key(state, v.to_str().map_err(|_| unauthenticated())?).await?),
        None => None,
    };
    let by_token = match headers.get(header::AUTHORIZATION) {
        Some(v) => Some(by_bearer(state, v.to_str().map_err(|_| unauthenticated())?).await?),
        None => None,
    };
    match (by_key, by_token) {
        (Some(a), Some(b)) if a.id != b.id => Err(unauthenticated()),
        (Some(row), _) | (None, Some(row)) => Ok(Client { row }),
        (None, None) => Err(unauthenticated()),
    }
}

async fn by_api_key(state: &AppState, key: &str) -> Result<ApiClientRow, Problem> {
    let (id, secret) = key.trim().split_once(':').ok_or_else(unauthenticated)?;
    let row = active_client(state, id).await?.ok_or_else(unauthenticated)?;
    if constant_eq(&row.secret_hash, &secret_hash(secret)) { Ok(row) } else { Err(unauthenticated()) }
}

async fn by_bearer(state: &AppState, authorization: &str) -> Result<ApiClientRow, Problem> {
    let bearer = authorization.strip_prefix("Bearer ").ok_or_else(unauthenticated)?.trim();
    let mut parts = bearer.split('.');
    let (Some("at"), Some(id), Some(exp), Some(mac), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(unauthenticated());
    };
    let expires: i64 = exp.parse().map_err(|_| unauthenticated())?;
    let row = active_client(state, id).await?.ok_or_else(unauthenticated)?;
    let expected = access_token(state, &row, expires)?;
    if !constant_eq(&expected, bearer) || expires < amtsweg_store::now_ms() || mac.is_empty() {
        return Err(unauthenticated());
    }
    Ok(row)
}

impl FromRequestParts<AppState> for Client {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        authenticate(state, &parts.headers).await
    }
}

/// OAuth 2.0 token request (client credentials grant), form-encoded. The client may
/// authenticate with HTTP Basic instead of `client_id` and `client_secret`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct TokenRequest {
    #[schema(value_type = GrantType)]
    grant_type: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
}

/// The only grant this server issues tokens for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    ClientCredentials,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    access_token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    /// Seconds until the token expires.
    expires_in: i64,
    /// The client's scopes, space-separated.
    scope: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthError {
    /// `invalid_request`, `unsupported_grant_type` or `invalid_client` (RFC 6749).
    error: &'static str,
    error_description: String,
}

pub(super) fn oauth_error(status: StatusCode, error: &'static str, description: &str) -> Response {
    (status, Json(OAuthError { error, error_description: description.to_owned() })).into_response()
}

/// Issues an access token for a client (OAuth 2.0 client credentials).
#[utoipa::path(post, path = "/api/v1/token", tag = "auth",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = TokenResponse), (status = 400, body = OAuthError), (status = 401, body = OAuthError)))]
pub(crate) async fn token(State(state): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let mut req = token_request(&body);
    // Client authentication by HTTP Basic is allowed as well (RFC 6749, 2.3.1).
    if let Some((id, secret)) = basic_auth(&headers) {
        req.client_id = id;
        req.client_secret = secret;
    }
    if req.grant_type.is_empty() {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "grant_type is missing");
    }
    if req.grant_type != "client_credentials" {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "grant_type must be client_credentials");
    }
    let client = match active_client(&state, req.client_id.trim()).await {
        Ok(Some(c)) if constant_eq(&c.secret_hash, &secret_hash(req.client_secret.trim())) => c,
        Ok(_) => return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client or wrong secret"),
        Err(p) => return p.into_response(),
    };
    let expires = amtsweg_store::now_ms() + TOKEN_SECONDS * 1000;
    match access_token(&state, &client, expires) {
        Ok(t) => {
            let mut r = Json(TokenResponse {
                access_token: t,
                token_type: "Bearer",
                expires_in: TOKEN_SECONDS,
                scope: client.scopes,
            })
            .into_response();
            r.headers_mut().insert(header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
            r
        }
        Err(p) => p.into_response(),
    }
}

/// The token request's fields from an `application/x-www-form-urlencoded` body,
/// decoded as browsers encode them (a broken escape stays as it is; axum's own Form
/// extractor would reject a body with unknown fields less helpfully for OAuth clients).
pub(super) fn token_request(body: &[u8]) -> TokenRequest {
    let mut req = TokenRequest::default();
    for (k, v) in form_urlencoded::parse(body) {
        match k.as_ref() {
            "grant_type" => req.grant_type = v.into_owned(),
            "client_id" => req.client_id = v.into_owned(),
            "client_secret" => req.client_secret = v.into_owned(),
            _ => {}
        }
    }
    req
}

pub(super) fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine;
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Basic ")?;
    let raw = base64::engine::general_purpose::STANDARD.decode(v.trim()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn form_bodies_decode_like_browsers_send_them() {
        let req = token_request(b"grant_type=client_credentials&client_id=a%2Bb&client_secret=x+y%21");
        assert_eq!(req.grant_type, "client_credentials");
        assert_eq!(req.client_id, "a+b");
        assert_eq!(req.client_secret, "x y!");
    }

    /// A multibyte character right after `%` used to split a UTF-8 sequence and panic.
    #[test]
    fn broken_escapes_before_multibyte_characters_do_not_panic() {
        let req = token_request("grant_type=client_credentials&client_id=%ä&client_secret=%1ö%".as_bytes());
        assert_eq!(req.client_id, "%ä");
        assert_eq!(req.client_secret, "%1ö%");
    }
}
