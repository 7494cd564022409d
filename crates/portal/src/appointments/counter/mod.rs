//! The counter's side of appointments: the day list of a location with the contact
//! data opened, search by booking number or name, marking a booking attended or
//! missed; booking on behalf of a caller ([`behalf`]); cancelling one booking or a whole day
//! ([`cancel`]), the day as CSV and calendar file ([`export`]) and the figures of a
//! month ([`figures`]).
//!
//! Every function takes the authority the person works for and reads only its
//! calendars and bookings (`NotFound` for another authority's), so the day list
//! shows personal data only to staff of that authority. Changes are written with an
//! audit entry naming ids and kinds, never personal values.

pub mod behalf;
pub mod cancel;
pub mod export;
pub mod figures;

pub use behalf::{book_on_behalf, free_times};
pub use cancel::{cancel_day, cancel_one};
pub use export::{day_csv, day_ics};
pub use figures::{MonthFigures, figures};

use super::view::{AppointmentView, view};
use crate::{Portal, PortalError, Result};
use amtsweg_domain::appointments::AppointmentStatus;
use amtsweg_domain::appointments::reference::normalize_reference;
use amtsweg_domain::appointments::time::to_ms;
use amtsweg_domain::audit::AuditEntry;
use amtsweg_store::now_ms;
use jiff::civil::{Date, Time};

/// Search looks this many days before and after the day it starts from.
pub const SEARCH_DAYS: i64 = 30;

/// At most this many hits are shown; a longer list needs a narrower search.
pub const SEARCH_LIMIT: usize = 100;

/// `[start, end)` of a civil day in Germany, as the store's milliseconds.
#[must_use]
pub fn day_bounds(date: Date) -> (i64, i64) {
    let next = date.tomorrow().unwrap_or(date);
    (to_ms(date.to_datetime(Time::midnight())), to_ms(next.to_datetime(Time::midnight())))
}

/// The bookings of a calendar on a day, by time and counter, with the contact data
/// opened: held times in progress and expired ones left out, cancelled ones in.
///
/// # Errors
/// `NotFound` when the calendar is not the authority's; store errors.
pub async fn day_list(
    portal: &Portal,
    authority_id: i64,
    calendar_id: i64,
    date: Date,
) -> Result<Vec<AppointmentView>> {
    if portal.store.appointment_calendar(authority_id, calendar_id).await?.is_none() {
        return Err(PortalError::NotFound);
    }
    let (from, to) = day_bounds(date);
    let rows = portal.store.appointments_between(authority_id, calendar_id, from, to).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(view(portal, row).await?);
    }
    Ok(out)
}

/// Finds the authority's bookings by booking number (any date) or by a part of the
/// name, e-mail address or phone number (case-insensitive) among the bookings
/// [`SEARCH_DAYS`] around `around`, in time order, at most [`SEARCH_LIMIT`].
///
/// # Errors
/// Store errors.
pub async fn search(portal: &Portal, authority_id: i64, q: &str, around: Date) -> Result<Vec<AppointmentView>> {
    let q = q.trim();
    if let Some(reference) = normalize_reference(q) {
        return Ok(match portal.store.appointment_by_reference(authority_id, &reference).await? {
            Some(row) if !matches!(row.status.as_str(), "held" | "expired") => vec![view(portal, &row).await?],
            _ => Vec::new(),
        });
    }
    let needle = q.to_lowercase();
    if needle.chars().count() < 2 {
        return Ok(Vec::new());
    }
    let span = jiff::Span::new().days(SEARCH_DAYS);
    let from = around.checked_sub(span).unwrap_or(around);
    let to = around.checked_add(span).unwrap_or(around);
    let (from_ms, _) = day_bounds(from);
    let (_, to_ms) = day_bounds(to);
    let mut out = Vec::new();
    for cal in portal.store.appointment_calendars(authority_id).await? {
        for row in portal.store.appointments_between(authority_id, cal.id, from_ms, to_ms).await? {
            let v = view(portal, &row).await?;
            let hit = v.contact.as_ref().is_some_and(|c| {
                c.name.to_lowercase().contains(&needle)
                    || c.email.to_lowercase().contains(&needle)
                    || (!c.phone.is_empty() && c.phone.contains(q))
            });
            if hit {
                out.push(v);
            }
        }
    }
    out.sort_by_key(|v| (v.starts_at, v.counter, v.id));
    out.truncate(SEARCH_LIMIT);
    Ok(out)
}

/// Marks a booking attended or missed (or corrects one mark to the other), once
/// it has begun. `Ok(Err(message))` says why not, in German.
///
/// # Errors
/// `NotFound` for another authority's or an unknown booking; store errors.
pub async fn mark(
    portal: &Portal,
    actor: &str,
    authority_id: i64,
    id: i64,
    to: AppointmentStatus,
) -> Result<Result<AppointmentView, String>> {
    let row = portal.store.appointment(authority_id, id).await?.ok_or(PortalError::NotFound)?;
    let from = AppointmentStatus::parse(&row.status).unwrap_or(AppointmentStatus::Expired);
    if !matches!(to, AppointmentStatus::Attended | AppointmentStatus::Missed) {
        return Ok(Err("Ein Termin kann hier nur als „wahrgenommen“ oder „nicht erschienen“ markiert werden.".into()));
    }
    if from == to {
        return Ok(Ok(view(portal, &row).await?));
    }
    if !from.staff_may_change_to(to) {
        return Ok(Err(format!(
            "Ein Termin mit dem Stand „{}“ kann nicht als „{}“ markiert werden.",
            from.label_de(),
            to.label_de()
        )));
    }
    let now = now_ms();
    if row.starts_at > now {
        return Ok(Err(format!(
            "Der Termin beginnt erst am {}. Erst dann kann er als „{}“ markiert werden.",
            crate::time::when(row.starts_at),
            to.label_de()
        )));
    }
    let mut tx = portal.store.begin().await?;
    if !tx.set_appointment_status(authority_id, id, &[from.as_str()], to.as_str(), now).await? {
        return Ok(Err(CHANGED.into()));
    }
    tx.append_audit(&audit(actor, authority_id, "appointment.status", &format!("appointment:{id}"), to.as_str()))
        .await?;
    tx.commit().await?;
    let mut v = view(portal, &row).await?;
    v.status = to;
    Ok(Ok(v))
}

/// The contact checks speak to the citizen ("Ihren Namen"); staff type for a caller.
fn staff_wording(m: &str) -> String {
    if m == "Bitte geben Sie Ihren Namen an." {
        "Bitte geben Sie den Namen der Person an, für die der Termin ist.".to_owned()
    } else {
        m.to_owned()
    }
}

/// Told when a booking changed between the page and the click.
pub(crate) const CHANGED: &str =
    "Dieser Termin wurde inzwischen geändert. Bitte laden Sie die Tagesliste neu und prüfen Sie den aktuellen Stand.";

pub(crate) fn audit(actor: &str, authority_id: i64, action: &str, target: &str, outcome: &str) -> AuditEntry {
    AuditEntry {
        at: now_ms(),
        actor: actor.to_owned(),
        authority_id: Some(authority_id),
        action: action.to_owned(),
        target: target.to_owned(),
        outcome: outcome.to_owned(),
    }
}
