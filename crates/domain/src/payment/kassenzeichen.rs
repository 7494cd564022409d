//! The Kassenzeichen: the treasury's reference of a payment, from a pattern per
//! authority (and service), and the texts that XBezahldienste allows.

use crate::InvalidValue;

/// The longest rendered Kassenzeichen (it becomes part of an RF reference and of a
/// 27-character purpose).
pub const MAX_LEN: usize = 30;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Year,
    ShortYear,
    Amt,
    Number(usize),
}

/// A pattern such as `{amt}-{jahr}-{nr:6}`: literals of `A–Z 0–9 . / -`, the
/// placeholders `{jahr}` (2026), `{jj}` (26), `{amt}` (the authority's short code)
/// and, required once, `{nr:N}` (the running number with at least N digits, 1 to 12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KassenzeichenPattern(String);

impl KassenzeichenPattern {
    pub const DEFAULT: &'static str = "{amt}-{jahr}-{nr:6}";

    fn parts(s: &str) -> Result<Vec<Part>, InvalidValue> {
        let bad = |m: String| Err(InvalidValue(m));
        let mut parts = Vec::new();
        let mut rest = s;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('{') {
                let Some((name, tail)) = after.split_once('}') else {
                    return bad(format!("Im Muster „{s}“ fehlt eine schließende Klammer }}."));
                };
                parts.push(match name {
                    "jahr" => Part::Year,
                    "jj" => Part::ShortYear,
                    "amt" => Part::Amt,
                    _ => match name.strip_prefix("nr:").and_then(|n| n.parse::<usize>().ok()) {
                        Some(n) if (1..=12).contains(&n) => Part::Number(n),
                        _ => {
                            return bad(format!(
                                "„{{{name}}}“ gibt es nicht; erlaubt sind {{jahr}}, {{jj}}, {{amt}} und {{nr:N}} mit N von 1 bis 12."
                            ));
                        }
                    },
                });
                rest = tail;
            } else {
                let end = rest.find('{').unwrap_or(rest.len());
                let lit = &rest[..end];
                if let Some(c) =
                    lit.chars().find(|c| !(c.is_ascii_uppercase() || c.is_ascii_digit() || ".-/".contains(*c)))
                {
                    return bad(format!(
                        "Das Zeichen „{c}“ ist im Kassenzeichen nicht erlaubt (nur A–Z, 0–9, Punkt, Schrägstrich und Bindestrich)."
                    ));
                }
                parts.push(Part::Literal(lit.to_owned()));
                rest = &rest[end..];
            }
        }
        match parts.iter().filter(|p| matches!(p, Part::Number(_))).count() {
            1 => Ok(parts),
            0 => bad("Das Muster braucht eine laufende Nummer {nr:N}, zum Beispiel {nr:6}.".into()),
            _ => bad("Das Muster darf nur eine laufende Nummer {nr:N} enthalten.".into()),
        }
    }

    /// # Errors
    /// When `s` is not a valid pattern (German message).
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let s = s.trim();
        let parts = Self::parts(s)?;
        let p = Self(s.to_owned());
        // The longest plausible rendering must fit: number at its width, a 4-letter
        // short code for {amt}.
        let longest: usize = parts
            .iter()
            .map(|p| match p {
                Part::Literal(l) => l.len(),
                Part::Year | Part::Amt => 4,
                Part::ShortYear => 2,
                Part::Number(n) => *n,
            })
            .sum();
        if longest > MAX_LEN {
            return Err(InvalidValue(format!(
                "Das Kassenzeichen wird mit diesem Muster länger als {MAX_LEN} Zeichen."
            )));
        }
        Ok(p)
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The Kassenzeichen for running `number` in `year`; `amt` is the authority's
    /// short code (only `A–Z 0–9` of it are used, upper-cased).
    ///
    /// # Errors
    /// When the result is longer than [`MAX_LEN`] or the number is negative.
    pub fn render(&self, year: i16, number: i64, amt: &str) -> Result<String, InvalidValue> {
        if number < 0 {
            return Err(InvalidValue("Die laufende Nummer darf nicht negativ sein.".into()));
        }
        let amt: String = amt.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect();
        let mut out = String::new();
        for p in Self::parts(&self.0)? {
            match p {
                Part::Literal(l) => out.push_str(&l),
                Part::Year => out.push_str(&format!("{year:04}")),
                Part::ShortYear => out.push_str(&format!("{:02}", year.rem_euclid(100))),
                Part::Amt => out.push_str(&amt),
                // A number beyond N digits is written in full rather than refused:
                // the pattern stays valid for a busy year.
                Part::Number(n) => out.push_str(&format!("{number:0n$}")),
            }
        }
        if out.len() > MAX_LEN {
            return Err(InvalidValue(format!("Das Kassenzeichen „{out}“ ist länger als {MAX_LEN} Zeichen.")));
        }
        Ok(out)
    }
}

/// Upper-case letters and digits only, for matching (`mb-2026/000123` → `MB2026000123`).
#[must_use]
pub fn compact(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_uppercase).collect()
}

/// German letters spelled out in ASCII (`ä` → `ae`, `ß` → `ss`); other letters
/// with accents lose them where a plain ASCII letter is obvious, others are dropped.
fn ascii(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'Ä' => out.push_str("Ae"),
            'Ö' => out.push_str("Oe"),
            'Ü' => out.push_str("Ue"),
            'ß' => out.push_str("ss"),
            'à' | 'á' | 'â' => out.push('a'),
            'è' | 'é' | 'ê' => out.push('e'),
            'ì' | 'í' | 'î' => out.push('i'),
            'ò' | 'ó' | 'ô' => out.push('o'),
            'ù' | 'ú' | 'û' => out.push('u'),
            'ç' => out.push('c'),
            'ñ' => out.push('n'),
            c if c.is_ascii() => out.push(c),
            _ => out.push(' '),
        }
    }
    out
}

/// Collapses runs of white space to one space and trims.
fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The XBezahldienste `purpose` (≤ 27 characters of `^[\w\d\s-]+$`, ASCII): the
/// Kassenzeichen, then as much of the title as fits.
#[must_use]
pub fn xbezahl_purpose(kassenzeichen: &str, title: &str) -> String {
    let allowed = |c: char| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { ' ' };
    let text: String = ascii(&format!("{kassenzeichen} {title}")).chars().map(allowed).collect();
    let mut out = squeeze(&text);
    out.truncate(27);
    let out = out.trim_end().to_owned();
    if out.is_empty() { "Gebuehr".to_owned() } else { out }
}

/// The XBezahldienste `description` (≤ 250 characters of
/// `^[\w\d\s-,\.\u00C0-\u017F]+$`): ASCII letters, digits, spaces and `- . , _`;
/// everything else becomes a space — "Frankfurt (Oder)" is "Frankfurt Oder", since
/// the provider refuses the whole payment for one character it does not accept.
#[must_use]
pub fn xbezahl_description(s: &str) -> String {
    let allowed = |c: char| if c.is_ascii_alphanumeric() || " -.,_".contains(c) { c } else { ' ' };
    let text: String = ascii(s).chars().map(allowed).collect();
    let mut out = squeeze(&text);
    out.truncate(250);
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_render() {
        let p = KassenzeichenPattern::parse(KassenzeichenPattern::DEFAULT).unwrap();
        assert_eq!(p.render(2026, 123, "mb").as_deref(), Ok("MB-2026-000123"));
        let p = KassenzeichenPattern::parse("5.{jj}.{nr:4}").unwrap();
        assert_eq!(p.render(2026, 7, "").as_deref(), Ok("5.26.0007"));
        assert_eq!(p.render(2026, 123_456, "").as_deref(), Ok("5.26.123456"));
        assert!(p.render(2026, -1, "").is_err());
    }

    #[test]
    fn bad_patterns_are_refused() {
        for s in [
            "{amt}-{jahr}",
            "{nr:0}",
            "{nr:13}",
            "{nr:6}{nr:2}",
            "ab-{nr:3}",
            "{nr:6",
            "{monat}-{nr:3}",
            "X{nr:12}{nr:1}",
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ-{nr:6}",
        ] {
            assert!(KassenzeichenPattern::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn compact_for_matching() {
        assert_eq!(compact("mb-2026/000123"), "MB2026000123");
    }

    #[test]
    fn provider_texts_keep_the_rules() {
        let p = xbezahl_purpose("MB-2026-000123", "Meldebescheinigung für Müller");
        assert!(p.len() <= 27, "{p}");
        assert!(p.starts_with("MB-2026-000123 Meldebeschei"), "{p}");
        assert!(p.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-' || c == '_'));
        assert_eq!(xbezahl_purpose("5.26/0007", "Größe"), "5 26 0007 Groesse");
        let d = xbezahl_description(&"Gebühr <script> für „Hundesteuer“ ".repeat(20));
        assert!(d.len() <= 250);
        assert!(!d.contains('<') && !d.contains('„'));
        assert!(d.starts_with("Gebuehr script fuer Hundesteuer"));
        let d = xbezahl_description("An-/Ummeldung: Wohnung (Haupt+Neben) & ’Kfz’, Frankfurt (Oder)");
        assert_eq!(d, "An- Ummeldung Wohnung Haupt Neben Kfz , Frankfurt Oder");
    }
}
