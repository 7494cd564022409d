//! Unit tests of the receipt: content, injection, PDF/A profile, fonts.

use super::*;
use typst::layout::{Frame, FrameItem};

fn sample() -> Receipt {
    Receipt {
        authority: "Stadt Moorbrück".into(),
        title: "Hundesteuer anmelden".into(),
        receipt_number: "MOO-2026-000001".into(),
        submitted: "23.11.2026, 14:05 Uhr".into(),
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
                    ("Bemerkung".into(), r#"#import "x": * *bold* $math$ ] [ \ _u_ @ref <l> // kein Kommentar"#.into()),
                    ("Code".into(), "#{ panic(\"boom\") } #read(\"/data.json\")".into()),
                ],
            ),
        ],
        computed: vec![("Gebühr".into(), "12,50 €".into())],
        files: vec![("Impfpass.pdf".into(), 123_456), ("Foto [1].jpg".into(), 3_500_000)],
        payment: None,
    }
}

/// A small SVG of the shape the portal's QR module writes (title, one path).
const QR_SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 29 29" role="img" aria-label="GiroCode"><title>GiroCode &amp; &lt;Test&gt;</title><rect width="29" height="29" fill="#fff"/><path fill="#000" shape-rendering="crispEdges" d="M4 4h7v1h-7zM4 5h1v5h-1zM18 4h7v7h-7z"/></svg>"##;

fn with_payment(svg: Option<&str>) -> Receipt {
    let mut r = sample();
    r.payment = Some(amtsweg_domain::receipt::ReceiptPayment {
        lines: vec![
            ("Kassenzeichen".into(), "MOO-2026-000017".into()),
            ("Betrag".into(), "12,50 €".into()),
            ("IBAN".into(), "DE02 1203 0000 0000 2020 51".into()),
        ],
        girocode_svg: svg.map(str::to_owned),
        note: "Bitte überweisen Sie den Betrag bis zum 07.12.2026.".into(),
    });
    r
}

fn images_in(frame: &Frame) -> usize {
    frame
        .items()
        .map(|(_, item)| match item {
            FrameItem::Group(g) => images_in(&g.frame),
            FrameItem::Image(..) => 1,
            _ => 0,
        })
        .sum()
}

#[test]
fn the_payment_section_with_the_girocode_stays_pdfa() {
    let r = with_payment(Some(QR_SVG));
    let text = plain_text(&r);
    for needle in ["Zahlung", "Kassenzeichen", "MOO-2026-000017", "DE02 1203 0000 0000 2020 51", "07.12.2026"] {
        assert!(text.contains(needle), "missing {needle:?} in {text}");
    }
    let (doc, _) = compile(&r).unwrap();
    assert_eq!(doc.pages().iter().map(|p| images_in(&p.frame)).sum::<usize>(), 1, "the GiroCode is drawn");
    let out = render_with(&r, fixed_date()).unwrap();
    assert_eq!(out.profile, 0, "fell back: {:?}", out.warnings);
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    // Without a picture the section is text only.
    let (doc, _) = compile(&with_payment(None)).unwrap();
    assert_eq!(doc.pages().iter().map(|p| images_in(&p.frame)).sum::<usize>(), 0);
}

#[test]
fn an_svg_typst_refuses_leaves_the_receipt_without_the_picture() {
    let out = render_with(&with_payment(Some("<svg this is not")), fixed_date()).unwrap();
    assert!(out.pdf.starts_with(b"%PDF-"));
    assert!(out.warnings.iter().any(|w| w.contains("without the GiroCode")), "{:?}", out.warnings);
    assert_eq!(out.profile, 0, "fell back: {:?}", out.warnings);
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

/// Whether `s` holds a run of 64 hex digits (a SHA-256 checksum in hex).
fn has_sha256_hex(s: &str) -> bool {
    let mut run = 0;
    for ch in s.chars() {
        run = if ch.is_ascii_hexdigit() { run + 1 } else { 0 };
        if run >= 64 {
            return true;
        }
    }
    false
}

/// Citizens get no checksums: the receipt names each file with its size only
/// (the hand-over packages for the authority keep the checksums).
#[test]
fn no_checksums_for_citizens() {
    assert!(has_sha256_hex(&"a".repeat(64)) && !has_sha256_hex(&"a".repeat(63)));
    let r = sample();
    let text = plain_text(&r);
    for needle in ["Impfpass.pdf", "Foto [1].jpg", "120,6 kB", "3,3 MB", "Anlagen"] {
        assert!(text.contains(needle), "missing {needle:?} in {text}");
    }
    assert!(!has_sha256_hex(&text), "a checksum is printed: {text}");
    for hidden in ["SHA-256", "Prüfsumme", "SHA256"] {
        assert!(!text.contains(hidden), "{hidden:?} is printed: {text}");
    }
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
    r.files.push((String::new(), -5));
    let out = render_with(&r, fixed_date()).unwrap();
    assert!(out.pdf.starts_with(b"%PDF-"));
    assert_eq!(out.profile, 0, "fell back: {:?}", out.warnings);
}

/// The sanitizer must keep any input PDF/A-valid: throw (nearly) every
/// BMP code point and a slice of the emoji planes at it.
#[test]
fn every_codepoint_stays_pdfa() {
    let ranges = [0..0x3400, 0xA000..0xAC00, 0xD7B0..0xD800, 0xF900..0x1_0000, 0x1_F000..0x1_FB00, 0xE_0000..0xE_0080];
    let text: Vec<char> = ranges.into_iter().flatten().filter_map(char::from_u32).collect();
    let mut r = sample();
    r.sections = vec![(
        "Alle Zeichen".into(),
        // Spaces keep the long-word rule from splitting every character.
        text.chunks(300)
            .map(|c| {
                ("Zeichen".to_owned(), c.chunks(30).map(|w| w.iter().collect::<String>()).collect::<Vec<_>>().join(" "))
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
