//! A provider simulator that speaks XBezahldienste 1.0 like a real payment service:
//! for the tests of every layer and for `amtsweg demo`, never for `serve`. It runs on a
//! listener of its own (`127.0.0.1:0`), so the portal talks to it over HTTP exactly as
//! to a foreign provider, and the citizen's browser really leaves the portal's origin.
//!
//! It is strict where a provider is strict — unknown fields, lengths, patterns, the sum
//! of the items against `grosAmount` — and answers errors as `application/problem+json`
//! with the standard's `functionalCode`, so a mistake in our request fails a test here
//! and not in production. Behaviours for tests (slow, failing, garbage, hanging status,
//! refused creation, a different amount reported) are switched at run time.
//!
//! Every page it shows says SIMULATION: no money moves.

use amtsweg_domain::payment::{Cents, ProviderStatus};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How the simulator answers `POST /paymenttransaction/…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CreateBehaviour {
    /// Validate and create the transaction.
    #[default]
    Normal,
    /// `409`, `PAYMENT_EXISTS` for every request.
    PaymentExists,
    /// `400`, `VALIDATION_ERROR` for every request.
    ValidationError,
    /// `200` with a body that is not JSON.
    Garbage,
    /// Never answer (until the simulator stops).
    Hang,
    /// Create, but answer without `transactionRedirectUrl` (only the REST address).
    RestUrlOnly,
}

/// How the simulator answers `GET /paymenttransaction/…/{transactionId}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusBehaviour {
    #[default]
    Normal,
    /// Answer normally after this delay.
    Slow(Duration),
    /// `500` problem.
    Fail500,
    /// `200` with a body that is not JSON.
    Garbage,
    /// Never answer.
    Hang,
    /// Answer with the status of another transaction id (a confused or forged answer).
    ForeignTransaction,
}

/// One transaction as the simulator keeps it.
#[derive(Debug, Clone)]
struct Transaction {
    id: String,
    originator: String,
    endpoint: String,
    request_id: String,
    status: ProviderStatus,
    method: String,
    redirect: String,
    amount: Cents,
    reported: Option<Cents>,
    purpose: String,
    description: String,
    reference: String,
    settled_at: Option<String>,
}

#[derive(Default)]
struct Inner {
    create: CreateBehaviour,
    status: StatusBehaviour,
    transactions: Vec<Transaction>,
    requests: Vec<String>,
    status_requests: usize,
    /// Client credentials the API demands (OAuth2), if any.
    credentials: Option<(String, String)>,
    tokens: HashMap<String, Instant>,
    token_requests: usize,
    token_lifetime_s: u64,
    counter: u64,
    /// Where the pay pages are said to be, when not on `base_url`.
    pay_base: Option<String>,
}

struct Shared {
    base_url: String,
    demo: bool,
    inner: Mutex<Inner>,
    shutdown: tokio::sync::watch::Sender<bool>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking handler must not take the whole simulator down with it.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits until the simulator stops: what a hanging provider does.
    async fn hang(&self) {
        let mut rx = self.shutdown.subscribe();
        let _ = rx.wait_for(|stopped| *stopped).await;
    }
}

/// A running simulator; stops when dropped.
pub struct Simulator {
    /// `http://127.0.0.1:<port>` — the `base_url` of a connector that uses it.
    pub base_url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.shared.shutdown.send(true);
        self.task.abort();
    }
}

impl Simulator {
    /// Listens on `addr` (`127.0.0.1:0` for a free port) and serves until dropped.
    /// `demo` adds the explanation for people trying the demo to the pay page.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn start(addr: &str, demo: bool) -> std::io::Result<Simulator> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let (shutdown, _) = tokio::sync::watch::channel(false);
        let shared = Arc::new(Shared {
            base_url: base_url.clone(),
            demo,
            inner: Mutex::new(Inner { token_lifetime_s: 300, ..Inner::default() }),
            shutdown,
        });
        let app = Router::new()
            .route("/token", post(token))
            .route("/paymenttransaction/{originator}/{endpoint}", post(create))
            .route("/paymenttransaction/{originator}/{endpoint}/{transaction}", get(status))
            .route("/pay/{transaction}", get(pay_page).post(pay_action))
            .with_state(shared.clone());
        let mut stop = shared.shutdown.subscribe();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|stopped| *stopped).await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "payment simulator stopped");
            }
        });
        Ok(Simulator { base_url, shared, task })
    }

    pub fn set_create(&self, b: CreateBehaviour) {
        self.shared.lock().create = b;
    }

    /// Names pay pages under `base` (e.g. another host name for this simulator)
    /// instead of its own address.
    pub fn set_pay_base(&self, base: &str) {
        self.shared.lock().pay_base = Some(base.trim_end_matches('/').to_owned());
    }

    pub fn set_status(&self, b: StatusBehaviour) {
        self.shared.lock().status = b;
    }

    /// Sets a transaction's state, as the pay page's buttons do — but unconditionally,
    /// so tests can also report a late success after a failure. `method` is the
    /// `paymentMethod` reported (e.g. `CREDITCARD`); ignored unless `PAYED`.
    pub fn settle(&self, transaction_id: &str, status: ProviderStatus, method: &str) {
        let mut inner = self.shared.lock();
        if let Some(t) = inner.transactions.iter_mut().find(|t| t.id == transaction_id) {
            settle(t, status, method);
        }
    }

    /// From now on the status answer of the transaction reports this amount as
    /// `grosAmount` (an amount mismatch).
    pub fn report_amount(&self, transaction_id: &str, cents: i64) {
        let mut inner = self.shared.lock();
        if let Some(t) = inner.transactions.iter_mut().find(|t| t.id == transaction_id) {
            t.reported = Some(Cents(cents));
        }
    }

    /// The bodies of all creation requests received, in order (parsed; see
    /// [`Self::raw_requests`] for the exact text, e.g. of amounts).
    #[must_use]
    pub fn requests(&self) -> Vec<Value> {
        self.shared.lock().requests.iter().filter_map(|r| serde_json::from_str(r).ok()).collect()
    }

    /// The bodies of all creation requests received, as sent.
    #[must_use]
    pub fn raw_requests(&self) -> Vec<String> {
        self.shared.lock().requests.clone()
    }

    /// Transactions created so far: id, state, redirect URL.
    #[must_use]
    pub fn transactions(&self) -> Vec<(String, ProviderStatus, String)> {
        self.shared.lock().transactions.iter().map(|t| (t.id.clone(), t.status, t.redirect.clone())).collect()
    }

    /// The pay page of a transaction (where the citizen is sent).
    #[must_use]
    pub fn pay_url(&self, transaction_id: &str) -> String {
        format!("{}/pay/{transaction_id}", self.base_url)
    }

    /// How many status requests were answered or are being answered.
    #[must_use]
    pub fn status_requests(&self) -> usize {
        self.shared.lock().status_requests
    }

    /// From now on the API demands an OAuth2 bearer token, issued by `POST /token`
    /// (client credentials grant) to this client.
    pub fn require_token(&self, client_id: &str, secret: &str) {
        self.shared.lock().credentials = Some((client_id.to_owned(), secret.to_owned()));
    }

    /// The `expires_in` of tokens issued from now on (default 300 s).
    pub fn set_token_lifetime(&self, seconds: u64) {
        self.shared.lock().token_lifetime_s = seconds;
    }

    /// How many tokens were requested (successfully or not).
    #[must_use]
    pub fn token_requests(&self) -> usize {
        self.shared.lock().token_requests
    }
}

fn settle(t: &mut Transaction, status: ProviderStatus, method: &str) {
    t.status = status;
    if status == ProviderStatus::Payed {
        t.method = if METHODS.iter().any(|(m, _)| *m == method) { method.to_owned() } else { "OTHER".into() };
        t.settled_at = Some(jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
    }
}

/// The payment methods the pay page offers (`paymentMethod` values of the standard).
const METHODS: [(&str, &str); 4] =
    [("CREDITCARD", "Kreditkarte"), ("GIROPAY", "giropay"), ("PAYPAL", "PayPal"), ("PAYDIRECT", "paydirekt")];

// ---------------------------------------------------------------------------------
// Problems

fn problem(status: StatusCode, code: &str, detail: &str) -> Response {
    // The standard allows only letters, digits, blanks and `-,.` in `detail`.
    let detail: String = detail
        .chars()
        .map(|c| if c.is_alphanumeric() || c.is_whitespace() || matches!(c, '-' | ',' | '.') { c } else { ' ' })
        .collect();
    let body = serde_json::json!({
        "type": "about:blank",
        "status": status.as_u16(),
        "title": status.canonical_reason().unwrap_or("Error"),
        "detail": detail,
        "functionalCode": code,
    });
    (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn garbage() -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], "<html>Wartungsarbeiten {{").into_response()
}

// ---------------------------------------------------------------------------------
// OAuth2

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    grant_type: String,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    client_secret: Option<String>,
}

async fn token(State(s): State<Arc<Shared>>, headers: HeaderMap, Form(f): Form<TokenForm>) -> Response {
    let (id, secret) = basic_credentials(&headers)
        .unwrap_or_else(|| (f.client_id.clone().unwrap_or_default(), f.client_secret.clone().unwrap_or_default()));
    let mut inner = s.lock();
    inner.token_requests += 1;
    if f.grant_type != "client_credentials" {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    if let Some((want_id, want_secret)) = &inner.credentials
        && (&id != want_id || &secret != want_secret)
    {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    inner.counter += 1;
    let token = format!("sim-token-{}-{}", inner.counter, uuid::Uuid::new_v4().simple());
    let lifetime = inner.token_lifetime_s;
    inner.tokens.insert(token.clone(), Instant::now() + Duration::from_secs(lifetime));
    let body = serde_json::json!({"access_token": token, "token_type": "Bearer", "expires_in": lifetime});
    json(StatusCode::OK, body.to_string())
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    json(status, serde_json::json!({"error": error}).to_string())
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| -> String {
        form_urlencoded::parse(format!("v={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

/// `None` when the request may pass; otherwise the refusal.
fn refuse_unauthorised(s: &Shared, headers: &HeaderMap) -> Option<Response> {
    let inner = s.lock();
    inner.credentials.as_ref()?;
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let valid = token.and_then(|t| inner.tokens.get(t)).is_some_and(|until| Instant::now() < *until);
    if valid { None } else { Some(problem(StatusCode::UNAUTHORIZED, "FORBIDDEN", "missing or invalid access token")) }
}

// ---------------------------------------------------------------------------------
// The API

mod request;

use request::{Refusal, WireRequest, is_id, validate};

async fn create(
    State(s): State<Arc<Shared>>,
    Path((originator, endpoint)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some(refused) = refuse_unauthorised(&s, &headers) {
        return refused;
    }
    let behaviour = {
        let mut inner = s.lock();
        inner.requests.push(body.clone());
        inner.create
    };
    match behaviour {
        CreateBehaviour::Normal | CreateBehaviour::RestUrlOnly => {}
        CreateBehaviour::PaymentExists => {
            return problem(StatusCode::CONFLICT, "PAYMENT_EXISTS", "a payment request with this requestId exists");
        }
        CreateBehaviour::ValidationError => {
            return problem(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", "the request was refused by the simulation");
        }
        CreateBehaviour::Garbage => return garbage(),
        CreateBehaviour::Hang => {
            s.hang().await;
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !content_type.starts_with("application/json") {
        return problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "VALIDATION_ERROR",
            "content type must be application/json",
        );
    }
    if !is_id(&originator) || !is_id(&endpoint) || originator == "unbekannt" || endpoint == "unbekannt" {
        return problem(
            StatusCode::BAD_REQUEST,
            "NO_VALID_ORIGINATOR_OR_ENDPOINT",
            "no client is known for this originatorId and endPointId",
        );
    }
    let request: WireRequest = match serde_json::from_str(&body) {
        Ok(r) => r,
        Err(e) => return problem(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", &format!("invalid paymentRequest {e}")),
    };
    let amount = match validate(&request) {
        Ok(a) => a,
        Err(Refusal::Validation(m)) => return problem(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", &m),
        Err(Refusal::Calculation(m)) => return problem(StatusCode::BAD_REQUEST, "CALCULATION_ERROR", &m),
    };
    let mut inner = s.lock();
    let exists = inner
        .transactions
        .iter()
        .any(|t| t.originator == originator && t.endpoint == endpoint && t.request_id == request.request_id);
    if exists {
        return problem(StatusCode::CONFLICT, "PAYMENT_EXISTS", "a payment request with this requestId exists");
    }
    inner.counter += 1;
    let id = uuid::Uuid::new_v4().to_string();
    let t = Transaction {
        reference: format!("SIM-{:06}", inner.counter),
        id,
        originator,
        endpoint,
        request_id: request.request_id.clone(),
        status: ProviderStatus::Initial,
        method: String::new(),
        redirect: request.redirect_url.clone(),
        amount,
        reported: None,
        purpose: request.purpose.clone(),
        description: request.description.clone().unwrap_or_default(),
        settled_at: None,
    };
    let pay_base = inner.pay_base.clone().unwrap_or_else(|| s.base_url.clone());
    let pay = (behaviour != CreateBehaviour::RestUrlOnly).then_some(pay_base.as_str());
    let answer = transaction_json(&s.base_url, pay, &t, &body);
    inner.transactions.push(t);
    json(StatusCode::CREATED, answer)
}

/// `{"paymentRequest": …, "paymentInformation": {…}}` — `request` is JSON text (the
/// request as received, amounts as sent; or for status answers a short form with the
/// amount the provider reports), embedded unchanged.
/// `pay_base`: where the pay pages are; `None` leaves `transactionRedirectUrl` out.
fn transaction_json(base: &str, pay_base: Option<&str>, t: &Transaction, request: &str) -> String {
    let mut info = serde_json::Map::new();
    info.insert("transactionId".into(), t.id.clone().into());
    info.insert(
        "transactionUrl".into(),
        format!("{base}/paymenttransaction/{}/{}/{}", t.originator, t.endpoint, t.id).into(),
    );
    if let Some(pay_base) = pay_base {
        info.insert("transactionRedirectUrl".into(), format!("{pay_base}/pay/{}", t.id).into());
    }
    info.insert("transactionReference".into(), t.reference.clone().into());
    info.insert("status".into(), t.status.as_str().into());
    if t.status == ProviderStatus::Payed {
        info.insert("paymentMethod".into(), t.method.clone().into());
        if let Some(at) = &t.settled_at {
            info.insert("transactionTimestamp".into(), at.clone().into());
        }
    }
    format!("{{\"paymentRequest\":{request},\"paymentInformation\":{}}}", Value::Object(info))
}

async fn status(
    State(s): State<Arc<Shared>>,
    Path((originator, endpoint, transaction)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = refuse_unauthorised(&s, &headers) {
        return refused;
    }
    let behaviour = {
        let mut inner = s.lock();
        inner.status_requests += 1;
        inner.status
    };
    match behaviour {
        StatusBehaviour::Normal | StatusBehaviour::ForeignTransaction => {}
        StatusBehaviour::Slow(d) => {
            let mut rx = s.shutdown.subscribe();
            tokio::select! {
                () = tokio::time::sleep(d) => {}
                _ = rx.wait_for(|stopped| *stopped) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
            }
        }
        StatusBehaviour::Fail500 => {
            return problem(StatusCode::INTERNAL_SERVER_ERROR, "UNSPECIFIED", "the simulation fails on purpose");
        }
        StatusBehaviour::Garbage => return garbage(),
        StatusBehaviour::Hang => {
            s.hang().await;
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    }
    let inner = s.lock();
    let Some(t) =
        inner.transactions.iter().find(|t| t.id == transaction && t.originator == originator && t.endpoint == endpoint)
    else {
        return problem(StatusCode::NOT_FOUND, "UNSPECIFIED", "no such transaction");
    };
    let mut shown = t.clone();
    if behaviour == StatusBehaviour::ForeignTransaction {
        shown.id = uuid::Uuid::new_v4().to_string();
    }
    let amount = t.reported.unwrap_or(t.amount);
    let request = serde_json::json!({
        "requestId": t.request_id,
        "currency": "EUR",
        "purpose": t.purpose,
    });
    // grosAmount as decimal text, spliced in as a raw number.
    let mut text = request.to_string();
    text.pop();
    let _ = write!(text, ",\"grosAmount\":{}}}", amount.decimal());
    let pay_base = inner.pay_base.clone().unwrap_or_else(|| s.base_url.clone());
    json(StatusCode::OK, transaction_json(&s.base_url, Some(&pay_base), &shown, &text))
}

// ---------------------------------------------------------------------------------
// The pay page

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"de\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} – SIMULATION</title><style>\
         body{{font-family:system-ui,sans-serif;max-width:40rem;margin:0 auto;padding:1rem;line-height:1.5}}\
         .sim{{border:4px solid #b00020;background:#fff3f3;padding:1rem;margin-bottom:1.5rem}}\
         .sim strong{{display:block;font-size:1.4rem;color:#b00020}}\
         dt{{font-weight:bold}} fieldset{{margin:1rem 0}} button{{font-size:1rem;padding:.5rem 1rem;margin:.25rem .5rem .25rem 0}}\
         </style></head><body>\
         <div class=\"sim\" role=\"note\"><strong>SIMULATION – es fließt kein Geld</strong>\
         Demo-Bezahldienst: Diese Seite ahmt einen Bezahldienst nach. Es wird kein Geld bewegt, \
         und Sie geben hier keine Bankdaten ein.</div>\
         <main><h1>{t}</h1>{body}</main></body></html>",
        t = esc(title),
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'"),
        ],
        Html(html),
    )
        .into_response()
}

async fn pay_page(State(s): State<Arc<Shared>>, Path(transaction): Path<String>) -> Response {
    let t = {
        let inner = s.lock();
        inner.transactions.iter().find(|t| t.id == transaction).cloned()
    };
    let Some(t) = t else {
        let r = page("Zahlung nicht gefunden", "<p>Diese Zahlung gibt es beim Demo-Bezahldienst nicht.</p>");
        return (StatusCode::NOT_FOUND, r).into_response();
    };
    let mut body = String::new();
    if s.demo {
        body.push_str(
            "<p>Sie probieren die Demo von Amtsweg aus. Wählen Sie unten, wie die Zahlung ausgehen soll; \
             danach kehren Sie zum Portal zurück.</p>",
        );
    }
    let _ = write!(
        body,
        "<dl><dt>Betrag</dt><dd>{}</dd><dt>Verwendungszweck</dt><dd>{}</dd>",
        esc(&t.amount.german()),
        esc(&t.purpose)
    );
    if !t.description.is_empty() {
        let _ = write!(body, "<dt>Beschreibung</dt><dd>{}</dd>", esc(&t.description));
    }
    let _ = write!(body, "<dt>Stand</dt><dd>{}</dd></dl>", esc(t.status.label_de()));
    let action = format!("/pay/{}", esc(&t.id));
    if t.status == ProviderStatus::Initial {
        let _ =
            write!(body, "<form method=\"post\" action=\"{action}\"><fieldset><legend>Zahlart (simuliert)</legend>");
        for (i, (value, label)) in METHODS.iter().enumerate() {
            let checked = if i == 0 { " checked" } else { "" };
            let _ = write!(
                body,
                "<div><input type=\"radio\" id=\"zahlart-{value}\" name=\"zahlart\" value=\"{value}\"{checked}>\
                 <label for=\"zahlart-{value}\">{label}</label></div>"
            );
        }
        body.push_str(
            "</fieldset>\
             <button type=\"submit\" name=\"aktion\" value=\"bezahlen\">Bezahlen (Simulation)</button>\
             <button type=\"submit\" name=\"aktion\" value=\"fehlschlag\">Zahlung scheitern lassen</button>\
             <button type=\"submit\" name=\"aktion\" value=\"abbrechen\">Abbrechen</button></form>",
        );
    } else {
        let _ = write!(
            body,
            "<form method=\"post\" action=\"{action}\"><button type=\"submit\" name=\"aktion\" value=\"zurueck\">\
             Zurück zum Portal</button></form>"
        );
    }
    page("Zahlung (Simulation)", &body)
}

#[derive(Deserialize)]
struct PayForm {
    #[serde(default)]
    aktion: String,
    #[serde(default)]
    zahlart: String,
}

async fn pay_action(State(s): State<Arc<Shared>>, Path(transaction): Path<String>, Form(f): Form<PayForm>) -> Response {
    let redirect = {
        let mut inner = s.lock();
        let Some(t) = inner.transactions.iter_mut().find(|t| t.id == transaction) else {
            return (StatusCode::NOT_FOUND, page("Zahlung nicht gefunden", "<p>Diese Zahlung gibt es nicht.</p>"))
                .into_response();
        };
        // Only an open transaction changes; afterwards the buttons just lead back.
        if t.status == ProviderStatus::Initial {
            match f.aktion.as_str() {
                "bezahlen" => settle(t, ProviderStatus::Payed, &f.zahlart),
                "fehlschlag" => settle(t, ProviderStatus::Failed, ""),
                "abbrechen" => settle(t, ProviderStatus::Canceled, ""),
                _ => {}
            }
        }
        t.redirect.clone()
    };
    Redirect::to(&redirect).into_response()
}
