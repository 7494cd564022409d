//! Civil times in Europe/Berlin ↔ the milliseconds since the epoch the store keeps.
//! Kept here so the slot rules, the store queries and the pages agree on one mapping.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use std::sync::LazyLock;

/// Europe/Berlin from jiff's bundled database (UTC only if that were missing).
#[must_use]
pub fn berlin() -> TimeZone {
    static BERLIN: LazyLock<TimeZone> = LazyLock::new(|| TimeZone::get("Europe/Berlin").unwrap_or(TimeZone::UTC));
    BERLIN.clone()
}

/// The instant of a civil Berlin time. In the autumn fold (02:00–03:00 happens
/// twice) the earlier one; times in the spring gap are never offered (see `exists`).
#[must_use]
pub fn to_ms(dt: DateTime) -> i64 {
    berlin().to_ambiguous_timestamp(dt).compatible().map_or(0, Timestamp::as_millisecond)
}

/// The civil Berlin time of an instant.
#[must_use]
pub fn from_ms(ms: i64) -> DateTime {
    Timestamp::from_millisecond(ms).map(|t| t.to_zoned(berlin()).datetime()).unwrap_or_default()
}

/// The UTC instant of a civil Berlin time (for the calendar file).
#[must_use]
pub fn to_timestamp(dt: DateTime) -> Timestamp {
    berlin().to_ambiguous_timestamp(dt).compatible().unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Whether the civil time exists in Berlin: 02:00–02:59 on the last Sunday of March
/// does not (clocks jump to 03:00), so no appointment may start or run then.
#[must_use]
pub fn exists(dt: DateTime) -> bool {
    !matches!(berlin().to_ambiguous_timestamp(dt).offset(), AmbiguousOffset::Gap { .. })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn milliseconds_round_trip_outside_the_dst_change() {
        let dt = date(2026, 11, 23).at(9, 30, 0, 0);
        assert_eq!(from_ms(to_ms(dt)), dt);
        // 09:30 in November is CET (UTC+1).
        assert_eq!(to_ms(dt), Timestamp::from_second(1_795_422_600).unwrap().as_millisecond());
    }

    #[test]
    fn the_spring_gap_does_not_exist() {
        assert!(!exists(date(2026, 3, 29).at(2, 30, 0, 0)));
        assert!(exists(date(2026, 3, 29).at(3, 0, 0, 0)));
        assert!(exists(date(2026, 10, 25).at(2, 30, 0, 0)));
    }
}
