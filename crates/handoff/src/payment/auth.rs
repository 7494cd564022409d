//! Signing in at a payment provider: OAuth2 client credentials (a bearer token,
//! cached until shortly before it expires) or a client certificate (mutual TLS).

use super::xbezahl::{ProviderError, read_limited, transport};
use amtsweg_outbound::{Failure as Class, Policy};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A token is not used in its last 30 seconds: a request that starts just before the
/// expiry must not arrive just after it.
const EARLY: Duration = Duration::from_secs(30);
/// Used when the token answer names no lifetime.
const DEFAULT_LIFETIME: u64 = 60;

/// Identifies a token by where it comes from and for whom — a hash, so the cache
/// holds no client secret in clear.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct TokenKey([u8; 32]);

impl TokenKey {
    pub(crate) fn new(token_url: &str, client_id: &str, secret: &str, scope: Option<&str>) -> Self {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        for part in [token_url, client_id, secret, scope.unwrap_or_default()] {
            h.update(part.len().to_be_bytes());
            h.update(part.as_bytes());
        }
        Self(h.finalize().into())
    }
}

/// Bearer tokens of all connectors of a gateway.
#[derive(Default)]
pub(crate) struct TokenCache(Mutex<HashMap<TokenKey, (String, Instant)>>);

impl TokenCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TokenKey, (String, Instant)>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn get(&self, key: &TokenKey) -> Option<String> {
        let now = Instant::now();
        let mut map = self.lock();
        map.retain(|_, (_, until)| *until > now);
        map.get(key).map(|(t, _)| t.clone())
    }

    /// Keeps `token` until [`EARLY`] before its lifetime ends; a token too short-lived
    /// for that is not kept at all.
    pub(crate) fn put(&self, key: TokenKey, token: String, lifetime_s: u64) {
        let lifetime = Duration::from_secs(lifetime_s);
        if lifetime > EARLY {
            self.lock().insert(key, (token, Instant::now() + (lifetime - EARLY)));
        }
    }

    pub(crate) fn forget(&self, key: &TokenKey) {
        self.lock().remove(key);
    }
}

/// Fetches a token (client credentials grant, client authenticated with HTTP Basic
/// as RFC 6749 2.3.1 requires servers to support). Returns the token and its
/// lifetime in seconds.
pub(crate) async fn fetch(
    http: &reqwest::Client,
    policy: &Policy,
    token_url: &str,
    client_id: &str,
    secret: &str,
    scope: Option<&str>,
) -> Result<(String, u64), ProviderError> {
    #[derive(Deserialize)]
    struct Answer {
        access_token: String,
        #[serde(default)]
        token_type: Option<String>,
        #[serde(default)]
        expires_in: Option<serde_json::Value>,
    }
    let url = policy
        .check(token_url)
        .map_err(|r| ProviderError::NotAllowed(format!("Adresse für das Zugriffstoken: {}", r.german())))?;
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let mut form = vec![("grant_type", "client_credentials")];
    if let Some(s) = scope.filter(|s| !s.trim().is_empty()) {
        form.push(("scope", s));
    }
    let resp = http
        .post(url)
        .basic_auth(enc(client_id), Some(enc(secret)))
        .header(reqwest::header::ACCEPT, "application/json")
        .form(&form)
        .send()
        .await
        .map_err(|e| transport(&e))?;
    let status = resp.status().as_u16();
    let body = read_limited(resp).await?;
    if !(200..300).contains(&status) {
        return Err(if status >= 500 || status == 429 {
            ProviderError::Unavailable(Class::of_status(status).german())
        } else if (300..400).contains(&status) {
            ProviderError::NotAllowed(Class::Redirect(status).german())
        } else {
            ProviderError::Refused { code: "FORBIDDEN".into(), http: status, detail: "token request refused".into() }
        });
    }
    let a: Answer = serde_json::from_slice(&body).map_err(|e| ProviderError::Garbage(format!("token answer: {e}")))?;
    if a.access_token.is_empty() || a.access_token.len() > 8192 || a.access_token.chars().any(char::is_control) {
        return Err(ProviderError::Garbage("token answer: unusable access_token".into()));
    }
    if a.token_type.as_deref().is_some_and(|t| !t.eq_ignore_ascii_case("bearer")) {
        return Err(ProviderError::Garbage("token answer: token_type is not Bearer".into()));
    }
    // `expires_in` as a number or, tolerated, a string of digits.
    let lifetime = match a.expires_in {
        Some(serde_json::Value::Number(n)) => n.as_u64().unwrap_or(DEFAULT_LIFETIME),
        Some(serde_json::Value::String(s)) => s.trim().parse().unwrap_or(DEFAULT_LIFETIME),
        _ => DEFAULT_LIFETIME,
    };
    Ok((a.access_token, lifetime))
}

/// The client identity from PEM text holding the certificate (chain) and its private
/// key (PKCS#8 `PRIVATE KEY`, or a traditional RSA/EC key, converted here).
///
/// # Errors
/// What is wrong with the PEM, in German.
pub(crate) fn identity(pem: &str) -> Result<reqwest::Identity, String> {
    let certs = openssl::x509::X509::stack_from_pem(pem.as_bytes())
        .map_err(|_| "Das Client-Zertifikat ist kein gültiges PEM.".to_owned())?;
    if certs.is_empty() {
        return Err("Im PEM fehlt das Client-Zertifikat (BEGIN CERTIFICATE).".into());
    }
    let key = openssl::pkey::PKey::private_key_from_pem(pem.as_bytes())
        .map_err(|_| "Im PEM fehlt der private Schlüssel des Client-Zertifikats (BEGIN PRIVATE KEY).".to_owned())?;
    let cert_key = certs[0].public_key().map_err(|_| "Das Client-Zertifikat ist unlesbar.".to_owned())?;
    if !key.public_eq(&cert_key) {
        return Err("Der private Schlüssel gehört nicht zum Client-Zertifikat.".into());
    }
    let pkcs8 = key.private_key_to_pem_pkcs8().map_err(|_| "Der private Schlüssel ist unlesbar.".to_owned())?;
    let mut chain = Vec::new();
    for c in &certs {
        chain.extend(c.to_pem().map_err(|_| "Das Client-Zertifikat ist unlesbar.".to_owned())?);
    }
    reqwest::Identity::from_pkcs8_pem(&chain, &pkcs8)
        .map_err(|_| "Zertifikat und Schlüssel lassen sich nicht verwenden.".to_owned())
}
