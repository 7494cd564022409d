//! What a connector hands over for one submission: the answers, the files and the
//! receipt PDF, already opened (decrypted) by the caller. Connectors only transport and
//! encode; they never reach into the store or the key ring themselves.

use serde::Serialize;

/// The authority that received the submission.
#[derive(Debug, Clone, Serialize)]
pub struct PackageAuthority {
    pub id: i64,
    pub slug: String,
    pub name: String,
    /// Amtlicher Gemeindeschlüssel, for municipalities.
    pub ags: Option<String>,
    /// Amtlicher Regionalschlüssel (12 digits).
    pub ars: String,
}

/// The form the citizen filled in and the service (Leistung) it belongs to.
#[derive(Debug, Clone, Serialize)]
pub struct PackageForm {
    pub id: i64,
    pub slug: String,
    pub version: i64,
    pub title: String,
    /// LeiKa key of the service (14 digits), e.g. `99050012104000`.
    pub leika: String,
    pub leistung_name: String,
}

/// One uploaded file, decrypted.
#[derive(Debug, Clone, Serialize)]
pub struct PackageFile {
    pub id: i64,
    /// The form field the file was uploaded for.
    pub field: String,
    pub name: String,
    pub content_type: String,
    /// Hex SHA-256 of `bytes`, as recorded at submission.
    pub sha256: String,
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// The payment of a submission, for the receiver (FIT-Connect `paymentInformation`,
/// xdomea fields, webhook `payment`). Amounts in cents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackagePayment {
    /// `vorab`, `rechnung`, `vor_ort` or `forderung`.
    pub mode: String,
    /// FIT-Connect's words: `INITIAL` (open), `BOOKED` (paid), `FAILED`, `CANCELED`.
    pub status: String,
    pub kassenzeichen: String,
    /// ISO 11649 creditor reference (`RF…`), empty when none.
    pub rf_reference: String,
    pub amount_cents: i64,
    pub paid_cents: i64,
    /// `GIROPAY`, `PAYDIRECT`, `CREDITCARD`, `PAYPAL`, `INVOICE` or `OTHER`.
    pub payment_method: String,
    /// The provider's transaction id (≤ 36 characters `[A-Za-z0-9_-]`), empty when
    /// there was no online payment.
    pub transaction_id: String,
    /// The transaction's REST address at the provider (status query).
    pub transaction_url: Option<String>,
    /// The provider's own reference of an online payment (`transactionReference`
    /// of its answer), empty when there was none.
    pub provider_reference: String,
    /// When the payment was booked, milliseconds since the epoch (UTC).
    pub paid_at_ms: Option<i64>,
}

/// A submission ready to hand over.
#[derive(Debug, Clone, Serialize)]
pub struct Package {
    pub submission_id: i64,
    /// Eingangsnummer shown to the citizen, e.g. `MOO-2026-000042`.
    pub receipt_number: String,
    /// Milliseconds since the epoch (UTC).
    pub submitted_at_ms: i64,
    pub authority: PackageAuthority,
    pub form: PackageForm,
    /// The answers as a JSON object (field id → value; groups as arrays of objects).
    pub data: serde_json::Value,
    /// Hex SHA-256 over the canonical answers and the files' hashes (printed on the receipt).
    pub data_hash: String,
    #[serde(skip)]
    pub receipt_pdf: Vec<u8>,
    pub files: Vec<PackageFile>,
    /// Stable per submission and target: the receiver uses it to recognise a repeat.
    pub idempotency_key: String,
    /// The fee and its payment, when the form charges one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<PackagePayment>,
}

#[cfg(test)]
pub(crate) mod sample {
    use super::*;

    /// A small package for connector tests.
    #[must_use]
    pub fn package() -> Package {
        let pdf = b"%PDF-1.7\n% Eingangsbestaetigung\n%%EOF\n".to_vec();
        let scan = b"%PDF-1.4\n% Lageplan\n%%EOF\n".to_vec();
        Package {
            submission_id: 42,
            receipt_number: "MOO-2026-000042".into(),
            submitted_at_ms: 1_795_000_000_000,
            authority: PackageAuthority {
                id: 3,
                slug: "moorbrueck".into(),
                name: "Stadt Moorbrück".into(),
                ags: Some("03358017".into()),
                ars: "033580017017".into(),
            },
            form: PackageForm {
                id: 7,
                slug: "osterfeuer".into(),
                version: 2,
                title: "Osterfeuer anzeigen".into(),
                leika: "99106010000000".into(),
                leistung_name: "Osterfeuer Anzeige".into(),
            },
            data: serde_json::json!({"name": "Erika Mustermann", "datum": "2027-04-19", "ort": "Festwiese"}),
            data_hash: "0".repeat(64),
            receipt_pdf: pdf,
            files: vec![PackageFile {
                id: 1,
                field: "lageplan".into(),
                name: "lageplan.pdf".into(),
                content_type: "application/pdf".into(),
                sha256: String::new(),
                bytes: scan,
            }],
            idempotency_key: "amtsweg-42-1".into(),
            payment: None,
        }
    }
}
