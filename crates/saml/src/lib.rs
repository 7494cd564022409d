//! SAML 2.0 service provider for BundID (and other SAML IdPs of German states):
//! signed AuthnRequests over HTTP-POST with the AKDB extension and
//! `RequestedAuthnContext Comparison="minimum"`, SP metadata, and strict response
//! validation — signature (RSA-SHA256 or RSA-PSS over exclusive c14n), decryption of
//! encrypted assertions, issuer, destination, audience, recipient, `InResponseTo`,
//! validity times — with the STORK-QAA level and every attribute's own
//! `akdb:TrustLevel`. No I/O: the web layer keeps pending requests and the replay
//! cache in the database.

pub mod c14n;
mod decrypt;
pub mod dsig;
pub mod idp;
mod metadata;
mod request;
mod response;

pub use dsig::SigAlg;
pub use metadata::{IdpMetadata, SpKeys, sp_metadata};
pub use request::{AuthnRequest, authn_request};
pub use response::{Attribute, Expected, Validated, validate_response};

/// Namespaces used here.
pub mod ns {
    pub const SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
    pub const SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
    pub const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
    pub const XENC: &str = "http://www.w3.org/2001/04/xmlenc#";
    pub const MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
    pub const AKDB: &str = "https://www.akdb.de/request/2018/09";
}

/// BundID attribute names (OIDs) and what they are.
pub mod attributes {
    pub const BPK2: &str = "urn:oid:1.3.6.1.4.1.25484.494450.3";
    pub const GIVEN_NAME: &str = "urn:oid:2.5.4.42";
    pub const FAMILY_NAME: &str = "urn:oid:2.5.4.4";
    pub const BIRTH_DATE: &str = "urn:oid:1.2.40.0.10.2.1.1.55";
    pub const STREET: &str = "urn:oid:2.5.4.16";
    pub const POSTAL_CODE: &str = "urn:oid:2.5.4.17";
    pub const CITY: &str = "urn:oid:2.5.4.7";
    pub const EMAIL: &str = "urn:oid:0.9.2342.19200300.100.1.3";
    /// Requested by default: what the profile can hold, plus the stable key.
    pub const DEFAULT_REQUESTED: [&str; 8] =
        [BPK2, GIVEN_NAME, FAMILY_NAME, BIRTH_DATE, STREET, POSTAL_CODE, CITY, EMAIL];
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration: {0}")]
    Config(String),
    #[error("invalid message: {0}")]
    Invalid(String),
    #[error("signature: {0}")]
    Signature(String),
    #[error("refused: {0}")]
    Refused(String),
    #[error("the identity provider reported {code}{}: {message}", sub.as_deref().map(|s| format!(" / {s}")).unwrap_or_default())]
    IdpStatus { code: String, sub: Option<String>, message: String },
}

/// The STORK-QAA level a trust level needs (BundID: 1–2 normal, 3 substanziell, 4 hoch).
#[must_use]
pub fn stork_level(t: amtsweg_domain::TrustLevel) -> &'static str {
    match t {
        amtsweg_domain::TrustLevel::Normal => "STORK-QAA-Level-1",
        amtsweg_domain::TrustLevel::Substanziell => "STORK-QAA-Level-3",
        amtsweg_domain::TrustLevel::Hoch => "STORK-QAA-Level-4",
    }
}

/// The trust level of a `STORK-QAA-Level-n` value (`None` for anything else).
#[must_use]
pub fn trust_of_stork(v: &str) -> Option<amtsweg_domain::TrustLevel> {
    match v.trim() {
        "STORK-QAA-Level-1" | "STORK-QAA-Level-2" => Some(amtsweg_domain::TrustLevel::Normal),
        "STORK-QAA-Level-3" => Some(amtsweg_domain::TrustLevel::Substanziell),
        "STORK-QAA-Level-4" => Some(amtsweg_domain::TrustLevel::Hoch),
        _ => None,
    }
}

/// XML-escapes a value for text or attribute content.
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// UTC now as xs:dateTime with milliseconds.
pub(crate) fn instant(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()).unwrap_or_default()
}
