//! Whether the bookings a calendar carries still fit it after a change.
//!
//! A booking owns unit rows keyed by (unit start, counter) on the grid of the
//! calendar it was made in. If the grid moved (another slot length, hours that
//! start elsewhere) or its counter went away, the primary key of the units no longer
//! keeps new bookings off its minutes; if its day was closed or blocked, it stands
//! on a day nobody works. So a change that leaves a booking outside is refused, and
//! staff cancel the booking (or the day) first, which tells the citizen.

use super::super::view::{BookedService, booked_services};
use amtsweg_domain::appointments::time::{exists, from_ms};
use amtsweg_domain::appointments::{Calendar, slots};
use amtsweg_domain::opening_hours::OpeningHours;
use amtsweg_store::appointments::AppointmentRow;
use jiff::civil::DateTime;

/// At most this many bookings are named in the message; the rest are counted.
const NAMED: usize = 10;

/// One booking that the changed calendar would leave outside, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Misfit {
    pub reference: String,
    pub start: DateTime,
    /// Held or waiting for its e-mail confirmation (citizens cannot be told yet).
    pub in_progress: bool,
    pub hold_until: Option<i64>,
    pub why: &'static str,
}

/// The bookings that fit `old` but not `new`. A booking that did not fit before
/// (e.g. the location's opening hours changed since) is not this change's doing
/// and does not block it.
pub(super) fn misfits(
    old: &Calendar,
    new: &Calendar,
    opening: &OpeningHours,
    bookings: &[AppointmentRow],
) -> Vec<Misfit> {
    let mut out: Vec<Misfit> = bookings
        .iter()
        .filter(|b| why_outside(old, old, opening, b).is_none())
        .filter_map(|b| {
            why_outside(old, new, opening, b).map(|why| Misfit {
                reference: b.reference.clone(),
                start: from_ms(b.starts_at),
                in_progress: b.status == "held",
                hold_until: b.hold_until,
                why,
            })
        })
        .collect();
    out.sort_by(|a, b| (a.start, &a.reference).cmp(&(b.start, &b.reference)));
    out
}

/// Why `b` (made in `old`) has no place in `new`, if so.
fn why_outside(old: &Calendar, new: &Calendar, opening: &OpeningHours, b: &AppointmentRow) -> Option<&'static str> {
    if !new.active {
        return Some("der Kalender wäre abgeschaltet");
    }
    if new.slot_minutes != old.slot_minutes || new.slot_minutes == 0 {
        return Some("die Taktung würde sich ändern");
    }
    if b.counter >= i64::from(new.counters) {
        return Some("sein Schalter fiele weg");
    }
    let start = from_ms(b.starts_at);
    let end = from_ms(b.ends_at);
    let date = start.date();
    if slots::closed_reason(new, opening, date).is_some() {
        return Some("sein Tag wäre geschlossen");
    }
    if !on_grid(new, opening, start, end) {
        return Some("er läge außerhalb der Terminzeiten");
    }
    if slots::blocked_at(new, start, end) {
        return Some("er fiele in einen gesperrten Zeitraum");
    }
    let services: Vec<BookedService> = booked_services(b);
    if services.iter().any(|s| new.service(&s.leika).is_none()) {
        return Some("seine Leistung würde hier nicht mehr angeboten");
    }
    None
}

/// Whether `[start, end)` begins on the calendar's grid inside one interval of its
/// hours on that day and ends in the same interval.
fn on_grid(cal: &Calendar, opening: &OpeningHours, start: DateTime, end: DateTime) -> bool {
    if end.date() != start.date() || end <= start || !exists(start) {
        return false;
    }
    let slot = i64::from(cal.slot_minutes);
    let m = minute_of_day(start);
    let e = minute_of_day(end);
    slots::hours_on(cal, opening, start.date()).iter().any(|iv| {
        let from = i64::from(iv.from);
        m >= from && (m - from) % slot == 0 && e <= i64::from(iv.to)
    })
}

fn minute_of_day(dt: DateTime) -> i64 {
    i64::from(dt.hour()) * 60 + i64::from(dt.minute())
}

/// The German messages for the calendar form: how many bookings, up to [`NAMED`]
/// of them with date, time and reason, and what staff can do.
pub(super) fn messages(misfits: &[Misfit]) -> Vec<String> {
    let (waiting, standing): (Vec<&Misfit>, Vec<&Misfit>) = misfits.iter().partition(|m| m.in_progress);
    let mut out = Vec::new();
    if !standing.is_empty() {
        out.push(match standing.len() {
            1 => "Die Änderung passt nicht zu 1 gebuchten Termin. Er würde sonst doppelt vergeben oder stünde auf \
                  einem Tag, an dem niemand arbeitet:"
                .to_owned(),
            n => format!(
                "Die Änderung passt nicht zu {n} gebuchten Terminen. Sie würden sonst doppelt vergeben oder stünden \
                 auf einem Tag, an dem niemand arbeitet:"
            ),
        });
        for m in standing.iter().take(NAMED) {
            out.push(format!(
                "Buchungsnummer {} am {} um {} Uhr: {}.",
                m.reference,
                m.start.strftime("%d.%m.%Y"),
                m.start.strftime("%H:%M"),
                m.why
            ));
        }
        if standing.len() > NAMED {
            out.push(format!("… und {} weitere.", standing.len() - NAMED));
        }
        out.push(
            "Bitte sagen Sie diese Termine zuerst ab – einzeln in der Tagesliste oder mit „Tag absagen“; die \
             Betroffenen werden dabei benachrichtigt. Speichern Sie den Kalender danach erneut."
                .to_owned(),
        );
    }
    if !waiting.is_empty() {
        let until = waiting.iter().filter_map(|m| m.hold_until).max().map(crate::time::berlin_time);
        let who = match waiting.len() {
            1 => "reserviert 1 Person".to_owned(),
            n => format!("reservieren {n} Personen"),
        };
        out.push(format!(
            "Gerade {who} eine Uhrzeit, die nach der Änderung nicht mehr passen würde{}. Bitte speichern Sie den \
             Kalender danach erneut.",
            until.map(|u| format!(" (Reservierung bis spätestens {u} Uhr)")).unwrap_or_default()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use amtsweg_domain::appointments::time::to_ms;
    use amtsweg_domain::appointments::{BlockedPeriod, CalendarService};
    use amtsweg_domain::opening_hours::Interval;
    use jiff::civil::date;

    fn cal() -> Calendar {
        let day = vec![Interval { from: 8 * 60, to: 12 * 60 }];
        Calendar {
            active: true,
            slot_minutes: 10,
            counters: 2,
            hours: Some(std::array::from_fn(|_| day.clone())),
            holidays: false,
            earliest_days: 0,
            latest_days: 60,
            services: vec![CalendarService {
                leika: "99102013000000".into(),
                minutes: 20,
                extra_person_minutes: 0,
                max_persons: 1,
            }],
            ..Calendar::default()
        }
    }

    fn booking(h: i8, m: i8, minutes: i64, counter: i64, status: &str) -> AppointmentRow {
        let start = date(2030, 3, 12).at(h, m, 0, 0);
        AppointmentRow {
            id: 1,
            authority_id: 1,
            calendar_id: 1,
            location_id: 1,
            reference: "T-AAAA-BBBB".into(),
            status: status.into(),
            starts_at: to_ms(start),
            ends_at: to_ms(start) + minutes * 60_000,
            counter,
            units: minutes / 10,
            services: r#"[{"leika":"99102013000000","persons":1}]"#.into(),
            persons: 1,
            manage_hash: String::new(),
            confirm_hash: None,
            hold_until: None,
            citizen_id: None,
            receipt_number: None,
            replaces_id: None,
            contact_hash: String::new(),
            personal: String::new(),
            booked_by: "citizen".into(),
            client_key: String::new(),
            remind_at: None,
            reminded_at: None,
            purge_at: None,
            purged_at: None,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn why(new: &Calendar, b: &AppointmentRow) -> Option<&'static str> {
        misfits(&cal(), new, &OpeningHours::default(), std::slice::from_ref(b)).first().map(|m| m.why)
    }

    #[test]
    fn an_unchanged_calendar_carries_its_bookings() {
        assert_eq!(why(&cal(), &booking(8, 10, 20, 1, "confirmed")), None);
    }

    #[test]
    fn a_new_slot_length_or_a_shifted_grid_is_refused() {
        let mut new = cal();
        new.slot_minutes = 15;
        assert_eq!(why(&new, &booking(8, 30, 20, 0, "confirmed")), Some("die Taktung würde sich ändern"));
        let mut new = cal();
        new.hours = Some(std::array::from_fn(|_| vec![Interval { from: 8 * 60 + 5, to: 12 * 60 }]));
        assert_eq!(why(&new, &booking(8, 10, 20, 0, "confirmed")), Some("er läge außerhalb der Terminzeiten"));
        // Shorter hours that still hold the booking are fine.
        new.hours = Some(std::array::from_fn(|_| vec![Interval { from: 8 * 60, to: 8 * 60 + 30 }]));
        assert_eq!(why(&new, &booking(8, 10, 20, 0, "confirmed")), None);
        assert_eq!(why(&new, &booking(8, 20, 20, 0, "confirmed")), Some("er läge außerhalb der Terminzeiten"));
    }

    #[test]
    fn fewer_counters_closed_days_blocks_services_and_switching_off_are_refused() {
        let b = booking(9, 0, 20, 1, "confirmed");
        let mut new = cal();
        new.counters = 1;
        assert_eq!(why(&new, &b), Some("sein Schalter fiele weg"));
        assert_eq!(why(&new, &booking(9, 0, 20, 0, "confirmed")), None);
        let mut new = cal();
        new.closed_days = vec![date(2030, 3, 12)];
        assert_eq!(why(&new, &b), Some("sein Tag wäre geschlossen"));
        let mut new = cal();
        new.blocked = vec![BlockedPeriod {
            from: date(2030, 3, 12).at(9, 10, 0, 0),
            to: date(2030, 3, 12).at(10, 0, 0, 0),
            reason: "Schulung".into(),
        }];
        assert_eq!(why(&new, &b), Some("er fiele in einen gesperrten Zeitraum"));
        let mut new = cal();
        new.services.clear();
        assert_eq!(why(&new, &b), Some("seine Leistung würde hier nicht mehr angeboten"));
        let mut new = cal();
        new.active = false;
        assert_eq!(why(&new, &b), Some("der Kalender wäre abgeschaltet"));
    }

    #[test]
    fn a_booking_outside_already_does_not_block_the_change() {
        let mut old = cal();
        old.closed_days = vec![date(2030, 3, 12)];
        let b = booking(9, 0, 20, 0, "confirmed");
        assert!(misfits(&old, &old, &OpeningHours::default(), &[b]).is_empty());
    }

    #[test]
    fn the_message_names_ten_and_counts_the_rest() {
        let mut new = cal();
        new.slot_minutes = 15;
        let bookings: Vec<AppointmentRow> = (0..12)
            .map(|i| {
                let mut b = booking(8, 0, 20, 0, "confirmed");
                b.reference = format!("T-AAAA-{i:04}");
                b.starts_at += i * 20 * 60_000;
                b.ends_at += i * 20 * 60_000;
                b
            })
            .collect();
        let mut held = booking(11, 0, 20, 1, "held");
        held.hold_until = Some(to_ms(date(2030, 3, 1).at(10, 0, 0, 0)));
        let mut all = bookings;
        all.push(held);
        let m = messages(&misfits(&cal(), &new, &OpeningHours::default(), &all));
        assert!(m[0].contains("12 gebuchten Terminen"), "{m:?}");
        assert!(m[1].contains("T-AAAA-0000 am 12.03.2030 um 08:00 Uhr"), "{m:?}");
        assert_eq!(m.iter().filter(|l| l.starts_with("Buchungsnummer")).count(), 10);
        assert!(m.iter().any(|l| l == "… und 2 weitere."), "{m:?}");
        assert!(m.iter().any(|l| l.contains("Tag absagen")), "{m:?}");
        assert!(m.last().is_some_and(|l| l.contains("Gerade reserviert 1 Person eine")), "{m:?}");
    }
}
