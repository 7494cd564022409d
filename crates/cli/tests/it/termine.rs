//! Online appointments through the real router on both databases, as a citizen's
//! browser uses them: the journey to a held time, confirming with the calendar file,
//! cancelling by the link (METHOD:CANCEL), moving (the old booking stays until the new
//! one is confirmed), the account's list, 50 browsers racing for one time, and every
//! bad input of issue 19 with its German message and nothing else changed.

use crate::on_each_backend;
use crate::support::{Reply, TestApp};
use crate::verwaltung::{Jar, enc, get, hidden, post};
use amtsweg_domain::appointments::{
    BookingLimit, BookingRules, Calendar, CalendarService, TriageAnswer, TriageEffect, TriageQuestion,
};
use amtsweg_domain::opening_hours::Interval;
use axum::body::Body;
use axum::http::{Request, header};
use tower::ServiceExt;

/// Meldebescheinigung, offered by Stadt Moorbrück.
const LEIKA: &str = "99115003012000";
const SLUG: &str = "moorbrueck";

/// Gives Moorbrück's town hall a calendar (every day 08:00–12:00, 10-minute units,
/// 20 minutes a booking, up to 2 persons) and the authority `rules`; returns the
/// calendar id. Works whether or not the demo already has calendars.
async fn setup(app: &TestApp, counters: u16, rules: &BookingRules) -> i64 {
    let store = &app.store.store;
    let aid = app.authority_id(SLUG).await;
    let loc = store.locations(aid).await.unwrap().into_iter().find(|l| l.name == "Rathaus Moorbrück").unwrap();
    let day = vec![Interval { from: 8 * 60, to: 12 * 60 }];
    let cal = Calendar {
        active: true,
        slot_minutes: 10,
        hours: Some(std::array::from_fn(|_| day.clone())),
        counters,
        holidays: false,
        earliest_days: 1,
        latest_days: 40,
        services: vec![CalendarService { leika: LEIKA.into(), minutes: 20, extra_person_minutes: 10, max_persons: 2 }],
        ..Calendar::default()
    };
    let existing = store.appointment_calendars(aid).await.unwrap().into_iter().find(|c| c.location_id == loc.id);
    let version = existing.map_or(0, |c| c.version);
    let rules_version = store.appointment_rules(aid).await.unwrap().map_or(0, |r| r.version);
    let mut tx = store.begin().await.unwrap();
    let (id, _) = tx
        .save_appointment_calendar(aid, loc.id, &serde_json::to_string(&cal).unwrap(), version)
        .await
        .unwrap()
        .unwrap();
    tx.save_appointment_rules(aid, &serde_json::to_string(rules).unwrap(), rules_version).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    id
}

fn journey(calendar: i64) -> String {
    format!("leistung={LEIKA}&personen=1&standort={calendar}")
}

/// `&amp;` back to `&` in an href.
fn unescape(s: &str) -> String {
    s.replace("&amp;", "&")
}

/// Every `href` in a page that starts with `prefix`.
fn links(body: &str, prefix: &str) -> Vec<String> {
    body.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .filter(|h| h.starts_with(prefix))
        .map(unescape)
        .collect()
}

/// The values of the `beginn` radios or buttons of a page.
fn starts(body: &str) -> Vec<String> {
    body.split("name=\"beginn\" value=\"").skip(1).filter_map(|s| s.split('"').next()).map(str::to_owned).collect()
}

/// The first day with free times (from the month pages) and its day page.
async fn first_free_day(app: &TestApp, jar: &mut Jar, month_url: &str, day_prefix: &str) -> Reply {
    let mut url = month_url.to_owned();
    for _ in 0..3 {
        let month = get(app, jar, &url).await;
        assert_eq!(month.status, 200, "{}", month.body);
        if let Some(day) = links(&month.body, day_prefix).into_iter().next() {
            let page = get(app, jar, &day).await;
            assert_eq!(page.status, 200, "{}", page.body);
            return page;
        }
        url = links(&month.body, month_url.split('?').next().unwrap()).into_iter().last().expect("a next month");
    }
    panic!("no free day in three months");
}

/// Holds the first free time; returns the reply of the POST and the time.
async fn hold_first(app: &TestApp, jar: &mut Jar, calendar: i64) -> (Reply, String) {
    let day = first_free_day(
        app,
        jar,
        &format!("/o/{SLUG}/termine/kalender?{}", journey(calendar)),
        &format!("/o/{SLUG}/termine/tag?"),
    )
    .await;
    let start = starts(&day.body).remove(0);
    let csrf = hidden(&day.body, "csrf");
    let r = post(
        app,
        jar,
        &format!("/o/{SLUG}/termine/halten"),
        &format!("csrf={csrf}&{}&beginn={}", journey(calendar), enc(&start)),
    )
    .await;
    (r, start)
}

/// The manage token from the redirect after a hold.
fn token_of(r: &Reply) -> String {
    assert_eq!(r.status, 303, "{}", r.body);
    r.location().strip_prefix("/termin/").expect("manage link").to_owned()
}

/// Confirms a held time with a name and an address.
async fn confirm(app: &TestApp, jar: &mut Jar, token: &str, email: &str) -> Reply {
    let page = get(app, jar, &format!("/termin/{token}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = hidden(&page.body, "csrf");
    post(
        app,
        jar,
        &format!("/termin/{token}/bestaetigen"),
        &format!("csrf={csrf}&name=Erika+Muster&email={}&phone=&notes=", enc(email)),
    )
    .await
}

/// Holds and confirms the first free time.
async fn book(app: &TestApp, jar: &mut Jar, calendar: i64, email: &str) -> String {
    let (r, _) = hold_first(app, jar, calendar).await;
    let token = token_of(&r);
    let r = confirm(app, jar, &token, email).await;
    assert_eq!(r.status, 303, "{}", r.body);
    token
}

/// The payloads of the e-mails queued to `to`.
async fn mails_to(app: &TestApp, to: &str) -> Vec<amtsweg_store::outbox::EmailMessage> {
    app.store
        .store
        .outbox_entries(500)
        .await
        .unwrap()
        .iter()
        .filter_map(|r| r.email().ok())
        .filter(|m| m.to == to)
        .collect()
}

async fn status_of(app: &TestApp, reference_or_id: i64) -> String {
    let aid = app.authority_id(SLUG).await;
    app.store.store.appointment(aid, reference_or_id).await.unwrap().unwrap().status
}

/// The appointment behind a manage token (through the portal, as the pages see it).
async fn view(app: &TestApp, token: &str) -> amtsweg_portal::appointments::view::AppointmentView {
    amtsweg_portal::appointments::booking::by_token(&app.state.portal, token).await.unwrap().unwrap()
}

#[tokio::test]
async fn a_booking_journey_ends_with_a_calendar_file_and_a_link_that_cancels() {
    on_each_backend!(|app| {
        let calendar = setup(app, 1, &BookingRules::default()).await;
        let mut jar = Jar::default();
        // The service page offers the booking.
        let page = get(app, &mut jar, &format!("/o/{SLUG}/leistungen/meldebescheinigung")).await;
        assert!(page.body.contains("Termin online vereinbaren"), "{}", page.body);
        assert!(page.body.contains(&format!("/o/{SLUG}/termine/?leistung={LEIKA}")));
        // The Verbund's page of the service (no place chosen) names who books it.
        let verbund = get(app, &mut jar, "/leistungen/meldebescheinigung").await;
        assert!(verbund.body.contains("Termin bei Stadt Moorbrück vereinbaren"), "{}", verbund.body);
        let start = get(app, &mut jar, &format!("/o/{SLUG}/termine/?leistung={LEIKA}")).await;
        assert_eq!(start.status, 200);
        assert!(start.body.contains(&format!("value=\"{LEIKA}\" checked")), "{}", start.body);
        // No triage question: straight on to the location.
        let r = get(app, &mut jar, &format!("/o/{SLUG}/termine/fragen?leistung={LEIKA}&personen=1")).await;
        assert_eq!(r.status, 303);
        assert!(r.location().starts_with(&format!("/o/{SLUG}/termine/standort?")), "{}", r.location());

        let (r, time) = hold_first(app, &mut jar, calendar).await;
        let token = token_of(&r);
        let held = get(app, &mut jar, &format!("/termin/{token}")).await;
        assert!(held.body.contains("Wir halten diesen Termin bis"), "{}", held.body);
        assert_eq!(held.headers.get(header::REFERRER_POLICY).unwrap(), "same-origin");
        let r = confirm(app, &mut jar, &token, "erika@example.org").await;
        assert_eq!(r.status, 303, "{}", r.body);
        let booked = get(app, &mut jar, r.location()).await;
        assert!(booked.body.contains("Ihr Termin ist gebucht"), "{}", booked.body);
        assert!(booked.body.contains(&time[11..16]), "the page names the time {time}");

        let mails = mails_to(app, "erika@example.org").await;
        let ics = mails.iter().flat_map(|m| &m.attachments).map(|a| a.content.clone()).collect::<Vec<_>>().join("\n");
        assert!(ics.contains("BEGIN:VEVENT") && ics.contains("BEGIN:VALARM"), "{ics}");
        // An invitation calendar programs act on: organizer and the citizen as attendee.
        let flat = ics.replace("\r\n ", "");
        assert!(flat.contains("METHOD:REQUEST\r\n") && flat.contains("\r\nORGANIZER;CN="), "{flat}");
        assert!(flat.contains("\r\nATTENDEE;CN=\"Erika Muster\";"), "{flat}");
        assert!(flat.contains("RSVP=FALSE:mailto:erika@example.org\r\n"), "{flat}");
        assert!(mails.iter().any(|m| m.body.contains(&format!("/termin/{token}"))), "the manage link is in the mail");

        // Cancel by the link: a cancellation with METHOD:CANCEL, the time is free again.
        let csrf = hidden(&booked.body, "csrf");
        let r = post(app, &mut jar, &format!("/termin/{token}/absagen"), &format!("csrf={csrf}")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let after = get(app, &mut jar, &format!("/termin/{token}")).await;
        assert!(after.body.contains("Dieser Termin ist abgesagt"), "{}", after.body);
        let cancel = mails_to(app, "erika@example.org").await;
        assert!(cancel.iter().flat_map(|m| &m.attachments).any(|a| a.content.contains("METHOD:CANCEL")), "{cancel:?}");
        assert!(
            cancel
                .iter()
                .flat_map(|m| &m.attachments)
                .filter(|a| a.content.contains("METHOD:CANCEL"))
                .all(|a| a.content_type.contains("method=CANCEL")
                    && a.content.replace("\r\n ", "").contains("ATTENDEE;")),
            "{cancel:?}"
        );
        let again = first_free_day(
            app,
            &mut jar,
            &format!("/o/{SLUG}/termine/kalender?{}", journey(calendar)),
            &format!("/o/{SLUG}/termine/tag?"),
        )
        .await;
        assert!(starts(&again.body).contains(&time), "the cancelled time is free again");
    });
}

/// Books every unit of `date` (08:00–12:00) before `last` directly in the store, one
/// confirmed 10-minute appointment each (units someone else holds are skipped), so
/// that `last` is the only free time of the day.
async fn fill_day_before(app: &TestApp, calendar: i64, last: &str) {
    use amtsweg_domain::appointments::time::to_ms;
    let store = &app.store.store;
    let aid = app.authority_id(SLUG).await;
    let row = store.appointment_calendar(aid, calendar).await.unwrap().unwrap();
    let last: jiff::civil::DateTime = last.parse().unwrap();
    let mut unit = last.date().at(8, 0, 0, 0);
    let mut n = 0;
    while unit < last {
        let at = to_ms(unit);
        let a = amtsweg_store::appointments::NewAppointment {
            authority_id: aid,
            calendar_id: calendar,
            location_id: row.location_id,
            reference: format!("T-FILL-{n:04}"),
            status: "confirmed".into(),
            starts_at: at,
            ends_at: at + 600_000,
            services: format!("[{{\"leika\":\"{LEIKA}\",\"persons\":1}}]"),
            persons: 1,
            manage_hash: format!("fill-{calendar}-{n}"),
            hold_until: None,
            citizen_id: None,
            receipt_number: None,
            replaces_id: None,
            booked_by: "staff".into(),
            client_key: String::new(),
        };
        let mut tx = store.begin().await.unwrap();
        let _ = tx.hold_appointment(&a, &[at], 1, amtsweg_store::now_ms()).await.unwrap();
        tx.commit().await.unwrap();
        unit = unit.checked_add(jiff::Span::new().minutes(10)).unwrap();
        n += 1;
    }
}

/// One browser's request through the router, from its own address.
async fn send(router: axum::Router, req: Request<Body>, ip: u8) -> (u16, String, String) {
    let mut req = req;
    req.extensions_mut().insert(amtsweg_web::limits::Client::from_ip(std::net::IpAddr::from([10, 0, 0, ip])));
    let resp = router.oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let location = resp.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    (status, location, String::from_utf8_lossy(&bytes).into_owned())
}

fn form(path: &str, cookie: &str, body: String) -> Request<Body> {
    Request::post(path)
        .header(header::HOST, "localhost")
        .header(header::ORIGIN, "http://localhost")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookie)
        .body(Body::from(body))
        .unwrap()
}

/// How one browser's booking ended.
enum Outcome {
    Booked(String),
    Taken,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_browsers_racing_for_the_last_free_time_give_exactly_one_booking() {
    on_each_backend!(|app| {
        let calendar = setup(app, 1, &BookingRules::default()).await;
        let mut jar = Jar::default();
        let journey_url = format!("/o/{SLUG}/termine/kalender?{}", journey(calendar));
        let day = first_free_day(app, &mut jar, &journey_url, &format!("/o/{SLUG}/termine/tag?")).await;
        // The last time of the day (a 20-minute booking before 12:00) stays free.
        let time = starts(&day.body).pop().unwrap();
        fill_day_before(app, calendar, &time).await;
        let day = get(app, &mut jar, &format!("/o/{SLUG}/termine/tag?{}&tag={}", journey(calendar), &time[..10])).await;
        assert_eq!(day.status, 200, "{}", day.body);
        assert_eq!(starts(&day.body), vec![time.clone()], "only the last time is left");
        let csrf = hidden(&day.body, "csrf");
        let body = format!("csrf={csrf}&{}&beginn={}", journey(calendar), enc(&time));

        // Fifty browsers at fifty addresses each do the whole booking: hold, then
        // fill in the contact form and confirm.
        let mut set = tokio::task::JoinSet::new();
        for i in 0..50u8 {
            let router = app.app.clone();
            let (body, cookie, time) = (body.clone(), jar.header(), time.clone());
            set.spawn(async move {
                let (status, location, page) =
                    send(router.clone(), form(&format!("/o/{SLUG}/termine/halten"), &cookie, body), i).await;
                if status == 409 {
                    assert!(page.contains("Dieser Termin wurde gerade vergeben"), "{page}");
                    let next = starts(&page);
                    assert!(!next.is_empty() && !next.contains(&time), "next free times, not the taken one: {next:?}");
                    return Outcome::Taken;
                }
                assert_eq!(status, 303, "{page}");
                let token = location.strip_prefix("/termin/").expect("manage link").to_owned();
                let get = Request::get(&location)
                    .header(header::HOST, "localhost")
                    .header(header::COOKIE, &cookie)
                    .body(Body::empty())
                    .unwrap();
                let (status, _, held) = send(router.clone(), get, i).await;
                assert_eq!(status, 200, "{held}");
                let body = format!(
                    "csrf={}&name=Erika+Muster&email=rennen{i}%40example.org&phone=&notes=",
                    hidden(&held, "csrf")
                );
                let (status, _, page) = send(router, form(&format!("{location}/bestaetigen"), &cookie, body), i).await;
                assert_eq!(status, 303, "the holder confirms: {page}");
                Outcome::Booked(token)
            });
        }
        let outcomes = set.join_all().await;
        let booked: Vec<&String> =
            outcomes.iter().filter_map(|o| if let Outcome::Booked(t) = o { Some(t) } else { None }).collect();
        let taken = outcomes.iter().filter(|o| matches!(o, Outcome::Taken)).count();
        assert_eq!((booked.len(), taken), (1, 49), "exactly one browser books the time");
        let winner = view(app, booked[0]).await;
        assert_eq!(winner.status.as_str(), "confirmed");

        // In the store: both units of the time belong to that one booking, and no
        // other booking of the day is left at that time (held or otherwise).
        let aid = app.authority_id(SLUG).await;
        let from = amtsweg_domain::appointments::time::to_ms(time.parse().unwrap());
        let units =
            app.store.store.occupied_units(calendar, from, from + 20 * 60_000, amtsweg_store::now_ms()).await.unwrap();
        assert_eq!(units.len(), 2, "two 10-minute units, one counter: {units:?}");
        let at_time: Vec<_> = app
            .store
            .store
            .appointments_between(aid, calendar, from, from + 20 * 60_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.starts_at >= from)
            .collect();
        assert_eq!(at_time.len(), 1, "{at_time:?}");
        assert_eq!((at_time[0].id, at_time[0].status.as_str()), (winner.id, "confirmed"));
    });
}

#[tokio::test]
async fn moving_keeps_the_old_appointment_until_the_new_one_is_confirmed() {
    on_each_backend!(|app| {
        let calendar = setup(app, 1, &BookingRules::default()).await;
        let mut jar = Jar::default();
        let old = book(app, &mut jar, calendar, "umzug@example.org").await;
        let old_view = view(app, &old).await;
        let day = first_free_day(
            app,
            &mut jar,
            &format!("/termin/{old}/verschieben"),
            &format!("/termin/{old}/verschieben/tag?"),
        )
        .await;
        assert!(day.body.contains("bleibt bestehen"), "{}", day.body);
        let time = starts(&day.body)
            .into_iter()
            .find(|t| amtsweg_domain::appointments::time::to_ms(t.parse().unwrap()) != old_view.starts_at)
            .unwrap();
        let csrf = hidden(&day.body, "csrf");
        let r =
            post(app, &mut jar, &format!("/termin/{old}/verschieben"), &format!("csrf={csrf}&beginn={}", enc(&time)))
                .await;
        let new = token_of(&r);
        // Until the new one is confirmed, the old one stands; the form is filled in.
        assert_eq!(status_of(app, old_view.id).await, "confirmed");
        let held = get(app, &mut jar, &format!("/termin/{new}")).await;
        assert!(held.body.contains("sagen wir Ihren bisherigen Termin"), "{}", held.body);
        assert!(held.body.contains("value=\"Erika Muster\""), "contact taken over: {}", held.body);
        let csrf = hidden(&held.body, "csrf");
        let r = post(
            app,
            &mut jar,
            &format!("/termin/{new}/bestaetigen"),
            &format!("csrf={csrf}&name=Erika+Muster&email=umzug%40example.org"),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(status_of(app, old_view.id).await, "cancelled");
        assert_eq!(view(app, &new).await.status.as_str(), "confirmed");
        let units = app
            .store
            .store
            .occupied_units(calendar, old_view.starts_at, old_view.ends_at, amtsweg_store::now_ms())
            .await
            .unwrap();
        assert!(units.is_empty(), "the old time is free after the move: {units:?}");
    });
}

#[tokio::test]
async fn signed_in_citizens_find_and_cancel_their_appointments_in_the_account() {
    on_each_backend!(|app| {
        let calendar = setup(app, 2, &BookingRules::default()).await;
        let (mut jar, citizen) = crate::konto::citizen(app, "konto-termin@example.org").await;
        let token = book(app, &mut jar, calendar, "konto-termin@example.org").await;
        let v = view(app, &token).await;
        assert_eq!(v.citizen_id, Some(citizen));
        let list = get(app, &mut jar, "/konto/termine/").await;
        assert_eq!(list.status, 200);
        assert!(list.body.contains(&v.reference), "{}", list.body);
        // Someone else's account cannot cancel it.
        let (mut other, _) = crate::konto::citizen(app, "fremd@example.org").await;
        let page = get(app, &mut other, "/konto/termine/").await;
        let csrf = hidden(&page.body, "csrf");
        let r = post(app, &mut other, &format!("/konto/termine/{}/absagen", v.id), &format!("csrf={csrf}")).await;
        assert_eq!(r.status, 404);
        assert_eq!(status_of(app, v.id).await, "confirmed");
        let csrf = hidden(&list.body, "csrf");
        let r = post(app, &mut jar, &format!("/konto/termine/{}/absagen", v.id), &format!("csrf={csrf}")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(status_of(app, v.id).await, "cancelled");
        let list = get(app, &mut jar, r.location()).await;
        assert!(list.body.contains("Der Termin ist abgesagt"), "{}", list.body);
    });
}

#[tokio::test]
async fn double_opt_in_books_only_after_the_link_from_the_mail() {
    on_each_backend!(|app| {
        let calendar = setup(app, 1, &BookingRules { double_opt_in: true, ..BookingRules::default() }).await;
        let mut jar = Jar::default();
        let (r, _) = hold_first(app, &mut jar, calendar).await;
        let token = token_of(&r);
        let r = confirm(app, &mut jar, &token, "optin@example.org").await;
        let page = get(app, &mut jar, r.location()).await;
        assert!(page.body.contains("Bitte bestätigen Sie Ihren Termin"), "{}", page.body);
        assert_eq!(view(app, &token).await.status.as_str(), "preconfirmed");
        let mail = mails_to(app, "optin@example.org")
            .await
            .into_iter()
            .find(|m| m.body.contains("/termin/bestaetigen/"))
            .unwrap();
        let start = mail.body.find("/termin/bestaetigen/").unwrap();
        let link = mail.body[start..].split_whitespace().next().unwrap().to_owned();
        let button = get(app, &mut jar, &link).await;
        assert_eq!(button.status, 200);
        assert_eq!(view(app, &token).await.status.as_str(), "preconfirmed", "opening the link books nothing");
        let csrf = hidden(&button.body, "csrf");
        let done = post(app, &mut jar, &link, &format!("csrf={csrf}")).await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert!(done.body.contains("Ihr Termin ist gebucht"));
        assert_eq!(view(app, &token).await.status.as_str(), "confirmed");
        let bogus = post(
            app,
            &mut jar,
            "/termin/bestaetigen/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            &format!("csrf={csrf}"),
        )
        .await;
        assert_eq!(bogus.status, 404);
    });
}

#[tokio::test]
async fn triage_can_end_the_journey_or_asks_until_answered() {
    on_each_backend!(|app| {
        let rules = BookingRules {
            triage: vec![TriageQuestion {
                id: "zweck".into(),
                text: "Wofür brauchen Sie die Bescheinigung?".into(),
                leika: vec![LEIKA.into()],
                answers: vec![
                    TriageAnswer {
                        id: "amt".into(),
                        label: "Für ein Amt".into(),
                        effect: TriageEffect::AddMinutes(10),
                    },
                    TriageAnswer {
                        id: "online".into(),
                        label: "Ich kann sie online beantragen".into(),
                        effect: TriageEffect::NoAppointment {
                            message: "Dafür können Sie die Meldebescheinigung online beantragen.".into(),
                            link: "/o/moorbrueck/antrag/meldebescheinigung/".into(),
                        },
                    },
                ],
            }],
            ..BookingRules::default()
        };
        let calendar = setup(app, 1, &rules).await;
        let mut jar = Jar::default();
        let q = get(app, &mut jar, &format!("/o/{SLUG}/termine/fragen?leistung={LEIKA}&personen=1")).await;
        assert_eq!(q.status, 200);
        assert!(q.body.contains("Wofür brauchen Sie die Bescheinigung?"));
        let missing = get(app, &mut jar, &format!("/o/{SLUG}/termine/standort?leistung={LEIKA}&personen=1")).await;
        assert_eq!(missing.status, 422);
        assert!(missing.body.contains("Bitte beantworten Sie die Frage"), "{}", missing.body);
        let none =
            get(app, &mut jar, &format!("/o/{SLUG}/termine/standort?leistung={LEIKA}&personen=1&a_zweck=online")).await;
        assert_eq!(none.status, 200);
        assert!(
            none.body.contains("Dafür brauchen Sie keinen Termin")
                && none.body.contains("/o/moorbrueck/antrag/meldebescheinigung/")
        );
        let month = get(app, &mut jar, &format!("/o/{SLUG}/termine/kalender?{}&a_zweck=amt", journey(calendar))).await;
        assert_eq!(month.status, 200, "{}", month.body);
    });
}

#[tokio::test]
async fn bad_input_gets_a_german_message_and_changes_no_booking() {
    on_each_backend!(|app| {
        let rules = BookingRules { limit: Some(BookingLimit { count: 1, days: 60 }), ..BookingRules::default() };
        let calendar = setup(app, 3, &rules).await;
        let mut jar = Jar::default();
        // Someone else's booking, which nothing below may touch.
        let theirs = book(app, &mut Jar::default(), calendar, "andere@example.org").await;
        let theirs = view(app, &theirs).await;
        let count =
            || async { amtsweg_store::testing::count_containing(&app.store.store, "appointments", "status", "").await };
        let base = format!("/o/{SLUG}/termine");

        // Too many persons, a service not offered, no service at all.
        let r = get(app, &mut jar, &format!("{base}/fragen?leistung={LEIKA}&personen=9")).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("höchstens 2 Personen"), "{}", r.body);
        let r = get(app, &mut jar, &format!("{base}/fragen?leistung=99999999999999&personen=1")).await;
        assert_eq!(r.status, 422);
        assert!(r.body.contains("keinen Termin online vereinbaren"), "{}", r.body);
        let r = get(app, &mut jar, &format!("{base}/fragen?personen=1")).await;
        assert!(r.status == 422 && r.body.contains("mindestens ein Anliegen"), "{}", r.body);
        let r = get(app, &mut jar, &format!("{base}/kalender?leistung={LEIKA}&personen=3&standort={calendar}")).await;
        assert_eq!(r.status, 422, "{}", r.body);

        let before = count().await;
        // A time outside the window, and one not on the grid.
        let day =
            first_free_day(app, &mut jar, &format!("{base}/kalender?{}", journey(calendar)), &format!("{base}/tag?"))
                .await;
        let csrf = hidden(&day.body, "csrf");
        let far = (jiff::Zoned::now().date() + jiff::Span::new().days(200)).to_string();
        for start in [format!("{far}T09:00"), "2020-01-06T09:00".to_owned()] {
            let r = post(
                app,
                &mut jar,
                &format!("{base}/halten"),
                &format!("csrf={csrf}&{}&beginn={start}", journey(calendar)),
            )
            .await;
            assert_eq!(r.status, 422, "{}", r.body);
            assert!(r.body.contains("Diese Zeit können Sie nicht buchen"), "{}", r.body);
        }
        // No time chosen; a form without its token.
        let r = post(
            app,
            &mut jar,
            &format!("{base}/halten"),
            &format!("csrf={csrf}&{}&tag=2030-01-01", journey(calendar)),
        )
        .await;
        assert!(r.status == 422 && r.body.contains("Bitte wählen Sie eine Uhrzeit."), "{}", r.body);
        let first = starts(&day.body).remove(0);
        let r =
            post(app, &mut jar, &format!("{base}/halten"), &format!("{}&beginn={}", journey(calendar), enc(&first)))
                .await;
        assert_eq!(r.status, 403);
        assert_eq!(count().await, before, "nothing was stored");

        // A manage link that is unknown or altered.
        for t in ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "kurz", "%3Cscript%3E"] {
            let r = get(app, &mut jar, &format!("/termin/{t}")).await;
            assert_eq!(r.status, 404, "{t}");
            assert!(r.body.contains("Diesen Termin-Link kennen wir nicht"), "{}", r.body);
        }

        // Contact data: missing name, implausible e-mail.
        let (r, _) = hold_first(app, &mut jar, calendar).await;
        let token = token_of(&r);
        // One character changed: not this booking, not anyone's.
        let tampered = format!("{}{}", &token[..42], if token.ends_with('A') { 'B' } else { 'A' });
        let r = get(app, &mut jar, &format!("/termin/{tampered}")).await;
        assert!(r.status == 404 && r.body.contains("Diesen Termin-Link kennen wir nicht"), "{}", r.body);
        let page = get(app, &mut jar, &format!("/termin/{token}")).await;
        let csrf = hidden(&page.body, "csrf");
        let r = post(
            app,
            &mut jar,
            &format!("/termin/{tampered}/bestaetigen"),
            &format!("csrf={csrf}&name=Max&email=a%40b.de"),
        )
        .await;
        assert_eq!(r.status, 404);
        let r =
            post(app, &mut jar, &format!("/termin/{token}/bestaetigen"), &format!("csrf={csrf}&name=&email=a%40b.de"))
                .await;
        assert!(r.status == 422 && r.body.contains("Bitte geben Sie Ihren Namen an."), "{}", r.body);
        let r = post(
            app,
            &mut jar,
            &format!("/termin/{token}/bestaetigen"),
            &format!("csrf={csrf}&name=Max&email=keine-adresse"),
        )
        .await;
        assert!(r.status == 422 && r.body.contains("gültige E-Mail-Adresse"), "{}", r.body);
        assert!(r.body.contains("value=\"Max\""), "what was typed stays");
        // The booking limit per person: the other booker's address has its one booking.
        let r = post(
            app,
            &mut jar,
            &format!("/termin/{token}/bestaetigen"),
            &format!("csrf={csrf}&name=Max&email=andere%40example.org"),
        )
        .await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(r.body.contains("Mit dieser E-Mail-Adresse sind schon"), "{}", r.body);
        assert_eq!(view(app, &token).await.status.as_str(), "held");

        // A hold that expired.
        amtsweg_store::testing::execute_sql(
            &app.store.store,
            &format!("UPDATE appointments SET hold_until = 1 WHERE id = {}", view(app, &token).await.id),
        )
        .await;
        let r = get(app, &mut jar, &format!("/termin/{token}")).await;
        assert_eq!(r.status, 410);
        assert!(r.body.contains("Die Reservierung ist abgelaufen"), "{}", r.body);
        let r = post(
            app,
            &mut jar,
            &format!("/termin/{token}/bestaetigen"),
            &format!("csrf={csrf}&name=Max&email=max%40example.org"),
        )
        .await;
        assert_eq!(r.status, 410, "{}", r.body);
        assert!(r.body.contains("Reservierung ist abgelaufen"), "{}", r.body);

        // A manage link used after the appointment.
        let mut past_jar = Jar::default();
        let past = book(app, &mut past_jar, calendar, "vergangen@example.org").await;
        let id = view(app, &past).await.id;
        amtsweg_store::testing::execute_sql(
            &app.store.store,
            &format!("UPDATE appointments SET starts_at = 1000, ends_at = 2000 WHERE id = {id}"),
        )
        .await;
        let page = get(app, &mut past_jar, &format!("/termin/{past}")).await;
        assert!(page.body.contains("Dieser Termin liegt in der Vergangenheit"), "{}", page.body);
        assert!(!page.body.contains("Termin absagen"));
        // The page has no form any more; a crafted POST carries this browser's token.
        let csrf = hidden(&get(app, &mut past_jar, "/termin/bestaetigen/x").await.body, "csrf");
        let r = post(app, &mut past_jar, &format!("/termin/{past}/absagen"), &format!("csrf={csrf}")).await;
        assert_eq!(r.status, 409, "the page explains: {}", r.body);
        assert!(r.body.contains("nicht mehr abgesagt werden"), "{}", r.body);
        let r = get(app, &mut past_jar, &format!("/termin/{past}/verschieben")).await;
        assert!(r.body.contains("kann nicht mehr verschoben werden"), "{}", r.body);
        assert_eq!(status_of(app, id).await, "confirmed");

        // A flood of holds from one client: three open holds, then no more.
        for _ in 0..3 {
            assert_eq!(hold_first(app, &mut jar, calendar).await.0.status, 303);
        }
        let (r, _) = hold_first(app, &mut jar, calendar).await;
        assert_eq!(r.status, 429);
        assert!(r.body.contains("Termine reserviert, ohne sie zu bestätigen"), "{}", r.body);
        assert!(r.headers.contains_key(header::RETRY_AFTER));

        // The other booker's appointment is as it was.
        assert_eq!(status_of(app, theirs.id).await, "confirmed");
    });
}

#[tokio::test]
async fn the_manage_page_offers_the_booked_appointment_as_a_calendar_file() {
    on_each_backend!(|app| {
        let calendar = setup(app, 2, &BookingRules::default()).await;
        let mut jar = Jar::default();
        let (r, _) = hold_first(app, &mut jar, calendar).await;
        let token = token_of(&r);
        let ics_url = format!("/termin/{token}/termin.ics");
        // While only held there is no calendar file yet.
        let held = get(app, &mut jar, &format!("/termin/{token}")).await;
        assert!(!held.body.contains(&ics_url), "{}", held.body);
        assert_eq!(get(app, &mut jar, &ics_url).await.status, 404);

        let r = confirm(app, &mut jar, &token, "kalender@example.org").await;
        assert_eq!(r.status, 303, "{}", r.body);
        let page = get(app, &mut jar, &format!("/termin/{token}")).await;
        assert!(page.body.contains(&ics_url), "{}", page.body);
        assert!(page.body.contains("Termin in den Kalender übernehmen (.ics)"), "{}", page.body);

        let file = get(app, &mut jar, &ics_url).await;
        assert_eq!(file.status, 200, "{}", file.body);
        let h = |name| file.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert_eq!(h(header::CONTENT_TYPE), "text/calendar; charset=utf-8");
        assert!(h(header::CONTENT_DISPOSITION).starts_with("attachment;"), "{}", h(header::CONTENT_DISPOSITION));
        assert_eq!(h(header::CACHE_CONTROL), "no-store");
        assert_eq!(h(header::REFERRER_POLICY), "same-origin");
        // Folded lines joined again (RFC 5545 §3.1) before looking for values.
        let text = file.body.replace("\r\n ", "");
        assert!(text.starts_with("BEGIN:VCALENDAR\r\n"), "{text}");
        assert!(text.contains("BEGIN:VEVENT") && text.contains("END:VCALENDAR"), "{text}");
        let reference = view(app, &token).await.reference;
        assert!(text.contains(&format!("\r\nUID:{reference}@")), "{text}");
        let description = text.lines().find(|l| l.starts_with("DESCRIPTION")).unwrap_or_default();
        assert!(description.contains(&reference), "{text}");
        assert!(description.contains(&format!("/termin/{token}")), "the manage link is in the entry: {text}");
        // The same entry as the confirmation e-mail's file.
        let mails = mails_to(app, "kalender@example.org").await;
        let mailed = mails.iter().flat_map(|m| &m.attachments).find(|a| a.file_name == "termin.ics").unwrap();
        assert!(mailed.content.replace("\r\n ", "").contains(&format!("\r\nUID:{reference}@")));

        // A wrong or altered link gets the 404 page, not somebody's calendar file.
        let mut wrong = token.clone();
        let last = if wrong.ends_with('A') { "B" } else { "A" };
        wrong.replace_range(wrong.len() - 1.., last);
        let r = get(app, &mut jar, &format!("/termin/{wrong}/termin.ics")).await;
        assert_eq!(r.status, 404);
        assert!(!r.body.contains("BEGIN:VCALENDAR"));
        assert_eq!(get(app, &mut jar, "/termin/kurz/termin.ics").await.status, 404);

        // After cancelling, the file is gone too.
        let csrf = hidden(&page.body, "csrf");
        let r = post(app, &mut jar, &format!("/termin/{token}/absagen"), &format!("csrf={csrf}")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let r = get(app, &mut jar, &ics_url).await;
        assert_eq!(r.status, 404);
        assert!(r.body.contains("Zurück zum Termin"), "{}", r.body);
    });
}
