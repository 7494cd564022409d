//! XML signatures as SAML uses them: one enveloped signature per signed element,
//! one Reference to that element's ID, exclusive canonicalisation, SHA-256, and
//! RSA with PKCS#1 v1.5 or PSS (BundID signs with `sha256-rsa-MGF1`). Everything
//! else is refused, which closes the doors XML-DSig leaves open (other transforms,
//! HMAC, SHA-1, several references, references elsewhere).

use crate::c14n::canonicalize;
use crate::{Error, ns};
use base64::Engine;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer, Verifier};
use openssl::x509::X509;
use roxmltree::Node;

pub const ALG_RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
pub const ALG_RSA_PSS_SHA256: &str = "http://www.w3.org/2007/05/xmldsig-more#sha256-rsa-MGF1";
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
pub const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

/// How we sign: BundID wants RSA-PSS; plain PKCS#1 v1.5 for other IdPs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigAlg {
    RsaSha256,
    RsaPssSha256,
}

impl SigAlg {
    #[must_use]
    pub fn uri(self) -> &'static str {
        match self {
            Self::RsaSha256 => ALG_RSA_SHA256,
            Self::RsaPssSha256 => ALG_RSA_PSS_SHA256,
        }
    }

    /// # Errors
    /// For algorithms other than the two supported.
    pub fn parse(s: &str) -> Result<Self, Error> {
        match s {
            "rsa-sha256" | ALG_RSA_SHA256 => Ok(Self::RsaSha256),
            "rsa-pss-sha256" | ALG_RSA_PSS_SHA256 => Ok(Self::RsaPssSha256),
            other => Err(Error::Config(format!("unsupported signature algorithm {other}"))),
        }
    }
}

fn b64(s: &str) -> Result<Vec<u8>, Error> {
    let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(clean)
        .map_err(|_| Error::Invalid("bad base64 in signature".into()))
}

fn child<'a, 'i>(node: Node<'a, 'i>, uri: &str, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|c| c.is_element() && c.tag_name().namespace() == Some(uri) && c.tag_name().name() == name)
}

fn children<'a, 'i>(node: Node<'a, 'i>, uri: &'a str, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().namespace() == Some(uri) && c.tag_name().name() == name)
}

fn prefix_list(transform_or_method: Node<'_, '_>) -> Vec<String> {
    child(transform_or_method, EXC_C14N, "InclusiveNamespaces")
        .and_then(|n| n.attribute("PrefixList"))
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The enveloped signature of `element`, if it has one (a direct child).
#[must_use]
pub fn signature_of<'a, 'i>(element: Node<'a, 'i>) -> Option<Node<'a, 'i>> {
    child(element, ns::DS, "Signature")
}

/// Verifies the enveloped signature of `element` with one of the trusted
/// certificates. Only the element itself (its ID) may be referenced.
///
/// # Errors
/// When the signature is missing, malformed, uses anything but the allowed
/// algorithms, or does not verify.
pub fn verify(element: Node<'_, '_>, src: &str, trusted: &[X509]) -> Result<(), Error> {
    let bad = |m: &str| Error::Signature(m.to_owned());
    let sigs: Vec<_> = children(element, ns::DS, "Signature").collect();
    let [sig] = sigs.as_slice() else { return Err(bad("expected exactly one signature on the element")) };
    let id = element.attribute("ID").ok_or_else(|| bad("signed element has no ID"))?;
    let signed_info = child(*sig, ns::DS, "SignedInfo").ok_or_else(|| bad("no SignedInfo"))?;
    let c14n_method =
        child(signed_info, ns::DS, "CanonicalizationMethod").ok_or_else(|| bad("no CanonicalizationMethod"))?;
    if c14n_method.attribute("Algorithm") != Some(EXC_C14N) {
        return Err(bad("canonicalisation must be exclusive c14n without comments"));
    }
    let method = child(signed_info, ns::DS, "SignatureMethod")
        .and_then(|m| m.attribute("Algorithm"))
        .ok_or_else(|| bad("no SignatureMethod"))?;
    let alg = match method {
        ALG_RSA_SHA256 => SigAlg::RsaSha256,
        ALG_RSA_PSS_SHA256 => SigAlg::RsaPssSha256,
        other => return Err(Error::Signature(format!("signature algorithm {other} not accepted"))),
    };
    let refs: Vec<_> = children(signed_info, ns::DS, "Reference").collect();
    let [reference] = refs.as_slice() else { return Err(bad("expected exactly one Reference")) };
    if reference.attribute("URI") != Some(&format!("#{id}")) {
        return Err(bad("the signature does not cover this element"));
    }
    let transforms: Vec<_> =
        child(*reference, ns::DS, "Transforms").map(|t| children(t, ns::DS, "Transform").collect()).unwrap_or_default();
    let algs: Vec<_> = transforms.iter().map(|t| t.attribute("Algorithm").unwrap_or_default()).collect();
    if algs != [ENVELOPED, EXC_C14N] {
        return Err(bad("transforms must be enveloped-signature followed by exclusive c14n"));
    }
    let digest_method = child(*reference, ns::DS, "DigestMethod").and_then(|d| d.attribute("Algorithm"));
    if digest_method != Some(SHA256) {
        return Err(bad("digest must be SHA-256"));
    }
    let digest_value =
        child(*reference, ns::DS, "DigestValue").and_then(|d| d.text()).ok_or_else(|| bad("no DigestValue"))?;
    // The key check comes first: the (small) SignedInfo is verified before the
    // referenced element — possibly large, attacker-made — is canonicalised at all.
    let mut verified = false;
    let signed_info_c14n = canonicalize(signed_info, None, &prefix_list(c14n_method), src).map_err(|e| bad(&e.0))?;
    let value = child(*sig, ns::DS, "SignatureValue").and_then(|v| v.text()).ok_or_else(|| bad("no SignatureValue"))?;
    let value = b64(value)?;
    for cert in trusted {
        let key = cert.public_key().map_err(|e| Error::Config(e.to_string()))?;
        let mut v = Verifier::new(MessageDigest::sha256(), &key).map_err(|e| Error::Config(e.to_string()))?;
        if alg == SigAlg::RsaPssSha256 {
            v.set_rsa_padding(Padding::PKCS1_PSS).map_err(|e| Error::Config(e.to_string()))?;
            v.set_rsa_mgf1_md(MessageDigest::sha256()).map_err(|e| Error::Config(e.to_string()))?;
            v.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH).map_err(|e| Error::Config(e.to_string()))?;
        } else {
            v.set_rsa_padding(Padding::PKCS1).map_err(|e| Error::Config(e.to_string()))?;
        }
        v.update(&signed_info_c14n).map_err(|e| Error::Config(e.to_string()))?;
        if v.verify(&value).unwrap_or(false) {
            verified = true;
            break;
        }
    }
    if !verified {
        return Err(bad("the signature does not verify with the identity provider's certificate"));
    }
    let canonical = canonicalize(element, Some(*sig), &prefix_list(transforms[1]), src).map_err(|e| bad(&e.0))?;
    let digest = openssl::sha::sha256(&canonical);
    let expected = b64(digest_value)?;
    if expected.len() != digest.len() || !openssl::memcmp::eq(&digest, &expected) {
        return Err(bad("digest does not match: the signed content was changed"));
    }
    Ok(())
}

/// Signs the XML document `xml` (whose root element has attribute `ID="id"`):
/// returns the document with an enveloped signature inserted right after the
/// root's first child element (the `saml:Issuer`), as SAML's schema wants it.
///
/// # Errors
/// When the document cannot be parsed or signing fails.
pub fn sign_enveloped(xml: &str, id: &str, key: &PKey<Private>, cert: &X509, alg: SigAlg) -> Result<String, Error> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| Error::Invalid(e.to_string()))?;
    let root = doc.root_element();
    let canonical = canonicalize(root, None, &[], xml).map_err(|e| Error::Invalid(e.0))?;
    let engine = &base64::engine::general_purpose::STANDARD;
    let digest = engine.encode(openssl::sha::sha256(&canonical));
    let signed_info = format!(
        r##"<ds:SignedInfo><ds:CanonicalizationMethod Algorithm="{EXC_C14N}"/><ds:SignatureMethod Algorithm="{}"/><ds:Reference URI="#{id}"><ds:Transforms><ds:Transform Algorithm="{ENVELOPED}"/><ds:Transform Algorithm="{EXC_C14N}"/></ds:Transforms><ds:DigestMethod Algorithm="{SHA256}"/><ds:DigestValue>{digest}</ds:DigestValue></ds:Reference></ds:SignedInfo>"##,
        alg.uri()
    );
    let wrapped = format!(r#"<ds:Signature xmlns:ds="{}">{signed_info}</ds:Signature>"#, ns::DS);
    let si_doc = roxmltree::Document::parse(&wrapped).map_err(|e| Error::Invalid(e.to_string()))?;
    let si_node = si_doc.root_element().first_element_child().ok_or_else(|| Error::Invalid("no SignedInfo".into()))?;
    let si_c14n = canonicalize(si_node, None, &[], &wrapped).map_err(|e| Error::Invalid(e.0))?;
    let mut signer = Signer::new(MessageDigest::sha256(), key).map_err(|e| Error::Config(e.to_string()))?;
    if alg == SigAlg::RsaPssSha256 {
        signer.set_rsa_padding(Padding::PKCS1_PSS).map_err(|e| Error::Config(e.to_string()))?;
        signer.set_rsa_mgf1_md(MessageDigest::sha256()).map_err(|e| Error::Config(e.to_string()))?;
        signer.set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH).map_err(|e| Error::Config(e.to_string()))?;
    }
    signer.update(&si_c14n).map_err(|e| Error::Config(e.to_string()))?;
    let value = engine.encode(signer.sign_to_vec().map_err(|e| Error::Config(e.to_string()))?);
    let cert_b64 = engine.encode(cert.to_der().map_err(|e| Error::Config(e.to_string()))?);
    let signature = format!(
        r#"<ds:Signature xmlns:ds="{}">{signed_info}<ds:SignatureValue>{value}</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert_b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature>"#,
        ns::DS
    );
    let issuer = root.first_element_child().ok_or_else(|| Error::Invalid("no Issuer to sign after".into()))?;
    let at = issuer.range().end;
    Ok(format!("{}{signature}{}", &xml[..at], &xml[at..]))
}
