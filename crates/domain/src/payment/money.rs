//! Money as integer cents. Wire formats with decimals are read and written as
//! decimal text here, so no amount ever passes through floating point.

use crate::InvalidValue;
use serde::{Deserialize, Serialize};

/// An amount in euro cents (negative for refunds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cents(pub i64);

impl Cents {
    /// The largest amount XBezahldienste accepts (`grosAmount` ≤ 999999 euro).
    pub const MAX_ONLINE: Cents = Cents(99_999_900);
    /// The largest amount of a GiroCode (999 999 999,99 euro).
    pub const MAX_GIROCODE: Cents = Cents(99_999_999_999);

    /// Parses a decimal number with a point as wire formats write it: `12.5`,
    /// `12.50`, `8.850` (trailing zeros beyond the cent are fine), `-3`. Refused:
    /// digits below the cent (`10.001`), exponents, signs other than a leading
    /// minus, empty text, and amounts beyond ±10^15 euro.
    ///
    /// # Errors
    /// When `s` is not such a number.
    pub fn parse_decimal(s: &str) -> Result<Cents, InvalidValue> {
        let bad = || InvalidValue(format!("„{s}“ ist kein Geldbetrag."));
        let (negative, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int, frac) = match body.split_once('.') {
            Some((i, f)) if !f.is_empty() => (i, f),
            Some(_) => return Err(bad()),
            None => (body, ""),
        };
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        if frac.len() > 2 && !frac[2..].bytes().all(|b| b == b'0') {
            return Err(InvalidValue(format!("„{s}“ hat mehr als zwei Nachkommastellen.")));
        }
        Self::from_parts(negative, int, &frac[..frac.len().min(2)]).ok_or_else(bad)
    }

    /// Parses an amount as people in Germany type it: `12,50`, `1.234,50`, `12`,
    /// `12,5`, optionally with ` €` (back-office inputs, CSV imports).
    ///
    /// # Errors
    /// When `s` is not such an amount.
    pub fn parse_german(s: &str) -> Result<Cents, InvalidValue> {
        let bad = || InvalidValue(format!("„{}“ ist kein Betrag in Euro (Beispiel: 12,50).", s.trim()));
        let t = s.trim().trim_end_matches('€').trim_end_matches("EUR").trim();
        let (negative, body) = match t.strip_prefix('-') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, t),
        };
        let (int, frac) = match body.split_once(',') {
            Some((i, f)) if (1..=2).contains(&f.len()) => (i, f),
            Some(_) => return Err(bad()),
            None => (body, ""),
        };
        // Thousands separators only in their places: "1.234", not "12.34".
        let int: String = if int.contains('.') {
            let groups: Vec<&str> = int.split('.').collect();
            let first_ok = (1..=3).contains(&groups[0].len());
            if !first_ok || groups[1..].iter().any(|g| g.len() != 3) {
                return Err(bad());
            }
            groups.concat()
        } else {
            int.to_owned()
        };
        if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        Self::from_parts(negative, &int, frac).ok_or_else(bad)
    }

    /// `int` and at most two fraction digits, all ASCII digits.
    fn from_parts(negative: bool, int: &str, frac: &str) -> Option<Cents> {
        // 10^15 euro: far beyond any fee, far below overflow.
        if int.trim_start_matches('0').len() > 15 {
            return None;
        }
        let euros: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let cents: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().ok()? * 10,
            _ => frac.parse().ok()?,
        };
        let v = euros.checked_mul(100)?.checked_add(cents)?;
        Some(Cents(if negative { -v } else { v }))
    }

    /// The amount with a point and two decimals: `12.50`, `-3.00` (wire, EPC, CSV).
    #[must_use]
    pub fn decimal(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let c = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", c / 100, c % 100)
    }

    /// The amount as citizens read it: `1.234,50 €` (as the forms show amounts).
    #[must_use]
    pub fn german(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let c = self.0.unsigned_abs();
        let euros = (c / 100).to_string();
        let mut grouped = String::new();
        for (i, ch) in euros.chars().enumerate() {
            if i > 0 && (euros.len() - i).is_multiple_of(3) {
                grouped.push('.');
            }
            grouped.push(ch);
        }
        format!("{sign}{grouped},{:02} €", c % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decimals_parse_without_floating_point() {
        for (s, c) in
            [("12.5", 1250), ("12.50", 1250), ("8.850", 885), ("-3", -300), ("0.01", 1), ("0", 0), ("123.45", 12345)]
        {
            assert_eq!(Cents::parse_decimal(s), Ok(Cents(c)), "{s}");
        }
        for s in [
            "10.001",
            "0.011",
            "1e3",
            "",
            "-",
            ".5",
            "12.",
            "+3",
            "1,5",
            " 1",
            "abc",
            "999999999.99+0.01",
            "1234567890123456",
        ] {
            assert!(Cents::parse_decimal(s).is_err(), "{s}");
        }
    }

    #[test]
    fn german_amounts_parse() {
        for (s, c) in
            [("12,50", 1250), ("1.234,50", 123_450), ("12", 1200), ("12,5", 1250), (" 7,00 € ", 700), ("-2,00", -200)]
        {
            assert_eq!(Cents::parse_german(s), Ok(Cents(c)), "{s}");
        }
        for s in ["12.34", "1,234", "", "€", "12,", "1.23,00", "zwölf", "1.2345,00"] {
            assert!(Cents::parse_german(s).is_err(), "{s}");
        }
    }

    #[test]
    fn amounts_are_written_both_ways() {
        assert_eq!(Cents(1250).decimal(), "12.50");
        assert_eq!(Cents(-300).decimal(), "-3.00");
        assert_eq!(Cents(5).decimal(), "0.05");
        assert_eq!(Cents(123_450).german(), "1.234,50 €");
        assert_eq!(Cents(-5).german(), "-0,05 €");
        assert_eq!(Cents(99_999_999_999).german(), "999.999.999,99 €");
    }

    proptest! {
        #[test]
        fn decimal_text_round_trips(c in -1_000_000_000_000i64..1_000_000_000_000) {
            prop_assert_eq!(Cents::parse_decimal(&Cents(c).decimal()), Ok(Cents(c)));
            let german = Cents(c).german();
            prop_assert_eq!(Cents::parse_german(&german), Ok(Cents(c)));
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,24}") {
            let _ = Cents::parse_decimal(&s);
            let _ = Cents::parse_german(&s);
        }
    }
}
