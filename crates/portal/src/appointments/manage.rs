//! What a citizen does with a booking afterwards: cancel it by the secret link or in
//! the account, move it (a new hold that replaces the old booking only once it is
//! confirmed), and list the account's appointments.

use super::booking::{Held, HoldBy, Refused, hold_as, row_by_token};
use super::journey::Journey;
use super::mail;
use super::view::{AppointmentView, Contact, booked_services, open_personal, rules_of, view};
use crate::{Portal, PortalError, Result};
use amtsweg_domain::appointments::AppointmentStatus;
use amtsweg_store::appointments::AppointmentRow;
use amtsweg_store::now_ms;
use jiff::civil::DateTime;

/// Statuses a citizen may cancel from.
const CANCELLABLE: [&str; 3] = ["held", "preconfirmed", "confirmed"];

/// Cancels the booking behind a manage link and sends the cancellation with the
/// calendar file (METHOD:CANCEL).
///
/// # Errors
/// `NotFound` for an unknown or changed token; store errors. A booking that cannot
/// be cancelled (any more) is `Ok(Err(message))`.
pub async fn cancel(portal: &Portal, token: &str) -> Result<Result<AppointmentView, String>> {
    let row = row_by_token(portal, token).await?.ok_or(PortalError::NotFound)?;
    cancel_row(portal, &row).await
}

/// Cancels one of a signed-in citizen's bookings.
///
/// # Errors
/// `NotFound` when the booking is not the citizen's; store errors.
pub async fn cancel_for_citizen(portal: &Portal, citizen_id: i64, id: i64) -> Result<Result<AppointmentView, String>> {
    let row = portal
        .store
        .appointments_of_citizen(citizen_id)
        .await?
        .into_iter()
        .find(|r| r.id == id && r.citizen_id == Some(citizen_id))
        .ok_or(PortalError::NotFound)?;
    cancel_row(portal, &row).await
}

/// Why a booking cannot be cancelled by the citizen, if it cannot.
fn why_not_cancellable(row: &AppointmentRow, now_ms: i64) -> Option<&'static str> {
    let status = AppointmentStatus::parse(&row.status).unwrap_or(AppointmentStatus::Expired);
    match status {
        AppointmentStatus::Cancelled => Some("Dieser Termin ist bereits abgesagt."),
        AppointmentStatus::Expired => Some("Diese Reservierung ist bereits verfallen; der Termin ist wieder frei."),
        AppointmentStatus::Attended | AppointmentStatus::Missed => {
            Some("Dieser Termin liegt in der Vergangenheit und kann nicht mehr abgesagt werden.")
        }
        _ if row.starts_at <= now_ms => {
            Some("Dieser Termin hat bereits begonnen oder ist vorbei und kann nicht mehr abgesagt werden.")
        }
        _ => None,
    }
}

async fn cancel_row(portal: &Portal, row: &AppointmentRow) -> Result<Result<AppointmentView, String>> {
    let now_ms = now_ms();
    if let Some(why) = why_not_cancellable(row, now_ms) {
        return Ok(Err(why.into()));
    }
    let mut v = view(portal, row).await?;
    let rules = rules_of(portal, row.authority_id).await?;
    // A hold has no contact yet; an unconfirmed booking got no calendar entry, but a
    // cancellation still tells the citizen the time is gone.
    let message = if row.status == "held" { None } else { mail::cancellation(portal, &v, &rules, None) };
    let mut tx = portal.store.begin().await?;
    if !tx.set_appointment_status(row.authority_id, row.id, &CANCELLABLE, "cancelled", now_ms).await? {
        return Ok(Err("Dieser Termin wurde inzwischen geändert. Bitte laden Sie die Seite neu.".into()));
    }
    if let Some(m) = &message {
        tx.enqueue_email(m).await?;
    }
    tx.commit().await?;
    v.status = AppointmentStatus::Cancelled;
    Ok(Ok(v))
}

/// Whether the citizen may still move (or cancel) the booking.
#[must_use]
pub fn can_change(v: &AppointmentView, now_ms: i64) -> bool {
    matches!(v.status, AppointmentStatus::Confirmed | AppointmentStatus::Preconfirmed) && v.starts_at > now_ms
}

/// The journey of an existing booking (same services, persons, location and
/// receipt), for choosing a new time when moving it.
#[must_use]
pub fn journey_of(v: &AppointmentView, answers: Vec<(String, String)>) -> Journey {
    Journey {
        services: v.services.iter().map(|(leika, _, _)| leika.clone()).collect(),
        persons: v.persons.max(1),
        answers,
        calendar: Some(v.calendar_id),
        receipt: v.receipt_number.clone(),
    }
}

/// Holds a new time for the booking behind `old_token`. The old booking stays until
/// the new one is confirmed; then the store cancels it in the same transaction.
///
/// # Errors
/// `NotFound` for an unknown token; store errors; a refusal is `Ok(Err(..))`.
pub async fn move_hold(
    portal: &Portal,
    old_token: &str,
    journey: &Journey,
    start: DateTime,
    client_key: &str,
) -> Result<Result<Held, Refused>> {
    let old = row_by_token(portal, old_token).await?.ok_or(PortalError::NotFound)?;
    let mut journey = journey.clone();
    // Moving keeps what was booked; only the time (and the location) change.
    let booked = booked_services(&old);
    journey.services = booked.iter().map(|s| s.leika.clone()).collect();
    journey.persons = u8::try_from(old.persons).unwrap_or(1).max(1);
    if journey.receipt.is_none() {
        journey.receipt.clone_from(&old.receipt_number);
    }
    hold_as(
        portal,
        old.authority_id,
        &journey,
        start,
        HoldBy { client_key, citizen_id: old.citizen_id, replaces: Some(old.id), booked_by: "citizen" },
    )
    .await
}

/// For the contact form of a move: the contact of the booking it replaces, so
/// nothing needs typing again.
///
/// # Errors
/// Store errors.
pub async fn prefill(portal: &Portal, v: &AppointmentView) -> Result<Option<Contact>> {
    let Some(old) = v.replaces_id else { return Ok(None) };
    let Some(row) = portal.store.appointment(v.authority_id, old).await? else { return Ok(None) };
    Ok(open_personal(portal, &row).await.map(|p| p.contact))
}

/// The bookings of a signed-in citizen: those ahead first (soonest first), then
/// the past ones (latest first); holds and expired reservations left out.
///
/// # Errors
/// Store errors.
pub async fn citizen_appointments(portal: &Portal, citizen_id: i64) -> Result<Vec<AppointmentView>> {
    let now_ms = now_ms();
    let mut rows: Vec<AppointmentRow> = portal
        .store
        .appointments_of_citizen(citizen_id)
        .await?
        .into_iter()
        .filter(|r| r.citizen_id == Some(citizen_id) && !matches!(r.status.as_str(), "held" | "expired"))
        .collect();
    rows.sort_by_key(|r| if r.starts_at > now_ms { (0, r.starts_at) } else { (1, -r.starts_at) });
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(view(portal, r).await?);
    }
    Ok(out)
}
