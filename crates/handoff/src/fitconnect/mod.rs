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

mod client;
mod config;
mod jwe;
mod metadata;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests;
mod trust;

pub use client::deliver;
pub use config::FitConnectConfig;
pub use jwe::{PublicJwk, encrypt_jwe};
pub use metadata::{Attachment, Purpose, attachments, data_json, metadata, metadata_json, schema_uri, sha512_hex};
pub use trust::{Trust, TrustConfig};

use std::fmt;

/// FIT-Connect demands RSA keys of at least this size for encryption.
pub const MIN_KEY_BITS: u32 = 4096;

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
    /// No answer: connection refused, TLS failure, timeout; `class` is what staff see.
    #[error("{step}: {message}")]
    Transport { step: &'static str, message: String, class: amtsweg_outbound::Failure },
    /// The outbound-URL policy refuses an address of the configuration.
    #[error("{step}: {refusal}")]
    Refused { step: &'static str, refusal: amtsweg_outbound::Refusal },
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
            Self::Transport { class, .. } => *class != amtsweg_outbound::Failure::NotAllowed,
            Self::Config(_)
            | Self::Key(_)
            | Self::Package(_)
            | Self::Crypto(_)
            | Self::Protocol { .. }
            | Self::Refused { .. } => false,
        }
    }

    /// What staff may read (German): the kind of trouble, never the Zustelldienst's
    /// answer or addresses — those are in the log.
    #[must_use]
    pub fn staff_message(&self) -> String {
        use amtsweg_outbound::Failure;
        let text = match self {
            Self::Config(_) => "Die Einstellungen der Verbindung sind unvollständig oder falsch.".into(),
            Self::Key(_) => "Der Schlüssel des Zustellpunkts ist nicht vertrauenswürdig oder unbrauchbar \
                             (Einzelheiten im Protokoll des Servers)."
                .into(),
            Self::Package(_) => {
                "Der Antrag lässt sich nicht übergeben (z. B. fehlt der LeiKa-Schlüssel der Leistung).".into()
            }
            Self::Crypto(_) => "Die Verschlüsselung ist fehlgeschlagen.".into(),
            Self::Http { status, .. } => Failure::of_status(*status).german(),
            Self::Transport { class, .. } => class.german(),
            Self::Refused { refusal, .. } => refusal.german(),
            Self::Protocol { .. } => "Unerwartete Antwort des Zustelldienstes (Einzelheiten im Protokoll).".into(),
        };
        format!("FIT-Connect: {text}")
    }
}

fn crypto(e: impl fmt::Display) -> FitConnectError {
    FitConnectError::Crypto(e.to_string())
}
