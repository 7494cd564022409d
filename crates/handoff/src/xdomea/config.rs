//! Where the container goes: the authority's DMS import folder, which only the
//! operator configures ([`super::XdomeaDirs`]), or an HTTP(S) endpoint, which the
//! authority's administrator sets and the outbound-URL policy checks.

use super::XdomeaError;
use amtsweg_outbound::Policy;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The connector's stored settings: `{}` (the authority's configured folder) or
/// `{"url": "https://dms.example/xdomea"}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XdomeaConfig {
    /// A folder an administrator once typed in. No longer used: administrators could
    /// make the server write anywhere it may. Kept so such settings still parse; the
    /// connector uses the operator's folder instead and the page says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<PathBuf>,
    /// An HTTP(S) endpoint the container is POSTed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A validated [`XdomeaConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XdomeaTarget {
    /// The authority's folder from the configuration ([`super::XdomeaDirs::dir_for`]).
    Directory,
    Url(reqwest::Url),
}

impl XdomeaConfig {
    /// Checks the configuration against the outbound-URL `policy` and returns where to
    /// deliver.
    ///
    /// # Errors
    /// [`XdomeaError::Refused`] for a URL the policy refuses.
    pub fn validate(&self, policy: &Policy) -> Result<XdomeaTarget, XdomeaError> {
        match self.url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            Some(raw) => policy.check(raw).map(XdomeaTarget::Url).map_err(XdomeaError::Refused),
            None => Ok(XdomeaTarget::Directory),
        }
    }

    /// Whether the stored settings still name a folder of their own (ignored).
    #[must_use]
    pub fn has_legacy_directory(&self) -> bool {
        self.directory.is_some()
    }
}
