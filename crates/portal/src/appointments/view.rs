//! One appointment as people see it: the stored row with its times in German civil
//! time, the location, the services by name and the personal data opened. Shared by
//! the citizen's pages, the counter's day list and the e-mails.

use crate::keyring::authority_scope;
use crate::{Portal, PortalError, Result};
use amtsweg_domain::LeikaKey;
use amtsweg_domain::appointments::time::from_ms;
use amtsweg_domain::appointments::{AppointmentStatus, BookingRules, Calendar};
use amtsweg_store::Location;
use amtsweg_store::appointments::{AppointmentRow, CalendarRow};
use jiff::civil::DateTime;
use serde::{Deserialize, Serialize};

/// What a person typed when booking. Stored only sealed (see [`seal_personal`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub notes: String,
}

/// One service of a booking as stored in `appointments.services` (no personal data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookedService {
    pub leika: String,
    pub persons: u8,
}

/// The sealed JSON of `appointments.personal`: the contact and the manage token (so
/// the reminder can carry the manage link; deleted with the rest after the
/// appointment).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Personal {
    #[serde(flatten)]
    pub contact: Contact,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manage: String,
}

/// An appointment with everything a page or an e-mail shows.
#[derive(Debug, Clone)]
pub struct AppointmentView {
    pub id: i64,
    /// "T-7KQ2-M9XD": what the citizen quotes on the phone and at the counter.
    pub reference: String,
    pub status: AppointmentStatus,
    /// Civil times in Germany.
    pub start: DateTime,
    pub end: DateTime,
    pub starts_at: i64,
    pub ends_at: i64,
    pub authority_id: i64,
    pub authority_title: String,
    pub calendar_id: i64,
    pub counter: i64,
    pub location: Location,
    /// (LeiKa key, title of the service, persons).
    pub services: Vec<(String, String, u8)>,
    pub persons: u8,
    /// `None` once the personal data was deleted (or does not open).
    pub contact: Option<Contact>,
    pub citizen_id: Option<i64>,
    pub receipt_number: Option<String>,
    /// Held or waiting for the e-mail confirmation until then (ms).
    pub hold_until: Option<i64>,
    /// The appointment this one replaces once confirmed (a move).
    pub replaces_id: Option<i64>,
    /// "citizen" or "staff".
    pub booked_by: String,
}

impl AppointmentView {
    /// "Dienstag, 24.11.2026, 14:00 bis 14:20 Uhr".
    #[must_use]
    pub fn when_de(&self) -> String {
        format!(
            "{}, {} bis {} Uhr",
            weekday_de(self.start.date()),
            self.start.strftime("%d.%m.%Y, %H:%M"),
            self.end.strftime("%H:%M")
        )
    }

    /// "Bürgerbüro, Marktplatz 1, 37199 Moorbrück".
    #[must_use]
    pub fn address(&self) -> String {
        address(&self.location)
    }

    /// The services by title, "Personalausweis (2 Personen), Reisepass".
    #[must_use]
    pub fn services_de(&self) -> String {
        self.services
            .iter()
            .map(
                |(_, title, persons)| {
                    if *persons > 1 { format!("{title} ({persons} Personen)") } else { title.clone() }
                },
            )
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether the appointment still lies ahead at `now_ms`.
    #[must_use]
    pub fn is_ahead(&self, now_ms: i64) -> bool {
        self.starts_at > now_ms
    }
}

/// The German name of a weekday.
#[must_use]
pub fn weekday_de(d: jiff::civil::Date) -> &'static str {
    use jiff::civil::Weekday;
    match d.weekday() {
        Weekday::Monday => "Montag",
        Weekday::Tuesday => "Dienstag",
        Weekday::Wednesday => "Mittwoch",
        Weekday::Thursday => "Donnerstag",
        Weekday::Friday => "Freitag",
        Weekday::Saturday => "Samstag",
        Weekday::Sunday => "Sonntag",
    }
}

/// A location's name and postal address in one line.
#[must_use]
pub fn address(l: &Location) -> String {
    let street = [l.street.trim(), &format!("{} {}", l.plz.trim(), l.city.trim())]
        .into_iter()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    if street.is_empty() { l.name.clone() } else { format!("{}, {street}", l.name) }
}

/// The record the personal data of a booking is bound to (its reference is chosen
/// before the row is written and never changes).
#[must_use]
pub fn record(reference: &str) -> String {
    format!("appointment:{reference}")
}

const PURPOSE: &str = "appointment:personal";

/// Seals the personal data of a booking under the authority's key, bound to its reference.
///
/// # Errors
/// On store or crypto errors.
pub(crate) async fn seal_personal(portal: &Portal, authority_id: i64, reference: &str, p: &Personal) -> Result<String> {
    let json = serde_json::to_vec(p).map_err(|e| PortalError::Internal(e.to_string()))?;
    portal.seal_bound(&authority_scope(authority_id), PURPOSE, &record(reference), &json).await
}

/// Opens the personal data of a row; `None` when there is none (held, deleted) or it
/// does not open (logged).
pub(crate) async fn open_personal(portal: &Portal, row: &AppointmentRow) -> Option<Personal> {
    if row.personal.is_empty() {
        return None;
    }
    match portal.open_bound(&authority_scope(row.authority_id), PURPOSE, &record(&row.reference), &row.personal).await {
        Ok(bytes) => serde_json::from_slice(&bytes).ok(),
        Err(e) => {
            tracing::error!(appointment = row.id, error = %e, "personal data of an appointment does not open");
            None
        }
    }
}

/// The keyed hash of an e-mail address that the per-person limit counts by (lower-cased,
/// trimmed; never the address itself).
///
/// # Errors
/// On crypto errors.
pub fn contact_hash(portal: &Portal, email: &str) -> Result<String> {
    Ok(portal.keyring.mac(&format!("appointment-contact:{}", email.trim().to_lowercase()))?)
}

/// The services of a row as stored.
#[must_use]
pub fn booked_services(row: &AppointmentRow) -> Vec<BookedService> {
    serde_json::from_str(&row.services).unwrap_or_default()
}

/// The title of a service of an authority, or its key when the authority publishes none.
#[must_use]
pub fn service_title(portal: &Portal, authority_id: i64, leika: &str) -> String {
    let catalogue = portal.catalogue();
    LeikaKey::parse(leika)
        .ok()
        .and_then(|k| catalogue.leistung_by_leika(authority_id, &k).map(|l| l.name.clone()))
        .unwrap_or_else(|| format!("Leistung {leika}"))
}

/// A location of an authority: from the snapshot, or the store for one added since.
///
/// # Errors
/// `NotFound` when the authority has no such location; store errors.
pub async fn location(portal: &Portal, authority_id: i64, location_id: i64) -> Result<Location> {
    if let Some(l) = portal.catalogue().location(authority_id, location_id) {
        return Ok(l.clone());
    }
    portal.store.location(authority_id, location_id).await?.ok_or(PortalError::NotFound)
}

/// The view of one stored appointment, its personal data opened.
///
/// # Errors
/// `NotFound` when its location is gone; store errors.
pub async fn view(portal: &Portal, row: &AppointmentRow) -> Result<AppointmentView> {
    let personal = open_personal(portal, row).await;
    view_with(portal, row, personal.map(|p| p.contact)).await
}

/// The view of a row with a contact known in memory (just typed, not yet stored).
pub(crate) async fn view_with(
    portal: &Portal,
    row: &AppointmentRow,
    contact: Option<Contact>,
) -> Result<AppointmentView> {
    let location = location(portal, row.authority_id, row.location_id).await?;
    let authority_title = portal.catalogue().authority(row.authority_id).map(|a| a.name.clone()).unwrap_or_default();
    let services = booked_services(row)
        .into_iter()
        .map(|s| {
            let title = service_title(portal, row.authority_id, &s.leika);
            (s.leika, title, s.persons)
        })
        .collect();
    Ok(AppointmentView {
        id: row.id,
        reference: row.reference.clone(),
        status: AppointmentStatus::parse(&row.status).unwrap_or(AppointmentStatus::Expired),
        start: from_ms(row.starts_at),
        end: from_ms(row.ends_at),
        starts_at: row.starts_at,
        ends_at: row.ends_at,
        authority_id: row.authority_id,
        authority_title,
        calendar_id: row.calendar_id,
        counter: row.counter,
        location,
        services,
        persons: u8::try_from(row.persons).unwrap_or(u8::MAX),
        contact,
        citizen_id: row.citizen_id,
        receipt_number: row.receipt_number.clone(),
        hold_until: row.hold_until,
        replaces_id: row.replaces_id,
        booked_by: row.booked_by.clone(),
    })
}

/// A calendar of an authority, parsed, with its location; `None` when the authority
/// has no such calendar. From the settings kept in memory (see
/// [`super::settings_cache`]).
///
/// # Errors
/// Store errors; a stored calendar that does not parse.
pub async fn calendar_of(
    portal: &Portal,
    authority_id: i64,
    calendar_id: i64,
) -> Result<Option<(CalendarRow, Calendar, Location)>> {
    let settings = super::settings_cache::settings(portal, authority_id).await?;
    let Some((row, calendar)) = settings.calendar(calendar_id)? else { return Ok(None) };
    let location = location(portal, authority_id, row.location_id).await?;
    Ok(Some((row, calendar, location)))
}

/// The settings of a calendar row.
///
/// # Errors
/// When the stored JSON does not parse (a bug or a hand-edited row).
pub fn parse_calendar(row: &CalendarRow) -> Result<Calendar> {
    serde_json::from_str(&row.settings)
        .map_err(|e| PortalError::Internal(format!("calendar {} does not parse: {e}", row.id)))
}

/// The booking rules of an authority; the defaults when it stored none. From the
/// settings kept in memory (see [`super::settings_cache`]).
///
/// # Errors
/// Store errors; stored rules that do not parse.
pub async fn rules_of(portal: &Portal, authority_id: i64) -> Result<BookingRules> {
    Ok(super::settings_cache::settings(portal, authority_id).await?.rules.clone())
}
