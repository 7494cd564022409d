//! The AuthnRequest, shaped like BundID's example: AKDB extension with the requested
//! attribute OIDs, `RequestedAuthnContext Comparison="minimum"` with the STORK level,
//! signed enveloped (BundID requires signed requests), sent over HTTP-POST.

use crate::{Error, IdpMetadata, SpKeys, esc, instant, ns, stork_level};
use amtsweg_domain::TrustLevel;
use base64::Engine;

/// A request ready to be posted to the IdP.
#[derive(Debug, Clone)]
pub struct AuthnRequest {
    /// Our request ID; the response must name it in `InResponseTo`.
    pub id: String,
    pub xml: String,
    /// Base64 of the XML, the `SAMLRequest` form value (HTTP-POST: no deflate).
    pub encoded: String,
    /// Where to post it.
    pub destination: String,
}

/// Builds and signs an AuthnRequest asking for at least `level`.
///
/// # Errors
/// When signing fails.
pub fn authn_request(sp: &SpKeys, idp: &IdpMetadata, level: TrustLevel, now_ms: i64) -> Result<AuthnRequest, Error> {
    let id = format!("_{}", hex::encode(rand::random::<[u8; 16]>()));
    let attrs: String = sp
        .requested_attributes
        .iter()
        .map(|a| format!(r#"<akdb:RequestedAttribute Name="{}" RequiredAttribute="false"/>"#, esc(a)))
        .collect();
    let xml = format!(
        r#"<samlp:AuthnRequest xmlns:samlp="{samlp}" xmlns:saml="{saml}" AssertionConsumerServiceURL="{acs}" Destination="{dest}" ForceAuthn="false" ID="{id}" IssueInstant="{now}" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Version="2.0"><saml:Issuer>{issuer}</saml:Issuer><samlp:Extensions><akdb:AuthenticationRequest xmlns:akdb="{akdb}" Version="2"><akdb:RequestedAttributes>{attrs}</akdb:RequestedAttributes></akdb:AuthenticationRequest></samlp:Extensions><samlp:NameIDPolicy AllowCreate="true" Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"/><samlp:RequestedAuthnContext Comparison="minimum"><saml:AuthnContextClassRef>{level}</saml:AuthnContextClassRef></samlp:RequestedAuthnContext></samlp:AuthnRequest>"#,
        samlp = ns::SAMLP,
        saml = ns::SAML,
        akdb = ns::AKDB,
        acs = esc(&sp.acs_url),
        dest = esc(&idp.sso_url),
        now = instant(now_ms),
        issuer = esc(&sp.entity_id),
        level = stork_level(level),
    );
    let signed = crate::dsig::sign_enveloped(&xml, &id, &sp.signing_key, &sp.signing_cert, sp.sig_alg)?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(signed.as_bytes());
    Ok(AuthnRequest { id, xml: signed, encoded, destination: idp.sso_url.clone() })
}
