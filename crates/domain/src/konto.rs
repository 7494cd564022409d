//! The citizen account (Bürgerkonto): password rules, profile fields with their
//! source and trust level, the trust-level guard, and Postfach message rules.

use crate::InvalidValue;
use crate::leistung::TrustLevel;
use serde::{Deserialize, Serialize};

/// Passwords too common to protect an account, sorted (see the file's header).
const COMMON_PASSWORDS: &str = include_str!("../data/common_passwords.txt");

/// Shortest password accepted (ASVS 5.0 V6.2.1); longer passphrases are encouraged.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted; ASVS asks for at least 64.
pub const MAX_PASSWORD_CHARS: usize = 256;

fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    COMMON_PASSWORDS.lines().filter(|l| !l.starts_with('#')).any(|l| l == lower)
}

/// Checks a citizen's new password per OWASP ASVS 5.0: length only (no composition
/// rules, every character allowed, spaces included), not on the shipped list of
/// common passwords, and not made of the e-mail address.
///
/// # Errors
/// With a German message saying what to change.
pub fn check_password(password: &str, email: &str) -> Result<(), InvalidValue> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(InvalidValue(format!(
            "Das Passwort ist zu kurz: mindestens {MIN_PASSWORD_CHARS} Zeichen. Gut merken lassen sich Sätze aus mehreren Wörtern."
        )));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(InvalidValue(format!("Das Passwort darf höchstens {MAX_PASSWORD_CHARS} Zeichen lang sein.")));
    }
    if is_common(password) || password.chars().all(|c| password.starts_with(c)) {
        return Err(InvalidValue(
            "Dieses Passwort ist zu verbreitet und wird bei Angriffen als Erstes ausprobiert. Bitte wählen Sie ein anderes."
                .into(),
        ));
    }
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    if local.chars().count() >= 4 && password.to_lowercase().contains(&local) {
        return Err(InvalidValue("Das Passwort darf Ihre E-Mail-Adresse nicht enthalten.".into()));
    }
    Ok(())
}

/// A plausible e-mail address, normalised (trimmed, lower-cased).
///
/// # Errors
/// When it cannot be an address.
pub fn normalize_email(raw: &str) -> Result<String, InvalidValue> {
    let e = raw.trim().to_lowercase();
    let ok = e.len() <= 254
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && e.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.'));
    if ok {
        Ok(e)
    } else {
        Err(InvalidValue("Bitte geben Sie eine gültige E-Mail-Adresse ein, zum Beispiel name@beispiel.de.".into()))
    }
}

/// Whether a session at `have` may use something that needs `needed`.
#[must_use]
pub fn satisfies(have: TrustLevel, needed: TrustLevel) -> bool {
    have >= needed
}

/// How a citizen can reach a trust level, for pages that require it.
#[must_use]
pub fn how_to_reach(level: TrustLevel) -> &'static str {
    match level {
        TrustLevel::Normal => "Melden Sie sich mit Ihrem Bürgerkonto an (E-Mail-Adresse und Passwort).",
        TrustLevel::Substanziell => {
            "Melden Sie sich mit der BundID an – mit dem ELSTER-Zertifikat oder dem Online-Ausweis."
        }
        TrustLevel::Hoch => "Melden Sie sich mit der BundID und dem Online-Ausweis (Personalausweis mit PIN) an.",
    }
}

/// The fields of the profile, in the order the page shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileField {
    GivenName,
    FamilyName,
    BirthDate,
    Street,
    Plz,
    City,
    Phone,
}

impl ProfileField {
    pub const ALL: [Self; 7] =
        [Self::GivenName, Self::FamilyName, Self::BirthDate, Self::Street, Self::Plz, Self::City, Self::Phone];

    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Self::GivenName => "given_name",
            Self::FamilyName => "family_name",
            Self::BirthDate => "birth_date",
            Self::Street => "street",
            Self::Plz => "plz",
            Self::City => "city",
            Self::Phone => "phone",
        }
    }

    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::GivenName => "Vorname(n)",
            Self::FamilyName => "Familienname",
            Self::BirthDate => "Geburtsdatum",
            Self::Street => "Straße und Hausnummer",
            Self::Plz => "Postleitzahl",
            Self::City => "Ort",
            Self::Phone => "Telefon",
        }
    }

    #[must_use]
    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.key() == key)
    }

    /// Normalises and checks a value typed by the citizen (empty = remove).
    ///
    /// # Errors
    /// With a German message for the field.
    pub fn check(self, raw: &str) -> Result<String, InvalidValue> {
        let v = raw.trim();
        if v.is_empty() {
            return Ok(String::new());
        }
        if v.chars().count() > 200 || v.chars().any(char::is_control) {
            return Err(InvalidValue(format!("{}: höchstens 200 Zeichen, keine Steuerzeichen.", self.label())));
        }
        match self {
            Self::Plz if !(v.len() == 5 && v.bytes().all(|b| b.is_ascii_digit())) => {
                Err(InvalidValue("Die Postleitzahl hat fünf Ziffern, zum Beispiel 29391.".into()))
            }
            Self::BirthDate => parse_birth_date(v).map(|d| d.to_string()),
            Self::Phone if !v.chars().all(|c| c.is_ascii_digit() || " +-/()".contains(c)) => {
                Err(InvalidValue("Die Telefonnummer darf nur Ziffern, Leerzeichen und + - / ( ) enthalten.".into()))
            }
            _ => Ok(v.to_owned()),
        }
    }
}

/// A birth date as `TT.MM.JJJJ` or `JJJJ-MM-TT`, in the past and not before 1900.
fn parse_birth_date(v: &str) -> Result<jiff::civil::Date, InvalidValue> {
    let bad = || InvalidValue("Bitte geben Sie das Geburtsdatum als TT.MM.JJJJ an, zum Beispiel 24.12.1980.".into());
    let date = if let Some((d, rest)) = v.split_once('.') {
        let (m, y) = rest.split_once('.').ok_or_else(bad)?;
        let n = |s: &str| s.trim().parse::<i16>().map_err(|_| bad());
        jiff::civil::Date::new(n(y)?, i8::try_from(n(m)?).map_err(|_| bad())?, i8::try_from(n(d)?).map_err(|_| bad())?)
            .map_err(|_| bad())?
    } else {
        v.parse::<jiff::civil::Date>().map_err(|_| bad())?
    };
    let today = jiff::Zoned::now().date();
    if date >= today || date.year() < 1900 {
        return Err(InvalidValue("Das Geburtsdatum muss in der Vergangenheit liegen.".into()));
    }
    Ok(date)
}

/// Where a profile value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileSource {
    /// Typed by the citizen (trust level normal).
    SelfEntered,
    /// Delivered by an ID provider (e.g. "bundid"); read-only for the citizen.
    Provider(String),
}

impl ProfileSource {
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::SelfEntered => "self",
            Self::Provider(p) => p,
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Self {
        if s == "self" { Self::SelfEntered } else { Self::Provider(s.to_owned()) }
    }

    #[must_use]
    pub fn label(&self) -> String {
        match self {
            Self::SelfEntered => "selbst eingetragen".into(),
            Self::Provider(p) if p == "bundid" => "aus der BundID".into(),
            Self::Provider(p) => format!("vom Anmeldedienst {}", p.trim_start_matches("oidc:")),
        }
    }

    /// Values from an ID provider are fixed: the citizen cannot overwrite them.
    #[must_use]
    pub fn is_locked(&self) -> bool {
        matches!(self, Self::Provider(_))
    }
}

/// Longest Postfach subject and message text.
pub const MAX_SUBJECT_CHARS: usize = 200;
pub const MAX_MESSAGE_CHARS: usize = 20_000;

/// Checks a Postfach message before it is stored.
///
/// # Errors
/// With a German message.
pub fn check_message(subject: &str, body: &str) -> Result<(), InvalidValue> {
    if subject.trim().is_empty() {
        return Err(InvalidValue("Bitte geben Sie einen Betreff ein.".into()));
    }
    if subject.chars().count() > MAX_SUBJECT_CHARS {
        return Err(InvalidValue(format!("Der Betreff darf höchstens {MAX_SUBJECT_CHARS} Zeichen lang sein.")));
    }
    if body.trim().is_empty() {
        return Err(InvalidValue("Bitte schreiben Sie eine Nachricht.".into()));
    }
    if body.chars().count() > MAX_MESSAGE_CHARS {
        return Err(InvalidValue(format!("Die Nachricht darf höchstens {MAX_MESSAGE_CHARS} Zeichen lang sein.")));
    }
    // The same rule as for long text answers in forms: NUL and other control
    // characters break e-mail notices, exports and PostgreSQL text columns.
    if subject.chars().any(char::is_control) || body.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(InvalidValue("Die Nachricht enthält unzulässige Steuerzeichen.".into()));
    }
    Ok(())
}

/// Largest attachment and most attachments per Postfach message.
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;
pub const MAX_ATTACHMENTS: usize = 5;

/// Checks an attachment by its name *and* its first bytes: PDF, PNG or JPEG only.
/// Returns the content type to store it with.
///
/// # Errors
/// With a German message naming the file.
pub fn check_attachment(file_name: &str, bytes: &[u8]) -> Result<&'static str, InvalidValue> {
    let ext = file_name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    if bytes.is_empty() {
        return Err(InvalidValue(format!("„{file_name}“ ist leer.")));
    }
    if bytes.len() > MAX_ATTACHMENT_BYTES {
        return Err(InvalidValue(format!("„{file_name}“ ist größer als {} MB.", MAX_ATTACHMENT_BYTES / 1024 / 1024)));
    }
    let sniffed = if bytes.starts_with(b"%PDF-") {
        Some(("application/pdf", &["pdf"][..]))
    } else {
        match crate::theme::LogoFormat::sniff(bytes) {
            Some(crate::theme::LogoFormat::Png) => Some(("image/png", &["png"][..])),
            Some(crate::theme::LogoFormat::Jpeg) => Some(("image/jpeg", &["jpg", "jpeg"][..])),
            _ => None,
        }
    };
    match sniffed {
        Some((content_type, exts)) if exts.contains(&ext.as_str()) => Ok(content_type),
        Some(_) => Err(InvalidValue(format!(
            "Name und Inhalt von „{file_name}“ passen nicht zusammen. Bitte prüfen Sie die Datei."
        ))),
        None => Err(InvalidValue(format!(
            "„{file_name}“ ist kein PDF-, PNG- oder JPEG-Dokument. Bitte wandeln Sie die Datei um oder fotografieren Sie das Dokument."
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_follow_asvs() {
        assert!(check_password("kurz", "a@b.de").unwrap_err().0.contains("zu kurz"));
        assert!(check_password("password1", "a@b.de").unwrap_err().0.contains("verbreitet"));
        assert!(check_password("PassWort123", "a@b.de").unwrap_err().0.contains("verbreitet"), "case-insensitive");
        assert!(check_password("aaaaaaaaaaaa", "a@b.de").is_err());
        assert!(check_password("erika.muster-2026!", "erika.muster@example.org").unwrap_err().0.contains("E-Mail"));
        assert!(
            check_password("Mein Hund heißt Bello und frisst gern Möhren", "a@b.de").is_ok(),
            "passphrases with spaces"
        );
        assert!(check_password(&"x".repeat(300), "a@b.de").is_err());
        assert!(check_password(&"xy".repeat(32), "a@b.de").is_ok(), "64 characters are allowed");
        assert!(COMMON_PASSWORDS.lines().filter(|l| !l.starts_with('#')).count() > 3000, "ASVS: at least the top 3000");
    }

    #[test]
    fn emails_are_normalised() {
        assert_eq!(normalize_email("  Erika@Example.ORG ").unwrap(), "erika@example.org");
        for bad in ["", "erika", "@example.org", "erika@", "erika@example", "er ika@example.org", "a@.de"] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn trust_levels_are_ordered() {
        assert!(satisfies(TrustLevel::Hoch, TrustLevel::Substanziell));
        assert!(satisfies(TrustLevel::Normal, TrustLevel::Normal));
        assert!(!satisfies(TrustLevel::Normal, TrustLevel::Substanziell));
        assert!(how_to_reach(TrustLevel::Substanziell).contains("BundID"));
    }

    #[test]
    fn profile_values_are_checked() {
        assert_eq!(ProfileField::Plz.check(" 29391 ").unwrap(), "29391");
        assert!(ProfileField::Plz.check("2939").is_err());
        assert_eq!(ProfileField::BirthDate.check("24.12.1980").unwrap(), "1980-12-24");
        assert_eq!(ProfileField::BirthDate.check("1980-12-24").unwrap(), "1980-12-24");
        assert!(ProfileField::BirthDate.check("31.02.1980").is_err());
        assert!(ProfileField::BirthDate.check("01.01.2999").is_err());
        assert!(ProfileField::Phone.check("05141 123-45").is_ok());
        assert!(ProfileField::Phone.check("<script>").is_err());
        assert_eq!(ProfileField::City.check("  ").unwrap(), "");
        for f in ProfileField::ALL {
            assert_eq!(ProfileField::parse(f.key()), Some(f));
        }
    }

    #[test]
    fn provider_values_are_locked() {
        assert!(!ProfileSource::SelfEntered.is_locked());
        assert!(ProfileSource::parse("bundid").is_locked());
        assert_eq!(ProfileSource::parse("self"), ProfileSource::SelfEntered);
        assert_eq!(ProfileSource::parse("bundid").label(), "aus der BundID");
    }

    #[test]
    fn attachments_are_checked_by_content() {
        assert_eq!(check_attachment("Bescheid.PDF", b"%PDF-1.7 ...").unwrap(), "application/pdf");
        assert_eq!(check_attachment("foto.jpg", &[0xFF, 0xD8, 0xFF, 0xE0]).unwrap(), "image/jpeg");
        assert!(check_attachment("rechnung.pdf", b"MZ\x90\x00 windows exe").unwrap_err().0.contains("kein PDF"));
        assert!(check_attachment("bild.pdf", &[0xFF, 0xD8, 0xFF]).unwrap_err().0.contains("passen nicht"));
        assert!(check_attachment("leer.pdf", b"").is_err());
    }

    #[test]
    fn messages_need_subject_and_text() {
        assert!(check_message("", "x").is_err());
        assert!(check_message("Frage", " ").is_err());
        assert!(check_message("Frage", "Wann ist das Amt geöffnet?").is_ok());
        assert!(check_message(&"x".repeat(201), "x").is_err());
        assert!(check_message("Frage", "Zeile 1\r\n\tZeile 2").is_ok());
        assert!(check_message("Frage", "Text\0mit NUL").unwrap_err().0.contains("Steuerzeichen"));
        assert!(check_message("Fra\u{1b}ge", "Text").is_err());
    }
}
