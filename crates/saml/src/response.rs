//! Validating a SAML Response from the IdP. Order and rules follow the lessons of
//! signature-wrapping attacks: one parser and one tree; exactly one assertion, as a
//! direct child of the Response; unique IDs; data read only from the verified node;
//! no comments anywhere (comment-truncation); a signature from the configured
//! certificate on the Response or the Assertion (encrypt-then-sign: the Response
//! signature is checked before decrypting).

use crate::{Error, IdpMetadata, SpKeys, dsig, ns, trust_of_stork};
use amtsweg_domain::TrustLevel;
use base64::Engine;
use roxmltree::{Document, Node, NodeType, ParsingOptions};
use std::collections::HashSet;

/// Allowed clock difference between IdP and us.
const SKEW_MS: i64 = 180_000;
/// Largest response accepted (bytes of XML).
const MAX_XML: usize = 512 * 1024;
/// Most namespace declarations in a message, and in scope of one element. A SAML
/// response needs a few dozen; thousands made the parser and the canonicalisation
/// (which look prefixes up among those in scope, before the signature is checked)
/// take quadratic time.
const MAX_XMLNS: usize = 512;
const MAX_IN_SCOPE: usize = 64;

/// What the caller knows about this sign-in.
pub struct Expected<'a> {
    pub sp: &'a SpKeys,
    pub idp: &'a IdpMetadata,
    pub now_ms: i64,
}

/// One attribute with its own trust level (`akdb:TrustLevel`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub value: String,
    pub trust: Option<TrustLevel>,
}

/// A response that passed every check.
#[derive(Debug, Clone)]
pub struct Validated {
    pub response_id: String,
    pub assertion_id: String,
    /// Our request ID it answers: the caller must find and use up that request.
    pub in_response_to: String,
    /// Until when the assertion may be used (for the replay cache).
    pub not_on_or_after_ms: i64,
    /// The authentication level (STORK-QAA) reached.
    pub trust: TrustLevel,
    pub name_id: String,
    pub attributes: Vec<Attribute>,
}

impl Validated {
    /// The value of an attribute, if delivered.
    #[must_use]
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name && !a.value.is_empty())
    }
}

fn el<'a, 'i>(n: Node<'a, 'i>, uri: &str, name: &str) -> Option<Node<'a, 'i>> {
    n.children().find(|c| c.has_tag_name((uri, name)))
}

fn refused(m: impl Into<String>) -> Error {
    Error::Refused(m.into())
}

/// Text content of a simple element: exactly text, nothing nested.
fn text_of(n: Node<'_, '_>) -> Result<String, Error> {
    let mut s = String::new();
    for c in n.children() {
        match c.node_type() {
            NodeType::Text => s.push_str(c.text().unwrap_or_default()),
            _ => return Err(refused("unexpected content inside a value")),
        }
    }
    Ok(s.trim().to_owned())
}

fn time_ms(v: &str) -> Result<i64, Error> {
    v.trim()
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|_| Error::Invalid(format!("bad time value {v}")))
}

fn parse(xml: &str) -> Result<Document<'_>, Error> {
    if xml.matches("xmlns").count() > MAX_XMLNS {
        return Err(refused("too many namespace declarations"));
    }
    let opt = ParsingOptions { allow_dtd: false, nodes_limit: 50_000, ..ParsingOptions::default() };
    let doc = Document::parse_with_options(xml, opt).map_err(|e| Error::Invalid(e.to_string()))?;
    // Comments and processing instructions have no place in a SAML message and are
    // the tool of comment-truncation attacks.
    if doc.descendants().any(|n| matches!(n.node_type(), NodeType::Comment | NodeType::PI)) {
        return Err(refused("comments or processing instructions in the message"));
    }
    if doc.descendants().any(|n| n.ancestors().nth(crate::c14n::MAX_DEPTH).is_some()) {
        return Err(refused("the message is nested too deeply"));
    }
    if doc.descendants().any(|n| n.namespaces().len() > MAX_IN_SCOPE) {
        return Err(refused("too many namespace declarations"));
    }
    let mut ids = HashSet::new();
    for n in doc.descendants().filter(Node::is_element) {
        if let Some(id) = n.attribute("ID")
            && !ids.insert(id)
        {
            return Err(refused("duplicate ID"));
        }
    }
    Ok(doc)
}

/// Validates a base64 `SAMLResponse` (HTTP-POST binding).
///
/// # Errors
/// `Error::IdpStatus` when the IdP reports a failure (e.g. the citizen cancelled);
/// any other error when the response must not be trusted.
pub fn validate_response(saml_response: &str, exp: &Expected<'_>) -> Result<Validated, Error> {
    let clean: String = saml_response.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(clean)
        .map_err(|_| Error::Invalid("SAMLResponse is not base64".into()))?;
    if bytes.len() > MAX_XML {
        return Err(refused("response too large"));
    }
    let xml = String::from_utf8(bytes).map_err(|_| Error::Invalid("response is not UTF-8".into()))?;
    let doc = parse(&xml)?;
    let response = doc.root_element();
    if !response.has_tag_name((ns::SAMLP, "Response")) {
        return Err(Error::Invalid("not a SAML Response".into()));
    }
    let issuer = el(response, ns::SAML, "Issuer").map(text_of).transpose()?;
    if issuer.as_deref().is_some_and(|i| i != exp.idp.entity_id) {
        return Err(refused("response from another identity provider"));
    }
    if response.attribute("Destination") != Some(exp.sp.acs_url.as_str()) {
        return Err(refused("response addressed to another service"));
    }
    let status = el(response, ns::SAMLP, "Status").and_then(|s| el(s, ns::SAMLP, "StatusCode"));
    let code = status.and_then(|s| s.attribute("Value")).unwrap_or_default();
    if code != "urn:oasis:names:tc:SAML:2.0:status:Success" {
        let sub =
            status.and_then(|s| el(s, ns::SAMLP, "StatusCode")).and_then(|s| s.attribute("Value")).map(str::to_owned);
        let message = el(response, ns::SAMLP, "Status")
            .and_then(|s| el(s, ns::SAMLP, "StatusMessage"))
            .and_then(|m| text_of(m).ok())
            .unwrap_or_default();
        return Err(Error::IdpStatus { code: code.to_owned(), sub, message });
    }
    // Exactly one assertion in the whole message, and it is the Response's child.
    let count = doc
        .descendants()
        .filter(|n| n.has_tag_name((ns::SAML, "Assertion")) || n.has_tag_name((ns::SAML, "EncryptedAssertion")))
        .count();
    if count != 1 {
        return Err(refused("the response must carry exactly one assertion"));
    }
    let response_signed = match dsig::signature_of(response) {
        Some(_) => {
            dsig::verify(response, &xml, &exp.idp.certs)?;
            true
        }
        None => false,
    };
    let response_id = response.attribute("ID").ok_or_else(|| Error::Invalid("response without ID".into()))?.to_owned();
    let in_response_to =
        response.attribute("InResponseTo").ok_or_else(|| refused("response answers no request"))?.to_owned();
    if let Some(plain) = el(response, ns::SAML, "Assertion") {
        return check_assertion(plain, &xml, response_signed, response_id, in_response_to, exp);
    }
    let encrypted = el(response, ns::SAML, "EncryptedAssertion").ok_or_else(|| refused("no assertion"))?;
    let plain = crate::decrypt::decrypt_assertion(encrypted, &exp.sp.encryption_key)?;
    // The decrypted text may use prefixes declared further up: re-parse it inside a
    // wrapper that declares the EncryptedAssertion's namespaces.
    let plain = plain.trim_start_matches(|c: char| c == '\u{feff}' || c.is_whitespace());
    let plain = if plain.starts_with("<?xml") { plain.split_once("?>").map_or("", |(_, r)| r) } else { plain };
    let decls: String = encrypted
        .namespaces()
        .map(|n| match n.name() {
            Some(p) => format!(r#" xmlns:{p}="{}""#, crate::esc(n.uri())),
            None => format!(r#" xmlns="{}""#, crate::esc(n.uri())),
        })
        .collect();
    let wrapped = format!("<amtsweg-decrypted{decls}>{plain}</amtsweg-decrypted>");
    let inner = parse(&wrapped)?;
    let elements: Vec<_> = inner.root_element().children().filter(Node::is_element).collect();
    let [assertion] = elements.as_slice() else { return Err(refused("the encrypted part must be one assertion")) };
    if !assertion.has_tag_name((ns::SAML, "Assertion")) {
        return Err(refused("the encrypted part is not an assertion"));
    }
    if inner.descendants().any(|n| n.has_tag_name((ns::SAML, "Assertion")) && n != *assertion) {
        return Err(refused("nested assertions"));
    }
    if let Some(id) = assertion.attribute("ID")
        && doc.descendants().any(|n| n.attribute("ID") == Some(id))
    {
        return Err(refused("duplicate ID"));
    }
    check_assertion(*assertion, &wrapped, response_signed, response_id, in_response_to, exp)
}

fn check_assertion(
    assertion: Node<'_, '_>,
    src: &str,
    response_signed: bool,
    response_id: String,
    in_response_to: String,
    exp: &Expected<'_>,
) -> Result<Validated, Error> {
    let assertion_signed = match dsig::signature_of(assertion) {
        Some(_) => {
            dsig::verify(assertion, src, &exp.idp.certs)?;
            true
        }
        None => false,
    };
    if !(response_signed || assertion_signed) {
        return Err(Error::Signature("neither the response nor the assertion is signed".into()));
    }
    let assertion_id =
        assertion.attribute("ID").ok_or_else(|| Error::Invalid("assertion without ID".into()))?.to_owned();
    let issuer = el(assertion, ns::SAML, "Issuer").map(text_of).transpose()?;
    if issuer.as_deref() != Some(exp.idp.entity_id.as_str()) {
        return Err(refused("assertion from another identity provider"));
    }
    let now = exp.now_ms;
    // Subject: bearer confirmation for our ACS, in time, for our request.
    let subject = el(assertion, ns::SAML, "Subject").ok_or_else(|| refused("assertion without subject"))?;
    let name_id = el(subject, ns::SAML, "NameID").map(text_of).transpose()?.unwrap_or_default();
    let mut not_on_or_after = None;
    for sc in subject.children().filter(|c| c.has_tag_name((ns::SAML, "SubjectConfirmation"))) {
        if sc.attribute("Method") != Some("urn:oasis:names:tc:SAML:2.0:cm:bearer") {
            continue;
        }
        let Some(data) = el(sc, ns::SAML, "SubjectConfirmationData") else { continue };
        if data.attribute("Recipient") != Some(exp.sp.acs_url.as_str()) {
            return Err(refused("assertion addressed to another service"));
        }
        if data.attribute("InResponseTo") != Some(in_response_to.as_str()) {
            return Err(refused("assertion answers another request"));
        }
        let until = time_ms(data.attribute("NotOnOrAfter").ok_or_else(|| refused("no NotOnOrAfter"))?)?;
        if now >= until + SKEW_MS {
            return Err(refused("the assertion has expired"));
        }
        not_on_or_after = Some(until);
    }
    let not_on_or_after_ms = not_on_or_after.ok_or_else(|| refused("no bearer subject confirmation"))?;
    // Conditions: times if given, and we must be the audience.
    let conditions = el(assertion, ns::SAML, "Conditions").ok_or_else(|| refused("assertion without conditions"))?;
    if let Some(nb) = conditions.attribute("NotBefore")
        && now + SKEW_MS < time_ms(nb)?
    {
        return Err(refused("the assertion is not valid yet"));
    }
    if let Some(na) = conditions.attribute("NotOnOrAfter")
        && now >= time_ms(na)? + SKEW_MS
    {
        return Err(refused("the assertion has expired"));
    }
    let audiences: Vec<String> = conditions
        .children()
        .filter(|c| c.has_tag_name((ns::SAML, "AudienceRestriction")))
        .flat_map(|r| r.children().filter(|c| c.has_tag_name((ns::SAML, "Audience"))).collect::<Vec<_>>())
        .map(text_of)
        .collect::<Result<_, _>>()?;
    if !audiences.contains(&exp.sp.entity_id) {
        return Err(refused("the assertion is meant for another service"));
    }
    // The level: the highest STORK-QAA class of the authentication statements
    // (BundID adds a second, non-STORK statement, which is ignored).
    let trust = assertion
        .children()
        .filter(|c| c.has_tag_name((ns::SAML, "AuthnStatement")))
        .filter_map(|s| el(s, ns::SAML, "AuthnContext").and_then(|c| el(c, ns::SAML, "AuthnContextClassRef")))
        .filter_map(|r| text_of(r).ok())
        .filter_map(|v| trust_of_stork(&v))
        .max()
        .ok_or_else(|| refused("no STORK-QAA level in the assertion"))?;
    let mut attributes = Vec::new();
    for statement in assertion.children().filter(|c| c.has_tag_name((ns::SAML, "AttributeStatement"))) {
        for a in statement.children().filter(|c| c.has_tag_name((ns::SAML, "Attribute"))) {
            let name = a.attribute("Name").unwrap_or_default().to_owned();
            let attr_trust = a.attribute((ns::AKDB, "TrustLevel")).and_then(trust_of_stork);
            let values: Vec<_> = a.children().filter(|c| c.has_tag_name((ns::SAML, "AttributeValue"))).collect();
            let value = match values.as_slice() {
                [] => String::new(),
                [v] => text_of(*v)?,
                _ => return Err(refused(format!("several values for {name}"))),
            };
            attributes.push(Attribute { name, value, trust: attr_trust });
        }
    }
    Ok(Validated { response_id, assertion_id, in_response_to, not_on_or_after_ms, trust, name_id, attributes })
}
