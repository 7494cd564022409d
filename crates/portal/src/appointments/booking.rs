//! Booking a time: hold it (the database decides who gets it), then confirm it with
//! the contact data — directly, or by the link in an e-mail (double opt-in).
//!
//! The hold's token is the secret of the manage link `/termin/<token>`: only its
//! SHA-256 is stored, and the token itself only sealed with the personal data (for
//! the reminder, see `super`).

use super::journey::{Chosen, Journey, NEXT_TIMES, choose, next_free};
use super::mail;
use super::view::{
    AppointmentView, BookedService, Contact, Personal, booked_services, calendar_of, contact_hash, open_personal,
    rules_of, seal_personal, view, view_with,
};
use super::writer;
use crate::tokens::{hash_token, random_token};
use crate::{Portal, PortalError, Result};
use amtsweg_domain::appointments::time::{from_ms, to_ms};
use amtsweg_domain::appointments::{AppointmentStatus, BookingLimit, Calendar, FreeTime, reference_code, slots};
use amtsweg_domain::opening_hours::OpeningHours;
use amtsweg_store::appointments::{AppointmentRow, BookingWrite, ClientLimit, ContactLimit, NewAppointment};
use amtsweg_store::now_ms;
use jiff::civil::DateTime;

/// A client (browser, address) may hold at most this many times at once without
/// confirming them: enough for a family booking one after the other, too few to
/// block a calendar.
pub const MAX_HOLDS_PER_CLIENT: i64 = 3;

/// A client may make at most this many bookings per hour that stand (held, waiting
/// for the e-mail or confirmed): more than a family or a helper at a kiosk needs,
/// and it stops a bot that confirms every hold with a made-up e-mail address from
/// taking a whole calendar (the per-person limit counts addresses, which cost a bot
/// nothing). Staff bookings are exempt.
pub const MAX_BOOKINGS_PER_CLIENT_HOUR: i64 = 10;

/// The limits of one client, counted inside the hold's transaction.
const CLIENT_LIMIT: ClientLimit =
    ClientLimit { open: MAX_HOLDS_PER_CLIENT, recent: MAX_BOOKINGS_PER_CLIENT_HOUR, window_ms: HOUR_MS };

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// The longest name, phone number and note accepted (characters).
pub const MAX_NAME: usize = 200;
pub const MAX_PHONE: usize = 40;
pub const MAX_NOTES: usize = 1000;
const MAX_EMAIL: usize = 254;

/// A time held for the citizen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The secret of `/termin/<token>`; shown to nobody else, stored only hashed.
    pub token: String,
    /// Until then (ms) the contact data must be confirmed.
    pub hold_until: i64,
    pub reference: String,
}

/// Why no time was held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// The journey or the time is not allowed (window, hours, services, persons …).
    Invalid,
    /// Someone else got the time first (409).
    Taken,
    /// The client holds too many times already (429).
    TooManyHolds,
}

/// A hold refused, with what the citizen may choose instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub kind: RefusalKind,
    pub message: String,
    /// The next free times (same day first, then the following days).
    pub next: Vec<FreeTime>,
}

impl Refused {
    fn invalid(message: impl Into<String>) -> Self {
        Self { kind: RefusalKind::Invalid, message: message.into(), next: Vec::new() }
    }
}

/// Who holds a time, and for what.
#[derive(Debug, Clone, Copy)]
pub struct HoldBy<'a> {
    /// Counts the client's open holds (empty: not counted, for staff).
    pub client_key: &'a str,
    /// The signed-in citizen, whose account then lists the booking.
    pub citizen_id: Option<i64>,
    /// The appointment this one moves (cancelled when this one is confirmed).
    pub replaces: Option<i64>,
    /// "citizen" or "staff".
    pub booked_by: &'a str,
}

/// Holds `start` for the journey: checks the journey, the client's open holds and
/// the calendar's rules, then lets the database take the units of one free counter.
///
/// # Errors
/// Store errors; a refusal is `Ok(Err(..))`.
pub async fn hold(
    portal: &Portal,
    authority_id: i64,
    journey: &Journey,
    start: DateTime,
    client_key: &str,
    citizen_id: Option<i64>,
    replaces: Option<i64>,
) -> Result<Result<Held, Refused>> {
    hold_as(portal, authority_id, journey, start, HoldBy { client_key, citizen_id, replaces, booked_by: "citizen" })
        .await
}

/// [`hold`] with every detail of who holds.
///
/// # Errors
/// Store errors; a refusal is `Ok(Err(..))`.
pub async fn hold_as(
    portal: &Portal,
    authority_id: i64,
    journey: &Journey,
    start: DateTime,
    by: HoldBy<'_>,
) -> Result<Result<Held, Refused>> {
    let chosen = match choose(portal, authority_id, journey).await? {
        Ok(c) => c,
        Err(m) => return Ok(Err(Refused::invalid(m))),
    };
    hold_chosen(portal, authority_id, &chosen, journey, start, by).await
}

async fn hold_chosen(
    portal: &Portal,
    authority_id: i64,
    chosen: &Chosen,
    journey: &Journey,
    start: DateTime,
    by: HoldBy<'_>,
) -> Result<Result<Held, Refused>> {
    let now = crate::time::now_local();
    let now_ms = now_ms();
    let limited = !by.client_key.is_empty() && by.booked_by != "staff";
    // The client's limits are counted once, under a lock inside the hold's
    // transaction (exact when many requests come at once); only a refused hold asks
    // again, for the message. A count up front as well would cost every booking a
    // query to spare the rare refused one a turn in the writer.
    if let Err(e) = slots::is_bookable_start(&chosen.calendar, &chosen.opening, start, chosen.units, now) {
        let next = next_free(portal, chosen, start.max(now), now, NEXT_TIMES).await?;
        return Ok(Err(Refused { kind: RefusalKind::Invalid, message: e.0, next }));
    }
    if let Some(old) = by.replaces
        && !movable(portal.store.appointment(authority_id, old).await?.as_ref(), now_ms)
    {
        return Ok(Err(Refused::invalid(
            "Der Termin, den Sie verschieben möchten, ist abgesagt, verfallen oder schon vorbei und kann nicht mehr verschoben werden.",
        )));
    }
    let token = random_token();
    let hold_until = now_ms + i64::from(chosen.rules.hold_minutes.max(1)) * MINUTE_MS;
    let reference = reference_code(&rand::random::<[u8; 8]>());
    let services: Vec<BookedService> =
        journey.services.iter().map(|s| BookedService { leika: s.clone(), persons: journey.persons }).collect();
    let new = NewAppointment {
        authority_id,
        calendar_id: chosen.row.id,
        location_id: chosen.row.location_id,
        reference: reference.clone(),
        status: AppointmentStatus::Held.as_str().to_owned(),
        starts_at: to_ms(start),
        ends_at: to_ms(slots::end_of(&chosen.calendar, start, chosen.units)),
        services: serde_json::to_string(&services).map_err(|e| PortalError::Internal(e.to_string()))?,
        persons: i64::from(journey.persons),
        manage_hash: hash_token(&token),
        hold_until: Some(hold_until),
        citizen_id: by.citizen_id,
        receipt_number: journey.receipt.clone(),
        replaces_id: by.replaces,
        booked_by: by.booked_by.to_owned(),
        client_key: by.client_key.to_owned(),
    };
    let units = slots::unit_starts_ms(&chosen.calendar, start, chosen.units);
    let write = BookingWrite::Hold {
        new,
        unit_starts: units,
        counters: chosen.calendar.counters,
        now_ms,
        client_limit: limited.then_some(CLIENT_LIMIT),
        // The time was checked against this calendar; the hold's transaction
        // refuses it when staff saved another one meanwhile.
        calendar_version: chosen.row.version,
    };
    match writer::held(writer::book(portal, write).await?)? {
        Some(_) => Ok(Ok(Held { token, hold_until, reference })),
        None => {
            // Refused inside the transaction: the time was taken, the calendar was
            // changed, or this client went over its limit meanwhile (many requests
            // at once).
            if limited && let Some(refused) = client_over_limit(portal, chosen, by.client_key, now_ms).await? {
                return Ok(Err(refused));
            }
            if let Some(refused) = calendar_changed(portal, authority_id, chosen, journey, start, now).await? {
                return Ok(Err(refused));
            }
            let next = next_free(portal, chosen, start, now, NEXT_TIMES).await?;
            Ok(Err(Refused {
                kind: RefusalKind::Taken,
                message: "Dieser Termin wurde gerade vergeben. Bitte wählen Sie einen anderen – die nächsten freien Zeiten stehen unten.".into(),
                next,
            }))
        }
    }
}

/// The refusal when the calendar the time was chosen from has been saved anew
/// since: the next free times then come from the calendar as it is now (or, when
/// the journey no longer fits it, what the citizen must change).
async fn calendar_changed(
    portal: &Portal,
    authority_id: i64,
    chosen: &Chosen,
    journey: &Journey,
    start: DateTime,
    now: DateTime,
) -> Result<Option<Refused>> {
    let current = portal.store.appointment_calendar(authority_id, chosen.row.id).await?.map(|r| r.version);
    if current == Some(chosen.row.version) {
        return Ok(None);
    }
    // Saved on another node since this one loaded it: read it afresh.
    portal.appointment_settings.forget(authority_id);
    let journey = Journey { calendar: Some(chosen.row.id), ..journey.clone() };
    let now_chosen = match choose(portal, authority_id, &journey).await? {
        Ok(c) => c,
        Err(m) => return Ok(Some(Refused::invalid(m))),
    };
    let next = next_free(portal, &now_chosen, start.max(now), now, NEXT_TIMES).await?;
    Ok(Some(Refused { kind: RefusalKind::Taken, message: CALENDAR_CHANGED.into(), next }))
}

const CALENDAR_CHANGED: &str = "Die Terminzeiten dieses Standorts wurden gerade geändert, Ihre Uhrzeit ist so nicht mehr frei. Bitte wählen Sie erneut – die nächsten freien Zeiten stehen unten.";

/// The refusal when the client is over one of its limits (see [`CLIENT_LIMIT`]).
async fn client_over_limit(portal: &Portal, chosen: &Chosen, client_key: &str, now_ms: i64) -> Result<Option<Refused>> {
    let (open, recent) = portal.store.client_booking_counts(client_key, now_ms, CLIENT_LIMIT.window_ms).await?;
    let message = if open >= CLIENT_LIMIT.open {
        format!(
            "Sie haben gerade {MAX_HOLDS_PER_CLIENT} Termine reserviert, ohne sie zu bestätigen. Bitte bestätigen Sie zuerst einen davon oder warten Sie {} Minuten, bis die Reservierungen verfallen.",
            chosen.rules.hold_minutes
        )
    } else if recent >= CLIENT_LIMIT.recent {
        "Von diesem Anschluss wurden in kurzer Zeit zu viele Termine gebucht. Bitte versuchen Sie es in einer Stunde noch einmal oder rufen Sie uns an.".to_owned()
    } else {
        return Ok(None);
    };
    Ok(Some(Refused { kind: RefusalKind::TooManyHolds, message, next: Vec::new() }))
}

/// Whether an appointment can still be moved (or cancelled) by the citizen.
fn movable(row: Option<&AppointmentRow>, now_ms: i64) -> bool {
    row.is_some_and(|r| {
        matches!(
            AppointmentStatus::parse(&r.status),
            Ok(AppointmentStatus::Confirmed | AppointmentStatus::Preconfirmed)
        ) && r.starts_at > now_ms
    })
}

/// The appointment behind a manage token; `None` for an unknown or changed token.
///
/// # Errors
/// Store errors.
pub async fn by_token(portal: &Portal, token: &str) -> Result<Option<AppointmentView>> {
    match row_by_token(portal, token).await? {
        Some(row) => Ok(Some(view(portal, &row).await?)),
        None => Ok(None),
    }
}

/// The row behind a manage token.
pub(crate) async fn row_by_token(portal: &Portal, token: &str) -> Result<Option<AppointmentRow>> {
    // A token is 43 characters of base64url; anything else cannot match and is not looked up.
    if token.len() != 43 || !token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Ok(None);
    }
    Ok(portal.store.appointment_by_manage_hash(&hash_token(token)).await?)
}

/// A booking confirmed (or waiting for the e-mail confirmation).
#[derive(Debug, Clone)]
pub struct Confirmed {
    /// The citizen must still confirm by the link in the e-mail (double opt-in).
    pub needs_email: bool,
    /// The booking replaced an earlier one, which is now cancelled.
    pub moved: bool,
    pub view: AppointmentView,
}

/// Checks what a person typed for a booking. Staff booking for a caller may leave
/// the e-mail empty.
///
/// # Errors
/// A German message for the first problem.
pub fn check_contact(c: &Contact, email_required: bool) -> Result<Contact, String> {
    let clean = |s: &str| s.trim().chars().filter(|c| !c.is_control()).collect::<String>();
    let name = clean(&c.name);
    let email = clean(&c.email);
    let phone = clean(&c.phone);
    let notes: String = c.notes.trim().chars().filter(|c| !c.is_control() || *c == '\n').collect();
    if name.is_empty() {
        return Err("Bitte geben Sie Ihren Namen an.".into());
    }
    if name.chars().count() > MAX_NAME {
        return Err(format!("Der Name darf höchstens {MAX_NAME} Zeichen lang sein."));
    }
    if email.is_empty() && email_required {
        return Err("Bitte geben Sie Ihre E-Mail-Adresse an. An sie schicken wir die Bestätigung.".into());
    }
    if !email.is_empty() && !plausible_email(&email) {
        return Err("Bitte geben Sie eine gültige E-Mail-Adresse an, zum Beispiel name@beispiel.de.".into());
    }
    if phone.chars().count() > MAX_PHONE
        || !phone.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '/' | '(' | ')'))
    {
        return Err(
            "Bitte geben Sie die Telefonnummer nur mit Ziffern an (Leerzeichen, +, -, / und Klammern sind erlaubt)."
                .into(),
        );
    }
    if notes.chars().count() > MAX_NOTES {
        return Err(format!("Die Anmerkung darf höchstens {MAX_NOTES} Zeichen lang sein."));
    }
    Ok(Contact { name, email, phone, notes })
}

/// One `@`, something before it, a dot in the domain, no spaces: enough to catch
/// typing mistakes; the confirmation e-mail proves the rest.
fn plausible_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else { return false };
    s.len() <= MAX_EMAIL
        && !local.is_empty()
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || matches!(c, '<' | '>' | ',' | ';' | '"'))
}

/// Why a held time can no longer be confirmed, by its status.
fn not_confirmable(status: AppointmentStatus) -> &'static str {
    match status {
        AppointmentStatus::Held | AppointmentStatus::Expired => {
            "Die Reservierung ist abgelaufen und der Termin wurde wieder freigegeben. Bitte wählen Sie erneut eine Uhrzeit."
        }
        AppointmentStatus::Preconfirmed => {
            "Sie haben diesen Termin schon gebucht. Bitte bestätigen Sie ihn über den Link in der E-Mail, die wir Ihnen geschickt haben."
        }
        AppointmentStatus::Confirmed => "Dieser Termin ist bereits gebucht.",
        AppointmentStatus::Cancelled => "Dieser Termin ist abgesagt.",
        AppointmentStatus::Attended | AppointmentStatus::Missed => "Dieser Termin liegt in der Vergangenheit.",
    }
}

/// Confirms a held time with the contact data: seals it, checks the per-person
/// limit, and queues the confirmation e-mail (with the calendar file) or, with
/// double opt-in for anonymous bookings, the e-mail with the confirmation link — in
/// the same transaction.
///
/// # Errors
/// `NotFound` for an unknown token; store and crypto errors. What the citizen must
/// change is `Ok(Err(message))`.
pub async fn confirm(
    portal: &Portal,
    token: &str,
    contact: Contact,
    citizen_id: Option<i64>,
) -> Result<Result<Confirmed, String>> {
    confirm_as(portal, token, contact, citizen_id, false).await
}

/// [`confirm`]; `by_staff`: booked for a caller (the e-mail may be empty, no double
/// opt-in, no per-person limit).
///
/// # Errors
/// As [`confirm`].
pub async fn confirm_as(
    portal: &Portal,
    token: &str,
    contact: Contact,
    citizen_id: Option<i64>,
    by_staff: bool,
) -> Result<Result<Confirmed, String>> {
    let row = row_by_token(portal, token).await?.ok_or(PortalError::NotFound)?;
    let now_ms = now_ms();
    let status = AppointmentStatus::parse(&row.status).unwrap_or(AppointmentStatus::Expired);
    if status != AppointmentStatus::Held || row.hold_until.is_none_or(|h| h <= now_ms) {
        return Ok(Err(not_confirmable(status).into()));
    }
    let contact = match check_contact(&contact, !by_staff) {
        Ok(c) => c,
        Err(m) => return Ok(Err(m)),
    };
    if let Some(m) = no_longer_offered(portal, &row).await? {
        return Ok(Err(m));
    }
    let rules = rules_of(portal, row.authority_id).await?;
    let hash = if contact.email.is_empty() { String::new() } else { contact_hash(portal, &contact.email)? };
    let old = match row.replaces_id {
        Some(id) => portal.store.appointment(row.authority_id, id).await?,
        None => None,
    };
    // One manage link moves its booking once: a second new time held from the same
    // link (another tab) cannot be confirmed after the first move.
    if row.replaces_id.is_some()
        && !old.as_ref().is_some_and(|o| matches!(o.status.as_str(), "confirmed" | "preconfirmed"))
    {
        return Ok(Err(MOVED_ALREADY.into()));
    }
    if !by_staff && let Some(limit) = rules.limit.filter(|l| l.count > 0) {
        let span = i64::from(limit.days) * DAY_MS;
        let mut count = portal
            .store
            .count_bookings_by_contact(row.authority_id, &hash, row.starts_at - span, row.starts_at + span)
            .await?;
        // The booking being moved is given up when this one is confirmed.
        if old.as_ref().is_some_and(|o| {
            o.contact_hash == hash
                && matches!(o.status.as_str(), "confirmed" | "preconfirmed")
                && (o.starts_at - row.starts_at).abs() < span
        }) {
            count -= 1;
        }
        if count >= i64::from(limit.count) {
            return Ok(Err(limit_message(count, limit)));
        }
    }
    // Counted again inside the confirmation's transaction, where it holds when two
    // confirmations with one address come at the same moment.
    let contact_limit = rules.limit.filter(|l| l.count > 0 && !by_staff).map(|l| {
        let span = i64::from(l.days) * DAY_MS;
        ContactLimit { count: i64::from(l.count), from_ms: row.starts_at - span, to_ms: row.starts_at + span }
    });
    // Moving a confirmed booking to the same address needs no second e-mail round:
    // the address was proven when it was first confirmed.
    let proven = old.as_ref().is_some_and(|o| o.status == "confirmed" && !hash.is_empty() && o.contact_hash == hash);
    let double_opt_in = rules.double_opt_in && !by_staff && row.citizen_id.is_none() && citizen_id.is_none() && !proven;
    let personal = seal_personal(
        portal,
        row.authority_id,
        &row.reference,
        &Personal { contact: contact.clone(), manage: token.to_owned() },
    )
    .await?;
    let purge_at = row.ends_at + i64::from(rules.retention_days) * DAY_MS;
    let (new_status, confirm_token, hold_until, remind_at) = if double_opt_in {
        let hold = now_ms + i64::from(rules.confirm_minutes.max(1)) * MINUTE_MS;
        (AppointmentStatus::Preconfirmed, Some(random_token()), Some(hold), None)
    } else {
        (AppointmentStatus::Confirmed, None, None, remind_at(&rules, row.starts_at, now_ms))
    };
    let mut shown = row.clone();
    shown.status = new_status.as_str().to_owned();
    shown.hold_until = hold_until;
    let view = view_with(portal, &shown, Some(contact)).await?;
    let moved = new_status == AppointmentStatus::Confirmed && old.is_some();
    let old_view = match old.as_ref().filter(|_| moved) {
        Some(o) => Some(super::view::view(portal, o).await?),
        None => None,
    };
    let messages = match &confirm_token {
        Some(ct) => mail::confirm_request(portal, &view, ct, &rules).into_iter().collect(),
        None => mail::confirmation(portal, &view, Some(token), &rules, old_view.as_ref()),
    };
    // The e-mails are queued in the confirmation's transaction: confirmed means sent.
    let write = BookingWrite::Confirm {
        id: row.id,
        status: new_status.as_str().to_owned(),
        personal,
        contact_hash: hash.clone(),
        confirm_hash: confirm_token.as_deref().map(hash_token),
        hold_until,
        remind_at,
        purge_at,
        now_ms,
        emails: messages,
        // Signed in since the hold: the booking goes into the account, in the
        // confirmation's transaction.
        citizen_id: citizen_id.filter(|_| row.citizen_id.is_none()),
        contact_limit,
    };
    if !writer::confirmed(writer::book(portal, write).await?)? {
        return Ok(Err(refusal_reason(portal, &row, &hash, rules.limit.filter(|_| !by_staff)).await?));
    }
    Ok(Ok(Confirmed { needs_email: double_opt_in, moved, view }))
}

fn limit_message(count: i64, limit: BookingLimit) -> String {
    format!(
        "Mit dieser E-Mail-Adresse sind schon {count} Termine gebucht. Pro Person sind höchstens {} Termine innerhalb von {} Tagen möglich. Bitte sagen Sie einen anderen Termin ab oder wählen Sie einen späteren Tag.",
        limit.count, limit.days
    )
}

/// Why the store refused a confirmation that looked fine before: the moved booking
/// was moved or cancelled meanwhile, the address went over its limit meanwhile, or
/// the hold ran out.
async fn refusal_reason(
    portal: &Portal,
    row: &AppointmentRow,
    hash: &str,
    limit: Option<BookingLimit>,
) -> Result<String> {
    if let Some(old) = row.replaces_id {
        let old = portal.store.appointment(row.authority_id, old).await?;
        if !old.is_some_and(|o| matches!(o.status.as_str(), "confirmed" | "preconfirmed")) {
            return Ok(MOVED_ALREADY.into());
        }
    }
    if let Some(limit) = limit.filter(|l| l.count > 0) {
        let span = i64::from(limit.days) * DAY_MS;
        let count = portal
            .store
            .count_bookings_by_contact(row.authority_id, hash, row.starts_at - span, row.starts_at + span)
            .await?;
        if count >= i64::from(limit.count) {
            return Ok(limit_message(count, limit));
        }
    }
    Ok(not_confirmable(AppointmentStatus::Expired).into())
}

/// Why the booked time is no longer given by the calendar as it is now, if so:
/// staff may close the day, block the time or switch the calendar off while a
/// citizen holds a time or waits for the confirmation e-mail.
///
/// # Errors
/// Store errors; a stored calendar that does not parse.
async fn no_longer_offered(portal: &Portal, row: &AppointmentRow) -> Result<Option<String>> {
    let Some((_, calendar, location)) = calendar_of(portal, row.authority_id, row.calendar_id).await? else {
        return Ok(Some(NOT_OFFERED.into()));
    };
    if !calendar.active {
        return Ok(Some(NOT_OFFERED.into()));
    }
    let (start, end) = (from_ms(row.starts_at), from_ms(row.ends_at));
    if let Some(reason) = slots::closed_reason(&calendar, &location.hours(), start.date()) {
        return Ok(Some(format!(
            "Am {} werden inzwischen keine Termine mehr vergeben ({reason}). Ihr Termin wurde daher nicht gebucht. Bitte wählen Sie einen anderen Tag.",
            start.date().strftime("%d.%m.%Y")
        )));
    }
    if slots::blocked_at(&calendar, start, end) {
        return Ok(Some("Zu dieser Zeit werden inzwischen keine Termine mehr vergeben. Ihr Termin wurde daher nicht gebucht. Bitte wählen Sie eine andere Uhrzeit.".into()));
    }
    if !fits(&calendar, &location.hours(), row) {
        return Ok(Some(TIMES_CHANGED.into()));
    }
    Ok(None)
}

/// Whether a held booking still fits the calendar as it is now, apart from the
/// booking window (a time held just before the window moved on stays bookable):
/// its counter still works, its units lie on the calendar's grid (same slot
/// length, inside the hours), and its services are still offered. A booking on a
/// counter that was taken away, or on an old grid, would not be kept apart from
/// other bookings by the units' primary key.
fn fits(calendar: &Calendar, opening: &OpeningHours, row: &AppointmentRow) -> bool {
    let Ok(units) = u16::try_from(row.units) else { return false };
    if row.counter < 0 || row.counter >= i64::from(calendar.counters) {
        return false;
    }
    if row.ends_at - row.starts_at != i64::from(units) * i64::from(calendar.slot_minutes) * MINUTE_MS {
        return false;
    }
    if booked_services(row).iter().any(|s| calendar.service(&s.leika).is_none()) {
        return false;
    }
    let start = from_ms(row.starts_at);
    // The window is left out: the first and last day as seen from the time of the hold.
    let unbounded = Calendar { earliest_days: 0, latest_days: u16::MAX, ..calendar.clone() };
    slots::is_bookable_start(&unbounded, opening, start, units, crate::time::now_local()).is_ok()
}

const TIMES_CHANGED: &str = "Die Terminzeiten dieses Standorts wurden inzwischen geändert, Ihre Uhrzeit wird so nicht mehr angeboten. Ihr Termin wurde daher nicht gebucht. Bitte wählen Sie eine andere Uhrzeit.";

const NOT_OFFERED: &str =
    "An diesem Standort werden zurzeit keine Termine online vergeben. Ihr Termin wurde daher nicht gebucht.";

const MOVED_ALREADY: &str = "Der Termin, den Sie verschieben wollten, ist inzwischen abgesagt oder schon verschoben. Bitte buchen Sie einen neuen Termin.";

/// When the reminder is due: `reminder_hours` before the start, none when that has
/// passed already or the authority sends none.
#[must_use]
pub fn remind_at(rules: &amtsweg_domain::appointments::BookingRules, starts_at: i64, now_ms: i64) -> Option<i64> {
    let at = starts_at - i64::from(rules.reminder_hours) * HOUR_MS;
    (rules.reminder_hours > 0 && at > now_ms).then_some(at)
}

/// Confirms a booking by the link from the e-mail (double opt-in). Using the link
/// again shows the booking as it is.
///
/// # Errors
/// `NotFound` for an unknown token; store errors. An expired booking is `Ok(Err(message))`.
pub async fn confirm_email(portal: &Portal, confirm_token: &str) -> Result<Result<AppointmentView, String>> {
    if confirm_token.len() != 43 {
        return Err(PortalError::NotFound);
    }
    let row =
        portal.store.appointment_by_confirm_hash(&hash_token(confirm_token)).await?.ok_or(PortalError::NotFound)?;
    let now_ms = now_ms();
    let status = AppointmentStatus::parse(&row.status).unwrap_or(AppointmentStatus::Expired);
    match status {
        AppointmentStatus::Preconfirmed if row.hold_until.is_some_and(|h| h > now_ms) => {}
        AppointmentStatus::Confirmed | AppointmentStatus::Attended | AppointmentStatus::Missed => {
            return Ok(Ok(view(portal, &row).await?));
        }
        AppointmentStatus::Cancelled => return Ok(Err("Dieser Termin ist abgesagt.".into())),
        _ => {
            return Ok(Err(
                "Die Frist für die Bestätigung ist abgelaufen und der Termin wurde wieder freigegeben. Bitte buchen Sie erneut."
                    .into(),
            ));
        }
    }
    if let Some(m) = no_longer_offered(portal, &row).await? {
        return Ok(Err(m));
    }
    let rules = rules_of(portal, row.authority_id).await?;
    let remind = remind_at(&rules, row.starts_at, now_ms);
    // Confirming without the contact data would book a time nobody is told about.
    let personal = open_personal(portal, &row)
        .await
        .ok_or_else(|| PortalError::Internal(format!("the contact data of appointment {} does not open", row.id)))?;
    let mut shown = row.clone();
    shown.status = AppointmentStatus::Confirmed.as_str().to_owned();
    shown.hold_until = None;
    let view = view_with(portal, &shown, Some(personal.contact)).await?;
    let old_view = match row.replaces_id {
        Some(id) => match portal.store.appointment(row.authority_id, id).await? {
            Some(o) => Some(super::view::view(portal, &o).await?),
            None => None,
        },
        None => None,
    };
    let token = Some(personal.manage.as_str()).filter(|t| !t.is_empty());
    let messages = mail::confirmation(portal, &view, token, &rules, old_view.as_ref());
    let write = BookingWrite::ConfirmByEmail { id: row.id, remind_at: remind, now_ms, emails: messages };
    if !writer::confirmed(writer::book(portal, write).await?)? {
        return Ok(Err("Die Frist für die Bestätigung ist abgelaufen und der Termin wurde wieder freigegeben. Bitte buchen Sie erneut.".into()));
    }
    Ok(Ok(view))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_data_is_checked_with_german_messages() {
        let ok = Contact { name: " Erika Mustermann ".into(), email: "erika@example.org".into(), ..Contact::default() };
        assert_eq!(check_contact(&ok, true).map(|c| c.name), Ok("Erika Mustermann".into()));
        let no_name = Contact { name: " ".into(), ..ok.clone() };
        assert!(check_contact(&no_name, true).is_err_and(|m| m.contains("Namen")));
        let long = Contact { name: "x".repeat(MAX_NAME + 1), ..ok.clone() };
        assert!(check_contact(&long, true).is_err_and(|m| m.contains("200")));
        for bad in ["erika", "erika@", "@example.org", "erika@example", "erika @example.org", "a@b@example.org"] {
            let c = Contact { email: bad.into(), ..ok.clone() };
            assert!(check_contact(&c, true).is_err_and(|m| m.contains("E-Mail")), "{bad}");
        }
        let no_mail = Contact { email: String::new(), ..ok.clone() };
        assert!(check_contact(&no_mail, true).is_err());
        assert!(check_contact(&no_mail, false).is_ok(), "staff may book without an address");
        let phone = Contact { phone: "05551 / 123-45".into(), ..ok.clone() };
        assert!(check_contact(&phone, true).is_ok());
        let phone = Contact { phone: "ruf mich an".into(), ..ok.clone() };
        assert!(check_contact(&phone, true).is_err_and(|m| m.contains("Telefonnummer")));
        let notes = Contact { notes: "n".repeat(MAX_NOTES + 1), ..ok };
        assert!(check_contact(&notes, true).is_err_and(|m| m.contains("1000")));
    }

    #[test]
    fn the_reminder_is_due_before_the_start_unless_that_has_passed() {
        let rules = amtsweg_domain::appointments::BookingRules { reminder_hours: 24, ..Default::default() };
        let start = 10 * DAY_MS;
        assert_eq!(remind_at(&rules, start, 0), Some(9 * DAY_MS));
        assert_eq!(remind_at(&rules, start, 9 * DAY_MS + 1), None);
        let none = amtsweg_domain::appointments::BookingRules { reminder_hours: 0, ..Default::default() };
        assert_eq!(remind_at(&none, start, 0), None);
    }
}
