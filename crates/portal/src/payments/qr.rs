//! QR codes for GiroCodes: the matrix from the `qrcode` crate (error correction M, as
//! EPC069-12 asks), drawn by us as SVG for pages and the receipt PDF and as a 1-bit
//! PNG for e-mails (many mail programs show no SVG).
//!
//! The data is written in byte mode, except runs of at least 20 digits (numeric
//! mode) and of at least 20 characters of the alphanumeric set (alphanumeric mode) —
//! the segmentation of python-qrcode, which drew the reference GiroCodes in the
//! conformance files: our symbols equal those module for module, and an IBAN's long
//! digit run costs fewer modules.
//!
//! The SVG is one `<path>` of the dark modules on a white square, with `role="img"`,
//! a `<title>` and an `aria-label` (the accessible name), no ids (a page may show
//! several) and no scripts or external references, so it can be inlined as it is.

use qrcode::bits::Bits;
use qrcode::canvas::{Canvas, MaskPattern};
use qrcode::{Color, EcLevel, Version};
use std::fmt::Write as _;

/// The quiet zone around the symbol, in modules (the standard's minimum).
const QUIET: usize = 4;

/// An encoded QR symbol: `width × width` modules, row by row, `true` = dark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qr {
    width: usize,
    modules: Vec<bool>,
}

const MASKS: [MaskPattern; 8] = [
    MaskPattern::Checkerboard,
    MaskPattern::HorizontalLines,
    MaskPattern::VerticalLines,
    MaskPattern::DiagonalLines,
    MaskPattern::LargeCheckerboard,
    MaskPattern::Fields,
    MaskPattern::Diamonds,
    MaskPattern::Meadow,
];

/// Encodes `payload` in byte mode with error correction M in the smallest version
/// it fits, with the mask of the lowest penalty.
///
/// # Errors
/// When the payload does not fit any version (more than 2331 bytes).
pub fn encode(payload: &str) -> Result<Qr, String> {
    for v in 1..=40 {
        if let Ok(qr) = encode_with(payload, v, None) {
            return Ok(qr);
        }
    }
    Err(format!("{} bytes do not fit a QR code with error correction M", payload.len()))
}

/// Encodes `payload` in byte mode with error correction M in `version` (1 to 40),
/// with the mask `mask` (0 to 7; `None`: the one of the lowest penalty).
///
/// # Errors
/// When the payload does not fit that version, or the version or mask is out of range.
pub fn encode_with(payload: &str, version: i16, mask: Option<u8>) -> Result<Qr, String> {
    if !(1..=40).contains(&version) {
        return Err(format!("no QR version {version}"));
    }
    let version = Version::Normal(version);
    let mut bits = Bits::new(version);
    for (mode, part) in segments(payload.as_bytes()) {
        match mode {
            Mode::Numeric => bits.push_numeric_data(part),
            Mode::Alphanumeric => bits.push_alphanumeric_data(part),
            Mode::Byte => bits.push_byte_data(part),
        }
        .map_err(|e| e.to_string())?;
    }
    bits.push_terminator(EcLevel::M).map_err(|e| e.to_string())?;
    let data = bits.into_bytes();
    let (data, ec) = qrcode::ec::construct_codewords(&data, version, EcLevel::M).map_err(|e| e.to_string())?;
    let mut canvas = Canvas::new(version, EcLevel::M);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&data, &ec);
    let canvas = match mask {
        None => canvas.apply_best_mask(),
        Some(m) => {
            let pattern = *MASKS.get(usize::from(m)).ok_or_else(|| format!("no QR mask {m}"))?;
            canvas.apply_mask(pattern);
            canvas
        }
    };
    let modules: Vec<bool> = canvas.into_colors().into_iter().map(|c| c == Color::Dark).collect();
    let width = version.width().unsigned_abs() as usize;
    if modules.len() != width * width {
        return Err("unexpected QR matrix size".into());
    }
    Ok(Qr { width, modules })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Numeric,
    Alphanumeric,
    Byte,
}

/// Runs shorter than this stay in byte mode (switching modes costs bits).
const MIN_RUN: usize = 20;

fn is_alphanumeric(b: u8) -> bool {
    b.is_ascii_digit() || b.is_ascii_uppercase() || b" $%*+-./:".contains(&b)
}

/// `data` split into (`yes`, part) by the first run of at least [`MIN_RUN`] bytes
/// for which `pred` holds, repeatedly; with `whole`, only a part that is such a run
/// entirely counts (python-qrcode's rule for data of at most [`MIN_RUN`] bytes).
fn split_runs(data: &[u8], pred: fn(u8) -> bool, whole: bool) -> Vec<(bool, &[u8])> {
    if whole {
        return vec![(!data.is_empty() && data.iter().all(|b| pred(*b)), data)];
    }
    let mut out = Vec::new();
    let mut rest = data;
    loop {
        let mut i = 0;
        let found = loop {
            if i >= rest.len() {
                break None;
            }
            if !pred(rest[i]) {
                i += 1;
                continue;
            }
            let end = rest[i..].iter().position(|b| !pred(*b)).map_or(rest.len(), |n| i + n);
            if end - i >= MIN_RUN {
                break Some((i, end));
            }
            i = end;
        };
        let Some((start, end)) = found else { break };
        if start > 0 {
            out.push((false, &rest[..start]));
        }
        out.push((true, &rest[start..end]));
        rest = &rest[end..];
    }
    if !rest.is_empty() {
        out.push((false, rest));
    }
    out
}

/// The segments of `data`: digit runs first, then alphanumeric runs in what is left.
fn segments(data: &[u8]) -> Vec<(Mode, &[u8])> {
    let whole = data.len() <= MIN_RUN;
    let mut out = Vec::new();
    for (digits, part) in split_runs(data, |b| b.is_ascii_digit(), whole) {
        if digits {
            out.push((Mode::Numeric, part));
            continue;
        }
        for (alnum, sub) in split_runs(part, is_alphanumeric, whole) {
            out.push((if alnum { Mode::Alphanumeric } else { Mode::Byte }, sub));
        }
    }
    out
}

/// `&`, `<`, `>`, `"` escaped for XML text and attributes.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

impl Qr {
    /// Modules per side (without the quiet zone).
    #[must_use]
    pub fn width(&self) -> usize {
        self.width
    }

    /// Whether the module in row `y`, column `x` is dark (outside: light).
    #[must_use]
    pub fn dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.modules.get(y * self.width + x).copied().unwrap_or(false)
    }

    /// The symbol as an SVG document with a quiet zone; `title` is its accessible
    /// name. Scales to its container (`viewBox` only, no fixed size).
    #[must_use]
    pub fn svg(&self, title: &str) -> String {
        let side = self.width + 2 * QUIET;
        let title = xml(title);
        let mut path = String::new();
        for y in 0..self.width {
            let mut x = 0;
            while x < self.width {
                if !self.dark(x, y) {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < self.width && self.dark(x, y) {
                    x += 1;
                }
                // One rectangle per horizontal run of dark modules.
                let _ = write!(path, "M{} {}h{}v1h-{}z", start + QUIET, y + QUIET, x - start, x - start);
            }
        }
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" role=\"img\" aria-label=\"{title}\"><title>{title}</title><rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/><path fill=\"#000\" shape-rendering=\"crispEdges\" d=\"{path}\"/></svg>"
        )
    }

    /// The symbol as a black-and-white PNG (1 bit per pixel) with a quiet zone,
    /// `scale` pixels per module (1 to 40).
    ///
    /// # Errors
    /// When the PNG encoder fails or the scale is out of range.
    pub fn png(&self, scale: u32) -> Result<Vec<u8>, String> {
        if !(1..=40).contains(&scale) {
            return Err(format!("scale {scale} is out of range"));
        }
        let scale = scale as usize;
        let side = (self.width + 2 * QUIET) * scale;
        let side_u32 = u32::try_from(side).map_err(|e| e.to_string())?;
        let row_bytes = side.div_ceil(8);
        let mut pixels = vec![0u8; row_bytes * side];
        for (py, row) in pixels.chunks_mut(row_bytes).enumerate() {
            for px in 0..side {
                let (mx, my) = ((px / scale).checked_sub(QUIET), (py / scale).checked_sub(QUIET));
                let dark = matches!((mx, my), (Some(x), Some(y)) if self.dark(x, y));
                // 1-bit grayscale: 1 is white.
                if !dark && let Some(b) = row.get_mut(px / 8) {
                    *b |= 0x80 >> (px % 8);
                }
            }
        }
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, side_u32, side_u32);
            enc.set_color(png::ColorType::Grayscale);
            enc.set_depth(png::BitDepth::One);
            let mut w = enc.write_header().map_err(|e| e.to_string())?;
            w.write_image_data(&pixels).map_err(|e| e.to_string())?;
            w.finish().map_err(|e| e.to_string())?;
        }
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn conformance() -> Option<std::path::PathBuf> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/girocode");
        if dir.is_dir() {
            Some(dir)
        } else {
            eprintln!("skipped: {} is absent", dir.display());
            None
        }
    }

    /// A 1-bit grayscale PNG as rows of booleans (`true` = black).
    fn read_png(bytes: &[u8]) -> (usize, Vec<Vec<bool>>) {
        let mut dec = png::Decoder::new(std::io::Cursor::new(bytes));
        dec.set_transformations(png::Transformations::EXPAND);
        let mut reader = dec.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let (w, h) = (info.width as usize, info.height as usize);
        assert_eq!(w, h);
        let channels = info.color_type.samples();
        let row_len = info.line_size;
        let rows = (0..h).map(|y| (0..w).map(|x| buf[y * row_len + x * channels] < 128).collect()).collect();
        (w, rows)
    }

    /// The modules of a symbol drawn `box` pixels per module after a quiet zone of
    /// `border` modules, sampled in the middle of each module.
    fn modules_of(rows: &[Vec<bool>], width: usize, px: usize, border: usize) -> Vec<bool> {
        let mut out = Vec::with_capacity(width * width);
        for y in 0..width {
            for x in 0..width {
                out.push(rows[(border + y) * px + px / 2][(border + x) * px + px / 2]);
            }
        }
        out
    }

    /// The modules that carry the format information (error correction and mask).
    fn format_area(width: usize) -> Vec<(usize, usize)> {
        let mut v = Vec::new();
        for i in 0..9 {
            if i != 6 {
                v.push((i, 8));
                v.push((8, i));
            }
        }
        for i in 0..8 {
            v.push((width - 1 - i, 8));
        }
        for i in 0..7 {
            v.push((8, width - 1 - i));
        }
        v
    }

    /// The conformance PNGs (py-epc-qr, drawn by python-qrcode: version 6, box 10,
    /// border 4): our matrix for the same payload, with the mask their format
    /// information names, is theirs module for module.
    #[test]
    fn the_matrix_equals_the_conformance_pngs() {
        let Some(dir) = conformance() else { return };
        for name in ["qr_version_001", "qr_version_002"] {
            let payload = std::fs::read_to_string(dir.join(format!("{name}.txt"))).unwrap();
            let (side, rows) = read_png(&std::fs::read(dir.join(format!("{name}.png"))).unwrap());
            assert_eq!(side, (41 + 8) * 10, "{name}: version 6 at 10 px per module");
            let theirs = modules_of(&rows, 41, 10, 4);
            // Their mask: the one whose format information matches theirs.
            let area = format_area(41);
            let candidates: Vec<(u8, Qr)> = (0..8)
                .map(|m| (m, encode_with(&payload, 6, Some(m)).unwrap()))
                .filter(|(_, q)| area.iter().all(|&(x, y)| q.dark(x, y) == theirs[y * 41 + x]))
                .collect();
            assert_eq!(candidates.len(), 1, "{name}: exactly one mask has their format information");
            let (mask, ours) = &candidates[0];
            assert_eq!(ours.modules, theirs, "{name}: modules differ with mask {mask}");
        }
    }

    #[test]
    fn our_png_and_svg_draw_the_matrix() {
        let payload = "BCD\n002\n1\nSCT\n\nStadt Moorbrueck\nDE02120300000000202051\nEUR12.50\n\nRF18539007547034\n\n";
        let q = encode(payload).unwrap();
        assert!(q.width() >= 21 && (q.width() - 17).is_multiple_of(4));
        let png = q.png(3).unwrap();
        let (side, rows) = read_png(&png);
        assert_eq!(side, (q.width() + 8) * 3);
        assert_eq!(modules_of(&rows, q.width(), 3, 4), q.modules);
        // The quiet zone is white.
        assert!(rows[0].iter().all(|d| !d) && rows[side - 1].iter().all(|d| !d));
        let svg = q.svg("GiroCode für „Hund & Katze“ <1>");
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("<title>GiroCode für „Hund &amp; Katze“ &lt;1&gt;</title>"));
        assert!(!svg.contains("<script") && !svg.contains("href") && !svg.contains(" id="));
        // Every dark module is covered by exactly the runs drawn.
        let drawn: usize = svg
            .split('M')
            .skip(1)
            .map(|run| run.split('h').nth(1).unwrap().split('v').next().unwrap().parse::<usize>().unwrap())
            .sum();
        assert_eq!(drawn, q.modules.iter().filter(|d| **d).count());
        assert!(q.png(0).is_err() && q.png(41).is_err());
    }

    #[test]
    fn long_runs_of_digits_and_capitals_get_their_own_segments() {
        let seg = |s: &'static str| {
            segments(s.as_bytes()).into_iter().map(|(m, p)| (m, std::str::from_utf8(p).unwrap())).collect::<Vec<_>>()
        };
        assert_eq!(
            seg("IBAN DE33100205000001194700 x"),
            vec![(Mode::Byte, "IBAN DE"), (Mode::Numeric, "33100205000001194700"), (Mode::Byte, " x")]
        );
        assert_eq!(
            seg("ab ABCDEFGHIJ KLMNOPQRSTU cd"),
            vec![(Mode::Byte, "ab"), (Mode::Alphanumeric, " ABCDEFGHIJ KLMNOPQRSTU "), (Mode::Byte, "cd")]
        );
        assert_eq!(seg("1234567890123456789"), vec![(Mode::Numeric, "1234567890123456789")]);
        assert_eq!(seg("12345678901234567890x"), vec![(Mode::Numeric, "12345678901234567890"), (Mode::Byte, "x")]);
        assert_eq!(seg("RF18 5390 0754 7034"), vec![(Mode::Alphanumeric, "RF18 5390 0754 7034")]);
        assert_eq!(seg("Grüße"), vec![(Mode::Byte, "Grüße")]);
        assert!(seg("").is_empty() || seg("") == vec![(Mode::Byte, "")]);
    }

    #[test]
    fn the_largest_girocode_fits_and_too_much_does_not() {
        let q = encode(&"x".repeat(331)).unwrap();
        assert!(q.width() <= 4 * 13 + 17, "331 bytes fit version 13 at M");
        assert!(encode(&"x".repeat(3000)).is_err());
        assert!(encode_with("x", 0, None).is_err() && encode_with("x", 1, Some(8)).is_err());
        assert!(encode_with(&"x".repeat(100), 1, None).is_err());
    }
}
