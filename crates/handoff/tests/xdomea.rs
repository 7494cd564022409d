//! The xdomea export against the official xdomea 3.0.0 schemas (`xmllint --schema`), the
//! container's documents against the package, and the idempotency of `write_to_dir`.
//!
//! The schemas live outside the repository (`../shared/conformance`, or the folder named by
//! `AMTSWEG_CONFORMANCE_DIR`); without them the schema test is skipped with a message. Without
//! `xmllint` (Debian: libxml2-utils) it is skipped too, unless `CI` is set, where it fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use amtsweg_handoff::package::{Package, PackageAuthority, PackageFile, PackageForm, PackagePayment};
use amtsweg_handoff::xdomea::{self, Export};
use sha2::Digest as _;
use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;

const NOW: i64 = 1_795_000_100_000;

fn package() -> Package {
    let receipt = b"%PDF-1.7\n% Eingangsbestaetigung <pdfaid:part>2</pdfaid:part>\n%%EOF\n".to_vec();
    let plan: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let photo = b"\x89PNG\r\n\x1a\n not really a picture".to_vec();
    Package {
        submission_id: 42,
        receipt_number: "MOO-2026-000042".into(),
        submitted_at_ms: 1_795_000_000_000,
        authority: PackageAuthority {
            id: 3,
            slug: "moorbrueck".into(),
            name: "Stadt Moorbrück & Umland <Amt \"Nord\">".into(),
            ags: Some("03358017".into()),
            ars: "033580017017".into(),
        },
        form: PackageForm {
            id: 7,
            slug: "osterfeuer".into(),
            version: 2,
            title: "Osterfeuer <anzeigen> & \"melden\"".into(),
            leika: "99106010000000".into(),
            leistung_name: "Osterfeuer Anzeige".into(),
        },
        data: serde_json::json!({
            "name": "Erika <Mustermann> & Söhne",
            "ort": "Festwiese \"Am See\"",
            "helfer": [{"name": "Max"}, {"name": "O'Brien"}],
            "steuerzeichen": "a\u{1}b",
        }),
        data_hash: "0".repeat(64),
        receipt_pdf: receipt,
        files: vec![
            PackageFile {
                id: 1,
                field: "lageplan".into(),
                name: "Lageplan <Nord> & Süd.pdf".into(),
                content_type: "application/pdf".into(),
                sha256: hex(&sha2::Sha256::digest(&plan)),
                bytes: plan,
            },
            PackageFile {
                id: 2,
                field: "foto".into(),
                name: "Foto \"Feuerstelle\".png".into(),
                content_type: "image/png".into(),
                sha256: String::new(),
                bytes: photo,
            },
        ],
        idempotency_key: "amtsweg-42-xdomea".into(),
        // The payment's fields are part of what the schema checks.
        payment: Some(PackagePayment {
            mode: "vorab".into(),
            status: "BOOKED".into(),
            kassenzeichen: "MOO-2026-000042".into(),
            rf_reference: "RF10MOO2026000042".into(),
            amount_cents: 1250,
            paid_cents: 1250,
            payment_method: "CREDITCARD".into(),
            transaction_id: "9b2f4c1e-0a7d-4e55-9d1c-7f3a2b6c8d90".into(),
            transaction_url: None,
            provider_reference: String::new(),
            paid_at_ms: Some(1_794_999_000_000),
        }),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn conformance_dir() -> PathBuf {
    std::env::var_os("AMTSWEG_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance"))
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("amtsweg-xdomea-{tag}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn unzip(zip: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let mut out = BTreeMap::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        out.insert(f.name().unwrap().to_string(), bytes);
    }
    out
}

/// `(Dateiname, DateinameOriginal)` of every Primärdokument, in document order.
fn primary_documents(xml: &str) -> Vec<(String, String)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut out, mut name, mut text, mut path) = (Vec::new(), String::new(), String::new(), Vec::<String>::new());
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => {
                path.push(String::from_utf8(e.name().as_ref().to_vec()).unwrap());
                text.clear();
            }
            Event::Text(t) => text.push_str(&t.decode().unwrap()),
            Event::GeneralRef(r) => match r.resolve_char_ref().unwrap() {
                Some(c) => text.push(c),
                None => text.push_str(quick_xml::escape::resolve_predefined_entity(&r.decode().unwrap()).unwrap()),
            },
            Event::End(_) => {
                let element = path.pop().unwrap();
                if path.last().is_some_and(|p| p == "xdomea:Primaerdokument") {
                    match element.as_str() {
                        "xdomea:Dateiname" => name = text.clone(),
                        "xdomea:DateinameOriginal" => out.push((name.clone(), text.clone())),
                        _ => {}
                    }
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}

fn xmllint_available() -> bool {
    match Command::new("xmllint").arg("--version").output() {
        Ok(o) if o.status.success() => true,
        _ if std::env::var_os("CI").is_some() => {
            panic!("xmllint is required in CI (Debian: apt-get install libxml2-utils)")
        }
        _ => false,
    }
}

#[test]
fn export_validates_against_the_xdomea_schema_and_carries_the_files_unchanged() {
    let p = package();
    let e = xdomea::build(&p, NOW).unwrap();
    let files = unzip(&e.zip);
    let base = e.file_name.strip_suffix(".zip").unwrap();
    assert!(base.ends_with("_FVDaten.SGOAblegen.0605"), "{}", e.file_name);
    let xml = &files[&format!("{base}.xml")];
    assert_eq!(xml, e.xml.as_bytes());

    // Every Primärdokument is in the ZIP, byte-identical to the package, and nothing else is.
    let docs = primary_documents(&e.xml);
    assert_eq!(docs.len(), 5, "receipt, two attachments, JSON, text: {docs:?}");
    let mut expected: Vec<String> = docs.iter().map(|(n, _)| n.clone()).collect();
    expected.push(format!("{base}.xml"));
    expected.sort();
    assert_eq!(files.keys().cloned().collect::<Vec<_>>(), expected);
    let by_original: BTreeMap<&str, &[u8]> = docs.iter().map(|(n, o)| (o.as_str(), files[n].as_slice())).collect();
    assert_eq!(by_original["Eingangsbestaetigung_MOO-2026-000042.pdf"], p.receipt_pdf.as_slice());
    for f in &p.files {
        assert_eq!(by_original[f.name.as_str()], f.bytes.as_slice(), "{}", f.name);
    }
    let json: serde_json::Value = serde_json::from_slice(by_original["Antragsdaten_MOO-2026-000042.json"]).unwrap();
    assert_eq!(json, p.data);

    let dir = conformance_dir();
    let xsd = dir.join("xdomea/xsd/xdomea_3.0.0/xdomea.xsd");
    if !xsd.is_file() {
        eprintln!("SKIPPED xdomea schema validation: {} not found (set AMTSWEG_CONFORMANCE_DIR)", xsd.display());
        return;
    }
    if !xmllint_available() {
        eprintln!("SKIPPED xdomea schema validation: xmllint not installed (Debian: libxml2-utils)");
        return;
    }
    let tmp = temp_dir("xsd");
    let file = tmp.join(format!("{base}.xml"));
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("xmllint").arg("--noout").arg("--schema").arg(&xsd).arg(&file).output().unwrap();
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(
        out.status.success(),
        "xmllint rejected the message:\n{}\n---\n{}",
        String::from_utf8_lossy(&out.stderr),
        e.xml
    );
}

#[cfg(unix)]
fn inode(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata(path).unwrap().ino()
}

#[cfg(not(unix))]
fn inode(_path: &Path) -> u64 {
    0
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn write_to_dir_is_atomic_and_idempotent() {
    let dir = temp_dir("dir");
    let p = package();
    let e: Export = xdomea::build(&p, NOW).unwrap();

    let path = xdomea::write_to_dir(&dir, &e).await.unwrap();
    assert_eq!(path, dir.join(&e.file_name));
    assert_eq!(std::fs::read(&path).unwrap(), e.zip);
    let first = inode(&path);

    // A repeat delivery of the same export: same file, not rewritten, no leftovers.
    let again = xdomea::write_to_dir(&dir, &xdomea::build(&p, NOW).unwrap()).await.unwrap();
    assert_eq!(again, path);
    assert_eq!(inode(&path), first, "identical content must not be rewritten");
    assert_eq!(entries(&dir), vec![e.file_name.clone()]);

    // Rebuilt later (another Erstellungszeitpunkt): still one file, now with the new content.
    let later = xdomea::build(&p, NOW + 3_600_000).unwrap();
    assert_eq!(later.file_name, e.file_name);
    xdomea::write_to_dir(&dir, &later).await.unwrap();
    assert_eq!(entries(&dir), vec![e.file_name.clone()]);
    assert_eq!(std::fs::read(&path).unwrap(), later.zip);

    // A missing import folder is an I/O error worth retrying (the share may be remounted).
    let err = xdomea::write_to_dir(&dir.join("missing"), &e).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");

    std::fs::remove_dir_all(&dir).unwrap();
}
