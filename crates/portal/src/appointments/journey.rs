//! What the citizen chose on the way to a time — services, persons, triage answers,
//! location, the receipt of an application — carried in the query strings between
//! the steps (no state on the server until a time is held), and what follows from it:
//! the offered services, the triage outcome, the days of a month with free times and
//! the free times of a day.

use super::view::{calendar_of, location, rules_of, service_title};
use crate::{Portal, Result};
pub use amtsweg_domain::appointments::TriageOutcome;
use amtsweg_domain::appointments::time::to_ms;
use amtsweg_domain::appointments::{BookingRules, Calendar, FreeTime, TriageQuestion, Wish, slots};
use amtsweg_domain::opening_hours::OpeningHours;
use amtsweg_store::Location;
use amtsweg_store::appointments::CalendarRow;
use jiff::civil::{Date, DateTime};
use std::collections::HashMap;

/// More services than this in one booking are refused (the form offers checkboxes).
pub const MAX_SERVICES: usize = 10;

/// How many next free times a refused hold offers instead.
pub const NEXT_TIMES: usize = 5;

/// The citizen's choices so far. Query parameters: `leistung=<leika>` (repeatable),
/// `personen=N`, `a_<question>=<answer>`, `standort=<calendar id>`, `vorgang=<receipt>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Journey {
    /// LeiKa keys, each once, in the order chosen.
    pub services: Vec<String>,
    pub persons: u8,
    /// (question id, answer id).
    pub answers: Vec<(String, String)>,
    /// The chosen calendar (location); `None` while not chosen.
    pub calendar: Option<i64>,
    /// The receipt number of an application the booking belongs to.
    pub receipt: Option<String>,
}

impl Journey {
    /// From query parameters (unknown ones ignored, malformed values dropped, so a
    /// hand-edited address leads to a message, not an error page).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut j = Self { persons: 1, ..Self::default() };
        for (k, v) in pairs {
            let v = v.trim();
            match k {
                "leistung" if !v.is_empty() && v.len() <= 40 && !j.services.iter().any(|s| s == v) => {
                    j.services.push(v.to_owned());
                }
                "personen" => j.persons = v.parse().unwrap_or(0),
                "standort" => j.calendar = v.parse().ok(),
                "vorgang" if is_receipt_number(v) => j.receipt = Some(v.to_owned()),
                _ => {
                    if let Some(q) = k.strip_prefix("a_")
                        && !q.is_empty()
                        && !v.is_empty()
                        && q.len() <= 64
                        && v.len() <= 64
                    {
                        j.answers.retain(|(qq, _)| qq != q);
                        j.answers.push((q.to_owned(), v.to_owned()));
                    }
                }
            }
        }
        j
    }

    /// The query parameters that carry this journey to the next step (not encoded).
    #[must_use]
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self.services.iter().map(|s| ("leistung".to_owned(), s.clone())).collect();
        v.push(("personen".into(), self.persons.to_string()));
        v.extend(self.answers.iter().map(|(q, a)| (format!("a_{q}"), a.clone())));
        if let Some(c) = self.calendar {
            v.push(("standort".into(), c.to_string()));
        }
        if let Some(r) = &self.receipt {
            v.push(("vorgang".into(), r.clone()));
        }
        v
    }

    /// The answer given to a question.
    #[must_use]
    pub fn answer(&self, question: &str) -> Option<&str> {
        self.answers.iter().find(|(q, _)| q == question).map(|(_, a)| a.as_str())
    }
}

/// Receipt numbers are short codes of letters, digits and dashes.
fn is_receipt_number(s: &str) -> bool {
    !s.is_empty() && s.len() <= 40 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Told when the journey carries a receipt number no application of the authority has.
pub const RECEIPT_UNKNOWN: &str = "Zu dieser Vorgangsnummer gibt es keinen Antrag bei dieser Behörde.";

/// Whether the journey's receipt number (if any) belongs to an application of the
/// authority. The query string is the citizen's to edit: without this check any
/// string would show up to staff as a linked application.
///
/// # Errors
/// Store errors.
pub async fn receipt_known(portal: &Portal, authority_id: i64, journey: &Journey) -> Result<bool> {
    Ok(match &journey.receipt {
        Some(r) => portal.store.submission_exists(authority_id, r).await?,
        None => true,
    })
}

/// Drops a receipt number that no application of the authority has, so the journey
/// can go on without it; returns the notice to show then ([`RECEIPT_UNKNOWN`]).
///
/// # Errors
/// Store errors.
pub async fn drop_unknown_receipt(
    portal: &Portal,
    authority_id: i64,
    journey: &mut Journey,
) -> Result<Option<&'static str>> {
    if receipt_known(portal, authority_id, journey).await? {
        return Ok(None);
    }
    journey.receipt = None;
    Ok(Some(RECEIPT_UNKNOWN))
}

/// A service bookable at one or more locations of an authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferedService {
    pub leika: String,
    pub title: String,
    /// Ids of the active calendars that offer it.
    pub calendars: Vec<i64>,
}

/// The services an authority offers appointments for, by title.
///
/// # Errors
/// Store errors.
pub async fn offers(portal: &Portal, authority_id: i64) -> Result<Vec<OfferedService>> {
    let mut out: Vec<OfferedService> = Vec::new();
    for (row, cal) in active_calendars(portal, authority_id).await? {
        for s in &cal.services {
            match out.iter_mut().find(|o| o.leika == s.leika) {
                Some(o) => o.calendars.push(row.id),
                None => out.push(OfferedService {
                    leika: s.leika.clone(),
                    title: service_title(portal, authority_id, &s.leika),
                    calendars: vec![row.id],
                }),
            }
        }
    }
    out.sort_by(|a, b| a.title.cmp(&b.title));
    Ok(out)
}

/// The active calendars of an authority, parsed (one that does not parse is skipped and logged).
async fn active_calendars(portal: &Portal, authority_id: i64) -> Result<Vec<(CalendarRow, Calendar)>> {
    let settings = super::settings_cache::settings(portal, authority_id).await?;
    let mut out = Vec::new();
    for (row, parsed) in &settings.calendars {
        match parsed {
            Ok(cal) if cal.active => out.push((row.clone(), cal.clone())),
            Ok(_) => {}
            Err(e) => tracing::error!(calendar = row.id, error = %e, "calendar skipped"),
        }
    }
    Ok(out)
}

/// The locations (calendars) where all chosen services can be booked, for the
/// "Standort" step.
///
/// # Errors
/// Store errors.
pub async fn locations(portal: &Portal, authority_id: i64, journey: &Journey) -> Result<Vec<(CalendarRow, Location)>> {
    let mut out = Vec::new();
    for (row, cal) in active_calendars(portal, authority_id).await? {
        if offers_all(&cal, &journey.services) {
            let loc = location(portal, authority_id, row.location_id).await?;
            out.push((row, loc));
        }
    }
    Ok(out)
}

fn offers_all(cal: &Calendar, services: &[String]) -> bool {
    !services.is_empty() && services.iter().all(|s| cal.services.iter().any(|c| &c.leika == s))
}

/// The triage questions that apply to the chosen services, in the authority's order.
#[must_use]
pub fn questions<'a>(rules: &'a BookingRules, services: &[String]) -> Vec<&'a TriageQuestion> {
    rules.questions_for(services)
}

/// Checks the answers against the authority's questions and adds up their effects.
///
/// # Errors
/// A German message for an unknown question or answer, or a question not answered.
pub fn triage_outcome(rules: &BookingRules, journey: &Journey) -> Result<TriageOutcome, String> {
    let asked = rules.questions_for(&journey.services);
    // An answer to a question that is not asked (hand-edited, or the rules changed
    // while the citizen was on the way) means the journey must start again.
    if journey.answers.iter().any(|(q, _)| !asked.iter().any(|a| &a.id == q)) {
        return Err(
            "Die Antworten passen nicht zu den Fragen dieser Behörde. Bitte beginnen Sie die Terminbuchung neu.".into(),
        );
    }
    rules.triage(&journey.services, &journey.answers).map_err(|e| e.0)
}

/// A journey checked against the authority's calendars and rules: everything needed
/// to list and hold times.
#[derive(Debug, Clone)]
pub struct Chosen {
    pub row: CalendarRow,
    pub calendar: Calendar,
    pub location: Location,
    /// The location's opening hours (the default appointment hours), parsed once.
    pub opening: OpeningHours,
    pub rules: BookingRules,
    pub wish: Wish,
    /// Units of `calendar.slot_minutes` the booking occupies.
    pub units: u16,
}

/// Checks a journey: services chosen and offered at the chosen (or the only)
/// location, persons allowed, triage answered and not ending the journey, and the
/// receipt number (if any) one of the authority's applications.
///
/// # Errors
/// Store errors; `Ok(Err(message))` for what the citizen must change.
pub async fn choose(portal: &Portal, authority_id: i64, journey: &Journey) -> Result<Result<Chosen, String>> {
    if journey.services.is_empty() {
        return Ok(Err("Bitte wählen Sie mindestens eine Leistung aus.".into()));
    }
    if journey.services.len() > MAX_SERVICES {
        return Ok(Err(format!("Bitte wählen Sie höchstens {MAX_SERVICES} Leistungen für einen Termin.")));
    }
    if journey.persons == 0 {
        return Ok(Err("Bitte geben Sie an, für wie viele Personen der Termin ist (mindestens 1).".into()));
    }
    // Every hold goes through here, so no booking is linked to a made-up application.
    if !receipt_known(portal, authority_id, journey).await? {
        return Ok(Err(RECEIPT_UNKNOWN.into()));
    }
    let rules = rules_of(portal, authority_id).await?;
    let triage = match triage_outcome(&rules, journey) {
        Ok(t) => t,
        Err(m) => return Ok(Err(m)),
    };
    if let Some((message, _)) = triage.no_appointment {
        return Ok(Err(message));
    }
    let (row, calendar, location) = match journey.calendar {
        Some(id) => match calendar_of(portal, authority_id, id).await? {
            Some((row, cal, loc)) if cal.active => (row, cal, loc),
            _ => {
                return Ok(Err(
                    "Diesen Standort gibt es für Online-Termine nicht (mehr). Bitte wählen Sie einen anderen.".into(),
                ));
            }
        },
        None => {
            let mut fitting: Vec<(CalendarRow, Calendar)> = active_calendars(portal, authority_id)
                .await?
                .into_iter()
                .filter(|(_, c)| offers_all(c, &journey.services))
                .collect();
            match fitting.len() {
                0 => return Ok(Err(not_offered(portal, authority_id, journey).await?)),
                1 => {
                    let Some((row, cal)) = fitting.pop() else { return Ok(Err(String::new())) };
                    let loc = location(portal, authority_id, row.location_id).await?;
                    (row, cal, loc)
                }
                _ => return Ok(Err("Bitte wählen Sie einen Standort.".into())),
            }
        }
    };
    if !offers_all(&calendar, &journey.services) {
        return Ok(Err(not_offered_here(portal, authority_id, &calendar, journey, &location)));
    }
    let wish =
        Wish { services: journey.services.clone(), persons: journey.persons, extra_minutes: triage.extra_minutes };
    let units = match slots::duration(&calendar, &wish) {
        Ok(u) => u,
        Err(e) => return Ok(Err(e.0)),
    };
    let opening = location.hours();
    Ok(Ok(Chosen { row, calendar, location, opening, rules, wish, units }))
}

/// The message for services that no location of the authority offers (together).
async fn not_offered(portal: &Portal, authority_id: i64, journey: &Journey) -> Result<String> {
    let offered = offers(portal, authority_id).await?;
    Ok(match journey.services.iter().find(|s| !offered.iter().any(|o| &&o.leika == s)) {
        Some(s) => format!(
            "Für „{}“ können Sie bei dieser Behörde keinen Termin online vereinbaren.",
            service_title(portal, authority_id, s)
        ),
        None => {
            "Diese Leistungen werden an keinem Standort gemeinsam angeboten. Bitte vereinbaren Sie getrennte Termine."
                .into()
        }
    })
}

fn not_offered_here(portal: &Portal, authority_id: i64, cal: &Calendar, journey: &Journey, loc: &Location) -> String {
    let missing = journey.services.iter().find(|s| !cal.services.iter().any(|c| &&c.leika == s));
    let title = missing.map_or_else(String::new, |s| service_title(portal, authority_id, s));
    format!("„{title}“ wird am Standort {} nicht angeboten. Bitte wählen Sie einen anderen Standort.", loc.name)
}

/// The first day of a month, or `None` for a month that does not exist.
#[must_use]
pub fn first_of_month(year: i16, month: i8) -> Option<Date> {
    Date::new(year, month, 1).ok()
}

/// The days of a month inside the booking window with the number of free start
/// times (0 included, so the page can show the day as fully booked).
///
/// # Errors
/// Store errors; `Ok(Err(message))` for a journey the citizen must change.
pub async fn month(
    portal: &Portal,
    authority_id: i64,
    journey: &Journey,
    year: i16,
    month: i8,
    now: DateTime,
) -> Result<Result<Vec<(Date, usize)>, String>> {
    let chosen = match choose(portal, authority_id, journey).await? {
        Ok(c) => c,
        Err(m) => return Ok(Err(m)),
    };
    let Some(first) = first_of_month(year, month) else { return Ok(Err("Diesen Monat gibt es nicht.".into())) };
    let (from, to) = slots::window(&chosen.calendar, &chosen.opening, now);
    let last = first.last_of_month();
    let (start, end) = (first.max(from), last.min(to));
    if start > end {
        return Ok(Ok(Vec::new()));
    }
    let occupied = occupied(portal, &chosen, start, end, now).await?;
    let opening = &chosen.opening;
    let mut out = Vec::new();
    let mut d = start;
    while d <= end {
        let times = free_on(&chosen, opening, d, now, &occupied);
        out.push((d, times.len()));
        match d.tomorrow() {
            Ok(n) => d = n,
            Err(_) => break,
        }
    }
    Ok(Ok(out))
}

/// The free start times of one day (empty outside the booking window).
///
/// # Errors
/// Store errors; `Ok(Err(message))` for a journey the citizen must change.
pub async fn day(
    portal: &Portal,
    authority_id: i64,
    journey: &Journey,
    date: Date,
    now: DateTime,
) -> Result<Result<Vec<FreeTime>, String>> {
    let chosen = match choose(portal, authority_id, journey).await? {
        Ok(c) => c,
        Err(m) => return Ok(Err(m)),
    };
    Ok(Ok(day_of(portal, &chosen, date, now).await?))
}

/// [`day`] for a journey already checked.
///
/// # Errors
/// Store errors.
pub async fn day_of(portal: &Portal, chosen: &Chosen, date: Date, now: DateTime) -> Result<Vec<FreeTime>> {
    let (from, to) = slots::window(&chosen.calendar, &chosen.opening, now);
    if date < from || date > to {
        return Ok(Vec::new());
    }
    let occupied = occupied(portal, chosen, date, date, now).await?;
    Ok(free_on(chosen, &chosen.opening, date, now, &occupied))
}

/// The next free start times after `after` (the same day first, then the following
/// days of the window), at most `max`.
///
/// # Errors
/// Store errors.
pub async fn next_free(
    portal: &Portal,
    chosen: &Chosen,
    after: DateTime,
    now: DateTime,
    max: usize,
) -> Result<Vec<FreeTime>> {
    let (from, to) = slots::window(&chosen.calendar, &chosen.opening, now);
    let mut d = after.date().max(from);
    let opening = &chosen.opening;
    let mut out = Vec::new();
    // A week at a time, so a busy calendar costs one query per week, not per day.
    while d <= to && out.len() < max {
        let until = d.checked_add(jiff::Span::new().days(6)).map_or(to, |u| u.min(to));
        let occupied = occupied(portal, chosen, d, until, now).await?;
        let mut day = d;
        while day <= until && out.len() < max {
            out.extend(
                free_on(chosen, opening, day, now, &occupied)
                    .into_iter()
                    .filter(|t| t.start > after)
                    .take(max - out.len()),
            );
            match day.tomorrow() {
                Ok(n) => day = n,
                Err(_) => return Ok(out),
            }
        }
        d = day;
    }
    Ok(out)
}

/// The counters taken at each unit start (ms → bit set) on the days `from..=to`.
async fn occupied(portal: &Portal, chosen: &Chosen, from: Date, to: Date, now: DateTime) -> Result<Occupied> {
    let from_ms = to_ms(from.to_datetime(jiff::civil::Time::midnight()));
    let to = to_ms(to.tomorrow().unwrap_or(to).to_datetime(jiff::civil::Time::midnight()));
    Ok(portal.store.occupied_counters(chosen.row.id, from_ms, to, to_ms(now)).await?.into_iter().collect())
}

/// Unit start (ms) → the counters taken then, bit `n` for counter `n`.
type Occupied = HashMap<i64, u64>;

fn free_on(chosen: &Chosen, opening: &OpeningHours, date: Date, now: DateTime, occupied: &Occupied) -> Vec<FreeTime> {
    let taken = |start: DateTime, counter: u16| -> bool {
        counter < 64 && occupied.get(&to_ms(start)).is_some_and(|mask| mask & (1u64 << counter) != 0)
    };
    slots::day_times(&chosen.calendar, opening, date, chosen.units, now, &taken)
}

#[cfg(test)]
mod tests {
    use super::*;
    use amtsweg_domain::appointments::{TriageAnswer, TriageEffect, TriageQuestion};

    fn rules() -> BookingRules {
        BookingRules {
            triage: vec![TriageQuestion {
                id: "neu".into(),
                text: "Beantragen Sie den Ausweis zum ersten Mal?".into(),
                leika: vec!["99999999999999".into()],
                answers: vec![
                    TriageAnswer { id: "ja".into(), label: "Ja".into(), effect: TriageEffect::AddMinutes(10) },
                    TriageAnswer { id: "nein".into(), label: "Nein".into(), effect: TriageEffect::Nothing },
                    TriageAnswer {
                        id: "online".into(),
                        label: "Ich möchte nur eine Auskunft".into(),
                        effect: TriageEffect::NoAppointment {
                            message: "Dafür brauchen Sie keinen Termin.".into(),
                            link: "/o/x/".into(),
                        },
                    },
                ],
            }],
            ..BookingRules::default()
        }
    }

    #[test]
    fn the_journey_survives_the_query_string_and_drops_what_is_malformed() {
        let j = Journey::from_pairs([
            ("leistung", "99999999999999"),
            ("leistung", "99999999999999"),
            ("leistung", "11111111111111"),
            ("personen", "2"),
            ("a_neu", "ja"),
            ("standort", "7"),
            ("vorgang", "A-1234"),
            ("vorgang", "<script>"),
        ]);
        assert_eq!(j.services, ["99999999999999", "11111111111111"]);
        assert_eq!((j.persons, j.calendar, j.receipt.as_deref()), (2, Some(7), Some("A-1234")));
        let pairs = j.to_pairs();
        let back = Journey::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(back, j);
        assert_eq!(Journey::from_pairs([("personen", "viele")]).persons, 0, "leads to a message, not 1");
    }

    #[test]
    fn triage_adds_time_ends_the_journey_or_asks_again() {
        let r = rules();
        let mut j = Journey::from_pairs([("leistung", "99999999999999"), ("a_neu", "ja")]);
        assert_eq!(triage_outcome(&r, &j).map(|t| t.extra_minutes), Ok(10));
        j.answers = vec![("neu".into(), "online".into())];
        let t = triage_outcome(&r, &j).ok().and_then(|t| t.no_appointment);
        assert_eq!(t.map(|(m, _)| m).as_deref(), Some("Dafür brauchen Sie keinen Termin."));
        j.answers.clear();
        assert!(triage_outcome(&r, &j).is_err_and(|m| m.contains("Beantragen Sie den Ausweis")));
        j.answers = vec![("neu".into(), "vielleicht".into())];
        assert!(triage_outcome(&r, &j).is_err_and(|m| m.contains("Beantragen Sie den Ausweis")));
        j.answers = vec![("neu".into(), "ja".into()), ("erfunden".into(), "ja".into())];
        assert!(triage_outcome(&r, &j).is_err_and(|m| m.contains("passen nicht")));
        // A question for another service is not asked.
        let other = Journey::from_pairs([("leistung", "11111111111111")]);
        assert_eq!(triage_outcome(&r, &other), Ok(TriageOutcome::default()));
    }
}
