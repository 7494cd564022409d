//! Bank statements and their entries (known once, resolved once), what a credit may
//! pay, refunds that never exceed what was paid, and the rows of the period report.

use super::{Store, on_both, seed};
use amtsweg_domain::Slug;
use amtsweg_domain::payment::Cents;
use amtsweg_store::payments::bank::{
    MATCH_ASSIGNED, MATCH_DEBIT, MATCH_DISMISSED, MATCH_EXACT, MATCH_PARTIAL, MATCH_UNMATCHED, Period,
};
use amtsweg_store::payments::refunds::{REFUND_DONE, REFUND_INSTRUCTED, REFUND_PAYOUT};
use amtsweg_store::payments::{NewBankEntry, NewBooking, NewClaim, NewPayment, NewRefund, NewStatement};
use amtsweg_store::submissions::OwnedSubmission;

struct World {
    town: i64,
    county: i64,
    form: i64,
}

async fn world(store: &Store) -> World {
    let s = seed(store).await;
    let form: amtsweg_forms::Form = serde_json::from_value(serde_json::json!({
        "id": "hund", "title": "Hundesteuer", "steps": [{"id": "a", "title": "A", "items": []}]
    }))
    .unwrap();
    let mut tx = store.begin().await.unwrap();
    let f = tx.create_form(s.town, &Slug::parse("hund").unwrap(), None, &form, None).await.unwrap();
    tx.commit().await.unwrap();
    World { town: s.town, county: s.county, form: f }
}

/// A submission with an invoice (`rechnung`) of `amount` cents; returns the payment id.
async fn invoice(store: &Store, w: &World, token: &str, kz: &str, amount: i64) -> i64 {
    let s = OwnedSubmission {
        form_token: token.into(),
        authority_id: w.town,
        form_id: w.form,
        form_version: 1,
        title: "Hundesteuer".into(),
        org_unit_id: None,
        citizen_id: None,
        browser_hash: "b".into(),
        data: "sealed".into(),
        data_hash: "h".into(),
        receipt_prefix: "MO".into(),
        year: 2026,
        confirmation: None,
    };
    let p = NewPayment {
        authority_id: w.town,
        mode: "rechnung".into(),
        connector_id: None,
        kassenzeichen: kz.into(),
        rf_reference: amtsweg_domain::payment::rf_from(kz).unwrap(),
        purpose: "Hundesteuer".into(),
        amount_cents: amount,
        booking: "[]".into(),
        due_on: "2026-06-01".into(),
        expires_at: None,
        citizen_id: None,
        hold: false,
    };
    let sub = store.submit_all_with(&[(s, Some(p))]).await.pop().unwrap().unwrap();
    store.payment_of_submission(w.town, sub.id).await.unwrap().unwrap().id
}

fn statement<'a>(authority_id: i64, id: &'a str, sha: &'a str) -> NewStatement<'a> {
    NewStatement {
        authority_id,
        account_iban: "DE02120300000000202051",
        statement_id: id,
        message_id: "MSG-1",
        electronic_seq: "1",
        version: "001.02",
        sha256: sha,
        from_date: "2026-05-03",
        to_date: "2026-05-03",
        entries: 2,
        imported_by: "staff:1",
    }
}

fn entry<'a>(statement_ref: i64, authority_id: i64, key: &'a str, m: &'a str, cents: i64) -> NewBankEntry<'a> {
    NewBankEntry {
        statement_ref,
        authority_id,
        entry_key: key,
        amount_cents: cents,
        credit: m != MATCH_DEBIT,
        currency: "EUR",
        booking_date: "2026-05-03",
        value_date: "2026-05-03",
        reference: "",
        details: "sealed",
        r#match: m,
        payment_id: None,
        claim_id: None,
    }
}

fn booking(authority_id: i64, payment_id: Option<i64>, claim_id: Option<i64>, cents: i64, day: &str) -> NewBooking<'_> {
    NewBooking {
        authority_id,
        payment_id,
        claim_id,
        source: "bank",
        amount_cents: cents,
        method: "ueberweisung",
        reference: "",
        bank_entry_id: None,
        attempt_id: None,
        actor: "staff:1",
        booked_on: day,
    }
}

#[tokio::test]
async fn a_statement_and_its_entries_are_stored_once() {
    on_both(|store| async move {
        let w = world(&store).await;
        let mut tx = store.begin().await.unwrap();
        let st = tx.insert_statement(&statement(w.town, "S-1", "sha-1")).await.unwrap().unwrap();
        assert!(tx.insert_statement(&statement(w.town, "S-1", "sha-other")).await.unwrap().is_none(), "same id");
        assert!(tx.insert_statement(&statement(w.town, "S-2", "sha-1")).await.unwrap().is_none(), "same file");
        let other = tx.insert_statement(&statement(w.county, "S-1", "sha-1")).await.unwrap();
        assert!(other.is_some(), "another authority keeps its own statements");
        let e1 = tx.insert_bank_entry(&entry(st, w.town, "k/S-1/0", MATCH_UNMATCHED, 500)).await.unwrap().unwrap();
        assert!(tx.insert_bank_entry(&entry(st, w.town, "k/S-1/0", MATCH_UNMATCHED, 500)).await.unwrap().is_none());
        let e2 = tx.insert_bank_entry(&entry(st, w.town, "k/S-1/1", MATCH_DEBIT, 320)).await.unwrap().unwrap();
        let e3 = tx.insert_bank_entry(&entry(st, w.town, "k/S-1/2", MATCH_EXACT, 900)).await.unwrap().unwrap();
        let e4 = tx.insert_bank_entry(&entry(st, w.town, "k/S-1/3", MATCH_PARTIAL, 100)).await.unwrap().unwrap();
        tx.commit().await.unwrap();

        let statements = store.statements_of(w.town, 10).await.unwrap();
        assert_eq!(statements.iter().map(|s| s.id).collect::<Vec<_>>(), [st]);
        assert_eq!(store.bank_entries_of_statement(w.town, st).await.unwrap().len(), 4);
        assert!(store.bank_entries_of_statement(w.county, st).await.unwrap().is_empty());
        let open: Vec<i64> = store.bank_entries_to_resolve(w.town).await.unwrap().iter().map(|e| e.id).collect();
        assert_eq!(open, [e1, e4], "exact credits and debits are nothing to resolve");
        assert!(store.bank_entry(w.county, e1).await.unwrap().is_none(), "another authority's");
        assert_eq!(store.bank_entry(w.town, e2).await.unwrap().unwrap().credit, 0);

        let mut tx = store.begin().await.unwrap();
        assert!(tx.resolve_entry(w.town, e1, MATCH_DISMISSED, None, None, "note", "staff:1").await.unwrap());
        assert!(!tx.resolve_entry(w.town, e1, MATCH_ASSIGNED, None, None, "", "staff:2").await.unwrap(), "once");
        assert!(!tx.resolve_entry(w.town, e2, MATCH_DISMISSED, None, None, "", "staff:1").await.unwrap(), "debit");
        assert!(!tx.resolve_entry(w.town, e3, MATCH_DISMISSED, None, None, "", "staff:1").await.unwrap(), "booked");
        assert!(!tx.resolve_entry(w.county, e4, MATCH_DISMISSED, None, None, "", "staff:1").await.unwrap());
        assert!(tx.resolve_entry(w.town, e4, "exact", None, None, "", "staff:1").await.is_err());
        tx.commit().await.unwrap();
        let e = store.bank_entry(w.town, e1).await.unwrap().unwrap();
        assert_eq!((e.r#match.as_str(), e.note.as_str(), e.resolved_by.as_str()), ("dismissed", "note", "staff:1"));
        assert!(e.resolved_at.is_some());
        let open: Vec<i64> = store.bank_entries_to_resolve(w.town).await.unwrap().iter().map(|e| e.id).collect();
        assert_eq!(open, [e4]);
    })
    .await;
}

#[tokio::test]
async fn candidates_are_open_payments_and_claims_once_per_kassenzeichen() {
    on_both(|store| async move {
        let w = world(&store).await;
        let a = invoice(&store, &w, "t-a", "MO-2026-000001", 5000).await;
        let b = invoice(&store, &w, "t-b", "MO-2026-000002", 3000).await;
        let mut tx = store.begin().await.unwrap();
        tx.book_payment(&booking(w.town, Some(b), None, 3000, "2026-05-03"), None).await.unwrap();
        let account = tx.upsert_finance_account(w.town, "MB-10042").await.unwrap();
        let rf = amtsweg_domain::payment::rf_from("GRST-0815").unwrap();
        let mut ids = Vec::new();
        for (due, open, state) in
            [("2026-02-15", 0, "settled"), ("2026-05-15", 12000, "open"), ("2026-08-15", 12000, "open")]
        {
            let c = NewClaim {
                authority_id: w.town,
                finance_account_id: account,
                kassenzeichen: "GRST-0815",
                due_on: due,
                kind: "Grundsteuer",
                title: "sealed",
                rf_reference: &rf,
                source: "api",
                payload_hash: due,
                amount_cents: 12000,
                open_cents: open,
                state,
                dunning_level: 0,
            };
            ids.push(tx.upsert_claim(&c).await.unwrap().id());
        }
        let cancelled = NewClaim {
            authority_id: w.town,
            finance_account_id: account,
            kassenzeichen: "HUND-1",
            due_on: "2026-03-01",
            kind: "Hundesteuer",
            title: "sealed",
            rf_reference: "",
            source: "api",
            payload_hash: "x",
            amount_cents: 9000,
            open_cents: 9000,
            state: "cancelled",
            dunning_level: 0,
        };
        tx.upsert_claim(&cancelled).await.unwrap();
        tx.commit().await.unwrap();

        let c = store.match_candidates(w.town).await.unwrap();
        assert_eq!(c.len(), 3, "{c:?}");
        assert_eq!((c[0].payment_id, c[0].open), (Some(a), Cents(5000)));
        assert_eq!((c[1].payment_id, c[1].open), (Some(b), Cents(0)), "paid: an over-payment if paid again");
        assert_eq!((c[2].claim_id, c[2].open, c[2].rf.as_str()), (Some(ids[1]), Cents(12000), rf.as_str()));
        assert!(store.match_candidates(w.county).await.unwrap().is_empty());

        // The portal booked the second quarter: the third is what is open now.
        let mut tx = store.begin().await.unwrap();
        tx.book_payment(&booking(w.town, None, Some(ids[1]), 12000, "2026-05-10"), None).await.unwrap();
        tx.commit().await.unwrap();
        let c = store.match_candidates(w.town).await.unwrap();
        assert_eq!((c[2].claim_id, c[2].open), (Some(ids[2]), Cents(12000)));
    })
    .await;
}

#[tokio::test]
async fn refunds_never_exceed_what_was_paid() {
    on_both(|store| async move {
        let w = world(&store).await;
        let p = invoice(&store, &w, "t-r", "MO-2026-000010", 3000).await;
        let refund = |amount: i64, authority_id: i64| NewRefund {
            authority_id,
            payment_id: p,
            amount_cents: amount,
            reason: "sealed-reason",
            method: REFUND_PAYOUT,
            payout_iban: "sealed-iban",
            actor: "staff:1",
            booked_on: "2026-05-05",
        };
        let mut tx = store.begin().await.unwrap();
        assert!(tx.insert_refund(&refund(100, w.town)).await.unwrap().is_none(), "nothing paid yet");
        tx.book_payment(&booking(w.town, Some(p), None, 3000, "2026-05-04"), None).await.unwrap();
        let r1 = tx.insert_refund(&refund(1000, w.town)).await.unwrap().unwrap();
        assert!(tx.insert_refund(&refund(2001, w.town)).await.unwrap().is_none(), "only 20,00 € left");
        assert!(tx.insert_refund(&refund(1000, w.county)).await.is_err(), "another authority's payment");
        assert!(tx.insert_refund(&refund(0, w.town)).await.is_err());
        assert!(tx.insert_refund(&NewRefund { method: "bar", ..refund(5, w.town) }).await.is_err());
        let r2 = tx.insert_refund(&refund(2000, w.town)).await.unwrap().unwrap();
        tx.commit().await.unwrap();

        let pay = store.payment(w.town, p).await.unwrap().unwrap();
        assert_eq!((pay.paid_cents, pay.refunded_cents, pay.status.as_str()), (3000, 3000, "paid"));
        let bookings = store.bookings_of_payment(p).await.unwrap();
        assert_eq!(bookings.iter().map(|b| b.amount_cents).collect::<Vec<_>>(), [3000, -1000, -2000]);
        assert_eq!(bookings.iter().map(|b| b.feed_seq).collect::<Vec<_>>(), [1, 2, 3], "in the finance feed");
        let refunds = store.refunds_of(p).await.unwrap();
        assert_eq!(refunds.iter().map(|r| r.id).collect::<Vec<_>>(), [r1, r2]);
        assert_eq!(refunds[0].booking_id, Some(bookings[1].id));
        assert_eq!((refunds[0].status.as_str(), refunds[0].reason.as_str()), (REFUND_INSTRUCTED, "sealed-reason"));
        assert_eq!(store.refunds_open(w.town).await.unwrap().len(), 2);
        assert!(store.refunds_open(w.county).await.unwrap().is_empty());
        assert!(store.refund(w.county, r1).await.unwrap().is_none());

        let mut tx = store.begin().await.unwrap();
        assert!(!tx.mark_refund_done(w.county, r1).await.unwrap(), "another authority's");
        assert!(tx.mark_refund_done(w.town, r1).await.unwrap());
        assert!(!tx.mark_refund_done(w.town, r1).await.unwrap(), "once");
        tx.commit().await.unwrap();
        let r = store.refund(w.town, r1).await.unwrap().unwrap();
        assert_eq!(r.status, REFUND_DONE);
        assert!(r.done_at.is_some());
        assert_eq!(store.refunds_open(w.town).await.unwrap().iter().map(|r| r.id).collect::<Vec<_>>(), [r2]);
    })
    .await;
}

#[tokio::test]
async fn the_period_report_has_what_was_asked_paid_and_is_open() {
    on_both(|store| async move {
        let w = world(&store).await;
        let paid = invoice(&store, &w, "t-1", "MO-2026-000021", 5000).await;
        let open = invoice(&store, &w, "t-2", "MO-2026-000022", 2500).await;
        let mut tx = store.begin().await.unwrap();
        // Paid in two parts: one before the period, one in it; then partly refunded.
        tx.book_payment(&booking(w.town, Some(paid), None, 2000, "2026-04-30"), None).await.unwrap();
        let mut counter = booking(w.town, Some(paid), None, 3000, "2026-05-02");
        counter.source = "counter";
        counter.method = "bar";
        tx.book_payment(&counter, None).await.unwrap();
        let r = NewRefund {
            authority_id: w.town,
            payment_id: paid,
            amount_cents: 500,
            reason: "r",
            method: REFUND_PAYOUT,
            payout_iban: "",
            actor: "staff:1",
            booked_on: "2026-05-03",
        };
        tx.insert_refund(&r).await.unwrap().unwrap();
        let account = tx.upsert_finance_account(w.town, "MB-1").await.unwrap();
        let claim = NewClaim {
            authority_id: w.town,
            finance_account_id: account,
            kassenzeichen: "HUND-2026-7",
            due_on: "2026-05-15",
            kind: "Hundesteuer",
            title: "sealed",
            rf_reference: "",
            source: "api",
            payload_hash: "h",
            amount_cents: 9000,
            open_cents: 9000,
            state: "open",
            dunning_level: 0,
        };
        let claim = tx.upsert_claim(&claim).await.unwrap().id();
        tx.book_payment(&booking(w.town, None, Some(claim), 4000, "2026-05-20"), None).await.unwrap();
        tx.commit().await.unwrap();

        let now = amtsweg_store::now_ms();
        let may = Period {
            from_ms: now - 3_600_000,
            to_ms: now + 3_600_000,
            first_day: "2026-05-01",
            last_day: "2026-05-31",
        };
        let rows = store.period_rows(w.town, may).await.unwrap();
        assert_eq!(rows.len(), 3, "{rows:?}");
        let p = &rows[0];
        assert_eq!(p.payment_id, Some(paid));
        assert!(p.receipt_number.starts_with("MO-"), "{}", p.receipt_number);
        assert_eq!(
            (p.mode.as_str(), p.kassenzeichen.as_str(), p.purpose.as_str()),
            ("rechnung", "MO-2026-000021", "Hundesteuer")
        );
        assert_eq!(
            (p.amount_cents, p.paid_cents, p.paid_in_period, p.refunded_cents, p.open_cents),
            (5000, 5000, 3000, 500, 0)
        );
        assert_eq!(p.methods, [("bank".to_owned(), "ueberweisung".to_owned()), ("counter".into(), "bar".into())]);
        assert_eq!((p.status.as_str(), p.last_booked_on.as_str()), ("paid", "2026-05-02"));
        assert!(p.paid_at.is_some());
        let o = &rows[1];
        assert_eq!((o.payment_id, o.paid_in_period, o.open_cents, o.status.as_str()), (Some(open), 0, 2500, "open"));
        let c = &rows[2];
        assert_eq!(
            (c.claim_id, c.mode.as_str(), c.purpose.as_str(), c.due_on.as_str()),
            (Some(claim), "forderung", "Hundesteuer", "2026-05-15")
        );
        assert_eq!((c.amount_cents, c.paid_cents, c.paid_in_period, c.open_cents), (9000, 4000, 4000, 5000));

        // A later period: only what is still open and what was booked in it.
        let later = Period {
            from_ms: now + 3_600_000,
            to_ms: now + 7_200_000,
            first_day: "2026-06-01",
            last_day: "2026-06-30",
        };
        let rows = store.period_rows(w.town, later).await.unwrap();
        assert_eq!(rows.iter().map(|r| r.payment_id).collect::<Vec<_>>(), [Some(open)]);
        assert!(store.period_rows(w.county, may).await.unwrap().is_empty());
    })
    .await;
}
