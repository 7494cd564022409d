//! The finance software of the client's authority (scope `finanzen`): it sends
//! claims (Forderungen) with their notices in batches, reads the payments the
//! portal took (`GET /api/v1/zahlungen?seit=`, gapless and in commit order), and
//! makes activation codes for its letters to taxpayers.

use super::Problem;
use super::antraege::{invalid, rfc3339};
use super::auth::Client;
use super::extract::ApiQuery;
use crate::AppState;
use amtsweg_domain::payment::{Cents, ClaimInput, ClaimState};
use amtsweg_portal::finanzen::{self, ClaimUpload, MAX_BATCH, MAX_NOTICES, NoticeUpload};
use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// Scope of the finance software.
pub(crate) const FINANCE: &str = "finanzen";

/// The states a claim can be in.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // Only documents the values `ClaimItem::state` takes.
#[schema(rename_all = "snake_case")]
pub enum ClaimStateName {
    Open,
    PartlyPaid,
    Settled,
    Dunning,
    Cancelled,
}

/// A notice (Bescheid) of a claim: a PDF of at most 5 MB.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Documents the JSON; items are read field by field to name each problem.
pub struct NoticeItem {
    /// e.g. "Grundsteuerbescheid 2026".
    #[schema(min_length = 1, max_length = 200)]
    title: String,
    /// e.g. `Grundsteuerbescheid-2026.pdf`; no `/` or `\`.
    #[schema(min_length = 1, max_length = 200)]
    file_name: String,
    /// The PDF, base64 (standard alphabet).
    #[schema(format = Byte)]
    content_base64: String,
}

/// A claim as the finance software knows it. Claims are identified by
/// Kassenzeichen and due date: the same pair again updates the claim, and the same
/// item unchanged changes nothing.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Documents the JSON; items are read field by field to name each problem.
pub struct ClaimItem {
    /// 1 to 35 printable ASCII characters, e.g. `5.100.000123`.
    #[schema(min_length = 1, max_length = 35)]
    kassenzeichen: String,
    /// `YYYY-MM-DD`, between 1990 and 2100.
    #[schema(value_type = String, format = Date, example = "2026-05-15")]
    due_date: String,
    /// e.g. "Grundsteuer", "Hundesteuer".
    #[schema(min_length = 1, max_length = 80)]
    kind: String,
    /// What the citizen reads, e.g. "Grundsteuer 2. Quartal 2026".
    #[schema(min_length = 1, max_length = 200)]
    title: String,
    /// The claim's amount in cents (1 to 99 999 999 999).
    #[schema(minimum = 1, maximum = 99_999_999_999_i64)]
    amount_cents: i64,
    /// What is still open, in cents (0 to `amount_cents`). Default: all of it, or
    /// nothing for `settled` and `cancelled`.
    #[schema(minimum = 0, maximum = 99_999_999_999_i64)]
    open_cents: Option<i64>,
    /// Default `open`. `dunning` needs a dunning level; `settled` nothing open.
    #[schema(value_type = Option<ClaimStateName>)]
    state: Option<String>,
    /// 0 to 3 (default 0).
    #[schema(minimum = 0, maximum = 3)]
    dunning_level: Option<u8>,
    /// The taxpayer's account (Personenkonto) in the finance software; citizens are
    /// linked to it by activation code.
    #[schema(min_length = 1, max_length = 64)]
    account: String,
    /// At most three notices; one already stored (the same content) is kept once.
    #[schema(max_items = 3)]
    notices: Option<Vec<NoticeItem>>,
    /// The last `seq` of `GET /api/v1/zahlungen` the figures (`open_cents`, `state`)
    /// include. The portal then keeps subtracting the payments after it from the
    /// open amount it shows, so a claim computed before the finance software read a
    /// payment does not show that payment as open again. Without it the figures
    /// count as including every payment so far. At most the feed's last `seq`.
    #[schema(minimum = 0)]
    zahlungen_bis: Option<i64>,
}

/// A batch of claims: stored as a whole or not at all.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Documents the JSON; items are read field by field to name each problem.
pub struct ClaimBatch {
    #[schema(min_items = 1, max_items = 500)]
    claims: Vec<ClaimItem>,
}

/// What happened to a claim of the batch.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // Only documents the values `ClaimResult::result` takes.
#[schema(rename_all = "lowercase")]
pub enum UpsertResult {
    Created,
    Updated,
    Unchanged,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimResult {
    kassenzeichen: String,
    due_date: String,
    /// The portal's id of the claim (in the payments feed as `claim_id`).
    claim_id: i64,
    #[schema(value_type = UpsertResult)]
    result: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimBatchResult {
    /// In the order of the batch.
    items: Vec<ClaimResult>,
}

/// A batch from a client with the `finanzen` scope: the client is checked before
/// the body is read at all (a client without the scope gets 403 without the server
/// reading a large body), then the JSON body is read with the larger upload limit
/// (notices make it big): only `application/json`, 413 beyond `upload_limit`, 422
/// when not JSON.
pub struct BatchBody(Client, Value);

impl FromRequest<AppState> for BatchBody {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Problem> {
        let (mut parts, body) = req.into_parts();
        let client = Client::from_request_parts(&mut parts, state).await?;
        client.require(FINANCE)?;
        let req = Request::from_parts(parts, body);
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
            .is_some_and(|e| e == "application/json" || (e.starts_with("application/") && e.ends_with("+json")));
        if !json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Bitte senden Sie den Inhalt als JSON (Content-Type: application/json).".into(),
                "Send the body as JSON (Content-Type: application/json).".into(),
            ));
        }
        let limit = state.config.upload_limit;
        let too_large = || {
            let mib = limit.div_ceil(1024 * 1024);
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                format!("Der Inhalt ist zu groß: höchstens {mib} MiB. Bitte teilen Sie den Stapel."),
                format!("The body is too large: at most {mib} MiB. Split the batch."),
            )
        };
        let declared =
            req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let bytes = match http_body_util::Limited::new(req.into_body(), limit).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) if is_length_error(e.as_ref()) => return Err(too_large()),
            Err(_) => {
                return Err(Problem::new(
                    StatusCode::BAD_REQUEST,
                    "unreadable-body",
                    "Der Inhalt kam unvollständig an. Bitte senden Sie ihn noch einmal.".into(),
                    "The body arrived incomplete; please send it again.".into(),
                ));
            }
        };
        super::antraege::json_body(&bytes).map(|v| Self(client, v))
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

const ITEM_FIELDS: [&str; 11] = [
    "kassenzeichen",
    "due_date",
    "kind",
    "title",
    "amount_cents",
    "open_cents",
    "state",
    "dunning_level",
    "account",
    "notices",
    "zahlungen_bis",
];

/// A JSON number that is a whole number: `12` and (as JSON Schema counts it) `12.0`.
fn whole(n: &serde_json::Number) -> Option<i64> {
    n.as_i64().or_else(|| {
        let f = n.as_f64()?;
        // Within ±2^53 every whole f64 is exact, so the cast loses nothing.
        #[allow(clippy::cast_possible_truncation)]
        (f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0).then_some(f as i64)
    })
}

/// Reads one item of the batch with its `zahlungen_bis`; every problem as
/// `field: message`.
fn item(v: &Value) -> Result<(ClaimUpload, Option<i64>), Vec<String>> {
    let Some(o) = v.as_object() else { return Err(vec!["Jede Forderung ist ein JSON-Objekt.".into()]) };
    let mut problems = Vec::new();
    for k in o.keys() {
        if !ITEM_FIELDS.contains(&k.as_str()) {
            problems.push(format!("{k}: Dieses Feld gibt es nicht."));
        }
    }
    let text = |k: &str, problems: &mut Vec<String>| match o.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(_) => {
            problems.push(format!("{k}: Text erwartet."));
            String::new()
        }
        None => {
            problems.push(format!("{k}: fehlt."));
            String::new()
        }
    };
    let kassenzeichen = text("kassenzeichen", &mut problems);
    let due = text("due_date", &mut problems);
    let kind = text("kind", &mut problems);
    let title = text("title", &mut problems);
    let account = text("account", &mut problems);
    let due_on = due.parse::<jiff::civil::Date>().ok();
    if due_on.is_none() && o.get("due_date").is_some_and(Value::is_string) {
        problems.push(format!("due_date: „{due}“ ist kein Datum im Format JJJJ-MM-TT."));
    }
    let amount = match o.get("amount_cents") {
        Some(Value::Number(n)) if whole(n).is_some() => whole(n),
        Some(_) => {
            problems.push("amount_cents: ganze Zahl (Cent) erwartet.".into());
            None
        }
        None => {
            problems.push("amount_cents: fehlt.".into());
            None
        }
    };
    let state = match o.get("state") {
        None | Some(Value::Null) => Some(ClaimState::Open),
        Some(Value::String(s)) => {
            let st = ClaimState::parse(s);
            if st.is_none() {
                problems.push(format!("state: „{s}“ ist kein Stand (open, partly_paid, settled, dunning, cancelled)."));
            }
            st
        }
        Some(_) => {
            problems.push("state: Text erwartet.".into());
            None
        }
    };
    let open = match o.get("open_cents") {
        None | Some(Value::Null) => match (state, amount) {
            (Some(ClaimState::Settled | ClaimState::Cancelled), _) => Some(0),
            (_, a) => a,
        },
        Some(Value::Number(n)) if whole(n).is_some() => whole(n),
        Some(_) => {
            problems.push("open_cents: ganze Zahl (Cent) erwartet.".into());
            None
        }
    };
    let dunning = match o.get("dunning_level") {
        None | Some(Value::Null) => Some(0),
        Some(Value::Number(n)) => whole(n).and_then(|n| u8::try_from(n).ok()).or_else(|| {
            problems.push("dunning_level: Zahl von 0 bis 3 erwartet.".into());
            None
        }),
        Some(_) => {
            problems.push("dunning_level: Zahl von 0 bis 3 erwartet.".into());
            None
        }
    };
    let notices = match o.get("notices") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) if list.len() <= MAX_NOTICES => {
            let mut out = Vec::new();
            for (i, n) in list.iter().enumerate() {
                match notice(n) {
                    Ok(n) => out.push(n),
                    Err(ms) => problems.extend(ms.into_iter().map(|m| format!("notices/{i}/{m}"))),
                }
            }
            out
        }
        Some(Value::Array(_)) => {
            problems.push(format!("notices: höchstens {MAX_NOTICES} Bescheide."));
            Vec::new()
        }
        Some(_) => {
            problems.push("notices: Liste erwartet.".into());
            Vec::new()
        }
    };
    let upto = match o.get("zahlungen_bis") {
        None | Some(Value::Null) => Some(None),
        Some(Value::Number(n)) if whole(n).is_some_and(|n| n >= 0) => Some(whole(n)),
        Some(_) => {
            problems.push("zahlungen_bis: ganze Zahl ab 0 (eine seq des Zahlungsfeeds) erwartet.".into());
            None
        }
    };
    let (Some(due_on), Some(amount), Some(open), Some(state), Some(dunning_level), Some(upto), true) =
        (due_on, amount, open, state, dunning, upto, problems.is_empty())
    else {
        return Err(problems);
    };
    let upload = ClaimUpload {
        claim: ClaimInput {
            kassenzeichen,
            due_on,
            kind,
            title,
            amount: Cents(amount),
            open: Cents(open),
            state,
            dunning_level,
            account,
        },
        notices,
    };
    Ok((upload, upto))
}

fn notice(v: &Value) -> Result<NoticeUpload, Vec<String>> {
    let Some(o) = v.as_object() else { return Err(vec![": JSON-Objekt erwartet.".into()]) };
    let mut problems = Vec::new();
    for k in o.keys() {
        if !["title", "file_name", "content_base64"].contains(&k.as_str()) {
            problems.push(format!("{k}: Dieses Feld gibt es nicht."));
        }
    }
    let mut text = |k: &str| match o.get(k) {
        Some(Value::String(s)) => s.clone(),
        _ => {
            problems.push(format!("{k}: Text erwartet."));
            String::new()
        }
    };
    let title = text("title");
    let file_name = text("file_name");
    let content = text("content_base64");
    let bytes = base64::engine::general_purpose::STANDARD.decode(content.trim()).unwrap_or_else(|_| {
        problems.push("content_base64: kein gültiges Base64.".into());
        Vec::new()
    });
    if problems.is_empty() { Ok(NoticeUpload { title, file_name, bytes }) } else { Err(problems) }
}

/// The problem of a batch that was not stored, listing every finding.
fn refused(findings: &[String]) -> Problem {
    const SHOWN: usize = 50;
    let list = findings.iter().take(SHOWN).cloned().collect::<Vec<_>>().join("; ");
    let more = findings.len().saturating_sub(SHOWN);
    let (de, en) =
        if more > 0 { (format!(" (und {more} weitere)"), format!(" (and {more} more)")) } else { Default::default() };
    invalid(
        &format!("Der Stapel wurde nicht gespeichert: {list}{de}"),
        &format!("The batch was not stored; its problems (in German): {list}{en}"),
    )
}

/// `claims/<i>/<field>: message` for a portal finding `field: message`, and
/// `claims/<i>: message` for one about the item as a whole.
fn pointer(i: usize, m: &str) -> String {
    match m.split_once(": ") {
        Some((field, rest))
            if !field.is_empty()
                && field.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'/') =>
        {
            format!("claims/{i}/{field}: {rest}")
        }
        _ => format!("claims/{i}: {m}"),
    }
}

/// Stores a batch of claims of the client's authority with their notices. The
/// whole batch is checked first: any problem (a malformed item, a duplicate
/// Kassenzeichen and due date within the batch, a notice that is no PDF) refuses it
/// with 422, naming each as `claims/<index>/<field>`, and nothing is stored.
/// Otherwise each claim is created, updated, or left unchanged when it is the same
/// as stored — so sending a batch again is safe. A client without the `finanzen`
/// scope is refused before the body is read.
#[utoipa::path(post, path = "/api/v1/forderungen", tag = "finance", operation_id = "claims_upsert",
    request_body = ClaimBatch, security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, body = ClaimBatchResult), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn claims(
    State(state): State<AppState>,
    BatchBody(client, body): BatchBody,
) -> Result<Json<ClaimBatchResult>, Problem> {
    let Some(o) = body.as_object() else {
        return Err(refused(&["Der Inhalt ist ein JSON-Objekt mit der Liste „claims“.".into()]));
    };
    if let Some(k) = o.keys().find(|k| *k != "claims") {
        return Err(refused(&[format!("{k}: Dieses Feld gibt es nicht.")]));
    }
    let list = match o.get("claims") {
        Some(Value::Array(l)) if !l.is_empty() && l.len() <= MAX_BATCH => l,
        Some(Value::Array(l)) if l.is_empty() => return Err(refused(&["claims: Die Liste ist leer.".into()])),
        Some(Value::Array(_)) => {
            return Err(refused(&[format!("claims: höchstens {MAX_BATCH} Forderungen je Stapel.")]));
        }
        _ => return Err(refused(&["claims: Liste der Forderungen erwartet.".into()])),
    };
    let mut findings = Vec::new();
    let mut items = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        match item(v) {
            Ok(u) => items.push((i, u)),
            Err(ms) => findings.extend(ms.into_iter().map(|m| (i, format!("claims/{i}/{m}")))),
        }
    }
    // The items that could be read are checked at once too: one answer lists all.
    findings.extend(
        finanzen::check_batch(items.iter().map(|(i, (u, _))| (*i, u))).into_iter().map(|(i, m)| (i, pointer(i, &m))),
    );
    if !findings.is_empty() {
        findings.sort_by_key(|(i, _)| *i);
        return Err(refused(&findings.into_iter().map(|(_, m)| m).collect::<Vec<_>>()));
    }
    let items: Vec<finanzen::ClaimAsOf> = items.into_iter().map(|(_, u)| u).collect();
    let dues: Vec<String> = items.iter().map(|(u, _)| u.claim.due_on.to_string()).collect();
    let actor = client.actor().audit;
    let stored = finanzen::upsert_claims_as_of(&state.portal, client.row.authority_id, &actor, items)
        .await
        .map_err(Problem::from)?
        .map_err(|problems| {
            let list: Vec<String> = problems.into_iter().map(|(i, m)| pointer(i, &m)).collect();
            refused(&list)
        })?;
    Ok(Json(ClaimBatchResult {
        items: stored
            .into_iter()
            .zip(dues)
            .map(|((kassenzeichen, r), due_date)| ClaimResult {
                kassenzeichen,
                due_date,
                claim_id: r.id(),
                result: r.as_str(),
            })
            .collect(),
    }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// Only bookings after this sequence number (0 or absent: from the start). Pass
    /// the `next` of the previous answer.
    #[param(minimum = 0)]
    seit: Option<i64>,
    /// At most this many (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u64>,
}

/// Where a booking came from.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // Only documents the values `FeedItem::source` takes.
#[schema(rename_all = "lowercase")]
pub enum BookingSource {
    Online,
    Bank,
    Counter,
    Refund,
    Correction,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedItem {
    /// Gapless per authority, in the order the bookings were committed.
    seq: i64,
    /// `YYYY-MM-DD`.
    #[schema(value_type = String, format = Date)]
    booked_on: String,
    /// Negative for refunds.
    amount_cents: i64,
    #[schema(value_type = BookingSource)]
    source: String,
    /// e.g. `CREDITCARD`, `transfer`, `bar`; may be empty.
    method: String,
    /// The provider's transaction reference or the bank's reference; may be empty.
    reference: String,
    /// Of the claim or the application's payment; empty for a booking without one.
    kassenzeichen: String,
    /// The claim's due date (`YYYY-MM-DD`), for bookings on claims.
    #[schema(value_type = Option<String>, format = Date)]
    due_date: Option<String>,
    claim_id: Option<i64>,
    /// The application's Eingangsnummer, for fees of applications.
    receipt_number: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedPage {
    items: Vec<FeedItem>,
    /// Pass as `seit` next time: the last sequence listed (or the one asked for when
    /// nothing is new).
    next: i64,
    /// More bookings wait beyond this page.
    more: bool,
}

/// The payments the portal booked for the client's authority, in commit order: a
/// reader that always asks for what came after the last `seq` it saw misses none.
/// Refunds are negative bookings.
#[utoipa::path(get, path = "/api/v1/zahlungen", tag = "finance", operation_id = "payments_feed", params(FeedQuery),
    security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, body = FeedPage), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn payments(
    State(state): State<AppState>,
    client: Client,
    ApiQuery(q): ApiQuery<FeedQuery>,
) -> Result<Json<FeedPage>, Problem> {
    client.require(FINANCE)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(invalid("limit muss zwischen 1 und 1000 liegen.", "limit must be between 1 and 1000."));
    }
    let after = q.seit.unwrap_or(0);
    if after < 0 {
        return Err(invalid("seit darf nicht negativ sein.", "seit must not be negative."));
    }
    let page = finanzen::feed(&state.portal, client.row.authority_id, after, limit).await.map_err(Problem::from)?;
    Ok(Json(FeedPage {
        items: page
            .items
            .into_iter()
            .map(|r| FeedItem {
                seq: r.feed_seq,
                booked_on: r.booked_on,
                amount_cents: r.amount_cents,
                source: r.source,
                method: r.method,
                reference: r.reference,
                kassenzeichen: r.kassenzeichen,
                due_date: r.due_on,
                claim_id: r.claim_id,
                receipt_number: r.receipt_number,
            })
            .collect(),
        next: page.next,
        more: page.more,
    }))
}

/// An activation code to make for a taxpayer's account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivationRequest {
    /// The account (Personenkonto) in the finance software.
    #[schema(min_length = 1, max_length = 64)]
    account: String,
    /// How long the code is valid, in days (default 60).
    #[serde(default)]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 365)]
    valid_days: Option<serde_json::Number>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivationCode {
    /// `XXXX-XXXX-XXXX`; shown this once and stored only as a hash. Print it in the
    /// letter to the taxpayer; it links one citizen account to the Personenkonto.
    code: String,
    /// RFC 3339, UTC.
    expires_at: String,
}

/// Makes a one-time activation code for a taxpayer's account, for a letter to the
/// taxpayer's address: entered in the citizen account, it links that account to
/// the Personenkonto (and shows its claims there). The account need not have
/// claims yet. Older unused codes of the account stop working: only the newest
/// letter links.
#[utoipa::path(post, path = "/api/v1/aktivierungscodes", tag = "finance", operation_id = "activation_code",
    request_body = ActivationRequest, security(("bearer" = []), ("api_key" = [])),
    responses((status = 201, body = ActivationCode), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn activation_code(
    State(state): State<AppState>,
    client: Client,
    super::extract::ApiJson(r): super::extract::ApiJson<ActivationRequest>,
) -> Result<Response, Problem> {
    client.require(FINANCE)?;
    let actor = client.actor().audit;
    let days = match &r.valid_days {
        None => 60,
        Some(n) => whole(n).ok_or_else(|| {
            invalid("valid_days ist eine ganze Zahl von 1 bis 365.", "valid_days is a whole number from 1 to 365.")
        })?,
    };
    match finanzen::create_activation_code(&state.portal, &actor, client.row.authority_id, &r.account, days)
        .await
        .map_err(Problem::from)?
    {
        Ok((code, expires)) => {
            let mut resp =
                (StatusCode::CREATED, Json(ActivationCode { code, expires_at: rfc3339(expires) })).into_response();
            resp.headers_mut().insert(header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
            Ok(resp)
        }
        Err(m) => Err(invalid(&m, "The account or the validity does not fit (see the German detail).")),
    }
}

/// A taxpayer's account to part from its citizen.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnlinkRequest {
    /// The account (Personenkonto) in the finance software.
    #[schema(min_length = 1, max_length = 64)]
    account: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnlinkResult {
    /// The account was linked to a citizen account and no longer is.
    unlinked: bool,
    /// Unused activation codes of the account that no longer work.
    revoked_codes: u64,
}

/// Parts a taxpayer's account from the citizen account it is linked to — the
/// citizen no longer sees its claims, at once — and revokes its unused activation
/// codes: for a letter that was lost or reached the wrong person. A new code
/// (`POST /api/v1/aktivierungscodes`) links it again. Making a new code also
/// revokes the older unused ones on its own. 404 for an account the portal does not
/// know.
#[utoipa::path(post, path = "/api/v1/personenkonten/trennen", tag = "finance", operation_id = "account_unlink",
    request_body = UnlinkRequest, security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, body = UnlinkResult), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn unlink(
    State(state): State<AppState>,
    client: Client,
    super::extract::ApiJson(r): super::extract::ApiJson<UnlinkRequest>,
) -> Result<Json<UnlinkResult>, Problem> {
    client.require(FINANCE)?;
    let authority = client.row.authority_id;
    let not_found = || {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Dieses Personenkonto kennt das Portal nicht.".into(),
            "The portal does not know this account.".into(),
        )
    };
    let account = state.store.finance_account(authority, r.account.trim()).await.map_err(Problem::from)?;
    let account = account.ok_or_else(not_found)?;
    let done = finanzen::unlink(&state.portal, &client.actor().audit, authority, account.id, true, true)
        .await
        .map_err(Problem::from)?
        .ok_or_else(not_found)?;
    Ok(Json(UnlinkResult { unlinked: done.unlinked, revoked_codes: done.revoked_codes }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn ok() -> Value {
        serde_json::json!({"kassenzeichen": "5.100.1", "due_date": "2026-05-15", "kind": "Grundsteuer",
            "title": "Grundsteuer Q2", "amount_cents": 12345, "account": "MB-1"})
    }

    #[test]
    fn items_default_what_they_may_leave_out() {
        let (u, upto) = item(&ok()).unwrap();
        assert_eq!(upto, None);
        assert_eq!((u.claim.open, u.claim.state, u.claim.dunning_level), (Cents(12345), ClaimState::Open, 0));
        let mut settled = ok();
        settled["state"] = "settled".into();
        assert_eq!(item(&settled).unwrap().0.claim.open, Cents(0));
        settled["zahlungen_bis"] = 7.into();
        assert_eq!(item(&settled).unwrap().1, Some(7));
        settled["zahlungen_bis"] = (-1).into();
        assert!(item(&settled).unwrap_err()[0].starts_with("zahlungen_bis:"));
    }

    #[test]
    fn every_problem_of_an_item_names_its_field() {
        let v = serde_json::json!({"kassenzeichen": 5, "due_date": "15.05.2026", "kind": "G", "title": "T",
            "amount_cents": "1", "account": "A", "state": "offen", "dunning_level": 300, "farbe": "rot",
            "notices": [{"title": "B", "file_name": "b.pdf", "content_base64": "%%"}]});
        let found = item(&v).unwrap_err();
        for field in [
            "farbe:",
            "kassenzeichen:",
            "due_date:",
            "amount_cents:",
            "state:",
            "dunning_level:",
            "notices/0/content_base64:",
        ] {
            assert!(found.iter().any(|m| m.starts_with(field)), "{field} in {found:?}");
        }
        assert!(item(&serde_json::json!([])).is_err());
        let mut float = ok();
        float["amount_cents"] = serde_json::json!(12345.0);
        assert_eq!(item(&float).unwrap().0.claim.amount, Cents(12345), "JSON Schema counts 12345.0 as an integer");
        float["amount_cents"] = serde_json::json!(123.5);
        assert!(item(&float).is_err());
        assert_eq!(pointer(3, "due_date: x"), "claims/3/due_date: x");
        assert_eq!(pointer(3, "notices/1: x"), "claims/3/notices/1: x");
        assert_eq!(pointer(3, "Die Forderung: doppelt"), "claims/3: Die Forderung: doppelt");
    }
}
