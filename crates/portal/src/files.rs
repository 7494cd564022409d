//! Stored files: putting and getting sealed bytes in the object store, and checking an
//! uploaded file before it is kept — name *and* content against the field's
//! allowlist, the image pixel limit, the virus scanner (clamd protocol) when one is
//! configured; images lose their metadata.

use crate::{Portal, PortalError, Result};
use amtsweg_domain::files::{FileType, check_upload, strip_metadata};
use amtsweg_forms::{Form, Item, Kind};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Stores bytes (already sealed) under `key`.
///
/// # Errors
/// When the object store fails.
pub async fn put(portal: &Portal, key: &str, bytes: Vec<u8>) -> Result<()> {
    portal
        .objects
        .put(&object_store::path::Path::from(key), bytes.into())
        .await
        .map(|_| ())
        .map_err(|e| PortalError::objects(&e))
}

/// Reads back what [`put`] stored as sealed text; `NotFound` when it is gone.
///
/// # Errors
/// When the object store fails or the object is not sealed text.
pub async fn get_sealed(portal: &Portal, key: &str) -> Result<String> {
    let sealed = match portal.objects.get(&object_store::path::Path::from(key)).await {
        Ok(r) => r.bytes().await.map_err(|e| PortalError::Objects(e.to_string()))?,
        Err(object_store::Error::NotFound { .. }) => return Err(PortalError::NotFound),
        Err(e) => return Err(PortalError::Objects(e.to_string())),
    };
    String::from_utf8(sealed.to_vec()).map_err(|_| PortalError::Internal("stored file is not sealed".into()))
}

/// Deletes stored objects; a failure is only logged (an orphan file is harmless,
/// the rows that pointed at it are gone).
pub async fn delete_all(portal: &Portal, keys: impl IntoIterator<Item = String>) {
    for k in keys {
        if let Err(e) = portal.objects.delete(&object_store::path::Path::from(k)).await {
            tracing::debug!(error = %e, "stored file not deleted");
        }
    }
}

/// A file as posted, already within its size limits.
#[derive(Debug)]
pub struct PostedFile {
    /// The field id (files are only asked outside repeating groups).
    pub field: String,
    pub name: String,
    pub bytes: Vec<u8>,
}

/// A file that passed every check, ready to store.
#[derive(Debug)]
pub struct CheckedFile {
    pub field: String,
    pub name: String,
    pub kind: FileType,
    pub bytes: Vec<u8>,
    pub sha256: String,
}

/// Checks a posted file for its field: type by name and content, pixels, viruses;
/// strips image metadata.
///
/// # Errors
/// A message for the citizen (`Ok(Err)`), or an internal error.
pub async fn check(portal: &Portal, form: &Form, f: PostedFile) -> Result<Result<CheckedFile, String>> {
    let accept = form
        .steps
        .iter()
        .flat_map(|s| &s.items)
        .find_map(|i| match i {
            Item::Field(x) if x.id == f.field => match &x.kind {
                Kind::File { accept, .. } => Some(accept.clone()),
                _ => None,
            },
            _ => None,
        })
        .unwrap_or_default();
    let kind = match check_upload(&f.name, &f.bytes, &accept) {
        Ok(k) => k,
        Err(e) => return Ok(Err(e.0)),
    };
    if let Some(addr) = &portal.settings.clamd {
        match scan(addr, &f.bytes).await {
            Ok(Verdict::Clean) => {}
            Ok(Verdict::Infected(sig)) => {
                tracing::warn!(signature = %sig, "upload refused by the virus scanner");
                return Ok(Err(format!(
                    "In „{}“ wurde Schadsoftware gefunden. Die Datei wurde nicht angenommen.",
                    f.name
                )));
            }
            Err(e) => {
                // Fail closed: an unscanned file is not accepted.
                tracing::error!(error = %e, "virus scanner not reachable");
                return Ok(Err(format!(
                    "„{}“ konnte gerade nicht auf Schadsoftware geprüft werden. Bitte versuchen Sie es in einigen Minuten erneut.",
                    f.name
                )));
            }
        }
    }
    let bytes = strip_metadata(kind, f.bytes);
    let sha256 = hex::encode(Sha256::digest(&bytes));
    Ok(Ok(CheckedFile { field: f.field, name: f.name, kind, bytes, sha256 }))
}

/// What the virus scanner said.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    Infected(String),
}

/// Scans bytes with a clamd daemon (`host:port`, or `unix:/path/to/clamd.sock`)
/// using its INSTREAM command: the data in chunks, each with its length as four
/// bytes big-endian, ended by a zero length; clamd answers `stream: OK` or
/// `stream: <signature> FOUND`. Written by hand: the protocol is these few lines
/// and the crates for it pull in blocking I/O.
///
/// # Errors
/// When the scanner cannot be reached or answers something else.
pub async fn scan(addr: &str, bytes: &[u8]) -> std::io::Result<Verdict> {
    let timeout = std::time::Duration::from_secs(30);
    let run = async {
        if let Some(path) = addr.strip_prefix("unix:") {
            #[cfg(unix)]
            {
                let s = tokio::net::UnixStream::connect(path).await?;
                return talk(s, bytes).await;
            }
            #[cfg(not(unix))]
            {
                let _ = path;
                return Err(std::io::Error::other("unix sockets are not available here"));
            }
        }
        let s = tokio::net::TcpStream::connect(addr).await?;
        talk(s, bytes).await
    };
    tokio::time::timeout(timeout, run).await.map_err(|_| std::io::Error::other("virus scanner timed out"))?
}

async fn talk<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut s: S,
    bytes: &[u8],
) -> std::io::Result<Verdict> {
    s.write_all(b"zINSTREAM\0").await?;
    for chunk in bytes.chunks(64 * 1024) {
        s.write_all(&u32::try_from(chunk.len()).unwrap_or(u32::MAX).to_be_bytes()).await?;
        s.write_all(chunk).await?;
    }
    s.write_all(&[0, 0, 0, 0]).await?;
    s.flush().await?;
    let mut reply = Vec::new();
    s.take(4096).read_to_end(&mut reply).await?;
    let text = String::from_utf8_lossy(&reply);
    let text = text.trim_end_matches(['\0', '\n']).trim();
    let body = text.strip_prefix("stream:").map(str::trim).unwrap_or(text);
    if body == "OK" {
        Ok(Verdict::Clean)
    } else if let Some(sig) = body.strip_suffix("FOUND") {
        Ok(Verdict::Infected(sig.trim().to_owned()))
    } else {
        Err(std::io::Error::other(format!("unexpected answer from clamd: {text}")))
    }
}
