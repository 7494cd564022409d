//! Staff cancel a booking, or every booking of a day (illness, closure), with a
//! message: each citizen gets the cancellation e-mail with the calendar file
//! (METHOD:CANCEL) and, when the booking came from an account, the message in the
//! Postfach too. The status changes, e-mails, Postfach messages and the audit entry
//! are written in one transaction; the times are free again at once.
//!
//! Cancelling a day also closes it in the calendar, so the freed times are not
//! booked again by others on a day the counter does not work.

use super::{CHANGED, audit, day_bounds};
use crate::appointments::mail;
use crate::appointments::view::{AppointmentView, calendar_of, rules_of, view};
use crate::postfach::{self, Delivery, DeliveryError, Prepared};
use crate::{Portal, PortalError, Result};
use amtsweg_domain::appointments::{AppointmentStatus, BookingRules};
use amtsweg_domain::konto::MAX_MESSAGE_CHARS;
use amtsweg_store::appointments::AppointmentRow;
use amtsweg_store::now_ms;
use amtsweg_store::outbox::EmailMessage;
use jiff::civil::Date;
use std::collections::HashMap;

/// Statuses staff may cancel from.
const CANCELLABLE: [&str; 3] = ["held", "preconfirmed", "confirmed"];

/// The longest message to the citizens (it goes into e-mails and the Postfach).
pub const MAX_MESSAGE: usize = 2000;

/// What goes out for one cancelled booking.
struct Notice {
    email: Option<EmailMessage>,
    postfach: Option<Prepared>,
}

/// Cancels one booking with an optional message to the citizen.
/// `Ok(Err(message))` says why not, in German.
///
/// # Errors
/// `NotFound` for another authority's or an unknown booking; store, object-store
/// and crypto errors.
pub async fn cancel_one(
    portal: &Portal,
    actor: &str,
    authority_id: i64,
    id: i64,
    message: &str,
) -> Result<Result<AppointmentView, String>> {
    let row = portal.store.appointment(authority_id, id).await?.ok_or(PortalError::NotFound)?;
    if let Err(m) = check_message(message, false) {
        return Ok(Err(m));
    }
    let now = now_ms();
    if let Some(why) = why_not(&row, now) {
        return Ok(Err(why.into()));
    }
    let rules = rules_of(portal, authority_id).await?;
    let mut v = view(portal, &row).await?;
    let notice = match notice(portal, &v, &rules, message).await? {
        Ok(n) => n,
        Err(m) => return Ok(Err(m)),
    };
    let mut tx = portal.store.begin().await?;
    if !tx.set_appointment_status(authority_id, id, &CANCELLABLE, "cancelled", now).await? {
        return Ok(Err(CHANGED.into()));
    }
    send(portal, &mut tx, notice).await?;
    tx.append_audit(&audit(
        actor,
        authority_id,
        "appointment.cancelled_by_staff",
        &format!("appointment:{id}"),
        "success",
    ))
    .await?;
    tx.commit().await?;
    v.status = AppointmentStatus::Cancelled;
    Ok(Ok(v))
}

/// Cancels every booking of a calendar on `date` that has not begun yet — confirmed
/// ones, those waiting for their e-mail confirmation and times held right now —,
/// tells each citizen with a contact (not the holders, who gave none yet) with
/// `message`, and closes the day in the calendar. Returns how many bookings were
/// cancelled. `Ok(Err(message))` says what to change, in German.
///
/// The bookings are read, cancelled and the day closed in one transaction (the
/// rows locked on PostgreSQL), so nothing confirmed remains on the closed day. The
/// e-mails and Postfach messages are prepared before it (the Postfach stores its
/// files and keys outside the transaction); a booking that turns up in between is
/// noticed inside and the whole is tried again.
///
/// # Errors
/// `NotFound` for another authority's or an unknown calendar; store, object-store
/// and crypto errors.
pub async fn cancel_day(
    portal: &Portal,
    actor: &str,
    authority_id: i64,
    calendar_id: i64,
    date: Date,
    message: &str,
) -> Result<Result<usize, String>> {
    if portal.store.appointment_calendar(authority_id, calendar_id).await?.is_none() {
        return Err(PortalError::NotFound);
    }
    if let Err(m) = check_message(message, true) {
        return Ok(Err(m));
    }
    let (from, to) = day_bounds(date);
    if to <= now_ms() {
        return Ok(Err("Dieser Tag ist vorbei; seine Termine können nicht mehr abgesagt werden.".into()));
    }
    let rules = rules_of(portal, authority_id).await?;
    for _ in 0..DAY_ATTEMPTS {
        let (row, mut calendar, _) =
            calendar_of(portal, authority_id, calendar_id).await?.ok_or(PortalError::NotFound)?;
        let now = now_ms();
        // Bookings that have begun are marked, not cancelled.
        let from = from.max(now + 1);
        let mut notices: HashMap<i64, Notice> = HashMap::new();
        for r in portal.store.appointments_between(authority_id, calendar_id, from, to).await? {
            if why_not(&r, now).is_none() {
                let v = view(portal, &r).await?;
                match notice(portal, &v, &rules, message).await? {
                    Ok(n) => notices.insert(r.id, n),
                    Err(m) => return Ok(Err(m)),
                };
            }
        }
        let closes = !calendar.closed_days.contains(&date);
        if closes {
            calendar.closed_days.push(date);
            calendar.closed_days.sort();
        }
        let settings = serde_json::to_string(&calendar).map_err(|e| PortalError::Internal(e.to_string()))?;
        let mut tx = portal.store.begin().await?;
        // The day is closed first: no hold made from now on can be confirmed on it
        // (confirming re-checks the calendar), and on PostgreSQL the calendar row
        // stays locked against another save until this transaction ends.
        if closes
            && tx.save_appointment_calendar(authority_id, row.location_id, &settings, row.version).await?.is_none()
        {
            continue;
        }
        let bookings = tx.active_appointments_for_update(authority_id, calendar_id, from, to, now).await?;
        if bookings.iter().any(|b| b.status != "held" && !notices.contains_key(&b.id)) {
            // Confirmed since the notices were prepared: prepare again.
            continue;
        }
        let mut cancelled = 0;
        for b in &bookings {
            if tx.set_appointment_status(authority_id, b.id, &CANCELLABLE, "cancelled", now).await? {
                cancelled += 1;
                if let Some(n) = notices.remove(&b.id).filter(|_| b.status != "held") {
                    send(portal, &mut tx, n).await?;
                }
            }
        }
        tx.append_audit(&audit(
            actor,
            authority_id,
            "appointment.day_cancelled",
            &format!("appointment_calendar:{calendar_id}"),
            &format!("{date}:{cancelled}"),
        ))
        .await?;
        tx.commit().await?;
        return Ok(Ok(cancelled));
    }
    Ok(Err("Während der Absage wurden an diesem Tag laufend Termine gebucht oder der Kalender geändert. Bitte \
            versuchen Sie es noch einmal."
        .into()))
}

/// How often [`cancel_day`] starts again when bookings or the calendar change
/// while it prepares the messages.
const DAY_ATTEMPTS: usize = 3;

/// Why staff cannot cancel a booking (any more), if so.
fn why_not(row: &AppointmentRow, now_ms: i64) -> Option<&'static str> {
    match AppointmentStatus::parse(&row.status).unwrap_or(AppointmentStatus::Expired) {
        AppointmentStatus::Cancelled => Some("Dieser Termin ist bereits abgesagt."),
        AppointmentStatus::Expired => Some("Diese Reservierung ist verfallen; der Termin ist wieder frei."),
        AppointmentStatus::Attended | AppointmentStatus::Missed => {
            Some("Dieser Termin ist schon vorbei und als wahrgenommen oder nicht erschienen markiert.")
        }
        _ if row.starts_at <= now_ms => Some(
            "Dieser Termin hat bereits begonnen. Markieren Sie ihn bitte als „wahrgenommen“ oder „nicht erschienen“.",
        ),
        _ => None,
    }
}

fn check_message(message: &str, required: bool) -> Result<(), String> {
    let m = message.trim();
    if required && m.is_empty() {
        return Err("Bitte schreiben Sie eine Nachricht an die Betroffenen, zum Beispiel den Grund der Absage und \
                    wie sie einen neuen Termin bekommen."
            .into());
    }
    if m.chars().count() > MAX_MESSAGE.min(MAX_MESSAGE_CHARS) {
        return Err(format!("Die Nachricht darf höchstens {} Zeichen lang sein.", MAX_MESSAGE.min(MAX_MESSAGE_CHARS)));
    }
    if m.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err("Die Nachricht enthält unzulässige Steuerzeichen.".into());
    }
    Ok(())
}

/// The e-mail (when the booking has an address; none for a hold, which has no
/// contact yet) and the Postfach message (when it came from an account).
async fn notice(
    portal: &Portal,
    v: &AppointmentView,
    rules: &BookingRules,
    message: &str,
) -> Result<Result<Notice, String>> {
    let email =
        if v.status == AppointmentStatus::Held { None } else { mail::cancellation(portal, v, rules, Some(message)) };
    let postfach = match v.citizen_id {
        Some(citizen_id) if v.status != AppointmentStatus::Held => {
            let d = Delivery {
                citizen_id,
                authority_id: v.authority_id,
                sender: sender(v),
                subject: format!("Ihr Termin am {} ist abgesagt", v.start.strftime("%d.%m.%Y")),
                body: postfach_body(v, message),
                attachments: Vec::new(),
            };
            match postfach::prepare(portal, &d).await {
                Ok(p) => Some(p),
                // The account was deleted meanwhile: the e-mail still goes out.
                Err(DeliveryError::UnknownCitizen) => None,
                Err(DeliveryError::Invalid(m)) => return Ok(Err(m)),
                Err(DeliveryError::Portal(e)) => return Err(e),
            }
        }
        _ => None,
    };
    Ok(Ok(Notice { email, postfach }))
}

fn sender(v: &AppointmentView) -> String {
    if v.authority_title.is_empty() {
        v.location.name.clone()
    } else {
        format!("{}, {}", v.authority_title, v.location.name)
    }
}

fn postfach_body(v: &AppointmentView, message: &str) -> String {
    let mut body =
        format!("Ihr Termin am {} ({}, Buchungsnummer {}) ist abgesagt.", v.when_de(), v.address(), v.reference);
    let m = message.trim();
    if !m.is_empty() {
        body.push_str("\n\n");
        body.push_str(m);
    }
    body.push_str("\n\nEinen neuen Termin können Sie jederzeit online vereinbaren.");
    body
}

async fn send(portal: &Portal, tx: &mut amtsweg_store::Tx, n: Notice) -> Result<()> {
    if let Some(m) = &n.email {
        tx.enqueue_email(m).await?;
    }
    if let Some(p) = &n.postfach {
        postfach::write(tx, p, None, portal.settings.base_url()).await.map_err(|e| match e {
            DeliveryError::Portal(e) => e,
            other => PortalError::Internal(other.to_string()),
        })?;
    }
    Ok(())
}
