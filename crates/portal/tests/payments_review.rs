//! Money under concurrency and payments a person has to look at, on both databases:
//! closing a review (release once, or mark checked), two counter bookings at once,
//! two "pay" clicks on one claim at once, a provider reporting nothing paid, a claim
//! paid twice (online and by transfer), and a partly paid application expiring.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use amtsweg_domain::payment::{Cents, ProviderStatus};
use amtsweg_handoff::payment::simulator::Simulator;
use amtsweg_portal::casework::Actor;
use amtsweg_portal::payments::online::{self, Started};
use amtsweg_portal::payments::review::{self, Decision};
use amtsweg_portal::payments::{counter, view, worker};
use amtsweg_store::audit_log::AuditQuery;
use amtsweg_store::payments::{AWAITING_PAYMENT, NewBooking, NewClaim, PAYMENT_EXPIRED};
use amtsweg_store::testing::{count_containing, execute_sql};
use std::time::Duration;

#[path = "support/payments_world.rs"]
mod payments_world;
use payments_world::*;

fn staff() -> Actor {
    Actor { name: "Sachbearbeiterin".into(), audit: "staff:7".into() }
}

async fn audited(w: &World, action: &str) -> usize {
    let q = AuditQuery { authorities: Some(vec![w.a]), limit: 1000, ..AuditQuery::default() };
    w.store.audit_page(&q).await.unwrap().0.iter().filter(|r| r.action == action).count()
}

/// A claim of 80,00 € open, linked to a new citizen; (citizen, claim).
async fn linked_claim(w: &World) -> (i64, i64) {
    let mut tx = w.store.begin().await.unwrap();
    let citizen = tx.insert_citizen("erika@example.org", "x").await.unwrap().unwrap();
    let account = tx.upsert_finance_account(w.a, "MB-10042").await.unwrap();
    let rf = amtsweg_domain::payment::rf_from("GRST-2026-0042").unwrap();
    let claim = tx
        .upsert_claim(&NewClaim {
            authority_id: w.a,
            finance_account_id: account,
            kassenzeichen: "GRST-2026-0042",
            due_on: "2026-05-15",
            kind: "Grundsteuer",
            title: "sealed elsewhere",
            rf_reference: &rf,
            source: "api",
            payload_hash: "h1",
            amount_cents: 8_000,
            open_cents: 8_000,
            state: "open",
            dunning_level: 0,
        })
        .await
        .unwrap()
        .id();
    tx.insert_activation_code(w.a, account, "code-hash", amtsweg_store::now_ms() + 60_000, "staff:1").await.unwrap();
    tx.use_activation_code("code-hash", citizen, amtsweg_store::now_ms()).await.unwrap();
    tx.commit().await.unwrap();
    (citizen, claim)
}

#[tokio::test]
async fn a_review_is_closed_by_releasing_the_held_application_exactly_once() {
    on_both(|w| async move {
        let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
        let gw = gateway(Duration::from_secs(5));
        w.online_connector(w.a, &sim).await;
        w.handoff_connector(w.a).await;
        let s = w.submit(w.a, "vorab", "t-over-report").await;
        redirect(online::start_for_submission(&w.portal, &gw, w.a, s.id).await.unwrap());
        let (txid, secret) = last_transaction(&sim);
        // The provider took 15,00 € for a fee of 12,50 €.
        sim.report_amount(&txid, 1500);
        sim.settle(&txid, ProviderStatus::Payed, "CREDITCARD");
        online::on_return(&w.portal, &gw, &secret).await.unwrap().unwrap();
        assert_eq!(w.payment(&s).await.review, "amount_mismatch");
        assert_eq!(w.status(&s).await, AWAITING_PAYMENT);

        let mails_before = w.emails().await.len();
        let actor = staff();
        let e = review::resolve(&w.portal, &actor, w.a, s.id, Decision::Release, " ").await.unwrap().unwrap_err();
        assert!(e.contains("was Sie geprüft haben"), "{e}");
        let other = review::resolve(&w.portal, &actor, w.b, s.id, Decision::Release, "x").await.unwrap();
        assert!(other.is_err(), "another authority's staff find no payment");
        // Two people (or a double click) at once: released once.
        let once = || review::resolve(&w.portal, &actor, w.a, s.id, Decision::Release, "Differenz wird erstattet");
        let (a, b) = tokio::join!(once(), once());
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(a.is_ok() != b.is_ok(), "{a:?} {b:?}");
        assert!(a.err().or(b.err()).unwrap().contains("nicht (mehr) zur Prüfung"));
        assert_eq!(w.status(&s).await, "eingegangen");
        assert_eq!(w.deliveries(&s).await, 1, "handed off once");
        let p = w.payment(&s).await;
        assert_eq!((p.review.as_str(), p.paid_cents), ("", 1500));
        assert!(w.store.payments_in_review(w.a).await.unwrap().is_empty(), "off the review list");
        assert_eq!(audited(&w, "payment.review").await, 1);
        let events = w.store.submission_events(s.id).await.unwrap();
        let note = events.iter().find(|e| e.kind == "note").expect("the note in the history");
        assert!(!note.is_public());
        let text = amtsweg_portal::casework::open_text(&w.portal, w.a, s.id, &note.body).await;
        assert!(text.contains("Differenz wird erstattet"), "{text}");
        assert_eq!(w.emails().await.len(), mails_before + 1, "the citizen hears of the release once");
    })
    .await;
}

#[tokio::test]
async fn nothing_reported_as_paid_is_no_money_and_is_marked_checked_without_a_release() {
    on_both(|w| async move {
        let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
        let gw = gateway(Duration::from_secs(5));
        w.online_connector(w.a, &sim).await;
        let s = w.submit(w.a, "vorab", "t-zero").await;
        redirect(online::start_for_submission(&w.portal, &gw, w.a, s.id).await.unwrap());
        let (txid, secret) = last_transaction(&sim);
        sim.report_amount(&txid, 0);
        sim.settle(&txid, ProviderStatus::Payed, "CREDITCARD");
        online::on_return(&w.portal, &gw, &secret).await.unwrap().unwrap();
        let p = w.payment(&s).await;
        assert_eq!((p.paid_cents, p.status.as_str(), p.review.as_str()), (0, "open", "amount_mismatch"));
        assert!(w.store.bookings_of_payment(p.id).await.unwrap().is_empty(), "no booking of 0,00 €");
        assert_eq!(w.status(&s).await, AWAITING_PAYMENT);
        // No money: it cannot be released, only marked checked.
        let e = review::resolve(&w.portal, &staff(), w.a, s.id, Decision::Release, "x").await.unwrap().unwrap_err();
        assert!(e.contains("kein Geld"), "{e}");
        review::resolve(&w.portal, &staff(), w.a, s.id, Decision::Checked, "Beim Bezahldienst nachgefragt")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(w.payment(&s).await.review, "");
        assert_eq!(w.status(&s).await, AWAITING_PAYMENT, "still held");
    })
    .await;
}

#[tokio::test]
async fn two_counter_bookings_at_once_book_the_fee_once() {
    on_both(|w| async move {
        let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
        w.online_connector(w.a, &sim).await;
        let s = w.submit(w.a, "vorab", "t-counter-twice").await;
        let actor = staff();
        let once = || counter::record_counter_payment(&w.portal, &actor, w.a, s.id, Cents(1250), "bar");
        let (a, b) = tokio::join!(once(), once());
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(a.is_ok() != b.is_ok(), "{a:?} {b:?}");
        assert!(a.err().or(b.err()).unwrap().contains("bereits bezahlt"));
        let p = w.payment(&s).await;
        assert_eq!((p.paid_cents, p.status.as_str(), p.review.as_str()), (1250, "paid", ""));
        assert_eq!(w.store.bookings_of_payment(p.id).await.unwrap().len(), 1);
        assert_eq!(audited(&w, "payment.counter").await, 1);
        assert_eq!(w.status(&s).await, "eingegangen");
    })
    .await;
}

#[tokio::test]
async fn two_pay_clicks_on_one_claim_at_once_make_one_payment_and_one_transaction() {
    on_both(|w| async move {
        let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
        let gw = gateway(Duration::from_secs(5));
        w.online_connector(w.a, &sim).await;
        let (citizen, claim) = linked_claim(&w).await;
        let click = || online::start_for_claim(&w.portal, &gw, citizen, claim);
        let (a, b) = tokio::join!(click(), click());
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(matches!(a, Started::Redirect(_)) || matches!(b, Started::Redirect(_)), "{a:?} {b:?}");
        assert_eq!(sim.transactions().len(), 1, "one provider transaction");
        let n = count_containing(&w.store, "payments", "kassenzeichen", "GRST").await;
        assert_eq!(n, 1, "one payment of the claim");
    })
    .await;
}

#[tokio::test]
async fn a_claim_paid_by_transfer_and_then_online_is_flagged_as_overpaid() {
    on_both(|w| async move {
        let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
        let gw = gateway(Duration::from_secs(5));
        w.online_connector(w.a, &sim).await;
        let (citizen, claim) = linked_claim(&w).await;
        redirect(online::start_for_claim(&w.portal, &gw, citizen, claim).await.unwrap());
        let (txid, secret) = last_transaction(&sim);
        // The same 80,00 € arrive by transfer, booked on the claim …
        let mut tx = w.store.begin().await.unwrap();
        let bank = NewBooking {
            authority_id: w.a,
            payment_id: None,
            claim_id: Some(claim),
            source: "bank",
            amount_cents: 8_000,
            method: "ueberweisung",
            reference: "GRST-2026-0042",
            bank_entry_id: None,
            attempt_id: None,
            actor: "staff:7",
            booked_on: "2026-05-05",
        };
        tx.book_payment(&bank, None).await.unwrap();
        tx.commit().await.unwrap();
        // … and then the citizen completes the pay page they had open.
        sim.settle(&txid, ProviderStatus::Payed, "GIROPAY");
        online::on_return(&w.portal, &gw, &secret).await.unwrap().unwrap();
        let in_review = w.store.payments_in_review(w.a).await.unwrap();
        assert_eq!(in_review.len(), 1, "listed for a person");
        assert_eq!((in_review[0].claim_id, in_review[0].review.as_str()), (Some(claim), "overpaid"));
    })
    .await;
}

#[tokio::test]
async fn a_partly_paid_application_expires_with_its_notice_and_is_marked_for_review() {
    on_both(|w| async move {
        let sim = Simulator::start("127.0.0.1:0", false).await.unwrap();
        let gw = gateway(Duration::from_secs(5));
        w.online_connector(w.a, &sim).await;
        let s = w.submit(w.a, "vorab", "t-partly").await;
        counter::record_counter_payment(&w.portal, &staff(), w.a, s.id, Cents(500), "bar").await.unwrap().unwrap();
        execute_sql(&w.store, "UPDATE payments SET expires_at = 1").await;
        assert_eq!(worker::run_once(&w.portal, &gw).await.unwrap().expired, 1);
        assert_eq!(w.status(&s).await, PAYMENT_EXPIRED);
        let p = w.payment(&s).await;
        assert_eq!((p.status.as_str(), p.paid_cents, p.review.as_str()), ("expired", 500, "expired_partly_paid"));
        let notices: Vec<_> =
            w.emails().await.into_iter().filter(|m| m.subject.starts_with("Antrag nicht bezahlt")).collect();
        assert_eq!(notices.len(), 1, "the citizen is told");
        let v = view::of_submission(&w.portal, w.a, s.id).await.unwrap().unwrap();
        assert!(v.review.contains("Teil bezahlt"), "{}", v.review);
        // The rest at the counter still releases it.
        counter::record_counter_payment(&w.portal, &staff(), w.a, s.id, Cents(750), "bar").await.unwrap().unwrap();
        assert_eq!(w.status(&s).await, "eingegangen");
    })
    .await;
}
