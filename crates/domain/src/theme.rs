//! Per-authority look beyond colours: the logo (format, size and dimensions checked
//! from the bytes themselves) and the links in the footer.

use crate::InvalidValue;
use serde::{Deserialize, Serialize};

/// Largest logo accepted, in bytes. A header logo never needs more.
pub const MAX_LOGO_BYTES: usize = 512 * 1024;
/// Largest logo side in pixels; bigger images only cost every visitor bandwidth.
pub const MAX_LOGO_SIDE: usize = 2000;
/// At most this many footer links per authority.
pub const MAX_FOOTER_LINKS: usize = 8;

/// Image formats accepted for logos. SVG is deliberately not among them: it can
/// carry script and external references, and raster logos serve every purpose here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoFormat {
    Png,
    Jpeg,
    Webp,
}

impl LogoFormat {
    #[must_use]
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Webp => "image/webp",
        }
    }

    #[must_use]
    pub fn from_content_type(s: &str) -> Option<Self> {
        [Self::Png, Self::Jpeg, Self::Webp].into_iter().find(|f| f.content_type() == s)
    }

    fn extensions(self) -> &'static [&'static str] {
        match self {
            Self::Png => &["png"],
            Self::Jpeg => &["jpg", "jpeg"],
            Self::Webp => &["webp"],
        }
    }

    /// The format the bytes really have (magic numbers), whatever the name claims.
    #[must_use]
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(Self::Jpeg)
        } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(Self::Webp)
        } else {
            None
        }
    }
}

/// Checks an uploaded logo: allowed extension, content matching that extension,
/// size and pixel dimensions. The message says what to do instead.
///
/// # Errors
/// With a German message naming the problem.
pub fn check_logo(file_name: &str, bytes: &[u8]) -> Result<LogoFormat, InvalidValue> {
    if bytes.is_empty() {
        return Err(InvalidValue("Bitte wählen Sie eine Bilddatei aus.".into()));
    }
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(InvalidValue(format!(
            "Die Datei ist {} KB groß; ein Logo darf höchstens {} KB groß sein.",
            bytes.len().div_ceil(1024),
            MAX_LOGO_BYTES / 1024
        )));
    }
    let ext = file_name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    let Some(format) = LogoFormat::sniff(bytes) else {
        return Err(InvalidValue(
            "Die Datei ist kein PNG-, JPEG- oder WebP-Bild. Bitte laden Sie das Logo in einem dieser Formate hoch."
                .into(),
        ));
    };
    if !format.extensions().contains(&ext.as_str()) {
        return Err(InvalidValue(format!(
            "Der Dateiname endet auf „.{ext}“, der Inhalt ist aber ein {}-Bild. Bitte prüfen Sie die Datei.",
            match format {
                LogoFormat::Png => "PNG",
                LogoFormat::Jpeg => "JPEG",
                LogoFormat::Webp => "WebP",
            }
        )));
    }
    let size = imagesize::blob_size(bytes).map_err(|_| {
        InvalidValue("Das Bild ist beschädigt oder unvollständig und kann nicht gelesen werden.".into())
    })?;
    if size.width == 0 || size.height == 0 || size.width > MAX_LOGO_SIDE || size.height > MAX_LOGO_SIDE {
        return Err(InvalidValue(format!(
            "Das Bild ist {} × {} Pixel groß; erlaubt sind höchstens {MAX_LOGO_SIDE} × {MAX_LOGO_SIDE} Pixel.",
            size.width, size.height
        )));
    }
    Ok(format)
}

/// One link in an authority's footer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FooterLink {
    pub label: String,
    pub url: String,
}

/// Validates footer links as typed (empty rows are dropped). Links go to https
/// addresses or to paths on this portal; nothing else (no `javascript:`).
///
/// # Errors
/// One message per bad row, numbered as the editor sees them.
pub fn check_footer_links(rows: &[FooterLink]) -> Result<Vec<FooterLink>, Vec<(usize, String)>> {
    let mut links = Vec::new();
    let mut errors = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let (label, url) = (row.label.trim(), row.url.trim());
        if label.is_empty() && url.is_empty() {
            continue;
        }
        let n = i + 1;
        if label.is_empty() {
            errors.push((n, format!("Link {n}: Bitte geben Sie einen Linktext ein.")));
        } else if label.chars().count() > 80 {
            errors.push((n, format!("Link {n}: Der Linktext darf höchstens 80 Zeichen lang sein.")));
        } else if url.is_empty() {
            errors.push((n, format!("Link {n}: Bitte geben Sie die Adresse ein.")));
        } else if !(is_https_url(url) || (url.starts_with('/') && !url.starts_with("//"))) || url.len() > 500 {
            errors.push((
                n,
                format!("Link {n}: Die Adresse muss mit https:// oder mit / (Seite dieses Portals) beginnen."),
            ));
        } else {
            links.push(FooterLink { label: label.to_owned(), url: url.to_owned() });
        }
    }
    if links.len() > MAX_FOOTER_LINKS {
        errors.push((MAX_FOOTER_LINKS + 1, format!("Es sind höchstens {MAX_FOOTER_LINKS} Links möglich.")));
    }
    if errors.is_empty() { Ok(links) } else { Err(errors) }
}

fn is_https_url(url: &str) -> bool {
    url.strip_prefix("https://").is_some_and(|rest| {
        !rest.is_empty() && !rest.starts_with('/') && !url.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid 1×1 PNG.
    const PNG: &[u8] = &[
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
        0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00,
        0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x60, 0x60, 0x60, 0xF8, 0x0F, 0x00, 0x01, 0x04, 0x01, 0x00,
        0x5F, 0xE5, 0xC3, 0x4B, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ];

    #[test]
    fn accepts_a_real_png() {
        assert_eq!(check_logo("wappen.PNG", PNG), Ok(LogoFormat::Png));
    }

    #[test]
    fn refuses_wrong_content_names_and_sizes() {
        let e = |name, bytes| check_logo(name, bytes).unwrap_err().0;
        assert!(e("logo.png", b"<svg onload=alert(1)>").contains("kein PNG"));
        assert!(e("logo.svg", PNG).contains(".svg"));
        assert!(e("logo.jpg", PNG).contains("PNG-Bild"));
        assert!(e("logo.png", &[]).contains("wählen"));
        let big = [PNG, &vec![0u8; MAX_LOGO_BYTES]].concat();
        assert!(e("logo.png", &big).contains("höchstens 512 KB"));
        let mut huge = PNG.to_vec();
        huge[16..20].copy_from_slice(&5000u32.to_be_bytes());
        assert!(e("logo.png", &huge).contains("5000 × 1"));
    }

    #[test]
    fn footer_links_are_checked_row_by_row() {
        let row = |l: &str, u: &str| FooterLink { label: l.into(), url: u.into() };
        let ok = check_footer_links(&[
            row("Presse", "https://moorbrueck.example/presse"),
            row("", ""),
            row("Karte", "/o/x"),
        ])
        .unwrap();
        assert_eq!(ok.len(), 2);
        let errs = check_footer_links(&[
            row("Böse", "javascript:alert(1)"),
            row("", "https://a.example"),
            row("Fremd", "//evil.example"),
            row("Leer", "https://"),
        ])
        .unwrap_err();
        assert_eq!(errs.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [1, 2, 3, 4]);
        let many: Vec<_> = (0..9).map(|i| row(&format!("L{i}"), "/x")).collect();
        assert!(check_footer_links(&many).is_err());
    }
}
