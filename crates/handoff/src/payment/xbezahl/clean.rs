//! The requestor's fields cut to what the standard's models allow, so a citizen
//! named O'Brien or living in "Halle (Saale)" can still pay: a provider refuses the
//! whole request (`VALIDATION_ERROR`) for one character it does not accept. Names,
//! organisation and street follow the `description` pattern (≤ 250), the house
//! number `[\w\d-]` (≤ 20), the postcode digits (≤ 5), the city the `description`
//! pattern without the full stop. A field that ends up empty is left out.

use super::Requestor;
use serde::Serialize;

/// The requestor as sent: every field cut to the standard's models (the functions below),
/// empty ones left out.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireRequestor {
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    first_name: String,
    is_organization: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    organization_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<WireAddress>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireAddress {
    #[serde(skip_serializing_if = "String::is_empty")]
    street: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    house_number: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    postal_code: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    city: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    country: String,
}

impl WireRequestor {
    /// `None` when no name is left (the model requires one).
    pub(super) fn of(p: &Requestor) -> Option<Self> {
        let family = name(&p.name);
        let address = p.address.as_ref().map(|a| WireAddress {
            street: name(&a.street),
            house_number: house_number(&a.house_number),
            postal_code: postal_code(&a.postal_code),
            city: city(&a.city),
            country: country(&a.country),
        });
        let address = address.filter(|a| {
            !(a.street.is_empty()
                && a.house_number.is_empty()
                && a.postal_code.is_empty()
                && a.city.is_empty()
                && a.country.is_empty())
        });
        (!family.is_empty()).then(|| Self {
            name: family,
            first_name: name(&p.first_name),
            is_organization: p.is_organization,
            organization_name: name(&p.organization_name),
            address,
        })
    }
}

/// `[\w\d\s-,\.\u00C0-\u017F]`: the characters of `description` (and names).
pub(crate) fn text_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ',' | '.' | '\u{C0}'..='\u{17F}') || c.is_ascii_whitespace()
}

/// Collapses white space and cuts to `max` characters.
fn squeeze(s: &str, max: usize) -> String {
    let joined = s.split_whitespace().collect::<Vec<_>>().join(" ");
    joined.chars().take(max).collect::<String>().trim_end().to_owned()
}

/// A name, organisation or street: characters not allowed become spaces.
pub(crate) fn name(s: &str) -> String {
    squeeze(&s.chars().map(|c| if text_char(c) { c } else { ' ' }).collect::<String>(), 250)
}

/// A city: as a name, and the full stop becomes a space too ("Frankfurt a.M.").
pub(crate) fn city(s: &str) -> String {
    squeeze(&s.chars().map(|c| if text_char(c) && c != '.' { c } else { ' ' }).collect::<String>(), 250)
}

/// A house number: `12/14` → `12-14`, `12 a` → `12a`; at most 20 characters.
pub(crate) fn house_number(s: &str) -> String {
    let out: String = s
        .trim()
        .chars()
        .filter_map(|c| match c {
            c if c.is_ascii_alphanumeric() || c == '_' || c == '-' => Some(c),
            '/' | '+' | ',' | '.' => Some('-'),
            _ => None,
        })
        .take(20)
        .collect();
    out.trim_matches('-').to_owned()
}

/// A postcode: its digits, when there are 1 to 5 of them (`A-1010` → `1010`).
pub(crate) fn postal_code(s: &str) -> String {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if (1..=5).contains(&digits.len()) { digits } else { String::new() }
}

/// ISO 3166 alpha-2 in upper case, or nothing.
pub(crate) fn country(s: &str) -> String {
    let c = s.trim().to_ascii_uppercase();
    if c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()) { c } else { String::new() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_cut_to_the_models_patterns() {
        assert_eq!(name("O'Brien"), "O Brien");
        assert_eq!(name("Jürgen-Élodie  (Jr.)"), "Jürgen-Élodie Jr.");
        assert_eq!(name(&"x".repeat(300)).chars().count(), 250);
        assert_eq!(city("Halle (Saale)"), "Halle Saale");
        assert_eq!(city("Frankfurt a.M."), "Frankfurt a M");
        assert_eq!(house_number("12/14"), "12-14");
        assert_eq!(house_number("12 a"), "12a");
        assert_eq!(house_number(&"1".repeat(30)).len(), 20);
        assert_eq!(postal_code("A-1010"), "1010");
        assert_eq!(postal_code("123456"), "");
        assert_eq!(country("de"), "DE");
        assert_eq!(country("DEU"), "");
    }
}
