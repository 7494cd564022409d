//! What is sent, before encryption: the attachments with stable ids, the data JSON and
//! the metadata whose SHA-512 hashes cover the exact unencrypted bytes.

use super::FitConnectError;
use crate::package::Package;
use amtsweg_domain::payment::Cents;
use serde_json::{Value, json};
use uuid::Uuid;

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
pub(super) fn mime_type(content_type: &str) -> String {
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
pub(super) fn service_identifier(p: &Package) -> String {
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
    let mut meta = json!({
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
    });
    if let (Some(info), Value::Object(map)) = (payment_information(p), &mut meta) {
        map.insert("paymentInformation".into(), info);
    }
    meta
}

/// The metadata exactly as sent: [`metadata`] with `paymentInformation.grossAmount`
/// written as decimal text from integer cents (`12.50`), never through a float.
///
/// # Errors
/// [`FitConnectError::Package`] if it cannot be serialised.
pub fn metadata_json(p: &Package, data: &[u8], attachments: &[Attachment<'_>]) -> Result<Vec<u8>, FitConnectError> {
    use serde_json::Map;
    use serde_json::value::RawValue;
    #[derive(serde::Serialize)]
    struct Info<'a> {
        #[serde(flatten)]
        fields: &'a Map<String, Value>,
        #[serde(rename = "grossAmount")]
        gross: Box<RawValue>,
    }
    #[derive(serde::Serialize)]
    struct Sent<'a> {
        #[serde(flatten)]
        rest: &'a Map<String, Value>,
        #[serde(rename = "paymentInformation")]
        info: Info<'a>,
    }
    let bad = |e: serde_json::Error| FitConnectError::Package(format!("metadata cannot be serialised: {e}"));
    let meta = metadata(p, data, attachments);
    let gross = p.payment.as_ref().map(|pay| pay.amount_cents).filter(|c| *c > 0);
    match (meta, gross) {
        (Value::Object(mut rest), Some(cents)) if rest.contains_key("paymentInformation") => {
            let Some(Value::Object(fields)) = rest.remove("paymentInformation") else {
                return Err(FitConnectError::Package("paymentInformation is no object".into()));
            };
            let gross = RawValue::from_string(Cents(cents).decimal()).map_err(bad)?;
            serde_json::to_vec(&Sent { rest: &rest, info: Info { fields: &fields, gross } }).map_err(bad)
        }
        (meta, _) => serde_json::to_vec(&meta).map_err(bad),
    }
}

/// `paymentInformation` (metadata schema 1.0.0) of a package with a payment, without
/// `grossAmount` (see [`metadata_json`]). `None` without a payment, or when no id fits
/// the schema's `transactionId` (a required field).
fn payment_information(p: &Package) -> Option<Value> {
    const METHODS: [&str; 6] = ["GIROPAY", "PAYDIRECT", "CREDITCARD", "PAYPAL", "INVOICE", "OTHER"];
    const STATES: [&str; 4] = ["INITIAL", "BOOKED", "FAILED", "CANCELED"];
    let pay = p.payment.as_ref()?;
    // No online transaction (invoice, counter): the Kassenzeichen identifies the payment.
    let transaction_id = if crate::payment::xbezahl::is_id(&pay.transaction_id) {
        pay.transaction_id.clone()
    } else {
        let id: String = pay
            .kassenzeichen
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '-' })
            .take(36)
            .collect();
        Some(id).filter(|id| crate::payment::xbezahl::is_id(id))?
    };
    let method = if METHODS.contains(&pay.payment_method.as_str()) {
        pay.payment_method.as_str()
    } else if pay.mode == "rechnung" {
        "INVOICE"
    } else {
        "OTHER"
    };
    let status = if STATES.contains(&pay.status.as_str()) { pay.status.as_str() } else { "INITIAL" };
    let mut info = serde_json::Map::new();
    info.insert("transactionId".into(), transaction_id.into());
    // "Die Informationen vom Bezahldienst": for an online payment the provider's
    // reference (it may have assigned the treasury's own Kassenzeichen); otherwise
    // ours. The Kassenzeichen itself travels in xdomea and the webhook.
    let reference = if pay.provider_reference.trim().is_empty() { &pay.kassenzeichen } else { &pay.provider_reference };
    info.insert("transactionReference".into(), reference.clone().into());
    info.insert("paymentMethod".into(), method.into());
    info.insert("status".into(), status.into());
    if let Some(url) = pay.transaction_url.as_deref().filter(|u| reqwest::Url::parse(u).is_ok()) {
        info.insert("transactionUrl".into(), url.into());
    }
    if let (Some(ms), "BOOKED") = (pay.paid_at_ms, status) {
        info.insert("transactionTimestamp".into(), rfc3339_utc(ms).into());
    }
    Some(Value::Object(info))
}

/// Lower-case hex SHA-512, the only hash the metadata schema allows.
#[must_use]
pub fn sha512_hex(bytes: &[u8]) -> String {
    hex::encode(openssl::sha::sha512(bytes))
}

/// `2026-11-18T09:30:00.000Z` from milliseconds since the epoch.
pub(super) fn rfc3339_utc(ms: i64) -> String {
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
