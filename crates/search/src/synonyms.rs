//! Query-time synonyms: what citizens type ("Perso") to what services are called.

use std::collections::HashMap;

const SHIPPED: &str = include_str!("../data/synonyms.txt");

/// Groups of words that mean the same; each word maps to the others of its group.
#[derive(Debug, Clone, Default)]
pub struct Synonyms {
    map: HashMap<String, Vec<String>>,
}

impl Synonyms {
    /// Parses one group per line, comma-separated; `#` starts a comment line.
    #[must_use]
    pub fn parse(text: &str) -> Self {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let group: Vec<String> =
                line.split(',').map(|w| w.trim().to_lowercase()).filter(|w| !w.is_empty()).collect();
            for w in &group {
                let entry = map.entry(w.clone()).or_default();
                for other in group.iter().filter(|o| *o != w) {
                    if !entry.contains(other) {
                        entry.push(other.clone());
                    }
                }
            }
        }
        Self { map }
    }

    #[must_use]
    pub fn shipped() -> Self {
        Self::parse(SHIPPED)
    }

    /// The other words of `word`'s groups (lower-case), empty when it has none.
    #[must_use]
    pub fn of(&self, word: &str) -> &[String] {
        self.map.get(&word.to_lowercase()).map_or(&[], Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_symmetric() {
        let s = Synonyms::parse("# comment\npersonalausweis, perso, Ausweis\n");
        assert_eq!(s.of("Perso"), ["personalausweis", "ausweis"]);
        assert_eq!(s.of("personalausweis"), ["perso", "ausweis"]);
        assert!(s.of("hund").is_empty());
    }

    #[test]
    fn shipped_list_knows_perso() {
        assert!(Synonyms::shipped().of("perso").iter().any(|w| w == "personalausweis"));
    }
}
