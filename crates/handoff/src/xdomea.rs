//! xdomea 3.0 export: hands one submission to a document management system (DMS, e-Akte)
//! as an xdomea message in the standard ZIP container, either written to a DMS import
//! directory or POSTed to an HTTP endpoint. Authorities without FIT-Connect can still file
//! every application in their e-Akte without retyping anything.
//!
//! **Message type: `FVDaten.SGOAblegen.0605`.** It is the message with which a Fachverfahren
//! (here: the portal) hands a new, finished Schriftgutobjekt to the DMS for filing ("Übergabe
//! von neuen Schriftgutobjekten an das DMS zur Ablage"); `SGOErstellen.0604` is meant for
//! interactive creation (it opens the object in the DMS), and `Abgabe.Abgabe.0401` for transfer
//! of responsibility between two DMS.
//!
//! **Content:** one Vorgang (Betreff = form title and Eingangsnummer, Kennzeichen = Eingangsnummer)
//! with the Dokumente: the Eingangsbestätigung (receipt PDF), every attachment, the answers as
//! JSON and as plain text. The container `<ProzessID>_FVDaten.SGOAblegen.0605.zip` holds the
//! message `<ProzessID>_FVDaten.SGOAblegen.0605.xml` and the Primärdokumente, each named
//! `<UUID>_<safe name>` exactly as referenced by `Primaerdokument/Dateiname`; the original file
//! name goes to `DateinameOriginal`. xdomea has no field for a document's checksum or size, so
//! both (and the media type) travel per Dokument in an `AnwendungsspezifischeErweiterung`.
//!
//! **Repeat deliveries:** every UUID (ProzessID, Vorgang, Dokumente) is derived from the
//! package's idempotency key, so a retry carries the same ProzessID and file name (the DMS can
//! recognise it, and [`write_to_dir`] never creates a second file) and, built with the same
//! `created_at_ms` (e.g. the outbox entry's creation time), the very same bytes.

use crate::package::{Package, PackageFile};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{Cursor, Write as _};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt as _;
use uuid::Uuid;

/// The xdomea 3.0.0 namespace.
pub const NAMESPACE: &str = "urn:xoev-de:xdomea:schema:3.0.0";
/// Name of the message (root element) and suffix of the container's file names.
pub const NACHRICHTENTYP: &str = "FVDaten.SGOAblegen.0605";
const NACHRICHTENTYP_CODE: &str = "0605";
const NACHRICHTENTYP_NAME: &str = "FVDaten.SGOAblegen";

const LIST_NACHRICHTENTYP: (&str, &str) = ("urn:xoev-de:xdomea:codeliste:nachrichtentyp", "2.0");
const LIST_MEDIUM: (&str, &str) = ("urn:xoev-de:xdomea:codeliste:medium", "1.0");
const LIST_DATEIFORMAT: (&str, &str) = ("urn:xoev-de:xdomea:codeliste:dateiformat", "2.0");
/// Medium code 001: "Elektronisch".
const MEDIUM_ELEKTRONISCH: &str = "001";
/// Who we are in `Erstellerkennung`, `Akteur`, `Ersteller` and `SendendesSystem`.
const SYSTEM: &str = "Amtsweg";
const ERWEITERUNG_VORGANG: &str = "urn:amtsweg:xdomea:antrag";
const ERWEITERUNG_DOKUMENT: &str = "urn:amtsweg:xdomea:primaerdokument";

/// Errors of the xdomea connector.
#[derive(Debug, thiserror::Error)]
pub enum XdomeaError {
    #[error("xdomea: the package cannot be exported: {0}")]
    Package(String),
    #[error("xdomea: cannot write the XML message: {0}")]
    Xml(String),
    #[error("xdomea: cannot build the ZIP container: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("xdomea: I/O error at {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("xdomea: HTTP request failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("xdomea: the endpoint answered HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("xdomea: invalid configuration: {0}")]
    Config(String),
}

impl XdomeaError {
    /// Whether a later attempt may succeed: I/O and transport errors, HTTP 408, 429 and 5xx.
    /// Broken packages, configuration errors and other HTTP answers need a human.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Io { .. } => true,
            Self::Http(e) => !e.is_builder() && !e.is_redirect(),
            Self::Status { status, .. } => *status == 408 || *status == 429 || (500..=599).contains(status),
            Self::Package(_) | Self::Xml(_) | Self::Zip(_) | Self::Config(_) => false,
        }
    }
}

/// A finished export: the ZIP container and, for logs and tests, the message inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// `<ProzessID>_FVDaten.SGOAblegen.0605.zip`.
    pub file_name: String,
    pub zip: Vec<u8>,
    /// The message XML as contained in the ZIP.
    pub xml: String,
}

/// Where the xdomea container goes, as configured per authority:
/// `{"directory": "/srv/dms/import"}` or `{"url": "https://dms.example/xdomea"}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XdomeaConfig {
    /// A DMS import folder (absolute path) the container is written to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<PathBuf>,
    /// An HTTP(S) endpoint the container is POSTed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A validated [`XdomeaConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XdomeaTarget {
    Directory(PathBuf),
    Url(reqwest::Url),
}

impl XdomeaConfig {
    /// Checks the configuration and returns where to deliver.
    ///
    /// # Errors
    /// [`XdomeaError::Config`] with a message naming the offending setting.
    pub fn validate(&self) -> Result<XdomeaTarget, XdomeaError> {
        let err = |m: String| Err(XdomeaError::Config(m));
        match (&self.directory, &self.url) {
            (Some(_), Some(_)) => err("set either \"directory\" or \"url\", not both".into()),
            (None, None) => {
                err("set \"directory\" (a DMS import folder) or \"url\" (an HTTP endpoint of the DMS)".into())
            }
            (Some(dir), None) => {
                if dir.as_os_str().is_empty() {
                    err("\"directory\" is empty".into())
                } else if !dir.is_absolute() {
                    err(format!("\"directory\" must be an absolute path, got \"{}\"", dir.display()))
                } else {
                    Ok(XdomeaTarget::Directory(dir.clone()))
                }
            }
            (None, Some(raw)) => {
                let url = match reqwest::Url::parse(raw.trim()) {
                    Ok(u) => u,
                    Err(e) => return err(format!("\"url\" is not a valid URL ({e}): \"{raw}\"")),
                };
                match url.scheme() {
                    "https" => Ok(XdomeaTarget::Url(url)),
                    "http" if is_loopback(&url) => Ok(XdomeaTarget::Url(url)),
                    "http" => {
                        err(format!("\"url\" must use https (plain http is accepted for localhost only): \"{raw}\""))
                    }
                    other => err(format!("\"url\" must be an https URL, not {other}: \"{raw}\"")),
                }
            }
        }
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else { return false };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Builds the xdomea container for `p`. `created_at_ms` (milliseconds since the epoch, UTC) is
/// the message's Erstellungszeitpunkt and the ZIP entries' time; pass a stable value (the outbox
/// entry's creation time) to get byte-identical exports on retries.
///
/// # Errors
/// [`XdomeaError::Package`] for an empty idempotency key, a missing receipt, an attachment whose
/// bytes do not match the recorded SHA-256 or a time out of range; XML/ZIP errors otherwise.
pub fn build(p: &Package, created_at_ms: i64) -> Result<Export, XdomeaError> {
    let key = p.idempotency_key.trim();
    if key.is_empty() {
        return Err(XdomeaError::Package("the idempotency key is empty".into()));
    }
    if p.receipt_pdf.is_empty() {
        return Err(XdomeaError::Package("the receipt PDF (Eingangsbestätigung) is missing".into()));
    }
    let created = timestamp(created_at_ms)?;
    let submitted = timestamp(p.submitted_at_ms)?;
    let prozess_id = derived_uuid(key, "prozess");
    let base = format!("{prozess_id}_{NACHRICHTENTYP}");
    let docs = documents(p, key, submitted)?;
    let xml = message(p, key, prozess_id, created, submitted, &docs)?;
    let xml_name = format!("{base}.xml");

    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip_time(created))
        .unix_permissions(0o644);
    zip.start_file(xml_name.as_str(), options)?;
    zip.write_all(xml.as_bytes()).map_err(|e| XdomeaError::Zip(e.into()))?;
    for d in &docs {
        let large = u32::try_from(d.bytes.len()).is_err();
        zip.start_file(d.file_name.as_str(), options.large_file(large))?;
        zip.write_all(&d.bytes).map_err(|e| XdomeaError::Zip(e.into()))?;
    }
    let zip = zip.finish()?.into_inner();
    Ok(Export { file_name: format!("{base}.zip"), zip, xml })
}

/// Writes the container into `dir` (a DMS import folder) and returns its path.
///
/// Atomic: written to a hidden temporary name in the same folder, fsync'd, renamed, folder
/// fsync'd, so an importer never sees half a file. Idempotent: the file name follows from the
/// idempotency key, and an existing file with identical content is left untouched. An existing
/// file with different content (a rebuild with another `created_at_ms`) is replaced atomically.
///
/// # Errors
/// [`XdomeaError::Io`] (retryable), e.g. when the folder does not exist or is not writable.
pub async fn write_to_dir(dir: &Path, e: &Export) -> Result<PathBuf, XdomeaError> {
    if e.file_name.is_empty() || e.file_name.contains(['/', '\\']) || e.file_name.starts_with('.') {
        return Err(XdomeaError::Package(format!("unsafe container file name \"{}\"", e.file_name)));
    }
    let target = dir.join(&e.file_name);
    match tokio::fs::metadata(&target).await {
        Ok(meta) => {
            if meta.is_file() && meta.len() == e.zip.len() as u64 {
                let existing = tokio::fs::read(&target).await.map_err(io_at(&target))?;
                if existing == e.zip {
                    return Ok(target);
                }
            }
            tracing::warn!(path = %target.display(), "xdomea: replacing an export with different content");
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(io_at(&target)(err)),
    }

    let tmp = dir.join(format!(".{}.{}.part", e.file_name, Uuid::new_v4().simple()));
    let written = async {
        let mut f = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&tmp).await?;
        f.write_all(&e.zip).await?;
        f.sync_all().await?;
        drop(f);
        tokio::fs::rename(&tmp, &target).await
    }
    .await;
    if let Err(err) = written {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(io_at(&tmp)(err));
    }
    sync_dir(dir).await?;
    Ok(target)
}

#[cfg(unix)]
async fn sync_dir(dir: &Path) -> Result<(), XdomeaError> {
    let d = tokio::fs::File::open(dir).await.map_err(io_at(dir))?;
    d.sync_all().await.map_err(io_at(dir))
}

#[cfg(not(unix))]
async fn sync_dir(_dir: &Path) -> Result<(), XdomeaError> {
    Ok(())
}

/// POSTs the container to `url` as `application/zip` with an `Idempotency-Key` header (and the
/// container's name in `Content-Disposition`). Any 2xx is success.
///
/// # Errors
/// [`XdomeaError::Status`] for other answers, [`XdomeaError::Http`] for transport errors; see
/// [`XdomeaError::is_retryable`].
pub async fn post(client: &reqwest::Client, url: &str, e: &Export, idempotency_key: &str) -> Result<(), XdomeaError> {
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/zip")
        .header("Idempotency-Key", idempotency_key)
        .header(reqwest::header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", e.file_name))
        .body(e.zip.clone())
        .send()
        .await?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let mut body = response.text().await.unwrap_or_default();
    if let Some((cut, _)) = body.char_indices().nth(500) {
        body.truncate(cut);
        body.push('…');
    }
    Err(XdomeaError::Status { status: status.as_u16(), body })
}

/// Builds the export for `p` and delivers it to `target`.
///
/// # Errors
/// As [`build`], [`write_to_dir`] and [`post`].
pub async fn deliver(
    client: &reqwest::Client,
    target: &XdomeaTarget,
    p: &Package,
    created_at_ms: i64,
) -> Result<(), XdomeaError> {
    let e = build(p, created_at_ms)?;
    match target {
        XdomeaTarget::Directory(dir) => write_to_dir(dir, &e).await.map(|_| ()),
        XdomeaTarget::Url(url) => post(client, url.as_str(), &e, &p.idempotency_key).await,
    }
}

fn io_at(path: &Path) -> impl Fn(std::io::Error) -> XdomeaError + '_ {
    move |source| XdomeaError::Io { path: path.to_path_buf(), source }
}

// ---------------------------------------------------------------------------------------------
// Documents

/// One Dokument of the Vorgang with its Primärdokument.
struct Doc<'a> {
    id: Uuid,
    betreff: String,
    typ: &'static str,
    /// Received from the citizen (Posteingangsdatum) rather than produced by the portal.
    incoming: bool,
    original_name: String,
    /// Name inside the ZIP, `<UUID>_<safe name>`.
    file_name: String,
    media_type: String,
    field: Option<&'a str>,
    ersteller: Option<&'static str>,
    format: Format,
    bytes: Cow<'a, [u8]>,
    sha256: String,
}

struct Format {
    /// Code of the xdomea code list Dateiformat 2.0.
    code: &'static str,
    sonstiger_name: Option<String>,
    version: String,
}

fn documents<'a>(p: &'a Package, key: &str, submitted: jiff::Timestamp) -> Result<Vec<Doc<'a>>, XdomeaError> {
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
fn safe_file_name(name: &str) -> String {
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
fn format_of(name: &str, media_type: &str, bytes: &[u8]) -> Format {
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

// ---------------------------------------------------------------------------------------------
// The message

fn message(
    p: &Package,
    key: &str,
    prozess_id: Uuid,
    created: jiff::Timestamp,
    submitted: jiff::Timestamp,
    docs: &[Doc<'_>],
) -> Result<String, XdomeaError> {
    let mut x = Xml::new();
    x.decl()?;
    x.open_with(NACHRICHTENTYP, &[("xmlns:xdomea", NAMESPACE)])?;

    x.open("Kopf")?;
    x.leaf("ProzessID", &prozess_id.to_string())?;
    x.code("Nachrichtentyp", LIST_NACHRICHTENTYP, NACHRICHTENTYP_CODE, Some(NACHRICHTENTYP_NAME))?;
    x.leaf("Erstellungszeitpunkt", &xs_date_time(created))?;
    x.kontakt("Absender", p)?;
    x.kontakt("Empfaenger", p)?;
    x.open("SendendesSystem")?;
    x.leaf("Produktname", SYSTEM)?;
    x.leaf("Version", env!("CARGO_PKG_VERSION"))?;
    x.close("SendendesSystem")?;
    x.leaf("Empfangsbestaetigung", "0")?;
    x.leaf("Importbestaetigung", "1")?;
    x.leaf("Erstellerkennung", "amtsweg")?;
    x.leaf("Stapel", "0")?;
    x.close("Kopf")?;

    x.open("SchriftgutobjektZumAblegen")?;
    x.leaf("FachverfahrenObjektID", &p.receipt_number)?;
    x.open("Schriftgutobjekt")?;
    x.open("Vorgang")?;
    x.open("Identifikation")?;
    x.leaf("ID", &derived_uuid(key, "vorgang").to_string())?;
    x.close("Identifikation")?;
    x.open("AllgemeineMetadaten")?;
    x.leaf("Betreff", &format!("{} – {}", p.form.title, p.receipt_number))?;
    x.leaf("Kennzeichen", &p.receipt_number)?;
    x.leaf(
        "Bemerkung",
        &format!("Online eingereicht über {SYSTEM}; Leistung {} (LeiKa {})", p.form.leistung_name, p.form.leika),
    )?;
    x.code("Medium", LIST_MEDIUM, MEDIUM_ELEKTRONISCH, None)?;
    x.close("AllgemeineMetadaten")?;
    x.open("HistorienProtokollInformation")?;
    x.leaf("Akteur", SYSTEM)?;
    x.leaf("DatumUhrzeit", &xs_date_time(submitted))?;
    x.leaf("Aktion", &format!("Antrag online eingereicht, Eingangsnummer {}", p.receipt_number))?;
    x.close("HistorienProtokollInformation")?;

    for (n, d) in docs.iter().enumerate() {
        x.dokument(p, d, n + 1, submitted)?;
    }

    let submitted_s = xs_date_time(submitted);
    let version = p.form.version.to_string();
    let mut felder: Vec<(&str, &str, &str)> = vec![
        ("Eingangsnummer", "Eingangsnummer des Antrags", p.receipt_number.as_str()),
        ("Eingangszeitpunkt", "Zeitpunkt des Eingangs (UTC)", submitted_s.as_str()),
        ("Formular", "Kennung des Formulars", p.form.slug.as_str()),
        ("Formularversion", "Version des Formulars", version.as_str()),
        ("LeiKa", "LeiKa-Schlüssel der Leistung", p.form.leika.as_str()),
        ("Leistung", "Name der Leistung", p.form.leistung_name.as_str()),
        ("ARS", "Amtlicher Regionalschlüssel der Behörde", p.authority.ars.as_str()),
    ];
    if let Some(ags) = &p.authority.ags {
        felder.push(("AGS", "Amtlicher Gemeindeschlüssel der Behörde", ags));
    }
    felder.push((
        "Datenpruefsumme",
        "SHA-256 über die Antragsdaten und Anlagen (wie auf der Eingangsbestätigung)",
        &p.data_hash,
    ));
    x.erweiterung(ERWEITERUNG_VORGANG, "Amtsweg Antrag", &felder)?;

    x.close("Vorgang")?;
    x.close("Schriftgutobjekt")?;
    x.close("SchriftgutobjektZumAblegen")?;
    x.close(NACHRICHTENTYP)?;
    x.finish()
}

/// A small layer over quick-xml's writer: every element in the xdomea namespace, all text
/// escaped and stripped of characters XML 1.0 cannot carry.
struct Xml {
    w: Writer<Vec<u8>>,
}

fn xml_err(e: std::io::Error) -> XdomeaError {
    XdomeaError::Xml(e.to_string())
}

impl Xml {
    fn new() -> Self {
        Self { w: Writer::new_with_indent(Vec::new(), b' ', 2) }
    }

    fn decl(&mut self) -> Result<(), XdomeaError> {
        self.w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None))).map_err(xml_err)
    }

    fn open(&mut self, name: &str) -> Result<(), XdomeaError> {
        self.open_with(name, &[])
    }

    fn open_with(&mut self, name: &str, attrs: &[(&str, &str)]) -> Result<(), XdomeaError> {
        let mut start = BytesStart::new(format!("xdomea:{name}"));
        for (k, v) in attrs {
            start.push_attribute((*k, xml_safe(v).as_ref()));
        }
        self.w.write_event(Event::Start(start)).map_err(xml_err)
    }

    fn close(&mut self, name: &str) -> Result<(), XdomeaError> {
        self.w.write_event(Event::End(BytesEnd::new(format!("xdomea:{name}")))).map_err(xml_err)
    }

    fn text(&mut self, text: &str) -> Result<(), XdomeaError> {
        self.w.write_event(Event::Text(BytesText::new(&xml_safe(text)))).map_err(xml_err)
    }

    fn leaf(&mut self, name: &str, text: &str) -> Result<(), XdomeaError> {
        self.open(name)?;
        self.text(text)?;
        self.close(name)
    }

    /// An element without namespace (the `code` and `name` children of XÖV codes).
    fn unqualified(&mut self, name: &str, text: &str) -> Result<(), XdomeaError> {
        self.w.write_event(Event::Start(BytesStart::new(name))).map_err(xml_err)?;
        self.text(text)?;
        self.w.write_event(Event::End(BytesEnd::new(name))).map_err(xml_err)
    }

    /// An XÖV code: `listURI`/`listVersionID` attributes, `code` and optionally `name`.
    fn code(&mut self, name: &str, list: (&str, &str), code: &str, code_name: Option<&str>) -> Result<(), XdomeaError> {
        self.open_with(name, &[("listURI", list.0), ("listVersionID", list.1)])?;
        self.unqualified("code", code)?;
        if let Some(n) = code_name {
            self.unqualified("name", n)?;
        }
        self.close(name)
    }

    /// Absender/Empfänger: the authority, with its AGS as Behördenkennung (prefix `ags:`) if it
    /// has one.
    fn kontakt(&mut self, element: &str, p: &Package) -> Result<(), XdomeaError> {
        self.open(element)?;
        if let Some(ags) = p.authority.ags.as_deref().filter(|a| !a.trim().is_empty()) {
            self.open("Behoerdenkennung")?;
            self.open("Behoerdenschluessel")?;
            self.unqualified("code", ags.trim())?;
            self.close("Behoerdenschluessel")?;
            self.open("Praefix")?;
            self.unqualified("code", "ags:")?;
            self.close("Praefix")?;
            self.close("Behoerdenkennung")?;
        }
        self.open("Institution")?;
        self.leaf("Name", &p.authority.name)?;
        self.close("Institution")?;
        self.close(element)
    }

    fn dokument(&mut self, p: &Package, d: &Doc<'_>, n: usize, submitted: jiff::Timestamp) -> Result<(), XdomeaError> {
        self.open("Dokument")?;
        self.open("Identifikation")?;
        self.leaf("ID", &d.id.to_string())?;
        self.leaf("NummerImUebergeordnetenContainer", &n.to_string())?;
        self.close("Identifikation")?;
        self.open("AllgemeineMetadaten")?;
        self.leaf("Betreff", &d.betreff)?;
        self.leaf("Kennzeichen", &p.receipt_number)?;
        self.code("Medium", LIST_MEDIUM, MEDIUM_ELEKTRONISCH, None)?;
        self.close("AllgemeineMetadaten")?;
        let date = xs_date(submitted);
        self.leaf(if d.incoming { "Posteingangsdatum" } else { "DatumDesSchreibens" }, &date)?;
        self.leaf("Typ", d.typ)?;
        self.open("Version")?;
        self.leaf("Nummer", "1")?;
        self.open("Format")?;
        self.open_with("Name", &[("listURI", LIST_DATEIFORMAT.0), ("listVersionID", LIST_DATEIFORMAT.1)])?;
        self.unqualified("code", d.format.code)?;
        self.close("Name")?;
        if let Some(other) = &d.format.sonstiger_name {
            self.leaf("SonstigerName", other)?;
        }
        self.leaf("Version", &d.format.version)?;
        self.open("Primaerdokument")?;
        self.leaf("Dateiname", &d.file_name)?;
        self.leaf("DateinameOriginal", &d.original_name)?;
        if let Some(e) = d.ersteller {
            self.leaf("Ersteller", e)?;
        }
        self.leaf("DatumUhrzeit", &xs_date_time(submitted))?;
        self.close("Primaerdokument")?;
        self.close("Format")?;
        self.close("Version")?;
        let size = d.bytes.len().to_string();
        let mut felder = vec![
            ("SHA-256", "SHA-256-Prüfsumme des Primärdokuments (hex)", d.sha256.as_str()),
            ("Dateigroesse", "Größe des Primärdokuments in Bytes", size.as_str()),
            ("Medientyp", "Medientyp (MIME) des Primärdokuments", d.media_type.as_str()),
        ];
        if let Some(field) = d.field {
            felder.push(("Formularfeld", "Formularfeld, zu dem die Datei hochgeladen wurde", field));
        }
        self.erweiterung(ERWEITERUNG_DOKUMENT, "Amtsweg Primärdokument", &felder)?;
        self.close("Dokument")
    }

    /// `AnwendungsspezifischeErweiterung` with one `Feld` (Name, Beschreibung, Wert) per entry.
    fn erweiterung(&mut self, kennung: &str, name: &str, felder: &[(&str, &str, &str)]) -> Result<(), XdomeaError> {
        self.open("AnwendungsspezifischeErweiterung")?;
        self.leaf("Kennung", kennung)?;
        self.leaf("Name", name)?;
        for (feld, beschreibung, wert) in felder {
            self.open("Feld")?;
            self.leaf("Name", feld)?;
            self.leaf("Beschreibung", beschreibung)?;
            self.leaf("Wert", wert)?;
            self.close("Feld")?;
        }
        self.close("AnwendungsspezifischeErweiterung")
    }

    fn finish(self) -> Result<String, XdomeaError> {
        let mut bytes = self.w.into_inner();
        bytes.push(b'\n');
        String::from_utf8(bytes).map_err(|e| XdomeaError::Xml(e.to_string()))
    }
}

/// Replaces characters XML 1.0 cannot carry even escaped (most C0 controls, U+FFFE/U+FFFF)
/// with U+FFFD; escaping of `<>&"'` is done by quick-xml.
fn xml_safe(s: &str) -> Cow<'_, str> {
    fn ok(c: char) -> bool {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
    }
    if s.chars().all(ok) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.chars().map(|c| if ok(c) { c } else { '\u{FFFD}' }).collect())
    }
}

// ---------------------------------------------------------------------------------------------
// Ids and times

/// A UUID (version 8, "custom") derived from the idempotency key and the object's role, so a
/// repeat export of the same package carries the same ids.
fn derived_uuid(key: &str, role: &str) -> Uuid {
    let digest = Sha256::new()
        .chain_update(b"amtsweg:xdomea:1\0")
        .chain_update(key.as_bytes())
        .chain_update(b"\0")
        .chain_update(role.as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

fn timestamp(ms: i64) -> Result<jiff::Timestamp, XdomeaError> {
    jiff::Timestamp::from_millisecond(ms).map_err(|e| XdomeaError::Package(format!("time {ms} out of range: {e}")))
}

/// `xs:dateTime` in UTC, whole seconds.
fn xs_date_time(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn berlin(t: jiff::Timestamp) -> jiff::Zoned {
    t.in_tz("Europe/Berlin").unwrap_or_else(|_| t.to_zoned(jiff::tz::TimeZone::UTC))
}

/// `xs:date` of the day in Germany (a submission at 00:30 local time belongs to that day).
fn xs_date(t: jiff::Timestamp) -> String {
    berlin(t).strftime("%Y-%m-%d").to_string()
}

fn local_display(t: jiff::Timestamp) -> String {
    berlin(t).strftime("%d.%m.%Y %H:%M:%S %Z").to_string()
}

/// ZIP entries carry local (German) time; before 1980 is not representable.
fn zip_time(t: jiff::Timestamp) -> zip::DateTime {
    let z = berlin(t);
    let parts = (
        u16::try_from(z.year()).ok(),
        u8::try_from(z.month()).ok(),
        u8::try_from(z.day()).ok(),
        u8::try_from(z.hour()).ok(),
        u8::try_from(z.minute()).ok(),
        u8::try_from(z.second()).ok(),
    );
    match parts {
        (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) => {
            zip::DateTime::from_date_and_time(y, mo, d, h, mi, s).unwrap_or_default()
        }
        _ => zip::DateTime::default(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::package::sample;
    use std::collections::BTreeMap;
    use std::io::Read as _;

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
        let parse = |s: &str| serde_json::from_str::<XdomeaConfig>(s).unwrap().validate();
        assert_eq!(parse(r#"{"directory": "/srv/dms"}"#).unwrap(), XdomeaTarget::Directory("/srv/dms".into()));
        assert!(matches!(parse(r#"{"url": "https://dms.example/import"}"#).unwrap(), XdomeaTarget::Url(_)));
        assert!(matches!(parse(r#"{"url": "http://127.0.0.1:8080/x"}"#).unwrap(), XdomeaTarget::Url(_)));
        let msg = |s: &str| parse(s).unwrap_err().to_string();
        assert!(msg("{}").contains("set \"directory\""));
        assert!(msg(r#"{"directory": "/a", "url": "https://b"}"#).contains("not both"));
        assert!(msg(r#"{"directory": "relative/dir"}"#).contains("absolute"));
        assert!(msg(r#"{"url": "http://dms.example/x"}"#).contains("https"));
        assert!(msg(r#"{"url": "not a url"}"#).contains("not a valid URL"));
        assert!(serde_json::from_str::<XdomeaConfig>(r#"{"dir": "/x"}"#).is_err());
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
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
                        })
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
        assert!(err.to_string().contains("400") && err.to_string().contains("nope"));
    }
}
