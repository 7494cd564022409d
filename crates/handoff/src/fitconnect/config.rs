//! The connector's settings as stored with it (secrets redacted in debug output), and
//! their checks without the network.

use super::{FitConnectError, PublicJwk};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use uuid::Uuid;

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

    /// Checks every address of the settings against the outbound-URL `policy`
    /// (without the network).
    ///
    /// # Errors
    /// [`FitConnectError::Refused`] for the first refused one.
    pub fn check_urls(&self, policy: &amtsweg_outbound::Policy) -> Result<(), FitConnectError> {
        self.urls().into_iter().try_for_each(|(step, url)| {
            policy.check(url).map(|_| ()).map_err(|refusal| FitConnectError::Refused { step, refusal })
        })
    }

    /// The addresses of the settings, each with what it is for.
    #[must_use]
    pub fn urls(&self) -> Vec<(&'static str, &str)> {
        let mut out = vec![("submission_api", self.submission_api.as_str())];
        if let Some(t) = &self.token_url {
            out.push(("token_url", t.as_str()));
        }
        out
    }

    pub(super) fn api_base(&self) -> &str {
        self.submission_api.trim().trim_end_matches('/')
    }
}

/// The form of a URL; whether it may be reached decides the outbound-URL policy
/// ([`FitConnectConfig::check_urls`]).
fn check_url(name: &str, url: &str) -> Result<(), FitConnectError> {
    let rule = || FitConnectError::Config(format!("{name} must be an https:// URL"));
    let parsed = reqwest::Url::parse(url.trim()).map_err(|_| rule())?;
    if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
        return Err(rule());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(FitConnectError::Config(format!("{name} must not contain credentials")));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(FitConnectError::Config(format!("{name} must not contain a query or fragment")));
    }
    Ok(())
}
