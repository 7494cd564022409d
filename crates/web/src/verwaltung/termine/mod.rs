//! Online appointments in the back office (`/verwaltung/behoerden/<slug>/termine/…`):
//! the booking rules and one calendar per location (configuration), and the
//! counter's side — the day list with print view, search, marking attended or
//! missed, cancelling one appointment or a whole day, booking on behalf of a caller,
//! the day as CSV and `.ics`, and figures per month.
//!
//! Who may do what: configuration belongs to the people who edit the authority as a
//! whole (its administrators and editors without an org-unit limit, as for
//! locations); the day lists show personal data and belong to the people who work
//! the authority's cases (case workers and administrators of that authority — not the
//! Verbund administrator, who reads no citizen's data without a grant of the
//! authority). The overview is open to both and shows each what they may use.

pub(crate) mod absagen;
pub(crate) mod buchen;
pub(crate) mod kalender;
mod kalender_form;
mod regeln_form;
pub(crate) mod tag;
pub(crate) mod uebersicht;
pub(crate) mod zahlen;

use super::StaffContext;
use crate::AppState;
use crate::error::AppError;
use amtsweg_domain::Authority;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use jiff::civil::Date;
use minijinja::{Value, context};

/// What the signed-in person may do with the appointments of one authority.
pub(crate) struct Rights {
    pub authority: Authority,
    /// May change the rules and the calendars.
    pub configure: bool,
    /// May see the day lists (personal data) and act at the counter.
    pub counter: bool,
}

impl StaffContext {
    /// The authority of the path and what this person may do with its appointments:
    /// 404 for an unknown authority, 403 when they may do neither.
    pub(crate) fn appointment_rights(&self, state: &AppState, slug: &str) -> Result<Rights, AppError> {
        let authority = state.catalogue().authority_by_slug(slug).cloned().ok_or(AppError::NotFound)?;
        let configure = self.perms.can_edit_authority_wide(authority.id);
        let counter = self.perms.case_authority_ids().contains(&authority.id);
        if configure || counter { Ok(Rights { authority, configure, counter }) } else { Err(AppError::Forbidden) }
    }

    /// The authority of the path if this person may configure its appointments.
    pub(crate) fn appointment_config(&self, state: &AppState, slug: &str) -> Result<Authority, AppError> {
        let r = self.appointment_rights(state, slug)?;
        if r.configure { Ok(r.authority) } else { Err(AppError::Forbidden) }
    }

    /// The authority of the path if this person works its counter (day lists).
    pub(crate) fn appointment_counter(&self, state: &AppState, slug: &str) -> Result<Authority, AppError> {
        let r = self.appointment_rights(state, slug)?;
        if r.counter { Ok(r.authority) } else { Err(AppError::Forbidden) }
    }

    /// Which of the authority's locations this person works at the counter: a case
    /// grant limited to an org unit covers that unit's location only (issue 19: a
    /// Bürgerbüro's staff see the bookings of their own office). The org units are
    /// read from the store, not the catalogue snapshot, so a unit that has just moved
    /// to another location grants no look at its old one.
    pub(crate) async fn counter_scope(&self, state: &AppState, authority_id: i64) -> Result<CounterScope, AppError> {
        let units = state.store.org_units(authority_id).await?.into_iter().map(|o| (o.id, o.location_id)).collect();
        Ok(CounterScope { perms: self.perms.clone(), authority_id, units })
    }
}

/// The locations of one authority whose counter a person works (see
/// [`StaffContext::counter_scope`]).
pub(crate) struct CounterScope {
    perms: amtsweg_domain::staff::Permissions,
    authority_id: i64,
    units: Vec<(i64, Option<i64>)>,
}

impl CounterScope {
    /// Whether the day list, marking, cancelling and booking of this location are open.
    pub(crate) fn covers(&self, location_id: i64) -> bool {
        self.perms.can_work_counter_at(self.authority_id, location_id, &self.units)
    }
}

/// The authority as the templates name it.
fn authority_value(a: &Authority) -> Value {
    context! { name => &a.name, slug => a.slug.as_str() }
}

/// Where the appointment pages of an authority start.
fn base_url(a: &Authority) -> String {
    format!("/verwaltung/behoerden/{}/termine/", a.slug)
}

/// A date from a form or query: `2026-11-24` (what `<input type=date>` sends) or
/// `24.11.2026`.
pub(crate) fn parse_date(s: &str) -> Option<Date> {
    let s = s.trim();
    s.parse::<Date>().ok().or_else(|| {
        let mut p = s.split('.');
        let (d, m, y) =
            (p.next()?.trim().parse().ok()?, p.next()?.trim().parse().ok()?, p.next()?.trim().parse().ok()?);
        if p.next().is_some() {
            return None;
        }
        Date::new(y, m, d).ok()
    })
}

/// "24.11.2026".
pub(crate) fn german_date(d: Date) -> String {
    d.strftime("%d.%m.%Y").to_string()
}

const WEEKDAYS: [&str; 7] = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"];

/// "Dienstag, 24.11.2026".
pub(crate) fn german_day(d: Date) -> String {
    let i = usize::try_from(d.weekday().to_monday_zero_offset()).unwrap_or(0);
    format!("{}, {}", WEEKDAYS[i % 7], german_date(d))
}

/// Today in Germany.
pub(crate) fn today() -> Date {
    crate::render::now_local().date()
}

/// Pages with personal data are never kept by a cache.
pub(crate) fn no_store(mut r: Response) -> Response {
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The first value of `key` among posted or queried pairs.
pub(crate) fn first<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    pairs.iter().find(|(k, _)| k == key).map_or("", |(_, v)| v.as_str())
}

/// Every value of `key` (repeatable fields such as checkboxes).
pub(crate) fn all<'a>(pairs: &'a [(String, String)], key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    pairs.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// One problem with the field it belongs to (the id after `feld-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub field: String,
    pub message: String,
}

impl Problem {
    pub(crate) fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// The error summary's entries.
pub(crate) fn problems_value(problems: &[Problem]) -> Vec<Value> {
    problems.iter().map(|p| context! { field => &p.field, message => &p.message }).collect()
}

/// A whole number from a form field, with `label` named in the message.
pub(crate) fn number<T: std::str::FromStr>(
    problems: &mut Vec<Problem>,
    field: &str,
    label: &str,
    value: &str,
    default: T,
) -> T {
    let v = value.trim();
    if v.is_empty() {
        problems.push(Problem::new(field, format!("{label}: Bitte geben Sie eine Zahl ein.")));
        return default;
    }
    v.parse().unwrap_or_else(|_| {
        problems.push(Problem::new(field, format!("{label}: „{v}“ ist keine passende ganze Zahl.")));
        default
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_read_in_both_spellings() {
        let d = Date::new(2026, 11, 24).unwrap();
        assert_eq!(parse_date("2026-11-24"), Some(d));
        assert_eq!(parse_date(" 24.11.2026 "), Some(d));
        assert_eq!(parse_date("31.02.2026"), None);
        assert_eq!(parse_date("24.11.2026.1"), None);
        assert_eq!(german_day(d), "Dienstag, 24.11.2026");
    }

    #[test]
    fn numbers_name_their_field() {
        let mut p = Vec::new();
        assert_eq!(number::<u16>(&mut p, "hold", "Haltezeit", "12", 10), 12);
        assert_eq!(number::<u16>(&mut p, "hold", "Haltezeit", "zwölf", 10), 10);
        assert_eq!(number::<u16>(&mut p, "hold", "Haltezeit", "-1", 10), 10);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].message, "Haltezeit: „zwölf“ ist keine passende ganze Zahl.");
    }
}
