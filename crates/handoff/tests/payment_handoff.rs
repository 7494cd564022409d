//! The payment in what the receivers get: FIT-Connect `paymentInformation` (checked
//! against the official metadata schema 1.0.0 when `../shared/conformance` is there),
//! the xdomea fields and the webhook's `payment`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use amtsweg_handoff::deliver::{Links, webhook_body};
use amtsweg_handoff::fitconnect::{attachments, data_json, metadata, metadata_json};
use amtsweg_handoff::package::{Package, PackageAuthority, PackageFile, PackageForm, PackagePayment};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn payment() -> PackagePayment {
    PackagePayment {
        mode: "vorab".into(),
        status: "BOOKED".into(),
        kassenzeichen: "MOO-2026-000042".into(),
        rf_reference: "RF10MOO2026000042".into(),
        amount_cents: 1999,
        paid_cents: 1999,
        payment_method: "CREDITCARD".into(),
        transaction_id: "9b2f4c1e-0a7d-4e55-9d1c-7f3a2b6c8d90".into(),
        transaction_url: Some(
            "https://epay.example/api/v1/paymenttransaction/amtsweg/03358017/9b2f4c1e-0a7d-4e55-9d1c-7f3a2b6c8d90"
                .into(),
        ),
        provider_reference: "EPAY-2026-77812".into(),
        paid_at_ms: Some(1_794_999_000_000),
    }
}

fn package(payment: Option<PackagePayment>) -> Package {
    Package {
        submission_id: 42,
        receipt_number: "MOO-2026-000042".into(),
        submitted_at_ms: 1_795_000_000_000,
        authority: PackageAuthority {
            id: 3,
            slug: "moorbrueck".into(),
            name: "Stadt Moorbrück".into(),
            ags: Some("03358017".into()),
            ars: "033580017017".into(),
        },
        form: PackageForm {
            id: 7,
            slug: "meldebescheinigung".into(),
            version: 1,
            title: "Meldebescheinigung".into(),
            leika: "99115003012000".into(),
            leistung_name: "Meldebescheinigung".into(),
        },
        data: json!({"name": "Erika Mustermann"}),
        data_hash: "0".repeat(64),
        receipt_pdf: b"%PDF-1.7\n%%EOF\n".to_vec(),
        files: vec![PackageFile {
            id: 1,
            field: "nachweis".into(),
            name: "nachweis.pdf".into(),
            content_type: "application/pdf".into(),
            sha256: String::new(),
            bytes: b"%PDF-1.4\n%%EOF\n".to_vec(),
        }],
        idempotency_key: "amtsweg-42-1".into(),
        payment,
    }
}

fn sent_metadata(p: &Package) -> (Vec<u8>, Value) {
    let atts = attachments(p);
    let data = data_json(p, &atts).unwrap();
    let bytes = metadata_json(p, &data, &atts).unwrap();
    let value = serde_json::from_slice(&bytes).unwrap();
    (bytes, value)
}

#[test]
fn fitconnect_metadata_carries_payment_information_with_an_exact_gross_amount() {
    let p = package(Some(payment()));
    let (bytes, meta) = sent_metadata(&p);
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains(r#""grossAmount":19.99"#), "decimal text from cents: {text}");
    let info = &meta["paymentInformation"];
    assert_eq!(info["transactionId"], "9b2f4c1e-0a7d-4e55-9d1c-7f3a2b6c8d90");
    // Paid online: the provider's own reference, as the schema's "Informationen vom
    // Bezahldienst"; the Kassenzeichen stays in xdomea and the webhook.
    assert_eq!(info["transactionReference"], "EPAY-2026-77812");
    assert_eq!(info["paymentMethod"], "CREDITCARD");
    assert_eq!(info["status"], "BOOKED");
    assert_eq!(info["transactionTimestamp"], "2026-11-18T10:50:00.000Z");
    assert!(info["transactionUrl"].as_str().unwrap().starts_with("https://epay.example/"));
    // The rest of the metadata is what it was without a payment.
    let atts = attachments(&p);
    let plain = metadata(&p, &data_json(&p, &atts).unwrap(), &atts);
    assert_eq!(plain["contentStructure"], meta["contentStructure"]);
    assert_eq!(plain["paymentInformation"]["status"], "BOOKED");
    assert!(plain["paymentInformation"].get("grossAmount").is_none(), "no float in the inspectable copy");

    // An invoice without an online transaction: identified by its Kassenzeichen.
    let invoice = PackagePayment {
        mode: "rechnung".into(),
        status: "INITIAL".into(),
        paid_cents: 0,
        payment_method: String::new(),
        transaction_id: String::new(),
        transaction_url: None,
        provider_reference: String::new(),
        paid_at_ms: None,
        amount_cents: 4800,
        ..payment()
    };
    let (bytes, meta) = sent_metadata(&package(Some(invoice)));
    let info = &meta["paymentInformation"];
    assert_eq!(info["transactionId"], "MOO-2026-000042");
    assert_eq!(info["transactionReference"], "MOO-2026-000042", "no provider: the Kassenzeichen");
    assert_eq!(info["paymentMethod"], "INVOICE");
    assert!(info.get("transactionTimestamp").is_none() && info.get("transactionUrl").is_none());
    assert!(String::from_utf8(bytes).unwrap().contains(r#""grossAmount":48.00"#));

    // No payment, no paymentInformation; nothing usable as an id, none either.
    assert!(sent_metadata(&package(None)).1.get("paymentInformation").is_none());
    let nameless = PackagePayment { kassenzeichen: String::new(), transaction_id: String::new(), ..payment() };
    assert!(sent_metadata(&package(Some(nameless))).1.get("paymentInformation").is_none());
    let free = PackagePayment { amount_cents: 0, ..payment() };
    assert!(sent_metadata(&package(Some(free))).1["paymentInformation"].get("grossAmount").is_none());
}

fn schema() -> Option<PathBuf> {
    let dir = std::env::var_os("AMTSWEG_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance"));
    let schema = dir.join("fit-connect/metadata.schema.v1.0.0.json");
    if !schema.is_file() {
        eprintln!("skipping metadata schema check: {} not found (set AMTSWEG_CONFORMANCE_DIR)", schema.display());
        return None;
    }
    let ok = Command::new("python3")
        .args(["-c", "import jsonschema"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(std::env::var_os("CI").is_none(), "python3 with jsonschema is needed");
        eprintln!("skipping metadata schema check: python3 with jsonschema is missing");
        return None;
    }
    Some(schema)
}

/// Validates metadata bytes with the official schema. Numbers are read as decimals:
/// with floats, `multipleOf: 0.01` refuses amounts such as 19.99.
fn schema_errors(schema: &Path, metadata: &[u8]) -> Vec<String> {
    let script = r#"
import json, sys, decimal, jsonschema
schema = json.load(open(sys.argv[1]), parse_float=decimal.Decimal)
instance = json.loads(sys.stdin.read(), parse_float=decimal.Decimal)
v = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
for e in v.iter_errors(instance):
    print("/".join(map(str, e.absolute_path)) + ": " + e.message)
"#;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .arg(schema)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), metadata).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_owned).collect()
}

#[test]
fn fitconnect_metadata_with_payments_validates_against_schema_1_0_0() {
    let Some(schema) = schema() else { return };
    let variants = [
        Some(payment()),
        Some(PackagePayment { status: "FAILED".into(), paid_cents: 0, paid_at_ms: None, ..payment() }),
        Some(PackagePayment {
            mode: "rechnung".into(),
            status: "INITIAL".into(),
            payment_method: String::new(),
            transaction_id: String::new(),
            transaction_url: None,
            paid_at_ms: None,
            amount_cents: 99_999_999_999,
            ..payment()
        }),
        Some(PackagePayment { payment_method: "BARGELD".into(), status: "?".into(), amount_cents: 7, ..payment() }),
        None,
    ];
    for pay in variants {
        let (bytes, _) = sent_metadata(&package(pay.clone()));
        let errors = schema_errors(&schema, &bytes);
        assert!(errors.is_empty(), "{pay:?}: {errors:?}\n{}", String::from_utf8_lossy(&bytes));
    }
    // The check itself finds a broken payment block.
    let (bytes, mut meta) = sent_metadata(&package(Some(payment())));
    meta["paymentInformation"]["status"] = json!("PAYED");
    let _ = bytes;
    let errors = schema_errors(&schema, &serde_json::to_vec(&meta).unwrap());
    assert!(errors.iter().any(|e| e.starts_with("paymentInformation/status")), "{errors:?}");
}

#[test]
fn webhook_and_xdomea_carry_the_payment() {
    let p = package(Some(payment()));
    let body = webhook_body(&p, &Links::default());
    assert_eq!(body["payment"]["kassenzeichen"], "MOO-2026-000042");
    assert_eq!(body["payment"]["amount_cents"], 1999);
    assert_eq!(body["payment"]["status"], "BOOKED");
    assert_eq!(webhook_body(&package(None), &Links::default())["payment"], Value::Null);

    let e = amtsweg_handoff::xdomea::build(&p, 1_795_000_100_000).unwrap();
    for (name, value) in [
        ("Kassenzeichen", "MOO-2026-000042"),
        ("Zahlungsstand", "bezahlt"),
        ("Betrag", "19.99"),
        ("BezahlterBetrag", "19.99"),
        ("RFReferenz", "RF10MOO2026000042"),
        ("Zahlweg", "CREDITCARD"),
        ("BezahltAm", "2026-11-18T10:50:00Z"),
    ] {
        let field = format!("<xdomea:Name>{name}</xdomea:Name>");
        let at = e.xml.find(&field).unwrap_or_else(|| panic!("{name} in {}", e.xml));
        let rest = &e.xml[at..];
        let wert = &rest[rest.find("<xdomea:Wert>").unwrap() + "<xdomea:Wert>".len()..];
        assert_eq!(&wert[..wert.find('<').unwrap()], value, "{name}");
    }
    let without = amtsweg_handoff::xdomea::build(&package(None), 1_795_000_100_000).unwrap();
    assert!(!without.xml.contains("Kassenzeichen"));
}
