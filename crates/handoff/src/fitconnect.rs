//! FIT-Connect sender: hands a submission to an authority's FIT-Connect destination.
//!
//! FIT-Connect is the federal transport for online applications: the sender encrypts
//! the form data, the metadata and every attachment for the destination's public key
//! (JWE compact, `RSA-OAEP-256` + `A256GCM`, `zip: DEF`), so the Zustelldienst in the
//! middle only ever sees ciphertext. The metadata carries SHA-512 hashes of the
//! *unencrypted* parts, which lets the receiving authority prove that nothing was
//! swapped on the way.
//!
//! This is a simplified client of the Submission API:
//! 1. `POST /v1/submissions` announces the submission and its attachment ids,
//! 2. `PUT /v1/submissions/{id}/attachments/{attachmentId}` uploads each attachment,
//! 3. `PUT /v1/submissions/{id}` sends the encrypted metadata and data.
//!
//! Every request carries our `Idempotency-Key` so that a receiver can recognise an
//! outbox retry of a submission it already has. The connector does not sign, does not
//! poll the event log and caches no tokens: each delivery is one self-contained
//! attempt, and the outbox decides about repeats via [`FitConnectError::is_retryable`].

use crate::package::Package;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::bn::BigNum;
use openssl::md::Md;
use openssl::pkey::{PKey, Public};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::{Padding, Rsa};
use openssl::symm::Cipher;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::fmt;
use std::io::Write;
use std::time::Duration;
use uuid::Uuid;

/// FIT-Connect demands RSA keys of at least this size for encryption.
pub const MIN_KEY_BITS: u32 = 4096;
/// Each request gets this long; attachments can be large, but a hung
/// Zustelldienst must not block the outbox worker forever.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// How much of an error response body ends up in the error (and the back office).
const BODY_EXCERPT_CHARS: usize = 300;

/// Why a delivery failed.
#[derive(Debug, thiserror::Error)]
pub enum FitConnectError {
    /// The connector configuration is unusable; retrying will not help.
    #[error("misconfigured connector: {0}")]
    Config(String),
    /// The destination's (or the configured) encryption key is unusable.
    #[error("unusable encryption key: {0}")]
    Key(String),
    /// The submission cannot be expressed as FIT-Connect metadata.
    #[error("cannot hand over this submission: {0}")]
    Package(String),
    /// Local cryptography failed (should not happen with a valid key).
    #[error("encryption failed: {0}")]
    Crypto(String),
    /// The server answered with a non-2xx status.
    #[error("{step}: HTTP {status}: {body}")]
    Http { step: &'static str, status: u16, body: String },
    /// No answer: connection refused, TLS failure, timeout.
    #[error("{step}: {message}")]
    Transport { step: &'static str, message: String },
    /// A 2xx answer we could not understand.
    #[error("{step}: unexpected response: {message}")]
    Protocol { step: &'static str, message: String },
}

impl FitConnectError {
    /// Whether a later attempt may succeed: rate limits, server errors and network
    /// trouble are transient; configuration, key and 4xx problems need a human.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Http { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            Self::Transport { .. } => true,
            Self::Config(_) | Self::Key(_) | Self::Package(_) | Self::Crypto(_) | Self::Protocol { .. } => false,
        }
    }
}

fn crypto(e: impl fmt::Display) -> FitConnectError {
    FitConnectError::Crypto(e.to_string())
}

// ---------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------

/// A destination's public encryption key, checked against FIT-Connect's rules.
#[derive(Clone)]
pub struct PublicJwk {
    kid: String,
    key: PKey<Public>,
}

impl fmt::Debug for PublicJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicJwk").field("kid", &self.kid).field("bits", &self.bits()).finish()
    }
}

impl PublicJwk {
    /// Parses a JWK from its JSON text.
    ///
    /// # Errors
    /// [`FitConnectError::Key`] when the text is no JWK or the key breaks a rule.
    pub fn from_json(text: &str) -> Result<Self, FitConnectError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| FitConnectError::Key(format!("the key is not valid JSON: {e}")))?;
        Self::from_value(&value)
    }

    /// Parses a JWK object; a JSON string holding the JWK is accepted too, because
    /// keys are often pasted into a configuration form as text.
    ///
    /// # Errors
    /// [`FitConnectError::Key`] when the key is not an RSA-OAEP-256 encryption key
    /// of at least 4096 bit with exponent 65537, or carries private key material.
    pub fn from_value(value: &Value) -> Result<Self, FitConnectError> {
        if let Value::String(text) = value {
            return Self::from_json(text);
        }
        let err = |m: String| FitConnectError::Key(m);
        let obj = value.as_object().ok_or_else(|| err("the key must be a JSON object (a JWK)".into()))?;
        let text = |name: &str| obj.get(name).and_then(Value::as_str);

        match text("kty") {
            Some("RSA") => {}
            Some(other) => return Err(err(format!("key type (kty) is \"{other}\", FIT-Connect requires \"RSA\""))),
            None => return Err(err("the key has no key type (kty); FIT-Connect requires \"RSA\"".into())),
        }
        match text("alg") {
            Some("RSA-OAEP-256") => {}
            Some(other) => {
                return Err(err(format!(
                    "key algorithm (alg) is \"{other}\", FIT-Connect encryption keys use \"RSA-OAEP-256\" \
                     (is this the signature key?)"
                )));
            }
            None => return Err(err("the key has no algorithm (alg); expected \"RSA-OAEP-256\"".into())),
        }
        if let Some(ops) = obj.get("key_ops") {
            let wraps = ops.as_array().is_some_and(|ops| ops.iter().any(|o| o.as_str() == Some("wrapKey")));
            if !wraps {
                return Err(err("the key's key_ops do not include \"wrapKey\"; it is not an encryption key".into()));
            }
        }
        if let Some(usage) = text("use")
            && usage != "enc"
        {
            return Err(err(format!("the key's use is \"{usage}\", an encryption key has \"enc\"")));
        }
        // A private key in a sender's configuration means the destination's secret
        // has left the authority: refuse rather than quietly use its public half.
        if ["d", "p", "q", "dp", "dq", "qi"].iter().any(|k| obj.contains_key(*k)) {
            return Err(err("the key contains private key material; configure the public key only".into()));
        }
        let kid =
            text("kid").filter(|k| !k.trim().is_empty()).ok_or_else(|| err("the key has no key id (kid)".into()))?;
        match text("e") {
            Some("AQAB") => {}
            Some(other) => {
                return Err(err(format!("the key's exponent (e) is \"{other}\", FIT-Connect requires \"AQAB\"")));
            }
            None => return Err(err("the key has no exponent (e)".into())),
        }
        let n = text("n").ok_or_else(|| err("the key has no modulus (n)".into()))?;
        let n = URL_SAFE_NO_PAD
            .decode(n.trim_end_matches('='))
            .map_err(|e| err(format!("the key's modulus (n) is not base64url: {e}")))?;
        let n = BigNum::from_slice(&n).map_err(crypto)?;
        let bits = u32::try_from(n.num_bits()).unwrap_or(0);
        if bits < MIN_KEY_BITS {
            return Err(err(format!("the key has {bits} bit, FIT-Connect requires at least {MIN_KEY_BITS}")));
        }
        let e = BigNum::from_u32(65_537).map_err(crypto)?;
        let rsa = Rsa::from_public_components(n, e).map_err(crypto)?;
        let key = PKey::from_rsa(rsa).map_err(crypto)?;
        Ok(Self { kid: kid.to_owned(), key })
    }

    /// The key id, written into every JWE header so the receiver picks the right key.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The modulus size in bit.
    #[must_use]
    pub fn bits(&self) -> u32 {
        self.key.bits()
    }
}

// ---------------------------------------------------------------------------------
// JWE
// ---------------------------------------------------------------------------------

/// Encrypts `plaintext` as JWE compact serialisation (RFC 7516): a fresh AES-256-GCM
/// content key wrapped with RSA-OAEP-256, the plaintext raw-DEFLATE-compressed first
/// (`zip: DEF`). `content_type` becomes the `cty` header.
///
/// # Errors
/// [`FitConnectError::Crypto`] when OpenSSL fails.
pub fn encrypt_jwe(key: &PublicJwk, plaintext: &[u8], content_type: Option<&str>) -> Result<String, FitConnectError> {
    let mut header = json!({"alg": "RSA-OAEP-256", "enc": "A256GCM", "zip": "DEF", "kid": key.kid});
    if let (Some(cty), Some(obj)) = (content_type, header.as_object_mut()) {
        obj.insert("cty".into(), Value::String(cty.to_owned()));
    }
    let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).map_err(crypto)?);

    let mut cek = [0u8; 32];
    openssl::rand::rand_bytes(&mut cek).map_err(crypto)?;
    let mut iv = [0u8; 12];
    openssl::rand::rand_bytes(&mut iv).map_err(crypto)?;

    let mut ctx = PkeyCtx::new(&key.key).map_err(crypto)?;
    ctx.encrypt_init().map_err(crypto)?;
    ctx.set_rsa_padding(Padding::PKCS1_OAEP).map_err(crypto)?;
    ctx.set_rsa_oaep_md(Md::sha256()).map_err(crypto)?;
    ctx.set_rsa_mgf1_md(Md::sha256()).map_err(crypto)?;
    let mut wrapped = Vec::new();
    ctx.encrypt_to_vec(&cek, &mut wrapped).map_err(crypto)?;

    let mut deflate = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    deflate.write_all(plaintext).map_err(crypto)?;
    let compressed = deflate.finish().map_err(crypto)?;

    // The AAD is the ASCII of the encoded protected header (RFC 7516 §5.1 step 14).
    let mut tag = [0u8; 16];
    let ciphertext =
        openssl::symm::encrypt_aead(Cipher::aes_256_gcm(), &cek, Some(&iv), header.as_bytes(), &compressed, &mut tag)
            .map_err(crypto)?;

    Ok(format!(
        "{header}.{}.{}.{}.{}",
        URL_SAFE_NO_PAD.encode(wrapped),
        URL_SAFE_NO_PAD.encode(iv),
        URL_SAFE_NO_PAD.encode(ciphertext),
        URL_SAFE_NO_PAD.encode(tag)
    ))
}

// ---------------------------------------------------------------------------------
// Data, attachments, metadata
// ---------------------------------------------------------------------------------

/// What an attachment is, in FIT-Connect's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A generated PDF representation of the complete application (our receipt).
    Form,
    /// A file the citizen uploaded.
    Attachment,
    /// A document the online service generated afterwards.
    Report,
}

impl Purpose {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Form => "form",
            Self::Attachment => "attachment",
            Self::Report => "report",
        }
    }
}

/// One attachment of a FIT-Connect submission.
#[derive(Debug, Clone)]
pub struct Attachment<'a> {
    pub id: Uuid,
    pub filename: String,
    pub mime_type: String,
    pub purpose: Purpose,
    /// The form field an upload belongs to; `None` for the receipt.
    pub field: Option<&'a str>,
    pub bytes: &'a [u8],
}

/// The attachments of a package: the receipt PDF (purpose `form`) and every upload
/// (purpose `attachment`). Ids are derived from the idempotency key, so a retry of the
/// same package announces the same ids.
#[must_use]
pub fn attachments(p: &Package) -> Vec<Attachment<'_>> {
    let mut out = Vec::with_capacity(p.files.len() + 1);
    if !p.receipt_pdf.is_empty() {
        out.push(Attachment {
            id: stable_id(p, "receipt"),
            filename: format!("Eingangsbestaetigung-{}.pdf", p.receipt_number),
            mime_type: "application/pdf".into(),
            purpose: Purpose::Form,
            field: None,
            bytes: &p.receipt_pdf,
        });
    }
    for f in &p.files {
        out.push(Attachment {
            id: stable_id(p, &format!("file:{}", f.id)),
            filename: f.name.clone(),
            mime_type: mime_type(&f.content_type),
            purpose: Purpose::Attachment,
            field: Some(&f.field),
            bytes: &f.bytes,
        });
    }
    out
}

/// A UUIDv4-shaped id that depends only on the package and `label`.
fn stable_id(p: &Package, label: &str) -> Uuid {
    let seed = format!("{}\0{}\0{label}", p.idempotency_key, p.submission_id);
    let digest = openssl::sha::sha512(seed.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// The metadata schema allows only `type/subtype`; parameters such as `charset` are
/// dropped and anything unusable becomes `application/octet-stream`.
fn mime_type(content_type: &str) -> String {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let part_ok = |s: &str, extra: &[char]| {
        !s.is_empty()
            && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') || extra.contains(&c))
    };
    match essence.split_once('/') {
        Some((t, s)) if part_ok(t, &[]) && part_ok(s, &['+']) => essence,
        _ => "application/octet-stream".into(),
    }
}

/// The Fachdaten as sent: one JSON document, serialised once, so that the hash in the
/// metadata is over exactly the bytes that are encrypted.
///
/// Shape: `{receiptNumber, submittedAt, authority, form, receiptDataHash, data,
/// attachments: [{attachmentId, field, filename}]}` where `data` is the package's
/// answers unchanged and `attachments` maps each upload to its form field.
///
/// # Errors
/// [`FitConnectError::Package`] if the answers cannot be serialised.
pub fn data_json(p: &Package, attachments: &[Attachment<'_>]) -> Result<Vec<u8>, FitConnectError> {
    let files: Vec<Value> = attachments
        .iter()
        .filter_map(|a| {
            a.field.map(|field| json!({"attachmentId": a.id.to_string(), "field": field, "filename": a.filename}))
        })
        .collect();
    let doc = json!({
        "receiptNumber": p.receipt_number,
        "submittedAt": rfc3339_utc(p.submitted_at_ms),
        "authority": {"name": p.authority.name, "ags": p.authority.ags, "ars": p.authority.ars},
        "form": {
            "slug": p.form.slug,
            "version": p.form.version,
            "title": p.form.title,
            "leika": p.form.leika,
            "leistungName": p.form.leistung_name,
        },
        "receiptDataHash": {"type": "sha256", "content": p.data_hash},
        "data": p.data,
        "attachments": files,
    });
    serde_json::to_vec(&doc).map_err(|e| FitConnectError::Package(format!("answers cannot be serialised: {e}")))
}

/// The URI naming the structure of our data JSON. We publish no schema document (yet),
/// so it is a URN that identifies form and version.
#[must_use]
pub fn schema_uri(p: &Package) -> String {
    let slug: String = p
        .form
        .slug
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c.to_ascii_lowercase() } else { '-' })
        .collect();
    format!("urn:amtsweg:form:{slug}:v{}", p.form.version)
}

/// The FIT-Connect service identifier for the package's LeiKa key.
fn service_identifier(p: &Package) -> String {
    format!("urn:de:fim:leika:leistung:{}", p.form.leika)
}

/// Metadata (schema 1.0.0) for a package whose data JSON is `data` (exactly the bytes
/// that will be encrypted) and whose attachments are `attachments`.
#[must_use]
pub fn metadata(p: &Package, data: &[u8], attachments: &[Attachment<'_>]) -> Value {
    let atts: Vec<Value> = attachments
        .iter()
        .map(|a| {
            json!({
                "attachmentId": a.id.to_string(),
                "hash": {"type": "sha512", "content": sha512_hex(a.bytes)},
                "filename": a.filename,
                "mimeType": a.mime_type,
                "purpose": a.purpose.as_str(),
            })
        })
        .collect();
    json!({
        "contentStructure": {
            "data": {
                "hash": {"type": "sha512", "content": sha512_hex(data)},
                "submissionSchema": {"schemaUri": schema_uri(p), "mimeType": "application/json"},
            },
            "attachments": atts,
        },
        "publicServiceType": {"identifier": service_identifier(p), "name": p.form.leistung_name},
        // applicationDate is left out on purpose: it is a local calendar date and we
        // only have UTC here; the data JSON carries the exact `submittedAt` instead.
        "additionalReferenceInfo": {"senderReference": p.receipt_number},
    })
}

/// Lower-case hex SHA-512, the only hash the metadata schema allows.
#[must_use]
pub fn sha512_hex(bytes: &[u8]) -> String {
    hex::encode(openssl::sha::sha512(bytes))
}

/// `2026-11-18T09:30:00.000Z` from milliseconds since the epoch.
fn rfc3339_utc(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rest = ms.rem_euclid(86_400_000);
    // Howard Hinnant's days-to-civil: proleptic Gregorian, valid for any i64 day count
    // we will meet.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000
    )
}

// ---------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------

/// Connector settings, stored as JSON with the connector.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitConnectConfig {
    /// Base URL of the Submission API, e.g. `https://submission-api-testing.fit-connect.fitko.dev`.
    pub submission_api: String,
    /// The authority's destination (UUID).
    pub destination_id: String,
    /// A fixed bearer token; alternative to the OAuth client credentials below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// OAuth 2.0 token endpoint for the client-credentials grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Optional OAuth scope, e.g. `send:region:DE` .
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The destination's public key as a JWK (object or JSON text). Without it the key
    /// is fetched from the destination on every delivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption_key: Option<Value>,
}

/// Secrets stay out of logs and error pages.
impl fmt::Debug for FitConnectConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |s: &Option<String>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("FitConnectConfig")
            .field("submission_api", &self.submission_api)
            .field("destination_id", &self.destination_id)
            .field("token", &redact(&self.token))
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &redact(&self.client_secret))
            .field("scope", &self.scope)
            .field("encryption_key", &self.encryption_key.as_ref().map(|_| "<jwk>"))
            .finish()
    }
}

impl FitConnectConfig {
    /// Parses the stored JSON form.
    ///
    /// # Errors
    /// [`FitConnectError::Config`] on malformed JSON or unknown fields.
    pub fn from_json(text: &str) -> Result<Self, FitConnectError> {
        serde_json::from_str(text).map_err(|e| FitConnectError::Config(format!("invalid configuration: {e}")))
    }

    /// Checks everything that can be checked without the network.
    ///
    /// # Errors
    /// [`FitConnectError::Config`] naming the first problem.
    pub fn validate(&self) -> Result<(), FitConnectError> {
        let bad = |m: String| Err(FitConnectError::Config(m));
        check_url("submission_api", &self.submission_api)?;
        if Uuid::parse_str(self.destination_id.trim()).is_err() {
            return bad("destination_id must be a UUID".into());
        }
        let filled = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.trim().is_empty());
        if self.token.is_some() && !filled(&self.token) {
            return bad("token must not be empty (leave it out instead)".into());
        }
        if let Some(url) = &self.token_url {
            if self.token.is_some() {
                return bad("set either token or token_url with client_id/client_secret, not both".into());
            }
            check_url("token_url", url)?;
            if !filled(&self.client_id) || !filled(&self.client_secret) {
                return bad("token_url needs client_id and client_secret".into());
            }
        } else if self.client_id.is_some() || self.client_secret.is_some() {
            return bad("client_id and client_secret need a token_url".into());
        }
        if let Some(jwk) = &self.encryption_key {
            PublicJwk::from_value(jwk).map_err(|e| match e {
                FitConnectError::Key(m) => FitConnectError::Config(format!("encryption_key: {m}")),
                other => other,
            })?;
        }
        Ok(())
    }

    fn api_base(&self) -> &str {
        self.submission_api.trim().trim_end_matches('/')
    }
}

/// Plain HTTP is allowed only to the local machine (test receivers, local gateways):
/// everything else would put bearer tokens on the wire in clear.
fn check_url(name: &str, url: &str) -> Result<(), FitConnectError> {
    let rule = || FitConnectError::Config(format!("{name} must be an https:// or http://127.0.0.1 URL"));
    let parsed = reqwest::Url::parse(url.trim()).map_err(|_| rule())?;
    let local = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match parsed.scheme() {
        "https" if parsed.host_str().is_some() => {}
        "http" if local => {}
        _ => return Err(rule()),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(FitConnectError::Config(format!("{name} must not contain credentials")));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(FitConnectError::Config(format!("{name} must not contain a query or fragment")));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Delivery
// ---------------------------------------------------------------------------------

/// Delivers `p` to the configured destination; returns the FIT-Connect submission id.
///
/// # Errors
/// See [`FitConnectError`]; [`FitConnectError::is_retryable`] tells the outbox
/// whether to try again later.
pub async fn deliver(client: &reqwest::Client, cfg: &FitConnectConfig, p: &Package) -> Result<String, FitConnectError> {
    cfg.validate()?;
    if p.form.leika.is_empty() || !p.form.leika.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FitConnectError::Package(format!(
            "form {} has no valid LeiKa key (\"{}\"), FIT-Connect needs one",
            p.form.slug, p.form.leika
        )));
    }
    let destination_id = cfg.destination_id.trim().to_ascii_lowercase();
    let mut api = Api { client, base: cfg.api_base(), bearer: cfg.token.clone(), idempotency_key: &p.idempotency_key };
    if let (Some(url), Some(id), Some(secret)) = (&cfg.token_url, &cfg.client_id, &cfg.client_secret) {
        api.bearer = Some(api.fetch_token(url, id, secret, cfg.scope.as_deref()).await?);
    }
    let key = match &cfg.encryption_key {
        Some(jwk) => PublicJwk::from_value(jwk)?,
        None => api.fetch_key(&destination_id).await?,
    };

    let atts = attachments(p);
    let data = data_json(p, &atts)?;
    let meta = metadata(p, &data, &atts);
    let meta = serde_json::to_vec(&meta).map_err(crypto)?;

    let announce = json!({
        "destinationId": destination_id,
        "announcedAttachments": atts.iter().map(|a| a.id.to_string()).collect::<Vec<_>>(),
        "serviceType": {"identifier": service_identifier(p), "name": p.form.leistung_name},
    });
    let step = "announce submission";
    let created: Value = api.json(step, api.request(reqwest::Method::POST, "/v1/submissions").json(&announce)).await?;
    let submission_id = created
        .get("submissionId")
        .and_then(Value::as_str)
        .ok_or_else(|| FitConnectError::Protocol { step, message: "no submissionId".into() })?;
    // The id becomes part of URLs: accept only what FIT-Connect issues, a UUID.
    let submission_id = Uuid::parse_str(submission_id)
        .map_err(|_| FitConnectError::Protocol { step, message: format!("submissionId {submission_id:?} is no UUID") })?
        .to_string();

    for a in &atts {
        let jwe = encrypt_jwe(&key, a.bytes, Some(&a.mime_type))?;
        let path = format!("/v1/submissions/{submission_id}/attachments/{}", a.id);
        let req = api.request(reqwest::Method::PUT, &path).header(reqwest::header::CONTENT_TYPE, "application/jose");
        api.send("upload attachment", req.body(jwe)).await?;
    }

    let body = json!({
        "encryptedMetadata": encrypt_jwe(&key, &meta, Some("application/json"))?,
        "encryptedData": encrypt_jwe(&key, &data, Some("application/json"))?,
    });
    let path = format!("/v1/submissions/{submission_id}");
    api.send("submit", api.request(reqwest::Method::PUT, &path).json(&body)).await?;
    Ok(submission_id)
}

/// One delivery's view of the Submission API.
struct Api<'a> {
    client: &'a reqwest::Client,
    base: &'a str,
    bearer: Option<String>,
    idempotency_key: &'a str,
}

impl Api<'_> {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let req = self.client.request(method, format!("{}{path}", self.base));
        self.decorate(req)
    }

    fn decorate(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let req = req.timeout(REQUEST_TIMEOUT).header("Idempotency-Key", self.idempotency_key);
        match &self.bearer {
            Some(token) => req.bearer_auth(token),
            None => req,
        }
    }

    async fn send(
        &self,
        step: &'static str,
        req: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, FitConnectError> {
        let resp = req.send().await.map_err(|e| FitConnectError::Transport { step, message: error_chain(&e) })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let text = resp.text().await.unwrap_or_default();
        Err(FitConnectError::Http { step, status: status.as_u16(), body: excerpt(&text) })
    }

    async fn json(&self, step: &'static str, req: reqwest::RequestBuilder) -> Result<Value, FitConnectError> {
        let resp = self.send(step, req).await?;
        let bytes = resp.bytes().await.map_err(|e| FitConnectError::Transport { step, message: error_chain(&e) })?;
        serde_json::from_slice(&bytes)
            .map_err(|e| FitConnectError::Protocol { step, message: format!("not JSON: {e}") })
    }

    /// OAuth 2.0 client-credentials grant (RFC 6749 §4.4).
    async fn fetch_token(
        &self,
        url: &str,
        client_id: &str,
        secret: &str,
        scope: Option<&str>,
    ) -> Result<String, FitConnectError> {
        let step = "fetch access token";
        let mut form = vec![("grant_type", "client_credentials"), ("client_id", client_id), ("client_secret", secret)];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        let req = self
            .client
            .post(url.trim())
            .timeout(REQUEST_TIMEOUT)
            .header("Idempotency-Key", self.idempotency_key)
            .form(&form);
        let answer = self.json(step, req).await?;
        if let Some(kind) = answer.get("token_type").and_then(Value::as_str)
            && !kind.eq_ignore_ascii_case("bearer")
        {
            return Err(FitConnectError::Protocol {
                step,
                message: format!("token_type is {kind:?}, expected Bearer"),
            });
        }
        answer
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| FitConnectError::Protocol { step, message: "no access_token".into() })
    }

    /// The destination names its current encryption key; fetch that key.
    async fn fetch_key(&self, destination_id: &str) -> Result<PublicJwk, FitConnectError> {
        let step = "fetch destination";
        let dest =
            self.json(step, self.request(reqwest::Method::GET, &format!("/v1/destinations/{destination_id}"))).await?;
        let kid = dest
            .get("encryptionKid")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| FitConnectError::Protocol { step, message: "no encryptionKid".into() })?;
        // The kid goes into a URL path: keep it to the characters key ids use.
        if !kid.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
            return Err(FitConnectError::Protocol {
                step,
                message: format!("encryptionKid {kid:?} has odd characters"),
            });
        }
        let step = "fetch encryption key";
        let path = format!("/v1/destinations/{destination_id}/keys/{kid}");
        let jwk = self.json(step, self.request(reqwest::Method::GET, &path)).await?;
        let key = PublicJwk::from_value(&jwk)?;
        if key.kid() != kid {
            return Err(FitConnectError::Key(format!("the destination served key {:?} for kid {kid:?}", key.kid())));
        }
        Ok(key)
    }
}

/// reqwest's top-level message ("error sending request") hides the cause; the chain
/// names it ("connection refused", "certificate verify failed").
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn excerpt(body: &str) -> String {
    let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > BODY_EXCERPT_CHARS {
        let cut: String = flat.chars().take(BODY_EXCERPT_CHARS).collect();
        format!("{cut}…")
    } else if flat.is_empty() {
        "(empty body)".into()
    } else {
        flat
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::package::sample;
    use openssl::pkey::Private;
    use std::io::Read;
    use std::sync::OnceLock;

    /// 4096-bit keys take a moment to generate: one per test run.
    fn private_key() -> &'static Rsa<Private> {
        static KEY: OnceLock<Rsa<Private>> = OnceLock::new();
        KEY.get_or_init(|| Rsa::generate(4096).unwrap())
    }

    fn jwk_of(rsa: &Rsa<Private>) -> Value {
        json!({
            "kty": "RSA",
            "kid": "test-key-1",
            "alg": "RSA-OAEP-256",
            "key_ops": ["wrapKey"],
            "e": URL_SAFE_NO_PAD.encode(rsa.e().to_vec()),
            "n": URL_SAFE_NO_PAD.encode(rsa.n().to_vec()),
        })
    }

    fn b64(s: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(s).unwrap()
    }

    /// Decrypts our own JWE independently of `encrypt_jwe`'s code path.
    fn decrypt(jwe: &str, rsa: &Rsa<Private>) -> (Value, Vec<u8>) {
        let parts: Vec<&str> = jwe.split('.').collect();
        assert_eq!(parts.len(), 5);
        let header: Value = serde_json::from_slice(&b64(parts[0])).unwrap();
        let pkey = PKey::from_rsa(rsa.clone()).unwrap();
        let mut ctx = PkeyCtx::new(&pkey).unwrap();
        ctx.decrypt_init().unwrap();
        ctx.set_rsa_padding(Padding::PKCS1_OAEP).unwrap();
        ctx.set_rsa_oaep_md(Md::sha256()).unwrap();
        ctx.set_rsa_mgf1_md(Md::sha256()).unwrap();
        let mut cek = Vec::new();
        ctx.decrypt_to_vec(&b64(parts[1]), &mut cek).unwrap();
        let compressed = openssl::symm::decrypt_aead(
            Cipher::aes_256_gcm(),
            &cek,
            Some(&b64(parts[2])),
            parts[0].as_bytes(),
            &b64(parts[3]),
            &b64(parts[4]),
        )
        .unwrap();
        let mut plain = Vec::new();
        flate2::read::DeflateDecoder::new(&compressed[..]).read_to_end(&mut plain).unwrap();
        (header, plain)
    }

    #[test]
    fn jwe_has_fit_connect_header_and_round_trips() {
        let rsa = private_key();
        let key = PublicJwk::from_value(&jwk_of(rsa)).unwrap();
        assert_eq!(key.bits(), 4096);
        let plain = "Osterfeuer auf der Festwiese – größer als erlaubt?".repeat(20);
        let jwe = encrypt_jwe(&key, plain.as_bytes(), Some("application/json")).unwrap();
        assert!(!jwe.contains('='), "base64url without padding");
        let (header, decrypted) = decrypt(&jwe, rsa);
        assert_eq!(
            header,
            json!({"alg": "RSA-OAEP-256", "enc": "A256GCM", "zip": "DEF", "kid": "test-key-1", "cty": "application/json"})
        );
        assert_eq!(decrypted, plain.as_bytes());
        // A fresh content key and IV every time.
        assert_ne!(jwe, encrypt_jwe(&key, plain.as_bytes(), Some("application/json")).unwrap());
        let bare = encrypt_jwe(&key, b"x", None).unwrap();
        assert!(decrypt(&bare, rsa).0.get("cty").is_none());
    }

    #[test]
    fn tampered_header_fails_authentication() {
        let rsa = private_key();
        let key = PublicJwk::from_value(&jwk_of(rsa)).unwrap();
        let jwe = encrypt_jwe(&key, b"data", None).unwrap();
        let parts: Vec<&str> = jwe.split('.').collect();
        let other = URL_SAFE_NO_PAD.encode(br#"{"alg":"RSA-OAEP-256","enc":"A256GCM","zip":"DEF","kid":"evil"}"#);
        let pkey = PKey::from_rsa(rsa.clone()).unwrap();
        let mut ctx = PkeyCtx::new(&pkey).unwrap();
        ctx.decrypt_init().unwrap();
        ctx.set_rsa_padding(Padding::PKCS1_OAEP).unwrap();
        ctx.set_rsa_oaep_md(Md::sha256()).unwrap();
        ctx.set_rsa_mgf1_md(Md::sha256()).unwrap();
        let mut cek = Vec::new();
        ctx.decrypt_to_vec(&b64(parts[1]), &mut cek).unwrap();
        let result = openssl::symm::decrypt_aead(
            Cipher::aes_256_gcm(),
            &cek,
            Some(&b64(parts[2])),
            other.as_bytes(),
            &b64(parts[3]),
            &b64(parts[4]),
        );
        assert!(result.is_err(), "the protected header is the AAD");
    }

    fn key_error(jwk: &Value) -> String {
        PublicJwk::from_value(jwk).unwrap_err().to_string()
    }

    #[test]
    fn keys_breaking_fit_connect_rules_are_rejected() {
        let small = Rsa::generate(2048).unwrap();
        assert!(key_error(&jwk_of(&small)).contains("2048 bit, FIT-Connect requires at least 4096"));

        let good = jwk_of(private_key());
        let with = |k: &str, v: Value| {
            let mut j = good.clone();
            j[k] = v;
            j
        };
        assert!(key_error(&with("e", json!("Aw"))).contains("exponent (e) is \"Aw\""));
        assert!(key_error(&with("alg", json!("PS512"))).contains("\"RSA-OAEP-256\""));
        assert!(key_error(&with("kty", json!("EC"))).contains("kty"));
        assert!(key_error(&with("key_ops", json!(["verify"]))).contains("wrapKey"));
        assert!(key_error(&with("d", json!("secret"))).contains("private key material"));
        assert!(key_error(&with("kid", json!(""))).contains("kid"));
        assert!(key_error(&json!("not json")).contains("not valid JSON"));
        // A key pasted as JSON text works like the object.
        let text = Value::String(good.to_string());
        assert_eq!(PublicJwk::from_value(&text).unwrap().kid(), "test-key-1");
    }

    #[test]
    fn metadata_hashes_the_exact_bytes_and_names_the_service() {
        let p = sample::package();
        let atts = attachments(&p);
        let data = data_json(&p, &atts).unwrap();
        let meta = metadata(&p, &data, &atts);

        let cs = &meta["contentStructure"];
        assert_eq!(cs["data"]["hash"]["content"], sha512_hex(&data));
        assert_eq!(sha512_hex(b"").len(), 128);
        assert_eq!(cs["data"]["submissionSchema"]["mimeType"], "application/json");
        assert_eq!(cs["data"]["submissionSchema"]["schemaUri"], "urn:amtsweg:form:osterfeuer:v2");
        assert_eq!(meta["publicServiceType"]["identifier"], "urn:de:fim:leika:leistung:99106010000000");
        assert_eq!(meta["publicServiceType"]["name"], "Osterfeuer Anzeige");
        assert_eq!(meta["additionalReferenceInfo"]["senderReference"], "MOO-2026-000042");

        let list = cs["attachments"].as_array().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["purpose"], "form");
        assert_eq!(list[0]["hash"]["content"], sha512_hex(&p.receipt_pdf));
        assert_eq!(list[1]["purpose"], "attachment");
        assert_eq!(list[1]["filename"], "lageplan.pdf");
        assert_eq!(list[1]["mimeType"], "application/pdf");
        assert_eq!(list[1]["hash"]["content"], sha512_hex(&p.files[0].bytes));

        let doc: Value = serde_json::from_slice(&data).unwrap();
        assert_eq!(doc["data"], p.data);
        assert_eq!(doc["attachments"][0]["field"], "lageplan");
        assert_eq!(doc["attachments"][0]["attachmentId"], list[1]["attachmentId"]);
        assert_eq!(doc["submittedAt"], "2026-11-18T11:06:40.000Z");
    }

    #[test]
    fn attachment_ids_are_stable_v4_uuids() {
        let p = sample::package();
        let a = attachments(&p);
        let b = attachments(&p);
        assert_eq!(a[0].id, b[0].id);
        assert_ne!(a[0].id, a[1].id);
        assert_eq!(a[0].id.get_version_num(), 4);
        let mut other = sample::package();
        other.idempotency_key = "amtsweg-43-1".into();
        assert_ne!(attachments(&other)[0].id, a[0].id);
    }

    #[test]
    fn mime_types_fit_the_schema_pattern() {
        assert_eq!(mime_type("application/pdf"), "application/pdf");
        assert_eq!(mime_type("Text/Plain; charset=UTF-8"), "text/plain");
        assert_eq!(mime_type("image/svg+xml"), "image/svg+xml");
        assert_eq!(mime_type(""), "application/octet-stream");
        assert_eq!(mime_type("nonsense"), "application/octet-stream");
        assert_eq!(mime_type("a b/c"), "application/octet-stream");
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_utc(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339_utc(-1), "1969-12-31T23:59:59.999Z");
    }

    fn config() -> FitConnectConfig {
        FitConnectConfig::from_json(
            r#"{"submission_api": "https://submission-api-testing.fit-connect.fitko.dev/",
                "destination_id": "aa3704d6-8bd7-4d40-a8af-501851f93934"}"#,
        )
        .unwrap()
    }

    fn config_error(cfg: &FitConnectConfig) -> String {
        cfg.validate().unwrap_err().to_string()
    }

    #[test]
    fn config_validation_names_the_problem() {
        let cfg = config();
        cfg.validate().unwrap();
        assert_eq!(cfg.api_base(), "https://submission-api-testing.fit-connect.fitko.dev");

        let local = FitConnectConfig { submission_api: "http://127.0.0.1:8080".into(), ..config() };
        local.validate().unwrap();
        for url in ["http://fitko.example", "ftp://x", "not a url", "https://u:p@fitko.example"] {
            let c = FitConnectConfig { submission_api: url.into(), ..config() };
            assert!(config_error(&c).contains("submission_api"), "{url}");
        }
        let c = FitConnectConfig { destination_id: "42".into(), ..config() };
        assert_eq!(config_error(&c), "misconfigured connector: destination_id must be a UUID");

        let c = FitConnectConfig { token_url: Some("https://auth.example/token".into()), ..config() };
        assert!(config_error(&c).contains("client_id and client_secret"));
        let c = FitConnectConfig { token: Some("t".into()), token_url: Some("https://a.example/t".into()), ..config() };
        assert!(config_error(&c).contains("not both"));
        let c = FitConnectConfig { client_id: Some("x".into()), ..config() };
        assert!(config_error(&c).contains("need a token_url"));

        let c = FitConnectConfig { encryption_key: Some(jwk_of(&Rsa::generate(2048).unwrap())), ..config() };
        assert!(config_error(&c).starts_with("misconfigured connector: encryption_key: the key has 2048 bit"));

        assert!(FitConnectConfig::from_json(r#"{"submission_api":"x","destination_id":"y","tokn":"z"}"#).is_err());
    }

    #[test]
    fn debug_output_hides_secrets() {
        let c = FitConnectConfig { token: Some("s3cret".into()), client_secret: Some("hush".into()), ..config() };
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret") && !shown.contains("hush"), "{shown}");
    }

    #[test]
    fn retryable_errors_are_transient_ones() {
        let http = |status| FitConnectError::Http { step: "submit", status, body: String::new() };
        assert!(http(429).is_retryable());
        assert!(http(503).is_retryable());
        assert!(!http(400).is_retryable());
        assert!(!http(404).is_retryable());
        assert!(FitConnectError::Transport { step: "submit", message: "refused".into() }.is_retryable());
        assert!(!FitConnectError::Config("x".into()).is_retryable());
        assert_eq!(excerpt(&"a ".repeat(400)).chars().count(), BODY_EXCERPT_CHARS + 1);
    }

    #[tokio::test]
    async fn invalid_leika_is_refused_before_any_request() {
        let mut p = sample::package();
        p.form.leika = String::new();
        let err = deliver(&reqwest::Client::new(), &config(), &p).await.unwrap_err();
        assert!(matches!(err, FitConnectError::Package(_)), "{err}");
    }
}
