//! Places (municipalities) where citizens live, and how a citizen names theirs.

use crate::authority::Ars;
use serde::{Deserialize, Serialize};

/// A municipality of the Verbund's territory (not necessarily an authority on the platform).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    pub id: i64,
    pub name: String,
    pub ars: Ars,
    pub plz: Vec<String>,
}

/// What a citizen typed to say where they live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceQuery {
    Plz(String),
    Name(String),
}

impl PlaceQuery {
    /// Interprets input: five digits are a PLZ, anything else a municipality name.
    /// Returns `None` for empty input or input that cannot name a place.
    #[must_use]
    pub fn parse(input: &str) -> Option<Self> {
        let cleaned: String = input.chars().filter(|c| !c.is_control()).collect();
        let s = cleaned.trim();
        if s.is_empty() || s.chars().count() > 100 {
            return None;
        }
        if s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit()) {
            return Some(Self::Plz(s.to_owned()));
        }
        // "29399 Birkhusen" → the name part decides, the PLZ narrows nothing further.
        let name = s.trim_start_matches(|c: char| c.is_ascii_digit() || c.is_whitespace());
        if name.is_empty() { None } else { Some(Self::Name(name.to_owned())) }
    }

    /// Which of `places` match: every place with the PLZ, or the places whose
    /// name matches case-insensitively (exact name first, then prefix).
    #[must_use]
    pub fn matches<'a>(&self, places: &'a [Place]) -> Vec<&'a Place> {
        match self {
            Self::Plz(plz) => places.iter().filter(|p| p.plz.iter().any(|x| x == plz)).collect(),
            Self::Name(name) => {
                let wanted = normalize(name);
                let exact: Vec<_> = places.iter().filter(|p| normalize(&p.name) == wanted).collect();
                if exact.is_empty() {
                    places.iter().filter(|p| normalize(&p.name).starts_with(&wanted)).collect()
                } else {
                    exact
                }
            }
        }
    }
}

fn normalize(s: &str) -> String {
    s.trim().to_lowercase().replace("ae", "ä").replace("oe", "ö").replace("ue", "ü")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn places() -> Vec<Place> {
        let p = |id, name: &str, ars: &str, plz: &[&str]| Place {
            id,
            name: name.to_owned(),
            ars: Ars::parse(ars).unwrap(),
            plz: plz.iter().map(|s| (*s).to_owned()).collect(),
        };
        vec![
            p(1, "Moorbrück", "039510007007", &["29391", "29392"]),
            p(2, "Birkhusen", "039515401011", &["29399"]),
            p(3, "Ellerloh", "039515401012", &["29399", "29397"]),
        ]
    }

    #[test]
    fn plz_may_span_several_places() {
        let ps = places();
        let m = PlaceQuery::parse("29399").unwrap().matches(&ps);
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn names_match_without_umlauts_and_case() {
        let ps = places();
        let m = PlaceQuery::parse("moorbrueck").unwrap().matches(&ps);
        assert_eq!(m[0].name, "Moorbrück");
        assert_eq!(PlaceQuery::parse("29399 Ellerloh").unwrap().matches(&ps)[0].name, "Ellerloh");
        assert!(PlaceQuery::parse("Hamburg").unwrap().matches(&ps).is_empty());
        assert!(PlaceQuery::parse("  \u{7} ").is_none());
    }
}
