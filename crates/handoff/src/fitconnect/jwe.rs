//! The destination's key and the encryption for it: a public JWK checked against
//! FIT-Connect's rules, and JWE compact (`RSA-OAEP-256` + `A256GCM`, `zip: DEF`).

use super::{FitConnectError, MIN_KEY_BITS, crypto};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::bn::BigNum;
use openssl::md::Md;
use openssl::pkey::{PKey, Public};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::{Padding, Rsa};
use openssl::symm::Cipher;
use serde_json::{Value, json};
use std::fmt;
use std::io::Write;

/// A destination's public encryption key, checked against FIT-Connect's rules.
#[derive(Clone)]
pub struct PublicJwk {
    kid: String,
    pub(super) key: PKey<Public>,
}

impl fmt::Debug for PublicJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicJwk").field("kid", &self.kid).field("bits", &self.bits()).finish()
    }
}

impl PublicJwk {
    /// Parses a JWK from its JSON text.
    ///
    /// # Errors
    /// [`FitConnectError::Key`] when the text is no JWK or the key breaks a rule.
    pub fn from_json(text: &str) -> Result<Self, FitConnectError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| FitConnectError::Key(format!("the key is not valid JSON: {e}")))?;
        Self::from_value(&value)
    }

    /// Parses a JWK object; a JSON string holding the JWK is accepted too, because
    /// keys are often pasted into a configuration form as text.
    ///
    /// # Errors
    /// [`FitConnectError::Key`] when the key is not an RSA-OAEP-256 encryption key
    /// of at least 4096 bit with exponent 65537, or carries private key material.
    pub fn from_value(value: &Value) -> Result<Self, FitConnectError> {
        if let Value::String(text) = value {
            return Self::from_json(text);
        }
        let err = |m: String| FitConnectError::Key(m);
        let obj = value.as_object().ok_or_else(|| err("the key must be a JSON object (a JWK)".into()))?;
        let text = |name: &str| obj.get(name).and_then(Value::as_str);

        match text("kty") {
            Some("RSA") => {}
            Some(other) => return Err(err(format!("key type (kty) is \"{other}\", FIT-Connect requires \"RSA\""))),
            None => return Err(err("the key has no key type (kty); FIT-Connect requires \"RSA\"".into())),
        }
        match text("alg") {
            Some("RSA-OAEP-256") => {}
            Some(other) => {
                return Err(err(format!(
                    "key algorithm (alg) is \"{other}\", FIT-Connect encryption keys use \"RSA-OAEP-256\" \
                     (is this the signature key?)"
                )));
            }
            None => return Err(err("the key has no algorithm (alg); expected \"RSA-OAEP-256\"".into())),
        }
        if let Some(ops) = obj.get("key_ops") {
            let wraps = ops.as_array().is_some_and(|ops| ops.iter().any(|o| o.as_str() == Some("wrapKey")));
            if !wraps {
                return Err(err("the key's key_ops do not include \"wrapKey\"; it is not an encryption key".into()));
            }
        }
        if let Some(usage) = text("use")
            && usage != "enc"
        {
            return Err(err(format!("the key's use is \"{usage}\", an encryption key has \"enc\"")));
        }
        // A private key in a sender's configuration means the destination's secret
        // has left the authority: refuse rather than quietly use its public half.
        if ["d", "p", "q", "dp", "dq", "qi"].iter().any(|k| obj.contains_key(*k)) {
            return Err(err("the key contains private key material; configure the public key only".into()));
        }
        let kid =
            text("kid").filter(|k| !k.trim().is_empty()).ok_or_else(|| err("the key has no key id (kid)".into()))?;
        match text("e") {
            Some("AQAB") => {}
            Some(other) => {
                return Err(err(format!("the key's exponent (e) is \"{other}\", FIT-Connect requires \"AQAB\"")));
            }
            None => return Err(err("the key has no exponent (e)".into())),
        }
        let n = text("n").ok_or_else(|| err("the key has no modulus (n)".into()))?;
        let n = URL_SAFE_NO_PAD
            .decode(n.trim_end_matches('='))
            .map_err(|e| err(format!("the key's modulus (n) is not base64url: {e}")))?;
        let n = BigNum::from_slice(&n).map_err(crypto)?;
        let bits = u32::try_from(n.num_bits()).unwrap_or(0);
        if bits < MIN_KEY_BITS {
            return Err(err(format!("the key has {bits} bit, FIT-Connect requires at least {MIN_KEY_BITS}")));
        }
        let e = BigNum::from_u32(65_537).map_err(crypto)?;
        let rsa = Rsa::from_public_components(n, e).map_err(crypto)?;
        let key = PKey::from_rsa(rsa).map_err(crypto)?;
        Ok(Self { kid: kid.to_owned(), key })
    }

    /// The key id, written into every JWE header so the receiver picks the right key.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The modulus size in bit.
    #[must_use]
    pub fn bits(&self) -> u32 {
        self.key.bits()
    }
}

/// Encrypts `plaintext` as JWE compact serialisation (RFC 7516): a fresh AES-256-GCM
/// content key wrapped with RSA-OAEP-256, the plaintext raw-DEFLATE-compressed first
/// (`zip: DEF`). `content_type` becomes the `cty` header.
///
/// # Errors
/// [`FitConnectError::Crypto`] when OpenSSL fails.
pub fn encrypt_jwe(key: &PublicJwk, plaintext: &[u8], content_type: Option<&str>) -> Result<String, FitConnectError> {
    let mut header = json!({"alg": "RSA-OAEP-256", "enc": "A256GCM", "zip": "DEF", "kid": key.kid});
    if let (Some(cty), Some(obj)) = (content_type, header.as_object_mut()) {
        obj.insert("cty".into(), Value::String(cty.to_owned()));
    }
    let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).map_err(crypto)?);

    let mut cek = [0u8; 32];
    openssl::rand::rand_bytes(&mut cek).map_err(crypto)?;
    let mut iv = [0u8; 12];
    openssl::rand::rand_bytes(&mut iv).map_err(crypto)?;

    let mut ctx = PkeyCtx::new(&key.key).map_err(crypto)?;
    ctx.encrypt_init().map_err(crypto)?;
    ctx.set_rsa_padding(Padding::PKCS1_OAEP).map_err(crypto)?;
    ctx.set_rsa_oaep_md(Md::sha256()).map_err(crypto)?;
    ctx.set_rsa_mgf1_md(Md::sha256()).map_err(crypto)?;
    let mut wrapped = Vec::new();
    ctx.encrypt_to_vec(&cek, &mut wrapped).map_err(crypto)?;

    let mut deflate = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    deflate.write_all(plaintext).map_err(crypto)?;
    let compressed = deflate.finish().map_err(crypto)?;

    // The AAD is the ASCII of the encoded protected header (RFC 7516 §5.1 step 14).
    let mut tag = [0u8; 16];
    let ciphertext =
        openssl::symm::encrypt_aead(Cipher::aes_256_gcm(), &cek, Some(&iv), header.as_bytes(), &compressed, &mut tag)
            .map_err(crypto)?;

    Ok(format!(
        "{header}.{}.{}.{}.{}",
        URL_SAFE_NO_PAD.encode(wrapped),
        URL_SAFE_NO_PAD.encode(iv),
        URL_SAFE_NO_PAD.encode(ciphertext),
        URL_SAFE_NO_PAD.encode(tag)
    ))
}
