//! Decryption of `saml:EncryptedAssertion`: the content key is RSA-OAEP-wrapped for
//! our encryption key, the assertion AES-GCM encrypted (what Shibboleth, and so
//! BundID, sends). CBC and RSA PKCS#1 v1.5 key transport are refused: both are
//! padding-oracle prone.

use crate::{Error, ns};
use base64::Engine;
use openssl::encrypt::Decrypter;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Padding;
use openssl::symm::{Cipher, decrypt_aead};
use roxmltree::Node;

const XENC11: &str = "http://www.w3.org/2009/xmlenc11#";

fn el<'a, 'i>(n: Node<'a, 'i>, uri: &str, name: &str) -> Option<Node<'a, 'i>> {
    n.children().find(|c| c.has_tag_name((uri, name)))
}

fn b64(s: &str) -> Result<Vec<u8>, Error> {
    let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(clean)
        .map_err(|_| Error::Invalid("bad base64 in encrypted data".into()))
}

fn digest_of(uri: Option<&str>) -> Result<MessageDigest, Error> {
    match uri {
        None | Some("http://www.w3.org/2000/09/xmldsig#sha1") => Ok(MessageDigest::sha1()),
        Some("http://www.w3.org/2001/04/xmlenc#sha256") => Ok(MessageDigest::sha256()),
        Some(other) => Err(Error::Refused(format!("digest {other} for key transport not accepted"))),
    }
}

fn unwrap_key(encrypted_key: Node<'_, '_>, key: &PKey<Private>) -> Result<Vec<u8>, Error> {
    let method = el(encrypted_key, ns::XENC, "EncryptionMethod")
        .ok_or_else(|| Error::Invalid("no key EncryptionMethod".into()))?;
    let alg = method.attribute("Algorithm").unwrap_or_default();
    let oaep_md = digest_of(el(method, ns::DS, "DigestMethod").and_then(|d| d.attribute("Algorithm")))?;
    let mgf_md = match alg {
        "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p" => MessageDigest::sha1(),
        "http://www.w3.org/2009/xmlenc11#rsa-oaep" => {
            match el(method, XENC11, "MGF").and_then(|m| m.attribute("Algorithm")) {
                None | Some("http://www.w3.org/2009/xmlenc11#mgf1sha1") => MessageDigest::sha1(),
                Some("http://www.w3.org/2009/xmlenc11#mgf1sha256") => MessageDigest::sha256(),
                Some(other) => return Err(Error::Refused(format!("MGF {other} not accepted"))),
            }
        }
        other => return Err(Error::Refused(format!("key transport {other} not accepted"))),
    };
    let cipher = el(encrypted_key, ns::XENC, "CipherData")
        .and_then(|c| el(c, ns::XENC, "CipherValue"))
        .and_then(|v| v.text())
        .ok_or_else(|| Error::Invalid("no wrapped key".into()))?;
    let wrapped = b64(cipher)?;
    let cfg = |e: openssl::error::ErrorStack| Error::Config(e.to_string());
    let mut d = Decrypter::new(key).map_err(cfg)?;
    d.set_rsa_padding(Padding::PKCS1_OAEP).map_err(cfg)?;
    d.set_rsa_oaep_md(oaep_md).map_err(cfg)?;
    d.set_rsa_mgf1_md(mgf_md).map_err(cfg)?;
    let mut out = vec![0; d.decrypt_len(&wrapped).map_err(cfg)?];
    let n =
        d.decrypt(&wrapped, &mut out).map_err(|_| Error::Refused("the assertion is not encrypted for us".into()))?;
    out.truncate(n);
    Ok(out)
}

/// Decrypts an `EncryptedAssertion` and returns the assertion's XML text.
///
/// # Errors
/// Unsupported algorithms, a key not for us, or tampered ciphertext.
pub(crate) fn decrypt_assertion(encrypted: Node<'_, '_>, key: &PKey<Private>) -> Result<String, Error> {
    let data = el(encrypted, ns::XENC, "EncryptedData").ok_or_else(|| Error::Invalid("no EncryptedData".into()))?;
    let alg = el(data, ns::XENC, "EncryptionMethod").and_then(|m| m.attribute("Algorithm")).unwrap_or_default();
    let encrypted_key = el(data, ns::DS, "KeyInfo")
        .and_then(|k| el(k, ns::XENC, "EncryptedKey"))
        .or_else(|| el(encrypted, ns::XENC, "EncryptedKey"))
        .ok_or_else(|| Error::Invalid("no EncryptedKey".into()))?;
    let content_key = unwrap_key(encrypted_key, key)?;
    let cipher = match (alg, content_key.len()) {
        ("http://www.w3.org/2009/xmlenc11#aes128-gcm", 16) => Cipher::aes_128_gcm(),
        ("http://www.w3.org/2009/xmlenc11#aes256-gcm", 32) => Cipher::aes_256_gcm(),
        (other, _) => return Err(Error::Refused(format!("content encryption {other} not accepted"))),
    };
    let value = el(data, ns::XENC, "CipherData")
        .and_then(|c| el(c, ns::XENC, "CipherValue"))
        .and_then(|v| v.text())
        .ok_or_else(|| Error::Invalid("no ciphertext".into()))?;
    let bytes = b64(value)?;
    if bytes.len() < 12 + 16 {
        return Err(Error::Invalid("ciphertext too short".into()));
    }
    let (iv, rest) = bytes.split_at(12);
    let (ct, tag) = rest.split_at(rest.len() - 16);
    let plain = decrypt_aead(cipher, &content_key, Some(iv), &[], ct, tag)
        .map_err(|_| Error::Refused("the encrypted assertion was changed".into()))?;
    String::from_utf8(plain).map_err(|_| Error::Invalid("decrypted assertion is not UTF-8".into()))
}
