//! Fees and payment on both databases, against the XBezahldienste provider
//! simulator (a real HTTP server on 127.0.0.1): the plan per mode and the fallback
//! when the authority cannot take the payment as the form asks; paying online
//! (start, return, the poll worker), the citizen who never comes back, a slow,
//! failing or garbled status endpoint, a second click, refusals and hangs at
//! creation, an amount mismatch, expiry and a payment after expiry, the counter;
//! what the receipt (page, PDF, e-mail) and the hand-off show.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use amtsweg_domain::TrustLevel;
use amtsweg_domain::payment::{Cents, PaymentSettings, ProviderStatus, ServiceBooking, is_valid_rf};
use amtsweg_handoff::payment::simulator::{CreateBehaviour, Simulator, StatusBehaviour};
use amtsweg_portal::casework::Actor;
use amtsweg_portal::payments::online::{self, Back, Started};
use amtsweg_portal::payments::{connectors, counter, settings, view, worker};
use amtsweg_store::audit_log::AuditQuery;
use amtsweg_store::payments::{AWAITING_PAYMENT, PAYMENT_EXPIRED};
use amtsweg_store::testing::{both, execute_sql};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

#[path = "support/payments_world.rs"]
mod payments_world;
use payments_world::*;

#[tokio::test]
async fn the_plan_follows_the_form_and_falls_back_when_the_authority_cannot_take_it() {
    on_both(|w| async move {
        // No connectors: nothing is held, the fee is due at the counter.
        let s = w.submit(w.a, "vorab", "t-vorab-0").await;
        assert_eq!(w.status(&s).await, "eingegangen");
        let p = w.payment(&s).await;
        assert_eq!((p.mode.as_str(), p.amount_cents, p.status.as_str()), ("vor_ort", 1250, "open"));
        assert!(p.expires_at.is_none() && p.connector_id.is_none());
        let year = amtsweg_portal::time::now_local().year();
        assert_eq!(p.kassenzeichen, format!("MOO-{year}-000001"));
        assert!(is_valid_rf(&p.rf_reference), "{}", p.rf_reference);
        let s = w.submit(w.a, "rechnung", "t-rechnung-0").await;
        assert_eq!(w.payment(&s).await.mode, "vor_ort");
        let warnings = settings::warnings(&w.portal, w.a).await.unwrap();
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings.iter().any(|x| x.contains("Hundesteuer") && x.contains("Konto")));
        // A fee of nothing is no payment.
        let s = w.submit(w.a, "frei", "t-frei").await;
        assert!(w.store.payment_of_submission(w.a, s.id).await.unwrap().is_none());
        assert_eq!(w.status(&s).await, "eingegangen");

        // With connectors and settings.
        let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
        let online = w.online_connector(w.a, &sim).await;
        let account = w.invoice_connector(w.a).await;
        let mut cfg = PaymentSettings { kassenzeichen: "GEB-{jj}-{nr:5}".into(), ..PaymentSettings::default() };
        cfg.booking.push(ServiceBooking {
            leika: LEIKA.into(),
            haushaltsstelle: "1.1.2.0".into(),
            objektnummer: "4711".into(),
            ..ServiceBooking::default()
        });
        settings::save(&w.portal, "staff:1", w.a, &cfg, 0).await.unwrap().unwrap();
        assert_eq!(
            settings::save(&w.portal, "staff:1", w.a, &cfg, 0).await.unwrap().unwrap_err(),
            vec![settings::CONFLICT.to_owned()],
            "a stale form is refused"
        );
        let bad = PaymentSettings { expire_unpaid_hours: 0, ..PaymentSettings::default() };
        assert_eq!(settings::save(&w.portal, "staff:1", w.a, &bad, 1).await.unwrap().unwrap_err().len(), 1);
        assert!(settings::warnings(&w.portal, w.a).await.unwrap().is_empty());

        w.handoff_connector(w.a).await;
        let before = amtsweg_store::now_ms();
        let held = w.submit(w.a, "vorab", "t-vorab-1").await;
        assert_eq!(w.status(&held).await, AWAITING_PAYMENT);
        assert_eq!(w.deliveries(&held).await, 0, "held: no hand-off yet");
        let p = w.payment(&held).await;
        assert_eq!((p.mode.as_str(), p.connector_id), ("vorab", Some(online)));
        assert_eq!(p.kassenzeichen, format!("GEB-{:02}-00003", year % 100), "the authority's numbers go on");
        let expires = p.expires_at.unwrap();
        assert!((before + 72 * 3_600_000..=amtsweg_store::now_ms() + 72 * 3_600_000).contains(&expires));
        let booking: serde_json::Value = serde_json::from_str(&p.booking).unwrap();
        assert_eq!(booking["leika"], LEIKA);
        assert!(p.booking.contains("1.1.2.0") && p.booking.contains("4711") && p.booking.contains(&p.kassenzeichen));
        assert!(!p.booking.contains("Erika"), "no personal data in the booking data");

        let invoice = w.submit(w.a, "rechnung", "t-rechnung-1").await;
        assert_eq!(w.status(&invoice).await, "eingegangen");
        assert_eq!(w.deliveries(&invoice).await, 1, "an invoice does not hold the application");
        let p = w.payment(&invoice).await;
        assert_eq!((p.mode.as_str(), p.connector_id, p.amount_cents), ("rechnung", Some(account), 4800));
        let due = amtsweg_portal::time::now_local().date().checked_add(jiff::Span::new().days(14)).unwrap();
        assert_eq!(p.due_on, due.to_string());
        let s = w.submit(w.a, "vorort", "t-vorort").await;
        let first = w.payment(&s).await;
        assert_eq!(first.mode, "vor_ort");
        // The same token again: the same submission and payment, no number spent.
        let again = w.submit(w.a, "vorort", "t-vorort").await;
        assert_eq!((again.id, w.payment(&again).await.id), (s.id, first.id));
        let next = w.submit(w.a, "vorort", "t-vorort-2").await;
        let n = |kz: &str| kz.rsplit('-').next().unwrap().parse::<i64>().unwrap();
        assert_eq!(n(&w.payment(&next).await.kassenzeichen), n(&first.kassenzeichen) + 1);

        // The confirmation e-mails carry the payment part; the invoice its GiroCode.
        let mails = w.emails().await;
        let mail = |title: &str, kz: &str| {
            mails.iter().find(|m| m.subject.contains(title) && m.body.contains(kz)).cloned().unwrap()
        };
        let m = mail("Meldebescheinigung", &w.payment(&held).await.kassenzeichen);
        assert!(m.body.contains("erst an Stadt Moorbrück weitergeleitet") && m.body.contains("12,50 €"), "{}", m.body);
        assert!(m.attachments.is_empty());
        let m = mail("Hundesteuer", &p.kassenzeichen);
        assert!(m.body.contains("DE02 1203 0000 0000 2020 51") && m.body.contains("48,00 €"), "{}", m.body);
        assert!(m.body.contains(&amtsweg_domain::payment::rf_printed(&p.rf_reference)));
        assert_eq!(m.attachments.len(), 1);
        let png = m.attachments[0].bytes().unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        assert_eq!(m.attachments[0].content_type, "image/png");

        // The citizen's view of the invoice: account, RF and the GiroCode.
        let v = view::of_submission(&w.portal, w.a, invoice.id).await.unwrap().unwrap();
        assert_eq!(v.iban, "DE02 1203 0000 0000 2020 51");
        assert!(v.girocode_svg.as_deref().unwrap().contains("role=\"img\""));
        assert!(v.can_pay_online, "an invoice may be paid online where a provider is set up");
        let v = view::of_submission(&w.portal, w.a, held.id).await.unwrap().unwrap();
        assert!(v.held && v.can_pay_online && v.girocode_svg.is_none());
        assert_eq!(v.provider_origin.as_deref(), Some(sim.base_url.as_str()));
        assert!(!v.expires.is_empty());
        // Online payment switched off: pay-first becomes an invoice to the account
        // (bank details and GiroCode), not a fee quietly left to the counter.
        let mut tx = w.store.begin().await.unwrap();
        tx.set_payment_connector_active(w.a, online, false).await.unwrap();
        tx.commit().await.unwrap();
        let s = w.submit(w.a, "vorab", "t-vorab-rechnung").await;
        assert_eq!(w.status(&s).await, "eingegangen");
        let p = w.payment(&s).await;
        assert_eq!((p.mode.as_str(), p.connector_id), ("rechnung", Some(account)));
        assert!(!p.due_on.is_empty() && p.expires_at.is_none());
        let warnings = settings::warnings(&w.portal, w.a).await.unwrap();
        assert!(warnings.iter().any(|x| x.contains("Meldebescheinigung") && x.contains("Rechnung")), "{warnings:?}");
        // Another authority's connectors do not count for B.
        let s = w.submit(w.b, "vorab", "t-b").await;
        assert_eq!(w.payment(&s).await.mode, "vor_ort");
        assert!(view::of_submission(&w.portal, w.b, held.id).await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn paying_online_releases_once_and_the_hand_off_carries_it() {
    on_both(|w| async move {
        let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
        let gw = gateway(Duration::from_secs(5));
        w.online_connector(w.a, &sim).await;
        w.handoff_connector(w.a).await;
        let s = w.submit(w.a, "vorab", "t-online").await;
        let url = redirect(online::start_for_submission(&w.portal, &gw, w.a, s.id).await.unwrap());
        let (txid, secret) = last_transaction(&sim);
        assert_eq!(url, sim.pay_url(&txid));
        // What the provider got: the amount as decimal text, purpose and booking data.
        let raw = sim.raw_requests();
        assert!(raw[0].contains("\"grosAmount\":12.50"), "{}", raw[0]);
        let body = &sim.requests()[0];
        let p = w.payment(&s).await;
        assert!(body["purpose"].as_str().unwrap().starts_with(&p.kassenzeichen));
        assert_eq!(body["items"][0]["bookingData"]["kassenzeichen"], p.kassenzeichen);
        assert!(body.get("requestor").is_none(), "no personal data unless configured");

        // Back before paying: still open, nothing released.
        let r = online::on_return(&w.portal, &gw, &secret).await.unwrap().unwrap();
        assert_eq!((r.status, r.checked), (ProviderStatus::Initial, true));
        assert_eq!(r.back, Back::Submission { authority_id: w.a, submission_id: s.id, form_token: "t-online".into() });
        assert_eq!(w.status(&s).await, AWAITING_PAYMENT);

        sim.settle(&txid, ProviderStatus::Payed, "CREDITCARD");
        let r = online::on_return(&w.portal, &gw, &secret).await.unwrap().unwrap();
        assert_eq!((r.status, r.checked), (ProviderStatus::Payed, true));
        assert_eq!(w.status(&s).await, "eingegangen");
        assert_eq!(w.deliveries(&s).await, 1, "released with its hand-off");
        let p = w.payment(&s).await;
        assert_eq!((p.status.as_str(), p.paid_cents, p.review.as_str()), ("paid", 1250, ""));
        let released: Vec<_> =
            w.emails().await.into_iter().filter(|m| m.subject.starts_with("Zahlung eingegangen")).collect();
        assert_eq!(released.len(), 1);
        assert!(released[0].body.contains("/status/t-online?schluessel="), "{}", released[0].body);

        // Again (a reload), and the worker: nothing twice.
        let r = online::on_return(&w.portal, &gw, &secret).await.unwrap().unwrap();
        assert_eq!((r.status, r.checked), (ProviderStatus::Payed, false));
        w.make_due().await;
        worker::run_once(&w.portal, &gw).await.unwrap();
        assert_eq!(w.store.bookings_of_payment(p.id).await.unwrap().len(), 1);
        assert_eq!(w.deliveries(&s).await, 1);
        assert_eq!(w.emails().await.iter().filter(|m| m.subject.starts_with("Zahlung eingegangen")).count(), 1);
        assert_eq!(online::start_for_submission(&w.portal, &gw, w.a, s.id).await.unwrap(), Started::AlreadyPaid);

        // The hand-off package as delivered: booked, with the transaction.
        let package = amtsweg_portal::handoff::package(&w.portal, w.a, s.id, "k").await.unwrap();
        let pp = package.payment.unwrap();
        assert_eq!((pp.status.as_str(), pp.payment_method.as_str(), pp.paid_cents), ("BOOKED", "CREDITCARD", 1250));
        assert_eq!(pp.transaction_id, txid);
        assert_eq!(pp.transaction_url.unwrap(), format!("{}/paymenttransaction/amtsweg/03358017/{txid}", sim.base_url));
        assert!(pp.paid_at_ms.is_some());
        let v = view::of_submission(&w.portal, w.a, s.id).await.unwrap().unwrap();
        assert!(!v.held && !v.can_pay_online);
        assert_eq!(v.bookings.len(), 1);
        assert_eq!(
            (v.bookings[0].source_label.as_str(), v.bookings[0].method_label.as_str()),
            ("Online", "Kreditkarte")
        );

        // A forged or foreign secret finds nothing.
        assert!(online::on_return(&w.portal, &gw, &"A".repeat(43)).await.unwrap().is_none());
        assert!(online::on_return(&w.portal, &gw, "kurz").await.unwrap().is_none());
        assert!(online::on_return(&w.portal, &gw, &format!("{secret}x")).await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn a_citizen_who_never_returns_is_released_by_the_worker() {
    on_both(|w| async move {
        let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
        let gw = gateway(Duration::from_secs(5));
        w.online_connector(w.a, &sim).await;
        let s = w.submit(w.a, "vorab", "t-gone").await;
        redirect(online::start_for_submission(&w.portal, &gw, w.a, s.id).await.unwrap());
        let (txid, _) = last_transaction(&sim);
        // Not yet due (first poll after 20 s): the worker leaves it.
        assert_eq!(worker::run_once(&w.portal, &gw).await.unwrap(), worker::Round::default());
        sim.settle(&txid, ProviderStatus::Payed, "PAYPAL");
        w.make_due().await;
        let round = worker::run_once(&w.portal, &gw).await.unwrap();
        assert_eq!((round.polled, round.changed, round.released), (1, 1, 1));
        assert_eq!(w.status(&s).await, "eingegangen");
        let a = &w.store.attempts_of(w.payment(&s).await.id).await.unwrap()[0];
        assert_eq!((a.provider_status.as_str(), a.status.as_str()), ("PAYED", "done"));
        w.make_due().await;
        assert_eq!(worker::run_once(&w.portal, &gw).await.unwrap().polled, 0, "a paid attempt is not asked again");
    })
    .await;
}

#[tokio::test]
async fn a_slow_failing_or_garbled_status_changes_nothing_until_it_answers() {
    on_both(|w| async move {
        let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
        let gw = gateway(Duration::from_millis(800));
        w.online_connector(w.a, &sim).await;
        let s = w.submit(w.a, "vorab", "t-slow").await;
        redirect(online::start_for_submission(&w.portal, &gw, w.a, s.id).await.unwrap());
        let (txid, secret) = last_transaction(&sim);
        sim.settle(&txid, ProviderStatus::Payed, "GIROPAY");
        let pid = w.payment(&s).await.id;
        for b in [
            StatusBehaviour::Slow(Duration::from_secs(3)),
            StatusBehaviour::Fail500,
            StatusBehaviour::Garbage,
            StatusBehaviour::ForeignTransaction,
        ] {
            sim.set_status(b);
            let r = online::on_return(&w.portal, &gw, &secret).await.unwrap().unwrap();
            assert_eq!((r.status, r.checked), (ProviderStatus::Initial, false), "{b:?}");
            let polls = w.store.attempts_of(pid).await.unwrap()[0].polls;
            w.make_due().await;
            let round = worker::run_once(&w.portal, &gw).await.unwrap();
            assert_eq!((round.unanswered, round.released), (1, 0), "{b:?}");
            let a = &w.store.attempts_of(pid).await.unwrap()[0];
            assert_eq!((a.provider_status.as_str(), a.status.as_str()), ("INITIAL", "pending"), "{b:?}");
            assert_eq!(a.polls, polls + 1, "{b:?}");
            assert!(!a.last_error.is_empty() && a.next_attempt_at > amtsweg_store::now_ms(), "{b:?}");
            assert_eq!(w.status(&s).await, AWAITING_PAYMENT, "{b:?}");
        }
        sim.set_status(StatusBehaviour::Normal);
        w.make_due().await;
        assert_eq!(worker::run_once(&w.portal, &gw).await.unwrap().released, 1);
        assert_eq!(w.status(&s).await, "eingegangen");
    })
    .await;
}

#[tokio::test]
async fn a_second_click_creates_no_second_transaction_and_a_failure_can_be_retried() {
    on_both(|w| async move {
        let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
        let gw = gateway(Duration::from_secs(5));
        w.online_connector(w.a, &sim).await;
        let s = w.submit(w.a, "vorab", "t-twice").await;
        let first = redirect(online::start_for_submission(&w.portal, &gw, w.a, s.id).await.unwrap());
        let again = redirect(online::start_for_submission(&w.portal, &gw, w.a, s.id).await.unwrap());
        assert_eq!(first, again);
        assert_eq!((sim.transactions().len(), sim.requests().len()), (1, 1));
        // Cancelled at the provider: the next click starts a new transaction.
        let (txid, secret) = last_transaction(&sim);
        sim.settle(&txid, ProviderStatus::Canceled, "");
        let r = online::on_return(&w.portal, &gw, &secret).await.unwrap().unwrap();
        assert_eq!(r.status, ProviderStatus::Canceled);
        assert_eq!(w.status(&s).await, AWAITING_PAYMENT);
        let second = redirect(online::start_for_submission(&w.portal, &gw, w.a, s.id).await.unwrap());
        assert_ne!(second, first);
        assert_eq!(sim.transactions().len(), 2);
        let (txid2, secret2) = last_transaction(&sim);
        sim.settle(&txid2, ProviderStatus::Payed, "CREDITCARD");
        assert_eq!(online::on_return(&w.portal, &gw, &secret2).await.unwrap().unwrap().status, ProviderStatus::Payed);
        // A late success of the cancelled one after that: the money was taken, so it
        // is booked — marked for a person (overpaid), releasing nothing again.
        sim.settle(&txid, ProviderStatus::Payed, "CREDITCARD");
        w.make_due().await;
        worker::run_once(&w.portal, &gw).await.unwrap();
        let p = w.payment(&s).await;
        assert_eq!((p.paid_cents, p.review.as_str()), (2500, "overpaid"));
        assert_eq!(w.emails().await.iter().filter(|m| m.subject.starts_with("Zahlung eingegangen")).count(), 1);
    })
    .await;
}

#[tokio::test]
async fn refusals_and_hangs_at_creation_abandon_the_attempt() {
    on_both(|w| async move {
        let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
        let gw = gateway(Duration::from_millis(800));
        w.online_connector(w.a, &sim).await;
        let s = w.submit(w.a, "vorab", "t-refused").await;
        let pid = w.payment(&s).await.id;
        for (b, n) in [(CreateBehaviour::PaymentExists, 1), (CreateBehaviour::Garbage, 2), (CreateBehaviour::Hang, 3)] {
            sim.set_create(b);
            let started = online::start_for_submission(&w.portal, &gw, w.a, s.id).await.unwrap();
            assert!(matches!(started, Started::Refused(_)), "{b:?}: {started:?}");
            let attempts = w.store.attempts_of(pid).await.unwrap();
            assert_eq!(attempts.len(), n, "{b:?}");
            let a = attempts.last().unwrap();
            assert_eq!((a.provider_status.as_str(), a.status.as_str()), ("ABANDONED", "done"), "{b:?}");
        }
        assert_eq!(w.status(&s).await, AWAITING_PAYMENT);
        sim.set_create(CreateBehaviour::Normal);
        redirect(online::start_for_submission(&w.portal, &gw, w.a, s.id).await.unwrap());
        // Without an online connector there is nothing to start.
        let s = w.submit(w.b, "vorab", "t-b").await;
        assert!(matches!(online::start_for_submission(&w.portal, &gw, w.b, s.id).await.unwrap(), Started::Refused(_)));
    })
    .await;
}

#[tokio::test]
async fn an_amount_mismatch_is_booked_for_review_and_releases_nothing() {
    on_both(|w| async move {
        let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
        let gw = gateway(Duration::from_secs(5));
        w.online_connector(w.a, &sim).await;
        let s = w.submit(w.a, "vorab", "t-mismatch").await;
        redirect(online::start_for_submission(&w.portal, &gw, w.a, s.id).await.unwrap());
        let (txid, secret) = last_transaction(&sim);
        sim.report_amount(&txid, 1000);
        sim.settle(&txid, ProviderStatus::Payed, "CREDITCARD");
        online::on_return(&w.portal, &gw, &secret).await.unwrap().unwrap();
        let p = w.payment(&s).await;
        assert_eq!((p.paid_cents, p.review.as_str()), (1000, "amount_mismatch"));
        assert_eq!(w.status(&s).await, AWAITING_PAYMENT);
        assert_eq!(w.store.payments_in_review(w.a).await.unwrap().len(), 1);
        let v = view::of_submission(&w.portal, w.a, s.id).await.unwrap().unwrap();
        assert!(v.review.contains("anderen Betrag"), "{}", v.review);
    })
    .await;
}

#[tokio::test]
async fn unpaid_applications_expire_and_a_late_payment_still_releases() {
    on_both(|w| async move {
        let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
        let gw = gateway(Duration::from_secs(5));
        w.online_connector(w.a, &sim).await;
        let unpaid = w.submit(w.a, "vorab", "t-unpaid").await;
        let paying = w.submit(w.a, "vorab", "t-paying").await;
        redirect(online::start_for_submission(&w.portal, &gw, w.a, paying.id).await.unwrap());
        let (txid, _) = last_transaction(&sim);
        execute_sql(&w.store, "UPDATE payments SET expires_at = 1").await;
        let round = worker::run_once(&w.portal, &gw).await.unwrap();
        assert_eq!(round.expired, 1, "an attempt begun within the hour keeps its payment");
        assert_eq!(w.status(&unpaid).await, PAYMENT_EXPIRED);
        assert_eq!(w.payment(&unpaid).await.status, "expired");
        assert_eq!(w.status(&paying).await, AWAITING_PAYMENT);
        let notices: Vec<_> =
            w.emails().await.into_iter().filter(|m| m.subject.starts_with("Antrag nicht bezahlt")).collect();
        assert_eq!(notices.len(), 1);
        assert!(notices[0].body.contains(&unpaid.receipt_number) && !notices[0].body.contains("Erika"));
        assert!(matches!(
            online::start_for_submission(&w.portal, &gw, w.a, unpaid.id).await.unwrap(),
            Started::Refused(_)
        ));
        let v = view::of_submission(&w.portal, w.a, unpaid.id).await.unwrap().unwrap();
        assert!(v.expired_unpaid && !v.can_pay_online);

        // The attempt gets old; the payment expires; then the provider reports PAYED.
        execute_sql(&w.store, "UPDATE payment_attempts SET created_at = created_at - 7200000").await;
        assert_eq!(worker::run_once(&w.portal, &gw).await.unwrap().expired, 1);
        assert_eq!(w.status(&paying).await, PAYMENT_EXPIRED);
        sim.settle(&txid, ProviderStatus::Payed, "CREDITCARD");
        w.make_due().await;
        assert_eq!(worker::run_once(&w.portal, &gw).await.unwrap().released, 1);
        assert_eq!(w.status(&paying).await, "eingegangen");
        let p = w.payment(&paying).await;
        assert_eq!((p.status.as_str(), p.review.as_str()), ("paid", "paid_after_expiry"));
    })
    .await;
}

#[tokio::test]
async fn a_payment_at_the_counter_releases_and_is_audited() {
    on_both(|w| async move {
        let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
        w.online_connector(w.a, &sim).await;
        let s = w.submit(w.a, "vorab", "t-counter").await;
        let actor = Actor { name: "Sachbearbeiterin".into(), audit: "staff:7".into() };
        let sid = s.id;
        let rec = |amount: i64, method: &'static str| {
            let (w, actor) = (&w, &actor);
            async move { counter::record_counter_payment(&w.portal, actor, w.a, sid, Cents(amount), method).await.unwrap() }
        };
        assert!(rec(1251, "bar").await.unwrap_err().contains("12,50 €"));
        assert!(rec(0, "bar").await.is_err());
        assert!(rec(500, "gold").await.is_err());
        // Another authority's staff cannot book on it.
        assert!(counter::record_counter_payment(&w.portal, &actor, w.b, s.id, Cents(100), "bar").await.unwrap().is_err());
        rec(500, "karte").await.unwrap();
        assert_eq!(w.status(&s).await, AWAITING_PAYMENT, "partly paid: still held");
        assert_eq!(w.payment(&s).await.status, "partly_paid");
        rec(750, "bar").await.unwrap();
        assert_eq!(w.status(&s).await, "eingegangen");
        assert_eq!(w.payment(&s).await.status, "paid");
        assert!(rec(100, "bar").await.unwrap_err().contains("bereits bezahlt"));
        let q = AuditQuery { authorities: Some(vec![w.a]), limit: 100, ..AuditQuery::default() };
        let audit = w.store.audit_page(&q).await.unwrap().0;
        let counter: Vec<_> = audit.iter().filter(|r| r.action == "payment.counter").collect();
        assert_eq!(counter.len(), 2);
        assert!(counter.iter().all(|r| r.actor == "staff:7"));
        let v = view::of_submission(&w.portal, w.a, s.id).await.unwrap().unwrap();
        assert_eq!(v.bookings.iter().map(|b| b.method_label.as_str()).collect::<Vec<_>>(), vec![
            "Karte (girocard oder Kreditkarte)",
            "Bar"
        ]);
        let pp = view::package_payment(&w.portal, w.a, s.id).await.unwrap().unwrap();
        assert_eq!((pp.status.as_str(), pp.payment_method.as_str()), ("BOOKED", "OTHER"));
    })
    .await;
}

#[tokio::test]
async fn the_receipt_pdf_carries_the_payment_with_the_girocode() {
    for t in both().await {
        eprintln!("backend: {}", t.name);
        let w = world(&t.store, Arc::new(amtsweg_pdf::Typst)).await;
        w.invoice_connector(w.a).await;
        let s = w.submit(w.a, "rechnung", "t-pdf").await;
        let p = w.payment(&s).await;
        let case = amtsweg_portal::casework::open_case(&w.portal, w.a, s.id).await.unwrap();
        let pdf = amtsweg_portal::receipt::pdf(&w.portal, &case.authority, &case.form, &s).await.unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let rp = view::receipt_payment(&w.portal, w.a, s.id).await.unwrap().unwrap();
        assert!(rp.girocode_svg.is_some());
        match pdftotext(&pdf) {
            Some(text) => {
                for needle in
                    ["Zahlung", "Kassenzeichen", p.kassenzeichen.as_str(), "DE02 1203 0000 0000 2020 51", "48,00 €"]
                {
                    assert!(text.contains(needle), "missing {needle:?} in {text}");
                }
            }
            None => eprintln!("SKIPPED text check: pdftotext (poppler-utils) is not installed"),
        }
        t.cleanup().await;
    }
}

/// The text of a PDF by `pdftotext`, `None` when it is not installed.
fn pdftotext(pdf: &[u8]) -> Option<String> {
    use std::io::Write;
    let mut child = std::process::Command::new("pdftotext")
        .args(["-layout", "-", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take().unwrap().write_all(pdf).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test]
async fn connector_settings_are_sealed_to_their_connector() {
    on_both(|w| async move {
        let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
        let id = w.online_connector(w.a, &sim).await;
        let row = w.store.payment_connector(id).await.unwrap().unwrap();
        assert!(!row.config.contains("03358017"), "sealed");
        assert!(connectors::open_config(&w.portal, &row).await.unwrap().contains("03358017"));
        // Copied onto another connector it does not open.
        let other = w.invoice_connector(w.a).await;
        let mut copied = w.store.payment_connector(other).await.unwrap().unwrap();
        copied.config = row.config.clone();
        assert!(connectors::open_config(&w.portal, &copied).await.is_err());
        // Updated: still sealed, new content; another authority cannot change it.
        let cfg = json!({"base_url": sim.base_url, "originator_id": "neu", "endpoint_id": "0815"}).to_string();
        assert!(!connectors::update(&w.portal, w.b, id, None, "x", &cfg).await.unwrap());
        assert!(connectors::update(&w.portal, w.a, id, None, "Simulator 2", &cfg).await.unwrap());
        let row = w.store.payment_connector(id).await.unwrap().unwrap();
        assert_eq!(row.name, "Simulator 2");
        assert!(connectors::open_config(&w.portal, &row).await.unwrap().contains("0815"));
    })
    .await;
}

#[tokio::test]
async fn a_linked_citizen_pays_a_claim_online_once() {
    on_both(|w| async move {
        let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
        let gw = gateway(Duration::from_secs(5));
        w.online_connector(w.a, &sim).await;
        let mut tx = w.store.begin().await.unwrap();
        let citizen = tx.insert_citizen("erika@example.org", "x").await.unwrap().unwrap();
        let other = tx.insert_citizen("max@example.org", "x").await.unwrap().unwrap();
        let account = tx.upsert_finance_account(w.a, "MB-10042").await.unwrap();
        let rf = amtsweg_domain::payment::rf_from("GRST-2026-0042").unwrap();
        let claim = tx
            .upsert_claim(&amtsweg_store::payments::NewClaim {
                authority_id: w.a,
                finance_account_id: account,
                kassenzeichen: "GRST-2026-0042",
                due_on: "2026-05-15",
                kind: "Grundsteuer",
                title: "sealed elsewhere",
                rf_reference: &rf,
                source: "api",
                payload_hash: "h1",
                amount_cents: 12_000,
                open_cents: 8_000,
                state: "partly_paid",
                dunning_level: 0,
            })
            .await
            .unwrap()
            .id();
        tx.insert_activation_code(w.a, account, "code-hash", amtsweg_store::now_ms() + 60_000, "staff:1")
            .await
            .unwrap();
        tx.use_activation_code("code-hash", citizen, amtsweg_store::now_ms()).await.unwrap();
        tx.commit().await.unwrap();

        // Only the linked citizen finds it.
        assert!(matches!(
            online::start_for_claim(&w.portal, &gw, other, claim).await,
            Err(amtsweg_portal::PortalError::NotFound)
        ));
        let first = redirect(online::start_for_claim(&w.portal, &gw, citizen, claim).await.unwrap());
        let again = redirect(online::start_for_claim(&w.portal, &gw, citizen, claim).await.unwrap());
        assert_eq!(first, again, "one transaction for two clicks");
        assert_eq!(sim.transactions().len(), 1);
        assert!(sim.raw_requests()[0].contains("\"grosAmount\":80.00"), "the open amount");
        let (txid, secret) = last_transaction(&sim);
        sim.settle(&txid, ProviderStatus::Payed, "GIROPAY");
        let r = online::on_return(&w.portal, &gw, &secret).await.unwrap().unwrap();
        assert_eq!((r.back, r.status), (Back::Claim { claim_id: claim }, ProviderStatus::Payed));
        let bookings = w.store.bookings_of_claims(&[claim]).await.unwrap();
        assert_eq!(
            bookings.iter().map(|b| (b.amount_cents, b.claim_id)).collect::<Vec<_>>(),
            vec![(8_000, Some(claim))]
        );
        // The finance software has not synced since: nothing is open any more.
        assert_eq!(online::start_for_claim(&w.portal, &gw, citizen, claim).await.unwrap(), Started::AlreadyPaid);
        assert_eq!(sim.transactions().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn the_payer_is_named_only_when_the_connector_asks_and_the_account_knows_them() {
    on_both(|w| async move {
        use amtsweg_domain::konto::{ProfileField, ProfileSource};
        let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
        let gw = gateway(Duration::from_secs(5));
        let cfg = json!({"base_url": sim.base_url, "originator_id": "amtsweg", "endpoint_id": "03358017", "send_requestor": true});
        connectors::add(&w.portal, w.a, None, "xbezahldienste", "Simulator", &cfg.to_string()).await.unwrap();
        let mut tx = w.store.begin().await.unwrap();
        let citizen = tx.insert_citizen("erika@example.org", "x").await.unwrap().unwrap();
        tx.commit().await.unwrap();
        amtsweg_portal::profile::ready(&w.portal).await.unwrap();
        for (f, v) in [
            (ProfileField::GivenName, "Erika"),
            (ProfileField::FamilyName, "Mustermann"),
            (ProfileField::Street, "Große Straße 12a"),
            (ProfileField::Plz, "37199"),
            (ProfileField::City, "Moorbrück"),
        ] {
            let source = ProfileSource::SelfEntered;
            amtsweg_portal::profile::set(&w.portal, citizen, f, v, &source, TrustLevel::Normal).await.unwrap();
        }
        let s = w.submit_by(w.a, "vorab", "t-named", Some(citizen)).await;
        redirect(online::start_for_submission(&w.portal, &gw, w.a, s.id).await.unwrap());
        let anonymous = w.submit(w.a, "vorab", "t-anonymous").await;
        redirect(online::start_for_submission(&w.portal, &gw, w.a, anonymous.id).await.unwrap());
        let requests = sim.requests();
        let r = &requests[0]["requestor"];
        assert_eq!((r["name"].as_str(), r["firstName"].as_str()), (Some("Mustermann"), Some("Erika")));
        assert_eq!(r["address"]["street"], "Große Straße");
        assert_eq!(r["address"]["houseNumber"], "12a");
        assert_eq!(r["address"]["postalCode"], "37199");
        assert!(requests[1].get("requestor").is_none(), "an anonymous applicant is not named");
    })
    .await;
}
