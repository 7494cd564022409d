//! Fuzz harness of the SAML response validation (anyone can POST to the ACS):
//! garbage, mutated signed responses, mutations that are signed afterwards (so the
//! checks behind the signature are reached), mutated encrypted assertions, deep
//! nesting, huge attributes and entity declarations. Validation never panics, a
//! mutated response is either refused or yields exactly what the IdP signed, and
//! the work grows linearly with the message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../../fuzz/harness.rs"]
mod harness;

use amtsweg_saml::{Error, Expected, IdpMetadata, SigAlg, SpKeys, Validated, dsig, validate_response};
use base64::Engine;
use harness::Dict;
use openssl::asn1::Asn1Time;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::{Padding, Rsa};
use openssl::x509::{X509, X509NameBuilder};
use proptest::prelude::*;
use std::sync::LazyLock;

/// What the seeds in `fuzz/corpus/saml/` are addressed to and when they are valid.
const ACS: &str = "https://portal.example/konto/saml/acs";
const SP_ID: &str = "https://portal.example/konto/saml/metadata";
const IDP_ID: &str = "https://idp.example/idp";
/// 2026-11-23T10:00:00Z
const NOW: i64 = 1_795_428_000_000;
const SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";

const DICT: Dict = Dict {
    tokens: &[
        "<",
        ">",
        "</",
        "/>",
        "\"",
        "&amp;",
        "&#xD;",
        "<!-- x -->",
        "<?x y?>",
        "<![CDATA[<saml:Assertion>]]>",
        r#"<!DOCTYPE r [<!ENTITY a "aaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>"#,
        "&b;",
        r#"<!DOCTYPE r SYSTEM "file:///etc/passwd">"#,
        r#" ID="_a1""#,
        r#" ID="_r1""#,
        r#" xmlns:saml="urn:other""#,
        r#" xmlns="""#,
        r#" xmlns:ds="http://www.w3.org/2000/09/xmldsig#""#,
        "<saml:Assertion ID=\"_evil\">",
        "</saml:Assertion>",
        "<saml:EncryptedAssertion/>",
        "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo/></ds:Signature>",
        "<saml:AttributeValue>x</saml:AttributeValue>",
        "<saml:AuthnContextClassRef>STORK-QAA-Level-4</saml:AuthnContextClassRef>",
        "9999-12-31T23:59:59Z",
        "-262144-01-01T00:00:00Z",
        "STORK-QAA-Level-4",
        "\u{feff}",
        "\u{0}",
        "ä",
    ],
    pairs: &[
        ("<a>", "</a>"),
        ("<saml:Assertion>", "</saml:Assertion>"),
        ("<saml:AttributeValue>", "</saml:AttributeValue>"),
        (
            "<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\">",
            "</xenc:EncryptedData></saml:EncryptedAssertion>",
        ),
    ],
};

struct World {
    sp: SpKeys,
    idp: IdpMetadata,
    idp_key: PKey<Private>,
    idp_cert: X509,
}

fn keypair(cn: &str) -> (PKey<Private>, X509) {
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap()).unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    (key, b.build())
}

static WORLD: LazyLock<World> = LazyLock::new(|| {
    let (sp_key, sp_cert) = keypair("sp");
    let (idp_key, idp_cert) = keypair("idp");
    let sp = SpKeys::from_pem(
        SP_ID,
        ACS,
        (&sp_key.private_key_to_pem_pkcs8().unwrap(), &sp_cert.to_pem().unwrap()),
        None,
        SigAlg::RsaSha256,
    )
    .unwrap();
    let idp = IdpMetadata { entity_id: IDP_ID.into(), sso_url: format!("{IDP_ID}/sso"), certs: vec![idp_cert.clone()] };
    World { sp, idp, idp_key, idp_cert }
});

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn check_raw(saml_response: &str) -> Result<Validated, Error> {
    let w = &*WORLD;
    validate_response(saml_response, &Expected { sp: &w.sp, idp: &w.idp, now_ms: NOW })
}

fn check(xml: &str) -> Result<Validated, Error> {
    check_raw(&b64(xml.as_bytes()))
}

/// The `saml:Assertion` element of `xml` as a byte range, if there is one.
fn assertion_range(xml: &str) -> Option<(usize, usize)> {
    let start = xml.find("<saml:Assertion")?;
    let end = xml[start..].find("</saml:Assertion>")? + start + "</saml:Assertion>".len();
    Some((start, end))
}

/// The assertion signed by the IdP on its own, declaring the `saml` prefix itself.
fn signed_assertion(xml: &str) -> Option<String> {
    let (start, end) = assertion_range(xml)?;
    let fragment = &xml[start..end];
    let open_tag = &fragment[..fragment.find('>')?];
    let declare = !open_tag.contains("xmlns:saml=");
    let standalone = if declare {
        fragment.replacen("<saml:Assertion", &format!("<saml:Assertion xmlns:saml=\"{SAML}\""), 1)
    } else {
        fragment.to_owned()
    };
    let doc = roxmltree::Document::parse(&standalone).ok()?;
    let id = doc.root_element().attribute("ID")?.to_owned();
    let w = &*WORLD;
    dsig::sign_enveloped(&standalone, &id, &w.idp_key, &w.idp_cert, SigAlg::RsaSha256).ok()
}

/// `xml` with its assertion signed in place (exclusive c14n: the digest is the same
/// with or without the outer declarations). `None` when it cannot be signed.
fn sign(xml: &str) -> Option<String> {
    let (start, end) = assertion_range(xml)?;
    let fragment = &xml[start..end];
    let declared = fragment[..fragment.find('>')?].contains("xmlns:saml=");
    let signed = signed_assertion(xml)?;
    let signed = if declared { signed } else { signed.replacen(&format!(" xmlns:saml=\"{SAML}\""), "", 1) };
    Some(format!("{}{signed}{}", &xml[..start], &xml[end..]))
}

/// `xml` with its (signed) assertion encrypted for the SP: RSA-OAEP key transport,
/// AES-128-GCM content, as BundID sends it.
fn encrypt(xml: &str) -> Option<String> {
    let (start, end) = assertion_range(xml)?;
    let plain = signed_assertion(xml)?;
    let w = &*WORLD;
    let key: [u8; 16] = rand::random();
    let iv: [u8; 12] = rand::random();
    let mut tag = [0u8; 16];
    let ct = openssl::symm::encrypt_aead(
        openssl::symm::Cipher::aes_128_gcm(),
        &key,
        Some(&iv),
        &[],
        plain.as_bytes(),
        &mut tag,
    )
    .unwrap();
    let mut enc = openssl::encrypt::Encrypter::new(&w.sp.encryption_key).unwrap();
    enc.set_rsa_padding(Padding::PKCS1_OAEP).unwrap();
    let mut wrapped = vec![0; enc.encrypt_len(&key).unwrap()];
    let n = enc.encrypt(&key, &mut wrapped).unwrap();
    wrapped.truncate(n);
    let data = [&iv[..], &ct, &tag].concat();
    let encrypted = format!(
        r#"<saml:EncryptedAssertion xmlns:saml="{SAML}"><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Type="http://www.w3.org/2001/04/xmlenc#Element"><xenc:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes128-gcm"/><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/><xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml:EncryptedAssertion>"#,
        b64(&wrapped),
        b64(&data)
    );
    Some(format!("{}{encrypted}{}", &xml[..start], &xml[end..]))
}

/// What a validated response tells the portal about the citizen.
fn told(v: &Validated) -> (String, amtsweg_domain::TrustLevel, Vec<amtsweg_saml::Attribute>) {
    (v.name_id.clone(), v.trust, v.attributes.clone())
}

fn seeds() -> Vec<Vec<u8>> {
    harness::corpus("saml")
}

/// Accepted values stay within the message (nothing is expanded).
fn assert_bounded(input_len: usize, r: &Result<Validated, Error>) {
    match r {
        Ok(v) => {
            let size: usize =
                v.name_id.len() + v.attributes.iter().map(|a| a.name.len() + a.value.len()).sum::<usize>();
            assert!(size <= input_len, "{size} bytes of values from a {input_len}-byte message");
        }
        Err(e) => assert!(e.to_string().len() <= input_len + 1024, "error of {} bytes", e.to_string().len()),
    }
}

fn mutations() -> impl Strategy<Value = (usize, Vec<harness::Mutation>)> {
    (0..seeds().len(), proptest::collection::vec(harness::mutation(false), 1..8))
}

fn mutate(seed: &[u8], ms: &[harness::Mutation]) -> String {
    let mut input = seed.to_vec();
    for m in ms {
        harness::apply(&mut input, m, DICT, &seeds());
    }
    String::from_utf8_lossy(&input).into_owned()
}

#[test]
fn the_seeds_validate_when_signed_plain_and_encrypted() {
    let seeds = harness::corpus_text("saml");
    let mut accepted = 0;
    for xml in &seeds {
        match sign(xml) {
            Some(signed) => {
                let v = check(&signed).unwrap_or_else(|e| panic!("signed seed refused: {e}"));
                let e = check(&encrypt(xml).unwrap()).unwrap_or_else(|e| panic!("encrypted seed refused: {e}"));
                assert_eq!(told(&v), told(&e));
                accepted += 1;
            }
            None => assert!(matches!(check(xml), Err(Error::IdpStatus { .. }))),
        }
    }
    assert!(accepted >= 2);
}

proptest! {
    #![proptest_config(harness::config(256))]

    /// Anything at all in the form field: refused, never a panic.
    #[test]
    fn garbage_is_refused(bytes in proptest::collection::vec(any::<u8>(), 0..2048), as_base64 in any::<bool>()) {
        let raw = if as_base64 { b64(&bytes) } else { String::from_utf8_lossy(&bytes).into_owned() };
        prop_assert!(check_raw(&raw).is_err());
    }

    /// A signed response changed afterwards: refused, or (when the change is outside
    /// what was signed and harmless) it tells exactly what the IdP signed.
    #[test]
    fn mutated_signed_responses_tell_only_what_was_signed((seed, ms) in mutations()) {
        let original = String::from_utf8(seeds()[seed].clone()).unwrap();
        let Some(signed) = sign(&original) else { return Ok(()) };
        let truth = told(&check(&signed).unwrap());
        let mutated = mutate(signed.as_bytes(), &ms);
        let r = check(&mutated);
        assert_bounded(mutated.len(), &r);
        if let Ok(v) = r {
            prop_assert_eq!(told(&v), truth, "a changed response told something else:\n{}", mutated);
        }
    }

    /// Mutations signed afterwards reach the checks behind the signature.
    #[test]
    fn mutated_then_signed_responses_never_panic((seed, ms) in mutations(), encrypted in any::<bool>()) {
        let mutated = mutate(&seeds()[seed], &ms);
        let message = if encrypted { encrypt(&mutated) } else { sign(&mutated) }.unwrap_or(mutated);
        let r = check(&message);
        assert_bounded(message.len(), &r);
    }
}

proptest! {
    #![proptest_config(harness::config(32))]

    /// Large repetitions and deep nesting, signed afterwards.
    #[test]
    fn heavily_mutated_responses_never_panic(xml in harness::mutated_text(seeds(), DICT, 3, true)) {
        let message = sign(&xml).unwrap_or(xml);
        let r = check(&message);
        assert_bounded(message.len(), &r);
    }
}

#[test]
fn entity_declarations_huge_values_and_deep_nesting_are_refused() {
    let seed = harness::corpus_text("saml").into_iter().find(|s| s.contains("_a1")).unwrap();
    // Entity expansion ("billion laughs") and external entities: no DTD at all.
    let bomb = format!(
        "<!DOCTYPE r [<!ENTITY a \"{}\"><!ENTITY b \"{}\">]>{}",
        "a".repeat(100),
        "&a;".repeat(100),
        seed.replace("Erika", "&b;")
    );
    assert!(check(&sign(&bomb).unwrap_or(bomb)).is_err());
    // A value of 400 KB, signed: taken as it is, not copied over and over.
    let huge = sign(&seed.replace("Erika", &"E".repeat(400_000))).unwrap();
    let v = check(&huge).unwrap();
    assert_eq!(v.attribute("urn:oid:2.5.4.42").unwrap().value.len(), 400_000);
    // Deep nesting inside a signed assertion.
    let deep = sign(&seed.replace("Erika", &format!("{}x{}", "<a>".repeat(20_000), "</a>".repeat(20_000))));
    let deep =
        deep.unwrap_or_else(|| seed.replace("Erika", &format!("{}x{}", "<a>".repeat(20_000), "</a>".repeat(20_000))));
    assert!(check(&deep).unwrap_err().to_string().contains("nested too deeply"));
}

#[test]
fn validation_time_grows_linearly() {
    let seed = harness::corpus_text("saml").into_iter().find(|s| s.contains("_a1")).unwrap();
    // Many attributes in a signed assertion: the accepted path, end to end.
    let attributes = |n: usize| {
        let one = r#"<saml:Attribute Name="urn:oid:2.5.4.42" akdb:TrustLevel="STORK-QAA-Level-3"><saml:AttributeValue xsi:type="xs:string">Erika</saml:AttributeValue></saml:Attribute>"#;
        let at = seed.find("</saml:AttributeStatement>").unwrap();
        sign(&format!("{}{}{}", &seed[..at], one.repeat(n), &seed[at..])).unwrap()
    };
    harness::assert_linear_with("saml: attributes", 8, 2, attributes, |xml| {
        check(xml).unwrap();
    });
    // A forged signature whose SignedInfo declares and uses many namespaces and holds
    // many elements: canonicalised before the key check, so anyone can send it.
    let forged = |n: usize| {
        let decls: String = (0..n).map(|i| format!(r#" xmlns:p{i}="urn:p{i}" p{i}:a="1""#)).collect();
        let junk = "<ds:X/>".repeat(n);
        format!(
            r##"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="{SAML}" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" ID="_r" InResponseTo="_q" Destination="{ACS}"><saml:Issuer>{IDP_ID}</saml:Issuer><ds:Signature><ds:SignedInfo{decls}><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#_r"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference>{junk}</ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Assertion ID="_a"/></samlp:Response>"##
        )
    };
    harness::assert_linear_with("saml: forged SignedInfo", 8, 2, forged, |xml| {
        let e = check(xml).unwrap_err().to_string();
        assert!(e.contains("does not verify") || e.contains("too many namespace declarations"), "{e}");
    });
    // Nested elements that each declare one more namespace.
    let nested = |n: usize| {
        let open: String = (0..n).map(|i| format!(r#"<samlp:X xmlns:p{i}="urn:p{i}">"#)).collect();
        let at = seed.find("<saml:Issuer>").unwrap();
        format!("{}<samlp:Extensions>{open}{}</samlp:Extensions>{}", &seed[..at], "</samlp:X>".repeat(n), &seed[at..])
    };
    harness::assert_linear_with("saml: nested declarations", 8, 2, nested, |xml| {
        assert!(check(xml).is_err());
    });
    // Many namespace declarations in scope of many elements, unsigned.
    let scoped = |n: usize| {
        let decls: String = (0..n).map(|i| format!(r#" xmlns:p{i}="urn:p{i}""#)).collect();
        let junk = "<samlp:X/>".repeat(n);
        let at = seed.find("<saml:Issuer>").unwrap();
        let open = seed[..at].replacen("<samlp:Response ", &format!("<samlp:Response{decls} "), 1);
        format!("{open}<samlp:Extensions>{junk}</samlp:Extensions>{}", &seed[at..])
    };
    harness::assert_linear_with("saml: namespaces in scope", 8, 2, scoped, |xml| {
        let e = check(xml).unwrap_err().to_string();
        assert!(
            e.contains("neither the response nor the assertion is signed") || e.contains("too many namespace"),
            "{e}"
        );
    });
}
