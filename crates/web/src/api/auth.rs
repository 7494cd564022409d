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

pub(crate) async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Client, Problem> {
    if let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        let (id, secret) = key.trim().split_once(':').ok_or_else(unauthenticated)?;
        let row = active_client(state, id).await?.ok_or_else(unauthenticated)?;
        return if constant_eq(&row.secret_hash, &secret_hash(secret)) {
            Ok(Client { row })
        } else {
            Err(unauthenticated())
        };
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(unauthenticated)?;
    let mut parts = bearer.trim().split('.');
    let (Some("at"), Some(id), Some(exp), Some(mac), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(unauthenticated());
    };
    let expires: i64 = exp.parse().map_err(|_| unauthenticated())?;
    let row = active_client(state, id).await?.ok_or_else(unauthenticated)?;
    let expected = access_token(state, &row, expires)?;
    if !constant_eq(&expected, bearer.trim()) || expires < amtsweg_store::now_ms() || mac.is_empty() {
        return Err(unauthenticated());
    }
    Ok(Client { row })
}

impl FromRequestParts<AppState> for Client {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        authenticate(state, &parts.headers).await
    }
}

/// OAuth 2.0 token request (client credentials grant), form-encoded.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct TokenRequest {
    /// Must be `client_credentials`.
    grant_type: String,
    client_id: String,
    client_secret: String,
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
    let mut req: TokenRequest = serde_urlencoded_form(&body);
    // Client authentication by HTTP Basic is allowed as well (RFC 6749, 2.3.1).
    if let Some((id, secret)) = basic_auth(&headers) {
        req.client_id = id;
        req.client_secret = secret;
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

pub(super) fn serde_urlencoded_form(body: &[u8]) -> TokenRequest {
    let mut req = TokenRequest::default();
    for (k, v) in form_urlencoded_pairs(body) {
        match k.as_str() {
            "grant_type" => req.grant_type = v,
            "client_id" => req.client_id = v,
            "client_secret" => req.client_secret = v,
            _ => {}
        }
    }
    req
}

/// `application/x-www-form-urlencoded` pairs (axum's own Form extractor would reject
/// a body with unknown fields less helpfully for OAuth clients).
pub(super) fn form_urlencoded_pairs(body: &[u8]) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let s = s.replace('+', " ");
        let mut out = Vec::with_capacity(s.len());
        let b = s.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%'
                && i + 2 < b.len()
                && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
            {
                out.push(v);
                i += 3;
                continue;
            }
            out.push(b[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
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
        let pairs = form_urlencoded_pairs(b"grant_type=client_credentials&client_id=a%2Bb&client_secret=x+y%21");
        assert_eq!(pairs[1], ("client_id".to_owned(), "a+b".to_owned()));
        assert_eq!(pairs[2], ("client_secret".to_owned(), "x y!".to_owned()));
    }
}
