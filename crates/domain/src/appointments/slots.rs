//! Free times: which start times a calendar offers on a day for a booking of a given
//! length, and whether a chosen start is (still) bookable.
//!
//! A calendar is a grid of units of `slot_minutes`, starting at the beginning of each
//! appointment-hours interval. A booking takes `n` consecutive units on one counter;
//! which units are taken is the store's business, passed in as `occupied`.

use super::holidays::is_public_holiday_ni;
use super::settings::Calendar;
use super::time;
use crate::InvalidValue;
use crate::opening_hours::{Interval, OpeningHours};
use jiff::ToSpan;
use jiff::civil::{Date, DateTime};
use serde::Serialize;

/// What the citizen wants to book.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wish {
    /// LeiKa keys.
    pub services: Vec<String>,
    pub persons: u8,
    /// Added by triage answers.
    pub extra_minutes: u16,
}

/// A start time at which at least one counter is free for the whole booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FreeTime {
    pub start: DateTime,
    pub end: DateTime,
}

/// How many units the wish takes at this calendar: per service its minutes plus
/// the extra minutes for each further person, plus triage minutes, rounded up.
///
/// # Errors
/// No service chosen, no person, a service not offered here, too many persons.
pub fn duration(cal: &Calendar, wish: &Wish) -> Result<u16, InvalidValue> {
    if cal.slot_minutes == 0 {
        return Err(InvalidValue("Für diesen Standort ist kein Terminkalender eingerichtet.".to_owned()));
    }
    if wish.services.is_empty() {
        return Err(InvalidValue("Bitte wählen Sie mindestens eine Leistung aus.".to_owned()));
    }
    if wish.persons == 0 {
        return Err(InvalidValue(
            "Bitte geben Sie an, für wie viele Personen der Termin ist (mindestens 1).".to_owned(),
        ));
    }
    let mut total: u32 = u32::from(wish.extra_minutes);
    let mut seen: Vec<&str> = Vec::new();
    for leika in &wish.services {
        // The same service twice in the query string counts once.
        if seen.contains(&leika.as_str()) {
            continue;
        }
        seen.push(leika);
        let service = cal.service(leika).ok_or_else(|| {
            InvalidValue("Eine der gewählten Leistungen wird an diesem Standort nicht angeboten.".to_owned())
        })?;
        if wish.persons > service.max_persons {
            return Err(InvalidValue(if service.max_persons == 1 {
                "Für eine der gewählten Leistungen braucht jede Person einen eigenen Termin.".to_owned()
            } else {
                format!(
                    "Für eine der gewählten Leistungen können höchstens {} Personen gemeinsam einen Termin buchen.",
                    service.max_persons
                )
            }));
        }
        total += u32::from(service.minutes) + u32::from(wish.persons - 1) * u32::from(service.extra_person_minutes);
    }
    let slot = u32::from(cal.slot_minutes);
    let units = total.div_ceil(slot).max(1);
    if units * slot > 24 * 60 {
        return Err(InvalidValue(
            "Der gewünschte Termin wäre länger als ein Tag. Bitte buchen Sie mehrere Termine.".to_owned(),
        ));
    }
    u16::try_from(units).map_err(|_| InvalidValue("Der gewünschte Termin ist zu lang.".to_owned()))
}

/// Why no appointments are given on `date` at all (public holiday, closure day), if so.
#[must_use]
pub fn closed_reason(cal: &Calendar, opening: &OpeningHours, date: Date) -> Option<String> {
    if cal.holidays
        && let Some(name) = is_public_holiday_ni(date)
    {
        return Some(format!("Feiertag: {name}"));
    }
    if cal.closed_days.contains(&date) || opening.closed.contains(&date) {
        return Some("Schließtag".to_owned());
    }
    None
}

/// The appointment hours on `date`: the calendar's own or the location's opening
/// hours; none on holidays and closure days (of the calendar or the location).
#[must_use]
pub fn hours_on<'a>(cal: &'a Calendar, opening: &'a OpeningHours, date: Date) -> &'a [Interval] {
    if closed_reason(cal, opening, date).is_some() {
        return &[];
    }
    let day = usize::try_from(date.weekday().to_monday_zero_offset()).unwrap_or(0);
    match &cal.hours {
        Some(week) => &week[day],
        None => &opening.weekly[day],
    }
}

fn add_days(d: Date, days: i64) -> Date {
    d.checked_add(days.days()).unwrap_or(d)
}

fn add_minutes(dt: DateTime, minutes: i64) -> DateTime {
    dt.checked_add(minutes.minutes()).unwrap_or(dt)
}

/// The first and last bookable day as seen at `now`. The first is the
/// `earliest_days`-th working day (a day with appointment hours) after today, or today
/// for 0; the last is `latest_days` calendar days ahead. `first > last` means nothing
/// can be booked (e.g. no working day in the window).
#[must_use]
pub fn window(cal: &Calendar, opening: &OpeningHours, now: DateTime) -> (Date, Date) {
    let today = now.date();
    let last = add_days(today, i64::from(cal.latest_days));
    if cal.earliest_days == 0 {
        return (today, last);
    }
    let mut working = 0;
    let mut day = today;
    // A year and a bit is enough: a calendar with no working day in it books nothing.
    for _ in 0..400 {
        day = add_days(day, 1);
        if !hours_on(cal, opening, day).is_empty() {
            working += 1;
            if working == cal.earliest_days {
                return (day, last);
            }
        }
    }
    (add_days(last, 1), last)
}

/// The unit start times a booking of `units` starting at `start` occupies.
#[must_use]
pub fn unit_starts(cal: &Calendar, start: DateTime, units: u16) -> Vec<DateTime> {
    (0..i64::from(units)).map(|i| add_minutes(start, i * i64::from(cal.slot_minutes))).collect()
}

/// The same as milliseconds since the epoch (Berlin time), as the store keys units.
#[must_use]
pub fn unit_starts_ms(cal: &Calendar, start: DateTime, units: u16) -> Vec<i64> {
    unit_starts(cal, start, units).into_iter().map(time::to_ms).collect()
}

/// The end of a booking of `units` starting at `start`.
#[must_use]
pub fn end_of(cal: &Calendar, start: DateTime, units: u16) -> DateTime {
    add_minutes(start, i64::from(units) * i64::from(cal.slot_minutes))
}

/// Every unit start the calendar offers on `date` by its hours (ignoring the booking
/// window, `now` and occupation): without blocked periods and the spring DST gap.
/// The capacity of the day is this times `counters` (for the monthly figures).
#[must_use]
pub fn day_units(cal: &Calendar, opening: &OpeningHours, date: Date) -> Vec<DateTime> {
    let slot = i64::from(cal.slot_minutes);
    if slot == 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    for iv in hours_on(cal, opening, date) {
        let mut m = i64::from(iv.from);
        while m + slot <= i64::from(iv.to) {
            let start = add_minutes(date.at(0, 0, 0, 0), m);
            m += slot;
            if time::exists(start) && !blocked_at(cal, start, add_minutes(start, slot)) {
                out.push(start);
            }
        }
    }
    out
}

/// Whether `[start, end)` overlaps a blocked period of the calendar.
#[must_use]
pub fn blocked_at(cal: &Calendar, start: DateTime, end: DateTime) -> bool {
    cal.blocked.iter().any(|b| start < b.to && end > b.from)
}

fn minute_of_day(dt: DateTime) -> i64 {
    i64::from(dt.hour()) * 60 + i64::from(dt.minute())
}

/// The free start times on `date` for a booking of `units`: inside the appointment
/// hours, the booking window and after `now`, outside blocked periods, never in the
/// spring DST gap, and with at least one counter whose units are all free.
/// `occupied(unit start, counter)` tells whether a unit is taken.
#[must_use]
pub fn day_times(
    cal: &Calendar,
    opening: &OpeningHours,
    date: Date,
    units: u16,
    now: DateTime,
    occupied: &dyn Fn(DateTime, u16) -> bool,
) -> Vec<FreeTime> {
    let slot = i64::from(cal.slot_minutes);
    if !cal.active || units == 0 || slot == 0 || cal.counters == 0 {
        return Vec::new();
    }
    let (first, last) = window(cal, opening, now);
    if date < first || date > last {
        return Vec::new();
    }
    let length = i64::from(units) * slot;
    let mut out = Vec::new();
    for iv in hours_on(cal, opening, date) {
        let mut m = i64::from(iv.from);
        while m + length <= i64::from(iv.to) {
            let start = add_minutes(date.at(0, 0, 0, 0), m);
            m += slot;
            if start <= now {
                continue;
            }
            let end = add_minutes(start, length);
            if blocked_at(cal, start, end) {
                continue;
            }
            let units_at = unit_starts(cal, start, units);
            if !units_at.iter().all(|u| time::exists(*u)) {
                continue;
            }
            if (0..cal.counters).any(|c| units_at.iter().all(|u| !occupied(*u, c))) {
                out.push(FreeTime { start, end });
            }
        }
    }
    out
}

/// Whether a booking of `units` may start at `start` by the calendar's rules (not
/// whether a counter is free — the store decides that atomically).
///
/// # Errors
/// A German message saying why not.
pub fn is_bookable_start(
    cal: &Calendar,
    opening: &OpeningHours,
    start: DateTime,
    units: u16,
    now: DateTime,
) -> Result<(), InvalidValue> {
    let fail = |m: &str| Err(InvalidValue(m.to_owned()));
    if !cal.active || cal.slot_minutes == 0 || cal.counters == 0 {
        return fail("An diesem Standort können zurzeit keine Termine online gebucht werden.");
    }
    if units == 0 {
        return fail("Bitte wählen Sie mindestens eine Leistung aus.");
    }
    if start <= now {
        return fail("Dieser Zeitpunkt liegt in der Vergangenheit. Bitte wählen Sie eine andere Uhrzeit.");
    }
    let date = start.date();
    let (first, last) = window(cal, opening, now);
    if first > last {
        return fail("An diesem Standort sind zurzeit keine Termine frei.");
    }
    if date < first {
        return Err(InvalidValue(format!(
            "Termine können frühestens für den {} gebucht werden.",
            first.strftime("%d.%m.%Y")
        )));
    }
    if date > last {
        return Err(InvalidValue(format!(
            "Termine können höchstens bis zum {} gebucht werden.",
            last.strftime("%d.%m.%Y")
        )));
    }
    if let Some(reason) = closed_reason(cal, opening, date) {
        return Err(InvalidValue(format!(
            "Am {} werden keine Termine vergeben ({reason}).",
            date.strftime("%d.%m.%Y")
        )));
    }
    let slot = i64::from(cal.slot_minutes);
    let m = minute_of_day(start);
    let length = i64::from(units) * slot;
    let on_grid = start.second() == 0
        && start.subsec_nanosecond() == 0
        && hours_on(cal, opening, date).iter().any(|iv| {
            let from = i64::from(iv.from);
            m >= from && (m - from) % slot == 0 && m + length <= i64::from(iv.to)
        });
    if !on_grid || !unit_starts(cal, start, units).iter().all(|u| time::exists(*u)) {
        return fail(
            "Zu dieser Uhrzeit kann kein Termin dieser Länge beginnen. Bitte wählen Sie eine angebotene Uhrzeit.",
        );
    }
    if blocked_at(cal, start, add_minutes(start, length)) {
        return fail("Zu dieser Zeit werden keine Termine vergeben. Bitte wählen Sie eine andere Uhrzeit.");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
