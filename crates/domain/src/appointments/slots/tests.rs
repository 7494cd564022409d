use super::*;
use crate::appointments::settings::{BlockedPeriod, CalendarService};
use jiff::civil::{date, time};

fn iv(from: &str, to: &str) -> Interval {
    let p = |s: &str| {
        let (h, m) = s.split_once(':').unwrap();
        h.parse::<u16>().unwrap() * 60 + m.parse::<u16>().unwrap()
    };
    Interval { from: p(from), to: p(to) }
}

/// Mon–Fri 08:00–12:00, 10-minute units, two counters; the passport takes 20 minutes
/// plus 10 per further person, at most 3 persons.
fn cal() -> Calendar {
    let morning = vec![iv("08:00", "12:00")];
    Calendar {
        active: true,
        slot_minutes: 10,
        hours: Some([morning.clone(), morning.clone(), morning.clone(), morning.clone(), morning, vec![], vec![]]),
        counters: 2,
        earliest_days: 1,
        latest_days: 60,
        services: vec![
            CalendarService { leika: "99".into(), minutes: 20, extra_person_minutes: 10, max_persons: 3 },
            CalendarService { leika: "77".into(), minutes: 10, extra_person_minutes: 0, max_persons: 1 },
        ],
        ..Calendar::default()
    }
}

fn opening() -> OpeningHours {
    OpeningHours::from_day_map([("mo", "08:00-16:00"), ("di", "08:00-16:00"), ("mi", "08:00-12:00")], vec![]).unwrap()
}

fn wish(services: &[&str], persons: u8) -> Wish {
    Wish { services: services.iter().map(|s| (*s).to_owned()).collect(), persons, extra_minutes: 0 }
}

fn none(_: DateTime, _: u16) -> bool {
    false
}

/// A Friday morning before the Monday the tests book on.
fn friday() -> DateTime {
    date(2026, 11, 20).at(10, 0, 0, 0)
}

fn starts(times: &[FreeTime]) -> Vec<String> {
    times.iter().map(|t| t.start.time().strftime("%H:%M").to_string()).collect()
}

#[test]
fn duration_adds_persons_services_and_triage_minutes() {
    let c = cal();
    assert_eq!(duration(&c, &wish(&["99"], 1)).unwrap(), 2);
    assert_eq!(duration(&c, &wish(&["99"], 3)).unwrap(), 4);
    assert_eq!(duration(&c, &wish(&["99", "77"], 1)).unwrap(), 3);
    assert_eq!(duration(&c, &wish(&["99", "99"], 1)).unwrap(), 2, "a service twice counts once");
    // 20 + 5 triage minutes round up to three units.
    assert_eq!(duration(&c, &Wish { extra_minutes: 5, ..wish(&["99"], 1) }).unwrap(), 3);
}

#[test]
fn duration_explains_what_cannot_be_booked() {
    let c = cal();
    assert!(duration(&c, &wish(&["12345"], 1)).unwrap_err().0.contains("nicht angeboten"));
    assert!(duration(&c, &wish(&["99"], 4)).unwrap_err().0.contains("höchstens 3 Personen"));
    assert!(duration(&c, &wish(&["77"], 2)).unwrap_err().0.contains("eigenen Termin"));
    assert!(duration(&c, &wish(&[], 1)).unwrap_err().0.contains("mindestens eine Leistung"));
    assert!(duration(&c, &wish(&["99"], 0)).is_err());
}

#[test]
fn window_counts_working_days_and_skips_holidays() {
    let mut c = cal();
    // Friday → next working day is Monday.
    assert_eq!(window(&c, &opening(), friday()), (date(2026, 11, 23), date(2027, 1, 19)));
    c.earliest_days = 2;
    assert_eq!(window(&c, &opening(), friday()).0, date(2026, 11, 24));
    // Wednesday 23 Dec: Thursday 24th is a working day, Friday 25th a holiday → Monday 28th.
    let before_xmas = date(2026, 12, 23).at(9, 0, 0, 0);
    assert_eq!(window(&c, &opening(), before_xmas).0, date(2026, 12, 28));
    c.earliest_days = 0;
    assert_eq!(window(&c, &opening(), before_xmas).0, date(2026, 12, 23));
    // Without its own hours the calendar follows the location: Mon–Wed only.
    c.hours = None;
    c.earliest_days = 1;
    assert_eq!(window(&c, &opening(), date(2026, 11, 25).at(9, 0, 0, 0)).0, date(2026, 11, 30));
    // No working day at all: an empty window.
    c.hours = Some(Default::default());
    let (first, last) = window(&c, &opening(), friday());
    assert!(first > last);
}

#[test]
fn a_free_day_offers_every_start_on_the_grid() {
    let c = cal();
    let times = day_times(&c, &opening(), date(2026, 11, 23), 2, friday(), &none);
    // 08:00 … 11:40: 24 units, a 2-unit booking can start at 23 of them.
    assert_eq!(times.len(), 23);
    assert_eq!(
        times[0],
        FreeTime { start: date(2026, 11, 23).at(8, 0, 0, 0), end: date(2026, 11, 23).at(8, 20, 0, 0) }
    );
    assert_eq!(times[22].start.time(), time(11, 40, 0, 0));
    // Weekend and days outside the window offer nothing.
    assert!(day_times(&c, &opening(), date(2026, 11, 22), 2, friday(), &none).is_empty());
    assert!(day_times(&c, &opening(), date(2026, 11, 20), 2, friday(), &none).is_empty(), "today is before the window");
    assert!(day_times(&c, &opening(), date(2027, 1, 20), 2, friday(), &none).is_empty(), "after the window");
}

#[test]
fn a_booking_needs_all_its_units_on_one_counter() {
    let c = cal();
    let day = date(2026, 11, 23);
    // Counter 0 is busy at 08:00, counter 1 at 08:10: each has a free unit, but no
    // counter has both, so 08:00 is not offered for 20 minutes.
    let occupied = |at: DateTime, counter: u16| {
        (at == day.at(8, 0, 0, 0) && counter == 0) || (at == day.at(8, 10, 0, 0) && counter == 1)
    };
    let times = day_times(&c, &opening(), day, 2, friday(), &occupied);
    assert_eq!(starts(&times)[..3], ["08:10", "08:20", "08:30"]);
    // A 10-minute booking fits at 08:00 on counter 1.
    assert_eq!(starts(&day_times(&c, &opening(), day, 1, friday(), &occupied))[0], "08:00");
    // With a single counter the busy unit blocks the start.
    let one = Calendar { counters: 1, ..c };
    assert_eq!(starts(&day_times(&one, &opening(), day, 1, friday(), &occupied))[0], "08:10");
}

#[test]
fn a_fully_booked_day_offers_nothing() {
    let c = cal();
    let times = day_times(&c, &opening(), date(2026, 11, 23), 1, friday(), &|_, _| true);
    assert!(times.is_empty());
}

#[test]
fn holidays_and_closure_days_offer_nothing() {
    let mut c = cal();
    c.latest_days = 400;
    let now = date(2027, 3, 20).at(9, 0, 0, 0);
    // Ostermontag 2027 is Monday 29 March.
    assert!(day_times(&c, &opening(), date(2027, 3, 29), 1, now, &none).is_empty());
    assert_eq!(closed_reason(&c, &opening(), date(2027, 3, 29)).as_deref(), Some("Feiertag: Ostermontag"));
    assert!(
        is_bookable_start(&c, &opening(), date(2027, 3, 26).at(9, 0, 0, 0), 1, now)
            .unwrap_err()
            .0
            .contains("Karfreitag")
    );
    c.holidays = false;
    assert_eq!(day_times(&c, &opening(), date(2027, 3, 29), 1, now, &none).len(), 24);
    // A closure day of the calendar or of the location.
    c.closed_days = vec![date(2027, 3, 30)];
    assert!(day_times(&c, &opening(), date(2027, 3, 30), 1, now, &none).is_empty());
    let mut closed_location = opening();
    closed_location.closed = vec![date(2027, 3, 31)];
    assert!(day_times(&c, &closed_location, date(2027, 3, 31), 1, now, &none).is_empty());
    assert!(!day_times(&c, &opening(), date(2027, 3, 31), 1, now, &none).is_empty());
}

#[test]
fn blocked_periods_remove_every_overlapping_start() {
    let mut c = cal();
    let day = date(2026, 11, 23);
    c.blocked = vec![BlockedPeriod { from: day.at(9, 0, 0, 0), to: day.at(10, 0, 0, 0), reason: "Schulung".into() }];
    let times = starts(&day_times(&c, &opening(), day, 2, friday(), &none));
    // 08:50 would run into the training; 10:00 is the first start after it.
    assert!(times.contains(&"08:40".to_owned()));
    assert!(!times.contains(&"08:50".to_owned()));
    assert!(!times.contains(&"09:50".to_owned()));
    assert!(times.contains(&"10:00".to_owned()));
    assert_eq!(times.len(), 5 + 11);
    let err = is_bookable_start(&c, &opening(), day.at(9, 30, 0, 0), 2, friday()).unwrap_err();
    assert!(err.0.contains("keine Termine"), "{err}");
    // A vacation over several days blocks them all.
    c.blocked =
        vec![BlockedPeriod { from: day.at(0, 0, 0, 0), to: date(2026, 11, 26).at(0, 0, 0, 0), reason: String::new() }];
    assert!(day_times(&c, &opening(), date(2026, 11, 25), 1, friday(), &none).is_empty());
    assert_eq!(day_times(&c, &opening(), date(2026, 11, 26), 1, friday(), &none).len(), 24);
}

#[test]
fn times_before_now_are_never_offered() {
    let mut c = cal();
    c.earliest_days = 0;
    let now = date(2026, 11, 23).at(10, 5, 0, 0);
    let times = starts(&day_times(&c, &opening(), date(2026, 11, 23), 1, now, &none));
    assert_eq!(times[0], "10:10");
    let err = is_bookable_start(&c, &opening(), date(2026, 11, 23).at(10, 0, 0, 0), 1, now).unwrap_err();
    assert!(err.0.contains("Vergangenheit"));
}

#[test]
fn without_own_hours_the_location_opening_hours_apply() {
    let mut c = cal();
    c.hours = None;
    // Monday 08:00–16:00 at the location: 48 ten-minute starts.
    assert_eq!(day_times(&c, &opening(), date(2026, 11, 23), 1, friday(), &none).len(), 48);
    // Thursday the location is closed.
    assert!(day_times(&c, &opening(), date(2026, 11, 26), 1, friday(), &none).is_empty());
}

#[test]
fn an_inactive_calendar_offers_nothing() {
    let c = Calendar { active: false, ..cal() };
    assert!(day_times(&c, &opening(), date(2026, 11, 23), 1, friday(), &none).is_empty());
    assert!(is_bookable_start(&c, &opening(), date(2026, 11, 23).at(8, 0, 0, 0), 1, friday()).is_err());
}

#[test]
fn bookable_starts_follow_grid_hours_and_window() {
    let c = cal();
    let o = opening();
    let mon = date(2026, 11, 23);
    assert_eq!(is_bookable_start(&c, &o, mon.at(8, 0, 0, 0), 2, friday()), Ok(()));
    assert_eq!(is_bookable_start(&c, &o, mon.at(11, 40, 0, 0), 2, friday()), Ok(()));
    assert!(is_bookable_start(&c, &o, mon.at(8, 5, 0, 0), 1, friday()).unwrap_err().0.contains("Uhrzeit"));
    assert!(is_bookable_start(&c, &o, mon.at(11, 50, 0, 0), 2, friday()).is_err(), "runs past 12:00");
    assert!(is_bookable_start(&c, &o, mon.at(13, 0, 0, 0), 1, friday()).is_err());
    assert!(
        is_bookable_start(&c, &o, date(2026, 11, 20).at(11, 0, 0, 0), 1, friday())
            .unwrap_err()
            .0
            .contains("frühestens")
    );
    let late = is_bookable_start(&c, &o, date(2027, 2, 1).at(8, 0, 0, 0), 1, friday()).unwrap_err();
    assert!(late.0.contains("höchstens bis zum 19.01.2027"), "{late}");
    assert!(is_bookable_start(&c, &o, mon.at(8, 0, 30, 0), 1, friday()).is_err());
}

/// A 24-hour service (hours 00:00–06:00 on Sundays) across both DST changes of 2026.
fn night_calendar() -> Calendar {
    let mut week: [Vec<Interval>; 7] = Default::default();
    week[6] = vec![iv("00:00", "06:00")];
    Calendar { hours: Some(week), earliest_days: 0, latest_days: 366, ..cal() }
}

#[test]
fn the_spring_dst_gap_offers_no_times() {
    let c = night_calendar();
    let now = date(2026, 3, 1).at(0, 0, 0, 0);
    let spring = date(2026, 3, 29);
    let times = starts(&day_times(&c, &opening(), spring, 1, now, &none));
    // 36 units from 00:00 to 06:00, but 02:00–02:50 do not exist that night.
    assert_eq!(times.len(), 30);
    assert!(times.contains(&"01:50".to_owned()));
    assert!(!times.iter().any(|t| t.starts_with("02:")));
    assert_eq!(times[12], "03:00");
    // A 20-minute booking from 01:50 would run into the gap.
    let two = starts(&day_times(&c, &opening(), spring, 2, now, &none));
    assert!(!two.contains(&"01:50".to_owned()));
    assert!(is_bookable_start(&c, &opening(), spring.at(1, 50, 0, 0), 2, now).is_err());
    assert_eq!(is_bookable_start(&c, &opening(), spring.at(1, 40, 0, 0), 2, now), Ok(()));
}

#[test]
fn the_autumn_dst_fold_keeps_every_unit_distinct() {
    let c = night_calendar();
    let now = date(2026, 10, 1).at(0, 0, 0, 0);
    let autumn = date(2026, 10, 25);
    let times = day_times(&c, &opening(), autumn, 1, now, &none);
    assert_eq!(times.len(), 36);
    let ms: Vec<i64> = times.iter().map(|t| time::to_ms(t.start)).collect();
    let mut sorted = ms.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), 36, "no two units share an instant");
    // 02:50 (first pass, CEST) to 03:00 (CET) is 70 real minutes.
    assert_eq!(ms[18] - ms[17], 70 * 60 * 1000);
    // The store sees the units of a booking as the real instants.
    assert_eq!(unit_starts_ms(&c, autumn.at(2, 50, 0, 0), 2), vec![ms[17], ms[18]]);
}

#[test]
fn office_hours_keep_their_civil_time_after_the_change() {
    let c = cal();
    let now = date(2026, 3, 27).at(12, 0, 0, 0);
    let monday = date(2026, 3, 30);
    let times = day_times(&c, &opening(), monday, 1, now, &none);
    assert_eq!(times[0].start, monday.at(8, 0, 0, 0));
    // 08:00 CEST is 06:00 UTC.
    assert_eq!(time::to_ms(times[0].start), jiff::Timestamp::from_second(1_774_850_400).unwrap().as_millisecond());
    let friday_before = time::to_ms(date(2026, 3, 27).at(8, 0, 0, 0));
    assert_eq!(time::to_ms(times[0].start) - friday_before, (3 * 24 - 1) * 3_600_000);
}

#[test]
fn unit_starts_and_end_follow_the_grid() {
    let c = cal();
    let start = date(2026, 11, 23).at(8, 0, 0, 0);
    assert_eq!(
        unit_starts(&c, start, 3),
        vec![start, date(2026, 11, 23).at(8, 10, 0, 0), date(2026, 11, 23).at(8, 20, 0, 0)]
    );
    assert_eq!(end_of(&c, start, 3), date(2026, 11, 23).at(8, 30, 0, 0));
}

mod agreement {
    //! `day_times` (what the page offers) and `is_bookable_start` plus a free counter
    //! (what the booking accepts) must agree on every start of every day: a time shown
    //! is bookable and a bookable time is shown.
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn day() -> impl Strategy<Value = Date> {
        prop::sample::select(vec![
            date(2026, 11, 23),
            date(2026, 3, 29),
            date(2026, 10, 25),
            date(2026, 12, 25),
            date(2027, 1, 4),
        ])
    }

    proptest! {
        #[test]
        fn offered_times_are_exactly_the_bookable_ones(
            slot in prop::sample::select(vec![5u16, 10, 15, 20, 30]),
            counters in 1u16..=3,
            first in (0u16..60, 1u16..40),
            gap_second in (0u16..20, 0u16..30),
            blocked in proptest::option::of((0u16..288, 1u16..60)),
            taken in proptest::collection::vec((0u16..288, 0u16..3), 0..80),
            units in 1u16..=4,
            day in day(),
            now_minute in proptest::option::of(0u16..1440),
        ) {
            // Intervals on the 5-minute grid, the second one after the first.
            let from1 = first.0 * 5;
            let to1 = from1 + first.1 * 5;
            let from2 = to1 + gap_second.0 * 5;
            let to2 = (from2 + gap_second.1 * 5).min(1440);
            let mut intervals = vec![Interval { from: from1, to: to1 }];
            if gap_second.1 > 0 && from2 < to2 {
                intervals.push(Interval { from: from2, to: to2 });
            }
            let at = |m: u16| add_minutes(day.at(0, 0, 0, 0), i64::from(m));
            let cal = Calendar {
                active: true,
                slot_minutes: slot,
                hours: Some(std::array::from_fn(|_| intervals.clone())),
                counters,
                earliest_days: 0,
                latest_days: 366,
                blocked: blocked
                    .map(|(s, l)| BlockedPeriod { from: at(s * 5), to: at(s * 5 + l * 5), reason: String::new() })
                    .into_iter()
                    .collect(),
                ..Calendar::default()
            };
            // Either the evening before, or some moment on the day itself.
            let now = match now_minute {
                Some(m) => at(m),
                None => add_minutes(day.at(0, 0, 0, 0), -6 * 60),
            };
            let occupied: HashSet<(DateTime, u16)> = taken.iter().map(|(m, c)| (at(m * 5), *c)).collect();
            let is_taken = |u: DateTime, c: u16| occupied.contains(&(u, c));
            let offered = day_times(&cal, &opening(), day, units, now, &is_taken);
            let offered_starts: HashSet<DateTime> = offered.iter().map(|t| t.start).collect();
            prop_assert_eq!(offered_starts.len(), offered.len(), "each start once");
            for t in &offered {
                prop_assert_eq!(t.end, end_of(&cal, t.start, units));
            }
            for m in (0..1440u16).step_by(5) {
                let start = at(m);
                let bookable = is_bookable_start(&cal, &opening(), start, units, now).is_ok()
                    && (0..counters).any(|c| unit_starts(&cal, start, units).iter().all(|u| !is_taken(*u, c)));
                prop_assert_eq!(offered_starts.contains(&start), bookable, "start {}", start);
            }
        }
    }
}

#[test]
fn day_units_are_the_capacity_grid_of_the_day() {
    let mut c = cal();
    let day = date(2026, 11, 23);
    assert_eq!(day_units(&c, &opening(), day).len(), 24);
    c.blocked = vec![BlockedPeriod { from: day.at(9, 0, 0, 0), to: day.at(10, 0, 0, 0), reason: String::new() }];
    assert_eq!(day_units(&c, &opening(), day).len(), 18);
    assert!(day_units(&c, &opening(), date(2026, 12, 25)).is_empty(), "holiday");
    assert_eq!(day_units(&night_calendar(), &opening(), date(2026, 3, 29)).len(), 30, "DST gap");
}
