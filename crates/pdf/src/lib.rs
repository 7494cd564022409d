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
//! every string is cleaned first (`text::clean`): control characters are dropped,
//! anything the bundled fonts cannot display becomes U+FFFD (CJK and emoji,
//! for example — the bundled fonts cover Latin, Greek and Cyrillic). Should an
//! export still fail validation, it is retried with fewer standards (PDF/A-2a,
//! PDF/A-2b, plain tagged PDF) so the citizen always gets a receipt; each step
//! down is logged as a warning.
//!
//! Fonts, font book, glyph coverage, the typst standard library and the parsed
//! template are built once per process (`OnceLock`); after that a receipt takes
//! milliseconds, not seconds.

mod assets;
mod chars;
#[cfg(test)]
mod tests;
mod text;

use std::fmt::Write as _;

use serde_json::json;
use typst::diag::SourceDiagnostic;
use typst::foundations::{Bytes, Datetime, Smart};
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, PdfStandard, PdfStandards, Timestamp};

use assets::{Assets, ReceiptWorld, assets};
use text::{clean, group_thousands, human_size};

pub use amtsweg_domain::receipt::Receipt;

/// The typst printer of receipts, for the application layer's
/// [`amtsweg_domain::receipt::ReceiptPrinter`] port.
#[derive(Debug, Clone, Copy, Default)]
pub struct Typst;

impl amtsweg_domain::receipt::ReceiptPrinter for Typst {
    fn print(&self, r: &Receipt) -> Result<Vec<u8>, String> {
        render(r)
    }
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

#if d.payment != none [
  == Zahlung
  #pairs(([Angabe], [Wert]), d.payment.lines)
  #if d.payment.svg != none [
    #block(above: 1em, image(bytes(d.payment.svg), format: "svg", width: 4.5cm, alt: d.payment.alt))
  ]
  #if d.payment.note != "" [
    #d.payment.note
  ]
]

== Anlagen

#if d.files.len() == 0 [
  Es wurden keine Dateien hochgeladen.
] else {
  table(
    columns: (1fr, auto),
    table.header([Datei], [Größe]),
    ..d.files.map(f => (
      [#f.name],
      [#f.size \ #text(size: 8pt, f.bytes)],
    )).flatten(),
  )
}

== Hinweis

Diese Bestätigung belegt den Eingang Ihres Antrags bei #d.authority am
#d.submitted unter der Eingangsnummer #d.receipt_number. Bewahren Sie sie auf.
Über Ihren Antrag ist damit noch nicht entschieden.
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

fn render_with(r: &Receipt, created: Option<Datetime>) -> Result<Rendered, String> {
    let once = |r: &Receipt| {
        compile(r).and_then(|(doc, mut warnings)| {
            let (pdf, profile, more) = export(&doc, &r.receipt_number, created)?;
            warnings.extend(more);
            Ok(Rendered { pdf, warnings, profile })
        })
    };
    let mut result = once(r);
    // The GiroCode is a picture typst draws from SVG; should it ever refuse one,
    // the citizen still gets the receipt, with the bank details as text.
    if let Err(e) = &result
        && r.payment.as_ref().is_some_and(|p| p.girocode_svg.is_some())
    {
        let mut plain = r.clone();
        if let Some(p) = plain.payment.as_mut() {
            p.girocode_svg = None;
        }
        let first = e.clone();
        result = once(&plain).map(|mut out| {
            out.warnings.push(format!("printed without the GiroCode: {first}"));
            out
        });
    }
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
        "sections": r.sections.iter().enumerate().map(|(i, (t, rows))| {
            let t = c(t);
            // An empty heading is a PDF/UA error.
            let t = if t.trim().is_empty() { format!("Abschnitt {}", i + 1) } else { t };
            json!({ "title": t, "rows": pairs(rows) })
        }).collect::<Vec<_>>(),
        "computed": pairs(&r.computed),
        "payment": r.payment.as_ref().map(|p| json!({
            "lines": pairs(&p.lines),
            // The SVG is markup for typst's SVG reader, never typst markup; it is ours
            // (qr module) and holds no user text but the escaped title.
            "svg": p.girocode_svg.clone(),
            "alt": "GiroCode: QR-Code für die Überweisung mit Ihrer Banking-App",
            "note": c(&p.note),
        })),
        "files": r.files.iter().map(|(name, size)| json!({
            "name": c(name),
            "size": human_size(*size),
            "bytes": format!("{} Byte", group_thousands(*size)),
        })).collect::<Vec<_>>(),
    })
}
