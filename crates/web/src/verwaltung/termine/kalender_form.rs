//! A location's calendar as a form: what was typed (strings), read into a
//! [`Calendar`] with a message per field. Appointment hours are one text field per
//! weekday ("08:00-12:00, 14:00-16:00") that starts with the location's opening
//! hours; when they are left equal to them, the calendar follows the opening hours
//! (a later change of the opening hours then applies to appointments too). Closed
//! days and blocked periods are one per line; bookable services are rows
//! (`s<i>_leika|minutes|extra|max`) with one empty row to add another.

use super::{Problem, first, number, parse_date};
use amtsweg_domain::OpeningHours;
use amtsweg_domain::appointments::{BlockedPeriod, Calendar, CalendarService};
use amtsweg_domain::opening_hours::{Interval, WEEKDAY_NAMES, fmt_minutes};
use jiff::civil::{Date, DateTime, Time};
use serde::Serialize;

pub(crate) const DAY_KEYS: [&str; 7] = ["mo", "di", "mi", "do", "fr", "sa", "so"];

/// At most this many service rows are read from a form.
const MAX_SERVICES: usize = 60;

#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct ServiceRow {
    pub leika: String,
    pub minutes: String,
    pub extra: String,
    pub max: String,
}

impl ServiceRow {
    fn is_blank(&self) -> bool {
        self.leika.trim().is_empty()
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct CalendarForm {
    pub version: String,
    pub active: bool,
    pub slot_minutes: String,
    pub counters: String,
    pub earliest_days: String,
    pub latest_days: String,
    pub holidays: bool,
    /// Monday first.
    pub days: [String; 7],
    pub closed: String,
    pub blocked: String,
    pub services: Vec<ServiceRow>,
}

/// "08:00-12:00, 14:00-16:00".
fn day_text(intervals: &[Interval]) -> String {
    intervals.iter().map(|i| format!("{}-{}", fmt_minutes(i.from), fmt_minutes(i.to))).collect::<Vec<_>>().join(", ")
}

fn fmt_datetime(d: DateTime) -> String {
    format!("{} {}", d.date().strftime("%d.%m.%Y"), d.time().strftime("%H:%M"))
}

impl CalendarForm {
    /// The stored calendar (its hours, or the location's opening hours when it has
    /// none of its own).
    pub(crate) fn from_calendar(c: &Calendar, opening: &OpeningHours, version: i64) -> Self {
        let weekly = c.hours.as_ref().unwrap_or(&opening.weekly);
        Self {
            version: version.to_string(),
            active: c.active,
            slot_minutes: c.slot_minutes.to_string(),
            counters: c.counters.to_string(),
            earliest_days: c.earliest_days.to_string(),
            latest_days: c.latest_days.to_string(),
            holidays: c.holidays,
            days: std::array::from_fn(|i| day_text(&weekly[i])),
            closed: c.closed_days.iter().map(|d| d.strftime("%d.%m.%Y").to_string()).collect::<Vec<_>>().join("\n"),
            blocked: c
                .blocked
                .iter()
                .map(|b| {
                    format!("{} – {} {}", fmt_datetime(b.from), fmt_datetime(b.to), b.reason).trim_end().to_owned()
                })
                .collect::<Vec<_>>()
                .join("\n"),
            services: c
                .services
                .iter()
                .map(|s| ServiceRow {
                    leika: s.leika.clone(),
                    minutes: s.minutes.to_string(),
                    extra: s.extra_person_minutes.to_string(),
                    max: s.max_persons.to_string(),
                })
                .collect(),
        }
    }

    pub(crate) fn from_pairs(pairs: &[(String, String)]) -> Self {
        let services = (0..MAX_SERVICES)
            .filter(|i| pairs.iter().any(|(k, _)| k.starts_with(&format!("s{i}_"))))
            .map(|i| ServiceRow {
                leika: first(pairs, &format!("s{i}_leika")).to_owned(),
                minutes: first(pairs, &format!("s{i}_minutes")).to_owned(),
                extra: first(pairs, &format!("s{i}_extra")).to_owned(),
                max: first(pairs, &format!("s{i}_max")).to_owned(),
            })
            .collect();
        Self {
            version: first(pairs, "version").to_owned(),
            active: !first(pairs, "active").is_empty(),
            slot_minutes: first(pairs, "slot_minutes").to_owned(),
            counters: first(pairs, "counters").to_owned(),
            earliest_days: first(pairs, "earliest_days").to_owned(),
            latest_days: first(pairs, "latest_days").to_owned(),
            holidays: !first(pairs, "holidays").is_empty(),
            days: std::array::from_fn(|i| first(pairs, DAY_KEYS[i]).to_owned()),
            closed: first(pairs, "closed").to_owned(),
            blocked: first(pairs, "blocked").to_owned(),
            services,
        }
    }

    pub(crate) fn version(&self) -> i64 {
        self.version.trim().parse().unwrap_or(0)
    }

    /// Drops emptied service rows and adds `extra_rows` empty ones (at least one).
    pub(crate) fn for_editing(mut self, extra_rows: usize) -> Self {
        self.services.retain(|s| !s.is_blank());
        for _ in 0..extra_rows.max(1) {
            if self.services.len() < MAX_SERVICES {
                self.services.push(ServiceRow { extra: "0".into(), max: "1".into(), ..ServiceRow::default() });
            }
        }
        self
    }

    /// The calendar, or the problems in the order of the form. Hours equal to the
    /// location's opening hours are stored as "follow the opening hours".
    pub(crate) fn parse(&self, opening: &OpeningHours) -> Result<Calendar, Vec<Problem>> {
        let mut p = Vec::new();
        let defaults = Calendar::default();
        let slot_minutes = number(&mut p, "slot_minutes", "Zeitraster", &self.slot_minutes, defaults.slot_minutes);
        let counters = number(&mut p, "counters", "Anzahl der Schalter", &self.counters, defaults.counters);
        let mut weekly: [Vec<Interval>; 7] = Default::default();
        for (i, text) in self.days.iter().enumerate() {
            match OpeningHours::parse_day(text) {
                Ok(v) => weekly[i] = v,
                Err(e) => p.push(Problem::new(DAY_KEYS[i], format!("{}: {}", WEEKDAY_NAMES[i], e.0))),
            }
        }
        let hours = if weekly == opening.weekly { None } else { Some(weekly) };
        let mut closed_days = Vec::new();
        for line in self.closed.lines().map(str::trim).filter(|l| !l.is_empty()) {
            match parse_date(line) {
                Some(d) => closed_days.push(d),
                None => {
                    p.push(Problem::new("closed", format!("„{line}“ ist kein Datum (TT.MM.JJJJ oder JJJJ-MM-TT).")))
                }
            }
        }
        closed_days.sort();
        closed_days.dedup();
        let mut blocked = Vec::new();
        for line in self.blocked.lines().map(str::trim).filter(|l| !l.is_empty()) {
            match parse_blocked(line) {
                Ok(b) => blocked.push(b),
                Err(m) => p.push(Problem::new("blocked", m)),
            }
        }
        let earliest_days =
            number(&mut p, "earliest_days", "Frühester Termin", &self.earliest_days, defaults.earliest_days);
        let latest_days = number(&mut p, "latest_days", "Buchbar im Voraus", &self.latest_days, defaults.latest_days);
        let mut services = Vec::new();
        for (i, s) in self.services.iter().enumerate().filter(|(_, s)| !s.is_blank()) {
            let n = i + 1;
            let minutes = number(&mut p, &format!("s{i}_minutes"), &format!("Leistung {n}, Dauer"), &s.minutes, 0u16);
            let extra = if s.extra.trim().is_empty() {
                0
            } else {
                number(&mut p, &format!("s{i}_extra"), &format!("Leistung {n}, je weitere Person"), &s.extra, 0u16)
            };
            let max = if s.max.trim().is_empty() {
                1
            } else {
                number(&mut p, &format!("s{i}_max"), &format!("Leistung {n}, höchstens Personen"), &s.max, 1u8)
            };
            services.push(CalendarService {
                leika: s.leika.trim().to_owned(),
                minutes,
                extra_person_minutes: extra,
                max_persons: max,
            });
        }
        if !p.is_empty() {
            return Err(p);
        }
        Ok(Calendar {
            active: self.active,
            slot_minutes,
            hours,
            counters,
            closed_days,
            holidays: self.holidays,
            blocked,
            earliest_days,
            latest_days,
            services,
        })
    }
}

/// "10.01.2027 08:00 – 12.01.2027 18:00 Schulung" (or with ISO dates, `-` or `bis`
/// between); without times the period covers the whole days.
fn parse_blocked(line: &str) -> Result<BlockedPeriod, String> {
    let wrong =
        || format!("„{line}“: Bitte schreiben Sie einen Zeitraum wie „10.01.2027 08:00 – 12.01.2027 18:00 Schulung“.");
    let spaced = line.replace('–', " – ");
    let mut words = spaced.split_whitespace().peekable();
    let moment = |words: &mut std::iter::Peekable<std::str::SplitWhitespace<'_>>, end: bool| {
        let date: Date = parse_date(words.next()?)?;
        match words.peek().and_then(|w| w.parse::<Time>().ok().or_else(|| Time::strptime("%H:%M", w).ok())) {
            Some(t) => {
                words.next();
                Some(date.to_datetime(t))
            }
            None if end => date.tomorrow().ok().map(|d| d.to_datetime(Time::midnight())),
            None => Some(date.to_datetime(Time::midnight())),
        }
    };
    let from = moment(&mut words, false).ok_or_else(wrong)?;
    if !matches!(words.next(), Some("–" | "-" | "bis")) {
        return Err(wrong());
    }
    let to = moment(&mut words, true).ok_or_else(wrong)?;
    let reason = words.collect::<Vec<_>>().join(" ");
    if to <= from {
        return Err(format!("„{line}“: Das Ende liegt vor dem Beginn."));
    }
    Ok(BlockedPeriod { from, to, reason })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn opening() -> OpeningHours {
        OpeningHours::from_day_map([("mo", "08:00-12:00"), ("do", "14:00-18:00")], vec![]).unwrap()
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn blocked_periods_in_both_spellings() {
        let b = parse_blocked("2027-01-10 08:00 – 2027-01-12 18:00 Schulung im Haus").unwrap();
        assert_eq!(b.from, date(2027, 1, 10).at(8, 0, 0, 0));
        assert_eq!(b.to, date(2027, 1, 12).at(18, 0, 0, 0));
        assert_eq!(b.reason, "Schulung im Haus");
        let whole = parse_blocked("24.12.2026 bis 31.12.2026 Urlaub").unwrap();
        assert_eq!((whole.from, whole.to), (date(2026, 12, 24).at(0, 0, 0, 0), date(2027, 1, 1).at(0, 0, 0, 0)));
        let tight = parse_blocked("10.01.2027 08:00–10.01.2027 09:30").unwrap();
        assert_eq!(tight.to, date(2027, 1, 10).at(9, 30, 0, 0));
        assert!(parse_blocked("10.01.2027 18:00 - 10.01.2027 08:00 x").unwrap_err().contains("Ende liegt vor"));
        assert!(parse_blocked("morgen").is_err());
        assert!(parse_blocked("10.01.2027 08:00 11.01.2027").is_err());
    }

    #[test]
    fn hours_equal_to_the_opening_hours_follow_them() {
        let o = opening();
        let shown = CalendarForm::from_calendar(&Calendar::default(), &o, 0);
        assert_eq!(shown.days[0], "08:00-12:00");
        let mut v = vec![
            ("version", "0"),
            ("active", "ja"),
            ("slot_minutes", "10"),
            ("counters", "2"),
            ("earliest_days", "1"),
            ("latest_days", "60"),
            ("mo", "08:00-12:00"),
            ("do", "14:00-18:00"),
            ("closed", "24.12.2026\n2026-12-24\n"),
            ("blocked", ""),
            ("s0_leika", "99115001012000"),
            ("s0_minutes", "20"),
            ("s0_extra", "10"),
            ("s0_max", "4"),
            ("s1_leika", ""),
            ("s1_minutes", ""),
        ];
        let c = CalendarForm::from_pairs(&pairs(&v)).parse(&o).unwrap();
        assert!(c.active && !c.holidays);
        assert_eq!(c.hours, None);
        assert_eq!(c.closed_days.len(), 1);
        assert_eq!(c.services.len(), 1);
        assert_eq!((c.services[0].minutes, c.services[0].extra_person_minutes, c.services[0].max_persons), (20, 10, 4));
        v[6] = ("mo", "09:00-11:00");
        let own = CalendarForm::from_pairs(&pairs(&v)).parse(&o).unwrap();
        assert_eq!(own.hours.as_ref().map(|h| h[0].len()), Some(1));
        assert_eq!(CalendarForm::from_calendar(&own, &o, 2).days[0], "09:00-11:00");
    }

    #[test]
    fn problems_name_their_fields() {
        let v = [
            ("slot_minutes", "zehn"),
            ("counters", "2"),
            ("earliest_days", "1"),
            ("latest_days", "60"),
            ("di", "19:00-07:00"),
            ("closed", "32.13.2026"),
            ("blocked", "nächste Woche"),
            ("s0_leika", "99115001012000"),
            ("s0_minutes", ""),
        ];
        let p = CalendarForm::from_pairs(&pairs(&v)).parse(&opening()).unwrap_err();
        let fields: Vec<&str> = p.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["slot_minutes", "di", "closed", "blocked", "s0_minutes"]);
        assert_eq!(p[1].message, "Dienstag: In „19:00-07:00“ liegt das Ende vor dem Beginn.");
    }
}
