//! Appointments (Terminvergabe): rules and calendars with conflict detection,
//! hold → confirm → cancel, no unit of time ever booked twice (also with 50
//! bookings racing for the last free time), holds that run out, moves, the
//! counter's status changes, figures, reminders and the deletion of personal data.

use super::{on_both, seed};
use amtsweg_store::outbox::{EmailAttachment, EmailMessage};
use amtsweg_store::{NewAppointment, Store};
use std::collections::{BTreeMap, BTreeSet};

const MINUTE: i64 = 60_000;
/// Ten-minute units.
const UNIT: i64 = 10 * MINUTE;
/// "Now" in these tests, and the first bookable time a day later.
const NOW: i64 = 1_900_000_000_000;
const T0: i64 = NOW + 24 * 60 * MINUTE;

#[derive(Clone, Copy)]
struct Cal {
    authority: i64,
    other_authority: i64,
    calendar: i64,
    location: i64,
}

async fn calendar(store: &Store) -> Cal {
    let s = seed(store).await;
    let location = store.locations(s.town).await.unwrap()[0].id;
    let mut tx = store.begin().await.unwrap();
    let (calendar, _) = tx.save_appointment_calendar(s.town, location, r#"{"counters":2}"#, 0).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    Cal { authority: s.town, other_authority: s.county, calendar, location }
}

fn booking(c: Cal, reference: &str, start: i64, units: i64, hold_until: Option<i64>) -> NewAppointment {
    NewAppointment {
        authority_id: c.authority,
        calendar_id: c.calendar,
        location_id: c.location,
        reference: reference.into(),
        status: "held".into(),
        starts_at: start,
        ends_at: start + units * UNIT,
        services: r#"[{"leika":"99115003019000","persons":1}]"#.into(),
        persons: 1,
        manage_hash: format!("manage-{reference}"),
        hold_until,
        citizen_id: None,
        receipt_number: None,
        replaces_id: None,
        booked_by: "citizen".into(),
        client_key: "client-a".into(),
    }
}

fn starts(start: i64, units: i64) -> Vec<i64> {
    (0..units).map(|i| start + i * UNIT).collect()
}

/// Holds in a transaction of its own.
async fn hold(store: &Store, a: &NewAppointment, counters: u16, now: i64) -> Option<(i64, i64)> {
    let mut tx = store.begin().await.unwrap();
    let units = (a.ends_at - a.starts_at) / UNIT;
    let r = tx.hold_appointment(a, &starts(a.starts_at, units), counters, now).await.unwrap();
    tx.commit().await.unwrap();
    r
}

async fn confirm(store: &Store, id: i64, now: i64) -> bool {
    let mut tx = store.begin().await.unwrap();
    let ok = tx
        .confirm_appointment(
            id,
            "confirmed",
            "sealed",
            "mac-erika",
            None,
            None,
            Some(T0 - 60 * MINUTE),
            T0 + 30 * 24 * 60 * MINUTE,
            now,
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    ok
}

async fn status(store: &Store, c: Cal, id: i64) -> String {
    store.appointment(c.authority, id).await.unwrap().unwrap().status
}

async fn set_status(store: &Store, c: Cal, id: i64, from: &[&str], to: &str) -> bool {
    let mut tx = store.begin().await.unwrap();
    let ok = tx.set_appointment_status(c.authority, id, from, to, NOW).await.unwrap();
    tx.commit().await.unwrap();
    ok
}

/// The occupied units; checks on the way that the day pages' bit sets per start
/// (`occupied_counters`) say the same.
async fn occupied(store: &Store, c: Cal, now: i64) -> Vec<(i64, i64)> {
    let (from, to) = (T0 - 24 * 60 * MINUTE, T0 + 30 * 24 * 60 * MINUTE);
    let units = store.occupied_units(c.calendar, from, to, now).await.unwrap();
    let from_masks: Vec<(i64, i64)> = store
        .occupied_counters(c.calendar, from, to, now)
        .await
        .unwrap()
        .into_iter()
        .flat_map(|(start, mask)| (0..64).filter(move |n| mask & (1u64 << n) != 0).map(move |n| (start, n)))
        .collect();
    assert_eq!(from_masks, units, "bit sets per start differ from the units");
    units
}

#[tokio::test]
async fn rules_and_calendars_are_saved_with_conflict_detection_per_authority() {
    on_both(|store| async move {
        let s = seed(&store).await;
        let location = store.locations(s.town).await.unwrap()[0].id;
        assert!(store.appointment_rules(s.town).await.unwrap().is_none());
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.save_appointment_rules(s.town, r#"{"hold_minutes":10}"#, 0).await.unwrap(), Some(1));
        assert_eq!(tx.save_appointment_rules(s.town, "{}", 0).await.unwrap(), None, "created meanwhile");
        assert_eq!(tx.save_appointment_rules(s.town, r#"{"hold_minutes":15}"#, 1).await.unwrap(), Some(2));
        assert_eq!(tx.save_appointment_rules(s.town, "{}", 1).await.unwrap(), None, "saved meanwhile");
        // A location of another authority cannot get a calendar here.
        assert!(tx.save_appointment_calendar(s.county, location, "{}", 0).await.is_err());
        let (id, v) = tx.save_appointment_calendar(s.town, location, r#"{"counters":1}"#, 0).await.unwrap().unwrap();
        assert_eq!(v, 1);
        assert_eq!(tx.save_appointment_calendar(s.town, location, "{}", 0).await.unwrap(), None);
        assert_eq!(
            tx.save_appointment_calendar(s.town, location, r#"{"counters":3}"#, 1).await.unwrap(),
            Some((id, 2))
        );
        assert_eq!(tx.save_appointment_calendar(s.town, location, "{}", 1).await.unwrap(), None, "saved meanwhile");
        assert_eq!(tx.save_appointment_calendar(s.county, location, "{}", 2).await.unwrap(), None, "not the county's");
        tx.commit().await.unwrap();

        let rules = store.appointment_rules(s.town).await.unwrap().unwrap();
        assert_eq!((rules.settings.as_str(), rules.version), (r#"{"hold_minutes":15}"#, 2));
        assert!(store.appointment_rules(s.county).await.unwrap().is_none());
        let cal = store.appointment_calendar(s.town, id).await.unwrap().unwrap();
        assert_eq!((cal.location_id, cal.settings.as_str(), cal.version), (location, r#"{"counters":3}"#, 2));
        assert!(store.appointment_calendar(s.county, id).await.unwrap().is_none(), "tenant isolation");
        assert_eq!(store.appointment_calendars(s.town).await.unwrap().len(), 1);
        assert!(store.appointment_calendars(s.county).await.unwrap().is_empty());
        assert_eq!(store.all_appointment_calendars().await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_held_time_is_confirmed_cancelled_and_never_taken_twice() {
    on_both(|store| async move {
        let c = calendar(&store).await;
        let a = booking(c, "T-AAAA-0001", T0, 3, Some(NOW + 10 * MINUTE));
        let (id, counter) = hold(&store, &a, 1, NOW).await.unwrap();
        assert_eq!(counter, 0);
        assert_eq!(occupied(&store, c, NOW).await, vec![(T0, 0), (T0 + UNIT, 0), (T0 + 2 * UNIT, 0)]);
        // The held booking is not on the counter's day list yet.
        assert!(store.appointments_between(c.authority, c.calendar, T0, T0 + UNIT).await.unwrap().is_empty());

        // Overlapping the last unit on the only counter: refused, nothing kept.
        let b = booking(c, "T-BBBB-0002", T0 + 2 * UNIT, 2, Some(NOW + 10 * MINUTE));
        assert_eq!(hold(&store, &b, 1, NOW).await, None);
        assert!(store.appointment_by_manage_hash("manage-T-BBBB-0002").await.unwrap().is_none());
        // With a second counter it goes there.
        assert_eq!(hold(&store, &b, 2, NOW).await.map(|r| r.1), Some(1));

        assert!(confirm(&store, id, NOW + MINUTE).await);
        assert!(!confirm(&store, id, NOW + MINUTE).await, "only from held");
        let row = store.appointment_by_manage_hash("manage-T-AAAA-0001").await.unwrap().unwrap();
        assert_eq!((row.status.as_str(), row.hold_until, row.units), ("confirmed", None, 3));
        assert_eq!((row.personal.as_str(), row.contact_hash.as_str()), ("sealed", "mac-erika"));
        // Confirmed units stay occupied long after the hold would have run out.
        assert_eq!(occupied(&store, c, NOW + 60 * MINUTE).await.iter().filter(|u| u.1 == 0).count(), 3);
        let day = store.appointments_between(c.authority, c.calendar, T0, T0 + 24 * 60 * MINUTE).await.unwrap();
        assert_eq!(day.iter().map(|r| r.id).collect::<Vec<_>>(), vec![id]);
        assert!(store.appointments_between(c.other_authority, c.calendar, T0, T0 + UNIT).await.unwrap().is_empty());
        assert!(store.appointment(c.other_authority, id).await.unwrap().is_none(), "tenant isolation");
        assert_eq!(store.appointment_by_reference(c.authority, "T-AAAA-0001").await.unwrap().map(|r| r.id), Some(id));

        // Another authority cannot cancel it; its own staff can, once.
        let mut tx = store.begin().await.unwrap();
        assert!(!tx.set_appointment_status(c.other_authority, id, &["confirmed"], "cancelled", NOW).await.unwrap());
        tx.commit().await.unwrap();
        assert!(set_status(&store, c, id, &["confirmed", "preconfirmed"], "cancelled").await);
        assert!(!set_status(&store, c, id, &["confirmed", "preconfirmed"], "cancelled").await);
        assert!(occupied(&store, c, NOW).await.iter().all(|u| u.1 == 1), "the cancelled time is free again");
        assert_eq!(
            hold(&store, &booking(c, "T-CCCC-0003", T0, 3, Some(NOW + 10 * MINUTE)), 1, NOW).await.map(|r| r.1),
            Some(0)
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_bookings_racing_for_the_last_free_time_give_exactly_one() {
    on_both(|store| async move {
        let c = calendar(&store).await;
        // Counter 0 is taken; counter 1 is the last free one at T0.
        let (first, _) = hold(&store, &booking(c, "T-TAKE-0000", T0, 2, None), 2, NOW).await.unwrap();
        assert_eq!(status(&store, c, first).await, "held");
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let a = booking(c, &format!("T-RACE-{i:04}"), T0, 2, Some(NOW + 10 * MINUTE));
                    let mut tx = store.begin().await.unwrap();
                    let r = tx.hold_appointment(&a, &starts(T0, 2), 2, NOW).await.unwrap();
                    tx.commit().await.unwrap();
                    r
                })
            })
            .collect();
        let mut won = Vec::new();
        for t in tasks {
            if let Some(r) = t.await.unwrap() {
                won.push(r);
            }
        }
        assert_eq!(won.len(), 1, "exactly one of 50 gets the last time: {won:?}");
        assert_eq!(won[0].1, 1);
        assert_eq!(occupied(&store, c, NOW).await, vec![(T0, 0), (T0, 1), (T0 + UNIT, 0), (T0 + UNIT, 1)]);
        // The 49 others left nothing behind.
        for i in 0..50 {
            let row = store.appointment_by_manage_hash(&format!("manage-T-RACE-{i:04}")).await.unwrap();
            assert_eq!(row.is_some(), row.as_ref().map(|r| r.id) == Some(won[0].0));
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overlapping_bookings_of_different_lengths_racing_never_share_a_unit() {
    on_both(|store| async move {
        let c = calendar(&store).await;
        // Some holds that have run out lie in the way: they must be taken over, not block.
        for i in 0..4 {
            hold(
                &store,
                &booking(c, &format!("T-OLD-{i}"), T0 + i * 3 * UNIT, 2, Some(NOW - MINUTE)),
                2,
                NOW - 20 * MINUTE,
            )
            .await
            .unwrap();
        }
        let tasks: Vec<_> = (0..60i64)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    let start = T0 + (i * 7 % 12) * UNIT;
                    let units = 1 + i % 3;
                    let a = booking(c, &format!("T-MIX-{i:04}"), start, units, Some(NOW + 10 * MINUTE));
                    let mut tx = store.begin().await.unwrap();
                    let r = tx.hold_appointment(&a, &starts(start, units), 2, NOW).await.unwrap();
                    let ok = match r {
                        Some((id, _)) if i % 2 == 0 => {
                            tx.confirm_appointment(id, "confirmed", "", "", None, None, None, T0, NOW).await.unwrap()
                        }
                        _ => r.is_some(),
                    };
                    tx.commit().await.unwrap();
                    r.filter(|_| ok).map(|(id, counter)| (id, counter, start, units))
                })
            })
            .collect();
        let mut booked = Vec::new();
        for t in tasks {
            booked.extend(t.await.unwrap());
        }
        assert!(!booked.is_empty());
        // Every booking told "yes" owns all its units, and no two overlap on a counter.
        let units: BTreeSet<(i64, i64)> = occupied(&store, c, NOW).await.into_iter().collect();
        let mut owner: BTreeMap<(i64, i64), i64> = BTreeMap::new();
        for (id, counter, start, n) in &booked {
            for s in starts(*start, *n) {
                assert!(units.contains(&(s, *counter)), "booking {id} lost a unit");
                assert!(owner.insert((s, *counter), *id).is_none(), "unit {s}/{counter} booked twice");
            }
        }
        assert_eq!(owner.len(), units.len(), "no unit occupied by a booking that was refused");
    })
    .await;
}

#[tokio::test]
async fn a_hold_that_ran_out_frees_the_time_for_others() {
    on_both(|store| async move {
        let c = calendar(&store).await;
        let (late, _) = hold(&store, &booking(c, "T-LATE-0001", T0, 2, Some(NOW + 10 * MINUTE)), 1, NOW).await.unwrap();
        assert_eq!(
            hold(&store, &booking(c, "T-NEXT-0002", T0, 1, Some(NOW + 5 * MINUTE)), 1, NOW + 5 * MINUTE).await,
            None
        );
        assert_eq!(store.count_active_holds_by_client("client-a", NOW + 5 * MINUTE).await.unwrap(), 1);
        assert_eq!(store.count_active_holds_by_client("client-a", NOW + 10 * MINUTE).await.unwrap(), 0);
        assert_eq!(store.count_active_holds_by_client("client-b", NOW).await.unwrap(), 0);

        // Ten minutes on, the time shows free and the next citizen gets it at once,
        // before any sweeper ran.
        let later = NOW + 10 * MINUTE;
        assert!(occupied(&store, c, later).await.is_empty());
        let (next, _) =
            hold(&store, &booking(c, "T-NEXT-0002", T0 + UNIT, 1, Some(later + 10 * MINUTE)), 1, later).await.unwrap();
        // The first citizen's confirmation comes too late — also with a clock that
        // still says the hold lasts: a unit was taken over, so it is refused.
        assert!(!confirm(&store, late, later).await);
        assert!(!confirm(&store, late, NOW + 9 * MINUTE).await);
        assert_eq!(status(&store, c, late).await, "expired");
        assert!(confirm(&store, next, later).await);
        assert_eq!(occupied(&store, c, later + 60 * MINUTE).await, vec![(T0 + UNIT, 0)]);

        // The sweeper marks what ran out and is idempotent.
        let (stale, _) = hold(&store, &booking(c, "T-STAL-0003", T0 + 5 * UNIT, 1, Some(later)), 1, NOW).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.expire_holds(later).await.unwrap(), 1);
        assert_eq!(tx.expire_holds(later).await.unwrap(), 0);
        tx.commit().await.unwrap();
        assert_eq!(status(&store, c, stale).await, "expired");
        assert_eq!(status(&store, c, next).await, "confirmed");
    })
    .await;
}

#[tokio::test]
async fn double_opt_in_confirms_by_link_or_expires() {
    on_both(|store| async move {
        let c = calendar(&store).await;
        let mut ids = Vec::new();
        for (i, reference) in ["T-OPTI-0001", "T-OPTI-0002"].iter().enumerate() {
            let start = T0 + i64::try_from(i).unwrap() * 4 * UNIT;
            let (id, _) =
                hold(&store, &booking(c, reference, start, 2, Some(NOW + 10 * MINUTE)), 1, NOW).await.unwrap();
            let mut tx = store.begin().await.unwrap();
            let confirm_hash = format!("confirm-{reference}");
            assert!(
                tx.confirm_appointment(
                    id,
                    "preconfirmed",
                    "sealed",
                    "mac",
                    Some(&confirm_hash),
                    Some(NOW + 60 * MINUTE),
                    None,
                    T0,
                    NOW
                )
                .await
                .unwrap()
            );
            tx.commit().await.unwrap();
            ids.push(id);
        }
        let row = store.appointment_by_confirm_hash("confirm-T-OPTI-0001").await.unwrap().unwrap();
        assert_eq!((row.id, row.status.as_str(), row.hold_until), (ids[0], "preconfirmed", Some(NOW + 60 * MINUTE)));
        // Preconfirmed bookings keep their time beyond the first hold, until the link's deadline.
        assert_eq!(occupied(&store, c, NOW + 30 * MINUTE).await.len(), 4);
        assert_eq!(store.count_bookings_by_contact(c.authority, "mac", T0, T0 + 24 * 60 * MINUTE).await.unwrap(), 2);

        let mut tx = store.begin().await.unwrap();
        assert!(tx.confirm_by_email(ids[0], Some(T0 - 60 * MINUTE), NOW + 30 * MINUTE).await.unwrap());
        assert!(!tx.confirm_by_email(ids[0], None, NOW + 30 * MINUTE).await.unwrap(), "once");
        assert!(!tx.confirm_by_email(ids[1], None, NOW + 60 * MINUTE).await.unwrap(), "too late");
        assert_eq!(tx.expire_holds(NOW + 60 * MINUTE).await.unwrap(), 1);
        tx.commit().await.unwrap();
        assert_eq!(status(&store, c, ids[0]).await, "confirmed");
        let gone = store.appointment(c.authority, ids[1]).await.unwrap().unwrap();
        assert_eq!(gone.status, "expired");
        assert_eq!(occupied(&store, c, NOW + 60 * MINUTE).await, vec![(T0, 0), (T0 + UNIT, 0)]);
        // The unconfirmed booking's contact data goes with the next purge.
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.purge_appointment_personal(NOW + 61 * MINUTE).await.unwrap(), 1);
        tx.commit().await.unwrap();
        assert_eq!(store.appointment(c.authority, ids[1]).await.unwrap().unwrap().personal, "");
        assert_eq!(store.appointment(c.authority, ids[0]).await.unwrap().unwrap().personal, "sealed");
    })
    .await;
}

#[tokio::test]
async fn a_move_keeps_the_old_time_until_the_new_one_is_confirmed() {
    on_both(|store| async move {
        let c = calendar(&store).await;
        let (old, _) = hold(&store, &booking(c, "T-OLDT-0001", T0, 2, Some(NOW + 10 * MINUTE)), 1, NOW).await.unwrap();
        assert!(confirm(&store, old, NOW).await);

        let mut moved = booking(c, "T-NEWT-0002", T0 + 6 * UNIT, 2, Some(NOW + 10 * MINUTE));
        moved.replaces_id = Some(old);
        let (new, _) = hold(&store, &moved, 1, NOW).await.unwrap();
        assert_eq!(occupied(&store, c, NOW).await.len(), 4, "both while the new one is held");
        assert_eq!(status(&store, c, old).await, "confirmed");
        assert!(confirm(&store, new, NOW + MINUTE).await);
        assert_eq!(status(&store, c, old).await, "cancelled");
        assert_eq!(occupied(&store, c, NOW).await, vec![(T0 + 6 * UNIT, 0), (T0 + 7 * UNIT, 0)]);

        // A move that is abandoned (its hold runs out) leaves the old booking alone.
        let mut again = booking(c, "T-AGAI-0003", T0, 1, Some(NOW + 10 * MINUTE));
        again.replaces_id = Some(new);
        let (abandoned, _) = hold(&store, &again, 1, NOW).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.expire_holds(NOW + 11 * MINUTE).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(status(&store, c, abandoned).await, "expired");
        assert_eq!(status(&store, c, new).await, "confirmed");

        // With double opt-in the old one goes when the link is used.
        let mut third = booking(c, "T-THIR-0004", T0 + 10 * UNIT, 1, Some(NOW + 10 * MINUTE));
        third.replaces_id = Some(new);
        let (id, _) = hold(&store, &third, 1, NOW).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert!(
            tx.confirm_appointment(
                id,
                "preconfirmed",
                "s",
                "m",
                Some("c-third"),
                Some(NOW + 60 * MINUTE),
                None,
                T0,
                NOW
            )
            .await
            .unwrap()
        );
        tx.commit().await.unwrap();
        assert_eq!(status(&store, c, new).await, "confirmed");
        let mut tx = store.begin().await.unwrap();
        assert!(tx.confirm_by_email(id, None, NOW + MINUTE).await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(status(&store, c, new).await, "cancelled");
        assert_eq!(occupied(&store, c, NOW + 11 * MINUTE).await, vec![(T0 + 10 * UNIT, 0)]);
    })
    .await;
}

#[tokio::test]
async fn the_counter_marks_attended_or_missed_and_counts_the_month() {
    on_both(|store| async move {
        let c = calendar(&store).await;
        let mut ids = Vec::new();
        for i in 0..5 {
            let (id, _) =
                hold(&store, &booking(c, &format!("T-FIGS-000{i}"), T0 + i * UNIT, 1, Some(NOW + 10 * MINUTE)), 1, NOW)
                    .await
                    .unwrap();
            assert!(confirm(&store, id, NOW).await);
            ids.push(id);
        }
        hold(&store, &booking(c, "T-HELD-0009", T0 + 9 * UNIT, 1, Some(NOW + 10 * MINUTE)), 1, NOW).await.unwrap();
        assert!(set_status(&store, c, ids[0], &["confirmed"], "attended").await);
        assert!(!set_status(&store, c, ids[0], &["confirmed"], "missed").await, "conditional on the status");
        assert!(set_status(&store, c, ids[1], &["confirmed"], "missed").await);
        assert!(set_status(&store, c, ids[2], &["confirmed"], "cancelled").await);
        let f = store.appointment_figures(c.authority, c.calendar, T0, T0 + 24 * 60 * MINUTE).await.unwrap();
        assert_eq!((f.booked, f.attended, f.missed, f.cancelled), (4, 1, 1, 1));
        let none = store.appointment_figures(c.other_authority, c.calendar, T0, T0 + 24 * 60 * MINUTE).await.unwrap();
        assert_eq!(none.booked, 0);
        // Attended and missed keep their time (the day is history, not free).
        assert_eq!(occupied(&store, c, NOW).await.len(), 5);
        let mut tx = store.begin().await.unwrap();
        assert!(tx.set_appointment_status(c.authority, ids[3], &["confirmed"], "bogus", NOW).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn reminders_are_due_once_and_personal_data_is_purged_on_time() {
    on_both(|store| async move {
        let c = calendar(&store).await;
        let mut tx = store.begin().await.unwrap();
        let citizen = tx.insert_citizen("erika@example.org", "hash").await.unwrap().unwrap();
        tx.commit().await.unwrap();
        let mut a = booking(c, "T-REMI-0001", T0, 1, Some(NOW + 10 * MINUTE));
        a.receipt_number = Some("2026-000017".into());
        let (id, _) = hold(&store, &a, 1, NOW).await.unwrap();
        // Signed in after choosing the time: the hold becomes the citizen's, once.
        let mut tx = store.begin().await.unwrap();
        assert!(tx.link_appointment_citizen(id, citizen, NOW).await.unwrap());
        assert!(!tx.link_appointment_citizen(id, citizen, NOW).await.unwrap());
        tx.commit().await.unwrap();
        assert!(store.appointments_of_citizen(citizen).await.unwrap().is_empty(), "a hold is not listed yet");
        assert!(confirm(&store, id, NOW).await); // remind_at: an hour before T0
        let mine = store.appointments_of_citizen(citizen).await.unwrap();
        assert_eq!(
            mine.iter().map(|r| (r.id, r.receipt_number.as_deref())).collect::<Vec<_>>(),
            vec![(id, Some("2026-000017"))]
        );

        let mut tx = store.begin().await.unwrap();
        assert!(tx.due_reminders(T0 - 61 * MINUTE, 10).await.unwrap().is_empty(), "not yet");
        let due = tx.due_reminders(T0 - 60 * MINUTE, 10).await.unwrap();
        assert_eq!(due.iter().map(|r| r.id).collect::<Vec<_>>(), vec![id]);
        assert!(tx.mark_reminded(id, T0 - 60 * MINUTE).await.unwrap());
        assert!(tx.due_reminders(T0 - 30 * MINUTE, 10).await.unwrap().is_empty(), "once");
        tx.commit().await.unwrap();

        // purge_at was a month after the appointment.
        let purge_at = T0 + 30 * 24 * 60 * MINUTE;
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.purge_appointment_personal(purge_at - 1).await.unwrap(), 0);
        assert_eq!(tx.purge_appointment_personal(purge_at).await.unwrap(), 1);
        assert_eq!(tx.purge_appointment_personal(purge_at).await.unwrap(), 0);
        tx.commit().await.unwrap();
        let row = store.appointment(c.authority, id).await.unwrap().unwrap();
        assert_eq!((row.personal.as_str(), row.contact_hash.as_str(), row.purged_at), ("", "", Some(purge_at)));
        // What remains is what the figures need.
        assert_eq!((row.status.as_str(), row.starts_at), ("confirmed", T0));
    })
    .await;
}

#[tokio::test]
async fn e_mails_carry_text_attachments_and_old_payloads_still_read() {
    on_both(|store| async move {
        let mail = EmailMessage {
            to: "erika@example.org".into(),
            subject: "Ihr Termin".into(),
            body: "Guten Tag".into(),
            attachments: vec![EmailAttachment {
                file_name: "termin.ics".into(),
                content_type: "text/calendar; method=REQUEST".into(),
                content: "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n".into(),
                encoding: String::new(),
            }],
        };
        let mut tx = store.begin().await.unwrap();
        tx.enqueue_email(&mail).await.unwrap();
        tx.commit().await.unwrap();
        let rows = store.outbox_entries(10).await.unwrap();
        assert_eq!(rows[0].email().unwrap(), mail);
        let old: EmailMessage = serde_json::from_str(r#"{"to":"a@example.org","subject":"s","body":"b"}"#).unwrap();
        assert!(old.attachments.is_empty());
        assert!(
            !serde_json::to_string(&old).unwrap().contains("attachments"),
            "payloads without files stay as they were"
        );
    })
    .await;
}

#[tokio::test]
async fn a_reference_in_use_is_an_error_that_leaves_the_transaction_usable() {
    on_both(|store| async move {
        let c = calendar(&store).await;
        let mut tx = store.begin().await.unwrap();
        let a = booking(c, "T-SAME-0001", T0, 1, Some(NOW + 10 * MINUTE));
        assert!(tx.hold_appointment(&a, &starts(T0, 1), 1, NOW).await.unwrap().is_some());
        let mut b = booking(c, "T-SAME-0001", T0 + UNIT, 1, Some(NOW + 10 * MINUTE));
        b.manage_hash = "other".into();
        assert!(tx.hold_appointment(&b, &starts(T0 + UNIT, 1), 1, NOW).await.is_err());
        // Still usable on PostgreSQL too: the next statement and the commit work.
        let c2 = booking(c, "T-SAME-0002", T0 + UNIT, 1, Some(NOW + 10 * MINUTE));
        assert!(tx.hold_appointment(&c2, &starts(T0 + UNIT, 1), 1, NOW).await.unwrap().is_some());
        tx.commit().await.unwrap();
        assert_eq!(occupied(&store, c, NOW).await, vec![(T0, 0), (T0 + UNIT, 0)]);
    })
    .await;
}

/// How fast the store alone books (hold + confirm, one transaction each) with 64
/// citizens at once: `cargo test -p amtsweg-store --release --test it -- --ignored store_booking_rate --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement, not a test"]
async fn store_booking_rate() {
    on_both(|store| async move {
        let c = calendar(&store).await;
        let started = std::time::Instant::now();
        let tasks: Vec<_> = (0..64i64)
            .map(|w| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut n = 0;
                    for i in 0..40i64 {
                        let start = T0 + (w * 40 + i) * UNIT;
                        let a = booking(c, &format!("T-RATE-{w}-{i}"), start, 1, Some(NOW + 10 * MINUTE));
                        if let Some((id, _)) = hold(&store, &a, 2, NOW).await {
                            n += i64::from(confirm(&store, id, NOW).await);
                        }
                    }
                    n
                })
            })
            .collect();
        let mut n = 0;
        for t in tasks {
            n += t.await.unwrap();
        }
        let s = started.elapsed().as_secs_f64();
        eprintln!("{n} bookings in {s:.2} s: {:.0} bookings/s", n as f64 / s);
    })
    .await;
}

#[tokio::test]
async fn a_batch_of_holds_and_confirmations_shares_one_commit_and_survives_a_bad_write() {
    use amtsweg_store::appointments::{BookingOutcome, BookingWrite};
    on_both(|store| async move {
        let c = calendar(&store).await;
        let hold_at = |reference: &str, start: i64| BookingWrite::Hold {
            new: booking(c, reference, start, 2, Some(NOW + 10 * MINUTE)),
            unit_starts: starts(start, 2),
            counters: 1,
            now_ms: NOW,
            client_limit: None,
            calendar_version: 1,
        };
        // Two citizens want T0 in the same batch: the first gets it, the second is told it is taken.
        let out =
            store.book_all(&[hold_at("T-BAT-1", T0), hold_at("T-BAT-2", T0), hold_at("T-BAT-3", T0 + 2 * UNIT)]).await;
        let held: Vec<_> = out.into_iter().map(Result::unwrap).collect();
        let (
            BookingOutcome::Held(Some((first, _))),
            BookingOutcome::Held(None),
            BookingOutcome::Held(Some((third, _))),
        ) = (held[0], held[1], held[2])
        else {
            panic!("unexpected {held:?}");
        };
        assert!(store.appointment_by_manage_hash("manage-T-BAT-2").await.unwrap().is_none());

        let mail = EmailMessage {
            to: "erika@example.org".into(),
            subject: "Ihr Termin".into(),
            body: "Guten Tag".into(),
            attachments: Vec::new(),
        };
        let confirm = |id: i64, now_ms: i64| BookingWrite::Confirm {
            id,
            status: "confirmed".into(),
            personal: "sealed".into(),
            contact_hash: "mac".into(),
            confirm_hash: None,
            hold_until: None,
            remind_at: None,
            purge_at: T0,
            now_ms,
            emails: vec![mail.clone()],
            citizen_id: None,
            contact_limit: None,
        };
        // The third one's confirmation comes too late; a bad hold (no units) fails on
        // its own and the others are written all the same.
        let bad = BookingWrite::Hold {
            new: booking(c, "T-BAT-4", T0 + 6 * UNIT, 1, None),
            unit_starts: Vec::new(),
            counters: 1,
            now_ms: NOW,
            client_limit: None,
            calendar_version: 1,
        };
        let out = store.book_all(&[confirm(first, NOW + MINUTE), bad, confirm(third, NOW + 10 * MINUTE)]).await;
        assert_eq!(out[0].as_ref().unwrap(), &BookingOutcome::Confirmed(true));
        assert!(out[1].is_err());
        assert_eq!(out[2].as_ref().unwrap(), &BookingOutcome::Confirmed(false));
        assert_eq!(status(&store, c, first).await, "confirmed");
        assert_eq!(status(&store, c, third).await, "held");
        assert_eq!(store.outbox_entries(10).await.unwrap().len(), 1, "only the confirmed booking's e-mail");
    })
    .await;
}

/// [`store_booking_rate`] through one writer task that commits whatever arrived
/// meanwhile in one transaction (`Store::book_all`), as the portal would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement, not a test"]
async fn store_booking_rate_with_group_commit() {
    use amtsweg_store::appointments::{BookingOutcome, BookingWrite};
    use tokio::sync::{mpsc, oneshot};
    type Job = (BookingWrite, oneshot::Sender<BookingOutcome>);
    on_both(|store| async move {
        let c = calendar(&store).await;
        let (queue, mut rx) = mpsc::channel::<Job>(1024);
        let writer = {
            let store = store.clone();
            tokio::spawn(async move {
                while let Some(first) = rx.recv().await {
                    let mut batch = vec![first];
                    while let Ok(next) = rx.try_recv() {
                        batch.push(next);
                    }
                    let (writes, replies): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
                    for (reply, r) in replies.into_iter().zip(store.book_all(&writes).await) {
                        let _ = reply.send(r.unwrap());
                    }
                }
            })
        };
        let started = std::time::Instant::now();
        let tasks: Vec<_> = (0..64i64)
            .map(|w| {
                let queue = queue.clone();
                tokio::spawn(async move {
                    let send = |write: BookingWrite| {
                        let queue = queue.clone();
                        async move {
                            let (tx, rx) = oneshot::channel();
                            queue.send((write, tx)).await.unwrap();
                            rx.await.unwrap()
                        }
                    };
                    let mut n = 0;
                    for i in 0..40i64 {
                        let start = T0 + (w * 40 + i) * UNIT;
                        let new = booking(c, &format!("T-GRP-{w}-{i}"), start, 1, Some(NOW + 10 * MINUTE));
                        let held = send(BookingWrite::Hold {
                            new,
                            unit_starts: starts(start, 1),
                            counters: 2,
                            now_ms: NOW,
                            client_limit: None,
                            calendar_version: 1,
                        })
                        .await;
                        if let BookingOutcome::Held(Some((id, _))) = held {
                            let done = send(BookingWrite::Confirm {
                                id,
                                status: "confirmed".into(),
                                personal: "sealed".into(),
                                contact_hash: "mac".into(),
                                confirm_hash: None,
                                hold_until: None,
                                remind_at: None,
                                purge_at: T0,
                                now_ms: NOW,
                                emails: Vec::new(),
                                citizen_id: None,
                                contact_limit: None,
                            })
                            .await;
                            n += i64::from(done == BookingOutcome::Confirmed(true));
                        }
                    }
                    n
                })
            })
            .collect();
        let mut n = 0;
        for t in tasks {
            n += t.await.unwrap();
        }
        let s = started.elapsed().as_secs_f64();
        eprintln!("{n} bookings in {s:.2} s: {:.0} bookings/s (group commit)", n as f64 / s);
        drop(queue);
        writer.await.unwrap();
    })
    .await;
}

/// A write of a booking in a transaction of its own, as the portal does on PostgreSQL.
async fn book_one(
    store: &Store,
    w: amtsweg_store::appointments::BookingWrite,
) -> amtsweg_store::appointments::BookingOutcome {
    let mut tx = store.begin().await.unwrap();
    let out = tx.book(&w).await.unwrap();
    tx.commit().await.unwrap();
    out
}

fn confirm_write(id: i64, contact: &str, now_ms: i64) -> amtsweg_store::appointments::BookingWrite {
    amtsweg_store::appointments::BookingWrite::Confirm {
        id,
        status: "confirmed".into(),
        personal: "sealed".into(),
        contact_hash: contact.into(),
        confirm_hash: None,
        hold_until: None,
        remind_at: None,
        purge_at: T0,
        now_ms,
        emails: Vec::new(),
        citizen_id: None,
        contact_limit: None,
    }
}

/// A bot cannot take a calendar from one address: many holds at once give at most
/// the open limit, and holding and confirming one after the other stops at the
/// hourly limit. Staff bookings are not limited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_cannot_hold_or_book_more_than_its_limits() {
    use amtsweg_store::appointments::{BookingOutcome, BookingWrite, ClientLimit};
    on_both(|store| async move {
        let c = calendar(&store).await;
        let limit = ClientLimit { open: 3, recent: 5, window_ms: 60 * MINUTE };
        let hold_write = |reference: String, start: i64, client: &str, by: &str| {
            let mut new = booking(c, &reference, start, 1, Some(NOW + 10 * MINUTE));
            new.client_key = client.into();
            new.booked_by = by.into();
            BookingWrite::Hold {
                new,
                unit_starts: starts(start, 1),
                counters: 2,
                now_ms: NOW,
                client_limit: Some(limit),
                calendar_version: 1,
            }
        };
        let tasks: Vec<_> = (0..20i64)
            .map(|i| {
                let (store, w) = (store.clone(), hold_write(format!("T-BOT-{i}"), T0 + i * UNIT, "bot", "citizen"));
                tokio::spawn(async move { book_one(&store, w).await })
            })
            .collect();
        let mut held = Vec::new();
        for t in tasks {
            if let BookingOutcome::Held(Some((id, _))) = t.await.unwrap() {
                held.push(id);
            }
        }
        assert_eq!(held.len(), 3, "20 holds at once from one address: 3 go through");
        assert_eq!(store.client_booking_counts("bot", NOW, 60 * MINUTE).await.unwrap(), (3, 3));
        // Confirming frees the open limit, but the bookings still count for the hour.
        for id in &held {
            assert_eq!(book_one(&store, confirm_write(*id, "mac-x", NOW)).await, BookingOutcome::Confirmed(true));
        }
        for i in 0..2 {
            let out = book_one(&store, hold_write(format!("T-BOT-B{i}"), T0 + (30 + i) * UNIT, "bot", "citizen")).await;
            let BookingOutcome::Held(Some((id, _))) = out else { panic!("{out:?}") };
            assert_eq!(book_one(&store, confirm_write(id, "mac-y", NOW)).await, BookingOutcome::Confirmed(true));
        }
        assert_eq!(store.client_booking_counts("bot", NOW, 60 * MINUTE).await.unwrap(), (0, 5));
        let refused = book_one(&store, hold_write("T-BOT-C".into(), T0 + 40 * UNIT, "bot", "citizen")).await;
        assert_eq!(refused, BookingOutcome::Held(None), "the hourly limit");
        assert!(store.appointment_by_manage_hash("manage-T-BOT-C").await.unwrap().is_none(), "nothing kept");
        // Another address, staff, and the same address an hour later are not stopped.
        let other = book_one(&store, hold_write("T-OTH-1".into(), T0 + 40 * UNIT, "other", "citizen")).await;
        assert!(matches!(other, BookingOutcome::Held(Some(_))));
        let staff = book_one(&store, hold_write("T-STF-1".into(), T0 + 41 * UNIT, "bot", "staff")).await;
        assert!(matches!(staff, BookingOutcome::Held(Some(_))));
        assert_eq!(store.client_booking_counts("bot", NOW + 61 * MINUTE, 60 * MINUTE).await.unwrap(), (0, 0));
    })
    .await;
}

/// Two new times held from one manage link and confirmed at the same moment: one
/// move goes through, the other is refused and expired — the citizen never ends up
/// with two bookings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_moves_of_one_booking_confirmed_at_once_leave_one_booking() {
    use amtsweg_store::appointments::BookingOutcome;
    on_both(|store| async move {
        let c = calendar(&store).await;
        for round in 0..5i64 {
            let base = T0 + round * 20 * UNIT;
            let (old, _) =
                hold(&store, &booking(c, &format!("T-MOV-{round}-0"), base, 1, Some(NOW + 10 * MINUTE)), 2, NOW)
                    .await
                    .unwrap();
            assert!(confirm(&store, old, NOW).await);
            let mut ids = Vec::new();
            for tab in 1..=2i64 {
                let mut m =
                    booking(c, &format!("T-MOV-{round}-{tab}"), base + tab * 4 * UNIT, 1, Some(NOW + 10 * MINUTE));
                m.replaces_id = Some(old);
                ids.push(hold(&store, &m, 2, NOW).await.unwrap().0);
            }
            let tasks: Vec<_> = ids
                .iter()
                .map(|id| {
                    let (store, w) = (store.clone(), confirm_write(*id, "mac-erika", NOW + MINUTE));
                    tokio::spawn(async move { book_one(&store, w).await })
                })
                .collect();
            let mut ok = 0;
            for t in tasks {
                ok += i32::from(t.await.unwrap() == BookingOutcome::Confirmed(true));
            }
            assert_eq!(ok, 1, "round {round}: exactly one move");
            assert_eq!(status(&store, c, old).await, "cancelled");
            let mut states = vec![status(&store, c, ids[0]).await, status(&store, c, ids[1]).await];
            states.sort();
            assert_eq!(states, ["confirmed", "expired"], "round {round}");
            let units = store.occupied_units(c.calendar, base, base + 20 * UNIT, NOW + MINUTE).await.unwrap();
            assert_eq!(units.len(), 1, "round {round}: only the moved booking's unit");
        }
    })
    .await;
}

/// The per-person limit holds inside the confirmation: of several confirmations with
/// one address at once, only as many as allowed go through; the booking being moved
/// does not count. A citizen who signed in since the hold is linked on confirmation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_per_person_and_the_account_are_settled_in_the_confirmation() {
    use amtsweg_store::appointments::{BookingOutcome, BookingWrite, ContactLimit};
    on_both(|store| async move {
        let c = calendar(&store).await;
        let limit = ContactLimit { count: 2, from_ms: T0 - 24 * 60 * MINUTE, to_ms: T0 + 24 * 60 * MINUTE };
        let mut ids = Vec::new();
        for i in 0..6i64 {
            let a = booking(c, &format!("T-LIM-{i}"), T0 + i * UNIT, 1, Some(NOW + 10 * MINUTE));
            ids.push(hold(&store, &a, 2, NOW).await.unwrap().0);
        }
        let tasks: Vec<_> = ids
            .iter()
            .map(|id| {
                let mut w = confirm_write(*id, "mac-same", NOW);
                if let BookingWrite::Confirm { contact_limit, .. } = &mut w {
                    *contact_limit = Some(limit);
                }
                let store = store.clone();
                tokio::spawn(async move { book_one(&store, w).await })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            ok += i32::from(t.await.unwrap() == BookingOutcome::Confirmed(true));
        }
        assert_eq!(ok, 2, "at most two bookings per person");
        assert_eq!(
            store.count_bookings_by_contact(c.authority, "mac-same", limit.from_ms, limit.to_ms).await.unwrap(),
            2
        );

        // A move of one of them is within the limit: the old one goes.
        let mut confirmed = Vec::new();
        for id in &ids {
            if status(&store, c, *id).await == "confirmed" {
                confirmed.push(*id);
            }
        }
        let mut m = booking(c, "T-LIM-MOVE", T0 + 10 * UNIT, 1, Some(NOW + 10 * MINUTE));
        m.replaces_id = Some(confirmed[0]);
        let (moved, _) = hold(&store, &m, 2, NOW).await.unwrap();
        let s = seed_citizen(&store).await;
        let mut w = confirm_write(moved, "mac-same", NOW);
        if let BookingWrite::Confirm { contact_limit, citizen_id, .. } = &mut w {
            *contact_limit = Some(limit);
            *citizen_id = Some(s);
        }
        assert_eq!(book_one(&store, w).await, BookingOutcome::Confirmed(true));
        let row = store.appointment(c.authority, moved).await.unwrap().unwrap();
        assert_eq!(row.citizen_id, Some(s), "linked to the account signed in since the hold");
        assert_eq!(store.appointments_of_citizen(s).await.unwrap().len(), 1);
    })
    .await;
}

async fn seed_citizen(store: &Store) -> i64 {
    let mut tx = store.begin().await.unwrap();
    let citizen = tx.insert_citizen("erika@example.org", "hash").await.unwrap().unwrap();
    tx.commit().await.unwrap();
    citizen
}

/// A hold checks in its own transaction that the calendar is still the version its
/// time was chosen from: one worked out from an older calendar is refused and
/// writes nothing — also when it comes while the calendar is being saved: it waits
/// for the save and is refused after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_chosen_from_a_calendar_saved_meanwhile_writes_nothing() {
    use amtsweg_store::appointments::{BookingOutcome, BookingWrite};
    on_both(|store| async move {
        let c = calendar(&store).await;
        let hold_write = |reference: &str, start: i64, version: i64| BookingWrite::Hold {
            new: booking(c, reference, start, 2, Some(NOW + 10 * MINUTE)),
            unit_starts: starts(start, 2),
            counters: 2,
            now_ms: NOW,
            client_limit: None,
            calendar_version: version,
        };
        let save = |settings: &'static str, version: i64| {
            let store = store.clone();
            async move {
                let mut tx = store.begin().await.unwrap();
                let saved = tx.save_appointment_calendar(c.authority, c.location, settings, version).await.unwrap();
                (tx, saved)
            }
        };
        // Staff took a counter away (version 1 → 2) before the hold arrived.
        let (tx, saved) = save(r#"{"counters":1}"#, 1).await;
        assert_eq!(saved, Some((c.calendar, 2)));
        tx.commit().await.unwrap();
        assert_eq!(book_one(&store, hold_write("T-OLD-1", T0, 1)).await, BookingOutcome::Held(None));
        assert!(store.appointment_by_manage_hash("manage-T-OLD-1").await.unwrap().is_none());
        assert!(occupied(&store, c, NOW).await.is_empty(), "no unit written");

        // In a batch too, beside a hold chosen from the current calendar.
        let out = store.book_all(&[hold_write("T-OLD-2", T0, 1), hold_write("T-NEW-1", T0 + 4 * UNIT, 2)]).await;
        assert_eq!(out[0].as_ref().unwrap(), &BookingOutcome::Held(None));
        assert!(matches!(out[1].as_ref().unwrap(), BookingOutcome::Held(Some(_))));
        assert!(store.appointment_by_manage_hash("manage-T-OLD-2").await.unwrap().is_none());
        assert_eq!(occupied(&store, c, NOW).await.len(), 2, "only the current hold's units");

        // A hold that comes while a save is being written waits for it, then sees
        // the new version and is refused.
        let (tx, saved) = save(r#"{"counters":2}"#, 2).await;
        assert_eq!(saved, Some((c.calendar, 3)));
        let pending = {
            let (store, w) = (store.clone(), hold_write("T-OLD-3", T0 + 8 * UNIT, 2));
            tokio::spawn(async move { book_one(&store, w).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(!pending.is_finished(), "the hold waits for the calendar save");
        tx.commit().await.unwrap();
        assert_eq!(pending.await.unwrap(), BookingOutcome::Held(None));
        assert!(store.appointment_by_manage_hash("manage-T-OLD-3").await.unwrap().is_none());
        let again = book_one(&store, hold_write("T-NEW-2", T0 + 8 * UNIT, 3)).await;
        assert!(matches!(again, BookingOutcome::Held(Some(_))), "chosen again from the saved calendar: held");
    })
    .await;
}
