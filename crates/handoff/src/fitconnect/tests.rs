//! The connector's own checks: JWE against an independent decryption, key rules,
//! metadata hashes, stable ids, configuration and retry classification.

use super::client::{BODY_EXCERPT_CHARS, excerpt};
use super::metadata::{mime_type, rfc3339_utc};
use super::*;
use crate::package::sample;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openssl::md::Md;
use openssl::pkey::{PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::{Padding, Rsa};
use openssl::symm::Cipher;
use serde_json::{Value, json};
use std::io::Read;
use std::sync::OnceLock;

/// 4096-bit keys take a moment to generate: one per test run.
fn private_key() -> &'static Rsa<Private> {
    static KEY: OnceLock<Rsa<Private>> = OnceLock::new();
    KEY.get_or_init(|| Rsa::generate(4096).unwrap())
}

fn jwk_of(rsa: &Rsa<Private>) -> Value {
    json!({
        "kty": "RSA",
        "kid": "test-key-1",
        "alg": "RSA-OAEP-256",
        "key_ops": ["wrapKey"],
        "e": URL_SAFE_NO_PAD.encode(rsa.e().to_vec()),
        "n": URL_SAFE_NO_PAD.encode(rsa.n().to_vec()),
    })
}

fn b64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).unwrap()
}

/// Decrypts our own JWE independently of `encrypt_jwe`'s code path.
fn decrypt(jwe: &str, rsa: &Rsa<Private>) -> (Value, Vec<u8>) {
    let parts: Vec<&str> = jwe.split('.').collect();
    assert_eq!(parts.len(), 5);
    let header: Value = serde_json::from_slice(&b64(parts[0])).unwrap();
    let pkey = PKey::from_rsa(rsa.clone()).unwrap();
    let mut ctx = PkeyCtx::new(&pkey).unwrap();
    ctx.decrypt_init().unwrap();
    ctx.set_rsa_padding(Padding::PKCS1_OAEP).unwrap();
    ctx.set_rsa_oaep_md(Md::sha256()).unwrap();
    ctx.set_rsa_mgf1_md(Md::sha256()).unwrap();
    let mut cek = Vec::new();
    ctx.decrypt_to_vec(&b64(parts[1]), &mut cek).unwrap();
    let compressed = openssl::symm::decrypt_aead(
        Cipher::aes_256_gcm(),
        &cek,
        Some(&b64(parts[2])),
        parts[0].as_bytes(),
        &b64(parts[3]),
        &b64(parts[4]),
    )
    .unwrap();
    let mut plain = Vec::new();
    flate2::read::DeflateDecoder::new(&compressed[..]).read_to_end(&mut plain).unwrap();
    (header, plain)
}

#[test]
fn jwe_has_fit_connect_header_and_round_trips() {
    let rsa = private_key();
    let key = PublicJwk::from_value(&jwk_of(rsa)).unwrap();
    assert_eq!(key.bits(), 4096);
    let plain = "Osterfeuer auf der Festwiese – größer als erlaubt?".repeat(20);
    let jwe = encrypt_jwe(&key, plain.as_bytes(), Some("application/json")).unwrap();
    assert!(!jwe.contains('='), "base64url without padding");
    let (header, decrypted) = decrypt(&jwe, rsa);
    assert_eq!(
        header,
        json!({"alg": "RSA-OAEP-256", "enc": "A256GCM", "zip": "DEF", "kid": "test-key-1", "cty": "application/json"})
    );
    assert_eq!(decrypted, plain.as_bytes());
    // A fresh content key and IV every time.
    assert_ne!(jwe, encrypt_jwe(&key, plain.as_bytes(), Some("application/json")).unwrap());
    let bare = encrypt_jwe(&key, b"x", None).unwrap();
    assert!(decrypt(&bare, rsa).0.get("cty").is_none());
}

#[test]
fn tampered_header_fails_authentication() {
    let rsa = private_key();
    let key = PublicJwk::from_value(&jwk_of(rsa)).unwrap();
    let jwe = encrypt_jwe(&key, b"data", None).unwrap();
    let parts: Vec<&str> = jwe.split('.').collect();
    let other = URL_SAFE_NO_PAD.encode(br#"{"alg":"RSA-OAEP-256","enc":"A256GCM","zip":"DEF","kid":"evil"}"#);
    let pkey = PKey::from_rsa(rsa.clone()).unwrap();
    let mut ctx = PkeyCtx::new(&pkey).unwrap();
    ctx.decrypt_init().unwrap();
    ctx.set_rsa_padding(Padding::PKCS1_OAEP).unwrap();
    ctx.set_rsa_oaep_md(Md::sha256()).unwrap();
    ctx.set_rsa_mgf1_md(Md::sha256()).unwrap();
    let mut cek = Vec::new();
    ctx.decrypt_to_vec(&b64(parts[1]), &mut cek).unwrap();
    let result = openssl::symm::decrypt_aead(
        Cipher::aes_256_gcm(),
        &cek,
        Some(&b64(parts[2])),
        other.as_bytes(),
        &b64(parts[3]),
        &b64(parts[4]),
    );
    assert!(result.is_err(), "the protected header is the AAD");
}

fn key_error(jwk: &Value) -> String {
    PublicJwk::from_value(jwk).unwrap_err().to_string()
}

#[test]
fn keys_breaking_fit_connect_rules_are_rejected() {
    let small = Rsa::generate(2048).unwrap();
    assert!(key_error(&jwk_of(&small)).contains("2048 bit, FIT-Connect requires at least 4096"));

    let good = jwk_of(private_key());
    let with = |k: &str, v: Value| {
        let mut j = good.clone();
        j[k] = v;
        j
    };
    assert!(key_error(&with("e", json!("Aw"))).contains("exponent (e) is \"Aw\""));
    assert!(key_error(&with("alg", json!("PS512"))).contains("\"RSA-OAEP-256\""));
    assert!(key_error(&with("kty", json!("EC"))).contains("kty"));
    assert!(key_error(&with("key_ops", json!(["verify"]))).contains("wrapKey"));
    assert!(key_error(&with("d", json!("secret"))).contains("private key material"));
    assert!(key_error(&with("kid", json!(""))).contains("kid"));
    assert!(key_error(&json!("not json")).contains("not valid JSON"));
    // A key pasted as JSON text works like the object.
    let text = Value::String(good.to_string());
    assert_eq!(PublicJwk::from_value(&text).unwrap().kid(), "test-key-1");
}

#[test]
fn metadata_hashes_the_exact_bytes_and_names_the_service() {
    let p = sample::package();
    let atts = attachments(&p);
    let data = data_json(&p, &atts).unwrap();
    let meta = metadata(&p, &data, &atts);

    let cs = &meta["contentStructure"];
    assert_eq!(cs["data"]["hash"]["content"], sha512_hex(&data));
    assert_eq!(sha512_hex(b"").len(), 128);
    assert_eq!(cs["data"]["submissionSchema"]["mimeType"], "application/json");
    assert_eq!(cs["data"]["submissionSchema"]["schemaUri"], "urn:amtsweg:form:osterfeuer:v2");
    assert_eq!(meta["publicServiceType"]["identifier"], "urn:de:fim:leika:leistung:99106010000000");
    assert_eq!(meta["publicServiceType"]["name"], "Osterfeuer Anzeige");
    assert_eq!(meta["additionalReferenceInfo"]["senderReference"], "MOO-2026-000042");

    let list = cs["attachments"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["purpose"], "form");
    assert_eq!(list[0]["hash"]["content"], sha512_hex(&p.receipt_pdf));
    assert_eq!(list[1]["purpose"], "attachment");
    assert_eq!(list[1]["filename"], "lageplan.pdf");
    assert_eq!(list[1]["mimeType"], "application/pdf");
    assert_eq!(list[1]["hash"]["content"], sha512_hex(&p.files[0].bytes));

    let doc: Value = serde_json::from_slice(&data).unwrap();
    assert_eq!(doc["data"], p.data);
    assert_eq!(doc["attachments"][0]["field"], "lageplan");
    assert_eq!(doc["attachments"][0]["attachmentId"], list[1]["attachmentId"]);
    assert_eq!(doc["submittedAt"], "2026-11-18T11:06:40.000Z");
}

#[test]
fn attachment_ids_are_stable_v4_uuids() {
    let p = sample::package();
    let a = attachments(&p);
    let b = attachments(&p);
    assert_eq!(a[0].id, b[0].id);
    assert_ne!(a[0].id, a[1].id);
    assert_eq!(a[0].id.get_version_num(), 4);
    let mut other = sample::package();
    other.idempotency_key = "amtsweg-43-1".into();
    assert_ne!(attachments(&other)[0].id, a[0].id);
}

#[test]
fn mime_types_fit_the_schema_pattern() {
    assert_eq!(mime_type("application/pdf"), "application/pdf");
    assert_eq!(mime_type("Text/Plain; charset=UTF-8"), "text/plain");
    assert_eq!(mime_type("image/svg+xml"), "image/svg+xml");
    assert_eq!(mime_type(""), "application/octet-stream");
    assert_eq!(mime_type("nonsense"), "application/octet-stream");
    assert_eq!(mime_type("a b/c"), "application/octet-stream");
}

#[test]
fn timestamps_are_rfc3339_utc() {
    assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(rfc3339_utc(951_782_400_000), "2000-02-29T00:00:00.000Z");
    assert_eq!(rfc3339_utc(-1), "1969-12-31T23:59:59.999Z");
}

fn config() -> FitConnectConfig {
    FitConnectConfig::from_json(
        r#"{"submission_api": "https://submission-api-testing.fit-connect.fitko.dev/",
            "destination_id": "aa3704d6-8bd7-4d40-a8af-501851f93934"}"#,
    )
    .unwrap()
}

fn config_error(cfg: &FitConnectConfig) -> String {
    cfg.validate().unwrap_err().to_string()
}

#[test]
fn config_validation_names_the_problem() {
    let cfg = config();
    cfg.validate().unwrap();
    assert_eq!(cfg.api_base(), "https://submission-api-testing.fit-connect.fitko.dev");

    // Whether an address may be reached is the outbound-URL policy's call.
    let strict = amtsweg_outbound::Policy::default();
    cfg.check_urls(&strict).unwrap();
    let local = FitConnectConfig { submission_api: "http://127.0.0.1:8080".into(), ..config() };
    local.validate().unwrap();
    assert!(matches!(local.check_urls(&strict), Err(FitConnectError::Refused { step: "submission_api", .. })));
    let plain = FitConnectConfig { submission_api: "http://fitko.example".into(), ..config() };
    assert!(plain.check_urls(&strict).is_err());
    for url in ["ftp://x", "not a url", "https://u:p@fitko.example"] {
        let c = FitConnectConfig { submission_api: url.into(), ..config() };
        assert!(config_error(&c).contains("submission_api"), "{url}");
    }
    let c = FitConnectConfig { destination_id: "42".into(), ..config() };
    assert_eq!(config_error(&c), "misconfigured connector: destination_id must be a UUID");

    let c = FitConnectConfig { token_url: Some("https://auth.example/token".into()), ..config() };
    assert!(config_error(&c).contains("client_id and client_secret"));
    let c = FitConnectConfig { token: Some("t".into()), token_url: Some("https://a.example/t".into()), ..config() };
    assert!(config_error(&c).contains("not both"));
    let c = FitConnectConfig { client_id: Some("x".into()), ..config() };
    assert!(config_error(&c).contains("need a token_url"));

    let c = FitConnectConfig { encryption_key: Some(jwk_of(&Rsa::generate(2048).unwrap())), ..config() };
    assert!(config_error(&c).starts_with("misconfigured connector: encryption_key: the key has 2048 bit"));

    assert!(FitConnectConfig::from_json(r#"{"submission_api":"x","destination_id":"y","tokn":"z"}"#).is_err());
}

#[test]
fn debug_output_hides_secrets() {
    let c = FitConnectConfig { token: Some("s3cret".into()), client_secret: Some("hush".into()), ..config() };
    let shown = format!("{c:?}");
    assert!(!shown.contains("s3cret") && !shown.contains("hush"), "{shown}");
}

#[test]
fn retryable_errors_are_transient_ones() {
    let http = |status| FitConnectError::Http { step: "submit", status, body: String::new() };
    assert!(http(429).is_retryable());
    assert!(http(503).is_retryable());
    assert!(!http(400).is_retryable());
    assert!(!http(404).is_retryable());
    let transport = |class| FitConnectError::Transport { step: "submit", message: "refused".into(), class };
    assert!(transport(amtsweg_outbound::Failure::Unreachable).is_retryable());
    assert!(!transport(amtsweg_outbound::Failure::NotAllowed).is_retryable());
    let answer = FitConnectError::Http { step: "submit", status: 400, body: "interne Details".into() };
    assert!(answer.to_string().contains("interne Details"), "the log has the answer");
    assert_eq!(answer.staff_message(), "FIT-Connect: Antwort 4xx: Das Ziel hat die Übergabe abgelehnt (HTTP 400).");
    assert!(!FitConnectError::Config("x".into()).is_retryable());
    assert_eq!(excerpt(&"a ".repeat(400)).chars().count(), BODY_EXCERPT_CHARS + 1);
}

#[tokio::test]
async fn invalid_leika_is_refused_before_any_request() {
    let mut p = sample::package();
    p.form.leika = String::new();
    let policy = amtsweg_outbound::Policy::default();
    let trust = super::Trust::default();
    let err = deliver(&reqwest::Client::new(), &policy, &trust, &config(), &p).await.unwrap_err();
    assert!(matches!(err, FitConnectError::Package(_)), "{err}");
}
