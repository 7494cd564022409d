//! Payment connectors of an authority (table `payment_connectors`, sealed like the
//! hand-off connectors but kept apart from them, so a payment provider never becomes a
//! delivery target): an XBezahldienste 1.0 provider for paying online, the account an
//! invoice names (IBAN, GiroCode), and the poke to the finance software. Plus the
//! reader of camt.053 bank statements, and — for tests and the demo only — a provider
//! simulator.
//!
//! As with the hand-off connectors, every address goes through the outbound-URL
//! policy, no redirect is followed, and what staff see about a failure is a class in
//! German, never the provider's own text.

mod auth;
pub mod camt;
#[cfg(feature = "simulator")]
pub mod simulator;
pub mod webhook;
pub mod xbezahl;

use crate::deliver::WebhookTarget;
use amtsweg_domain::payment::InvoiceAccount;
use amtsweg_outbound::Policy;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The payment connector kinds, with their labels for people.
pub const KINDS: [(&str, &str); 3] = [
    ("xbezahldienste", "Bezahldienst (XBezahldienste 1.0)"),
    ("rechnung", "Rechnung mit Überweisung (IBAN, GiroCode)"),
    ("finanzen_webhook", "Benachrichtigung der Finanzsoftware"),
];

/// Largest answer read from a provider.
pub(crate) const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// A payment connector's configuration, by kind.
#[derive(Debug, Clone)]
pub enum PaymentTarget {
    XBezahl(xbezahl::XBezahlConfig),
    Invoice(InvoiceAccount),
    FinanceWebhook(WebhookTarget),
}

impl PaymentTarget {
    /// Parses and checks a configuration (without the network; see
    /// [`Self::check_resolved`]); the message says what to fix, in German.
    ///
    /// # Errors
    /// When the kind is unknown or the configuration is incomplete or wrong.
    pub fn parse(kind: &str, json: &str, policy: &Policy) -> Result<Self, String> {
        let bad = |e: serde_json::Error| format!("Die Einstellungen sind unvollständig oder falsch: {e}");
        match kind {
            "xbezahldienste" => {
                let c: xbezahl::XBezahlConfig = serde_json::from_str(json).map_err(bad)?;
                c.validate(policy)?;
                Ok(Self::XBezahl(c))
            }
            "rechnung" => {
                let a: InvoiceAccount = serde_json::from_str(json).map_err(bad)?;
                a.validate().map_err(|e| e.0)?;
                Ok(Self::Invoice(a))
            }
            "finanzen_webhook" => {
                let w: WebhookTarget = serde_json::from_str(json).map_err(bad)?;
                policy.check(&w.url).map_err(|r| format!("Webhook: {}", r.german()))?;
                if w.secret.chars().count() < 32 {
                    return Err("Das Geheimnis für die Signatur muss mindestens 32 Zeichen lang sein.".into());
                }
                Ok(Self::FinanceWebhook(w))
            }
            other => Err(format!("Die Verbindungsart „{other}“ gibt es nicht.")),
        }
    }

    /// The addresses of the configuration, resolved and checked against `policy`, for
    /// the moment a connector is saved (every call checks again).
    ///
    /// # Errors
    /// The German reason.
    pub async fn check_resolved(&self, policy: &Policy) -> Result<(), String> {
        let urls: Vec<&str> = match self {
            Self::XBezahl(c) => {
                let mut v = vec![c.base_url.as_str()];
                v.extend(c.pay_origin.as_deref());
                if let xbezahl::XBezahlAuth::OAuth2 { token_url, .. } = &c.auth {
                    v.push(token_url);
                }
                v
            }
            Self::Invoice(_) => Vec::new(),
            Self::FinanceWebhook(w) => vec![w.url.as_str()],
        };
        for u in urls {
            policy.check_resolved(u).await.map_err(|r| r.german())?;
        }
        Ok(())
    }
}

/// What the clients of a gateway share: HTTP clients (one plain, one per client
/// certificate) and the OAuth2 tokens.
#[derive(Default)]
pub(crate) struct GatewayShared {
    plain: Mutex<Option<reqwest::Client>>,
    with_certificate: Mutex<HashMap<[u8; 32], reqwest::Client>>,
    pub(crate) tokens: auth::TokenCache,
}

/// Makes clients for payment providers under one outbound policy and timeout; cheap
/// to clone, meant to live as long as the process (it caches clients and tokens).
#[derive(Clone)]
pub struct Gateway {
    policy: Policy,
    timeout: Duration,
    shared: Arc<GatewayShared>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway").field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

impl Gateway {
    /// `timeout` bounds every request to a provider (connecting included).
    #[must_use]
    pub fn new(policy: Policy, timeout: Duration) -> Self {
        Self { policy, timeout, shared: Arc::new(GatewayShared::default()) }
    }

    #[must_use]
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A client for the connector `c` (checked against the policy first).
    ///
    /// # Errors
    /// [`xbezahl::ProviderError::Config`] for a configuration that cannot work,
    /// [`xbezahl::ProviderError::NotAllowed`] for refused addresses.
    pub fn client(&self, c: &xbezahl::XBezahlConfig) -> Result<xbezahl::Client, xbezahl::ProviderError> {
        c.validate(&self.policy).map_err(xbezahl::ProviderError::Config)?;
        let http = match &c.auth {
            xbezahl::XBezahlAuth::ClientCertificate { pem } => self.certificate_client(pem)?,
            _ => self.plain_client()?,
        };
        Ok(xbezahl::Client { http, cfg: c.clone(), policy: self.policy.clone(), shared: self.shared.clone() })
    }

    fn builder(&self) -> reqwest::ClientBuilder {
        self.policy
            .client_builder()
            .timeout(self.timeout)
            .connect_timeout(self.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("Amtsweg/", env!("CARGO_PKG_VERSION")))
    }

    fn plain_client(&self) -> Result<reqwest::Client, xbezahl::ProviderError> {
        let mut slot = self.shared.plain.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let c = self.builder().build().map_err(|e| xbezahl::ProviderError::Config(e.to_string()))?;
        *slot = Some(c.clone());
        Ok(c)
    }

    fn certificate_client(&self, pem: &str) -> Result<reqwest::Client, xbezahl::ProviderError> {
        use sha2::Digest;
        let key: [u8; 32] = sha2::Sha256::digest(pem.as_bytes()).into();
        let mut map = self.shared.with_certificate.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(c) = map.get(&key) {
            return Ok(c.clone());
        }
        let identity = auth::identity(pem).map_err(xbezahl::ProviderError::Config)?;
        let c = self
            .builder()
            .identity(identity)
            .build()
            .map_err(|e| xbezahl::ProviderError::Config(format!("Client-Zertifikat: {e}")))?;
        map.insert(key, c.clone());
        Ok(c)
    }
}
