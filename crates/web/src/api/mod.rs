//! The REST API for back-office software (`/api/v1/`): list new submissions, fetch
//! their data, files and receipt, acknowledge them, and report status and messages
//! back to the citizen. Clients are registered per authority in the back office
//! (Schnittstellen) and see that authority's submissions only.
//!
//! Authentication: OAuth 2.0 client credentials (`POST /api/v1/token`, then
//! `Authorization: Bearer <token>`) or the client's key directly
//! (`X-API-Key: <client_id>:<secret>`). Errors are `application/problem+json`, in
//! German, or in English with `Accept-Language: en`.
//!
//! The OpenAPI document (`/api/openapi.json`) is generated from the handlers'
//! types with utoipa and snapshot-tested.

mod problem;

pub use problem::Problem;

use crate::AppState;
use amtsweg_portal::submission::open_data;
use amtsweg_portal::casework::{self, Actor, Outgoing};
use amtsweg_store::handoff::ApiClientRow;
use amtsweg_store::submissions::SubmissionRow;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, OpenApi, ToSchema};

/// Lifetime of an access token.
const TOKEN_SECONDS: i64 = 3600;
const READ: &str = "submissions:read";
const WRITE: &str = "submissions:write";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/v1/token", post(token))
        .route("/api/v1/antraege", get(list))
        .route("/api/v1/antraege/{id}", get(detail))
        .route("/api/v1/antraege/{id}/quittung.pdf", get(receipt))
        .route("/api/v1/antraege/{id}/dateien/{file}", get(file))
        .route("/api/v1/antraege/{id}/empfangsbestaetigung", post(acknowledge))
        .route("/api/v1/antraege/{id}/status", post(status))
        .route("/api/v1/antraege/{id}/nachrichten", post(message))
        .route("/api/v1/dateien/{token}", get(signed_download))
        .layer(axum::middleware::from_fn(problem::language))
}

/// SHA-256 (hex) of a client secret: secrets are 256 random bits, so a plain hash
/// is enough and keeps every API call cheap.
#[must_use]
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The authenticated client of a request.
pub struct Client {
    row: ApiClientRow,
}

impl Client {
    fn require(&self, scope: &str) -> Result<(), Problem> {
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

    fn actor(&self) -> Actor {
        Actor { name: format!("Schnittstelle: {}", self.row.name), audit: format!("api:{}", self.row.client_id) }
    }

    async fn audit(&self, state: &AppState, action: &str, target: &str) -> Result<(), Problem> {
        crate::verwaltung::audit(
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

fn unauthenticated() -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "Bitte melden Sie sich an: Authorization: Bearer <Token> (von /api/v1/token) oder X-API-Key: <Client-ID>:<Geheimnis>."
            .into(),
        "Authenticate with Authorization: Bearer <token> (from /api/v1/token) or X-API-Key: <client_id>:<secret>.".into(),
    )
}

fn access_token(state: &AppState, c: &ApiClientRow, expires: i64) -> Result<String, Problem> {
    let mac = state
        .portal
        .keyring
        .mac(&format!("api-token|{}|{expires}|{}", c.client_id, c.secret_hash))
        .map_err(|e| Problem::internal(&e.to_string()))?;
    Ok(format!("at.{}.{expires}.{mac}", c.client_id))
}

async fn active_client(state: &AppState, client_id: &str) -> Result<Option<ApiClientRow>, Problem> {
    Ok(state.store.api_client(client_id).await.map_err(Problem::from)?.filter(|c| c.revoked_at.is_none()))
}

fn constant_eq(a: &str, b: &str) -> bool {
    subtle::ConstantTimeEq::ct_eq(a.as_bytes(), b.as_bytes()).into()
}

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Client, Problem> {
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

fn oauth_error(status: StatusCode, error: &'static str, description: &str) -> Response {
    (status, Json(OAuthError { error, error_description: description.to_owned() })).into_response()
}

/// Issues an access token for a client (OAuth 2.0 client credentials).
#[utoipa::path(post, path = "/api/v1/token", tag = "auth",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = TokenResponse), (status = 400, body = OAuthError), (status = 401, body = OAuthError)))]
async fn token(State(state): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
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

fn serde_urlencoded_form(body: &[u8]) -> TokenRequest {
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
fn form_urlencoded_pairs(body: &[u8]) -> Vec<(String, String)> {
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

fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine;
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Basic ")?;
    let raw = base64::engine::general_purpose::STANDARD.decode(v.trim()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `new` (default): not yet acknowledged by this client; `all`: every submission.
    status: Option<String>,
    /// Only submissions with a larger id (for paging).
    after: Option<i64>,
    /// At most this many (1–500, default 100).
    limit: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubmissionSummary {
    id: i64,
    /// Eingangsnummer, e.g. `MOO-2026-000042`.
    receipt_number: String,
    form_id: i64,
    title: String,
    /// RFC 3339, UTC.
    submitted_at: String,
    status: String,
    sub_status: String,
    /// Address of the full submission.
    href: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubmissionList {
    items: Vec<SubmissionSummary>,
    /// Pass as `after` for the next page; absent on the last page.
    next_after: Option<i64>,
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map(|t| t.to_string()).unwrap_or_default()
}

fn summary(s: &SubmissionRow) -> SubmissionSummary {
    SubmissionSummary {
        id: s.id,
        receipt_number: s.receipt_number.clone(),
        form_id: s.form_id,
        title: s.title.clone(),
        submitted_at: rfc3339(s.submitted_at),
        status: s.status.clone(),
        sub_status: s.sub_status.clone(),
        href: format!("/api/v1/antraege/{}", s.id),
    }
}

fn invalid(de: &str, en: &str) -> Problem {
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-request", de.into(), en.into())
}

/// Lists the authority's submissions, oldest first.
#[utoipa::path(get, path = "/api/v1/antraege", tag = "submissions", params(ListQuery),
    security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, body = SubmissionList), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn list(
    State(state): State<AppState>,
    client: Client,
    Query(q): Query<ListQuery>,
) -> Result<Json<SubmissionList>, Problem> {
    client.require(READ)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(invalid("limit muss zwischen 1 und 500 liegen.", "limit must be between 1 and 500."));
    }
    let after = q.after.unwrap_or(0);
    let a = client.row.authority_id;
    let rows: Vec<SubmissionRow> = match q.status.as_deref().unwrap_or("new") {
        "new" => {
            let mut rows = Vec::new();
            for id in state.store.unacknowledged(a, client.row.id, after, limit).await.map_err(Problem::from)? {
                if let Some(s) = state.store.submission(a, id).await.map_err(Problem::from)? {
                    rows.push(s);
                }
            }
            rows
        }
        "all" => {
            let filter = amtsweg_store::casework::InboxFilter {
                authority_ids: vec![a],
                sort: amtsweg_store::casework::InboxSort::OldestFirst,
                limit: 100_000,
                ..Default::default()
            };
            state
                .store
                .inbox(&filter)
                .await
                .map_err(Problem::from)?
                .into_iter()
                .filter(|s| s.id > after)
                .take(limit as usize)
                .collect()
        }
        _ => return Err(invalid("status muss „new“ oder „all“ sein.", "status must be \"new\" or \"all\".")),
    };
    let next_after = (rows.len() as u64 == limit).then(|| rows.last().map(|s| s.id)).flatten();
    Ok(Json(SubmissionList { items: rows.iter().map(summary).collect(), next_after }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FileRef {
    id: i64,
    /// The form field the file was uploaded for.
    field: String,
    name: String,
    content_type: String,
    size: i64,
    /// Hex SHA-256 of the file.
    sha256: String,
    href: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    /// `status`, `message`, `reply`.
    kind: String,
    status: String,
    sub_status: String,
    at: String,
    by: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FormRef {
    id: i64,
    version: i64,
    title: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubmissionDetail {
    id: i64,
    receipt_number: String,
    authority_id: i64,
    form: FormRef,
    submitted_at: String,
    status: String,
    sub_status: String,
    /// The status for people, e.g. "Abgeschlossen: Bewilligt".
    status_label: String,
    /// The answers: field id → value; groups as arrays of objects.
    #[schema(value_type = Object)]
    data: serde_json::Value,
    /// Hex SHA-256 over the canonical answers and the files' hashes (on the receipt).
    data_hash: String,
    files: Vec<FileRef>,
    receipt_pdf_href: String,
    /// When this client acknowledged the submission (RFC 3339), if it did.
    acknowledged_at: Option<String>,
    /// Status changes and messages visible to the citizen.
    history: Vec<HistoryEntry>,
    /// States the submission may move to next.
    next_statuses: Vec<String>,
}

fn unknown_submission() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "unknown-submission",
        "Diesen Antrag gibt es für Ihren Zugang nicht.".into(),
        "There is no such submission for this client.".into(),
    )
}

async fn own(state: &AppState, client: &Client, id: i64) -> Result<casework::Case, Problem> {
    let row = state.store.submission(client.row.authority_id, id).await.map_err(Problem::from)?;
    if row.is_none() {
        return Err(unknown_submission());
    }
    casework::open_case(&state.portal, client.row.authority_id, id).await.map_err(Problem::from)
}

/// One submission with its answers, files and history.
#[utoipa::path(get, path = "/api/v1/antraege/{id}", tag = "submissions", params(("id" = i64, Path)),
    security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, body = SubmissionDetail), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn detail(
    State(state): State<AppState>,
    client: Client,
    Path(id): Path<i64>,
) -> Result<Json<SubmissionDetail>, Problem> {
    client.require(READ)?;
    let case = own(&state, &client, id).await?;
    let s = &case.row;
    let data = open_data(&state.portal, s).await.map_err(Problem::from)?;
    let files = state.store.submission_files(id).await.map_err(Problem::from)?;
    let mut refs = Vec::new();
    for f in files {
        refs.push(FileRef {
            id: f.id,
            field: f.field.clone(),
            name: amtsweg_portal::drafts::open_file_name(&state.portal, s.authority_id, &f.file_name).await,
            content_type: f.content_type.clone(),
            size: f.size,
            sha256: f.sha256.clone(),
            href: format!("/api/v1/antraege/{id}/dateien/{}", f.id),
        });
    }
    let workflow = case.form.workflow();
    let history = state
        .store
        .submission_events(id)
        .await
        .map_err(Problem::from)?
        .into_iter()
        .filter(|e| e.is_public())
        .map(|e| HistoryEntry {
            kind: e.kind,
            status: e.status,
            sub_status: e.sub_status,
            at: rfc3339(e.created_at),
            by: e.actor,
        })
        .collect();
    let acknowledged_at = state.store.acknowledged_at(id, client.row.id).await.map_err(Problem::from)?.map(rfc3339);
    client.audit(&state, "api.submission.view", &format!("submission:{id}")).await?;
    Ok(Json(SubmissionDetail {
        id,
        receipt_number: s.receipt_number.clone(),
        authority_id: s.authority_id,
        form: FormRef { id: s.form_id, version: s.form_version, title: s.title.clone() },
        submitted_at: rfc3339(s.submitted_at),
        status: s.status.clone(),
        sub_status: s.sub_status.clone(),
        status_label: workflow.label(&s.status, &s.sub_status),
        data: serde_json::to_value(&data.answers).map_err(|e| Problem::internal(&e.to_string()))?,
        data_hash: s.data_hash.clone(),
        files: refs,
        receipt_pdf_href: format!("/api/v1/antraege/{id}/quittung.pdf"),
        acknowledged_at,
        history,
        next_statuses: workflow
            .next_of(&s.status)
            .into_iter()
            .flat_map(|st| {
                if st.outcomes.is_empty() {
                    vec![st.id.clone()]
                } else {
                    st.outcomes.iter().map(|o| format!("{}:{}", st.id, o.id)).collect()
                }
            })
            .collect(),
    }))
}

/// The receipt (Eingangsbestätigung) as PDF/A.
#[utoipa::path(get, path = "/api/v1/antraege/{id}/quittung.pdf", tag = "submissions", params(("id" = i64, Path)),
    security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = Problem)))]
async fn receipt(State(state): State<AppState>, client: Client, Path(id): Path<i64>) -> Result<Response, Problem> {
    client.require(READ)?;
    let case = own(&state, &client, id).await?;
    let bytes = amtsweg_portal::receipt::pdf(&state.portal, &case.authority, &case.form, &case.row).await.map_err(Problem::from)?;
    client.audit(&state, "api.submission.receipt", &format!("submission:{id}")).await?;
    Ok(crate::download::attachment(
        bytes,
        &format!("Eingangsbestaetigung-{}.pdf", case.row.receipt_number),
        "application/pdf",
    ))
}

/// One attached file, byte for byte as uploaded (images without metadata).
#[utoipa::path(get, path = "/api/v1/antraege/{id}/dateien/{file}", tag = "submissions",
    params(("id" = i64, Path), ("file" = i64, Path)), security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = Problem)))]
async fn file(
    State(state): State<AppState>,
    client: Client,
    Path((id, file)): Path<(i64, i64)>,
) -> Result<Response, Problem> {
    client.require(READ)?;
    let case = own(&state, &client, id).await?;
    let f =
        state.store.submission_files(id).await.map_err(Problem::from)?.into_iter().find(|f| f.id == file).ok_or_else(
            || {
                Problem::new(
                    StatusCode::NOT_FOUND,
                    "unknown-file",
                    "Diese Datei gibt es zu diesem Antrag nicht.".into(),
                    "This submission has no such file.".into(),
                )
            },
        )?;
    let bytes = amtsweg_portal::drafts::read_file(&state.portal, case.row.authority_id, &f.object_key).await.map_err(Problem::from)?;
    let name = amtsweg_portal::drafts::open_file_name(&state.portal, case.row.authority_id, &f.file_name).await;
    client.audit(&state, "api.submission.file", &format!("submission:{id}/file:{file}")).await?;
    Ok(crate::download::attachment(bytes, &name, &f.content_type))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Acknowledgement {
    id: i64,
    acknowledged_at: String,
}

/// Confirms that the back office has taken the submission over; it no longer
/// appears under `status=new` for this client. A second confirmation is refused
/// with 409 (and the time of the first).
#[utoipa::path(post, path = "/api/v1/antraege/{id}/empfangsbestaetigung", tag = "submissions", params(("id" = i64, Path)),
    security(("bearer" = []), ("api_key" = [])),
    responses((status = 201, body = Acknowledgement), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn acknowledge(State(state): State<AppState>, client: Client, Path(id): Path<i64>) -> Result<Response, Problem> {
    client.require(READ)?;
    own(&state, &client, id).await?;
    let mut tx = state.store.begin().await.map_err(Problem::from)?;
    let fresh = tx.acknowledge(id, client.row.id).await.map_err(Problem::from)?;
    tx.commit().await.map_err(Problem::from)?;
    let at =
        state.store.acknowledged_at(id, client.row.id).await.map_err(Problem::from)?.map(rfc3339).unwrap_or_default();
    if !fresh {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "already-acknowledged",
            format!("Der Empfang dieses Antrags wurde bereits am {at} bestätigt."),
            format!("This submission was already acknowledged at {at}."),
        ));
    }
    client.audit(&state, "api.submission.acknowledge", &format!("submission:{id}")).await?;
    Ok((StatusCode::CREATED, Json(Acknowledgement { id, acknowledged_at: at })).into_response())
}

/// A status change reported by the back office.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusUpdate {
    /// The new state, e.g. `in_bearbeitung`, `rueckfrage`, `abgeschlossen`.
    status: String,
    /// The result for a final state with outcomes, e.g. `bewilligt`.
    #[serde(default)]
    outcome: String,
    /// A message to the citizen's Postfach (required for `rueckfrage`).
    #[serde(default)]
    message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusResult {
    status: String,
    sub_status: String,
    status_label: String,
}

fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    serde_json::from_slice(body)
        .map_err(|e| invalid(&format!("Der JSON-Inhalt passt nicht: {e}"), &format!("The JSON body does not fit: {e}")))
}

/// Moves the submission to a new state along its form's workflow, optionally with
/// a message to the citizen.
#[utoipa::path(post, path = "/api/v1/antraege/{id}/status", tag = "submissions", params(("id" = i64, Path)),
    request_body = StatusUpdate, security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, body = StatusResult), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn status(
    State(state): State<AppState>,
    client: Client,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Json<StatusResult>, Problem> {
    client.require(WRITE)?;
    let case = own(&state, &client, id).await?;
    let u: StatusUpdate = json_body(&body)?;
    let out = Outgoing { text: u.message.clone(), files: Vec::new() };
    match casework::change_status(&state.portal, &case, u.status.trim(), u.outcome.trim(), &out, &client.actor())
        .await
        .map_err(Problem::from)?
    {
        Ok(()) => {
            let w = case.form.workflow();
            Ok(Json(StatusResult {
                status: u.status.trim().to_owned(),
                sub_status: u.outcome.trim().to_owned(),
                status_label: w.label(u.status.trim(), u.outcome.trim()),
            }))
        }
        Err(m) => Err(invalid(&m, "The status change is not possible (see the German detail).")),
    }
}

/// A message for the citizen's Postfach.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageIn {
    text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResult {
    delivered: bool,
}

/// Sends a message to the citizen's Postfach (submissions made with an account).
#[utoipa::path(post, path = "/api/v1/antraege/{id}/nachrichten", tag = "submissions", params(("id" = i64, Path)),
    request_body = MessageIn, security(("bearer" = []), ("api_key" = [])),
    responses((status = 201, body = MessageResult), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn message(
    State(state): State<AppState>,
    client: Client,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    client.require(WRITE)?;
    let case = own(&state, &client, id).await?;
    let m: MessageIn = json_body(&body)?;
    let out = Outgoing { text: m.text, files: Vec::new() };
    match casework::message(&state.portal, &case, &out, &client.actor()).await.map_err(Problem::from)? {
        Ok(()) => Ok((StatusCode::CREATED, Json(MessageResult { delivered: true })).into_response()),
        Err(m) => Err(invalid(&m, "The message cannot be delivered (see the German detail).")),
    }
}

/// A file by a signed, expiring link (as webhooks carry them); `0` is the receipt.
#[utoipa::path(get, path = "/api/v1/dateien/{token}", tag = "submissions", params(("token" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = Problem)))]
async fn signed_download(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, Problem> {
    let gone = || {
        Problem::new(
            StatusCode::NOT_FOUND,
            "unknown-link",
            "Dieser Link ist unbekannt oder abgelaufen. Holen Sie die Datei über die API.".into(),
            "This link is unknown or expired; fetch the file through the API.".into(),
        )
    };
    let (submission, file) = amtsweg_portal::handoff::check_download_token(&state.portal, &token).ok_or_else(gone)?;
    let ids: Vec<i64> = state.catalogue().authorities.iter().map(|a| a.id).collect();
    let row = state.store.submission_in(&ids, submission).await.map_err(Problem::from)?.ok_or_else(gone)?;
    let target = format!("submission:{submission}/file:{file}");
    crate::verwaltung::audit(&state, "link", Some(row.authority_id), "api.download", &target, "success")
        .await
        .map_err(Problem::from)?;
    if file == 0 {
        let case = casework::open_case(&state.portal, row.authority_id, submission).await.map_err(Problem::from)?;
        let bytes = amtsweg_portal::receipt::pdf(&state.portal, &case.authority, &case.form, &row).await.map_err(Problem::from)?;
        return Ok(crate::download::attachment(
            bytes,
            &format!("Eingangsbestaetigung-{}.pdf", row.receipt_number),
            "application/pdf",
        ));
    }
    let f = state
        .store
        .submission_files(submission)
        .await
        .map_err(Problem::from)?
        .into_iter()
        .find(|f| f.id == file)
        .ok_or_else(gone)?;
    let bytes = amtsweg_portal::drafts::read_file(&state.portal, row.authority_id, &f.object_key).await.map_err(Problem::from)?;
    let name = amtsweg_portal::drafts::open_file_name(&state.portal, row.authority_id, &f.file_name).await;
    Ok(crate::download::attachment(bytes, &name, &f.content_type))
}

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        c.add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))));
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Amtsweg API", version = "1", description = "Submissions for back-office software: fetch, acknowledge, report status and messages back. Errors are RFC 9457 problem details."),
    paths(token, list, detail, receipt, file, acknowledge, status, message, signed_download),
    components(schemas(Problem)),
    modifiers(&Security),
    tags((name = "auth", description = "OAuth 2.0 client credentials"), (name = "submissions", description = "Anträge"))
)]
pub struct ApiDoc;

/// The OpenAPI document as served.
#[must_use]
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

async fn openapi_json() -> Response {
    match openapi().to_pretty_json() {
        Ok(s) => ([(header::CONTENT_TYPE, "application/json")], s).into_response(),
        Err(e) => Problem::internal(&e.to_string()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    /// The published OpenAPI document (docs/openapi.json) is what the code
    /// generates: a change of the API shows up in review as a change of that file.
    /// `AMTSWEG_UPDATE_SNAPSHOTS=1` rewrites it.
    #[test]
    fn the_openapi_document_matches_its_snapshot() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
        let now = openapi().to_pretty_json().unwrap() + "\n";
        if std::env::var_os("AMTSWEG_UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&path, &now).unwrap();
        }
        let stored = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            stored == now,
            "docs/openapi.json differs from the generated document; run with AMTSWEG_UPDATE_SNAPSHOTS=1 and review the diff"
        );
        let doc: serde_json::Value = serde_json::from_str(&now).unwrap();
        for p in ["/api/v1/token", "/api/v1/antraege", "/api/v1/antraege/{id}", "/api/v1/antraege/{id}/status"] {
            assert!(doc["paths"][p].is_object(), "{p} documented");
        }
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
        assert!(doc["components"]["schemas"]["Problem"].is_object());
    }

    #[test]
    fn form_bodies_decode_like_browsers_send_them() {
        let pairs = form_urlencoded_pairs(b"grant_type=client_credentials&client_id=a%2Bb&client_secret=x+y%21");
        assert_eq!(pairs[1], ("client_id".to_owned(), "a+b".to_owned()));
        assert_eq!(pairs[2], ("client_secret".to_owned(), "x y!".to_owned()));
    }
}
