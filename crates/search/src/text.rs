//! The text snippets are cut from: Markdown turned into plain sentences, each
//! sentence once.
//!
//! Service texts are written in Markdown and often repeat themselves (the summary
//! opens the description, a list repeats a paragraph). Indexed as they are, snippets
//! showed raw list markers ("- ", "* ", "1. ") and the same sentence twice. So the
//! stored text is plain: Markdown markers removed, every block on its own line, and
//! a sentence that occurred before (compared without case, spacing and final
//! punctuation) left out.

use pulldown_cmark::{Event, Options, Parser, TagEnd};
use std::collections::HashSet;

/// Words ending in a full stop that do not end a sentence.
/// (Single letters, as in "z. B.", never do.)
const ABBREVIATIONS: &[&str] = &[
    "abs", "bspw", "bzw", "ca", "dr", "evtl", "gem", "ggf", "inkl", "max", "min", "nr", "str", "tel", "usw", "vgl",
    "zzgl", "mo", "di", "mi", "do", "fr", "sa", "so",
];

/// Markdown as plain text: one line per paragraph, list item, heading or table
/// row, without markers; link texts kept, their targets dropped.
#[must_use]
pub fn plain(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let block_end = |out: &mut String| {
        let trimmed = out.trim_end_matches([' ', '\t']).len();
        out.truncate(trimmed);
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
    };
    for ev in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
        match ev {
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::BlockQuote(_)
                | TagEnd::CodeBlock
                | TagEnd::TableRow
                | TagEnd::TableHead,
            )
            | Event::Rule => block_end(&mut out),
            Event::End(TagEnd::TableCell) => out.push(' '),
            _ => {}
        }
    }
    out.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n")
}

/// The sentences of one line of plain text. A full stop after a number or a
/// known abbreviation ("z. B.", "Nr.") does not end a sentence.
fn sentences(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    for (i, &(pos, c)) in chars.iter().enumerate() {
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        let Some(&(next_pos, next)) = chars.get(i + 1) else { continue };
        if !next.is_whitespace() {
            continue;
        }
        if c == '.' {
            let word: String = line[start..pos]
                .rsplit(|ch: char| ch.is_whitespace() || ch == '(')
                .next()
                .unwrap_or_default()
                .to_lowercase();
            let word = word.trim_start_matches('.');
            let single_letter = word.chars().count() == 1 && word.chars().all(char::is_alphabetic);
            if word.is_empty()
                || single_letter
                || word.chars().all(|ch| ch.is_ascii_digit())
                || ABBREVIATIONS.contains(&word)
            {
                continue;
            }
        }
        // The sentence goes on when the next word starts in lower case.
        let following = line[next_pos..].trim_start().chars().next();
        if following.is_some_and(char::is_lowercase) {
            continue;
        }
        out.push(line[start..next_pos].trim());
        start = next_pos;
    }
    let rest = line[start..].trim();
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

/// A sentence compared without case, spacing and final punctuation.
fn sentence_key(s: &str) -> String {
    let words: Vec<String> = s.split_whitespace().map(|w| w.to_lowercase()).collect();
    words.join(" ").trim_end_matches(['.', '!', '?', ':', ';', ',']).to_owned()
}

/// Plain text of several Markdown parts with every sentence once: a sentence that
/// occurred before in any part is left out, and a line left empty disappears.
#[must_use]
pub fn snippet_source(parts: &[&str]) -> String {
    let mut seen = HashSet::new();
    let mut lines = Vec::new();
    for part in parts {
        for line in plain(part).lines() {
            let kept: Vec<&str> = sentences(line).into_iter().filter(|s| seen.insert(sentence_key(s))).collect();
            if !kept.is_empty() {
                lines.push(kept.join(" "));
            }
        }
    }
    lines.join("\n")
}

/// A snippet on one line: the lines of its source (list items, paragraphs) joined
/// by a space after a sentence's end and by " · " otherwise, so list items stay
/// apart when the snippet is shown as one paragraph.
#[must_use]
pub fn join_lines(snippet: &str) -> String {
    let mut out = String::with_capacity(snippet.len() + 16);
    for line in snippet.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !out.is_empty() {
            let last = out.trim_end_matches("</mark>").chars().last();
            out.push_str(if last.is_some_and(|c| matches!(c, '.' | ':' | ';' | '!' | '?')) { " " } else { " · " });
        }
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_markers_vanish() {
        let p = plain(
            "## Unterlagen\n\n- Personalausweis\n* Meldebescheinigung\n+ Foto\n1. Antrag stellen\n2) Zahlen\n\n> Hinweis: **fett** und _kursiv_, [Link](https://example.org) und `Code`.",
        );
        for marker in ["- ", "* ", "+ ", "1. ", "2) ", "#", "> ", "**", "_kursiv_", "](", "`"] {
            assert!(!p.contains(marker), "{marker:?} in {p:?}");
        }
        assert_eq!(
            p.lines().collect::<Vec<_>>(),
            [
                "Unterlagen",
                "Personalausweis",
                "Meldebescheinigung",
                "Foto",
                "Antrag stellen",
                "Zahlen",
                "Hinweis: fett und kursiv, Link und Code."
            ]
        );
    }

    #[test]
    fn sentences_split_at_ends_not_at_abbreviations_or_numbers() {
        assert_eq!(
            sentences("Bringen Sie z. B. den Ausweis mit. Die Gebühr beträgt 15 €. Am 1. Mai ist zu. Fertig!"),
            ["Bringen Sie z. B. den Ausweis mit.", "Die Gebühr beträgt 15 €.", "Am 1. Mai ist zu.", "Fertig!"]
        );
        assert_eq!(sentences("Nr. 5 gilt."), ["Nr. 5 gilt."]);
    }

    #[test]
    fn snippet_lines_are_joined_readably() {
        assert_eq!(
            join_lines("Sie brauchen:\nAusweis\n<mark>Foto</mark>\nGeld.\nDann"),
            "Sie brauchen: Ausweis · <mark>Foto</mark> · Geld. Dann"
        );
    }

    #[test]
    fn a_sentence_occurs_once() {
        let summary = "Sie melden Ihren Hund an.";
        let body = "Sie melden Ihren Hund an. Die Steuer beträgt 90 €.\n\n- Sie melden Ihren Hund an\n- Halten Sie die Marke bereit.\n\nDie Steuer beträgt 90 €.";
        let s = snippet_source(&[summary, body]);
        assert_eq!(s.matches("Sie melden Ihren Hund an").count(), 1, "{s}");
        assert_eq!(s.matches("Die Steuer beträgt 90 €").count(), 1, "{s}");
        assert!(s.contains("Halten Sie die Marke bereit."));
        assert!(!s.contains("- "), "{s}");
    }
}
