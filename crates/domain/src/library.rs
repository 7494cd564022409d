//! The Verbund library (Nachnutzung): one authority writes a service description,
//! others adopt it. A *linked* adoption follows the original's shared text while the
//! adopter keeps its own local fields; a *copy* becomes the adopter's own text.

use crate::InvalidValue;
use crate::leistung::LeistungContent;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdoptionMode {
    /// Follows the library entry; upstream changes are offered for acceptance.
    Linked,
    /// A one-time copy the adopter edits freely.
    Copy,
}

impl AdoptionMode {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Linked => "linked",
            Self::Copy => "copy",
        }
    }

    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Linked => "verknüpft (folgt Änderungen)",
            Self::Copy => "als Kopie",
        }
    }

    /// # Errors
    /// When `s` names no mode.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        match s.trim() {
            "linked" => Ok(Self::Linked),
            "copy" => Ok(Self::Copy),
            _ => {
                Err(InvalidValue("Bitte wählen Sie, ob die Leistung verknüpft oder als Kopie übernommen wird.".into()))
            }
        }
    }
}

/// Fields every authority sets for itself, also in a linked adoption: who is
/// responsible locally, where to apply online and what it costs here.
pub const LOCAL_FIELDS: [&str; 3] = ["org_unit_id", "online_url", "fees"];

impl LeistungContent {
    /// The part offered to the library: the local fields are left out, because
    /// another authority's org unit id or fee schedule means nothing to an adopter.
    #[must_use]
    pub fn shared_part(&self) -> Self {
        Self { org_unit_id: None, online_url: String::new(), fees: String::new(), ..self.clone() }
    }

    /// This (shared) text with the adopter's own local fields.
    #[must_use]
    pub fn with_local_fields_of(&self, local: &Self) -> Self {
        Self {
            org_unit_id: local.org_unit_id,
            online_url: local.online_url.clone(),
            fees: local.fees.clone(),
            ..self.clone()
        }
    }

    /// Whether the shared parts of two contents differ (an upstream change to offer).
    #[must_use]
    pub fn shared_differs(&self, other: &Self) -> bool {
        self.shared_part() != other.shared_part()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(name: &str, fees: &str) -> LeistungContent {
        LeistungContent {
            name: name.into(),
            leika: "99102013104000".into(),
            trust_level: "normal".into(),
            org_unit_id: Some(7),
            online_url: "https://example.org/antrag".into(),
            fees: fees.into(),
            description: "Beschreibung".into(),
            ..LeistungContent::default()
        }
    }

    #[test]
    fn shared_part_leaves_out_local_fields() {
        let s = content("Hund anmelden", "60 Euro").shared_part();
        assert_eq!(s.org_unit_id, None);
        assert!(s.online_url.is_empty() && s.fees.is_empty());
        assert_eq!(s.name, "Hund anmelden");
        assert_eq!(s.description, "Beschreibung");
    }

    #[test]
    fn upstream_text_keeps_the_adopters_local_fields() {
        let upstream = LeistungContent { description: "Neu".into(), ..content("Hund anmelden", "60 Euro") };
        let local = LeistungContent { org_unit_id: Some(42), fees: "45 Euro".into(), ..content("Alt", "") };
        let merged = upstream.with_local_fields_of(&local);
        assert_eq!(merged.description, "Neu");
        assert_eq!(merged.name, "Hund anmelden");
        assert_eq!(merged.org_unit_id, Some(42));
        assert_eq!(merged.fees, "45 Euro");
        assert_eq!(merged.online_url, local.online_url);
    }

    #[test]
    fn only_shared_changes_count_as_upstream_changes() {
        let a = content("Hund anmelden", "60 Euro");
        assert!(!a.shared_differs(&content("Hund anmelden", "10 Euro")));
        assert!(a.shared_differs(&content("Hund ummelden", "60 Euro")));
    }

    #[test]
    fn modes_round_trip_and_refuse_unknown() {
        for m in [AdoptionMode::Linked, AdoptionMode::Copy] {
            assert_eq!(AdoptionMode::parse(m.as_str()), Ok(m));
        }
        assert!(AdoptionMode::parse("fork").is_err());
    }
}
