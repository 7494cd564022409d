//! Where the container goes: a DMS import folder or an HTTP(S) endpoint, as configured
//! per authority, checked before anything is built.

use super::XdomeaError;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Where the xdomea container goes, as configured per authority:
/// `{"directory": "/srv/dms/import"}` or `{"url": "https://dms.example/xdomea"}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XdomeaConfig {
    /// A DMS import folder (absolute path) the container is written to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<PathBuf>,
    /// An HTTP(S) endpoint the container is POSTed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A validated [`XdomeaConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XdomeaTarget {
    Directory(PathBuf),
    Url(reqwest::Url),
}

impl XdomeaConfig {
    /// Checks the configuration and returns where to deliver.
    ///
    /// # Errors
    /// [`XdomeaError::Config`] with a message naming the offending setting.
    pub fn validate(&self) -> Result<XdomeaTarget, XdomeaError> {
        let err = |m: String| Err(XdomeaError::Config(m));
        match (&self.directory, &self.url) {
            (Some(_), Some(_)) => err("set either \"directory\" or \"url\", not both".into()),
            (None, None) => {
                err("set \"directory\" (a DMS import folder) or \"url\" (an HTTP endpoint of the DMS)".into())
            }
            (Some(dir), None) => {
                if dir.as_os_str().is_empty() {
                    err("\"directory\" is empty".into())
                } else if !dir.is_absolute() {
                    err(format!("\"directory\" must be an absolute path, got \"{}\"", dir.display()))
                } else {
                    Ok(XdomeaTarget::Directory(dir.clone()))
                }
            }
            (None, Some(raw)) => {
                let url = match reqwest::Url::parse(raw.trim()) {
                    Ok(u) => u,
                    Err(e) => return err(format!("\"url\" is not a valid URL ({e}): \"{raw}\"")),
                };
                match url.scheme() {
                    "https" => Ok(XdomeaTarget::Url(url)),
                    "http" if is_loopback(&url) => Ok(XdomeaTarget::Url(url)),
                    "http" => {
                        err(format!("\"url\" must use https (plain http is accepted for localhost only): \"{raw}\""))
                    }
                    other => err(format!("\"url\" must be an https URL, not {other}: \"{raw}\"")),
                }
            }
        }
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else { return false };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
