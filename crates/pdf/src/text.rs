//! Text made safe for PDF/A, and the German number formats of the receipt.

use unicode_segmentation::UnicodeSegmentation as _;

use crate::assets::Assets;
use crate::chars::{is_default_ignorable, is_noncharacter, is_private_use};

/// Makes a string safe for PDF/A text: unifies line breaks, drops control
/// and invisible formatting characters, and replaces private-use characters
/// and characters the bundled fonts cannot display with U+FFFD.
///
/// PDF/A forbids `.notdef` glyphs, and typst picks a fallback font per
/// cluster by its first character only, so a cluster of several characters
/// (base plus combining marks, emoji sequences) is only kept as a whole if
/// the main text font covers all of it; otherwise its first character is kept
/// (if any font has it) followed by U+FFFD.
pub(crate) fn clean(s: &str, a: &Assets) -> String {
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
/// "12,1 kB" / "3,4 MB" (binary units, as elsewhere in the portal).
pub(crate) fn human_size(bytes: i64) -> String {
    let b = bytes.max(0);
    let (tenths, unit) =
        if b < 1024 * 1024 { (div_round(b * 10, 1024), "kB") } else { (div_round(b / 1024 * 10, 1024), "MB") };
    format!("{},{} {unit}", group_thousands(tenths / 10), tenths % 10)
}

pub(crate) const fn div_round(n: i64, d: i64) -> i64 {
    (n + d / 2) / d
}

/// German thousands separators: 1234567 → "1.234.567".
pub(crate) fn group_thousands(n: i64) -> String {
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
