//! The demo's online appointments (issue 19): booking rules and calendars for the
//! county's vehicle registration office (Zulassungsstelle) and Moorbrück's Bürgerbüro.
//!
//! Kept apart from [`crate::seed::apply`] on purpose: tests and benchmarks seed the
//! Verbund and then set up calendars of their own, which a demo calendar on the same
//! location would collide with. `amtsweg demo` calls [`seed`] after the Verbund.
//!
//! The booking window counts from today (next working day up to some weeks ahead),
//! so the demo has free times whenever it is started, however long after the seeding.

use amtsweg_domain::OpeningHours;
use amtsweg_domain::appointments::{
    BlockedPeriod, BookingLimit, BookingRules, Calendar, CalendarService, TriageAnswer, TriageEffect, TriageQuestion,
};
use amtsweg_store::Store;
use anyhow::{Context, anyhow, bail};
use jiff::ToSpan;

/// The county and its vehicle registration office.
pub const COUNTY: &str = "landkreis-heidekamp";
pub const COUNTY_LOCATION: &str = "lk-zulassung-ort";
/// The town and its Bürgerbüro.
pub const TOWN: &str = "moorbrueck";
pub const TOWN_LOCATION: &str = "mb-buergerbuero-ort";

/// One service of a demo calendar: the service's slug in the demo Verbund (its LeiKa
/// key is read from the store) and the durations.
struct DemoService {
    slug: &'static str,
    minutes: u16,
    extra_person_minutes: u16,
    max_persons: u8,
}

const fn service(slug: &'static str, minutes: u16, extra_person_minutes: u16, max_persons: u8) -> DemoService {
    DemoService { slug, minutes, extra_person_minutes, max_persons }
}

/// Registration, re-registration and deregistration of vehicles: 15-minute units on
/// four counters; one vehicle per booking.
const COUNTY_SERVICES: [DemoService; 3] = [
    service("kfz-neuzulassung", 30, 0, 1),
    service("kfz-umschreibung", 30, 0, 1),
    service("kfz-ausserbetriebsetzung", 15, 0, 1),
];

/// Identity card, passport (a family comes together: time per extra person) and
/// the Meldebescheinigung.
const TOWN_SERVICES: [DemoService; 3] =
    [service("personalausweis", 20, 20, 4), service("reisepass", 20, 20, 4), service("meldebescheinigung", 10, 10, 3)];

/// The county's rules: double opt-in and a limit per person, because vehicle
/// registration times are what bots book away.
fn county_rules() -> BookingRules {
    BookingRules {
        hold_minutes: 10,
        double_opt_in: true,
        confirm_minutes: 60,
        reminder_hours: 24,
        retention_days: 30,
        limit: Some(BookingLimit { count: 2, days: 30 }),
        triage: Vec::new(),
    }
}

/// The town's rules with its two triage questions: the Meldebescheinigung needs no
/// visit (the online form), and a lost identity card takes longer (Verlustanzeige).
fn town_rules(leika_meldebescheinigung: &str, leika_personalausweis: &str) -> BookingRules {
    let answer =
        |id: &str, label: &str, effect: TriageEffect| TriageAnswer { id: id.into(), label: label.into(), effect };
    BookingRules {
        hold_minutes: 10,
        double_opt_in: false,
        confirm_minutes: 60,
        reminder_hours: 24,
        retention_days: 30,
        limit: Some(BookingLimit { count: 3, days: 30 }),
        triage: vec![
            TriageQuestion {
                id: "meldebescheinigung-online".into(),
                text: "Möchten Sie die Meldebescheinigung ohne Besuch im Bürgerbüro online beantragen?".into(),
                leika: vec![leika_meldebescheinigung.to_owned()],
                answers: vec![
                    answer(
                        "online",
                        "Ja, online beantragen",
                        TriageEffect::NoAppointment {
                            message:
                                "Für die Meldebescheinigung brauchen Sie keinen Termin: Beantragen Sie sie online, \
                                      wir schicken sie Ihnen per Post."
                                    .into(),
                            link: format!("/o/{TOWN}/antrag/meldebescheinigung/"),
                        },
                    ),
                    answer("termin", "Nein, ich komme lieber ins Bürgerbüro", TriageEffect::Nothing),
                ],
            },
            TriageQuestion {
                id: "ausweis-verloren".into(),
                text: "Ist Ihr bisheriger Ausweis verloren gegangen oder gestohlen worden?".into(),
                leika: vec![leika_personalausweis.to_owned()],
                answers: vec![
                    // The loss is recorded at the counter first.
                    answer("ja", "Ja", TriageEffect::AddMinutes(10)),
                    answer("nein", "Nein", TriageEffect::Nothing),
                ],
            },
        ],
    }
}

/// Appointment hours of the registration office: shorter than its opening hours,
/// because the last half hour serves those who come without an appointment.
fn county_hours() -> anyhow::Result<[Vec<amtsweg_domain::opening_hours::Interval>; 7]> {
    let day = |s: &str| OpeningHours::parse_day(s).map_err(|e| anyhow!("{s}: {e}"));
    let morning = day("07:30-11:30")?;
    Ok([morning.clone(), morning.clone(), morning.clone(), day("07:30-11:30, 14:00-17:00")?, morning, vec![], vec![]])
}

/// Sets up the demo's booking rules and calendars unless the authorities already
/// have them (a second start of the demo changes nothing). Returns whether anything
/// was written.
///
/// # Errors
/// When the demo Verbund is missing something (authority, location, service) or the
/// store fails; nothing is then written.
pub async fn seed(store: &Store) -> anyhow::Result<bool> {
    let today = amtsweg_portal::time::now_local().date();
    let county = Plan::load(store, COUNTY, COUNTY_LOCATION, &COUNTY_SERVICES).await?;
    let town = Plan::load(store, TOWN, TOWN_LOCATION, &TOWN_SERVICES).await?;
    if county.has_calendar || town.has_calendar {
        return Ok(false);
    }
    let leika = |p: &Plan, slug: &str| {
        p.services.iter().find(|(s, _)| s == slug).map(|(_, c)| c.leika.clone()).ok_or_else(|| anyhow!("{slug}"))
    };
    let county_calendar = Calendar {
        active: true,
        slot_minutes: 15,
        hours: Some(county_hours()?),
        counters: 4,
        closed_days: Vec::new(),
        holidays: true,
        blocked: Vec::new(),
        earliest_days: 1,
        latest_days: 28,
        services: county.services.iter().map(|(_, c)| c.clone()).collect(),
    };
    // A team meeting two weeks ahead blocks a morning: shows in the staff's
    // calendar form and as fewer free times on that day.
    let meeting = next_wednesday(today.checked_add(14.days())?);
    let town_calendar = Calendar {
        active: true,
        slot_minutes: 10,
        hours: None,
        counters: 3,
        closed_days: Vec::new(),
        holidays: true,
        blocked: vec![BlockedPeriod {
            from: meeting.at(8, 0, 0, 0),
            to: meeting.at(10, 0, 0, 0),
            reason: "Dienstbesprechung".into(),
        }],
        earliest_days: 1,
        latest_days: 42,
        services: town.services.iter().map(|(_, c)| c.clone()).collect(),
    };
    let town_rules = town_rules(&leika(&town, "meldebescheinigung")?, &leika(&town, "personalausweis")?);
    let plans = [(&county, county_rules(), county_calendar), (&town, town_rules, town_calendar)];
    let mut versions = Vec::new();
    for (plan, rules, calendar) in &plans {
        let problems: Vec<String> = rules.validate().into_iter().chain(calendar.validate()).collect();
        if !problems.is_empty() {
            bail!("demo appointments of {}: {}", plan.slug, problems.join(" "));
        }
        versions.push(store.appointment_rules(plan.authority_id).await?.map_or(0, |r| r.version));
    }
    let mut tx = store.begin().await?;
    for ((plan, rules, calendar), version) in plans.iter().zip(versions) {
        tx.save_appointment_rules(plan.authority_id, &serde_json::to_string(rules)?, version)
            .await?
            .ok_or_else(|| anyhow!("{}: the booking rules changed while seeding", plan.slug))?;
        tx.save_appointment_calendar(plan.authority_id, plan.location_id, &serde_json::to_string(calendar)?, 0)
            .await?
            .ok_or_else(|| anyhow!("{}: the location got a calendar while seeding", plan.slug))?;
    }
    tx.commit().await?;
    Ok(true)
}

/// What one authority's demo calendar needs from the store.
struct Plan {
    slug: &'static str,
    authority_id: i64,
    location_id: i64,
    has_calendar: bool,
    /// Service slug and the calendar's entry with its LeiKa key.
    services: Vec<(String, CalendarService)>,
}

impl Plan {
    async fn load(store: &Store, slug: &'static str, location: &str, services: &[DemoService]) -> anyhow::Result<Self> {
        let a = store.authority_by_slug(slug).await?.ok_or_else(|| anyhow!("the demo has no authority {slug}"))?;
        let location_id = store
            .locations(a.id)
            .await?
            .into_iter()
            .find(|l| l.slug == location)
            .map(|l| l.id)
            .ok_or_else(|| anyhow!("{slug} has no location {location}"))?;
        let has_calendar = store.appointment_calendars(a.id).await?.iter().any(|c| c.location_id == location_id);
        let mut out = Vec::new();
        for s in services {
            let l = store.leistung(a.id, s.slug).await?.with_context(|| format!("{slug} offers no {}", s.slug))?;
            out.push((
                s.slug.to_owned(),
                CalendarService {
                    leika: l.leika.as_str().to_owned(),
                    minutes: s.minutes,
                    extra_person_minutes: s.extra_person_minutes,
                    max_persons: s.max_persons,
                },
            ));
        }
        Ok(Self { slug, authority_id: a.id, location_id, has_calendar, services: out })
    }
}

/// The first Wednesday on or after `d`.
fn next_wednesday(d: jiff::civil::Date) -> jiff::civil::Date {
    let ahead = (3 - d.weekday().to_monday_one_offset() + 7) % 7;
    d.checked_add(i64::from(ahead).days()).unwrap_or(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{Weekday, date};

    #[test]
    fn the_rules_and_calendars_are_valid() {
        let rules = town_rules("99115003012000", "99008001012000");
        assert_eq!(rules.validate(), Vec::<String>::new());
        assert_eq!(county_rules().validate(), Vec::<String>::new());
        let county = Calendar {
            active: true,
            slot_minutes: 15,
            hours: Some(county_hours().unwrap()),
            counters: 4,
            services: COUNTY_SERVICES
                .iter()
                .map(|s| CalendarService {
                    leika: s.slug.into(),
                    minutes: s.minutes,
                    extra_person_minutes: s.extra_person_minutes,
                    max_persons: s.max_persons,
                })
                .collect(),
            ..Calendar::default()
        };
        assert_eq!(county.validate(), Vec::<String>::new());
        assert!(TOWN_SERVICES.iter().all(|s| s.minutes % 10 == 0 && s.extra_person_minutes % 10 == 0));
    }

    #[test]
    fn the_meeting_falls_on_a_wednesday() {
        for day in 1..=14 {
            let d = next_wednesday(date(2026, 12, day));
            assert_eq!(d.weekday(), Weekday::Wednesday);
            assert!(d >= date(2026, 12, day) && d < date(2026, 12, day).checked_add(7.days()).unwrap());
        }
    }
}
