//! Fees end to end through the real router on both databases, with the XBezahldienste
//! simulator as the provider (a real HTTP server on 127.0.0.1 the test's "browser"
//! visits like a foreign site): the citizen applies, is held at "Zahlung ausstehend",
//! pays from the receipt at the provider's page and comes back — success; failure
//! then success; cancel and retry; the citizen who never comes back (the worker
//! records it); a slow, failing, garbled or foreign status answer and a forged
//! status in the return address; PAYMENT_EXISTS and other refusals at creation; an
//! amount the provider reports differently; expiry with its notice. A paid
//! application is released exactly once: one booking, one delivery, one e-mail, then
//! in the case workers' inbox and the API. An invoice shows the same GiroCode on the
//! receipt page, in the e-mail and in the receipt PDF.

use crate::konto::citizen;
use crate::on_each_backend;
use crate::outbound::local_receivers;
use crate::support::{Reply, TestApp};
use crate::verwaltung::{Jar, get, hidden, post, sign_in};
use amtsweg_domain::payment::{Cents, InvoiceAccount};
use amtsweg_handoff::deliver::Connectors;
use amtsweg_handoff::payment::Gateway;
use amtsweg_handoff::payment::simulator::{CreateBehaviour, Simulator, StatusBehaviour};
use amtsweg_portal::payments::{connectors, worker};
use amtsweg_store::handoff::NewConnector;
use amtsweg_store::outbox::EmailMessage;
use amtsweg_store::payments::{AWAITING_PAYMENT, PAYMENT_EXPIRED, PaymentRow};
use amtsweg_store::submissions::SubmissionRow;
use amtsweg_store::testing::execute_sql;
use axum::body::Body;
use axum::http::Request;
use std::time::Duration;

const TOWN: &str = "moorbrueck";
const WORKER: &str = "sachbearbeitung@moorbrueck.example";
const IBAN: &str = "DE02120300000000202051";
const IBAN_PRINTED: &str = "DE02 1203 0000 0000 2020 51";

/// Lets the portal reach the simulator on 127.0.0.1 over plain HTTP (as the demo does).
fn config() -> amtsweg_web::WebConfig {
    local_receivers(Connectors::default())
}

/// A one-step form of the town charging 12,50 € in `mode`; returns its address.
async fn fee_form(app: &TestApp, slug: &str, mode: &str) -> String {
    let a = app.authority_id(TOWN).await;
    let form: amtsweg_forms::Form = serde_json::from_value(serde_json::json!({
        "id": slug, "title": "Bescheinigung mit Gebühr",
        "steps": [{"id": "angaben", "title": "Ihre Angaben", "items": [
            {"item": "field", "id": "name", "label": "Name", "type": "name", "required": true},
            {"item": "field", "id": "email", "label": "E-Mail-Adresse", "type": "email", "required": true}]}],
        "computed": [{"id": "gebuehr", "label": "Gebühr", "expr": {"cents": 1250}}],
        "payment": {"mode": mode, "amount": "gebuehr"}
    }))
    .unwrap();
    let mut tx = app.store.store.begin().await.unwrap();
    let id = tx.create_form(a, &amtsweg_domain::Slug::parse(slug).unwrap(), None, &form, None).await.unwrap();
    tx.publish_form(a, id, 1, None).await.unwrap();
    tx.commit().await.unwrap();
    amtsweg_web::sync::refresh(&app.state).await.unwrap();
    format!("/o/{TOWN}/antrag/{slug}/")
}

/// The simulator as the town's provider, an e-mail hand-off to the office (so a
/// release shows as a delivery) and a form paid before release.
async fn provider(app: &TestApp) -> (Simulator, String) {
    let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
    let a = app.authority_id(TOWN).await;
    let cfg = serde_json::json!({"base_url": sim.base_url, "originator_id": "moorbrueck", "endpoint_id": "antraege"});
    connectors::add(&app.state.portal, a, None, "xbezahldienste", "Bezahldienst", &cfg.to_string()).await.unwrap();
    let office = NewConnector { authority_id: a, form_id: None, kind: "email", name: "Bürgerbüro", config: "" };
    amtsweg_portal::handoff::add_connector(&app.state.portal, &office, r#"{"to":"buergerbuero@moorbrueck.example"}"#)
        .await
        .unwrap();
    let form = fee_form(app, "bescheinigung", "vorab").await;
    (sim, form)
}

/// Fills in and sends a fee form; returns the receipt's address.
async fn apply(app: &TestApp, jar: &mut Jar, form: &str, email: &str) -> String {
    let page = get(app, jar, form).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let fields = format!("csrf={}&token={}", hidden(&page.body, "csrf"), hidden(&page.body, "token"));
    let r = post(
        app,
        jar,
        form,
        &format!("{fields}&aktion=weiter&f.name=Erika+Musterfrau&f.email={}", crate::verwaltung::enc(email)),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let check = r.location().to_owned();
    assert!(check.ends_with("/pruefen"), "{check}");
    let draft = check.trim_end_matches("pruefen").to_owned();
    let page = get(app, jar, &check).await;
    let r = post(app, jar, &format!("{draft}absenden"), &format!("csrf={}", hidden(&page.body, "csrf"))).await;
    assert_eq!(r.status, 303, "{}", r.body);
    r.location().to_owned()
}

/// The citizen's (only) application and its payment, as stored now.
async fn stored(app: &TestApp, citizen_id: i64) -> (SubmissionRow, PaymentRow) {
    let s = app.store.store.submissions_of_citizen(citizen_id).await.unwrap().remove(0);
    let s = app.store.store.submission(s.authority_id, s.id).await.unwrap().unwrap();
    let p = app.store.store.payment_of_submission(s.authority_id, s.id).await.unwrap().unwrap();
    (s, p)
}

/// "Jetzt … online bezahlen" on the receipt; returns the reply (303 to the pay page).
async fn press_pay(app: &TestApp, jar: &mut Jar, receipt: &str) -> Reply {
    let page = get(app, jar, receipt).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(&format!("action=\"{receipt}/bezahlen\"")), "a pay button: {}", page.body);
    post(app, jar, &format!("{receipt}/bezahlen"), &format!("csrf={}", hidden(&page.body, "csrf"))).await
}

/// Starts paying; returns the provider's pay page.
async fn start_paying(app: &TestApp, jar: &mut Jar, receipt: &str, sim: &Simulator) -> String {
    let r = press_pay(app, jar, receipt).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let pay = r.location().to_owned();
    assert!(pay.starts_with(&format!("{}/pay/", sim.base_url)), "{pay}");
    pay
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The citizen at the provider: sees the (simulated) pay page, presses `aktion`
/// (`bezahlen`, `fehlschlag`, `abbrechen`); returns the portal path the provider
/// sends the browser back to (`/zahlung/<secret>`).
async fn at_provider(pay: &str, aktion: &str) -> String {
    let page = browser().get(pay).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("SIMULATION – es fließt kein Geld"), "{html}");
    assert!(html.contains("12,50 €"), "the amount at the provider: {html}");
    let r = browser()
        .post(pay)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("aktion={aktion}&zahlart=CREDITCARD"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let back = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(back.starts_with("http://127.0.0.1:8080/zahlung/"), "the portal's return address: {back}");
    back["http://127.0.0.1:8080".len()..].to_owned()
}

/// The gateway the worker uses (the app's outbound policy).
fn gateway(app: &TestApp) -> Gateway {
    Gateway::new(app.state.config.connectors.outbound.clone(), Duration::from_secs(5))
}

/// One round of the payment worker with every open attempt due now.
async fn worker_round(app: &TestApp) -> worker::Round {
    execute_sql(&app.store.store, "UPDATE payment_attempts SET next_attempt_at = 0 WHERE status = 'pending'").await;
    worker::run_once(&app.state.portal, &gateway(app)).await.unwrap()
}

async fn mails(app: &TestApp, subject: &str) -> Vec<EmailMessage> {
    let rows = app.store.store.outbox_entries(1000).await.unwrap();
    rows.iter().filter_map(|r| r.email().ok()).filter(|m| m.subject.starts_with(subject)).collect()
}

async fn deliveries(app: &TestApp, s: &SubmissionRow) -> usize {
    app.store.store.deliveries_of(s.authority_id, s.id).await.unwrap().len()
}

/// An API key of the town reading submissions.
async fn api_key(app: &TestApp) -> String {
    let a = app.authority_id(TOWN).await;
    let mut tx = app.store.store.begin().await.unwrap();
    tx.insert_api_client(
        a,
        "Fachverfahren",
        "fachverfahren",
        &amtsweg_web::api::secret_hash("geheim-0123456789"),
        "submissions:read",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    "fachverfahren:geheim-0123456789".into()
}

async fn api(app: &TestApp, path: &str, key: &str) -> Reply {
    let req = Request::get(path).header("host", "127.0.0.1:8080").header("x-api-key", key).body(Body::empty()).unwrap();
    app.request(req).await
}

#[tokio::test]
async fn paid_online_an_application_is_released_exactly_once_with_delivery_inbox_and_api() {
    on_each_backend!(config = config(), |app| {
        let (sim, form) = provider(app).await;
        let (mut erika, erika_id) = citizen(app, "erika.zahlt@example.org").await;
        let receipt = apply(app, &mut erika, &form, "erika.zahlt@example.org").await;
        let (s, p) = stored(app, erika_id).await;
        assert_eq!((s.status.as_str(), p.mode.as_str(), p.amount_cents), (AWAITING_PAYMENT, "vorab", 1250));

        // Held: no delivery, not in the inbox, not in the API.
        let page = get(app, &mut erika, &receipt).await;
        assert!(page.body.contains("Zahlung ausstehend") && page.body.contains(&p.kassenzeichen), "{}", page.body);
        assert!(page.body.contains("Jetzt 12,50 € online bezahlen"), "{}", page.body);
        assert_eq!(deliveries(app, &s).await, 0);
        let mut clerk = sign_in(app, WORKER).await;
        assert!(!get(app, &mut clerk, "/verwaltung/antraege/").await.body.contains(&s.receipt_number));
        let key = api_key(app).await;
        let list = api(app, "/api/v1/antraege", &key).await;
        assert_eq!(list.status, 200, "{}", list.body);
        assert!(!list.body.contains(&s.receipt_number), "{}", list.body);
        assert_eq!(api(app, &format!("/api/v1/antraege/{}", s.id), &key).await.status, 404);

        let csrf = hidden(&page.body, "csrf");
        // Two clicks on "pay" before paying: one transaction, the same pay page.
        let pay = start_paying(app, &mut erika, &receipt, &sim).await;
        assert_eq!(start_paying(app, &mut erika, &receipt, &sim).await, pay);
        assert_eq!(sim.transactions().len(), 1);

        // At the provider, paid; back at the portal: thanks, and released.
        let back = at_provider(&pay, "bezahlen").await;
        let r = app.get(&back).await;
        assert_eq!(r.status, 303, "{}", r.body);
        assert_eq!(r.location(), format!("{receipt}?zahlung=bezahlt#zahlung"));
        let page = get(app, &mut erika, &format!("{receipt}?zahlung=bezahlt")).await;
        assert!(page.body.contains("Vielen Dank – Ihre Zahlung ist eingegangen"), "{}", page.body);
        assert!(!page.body.contains("Zahlung ausstehend") && !page.body.contains("online bezahlen"), "{}", page.body);
        assert!(page.body.contains("Kreditkarte"), "the booking and its method: {}", page.body);
        let (s, p) = stored(app, erika_id).await;
        assert_eq!((s.status.as_str(), p.status.as_str(), p.paid_cents), ("eingegangen", "paid", 1250));
        assert_eq!(deliveries(app, &s).await, 1, "released with its hand-off");
        assert_eq!(mails(app, "Zahlung eingegangen").await.len(), 1);
        let inbox = get(app, &mut clerk, "/verwaltung/antraege/").await;
        assert!(inbox.body.contains(&s.receipt_number), "{}", inbox.body);
        assert!(api(app, "/api/v1/antraege", &key).await.body.contains(&s.receipt_number));
        let detail = api(app, &format!("/api/v1/antraege/{}", s.id), &key).await;
        assert_eq!(detail.status, 200, "{}", detail.body);
        let v: serde_json::Value = serde_json::from_str(&detail.body).unwrap();
        assert_eq!(v["payment"]["status"], "paid");
        assert_eq!(v["payment"]["paid_cents"], 1250);
        assert_eq!(v["payment"]["kassenzeichen"], p.kassenzeichen);

        // Nothing twice: the return address again, the worker, another click on "pay".
        assert_eq!(app.get(&back).await.location(), format!("{receipt}?zahlung=bezahlt#zahlung"));
        let round = worker_round(app).await;
        assert_eq!(round.released, 0);
        // (a page still open from before paying)
        let r = post(app, &mut erika, &format!("{receipt}/bezahlen"), &format!("csrf={csrf}")).await;
        assert_eq!(r.status, 303);
        assert_eq!(r.location(), format!("{receipt}?zahlung=bezahlt#zahlung"), "already paid");
        assert_eq!(sim.transactions().len(), 1);
        assert_eq!(app.store.store.bookings_of_payment(p.id).await.unwrap().len(), 1);
        assert_eq!(deliveries(app, &s).await, 1);
        assert_eq!(mails(app, "Zahlung eingegangen").await.len(), 1);
    });
}

#[tokio::test]
async fn a_failed_payment_can_be_paid_after_and_a_cancelled_one_retried() {
    on_each_backend!(config = config(), |app| {
        let (sim, form) = provider(app).await;
        let (mut erika, erika_id) = citizen(app, "erika.nochmal@example.org").await;
        let receipt = apply(app, &mut erika, &form, "erika.nochmal@example.org").await;

        let first = start_paying(app, &mut erika, &receipt, &sim).await;
        let back = at_provider(&first, "fehlschlag").await;
        let r = app.get(&back).await;
        assert_eq!(r.location(), format!("{receipt}?zahlung=fehlgeschlagen#zahlung"));
        let page = get(app, &mut erika, &format!("{receipt}?zahlung=fehlgeschlagen")).await;
        assert!(page.body.contains("Die Zahlung hat nicht geklappt"), "{}", page.body);
        assert!(page.body.contains("Zahlung ausstehend") && page.body.contains("online bezahlen"), "{}", page.body);
        assert_eq!(stored(app, erika_id).await.0.status, AWAITING_PAYMENT);

        // A new transaction, cancelled at the provider.
        let second = start_paying(app, &mut erika, &receipt, &sim).await;
        assert_ne!(second, first, "a failed transaction is not offered again");
        let back = at_provider(&second, "abbrechen").await;
        assert_eq!(app.get(&back).await.location(), format!("{receipt}?zahlung=abgebrochen#zahlung"));
        let page = get(app, &mut erika, &format!("{receipt}?zahlung=abgebrochen")).await;
        assert!(page.body.contains("Sie haben die Zahlung abgebrochen"), "{}", page.body);
        assert_eq!(stored(app, erika_id).await.0.status, AWAITING_PAYMENT);

        // The third time paid: released once; the earlier ones stay as they were.
        let third = start_paying(app, &mut erika, &receipt, &sim).await;
        let back = at_provider(&third, "bezahlen").await;
        assert_eq!(app.get(&back).await.location(), format!("{receipt}?zahlung=bezahlt#zahlung"));
        let (s, p) = stored(app, erika_id).await;
        assert_eq!((s.status.as_str(), p.paid_cents), ("eingegangen", 1250));
        let states: Vec<String> =
            app.store.store.attempts_of(p.id).await.unwrap().into_iter().map(|a| a.provider_status).collect();
        assert_eq!(states.iter().filter(|s| *s == "PAYED").count(), 1, "{states:?}");
        assert!(states.contains(&"FAILED".to_owned()) && states.contains(&"CANCELED".to_owned()), "{states:?}");
        // The worker asks the failed and cancelled ones again (a late PAYED would
        // count): nothing changes, nothing is booked twice.
        let round = worker_round(app).await;
        assert_eq!(round.released, 0);
        assert_eq!(app.store.store.bookings_of_payment(p.id).await.unwrap().len(), 1);
        assert_eq!(deliveries(app, &s).await, 1);
        assert_eq!(sim.transactions().len(), 3);
    });
}

#[tokio::test]
async fn a_citizen_who_never_comes_back_is_recorded_by_the_worker() {
    on_each_backend!(config = config(), |app| {
        let (sim, form) = provider(app).await;
        let (mut erika, erika_id) = citizen(app, "erika.weg@example.org").await;
        let receipt = apply(app, &mut erika, &form, "erika.weg@example.org").await;
        let pay = start_paying(app, &mut erika, &receipt, &sim).await;
        // Paid, and the tab closed: the browser never follows the way back.
        let back = at_provider(&pay, "bezahlen").await;
        assert_eq!(stored(app, erika_id).await.0.status, AWAITING_PAYMENT, "nobody told the portal yet");

        let round = worker_round(app).await;
        assert_eq!((round.polled, round.released), (1, 1), "{round:?}");
        let (s, p) = stored(app, erika_id).await;
        assert_eq!((s.status.as_str(), p.status.as_str()), ("eingegangen", "paid"));
        assert_eq!(deliveries(app, &s).await, 1);
        let sent = mails(app, "Zahlung eingegangen").await;
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].to, "erika.weg@example.org");
        let page = get(app, &mut erika, &receipt).await;
        assert!(!page.body.contains("Zahlung ausstehend") && page.body.contains("Kreditkarte"), "{}", page.body);

        // Coming back much later changes nothing.
        assert_eq!(app.get(&back).await.location(), format!("{receipt}?zahlung=bezahlt#zahlung"));
        assert_eq!(worker_round(app).await.polled, 0, "a paid attempt is not asked again");
        assert_eq!(app.store.store.bookings_of_payment(p.id).await.unwrap().len(), 1);
    });
}

#[tokio::test]
async fn a_slow_failing_garbled_or_foreign_status_and_a_forged_return_release_nothing() {
    on_each_backend!(config = config(), |app| {
        let (sim, form) = provider(app).await;
        let (mut erika, erika_id) = citizen(app, "erika.wartet@example.org").await;
        let receipt = apply(app, &mut erika, &form, "erika.wartet@example.org").await;
        let pay = start_paying(app, &mut erika, &receipt, &sim).await;
        let back = at_provider(&pay, "bezahlen").await;
        for b in [
            StatusBehaviour::Fail500,
            StatusBehaviour::Garbage,
            StatusBehaviour::ForeignTransaction,
            StatusBehaviour::Slow(Duration::from_secs(8)),
        ] {
            sim.set_status(b);
            let started = std::time::Instant::now();
            // What the address says is never believed: only the provider's answer counts.
            let r = app.get(&format!("{back}?status=PAYED&transactionId=x&zahlung=bezahlt")).await;
            assert!(started.elapsed() < Duration::from_secs(7), "{b:?}: the page does not wait for the provider");
            assert_eq!(r.status, 200, "{b:?}: {}", r.body);
            assert!(r.body.contains("Wir prüfen Ihre Zahlung noch"), "{b:?}: {}", r.body);
            assert!(r.body.contains(&format!("href=\"{receipt}?zahlung=offen#zahlung\"")), "{b:?}: {}", r.body);
            assert_eq!(r.headers["cache-control"], "no-store");
            let round = worker_round(app).await;
            assert_eq!((round.unanswered, round.released), (1, 0), "{b:?}");
            let (s, p) = stored(app, erika_id).await;
            assert_eq!((s.status.as_str(), p.paid_cents), (AWAITING_PAYMENT, 0), "{b:?}");
            assert_eq!(deliveries(app, &s).await, 0, "{b:?}");
        }
        // The receipt says the payment is being checked, not that it failed.
        let page = get(app, &mut erika, &format!("{receipt}?zahlung=offen")).await;
        assert!(page.body.contains("Wir prüfen Ihre Zahlung noch") && page.body.contains("Zahlung ausstehend"));

        // The provider answers again: released, once.
        sim.set_status(StatusBehaviour::Normal);
        assert_eq!(app.get(&back).await.location(), format!("{receipt}?zahlung=bezahlt#zahlung"));
        assert_eq!(worker_round(app).await.released, 0);
        let (s, p) = stored(app, erika_id).await;
        assert_eq!((s.status.as_str(), p.paid_cents), ("eingegangen", 1250));
        assert_eq!(deliveries(app, &s).await, 1);
    });
}

#[tokio::test]
async fn refusals_at_creation_are_explained_and_start_nothing() {
    on_each_backend!(config = config(), |app| {
        let (sim, form) = provider(app).await;
        let (mut erika, erika_id) = citizen(app, "erika.abgelehnt@example.org").await;
        let receipt = apply(app, &mut erika, &form, "erika.abgelehnt@example.org").await;
        for (b, says) in [
            (CreateBehaviour::PaymentExists, "Eine Online-Zahlung ist hier gerade nicht möglich"),
            (CreateBehaviour::ValidationError, "Eine Online-Zahlung ist hier gerade nicht möglich"),
            (CreateBehaviour::Garbage, "Der Bezahldienst ist gerade nicht erreichbar"),
        ] {
            sim.set_create(b);
            let r = press_pay(app, &mut erika, &receipt).await;
            assert_eq!(r.status, 409, "{b:?}: {}", r.body);
            assert!(r.body.contains("Die Zahlung konnte nicht beginnen") && r.body.contains(says), "{b:?}: {}", r.body);
            assert!(r.body.contains("Zahlung ausstehend"), "{b:?}: still the receipt");
        }
        assert!(sim.transactions().is_empty());
        let (s, p) = stored(app, erika_id).await;
        let attempts = app.store.store.attempts_of(p.id).await.unwrap();
        assert_eq!(attempts.len(), 3);
        assert!(attempts.iter().all(|a| a.provider_status == "ABANDONED"), "{attempts:?}");
        assert_eq!(worker_round(app).await.polled, 0, "an abandoned attempt is not asked about");
        assert_eq!(s.status, AWAITING_PAYMENT);

        // The provider works again: one transaction, paid, released.
        sim.set_create(CreateBehaviour::Normal);
        let pay = start_paying(app, &mut erika, &receipt, &sim).await;
        let back = at_provider(&pay, "bezahlen").await;
        assert_eq!(app.get(&back).await.location(), format!("{receipt}?zahlung=bezahlt#zahlung"));
        assert_eq!(sim.transactions().len(), 1);
        assert_eq!(stored(app, erika_id).await.0.status, "eingegangen");
    });
}

#[tokio::test]
async fn an_amount_the_provider_reports_differently_releases_nothing() {
    on_each_backend!(config = config(), |app| {
        let (sim, form) = provider(app).await;
        let (mut erika, erika_id) = citizen(app, "erika.betrag@example.org").await;
        let receipt = apply(app, &mut erika, &form, "erika.betrag@example.org").await;
        let pay = start_paying(app, &mut erika, &receipt, &sim).await;
        let (txid, _, _) = sim.transactions().pop().unwrap();
        sim.report_amount(&txid, 1000);
        let back = at_provider(&pay, "bezahlen").await;
        app.get(&back).await;
        worker_round(app).await;
        let (s, p) = stored(app, erika_id).await;
        assert_eq!((s.status.as_str(), p.review.as_str()), (AWAITING_PAYMENT, "amount_mismatch"));
        assert_eq!(deliveries(app, &s).await, 0);
        assert!(mails(app, "Zahlung eingegangen").await.is_empty());
        // For a person to resolve: the payment is listed for review.
        let a = app.authority_id(TOWN).await;
        assert_eq!(app.store.store.payments_in_review(a).await.unwrap().len(), 1);
        assert!(
            !get(app, &mut sign_in(app, WORKER).await, "/verwaltung/antraege/").await.body.contains(&s.receipt_number)
        );
    });
}

#[tokio::test]
async fn an_unpaid_application_expires_with_a_notice() {
    on_each_backend!(config = config(), |app| {
        let (_sim, form) = provider(app).await;
        let (mut erika, erika_id) = citizen(app, "erika.vergessen@example.org").await;
        let receipt = apply(app, &mut erika, &form, "erika.vergessen@example.org").await;
        assert_eq!(worker_round(app).await.expired, 0, "not yet");
        execute_sql(&app.store.store, "UPDATE payments SET expires_at = 1").await;
        assert_eq!(worker_round(app).await.expired, 1);
        let (s, p) = stored(app, erika_id).await;
        assert_eq!((s.status.as_str(), p.status.as_str()), (PAYMENT_EXPIRED, "expired"));
        assert_eq!(deliveries(app, &s).await, 0);
        let notices = mails(app, "Antrag nicht bezahlt").await;
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].to, "erika.vergessen@example.org");
        assert!(notices[0].body.contains(&s.receipt_number));
        let page = get(app, &mut erika, &receipt).await;
        assert!(page.body.contains("Nicht bezahlt – Frist abgelaufen"), "{}", page.body);
        assert!(!page.body.contains("online bezahlen"), "{}", page.body);
        assert_eq!(worker_round(app).await.expired, 0, "once");
        assert_eq!(mails(app, "Antrag nicht bezahlt").await.len(), 1);
    });
}

#[tokio::test]
async fn an_invoice_carries_one_girocode_on_the_receipt_page_in_the_email_and_in_the_pdf() {
    on_each_backend!(|app| {
        let a = app.authority_id(TOWN).await;
        let account =
            InvoiceAccount { recipient: "Stadtkasse Moorbrück".into(), iban: IBAN.into(), bic: "BYLADEM1001".into() };
        connectors::add(
            &app.state.portal,
            a,
            None,
            "rechnung",
            "Stadtkasse",
            &serde_json::to_string(&account).unwrap(),
        )
        .await
        .unwrap();
        let form = fee_form(app, "rechnung", "rechnung").await;
        let (mut erika, erika_id) = citizen(app, "erika.rechnung@example.org").await;
        let receipt = apply(app, &mut erika, &form, "erika.rechnung@example.org").await;
        let (s, p) = stored(app, erika_id).await;
        assert_eq!((s.status.as_str(), p.mode.as_str()), ("eingegangen", "rechnung"), "an invoice holds nothing");
        assert!(p.rf_reference.starts_with("RF"));
        assert_eq!(deliveries(app, &s).await, 0, "no hand-off connector here");

        // The page: bank details, RF reference, the GiroCode inline.
        let svg =
            amtsweg_portal::payments::girocode_svg(&account, Cents(1250), &p.rf_reference, &p.kassenzeichen).unwrap();
        let page = get(app, &mut erika, &receipt).await;
        assert!(page.body.contains(IBAN_PRINTED) && page.body.contains("BYLADEM1001"), "{}", page.body);
        assert!(page.body.contains(&amtsweg_domain::payment::rf_printed(&p.rf_reference)), "{}", page.body);
        assert!(page.body.contains(&svg), "the page's GiroCode is the invoice's: {}", page.body);

        // The confirmation e-mail: the same payment, the same code as PNG.
        let confirmation = app
            .store
            .store
            .outbox_entries(100)
            .await
            .unwrap()
            .iter()
            .filter_map(|r| r.email().ok())
            .find(|m| m.to == "erika.rechnung@example.org" && m.body.contains(&s.receipt_number))
            .expect("a confirmation e-mail");
        assert!(
            confirmation.body.contains(IBAN_PRINTED) && confirmation.body.contains("12,50 €"),
            "{}",
            confirmation.body
        );
        let png = confirmation
            .attachments
            .iter()
            .find(|f| f.content_type == "image/png")
            .unwrap_or_else(|| panic!("the GiroCode as PNG: {confirmation:?}"));
        assert!(png.file_name.starts_with("GiroCode-"), "{}", png.file_name);
        assert_eq!(
            png.bytes().unwrap(),
            amtsweg_portal::payments::girocode_png(&account, Cents(1250), &p.rf_reference, &p.kassenzeichen).unwrap()
        );

        // The receipt PDF: the payment section with the code's caption for screen readers.
        let (status, pdf) = get_bytes(app, &erika, &format!("{receipt}/quittung.pdf")).await;
        assert_eq!(status, 200);
        assert!(pdf.starts_with(b"%PDF-"));
        match crate::zahlung_demo::pdf_text(&pdf) {
            Some(text) => {
                for needle in ["Zahlung", p.kassenzeichen.as_str(), IBAN_PRINTED, "12,50 €", "GiroCode"] {
                    assert!(text.contains(needle), "missing {needle:?} in {text}");
                }
            }
            None => eprintln!("SKIPPED the PDF's text: pdftotext (poppler-utils) is not installed"),
        }
        if let Some(alt) = crate::zahlung_demo::pdf_has_text_string(&pdf, "GiroCode: QR-Code") {
            assert!(alt, "the GiroCode is in the PDF as a figure with its alternative text");
            assert_eq!(crate::zahlung_demo::pdf_has_text_string(&pdf, "Kein solcher Text"), Some(false));
        }
    });
}

/// The status and raw bytes of a GET (a `Reply` holds its body as text).
async fn get_bytes(app: &TestApp, jar: &Jar, path: &str) -> (u16, Vec<u8>) {
    use tower::ServiceExt;
    let req =
        Request::get(path).header("host", "localhost").header("cookie", jar.header()).body(Body::empty()).unwrap();
    let resp = app.app.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    (status, axum::body::to_bytes(resp.into_body(), 16 * 1024 * 1024).await.unwrap().to_vec())
}
