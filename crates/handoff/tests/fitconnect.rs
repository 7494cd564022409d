//! The FIT-Connect sender against an independent receiver: `tests/harness/fitconnect_receiver.py`
//! decrypts with jwcrypto and validates the metadata with the official JSON Schema, so a
//! mistake shared by our encrypting and our decrypting code cannot hide.
//!
//! The receiver's key carries an `x5c` chain from a test root CA, which the sender is
//! given as its trust anchor; keys without a trusted chain are refused.
//!
//! Skips when the conformance files are absent; needs python3 with jwcrypto and
//! jsonschema, and fails instead of skipping without them when `CI` is set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use amtsweg_handoff::fitconnect::{self, FitConnectConfig, FitConnectError, Trust, TrustConfig};
use amtsweg_handoff::package::{Package, PackageAuthority, PackageFile, PackageForm};
use amtsweg_outbound::{OutboundConfig, Policy};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

const DESTINATION: &str = "7d1e5e4a-1f5e-4c1b-9a59-2d6f0e6b8c11";

/// The metadata schema, or `None` when this test should skip.
fn schema() -> Option<PathBuf> {
    let dir = std::env::var_os("AMTSWEG_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance"));
    let schema = dir.join("fit-connect/metadata.schema.v1.0.0.json");
    if !schema.is_file() {
        eprintln!("skipping FIT-Connect receiver test: {} not found (set AMTSWEG_CONFORMANCE_DIR)", schema.display());
        return None;
    }
    let python = std::process::Command::new("python3")
        .args(["-c", "import jwcrypto, jsonschema"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !python.is_ok_and(|s| s.success()) {
        let msg = "python3 with jwcrypto and jsonschema is needed (pip install jwcrypto jsonschema)";
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("skipping FIT-Connect receiver test: {msg}");
        return None;
    }
    Some(schema)
}

struct Receiver {
    _child: Child,
    dir: PathBuf,
    /// The test root CA that signed the destination key's certificate.
    trust: Trust,
    /// stdout lines, read by a task of their own: a result line is larger than a pipe
    /// buffer, and the receiver prints it before it answers the request we wait on.
    lines: mpsc::UnboundedReceiver<String>,
    url: String,
}

impl Receiver {
    async fn start(schema: &Path, auth: &[&str]) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/harness/fitconnect_receiver.py");
        let dir = std::env::temp_dir().join(format!("amtsweg-fitconnect-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = dir.join("root.pem");
        let mut child = Command::new("python3")
            .arg(script)
            .arg("--schema")
            .arg(schema)
            .arg("--ca-out")
            .arg(&ca)
            .args(["--port", "0", "--destination", DESTINATION])
            .args(auth)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start python3");
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let (tx, mut lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = stdout.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let port = Self::line(&mut lines).await;
        let port: u16 = port.trim().parse().unwrap_or_else(|_| panic!("receiver printed {port:?}, not a port"));
        let trust = Trust::load(&TrustConfig { trust_anchors: vec![ca], ..TrustConfig::default() }).unwrap();
        Self { _child: child, dir, trust, lines, url: format!("http://127.0.0.1:{port}") }
    }

    async fn line(lines: &mut mpsc::UnboundedReceiver<String>) -> String {
        // Generating the 4096-bit key takes a few seconds on a slow machine.
        tokio::time::timeout(Duration::from_secs(60), lines.recv())
            .await
            .expect("receiver answered within a minute")
            .expect("receiver still running")
    }

    /// The receiver's record of the next completed submission.
    async fn next_result(&mut self) -> Value {
        serde_json::from_str(&Self::line(&mut self.lines).await).unwrap()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn package() -> Package {
    // Every byte value, so any text/encoding mangling of attachments shows.
    let photo: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    Package {
        submission_id: 4711,
        receipt_number: "MOO-2026-004711".into(),
        submitted_at_ms: 1_790_000_000_000,
        authority: PackageAuthority {
            id: 3,
            slug: "moorbrueck".into(),
            name: "Stadt Moorbrück".into(),
            ags: Some("03358017".into()),
            ars: "033580017017".into(),
        },
        form: PackageForm {
            id: 9,
            slug: "sondernutzung".into(),
            version: 3,
            title: "Sondernutzung öffentlicher Straßen".into(),
            leika: "99002003000000".into(),
            leistung_name: "Sondernutzungserlaubnis Straße".into(),
        },
        data: json!({
            "name": "Jürgen Weiß",
            "zweck": "Baugerüst \"Müllerstraße 5\" – 3 Wochen",
            "flaeche_m2": 12.5,
            "beginn": "2026-09-01",
            "einverstanden": true,
            "helfer": [{"name": "Ana Lüdtke"}, {"name": "Ömer Şahin"}],
        }),
        data_hash: "ab".repeat(32),
        receipt_pdf: b"%PDF-1.7\n% Eingangsbestaetigung MOO-2026-004711\n%%EOF\n".to_vec(),
        files: vec![
            PackageFile {
                id: 1,
                field: "lageplan".into(),
                name: "Lageplan Müllerstraße.pdf".into(),
                content_type: "application/pdf".into(),
                sha256: String::new(),
                bytes: b"%PDF-1.4\n% Lageplan\n%%EOF\n".to_vec(),
            },
            PackageFile {
                id: 2,
                field: "foto".into(),
                name: "foto.jpg".into(),
                content_type: "image/jpeg; foo=bar".into(),
                sha256: String::new(),
                bytes: photo,
            },
        ],
        idempotency_key: "amtsweg-4711-fitconnect".into(),
        payment: None,
    }
}

fn config(url: &str) -> FitConnectConfig {
    FitConnectConfig {
        submission_api: format!("{url}/"),
        destination_id: DESTINATION.into(),
        ..FitConnectConfig::default()
    }
}

/// The receiver runs on the loopback interface: the operator's explicit allowance,
/// as a test configuration gives it.
fn loopback() -> Policy {
    Policy::new(&OutboundConfig {
        allow_cidrs: vec!["127.0.0.1/32".into()],
        http_hosts: vec!["127.0.0.1".into()],
        ..OutboundConfig::default()
    })
    .unwrap()
}

/// A root CA nobody configured.
fn stranger_ca() -> openssl::x509::X509 {
    use openssl::x509::{X509Builder, X509NameBuilder};
    let key = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "Fremde Wurzel").unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap()).unwrap();
    b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(30).unwrap()).unwrap();
    b.append_extension(openssl::x509::extension::BasicConstraints::new().critical().ca().build().unwrap()).unwrap();
    b.sign(&key, openssl::hash::MessageDigest::sha256()).unwrap();
    b.build()
}

fn decoded(result: &Value, attachment_id: &Value) -> Vec<u8> {
    let b64 = result["attachments"][attachment_id.as_str().unwrap()].as_str().unwrap();
    STANDARD.decode(b64).unwrap()
}

#[tokio::test]
async fn receiver_decrypts_and_verifies_a_delivered_package() {
    let Some(schema) = schema() else { return };
    let mut rx = Receiver::start(&schema, &["--client", "amtsweg:geheim"]).await;
    let cfg = FitConnectConfig {
        token_url: Some(format!("{}/token", rx.url)),
        client_id: Some("amtsweg".into()),
        client_secret: Some("geheim".into()),
        ..config(&rx.url)
    };
    let p = package();
    let policy = loopback();
    let client = policy.client_builder().build().unwrap();

    let delivered = fitconnect::deliver(&client, &policy, &rx.trust, &cfg, &p).await;
    let result = rx.next_result().await;
    let submission_id = delivered.unwrap_or_else(|e| panic!("delivery failed: {e}\nreceiver: {result:#}"));

    assert_eq!(result["errors"], json!([]), "metadata schema, JWE headers and hashes");
    assert_eq!(result["submissionId"], submission_id);
    assert_eq!(result["destinationId"], DESTINATION);
    assert_eq!(result["idempotencyKeys"], json!([p.idempotency_key]));
    assert_eq!(
        result["serviceType"],
        json!({"identifier": "urn:de:fim:leika:leistung:99002003000000", "name": "Sondernutzungserlaubnis Straße"})
    );

    let data = &result["data"];
    assert_eq!(data["data"], p.data);
    assert_eq!(data["receiptNumber"], p.receipt_number);
    assert_eq!(data["form"]["leika"], p.form.leika);

    let meta = &result["metadata"];
    assert_eq!(meta["publicServiceType"]["identifier"], "urn:de:fim:leika:leistung:99002003000000");
    let listed = meta["contentStructure"]["attachments"].as_array().unwrap();
    assert_eq!(listed.len(), 3);
    let receipt = listed.iter().find(|a| a["purpose"] == "form").unwrap();
    assert_eq!(decoded(&result, &receipt["attachmentId"]), p.receipt_pdf);
    for f in &p.files {
        let a = listed.iter().find(|a| a["filename"] == f.name.as_str()).unwrap();
        assert_eq!(a["purpose"], "attachment");
        assert_eq!(decoded(&result, &a["attachmentId"]), f.bytes, "{} byte-identical", f.name);
        let mapped = data["attachments"].as_array().unwrap().iter().find(|m| m["field"] == f.field.as_str()).unwrap();
        assert_eq!(mapped["attachmentId"], a["attachmentId"]);
    }
    assert_eq!(listed.iter().find(|a| a["filename"] == "foto.jpg").unwrap()["mimeType"], "image/jpeg");
}

#[tokio::test]
async fn fixed_key_bearer_token_and_refusals() {
    let Some(schema) = schema() else { return };
    let mut rx = Receiver::start(&schema, &["--token", "t0ken"]).await;
    let policy = loopback();
    let client = policy.client_builder().build().unwrap();
    let p = package();

    // A key configured up front (here: the one the destination publishes).
    let dest: Value = client
        .get(format!("{}/v1/destinations/{DESTINATION}", rx.url))
        .bearer_auth("t0ken")
        .header("Idempotency-Key", "test")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid = dest["encryptionKid"].as_str().unwrap();
    let jwk: Value = client
        .get(format!("{}/v1/destinations/{DESTINATION}/keys/{kid}", rx.url))
        .bearer_auth("t0ken")
        .header("Idempotency-Key", "test")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(jwk["x5c"].as_array().is_some_and(|c| c.len() == 2), "{jwk}");
    let cfg = FitConnectConfig { token: Some("t0ken".into()), encryption_key: Some(jwk.clone()), ..config(&rx.url) };
    cfg.validate().unwrap();
    let delivered = fitconnect::deliver(&client, &policy, &rx.trust, &cfg, &p).await;
    let result = rx.next_result().await;
    delivered.unwrap_or_else(|e| panic!("delivery failed: {e}\nreceiver: {result:#}"));
    assert_eq!(result["errors"], json!([]));
    assert_eq!(result["data"]["data"], p.data);

    // A wrong token: the server's 401 comes back as a permanent error with its status.
    let wrong = FitConnectConfig { token: Some("wrong".into()), ..cfg.clone() };
    let err = fitconnect::deliver(&client, &policy, &rx.trust, &wrong, &p).await.unwrap_err();
    assert!(matches!(err, FitConnectError::Http { status: 401, .. }), "{err}");
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("bearer token"), "body excerpt in the log: {err}");
    assert!(!err.staff_message().contains("bearer"), "but not for staff: {}", err.staff_message());

    // An unknown destination.
    let elsewhere = FitConnectConfig {
        destination_id: "00000000-0000-4000-8000-000000000000".into(),
        encryption_key: None,
        ..cfg.clone()
    };
    let err = fitconnect::deliver(&client, &policy, &rx.trust, &elsewhere, &p).await.unwrap_err();
    assert!(matches!(err, FitConnectError::Http { step: "fetch destination", status: 404, .. }), "{err}");

    // Nobody listening: transient.
    let gone = FitConnectConfig { submission_api: "http://127.0.0.1:9".into(), ..cfg.clone() };
    let err = fitconnect::deliver(&client, &policy, &rx.trust, &gone, &p).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
}

/// The destination's key is used only with a chain to the configured anchor: not with
/// another anchor, not without one, not without `x5c` — whether fetched or configured.
/// And without the operator's allowance the loopback receiver is not contacted at all.
#[tokio::test]
async fn keys_without_a_trusted_chain_and_internal_addresses_are_refused() {
    let Some(schema) = schema() else { return };
    let mut rx = Receiver::start(&schema, &[]).await;
    let policy = loopback();
    let client = policy.client_builder().build().unwrap();
    let p = package();
    let cfg = config(&rx.url);

    let stranger = Trust::from_anchors(vec![stranger_ca()]);
    let err = fitconnect::deliver(&client, &policy, &stranger, &cfg, &p).await.unwrap_err();
    assert!(matches!(&err, FitConnectError::Key(m) if m.contains("not trusted")), "{err}");
    assert!(!err.is_retryable());
    assert!(err.staff_message().contains("nicht vertrauenswürdig"), "{}", err.staff_message());
    let err = fitconnect::deliver(&client, &policy, &Trust::default(), &cfg, &p).await.unwrap_err();
    assert!(matches!(&err, FitConnectError::Key(m) if m.contains("no trust anchor")), "{err}");

    // The published key without its chain, configured by hand.
    let dest: Value = client
        .get(format!("{}/v1/destinations/{DESTINATION}", rx.url))
        .header("Idempotency-Key", "test")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid = dest["encryptionKid"].as_str().unwrap();
    let mut jwk: Value = client
        .get(format!("{}/v1/destinations/{DESTINATION}/keys/{kid}", rx.url))
        .header("Idempotency-Key", "test")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwk.as_object_mut().unwrap().remove("x5c");
    let bare = FitConnectConfig { encryption_key: Some(jwk), ..cfg.clone() };
    let err = fitconnect::deliver(&client, &policy, &rx.trust, &bare, &p).await.unwrap_err();
    assert!(matches!(&err, FitConnectError::Key(m) if m.contains("x5c")), "{err}");

    // The default policy: plain HTTP to the loopback address is refused before any request.
    let strict = Policy::default();
    let strict_client = strict.client_builder().build().unwrap();
    let err = fitconnect::deliver(&strict_client, &strict, &rx.trust, &cfg, &p).await.unwrap_err();
    assert!(matches!(err, FitConnectError::Refused { .. }), "{err}");
    assert!(err.staff_message().contains("https://"), "{}", err.staff_message());

    // With the chain and the anchor, the same delivery goes through.
    let delivered = fitconnect::deliver(&client, &policy, &rx.trust, &cfg, &p).await;
    let result = rx.next_result().await;
    delivered.unwrap_or_else(|e| panic!("delivery failed: {e}\nreceiver: {result:#}"));
    assert_eq!(result["errors"], json!([]));
}
