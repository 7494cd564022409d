//! The export's own checks: escaping, the container against the message, repeat builds,
//! codes, file names, formats, configuration and the HTTP hand-over.

use super::documents::{format_of, safe_file_name};
use super::*;
use crate::package::sample;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{Cursor, Read as _};

const NOW: i64 = 1_795_000_100_000;

/// Per Dokument: Dateiname, DateinameOriginal and the Felder of its Erweiterung.
#[derive(Debug, Default)]
struct DocInfo {
    dateiname: String,
    original: String,
    felder: BTreeMap<String, String>,
}

fn parse_docs(xml: &str) -> Vec<DocInfo> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut docs = Vec::new();
    let mut current: Option<DocInfo> = None;
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut feld_name = String::new();
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                if name == "xdomea:Dokument" {
                    current = Some(DocInfo::default());
                }
                path.push(name);
                text.clear();
            }
            Event::Text(t) => text.push_str(&t.decode().unwrap()),
            Event::GeneralRef(r) => {
                if let Some(c) = r.resolve_char_ref().unwrap() {
                    text.push(c);
                } else {
                    let name = r.decode().unwrap();
                    text.push_str(quick_xml::escape::resolve_predefined_entity(&name).unwrap());
                }
            }
            Event::End(_) => {
                let name = path.pop().unwrap();
                let parent = path.last().map(String::as_str).unwrap_or("");
                if let Some(d) = current.as_mut() {
                    match (parent, name.as_str()) {
                        ("xdomea:Primaerdokument", "xdomea:Dateiname") => d.dateiname = text.clone(),
                        ("xdomea:Primaerdokument", "xdomea:DateinameOriginal") => d.original = text.clone(),
                        ("xdomea:Feld", "xdomea:Name") => feld_name = text.clone(),
                        ("xdomea:Feld", "xdomea:Wert") => {
                            d.felder.insert(feld_name.clone(), text.clone());
                        }
                        (_, "xdomea:Dokument") => docs.push(current.take().unwrap()),
                        _ => {}
                    }
                }
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    docs
}

fn unzip(zip: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
    let mut out = BTreeMap::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        out.insert(f.name().unwrap().to_string(), bytes);
    }
    out
}

#[test]
fn escapes_markup_in_answers_and_file_names() {
    let mut p = sample::package();
    p.form.title = "Feuer <groß> & \"klein\"".into();
    p.files[0].name = "Plan <A&B> \"Nord\".pdf".into();
    p.data = serde_json::json!({"bemerkung": "1 < 2 && \"ok\" > 0\u{1}"});
    let e = build(&p, NOW).unwrap();
    assert!(e.xml.contains("Feuer &lt;groß&gt; &amp; &quot;klein&quot; – MOO-2026-000042"), "{}", e.xml);
    assert!(e.xml.contains("<xdomea:DateinameOriginal>Plan &lt;A&amp;B&gt; &quot;Nord&quot;.pdf<"));
    assert!(!e.xml.contains("<A&B>") && !e.xml.contains('\u{1}'));
    let docs = parse_docs(&e.xml);
    let plan = docs.iter().find(|d| d.original.starts_with("Plan")).unwrap();
    assert_eq!(plan.original, "Plan <A&B> \"Nord\".pdf");
    assert!(plan.dateiname.ends_with("_Plan_A_B_Nord_.pdf"), "{}", plan.dateiname);
    // The text rendering is a file, not XML: it keeps the answer verbatim.
    let files = unzip(&e.zip);
    let txt = docs.iter().find(|d| d.dateiname.ends_with(".txt")).unwrap();
    assert!(String::from_utf8_lossy(&files[&txt.dateiname]).contains("bemerkung: 1 < 2 && \"ok\" > 0"));
}

#[test]
fn zip_entries_match_the_xml_references_hashes_and_sizes() {
    let p = sample::package();
    let e = build(&p, NOW).unwrap();
    let files = unzip(&e.zip);
    let base = e.file_name.strip_suffix(".zip").unwrap();
    assert!(base.ends_with("_FVDaten.SGOAblegen.0605"));
    assert_eq!(files[&format!("{base}.xml")], e.xml.as_bytes());
    let docs = parse_docs(&e.xml);
    assert_eq!(docs.len(), 4, "receipt, attachment, JSON, text");
    let mut referenced: Vec<&str> = docs.iter().map(|d| d.dateiname.as_str()).collect();
    referenced.push("");
    let mut in_zip: Vec<&str> = files.keys().map(String::as_str).filter(|n| !n.ends_with(".xml")).collect();
    in_zip.push("");
    referenced.sort_unstable();
    in_zip.sort_unstable();
    assert_eq!(referenced, in_zip);
    for d in &docs {
        let bytes = &files[&d.dateiname];
        assert_eq!(d.felder["Dateigroesse"], bytes.len().to_string(), "{}", d.dateiname);
        assert_eq!(d.felder["SHA-256"], hex::encode(Sha256::digest(bytes)));
    }
    let receipt = docs.iter().find(|d| d.original.starts_with("Eingangsbestaetigung")).unwrap();
    assert_eq!(files[&receipt.dateiname], p.receipt_pdf);
    let plan = docs.iter().find(|d| d.original == "lageplan.pdf").unwrap();
    assert_eq!(files[&plan.dateiname], p.files[0].bytes);
    assert_eq!(plan.felder["Formularfeld"], "lageplan");
    let json = docs.iter().find(|d| d.dateiname.ends_with(".json")).unwrap();
    let data: serde_json::Value = serde_json::from_slice(&files[&json.dateiname]).unwrap();
    assert_eq!(data, p.data);
}

#[test]
fn repeat_builds_are_identical_and_keyed_by_the_idempotency_key() {
    let p = sample::package();
    let a = build(&p, NOW).unwrap();
    assert_eq!(a, build(&p, NOW).unwrap());
    let later = build(&p, NOW + 60_000).unwrap();
    assert_eq!(a.file_name, later.file_name);
    assert_ne!(a.zip, later.zip);
    let mut other = p.clone();
    other.idempotency_key = "amtsweg-43-1".into();
    assert_ne!(a.file_name, build(&other, NOW).unwrap().file_name);
}

#[test]
fn kopf_carries_codes_and_the_authority() {
    let e = build(&sample::package(), NOW).unwrap();
    assert!(e.xml.contains(
        "<xdomea:Nachrichtentyp listURI=\"urn:xoev-de:xdomea:codeliste:nachrichtentyp\" listVersionID=\"2.0\">"
    ));
    assert!(e.xml.contains("<code>0605</code>"));
    assert!(e.xml.contains("<xdomea:Erstellungszeitpunkt>2026-11-18T"));
    assert!(e.xml.contains("<code>03358017</code>"));
    assert!(e.xml.contains("<xdomea:Name>Stadt Moorbrück</xdomea:Name>"));
    assert!(e.xml.contains("<xdomea:Kennzeichen>MOO-2026-000042</xdomea:Kennzeichen>"));
}

#[test]
fn refuses_broken_packages() {
    let mut p = sample::package();
    p.files[0].sha256 = "ab".repeat(32);
    let err = build(&p, NOW).unwrap_err();
    assert!(err.to_string().contains("SHA-256"), "{err}");
    assert!(!err.is_retryable());
    let mut p = sample::package();
    p.files[0].sha256 = hex::encode(Sha256::digest(&p.files[0].bytes)).to_uppercase();
    assert!(build(&p, NOW).is_ok());
    p.idempotency_key = " ".into();
    assert!(build(&p, NOW).is_err());
    let mut p = sample::package();
    p.receipt_pdf.clear();
    assert!(build(&p, NOW).is_err());
}

#[test]
fn file_names_are_safe() {
    assert_eq!(safe_file_name("Grundriß Ämter/..\\x.PDF"), "Grundriss_Aemter_.._x.PDF");
    assert_eq!(safe_file_name("../../etc/passwd"), "etc_passwd");
    assert_eq!(safe_file_name("<>"), "datei");
    let long = format!("{}.pdf", "a".repeat(300));
    let s = safe_file_name(&long);
    assert_eq!(s.len(), 100);
    assert!(s.ends_with("a.pdf"));
}

#[test]
fn formats_follow_the_code_list() {
    assert_eq!(format_of("a.pdf", "application/pdf", b"%PDF-1.7\n").code, "018");
    assert_eq!(format_of("a.pdf", "application/pdf", b"%PDF-1.7\n").version, "1.7");
    assert_eq!(format_of("a.pdf", "", b"%PDF-1.7 <pdfaid:part>2</pdfaid:part>").code, "044");
    assert_eq!(format_of("foto.JPG", "image/jpeg", b"").code, "011");
    assert_eq!(format_of("scan", "image/png", b"").code, "019");
    let other = format_of("x.heic", "image/heic", b"");
    assert_eq!((other.code, other.sonstiger_name.as_deref()), ("100", Some("image/heic")));
}

#[test]
fn config_validation_explains_itself() {
    let strict = amtsweg_outbound::Policy::default();
    let parse = |s: &str| serde_json::from_str::<XdomeaConfig>(s).unwrap().validate(&strict);
    assert_eq!(parse("{}").unwrap(), XdomeaTarget::Directory, "the operator's folder");
    // A folder stored by an administrator earlier still parses, but is not used.
    let legacy: XdomeaConfig = serde_json::from_str(r#"{"directory": "/etc"}"#).unwrap();
    assert!(legacy.has_legacy_directory());
    assert_eq!(legacy.validate(&strict).unwrap(), XdomeaTarget::Directory);
    assert!(matches!(parse(r#"{"url": "https://dms.example/import"}"#).unwrap(), XdomeaTarget::Url(_)));
    assert!(matches!(parse(r#"{"url": "http://127.0.0.1:8080/x"}"#), Err(XdomeaError::Refused(_))));
    assert!(matches!(parse(r#"{"url": "http://dms.example/x"}"#), Err(XdomeaError::Refused(_))));
    assert!(matches!(parse(r#"{"url": "not a url"}"#), Err(XdomeaError::Refused(_))));
    let local = amtsweg_outbound::Policy::new(&amtsweg_outbound::OutboundConfig {
        allow_cidrs: vec!["127.0.0.1/32".into()],
        http_hosts: vec!["127.0.0.1".into()],
        ..Default::default()
    })
    .unwrap();
    let cfg: XdomeaConfig = serde_json::from_str(r#"{"url": "http://127.0.0.1:8080/x"}"#).unwrap();
    assert!(matches!(cfg.validate(&local).unwrap(), XdomeaTarget::Url(_)));
    assert!(serde_json::from_str::<XdomeaConfig>(r#"{"dir": "/x"}"#).is_err());
}

#[tokio::test]
async fn folders_come_from_the_configuration_and_stay_inside() {
    let root = std::env::temp_dir().join(format!("amtsweg-xdomea-dirs-{}", uuid::Uuid::new_v4().simple()));
    let base = root.join("basis");
    let own = root.join("eigenes");
    std::fs::create_dir_all(&base).unwrap();
    std::fs::create_dir_all(&own).unwrap();
    let dirs = XdomeaDirs { base_dir: Some(base.clone()), authorities: [("heideland".to_owned(), own.clone())].into() };
    // Below the base, a folder per authority, made by the server.
    let d = dirs.dir_for("moorbrueck").await.unwrap();
    assert_eq!(d, base.canonicalize().unwrap().join("moorbrueck"));
    assert!(d.is_dir());
    assert_eq!(dirs.dir_for("heideland").await.unwrap(), own.canonicalize().unwrap());
    // A symbolic link in an authority's place leads nowhere.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("/etc", base.join("boese")).unwrap();
        let err = dirs.dir_for("boese").await.unwrap_err();
        assert!(matches!(err, XdomeaError::Escape(_)), "{err}");
        assert!(!err.staff_message().contains('/'), "no path for staff: {}", err.staff_message());
    }
    assert!(matches!(dirs.dir_for("../etc").await, Err(XdomeaError::Escape(_))));
    assert!(matches!(XdomeaDirs::default().dir_for("moorbrueck").await, Err(XdomeaError::NoDirectory)));
    let missing = XdomeaDirs { base_dir: Some(root.join("fehlt")), ..XdomeaDirs::default() };
    let err = missing.dir_for("moorbrueck").await.unwrap_err();
    assert!(err.to_string().contains("fehlt"), "the log names the path: {err}");
    assert!(!err.staff_message().contains("fehlt/") && !err.staff_message().contains(root.to_str().unwrap()));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn retryable_statuses() {
    let s = |status| XdomeaError::Status { status, body: String::new() }.is_retryable();
    assert!(s(429) && s(500) && s(503) && s(408));
    assert!(!s(400) && !s(401) && !s(409) && !s(422));
    let io = XdomeaError::Io { path: "/x".into(), source: std::io::Error::other("x") };
    assert!(io.is_retryable());
}

/// A one-shot HTTP server: answers `status` and returns the raw request.
async fn serve_once(status: u16) -> (String, tokio::task::JoinHandle<Vec<u8>>) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/import", listener.local_addr().unwrap());
    let handle = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            let n = sock.read(&mut chunk).await.unwrap();
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let len = text[..end]
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len || n == 0 {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        let reply = format!("HTTP/1.1 {status} X\r\ncontent-length: 4\r\nconnection: close\r\n\r\nnope");
        sock.write_all(reply.as_bytes()).await.unwrap();
        buf
    });
    (url, handle)
}

#[tokio::test]
async fn post_sends_zip_with_idempotency_key_and_maps_statuses() {
    let e = build(&sample::package(), NOW).unwrap();
    let client = reqwest::Client::new();

    let (url, server) = serve_once(201).await;
    post(&client, &url, &e, "amtsweg-42-1").await.unwrap();
    let request = server.await.unwrap();
    let head = String::from_utf8_lossy(&request).to_ascii_lowercase();
    assert!(head.starts_with("post /import "));
    assert!(head.contains("content-type: application/zip"));
    assert!(head.contains("idempotency-key: amtsweg-42-1"));
    assert!(request.ends_with(&e.zip));

    let (url, server) = serve_once(503).await;
    let err = post(&client, &url, &e, "k").await.unwrap_err();
    server.await.unwrap();
    assert!(matches!(err, XdomeaError::Status { status: 503, .. }) && err.is_retryable(), "{err}");

    let (url, server) = serve_once(400).await;
    let err = post(&client, &url, &e, "k").await.unwrap_err();
    server.await.unwrap();
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("400") && err.to_string().contains("nope"), "the log has the answer");
    assert!(!err.staff_message().contains("nope"), "staff do not: {}", err.staff_message());
}
