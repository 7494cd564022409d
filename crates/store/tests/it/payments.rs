//! Payments: a submission held until paid (no deliveries, in no inbox, count or API
//! list), released exactly once in the transaction that books PAYED, observations
//! merged in any order, amount mismatch and expiry, and the finance feed's sequence
//! without gaps.

use super::{Store, on_both, seed};
use amtsweg_domain::Slug;
use amtsweg_domain::payment::ProviderStatus;
use amtsweg_store::casework::InboxFilter;
use amtsweg_store::handoff::NewConnector;
use amtsweg_store::outbox::EmailMessage;
use amtsweg_store::payments::bookings::{ResolvedReview, ReviewRefusal};
use amtsweg_store::payments::{
    AWAITING_PAYMENT, BeginAttempt, NewAttempt, NewBooking, NewPayment, Observation, PAYMENT_EXPIRED,
};
use amtsweg_store::submissions::{OwnedSubmission, Submitted};

struct World {
    town: i64,
    county: i64,
    form: i64,
    connector: i64,
    pay_connector: i64,
}

async fn world(store: &Store) -> World {
    let s = seed(store).await;
    let form: amtsweg_forms::Form = serde_json::from_value(serde_json::json!({
        "id": "melde", "title": "Meldebescheinigung", "steps": [{"id": "a", "title": "A", "items": []}]
    }))
    .unwrap();
    let mut tx = store.begin().await.unwrap();
    let f = tx.create_form(s.town, &Slug::parse("melde").unwrap(), None, &form, None).await.unwrap();
    let connector = tx
        .insert_connector(&NewConnector {
            authority_id: s.town,
            form_id: None,
            kind: "webhook",
            name: "Fach",
            config: "x",
        })
        .await
        .unwrap();
    let pay_connector =
        tx.insert_payment_connector(s.town, None, "xbezahldienste", "Bezahldienst", "sealed").await.unwrap();
    tx.commit().await.unwrap();
    World { town: s.town, county: s.county, form: f, connector, pay_connector }
}

fn owned(token: &str, w: &World) -> OwnedSubmission {
    OwnedSubmission {
        form_token: token.into(),
        authority_id: w.town,
        form_id: w.form,
        form_version: 1,
        title: "Meldebescheinigung".into(),
        org_unit_id: None,
        citizen_id: None,
        browser_hash: "b".into(),
        data: "sealed".into(),
        data_hash: "h".into(),
        receipt_prefix: "MO".into(),
        year: 2026,
        confirmation: None,
    }
}

fn payment(w: &World, kz: &str, mode: &str, amount: i64) -> NewPayment {
    NewPayment {
        authority_id: w.town,
        mode: mode.into(),
        connector_id: (mode == "vorab").then_some(w.pay_connector),
        kassenzeichen: kz.into(),
        rf_reference: amtsweg_domain::payment::rf_from(kz).unwrap(),
        purpose: "Meldebescheinigung".into(),
        amount_cents: amount,
        booking: r#"[["kassenzeichen","x"]]"#.into(),
        due_on: String::new(),
        expires_at: Some(amtsweg_store::now_ms() + 72 * 3_600_000),
        citizen_id: None,
        hold: mode == "vorab",
    }
}

async fn submit(store: &Store, w: &World, token: &str, p: Option<NewPayment>) -> Submitted {
    let mut r = store.submit_all_with(&[(owned(token, w), p)]).await;
    r.pop().unwrap().unwrap()
}

fn mail(to: &str) -> EmailMessage {
    EmailMessage { to: to.into(), subject: "Zahlung eingegangen".into(), body: "Danke".into(), attachments: vec![] }
}

async fn status_of(store: &Store, w: &World, id: i64) -> String {
    store.submission(w.town, id).await.unwrap().unwrap().status
}

/// Starts an attempt and lets the provider create its transaction.
async fn attempt(store: &Store, w: &World, payment_id: i64, n: &str) -> i64 {
    let mut tx = store.begin().await.unwrap();
    let a = NewAttempt {
        payment_id,
        authority_id: w.town,
        connector_id: w.pay_connector,
        request_id: &format!("req-{n}"),
        return_hash: &format!("hash-{n}"),
        amount_cents: 1200,
        reuse_younger_than_ms: 30 * 60_000,
    };
    let BeginAttempt::Created(row) = tx.begin_attempt(&a).await.unwrap() else { panic!("no new attempt") };
    assert!(tx.attempt_created(row.id, &format!("tx-{n}"), "https://pay.example/p", 1).await.unwrap());
    tx.commit().await.unwrap();
    row.id
}

async fn observe(store: &Store, attempt_id: i64, status: ProviderStatus, seen_at: i64, cents: Option<i64>) -> bool {
    let mut tx = store.begin().await.unwrap();
    let o = Observation {
        attempt_id,
        status,
        seen_at,
        transaction_reference: "REF-1",
        payment_method: "CREDITCARD",
        reported_cents: cents,
    };
    let r = tx.record_observation(&o, Some(&mail("erika@example.org"))).await.unwrap();
    tx.commit().await.unwrap();
    r.booked.is_some_and(|b| b.released.is_some())
}

#[tokio::test]
async fn a_held_submission_is_nowhere_until_released_once() {
    on_both(|store| async move {
        let w = world(&store).await;
        let plain = submit(&store, &w, "t-plain", None).await;
        let held = submit(&store, &w, "t-held", Some(payment(&w, "MO-2026-000001", "vorab", 1200))).await;
        let invoice = submit(&store, &w, "t-inv", Some(payment(&w, "MO-2026-000002", "rechnung", 3000))).await;
        assert_eq!(status_of(&store, &w, held.id).await, AWAITING_PAYMENT);
        assert_eq!(status_of(&store, &w, invoice.id).await, "eingegangen", "an invoice does not hold");
        assert!(store.deliveries_of(w.town, held.id).await.unwrap().is_empty(), "no deliveries while held");
        assert_eq!(store.deliveries_of(w.town, plain.id).await.unwrap().len(), 1);
        assert_eq!(store.deliveries_of(w.town, invoice.id).await.unwrap().len(), 1);
        let p = store.payment_of_submission(w.town, held.id).await.unwrap().unwrap();
        assert_eq!((p.mode.as_str(), p.status.as_str(), p.amount_cents), ("vorab", "open", 1200));
        assert!(store.payment_of_submission(w.county, held.id).await.unwrap().is_none(), "another authority's");
        assert_eq!(store.payments_of_submissions(&[held.id, invoice.id, plain.id]).await.unwrap().len(), 2);

        let inbox = |status: Option<&str>| {
            let store = store.clone();
            let f = InboxFilter {
                authority_ids: vec![w.town],
                status: status.map(str::to_owned),
                limit: 50,
                ..Default::default()
            };
            async move { store.inbox(&f).await.unwrap().into_iter().map(|s| s.id).collect::<Vec<_>>() }
        };
        assert!(!inbox(None).await.contains(&held.id), "not in the inbox");
        assert_eq!(inbox(Some(AWAITING_PAYMENT)).await, [held.id], "only when asked for");
        let waiting = store.waiting(&[(w.town, None)], "eingegangen").await.unwrap();
        assert_eq!((waiting.received, waiting.unassigned), (2, 2), "the held one is not counted");
        let mut tx = store.begin().await.unwrap();
        let client = tx.insert_api_client(w.town, "Fach", "cid-p", "hash", "submissions:read").await.unwrap();
        tx.commit().await.unwrap();
        assert!(!store.unacknowledged(w.town, client, 0, 10).await.unwrap().contains(&held.id));

        // Paid: released in the transaction that books, with deliveries and the mail.
        let a = attempt(&store, &w, p.id, "1").await;
        let mails_before = store.outbox_entries(100).await.unwrap().len();
        assert!(observe(&store, a, ProviderStatus::Payed, 10, None).await);
        assert_eq!(status_of(&store, &w, held.id).await, "eingegangen");
        let d = store.deliveries_of(w.town, held.id).await.unwrap();
        assert_eq!(d.iter().map(|d| d.connector_id).collect::<Vec<_>>(), [w.connector]);
        assert_eq!(store.outbox_entries(100).await.unwrap().len(), mails_before + 1);
        let events = store.submission_events(held.id).await.unwrap();
        assert!(events.iter().any(|e| e.status == "eingegangen" && e.is_public()));
        assert!(inbox(None).await.contains(&held.id));
        assert!(store.unacknowledged(w.town, client, 0, 10).await.unwrap().contains(&held.id));

        // The same PAYED again (return page and worker): nothing booked, nothing released.
        assert!(!observe(&store, a, ProviderStatus::Payed, 20, None).await);
        let mut tx = store.begin().await.unwrap();
        assert!(!tx.release_submission(held.id, "x", None).await.unwrap(), "not held any more");
        tx.commit().await.unwrap();
        assert_eq!(store.deliveries_of(w.town, held.id).await.unwrap().len(), 1);
        assert_eq!(store.bookings_of_payment(p.id).await.unwrap().len(), 1);
        assert_eq!(store.outbox_entries(100).await.unwrap().len(), mails_before + 1);
        let p = store.payment(w.town, p.id).await.unwrap().unwrap();
        assert_eq!((p.status.as_str(), p.paid_cents, p.review.as_str()), ("paid", 1200, ""));
        assert!(p.paid_at.is_some());
        let attempts = store.attempts_of(p.id).await.unwrap();
        assert_eq!(
            (attempts[0].provider_status.as_str(), attempts[0].status.as_str(), attempts[0].payment_method.as_str()),
            ("PAYED", "done", "CREDITCARD")
        );
        // A paid payment takes no new attempt.
        let mut tx = store.begin().await.unwrap();
        let again = NewAttempt {
            payment_id: p.id,
            authority_id: w.town,
            connector_id: w.pay_connector,
            request_id: "req-x",
            return_hash: "hash-x",
            amount_cents: 1200,
            reuse_younger_than_ms: 0,
        };
        assert!(matches!(tx.begin_attempt(&again).await.unwrap(), BeginAttempt::NotPayable(s) if s == "paid"));
    })
    .await;
}

#[tokio::test]
async fn observations_merge_in_any_order() {
    on_both(|store| async move {
        let w = world(&store).await;
        // An older FAILED after PAYED changes nothing.
        let one = submit(&store, &w, "t-1", Some(payment(&w, "MO-2026-000011", "vorab", 1200))).await;
        let p1 = store.payment_of_submission(w.town, one.id).await.unwrap().unwrap();
        let a1 = attempt(&store, &w, p1.id, "1").await;
        assert!(observe(&store, a1, ProviderStatus::Payed, 100, None).await);
        assert!(!observe(&store, a1, ProviderStatus::Failed, 50, None).await);
        assert!(!observe(&store, a1, ProviderStatus::Failed, 200, None).await, "PAYED is never left");
        assert_eq!(store.attempts_of(p1.id).await.unwrap()[0].provider_status, "PAYED");

        // FAILED first, a late PAYED wins and releases.
        let two = submit(&store, &w, "t-2", Some(payment(&w, "MO-2026-000012", "vorab", 1200))).await;
        let p2 = store.payment_of_submission(w.town, two.id).await.unwrap().unwrap();
        let a2 = attempt(&store, &w, p2.id, "2").await;
        assert!(!observe(&store, a2, ProviderStatus::Failed, 100, None).await);
        assert_eq!(status_of(&store, &w, two.id).await, AWAITING_PAYMENT);
        let row = &store.attempts_of(p2.id).await.unwrap()[0];
        assert_eq!((row.provider_status.as_str(), row.status.as_str()), ("FAILED", "pending"), "still polled");
        assert!(!observe(&store, a2, ProviderStatus::Initial, 300, None).await, "final never goes back");
        assert_eq!(store.attempts_of(p2.id).await.unwrap()[0].provider_status, "FAILED");
        assert!(observe(&store, a2, ProviderStatus::Payed, 50, None).await, "a late success wins");
        assert_eq!(status_of(&store, &w, two.id).await, "eingegangen");
    })
    .await;
}

#[tokio::test]
async fn an_amount_mismatch_is_booked_for_review_and_releases_nothing() {
    on_both(|store| async move {
        let w = world(&store).await;
        let s = submit(&store, &w, "t-m", Some(payment(&w, "MO-2026-000021", "vorab", 1200))).await;
        let p = store.payment_of_submission(w.town, s.id).await.unwrap().unwrap();
        let a = attempt(&store, &w, p.id, "m").await;
        assert!(!observe(&store, a, ProviderStatus::Payed, 10, Some(1500)).await);
        assert_eq!(status_of(&store, &w, s.id).await, AWAITING_PAYMENT);
        assert!(store.deliveries_of(w.town, s.id).await.unwrap().is_empty());
        let p = store.payment(w.town, p.id).await.unwrap().unwrap();
        assert_eq!((p.paid_cents, p.review.as_str()), (1500, "amount_mismatch"));
        assert_eq!(store.payments_in_review(w.town).await.unwrap().iter().map(|r| r.id).collect::<Vec<_>>(), [p.id]);
        assert!(store.payments_in_review(w.county).await.unwrap().is_empty());

        // A person closes the review: released once, the review cleared.
        let mut tx = store.begin().await.unwrap();
        let refused = tx.resolve_review(w.county, p.id, true, "staff:1", None).await.unwrap();
        assert_eq!(refused, Err(ReviewRefusal::NoReview), "another authority's payment");
        let done = tx.resolve_review(w.town, p.id, true, "staff:1", Some(&mail("e@example.org"))).await.unwrap();
        assert_eq!(done, Ok(ResolvedReview { review: "amount_mismatch".into(), released: Some(s.id) }));
        let again = tx.resolve_review(w.town, p.id, true, "staff:1", None).await.unwrap();
        assert_eq!(again, Err(ReviewRefusal::NoReview), "once");
        tx.commit().await.unwrap();
        assert_eq!(status_of(&store, &w, s.id).await, "eingegangen");
        assert_eq!(store.deliveries_of(w.town, s.id).await.unwrap().len(), 1);
        assert!(store.payments_in_review(w.town).await.unwrap().is_empty());
        // A release needs a held application (this one went on).
        let mut tx = store.begin().await.unwrap();
        assert!(tx.set_payment_review(w.town, p.id, "overpaid").await.unwrap());
        let refused = tx.resolve_review(w.town, p.id, true, "staff:1", None).await.unwrap();
        assert_eq!(refused, Err(ReviewRefusal::NotHeld));
        assert!(tx.resolve_review(w.town, p.id, false, "staff:1", None).await.unwrap().is_ok(), "checked");
        tx.commit().await.unwrap();
        assert_eq!(store.deliveries_of(w.town, s.id).await.unwrap().len(), 1, "nothing handed off again");
    })
    .await;
}

#[tokio::test]
async fn nothing_or_less_reported_as_paid_is_not_booked() {
    on_both(|store| async move {
        let w = world(&store).await;
        for (n, cents) in [(1, 0), (2, -1250)] {
            let kz = format!("MO-2026-00004{n}");
            let s = submit(&store, &w, &format!("t-z{n}"), Some(payment(&w, &kz, "vorab", 1250))).await;
            let p = store.payment_of_submission(w.town, s.id).await.unwrap().unwrap();
            let a = attempt(&store, &w, p.id, &format!("z{n}")).await;
            assert!(!observe(&store, a, ProviderStatus::Payed, 10, Some(cents)).await);
            assert!(store.bookings_of_payment(p.id).await.unwrap().is_empty(), "{cents}: no booking");
            let p = store.payment(w.town, p.id).await.unwrap().unwrap();
            assert_eq!((p.paid_cents, p.status.as_str(), p.review.as_str()), (0, "open", "amount_mismatch"));
            assert_eq!(status_of(&store, &w, s.id).await, AWAITING_PAYMENT);
        }
    })
    .await;
}

#[tokio::test]
async fn unpaid_submissions_expire_and_a_late_payment_is_flagged() {
    on_both(|store| async move {
        let w = world(&store).await;
        let mut p = payment(&w, "MO-2026-000031", "vorab", 1200);
        p.expires_at = Some(1_000);
        let s = submit(&store, &w, "t-e", Some(p)).await;
        let fresh = submit(&store, &w, "t-f", Some(payment(&w, "MO-2026-000032", "vorab", 1200))).await;
        let due = store.expirable_payments(amtsweg_store::now_ms(), 10).await.unwrap();
        assert_eq!(due.iter().map(|p| p.submission_id).collect::<Vec<_>>(), [Some(s.id)]);
        let pid = due[0].id;
        let mut tx = store.begin().await.unwrap();
        assert!(tx.expire_payment(pid, amtsweg_store::now_ms(), Some(&mail("e@example.org"))).await.unwrap());
        assert!(!tx.expire_payment(pid, amtsweg_store::now_ms(), None).await.unwrap(), "once");
        let other = store.payment_of_submission(w.town, fresh.id).await.unwrap().unwrap();
        assert!(!tx.expire_payment(other.id, amtsweg_store::now_ms(), None).await.unwrap(), "not due yet");
        tx.commit().await.unwrap();
        assert_eq!(status_of(&store, &w, s.id).await, PAYMENT_EXPIRED);
        assert_eq!(store.payment(w.town, pid).await.unwrap().unwrap().status, "expired");
        assert!(store.expirable_payments(amtsweg_store::now_ms(), 10).await.unwrap().is_empty());
        let inbox = InboxFilter { authority_ids: vec![w.town], limit: 50, ..Default::default() };
        assert!(!store.inbox(&inbox).await.unwrap().iter().any(|r| r.id == s.id));
        // Expired: no new attempt; a payment arriving late is released and flagged.
        let mut tx = store.begin().await.unwrap();
        let a = NewAttempt {
            payment_id: pid,
            authority_id: w.town,
            connector_id: w.pay_connector,
            request_id: "req-e",
            return_hash: "hash-e",
            amount_cents: 1200,
            reuse_younger_than_ms: 0,
        };
        assert!(matches!(tx.begin_attempt(&a).await.unwrap(), BeginAttempt::NotPayable(s) if s == "expired"));
        let b = tx.book_payment(&counter(w.town, pid, 1200), None).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!((b.released, b.review.as_str()), (Some(s.id), "paid_after_expiry"));
        assert_eq!(status_of(&store, &w, s.id).await, "eingegangen");
    })
    .await;
}

fn counter(authority_id: i64, payment_id: i64, cents: i64) -> NewBooking<'static> {
    NewBooking {
        authority_id,
        payment_id: Some(payment_id),
        claim_id: None,
        source: "counter",
        amount_cents: cents,
        method: "bar",
        reference: "",
        bank_entry_id: None,
        attempt_id: None,
        actor: "sachbearbeitung",
        booked_on: "2026-03-01",
    }
}

#[tokio::test]
async fn attempts_are_reused_claimed_and_abandoned() {
    on_both(|store| async move {
        let w = world(&store).await;
        let s = submit(&store, &w, "t-a", Some(payment(&w, "MO-2026-000041", "vorab", 1200))).await;
        let p = store.payment_of_submission(w.town, s.id).await.unwrap().unwrap();
        let new = |n: &'static str| NewAttempt {
            payment_id: p.id,
            authority_id: w.town,
            connector_id: w.pay_connector,
            request_id: n,
            return_hash: n,
            amount_cents: 1200,
            reuse_younger_than_ms: 30 * 60_000,
        };
        let mut tx = store.begin().await.unwrap();
        let BeginAttempt::Created(first) = tx.begin_attempt(&new("r1")).await.unwrap() else { panic!() };
        // A second click while the request is on its way: running, no second transaction.
        let BeginAttempt::Running(same) = tx.begin_attempt(&new("r2")).await.unwrap() else { panic!() };
        assert_eq!((same.id, same.transaction_url.as_str()), (first.id, ""));
        tx.abandon_attempt(first.id, "timeout").await.unwrap();
        assert!(!tx.attempt_created(first.id, "tx-late", "https://pay.example/late", 1).await.unwrap());
        let BeginAttempt::Created(second) = tx.begin_attempt(&new("r3")).await.unwrap() else { panic!() };
        assert!(tx.attempt_created(second.id, "tx-2", "https://pay.example/2", 1).await.unwrap());
        let BeginAttempt::Running(again) = tx.begin_attempt(&new("r4")).await.unwrap() else { panic!() };
        assert_eq!((again.id, again.transaction_url.as_str()), (second.id, "https://pay.example/2"));
        let other = NewAttempt { authority_id: w.county, ..new("r5") };
        assert!(matches!(tx.begin_attempt(&other).await.unwrap(), BeginAttempt::NotPayable(s) if s == "unknown"));
        tx.commit().await.unwrap();
        assert_eq!(store.attempt_by_return_hash("r3").await.unwrap().unwrap().id, second.id);
        assert!(store.attempt_by_return_hash("forged").await.unwrap().is_none());
        let rows = store.attempts_of(p.id).await.unwrap();
        assert_eq!((rows[0].provider_status.as_str(), rows[0].status.as_str()), ("ABANDONED", "done"));

        // Nothing due yet (first poll after 20 s); once due, claimed once per lease.
        assert!(store.claim_attempts(10, 60_000).await.unwrap().is_empty());
        let mut tx = store.begin().await.unwrap();
        tx.attempt_poll_later(second.id, 0, "HTTP 503").await.unwrap();
        tx.commit().await.unwrap();
        let claimed = store.claim_attempts(10, 60_000).await.unwrap();
        assert_eq!(claimed.iter().map(|a| a.id).collect::<Vec<_>>(), [second.id]);
        assert_eq!((claimed[0].polls, claimed[0].last_error.as_str()), (1, "HTTP 503"));
        assert!(store.claim_attempts(10, 60_000).await.unwrap().is_empty(), "held by the lease");
        let mut tx = store.begin().await.unwrap();
        tx.attempt_poll_done(second.id, "no_final_status").await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(store.payment(w.town, p.id).await.unwrap().unwrap().review, "no_final_status");
    })
    .await;
}

#[tokio::test]
async fn the_feed_sequence_has_no_gaps_even_under_concurrent_bookings() {
    on_both(|store| async move {
        let w = world(&store).await;
        let mut ids = Vec::new();
        for i in 0..8 {
            let s =
                submit(&store, &w, &format!("t-c{i}"), Some(payment(&w, &format!("MO-2026-0001{i}"), "vor_ort", 500)))
                    .await;
            ids.push(store.payment_of_submission(w.town, s.id).await.unwrap().unwrap().id);
        }
        let tasks: Vec<_> = ids
            .iter()
            .map(|&pid| {
                let store = store.clone();
                let town = w.town;
                tokio::spawn(async move {
                    let mut tx = store.begin().await.unwrap();
                    let b = tx.book_payment(&counter(town, pid, 500), None).await.unwrap();
                    tx.commit().await.unwrap();
                    b
                })
            })
            .collect();
        for t in tasks {
            let b = t.await.unwrap();
            assert_eq!(b.released, None, "nothing was held");
            assert_eq!(b.payment.unwrap().status, "paid");
        }
        let mut seqs = Vec::new();
        for pid in &ids {
            seqs.extend(store.bookings_of_payment(*pid).await.unwrap().iter().map(|b| b.feed_seq));
        }
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=8).collect::<Vec<_>>());
        // Another authority counts on its own.
        let mut tx = store.begin().await.unwrap();
        let loose = NewBooking { payment_id: None, authority_id: w.county, ..counter(w.county, 0, 100) };
        let b = tx.book_payment(&loose, None).await.unwrap();
        tx.commit().await.unwrap();
        assert!(b.booking_id.is_some() && b.payment.is_none());
        // A payment of another authority cannot be booked.
        let mut tx = store.begin().await.unwrap();
        assert!(tx.book_payment(&counter(w.county, ids[0], 100), None).await.is_err());
    })
    .await;
}

#[tokio::test]
async fn settings_connectors_and_kassenzeichen_numbers() {
    on_both(|store| async move {
        let w = world(&store).await;
        let mut tx = store.begin().await.unwrap();
        assert!(tx.save_payment_settings(w.town, "{}", Some(0)).await.unwrap());
        assert!(!tx.save_payment_settings(w.town, "{}", Some(0)).await.unwrap(), "exists already");
        assert!(!tx.save_payment_settings(w.town, r#"{"a":1}"#, Some(7)).await.unwrap(), "stale version");
        assert!(tx.save_payment_settings(w.town, r#"{"a":1}"#, Some(1)).await.unwrap());
        assert!(tx.save_payment_settings(w.town, r#"{"a":2}"#, None).await.unwrap());
        assert_eq!(tx.next_kassenzeichen_number(w.town, 2026).await.unwrap(), 1);
        assert_eq!(tx.next_kassenzeichen_number(w.town, 2026).await.unwrap(), 2);
        assert_eq!(tx.next_kassenzeichen_number(w.town, 2027).await.unwrap(), 1);
        assert_eq!(tx.next_kassenzeichen_number(w.county, 2026).await.unwrap(), 1);
        let for_form =
            tx.insert_payment_connector(w.town, Some(w.form), "xbezahldienste", "Nur Melde", "s").await.unwrap();
        let invoice = tx.insert_payment_connector(w.town, None, "rechnung", "Stadtkasse", "s").await.unwrap();
        tx.commit().await.unwrap();
        let row = store.payment_settings(w.town).await.unwrap().unwrap();
        assert_eq!((row.settings.as_str(), row.version), (r#"{"a":2}"#, 3));
        let pick = |form, kind: &'static str| {
            let store = store.clone();
            async move { store.payment_connector_for(w.town, form, kind).await.unwrap().map(|c| c.id) }
        };
        assert_eq!(pick(Some(w.form), "xbezahldienste").await, Some(for_form), "form-specific first");
        assert_eq!(pick(None, "xbezahldienste").await, Some(w.pay_connector));
        assert_eq!(pick(Some(w.form), "rechnung").await, Some(invoice));
        let mut tx = store.begin().await.unwrap();
        assert!(tx.set_payment_connector_active(w.town, for_form, false).await.unwrap());
        assert!(!tx.set_payment_connector_active(w.county, invoice, false).await.unwrap(), "another authority's");
        assert!(tx.update_payment_connector(w.town, invoice, None, "Stadtkasse neu", "s2").await.unwrap());
        tx.commit().await.unwrap();
        assert_eq!(pick(Some(w.form), "xbezahldienste").await, Some(w.pay_connector), "inactive left out");
        assert_eq!(store.payment_connectors_of(w.town).await.unwrap().len(), 3);
        assert!(store.payment_connectors_of(w.county).await.unwrap().is_empty());
        assert_eq!(store.payment_connector(invoice).await.unwrap().unwrap().name, "Stadtkasse neu");
        // Kassenzeichen are unique per authority (outside claims).
        let s = submit(&store, &w, "t-k", Some(payment(&w, "MO-2026-000099", "rechnung", 100))).await;
        assert_eq!(
            store.payment_by_kassenzeichen(w.town, "MO-2026-000099").await.unwrap().unwrap().submission_id,
            Some(s.id)
        );
        let dup =
            store.submit_all_with(&[(owned("t-k2", &w), Some(payment(&w, "MO-2026-000099", "rechnung", 100)))]).await;
        assert!(dup[0].is_err(), "the same Kassenzeichen twice");
    })
    .await;
}

/// A GiroCode image travels as a base64 attachment through the outbox; payloads
/// queued before binary attachments still read as text.
#[tokio::test]
async fn binary_attachments_survive_the_outbox() {
    use amtsweg_store::outbox::EmailAttachment;
    on_both(|store| async move {
        let png = [0x89u8, b'P', b'N', b'G', 0, 255, 10];
        let m = EmailMessage {
            attachments: vec![EmailAttachment::binary("girocode.png", "image/png", &png)],
            ..mail("erika@example.org")
        };
        let mut tx = store.begin().await.unwrap();
        tx.enqueue_email(&m).await.unwrap();
        tx.commit().await.unwrap();
        let back = store.outbox_entries(1).await.unwrap()[0].email().unwrap();
        assert_eq!(back, m);
        assert_eq!(back.attachments[0].encoding, "base64");
        assert_eq!(back.attachments[0].bytes().unwrap(), png);
    })
    .await;
    let old = r#"{"file_name":"t.ics","content_type":"text/calendar","content":"BEGIN"}"#;
    let a: EmailAttachment = serde_json::from_str(old).unwrap();
    assert_eq!((a.encoding.as_str(), a.bytes().unwrap()), ("", b"BEGIN".to_vec()));
    assert!(
        !serde_json::to_string(&EmailAttachment::text("t.ics", "text/calendar", "x")).unwrap().contains("encoding")
    );
    let broken = EmailAttachment { content: "%%".into(), ..EmailAttachment::binary("x", "image/png", b"") };
    assert!(broken.bytes().is_err());
}
