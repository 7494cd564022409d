//! The appointments API on both databases: counter software of an authority lists a
//! location's day with the citizens' contact data and marks appointments attended,
//! missed or cancelled — only with the scope `termine`, only its own authority's,
//! with problem details for every bad input and 409 for a transition the life cycle
//! does not allow.

use crate::on_each_backend;
use crate::support::{Reply, TestApp};
use crate::verwaltung::{enc, get, hidden, post, sign_in};
use amtsweg_domain::appointments::{BookingRules, Calendar, CalendarService};
use amtsweg_portal::appointments::booking::{self, Held};
use amtsweg_portal::appointments::journey::{self, Journey};
use amtsweg_portal::appointments::view::Contact;
use axum::body::Body;
use axum::http::Request;

/// A location of Moorbrück with a calendar of two counters and 10-minute
/// Meldebescheinigung appointments on weekdays; returns (calendar id, LeiKa key).
async fn calendar(app: &TestApp) -> (i64, String) {
    let store = &app.store.store;
    let a = app.authority_id("moorbrueck").await;
    let leika = store.leistung(a, "meldebescheinigung").await.unwrap().unwrap().leika.to_string();
    let day = "08:00-12:00";
    let hours = amtsweg_domain::OpeningHours::from_day_map(
        [("mo", day), ("di", day), ("mi", day), ("do", day), ("fr", day)],
        Vec::new(),
    )
    .unwrap();
    let location = amtsweg_store::NewLocation {
        slug: "termin-api".into(),
        name: "Bürgerbüro Nebenstelle".into(),
        street: "Markt 2".into(),
        plz: "29391".into(),
        city: "Moorbrück".into(),
        accessibility: String::new(),
        hours,
    };
    let rules = BookingRules { double_opt_in: false, limit: None, triage: Vec::new(), ..BookingRules::default() };
    let cal = Calendar {
        active: true,
        slot_minutes: 10,
        counters: 2,
        earliest_days: 1,
        latest_days: 21,
        services: vec![CalendarService { leika: leika.clone(), minutes: 10, extra_person_minutes: 10, max_persons: 2 }],
        ..Calendar::default()
    };
    let version = store.appointment_rules(a).await.unwrap().map_or(0, |r| r.version);
    let mut tx = store.begin().await.unwrap();
    let location_id = tx.insert_location(a, &location).await.unwrap();
    tx.save_appointment_rules(a, &serde_json::to_string(&rules).unwrap(), version).await.unwrap().unwrap();
    let (id, _) =
        tx.save_appointment_calendar(a, location_id, &serde_json::to_string(&cal).unwrap(), 0).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    (id, leika)
}

/// Books the first `n` free times of the first day that has them, as citizens do;
/// returns the day.
async fn book(app: &TestApp, calendar_id: i64, leika: &str, n: usize) -> jiff::civil::Date {
    let portal = &app.state.portal;
    let a = app.authority_id("moorbrueck").await;
    let journey = Journey {
        services: vec![leika.to_owned()],
        persons: 1,
        answers: Vec::new(),
        calendar: Some(calendar_id),
        receipt: None,
    };
    let now = amtsweg_portal::time::now_local();
    let mut date = now.date();
    let times = loop {
        date = date.tomorrow().unwrap();
        let times = journey::day(portal, a, &journey, date, now).await.unwrap().unwrap();
        if times.len() >= n {
            break times;
        }
    };
    for (i, t) in times.iter().take(n).enumerate() {
        let Held { token, .. } = booking::hold(portal, a, &journey, t.start, &format!("test-client-{i}"), None, None)
            .await
            .unwrap()
            .unwrap();
        let contact = Contact {
            name: format!("Erika Musterfrau {i}"),
            email: format!("erika{i}@example.org"),
            phone: "05161 1234".into(),
            notes: String::new(),
        };
        booking::confirm(portal, &token, contact, None).await.unwrap().unwrap();
    }
    date
}

/// An API client of `authority` with `scopes`; returns its `X-API-Key` value.
async fn client(app: &TestApp, authority: &str, id: &str, scopes: &str) -> String {
    let a = app.authority_id(authority).await;
    let mut tx = app.store.store.begin().await.unwrap();
    tx.insert_api_client(a, "Aufrufanlage", id, &amtsweg_web::api::secret_hash("geheim-0123456789"), scopes)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    format!("{id}:geheim-0123456789")
}

async fn api(app: &TestApp, method: &str, path: &str, key: &str, body: Option<&str>) -> (Reply, serde_json::Value) {
    let b = Request::builder().method(method).uri(path).header("host", "127.0.0.1:8080").header("x-api-key", key);
    let req = match body {
        Some(json) => b.header("content-type", "application/json").body(Body::from(json.to_owned())).unwrap(),
        None => b.body(Body::empty()).unwrap(),
    };
    let r = app.request(req).await;
    let v = serde_json::from_str(&r.body).unwrap_or(serde_json::Value::Null);
    (r, v)
}

fn problem(r: &Reply, v: &serde_json::Value, status: u16, kind: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.headers["content-type"], "application/problem+json", "{}", r.body);
    assert_eq!(v["type"], format!("https://amtsweg.de/probleme/{kind}"), "{}", r.body);
    assert!(v["detail"].as_str().is_some_and(|d| d.len() > 10), "{}", r.body);
}

#[tokio::test]
async fn counter_software_lists_a_day_and_marks_appointments() {
    on_each_backend!(|app| {
        let (cal, leika) = calendar(app).await;
        let date = book(app, cal, &leika, 3).await;
        let key = client(app, "moorbrueck", "aufruf", "termine").await;
        let day = format!("/api/v1/termine?standort={cal}&tag={date}");

        // The day with the citizens' contact data, by start time.
        let (r, v) = api(app, "GET", &day, &key, None).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(v["date"], date.to_string());
        assert_eq!(v["location"]["calendar_id"], cal);
        assert!(v["location"]["address"].as_str().unwrap().contains("Markt 2"), "{v}");
        let items = v["items"].as_array().unwrap();
        assert_eq!(items.len(), 3, "{v}");
        let starts: Vec<&str> = items.iter().map(|i| i["start"].as_str().unwrap()).collect();
        assert!(starts.windows(2).all(|w| w[0] <= w[1]), "by start time: {starts:?}");
        assert!(starts[0].starts_with(&date.to_string()) && starts[0].ends_with(":00"), "{starts:?}");
        assert_eq!(items[0]["status"], "confirmed");
        assert_eq!(items[0]["contact"]["name"], "Erika Musterfrau 0");
        assert_eq!(items[0]["contact"]["email"], "erika0@example.org");
        assert_eq!(items[0]["services"][0]["leika"], leika.as_str());
        assert!(items[0]["reference"].as_str().unwrap().starts_with("T-"), "{v}");
        let ids: Vec<i64> = items.iter().map(|i| i["id"].as_i64().unwrap()).collect();

        // Reading personal data is written to the audit log (ids only).
        let audited = app.store.store.audit_entries(None, 500).await.unwrap();
        assert!(
            audited.iter().any(|e| e.actor == "api:aufruf"
                && e.action == "api.appointments.day"
                && e.target == format!("calendar:{cal}/{date}")),
            "audited"
        );

        // An appointment that has not begun cannot be marked yet.
        let status = |id: i64| format!("/api/v1/termine/{id}/status");
        let (r, v) = api(app, "POST", &status(ids[0]), &key, Some(r#"{"status":"attended"}"#)).await;
        problem(&r, &v, 409, "invalid-transition");
        assert!(v["detail"].as_str().unwrap().contains("beginnt erst"), "{v}");

        // Cancelling with a message frees the time for others; twice is refused.
        let (r, v) = api(
            app,
            "POST",
            &status(ids[2]),
            &key,
            Some(r#"{"status":"cancelled","message":"Die Sachbearbeiterin ist erkrankt. Bitte buchen Sie neu."}"#),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(v["status"], "cancelled");
        let (r, v) = api(app, "POST", &status(ids[2]), &key, Some(r#"{"status":"cancelled"}"#)).await;
        problem(&r, &v, 409, "invalid-transition");
        let (_, v) = api(app, "GET", &day, &key, None).await;
        let states: Vec<&str> = v["items"].as_array().unwrap().iter().map(|i| i["status"].as_str().unwrap()).collect();
        assert_eq!(states, ["confirmed", "confirmed", "cancelled"], "{v}");
        let a = app.authority_id("moorbrueck").await;
        let row = app.store.store.appointment(a, ids[2]).await.unwrap().unwrap();
        let journey = Journey {
            services: vec![leika.clone()],
            persons: 1,
            answers: Vec::new(),
            calendar: Some(cal),
            receipt: None,
        };
        let free = journey::day(&app.state.portal, a, &journey, date, amtsweg_portal::time::now_local())
            .await
            .unwrap()
            .unwrap();
        let start = amtsweg_domain::appointments::time::from_ms(row.starts_at);
        assert!(free.iter().any(|t| t.start == start), "the cancelled time is free again");

        // The other two are today and have begun (moved there in the database, as
        // the clock cannot be): attended, missed, a correction, no cancelling then.
        let begun = amtsweg_store::now_ms() - 20 * 60_000;
        let sql = format!(
            "UPDATE appointments SET starts_at = {begun}, ends_at = {} WHERE id IN ({}, {})",
            begun + 10 * 60_000,
            ids[0],
            ids[1]
        );
        amtsweg_store::testing::execute_sql(&app.store.store, &sql).await;
        let (r, v) = api(app, "POST", &status(ids[0]), &key, Some(r#"{"status":"attended"}"#)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!((v["id"].as_i64(), v["status"].as_str()), (Some(ids[0]), Some("attended")));
        assert_eq!(v["status_label"], "wahrgenommen");
        for (to, code) in [("attended", 200), ("missed", 200), ("attended", 200), ("missed", 200)] {
            let (r, _) = api(app, "POST", &status(ids[1]), &key, Some(&format!(r#"{{"status":"{to}"}}"#))).await;
            assert_eq!(r.status, code, "{to}: {}", r.body);
        }
        let (r, v) = api(app, "POST", &status(ids[0]), &key, Some(r#"{"status":"cancelled"}"#)).await;
        problem(&r, &v, 409, "invalid-transition");
        let today = amtsweg_domain::appointments::time::from_ms(begun).date();
        let (_, v) = api(app, "GET", &format!("/api/v1/termine?standort={cal}&tag={today}"), &key, None).await;
        let mut states: Vec<&str> =
            v["items"].as_array().unwrap().iter().map(|i| i["status"].as_str().unwrap()).collect();
        states.sort_unstable();
        assert_eq!(states, ["attended", "missed"], "{v}");

        // Bad input: problems, and nothing changes.
        for (path, kind, code) in [
            (format!("/api/v1/termine?tag={date}"), "invalid-request", 422),
            (format!("/api/v1/termine?standort={cal}"), "invalid-request", 422),
            (format!("/api/v1/termine?standort={cal}&tag=2026-13-01"), "invalid-request", 422),
            (format!("/api/v1/termine?standort={cal}&tag=morgen"), "invalid-request", 422),
            (format!("/api/v1/termine?standort=abc&tag={date}"), "invalid-request", 422),
            (format!("/api/v1/termine?standort=999999&tag={date}"), "unknown-calendar", 404),
        ] {
            let (r, v) = api(app, "GET", &path, &key, None).await;
            problem(&r, &v, code, kind);
        }
        for body in [
            r#"{"status":"held"}"#,
            r#"{"status":"confirmed"}"#,
            r#"{"status":""}"#,
            r#"{"state":"attended"}"#,
            r#"{"status":"attended","extra":1}"#,
            r#"{"status":"#,
        ] {
            let (r, v) = api(app, "POST", &status(ids[1]), &key, Some(body)).await;
            problem(&r, &v, 422, "invalid-request");
        }
        let (r, v) = api(app, "POST", &status(999_999), &key, Some(r#"{"status":"attended"}"#)).await;
        problem(&r, &v, 404, "unknown-appointment");
        let (r, v) = api(app, "POST", "/api/v1/termine/abc/status", &key, Some(r#"{"status":"attended"}"#)).await;
        problem(&r, &v, 404, "not-found");
        assert_eq!(app.store.store.appointment(a, ids[1]).await.unwrap().unwrap().status, "missed");

        // Without the scope: 403; another authority's client: 404 for every id.
        let reader = client(app, "moorbrueck", "nur-antraege", "submissions:read submissions:write").await;
        let (r, v) = api(app, "GET", &day, &reader, None).await;
        problem(&r, &v, 403, "insufficient-scope");
        let (r, v) = api(app, "POST", &status(ids[1]), &reader, Some(r#"{"status":"attended"}"#)).await;
        problem(&r, &v, 403, "insufficient-scope");
        let foreign = client(app, "sg-heideland", "fremd", "termine").await;
        let (r, v) = api(app, "GET", &day, &foreign, None).await;
        problem(&r, &v, 404, "unknown-calendar");
        let (r, v) = api(app, "POST", &status(ids[1]), &foreign, Some(r#"{"status":"attended"}"#)).await;
        problem(&r, &v, 404, "unknown-appointment");
        assert_eq!(app.store.store.appointment(a, ids[1]).await.unwrap().unwrap().status, "missed");
        let (r, _) = api(app, "GET", &day, "aufruf:falsch", None).await;
        assert_eq!(r.status, 401);
    });
}

/// Administrators grant the scope when they create a client in the back office.
#[tokio::test]
async fn the_back_office_grants_the_appointments_scope() {
    on_each_backend!(|app| {
        let mut jar = sign_in(app, "admin@moorbrueck.example").await;
        let page = get(app, &mut jar, "/verwaltung/behoerden/moorbrueck/schnittstellen/").await;
        assert!(page.body.contains("name=\"termine\""), "the scope is offered");
        let csrf = hidden(&page.body, "csrf");
        let body = format!("csrf={csrf}&name={}&termine=1", enc("Aufrufanlage"));
        let r = post(app, &mut jar, "/verwaltung/behoerden/moorbrueck/schnittstellen/zugaenge", &body).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let a = app.authority_id("moorbrueck").await;
        let clients = app.store.store.api_clients_of(a).await.unwrap();
        assert!(clients.iter().any(|c| c.name == "Aufrufanlage" && c.scopes == "termine"), "{clients:?}");
    });
}
