//! The submissions of the client's authority: list, one with answers, files and
//! history, the receipt, files, acknowledging, status and messages back to the
//! citizen, and the signed download links webhooks carry.

use super::Problem;
use super::auth::Client;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::{READ, WRITE};
use crate::AppState;
use amtsweg_portal::casework::{self, Outgoing};
use amtsweg_portal::submission::open_data;
use amtsweg_store::submissions::SubmissionRow;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `new` (default): not yet acknowledged by this client; `all`: every submission.
    #[param(value_type = Option<ListStatus>)]
    status: Option<String>,
    /// Only submissions with a larger id (for paging).
    after: Option<i64>,
    /// At most this many (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u64>,
}

/// Which submissions `GET /api/v1/antraege` lists.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // Only documents the values `ListQuery::status` accepts.
#[schema(rename_all = "lowercase")]
pub enum ListStatus {
    New,
    All,
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

pub(super) fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map(|t| t.to_string()).unwrap_or_default()
}

pub(super) fn summary(s: &SubmissionRow) -> SubmissionSummary {
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

pub(super) fn invalid(de: &str, en: &str) -> Problem {
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-request", de.into(), en.into())
}

/// Lists the authority's submissions, oldest first.
#[utoipa::path(get, path = "/api/v1/antraege", tag = "submissions", params(ListQuery),
    security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, body = SubmissionList), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn list(
    State(state): State<AppState>,
    client: Client,
    ApiQuery(q): ApiQuery<ListQuery>,
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
    /// The fee, when the form charges one.
    payment: Option<SubmissionPayment>,
}

pub(super) fn unknown_submission() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "unknown-submission",
        "Diesen Antrag gibt es für Ihren Zugang nicht.".into(),
        "There is no such submission for this client.".into(),
    )
}

/// Whether the submission is held for its payment (or expired unpaid).
fn held(s: &SubmissionRow) -> bool {
    amtsweg_store::payments::RESERVED_STATES.contains(&s.status.as_str())
}

/// The fee of a submission and how far it is paid.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubmissionPayment {
    /// `vorab` (paid before release), `rechnung` (invoice), `vor_ort` (at the counter).
    mode: String,
    /// `open`, `partly_paid`, `paid`, `expired`, `cancelled`.
    status: String,
    kassenzeichen: String,
    /// Structured creditor reference (ISO 11649), e.g. `RF18539007547034`; may be empty.
    rf_reference: String,
    amount_cents: i64,
    paid_cents: i64,
    refunded_cents: i64,
    /// `YYYY-MM-DD` for invoices.
    #[schema(value_type = Option<String>, format = Date)]
    due_date: Option<String>,
    /// RFC 3339, UTC.
    paid_at: Option<String>,
}

pub(crate) async fn own(state: &AppState, client: &Client, id: i64) -> Result<casework::Case, Problem> {
    let row = state.store.submission(client.row.authority_id, id).await.map_err(Problem::from)?;
    // An application waiting for its payment (or whose payment expired) was never
    // released to the authority: for the API it does not exist.
    if row.is_none_or(|s| held(&s)) {
        return Err(unknown_submission());
    }
    casework::open_case(&state.portal, client.row.authority_id, id).await.map_err(Problem::from)
}

/// One submission with its answers, files and history.
#[utoipa::path(get, path = "/api/v1/antraege/{id}", tag = "submissions", params(("id" = i64, Path)),
    security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, body = SubmissionDetail), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn detail(
    State(state): State<AppState>,
    client: Client,
    ApiPath(id): ApiPath<i64>,
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
            name: amtsweg_portal::drafts::open_file_name(&state.portal, s.authority_id, &f.object_key, &f.file_name)
                .await,
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
    let payment = state.store.payment_of_submission(s.authority_id, id).await.map_err(Problem::from)?.map(|p| {
        SubmissionPayment {
            mode: p.mode,
            status: p.status,
            kassenzeichen: p.kassenzeichen,
            rf_reference: p.rf_reference,
            amount_cents: p.amount_cents,
            paid_cents: p.paid_cents,
            refunded_cents: p.refunded_cents,
            due_date: Some(p.due_on).filter(|d| !d.is_empty()),
            paid_at: p.paid_at.map(rfc3339),
        }
    });
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
        payment,
    }))
}

/// The receipt (Eingangsbestätigung) as PDF/A.
#[utoipa::path(get, path = "/api/v1/antraege/{id}/quittung.pdf", tag = "submissions", params(("id" = i64, Path)),
    security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn receipt(
    State(state): State<AppState>,
    client: Client,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, Problem> {
    client.require(READ)?;
    let case = own(&state, &client, id).await?;
    let bytes = amtsweg_portal::receipt::pdf(&state.portal, &case.authority, &case.form, &case.row)
        .await
        .map_err(Problem::from)?;
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
    responses((status = 200, description = "The file with the type it was uploaded with", content_type = "*/*", body = Vec<u8>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn file(
    State(state): State<AppState>,
    client: Client,
    ApiPath((id, file)): ApiPath<(i64, i64)>,
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
    let bytes = amtsweg_portal::drafts::read_file(&state.portal, case.row.authority_id, &f.object_key)
        .await
        .map_err(Problem::from)?;
    let name =
        amtsweg_portal::drafts::open_file_name(&state.portal, case.row.authority_id, &f.object_key, &f.file_name).await;
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
    responses((status = 201, body = Acknowledgement), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn acknowledge(
    State(state): State<AppState>,
    client: Client,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, Problem> {
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
    #[schema(min_length = 1)]
    status: String,
    /// The result for a final state with outcomes, e.g. `bewilligt`.
    #[serde(default)]
    outcome: String,
    /// A message to the citizen's Postfach (required for `rueckfrage`); no control
    /// characters but line breaks and tabs.
    #[serde(default)]
    #[schema(max_length = 20000)]
    message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusResult {
    status: String,
    sub_status: String,
    status_label: String,
}

pub(crate) fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    serde_json::from_slice(body)
        .map_err(|e| invalid(&format!("Der JSON-Inhalt passt nicht: {e}"), &format!("The JSON body does not fit: {e}")))
}

/// Moves the submission to a new state along its form's workflow, optionally with
/// a message to the citizen. A state the workflow does not allow from the current
/// one (see `next_statuses` of the submission) is refused with 422.
#[utoipa::path(post, path = "/api/v1/antraege/{id}/status", tag = "submissions", params(("id" = i64, Path)),
    request_body = StatusUpdate, security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, body = StatusResult), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn status(
    State(state): State<AppState>,
    client: Client,
    ApiPath(id): ApiPath<i64>,
    ApiJson(u): ApiJson<StatusUpdate>,
) -> Result<Json<StatusResult>, Problem> {
    client.require(WRITE)?;
    let case = own(&state, &client, id).await?;
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
    /// No control characters but line breaks and tabs.
    #[schema(min_length = 1, max_length = 20000)]
    text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageResult {
    delivered: bool,
}

/// Sends a message to the citizen's Postfach. Submissions made without an account
/// have none: a message to them is refused with 422.
#[utoipa::path(post, path = "/api/v1/antraege/{id}/nachrichten", tag = "submissions", params(("id" = i64, Path)),
    request_body = MessageIn, security(("bearer" = []), ("api_key" = [])),
    responses((status = 201, body = MessageResult), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn message(
    State(state): State<AppState>,
    client: Client,
    ApiPath(id): ApiPath<i64>,
    ApiJson(m): ApiJson<MessageIn>,
) -> Result<Response, Problem> {
    client.require(WRITE)?;
    let case = own(&state, &client, id).await?;
    let out = Outgoing { text: m.text, files: Vec::new() };
    match casework::message(&state.portal, &case, &out, &client.actor()).await.map_err(Problem::from)? {
        Ok(()) => Ok((StatusCode::CREATED, Json(MessageResult { delivered: true })).into_response()),
        Err(m) => Err(invalid(&m, "The message cannot be delivered (see the German detail).")),
    }
}

/// A file by a signed, expiring link (as webhooks carry them); `0` is the receipt.
#[utoipa::path(get, path = "/api/v1/dateien/{token}", tag = "submissions", params(("token" = String, Path)),
    responses((status = 200, description = "The receipt as PDF or the file with the type it was uploaded with", content_type = "*/*", body = Vec<u8>),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn signed_download(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
) -> Result<Response, Problem> {
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
    let row = state
        .store
        .submission_in(&ids, submission)
        .await
        .map_err(Problem::from)?
        .filter(|s| !held(s))
        .ok_or_else(gone)?;
    let target = format!("submission:{submission}/file:{file}");
    crate::audit::audit(&state, "link", Some(row.authority_id), "api.download", &target, "success")
        .await
        .map_err(Problem::from)?;
    if file == 0 {
        let case = casework::open_case(&state.portal, row.authority_id, submission).await.map_err(Problem::from)?;
        let bytes = amtsweg_portal::receipt::pdf(&state.portal, &case.authority, &case.form, &row)
            .await
            .map_err(Problem::from)?;
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
    let bytes = amtsweg_portal::drafts::read_file(&state.portal, row.authority_id, &f.object_key)
        .await
        .map_err(Problem::from)?;
    let name =
        amtsweg_portal::drafts::open_file_name(&state.portal, row.authority_id, &f.object_key, &f.file_name).await;
    Ok(crate::download::attachment(bytes, &name, &f.content_type))
}
