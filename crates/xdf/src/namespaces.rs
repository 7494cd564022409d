//! A bound on namespace declarations, checked on the text before it is parsed. The
//! XML parser copies the namespaces in scope into every element that declares one
//! more, and looks each prefix up among those in scope: thousands of different
//! declarations, nested, made parsing an uploaded file take quadratic time. Real
//! XDatenfelder files declare a handful (the standard's, `xsi`, perhaps a few more);
//! declaring the same prefix for the same namespace again on many elements, as some
//! tools write, costs little and stays allowed.

use crate::ImportError;
use std::collections::HashSet;

/// How many different declarations (prefix and namespace) a file may hold. With
/// this bound the namespaces in scope at any element are at most as many, so every
/// copy and look-up of the parser costs a constant.
pub(crate) const MAX_DISTINCT: usize = 64;

/// Refuses a file with more than [`MAX_DISTINCT`] different namespace declarations,
/// naming the line of the first one too many.
pub(crate) fn check(xml: &str) -> Result<(), ImportError> {
    let mut seen: HashSet<&str> = HashSet::new();
    // What cannot be read as a declaration here (text that happens to contain the
    // word, or an unusual spelling) counts as a new one each time: never too few.
    let mut unreadable = 0usize;
    for (at, _) in xml.match_indices("xmlns") {
        let new = match declaration(&xml[at..]) {
            Some(d) => seen.insert(d),
            None => {
                unreadable += 1;
                true
            }
        };
        if new && seen.len() + unreadable > MAX_DISTINCT {
            let line = xml[..at].bytes().filter(|b| *b == b'\n').count() + 1;
            return Err(ImportError::Invalid(format!(
                "In Zeile {line} wird ein weiterer Namensraum deklariert (xmlns); eine Datei darf höchstens {MAX_DISTINCT} verschiedene enthalten. XDatenfelder-Dateien brauchen nur wenige – bitte prüfen Sie, ob die Datei vollständig und richtig exportiert wurde."
            )));
        }
    }
    Ok(())
}

/// `xmlns[:prefix] = "namespace"` at the start of `s`, as one piece of text (the
/// same text is the same declaration), or `None` when it is not one.
fn declaration(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let mut i = "xmlns".len();
    if b.get(i) == Some(&b':') {
        i += 1;
        while b.get(i).is_some_and(|c| !c.is_ascii_whitespace() && !matches!(c, b'=' | b'>' | b'/')) {
            i += 1;
        }
    }
    while b.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    if b.get(i) != Some(&b'=') {
        return None;
    }
    i += 1;
    while b.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    let quote = *b.get(i).filter(|q| matches!(q, b'"' | b'\''))?;
    let end = i + 1 + s[i + 1..].find(char::from(quote))?;
    Some(&s[..=end])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn declarations_are_read_as_written() {
        assert_eq!(declaration(r#"xmlns:xdf="urn:a" x"#), Some(r#"xmlns:xdf="urn:a""#));
        assert_eq!(declaration("xmlns = 'urn:b'/>"), Some("xmlns = 'urn:b'"));
        assert_eq!(declaration("xmlns is a word"), None);
        assert_eq!(declaration(r#"xmlns:x="unterminated"#), None);
    }

    #[test]
    fn the_same_declaration_again_is_allowed_and_many_different_are_refused_with_the_line() {
        let again = r#"<a xmlns:x="urn:x">"#.repeat(10_000);
        assert_eq!(check(&again), Ok(()));
        let few: String = (0..MAX_DISTINCT).map(|i| format!("<a xmlns:p{i}=\"urn:{i}\">\n")).collect();
        assert_eq!(check(&few), Ok(()));
        let many = format!("{few}<b xmlns:p='urn:too-many'/>");
        let e = check(&many).expect_err("refused").to_string();
        assert!(e.contains(&format!("In Zeile {}", MAX_DISTINCT + 1)), "{e}");
        assert!(e.contains("höchstens 64 verschiedene"), "{e}");
        // The word in text counts too (never too few), each time.
        let words = "xmlns ".repeat(MAX_DISTINCT + 1);
        assert!(check(&words).is_err());
    }
}
