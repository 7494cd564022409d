//! Zuständigkeit: which authority is responsible for a Leistung in an area.
//!
//! An area is an ARS prefix (county: 5 digits, Samtgemeinde: 9, Gemeinde/Stadt: 12).
//! For a citizen's place the rule with the longest matching prefix wins, so a
//! Samtgemeinde service applies to its member Gemeinden and a county service
//! to everyone, unless a more local authority is responsible.

use crate::authority::Ars;
use crate::leistung::LeikaKey;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponsibilityRule {
    pub leika: LeikaKey,
    pub authority_id: i64,
    pub area_prefix: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// This authority is responsible for the place.
    Responsible(i64),
    /// No authority of the Verbund is responsible for this place.
    NotInVerbund,
}

/// Resolves the responsible authority for `leika` at `place`.
#[must_use]
pub fn resolve(rules: &[ResponsibilityRule], leika: &LeikaKey, place: &Ars) -> Resolution {
    rules
        .iter()
        .filter(|r| &r.leika == leika && place.as_str().starts_with(&r.area_prefix))
        .max_by_key(|r| r.area_prefix.len())
        .map_or(Resolution::NotInVerbund, |r| Resolution::Responsible(r.authority_id))
}

/// Pairs of rules for the same key and the same area that contradict each other.
#[must_use]
pub fn overlaps(rules: &[ResponsibilityRule]) -> Vec<(&ResponsibilityRule, &ResponsibilityRule)> {
    let mut out = Vec::new();
    for (i, a) in rules.iter().enumerate() {
        for b in &rules[i + 1..] {
            if a.leika == b.leika && a.area_prefix == b.area_prefix && a.authority_id != b.authority_id {
                out.push((a, b));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(leika: &str, authority_id: i64, area: &str) -> ResponsibilityRule {
        ResponsibilityRule { leika: LeikaKey::parse(leika).unwrap(), authority_id, area_prefix: area.to_owned() }
    }

    const MELDE: &str = "99115003019000";
    const KFZ: &str = "99036003001000";

    fn rules() -> Vec<ResponsibilityRule> {
        vec![rule(KFZ, 1, "03951"), rule(MELDE, 2, "039510007007"), rule(MELDE, 3, "039515401")]
    }

    #[test]
    fn samtgemeinde_serves_its_members_and_county_serves_all() {
        let r = rules();
        let birkhusen = Ars::parse("039515401011").unwrap();
        let moorbrueck = Ars::parse("039510007007").unwrap();
        let melde = LeikaKey::parse(MELDE).unwrap();
        let kfz = LeikaKey::parse(KFZ).unwrap();
        assert_eq!(resolve(&r, &melde, &birkhusen), Resolution::Responsible(3));
        assert_eq!(resolve(&r, &melde, &moorbrueck), Resolution::Responsible(2));
        assert_eq!(resolve(&r, &kfz, &birkhusen), Resolution::Responsible(1));
    }

    #[test]
    fn a_place_without_a_rule_is_outside() {
        let sandhorst = Ars::parse("039510020020").unwrap();
        assert_eq!(resolve(&rules(), &LeikaKey::parse(MELDE).unwrap(), &sandhorst), Resolution::NotInVerbund);
        let hamburg = Ars::parse("020000000000").unwrap();
        assert_eq!(resolve(&rules(), &LeikaKey::parse(KFZ).unwrap(), &hamburg), Resolution::NotInVerbund);
    }

    #[test]
    fn most_local_rule_wins() {
        let mut r = rules();
        r.push(rule(MELDE, 9, "03951"));
        let birkhusen = Ars::parse("039515401011").unwrap();
        assert_eq!(resolve(&r, &LeikaKey::parse(MELDE).unwrap(), &birkhusen), Resolution::Responsible(3));
        r.push(rule(MELDE, 7, "039515401"));
        assert_eq!(overlaps(&r).len(), 1);
    }
}

/// Places (by ARS) for which no rule names a responsible authority for `leika`.
#[must_use]
pub fn gaps<'a>(rules: &[ResponsibilityRule], leika: &LeikaKey, places: &'a [Ars]) -> Vec<&'a Ars> {
    places.iter().filter(|p| resolve(rules, leika, p) == Resolution::NotInVerbund).collect()
}

#[cfg(test)]
mod gap_tests {
    use super::*;

    #[test]
    fn gaps_are_places_without_a_rule() {
        let key = LeikaKey::parse("99115003019000").unwrap();
        let rules = vec![ResponsibilityRule { leika: key.clone(), authority_id: 1, area_prefix: "039515401".into() }];
        let places = vec![Ars::parse("039515401011").unwrap(), Ars::parse("039510007007").unwrap()];
        let g = gaps(&rules, &key, &places);
        assert_eq!(g, vec![&places[1]]);
    }
}
