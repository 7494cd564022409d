//! Authorities (Behörden) of the Verbund and their official keys.

use crate::InvalidValue;
use serde::{Deserialize, Serialize};
use std::fmt;

fn all_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

/// Amtlicher Gemeindeschlüssel: 8 digits (2 Land, 1 Regierungsbezirk, 2 Kreis, 3 Gemeinde).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ags(String);

impl Ags {
    /// # Errors
    /// When the key is not exactly eight digits.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let s = s.trim();
        if all_digits(s, 8) {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidValue(format!(
                "Der Amtliche Gemeindeschlüssel (AGS) muss aus genau 8 Ziffern bestehen, nicht „{s}“."
            )))
        }
    }
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Ags {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<Ags> for String {
    fn from(a: Ags) -> Self {
        a.0
    }
}

/// Amtlicher Regionalschlüssel: 12 digits (2 Land, 1 Regierungsbezirk, 2 Kreis,
/// 4 Gemeindeverband, 3 Gemeinde). It encodes the Samtgemeinde a Gemeinde belongs to,
/// which is why responsibility areas are expressed as ARS prefixes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ars(String);

impl Ars {
    /// # Errors
    /// When the key is not exactly twelve digits.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let s = s.trim();
        if all_digits(s, 12) {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidValue(format!("Der Regionalschlüssel (ARS) muss aus genau 12 Ziffern bestehen, nicht „{s}“.")))
        }
    }
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The two-digit Land code (03 = Niedersachsen).
    #[must_use]
    pub fn land(&self) -> &str {
        &self.0[..2]
    }
    /// The area an authority of `kind` with this key covers, as an ARS prefix:
    /// a Landkreis its whole county (5 digits), a Samtgemeinde its members (9 digits),
    /// a Stadt or Gemeinde only itself (12 digits).
    #[must_use]
    pub fn area_prefix(&self, kind: AuthorityKind) -> String {
        let len = match kind {
            AuthorityKind::Landkreis => 5,
            AuthorityKind::Samtgemeinde => 9,
            AuthorityKind::Stadt | AuthorityKind::Gemeinde => 12,
        };
        self.0[..len].to_owned()
    }
}

impl TryFrom<String> for Ars {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<Ars> for String {
    fn from(a: Ars) -> Self {
        a.0
    }
}
impl fmt::Display for Ars {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The level of an authority in the Verbund tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthorityKind {
    Landkreis,
    Samtgemeinde,
    Stadt,
    Gemeinde,
}

impl AuthorityKind {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Landkreis => "landkreis",
            Self::Samtgemeinde => "samtgemeinde",
            Self::Stadt => "stadt",
            Self::Gemeinde => "gemeinde",
        }
    }
    /// The German name shown to people.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Landkreis => "Landkreis",
            Self::Samtgemeinde => "Samtgemeinde",
            Self::Stadt => "Stadt",
            Self::Gemeinde => "Gemeinde",
        }
    }
    /// # Errors
    /// When `s` names no known kind.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        match s.trim().to_lowercase().as_str() {
            "landkreis" => Ok(Self::Landkreis),
            "samtgemeinde" => Ok(Self::Samtgemeinde),
            "stadt" => Ok(Self::Stadt),
            "gemeinde" => Ok(Self::Gemeinde),
            other => Err(InvalidValue(format!(
                "Unbekannte Art der Behörde „{other}“ (erlaubt: Landkreis, Samtgemeinde, Stadt, Gemeinde)."
            ))),
        }
    }
}

/// The URL name of an authority or page: lowercase ASCII letters, digits and dashes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl Slug {
    /// # Errors
    /// When the slug is empty, too long or has characters other than a–z, 0–9 and `-`.
    pub fn parse(s: &str) -> Result<Self, InvalidValue> {
        let ok = !s.is_empty()
            && s.len() <= 80
            && !s.starts_with('-')
            && !s.ends_with('-')
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidValue(format!(
                "„{s}“ ist kein gültiger Kurzname: erlaubt sind Kleinbuchstaben a–z, Ziffern und Bindestriche (höchstens 80 Zeichen)."
            )))
        }
    }
    /// Derives a slug from a German title ("Kfz-Zulassung für Neufahrzeuge" → "kfz-zulassung-fuer-neufahrzeuge").
    #[must_use]
    pub fn from_title(title: &str) -> Self {
        let mut out = String::new();
        for c in title.to_lowercase().chars() {
            match c {
                'ä' => out.push_str("ae"),
                'ö' => out.push_str("oe"),
                'ü' => out.push_str("ue"),
                'ß' => out.push_str("ss"),
                c if c.is_ascii_alphanumeric() => out.push(c),
                _ => {
                    if !out.ends_with('-') && !out.is_empty() {
                        out.push('-');
                    }
                }
            }
        }
        let trimmed: String = out.trim_matches('-').chars().take(80).collect();
        let trimmed = trimmed.trim_end_matches('-').to_owned();
        Self(if trimmed.is_empty() { "seite".to_owned() } else { trimmed })
    }
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Slug {
    type Error = InvalidValue;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}
impl From<Slug> for String {
    fn from(a: Slug) -> Self {
        a.0
    }
}
impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One authority (Mandant) of the Verbund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authority {
    pub id: i64,
    pub slug: Slug,
    pub name: String,
    pub kind: AuthorityKind,
    /// Samtgemeinden have no AGS of their own, only an ARS.
    pub ags: Option<Ags>,
    pub ars: Ars,
    pub parent_id: Option<i64>,
    pub hosts: Vec<String>,
    pub street: String,
    pub plz: String,
    pub city: String,
    pub phone: String,
    pub email: String,
    pub website: String,
    pub intro: String,
    pub primary_color: String,
    pub main_location_id: Option<i64>,
    /// Object-store key of the logo; empty when the authority has none.
    #[serde(default)]
    pub logo_key: String,
    #[serde(default)]
    pub logo_type: String,
    #[serde(default)]
    pub footer_links: Vec<crate::theme::FooterLink>,
}

impl Authority {
    /// The prefix of this authority's receipt numbers (`MOO-2026-000123`): the first
    /// three letters of its name without words such as "Stadt" or "Landkreis".
    #[must_use]
    pub fn receipt_prefix(&self) -> String {
        const GENERIC: [&str; 6] = ["stadt", "gemeinde", "samtgemeinde", "landkreis", "kreis", "hansestadt"];
        let word = self
            .name
            .split_whitespace()
            .find(|w| !GENERIC.contains(&w.to_lowercase().as_str()))
            .unwrap_or(self.slug.as_str());
        let letters: String = word
            .chars()
            .flat_map(|c| match c {
                'ä' | 'Ä' => "AE".chars().collect::<Vec<_>>(),
                'ö' | 'Ö' => "OE".chars().collect(),
                'ü' | 'Ü' => "UE".chars().collect(),
                'ß' => "SS".chars().collect(),
                c if c.is_ascii_alphabetic() => vec![c.to_ascii_uppercase()],
                _ => Vec::new(),
            })
            .take(3)
            .collect();
        if letters.is_empty() { "ANT".to_owned() } else { letters }
    }

    /// The ARS prefix of the area this authority serves.
    #[must_use]
    pub fn area_prefix(&self) -> String {
        self.ars.area_prefix(self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_validated_with_readable_messages() {
        assert!(Ags::parse("03951007").is_ok());
        let err = Ags::parse("0395100").unwrap_err();
        assert!(err.0.contains("8 Ziffern"));
        assert!(Ars::parse("03951000000a").is_err());
        assert!(Ars::parse("039510007007").is_ok());
    }

    #[test]
    fn area_prefix_follows_the_level() {
        let ars = Ars::parse("039515401000").unwrap();
        assert_eq!(ars.area_prefix(AuthorityKind::Samtgemeinde), "039515401");
        assert_eq!(ars.area_prefix(AuthorityKind::Landkreis), "03951");
        assert_eq!(ars.area_prefix(AuthorityKind::Gemeinde), "039515401000");
    }

    #[test]
    fn slugs() {
        assert!(Slug::parse("sg-heideland").is_ok());
        assert!(Slug::parse("Heide").is_err());
        assert!(Slug::parse("-x").is_err());
        assert_eq!(
            Slug::from_title("Kfz-Zulassung für Straßenfahrzeuge!").as_str(),
            "kfz-zulassung-fuer-strassenfahrzeuge"
        );
        assert_eq!(Slug::from_title("***").as_str(), "seite");
    }
}

impl Ags {
    /// Whether this AGS and the ARS name the same municipality (AGS = ARS digits 1–5 and 10–12).
    #[must_use]
    pub fn matches(&self, ars: &Ars) -> bool {
        let a = ars.as_str();
        self.0[..5] == a[..5] && self.0[5..] == a[9..]
    }
}

/// Whether `child` (of `child_kind`) lies inside the area of `parent`.
#[must_use]
pub fn within(parent: &Authority, child: &Ars) -> bool {
    child.as_str().starts_with(&parent.area_prefix()) && child != &parent.ars
}

/// A host name an authority's portal may be served under.
///
/// # Errors
/// When it is not a plain lower-case DNS name.
pub fn parse_host(h: &str) -> Result<String, InvalidValue> {
    let h = h.trim().trim_end_matches('.').to_ascii_lowercase();
    let ok = !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    if ok {
        Ok(h)
    } else {
        Err(InvalidValue(format!("„{h}“ ist kein gültiger Hostname (z. B. portal.gemeinde.de).")))
    }
}

#[cfg(test)]
mod key_tests {
    use super::*;

    #[test]
    fn ags_and_ars_must_agree() {
        let ars = Ars::parse("039515401011").unwrap();
        assert!(Ags::parse("03951011").unwrap().matches(&ars));
        assert!(!Ags::parse("03951012").unwrap().matches(&ars));
    }

    #[test]
    fn host_names() {
        assert_eq!(parse_host("Portal.Ellerloh.de").unwrap(), "portal.ellerloh.de");
        assert!(parse_host("evil.example/path").is_err());
        assert!(parse_host("-x.de").is_err());
        assert!(parse_host("").is_err());
    }
}
