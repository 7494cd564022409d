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
    /// name matches (see [`PlaceQuery::find`]).
    #[must_use]
    pub fn matches<'a>(&self, places: &'a [Place]) -> Vec<&'a Place> {
        self.find(places).places
    }

    /// The places this query names and how they were found. Names are compared
    /// folded (case, umlauts and their spellings ä/ae/a, ß/ss, hyphens), first
    /// exactly, then as a beginning (three letters or more), then with typos — as
    /// many as the search allows ([`typo_allowance`]). Several results mean the
    /// citizen must choose; nothing is picked for them.
    #[must_use]
    pub fn find<'a>(&self, places: &'a [Place]) -> Found<'a> {
        match self {
            Self::Plz(plz) => {
                Found { places: places.iter().filter(|p| p.plz.iter().any(|x| x == plz)).collect(), how: How::Plz }
            }
            Self::Name(name) => {
                let wanted = fold(name);
                let folded: Vec<(String, &Place)> = places.iter().map(|p| (fold(&p.name), p)).collect();
                let exact: Vec<&Place> = folded.iter().filter(|(f, _)| *f == wanted).map(|(_, p)| *p).collect();
                if !exact.is_empty() {
                    return Found { places: exact, how: How::Exact };
                }
                if wanted.chars().count() >= 3 {
                    let prefix: Vec<&Place> =
                        folded.iter().filter(|(f, _)| f.starts_with(&wanted)).map(|(_, p)| *p).collect();
                    if !prefix.is_empty() {
                        return Found { places: prefix, how: How::Prefix };
                    }
                }
                let allowed = typo_allowance(wanted.chars().count());
                let mut similar: Vec<(usize, &Place)> = folded
                    .iter()
                    .filter_map(|(f, p)| {
                        let d = strsim::osa_distance(&wanted, f);
                        (allowed > 0 && d <= allowed).then_some((d, *p))
                    })
                    .collect();
                similar.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
                Found { places: similar.into_iter().map(|(_, p)| p).collect(), how: How::Similar }
            }
        }
    }
}

/// The places a [`PlaceQuery`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<'a> {
    /// Best first; more than one means the citizen chooses.
    pub places: Vec<&'a Place>,
    pub how: How,
}

/// How the places of a [`Found`] matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum How {
    /// They have the postcode.
    Plz,
    /// The name as typed (folded).
    Exact,
    /// The name begins as typed.
    Prefix,
    /// The name is close to what was typed (typos).
    Similar,
}

/// How many typos (edits, a swap of two neighbouring letters counting as one) a
/// word of `chars` letters may have and still match: none below five letters, one
/// from five, two from nine. The search index and the place box use this one rule.
#[must_use]
pub fn typo_allowance(chars: usize) -> usize {
    match chars {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// A name folded for comparison: lower case, umlauts and their spellings reduced to
/// the plain vowel (ä, ae → a; ö, oe → o; ü, ue → u), ß → ss, and every run of
/// other characters than letters and digits one space.
#[must_use]
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.trim().to_lowercase().chars() {
        match c {
            'ä' | 'á' | 'à' | 'â' => out.push('a'),
            'ö' | 'ó' | 'ò' | 'ô' => out.push('o'),
            'ü' | 'ú' | 'ù' | 'û' => out.push('u'),
            'é' | 'è' | 'ê' | 'ë' => out.push('e'),
            'ß' => out.push_str("ss"),
            c if c.is_alphanumeric() => out.push(c),
            _ if !out.ends_with(' ') && !out.is_empty() => out.push(' '),
            _ => {}
        }
    }
    out.trim_end().replace("ae", "a").replace("oe", "o").replace("ue", "u")
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

    #[test]
    fn typos_and_umlaut_spellings_find_the_place() {
        let ps = places();
        for typed in ["moorbruck", "MOORBRÜCK", "Moorbrueck", "Morbrück", "moorbrcuk", "Moorbrück "] {
            let f = PlaceQuery::parse(typed).unwrap().find(&ps);
            assert_eq!(f.places.iter().map(|p| p.id).collect::<Vec<_>>(), [1], "{typed}");
        }
        let f = PlaceQuery::parse("Birkhusn").unwrap().find(&ps);
        assert_eq!((f.places[0].name.as_str(), f.places.len(), f.how), ("Birkhusen", 1, How::Similar));
        assert_eq!(PlaceQuery::parse("29399 Birkhusn").unwrap().matches(&ps)[0].name, "Birkhusen");
        // Short words get no typo allowance, and a single letter names nothing.
        assert!(PlaceQuery::parse("Elle").unwrap().find(&ps).how == How::Prefix);
        assert!(PlaceQuery::parse("Elxe").unwrap().matches(&ps).is_empty());
        assert!(PlaceQuery::parse("E").unwrap().matches(&ps).is_empty());
        assert!(PlaceQuery::parse("Hamburg").unwrap().matches(&ps).is_empty());
    }

    #[test]
    fn several_similar_places_are_all_offered_best_first() {
        let mut ps = places();
        ps.push(Place { id: 4, name: "Birkhausen".into(), ars: Ars::parse("039515401013").unwrap(), plz: vec![] });
        let f = PlaceQuery::parse("Birkhuusen").unwrap().find(&ps);
        let names: Vec<_> = f.places.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Birkhausen", "Birkhusen"], "both one typo away: the citizen chooses");
        // The exact name wins over a similar one.
        assert_eq!(PlaceQuery::parse("birkhausen").unwrap().matches(&ps).len(), 1);
        // One typo closer wins nothing silently: all within the allowance are offered.
        let f = PlaceQuery::parse("Birkhausn").unwrap().find(&ps);
        assert_eq!(f.places.first().map(|p| p.id), Some(4));
        assert_eq!(f.places.len(), 2);
    }

    #[test]
    fn folding_and_allowance() {
        assert_eq!(fold("  Bad-Moorbrück  (Aller) "), "bad moorbruck aller");
        assert_eq!(fold("Großenheide"), "grossenheide");
        assert_eq!(fold("Moorbrueck"), fold("Moorbrück"));
        assert_eq!([4, 5, 8, 9, 20].map(typo_allowance), [0, 1, 1, 2, 2]);
    }
}
