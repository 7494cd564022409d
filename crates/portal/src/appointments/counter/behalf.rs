//! Booking for a caller at the counter or on the phone: confirmed at once, marked
//! as booked by staff, no per-person limit and no double opt-in; the confirmation
//! with the manage link and calendar file goes out only when an e-mail address was
//! given.
//!
//! Staff may book from today on (the calendar's `earliest_days` keeps citizens from
//! booking at short notice, not the person at the desk), never in the past, and the
//! rest of the calendar's rules apply. The hold, the confirmation, the e-mail and
//! the audit entry are written in one transaction: there is no booking without its
//! audit entry, and no time is left held when something is refused.

use super::{audit, staff_wording};
use crate::appointments::journey::{Chosen, Journey, choose, day_of};
use crate::appointments::mail;
use crate::appointments::view::{
    AppointmentView, BookedService, Contact, Personal, calendar_of, contact_hash, seal_personal, view_with,
};
use crate::appointments::{booking, booking::check_contact};
use crate::tokens::{hash_token, random_token};
use crate::{Portal, PortalError, Result};
use amtsweg_domain::appointments::time::to_ms;
use amtsweg_domain::appointments::{AppointmentStatus, FreeTime, reference_code, slots};
use amtsweg_store::appointments::{AppointmentRow, NewAppointment};
use amtsweg_store::now_ms;
use jiff::civil::{Date, DateTime};

/// A staff booking is held only inside its own transaction; this is merely the
/// value the store requires for a hold.
const HOLD_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

/// Told when the time was taken between the list and the click.
pub const TAKEN: &str = "Diese Zeit wurde gerade vergeben. Bitte wählen Sie eine andere freie Zeit.";

/// Told when the calendar was saved between reading it and booking.
const CALENDAR_CHANGED: &str =
    "Der Kalender wurde gerade geändert. Bitte laden Sie die Seite neu und wählen Sie die Zeit erneut.";

/// The journey checked as for citizens, with the booking window opened for staff:
/// from today on.
async fn chosen_for_staff(portal: &Portal, authority_id: i64, journey: &Journey) -> Result<Result<Chosen, String>> {
    if let Some(id) = journey.calendar
        && calendar_of(portal, authority_id, id).await?.is_none()
    {
        return Err(PortalError::NotFound);
    }
    Ok(choose(portal, authority_id, journey).await?.map(|mut c| {
        c.calendar.earliest_days = 0;
        c
    }))
}

/// The free times of `date` for the journey as staff may book them (from today on,
/// later than `now`). `Ok(Err(message))` for a journey that cannot be booked.
///
/// # Errors
/// `NotFound` for another authority's calendar; store errors.
pub async fn free_times(
    portal: &Portal,
    authority_id: i64,
    journey: &Journey,
    date: Date,
    now: DateTime,
) -> Result<Result<Vec<FreeTime>, String>> {
    let chosen = match chosen_for_staff(portal, authority_id, journey).await? {
        Ok(c) => c,
        Err(m) => return Ok(Err(m)),
    };
    Ok(Ok(day_of(portal, &chosen, date, now).await?))
}

/// Books `start` for a caller. `Ok(Err(message))` says what staff must change, in
/// German (time taken or outside the calendar, contact data, services).
///
/// # Errors
/// `NotFound` for another authority's calendar; store and crypto errors.
pub async fn book_on_behalf(
    portal: &Portal,
    actor: &str,
    authority_id: i64,
    journey: &Journey,
    start: DateTime,
    contact: Contact,
) -> Result<Result<AppointmentView, String>> {
    let contact = match check_contact(&contact, false) {
        Ok(c) => c,
        Err(m) => return Ok(Err(staff_wording(&m))),
    };
    let chosen = match chosen_for_staff(portal, authority_id, journey).await? {
        Ok(c) => c,
        Err(m) => return Ok(Err(m)),
    };
    let now = crate::time::now_local();
    let now_ms = now_ms();
    if let Err(e) = slots::is_bookable_start(&chosen.calendar, &chosen.opening, start, chosen.units, now) {
        return Ok(Err(e.0));
    }
    let rules = &chosen.rules;
    let token = random_token();
    let reference = reference_code(&rand::random::<[u8; 8]>());
    let services: Vec<BookedService> =
        journey.services.iter().map(|s| BookedService { leika: s.clone(), persons: journey.persons }).collect();
    let starts_at = to_ms(start);
    let ends_at = to_ms(slots::end_of(&chosen.calendar, start, chosen.units));
    let new = NewAppointment {
        authority_id,
        calendar_id: chosen.row.id,
        location_id: chosen.row.location_id,
        reference: reference.clone(),
        status: AppointmentStatus::Held.as_str().to_owned(),
        starts_at,
        ends_at,
        services: serde_json::to_string(&services).map_err(|e| PortalError::Internal(e.to_string()))?,
        persons: i64::from(journey.persons),
        manage_hash: hash_token(&token),
        hold_until: Some(now_ms + HOLD_MS),
        citizen_id: None,
        receipt_number: journey.receipt.clone(),
        replaces_id: None,
        booked_by: "staff".to_owned(),
        client_key: String::new(),
    };
    // Sealed and composed before the transaction: the keyring may store a new key
    // (a write of its own, which on SQLite would wait for this transaction).
    let hash = if contact.email.is_empty() { String::new() } else { contact_hash(portal, &contact.email)? };
    let personal =
        seal_personal(portal, authority_id, &reference, &Personal { contact: contact.clone(), manage: token.clone() })
            .await?;
    let remind_at = booking::remind_at(rules, starts_at, now_ms);
    let purge_at = ends_at + i64::from(rules.retention_days) * DAY_MS;
    let shown = row_of(&new, &personal, &hash, remind_at, purge_at, now_ms);
    let mut view = view_with(portal, &shown, Some(contact)).await?;

    let units = slots::unit_starts_ms(&chosen.calendar, start, chosen.units);
    let mut tx = portal.store.begin().await?;
    // The calendar the time was checked against must still be the current one:
    // read in this transaction, on PostgreSQL under a share lock that a concurrent
    // calendar save waits for (on SQLite this transaction is the only writer).
    if !tx.calendar_at_version(authority_id, chosen.row.id, chosen.row.version).await? {
        return Ok(Err(CALENDAR_CHANGED.into()));
    }
    let Some((id, counter)) = tx.hold_appointment(&new, &units, chosen.calendar.counters, now_ms).await? else {
        return Ok(Err(TAKEN.into()));
    };
    let status = AppointmentStatus::Confirmed.as_str();
    if !tx.confirm_appointment(id, status, &personal, &hash, None, None, remind_at, purge_at, now_ms).await? {
        return Ok(Err(TAKEN.into()));
    }
    view.id = id;
    view.counter = counter;
    for m in mail::confirmation(portal, &view, Some(&token), rules, None) {
        tx.enqueue_email(&m).await?;
    }
    tx.append_audit(&audit(
        actor,
        authority_id,
        "appointment.booked_on_behalf",
        &format!("appointment:{id}"),
        "success",
    ))
    .await?;
    tx.commit().await?;
    Ok(Ok(view))
}

/// The row as it stands once confirmed (id and counter filled in after the hold),
/// for the view the e-mail is written from.
fn row_of(
    a: &NewAppointment,
    personal: &str,
    contact_hash: &str,
    remind_at: Option<i64>,
    purge_at: i64,
    now_ms: i64,
) -> AppointmentRow {
    AppointmentRow {
        id: 0,
        authority_id: a.authority_id,
        calendar_id: a.calendar_id,
        location_id: a.location_id,
        reference: a.reference.clone(),
        status: AppointmentStatus::Confirmed.as_str().to_owned(),
        starts_at: a.starts_at,
        ends_at: a.ends_at,
        counter: 0,
        units: 0,
        services: a.services.clone(),
        persons: a.persons,
        manage_hash: a.manage_hash.clone(),
        confirm_hash: None,
        hold_until: None,
        citizen_id: None,
        receipt_number: a.receipt_number.clone(),
        replaces_id: None,
        contact_hash: contact_hash.to_owned(),
        personal: personal.to_owned(),
        booked_by: a.booked_by.clone(),
        client_key: String::new(),
        remind_at,
        reminded_at: None,
        purge_at: Some(purge_at),
        purged_at: None,
        created_at: now_ms,
        updated_at: now_ms,
    }
}
