//! Calendar dates without a clock or time zones (the caller passes "today"), so the
//! engine runs the same in the browser.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

fn leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in(y: i32, m: u8) -> u8 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap(y) => 29,
        _ => 28,
    }
}

impl Date {
    #[must_use]
    pub fn new(year: i32, month: u8, day: u8) -> Option<Self> {
        ((1..=9999).contains(&year) && (1..=12).contains(&month) && day >= 1 && day <= days_in(year, month))
            .then_some(Self { year, month, day })
    }

    /// `TT.MM.JJJJ` (as Germans type it) or `JJJJ-MM-TT` (as browsers send it).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let num = |p: &str| p.trim().parse::<i32>().ok();
        if let Some((d, rest)) = s.split_once('.') {
            let (m, y) = rest.split_once('.')?;
            let y = num(y)?;
            if y < 1000 {
                return None;
            }
            Self::new(y, u8::try_from(num(m)?).ok()?, u8::try_from(num(d)?).ok()?)
        } else {
            let mut it = s.splitn(3, '-');
            let (y, m, d) = (num(it.next()?)?, num(it.next()?)?, num(it.next()?)?);
            Self::new(y, u8::try_from(m).ok()?, u8::try_from(d).ok()?)
        }
    }

    /// Whether `s` has the form of a date (`TT.MM.JJJJ` or `JJJJ-MM-TT`, numbers in
    /// range: day 1–31, month 1–12), whether or not that day exists: "31.02.1980"
    /// is well formed but no date, "31.2." and "heute" are not well formed.
    #[must_use]
    pub fn well_formed(s: &str) -> bool {
        let s = s.trim();
        let digits =
            |p: &str, min: usize, max: usize| (min..=max).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
        let (d, m, y) = if s.contains('.') {
            let parts: Vec<&str> = s.split('.').collect();
            let [d, m, y] = parts.as_slice() else { return false };
            (*d, *m, *y)
        } else {
            let parts: Vec<&str> = s.split('-').collect();
            let [y, m, d] = parts.as_slice() else { return false };
            (*d, *m, *y)
        };
        digits(d, 1, 2)
            && digits(m, 1, 2)
            && digits(y, 4, 4)
            && d.parse::<u8>().is_ok_and(|d| (1..=31).contains(&d))
            && m.parse::<u8>().is_ok_and(|m| (1..=12).contains(&m))
    }

    /// Days since 0000-03-01 (for differences).
    #[must_use]
    pub fn ordinal(self) -> i64 {
        let (y, m) = if self.month <= 2 {
            (i64::from(self.year) - 1, i64::from(self.month) + 12)
        } else {
            (i64::from(self.year), i64::from(self.month))
        };
        365 * y + y / 4 - y / 100 + y / 400 + (153 * (m - 3) + 2) / 5 + i64::from(self.day) - 1
    }

    /// Full years from `self` (a birth date) to `today`.
    #[must_use]
    pub fn years_until(self, today: Self) -> i32 {
        let mut age = today.year - self.year;
        if (today.month, today.day) < (self.month, self.day) {
            age -= 1;
        }
        age
    }

    #[must_use]
    pub fn german(self) -> String {
        format!("{:02}.{:02}.{:04}", self.day, self.month, self.year)
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_counts() {
        assert_eq!(Date::parse("29.02.2024"), Date::new(2024, 2, 29));
        assert_eq!(Date::parse("2023-02-29"), None);
        assert_eq!(Date::parse("31.04.2026"), None);
        assert_eq!(Date::parse("1.1.26"), None, "two-digit years are ambiguous");
        let a = Date::new(2026, 3, 1).unwrap();
        let b = Date::new(2026, 2, 28).unwrap();
        assert_eq!(a.ordinal() - b.ordinal(), 1);
        assert_eq!(Date::new(2000, 11, 24).unwrap().years_until(Date::new(2026, 11, 23).unwrap()), 25);
        assert_eq!(Date::new(2000, 11, 23).unwrap().years_until(Date::new(2026, 11, 23).unwrap()), 26);
    }
}
