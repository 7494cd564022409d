//! Whose encryption keys we trust: a destination's key must carry an `x5c` certificate
//! chain that leads to a trust anchor the operator configured (`[handoff.fitconnect]
//! trust_anchors`, PEM files), and its first certificate must hold exactly that key.
//! Otherwise whoever can answer for the Zustelldienst (or change a connector) could
//! hand us a key of their own and read every application.
//!
//! The chain is checked by OpenSSL's X.509 path validation (signatures, validity
//! period, CA flags). Without anchors, keys are refused unless the operator opts out
//! with `accept_unverified_keys = true` — for a test environment, never for production.

use super::{FitConnectError, PublicJwk};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::{X509, X509StoreContext};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::path::PathBuf;

/// `[handoff.fitconnect]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrustConfig {
    /// PEM files with the root (or intermediate) certificates destination keys must
    /// chain to, e.g. the FIT-Connect (Verwaltungs-PKI) roots. Default: none.
    pub trust_anchors: Vec<PathBuf>,
    /// Accept destination keys without checking their chain. Default `false`; only for
    /// test environments whose destinations have no certificates.
    pub accept_unverified_keys: bool,
}

/// The loaded trust anchors.
#[derive(Clone, Default)]
pub struct Trust {
    anchors: Vec<X509>,
    accept_unverified: bool,
}

impl fmt::Debug for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trust")
            .field("anchors", &self.anchors.len())
            .field("accept_unverified", &self.accept_unverified)
            .finish()
    }
}

impl Trust {
    /// Reads the anchors.
    ///
    /// # Errors
    /// When a file cannot be read or holds no certificate.
    pub fn load(c: &TrustConfig) -> Result<Self, String> {
        let mut anchors = Vec::new();
        for path in &c.trust_anchors {
            let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let certs = X509::stack_from_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!("{}: no certificate", path.display()));
            }
            anchors.extend(certs);
        }
        Ok(Self { anchors, accept_unverified: c.accept_unverified_keys })
    }

    /// Anchors given directly (tests, embedding).
    #[must_use]
    pub fn from_anchors(anchors: Vec<X509>) -> Self {
        Self { anchors, accept_unverified: false }
    }

    /// Whether keys are checked at all.
    #[must_use]
    pub fn is_configured(&self) -> bool {
        !self.anchors.is_empty() || self.accept_unverified
    }

    /// Checks that `jwk` (the key as received) carries an `x5c` chain to an anchor and
    /// that its first certificate holds `key`.
    ///
    /// # Errors
    /// [`FitConnectError::Key`] naming the problem.
    pub fn verify(&self, jwk: &Value, key: &PublicJwk) -> Result<(), FitConnectError> {
        let err = |m: String| FitConnectError::Key(m);
        if self.anchors.is_empty() {
            if self.accept_unverified {
                tracing::warn!(kid = key.kid(), "FIT-Connect: key used without checking its certificate chain");
                return Ok(());
            }
            return Err(err("no trust anchor is configured ([handoff.fitconnect] trust_anchors)".into()));
        }
        let jwk = match jwk {
            Value::String(text) => &serde_json::from_str::<Value>(text).map_err(|e| err(e.to_string()))?,
            other => other,
        };
        let x5c = jwk
            .get("x5c")
            .and_then(Value::as_array)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| err("the key has no certificate chain (x5c)".into()))?;
        let mut certs = Vec::with_capacity(x5c.len());
        for (i, c) in x5c.iter().enumerate() {
            let der = c
                .as_str()
                .and_then(|s| STANDARD.decode(s.trim()).ok())
                .ok_or_else(|| err(format!("x5c[{i}] is not base64")))?;
            certs.push(X509::from_der(&der).map_err(|e| err(format!("x5c[{i}] is no certificate: {e}")))?);
        }
        let leaf = certs.remove(0);
        let leaf_key = leaf.public_key().map_err(|e| err(format!("x5c[0]: {e}")))?;
        if !leaf_key.public_eq(&key.key) {
            return Err(err("the first certificate of x5c holds another key".into()));
        }
        let mut store = X509StoreBuilder::new().map_err(super::crypto)?;
        for a in &self.anchors {
            store.add_cert(a.clone()).map_err(super::crypto)?;
        }
        let store = store.build();
        let mut chain = Stack::new().map_err(super::crypto)?;
        for c in certs {
            chain.push(c).map_err(super::crypto)?;
        }
        let mut ctx = X509StoreContext::new().map_err(super::crypto)?;
        let (ok, why) = ctx
            .init(&store, &leaf, &chain, |c| Ok((c.verify_cert()?, c.error().error_string().to_owned())))
            .map_err(super::crypto)?;
        if ok { Ok(()) } else { Err(err(format!("the certificate chain is not trusted: {why}"))) }
    }
}
