//! Service descriptions (Leistungen) with the standard FIM text modules.

use crate::InvalidValue;
use crate::authority::Slug;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The 14-digit key of the federal service catalogue (LeiKa).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LeikaKey(String);

impl LeikaKey {
    /// # Errors
    /// When the key is not 14 digits (an `urn:de:fim:leika:leistung:` prefix is accepted).
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let s = s.trim();
        let s = s.strip_prefix("urn:de:fim:leika:leistung:").unwrap_or(s);
        if s.len() == 14 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidValue(format!(
                "Der Leistungsschlüssel (LeiKa) muss aus genau 14 Ziffern bestehen, nicht „{s}“."
            )))
        }
    }
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
    #[must_use]
    pub fn urn(&self) -> String {
        format!("urn:de:fim:leika:leistung:{}", self.0)
    }
}

impl TryFrom<String> for LeikaKey {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<LeikaKey> for String {
    fn from(a: LeikaKey) -> Self {
        a.0
    }
}
impl fmt::Display for LeikaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Vertrauensniveau of an identification (eIDAS levels as used by BundID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrustLevel {
    Normal,
    Substanziell,
    Hoch,
}

impl TrustLevel {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Substanziell => "substanziell",
            Self::Hoch => "hoch",
        }
    }
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Normal => "normal (Benutzername und Passwort)",
            Self::Substanziell => "substanziell (z. B. ELSTER-Zertifikat)",
            Self::Hoch => "hoch (Online-Ausweis, eID)",
        }
    }
    /// # Errors
    /// When `s` names no trust level.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        match s.trim().to_lowercase().as_str() {
            "normal" | "basisregistrierung" => Ok(Self::Normal),
            "substanziell" | "substantiell" => Ok(Self::Substanziell),
            "hoch" => Ok(Self::Hoch),
            other => Err(InvalidValue(format!(
                "Unbekanntes Vertrauensniveau „{other}“ (erlaubt: normal, substanziell, hoch)."
            ))),
        }
    }
}

/// The standard text modules of a service description, in the order citizens read them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextModule {
    Description,
    Requirements,
    Documents,
    Fees,
    Deadlines,
    Procedure,
    ProcessingTime,
    LegalBasis,
}

impl TextModule {
    pub const ALL: [Self; 8] = [
        Self::Description,
        Self::Requirements,
        Self::Documents,
        Self::Fees,
        Self::Deadlines,
        Self::Procedure,
        Self::ProcessingTime,
        Self::LegalBasis,
    ];

    /// Heading shown on the service page.
    #[must_use]
    pub fn heading(self) -> &'static str {
        match self {
            Self::Description => "Beschreibung",
            Self::Requirements => "Voraussetzungen",
            Self::Documents => "Welche Unterlagen werden benötigt?",
            Self::Fees => "Welche Gebühren fallen an?",
            Self::Deadlines => "Welche Fristen muss ich beachten?",
            Self::Procedure => "Verfahrensablauf",
            Self::ProcessingTime => "Bearbeitungsdauer",
            Self::LegalBasis => "Rechtsgrundlage",
        }
    }
    /// Stable name used for anchors and columns.
    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Self::Description => "description",
            Self::Requirements => "requirements",
            Self::Documents => "documents",
            Self::Fees => "fees",
            Self::Deadlines => "deadlines",
            Self::Procedure => "procedure",
            Self::ProcessingTime => "processing_time",
            Self::LegalBasis => "legal_basis",
        }
    }
}

/// A service description of one authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leistung {
    pub id: i64,
    pub authority_id: i64,
    pub slug: Slug,
    pub name: String,
    pub leika: LeikaKey,
    /// False for demo keys that were not verified against the federal catalogue.
    pub leika_verified: bool,
    pub trust_level: TrustLevel,
    pub org_unit_id: Option<i64>,
    pub online_url: String,
    pub keywords: Vec<String>,
    pub summary: String,
    pub description: String,
    pub requirements: String,
    pub documents: String,
    pub fees: String,
    pub deadlines: String,
    pub procedure: String,
    pub legal_basis: String,
    pub processing_time: String,
    pub published: bool,
    /// Milliseconds since the epoch of the last change; the search index follows it.
    pub updated_at: i64,
    /// Counts publications; the revision history is numbered by it.
    pub revision: i64,
}

impl Leistung {
    #[must_use]
    pub fn module(&self, m: TextModule) -> &str {
        match m {
            TextModule::Description => &self.description,
            TextModule::Requirements => &self.requirements,
            TextModule::Documents => &self.documents,
            TextModule::Fees => &self.fees,
            TextModule::Deadlines => &self.deadlines,
            TextModule::Procedure => &self.procedure,
            TextModule::ProcessingTime => &self.processing_time,
            TextModule::LegalBasis => &self.legal_basis,
        }
    }
    /// The letter under which the service is listed A–Z (umlauts under their base letter).
    #[must_use]
    pub fn index_letter(&self) -> char {
        index_letter(&self.name)
    }
}

/// A–Z letter of a German title: Ä under A, Ö under O, Ü under U, digits under '#'.
#[must_use]
pub fn index_letter(title: &str) -> char {
    match title.chars().next().map(|c| c.to_uppercase().next().unwrap_or(c)) {
        Some('Ä') => 'A',
        Some('Ö') => 'O',
        Some('Ü') => 'U',
        Some(c) if c.is_ascii_alphabetic() => c,
        _ => '#',
    }
}

/// Sort key for German titles: umlauts sort as their base letters (DIN 5007-1).
#[must_use]
pub fn sort_key(title: &str) -> String {
    title
        .to_lowercase()
        .chars()
        .map(|c| match c {
            'ä' => 'a',
            'ö' => 'o',
            'ü' => 'u',
            'ß' => 's',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leika_keys() {
        assert_eq!(LeikaKey::parse("urn:de:fim:leika:leistung:99115003019000").unwrap().as_str(), "99115003019000");
        assert!(LeikaKey::parse("9911500301900").is_err());
    }

    #[test]
    fn trust_levels_are_ordered() {
        assert!(TrustLevel::Hoch > TrustLevel::Substanziell);
        assert!(TrustLevel::Substanziell > TrustLevel::Normal);
        assert_eq!(TrustLevel::parse("Substanziell").unwrap(), TrustLevel::Substanziell);
        assert!(TrustLevel::parse("mittel").is_err());
    }

    #[test]
    fn german_index_letters_and_sorting() {
        assert_eq!(index_letter("Übernahme"), 'U');
        assert_eq!(index_letter("4-Tage-Pass"), '#');
        let mut v = vec!["Zulassung", "Ärztlicher Dienst", "Abfall"];
        v.sort_by_key(|s| sort_key(s));
        assert_eq!(v, vec!["Abfall", "Ärztlicher Dienst", "Zulassung"]);
    }
}

/// The editable content of a service: what a draft holds and a revision records.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LeistungContent {
    pub name: String,
    pub leika: String,
    pub trust_level: String,
    pub org_unit_id: Option<i64>,
    pub online_url: String,
    pub keywords: Vec<String>,
    pub summary: String,
    pub description: String,
    pub requirements: String,
    pub documents: String,
    pub fees: String,
    pub deadlines: String,
    pub procedure: String,
    pub legal_basis: String,
    pub processing_time: String,
}

/// A problem with one field, for the error summary and the inline message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

/// Longest text module accepted (characters).
pub const MAX_MODULE_CHARS: usize = 20_000;

impl LeistungContent {
    #[must_use]
    pub fn of(l: &Leistung) -> Self {
        Self {
            name: l.name.clone(),
            leika: l.leika.as_str().to_owned(),
            trust_level: l.trust_level.as_str().to_owned(),
            org_unit_id: l.org_unit_id,
            online_url: l.online_url.clone(),
            keywords: l.keywords.clone(),
            summary: l.summary.clone(),
            description: l.description.clone(),
            requirements: l.requirements.clone(),
            documents: l.documents.clone(),
            fees: l.fees.clone(),
            deadlines: l.deadlines.clone(),
            procedure: l.procedure.clone(),
            legal_basis: l.legal_basis.clone(),
            processing_time: l.processing_time.clone(),
        }
    }

    /// The text modules in reading order with their keys.
    #[must_use]
    pub fn modules(&self) -> [(TextModule, &str); 8] {
        [
            (TextModule::Description, &self.description),
            (TextModule::Requirements, &self.requirements),
            (TextModule::Documents, &self.documents),
            (TextModule::Fees, &self.fees),
            (TextModule::Deadlines, &self.deadlines),
            (TextModule::Procedure, &self.procedure),
            (TextModule::ProcessingTime, &self.processing_time),
            (TextModule::LegalBasis, &self.legal_basis),
        ]
    }

    /// Everything that must hold before the content may be saved or published.
    #[must_use]
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut err = |field, message: String| errors.push(FieldError { field, message });
        let name = self.name.trim();
        if name.is_empty() {
            err("name", "Bitte geben Sie einen Namen für die Leistung ein.".into());
        } else if name.chars().count() > 200 {
            err("name", "Der Name darf höchstens 200 Zeichen lang sein.".into());
        }
        if let Err(e) = LeikaKey::parse(&self.leika) {
            err("leika", e.0);
        }
        if let Err(e) = TrustLevel::parse(&self.trust_level) {
            err("trust_level", e.0);
        }
        let url = self.online_url.trim();
        if !(url.is_empty() || url.starts_with("https://") || url.starts_with("http://")) {
            err("online_url", "Der Link zum Online-Dienst muss mit https:// beginnen.".into());
        }
        if self.summary.chars().count() > 500 {
            err("summary", "Die Kurzbeschreibung darf höchstens 500 Zeichen lang sein.".into());
        }
        for (m, text) in self.modules() {
            if text.chars().count() > MAX_MODULE_CHARS {
                err(m.key(), format!("„{}“ ist zu lang (höchstens {MAX_MODULE_CHARS} Zeichen).", m.heading()));
            }
        }
        if self.description.trim().is_empty() {
            err("description", "Bitte beschreiben Sie die Leistung (Textbaustein „Beschreibung“).".into());
        }
        errors
    }
}

#[cfg(test)]
mod content_tests {
    use super::*;

    #[test]
    fn validation_names_each_field() {
        let c = LeistungContent {
            name: " ".into(),
            leika: "123".into(),
            trust_level: "mittel".into(),
            online_url: "javascript:alert(1)".into(),
            ..LeistungContent::default()
        };
        let fields: Vec<_> = c.validate().iter().map(|e| e.field).collect();
        assert_eq!(fields, ["name", "leika", "trust_level", "online_url", "description"]);
        let ok = LeistungContent {
            name: "Hund anmelden".into(),
            leika: "99102013104000".into(),
            trust_level: "normal".into(),
            description: "Text".into(),
            ..LeistungContent::default()
        };
        assert!(ok.validate().is_empty());
    }
}
