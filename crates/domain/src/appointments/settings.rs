//! What staff configure: booking rules per authority and a calendar per location.
//! Stored as JSON; every field has a default so older JSON keeps loading.
//! `validate()` returns German messages for the form's error summary.

use crate::opening_hours::{Interval, WEEKDAY_NAMES, fmt_minutes};
use jiff::civil::{Date, DateTime};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Booking rules of an authority (all its locations).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BookingRules {
    /// A chosen time is held this long while the contact data is typed (2..=60).
    pub hold_minutes: u16,
    /// Anonymous bookings confirm by an e-mail link.
    pub double_opt_in: bool,
    /// An unconfirmed (preconfirmed) booking expires after this many minutes.
    pub confirm_minutes: u16,
    /// Reminder e-mail this many hours before; 0 = none.
    pub reminder_hours: u16,
    /// Personal data is deleted this many days after the appointment.
    pub retention_days: u16,
    /// At most `count` active bookings per person (e-mail) within `days`.
    pub limit: Option<BookingLimit>,
    pub triage: Vec<TriageQuestion>,
}

impl Default for BookingRules {
    fn default() -> Self {
        Self {
            hold_minutes: 10,
            double_opt_in: false,
            confirm_minutes: 60,
            reminder_hours: 24,
            retention_days: 30,
            limit: None,
            triage: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingLimit {
    pub count: u16,
    pub days: u16,
}

/// A question asked before the calendar ("Haben Sie bereits einen Antrag gestellt?").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TriageQuestion {
    /// Used in the query string (`a_<id>=<answer id>`): lower-case letters, digits, `-`, `_`.
    pub id: String,
    pub text: String,
    /// LeiKa keys the question applies to; empty: every service.
    pub leika: Vec<String>,
    pub answers: Vec<TriageAnswer>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TriageAnswer {
    pub id: String,
    pub label: String,
    pub effect: TriageEffect,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriageEffect {
    #[default]
    Nothing,
    /// The appointment takes this many minutes longer.
    AddMinutes(u16),
    /// No appointment needed: explain and link (e.g. to the online application).
    NoAppointment { message: String, link: String },
}

/// The appointment calendar of one location (Standort).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Calendar {
    pub active: bool,
    /// Length of one unit (5..=60 minutes); times start on this grid.
    pub slot_minutes: u16,
    /// Appointment hours Monday first; `None`: the location's opening hours.
    pub hours: Option<[Vec<Interval>; 7]>,
    /// Counters (Schalter) working in parallel (1..=50).
    pub counters: u16,
    pub closed_days: Vec<Date>,
    /// Honour the public holidays of Lower Saxony.
    pub holidays: bool,
    pub blocked: Vec<BlockedPeriod>,
    /// First bookable day in working days from today (0 = today, 1 = next working day).
    pub earliest_days: u16,
    /// Last bookable day in calendar days from today.
    pub latest_days: u16,
    pub services: Vec<CalendarService>,
}

impl Default for Calendar {
    fn default() -> Self {
        Self {
            active: false,
            slot_minutes: 10,
            hours: None,
            counters: 1,
            closed_days: Vec::new(),
            holidays: true,
            blocked: Vec::new(),
            earliest_days: 1,
            latest_days: 60,
            services: Vec::new(),
        }
    }
}

/// A period without appointments (training, vacation), end exclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockedPeriod {
    pub from: DateTime,
    pub to: DateTime,
    #[serde(default)]
    pub reason: String,
}

/// A service bookable at the location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarService {
    pub leika: String,
    /// Duration for the first person, a multiple of `slot_minutes`.
    pub minutes: u16,
    /// Added per additional person, a multiple of `slot_minutes` (may be 0).
    #[serde(default)]
    pub extra_person_minutes: u16,
    #[serde(default = "one")]
    pub max_persons: u8,
}

fn one() -> u8 {
    1
}

impl Default for CalendarService {
    fn default() -> Self {
        Self { leika: String::new(), minutes: 10, extra_person_minutes: 0, max_persons: 1 }
    }
}

/// Ids used in query strings must survive them unescaped.
fn is_simple_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 40
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn is_link(link: &str) -> bool {
    (link.starts_with('/') && !link.starts_with("//")) || link.starts_with("https://") || link.starts_with("http://")
}

impl BookingRules {
    /// German messages, one per problem; empty when the rules are consistent.
    #[must_use]
    pub fn validate(&self) -> Vec<String> {
        let mut errors = Vec::new();
        if !(2..=60).contains(&self.hold_minutes) {
            errors.push("Die Reservierungsdauer muss zwischen 2 und 60 Minuten liegen.".to_owned());
        }
        if self.double_opt_in && !(10..=2880).contains(&self.confirm_minutes) {
            errors.push(
                "Die Frist für die Bestätigung per E-Mail muss zwischen 10 Minuten und 48 Stunden liegen.".to_owned(),
            );
        }
        if self.reminder_hours > 168 {
            errors.push(
                "Die Erinnerung kann höchstens 168 Stunden (7 Tage) vor dem Termin verschickt werden.".to_owned(),
            );
        }
        if self.retention_days > 365 {
            errors.push("Persönliche Daten dürfen höchstens 365 Tage nach dem Termin aufbewahrt werden.".to_owned());
        }
        if let Some(limit) = self.limit {
            if limit.count == 0 || limit.count > 100 {
                errors.push("Die Höchstzahl an Terminen pro Person muss zwischen 1 und 100 liegen.".to_owned());
            }
            if limit.days == 0 || limit.days > 365 {
                errors.push(
                    "Der Zeitraum für die Höchstzahl an Terminen muss zwischen 1 und 365 Tagen liegen.".to_owned(),
                );
            }
        }
        let mut question_ids = HashSet::new();
        for (n, q) in self.triage.iter().enumerate() {
            let label = if q.text.trim().is_empty() {
                format!("Frage {}", n + 1)
            } else {
                format!("Frage „{}“", q.text.trim())
            };
            if !is_simple_id(&q.id) {
                errors.push(format!(
                    "{label}: Die Kennung darf nur Kleinbuchstaben, Ziffern, „-“ und „_“ enthalten (höchstens 40 Zeichen)."
                ));
            } else if !question_ids.insert(q.id.as_str()) {
                errors.push(format!("{label}: Die Kennung „{}“ ist doppelt vergeben.", q.id));
            }
            if q.text.trim().is_empty() {
                errors.push(format!("{label}: Bitte geben Sie den Fragetext ein."));
            }
            if q.answers.len() < 2 {
                errors.push(format!("{label}: Eine Frage braucht mindestens zwei Antworten."));
            }
            let mut answer_ids = HashSet::new();
            for a in &q.answers {
                let alabel = if a.label.trim().is_empty() {
                    "eine Antwort".to_owned()
                } else {
                    format!("Antwort „{}“", a.label.trim())
                };
                if !is_simple_id(&a.id) {
                    errors.push(format!(
                        "{label}, {alabel}: Die Kennung darf nur Kleinbuchstaben, Ziffern, „-“ und „_“ enthalten."
                    ));
                } else if !answer_ids.insert(a.id.as_str()) {
                    errors.push(format!("{label}: Die Antwortkennung „{}“ ist doppelt vergeben.", a.id));
                }
                if a.label.trim().is_empty() {
                    errors.push(format!("{label}: Jede Antwort braucht einen Text."));
                }
                match &a.effect {
                    TriageEffect::Nothing => {}
                    TriageEffect::AddMinutes(m) => {
                        if *m == 0 || *m > 240 {
                            errors.push(format!(
                                "{label}, {alabel}: Die zusätzliche Zeit muss zwischen 1 und 240 Minuten liegen."
                            ));
                        }
                    }
                    TriageEffect::NoAppointment { message, link } => {
                        if message.trim().is_empty() {
                            errors.push(format!("{label}, {alabel}: Bitte erklären Sie, warum kein Termin nötig ist."));
                        }
                        if !link.is_empty() && !is_link(link) {
                            errors.push(format!("{label}, {alabel}: Der Link muss mit „/“ oder „https://“ beginnen."));
                        }
                    }
                }
            }
        }
        errors
    }
}

impl Calendar {
    /// German messages, one per problem; empty when the calendar is consistent.
    #[must_use]
    pub fn validate(&self) -> Vec<String> {
        let mut errors = Vec::new();
        let slot_ok = (5..=60).contains(&self.slot_minutes);
        if !slot_ok {
            errors.push("Die Länge eines Zeitabschnitts muss zwischen 5 und 60 Minuten liegen.".to_owned());
        }
        if !(1..=50).contains(&self.counters) {
            errors.push("Die Zahl der Schalter muss zwischen 1 und 50 liegen.".to_owned());
        }
        if let Some(week) = &self.hours {
            for (name, day) in WEEKDAY_NAMES.iter().zip(week.iter()) {
                validate_day(name, day, &mut errors);
            }
            if self.active && week.iter().all(Vec::is_empty) {
                errors.push("Ein aktiver Kalender braucht an mindestens einem Wochentag Terminzeiten.".to_owned());
            }
        }
        for b in &self.blocked {
            if b.to <= b.from {
                errors.push(format!(
                    "Sperrzeit ab {}: Das Ende liegt nicht nach dem Beginn.",
                    b.from.strftime("%d.%m.%Y %H:%M")
                ));
            }
        }
        if self.earliest_days > self.latest_days {
            errors.push("Der früheste Buchungstag liegt nach dem spätesten.".to_owned());
        }
        if self.latest_days == 0 || self.latest_days > 366 {
            errors.push("Termine können zwischen 1 und 366 Tage im Voraus gebucht werden.".to_owned());
        }
        if self.earliest_days > 90 {
            errors.push("Der früheste Buchungstag darf höchstens 90 Werktage entfernt sein.".to_owned());
        }
        if self.active && self.services.is_empty() {
            errors.push("Ein aktiver Kalender braucht mindestens eine Leistung.".to_owned());
        }
        let mut seen = HashSet::new();
        for s in &self.services {
            let leika = s.leika.trim();
            if leika.is_empty() {
                errors.push("Bei einer Leistung fehlt der LeiKa-Schlüssel.".to_owned());
                continue;
            }
            if !seen.insert(leika) {
                errors.push(format!("Die Leistung {leika} ist doppelt eingetragen."));
            }
            if s.minutes == 0 || s.minutes > 480 {
                errors.push(format!("Leistung {leika}: Die Dauer muss zwischen 1 und 480 Minuten liegen."));
            } else if slot_ok && s.minutes % self.slot_minutes != 0 {
                errors.push(format!(
                    "Leistung {leika}: Die Dauer ({} Minuten) ist kein Vielfaches des Zeitabschnitts ({} Minuten).",
                    s.minutes, self.slot_minutes
                ));
            }
            if slot_ok && s.extra_person_minutes % self.slot_minutes != 0 {
                errors.push(format!(
                    "Leistung {leika}: Die Zeit je weitere Person ({} Minuten) ist kein Vielfaches des Zeitabschnitts ({} Minuten).",
                    s.extra_person_minutes, self.slot_minutes
                ));
            }
            if s.max_persons == 0 || s.max_persons > 10 {
                errors.push(format!("Leistung {leika}: Die Zahl der Personen muss zwischen 1 und 10 liegen."));
            }
        }
        errors
    }

    /// The booked service of this calendar, if offered.
    #[must_use]
    pub fn service(&self, leika: &str) -> Option<&CalendarService> {
        self.services.iter().find(|s| s.leika == leika)
    }
}

fn validate_day(name: &str, day: &[Interval], errors: &mut Vec<String>) {
    for iv in day {
        if iv.to > 24 * 60 || iv.from >= iv.to {
            errors.push(format!(
                "{name}: In {}–{} liegt das Ende nicht nach dem Beginn.",
                fmt_minutes(iv.from),
                fmt_minutes(iv.to)
            ));
        }
    }
    for pair in day.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if b.from < a.from {
            errors.push(format!("{name}: Die Zeiten sind nicht der Reihe nach eingetragen."));
        } else if b.from < a.to {
            errors.push(format!(
                "{name}: {}–{} überschneidet sich mit {}–{}.",
                fmt_minutes(a.from),
                fmt_minutes(a.to),
                fmt_minutes(b.from),
                fmt_minutes(b.to)
            ));
        }
    }
}

#[cfg(test)]
mod tests;
