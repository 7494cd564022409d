//! The receipt ("Eingangsbestätigung") for a submitted application as a
//! tagged, accessible PDF/A-2a document.
//!
//! The PDF is typeset with [typst](https://typst.app) used as a library: a
//! fixed template ([`TEMPLATE`]) is compiled in an in-memory "world" that knows
//! exactly two files — the template and a JSON file with the receipt data —
//! and the fonts bundled in `typst-assets`. No file system, network, package
//! or system font access.
//!
//! Why typst: real typesetting (line breaking, tables with repeated headers
//! that break across pages) without a browser or external binary, and through
//! `typst-pdf`/krilla an export that is *validated* while it is written:
//! PDF/A-2a (archival, with structure tree, document language and title) plus
//! PDF/UA-1 (accessibility, as BITV 2.0 asks of documents an authority hands
//! out).
//!
//! No injection: user text is never pasted into typst markup. The template
//! reads everything with `json("/data.json")`, and JSON strings are plain
//! typst strings that are displayed literally, so `#import`, `*`, `$`, `]` or
//! `\` in an answer are just characters.
//!
//! PDF/A forbids `.notdef` glyphs, private-use and some other code points, so
//! every string is cleaned first ([`clean`]): control characters are dropped,
//! anything the bundled fonts cannot display becomes U+FFFD (CJK and emoji,
//! for example — the bundled fonts cover Latin, Greek and Cyrillic). Should an
//! export still fail validation, it is retried with fewer standards (PDF/A-2a,
//! PDF/A-2b, plain tagged PDF) so the citizen always gets a receipt; each step
//! down is logged as a warning.
//!
//! Fonts, font book, glyph coverage, the typst standard library and the parsed
//! template are built once per process (`OnceLock`); after that a receipt takes
//! milliseconds, not seconds.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::OnceLock;

use serde_json::json;
use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Duration, Smart};
use typst::layout::Abs;
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook, FontStretch, FontStyle, FontVariant, FontVariations, FontWeight};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards, Timestamp};
use unicode_segmentation::UnicodeSegmentation as _;

/// Everything that goes onto one receipt. All strings are shown verbatim.
#[derive(Clone, Default)]
pub struct Receipt {
    /// Name of the authority, e.g. "Stadt Moorbrück".
    pub authority: String,
    /// Title of the form, e.g. "Hundesteuer anmelden".
    pub title: String,
    /// The receipt number, e.g. "MOO-2026-000001".
    pub receipt_number: String,
    /// When the application came in, already formatted ("23.11.2026, 14:05 Uhr").
    pub submitted: String,
    /// SHA-256 (hex) of the stored application data.
    pub hash: String,
    /// One entry per form step: the step title and its (label, answer) lines.
    pub sections: Vec<(String, Vec<(String, String)>)>,
    /// Computed values as (label, formatted value), e.g. ("Gebühr", "12,50 €").
    pub computed: Vec<(String, String)>,
    /// Attachments as (file name, size in bytes, SHA-256 hex).
    pub files: Vec<(String, i64, String)>,
}

/// Renders the receipt as a tagged PDF/A-2a (and PDF/UA-1) document.
///
/// Blocking and CPU-bound (tens of milliseconds): call it from
/// `spawn_blocking`.
///
/// # Errors
/// A message for the log when typst fails to compile the template or to
/// export the PDF even without any PDF standard.
pub fn render(r: &Receipt) -> Result<Vec<u8>, String> {
    let out = render_with(r, now_utc())?;
    for w in &out.warnings {
        tracing::warn!(receipt = %r.receipt_number, "receipt PDF: {w}");
    }
    if out.profile > 0 {
        let name = PROFILES.get(out.profile).map_or("?", |p| p.0);
        tracing::warn!(receipt = %r.receipt_number, "receipt PDF only exported as {name}");
    }
    Ok(out.pdf)
}

/// The font family of all body text (bundled with `typst-assets`); the
/// template names it too.
const MAIN_FONT: &str = "Libertinus Serif";

/// The typst template. It only ever reads data from `/data.json`.
const TEMPLATE: &str = r#"
#let d = json("/data.json")

#set document(
  title: d.doc_title,
  author: d.authority,
  keywords: ("Eingangsbestätigung", d.receipt_number),
)
#set text(lang: "de", region: "DE", font: "Libertinus Serif", size: 10.5pt)
#set par(justify: false, leading: 0.62em, spacing: 1em)
#set page(
  paper: "a4",
  margin: (x: 2.2cm, top: 2.2cm, bottom: 2.6cm),
  footer: context {
    set text(size: 8pt, fill: luma(80))
    [Eingangsbestätigung #d.receipt_number]
    h(1fr)
    [Seite #counter(page).display("1 von 1", both: true)]
  },
)
#set heading(numbering: none)
#show heading: set block(above: 1.6em, below: 0.8em)
#show heading.where(level: 1): set text(size: 20pt)
#show heading.where(level: 2): set text(size: 13.5pt)
#show heading.where(level: 3): set text(size: 11.5pt)
#set table(
  stroke: (x, y) => (bottom: 0.4pt + luma(170)),
  inset: (x: 4pt, y: 5pt),
  align: left + top,
)
#show table.cell.where(y: 0): set text(weight: "bold")
// Long unbroken words (URLs, IDs) would run off the page: give them break
// opportunities between grapheme clusters. `h(0.01pt)` adds no character to the
// PDF text, so copying the text still yields the original string.
#show regex("\S{40,}"): it => it.text.clusters().join(h(0.01pt, weak: true))

#let mono(s) = text(font: "DejaVu Sans Mono", size: 8pt, s)
#let pairs(head, rows) = if rows.len() == 0 [
  Keine Angaben.
] else {
  table(
    columns: (2fr, 3fr),
    table.header(..head),
    ..rows.map(r => (r.at(0), r.at(1))).flatten(),
  )
}

= Eingangsbestätigung

#grid(
  columns: (auto, 1fr),
  column-gutter: 1.2em,
  row-gutter: 0.75em,
  [Behörde:], strong(d.authority),
  [Antrag:], strong(d.title),
  [Eingangsnummer:], strong(d.receipt_number),
  [Eingegangen am:], strong(d.submitted),
)

== Ihre Angaben

#for s in d.sections [
  === #s.title
  #pairs(([Frage], [Ihre Angabe]), s.rows)
]

#if d.computed.len() > 0 [
  == Berechnete Werte
  #pairs(([Bezeichnung], [Wert]), d.computed)
]

== Anlagen

#if d.files.len() == 0 [
  Es wurden keine Dateien hochgeladen.
] else {
  table(
    columns: (1fr, auto),
    table.header([Datei und SHA-256-Prüfsumme], [Größe]),
    ..d.files.map(f => (
      [#f.name \ #mono(f.sha256)],
      [#f.size \ #text(size: 8pt, f.bytes)],
    )).flatten(),
  )
}

== Prüfsumme der Antragsdaten

SHA-256 der gespeicherten Antragsdaten:\
#mono(d.hash)

== Hinweis

Diese Bestätigung belegt den Eingang Ihres Antrags bei #d.authority am
#d.submitted unter der Eingangsnummer #d.receipt_number. Bewahren Sie sie auf.
Über Ihren Antrag ist damit noch nicht entschieden. Mit den Prüfsummen lässt
sich nachweisen, dass die gespeicherten Antragsdaten und Anlagen unverändert
sind.
"#;

/// Output of one render run.
struct Rendered {
    pdf: Vec<u8>,
    /// Typst warnings and export fallbacks, for the log.
    warnings: Vec<String>,
    /// Which export profile finally succeeded (index into [`PROFILES`]).
    profile: usize,
}

/// Export profiles, strictest first.
const PROFILES: &[(&str, &[PdfStandard])] = &[
    ("PDF/A-2a + PDF/UA-1", &[PdfStandard::A_2a, PdfStandard::Ua_1]),
    ("PDF/A-2a", &[PdfStandard::A_2a]),
    ("PDF/A-2b", &[PdfStandard::A_2b]),
    ("PDF 1.7 (tagged)", &[]),
];

/// Things built once per process.
struct Assets {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    main: Source,
    data_id: FileId,
    /// Code points typst renders with a real glyph, directly or by fallback.
    any_font: HashSet<u32>,
    /// Code points the regular and bold [`MAIN_FONT`] faces have glyphs for.
    main_font: HashSet<u32>,
    /// What unsupported characters are replaced with.
    replacement: char,
}

static ASSETS: OnceLock<Result<Assets, String>> = OnceLock::new();

fn assets() -> Result<&'static Assets, String> {
    ASSETS.get_or_init(build_assets).as_ref().map_err(Clone::clone)
}

fn build_assets() -> Result<Assets, String> {
    let fonts: Vec<Font> = typst_assets::fonts().flat_map(|data| Font::iter(Bytes::new(data))).collect();
    let book = FontBook::from_fonts(&fonts);
    let (any_font, main_font) = displayable(&fonts, &book)?;
    let file = |path: &str| {
        VirtualPath::new(path)
            .map(|p| RootedPath::new(VirtualRoot::Project, p).intern())
            .map_err(|e| format!("virtual path {path}: {e}"))
    };
    let main = Source::new(file("/receipt.typ")?, TEMPLATE.to_owned());
    let replacement = if any_font.contains(&0xFFFD) { '\u{FFFD}' } else { '?' };
    Ok(Assets {
        library: LazyHash::new(Library::default()),
        book: LazyHash::new(book),
        fonts,
        main,
        data_id: file("/data.json")?,
        any_font,
        main_font,
        replacement,
    })
}

/// Which code points typst will render with a real glyph: (single characters
/// in regular and bold body text, characters the main font itself has).
///
/// Mirrors typst's font fallback: for a character the main font lacks, typst
/// takes the single best fallback font whose cmap lists the character; if that
/// font maps it to `.notdef` (some cmaps do) the result is a `.notdef` glyph,
/// which PDF/A forbids.
fn displayable(fonts: &[Font], book: &FontBook) -> Result<(HashSet<u32>, HashSet<u32>), String> {
    if fonts.len() > 64 {
        return Err("more than 64 fonts".into());
    }
    let glyphs: Vec<HashSet<u32>> = fonts.iter().map(mapped_code_points).collect();
    let has = |id: usize, u: u32| glyphs.get(id).is_some_and(|g| g.contains(&u));
    // Which fonts' cmaps list a code point: all `select_fallback` looks at.
    let mut listed: HashMap<u32, u64> = HashMap::new();
    for (i, font) in fonts.iter().enumerate() {
        for u in font.info().coverage.iter() {
            *listed.entry(u).or_default() |= 1 << i;
        }
    }
    let faces: Vec<(FontVariant, usize)> = [FontWeight::REGULAR, FontWeight::BOLD]
        .into_iter()
        .map(|weight| {
            let variant = FontVariant::new(FontStyle::Normal, weight, FontStretch::NORMAL);
            book.select(&MAIN_FONT.to_lowercase(), variant)
                .map(|id| (variant, id))
                .ok_or_else(|| format!("font {MAIN_FONT} missing (typst-assets without `fonts` feature?)"))
        })
        .collect::<Result<_, _>>()?;
    let main_font: HashSet<u32> =
        listed.keys().copied().filter(|&u| faces.iter().all(|&(_, face)| has(face, u))).collect();
    let mut any_font = HashSet::new();
    let mut picked: HashMap<(usize, u64), Option<usize>> = HashMap::new();
    let mut buf = [0u8; 4];
    for (&u, &mask) in &listed {
        let Some(c) = char::from_u32(u) else { continue };
        let ok = faces.iter().all(|&(variant, face)| {
            if has(face, u) {
                return true;
            }
            // The pick depends only on which fonts list the character, so it
            // is computed once per font set (whitespace is never a fallback).
            let mut pick = || book.select_fallback(book.info(face), variant, c.encode_utf8(&mut buf));
            let id = if c.is_whitespace() || is_default_ignorable(c) {
                pick()
            } else {
                *picked.entry((face, mask)).or_insert_with(pick)
            };
            id.is_some_and(|id| id != face && has(id, u))
        });
        if ok {
            any_font.insert(u);
        }
    }
    Ok((any_font, main_font))
}

/// The code points of the font's cmap that map to an actual glyph (some
/// cmaps map ranges to glyph 0).
fn mapped_code_points(font: &Font) -> HashSet<u32> {
    let instance = font.clone().instantiate(font.info().variant, Abs::pt(10.0), &FontVariations::default());
    let ttf = instance.ttf();
    font.info()
        .coverage
        .iter()
        .filter(|&u| char::from_u32(u).and_then(|c| ttf.glyph_index(c)).is_some_and(|g| g.0 != 0))
        .collect()
}

impl Assets {
    /// Whether some bundled font has a glyph for `c` (typst falls back to it).
    fn in_any_font(&self, c: char) -> bool {
        self.any_font.contains(&u32::from(c))
    }

    /// Whether every face of the main text font has a glyph for `c`.
    fn in_main_font(&self, c: char) -> bool {
        self.main_font.contains(&u32::from(c))
    }
}

/// The in-memory world one receipt is compiled in.
struct ReceiptWorld {
    assets: &'static Assets,
    data: Bytes,
}

impl ReceiptWorld {
    fn not_found(id: FileId) -> FileError {
        FileError::NotFound(id.vpath().get_with_slash().into())
    }
}

impl World for ReceiptWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.assets.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.assets.book
    }

    fn main(&self) -> FileId {
        self.assets.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.assets.main.id() { Ok(self.assets.main.clone()) } else { Err(Self::not_found(id)) }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.assets.data_id {
            Ok(self.data.clone())
        } else if id == self.assets.main.id() {
            Ok(Bytes::from_string(self.assets.main.clone()))
        } else {
            Err(Self::not_found(id))
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.assets.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        // The template never asks for the date; keeps compilation pure.
        None
    }
}

fn render_with(r: &Receipt, created: Option<Datetime>) -> Result<Rendered, String> {
    let result = compile(r).and_then(|(doc, mut warnings)| {
        let (pdf, profile, more) = export(&doc, &r.receipt_number, created)?;
        warnings.extend(more);
        Ok(Rendered { pdf, warnings, profile })
    });
    // Typst memoizes globally; without eviction a long-running server would
    // keep every receipt's intermediate results forever.
    typst::comemo::evict(2);
    result
}

fn compile(r: &Receipt) -> Result<(PagedDocument, Vec<String>), String> {
    let assets = assets()?;
    let data = serde_json::to_vec(&data_json(r, assets)).map_err(|e| e.to_string())?;
    let world = ReceiptWorld { assets, data: Bytes::new(data) };
    let warned = typst::compile::<PagedDocument>(&world);
    let warnings = warned.warnings.iter().map(diagnostic).collect();
    match warned.output {
        Ok(doc) => Ok((doc, warnings)),
        Err(errors) => Err(format!("typst compile: {}", join(&errors))),
    }
}

fn export(
    doc: &PagedDocument,
    receipt_number: &str,
    created: Option<Datetime>,
) -> Result<(Vec<u8>, usize, Vec<String>), String> {
    let mut warnings = Vec::new();
    let mut last = String::new();
    for (i, (name, list)) in PROFILES.iter().enumerate() {
        let standards = PdfStandards::new(list).map_err(|e| format!("{name}: {}", e.message()))?;
        let options = PdfOptions {
            ident: Smart::Custom(format!("amtsweg-receipt:{receipt_number}")),
            creator: Smart::Custom(Some("Amtsweg".into())),
            timestamp: created.map(Timestamp::new_utc),
            standards,
            tagged: true,
            ..PdfOptions::default()
        };
        match typst_pdf::pdf(doc, &options) {
            Ok(pdf) => return Ok((pdf, i, warnings)),
            Err(errors) => {
                last = format!("{name}: {}", join(&errors));
                warnings.push(format!("export as {last}; trying a weaker profile"));
            }
        }
    }
    Err(format!("typst PDF export: {last}"))
}

fn diagnostic(d: &SourceDiagnostic) -> String {
    let mut s = d.message.to_string();
    for h in &d.hints {
        let _ = write!(s, " (hint: {})", h.v);
    }
    s
}

fn join(errors: &[SourceDiagnostic]) -> String {
    errors.iter().map(diagnostic).collect::<Vec<_>>().join("; ")
}

/// The current time in UTC as a typst datetime (the PDF creation date, which
/// PDF/A requires).
fn now_utc() -> Option<Datetime> {
    let z = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
    Datetime::from_ymd_hms(
        i32::from(z.year()),
        u8::try_from(z.month()).ok()?,
        u8::try_from(z.day()).ok()?,
        u8::try_from(z.hour()).ok()?,
        u8::try_from(z.minute()).ok()?,
        u8::try_from(z.second()).ok()?,
    )
}

/// The JSON document the template reads. Every string passes [`clean`].
fn data_json(r: &Receipt, a: &Assets) -> serde_json::Value {
    let c = |s: &str| clean(s, a);
    let pairs = |rows: &[(String, String)]| rows.iter().map(|(k, v)| json!([c(k), c(v)])).collect::<Vec<_>>();
    let number = c(&r.receipt_number);
    let title = c(&r.title);
    // Metadata strings must stay below PDF limits; the title is shown in full
    // in the document body anyway.
    let doc_title = if title.trim().is_empty() {
        format!("Eingangsbestätigung {number}")
    } else {
        format!("Eingangsbestätigung {number} – {title}")
    };
    let doc_title: String = doc_title.chars().take(400).collect();
    json!({
        "doc_title": doc_title,
        "authority": c(&r.authority),
        "title": title,
        "receipt_number": number,
        "submitted": c(&r.submitted),
        "hash": c(&r.hash),
        "sections": r.sections.iter().enumerate().map(|(i, (t, rows))| {
            let t = c(t);
            // An empty heading is a PDF/UA error.
            let t = if t.trim().is_empty() { format!("Abschnitt {}", i + 1) } else { t };
            json!({ "title": t, "rows": pairs(rows) })
        }).collect::<Vec<_>>(),
        "computed": pairs(&r.computed),
        "files": r.files.iter().map(|(name, size, sha)| json!({
            "name": c(name),
            "size": human_size(*size),
            "bytes": format!("{} Byte", group_thousands(*size)),
            "sha256": c(sha),
        })).collect::<Vec<_>>(),
    })
}

/// Makes a string safe for PDF/A text: unifies line breaks, drops control
/// and invisible formatting characters, and replaces private-use characters
/// and characters the bundled fonts cannot display with U+FFFD.
///
/// PDF/A forbids `.notdef` glyphs, and typst picks a fallback font per
/// cluster by its first character only, so a cluster of several characters
/// (base plus combining marks, emoji sequences) is only kept as a whole if
/// the main text font covers all of it; otherwise its first character is kept
/// (if any font has it) followed by U+FFFD.
fn clean(s: &str, a: &Assets) -> String {
    // Pass 1: characters that must never reach the PDF.
    let mut flat = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    flat.push('\n');
                }
            }
            '\n' | '\u{2028}' | '\u{2029}' => flat.push('\n'),
            '\t' => flat.push(' '),
            c if c.is_control() || is_noncharacter(c) => {}
            c if c.is_whitespace() => flat.push(if a.in_main_font(c) { c } else { ' ' }),
            c if is_private_use(c) => flat.push(a.replacement),
            c => flat.push(c),
        }
    }
    // Pass 2: grapheme clusters the fonts can display. Invisible formatting
    // characters (joiners, variation selectors, bidi controls) are dropped
    // here, after clustering, so an emoji sequence becomes one U+FFFD.
    let mut out = String::with_capacity(flat.len());
    for cluster in flat.graphemes(true) {
        let visible: Vec<char> = cluster.chars().filter(|&c| !is_default_ignorable(c)).collect();
        match visible.as_slice() {
            [] => {}
            [c] if c.is_whitespace() || a.in_any_font(*c) => out.push(*c),
            [_] => out.push(a.replacement),
            all if all.iter().all(|&c| a.in_main_font(c)) => out.extend(all),
            [first, ..] if a.in_any_font(*first) => {
                out.push(*first);
                out.push(a.replacement);
            }
            _ => out.push(a.replacement),
        }
    }
    out
}

fn is_noncharacter(c: char) -> bool {
    let u = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&u) || (u & 0xFFFE) == 0xFFFE || u == 0xFEFF
}

fn is_private_use(c: char) -> bool {
    matches!(u32::from(c), 0xE000..=0xF8FF | 0xF_0000..=0xF_FFFD | 0x10_0000..=0x10_FFFD)
}

/// Unicode `Default_Ignorable_Code_Point` (zero-width joiners, variation
/// selectors, bidi controls, soft hyphen, tags …).
fn is_default_ignorable(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x034F
            | 0x061C
            | 0x115F..=0x1160
            | 0x17B4..=0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x206F
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFFA0
            | 0xFFF0..=0xFFF8
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
    )
}

/// "12,1 kB" / "3,4 MB" (binary units, as elsewhere in the portal).
fn human_size(bytes: i64) -> String {
    let b = bytes.max(0);
    let (tenths, unit) =
        if b < 1024 * 1024 { (div_round(b * 10, 1024), "kB") } else { (div_round(b / 1024 * 10, 1024), "MB") };
    format!("{},{} {unit}", group_thousands(tenths / 10), tenths % 10)
}

const fn div_round(n: i64, d: i64) -> i64 {
    (n + d / 2) / d
}

/// German thousands separators: 1234567 → "1.234.567".
fn group_thousands(n: i64) -> String {
    let digits = n.max(0).to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use typst::layout::{Frame, FrameItem};

    fn sample() -> Receipt {
        Receipt {
            authority: "Stadt Moorbrück".into(),
            title: "Hundesteuer anmelden".into(),
            receipt_number: "MOO-2026-000001".into(),
            submitted: "23.11.2026, 14:05 Uhr".into(),
            hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
            sections: vec![
                (
                    "Angaben zur Person".into(),
                    vec![
                        ("Name".into(), "Jörg Müßig-Äßlin".into()),
                        ("Anschrift".into(), "Große Straße 12\n12345 Moorbrück".into()),
                    ],
                ),
                (
                    "Angaben zum Hund".into(),
                    vec![
                        ("Rasse".into(), "Dackel".into()),
                        (
                            "Bemerkung".into(),
                            r#"#import "x": * *bold* $math$ ] [ \ _u_ @ref <l> // kein Kommentar"#.into(),
                        ),
                        ("Code".into(), "#{ panic(\"boom\") } #read(\"/data.json\")".into()),
                    ],
                ),
            ],
            computed: vec![("Gebühr".into(), "12,50 €".into())],
            files: vec![
                ("Impfpass.pdf".into(), 123_456, "a".repeat(64)),
                ("Foto [1].jpg".into(), 3_500_000, "b".repeat(64)),
            ],
        }
    }

    fn fixed_date() -> Option<Datetime> {
        Datetime::from_ymd_hms(2026, 11, 23, 13, 5, 0)
    }

    fn text_of(frame: &Frame, out: &mut String) {
        for (_, item) in frame.items() {
            match item {
                FrameItem::Group(g) => text_of(&g.frame, out),
                FrameItem::Text(t) => out.push_str(&t.text),
                _ => {}
            }
        }
    }

    fn plain_text(r: &Receipt) -> String {
        let (doc, _) = compile(r).unwrap();
        let mut s = String::new();
        for p in doc.pages() {
            text_of(&p.frame, &mut s);
        }
        s
    }

    fn contains(hay: &[u8], needle: &str) -> bool {
        hay.windows(needle.len()).any(|w| w == needle.as_bytes())
    }

    #[test]
    fn renders_tagged_pdfa() {
        let out = render_with(&sample(), fixed_date()).unwrap();
        let pdf = &out.pdf;
        assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
        assert_eq!(out.profile, 0, "fell back: {:?}", out.warnings);
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        assert!(contains(pdf, "pdfaid:part"), "no PDF/A identification");
        assert!(contains(pdf, "<pdfaid:part>2</pdfaid:part>") || contains(pdf, "pdfaid:part=\"2\""));
        assert!(contains(pdf, "pdfaid:conformance"));
        assert!(contains(pdf, "pdfuaid:part"), "no PDF/UA identification");
        assert!(contains(pdf, "/StructTreeRoot"), "not tagged");
        assert!(contains(pdf, "/MarkInfo"), "not marked");
        assert!(contains(pdf, "/Lang"), "no language");
        assert!(contains(pdf, "de-DE") || contains(pdf, "(de)"), "language not German");
        assert!(contains(pdf, "Eingangsbest"), "no title metadata");
        // render() itself (with the real clock) works as well.
        assert!(render(&sample()).unwrap().starts_with(b"%PDF-"));
    }

    #[test]
    fn user_text_is_literal() {
        let mut r = sample();
        r.title = "Titel mit *Stern* und $x$ ] \\".into();
        let text = plain_text(&r);
        for needle in [
            "Jörg Müßig-Äßlin",
            "Moorbrück",
            r#"#import "x": * *bold* $math$ ] [ \ _u_ @ref <l> // kein Kommentar"#,
            "#{ panic(\"boom\") } #read(\"/data.json\")",
            "Titel mit *Stern* und $x$ ] \\",
            "Foto [1].jpg",
            "12,50 €",
            "120,6 kB",
            "123.456 Byte",
            "3,3 MB",
            "Bewahren Sie sie auf.",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in {text}");
        }
        // The metadata title keeps the characters too (XML-escaped in XMP).
        let pdf = render_with(&r, fixed_date()).unwrap().pdf;
        assert!(contains(&pdf, "Titel mit *Stern* und $x$ ] \\"));
    }

    #[test]
    fn hostile_characters_do_not_break_pdfa() {
        let mut r = sample();
        r.sections.push((
            String::new(),
            vec![
                ("Emoji".into(), "Hund 🐕‍🦺 ❤️ 👍🏽".into()),
                ("CJK".into(), "张伟 東京 서울".into()),
                ("Controls".into(), "a\u{0}b\u{7}c\u{FEFF}d\u{FFFE}e\r\nf\tg\u{2028}h".into()),
                ("Private".into(), "x\u{E000}y\u{F8FF}z".into()),
                ("Invisible".into(), "soft\u{AD}hy\u{200B}phen \u{202E}rtl\u{202C}".into()),
                ("Scripts".into(), "Ελληνικά Кириллица עברית العربية हिन्दी".into()),
                (String::new(), String::new()),
                ("Long".into(), "lang ".repeat(600)),
                ("Unbroken".into(), "x".repeat(600)),
                ("Combining".into(), "e\u{301}\u{301}\u{301} a\u{20DD}".into()),
            ],
        ));
        r.files.push((String::new(), -5, String::new()));
        let out = render_with(&r, fixed_date()).unwrap();
        assert!(out.pdf.starts_with(b"%PDF-"));
        assert_eq!(out.profile, 0, "fell back: {:?}", out.warnings);
    }

    /// The sanitizer must keep any input PDF/A-valid: throw (nearly) every
    /// BMP code point and a slice of the emoji planes at it.
    #[test]
    fn every_codepoint_stays_pdfa() {
        let ranges =
            [0..0x3400, 0xA000..0xAC00, 0xD7B0..0xD800, 0xF900..0x1_0000, 0x1_F000..0x1_FB00, 0xE_0000..0xE_0080];
        let text: Vec<char> = ranges.into_iter().flatten().filter_map(char::from_u32).collect();
        let mut r = sample();
        r.sections = vec![(
            "Alle Zeichen".into(),
            // Spaces keep the long-word rule from splitting every character.
            text.chunks(300)
                .map(|c| {
                    (
                        "Zeichen".to_owned(),
                        c.chunks(30).map(|w| w.iter().collect::<String>()).collect::<Vec<_>>().join(" "),
                    )
                })
                .collect(),
        )];
        r.title = text.iter().take(500).collect();
        let out = render_with(&r, fixed_date()).unwrap();
        assert_eq!(out.profile, 0, "fell back: {:?}", out.warnings);
    }

    #[test]
    fn empty_receipt() {
        let out = render_with(&Receipt::default(), fixed_date()).unwrap();
        assert_eq!(out.profile, 0, "fell back: {:?}", out.warnings);
    }

    #[test]
    fn deterministic_for_a_fixed_date() {
        let a = render_with(&sample(), fixed_date()).unwrap().pdf;
        let b = render_with(&sample(), fixed_date()).unwrap().pdf;
        assert!(a == b, "two renders of the same receipt differ");
    }

    #[test]
    fn concurrent_renders() {
        let threads: Vec<_> = (0..4)
            .map(|i| {
                std::thread::spawn(move || {
                    let mut r = sample();
                    r.receipt_number = format!("MOO-2026-00000{i}");
                    render_with(&r, fixed_date()).unwrap().profile
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), 0);
        }
    }

    #[test]
    fn cleaning() {
        let a = assets().unwrap();
        let c = |s: &str| clean(s, a);
        assert_eq!(c("a\u{0}b\u{7}c\u{FEFF}d\u{FFFE}e\r\nf\tg\u{2028}h\ri"), "abcde\nf g\nh\ni");
        assert_eq!(c("Jörg Müßig-Äßlin, Ελληνικά, Кириллица"), "Jörg Müßig-Äßlin, Ελληνικά, Кириллица");
        assert_eq!(c("e\u{301} x\u{E000}y"), "e\u{301} x\u{FFFD}y");
        assert_eq!(c("soft\u{AD}hy\u{200B}phen \u{202E}rtl\u{202C}"), "softhyphen rtl");
        assert_eq!(c("a\u{20DD}"), "a\u{FFFD}");
        assert_eq!(c("🐕\u{200D}🦺 ❤\u{FE0F} 张"), "\u{FFFD} ❤ \u{FFFD}");
        assert_eq!(c(r#"#import "x" *b* $m$ ] \"#), r#"#import "x" *b* $m$ ] \"#);
    }

    #[test]
    fn sizes() {
        assert_eq!(human_size(0), "0,0 kB");
        assert_eq!(human_size(-1), "0,0 kB");
        assert_eq!(human_size(512), "0,5 kB");
        assert_eq!(human_size(123_456), "120,6 kB");
        assert_eq!(human_size(1024 * 1024), "1,0 MB");
        assert_eq!(human_size(3_500_000), "3,3 MB");
        assert_eq!(human_size(5_000 * 1024 * 1024), "5.000,0 MB");
        assert_eq!(group_thousands(1_234_567), "1.234.567");
        assert_eq!(group_thousands(999), "999");
    }
}
