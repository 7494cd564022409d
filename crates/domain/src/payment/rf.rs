//! Structured creditor references (ISO 11649, "RF"): derived from the Kassenzeichen
//! so that a bank transfer carries a reference with check digits that the
//! reconciliation can find and trust.

use crate::InvalidValue;

/// The remainder mod 97 of `s` read as a number, letters counting A=10 … Z=35
/// (as for IBANs). `s` must be ASCII alphanumeric.
fn mod97(s: &str) -> u32 {
    let mut r: u32 = 0;
    for c in s.chars() {
        let v = c.to_digit(36).unwrap_or(0);
        r = if v >= 10 { (r * 100 + v) % 97 } else { (r * 10 + v) % 97 };
    }
    r
}

/// The RF reference for `reference` (e.g. a Kassenzeichen): characters other than
/// letters and digits are dropped, letters upper-cased; 1 to 21 remain.
/// `539007547034` → `RF18539007547034`.
///
/// # Errors
/// When nothing or more than 21 characters remain.
pub fn rf_from(reference: &str) -> Result<String, InvalidValue> {
    let body: String = reference.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect();
    if body.is_empty() || body.len() > 21 {
        return Err(InvalidValue(format!(
            "Aus „{reference}“ lässt sich keine Gläubigerreferenz bilden (1 bis 21 Buchstaben und Ziffern)."
        )));
    }
    let check = 98 - mod97(&format!("{body}RF00"));
    Ok(format!("RF{check:02}{body}"))
}

/// Whether `s` is a valid RF reference in its compact form (`RF18539007547034`).
#[must_use]
pub fn is_valid_rf(s: &str) -> bool {
    let b = s.as_bytes();
    if !(5..=25).contains(&b.len()) || !s.starts_with("RF") || !b[2].is_ascii_digit() || !b[3].is_ascii_digit() {
        return false;
    }
    let body = &s[4..];
    if !body.bytes().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()) {
        return false;
    }
    mod97(&format!("{body}{}", &s[..4])) == 1
}

/// The compact form of a typed or printed RF reference (`rf18 5390 0754 7034`), or
/// `None` when it is not a valid one.
#[must_use]
pub fn normalize_rf(s: &str) -> Option<String> {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
    is_valid_rf(&compact).then_some(compact)
}

/// The printed form in groups of four: `RF18 5390 0754 7034`.
#[must_use]
pub fn rf_printed(s: &str) -> String {
    let compact: Vec<char> = s.chars().filter(|c| !c.is_whitespace()).collect();
    compact.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_standard_example() {
        assert_eq!(rf_from("539007547034").as_deref(), Ok("RF18539007547034"));
        assert!(is_valid_rf("RF18539007547034"));
        assert_eq!(rf_printed("RF18539007547034"), "RF18 5390 0754 7034");
        assert_eq!(normalize_rf("rf18 5390 0754 7034").as_deref(), Some("RF18539007547034"));
        // Known valid references from public examples.
        assert!(is_valid_rf("RF712348231"));
        assert!(is_valid_rf("RF45G72UUR"));
    }

    #[test]
    fn wrong_references_are_refused() {
        assert!(!is_valid_rf("RF19539007547034"));
        assert!(!is_valid_rf("RF18539007547035"));
        assert!(!is_valid_rf("RF18"));
        assert!(!is_valid_rf("XX18539007547034"));
        assert!(!is_valid_rf("RF1853900754703412345678901"));
        assert!(!is_valid_rf("RF18 5390"));
        assert!(rf_from("").is_err());
        assert!(rf_from("--").is_err());
        assert!(rf_from(&"9".repeat(22)).is_err());
        assert_eq!(rf_from("mb-2026/000123"), rf_from("MB2026000123"));
    }

    proptest! {
        #[test]
        fn derived_references_are_valid_and_catch_one_changed_character(
            r in "[A-Za-z0-9./ -]{0,30}",
            pos in 0usize..25,
            digit in 0u32..10,
        ) {
            match rf_from(&r) {
                Ok(rf) => {
                    prop_assert!(is_valid_rf(&rf), "{}", rf);
                    prop_assert_eq!(normalize_rf(&rf_printed(&rf)), Some(rf.clone()));
                    // Changing one digit breaks the check digits (MOD 97-10 finds every
                    // single substitution).
                    let i = 2 + pos % (rf.len() - 2);
                    let mut b: Vec<char> = rf.chars().collect();
                    let new = char::from_digit(digit, 10).unwrap_or('0');
                    if b[i].is_ascii_digit() && b[i] != new {
                        b[i] = new;
                        prop_assert!(!is_valid_rf(&b.iter().collect::<String>()));
                    }
                }
                Err(_) => {
                    let n = r.chars().filter(char::is_ascii_alphanumeric).count();
                    prop_assert!(n == 0 || n > 21);
                }
            }
        }
    }
}
