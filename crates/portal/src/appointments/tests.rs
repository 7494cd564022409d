//! The citizen's booking on both databases: hold → confirm → cancel, double opt-in,
//! the per-person limit, the hold quota, taken times, moves and bad links.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::booking::{self, Held, RefusalKind};
use super::journey::{self, Journey};
use super::manage;
use super::testing::{Fixture, LEIKA, OTHER_LEIKA, at, both, day, journey};
use super::view::Contact;
use crate::PortalError;
use amtsweg_domain::appointments::{AppointmentStatus, BookingLimit, BookingRules};
use amtsweg_store::testing::execute_sql;

fn erika() -> Contact {
    Contact {
        name: "Erika Mustermann".into(),
        email: "erika@example.org".into(),
        phone: "05551 1234".into(),
        notes: "Rollstuhl".into(),
    }
}

async fn hold(fx: &Fixture, j: &Journey, hour: i8, minute: i8, client: &str) -> Result<Held, booking::Refused> {
    booking::hold(&fx.portal, fx.authority, j, at(hour, minute), client, None, None).await.unwrap()
}

async fn book(fx: &Fixture, hour: i8, minute: i8, contact: Contact) -> String {
    let held = hold(fx, &journey(), hour, minute, "").await.unwrap();
    let c = booking::confirm(&fx.portal, &held.token, contact, None).await.unwrap().unwrap();
    assert!(!c.needs_email);
    held.token
}

async fn free_at(fx: &Fixture, hour: i8, minute: i8) -> bool {
    let times =
        journey::day(&fx.portal, fx.authority, &journey(), day(), crate::time::now_local()).await.unwrap().unwrap();
    times.iter().any(|t| t.start == at(hour, minute))
}

#[tokio::test]
async fn a_booking_is_held_confirmed_with_a_calendar_file_and_cancelled_by_its_link() {
    for fx in both().await {
        assert!(free_at(&fx, 10, 0).await, "{}", fx.t.name);
        let held = hold(&fx, &journey(), 10, 0, "browser-1").await.unwrap();
        assert!(!free_at(&fx, 10, 0).await, "held times are not offered");
        assert!(!free_at(&fx, 9, 50).await, "20 minutes: the unit before cannot start a booking either");
        let v = booking::by_token(&fx.portal, &held.token).await.unwrap().unwrap();
        assert_eq!((v.status, v.contact.as_ref()), (AppointmentStatus::Held, None));

        let c = booking::confirm(&fx.portal, &held.token, erika(), None).await.unwrap().unwrap();
        assert!(!c.needs_email && !c.moved);
        let v = booking::by_token(&fx.portal, &held.token).await.unwrap().unwrap();
        assert_eq!(v.status, AppointmentStatus::Confirmed);
        assert_eq!(v.contact.as_ref().map(|c| c.name.as_str()), Some("Erika Mustermann"));
        assert_eq!(v.services[0].1, "Personalausweis beantragen");
        // Sealed at rest.
        assert_eq!(
            amtsweg_store::testing::count_containing(&fx.portal.store, "appointments", "personal", "Mustermann").await,
            0
        );

        let mails = fx.mails().await;
        assert_eq!(mails.len(), 1);
        let m = &mails[0];
        assert_eq!(m.to, "erika@example.org");
        assert!(m.body.contains(&format!("https://portal.example/termin/{}", held.token)), "{}", m.body);
        assert!(m.body.contains("biometrisches Passfoto"), "documents to bring: {}", m.body);
        assert!(m.body.contains("Marktplatz 1, 29391 Moorbrück"));
        let ics = &m.attachments[0].content;
        for needle in ["BEGIN:VEVENT", "BEGIN:VALARM", "TRIGGER:-PT1440M", "METHOD:REQUEST", &v.reference] {
            assert!(ics.contains(needle), "{needle} in {ics}");
        }

        let cancelled = manage::cancel(&fx.portal, &held.token).await.unwrap().unwrap();
        assert_eq!(cancelled.status, AppointmentStatus::Cancelled);
        assert!(free_at(&fx, 10, 0).await, "a cancelled time is free again");
        let mails = fx.mails().await;
        assert_eq!(mails.len(), 2);
        assert!(mails[1].attachments[0].content.contains("METHOD:CANCEL"));
        assert!(mails[1].subject.contains("abgesagt"));
        let again = manage::cancel(&fx.portal, &held.token).await.unwrap();
        assert_eq!(again.unwrap_err(), "Dieser Termin ist bereits abgesagt.");
        fx.cleanup().await;
    }
}

#[tokio::test]
async fn unknown_or_tampered_links_find_nothing_and_change_nothing() {
    for fx in both().await {
        let token = book(&fx, 11, 0, erika()).await;
        let mut tampered = token.clone();
        tampered.replace_range(0..1, if token.starts_with('A') { "B" } else { "A" });
        for bad in [tampered.as_str(), "", "kurz", &"x".repeat(200)] {
            assert!(booking::by_token(&fx.portal, bad).await.unwrap().is_none());
            assert!(matches!(manage::cancel(&fx.portal, bad).await, Err(PortalError::NotFound)));
            assert!(matches!(booking::confirm(&fx.portal, bad, erika(), None).await, Err(PortalError::NotFound)));
            assert!(matches!(booking::confirm_email(&fx.portal, bad).await, Err(PortalError::NotFound)));
        }
        let v = booking::by_token(&fx.portal, &token).await.unwrap().unwrap();
        assert_eq!(v.status, AppointmentStatus::Confirmed, "the real booking is untouched");
        let again = booking::confirm(&fx.portal, &token, erika(), None).await.unwrap();
        assert_eq!(again.unwrap_err(), "Dieser Termin ist bereits gebucht.");
        fx.cleanup().await;
    }
}

#[tokio::test]
async fn a_taken_time_is_refused_with_the_next_free_times() {
    for fx in both().await {
        hold(&fx, &journey(), 12, 0, "a").await.unwrap();
        let refused = hold(&fx, &journey(), 12, 0, "b").await.unwrap_err();
        assert_eq!(refused.kind, RefusalKind::Taken);
        assert!(refused.message.starts_with("Dieser Termin wurde gerade vergeben"));
        assert_eq!(refused.next.len(), journey::NEXT_TIMES);
        assert_eq!(refused.next[0].start, at(12, 20), "the same day first, after the taken time");
        fx.cleanup().await;
    }
}

#[tokio::test]
async fn a_flood_of_holds_from_one_client_is_stopped() {
    for fx in both().await {
        for i in 0..booking::MAX_HOLDS_PER_CLIENT {
            hold(&fx, &journey(), 13, i8::try_from(i * 20).unwrap(), "bot").await.unwrap();
        }
        let refused = hold(&fx, &journey(), 15, 0, "bot").await.unwrap_err();
        assert_eq!(refused.kind, RefusalKind::TooManyHolds);
        assert!(refused.message.contains("reserviert"));
        assert!(free_at(&fx, 15, 0).await, "nothing held for the refused request");
        hold(&fx, &journey(), 15, 0, "someone-else").await.unwrap();
        fx.cleanup().await;
    }
}

#[tokio::test]
async fn bad_journeys_get_german_messages_and_hold_nothing() {
    for fx in both().await {
        let too_many = Journey { persons: 4, ..journey() };
        let r = hold(&fx, &too_many, 10, 0, "").await.unwrap_err();
        assert_eq!(r.kind, RefusalKind::Invalid);
        assert!(r.message.contains('3'), "{}", r.message);

        let not_offered = Journey { services: vec![OTHER_LEIKA.into()], ..journey() };
        let r = hold(&fx, &not_offered, 10, 0, "").await.unwrap_err();
        assert!(r.message.contains("keinen Termin online"), "{}", r.message);

        let foreign = Journey { calendar: Some(fx.other_calendar), ..journey() };
        let r = hold(&fx, &foreign, 10, 0, "").await.unwrap_err();
        assert!(r.message.contains("Standort"), "another authority's calendar: {}", r.message);

        let far = crate::time::now_local().date().checked_add(jiff::Span::new().days(40)).unwrap().at(10, 0, 0, 0);
        let r = booking::hold(&fx.portal, fx.authority, &journey(), far, "", None, None).await.unwrap().unwrap_err();
        assert_eq!(r.kind, RefusalKind::Invalid);

        let r = hold(&fx, &journey(), 10, 5, "").await.unwrap_err();
        assert_eq!(r.kind, RefusalKind::Invalid, "not on the grid: {}", r.message);
        let r = hold(&fx, &journey(), 20, 0, "").await.unwrap_err();
        assert_eq!(r.kind, RefusalKind::Invalid, "after hours: {}", r.message);

        assert!(free_at(&fx, 10, 0).await);
        let empty = Journey { services: Vec::new(), ..journey() };
        let r = hold(&fx, &empty, 10, 0, "").await.unwrap_err();
        assert!(r.message.contains("mindestens eine Leistung"));
        fx.cleanup().await;
    }
}

#[tokio::test]
async fn several_persons_take_longer() {
    for fx in both().await {
        let two = Journey { persons: 2, ..journey() };
        let held = hold(&fx, &two, 10, 0, "").await.unwrap();
        let v = booking::by_token(&fx.portal, &held.token).await.unwrap().unwrap();
        assert_eq!((v.start, v.end), (at(10, 0), at(10, 30)));
        assert!(!free_at(&fx, 10, 20).await);
        assert!(free_at(&fx, 10, 30).await);
        fx.cleanup().await;
    }
}

#[tokio::test]
async fn an_expired_hold_cannot_be_confirmed_and_frees_the_time() {
    for fx in both().await {
        let held = hold(&fx, &journey(), 14, 0, "").await.unwrap();
        execute_sql(&fx.portal.store, "UPDATE appointments SET hold_until = 1").await;
        execute_sql(&fx.portal.store, "UPDATE appointment_units SET hold_until = 1").await;
        assert!(free_at(&fx, 14, 0).await);
        let r = booking::confirm(&fx.portal, &held.token, erika(), None).await.unwrap();
        assert!(r.unwrap_err().contains("abgelaufen"));
        assert!(fx.mails().await.is_empty());
        fx.cleanup().await;
    }
}

#[tokio::test]
async fn with_double_opt_in_the_link_confirms_and_an_unconfirmed_booking_expires() {
    for fx in both().await {
        fx.set_rules(&BookingRules { double_opt_in: true, ..BookingRules::default() }).await;
        let held = hold(&fx, &journey(), 10, 0, "").await.unwrap();
        let c = booking::confirm(&fx.portal, &held.token, erika(), None).await.unwrap().unwrap();
        assert!(c.needs_email);
        assert_eq!(c.view.status, AppointmentStatus::Preconfirmed);
        let mails = fx.mails().await;
        assert_eq!(mails.len(), 1);
        assert!(mails[0].attachments.is_empty(), "no calendar entry before the confirmation");
        let link = mails[0].body.lines().find(|l| l.contains("/termin/bestaetigen/")).unwrap().to_owned();
        let confirm_token = link.rsplit('/').next().unwrap().to_owned();

        let v = booking::confirm_email(&fx.portal, &confirm_token).await.unwrap().unwrap();
        assert_eq!(v.status, AppointmentStatus::Confirmed);
        let again = booking::confirm_email(&fx.portal, &confirm_token).await.unwrap().unwrap();
        assert_eq!(again.status, AppointmentStatus::Confirmed, "the link works twice without harm");
        let mails = fx.mails().await;
        assert_eq!(mails.len(), 2);
        assert!(mails[1].body.contains(&held.token), "the confirmation carries the manage link");
        assert!(mails[1].attachments[0].content.contains("BEGIN:VEVENT"));

        // A second booking is never confirmed: it runs out.
        let held = hold(&fx, &journey(), 11, 0, "").await.unwrap();
        booking::confirm(&fx.portal, &held.token, erika(), None).await.unwrap().unwrap();
        let link = fx.mails().await[2].body.lines().find(|l| l.contains("/termin/bestaetigen/")).unwrap().to_owned();
        execute_sql(&fx.portal.store, "UPDATE appointments SET hold_until = 1 WHERE status = 'preconfirmed'").await;
        execute_sql(&fx.portal.store, "UPDATE appointment_units SET hold_until = 1 WHERE hold_until IS NOT NULL").await;
        let r = booking::confirm_email(&fx.portal, link.rsplit('/').next().unwrap()).await.unwrap();
        assert!(r.unwrap_err().contains("Frist"));
        assert!(free_at(&fx, 11, 0).await);

        // Signed-in citizens need no link.
        let mut tx = fx.portal.store.begin().await.unwrap();
        let citizen = tx.insert_citizen("max@example.org", "x").await.unwrap().unwrap();
        tx.commit().await.unwrap();
        let held = booking::hold(&fx.portal, fx.authority, &journey(), at(12, 0), "", Some(citizen), None)
            .await
            .unwrap()
            .unwrap();
        let c = booking::confirm(&fx.portal, &held.token, erika(), Some(citizen)).await.unwrap().unwrap();
        assert!(!c.needs_email);
        let mine = manage::citizen_appointments(&fx.portal, citizen).await.unwrap();
        assert_eq!(mine.len(), 1);
        assert!(matches!(
            manage::cancel_for_citizen(&fx.portal, citizen + 1, mine[0].id).await,
            Err(PortalError::NotFound)
        ));
        let v = manage::cancel_for_citizen(&fx.portal, citizen, mine[0].id).await.unwrap().unwrap();
        assert_eq!(v.status, AppointmentStatus::Cancelled);
        fx.cleanup().await;
    }
}

#[tokio::test]
async fn the_limit_per_person_counts_the_e_mail_address_in_any_case() {
    for fx in both().await {
        fx.set_rules(&BookingRules { limit: Some(BookingLimit { count: 1, days: 30 }), ..BookingRules::default() })
            .await;
        book(&fx, 10, 0, erika()).await;
        let held = hold(&fx, &journey(), 11, 0, "").await.unwrap();
        let shouting = Contact { email: " ERIKA@Example.org ".into(), ..erika() };
        let r = booking::confirm(&fx.portal, &held.token, shouting, None).await.unwrap();
        assert!(r.unwrap_err().contains("höchstens 1 Termine innerhalb von 30 Tagen"));
        let other = Contact { email: "max@example.org".into(), ..erika() };
        booking::confirm(&fx.portal, &held.token, other, None).await.unwrap().unwrap();
        fx.cleanup().await;
    }
}

#[tokio::test]
async fn a_move_keeps_the_old_time_until_the_new_one_is_confirmed() {
    for fx in both().await {
        fx.set_rules(&BookingRules { limit: Some(BookingLimit { count: 1, days: 30 }), ..BookingRules::default() })
            .await;
        let old = book(&fx, 10, 0, erika()).await;
        let v = booking::by_token(&fx.portal, &old).await.unwrap().unwrap();
        let j = manage::journey_of(&v, Vec::new());
        let new = manage::move_hold(&fx.portal, &old, &j, at(15, 0), "").await.unwrap().unwrap();
        assert!(!free_at(&fx, 10, 0).await && !free_at(&fx, 15, 0).await);
        let moving = booking::by_token(&fx.portal, &new.token).await.unwrap().unwrap();
        assert_eq!(manage::prefill(&fx.portal, &moving).await.unwrap(), Some(erika()));
        let c = booking::confirm(&fx.portal, &new.token, erika(), None).await.unwrap().unwrap();
        assert!(c.moved, "the limit does not count the booking being moved");
        assert_eq!(booking::by_token(&fx.portal, &old).await.unwrap().unwrap().status, AppointmentStatus::Cancelled);
        assert!(free_at(&fx, 10, 0).await, "the old time is free after the move");
        let mails = fx.mails().await;
        let m = mails.last().unwrap();
        assert!(m.body.contains("verschoben"), "{}", m.body);
        assert_eq!(m.attachments.len(), 2);
        assert!(m.attachments[1].content.contains("METHOD:CANCEL"));
        // The old link no longer moves anything.
        let r = manage::move_hold(&fx.portal, &old, &j, at(16, 0), "").await.unwrap().unwrap_err();
        assert_eq!(r.kind, RefusalKind::Invalid);
        fx.cleanup().await;
    }
}

#[tokio::test]
async fn the_month_lists_the_days_of_the_window_with_their_free_times() {
    for fx in both().await {
        let now = crate::time::now_local();
        let d = day();
        let days =
            journey::month(&fx.portal, fx.authority, &journey(), d.year(), d.month(), now).await.unwrap().unwrap();
        let (_, free) = days.iter().find(|(x, _)| *x == d).unwrap();
        // 08:00–18:00 in 10-minute steps, 20 minutes each: 59 start times.
        assert_eq!(*free, 59);
        assert!(days.iter().all(|(x, _)| *x > now.date()), "today is before the window");
        book(&fx, 8, 0, erika()).await;
        let days =
            journey::month(&fx.portal, fx.authority, &journey(), d.year(), d.month(), now).await.unwrap().unwrap();
        assert_eq!(days.iter().find(|(x, _)| *x == d).unwrap().1, 57);
        let offers = journey::offers(&fx.portal, fx.authority).await.unwrap();
        assert_eq!(offers.len(), 1);
        assert_eq!((offers[0].leika.as_str(), offers[0].calendars.as_slice()), (LEIKA, [fx.calendar].as_slice()));
        fx.cleanup().await;
    }
}

#[tokio::test]
async fn fifty_citizens_racing_for_the_last_time_get_it_once() {
    for fx in both().await {
        // Only 10:00 is left on that day.
        let mut cal = super::testing::calendar();
        cal.hours = Some(std::array::from_fn(|_| {
            vec![amtsweg_domain::opening_hours::Interval { from: 10 * 60, to: 10 * 60 + 20 }]
        }));
        fx.set_calendar(&cal).await;
        let mut tasks = Vec::new();
        for i in 0..50 {
            let portal = fx.portal.clone();
            let authority = fx.authority;
            tasks.push(tokio::spawn(async move {
                booking::hold(&portal, authority, &journey(), at(10, 0), &format!("c{i}"), None, None).await.unwrap()
            }));
        }
        let mut won = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => won += 1,
                Err(r) => assert_eq!(r.kind, RefusalKind::Taken, "{}", r.message),
            }
        }
        assert_eq!(won, 1, "{}", fx.t.name);
        // Another authority's calendar is not affected.
        let other = Journey { calendar: Some(fx.other_calendar), ..journey() };
        booking::hold(&fx.portal, fx.other_authority, &other, at(10, 0), "", None, None).await.unwrap().unwrap();
        fx.cleanup().await;
    }
}

#[tokio::test]
async fn triage_answers_end_the_journey_or_add_time() {
    use amtsweg_domain::appointments::{TriageAnswer, TriageEffect, TriageQuestion};
    for fx in both().await {
        let question = TriageQuestion {
            id: "erst".into(),
            text: "Ist es Ihr erster Ausweis?".into(),
            leika: vec![LEIKA.into()],
            answers: vec![
                TriageAnswer { id: "ja".into(), label: "Ja".into(), effect: TriageEffect::AddMinutes(10) },
                TriageAnswer {
                    id: "verlust".into(),
                    label: "Ich möchte einen Verlust melden".into(),
                    effect: TriageEffect::NoAppointment {
                        message: "Einen Verlust melden Sie online.".into(),
                        link: "/o/moorbrueck/leistungen/verlust".into(),
                    },
                },
            ],
        };
        fx.set_rules(&BookingRules { triage: vec![question], ..BookingRules::default() }).await;
        let r = hold(&fx, &journey(), 10, 0, "").await.unwrap_err();
        assert!(r.message.contains("Ist es Ihr erster Ausweis?"), "unanswered: {}", r.message);
        let lost = Journey { answers: vec![("erst".into(), "verlust".into())], ..journey() };
        assert_eq!(hold(&fx, &lost, 10, 0, "").await.unwrap_err().message, "Einen Verlust melden Sie online.");
        let first = Journey { answers: vec![("erst".into(), "ja".into())], ..journey() };
        let held = hold(&fx, &first, 10, 0, "").await.unwrap();
        let v = booking::by_token(&fx.portal, &held.token).await.unwrap().unwrap();
        assert_eq!(v.end, at(10, 30), "20 minutes plus 10 for the first card");
        fx.cleanup().await;
    }
}

#[tokio::test]
async fn a_closed_day_offers_no_times() {
    for fx in both().await {
        let mut cal = super::testing::calendar();
        cal.closed_days = vec![day()];
        fx.set_calendar(&cal).await;
        assert!(!free_at(&fx, 10, 0).await);
        let r = hold(&fx, &journey(), 10, 0, "").await.unwrap_err();
        assert_eq!(r.kind, RefusalKind::Invalid);
        assert!(!r.next.is_empty(), "the next free times are offered instead");
        assert!(r.next.iter().all(|t| t.start.date() > day()));
        fx.cleanup().await;
    }
}

#[tokio::test]
async fn one_link_moves_its_booking_once_and_a_proven_address_needs_no_second_link() {
    for fx in both().await {
        fx.set_rules(&BookingRules { double_opt_in: true, ..BookingRules::default() }).await;
        let held = hold(&fx, &journey(), 10, 0, "").await.unwrap();
        booking::confirm(&fx.portal, &held.token, erika(), None).await.unwrap().unwrap();
        let link = fx.mails().await[0].body.lines().find(|l| l.contains("/termin/bestaetigen/")).unwrap().to_owned();
        booking::confirm_email(&fx.portal, link.rsplit('/').next().unwrap()).await.unwrap().unwrap();
        let old = held.token;
        let v = booking::by_token(&fx.portal, &old).await.unwrap().unwrap();
        let j = manage::journey_of(&v, Vec::new());
        let tab1 = manage::move_hold(&fx.portal, &old, &j, at(15, 0), "").await.unwrap().unwrap();
        let tab2 = manage::move_hold(&fx.portal, &old, &j, at(16, 0), "").await.unwrap().unwrap();
        let c = booking::confirm(&fx.portal, &tab1.token, erika(), None).await.unwrap().unwrap();
        assert!(c.moved && !c.needs_email, "same address as before: confirmed at once");
        let r = booking::confirm(&fx.portal, &tab2.token, erika(), None).await.unwrap();
        assert!(r.unwrap_err().contains("schon verschoben"));
        // A move to another address goes through the e-mail confirmation again.
        let again = manage::move_hold(&fx.portal, &tab1.token, &j, at(17, 0), "").await.unwrap().unwrap();
        let other = Contact { email: "neu@example.org".into(), ..erika() };
        let c = booking::confirm(&fx.portal, &again.token, other, None).await.unwrap().unwrap();
        assert!(c.needs_email && !c.moved);
        let still = booking::by_token(&fx.portal, &tab1.token).await.unwrap().unwrap();
        assert_eq!(still.status, AppointmentStatus::Confirmed, "kept until the new one is confirmed");
        fx.cleanup().await;
    }
}

/// A bot on one address cannot take a calendar: 20 holds at once give 3, and holding
/// and confirming with ever new e-mail addresses stops after 10 bookings an hour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_book_a_whole_calendar() {
    for fx in both().await {
        let mut tasks = Vec::new();
        for i in 0..20i8 {
            let portal = fx.portal.clone();
            let authority = fx.authority;
            tasks.push(tokio::spawn(async move {
                let start = at(8 + i / 3, (i % 3) * 20);
                booking::hold(&portal, authority, &journey(), start, "bot", None, None).await.unwrap()
            }));
        }
        let mut held = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                Ok(h) => held.push(h),
                Err(r) => assert_eq!(r.kind, RefusalKind::TooManyHolds, "{}", r.message),
            }
        }
        assert_eq!(held.len() as i64, booking::MAX_HOLDS_PER_CLIENT, "{}", fx.t.name);
        let person = |i: usize| Contact { email: format!("bot{i}@example.org"), ..erika() };
        for (i, h) in held.iter().enumerate() {
            booking::confirm(&fx.portal, &h.token, person(i), None).await.unwrap().unwrap();
        }
        let mut i = held.len();
        let refused = loop {
            let k = i - held.len();
            let start = at(15 + i8::try_from(k / 3).unwrap(), i8::try_from(k % 3).unwrap() * 20);
            match hold(&fx, &journey(), start.hour(), start.minute(), "bot").await {
                Ok(h) => booking::confirm(&fx.portal, &h.token, person(i), None).await.unwrap().unwrap(),
                Err(r) => break r,
            };
            i += 1;
        };
        assert_eq!(i as i64, booking::MAX_BOOKINGS_PER_CLIENT_HOUR, "{}", fx.t.name);
        assert_eq!(refused.kind, RefusalKind::TooManyHolds);
        assert!(refused.message.contains("zu viele Termine gebucht"), "{}", refused.message);
        // Other addresses book on.
        hold(&fx, &journey(), 17, 40, "neighbour").await.unwrap();
        fx.cleanup().await;
    }
}

/// Staff close the day (or block the time, or switch the calendar off) while a
/// citizen holds a time or waits for the confirmation e-mail: it cannot be confirmed.
#[tokio::test]
async fn a_time_closed_after_the_hold_cannot_be_confirmed() {
    for fx in both().await {
        let held = hold(&fx, &journey(), 10, 0, "").await.unwrap();
        let mut cal = super::testing::calendar();
        cal.closed_days = vec![day()];
        fx.set_calendar(&cal).await;
        let r = booking::confirm(&fx.portal, &held.token, erika(), None).await.unwrap();
        assert!(r.unwrap_err().contains("keine Termine mehr vergeben (Schließtag)"), "{}", fx.t.name);
        assert!(fx.mails().await.is_empty());

        fx.set_calendar(&super::testing::calendar()).await;
        let held = hold(&fx, &journey(), 11, 0, "").await.unwrap();
        let mut cal = super::testing::calendar();
        cal.blocked = vec![amtsweg_domain::appointments::BlockedPeriod {
            from: at(11, 10),
            to: at(12, 0),
            reason: "Schulung".into(),
        }];
        fx.set_calendar(&cal).await;
        let r = booking::confirm(&fx.portal, &held.token, erika(), None).await.unwrap();
        assert!(r.unwrap_err().contains("keine Termine mehr vergeben"));

        fx.set_rules(&BookingRules { double_opt_in: true, ..BookingRules::default() }).await;
        fx.set_calendar(&super::testing::calendar()).await;
        let held = hold(&fx, &journey(), 13, 0, "").await.unwrap();
        assert!(booking::confirm(&fx.portal, &held.token, erika(), None).await.unwrap().unwrap().needs_email);
        let link = fx.mails().await[0].body.lines().find(|l| l.contains("/termin/bestaetigen/")).unwrap().to_owned();
        let mut cal = super::testing::calendar();
        cal.active = false;
        fx.set_calendar(&cal).await;
        let r = booking::confirm_email(&fx.portal, link.rsplit('/').next().unwrap()).await.unwrap();
        assert!(r.unwrap_err().contains("zurzeit keine Termine online"));
        let v = booking::by_token(&fx.portal, &held.token).await.unwrap().unwrap();
        assert_eq!(v.status, AppointmentStatus::Preconfirmed, "not confirmed");
        fx.cleanup().await;
    }
}

/// Two new times held from one manage link (two tabs) and confirmed at the same
/// moment: one move, one refusal — never two bookings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_moves_confirmed_at_once_leave_one_booking() {
    for fx in both().await {
        let old = book(&fx, 9, 0, erika()).await;
        let v = booking::by_token(&fx.portal, &old).await.unwrap().unwrap();
        let j = manage::journey_of(&v, Vec::new());
        let tab1 = manage::move_hold(&fx.portal, &old, &j, at(15, 0), "").await.unwrap().unwrap();
        let tab2 = manage::move_hold(&fx.portal, &old, &j, at(16, 0), "").await.unwrap().unwrap();
        let tasks: Vec<_> = [tab1.token.clone(), tab2.token.clone()]
            .into_iter()
            .map(|t| {
                let portal = fx.portal.clone();
                tokio::spawn(async move { booking::confirm(&portal, &t, erika(), None).await.unwrap() })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(c) => {
                    assert!(c.moved);
                    ok += 1;
                }
                Err(m) => assert!(m.contains("schon verschoben"), "{m}"),
            }
        }
        assert_eq!(ok, 1, "{}", fx.t.name);
        let mut standing = 0;
        for t in [&old, &tab1.token, &tab2.token] {
            let v = booking::by_token(&fx.portal, t).await.unwrap().unwrap();
            standing += i32::from(v.status == AppointmentStatus::Confirmed);
        }
        assert_eq!(standing, 1, "{}: one booking stands", fx.t.name);
        fx.cleanup().await;
    }
}

/// A citizen who signs in between choosing the time and confirming it finds the
/// booking in the account.
#[tokio::test]
async fn signing_in_before_confirming_puts_the_booking_into_the_account() {
    for fx in both().await {
        fx.set_rules(&BookingRules { double_opt_in: true, ..BookingRules::default() }).await;
        let mut tx = fx.portal.store.begin().await.unwrap();
        let citizen = tx.insert_citizen("erika@example.org", "x").await.unwrap().unwrap();
        tx.commit().await.unwrap();
        let held = hold(&fx, &journey(), 10, 0, "").await.unwrap();
        let c = booking::confirm(&fx.portal, &held.token, erika(), Some(citizen)).await.unwrap().unwrap();
        assert!(!c.needs_email, "signed in: no e-mail link needed");
        let mine = manage::citizen_appointments(&fx.portal, citizen).await.unwrap();
        assert_eq!(mine.len(), 1, "{}", fx.t.name);
        assert_eq!(mine[0].citizen_id, Some(citizen));
        fx.cleanup().await;
    }
}

/// When the sealed contact data of a booking waiting for its e-mail confirmation
/// does not open, the link fails loudly instead of confirming a booking nobody hears of.
#[tokio::test]
async fn a_confirmation_link_whose_contact_data_does_not_open_confirms_nothing() {
    for fx in both().await {
        fx.set_rules(&BookingRules { double_opt_in: true, ..BookingRules::default() }).await;
        let held = hold(&fx, &journey(), 10, 0, "").await.unwrap();
        booking::confirm(&fx.portal, &held.token, erika(), None).await.unwrap().unwrap();
        let link = fx.mails().await[0].body.lines().find(|l| l.contains("/termin/bestaetigen/")).unwrap().to_owned();
        execute_sql(&fx.portal.store, "UPDATE appointments SET personal = 'kaputt'").await;
        let r = booking::confirm_email(&fx.portal, link.rsplit('/').next().unwrap()).await;
        assert!(matches!(r, Err(PortalError::Internal(_))), "{}", fx.t.name);
        let row = fx.portal.store.appointment_by_manage_hash(&crate::tokens::hash_token(&held.token)).await;
        assert_eq!(row.unwrap().unwrap().status, "preconfirmed");
        fx.cleanup().await;
    }
}

/// A receipt number links a booking to an application only when the authority has
/// that application: a made-up (or another authority's) number is refused before the
/// hold, and the first step drops it with a notice so the citizen can go on.
#[tokio::test]
async fn a_booking_links_only_a_receipt_number_the_authority_has_issued() {
    use amtsweg_store::submissions::NewSubmission;
    for fx in both().await {
        let form: amtsweg_forms::Form = serde_json::from_value(serde_json::json!({
            "id": "ausweis", "title": "Ausweis", "steps": [{"id": "a", "title": "A", "items": []}]
        }))
        .unwrap();
        let slug = amtsweg_domain::Slug::parse("ausweis").unwrap();
        let mut tx = fx.portal.store.begin().await.unwrap();
        let form_id = tx.create_form(fx.authority, &slug, None, &form, None).await.unwrap();
        let s = NewSubmission {
            form_token: "antrag-1",
            authority_id: fx.authority,
            form_id,
            form_version: 1,
            title: "Ausweis",
            org_unit_id: None,
            citizen_id: None,
            browser_hash: "b",
            data: "sealed",
            data_hash: "h",
            receipt_prefix: "MO",
            year: 2026,
            confirmation: None,
        };
        let receipt = tx.submit(&s).await.unwrap().receipt_number;
        tx.commit().await.unwrap();
        let with = |r: &str| Journey { receipt: Some(r.into()), ..journey() };

        let made_up = with("MO-2026-999999");
        let refused = hold(&fx, &made_up, 10, 0, "").await.unwrap_err();
        assert_eq!((refused.kind, refused.message.as_str()), (RefusalKind::Invalid, journey::RECEIPT_UNKNOWN));
        let now = crate::time::now_local();
        let times = journey::day(&fx.portal, fx.authority, &made_up, day(), now).await.unwrap();
        assert_eq!(times.unwrap_err(), journey::RECEIPT_UNKNOWN, "{}", fx.t.name);
        let mut dropped = made_up.clone();
        let notice = journey::drop_unknown_receipt(&fx.portal, fx.authority, &mut dropped).await.unwrap();
        assert_eq!((notice, dropped.receipt), (Some(journey::RECEIPT_UNKNOWN), None));
        assert!(!journey::receipt_known(&fx.portal, fx.other_authority, &with(&receipt)).await.unwrap());

        let held = hold(&fx, &with(&receipt), 10, 0, "").await.unwrap();
        let v = booking::by_token(&fx.portal, &held.token).await.unwrap().unwrap();
        assert_eq!(v.receipt_number.as_deref(), Some(receipt.as_str()));
        fx.cleanup().await;
    }
}

/// Staff save the calendar (here: the grid moves five minutes) while a citizen's
/// hold is on its way: the hold waits for the save, is refused, writes nothing,
/// and the citizen is offered the next free times of the calendar as it is now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_chosen_before_a_calendar_save_writes_nothing_and_offers_the_new_times() {
    for fx in both().await {
        let mut cal = super::testing::calendar();
        cal.hours = Some(std::array::from_fn(|_| {
            vec![amtsweg_domain::opening_hours::Interval { from: 8 * 60 + 5, to: 18 * 60 }]
        }));
        let row = fx.portal.store.appointment_calendar(fx.authority, fx.calendar).await.unwrap().unwrap();
        let mut tx = fx.portal.store.begin().await.unwrap();
        let settings = serde_json::to_string(&cal).unwrap();
        assert!(
            tx.save_appointment_calendar(fx.authority, row.location_id, &settings, row.version)
                .await
                .unwrap()
                .is_some()
        );
        let pending = {
            let portal = fx.portal.clone();
            let authority = fx.authority;
            tokio::spawn(async move {
                booking::hold(&portal, authority, &journey(), at(10, 0), "browser-1", None, None).await.unwrap()
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(!pending.is_finished(), "{}: the hold waits for the calendar save", fx.t.name);
        tx.commit().await.unwrap();
        let refused = pending.await.unwrap().unwrap_err();
        assert_eq!(refused.kind, RefusalKind::Taken, "{}", fx.t.name);
        assert!(refused.message.contains("gerade geändert"), "{}", refused.message);
        assert!(!refused.next.is_empty());
        assert!(refused.next.iter().all(|t| t.start.minute() % 10 == 5), "times of the new grid: {:?}", refused.next);
        assert_eq!(
            amtsweg_store::testing::count_containing(&fx.portal.store, "appointments", "status", "held").await,
            0
        );
        // Chosen again from the saved calendar, the hold goes through.
        assert!(hold(&fx, &journey(), 10, 5, "browser-1").await.is_ok());
        fx.cleanup().await;
    }
}

/// A time held on the second counter before staff took that counter away cannot
/// be confirmed — neither directly nor by the e-mail link — while the booking on
/// the counter that stays can.
#[tokio::test]
async fn a_hold_on_a_counter_taken_away_since_cannot_be_confirmed() {
    for fx in both().await {
        let two = amtsweg_domain::appointments::Calendar { counters: 2, ..super::testing::calendar() };
        fx.set_calendar(&two).await;
        let first = hold(&fx, &journey(), 10, 0, "").await.unwrap();
        let second = hold(&fx, &journey(), 10, 0, "").await.unwrap();
        let counter = |t: String| {
            let portal = fx.portal.clone();
            async move { booking::by_token(&portal, &t).await.unwrap().unwrap().counter }
        };
        assert_eq!((counter(first.token.clone()).await, counter(second.token.clone()).await), (0, 1));
        fx.set_calendar(&super::testing::calendar()).await;
        let r = booking::confirm(&fx.portal, &second.token, erika(), None).await.unwrap();
        assert!(r.unwrap_err().contains("inzwischen geändert"), "{}", fx.t.name);
        let v = booking::by_token(&fx.portal, &second.token).await.unwrap().unwrap();
        assert_eq!(v.status, AppointmentStatus::Held, "not confirmed");
        assert!(booking::confirm(&fx.portal, &first.token, erika(), None).await.unwrap().is_ok());
        assert_eq!(fx.mails().await.len(), 1, "only the first booking's e-mail");

        // Waiting for the e-mail confirmation when the counter goes.
        fx.set_rules(&BookingRules { double_opt_in: true, ..BookingRules::default() }).await;
        fx.set_calendar(&two).await;
        let _ = hold(&fx, &journey(), 14, 0, "").await.unwrap();
        let waiting = hold(&fx, &journey(), 14, 0, "").await.unwrap();
        assert_eq!(counter(waiting.token.clone()).await, 1);
        assert!(booking::confirm(&fx.portal, &waiting.token, erika(), None).await.unwrap().unwrap().needs_email);
        let link = fx
            .mails()
            .await
            .last()
            .unwrap()
            .body
            .lines()
            .find(|l| l.contains("/termin/bestaetigen/"))
            .unwrap()
            .to_owned();
        fx.set_calendar(&super::testing::calendar()).await;
        let r = booking::confirm_email(&fx.portal, link.rsplit('/').next().unwrap()).await.unwrap();
        assert!(r.unwrap_err().contains("inzwischen geändert"));
        let v = booking::by_token(&fx.portal, &waiting.token).await.unwrap().unwrap();
        assert_eq!(v.status, AppointmentStatus::Preconfirmed, "not confirmed");
        fx.cleanup().await;
    }
}

/// The rules and calendars kept in memory are never older than the last save made
/// through the store: the very next step sees a change, whoever saved it here.
#[tokio::test]
async fn a_saved_change_of_rules_or_calendar_is_seen_by_the_next_step() {
    use super::view::{calendar_of, rules_of};
    for fx in both().await {
        let before = rules_of(&fx.portal, fx.authority).await.unwrap();
        assert!(free_at(&fx, 10, 0).await, "{}", fx.t.name);
        fx.set_rules(&BookingRules { hold_minutes: before.hold_minutes + 3, ..before.clone() }).await;
        let after = rules_of(&fx.portal, fx.authority).await.unwrap();
        assert_eq!(after.hold_minutes, before.hold_minutes + 3, "{}", fx.t.name);
        let (_, mut cal, _) = calendar_of(&fx.portal, fx.authority, fx.calendar).await.unwrap().unwrap();
        cal.active = false;
        fx.set_calendar(&cal).await;
        let offered =
            journey::day(&fx.portal, fx.authority, &journey(), day(), crate::time::now_local()).await.unwrap();
        assert!(offered.is_err(), "{}: a calendar switched off offers nothing at once", fx.t.name);
        cal.active = true;
        fx.set_calendar(&cal).await;
        assert!(free_at(&fx, 10, 0).await, "{}", fx.t.name);
        fx.cleanup().await;
    }
}
