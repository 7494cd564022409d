//! Opening hours with a weekly pattern and closure days, and the "open now" rule.

use crate::InvalidValue;
use jiff::civil::{Date, DateTime, Time, Weekday};
use serde::{Deserialize, Serialize};

/// One opening interval on a day, minutes since midnight (end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interval {
    pub from: u16,
    pub to: u16,
}

/// Weekly opening hours (Monday first) plus days on which the office is closed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpeningHours {
    pub weekly: [Vec<Interval>; 7],
    #[serde(default)]
    pub closed: Vec<Date>,
}

/// Whether a place is open at a moment, and until when or from when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenState {
    OpenUntil(Time),
    ClosedToday,
    OpensLaterToday(Time),
}

pub const WEEKDAY_NAMES: [&str; 7] = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"];

const WEEKDAY_KEYS: [&str; 7] = ["mo", "di", "mi", "do", "fr", "sa", "so"];

fn parse_hhmm(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    let h: u16 = h.parse().ok()?;
    let m: u16 = m.parse().ok()?;
    (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
}

fn minutes_to_time(m: u16) -> Time {
    let m = m.min(24 * 60 - 1);
    // Both values are in range by construction, so the fallback is unreachable.
    Time::new(i8::try_from(m / 60).unwrap_or(0), i8::try_from(m % 60).unwrap_or(0), 0, 0).unwrap_or(Time::midnight())
}

impl OpeningHours {
    /// Parses a day's ranges written like `08:00-12:30, 14:00-16:00`.
    ///
    /// # Errors
    /// When a range is malformed or ends before it starts.
    pub fn parse_day(s: &str) -> Result<Vec<Interval>, InvalidValue> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (a, b) = part
                .split_once('-')
                .or_else(|| part.split_once('–'))
                .ok_or_else(|| InvalidValue(format!("„{part}“ ist keine Zeitspanne wie 08:00-12:00.")))?;
            let (Some(from), Some(to)) = (parse_hhmm(a), parse_hhmm(b)) else {
                return Err(InvalidValue(format!("„{part}“ ist keine Zeitspanne wie 08:00-12:00.")));
            };
            if to <= from {
                return Err(InvalidValue(format!("In „{part}“ liegt das Ende vor dem Beginn.")));
            }
            out.push(Interval { from, to });
        }
        out.sort_by_key(|i| i.from);
        Ok(out)
    }

    /// Builds hours from weekday keys `mo`…`so` mapping to day ranges.
    ///
    /// # Errors
    /// When a key is unknown or a range malformed.
    pub fn from_day_map<'a>(
        days: impl IntoIterator<Item = (&'a str, &'a str)>,
        closed: Vec<Date>,
    ) -> Result<Self, InvalidValue> {
        let mut hours = Self { closed, ..Self::default() };
        for (key, ranges) in days {
            let idx = WEEKDAY_KEYS
                .iter()
                .position(|k| k.eq_ignore_ascii_case(key))
                .ok_or_else(|| InvalidValue(format!("Unbekannter Wochentag „{key}“ (mo, di, mi, do, fr, sa, so).")))?;
            hours.weekly[idx] = Self::parse_day(ranges)?;
        }
        Ok(hours)
    }

    fn day_index(d: Weekday) -> usize {
        usize::try_from(d.to_monday_zero_offset()).unwrap_or(0)
    }

    #[must_use]
    pub fn intervals_on(&self, date: Date) -> &[Interval] {
        if self.closed.contains(&date) {
            return &[];
        }
        &self.weekly[Self::day_index(date.weekday())]
    }

    /// The state at a local (Europe/Berlin) date and time.
    #[must_use]
    pub fn state_at(&self, at: DateTime) -> OpenState {
        let minute = u16::try_from(i32::from(at.hour()) * 60 + i32::from(at.minute())).unwrap_or(0);
        let today = self.intervals_on(at.date());
        if let Some(i) = today.iter().find(|i| i.from <= minute && minute < i.to) {
            return OpenState::OpenUntil(minutes_to_time(i.to));
        }
        match today.iter().find(|i| i.from > minute) {
            Some(next) => OpenState::OpensLaterToday(minutes_to_time(next.from)),
            None => OpenState::ClosedToday,
        }
    }

    /// Human-readable lines "Montag: 08:00–12:30 und 14:00–16:00" for every weekday.
    #[must_use]
    pub fn describe_week(&self) -> Vec<(&'static str, String)> {
        WEEKDAY_NAMES
            .iter()
            .zip(self.weekly.iter())
            .map(|(name, ivs)| {
                let text = if ivs.is_empty() {
                    "geschlossen".to_owned()
                } else {
                    ivs.iter()
                        .map(|i| format!("{}–{} Uhr", fmt_minutes(i.from), fmt_minutes(i.to)))
                        .collect::<Vec<_>>()
                        .join(" und ")
                };
                (*name, text)
            })
            .collect()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.weekly.iter().all(Vec::is_empty)
    }
}

#[must_use]
pub fn fmt_minutes(m: u16) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn hours() -> OpeningHours {
        OpeningHours::from_day_map(
            [("mo", "08:00-12:30"), ("di", "08:00-12:30, 14:00-18:00")],
            vec![date(2026, 12, 29)],
        )
        .unwrap()
    }

    #[test]
    fn open_now_follows_the_weekly_pattern() {
        let h = hours();
        // 2026-11-23 is a Monday.
        assert_eq!(h.state_at(date(2026, 11, 23).at(9, 0, 0, 0)), OpenState::OpenUntil(Time::constant(12, 30, 0, 0)));
        assert_eq!(h.state_at(date(2026, 11, 23).at(12, 30, 0, 0)), OpenState::ClosedToday);
        assert_eq!(
            h.state_at(date(2026, 11, 24).at(13, 0, 0, 0)),
            OpenState::OpensLaterToday(Time::constant(14, 0, 0, 0))
        );
        assert_eq!(h.state_at(date(2026, 11, 25).at(9, 0, 0, 0)), OpenState::ClosedToday);
    }

    #[test]
    fn closure_days_override_the_pattern() {
        // 2026-12-29 is a Tuesday but closed.
        assert_eq!(hours().state_at(date(2026, 12, 29).at(9, 0, 0, 0)), OpenState::ClosedToday);
    }

    #[test]
    fn bad_ranges_are_explained() {
        assert!(OpeningHours::parse_day("12:00-08:00").unwrap_err().0.contains("Ende"));
        assert!(OpeningHours::parse_day("acht bis zwölf").is_err());
        assert!(OpeningHours::from_day_map([("xx", "08:00-09:00")], vec![]).is_err());
    }

    #[test]
    fn describes_the_week_in_german() {
        let week = hours().describe_week();
        assert_eq!(week[1], ("Dienstag", "08:00–12:30 Uhr und 14:00–18:00 Uhr".to_owned()));
        assert_eq!(week[6].1, "geschlossen");
    }
}
