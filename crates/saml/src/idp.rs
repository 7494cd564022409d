//! The identity-provider side, for the demo's simulated BundID only: read the
//! SP's signed AuthnRequest, answer with a signed Response in BundID's shape
//! (STORK-QAA level, AKDB attribute trust levels), or with an error status. It
//! exists so that `amtsweg demo` can be tried at every trust level without a real
//! ID provider, while the answers still go through [`crate::validate_response`]
//! unchanged. Nothing here is used when a real IdP is configured.

use crate::{Error, SigAlg, dsig, esc, instant, ns, stork_level, trust_of_stork};
use amtsweg_domain::TrustLevel;
use base64::Engine;
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509, X509NameBuilder};
use roxmltree::{Document, ParsingOptions};

/// How long an answer may be used (BundID: a few minutes).
const VALID_MS: i64 = 5 * 60_000;

/// The simulated IdP: who it is, where it is reached, how it signs.
#[derive(Clone)]
pub struct Idp {
    pub entity_id: String,
    pub sso_url: String,
    pub key: PKey<Private>,
    pub cert: X509,
}

impl std::fmt::Debug for Idp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Idp").field("entity_id", &self.entity_id).field("sso_url", &self.sso_url).finish()
    }
}

/// A certificate, for callers that do not use OpenSSL themselves.
pub use openssl::x509::X509 as Certificate;

/// A certificate from PEM.
///
/// # Errors
/// When the PEM does not parse.
pub fn certificate(pem: &[u8]) -> Result<X509, Error> {
    X509::from_pem(pem).map_err(|e| Error::Config(format!("certificate: {e}")))
}

/// [`self_signed`] as PEM: the key (PKCS#8) and the certificate.
///
/// # Errors
/// When OpenSSL fails.
pub fn self_signed_pem(common_name: &str, bits: u32, days: u32) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let (key, cert) = self_signed(common_name, bits, days)?;
    let e = |e: openssl::error::ErrorStack| Error::Config(e.to_string());
    Ok((key.private_key_to_pem_pkcs8().map_err(e)?, cert.to_pem().map_err(e)?))
}

/// A new RSA key with a self-signed certificate for `common_name`.
///
/// # Errors
/// When OpenSSL fails.
pub fn self_signed(common_name: &str, bits: u32, days: u32) -> Result<(PKey<Private>, X509), Error> {
    let e = |e: openssl::error::ErrorStack| Error::Config(e.to_string());
    let key = PKey::from_rsa(Rsa::generate(bits).map_err(e)?).map_err(e)?;
    let mut name = X509NameBuilder::new().map_err(e)?;
    name.append_entry_by_text("CN", common_name).map_err(e)?;
    let name = name.build();
    let mut b = X509::builder().map_err(e)?;
    b.set_version(2).map_err(e)?;
    let serial = BigNum::from_slice(&rand::random::<[u8; 16]>()).map_err(e)?.to_asn1_integer().map_err(e)?;
    b.set_serial_number(&serial).map_err(e)?;
    b.set_subject_name(&name).map_err(e)?;
    b.set_issuer_name(&name).map_err(e)?;
    b.set_pubkey(&key).map_err(e)?;
    let (from, until) = (Asn1Time::days_from_now(0).map_err(e)?, Asn1Time::days_from_now(days).map_err(e)?);
    b.set_not_before(&from).map_err(e)?;
    b.set_not_after(&until).map_err(e)?;
    b.sign(&key, MessageDigest::sha256()).map_err(e)?;
    Ok((key, b.build()))
}

impl Idp {
    /// The simulation with its key and certificate from PEM.
    ///
    /// # Errors
    /// When a PEM does not parse.
    pub fn from_pem(entity_id: &str, sso_url: &str, key: &[u8], cert: &[u8]) -> Result<Self, Error> {
        Ok(Self {
            entity_id: entity_id.to_owned(),
            sso_url: sso_url.to_owned(),
            key: PKey::private_key_from_pem(key).map_err(|e| Error::Config(format!("IdP key: {e}")))?,
            cert: certificate(cert)?,
        })
    }

    /// The IdP metadata the SP loads ([`crate::IdpMetadata::parse`]).
    #[must_use]
    pub fn metadata(&self) -> String {
        let cert = self.cert.to_der().map(|d| base64::engine::general_purpose::STANDARD.encode(d)).unwrap_or_default();
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="{md}" xmlns:ds="{ds}" entityID="{entity}"><md:IDPSSODescriptor WantAuthnRequestsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{sso}"/></md:IDPSSODescriptor></md:EntityDescriptor>
"#,
            md = ns::MD,
            ds = ns::DS,
            entity = esc(&self.entity_id),
            sso = esc(&self.sso_url),
        )
    }
}

/// What the IdP takes from an AuthnRequest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub id: String,
    /// The SP's entity ID (`saml:Issuer`).
    pub issuer: String,
    pub acs_url: String,
    pub destination: String,
    /// The requested minimum (`RequestedAuthnContext`); normal when none is asked.
    pub level: TrustLevel,
}

/// Reads a base64 `SAMLRequest` (HTTP-POST binding) and checks its signature
/// against the SP's certificates: the simulation trusts only the SP it was set up
/// for, as BundID does.
///
/// # Errors
/// When the request is malformed, unsigned or signed by someone else.
pub fn read_request(saml_request: &str, sp_certs: &[X509]) -> Result<Request, Error> {
    let clean: String = saml_request.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(clean)
        .map_err(|_| Error::Invalid("SAMLRequest is not base64".into()))?;
    if bytes.len() > 64 * 1024 {
        return Err(Error::Refused("request too large".into()));
    }
    let xml = String::from_utf8(bytes).map_err(|_| Error::Invalid("request is not UTF-8".into()))?;
    let opt = ParsingOptions { allow_dtd: false, nodes_limit: 5_000, ..ParsingOptions::default() };
    let doc = Document::parse_with_options(&xml, opt).map_err(|e| Error::Invalid(e.to_string()))?;
    let root = doc.root_element();
    if !root.has_tag_name((ns::SAMLP, "AuthnRequest")) {
        return Err(Error::Invalid("not an AuthnRequest".into()));
    }
    dsig::verify(root, &xml, sp_certs)?;
    let attr = |name: &str| {
        root.attribute(name).map(str::to_owned).ok_or_else(|| Error::Invalid(format!("AuthnRequest without {name}")))
    };
    let issuer = root
        .children()
        .find(|c| c.has_tag_name((ns::SAML, "Issuer")))
        .and_then(|i| i.text())
        .map(|t| t.trim().to_owned())
        .ok_or_else(|| Error::Invalid("AuthnRequest without Issuer".into()))?;
    let level = root
        .children()
        .filter(|c| c.has_tag_name((ns::SAMLP, "RequestedAuthnContext")))
        .flat_map(|c| c.children().filter(|r| r.has_tag_name((ns::SAML, "AuthnContextClassRef"))))
        .filter_map(|r| r.text().and_then(trust_of_stork))
        .max()
        .unwrap_or(TrustLevel::Normal);
    Ok(Request {
        id: attr("ID")?,
        issuer,
        acs_url: attr("AssertionConsumerServiceURL")?,
        destination: attr("Destination")?,
        level,
    })
}

/// One attribute of the answer: OID name, value and its own trust level.
#[derive(Debug, Clone)]
pub struct AttributeValue {
    pub name: &'static str,
    pub value: String,
    pub trust: TrustLevel,
}

/// Everything a successful answer says.
#[derive(Debug, Clone)]
pub struct Answer<'a> {
    pub request: &'a Request,
    /// The authentication level reached (at least what was asked for, or the SP
    /// sends the citizen on to raise it).
    pub trust: TrustLevel,
    /// The persistent, pairwise subject (BundID: the bPK2).
    pub name_id: &'a str,
    pub attributes: &'a [AttributeValue],
    pub now_ms: i64,
}

fn new_id() -> String {
    format!("_{}", hex::encode(rand::random::<[u8; 16]>()))
}

/// A signed Response for `answer`, base64-encoded as the `SAMLResponse` form value:
/// the Assertion carries an enveloped signature (RSA-PSS, exclusive c14n), the
/// bearer confirmation for the request's ACS, the SP as audience, the STORK-QAA
/// level and every attribute with its `akdb:TrustLevel`.
///
/// # Errors
/// When signing fails.
pub fn signed_response(idp: &Idp, answer: &Answer<'_>) -> Result<String, Error> {
    let r = answer.request;
    let (now, until) = (instant(answer.now_ms), instant(answer.now_ms + VALID_MS));
    let assertion_id = new_id();
    let attrs: String = answer
        .attributes
        .iter()
        .map(|a| {
            format!(
                r#"<saml:Attribute Name="{}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri" akdb:TrustLevel="{}"><saml:AttributeValue>{}</saml:AttributeValue></saml:Attribute>"#,
                esc(a.name),
                stork_level(a.trust),
                esc(&a.value)
            )
        })
        .collect();
    let assertion = format!(
        r#"<saml:Assertion xmlns:saml="{saml}" xmlns:akdb="{akdb}" ID="{assertion_id}" IssueInstant="{now}" Version="2.0"><saml:Issuer>{issuer}</saml:Issuer><saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">{name_id}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData InResponseTo="{irt}" NotOnOrAfter="{until}" Recipient="{acs}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{now}" NotOnOrAfter="{until}"><saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="{now}" SessionIndex="{assertion_id}"><saml:AuthnContext><saml:AuthnContextClassRef>{level}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement>{attrs}</saml:AttributeStatement></saml:Assertion>"#,
        saml = ns::SAML,
        akdb = ns::AKDB,
        issuer = esc(&idp.entity_id),
        name_id = esc(answer.name_id),
        irt = esc(&r.id),
        acs = esc(&r.acs_url),
        audience = esc(&r.issuer),
        level = stork_level(answer.trust),
    );
    let signed = dsig::sign_enveloped(&assertion, &assertion_id, &idp.key, &idp.cert, SigAlg::RsaPssSha256)?;
    Ok(encode(&response_xml(idp, r, &now, SUCCESS, None, &signed)))
}

const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";

/// A Response reporting that the citizen cancelled (`Responder` /
/// `AuthnFailed`), base64-encoded; it carries no assertion, as BundID's does not.
#[must_use]
pub fn cancelled_response(idp: &Idp, request: &Request, now_ms: i64) -> String {
    let status = "urn:oasis:names:tc:SAML:2.0:status:Responder";
    let sub = "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed";
    encode(&response_xml(idp, request, &instant(now_ms), status, Some((sub, "Abbruch durch den Benutzer")), ""))
}

fn response_xml(idp: &Idp, r: &Request, now: &str, code: &str, sub: Option<(&str, &str)>, body: &str) -> String {
    let status = match sub {
        Some((sub, message)) => format!(
            r#"<samlp:StatusCode Value="{code}"><samlp:StatusCode Value="{sub}"/></samlp:StatusCode><samlp:StatusMessage>{}</samlp:StatusMessage>"#,
            esc(message)
        ),
        None => format!(r#"<samlp:StatusCode Value="{code}"/>"#),
    };
    format!(
        r#"<samlp:Response xmlns:samlp="{samlp}" xmlns:saml="{saml}" Destination="{acs}" ID="{id}" InResponseTo="{irt}" IssueInstant="{now}" Version="2.0"><saml:Issuer>{issuer}</saml:Issuer><samlp:Status>{status}</samlp:Status>{body}</samlp:Response>"#,
        samlp = ns::SAMLP,
        saml = ns::SAML,
        acs = esc(&r.acs_url),
        id = new_id(),
        irt = esc(&r.id),
        issuer = esc(&idp.entity_id),
    )
}

fn encode(xml: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(xml.as_bytes())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::{Expected, IdpMetadata, SpKeys, attributes, authn_request, validate_response};

    struct Setup {
        idp: Idp,
        sp: SpKeys,
        md: IdpMetadata,
    }

    fn setup() -> Setup {
        let (key, cert) = self_signed("Test-BundID", 2048, 1).unwrap();
        let idp = Idp {
            entity_id: "http://127.0.0.1:8080/demo-bundid/metadata".into(),
            sso_url: "http://127.0.0.1:8080/demo-bundid/sso".into(),
            key,
            cert,
        };
        let (sk, sc) = self_signed("Test-SP", 2048, 1).unwrap();
        let sp = SpKeys::from_pem(
            "http://127.0.0.1:8080/konto/saml/metadata",
            "http://127.0.0.1:8080/konto/saml/acs",
            (&sk.private_key_to_pem_pkcs8().unwrap(), &sc.to_pem().unwrap()),
            None,
            SigAlg::RsaPssSha256,
        )
        .unwrap();
        let md = IdpMetadata::parse(&idp.metadata()).unwrap();
        Setup { idp, sp, md }
    }

    fn attributes_of_erika(trust: TrustLevel) -> Vec<AttributeValue> {
        let a = |name, value: &str, trust| AttributeValue { name, value: value.to_owned(), trust };
        vec![
            a(attributes::BPK2, "bPK2-DEMO-ERIKA", trust),
            a(attributes::GIVEN_NAME, "Erika", trust),
            a(attributes::FAMILY_NAME, "Mustermann", trust),
            a(attributes::BIRTH_DATE, "1980-03-12", trust),
            a(attributes::EMAIL, "erika@example.org", TrustLevel::Normal),
        ]
    }

    fn request(s: &Setup, level: TrustLevel) -> Request {
        let r = authn_request(&s.sp, &s.md, level, jiff::Timestamp::now().as_millisecond()).unwrap();
        read_request(&r.encoded, std::slice::from_ref(&s.sp.signing_cert)).unwrap()
    }

    #[test]
    fn the_signed_answer_passes_the_real_validation() {
        let s = setup();
        let req = request(&s, TrustLevel::Hoch);
        assert_eq!(req.level, TrustLevel::Hoch);
        assert_eq!(req.acs_url, s.sp.acs_url);
        assert_eq!(req.destination, s.idp.sso_url);
        assert_eq!(req.issuer, s.sp.entity_id);
        let attrs = attributes_of_erika(TrustLevel::Hoch);
        let now = jiff::Timestamp::now().as_millisecond();
        let answer = Answer {
            request: &req,
            trust: TrustLevel::Hoch,
            name_id: "bPK2-DEMO-ERIKA",
            attributes: &attrs,
            now_ms: now,
        };
        let response = signed_response(&s.idp, &answer).unwrap();
        let v = validate_response(&response, &Expected { sp: &s.sp, idp: &s.md, now_ms: now }).unwrap();
        assert_eq!(v.trust, TrustLevel::Hoch);
        assert_eq!(v.in_response_to, req.id);
        assert_eq!(v.attribute(attributes::FAMILY_NAME).unwrap().value, "Mustermann");
        assert_eq!(v.attribute(attributes::BIRTH_DATE).unwrap().trust, Some(TrustLevel::Hoch));
        assert_eq!(v.attribute(attributes::EMAIL).unwrap().trust, Some(TrustLevel::Normal));
        // Too late: refused.
        let later = Expected { sp: &s.sp, idp: &s.md, now_ms: now + VALID_MS + 10 * 60_000 };
        assert!(validate_response(&response, &later).is_err());
    }

    #[test]
    fn one_changed_byte_of_the_assertion_is_refused() {
        let s = setup();
        let req = request(&s, TrustLevel::Substanziell);
        let attrs = attributes_of_erika(TrustLevel::Substanziell);
        let now = jiff::Timestamp::now().as_millisecond();
        let answer = Answer {
            request: &req,
            trust: TrustLevel::Substanziell,
            name_id: "bPK2-DEMO-ERIKA",
            attributes: &attrs,
            now_ms: now,
        };
        let b64 = base64::engine::general_purpose::STANDARD;
        let xml = String::from_utf8(b64.decode(signed_response(&s.idp, &answer).unwrap()).unwrap()).unwrap();
        let exp = Expected { sp: &s.sp, idp: &s.md, now_ms: now };
        assert!(validate_response(&b64.encode(&xml), &exp).is_ok());
        for (from, to) in [
            ("Mustermann", "Mustermanm"),
            ("STORK-QAA-Level-3</saml:AuthnContextClassRef>", "STORK-QAA-Level-4</saml:AuthnContextClassRef>"),
        ] {
            let changed = xml.replacen(from, to, 1);
            assert_ne!(changed, xml);
            let err = validate_response(&b64.encode(&changed), &exp).unwrap_err();
            assert!(matches!(err, Error::Signature(_)), "{err}");
        }
        // Another key than the metadata's: refused.
        let (other, other_cert) = self_signed("Fremd", 2048, 1).unwrap();
        let forged = Idp { key: other, cert: other_cert, ..s.idp.clone() };
        assert!(validate_response(&signed_response(&forged, &answer).unwrap(), &exp).is_err());
    }

    #[test]
    fn a_cancelled_sign_in_is_an_idp_status() {
        let s = setup();
        let req = request(&s, TrustLevel::Normal);
        let now = jiff::Timestamp::now().as_millisecond();
        let err =
            validate_response(&cancelled_response(&s.idp, &req, now), &Expected { sp: &s.sp, idp: &s.md, now_ms: now })
                .unwrap_err();
        assert!(matches!(err, Error::IdpStatus { .. }), "{err}");
    }

    #[test]
    fn requests_signed_by_another_sp_or_changed_are_refused() {
        let s = setup();
        let r = authn_request(&s.sp, &s.md, TrustLevel::Normal, jiff::Timestamp::now().as_millisecond()).unwrap();
        let (_, other) = self_signed("Fremd", 2048, 1).unwrap();
        assert!(read_request(&r.encoded, &[other]).is_err());
        let b64 = base64::engine::general_purpose::STANDARD;
        let changed = r.xml.replace("/konto/saml/acs", "/boese/acs");
        assert!(read_request(&b64.encode(changed), std::slice::from_ref(&s.sp.signing_cert)).is_err());
        assert!(read_request("kein base64!", std::slice::from_ref(&s.sp.signing_cert)).is_err());
        assert_eq!(
            read_request(&r.encoded, std::slice::from_ref(&s.sp.signing_cert)).unwrap().level,
            TrustLevel::Normal
        );
    }
}
