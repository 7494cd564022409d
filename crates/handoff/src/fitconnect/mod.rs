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

pub use client::deliver;
pub use config::FitConnectConfig;
pub use jwe::{PublicJwk, encrypt_jwe};
pub use metadata::{Attachment, Purpose, attachments, data_json, metadata, schema_uri, sha512_hex};

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
