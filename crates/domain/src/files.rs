//! Files citizens upload with an application: what a file really is (by its first
//! bytes, never by its name alone), whether a form field accepts it, and removing
//! metadata (camera, GPS position, software) from images before they are stored.

use crate::InvalidValue;

/// Images larger than this many pixels are refused: decoding them later (preview,
/// PDF) would need hundreds of megabytes.
pub const MAX_PIXELS: u64 = 40_000_000;

/// A file type we recognise by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Pdf,
    Png,
    Jpeg,
}

impl FileType {
    /// Recognises a file by its first bytes.
    #[must_use]
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"%PDF-") {
            Some(Self::Pdf)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else {
            None
        }
    }

    #[must_use]
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
        }
    }

    #[must_use]
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Self::Pdf => &["pdf"],
            Self::Png => &["png"],
            Self::Jpeg => &["jpg", "jpeg"],
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Pdf => "PDF-Dokument",
            Self::Png => "PNG-Bild",
            Self::Jpeg => "JPEG-Bild",
        }
    }
}

/// The lower-case extension of a file name ("" when there is none).
#[must_use]
pub fn extension(file_name: &str) -> String {
    file_name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default()
}

/// Checks an upload for a field that accepts `accept` (extensions, lower-case): the
/// name's extension must be allowed *and* match what the content really is; images
/// must not exceed [`MAX_PIXELS`]. Returns the recognised type.
///
/// # Errors
/// A German message naming the file.
pub fn check_upload(file_name: &str, bytes: &[u8], accept: &[String]) -> Result<FileType, InvalidValue> {
    let ext = extension(file_name);
    let allowed = accept.iter().map(|a| a.to_uppercase()).collect::<Vec<_>>().join(", ");
    if bytes.is_empty() {
        return Err(InvalidValue(format!("„{file_name}“ ist leer.")));
    }
    if !accept.iter().any(|a| a.eq_ignore_ascii_case(&ext)) {
        return Err(InvalidValue(format!(
            "„{file_name}“ hat ein Format, das hier nicht angenommen wird. Erlaubt: {allowed}."
        )));
    }
    let Some(kind) = FileType::sniff(bytes) else {
        return Err(InvalidValue(format!(
            "Der Inhalt von „{file_name}“ ist keine Datei im Format {allowed}. Bitte wandeln Sie die Datei um oder fotografieren Sie das Dokument."
        )));
    };
    if !kind.extensions().contains(&ext.as_str()) {
        return Err(InvalidValue(format!(
            "Der Dateiname „{file_name}“ endet auf „.{ext}“, der Inhalt ist aber ein {}. Bitte prüfen Sie die Datei.",
            kind.label()
        )));
    }
    if matches!(kind, FileType::Png | FileType::Jpeg) {
        let size = imagesize::blob_size(bytes)
            .map_err(|_| InvalidValue(format!("„{file_name}“ ist beschädigt und lässt sich nicht öffnen.")))?;
        if (size.width as u64).saturating_mul(size.height as u64) > MAX_PIXELS {
            return Err(InvalidValue(format!(
                "„{file_name}“ ist mit {} × {} Bildpunkten zu groß. Bitte verkleinern Sie das Bild (höchstens 40 Megapixel).",
                size.width, size.height
            )));
        }
    }
    Ok(kind)
}

/// Removes metadata from PNG and JPEG images (EXIF with GPS position and camera,
/// XMP, comments, text chunks); other files are returned unchanged. The pixels are
/// untouched, so the image looks the same. Malformed images are returned unchanged
/// (they passed the type check; the case worker still gets what was sent).
#[must_use]
pub fn strip_metadata(kind: FileType, bytes: Vec<u8>) -> Vec<u8> {
    match kind {
        FileType::Png => strip_png(&bytes).unwrap_or(bytes),
        FileType::Jpeg => strip_jpeg(&bytes).unwrap_or(bytes),
        FileType::Pdf => bytes,
    }
}

/// Drops the chunks that carry text or EXIF; each chunk is length, type, data, CRC,
/// so whole chunks can go without touching the others.
fn strip_png(b: &[u8]) -> Option<Vec<u8>> {
    const DROP: [&[u8; 4]; 5] = [b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"tIME"];
    // A caller that passes a type it did not detect could hand over fewer than the
    // eight signature bytes: leave such input alone instead of panicking.
    let mut out = b.get(..8)?.to_vec();
    let mut i = 8;
    while i < b.len() {
        let len = u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?) as usize;
        let end = i.checked_add(12)?.checked_add(len)?;
        let chunk = b.get(i..end)?;
        let kind = &chunk[4..8];
        if !DROP.iter().any(|d| d.as_slice() == kind) {
            out.extend_from_slice(chunk);
        }
        i = end;
        if kind == b"IEND" {
            break;
        }
    }
    Some(out)
}

/// Drops APP1–APP13 and APP15 segments (EXIF, XMP, IPTC, …) and comments before the
/// image data; APP0 (JFIF) and APP14 (Adobe colour transform) stay, they are needed
/// to show the colours right.
fn strip_jpeg(b: &[u8]) -> Option<Vec<u8>> {
    let mut out = vec![0xFF, 0xD8];
    let mut i = 2;
    loop {
        if *b.get(i)? != 0xFF {
            return None;
        }
        let marker = *b.get(i + 1)?;
        // Start of scan: the rest is image data.
        if marker == 0xDA {
            out.extend_from_slice(&b[i..]);
            return Some(out);
        }
        let len = u16::from_be_bytes([*b.get(i + 2)?, *b.get(i + 3)?]) as usize;
        let end = i + 2 + len;
        let segment = b.get(i..end)?;
        let metadata = matches!(marker, 0xE1..=0xED | 0xEF | 0xFE);
        if !metadata {
            out.extend_from_slice(segment);
        }
        i = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_too_short_png_is_left_alone_instead_of_panicking() {
        assert_eq!(strip_metadata(FileType::Png, b"\x89PNG".to_vec()), b"\x89PNG".to_vec());
    }

    fn png_with_text() -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
        let chunk = |kind: &[u8], data: &[u8]| {
            let mut c = (data.len() as u32).to_be_bytes().to_vec();
            c.extend_from_slice(kind);
            c.extend_from_slice(data);
            c.extend_from_slice(&[0, 0, 0, 0]);
            c
        };
        let mut ihdr = 1u32.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&1u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        b.extend(chunk(b"IHDR", &ihdr));
        b.extend(chunk(b"tEXt", b"Author\0Erika Mustermann"));
        b.extend(chunk(b"IDAT", b"xx"));
        b.extend(chunk(b"IEND", b""));
        b
    }

    #[test]
    fn type_is_judged_by_content_and_name() {
        let accept = vec!["pdf".to_owned(), "png".to_owned()];
        assert_eq!(check_upload("a.pdf", b"%PDF-1.7 x", &accept).unwrap(), FileType::Pdf);
        assert!(check_upload("a.pdf", b"MZ\x90\x00", &accept).unwrap_err().0.contains("Inhalt"));
        assert!(check_upload("a.png", b"%PDF-1.7", &accept).unwrap_err().0.contains("endet auf"));
        assert!(check_upload("a.exe", b"%PDF-1.7", &accept).unwrap_err().0.contains("Erlaubt: PDF, PNG"));
        assert!(check_upload("a.pdf", b"", &accept).unwrap_err().0.contains("leer"));
        assert_eq!(check_upload("Foto.PNG", &png_with_text(), &accept).unwrap(), FileType::Png);
    }

    #[test]
    fn huge_images_are_refused() {
        let mut b = png_with_text();
        // IHDR width and height (bytes 16..24): 10000 × 10000.
        b[16..20].copy_from_slice(&10_000u32.to_be_bytes());
        b[20..24].copy_from_slice(&10_000u32.to_be_bytes());
        assert!(check_upload("a.png", &b, &["png".into()]).unwrap_err().0.contains("Megapixel"));
    }

    #[test]
    fn metadata_is_removed() {
        let png = strip_metadata(FileType::Png, png_with_text());
        assert!(!png.windows(6).any(|w| w == b"Erika "), "text chunk gone");
        assert!(png.windows(4).any(|w| w == b"IDAT"), "image data kept");
        let jpeg = [
            &[0xFF, 0xD8][..],
            &[0xFF, 0xE0, 0x00, 0x04, 0x4A, 0x46],
            &[0xFF, 0xE1, 0x00, 0x08, b'E', b'x', b'i', b'f', b'G', b'P'],
            &[0xFF, 0xFE, 0x00, 0x04, b'h', b'i'],
            &[0xFF, 0xDA, 0x00, 0x02, 1, 2, 3, 0xFF, 0xD9],
        ]
        .concat();
        let out = strip_metadata(FileType::Jpeg, jpeg);
        assert_eq!(
            out,
            [&[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x4A, 0x46][..], &[0xFF, 0xDA, 0x00, 0x02, 1, 2, 3, 0xFF, 0xD9]]
                .concat()
        );
        assert_eq!(
            strip_metadata(FileType::Jpeg, vec![0xFF, 0xD8, 0x00]),
            vec![0xFF, 0xD8, 0x00],
            "malformed: unchanged"
        );
    }
}
