//! The IdP's metadata (read from configuration; certificates are taken from there,
//! never from a response) and our own SP metadata.

use crate::{Error, esc, ns};
use base64::Engine;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

/// What we trust about the identity provider.
#[derive(Clone)]
pub struct IdpMetadata {
    pub entity_id: String,
    /// HTTP-POST single sign-on endpoint.
    pub sso_url: String,
    /// Signing certificates (several during a key rollover).
    pub certs: Vec<X509>,
}

impl std::fmt::Debug for IdpMetadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdpMetadata").field("entity_id", &self.entity_id).field("sso_url", &self.sso_url).finish()
    }
}

impl IdpMetadata {
    /// Reads an `md:EntityDescriptor` with an `IDPSSODescriptor`.
    ///
    /// # Errors
    /// When something needed is missing.
    pub fn parse(xml: &str) -> Result<Self, Error> {
        let bad = |m: &str| Error::Config(format!("IdP metadata: {m}"));
        let opt = roxmltree::ParsingOptions {
            allow_dtd: false,
            nodes_limit: 100_000,
            ..roxmltree::ParsingOptions::default()
        };
        let doc = roxmltree::Document::parse_with_options(xml, opt).map_err(|e| bad(&e.to_string()))?;
        let entity = doc
            .descendants()
            .find(|n| n.has_tag_name((ns::MD, "EntityDescriptor")))
            .ok_or_else(|| bad("no EntityDescriptor"))?;
        let entity_id = entity.attribute("entityID").ok_or_else(|| bad("no entityID"))?.to_owned();
        let idp = entity
            .children()
            .find(|n| n.has_tag_name((ns::MD, "IDPSSODescriptor")))
            .ok_or_else(|| bad("no IDPSSODescriptor"))?;
        let sso_url = idp
            .children()
            .filter(|n| n.has_tag_name((ns::MD, "SingleSignOnService")))
            .find(|n| n.attribute("Binding") == Some("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"))
            .and_then(|n| n.attribute("Location"))
            .ok_or_else(|| bad("no HTTP-POST SingleSignOnService"))?
            .to_owned();
        let mut certs = Vec::new();
        for kd in idp.children().filter(|n| n.has_tag_name((ns::MD, "KeyDescriptor"))) {
            if kd.attribute("use").is_some_and(|u| u != "signing") {
                continue;
            }
            for c in kd.descendants().filter(|n| n.has_tag_name((ns::DS, "X509Certificate"))) {
                let text: String = c.text().unwrap_or_default().chars().filter(|c| !c.is_whitespace()).collect();
                let der = base64::engine::general_purpose::STANDARD.decode(text).map_err(|_| bad("bad certificate"))?;
                certs.push(X509::from_der(&der).map_err(|e| bad(&e.to_string()))?);
            }
        }
        if certs.is_empty() {
            return Err(bad("no signing certificate"));
        }
        Ok(Self { entity_id, sso_url, certs })
    }
}

/// Our side: identity, endpoints and keys.
#[derive(Clone)]
pub struct SpKeys {
    pub entity_id: String,
    pub acs_url: String,
    pub signing_key: PKey<Private>,
    pub signing_cert: X509,
    /// For encrypted assertions (often the same pair as for signing).
    pub encryption_key: PKey<Private>,
    pub encryption_cert: X509,
    pub sig_alg: crate::SigAlg,
    pub requested_attributes: Vec<String>,
    pub organization: String,
    pub contact_email: String,
}

impl std::fmt::Debug for SpKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpKeys").field("entity_id", &self.entity_id).field("acs_url", &self.acs_url).finish()
    }
}

impl SpKeys {
    /// Loads PEM keys and certificates.
    ///
    /// # Errors
    /// When a PEM does not parse.
    pub fn from_pem(
        entity_id: &str,
        acs_url: &str,
        signing: (&[u8], &[u8]),
        encryption: Option<(&[u8], &[u8])>,
        sig_alg: crate::SigAlg,
    ) -> Result<Self, Error> {
        let key = |pem: &[u8]| PKey::private_key_from_pem(pem).map_err(|e| Error::Config(format!("SP key: {e}")));
        let cert = |pem: &[u8]| X509::from_pem(pem).map_err(|e| Error::Config(format!("SP certificate: {e}")));
        let (ek, ec) = encryption.unwrap_or(signing);
        Ok(Self {
            entity_id: entity_id.to_owned(),
            acs_url: acs_url.to_owned(),
            signing_key: key(signing.0)?,
            signing_cert: cert(signing.1)?,
            encryption_key: key(ek)?,
            encryption_cert: cert(ec)?,
            sig_alg,
            requested_attributes: crate::attributes::DEFAULT_REQUESTED.iter().map(|s| (*s).to_owned()).collect(),
            organization: String::new(),
            contact_email: String::new(),
        })
    }
}

fn cert_b64(c: &X509) -> String {
    c.to_der().map(|d| base64::engine::general_purpose::STANDARD.encode(d)).unwrap_or_default()
}

/// Our SP metadata for the IdP operator: signed requests, signed assertions wanted,
/// the keys for signing and encryption with the algorithms we accept, the ACS.
#[must_use]
pub fn sp_metadata(sp: &SpKeys) -> String {
    let org = if sp.organization.is_empty() {
        String::new()
    } else {
        format!(
            r#"<md:Organization><md:OrganizationName xml:lang="de">{o}</md:OrganizationName><md:OrganizationDisplayName xml:lang="de">{o}</md:OrganizationDisplayName><md:OrganizationURL xml:lang="de">{e}</md:OrganizationURL></md:Organization>"#,
            o = esc(&sp.organization),
            e = esc(&sp.entity_id)
        )
    };
    let contact = if sp.contact_email.is_empty() {
        String::new()
    } else {
        format!(
            r#"<md:ContactPerson contactType="technical"><md:EmailAddress>mailto:{}</md:EmailAddress></md:ContactPerson>"#,
            esc(&sp.contact_email)
        )
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="{md}" xmlns:ds="{ds}" xmlns:alg="urn:oasis:names:tc:SAML:metadata:algsupport" entityID="{entity}"><md:Extensions><alg:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><alg:SigningMethod Algorithm="{pss}"/><alg:SigningMethod Algorithm="{rsa}"/></md:Extensions><md:SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{sig}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{enc}</ds:X509Certificate></ds:X509Data></ds:KeyInfo><md:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes256-gcm"/><md:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes128-gcm"/><md:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/><md:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#rsa-oaep"/></md:KeyDescriptor><md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat><md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</md:NameIDFormat><md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{acs}" index="0" isDefault="true"/></md:SPSSODescriptor>{org}{contact}</md:EntityDescriptor>
"#,
        md = ns::MD,
        ds = ns::DS,
        entity = esc(&sp.entity_id),
        pss = crate::dsig::ALG_RSA_PSS_SHA256,
        rsa = crate::dsig::ALG_RSA_SHA256,
        sig = cert_b64(&sp.signing_cert),
        enc = cert_b64(&sp.encryption_cert),
        acs = esc(&sp.acs_url),
    )
}
