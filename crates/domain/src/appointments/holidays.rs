//! Public holidays of Lower Saxony (Niedersachsen), on which no appointments are given.
//!
//! Hand-written rather than a crate: the holiday crates on crates.io are either
//! chrono-based (the code base uses jiff) or barely maintained, and the whole rule is
//! nine dates, four of them tied to Easter (Gauss/Meeus computus below).

use jiff::ToSpan;
use jiff::civil::{Date, date};

/// Easter Sunday of the Gregorian calendar (anonymous Gregorian algorithm, Meeus/Jones/Butcher).
#[must_use]
pub fn easter_sunday(year: i16) -> Date {
    let y = i32::from(year);
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    // month is 3 or 4 and day 1..=31 by construction.
    date(year, i8::try_from(month).unwrap_or(4), i8::try_from(day).unwrap_or(1))
}

fn shifted(d: Date, days: i32) -> Date {
    d.checked_add(days.days()).unwrap_or(d)
}

/// The name of the public holiday in Lower Saxony on `d`, if it is one.
#[must_use]
pub fn is_public_holiday_ni(d: Date) -> Option<&'static str> {
    let fixed = match (d.month(), d.day()) {
        (1, 1) => Some("Neujahr"),
        (5, 1) => Some("Tag der Arbeit"),
        (10, 3) => Some("Tag der Deutschen Einheit"),
        // A permanent public holiday in Lower Saxony since 2018.
        (10, 31) if d.year() >= 2018 => Some("Reformationstag"),
        (12, 25) => Some("1. Weihnachtstag"),
        (12, 26) => Some("2. Weihnachtstag"),
        _ => None,
    };
    if fixed.is_some() {
        return fixed;
    }
    let easter = easter_sunday(d.year());
    [(-2, "Karfreitag"), (1, "Ostermontag"), (39, "Christi Himmelfahrt"), (50, "Pfingstmontag")]
        .into_iter()
        .find(|(offset, _)| shifted(easter, *offset) == d)
        .map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn easter_dates_match_the_almanac() {
        assert_eq!(easter_sunday(2024), date(2024, 3, 31));
        assert_eq!(easter_sunday(2025), date(2025, 4, 20));
        assert_eq!(easter_sunday(2026), date(2026, 4, 5));
        assert_eq!(easter_sunday(2027), date(2027, 3, 28));
        assert_eq!(easter_sunday(2038), date(2038, 4, 25));
    }

    #[test]
    fn holidays_2026_in_lower_saxony() {
        let expected = [
            (date(2026, 1, 1), "Neujahr"),
            (date(2026, 4, 3), "Karfreitag"),
            (date(2026, 4, 6), "Ostermontag"),
            (date(2026, 5, 1), "Tag der Arbeit"),
            (date(2026, 5, 14), "Christi Himmelfahrt"),
            (date(2026, 5, 25), "Pfingstmontag"),
            (date(2026, 10, 3), "Tag der Deutschen Einheit"),
            (date(2026, 10, 31), "Reformationstag"),
            (date(2026, 12, 25), "1. Weihnachtstag"),
            (date(2026, 12, 26), "2. Weihnachtstag"),
        ];
        for (d, name) in expected {
            assert_eq!(is_public_holiday_ni(d), Some(name), "{d}");
        }
        // Exactly these ten days in the whole year: no Fronleichnam, no Heilige Drei Könige.
        let mut day = date(2026, 1, 1);
        let mut count = 0;
        while day.year() == 2026 {
            count += usize::from(is_public_holiday_ni(day).is_some());
            day = shifted(day, 1);
        }
        assert_eq!(count, 10);
        assert_eq!(is_public_holiday_ni(date(2026, 6, 4)), None, "Fronleichnam is no holiday in Lower Saxony");
    }

    #[test]
    fn holidays_2027_follow_an_early_easter() {
        assert_eq!(is_public_holiday_ni(date(2027, 3, 26)), Some("Karfreitag"));
        assert_eq!(is_public_holiday_ni(date(2027, 3, 29)), Some("Ostermontag"));
        assert_eq!(is_public_holiday_ni(date(2027, 5, 6)), Some("Christi Himmelfahrt"));
        assert_eq!(is_public_holiday_ni(date(2027, 5, 17)), Some("Pfingstmontag"));
        assert_eq!(is_public_holiday_ni(date(2027, 3, 25)), None);
    }
}
