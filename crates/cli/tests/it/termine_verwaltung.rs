//! Online appointments in the back office: configuring rules and calendars (checked,
//! with conflicts), and the counter's day list — only for staff of the authority —
//! with marking, cancelling one appointment or a whole day, booking for a caller and
//! the CSV and `.ics` downloads.

use crate::on_each_backend;
use crate::support::TestApp;
use crate::verwaltung::{Jar, enc, get, hidden, post, sign_in};
use amtsweg_domain::appointments::FreeTime;
use amtsweg_portal::appointments::booking;
use amtsweg_portal::appointments::journey::{self, Journey};
use amtsweg_portal::appointments::view::Contact;
use jiff::civil::Date;

const BASE: &str = "/verwaltung/behoerden/moorbrueck/termine/";

/// A service Moorbrück offers (its LeiKa key and name).
async fn a_service(app: &TestApp) -> (String, String) {
    let a = app.authority_id("moorbrueck").await;
    let catalogue = app.state.portal.catalogue();
    let l = catalogue.leistungen_of(a).next().unwrap();
    (l.leika.as_str().to_owned(), l.name.clone())
}

/// Rules without triage questions, so a journey needs no answers.
async fn plain_rules(app: &TestApp, authority_id: i64) {
    let store = &app.store.store;
    let version = store.appointment_rules(authority_id).await.unwrap().map_or(0, |r| r.version);
    let mut tx = store.begin().await.unwrap();
    tx.save_appointment_rules(authority_id, "{}", version).await.unwrap().unwrap();
    tx.commit().await.unwrap();
}

static NEXT_LOCATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A new location of Moorbrück with an active calendar (Monday to Friday 08:00–16:00,
/// two counters, 20 minutes for `leika`): (location id, calendar id).
async fn test_calendar(app: &TestApp, leika: &str) -> (i64, i64) {
    let store = &app.store.store;
    let a = app.authority_id("moorbrueck").await;
    plain_rules(app, a).await;
    let mut tx = store.begin().await.unwrap();
    let location = tx
        .insert_location(
            a,
            &amtsweg_store::NewLocation {
                // Unique also when two are made within one millisecond.
                slug: format!(
                    "testbuero-{}-{}",
                    amtsweg_store::now_ms() % 100_000,
                    NEXT_LOCATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                ),
                name: "Testbüro".into(),
                street: "Markt 2".into(),
                plz: "29391".into(),
                city: "Moorbrück".into(),
                accessibility: String::new(),
                hours: amtsweg_domain::OpeningHours::default(),
            },
        )
        .await
        .unwrap();
    let day = vec![amtsweg_domain::opening_hours::Interval { from: 8 * 60, to: 16 * 60 }];
    let calendar = amtsweg_domain::appointments::Calendar {
        active: true,
        slot_minutes: 10,
        hours: Some([day.clone(), day.clone(), day.clone(), day.clone(), day, vec![], vec![]]),
        counters: 2,
        services: vec![amtsweg_domain::appointments::CalendarService {
            leika: leika.to_owned(),
            minutes: 20,
            extra_person_minutes: 10,
            max_persons: 3,
        }],
        ..Default::default()
    };
    let (id, _) = tx
        .save_appointment_calendar(a, location, &serde_json::to_string(&calendar).unwrap(), 0)
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    (location, id)
}

fn journey(leika: &str, calendar_id: i64) -> Journey {
    Journey { services: vec![leika.to_owned()], persons: 1, calendar: Some(calendar_id), ..Journey::default() }
}

/// The first day with free times and those times.
async fn first_free_day(app: &TestApp, j: &Journey) -> (Date, Vec<FreeTime>) {
    let a = app.authority_id("moorbrueck").await;
    let now = amtsweg_portal::time::now_local();
    let mut d = now.date();
    for _ in 0..40 {
        d = d.tomorrow().unwrap();
        let times = journey::day(&app.state.portal, a, j, d, now).await.unwrap().unwrap();
        if !times.is_empty() {
            return (d, times);
        }
    }
    panic!("no free day");
}

/// Books `time` as a citizen would (hold, then confirm); returns the appointment id.
async fn book(app: &TestApp, j: &Journey, time: &FreeTime, name: &str, email: &str) -> i64 {
    let a = app.authority_id("moorbrueck").await;
    let portal = &app.state.portal;
    let client = format!("test-{name}");
    let held = booking::hold(portal, a, j, time.start, &client, None, None).await.unwrap().unwrap();
    let contact = Contact { name: name.into(), email: email.into(), phone: "05190 123".into(), notes: String::new() };
    booking::confirm(portal, &held.token, contact, None).await.unwrap().unwrap();
    let view = booking::by_token(portal, &held.token).await.unwrap().unwrap();
    view.id
}

async fn status_of(app: &TestApp, id: i64) -> String {
    let a = app.authority_id("moorbrueck").await;
    app.store.store.appointment(a, id).await.unwrap().unwrap().status
}

#[tokio::test]
async fn rules_and_calendars_are_configured_with_checks_and_offered_to_citizens() {
    on_each_backend!(|app| {
        let store = &app.store.store;
        let a = app.authority_id("moorbrueck").await;
        let (leika, service) = a_service(app).await;
        let mut jar = sign_in(app, "redaktion@moorbrueck.example").await;
        let page = get(app, &mut jar, BASE).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Regeln für die Buchung"));
        assert!(!page.body.contains("Tagesliste heute"), "editors do not see the day lists");
        let csrf = hidden(&page.body, "csrf");
        let version = hidden(&page.body, "version");

        // Rules: "add a question" shows the form again without saving.
        let rules = |hold: &str, version: &str, extra: &str| {
            format!(
                "csrf={csrf}&version={version}&hold_minutes={hold}&confirm_minutes=60&reminder_hours=24&retention_days=30&limit_count=2&limit_days=30{extra}"
            )
        };
        let add = post(app, &mut jar, &format!("{BASE}regeln"), &rules("10", &version, "&aktion=frage")).await;
        assert_eq!(add.status, 200);
        assert!(add.body.contains("name=\"q0_text\""), "an empty question to fill in");
        let before = store.appointment_rules(a).await.unwrap().map(|r| r.version);
        assert_eq!(before.unwrap_or(0).to_string(), version, "nothing saved");

        let bad = post(app, &mut jar, &format!("{BASE}regeln"), &rules("zehn", &version, "&aktion=speichern")).await;
        assert_eq!(bad.status, 422);
        assert!(bad.body.contains("Reservierung während der Eingabe: „zehn“ ist keine passende ganze Zahl."));
        assert!(bad.body.contains("href=\"#feld-hold_minutes\""), "the summary leads to the field");
        let out_of_range = post(app, &mut jar, &format!("{BASE}regeln"), &rules("90", &version, "")).await;
        assert_eq!(out_of_range.status, 422);
        assert!(out_of_range.body.contains("zwischen 2 und 60 Minuten"), "{}", out_of_range.body);

        let question = format!(
            "&q0_text={}&q0_a0_label=Ja&q0_a0_effect=nichts&q0_a1_label={}&q0_a1_effect=kein_termin&q0_a1_message={}&q0_a1_link=%2Fo%2Fmoorbrueck%2F",
            enc("Haben Sie den Antrag schon online gestellt?"),
            enc("Nein"),
            enc("Stellen Sie zuerst den Antrag online.")
        );
        let ok = post(app, &mut jar, &format!("{BASE}regeln"), &rules("15", &version, &question)).await;
        assert_eq!(ok.status, 303, "{}", ok.body);
        let saved = store.appointment_rules(a).await.unwrap().unwrap();
        let parsed: amtsweg_domain::appointments::BookingRules = serde_json::from_str(&saved.settings).unwrap();
        assert_eq!(parsed.hold_minutes, 15);
        assert_eq!(parsed.limit, Some(amtsweg_domain::appointments::BookingLimit { count: 2, days: 30 }));
        assert_eq!(parsed.triage.len(), 1);
        assert_eq!(parsed.triage[0].answers[1].id, "nein");
        let stale = post(app, &mut jar, &format!("{BASE}regeln"), &rules("20", &version, "")).await;
        assert_eq!(stale.status, 409, "a form opened before the last save");
        assert!(stale.body.contains("Gleichzeitige Änderung"));

        // A calendar for a new location.
        let mut tx = store.begin().await.unwrap();
        let location = tx
            .insert_location(
                a,
                &amtsweg_store::NewLocation {
                    slug: "buergerbuero-nord".into(),
                    name: "Bürgerbüro Nord".into(),
                    street: "Nordstraße 1".into(),
                    plz: "29391".into(),
                    city: "Moorbrück".into(),
                    accessibility: String::new(),
                    hours: amtsweg_domain::OpeningHours::parse_day("08:00-12:00")
                        .map(|mo| amtsweg_domain::OpeningHours {
                            weekly: [mo.clone(), mo.clone(), mo.clone(), mo.clone(), mo, vec![], vec![]],
                            closed: vec![],
                        })
                        .unwrap(),
                },
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let path = format!("{BASE}{location}/kalender");
        let form = get(app, &mut jar, &path).await;
        assert_eq!(form.status, 200, "{}", form.body);
        assert!(form.body.contains("Kalender einrichten"));
        assert!(form.body.contains("value=\"08:00-12:00\""), "hours start with the opening hours");
        let version = hidden(&form.body, "version");
        let calendar = |version: &str, slot: &str, monday: &str, blocked: &str| {
            format!(
                "csrf={csrf}&version={version}&active=ja&slot_minutes={slot}&counters=2&holidays=ja&mo={}&di=08%3A00-12%3A00&mi=08%3A00-12%3A00&do=08%3A00-12%3A00&fr=08%3A00-12%3A00&sa=&so=&closed={}&blocked={}&earliest_days=1&latest_days=60&s0_leika={leika}&s0_minutes=20&s0_extra=10&s0_max=3&s1_leika=&s1_minutes=",
                enc(monday),
                enc("24.12.2026"),
                enc(blocked)
            )
        };
        let bad = post(app, &mut jar, &path, &calendar(&version, "10", "19:00-07:00", "morgen früh")).await;
        assert_eq!(bad.status, 422);
        assert!(bad.body.contains("Montag: In „19:00-07:00“ liegt das Ende vor dem Beginn."));
        assert!(bad.body.contains("„morgen früh“: Bitte schreiben Sie einen Zeitraum"));
        assert!(bad.body.contains("Es wurde nichts gespeichert."));
        let odd = post(app, &mut jar, &path, &calendar(&version, "15", "08:00-12:00", "")).await;
        assert_eq!(odd.status, 422, "20 minutes are no multiple of a 15-minute grid");
        assert!(store.appointment_calendars(a).await.unwrap().iter().all(|c| c.location_id != location));

        let ok = post(
            app,
            &mut jar,
            &path,
            &calendar(&version, "10", "08:00-12:00", "10.01.2027 08:00 – 12.01.2027 18:00 Schulung"),
        )
        .await;
        assert_eq!(ok.status, 303, "{}", ok.body);
        let row =
            store.appointment_calendars(a).await.unwrap().into_iter().find(|c| c.location_id == location).unwrap();
        let saved: amtsweg_domain::appointments::Calendar = serde_json::from_str(&row.settings).unwrap();
        assert_eq!(saved.hours, None, "unchanged hours follow the opening hours");
        assert_eq!((saved.counters, saved.blocked.len(), saved.services.len()), (2, 1, 1));
        let stale = post(app, &mut jar, &path, &calendar(&version, "10", "09:00-12:00", "")).await;
        assert_eq!(stale.status, 409);
        assert!(stale.body.contains("09:00-12:00"), "what was typed is kept");

        // Citizens are offered the service at the new location.
        let offers = journey::offers(&app.state.portal, a).await.unwrap();
        assert!(offers.iter().any(|o| o.leika == leika && o.calendars.contains(&row.id)), "{offers:?}");
        let overview = get(app, &mut jar, BASE).await;
        assert!(overview.body.contains("Bürgerbüro Nord") && overview.body.contains("Buchbar"));
        assert!(!service.is_empty());
        // Every save is in the audit log, with ids only.
        let log = store.audit_entries(None, 100).await.unwrap();
        assert!(log.iter().any(|e| e.action == "appointment.calendar_saved"));
        assert!(log.iter().any(|e| e.action == "appointment.rules_saved"));
    });
}

#[tokio::test]
async fn the_day_list_is_only_for_staff_of_the_authority() {
    on_each_backend!(|app| {
        let (leika, _) = a_service(app).await;
        let (_, calendar) = test_calendar(app, &leika).await;
        let j = journey(&leika, calendar);
        let (day, times) = first_free_day(app, &j).await;
        let id = book(app, &j, &times[0], "Erika Mustermann", "erika@example.org").await;
        let a = app.authority_id("moorbrueck").await;
        let reference = app.store.store.appointment(a, id).await.unwrap().unwrap().reference;
        let list = format!("{BASE}{calendar}/tag?tag={day}");

        let mut clerk = sign_in(app, "sachbearbeitung@moorbrueck.example").await;
        let page = get(app, &mut clerk, &list).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Erika Mustermann") && page.body.contains(&reference));
        assert!(page.body.contains("erika@example.org") && page.body.contains("05190 123"));
        assert_eq!(page.headers.get("cache-control").unwrap(), "no-store");
        let print = get(app, &mut clerk, &format!("{list}&druck=1")).await;
        assert!(print.body.contains("Erika Mustermann") && !print.body.contains("Nicht erschienen<"));
        let found = get(app, &mut clerk, &format!("{list}&q=Mustermann")).await;
        assert!(found.body.contains("1 Treffer"), "{}", found.body);

        for (who, url) in [
            ("redaktion@moorbrueck.example", list.clone()),
            ("sachbearbeitung@landkreis-heidekamp.example", list.clone()),
            (
                "sachbearbeitung@landkreis-heidekamp.example",
                format!("/verwaltung/behoerden/landkreis-heidekamp/termine/{calendar}/tag?tag={day}"),
            ),
            ("verbund-admin@landkreis-heidekamp.example", list.clone()),
        ] {
            let mut jar = sign_in(app, who).await;
            let r = get(app, &mut jar, &url).await;
            assert!(r.status == 403 || r.status == 404, "{who}: {url} answered {}", r.status);
            assert!(!r.body.contains("Erika Mustermann"), "{who} sees the name");
            for export in ["tag.csv", "tag.ics"] {
                let r = get(app, &mut jar, &url.replace("/tag?", &format!("/{export}?"))).await;
                assert!(r.status == 403 || r.status == 404, "{who}: {export} answered {}", r.status);
            }
        }
        let log = app.store.store.audit_entries(None, 100).await.unwrap();
        assert!(log.iter().any(|e| e.action == "appointment.day_viewed" && e.target.contains(&calendar.to_string())));
        assert!(log.iter().all(|e| !e.target.contains("Mustermann")), "ids only");
    });
}

#[tokio::test]
async fn the_counter_marks_exports_and_books_for_callers() {
    on_each_backend!(|app| {
        let (leika, _) = a_service(app).await;
        let (_, calendar) = test_calendar(app, &leika).await;
        let j = journey(&leika, calendar);
        let (day, times) = first_free_day(app, &j).await;
        let id = book(app, &j, &times[0], "Max Muster", "max@example.org").await;
        let list = format!("{BASE}{calendar}/tag?tag={day}");
        let mut clerk = sign_in(app, "sachbearbeitung@moorbrueck.example").await;
        let page = get(app, &mut clerk, &list).await;
        let csrf = hidden(&page.body, "csrf");

        // Not yet begun: it cannot be marked missed.
        let early = post(
            app,
            &mut clerk,
            &format!("{BASE}{calendar}/status"),
            &format!("csrf={csrf}&termin={id}&status=missed&tag={day}"),
        )
        .await;
        assert_eq!(early.status, 422, "{}", early.body);
        assert_eq!(status_of(app, id).await, "confirmed");

        // The downloads carry the day.
        let csv = get(app, &mut clerk, &format!("{BASE}{calendar}/tag.csv?tag={day}")).await;
        assert_eq!(csv.status, 200);
        assert!(csv.headers.get("content-disposition").unwrap().to_str().unwrap().starts_with("attachment"));
        assert!(csv.headers.get("content-type").unwrap().to_str().unwrap().starts_with("text/csv"));
        assert!(csv.body.contains("Max Muster"));
        let ics = get(app, &mut clerk, &format!("{BASE}{calendar}/tag.ics?tag={day}")).await;
        assert_eq!(ics.status, 200);
        assert!(ics.headers.get("content-type").unwrap().to_str().unwrap().starts_with("text/calendar"));
        assert!(ics.body.contains("BEGIN:VCALENDAR") && ics.body.contains("BEGIN:VEVENT"));

        // A booking for a caller: free times of the day, then the chosen one.
        let form =
            get(app, &mut clerk, &format!("{BASE}{calendar}/buchen?leistung={leika}&personen=1&tag={day}")).await;
        assert_eq!(form.status, 200, "{}", form.body);
        let time = times[3].start.strftime("%H:%M").to_string();
        assert!(form.body.contains(&format!("value=\"{time}\"")), "free times are offered");
        let taken = times[0].start.strftime("%H:%M").to_string();
        let body = |time: &str, name: &str| {
            format!(
                "csrf={csrf}&leistung={leika}&personen=1&tag={day}&zeit={}&name={}&email=&phone=05190+777&notes=",
                enc(time),
                enc(name)
            )
        };
        let no_name = post(app, &mut clerk, &format!("{BASE}{calendar}/buchen"), &body(&time, "")).await;
        assert_eq!(no_name.status, 422);
        assert!(no_name.body.contains("Bitte geben Sie den Namen der Person ein."));
        let booked = post(app, &mut clerk, &format!("{BASE}{calendar}/buchen"), &body(&time, "Anrufer Anton")).await;
        assert_eq!(booked.status, 303, "{}", booked.body);
        assert!(booked.location().contains("hinweis=gebucht"));
        let page = get(app, &mut clerk, &list).await;
        assert!(page.body.contains("Anrufer Anton") && page.body.contains("am Telefon gebucht"));
        // Both counters of the first time are taken now? One is still free: book it twice more.
        let second = post(app, &mut clerk, &format!("{BASE}{calendar}/buchen"), &body(&taken, "Berta Zwei")).await;
        assert_eq!(second.status, 303, "the second counter is free");
        let third = post(app, &mut clerk, &format!("{BASE}{calendar}/buchen"), &body(&taken, "Carla Drei")).await;
        assert_eq!(third.status, 422, "both counters are taken");

        // Once it has begun, the appointment can be marked missed.
        // Begun half an hour ago — but never before local midnight, or it would sit
        // on yesterday's list when the test runs just after midnight.
        let today = amtsweg_portal::time::now_local().date();
        let midnight = today.to_zoned(amtsweg_portal::time::berlin()).unwrap().timestamp().as_millisecond();
        let start = (amtsweg_store::now_ms() - 30 * 60_000).max(midnight);
        amtsweg_store::testing::execute_sql(
            &app.store.store,
            &format!("UPDATE appointments SET starts_at = {start}, ends_at = {} WHERE id = {id}", start + 20 * 60_000),
        )
        .await;
        let marked = post(
            app,
            &mut clerk,
            &format!("{BASE}{calendar}/status"),
            &format!("csrf={csrf}&termin={id}&status=missed&tag={today}"),
        )
        .await;
        assert_eq!(marked.status, 303, "{}", marked.body);
        assert_eq!(status_of(app, id).await, "missed");
        let today_list = get(app, &mut clerk, &format!("{BASE}{calendar}/tag?tag={today}")).await;
        assert!(
            today_list.body.contains(&format!(
                "name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"termin\" value=\"{id}\""
            )),
            "the row's buttons carry the session's token: {}",
            today_list.body
        );
        assert!(today_list.body.contains("nicht erschienen") && today_list.body.contains(">Erschienen<span"));
        let figures = get(app, &mut clerk, &format!("{BASE}{calendar}/zahlen?monat={}", today.strftime("%Y-%m"))).await;
        assert_eq!(figures.status, 200);
        assert!(figures.body.contains("Nicht erschienen"));
    });
}

#[tokio::test]
async fn cancelling_a_day_tells_everyone_affected() {
    on_each_backend!(|app| {
        let (leika, _) = a_service(app).await;
        let (_, calendar) = test_calendar(app, &leika).await;
        let j = journey(&leika, calendar);
        let (day, times) = first_free_day(app, &j).await;
        let first = book(app, &j, &times[0], "Anna Eins", "anna@example.org").await;
        let second = book(app, &j, &times[4], "Bernd Zwei", "bernd@example.org").await;
        let mut clerk = sign_in(app, "sachbearbeitung@moorbrueck.example").await;

        // One appointment, with a message.
        let one = get(app, &mut clerk, &format!("{BASE}{calendar}/absagen?termin={first}")).await;
        assert_eq!(one.status, 200, "{}", one.body);
        assert!(one.body.contains("Anna Eins"));
        let csrf = hidden(&one.body, "csrf");
        let long = "x".repeat(5000);
        let too_long = post(
            app,
            &mut clerk,
            &format!("{BASE}{calendar}/absagen"),
            &format!("csrf={csrf}&termin={first}&nachricht={long}"),
        )
        .await;
        assert_eq!(too_long.status, 422);
        assert!(too_long.body.contains("Zeichen"), "the limit is named");
        assert_eq!(status_of(app, first).await, "confirmed");
        let before = app.store.store.outbox_entries(500).await.unwrap().len();
        let done = post(
            app,
            &mut clerk,
            &format!("{BASE}{calendar}/absagen"),
            &format!("csrf={csrf}&termin={first}&nachricht={}", enc("Die Kollegin ist krank.")),
        )
        .await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert_eq!(status_of(app, first).await, "cancelled");
        let mails = app.store.store.outbox_entries(500).await.unwrap();
        assert_eq!(mails.len(), before + 1);
        let mail = mails[0].email().unwrap();
        assert_eq!(mail.to, "anna@example.org");
        assert!(mail.body.contains("Die Kollegin ist krank."));

        // The whole day: a confirmation step, then every remaining booking.
        let ask = get(app, &mut clerk, &format!("{BASE}{calendar}/tag-absagen?tag={day}")).await;
        assert_eq!(ask.status, 200);
        assert!(ask.body.contains("1 Termin wird abgesagt"), "{}", ask.body);
        let empty = post(
            app,
            &mut clerk,
            &format!("{BASE}{calendar}/tag-absagen"),
            &format!("csrf={csrf}&tag={day}&nachricht="),
        )
        .await;
        assert_eq!(empty.status, 422);
        assert_eq!(status_of(app, second).await, "confirmed");
        let done = post(
            app,
            &mut clerk,
            &format!("{BASE}{calendar}/tag-absagen"),
            &format!(
                "csrf={csrf}&tag={day}&nachricht={}",
                enc("Das Bürgerbüro bleibt wegen Stromausfalls geschlossen.")
            ),
        )
        .await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert!(done.location().contains("anzahl=1"));
        assert_eq!(status_of(app, second).await, "cancelled");
        let mails = app.store.store.outbox_entries(500).await.unwrap();
        assert_eq!(mails.len(), before + 2);
        let mail = mails[0].email().unwrap();
        assert_eq!(mail.to, "bernd@example.org");
        assert!(mail.body.contains("Stromausfalls"));
        assert!(mail.attachments.iter().any(|a| a.content.contains("METHOD:CANCEL")), "an .ics that removes it");
        // The units are free again, and the day is closed for new bookings.
        let (from, to) = amtsweg_portal::appointments::counter::day_bounds(day);
        let taken = app.store.store.occupied_units(calendar, from, to, amtsweg_store::now_ms()).await.unwrap();
        assert!(taken.is_empty(), "{taken:?}");
        let now = amtsweg_portal::time::now_local();
        let a = app.authority_id("moorbrueck").await;
        assert!(journey::day(&app.state.portal, a, &j, day, now).await.unwrap().unwrap().is_empty());
        let list = get(app, &mut clerk, &format!("{BASE}{calendar}/tag?tag={day}")).await;
        assert!(list.body.contains("2 Termine") && list.body.contains("abgesagt"), "cancelled ones stay listed");
    });
}

#[tokio::test]
async fn a_foreign_calendar_is_not_found_under_the_own_path() {
    on_each_backend!(|app| {
        let (leika, _) = a_service(app).await;
        let (location, calendar) = test_calendar(app, &leika).await;
        let mut jar: Jar = sign_in(app, "sachbearbeitung@landkreis-heidekamp.example").await;
        for path in ["tag", "zahlen", "buchen", "tag-absagen"] {
            let r = get(app, &mut jar, &format!("/verwaltung/behoerden/landkreis-heidekamp/termine/{calendar}/{path}"))
                .await;
            assert_eq!(r.status, 404, "{path}");
        }
        let mut admin = sign_in(app, "verbund-admin@landkreis-heidekamp.example").await;
        let r = get(app, &mut admin, &format!("/verwaltung/behoerden/landkreis-heidekamp/termine/{location}/kalender"))
            .await;
        assert_eq!(r.status, 404, "a location of another authority");
    });
}

/// A case worker of Moorbrück limited to a new org unit at `location` (issue 19,
/// point 7: the day list shows bookings only to staff of that location).
async fn worker_at(app: &TestApp, location: i64) -> Jar {
    let store = &app.store.store;
    let a = app.authority_id("moorbrueck").await;
    let mut tx = store.begin().await.unwrap();
    tx.insert_org_unit(
        a,
        &amtsweg_store::NewOrgUnit {
            slug: "schalter-a".into(),
            name: "Schalter A".into(),
            description: String::new(),
            location_id: Some(location),
            phone: String::new(),
            email: String::new(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    amtsweg::staff::create(
        store,
        &amtsweg::staff::NewAccount {
            email: "schalter-a@moorbrueck.example",
            name: "Schalter A",
            password: amtsweg::staff::DEMO_PASSWORD,
            role: amtsweg_domain::staff::Role::CaseWorker,
            authority: Some("moorbrueck"),
            org_unit: Some("Schalter A"),
            totp_secret: None,
        },
    )
    .await
    .unwrap();
    amtsweg_web::sync::refresh(&app.state).await.unwrap();
    sign_in(app, "schalter-a@moorbrueck.example").await
}

#[tokio::test]
async fn a_worker_of_one_location_sees_only_its_counter() {
    on_each_backend!(|app| {
        let (leika, _) = a_service(app).await;
        let (location_a, cal_a) = test_calendar(app, &leika).await;
        let (_, cal_b) = test_calendar(app, &leika).await;
        let (day_a, times_a) = first_free_day(app, &journey(&leika, cal_a)).await;
        let (day_b, times_b) = first_free_day(app, &journey(&leika, cal_b)).await;
        book(app, &journey(&leika, cal_a), &times_a[0], "Anna Amschalter", "anna@example.org").await;
        let b = book(app, &journey(&leika, cal_b), &times_b[0], "Bruno Anderswo", "bruno@example.org").await;
        let mut worker = worker_at(app, location_a).await;

        // Location A: the day list with the name, and the search within it.
        let list_a = get(app, &mut worker, &format!("{BASE}{cal_a}/tag?tag={day_a}")).await;
        assert_eq!(list_a.status, 200, "{}", list_a.body);
        assert!(list_a.body.contains("Anna Amschalter"));
        let csrf = hidden(&list_a.body, "csrf");
        let search = get(app, &mut worker, &format!("{BASE}{cal_a}/tag?tag={day_a}&q=Anderswo")).await;
        assert!(!search.body.contains("Bruno"), "the search keeps to the own location");
        assert!(search.body.contains("Kein Termin passt"));

        // Location B answers as if it did not exist: pages, downloads and actions.
        for path in [
            format!("{cal_b}/tag?tag={day_b}"),
            format!("{cal_b}/tag?tag={day_b}&druck=1"),
            format!("{cal_b}/tag.csv?tag={day_b}"),
            format!("{cal_b}/tag.ics?tag={day_b}"),
            format!("{cal_b}/absagen?termin={b}"),
            format!("{cal_b}/tag-absagen?tag={day_b}"),
            format!("{cal_b}/buchen?leistung={leika}&personen=1&tag={day_b}"),
            format!("{cal_b}/zahlen"),
        ] {
            let r = get(app, &mut worker, &format!("{BASE}{path}")).await;
            assert_eq!(r.status, 404, "{path}");
            assert!(!r.body.contains("Bruno"), "{path}");
        }
        let mark = format!("csrf={csrf}&termin={b}&status=missed&tag={day_b}");
        let cancel = format!("csrf={csrf}&termin={b}&nachricht={}", enc("Geschlossen"));
        let cancel_day = format!("csrf={csrf}&tag={day_b}&nachricht={}", enc("Geschlossen"));
        for (path, body) in [
            (format!("{cal_b}/status"), &mark),
            (format!("{cal_b}/absagen"), &cancel),
            (format!("{cal_b}/tag-absagen"), &cancel_day),
            // B's appointment through A's address.
            (format!("{cal_a}/status"), &mark),
            (format!("{cal_a}/absagen"), &cancel),
        ] {
            let r = post(app, &mut worker, &format!("{BASE}{path}"), body).await;
            assert_eq!(r.status, 404, "POST {path}");
        }
        assert_eq!(status_of(app, b).await, "confirmed", "nothing changed at B");

        // The overview lists location A only.
        let overview = get(app, &mut worker, BASE).await;
        assert_eq!(overview.status, 200, "{}", overview.body);
        assert!(overview.body.contains(&format!("{cal_a}/tag?tag=")));
        assert!(!overview.body.contains(&format!("{cal_b}/")), "{}", overview.body);

        // A case worker of the whole authority works both counters.
        let mut clerk = sign_in(app, "sachbearbeitung@moorbrueck.example").await;
        let list_b = get(app, &mut clerk, &format!("{BASE}{cal_b}/tag?tag={day_b}")).await;
        assert_eq!(list_b.status, 200);
        assert!(list_b.body.contains("Bruno Anderswo"));
        let list_a = get(app, &mut clerk, &format!("{BASE}{cal_a}/tag?tag={day_a}")).await;
        assert!(list_a.body.contains("Anna Amschalter"));
        let csv = get(app, &mut clerk, &format!("{BASE}{cal_b}/tag.csv?tag={day_b}")).await;
        assert!(csv.status == 200 && csv.body.contains("Bruno Anderswo"));
        let overview = get(app, &mut clerk, BASE).await;
        assert!(
            overview.body.contains(&format!("{cal_a}/tag?tag="))
                && overview.body.contains(&format!("{cal_b}/tag?tag="))
        );

        // The audit log names the location of a day list in words.
        let mut admin = sign_in(app, "admin@moorbrueck.example").await;
        let log = get(app, &mut admin, "/verwaltung/protokoll/?aktion=appointment.day_viewed").await;
        assert_eq!(log.status, 200);
        assert!(log.body.contains("Standort „Testbüro“"), "{}", log.body);
    });
}
