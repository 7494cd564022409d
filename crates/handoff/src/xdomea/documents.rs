//! The Dokumente of the Vorgang: the receipt, every attachment (checked against the hash
//! recorded at submission), the answers as JSON and as text; their safe file names and
//! their Dateiformat codes.

use super::ids::{derived_uuid, local_display};
use super::{SYSTEM, XdomeaError};
use crate::package::{Package, PackageFile};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::fmt::Write as _;
use uuid::Uuid;

/// One Dokument of the Vorgang with its Primärdokument.
pub(super) struct Doc<'a> {
    pub(super) id: Uuid,
    pub(super) betreff: String,
    pub(super) typ: &'static str,
    /// Received from the citizen (Posteingangsdatum) rather than produced by the portal.
    pub(super) incoming: bool,
    pub(super) original_name: String,
    /// Name inside the ZIP, `<UUID>_<safe name>`.
    pub(super) file_name: String,
    pub(super) media_type: String,
    pub(super) field: Option<&'a str>,
    pub(super) ersteller: Option<&'static str>,
    pub(super) format: Format,
    pub(super) bytes: Cow<'a, [u8]>,
    pub(super) sha256: String,
}

pub(super) struct Format {
    /// Code of the xdomea code list Dateiformat 2.0.
    pub(super) code: &'static str,
    pub(super) sonstiger_name: Option<String>,
    pub(super) version: String,
}

pub(super) fn documents<'a>(
    p: &'a Package,
    key: &str,
    submitted: jiff::Timestamp,
) -> Result<Vec<Doc<'a>>, XdomeaError> {
    let rn = &p.receipt_number;
    let mut docs = Vec::with_capacity(p.files.len() + 3);

    let original = format!("Eingangsbestaetigung_{rn}.pdf");
    docs.push(doc(
        derived_uuid(key, "dokument:eingangsbestaetigung"),
        format!("Eingangsbestätigung {rn}"),
        "Eingangsbestätigung",
        false,
        original,
        "application/pdf".into(),
        None,
        Some(SYSTEM),
        Cow::Borrowed(&p.receipt_pdf),
    ));

    for f in &p.files {
        check_recorded_hash(f)?;
        docs.push(doc(
            derived_uuid(key, &format!("dokument:anlage:{}", f.id)),
            format!("Anlage: {}", f.name),
            "Anlage",
            true,
            f.name.clone(),
            f.content_type.clone(),
            Some(f.field.as_str()),
            None,
            Cow::Borrowed(&f.bytes),
        ));
    }

    let json = serde_json::to_vec_pretty(&p.data).map_err(|e| XdomeaError::Package(format!("answers: {e}")))?;
    docs.push(doc(
        derived_uuid(key, "dokument:antragsdaten-json"),
        format!("Antragsdaten {rn} (JSON)"),
        "Antragsdaten",
        true,
        format!("Antragsdaten_{rn}.json"),
        "application/json".into(),
        None,
        Some(SYSTEM),
        Cow::Owned(json),
    ));

    let text = readable(p, submitted);
    docs.push(doc(
        derived_uuid(key, "dokument:antragsdaten-text"),
        format!("Antragsdaten {rn} (Text)"),
        "Antragsdaten",
        true,
        format!("Antragsdaten_{rn}.txt"),
        "text/plain; charset=utf-8".into(),
        None,
        Some(SYSTEM),
        Cow::Owned(text.into_bytes()),
    ));
    Ok(docs)
}

#[allow(clippy::too_many_arguments)]
fn doc<'a>(
    id: Uuid,
    betreff: String,
    typ: &'static str,
    incoming: bool,
    original_name: String,
    media_type: String,
    field: Option<&'a str>,
    ersteller: Option<&'static str>,
    bytes: Cow<'a, [u8]>,
) -> Doc<'a> {
    let file_name = format!("{id}_{}", safe_file_name(&original_name));
    let format = format_of(&original_name, &media_type, &bytes);
    let sha256 = hex::encode(Sha256::digest(&bytes));
    Doc { id, betreff, typ, incoming, original_name, file_name, media_type, field, ersteller, format, bytes, sha256 }
}

fn check_recorded_hash(f: &PackageFile) -> Result<(), XdomeaError> {
    let recorded = f.sha256.trim();
    if recorded.is_empty() {
        return Ok(());
    }
    let actual = hex::encode(Sha256::digest(&f.bytes));
    if recorded.eq_ignore_ascii_case(&actual) {
        Ok(())
    } else {
        Err(XdomeaError::Package(format!(
            "attachment {} (\"{}\") does not match its SHA-256 recorded at submission",
            f.id, f.name
        )))
    }
}

/// The answers as plain text for people and full-text search: `path: value` per line.
fn readable(p: &Package, submitted: jiff::Timestamp) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Antrag: {}", p.form.title);
    let _ = writeln!(out, "Leistung: {} (LeiKa {})", p.form.leistung_name, p.form.leika);
    let _ = writeln!(out, "Eingangsnummer: {}", p.receipt_number);
    let _ = writeln!(out, "Eingegangen: {}", local_display(submitted));
    let _ = writeln!(out, "Behörde: {}", p.authority.name);
    let _ = writeln!(out, "Prüfsumme der Antragsdaten (SHA-256): {}", p.data_hash);
    out.push_str("\nAngaben\n");
    flatten("", &p.data, &mut out);
    if !p.files.is_empty() {
        out.push_str("\nAnlagen\n");
        for f in &p.files {
            let _ = writeln!(out, "- {} (Feld {}, {} Bytes)", f.name, f.field, f.bytes.len());
        }
    }
    out
}

fn flatten(path: &str, v: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                flatten(&p, v, out);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, v) in a.iter().enumerate() {
                flatten(&format!("{path}[{}]", i + 1), v, out);
            }
        }
        Value::Object(_) | Value::Array(_) | Value::Null => {
            let _ = writeln!(out, "{path}:");
        }
        Value::String(s) => {
            let _ = writeln!(out, "{path}: {}", s.replace('\n', "\n    "));
        }
        other => {
            let _ = writeln!(out, "{path}: {other}");
        }
    }
}

/// A file name safe in any ZIP tool and file system: ASCII letters, digits, `.`, `-`, `_`,
/// umlauts transliterated, at most 100 characters with the extension kept.
pub(super) fn safe_file_name(name: &str) -> String {
    let mut s = String::with_capacity(name.len());
    for c in name.chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' => s.push(c),
            'ä' => s.push_str("ae"),
            'ö' => s.push_str("oe"),
            'ü' => s.push_str("ue"),
            'Ä' => s.push_str("Ae"),
            'Ö' => s.push_str("Oe"),
            'Ü' => s.push_str("Ue"),
            'ß' => s.push_str("ss"),
            _ => {
                if !s.ends_with('_') {
                    s.push('_');
                }
            }
        }
    }
    let s = s.trim_start_matches(['.', '_']).to_string();
    let s = if s.is_empty() || s.chars().all(|c| c == '.') { "datei".to_string() } else { s };
    const MAX: usize = 100;
    if s.len() <= MAX {
        return s;
    }
    // ASCII only from here, so byte offsets are character offsets.
    match s.rfind('.') {
        Some(dot) if s.len() - dot <= 10 => format!("{}{}", &s[..MAX - (s.len() - dot)], &s[dot..]),
        _ => s[..MAX].to_string(),
    }
}

fn extension(name: &str) -> String {
    name.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).unwrap_or_default()
}

/// The Dateiformat code (code list `urn:xoev-de:xdomea:codeliste:dateiformat`, version 2.0).
pub(super) fn format_of(name: &str, media_type: &str, bytes: &[u8]) -> Format {
    let mt = media_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let ext = extension(name);
    let known = |code| Format { code, sonstiger_name: None, version: String::new() };
    if ext == "pdf" || mt == "application/pdf" {
        let code = if is_pdfa(bytes) { "044" } else { "018" };
        return Format { code, sonstiger_name: None, version: pdf_version(bytes) };
    }
    let by_ext = match ext.as_str() {
        "bmp" => Some("001"),
        "csv" => Some("002"),
        "doc" => Some("003"),
        "eml" => Some("006"),
        "htm" => Some("007"),
        "html" => Some("008"),
        "jpe" => Some("009"),
        "jpeg" => Some("010"),
        "jpg" => Some("011"),
        "msg" => Some("012"),
        "odp" => Some("013"),
        "ods" => Some("014"),
        "odt" => Some("015"),
        "png" => Some("019"),
        "ppt" => Some("020"),
        "rtf" => Some("022"),
        "tif" => Some("023"),
        "tiff" => Some("024"),
        "xls" => Some("028"),
        "xml" => Some("030"),
        "docx" => Some("035"),
        "xlsx" => Some("036"),
        "pptx" => Some("037"),
        "txt" => Some("045"),
        "p7s" => Some("049"),
        _ => None,
    };
    let by_type = match mt.as_str() {
        "image/png" => Some("019"),
        "image/jpeg" => Some("011"),
        "image/tiff" => Some("024"),
        "image/bmp" => Some("001"),
        "text/plain" => Some("045"),
        "text/csv" => Some("002"),
        "application/xml" | "text/xml" => Some("030"),
        _ => None,
    };
    match by_ext.or(by_type) {
        Some(code) => known(code),
        None => {
            let other = match (mt.as_str(), ext.as_str()) {
                ("application/json", _) | (_, "json") => "JSON (application/json)".to_string(),
                ("", "") => "unbekannt".to_string(),
                ("", ext) => format!(".{ext}"),
                (mt, _) => mt.to_string(),
            };
            // Code 100: "Sonstiges".
            Format { code: "100", sonstiger_name: Some(other), version: String::new() }
        }
    }
}

/// PDF/A declares itself in its XMP metadata (`pdfaid:part`), which is stored unfiltered.
fn is_pdfa(bytes: &[u8]) -> bool {
    const NEEDLE: &[u8] = b"pdfaid:part";
    bytes.windows(NEEDLE.len()).any(|w| w == NEEDLE)
}

/// `1.7` from a `%PDF-1.7` header, else empty.
fn pdf_version(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(16)];
    let Some(rest) = head.strip_prefix(b"%PDF-") else { return String::new() };
    rest.iter().take_while(|b| b.is_ascii_digit() || **b == b'.').map(|b| char::from(*b)).collect()
}
