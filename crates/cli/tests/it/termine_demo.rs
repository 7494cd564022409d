//! The demo's online appointments (issue 19, point 9): the county's vehicle
//! registration office and Moorbrück's Bürgerbüro have calendars with free times in
//! the coming weeks, a citizen books anonymously through the real pages (with the
//! `.ics` in the confirmation e-mail), the county's bookings confirm by e-mail link,
//! and the ID-card form asks for a visit after submission.

use crate::binary::{free_port, http_get, start_demo};
use crate::on_each_backend;
use crate::support::{Reply, TestApp};
use crate::verwaltung::{Jar, enc, get, hidden, post, sign_in};
use amtsweg::seed_termine;
use amtsweg_store::outbox::EmailMessage;

const PERSONALAUSWEIS: &str = "99008001012000";
const MELDEBESCHEINIGUNG: &str = "99115003012000";
const KFZ_NEUZULASSUNG: &str = "99036020001000";

/// What minijinja escapes in attribute values, back to plain text.
fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Every `href` of the page that contains `part`, unescaped.
fn links(body: &str, part: &str) -> Vec<String> {
    body.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(unescape)
        .filter(|h| h.contains(part))
        .collect()
}

/// The value of the first input named `name` (in whatever attribute order the
/// template writes `name` before `value`).
fn input_value(body: &str, name: &str) -> Option<String> {
    let start = body.find(&format!("name=\"{name}\""))?;
    let rest = &body[start..];
    let end = rest.find('>')?;
    let v = rest[..end].split("value=\"").nth(1)?.split('"').next()?;
    Some(unescape(v))
}

/// The hidden inputs of the first form posting to `action`, in order.
fn hidden_inputs(body: &str, action: &str) -> Vec<(String, String)> {
    let form = body.find(&format!("action=\"{action}\"")).map_or(body, |i| &body[i..]);
    let form = &form[..form.find("</form>").unwrap_or(form.len())];
    form.split("<input type=\"hidden\" ")
        .skip(1)
        .filter_map(|rest| {
            let tag = &rest[..rest.find('>')?];
            let name = tag.split("name=\"").nth(1)?.split('"').next()?;
            let value = tag.split("value=\"").nth(1)?.split('"').next()?;
            Some((unescape(name), unescape(value)))
        })
        .collect()
}

fn encode(pairs: &[(String, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

/// Follows redirects of GET pages (the journey skips steps with nothing to choose).
async fn follow(app: &TestApp, jar: &mut Jar, path: &str) -> (String, Reply) {
    let mut path = path.to_owned();
    for _ in 0..5 {
        let r = get(app, jar, &path).await;
        if !r.status.is_redirection() {
            return (path, r);
        }
        path = r.location().to_owned();
    }
    panic!("too many redirects from {path}");
}

/// The first day with free times, from the journey's calendar page on: this month
/// or, late in a month, the next ones.
async fn first_free_day(app: &TestApp, jar: &mut Jar, calendar: &str) -> String {
    let mut path = calendar.to_owned();
    for _ in 0..3 {
        let (_, page) = follow(app, jar, &path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        if let Some(day) = links(&page.body, "/termine/tag?").into_iter().next() {
            return day;
        }
        path = links(&page.body, "monat=").into_iter().last().unwrap_or_else(|| panic!("no next month: {}", page.body));
    }
    panic!("no free day in three months from {calendar}");
}

/// The newest queued e-mail to `to`.
async fn mail_to(app: &TestApp, to: &str) -> EmailMessage {
    let rows = app.store.store.outbox_entries(200).await.unwrap();
    // Newest first.
    rows.iter().filter_map(|r| r.email().ok()).find(|m| m.to == to).unwrap_or_else(|| panic!("no mail to {to}"))
}

/// From the service choice to the held time: the journey's pages as a browser walks
/// them. Returns the manage link `/termin/<token>`.
async fn hold_a_time(app: &TestApp, jar: &mut Jar, slug: &str, query: &str) -> String {
    // The questions' page sends its answers on to the location step (which skips
    // itself for one location).
    let (calendar, page) = follow(app, jar, &format!("/o/{slug}/termine/standort?{query}")).await;
    assert_eq!(page.status, 200, "{calendar}: {}", page.body);
    assert!(calendar.contains("/termine/kalender"), "the questions are answered in {query}: {calendar}");
    let day = first_free_day(app, jar, &calendar).await;
    let page = get(app, jar, &day).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let action = format!("/o/{slug}/termine/halten");
    let mut form = hidden_inputs(&page.body, &action);
    let start = input_value(&page.body, "beginn").unwrap_or_else(|| panic!("no free time on {day}: {}", page.body));
    form.push(("beginn".into(), start));
    let held = post(app, jar, &action, &encode(&form)).await;
    assert_eq!(held.status, 303, "{}", held.body);
    let manage = held.location().to_owned();
    assert!(manage.starts_with("/termin/"), "{manage}");
    manage
}

/// Types name and e-mail into the held time's form and books.
async fn confirm(app: &TestApp, jar: &mut Jar, manage: &str, email: &str) -> Reply {
    let page = get(app, jar, manage).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Wir halten diesen Termin bis"), "{}", page.body);
    let csrf = input_value(&page.body, "csrf").unwrap();
    let body = format!("csrf={}&name=Erika+Mustermann&email={}&phone=&notes=", enc(&csrf), enc(email));
    let r = post(app, jar, &format!("{manage}/bestaetigen"), &body).await;
    assert_eq!(r.status, 303, "{}", r.body);
    get(app, jar, r.location()).await
}

#[tokio::test]
async fn the_demo_books_an_identity_card_appointment_anonymously() {
    on_each_backend!(|app| {
        assert!(seed_termine::seed(&app.store.store).await.unwrap(), "first run seeds");
        assert!(!seed_termine::seed(&app.store.store).await.unwrap(), "a second run changes nothing");
        let mut jar = Jar::default();
        let start = get(app, &mut jar, "/o/moorbrueck/termine/").await;
        assert_eq!(start.status, 200, "{}", start.body);
        for (leika, title) in [
            (PERSONALAUSWEIS, "Personalausweis"),
            ("99085001012000", "Reisepass"),
            (MELDEBESCHEINIGUNG, "Meldebescheinigung"),
        ] {
            assert!(start.body.contains(&format!("value=\"{leika}\"")), "{title} offered: {}", start.body);
            assert!(start.body.contains(title), "{title}");
        }
        // The lost-card question is asked for the identity card and adds time.
        let asked =
            get(app, &mut jar, &format!("/o/moorbrueck/termine/fragen?leistung={PERSONALAUSWEIS}&personen=2")).await;
        assert_eq!(asked.status, 200, "{}", asked.body);
        assert!(asked.body.contains("Ausweis verloren gegangen"), "{}", asked.body);
        let manage = hold_a_time(
            app,
            &mut jar,
            "moorbrueck",
            &format!("leistung={PERSONALAUSWEIS}&personen=2&a_ausweis-verloren=ja"),
        )
        .await;
        let done = confirm(app, &mut jar, &manage, "erika@example.org").await;
        assert_eq!(done.status, 200, "{}", done.body);
        assert!(done.body.contains("Ihr Termin ist gebucht"), "{}", done.body);
        assert!(done.body.contains("Bürgerbüro Moorbrück") && done.body.contains("Lange Straße 8"), "{}", done.body);
        assert!(done.body.contains("2 Personen"), "{}", done.body);

        // The confirmation e-mail carries the calendar file and the manage link.
        let mail = mail_to(app, "erika@example.org").await;
        assert!(mail.body.contains(&manage), "manage link in {}", mail.body);
        let ics = mail.attachments.iter().find(|a| a.file_name.ends_with(".ics")).expect("a calendar file");
        assert!(ics.content_type.starts_with("text/calendar"), "{}", ics.content_type);
        assert!(ics.content.contains("BEGIN:VEVENT") && ics.content.contains("Lange Straße 8"), "{}", ics.content);
        // Two persons at 20 minutes each plus 10 for the lost card: 50 minutes.
        let starts = ics.content.lines().find(|l| l.starts_with("DTSTART")).unwrap();
        let ends = ics.content.lines().find(|l| l.starts_with("DTEND")).unwrap();
        let minutes = |l: &str| {
            let t = &l[l.rfind('T').unwrap() + 1..];
            t[..2].parse::<i32>().unwrap() * 60 + t[2..4].parse::<i32>().unwrap()
        };
        assert_eq!(minutes(ends) - minutes(starts), 50, "{}", ics.content);
    });
}

#[tokio::test]
async fn the_meldebescheinigung_question_leads_to_the_online_form() {
    on_each_backend!(|app| {
        seed_termine::seed(&app.store.store).await.unwrap();
        let mut jar = Jar::default();
        let (_, page) = follow(
            app,
            &mut jar,
            &format!("/o/moorbrueck/termine/standort?leistung={MELDEBESCHEINIGUNG}&personen=1&a_meldebescheinigung-online=online"),
        )
        .await;
        assert!(page.body.contains("keinen Termin"), "{}", page.body);
        assert!(page.body.contains("href=\"/o/moorbrueck/antrag/meldebescheinigung/\""), "{}", page.body);
        let form = app.get("/o/moorbrueck/antrag/meldebescheinigung/").await;
        assert_ne!(form.status, 404, "the linked form exists");
    });
}

#[tokio::test]
async fn the_county_books_vehicle_registrations_with_an_e_mail_confirmation() {
    on_each_backend!(|app| {
        seed_termine::seed(&app.store.store).await.unwrap();
        // The service text's booking link and the page's own link lead to the journey.
        let service = app.get("/o/landkreis-heidekamp/leistungen/kfz-neuzulassung").await;
        let booking = format!("/o/landkreis-heidekamp/termine/?leistung={KFZ_NEUZULASSUNG}");
        assert!(links(&service.body, "/termine/").contains(&booking), "{}", service.body);

        let mut jar = Jar::default();
        let start = get(app, &mut jar, &booking).await;
        assert_eq!(start.status, 200, "{}", start.body);
        assert!(start.body.contains("Außerbetriebsetzung"), "{}", start.body);
        let manage =
            hold_a_time(app, &mut jar, "landkreis-heidekamp", &format!("leistung={KFZ_NEUZULASSUNG}&personen=1")).await;
        let waiting = confirm(app, &mut jar, &manage, "max@example.org").await;
        assert!(waiting.body.contains("Bitte bestätigen Sie Ihren Termin"), "{}", waiting.body);
        assert!(waiting.body.contains("Straßenverkehrsamt Moorbrück"), "{}", waiting.body);

        // The link from the e-mail confirms: a page with a button, then the booking.
        let mail = mail_to(app, "max@example.org").await;
        let link = mail
            .body
            .split_whitespace()
            .find_map(|w| w.find("/termin/bestaetigen/").map(|i| w[i..].to_owned()))
            .unwrap_or_else(|| panic!("no confirmation link in {}", mail.body));
        let mut other_browser = Jar::default();
        let page = get(app, &mut other_browser, &link).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let csrf = input_value(&page.body, "csrf").unwrap();
        let r = post(app, &mut other_browser, &link, &format!("csrf={}", enc(&csrf))).await;
        let (_, done) = if r.status.is_redirection() {
            follow(app, &mut other_browser, r.location()).await
        } else {
            (link.clone(), r)
        };
        assert_eq!(done.status, 200, "{}", done.body);
        assert!(done.body.contains("Termin ist gebucht") || done.body.contains("Bestätigt"), "{}", done.body);
        let now = get(app, &mut jar, &manage).await;
        assert!(now.body.contains("Ihr Termin"), "{}", now.body);
        let booked = mail_to(app, "max@example.org").await;
        assert!(booked.attachments.iter().any(|a| a.content.contains("BEGIN:VCALENDAR")), "{booked:?}");
    });
}

#[tokio::test]
async fn the_identity_card_application_leads_to_a_booking_with_its_receipt_number() {
    on_each_backend!(|app| {
        seed_termine::seed(&app.store.store).await.unwrap();
        let town = app.authority_id("moorbrueck").await;
        let row = app.store.store.form_by_slug(town, "personalausweis").await.unwrap().expect("the demo form");
        let form = app.store.store.form_version(town, row.id, 1).await.unwrap().unwrap().form().unwrap();
        let offer = form.appointment.expect("the form asks for a visit");
        assert!(offer.required);
        assert_eq!(offer.leika, PERSONALAUSWEIS);

        // The application, anonymously, up to its receipt.
        let path = "/o/moorbrueck/antrag/personalausweis/";
        let mut jar = Jar::default();
        let first = get(app, &mut jar, path).await;
        assert_eq!(first.status, 200, "{}", first.body);
        let r = post(
            app,
            &mut jar,
            path,
            &format!(
                "csrf={}&token={}&aktion=weiter&f.vorname=Erika&f.familienname=Mustermann&f.geburtsdatum=12.08.1964&f.email={}",
                enc(&hidden(&first.body, "csrf")),
                enc(&hidden(&first.body, "token")),
                enc("erika@example.org")
            ),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let draft = r.location().trim_end_matches("anlass").to_owned();
        let csrf = enc(&hidden(&get(app, &mut jar, r.location()).await.body, "csrf"));
        for (step, fields, next) in [
            ("anlass", "f.anlass=ablauf&f.ausweisnummer=L01X00T47", "erklaerung"),
            ("erklaerung", "f.versicherung=ja", "pruefen"),
        ] {
            let r =
                post(app, &mut jar, &format!("{draft}{step}"), &format!("csrf={csrf}&aktion=weiter&{fields}")).await;
            assert_eq!(r.location(), format!("{draft}{next}"), "{}", r.body);
        }
        let r = post(app, &mut jar, &format!("{draft}absenden"), &format!("csrf={csrf}")).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let receipt = get(app, &mut jar, r.location()).await;
        assert!(receipt.body.contains("Bitte vereinbaren Sie jetzt einen Termin"), "{}", receipt.body);
        let number = receipt
            .body
            .split("MOO-")
            .nth(1)
            .map(|rest| {
                format!("MOO-{}", &rest[..rest.find(|c: char| !c.is_ascii_alphanumeric() && c != '-').unwrap()])
            })
            .expect("a receipt number");
        let booking = links(&receipt.body, "/termine/").into_iter().next().expect("a booking link");
        assert!(booking.contains(&format!("vorgang={number}")), "{booking}");
        assert!(booking.contains(&format!("leistung={PERSONALAUSWEIS}")), "{booking}");

        // The booking from there carries the receipt number.
        let start = get(app, &mut jar, &booking).await;
        assert!(start.body.contains(&number), "{}", start.body);
        let manage = hold_a_time(
            app,
            &mut jar,
            "moorbrueck",
            &format!("leistung={PERSONALAUSWEIS}&personen=1&a_ausweis-verloren=nein&vorgang={number}"),
        )
        .await;
        let done = confirm(app, &mut jar, &manage, "erika@example.org").await;
        assert!(done.body.contains("Ihr Termin ist gebucht") && done.body.contains(&number), "{}", done.body);
    });
}

#[tokio::test]
async fn the_form_editor_sets_the_booking_after_submission() {
    on_each_backend!(|app| {
        let town = app.authority_id("moorbrueck").await;
        let row = app.store.store.form_by_slug(town, "hundesteuer").await.unwrap().unwrap();
        let editor = format!("/verwaltung/behoerden/moorbrueck/formulare/{}", row.id);
        let mut jar = sign_in(app, "redaktion@moorbrueck.example").await;
        let draft =
            || async { app.store.store.form_by_slug(town, "hundesteuer").await.unwrap().unwrap().draft().unwrap() };
        let mut send = async |termin: &str, leika: &str| {
            let page = get(app, &mut jar, &editor).await;
            assert_eq!(page.status, 200, "{}", page.body);
            assert!(page.body.contains("Termin nach dem Absenden"), "{}", page.body);
            let body = format!(
                "csrf={}&version={}&aktion=termin&termin={termin}&termin_leika={}",
                enc(&hidden(&page.body, "csrf")),
                hidden(&page.body, "version"),
                enc(leika)
            );
            (page.body.clone(), post(app, &mut jar, &editor, &body).await)
        };
        let (page, r) = send("angeboten", "Hundesteuer").await;
        assert!(page.contains("value=\"99102013104000\""), "the form's own service is suggested: {page}");
        assert_eq!(r.status, 422, "{}", r.body);
        assert!(r.body.contains("href=\"#feld-termin_leika\""), "{}", r.body);
        assert_eq!(draft().await.appointment, None, "nothing stored");

        let (_, r) = send("erforderlich", "9910 2013 1040 00").await;
        assert_eq!(r.status, 303, "{}", r.body);
        let offer = draft().await.appointment.expect("stored");
        assert!(offer.required);
        assert_eq!(offer.leika, "99102013104000");
        let (page, r) = send("nein", "").await;
        assert!(page.contains("<option value=\"erforderlich\" selected>"), "the page shows the setting: {page}");
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(draft().await.appointment, None);
    });
}

/// A GET against the running binary, following redirects within the site.
fn http_follow(port: u16, path: &str) -> String {
    let mut path = path.to_owned();
    for _ in 0..5 {
        let reply = http_get(port, &path, "127.0.0.1");
        let head = reply.split("\r\n\r\n").next().unwrap_or_default();
        let Some(location) = head.lines().find_map(|l| {
            l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("location")).map(|(_, v)| v.trim().to_owned())
        }) else {
            return reply;
        };
        path = location;
    }
    panic!("too many redirects at {path}");
}

#[test]
fn the_demo_binary_opens_both_booking_calendars() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("daten");
    let port = free_port();
    let (run, lines) = start_demo(&data, port);
    let text = lines.join("");
    assert!(text.contains("Online-Termine angelegt"), "{text}");
    for (slug, leika) in [("landkreis-heidekamp", KFZ_NEUZULASSUNG), ("moorbrueck", "99085001012000")] {
        let start = http_get(port, &format!("/o/{slug}/termine/"), "127.0.0.1");
        assert!(start.starts_with("HTTP/1.1 200") && start.contains(&format!("value=\"{leika}\"")), "{start}");
        // Without triage questions for these services the journey goes straight on to
        // the calendar (one location each), which lists days with free times this
        // month or the next.
        let month = http_follow(port, &format!("/o/{slug}/termine/standort?leistung={leika}&personen=1"));
        let next = links(&month, "monat=").into_iter().last().map(|next| http_follow(port, &next)).unwrap_or_default();
        assert!(
            [&month, &next].iter().any(|p| !links(p, "/termine/tag?").is_empty()),
            "{slug}: no free times this month or the next: {month}"
        );
    }
    drop(run);
    let (run, lines) = start_demo(&data, port);
    assert!(!lines.join("").contains("Online-Termine angelegt"), "the second start leaves the calendars alone");
    drop(run);
}
