//! The citizen's profile, sealed at rest under the Verbund's key and bound to the
//! citizen (see [`crate::keyring`]): values the citizen typed and values an ID
//! provider vouched for, each with its source and trust level.

use crate::keyring::{CITIZEN_SCOPE, record};
use crate::{Portal, Result};
use amtsweg_domain::TrustLevel;
use amtsweg_domain::konto::{ProfileField, ProfileSource};
use amtsweg_forms::Date;

/// A profile value as the citizen sees it.
#[derive(Debug, Clone)]
pub struct ProfileEntry {
    pub field: String,
    pub value: String,
    pub source: ProfileSource,
    pub trust_level: String,
}

/// The profile, opened. A value that does not open is left out (and logged) rather
/// than failing the page.
///
/// # Errors
/// On store errors.
pub async fn profile(portal: &Portal, citizen_id: i64) -> Result<Vec<ProfileEntry>> {
    let mut out = Vec::new();
    let owner = record::citizen(citizen_id);
    for v in portal.store.profile(citizen_id).await? {
        match portal.open_bound_text(CITIZEN_SCOPE, &format!("profile:{}", v.field), &owner, &v.value).await {
            Ok(value) => {
                // Dates stored before they were normalised on save are read in their one form.
                let value = if v.field == ProfileField::BirthDate.key() { canonical_date(&value) } else { value };
                out.push(ProfileEntry { source: v.source(), field: v.field, value, trust_level: v.trust_level })
            }
            Err(e) => tracing::error!(field = %v.field, error = %e, "profile value does not open"),
        }
    }
    Ok(out)
}

/// A stored date in its one stored form, `JJJJ-MM-TT`; a value that is no date
/// stays as it is (the profile page shows it for correction).
#[must_use]
pub fn canonical_date(stored: &str) -> String {
    Date::parse(stored).map_or_else(|| stored.trim().to_owned(), |d| d.to_string())
}

/// A stored date as people read it, `TT.MM.JJJJ`; a value that is no date stays
/// as it is.
#[must_use]
pub fn german_date(stored: &str) -> String {
    Date::parse(stored).map_or_else(|| stored.to_owned(), Date::german)
}

/// Checks a birth date typed into the profile and returns it in its stored form
/// (`JJJJ-MM-TT`); empty input removes the value. Accepts 7.12.1980, 07.12.1980 and
/// 1980-12-07; the message says in plain words what is wrong.
///
/// # Errors
/// With a German message for the citizen.
pub fn normalize_birth_date(raw: &str, today: Date) -> std::result::Result<String, String> {
    let v = raw.trim();
    if v.is_empty() {
        return Ok(String::new());
    }
    let example = "Bitte geben Sie Ihr Geburtsdatum mit Tag, Monat und Jahr an, zum Beispiel 07.12.1980.";
    let numbers: Vec<&str> = v.split(['.', '-', '/']).map(str::trim).collect();
    if numbers.len() != 3 || numbers.iter().any(|n| n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit())) {
        return Err(example.to_owned());
    }
    let iso = v.contains('-') && numbers[0].len() == 4;
    let (day, month, year) =
        if iso { (numbers[2], numbers[1], numbers[0]) } else { (numbers[0], numbers[1], numbers[2]) };
    if year.len() != 4 {
        return Err("Bitte geben Sie das Jahr mit vier Ziffern an, zum Beispiel 07.12.1980 statt 07.12.80.".to_owned());
    }
    let n = |s: &str| s.parse::<u8>().ok();
    let (Some(d), Some(m), Ok(y)) = (n(day), n(month), year.parse::<i32>()) else { return Err(example.to_owned()) };
    if !(1..=12).contains(&m) {
        return Err(format!("Einen {m}. Monat gibt es nicht. Bitte prüfen Sie den Monat (1 bis 12)."));
    }
    let Some(date) = Date::new(y, m, d) else {
        return Err(format!("Den {d:02}.{m:02}.{y} gibt es nicht. Bitte prüfen Sie den Tag."));
    };
    if date >= today {
        return Err("Das Geburtsdatum muss in der Vergangenheit liegen.".to_owned());
    }
    if y < 1900 {
        return Err("Bitte prüfen Sie das Jahr: Das Geburtsdatum liegt vor 1900.".to_owned());
    }
    Ok(date.to_string())
}

/// Makes sure the Verbund's data key is ready, so that [`seal_value`] needs no
/// transaction of its own: call it before a write transaction that seals values
/// for a citizen the transaction creates.
///
/// # Errors
/// On store or crypto errors.
pub async fn ready(portal: &Portal) -> Result<()> {
    Ok(portal.keyring.ready(&portal.store, CITIZEN_SCOPE).await?)
}

/// Seals a profile value of `citizen_id` for storing (before the write transaction
/// starts, or after [`ready`]: sealing may create the data key in a transaction of
/// its own).
///
/// # Errors
/// On store or crypto errors.
pub async fn seal_value(portal: &Portal, citizen_id: i64, field: ProfileField, value: &str) -> Result<String> {
    if value.is_empty() {
        return Ok(String::new());
    }
    let purpose = format!("profile:{}", field.key());
    portal.seal_bound(CITIZEN_SCOPE, &purpose, &record::citizen(citizen_id), value.as_bytes()).await
}

/// Stores one profile value (sealed) in its own transaction.
///
/// # Errors
/// On store or crypto errors.
pub async fn set(
    portal: &Portal,
    citizen_id: i64,
    field: ProfileField,
    value: &str,
    source: &ProfileSource,
    trust: TrustLevel,
) -> Result<bool> {
    let sealed = seal_value(portal, citizen_id, field, value).await?;
    let mut tx = portal.store.begin().await?;
    let done = tx.set_profile_value(citizen_id, field, &sealed, source, trust).await?;
    tx.commit().await?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Date {
        Date::new(2026, 12, 7).unwrap()
    }

    #[test]
    fn birth_dates_are_accepted_as_people_write_them_and_stored_in_one_form() {
        for typed in ["7.12.1980", "07.12.1980", "1980-12-07", " 7. 12. 1980 ", "07/12/1980"] {
            assert_eq!(normalize_birth_date(typed, today()).as_deref(), Ok("1980-12-07"), "{typed}");
        }
        assert_eq!(normalize_birth_date("", today()).as_deref(), Ok(""));
        assert_eq!(german_date("1980-12-07"), "07.12.1980");
        assert_eq!(canonical_date("7.12.1980"), "1980-12-07");
        assert_eq!(canonical_date("irgendwann"), "irgendwann");
    }

    #[test]
    fn wrong_birth_dates_get_plain_messages() {
        let err = |s: &str| normalize_birth_date(s, today()).unwrap_err();
        assert!(err("31.02.1980").contains("Den 31.02.1980 gibt es nicht"));
        assert!(err("01.13.1980").contains("13. Monat gibt es nicht"));
        assert!(err("07.12.80").contains("vier Ziffern"));
        assert!(err("gestern").contains("zum Beispiel 07.12.1980"));
        assert!(err("08.12.2026").contains("Vergangenheit"));
        assert!(err("01.01.1850").contains("vor 1900"));
    }
}
