//! Simple figures of a location and month: bookings by outcome from the store, and
//! the free capacity computed from the calendar — every unit of the appointment
//! hours on every counter that no booking occupies (closure days, holidays and
//! blocked periods are no capacity).

use crate::appointments::view::calendar_of;
use crate::{Portal, PortalError, Result};
use amtsweg_domain::appointments::time::{exists, to_ms};
use amtsweg_domain::appointments::{Calendar, hours_on};
use amtsweg_domain::opening_hours::OpeningHours;
use amtsweg_store::now_ms;
use jiff::ToSpan;
use jiff::civil::{Date, DateTime, Time};
use serde::Serialize;
use std::collections::HashMap;

/// The figures of one calendar and month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MonthFigures {
    /// Bookings that stand or stood (confirmed, attended, missed).
    pub booked: i64,
    /// Free units (of `slot_minutes` on one counter) in the appointment hours.
    pub free: i64,
    /// All units in the appointment hours (on all counters).
    pub capacity: i64,
    /// The length of one unit, to say the figures in hours.
    pub slot_minutes: u16,
    pub cancelled: i64,
    pub missed: i64,
    pub attended: i64,
}

impl MonthFigures {
    /// The free capacity in whole hours (rounded down).
    #[must_use]
    pub fn free_hours(&self) -> i64 {
        self.free * i64::from(self.slot_minutes) / 60
    }
}

/// The figures of a calendar of the authority for `year`/`month`.
///
/// # Errors
/// `NotFound` for another authority's or an unknown calendar, or a month that does
/// not exist; store errors.
pub async fn figures(
    portal: &Portal,
    authority_id: i64,
    calendar_id: i64,
    year: i16,
    month: i8,
) -> Result<MonthFigures> {
    let (_, calendar, location) = calendar_of(portal, authority_id, calendar_id).await?.ok_or(PortalError::NotFound)?;
    let first = Date::new(year, month, 1).map_err(|_| PortalError::NotFound)?;
    let next = first.checked_add(1.month()).map_err(|_| PortalError::NotFound)?;
    let (from, to) = (to_ms(first.to_datetime(Time::midnight())), to_ms(next.to_datetime(Time::midnight())));
    let f = portal.store.appointment_figures(authority_id, calendar_id, from, to).await?;
    let mut taken: HashMap<i64, i64> = HashMap::new();
    for (start, counter) in portal.store.occupied_units(calendar_id, from, to, now_ms()).await? {
        if counter < i64::from(calendar.counters) {
            *taken.entry(start).or_default() += 1;
        }
    }
    let (capacity, free) = capacity(&calendar, &location.hours(), first, next, &taken);
    Ok(MonthFigures {
        booked: f.booked,
        free,
        capacity,
        slot_minutes: calendar.slot_minutes,
        cancelled: f.cancelled,
        missed: f.missed,
        attended: f.attended,
    })
}

/// (all units, free units) of the days `first..until`; `taken`: occupied counters
/// per unit start (ms).
fn capacity(cal: &Calendar, opening: &OpeningHours, first: Date, until: Date, taken: &HashMap<i64, i64>) -> (i64, i64) {
    let slot = i64::from(cal.slot_minutes);
    if !cal.active || slot == 0 {
        return (0, 0);
    }
    let counters = i64::from(cal.counters);
    let (mut all, mut free) = (0, 0);
    let mut day = first;
    while day < until {
        for iv in hours_on(cal, opening, day) {
            let mut m = i64::from(iv.from);
            while m + slot <= i64::from(iv.to) {
                let start = at(day, m);
                let end = at(day, m + slot);
                m += slot;
                if !exists(start) || cal.blocked.iter().any(|b| start < b.to && end > b.from) {
                    continue;
                }
                all += counters;
                free += (counters - taken.get(&to_ms(start)).copied().unwrap_or(0)).max(0);
            }
        }
        match day.tomorrow() {
            Ok(d) => day = d,
            Err(_) => break,
        }
    }
    (all, free)
}

fn at(day: Date, minute: i64) -> DateTime {
    day.to_datetime(Time::midnight())
        .checked_add(minute.minutes())
        .unwrap_or_else(|_| day.to_datetime(Time::midnight()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use amtsweg_domain::appointments::BlockedPeriod;
    use amtsweg_domain::opening_hours::Interval;
    use jiff::civil::date;

    fn calendar() -> Calendar {
        let day = vec![Interval { from: 8 * 60, to: 10 * 60 }];
        Calendar {
            active: true,
            slot_minutes: 30,
            counters: 2,
            hours: Some([day.clone(), day.clone(), day.clone(), day.clone(), day, vec![], vec![]]),
            ..Calendar::default()
        }
    }

    #[test]
    fn capacity_counts_units_on_every_counter_without_holidays_and_blocked_times() {
        let cal = calendar();
        // Week of Monday 2026-11-23: 5 days × 4 units × 2 counters.
        let (all, free) =
            capacity(&cal, &OpeningHours::default(), date(2026, 11, 23), date(2026, 11, 30), &HashMap::new());
        assert_eq!((all, free), (40, 40));
        let mut taken = HashMap::new();
        taken.insert(to_ms(date(2026, 11, 23).at(8, 0, 0, 0)), 2);
        taken.insert(to_ms(date(2026, 11, 24).at(9, 30, 0, 0)), 1);
        let (_, free) = capacity(&cal, &OpeningHours::default(), date(2026, 11, 23), date(2026, 11, 30), &taken);
        assert_eq!(free, 37);
        // Christmas Day is a holiday, 24 Dec is blocked until 09:00.
        let mut cal = calendar();
        cal.blocked.push(BlockedPeriod {
            from: date(2026, 12, 24).at(0, 0, 0, 0),
            to: date(2026, 12, 24).at(9, 0, 0, 0),
            reason: "Schulung".into(),
        });
        let (all, _) =
            capacity(&cal, &OpeningHours::default(), date(2026, 12, 24), date(2026, 12, 26), &HashMap::new());
        assert_eq!(all, 4, "two units left on the 24th, none on the 25th");
    }
}
