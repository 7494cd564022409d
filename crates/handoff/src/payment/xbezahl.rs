//! The XBezahldienste 1.0 client: creates a payment transaction at the provider
//! (`POST /paymenttransaction/{originatorId}/{endPointId}`) and asks for its state
//! (`GET …/{transactionId}`). The standard has no notification callback — the state is
//! only ever learnt by asking, which the portal does on the citizen's return and in a
//! poll worker.
//!
//! [`request_body`] is the one place the request's wire shape lives. Amounts are
//! written as decimal JSON numbers from integer cents (raw JSON text, never a float)
//! and read back the same way. Answers are read tolerantly (fields at the top level or
//! under `paymentInformation` / `paymentRequest`) but checked where it matters: an id
//! that is not the standard's shape, an unknown state, or a status answer about
//! another transaction is [`ProviderError::Garbage`], never a state.

use super::auth;
use super::{GatewayShared, MAX_ANSWER_BYTES};
use amtsweg_domain::payment::{Cents, ProviderStatus};
use amtsweg_outbound::{Failure as Class, Policy};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::sync::Arc;

/// A connector of kind `xbezahldienste`: where the provider is and how we sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XBezahlConfig {
    /// The provider's API root, e.g. `https://epay.example/api/v1` (the paths
    /// `/paymenttransaction/…` are appended).
    pub base_url: String,
    /// `originatorId`: names the online service towards the provider.
    pub originator_id: String,
    /// `endPointId`: names the authority (e.g. its AGS) towards the provider.
    pub endpoint_id: String,
    #[serde(default)]
    pub auth: XBezahlAuth,
    /// Send the citizen's name and address (`requestor`) along; off unless the
    /// provider needs them (data minimisation).
    #[serde(default)]
    pub send_requestor: bool,
    /// The origin of the provider's pay page (`https://pay.example`) when it is not
    /// the API's: the only other place the citizen may be sent to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pay_origin: Option<String>,
}

/// How we sign in at the provider. Secrets never appear in `Debug` output.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum XBezahlAuth {
    /// No authentication (network-level trust, or a test provider).
    #[default]
    None,
    /// OAuth2 client credentials grant: a bearer token from `token_url`.
    #[serde(rename = "oauth2")]
    OAuth2 {
        token_url: String,
        client_id: String,
        client_secret: String,
        #[serde(default)]
        scope: Option<String>,
    },
    /// Mutual TLS with a client certificate: certificate and private key in PEM.
    ClientCertificate { pem: String },
}

impl std::fmt::Debug for XBezahlAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::OAuth2 { token_url, client_id, scope, .. } => f
                .debug_struct("OAuth2")
                .field("token_url", token_url)
                .field("client_id", client_id)
                .field("client_secret", &"***")
                .field("scope", scope)
                .finish(),
            Self::ClientCertificate { .. } => f.write_str("ClientCertificate { pem: *** }"),
        }
    }
}

/// `^[\w\d-]+$`, 1..=36 characters — the standard's ids (`\w` is ASCII there).
pub(crate) fn is_id(s: &str) -> bool {
    (1..=36).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `^[\w\d\s-]+$` (`purpose`).
fn purpose_ok(s: &str) -> bool {
    !s.is_empty()
        && s.chars().count() <= 27
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c.is_ascii_whitespace())
}

/// `^[\w\d\s-,\.\u00C0-\u017F]+$` (`description`, booking data), at most 250.
fn description_ok(s: &str) -> bool {
    !s.is_empty() && s.chars().count() <= 250 && s.chars().all(clean::text_char)
}

impl XBezahlConfig {
    /// Checks the configuration against the outbound-URL `policy`, without the
    /// network. The message says what to fix, in German.
    ///
    /// # Errors
    /// The first problem.
    pub fn validate(&self, policy: &Policy) -> Result<(), String> {
        let url = policy.check(&self.base_url).map_err(|r| format!("Adresse des Bezahldienstes: {}", r.german()))?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(
                "Die Adresse des Bezahldienstes darf keine Parameter (?…) und keinen Anker (#…) enthalten.".into()
            );
        }
        if let Some(pay) = &self.pay_origin {
            let url = policy.check(pay).map_err(|r| format!("Adresse der Bezahlseite: {}", r.german()))?;
            let bare = matches!(url.path(), "" | "/") && url.query().is_none() && url.fragment().is_none();
            if !bare || !url.username().is_empty() || url.password().is_some() {
                return Err("Die Adresse der Bezahlseite ist nur Schema und Rechner, z. B. https://bezahlen.example \
                            (ohne Pfad, Parameter oder Anker)."
                    .into());
            }
        }
        for (what, id) in [("Originator-ID", &self.originator_id), ("Endpoint-ID", &self.endpoint_id)] {
            if !is_id(id) {
                return Err(format!(
                    "Die {what} muss 1 bis 36 Zeichen lang sein und darf nur Buchstaben, Ziffern, „-“ und „_“ enthalten."
                ));
            }
        }
        match &self.auth {
            XBezahlAuth::None => Ok(()),
            XBezahlAuth::OAuth2 { token_url, client_id, client_secret, scope } => {
                policy.check(token_url).map_err(|r| format!("Adresse für das Zugriffstoken: {}", r.german()))?;
                if client_id.trim().is_empty() || client_id.len() > 200 {
                    return Err("Die Client-ID für OAuth2 fehlt oder ist zu lang.".into());
                }
                if client_secret.is_empty() {
                    return Err("Das Client-Geheimnis für OAuth2 fehlt.".into());
                }
                if scope.as_deref().is_some_and(|s| s.len() > 500 || s.chars().any(char::is_control)) {
                    return Err("Der Scope für OAuth2 ist zu lang oder enthält Steuerzeichen.".into());
                }
                Ok(())
            }
            XBezahlAuth::ClientCertificate { pem } => auth::identity(pem).map(|_| ()),
        }
    }

    /// `{base}/paymenttransaction/{originatorId}/{endPointId}`.
    fn collection_url(&self) -> String {
        format!(
            "{}/paymenttransaction/{}/{}",
            self.base_url.trim().trim_end_matches('/'),
            self.originator_id,
            self.endpoint_id
        )
    }

    /// The transaction's REST address (FIT-Connect's `transactionUrl`).
    #[must_use]
    pub fn status_url(&self, transaction_id: &str) -> String {
        format!("{}/{transaction_id}", self.collection_url())
    }

    /// The one origin the citizen is sent to for paying (`scheme://host[:port]`):
    /// the configured pay-page origin, else the API's. Pages that lead there name it
    /// in `form-action`; a pay page elsewhere is refused.
    #[must_use]
    pub fn pay_page_origin(&self) -> Option<String> {
        let url = self.pay_origin.as_deref().unwrap_or(&self.base_url);
        reqwest::Url::parse(url.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http"))
            .map(|u| u.origin().ascii_serialization())
            .filter(|o| o != "null")
    }
}

/// One payment request, as the portal builds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRequest {
    /// Ours, unique per attempt: the provider refuses a repeat (`PAYMENT_EXISTS`).
    pub request_id: String,
    pub timestamp_ms: i64,
    /// Must equal the sum of the items (checked before sending).
    pub amount: Cents,
    /// Verwendungszweck, ≤ 27 characters (`xbezahl_purpose`).
    pub purpose: String,
    /// ≤ 250 characters; may be empty.
    pub description: String,
    /// Where the provider sends the citizen back (`{base}/zahlung/{secret}`).
    pub redirect_url: String,
    pub items: Vec<Item>,
    pub requestor: Option<Requestor>,
}

/// One position. Totals are computed (single × quantity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: String,
    pub reference: String,
    pub description: String,
    pub quantity: u32,
    /// 0 for fees (no VAT).
    pub tax_rate_percent: u32,
    pub single_net: Cents,
    pub single_tax: Cents,
    /// `bookingData`: Haushaltsstelle, Objektnummer, Kassenzeichen, …
    pub booking: Vec<(String, String)>,
}

/// The person paying, sent only with [`XBezahlConfig::send_requestor`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Requestor {
    /// Family name (or the organisation's name).
    pub name: String,
    pub first_name: String,
    pub is_organization: bool,
    pub organization_name: String,
    pub address: Option<RequestorAddress>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestorAddress {
    pub street: String,
    pub house_number: String,
    pub postal_code: String,
    pub city: String,
    /// ISO 3166 alpha-2, e.g. `DE`.
    pub country: String,
}

/// The provider's answer to a creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub transaction_id: String,
    /// The pay page the citizen is sent to.
    pub transaction_url: String,
}

/// The provider's answer to a status request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionStatus {
    pub transaction_id: String,
    /// `Initial`, `Payed`, `Failed` or `Canceled` (never our own `New`/`Abandoned`).
    pub status: ProviderStatus,
    pub transaction_reference: String,
    /// `GIROPAY`, `PAYDIRECT`, `CREDITCARD`, `PAYPAL`, `INVOICE`, `OTHER` or empty.
    pub payment_method: String,
    /// The amount the provider reports, when it does (`grosAmount`).
    pub gros_amount: Option<Cents>,
}

/// Why a call to the provider did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The provider answered with a refusal: `code` is its `functionalCode`
    /// (`PAYMENT_EXISTS`, `VALIDATION_ERROR`, `CALCULATION_ERROR`,
    /// `NO_VALID_ORIGINATOR_OR_ENDPOINT`, `BOOKING_DATA_MISSING`, `FORBIDDEN`,
    /// `UNSPECIFIED`); `detail` is its text, for the log only.
    #[error("provider refused ({code}, HTTP {http}): {detail}")]
    Refused { code: String, http: u16, detail: String },
    /// Timeout, no connection, 5xx, 429: worth trying again later.
    #[error("provider unavailable: {0}")]
    Unavailable(String),
    /// An answer we cannot use (not JSON, missing or malformed fields, another
    /// transaction's status).
    #[error("unusable answer: {0}")]
    Garbage(String),
    /// The outbound policy refused the address (or the provider redirected).
    #[error("not allowed: {0}")]
    NotAllowed(String),
    /// Our configuration or request cannot work (German).
    #[error("configuration: {0}")]
    Config(String),
}

impl ProviderError {
    /// What staff (and, in plain terms, citizens) may read: no foreign text.
    #[must_use]
    pub fn german(&self) -> String {
        match self {
            Self::Refused { code, http, .. } => match code.as_str() {
                "PAYMENT_EXISTS" => "Der Bezahldienst kennt diese Zahlungsanfrage bereits (PAYMENT_EXISTS).".into(),
                "VALIDATION_ERROR" => {
                    "Der Bezahldienst hat die Zahlungsanfrage als ungültig abgelehnt (VALIDATION_ERROR).".into()
                }
                "CALCULATION_ERROR" => "Der Bezahldienst hat die Zahlungsanfrage abgelehnt: Der Gesamtbetrag passt \
                                        nicht zu den Positionen (CALCULATION_ERROR)."
                    .into(),
                "BOOKING_DATA_MISSING" => "Der Bezahldienst vermisst Buchungsdaten (BOOKING_DATA_MISSING). Bitte die \
                                           Buchungsdaten in den Zahlungseinstellungen prüfen."
                    .into(),
                "NO_VALID_ORIGINATOR_OR_ENDPOINT" | "NO_VALID_ORIGINATOR_OR_DESTINATION" => {
                    "Der Bezahldienst kennt die eingetragene Originator-ID oder Endpoint-ID nicht.".into()
                }
                "FORBIDDEN" => {
                    "Der Bezahldienst hat die Anmeldung abgelehnt. Bitte die Zugangsdaten der Verbindung prüfen.".into()
                }
                other => format!("Der Bezahldienst hat die Anfrage abgelehnt (HTTP {http}, {other})."),
            },
            Self::Unavailable(why) => format!("Der Bezahldienst ist gerade nicht erreichbar. {why}"),
            Self::Garbage(_) => "Der Bezahldienst hat eine unverständliche Antwort geschickt.".into(),
            Self::NotAllowed(why) | Self::Config(why) => why.clone(),
        }
    }

    /// The provider's `functionalCode`, for refusals.
    #[must_use]
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Refused { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether asking again later may help.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Garbage(_))
    }
}

// ---------------------------------------------------------------------------------
// The request

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireRequest<'a> {
    request_id: &'a str,
    request_timestamp: String,
    currency: &'static str,
    gros_amount: Box<RawValue>,
    purpose: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    redirect_url: &'a str,
    items: Vec<WireItem<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    requestor: Option<clean::WireRequestor>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireItem<'a> {
    id: &'a str,
    reference: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    tax_rate: u32,
    quantity: u32,
    total_net_amount: Box<RawValue>,
    total_tax_amount: Box<RawValue>,
    single_net_amount: Box<RawValue>,
    single_tax_amount: Box<RawValue>,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    booking_data: serde_json::Map<String, serde_json::Value>,
}

/// A non-negative amount as a raw JSON number, `12.50`.
fn number(c: Cents) -> Result<Box<RawValue>, ProviderError> {
    RawValue::from_string(c.decimal()).map_err(|e| ProviderError::Config(format!("Betrag {}: {e}", c.decimal())))
}

/// The JSON body of a creation request — the one place its wire shape lives. Checks
/// everything the standard limits, so a request the provider must refuse is never
/// sent.
///
/// # Errors
/// [`ProviderError::Config`] naming the problem (German).
pub fn request_body(r: &PaymentRequest) -> Result<String, ProviderError> {
    let bad = |m: String| Err(ProviderError::Config(m));
    if !is_id(&r.request_id) {
        return bad(format!(
            "Die Anfrage-ID „{}“ passt nicht zum Standard (1–36 Zeichen A–Z, 0–9, - und _).",
            r.request_id
        ));
    }
    if !purpose_ok(&r.purpose) {
        return bad(format!(
            "Der Verwendungszweck „{}“ passt nicht zum Standard (höchstens 27 Buchstaben, Ziffern, Leerzeichen und -).",
            r.purpose
        ));
    }
    if !r.description.is_empty() && !description_ok(&r.description) {
        return bad("Die Beschreibung ist länger als 250 Zeichen oder enthält nicht erlaubte Zeichen.".into());
    }
    let redirect_ok = !r.redirect_url.is_empty()
        && r.redirect_url.len() <= 2082
        && reqwest::Url::parse(&r.redirect_url).is_ok_and(|u| matches!(u.scheme(), "https" | "http"));
    if !redirect_ok {
        return bad("Die Rücksprungadresse ist keine gültige Adresse (höchstens 2082 Zeichen).".into());
    }
    if !(1..=99).contains(&r.items.len()) {
        return bad(format!("Eine Zahlung braucht 1 bis 99 Positionen, nicht {}.", r.items.len()));
    }
    let mut sum = Cents(0);
    let mut items = Vec::with_capacity(r.items.len());
    for (n, it) in r.items.iter().enumerate() {
        let pos = n + 1;
        if !is_id(&it.id) || !is_id(&it.reference) {
            return bad(format!("Position {pos}: ID und Referenz müssen 1–36 Zeichen A–Z, 0–9, - und _ sein."));
        }
        if !it.description.is_empty() && !description_ok(&it.description) {
            return bad(format!("Position {pos}: Die Beschreibung enthält nicht erlaubte Zeichen."));
        }
        if !(1..=999_999).contains(&it.quantity) || it.tax_rate_percent > 100 {
            return bad(format!("Position {pos}: Menge oder Steuersatz außerhalb der Grenzen."));
        }
        let q = i64::from(it.quantity);
        let total = |c: Cents| c.0.checked_mul(q).map(Cents).filter(|t| *t <= Cents::MAX_ONLINE);
        let (Some(net), Some(tax)) = (total(it.single_net), total(it.single_tax)) else {
            return bad(format!("Position {pos}: Der Betrag ist zu hoch."));
        };
        if it.single_net.0 < 0 || it.single_tax.0 < 0 {
            return bad(format!("Position {pos}: Beträge dürfen nicht negativ sein."));
        }
        let mut booking = serde_json::Map::new();
        for (k, v) in &it.booking {
            if k.trim().is_empty() || k.len() > 64 || !description_ok(v) {
                return bad(format!(
                    "Buchungsdaten „{k}“: Der Wert ist leer, länger als 250 Zeichen oder enthält nicht erlaubte Zeichen."
                ));
            }
            booking.insert(k.clone(), serde_json::Value::String(v.clone()));
        }
        sum = Cents(sum.0 + net.0 + tax.0);
        items.push(WireItem {
            id: &it.id,
            reference: &it.reference,
            description: Some(it.description.as_str()).filter(|d| !d.is_empty()),
            tax_rate: it.tax_rate_percent,
            quantity: it.quantity,
            total_net_amount: number(net)?,
            total_tax_amount: number(tax)?,
            single_net_amount: number(it.single_net)?,
            single_tax_amount: number(it.single_tax)?,
            booking_data: booking,
        });
    }
    if sum != r.amount {
        return bad(format!(
            "Der Betrag {} ist nicht die Summe der Positionen ({}).",
            r.amount.decimal(),
            sum.decimal()
        ));
    }
    if sum.0 <= 0 || sum > Cents::MAX_ONLINE {
        return bad("Online zahlbar sind Beträge von 0,01 bis 999.999,00 €.".into());
    }
    let timestamp = jiff::Timestamp::from_millisecond(r.timestamp_ms)
        .map_err(|e| ProviderError::Config(format!("Zeitstempel: {e}")))?
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    let requestor = r.requestor.as_ref().and_then(clean::WireRequestor::of);
    let wire = WireRequest {
        request_id: &r.request_id,
        request_timestamp: timestamp,
        currency: "EUR",
        gros_amount: number(sum)?,
        purpose: &r.purpose,
        description: Some(r.description.as_str()).filter(|d| !d.is_empty()),
        redirect_url: &r.redirect_url,
        items,
        requestor,
    };
    serde_json::to_string(&wire).map_err(|e| ProviderError::Config(e.to_string()))
}

// ---------------------------------------------------------------------------------
// Answers

/// The fields we read, wherever a provider puts them.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct WireInfo {
    transaction_id: Option<String>,
    transaction_url: Option<String>,
    transaction_redirect_url: Option<String>,
    transaction_reference: Option<String>,
    payment_method: Option<String>,
    status: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct WireRequestEcho {
    gros_amount: Option<Box<RawValue>>,
}

/// `PaymentTransaction`: `{paymentInformation, paymentRequest}`, with the same fields
/// accepted at the top level (no `flatten`: it cannot carry raw numbers).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct WireTransaction {
    payment_information: Option<WireInfo>,
    payment_request: Option<WireRequestEcho>,
    transaction_id: Option<String>,
    transaction_url: Option<String>,
    transaction_redirect_url: Option<String>,
    transaction_reference: Option<String>,
    payment_method: Option<String>,
    status: Option<String>,
    gros_amount: Option<Box<RawValue>>,
}

impl WireTransaction {
    fn parse(body: &[u8]) -> Result<Self, ProviderError> {
        serde_json::from_slice(body).map_err(|e| ProviderError::Garbage(format!("not a PaymentTransaction: {e}")))
    }

    fn pick(&self, f: impl Fn(&WireInfo) -> &Option<String>, top: &Option<String>) -> Option<String> {
        self.payment_information
            .as_ref()
            .and_then(|i| f(i).clone())
            .or_else(|| top.clone())
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    }

    fn transaction_id(&self) -> Result<String, ProviderError> {
        let id = self
            .pick(|i| &i.transaction_id, &self.transaction_id)
            .ok_or_else(|| ProviderError::Garbage("no transactionId".into()))?;
        if is_id(&id) { Ok(id) } else { Err(ProviderError::Garbage(format!("transactionId {id:?} is malformed"))) }
    }

    fn gros_amount(&self) -> Result<Option<Cents>, ProviderError> {
        let raw = self.payment_request.as_ref().and_then(|r| r.gros_amount.as_ref()).or(self.gros_amount.as_ref());
        let Some(raw) = raw else { return Ok(None) };
        let text = raw.get().trim();
        if text == "null" {
            return Ok(None);
        }
        // Tolerated: the amount as a string.
        let text = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
        Cents::parse_decimal(text)
            .map(Some)
            .map_err(|_| ProviderError::Garbage(format!("grosAmount {text:?} is no amount")))
    }
}

/// Printable text of a foreign answer, bounded, for storing and showing.
fn clean(s: &str, max: usize) -> String {
    s.chars().filter(|c| !c.is_control()).take(max).collect()
}

const METHODS: [&str; 6] = ["GIROPAY", "PAYDIRECT", "CREDITCARD", "PAYPAL", "INVOICE", "OTHER"];

// ---------------------------------------------------------------------------------
// The client

/// A client for one connector; made by [`super::Gateway::client`].
pub struct Client {
    pub(super) http: reqwest::Client,
    pub(super) cfg: XBezahlConfig,
    pub(super) policy: Policy,
    pub(super) shared: Arc<GatewayShared>,
}

impl Client {
    /// Creates the payment transaction; the answer names the pay page.
    ///
    /// # Errors
    /// See [`ProviderError`]; a timeout is `Unavailable` (the caller cannot know
    /// whether the provider created the transaction).
    pub async fn create(&self, r: &PaymentRequest) -> Result<Created, ProviderError> {
        let body = request_body(r)?;
        let url = self.checked(&self.cfg.collection_url())?;
        let req = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "application/json, application/problem+json")
            .body(body);
        let answer = self.send(req).await?;
        let t = WireTransaction::parse(&answer)?;
        let transaction_id = t.transaction_id()?;
        // The pay page; `transactionUrl` is the REST address, taken only when a
        // provider names no other.
        let pay = t
            .pick(|i| &i.transaction_redirect_url, &t.transaction_redirect_url)
            .or_else(|| t.pick(|i| &i.transaction_url, &t.transaction_url))
            .ok_or_else(|| ProviderError::Garbage("no pay page (transactionRedirectUrl)".into()))?;
        if pay.len() > 2082 {
            return Err(ProviderError::Garbage("pay page address too long".into()));
        }
        // The citizen is sent there: only to addresses the policy would let us reach.
        let pay = self.policy.check(&pay).map_err(|r| {
            ProviderError::NotAllowed(format!("Die Bezahlseite des Bezahldienstes ist nicht erlaubt: {}", r.german()))
        })?;
        // The status address is JSON for programs, not a page a citizen can pay on.
        let rest = reqwest::Url::parse(&self.cfg.status_url(&transaction_id)).ok();
        let same = |u: &reqwest::Url| {
            rest.as_ref().is_some_and(|r| {
                r.origin() == u.origin() && r.path().trim_end_matches('/') == u.path().trim_end_matches('/')
            })
        };
        if same(&pay) {
            return Err(ProviderError::Garbage("the pay page named is the transaction's REST address".into()));
        }
        // Only to the provider's own pages: the API's origin or the configured
        // pay-page origin — never a host an answer names on its own.
        let origin = pay.origin().ascii_serialization();
        if self.cfg.pay_page_origin().as_deref() != Some(origin.as_str()) {
            return Err(ProviderError::NotAllowed(format!(
                "Der Bezahldienst nennt eine Bezahlseite auf {origin}, nicht auf der eingetragenen Adresse \
                 der Bezahlseite. Bitte die „Adresse der Bezahlseite“ der Verbindung prüfen."
            )));
        }
        Ok(Created { transaction_id, transaction_url: pay.to_string() })
    }

    /// Asks for the transaction's state.
    ///
    /// # Errors
    /// See [`ProviderError`]; an answer about another transaction is `Garbage`.
    pub async fn status(&self, transaction_id: &str) -> Result<TransactionStatus, ProviderError> {
        if !is_id(transaction_id) {
            return Err(ProviderError::Garbage(format!("transaction id {transaction_id:?} is malformed")));
        }
        let url = self.checked(&self.cfg.status_url(transaction_id))?;
        let req = self.http.get(url).header(reqwest::header::ACCEPT, "application/json, application/problem+json");
        let answer = self.send(req).await?;
        let t = WireTransaction::parse(&answer)?;
        let id = t.transaction_id()?;
        if id != transaction_id {
            return Err(ProviderError::Garbage(format!("asked for {transaction_id}, answer is about {id}")));
        }
        let word = t.pick(|i| &i.status, &t.status).ok_or_else(|| ProviderError::Garbage("no status".into()))?;
        let status = match ProviderStatus::parse(&word.to_ascii_uppercase()) {
            Some(
                s @ (ProviderStatus::Initial
                | ProviderStatus::Payed
                | ProviderStatus::Failed
                | ProviderStatus::Canceled),
            ) => s,
            _ => return Err(ProviderError::Garbage(format!("unknown status {:?}", clean(&word, 40)))),
        };
        let method = t.pick(|i| &i.payment_method, &t.payment_method).unwrap_or_default().to_ascii_uppercase();
        let payment_method =
            if method.is_empty() || METHODS.contains(&method.as_str()) { method } else { "OTHER".into() };
        Ok(TransactionStatus {
            transaction_id: id,
            status,
            transaction_reference: clean(
                &t.pick(|i| &i.transaction_reference, &t.transaction_reference).unwrap_or_default(),
                140,
            ),
            payment_method,
            gros_amount: t.gros_amount()?,
        })
    }

    /// XBezahldienste 1.0 defines no refund: every refund is a payout instruction.
    #[must_use]
    pub fn supports_refunds(&self) -> bool {
        false
    }

    /// The transaction's REST address (for the hand-off's `transactionUrl`).
    #[must_use]
    pub fn status_url(&self, transaction_id: &str) -> String {
        self.cfg.status_url(transaction_id)
    }

    fn checked(&self, url: &str) -> Result<reqwest::Url, ProviderError> {
        self.policy.check(url).map_err(|r| ProviderError::NotAllowed(format!("Bezahldienst: {}", r.german())))
    }

    /// Sends with the sign-in the connector needs; returns a 2xx body or the
    /// classified failure.
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Vec<u8>, ProviderError> {
        let token = match &self.cfg.auth {
            XBezahlAuth::OAuth2 { token_url, client_id, client_secret, scope } => {
                let key = auth::TokenKey::new(token_url, client_id, client_secret, scope.as_deref());
                let token = match self.shared.tokens.get(&key) {
                    Some(t) => t,
                    None => {
                        let (t, lifetime) = auth::fetch(
                            &self.http,
                            &self.policy,
                            token_url,
                            client_id,
                            client_secret,
                            scope.as_deref(),
                        )
                        .await?;
                        self.shared.tokens.put(key.clone(), t.clone(), lifetime);
                        t
                    }
                };
                Some((key, token))
            }
            XBezahlAuth::None | XBezahlAuth::ClientCertificate { .. } => None,
        };
        let req = match &token {
            Some((_, t)) => req.bearer_auth(t),
            None => req,
        };
        let resp = req.send().await.map_err(|e| transport(&e))?;
        let status = resp.status().as_u16();
        let body = read_limited(resp).await?;
        if (200..300).contains(&status) {
            return Ok(body);
        }
        if status == 401
            && let Some((key, _)) = &token
        {
            // The token may have been revoked early: the next call fetches a new one.
            self.shared.tokens.forget(key);
        }
        Err(refusal(status, &body))
    }
}

/// A transport error, classified (never the provider's text).
pub(crate) fn transport(e: &reqwest::Error) -> ProviderError {
    match Class::of(e) {
        Class::NotAllowed => ProviderError::NotAllowed(Class::NotAllowed.german()),
        other => ProviderError::Unavailable(other.german()),
    }
}

/// The body, at most [`MAX_ANSWER_BYTES`].
pub(crate) async fn read_limited(mut resp: reqwest::Response) -> Result<Vec<u8>, ProviderError> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| transport(&e))? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(ProviderError::Garbage("answer too large".into()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A non-2xx answer: problem+json with `functionalCode` where the provider sends
/// one.
fn refusal(status: u16, body: &[u8]) -> ProviderError {
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase", default)]
    struct Problem {
        functional_code: Option<String>,
        code: Option<String>,
        error_code: Option<String>,
        detail: Option<String>,
        title: Option<String>,
    }
    let p: Problem = serde_json::from_slice(body).unwrap_or_default();
    let code = p
        .functional_code
        .or(p.error_code)
        .or(p.code)
        .map(|c| clean(&c, 60).to_ascii_uppercase())
        .filter(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    let detail = clean(&p.detail.or(p.title).unwrap_or_default(), 200);
    if (300..400).contains(&status) {
        return ProviderError::NotAllowed(Class::Redirect(status).german());
    }
    let transient = status >= 500 || matches!(status, 408 | 425 | 429);
    match code {
        // A 5xx is transient whatever it is called, unless the provider names a
        // functional refusal.
        Some(code) if !transient || !matches!(code.as_str(), "UNSPECIFIED") => {
            ProviderError::Refused { code, http: status, detail }
        }
        _ if transient => ProviderError::Unavailable(Class::of_status(status).german()),
        _ if matches!(status, 401 | 403) => ProviderError::Refused { code: "FORBIDDEN".into(), http: status, detail },
        _ => ProviderError::Refused { code: "UNSPECIFIED".into(), http: status, detail },
    }
}

mod clean;

#[cfg(test)]
mod tests;
