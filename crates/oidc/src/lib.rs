//! OpenID Connect relying party for the citizen account: authorization-code flow
//! with PKCE (S256), `state` and `nonce`, ID-token verification by the
//! `openidconnect` crate (signature, issuer, audience, expiry, nonce), and the
//! mapping of the `acr` claim to a trust level — configurable per provider, with
//! unknown or missing values treated as the lowest level.
//!
//! Every back-channel request (discovery, JWKS, token, UserInfo) goes through the
//! outbound-URL policy ([`amtsweg_outbound`]): the issuer is checked before discovery,
//! every endpoint the discovery document names is checked before it is called, and the
//! client resolves through the policy and follows no redirects.
//!
//! Kept in its own crate so its generic-heavy dependencies compile (and are cached)
//! once, behind two plain functions.

use amtsweg_domain::TrustLevel;
use amtsweg_outbound::Policy;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{AsyncHttpClient, HttpClientError, HttpRequest, HttpResponse};
use openidconnect::{
    AuthenticationContextClass, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse, reqwest,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// One configured provider (`[[web.oidc]]` in the configuration).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProviderConfig {
    /// Short name used in addresses and as identity source (`oidc:<name>`).
    pub name: String,
    /// Shown on the sign-in button, e.g. "Servicekonto Niedersachsen".
    pub label: String,
    /// Issuer URL exactly as the provider's discovery document states it.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// `acr` value → trust level ("normal", "substanziell", "hoch").
    pub acr_map: BTreeMap<String, String>,
}

impl ProviderConfig {
    /// The trust level an `acr` value stands for; unknown or missing → normal.
    #[must_use]
    pub fn trust_for(&self, acr: Option<&str>) -> TrustLevel {
        acr.and_then(|a| self.acr_map.get(a)).and_then(|l| TrustLevel::parse(l).ok()).unwrap_or(TrustLevel::Normal)
    }

    /// The `acr` values that give at least `level`, lowest first (for step-up).
    #[must_use]
    pub fn acr_values_for(&self, level: TrustLevel) -> Vec<String> {
        let mut v: Vec<(TrustLevel, &String)> = self
            .acr_map
            .iter()
            .filter_map(|(acr, l)| TrustLevel::parse(l).ok().map(|t| (t, acr)))
            .filter(|(t, _)| *t >= level)
            .collect();
        v.sort();
        v.into_iter().map(|(_, a)| a.clone()).collect()
    }

    /// The highest level this provider can vouch for.
    #[must_use]
    pub fn max_trust(&self) -> TrustLevel {
        self.acr_map.values().filter_map(|l| TrustLevel::parse(l).ok()).max().unwrap_or(TrustLevel::Normal)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("provider configuration: {0}")]
    Config(String),
    #[error("discovery failed: {0}")]
    Discovery(String),
    #[error("token exchange failed: {0}")]
    Exchange(String),
    #[error("the ID token is not valid: {0}")]
    IdToken(String),
}

type Client =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// A discovered provider, ready to start and finish sign-ins.
#[derive(Clone)]
pub struct Provider {
    pub config: ProviderConfig,
    client: Client,
    http: Guarded,
}

/// The HTTP client of the provider's back channel: each request's URL passes the
/// policy (IP literals never reach the resolver), the client's resolver checks the
/// addresses of names.
#[derive(Clone)]
struct Guarded {
    http: reqwest::Client,
    policy: Policy,
}

impl<'c> AsyncHttpClient<'c> for Guarded {
    type Error = HttpClientError<reqwest::Error>;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + Sync + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        let checked = self.policy.check(&request.uri().to_string());
        Box::pin(async move {
            checked.map_err(|r| HttpClientError::Other(format!("refused by the outbound-URL policy: {r}")))?;
            self.http.call(request).await
        })
    }
}

/// What must be kept (server-side) between the redirect and the callback.
#[derive(Debug, Clone)]
pub struct LoginStart {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// What the provider vouched for.
#[derive(Debug, Clone)]
pub struct Verified {
    pub subject: String,
    pub acr: Option<String>,
    pub trust: TrustLevel,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
}

impl Provider {
    /// Fetches the provider's discovery document and keys; every request passes
    /// `policy`.
    ///
    /// # Errors
    /// When the configuration is incomplete, the policy refuses the issuer or the
    /// provider cannot be reached.
    pub async fn discover(config: ProviderConfig, redirect_uri: &str, policy: &Policy) -> Result<Self, OidcError> {
        policy.check(&config.issuer).map_err(|r| OidcError::Config(format!("issuer {}: {r}", config.issuer)))?;
        let http = policy
            .client_builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| OidcError::Config(e.to_string()))?;
        let http = Guarded { http, policy: policy.clone() };
        let issuer = IssuerUrl::new(config.issuer.clone()).map_err(|e| OidcError::Config(e.to_string()))?;
        let meta = CoreProviderMetadata::discover_async(issuer, &http)
            .await
            .map_err(|e| OidcError::Discovery(error_chain(&e)))?;
        let client = CoreClient::from_provider_metadata(
            meta,
            ClientId::new(config.client_id.clone()),
            Some(ClientSecret::new(config.client_secret.clone())),
        )
        .set_redirect_uri(RedirectUrl::new(redirect_uri.to_owned()).map_err(|e| OidcError::Config(e.to_string()))?);
        Ok(Self { config, client, http })
    }

    /// The address to send the browser to, asking for at least `level`.
    #[must_use]
    pub fn begin(&self, level: TrustLevel) -> LoginStart {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut req = self
            .client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge);
        for acr in self.config.acr_values_for(level) {
            req = req.add_auth_context_value(AuthenticationContextClass::new(acr));
        }
        let (url, state, nonce) = req.url();
        LoginStart {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        }
    }

    /// Exchanges the code and verifies the ID token against the nonce of this sign-in.
    ///
    /// # Errors
    /// When the exchange fails or the token does not verify.
    pub async fn finish(&self, code: &str, pkce_verifier: &str, nonce: &str) -> Result<Verified, OidcError> {
        let token = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| OidcError::Config(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| OidcError::Exchange(error_chain(&e)))?;
        let id_token = token.id_token().ok_or_else(|| OidcError::IdToken("no ID token in the response".into()))?;
        let claims = id_token
            .claims(&self.client.id_token_verifier(), &Nonce::new(nonce.to_owned()))
            .map_err(|e| OidcError::IdToken(e.to_string()))?;
        let acr = claims.auth_context_ref().map(|a| a.as_str().to_owned());
        let mut given_name = claims.given_name().and_then(|c| c.get(None)).map(|v| v.as_str().to_owned());
        let mut family_name = claims.family_name().and_then(|c| c.get(None)).map(|v| v.as_str().to_owned());
        if given_name.is_none() && family_name.is_none() {
            // Many providers put profile claims only into the UserInfo response; the
            // subject there must be the ID token's (checked by the crate).
            if let Ok(req) = self.client.user_info(token.access_token().clone(), Some(claims.subject().clone())) {
                let info: Result<openidconnect::core::CoreUserInfoClaims, _> = req.request_async(&self.http).await;
                if let Ok(info) = info {
                    given_name = info.given_name().and_then(|c| c.get(None)).map(|v| v.as_str().to_owned());
                    family_name = info.family_name().and_then(|c| c.get(None)).map(|v| v.as_str().to_owned());
                }
            }
        }
        Ok(Verified {
            subject: claims.subject().as_str().to_owned(),
            trust: self.config.trust_for(acr.as_deref()),
            acr,
            given_name,
            family_name,
        })
    }

    /// The issuer as configured (for the RFC 9207 `iss` check on the callback).
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }
}

/// An error with its causes, for the log (the crate's own messages are terse).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ProviderConfig {
        ProviderConfig {
            name: "nds".into(),
            acr_map: [("low", "normal"), ("subst", "substanziell"), ("high", "hoch")]
                .into_iter()
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .collect(),
            ..ProviderConfig::default()
        }
    }

    #[tokio::test]
    async fn issuers_outside_the_policy_are_not_contacted() {
        let strict = Policy::default();
        for issuer in ["http://127.0.0.1:1/", "https://169.254.169.254/", "https://u:p@op.example/", "https://[::1]/"] {
            let c = ProviderConfig { issuer: issuer.into(), ..config() };
            let err = Provider::discover(c, "https://portal.example/cb", &strict).await.err().unwrap();
            assert!(matches!(err, OidcError::Config(_)), "{issuer}: {err}");
        }
        // A name that resolves to loopback passes the URL check but not the resolver.
        let c = ProviderConfig { issuer: "https://localhost:1/".into(), ..config() };
        let err = Provider::discover(c, "https://portal.example/cb", &strict).await.err().unwrap();
        assert!(err.to_string().contains("not a public address"), "{err}");
    }

    #[test]
    fn acr_maps_to_trust_and_unknown_is_lowest() {
        let c = config();
        assert_eq!(c.trust_for(Some("subst")), TrustLevel::Substanziell);
        assert_eq!(c.trust_for(Some("something-else")), TrustLevel::Normal);
        assert_eq!(c.trust_for(None), TrustLevel::Normal);
        assert_eq!(c.acr_values_for(TrustLevel::Substanziell), ["subst", "high"]);
        assert_eq!(c.max_trust(), TrustLevel::Hoch);
    }
}
