use super::*;
use jiff::civil::date;

fn has(errors: &[String], needle: &str) -> bool {
    errors.iter().any(|e| e.contains(needle))
}

fn service(leika: &str, minutes: u16) -> CalendarService {
    CalendarService { leika: leika.into(), minutes, extra_person_minutes: 0, max_persons: 1 }
}

fn question(id: &str, answers: &[(&str, TriageEffect)]) -> TriageQuestion {
    TriageQuestion {
        id: id.into(),
        text: "Haben Sie den Antrag schon online gestellt?".into(),
        leika: vec![],
        answers: answers
            .iter()
            .map(|(a, effect)| TriageAnswer { id: (*a).into(), label: format!("Antwort {a}"), effect: effect.clone() })
            .collect(),
    }
}

#[test]
fn defaults_are_valid_and_load_from_empty_json() {
    assert!(BookingRules::default().validate().is_empty());
    assert!(Calendar::default().validate().is_empty());
    let rules: BookingRules = serde_json::from_str("{}").unwrap();
    assert_eq!(rules, BookingRules::default());
    let cal: Calendar = serde_json::from_str(r#"{"active":true,"services":[{"leika":"99","minutes":20}]}"#).unwrap();
    assert_eq!(cal.slot_minutes, 10);
    assert_eq!(cal.services[0].max_persons, 1);
    assert!(cal.holidays);
}

#[test]
fn settings_round_trip_through_json() {
    let cal = Calendar {
        active: true,
        hours: Some([vec![Interval { from: 480, to: 720 }], vec![], vec![], vec![], vec![], vec![], vec![]]),
        closed_days: vec![date(2026, 12, 24)],
        blocked: vec![BlockedPeriod {
            from: date(2026, 11, 23).at(9, 0, 0, 0),
            to: date(2026, 11, 23).at(11, 0, 0, 0),
            reason: "Schulung".into(),
        }],
        services: vec![service("99", 20)],
        ..Calendar::default()
    };
    let back: Calendar = serde_json::from_str(&serde_json::to_string(&cal).unwrap()).unwrap();
    assert_eq!(back, cal);
    let rules = BookingRules {
        limit: Some(BookingLimit { count: 2, days: 30 }),
        triage: vec![question(
            "online",
            &[
                ("ja", TriageEffect::NoAppointment { message: "Kein Termin nötig.".into(), link: "/o/x".into() }),
                ("nein", TriageEffect::AddMinutes(10)),
                ("weiss-nicht", TriageEffect::Nothing),
            ],
        )],
        ..BookingRules::default()
    };
    let back: BookingRules = serde_json::from_str(&serde_json::to_string(&rules).unwrap()).unwrap();
    assert_eq!(back, rules);
}

#[test]
fn calendar_ranges_are_checked() {
    let errors = Calendar { slot_minutes: 3, counters: 0, ..Calendar::default() }.validate();
    assert!(has(&errors, "Zeitabschnitts muss zwischen 5 und 60"), "{errors:?}");
    assert!(has(&errors, "Schalter muss zwischen 1 und 50"));
    assert!(has(&Calendar { counters: 51, ..Calendar::default() }.validate(), "Schalter"));
    let window = Calendar { earliest_days: 10, latest_days: 5, ..Calendar::default() }.validate();
    assert!(has(&window, "früheste Buchungstag liegt nach dem spätesten"), "{window:?}");
    assert!(has(&Calendar { latest_days: 0, earliest_days: 0, ..Calendar::default() }.validate(), "im Voraus"));
}

#[test]
fn overlapping_and_unsorted_hours_are_conflicts() {
    let mut week: [Vec<Interval>; 7] = Default::default();
    week[0] = vec![Interval { from: 480, to: 720 }, Interval { from: 700, to: 900 }];
    week[1] = vec![Interval { from: 840, to: 960 }, Interval { from: 480, to: 600 }];
    week[2] = vec![Interval { from: 600, to: 540 }];
    let errors = Calendar { hours: Some(week), ..Calendar::default() }.validate();
    assert!(has(&errors, "Montag: 08:00–12:00 überschneidet sich mit 11:40–15:00."), "{errors:?}");
    assert!(has(&errors, "Dienstag: Die Zeiten sind nicht der Reihe nach"));
    assert!(has(&errors, "Mittwoch: In 10:00–09:00 liegt das Ende nicht nach dem Beginn."));
    let empty = Calendar {
        active: true,
        hours: Some(Default::default()),
        services: vec![service("99", 10)],
        ..Calendar::default()
    };
    assert!(has(&empty.validate(), "mindestens einem Wochentag"));
}

#[test]
fn a_blocked_period_must_end_after_it_starts() {
    let cal = Calendar {
        blocked: vec![BlockedPeriod {
            from: date(2026, 11, 23).at(12, 0, 0, 0),
            to: date(2026, 11, 23).at(9, 0, 0, 0),
            reason: String::new(),
        }],
        ..Calendar::default()
    };
    assert_eq!(cal.validate(), vec!["Sperrzeit ab 23.11.2026 12:00: Das Ende liegt nicht nach dem Beginn.".to_owned()]);
}

#[test]
fn services_are_checked_against_the_grid() {
    let cal = Calendar {
        active: true,
        slot_minutes: 15,
        services: vec![
            service("99", 20),
            CalendarService { leika: "88".into(), minutes: 15, extra_person_minutes: 10, max_persons: 2 },
            service("99", 30),
            service("", 15),
            CalendarService { leika: "77".into(), minutes: 15, extra_person_minutes: 0, max_persons: 0 },
        ],
        ..Calendar::default()
    };
    let errors = cal.validate();
    assert!(
        has(&errors, "Leistung 99: Die Dauer (20 Minuten) ist kein Vielfaches des Zeitabschnitts (15 Minuten)."),
        "{errors:?}"
    );
    assert!(has(&errors, "Leistung 88: Die Zeit je weitere Person (10 Minuten) ist kein Vielfaches"));
    assert!(has(&errors, "Die Leistung 99 ist doppelt eingetragen."));
    assert!(has(&errors, "fehlt der LeiKa-Schlüssel"));
    assert!(has(&errors, "Leistung 77: Die Zahl der Personen"));
    assert!(has(&Calendar { active: true, ..Calendar::default() }.validate(), "mindestens eine Leistung"));
}

#[test]
fn rules_ranges_are_checked() {
    let errors = BookingRules {
        hold_minutes: 1,
        double_opt_in: true,
        confirm_minutes: 5,
        reminder_hours: 200,
        retention_days: 400,
        limit: Some(BookingLimit { count: 0, days: 0 }),
        triage: vec![],
    }
    .validate();
    assert!(has(&errors, "Reservierungsdauer"), "{errors:?}");
    assert!(has(&errors, "Bestätigung per E-Mail"));
    assert!(has(&errors, "Erinnerung"));
    assert!(has(&errors, "365 Tage"));
    assert!(has(&errors, "Höchstzahl an Terminen pro Person"));
    assert!(has(&errors, "Zeitraum für die Höchstzahl"));
    assert_eq!(errors.len(), 6);
}

#[test]
fn triage_ids_must_be_unique_and_simple() {
    let twice = question("online", &[("ja", TriageEffect::Nothing), ("ja", TriageEffect::Nothing)]);
    let rules = BookingRules {
        triage: vec![
            twice.clone(),
            twice,
            question("Groß Buchstaben", &[("a", TriageEffect::Nothing), ("b", TriageEffect::Nothing)]),
            question("eine", &[("a", TriageEffect::Nothing)]),
            question(
                "wirkung",
                &[
                    ("a", TriageEffect::AddMinutes(0)),
                    ("b", TriageEffect::NoAppointment { message: " ".into(), link: "javascript:alert(1)".into() }),
                ],
            ),
        ],
        ..BookingRules::default()
    };
    let errors = rules.validate();
    assert!(has(&errors, "Die Antwortkennung „ja“ ist doppelt vergeben."), "{errors:?}");
    assert!(has(&errors, "Die Kennung „online“ ist doppelt vergeben."));
    assert!(has(&errors, "nur Kleinbuchstaben"));
    assert!(has(&errors, "mindestens zwei Antworten"));
    assert!(has(&errors, "zusätzliche Zeit"));
    assert!(has(&errors, "warum kein Termin nötig ist"));
    assert!(has(&errors, "Der Link muss mit „/“ oder „https://“ beginnen."));
}
