//! The ZIP container: the message and the Primärdokumente, built from one package with
//! stable names and times so that a repeat build gives the same bytes.

use super::documents::documents;
use super::ids::{derived_uuid, timestamp, zip_time};
use super::message::message;
use super::{Export, NACHRICHTENTYP, XdomeaError};
use crate::package::Package;
use std::io::{Cursor, Write as _};

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
