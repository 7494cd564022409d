//! Claims of the finance software and the finance feed: finance accounts and claims
//! stored idempotently by payload hash, notices attached once, activation codes used
//! once (unknown, used, expired, linked elsewhere), claims shown only through a
//! linked account, the feed in sequence order with paging, and the finance webhook's
//! progress and retries.

use super::{Store, on_both, seed};
use amtsweg_store::now_ms;
use amtsweg_store::payments::{ActivationUse, NewBooking, NewClaim, NewPayment, Upserted};

fn claim<'a>(authority_id: i64, account: i64, kz: &'a str, due: &'a str, hash: &'a str) -> NewClaim<'a> {
    NewClaim {
        authority_id,
        finance_account_id: account,
        kassenzeichen: kz,
        due_on: due,
        kind: "Grundsteuer",
        title: "sealed-title",
        rf_reference: "",
        source: "api",
        payload_hash: hash,
        amount_cents: 12_345,
        open_cents: 12_345,
        state: "open",
        dunning_level: 0,
    }
}

#[tokio::test]
async fn claims_are_stored_once_per_kassenzeichen_and_due_date() {
    on_both(|store: Store| async move {
        let s = seed(&store).await;
        let mut tx = store.begin().await.unwrap();
        let account = tx.upsert_finance_account(s.town, "MB-10042").await.unwrap();
        assert_eq!(tx.upsert_finance_account(s.town, "MB-10042").await.unwrap(), account, "the same account");
        let other = tx.upsert_finance_account(s.county, "MB-10042").await.unwrap();
        assert_ne!(other, account, "accounts belong to one authority");

        let created = tx.upsert_claim(&claim(s.town, account, "5.100.1", "2026-05-15", "h1")).await.unwrap();
        let Upserted::Created(id) = created else { panic!("{created:?}") };
        assert_eq!(
            tx.upsert_claim(&claim(s.town, account, "5.100.1", "2026-05-15", "h1")).await.unwrap(),
            Upserted::Unchanged(id)
        );
        let q2 = tx.upsert_claim(&claim(s.town, account, "5.100.1", "2026-08-15", "h1")).await.unwrap();
        assert!(matches!(q2, Upserted::Created(other) if other != id), "another due date is another claim");
        tx.commit().await.unwrap();
        let before = store.claim(s.town, id).await.unwrap().unwrap();

        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let mut tx = store.begin().await.unwrap();
        let changed =
            NewClaim { open_cents: 0, state: "settled", ..claim(s.town, account, "5.100.1", "2026-05-15", "h2") };
        assert_eq!(tx.upsert_claim(&changed).await.unwrap(), Upserted::Updated(id));
        // The same again changes nothing, not even the time of the last sync.
        assert_eq!(tx.upsert_claim(&changed).await.unwrap(), Upserted::Unchanged(id));
        tx.commit().await.unwrap();
        let after = store.claim(s.town, id).await.unwrap().unwrap();
        assert_eq!((after.open_cents, after.state.as_str(), after.payload_hash.as_str()), (0, "settled", "h2"));
        assert!(after.synced_at > before.synced_at);
        assert_eq!(store.claim_by_key(s.town, "5.100.1", "2026-05-15").await.unwrap().unwrap().id, id);
        assert!(store.claim(s.county, id).await.unwrap().is_none(), "not through another authority");
        assert_eq!(store.claims_of(s.town, 10).await.unwrap().len(), 2);
        assert!(store.claims_of(s.county, 10).await.unwrap().is_empty());

        // Notices: attached once per content.
        let mut tx = store.begin().await.unwrap();
        assert!(
            tx.add_claim_document(id, s.town, "Bescheid", "n", "authorities/1/bescheide/ab", 10, "ab").await.unwrap()
        );
        assert!(
            !tx.add_claim_document(id, s.town, "Bescheid", "n", "authorities/1/bescheide/ab", 10, "ab").await.unwrap()
        );
        assert!(
            tx.add_claim_document(id, s.town, "Mahnung", "m", "authorities/1/bescheide/cd", 12, "cd").await.unwrap()
        );
        tx.commit().await.unwrap();
        let docs = store.claim_documents(id).await.unwrap();
        assert_eq!(docs.iter().map(|d| d.title.as_str()).collect::<Vec<_>>(), ["Bescheid", "Mahnung"]);
        assert_eq!(store.finance_account(s.town, "MB-10042").await.unwrap().unwrap().id, account);
        assert!(store.finance_account(s.town, "MB-99").await.unwrap().is_none());
    })
    .await;
}

#[tokio::test]
async fn an_activation_code_links_one_account_to_one_citizen_once() {
    on_both(|store: Store| async move {
        let s = seed(&store).await;
        let now = now_ms();
        let mut tx = store.begin().await.unwrap();
        let erika = tx.insert_citizen("erika@example.org", "hash").await.unwrap().unwrap();
        let max = tx.insert_citizen("max@example.org", "hash").await.unwrap().unwrap();
        let account = tx.upsert_finance_account(s.town, "MB-10042").await.unwrap();
        let county_account = tx.upsert_finance_account(s.county, "K-1").await.unwrap();
        let id = tx.upsert_claim(&claim(s.town, account, "5.100.1", "2026-05-15", "h")).await.unwrap().id();
        tx.upsert_claim(&claim(s.county, county_account, "K.1", "2026-05-15", "h")).await.unwrap();
        tx.insert_activation_code(s.town, account, "code-a", now + 60_000, "staff:1").await.unwrap();
        tx.insert_activation_code(s.town, account, "code-b", now + 60_000, "staff:1").await.unwrap();
        tx.insert_activation_code(s.town, account, "code-old", now - 1, "staff:1").await.unwrap();
        assert!(
            tx.insert_activation_code(s.county, account, "code-x", now + 60_000, "staff:1").await.is_err(),
            "a code only for an account of the same authority"
        );
        tx.commit().await.unwrap();
        assert!(store.claims_of_citizen(erika).await.unwrap().is_empty(), "nothing before linking");

        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.use_activation_code("unknown", erika, now).await.unwrap(), ActivationUse::Unknown);
        assert_eq!(tx.use_activation_code("code-old", erika, now).await.unwrap(), ActivationUse::Expired);
        assert_eq!(
            tx.use_activation_code("code-a", erika, now).await.unwrap(),
            ActivationUse::Linked { authority_id: s.town, finance_account_id: account }
        );
        assert_eq!(tx.use_activation_code("code-a", erika, now).await.unwrap(), ActivationUse::Used);
        assert_eq!(tx.use_activation_code("code-a", max, now).await.unwrap(), ActivationUse::Used);
        // Another letter for the same account does not move it to someone else.
        assert_eq!(tx.use_activation_code("code-b", max, now).await.unwrap(), ActivationUse::LinkedElsewhere);
        tx.commit().await.unwrap();

        let mine = store.claims_of_citizen(erika).await.unwrap();
        assert_eq!(mine.iter().map(|c| c.id).collect::<Vec<_>>(), [id], "only the linked authority's claims");
        assert!(store.claim_of_citizen(erika, id).await.unwrap().is_some());
        assert!(store.claim_of_citizen(max, id).await.unwrap().is_none());
        assert!(store.claims_of_citizen(max).await.unwrap().is_empty());
        let linked = store.finance_accounts_of_citizen(erika).await.unwrap();
        assert_eq!((linked.len(), linked[0].citizen_id), (1, Some(erika)));
        let codes = store.activation_codes_of(s.town, account).await.unwrap();
        assert_eq!(codes.iter().filter(|c| c.used_at.is_some()).count(), 1, "code-b stays unused");

        // Unlinked by the authority, the account takes the next code's citizen.
        let mut tx = store.begin().await.unwrap();
        assert!(!tx.unlink_finance_account(s.county, account).await.unwrap(), "not by another authority");
        assert!(tx.unlink_finance_account(s.town, account).await.unwrap());
        assert_eq!(
            tx.use_activation_code("code-b", max, now).await.unwrap(),
            ActivationUse::Linked { authority_id: s.town, finance_account_id: account }
        );
        tx.commit().await.unwrap();
        assert!(store.claims_of_citizen(erika).await.unwrap().is_empty());
        assert_eq!(store.claims_of_citizen(max).await.unwrap().len(), 1);
    })
    .await;
}

fn booking(authority_id: i64, payment_id: Option<i64>, claim_id: Option<i64>, cents: i64) -> NewBooking<'static> {
    NewBooking {
        authority_id,
        payment_id,
        claim_id,
        source: "bank",
        amount_cents: cents,
        method: "transfer",
        reference: "RF18",
        bank_entry_id: None,
        attempt_id: None,
        actor: "test",
        booked_on: "2026-05-16",
    }
}

#[tokio::test]
async fn the_feed_lists_bookings_in_sequence_and_pages() {
    on_both(|store: Store| async move {
        let s = seed(&store).await;
        assert_eq!(store.last_feed_seq(s.town).await.unwrap(), 0);
        assert!(store.finance_feed(s.town, 0, 10).await.unwrap().is_empty());
        let mut tx = store.begin().await.unwrap();
        let account = tx.upsert_finance_account(s.town, "MB-10042").await.unwrap();
        let claim_id = tx.upsert_claim(&claim(s.town, account, "5.100.1", "2026-05-15", "h")).await.unwrap().id();
        let payment = NewPayment {
            authority_id: s.town,
            mode: "forderung".into(),
            connector_id: None,
            kassenzeichen: "5.100.1".into(),
            rf_reference: String::new(),
            purpose: "Grundsteuer".into(),
            amount_cents: 12_345,
            booking: "[]".into(),
            due_on: "2026-05-15".into(),
            expires_at: None,
            citizen_id: None,
            hold: false,
        };
        let payment_id = tx.insert_claim_payment(&payment, claim_id).await.unwrap();
        tx.book_payment(&booking(s.town, Some(payment_id), None, 5_000), None).await.unwrap();
        tx.book_payment(&booking(s.town, None, Some(claim_id), 7_345), None).await.unwrap();
        tx.book_payment(&booking(s.county, None, None, 100), None).await.unwrap();
        tx.book_payment(&booking(s.town, None, None, 1), None).await.unwrap();
        tx.commit().await.unwrap();

        assert_eq!(store.last_feed_seq(s.town).await.unwrap(), 3);
        assert_eq!(store.last_feed_seq(s.county).await.unwrap(), 1);
        let all = store.finance_feed(s.town, 0, 10).await.unwrap();
        assert_eq!(all.iter().map(|r| r.feed_seq).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(all[0].kassenzeichen, "5.100.1", "through the claim's payment");
        assert_eq!(all[0].claim_id, Some(claim_id));
        assert_eq!(all[1].kassenzeichen, "5.100.1", "booked on the claim directly");
        assert_eq!(all[1].due_on.as_deref(), Some("2026-05-15"));
        assert_eq!((all[2].kassenzeichen.as_str(), all[2].due_on.as_deref()), ("", None));
        assert_eq!(
            (all[0].amount_cents, all[0].source.as_str(), all[0].booked_on.as_str()),
            (5_000, "bank", "2026-05-16")
        );
        let page = store.finance_feed(s.town, 1, 1).await.unwrap();
        assert_eq!(page.iter().map(|r| r.feed_seq).collect::<Vec<_>>(), [2]);
        assert!(store.finance_feed(s.town, 3, 10).await.unwrap().is_empty());
        let county = store.finance_feed(s.county, 0, 10).await.unwrap();
        assert_eq!((county.len(), county[0].amount_cents), (1, 100), "each authority its own feed");
        let on_claim = store.bookings_of_claims(&[claim_id]).await.unwrap();
        assert_eq!(on_claim.iter().map(|b| b.amount_cents).sum::<i64>(), 12_345);
    })
    .await;
}

#[tokio::test]
async fn the_finance_webhook_is_due_while_it_has_news_and_its_retry_time_came() {
    on_both(|store: Store| async move {
        let s = seed(&store).await;
        let mut tx = store.begin().await.unwrap();
        let hook =
            tx.insert_payment_connector(s.town, None, "finanzen_webhook", "Finanzsoftware", "sealed").await.unwrap();
        let off = tx.insert_payment_connector(s.town, None, "finanzen_webhook", "Alt", "sealed").await.unwrap();
        tx.set_payment_connector_active(s.town, off, false).await.unwrap();
        tx.insert_payment_connector(s.town, None, "rechnung", "Konto", "sealed").await.unwrap();
        tx.commit().await.unwrap();
        let now = now_ms();
        assert!(store.finance_webhooks_due(now).await.unwrap().is_empty(), "no news yet");

        let mut tx = store.begin().await.unwrap();
        tx.book_payment(&booking(s.town, None, None, 100), None).await.unwrap();
        tx.book_payment(&booking(s.town, None, None, 200), None).await.unwrap();
        tx.book_payment(&booking(s.county, None, None, 300), None).await.unwrap();
        tx.commit().await.unwrap();
        let due = store.finance_webhooks_due(now).await.unwrap();
        assert_eq!(due.len(), 1, "active webhooks of authorities with news only");
        assert_eq!((due[0].0.id, due[0].1, due[0].2), (hook, 0, 2));

        let mut tx = store.begin().await.unwrap();
        tx.finance_webhook_failed(hook, "Zeitüberschreitung", now + 60_000).await.unwrap();
        tx.finance_webhook_failed(hook, "Zeitüberschreitung", now + 120_000).await.unwrap();
        tx.commit().await.unwrap();
        assert!(store.finance_webhooks_due(now).await.unwrap().is_empty(), "waits for its retry");
        let st = store.finance_webhook_state(hook).await.unwrap();
        assert_eq!((st.attempts, st.next_attempt_at, st.delivered_seq), (2, now + 120_000, 0));
        assert_eq!(store.finance_webhooks_due(now + 120_000).await.unwrap().len(), 1);

        let mut tx = store.begin().await.unwrap();
        tx.finance_webhook_done(hook, 2).await.unwrap();
        tx.finance_webhook_done(hook, 1).await.unwrap();
        tx.commit().await.unwrap();
        let st = store.finance_webhook_state(hook).await.unwrap();
        assert_eq!((st.delivered_seq, st.attempts, st.last_error.as_str()), (2, 0, ""), "never goes back");
        assert!(store.finance_webhooks_due(now + 120_000).await.unwrap().is_empty());

        let mut tx = store.begin().await.unwrap();
        tx.book_payment(&booking(s.town, None, None, 400), None).await.unwrap();
        tx.commit().await.unwrap();
        let due = store.finance_webhooks_due(now).await.unwrap();
        assert_eq!((due.len(), due[0].1, due[0].2), (1, 2, 3));
        assert_eq!(store.finance_webhook_state(off).await.unwrap().delivered_seq, 0);
    })
    .await;
}

#[tokio::test]
async fn a_sync_holds_the_bookings_made_before_it_and_none_after() {
    on_both(|store: Store| async move {
        let s = seed(&store).await;
        // Everything in one transaction, so sync and bookings share milliseconds:
        // only the order may decide what the synced amount holds.
        let mut tx = store.begin().await.unwrap();
        let account = tx.upsert_finance_account(s.town, "MB-10042").await.unwrap();
        let id = tx.upsert_claim(&claim(s.town, account, "5.100.1", "2026-05-15", "h1")).await.unwrap().id();
        tx.book_payment(&booking(s.town, None, Some(id), 2_345), None).await.unwrap();
        tx.commit().await.unwrap();
        let c = store.claim(s.town, id).await.unwrap().unwrap();
        let bookings = store.bookings_of_claims(&[id]).await.unwrap();
        assert_eq!(c.open_after(&bookings), 10_000, "booked after the sync: subtracted");

        // The finance software learns of the payment and sends the claim again.
        let mut tx = store.begin().await.unwrap();
        let resent = NewClaim { open_cents: 10_000, ..claim(s.town, account, "5.100.1", "2026-05-15", "h2") };
        tx.upsert_claim(&resent).await.unwrap();
        tx.book_payment(&booking(s.town, None, Some(id), 1_000), None).await.unwrap();
        tx.commit().await.unwrap();
        let c = store.claim(s.town, id).await.unwrap().unwrap();
        let bookings = store.bookings_of_claims(&[id]).await.unwrap();
        assert_eq!(c.booked_since_sync(&bookings), 1_000, "only the booking after the new sync");
        assert_eq!(c.open_after(&bookings), 9_000, "not subtracted twice");
        let candidates = store.match_candidates(s.town).await.unwrap();
        let open: Vec<i64> = candidates.iter().filter(|m| m.claim_id == Some(id)).map(|m| m.open.0).collect();
        assert_eq!(open, [9_000], "the bank matcher sees the same open amount");
    })
    .await;
}

#[tokio::test]
async fn a_resend_computed_before_a_payment_was_read_keeps_that_payment_subtracted() {
    on_both(|store: Store| async move {
        let s = seed(&store).await;
        let mut tx = store.begin().await.unwrap();
        let account = tx.upsert_finance_account(s.town, "MB-10042").await.unwrap();
        let id = tx.upsert_claim(&claim(s.town, account, "5.100.1", "2026-05-15", "h1")).await.unwrap().id();
        // Another booking of the authority first, so feed position and booking differ.
        tx.book_payment(&booking(s.town, None, None, 100), None).await.unwrap();
        tx.commit().await.unwrap();
        let read = store.last_feed_seq(s.town).await.unwrap();
        // The citizen pays everything; the finance software has read the feed only
        // up to `read` when its dunning run sends the claim again, still all open.
        let mut tx = store.begin().await.unwrap();
        tx.book_payment(&booking(s.town, None, Some(id), 12_345), None).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let dunning =
            NewClaim { state: "dunning", dunning_level: 1, ..claim(s.town, account, "5.100.1", "2026-05-15", "h2") };
        assert_eq!(tx.upsert_claim_as_of(&dunning, Some(read)).await.unwrap(), Upserted::Updated(id));
        tx.commit().await.unwrap();
        let c = store.claim(s.town, id).await.unwrap().unwrap();
        let bookings = store.bookings_of_claims(&[id]).await.unwrap();
        assert_eq!(c.open_after(&bookings), 0, "the payment it had not read stays subtracted");

        // Once it has read the payment, its figures hold it.
        let mut tx = store.begin().await.unwrap();
        let all = store.last_feed_seq(s.town).await.unwrap();
        let settled =
            NewClaim { open_cents: 0, state: "settled", ..claim(s.town, account, "5.100.1", "2026-05-15", "h3") };
        tx.upsert_claim_as_of(&settled, Some(all)).await.unwrap();
        tx.commit().await.unwrap();
        let c = store.claim(s.town, id).await.unwrap().unwrap();
        assert_eq!(c.booked_since_sync(&bookings), 0, "not subtracted twice");

        // Without a position (as before): every booking so far counts as held.
        let mut tx = store.begin().await.unwrap();
        tx.upsert_claim(&dunning).await.unwrap();
        tx.commit().await.unwrap();
        let c = store.claim(s.town, id).await.unwrap().unwrap();
        assert_eq!(c.open_after(&bookings), 12_345);
    })
    .await;
}

#[tokio::test]
async fn revoked_codes_answer_like_unknown_ones_and_an_unlinked_account_shows_nothing() {
    on_both(|store: Store| async move {
        let s = seed(&store).await;
        let now = now_ms();
        let mut tx = store.begin().await.unwrap();
        let erika = tx.insert_citizen("erika@example.org", "hash").await.unwrap().unwrap();
        let account = tx.upsert_finance_account(s.town, "MB-10042").await.unwrap();
        tx.upsert_claim(&claim(s.town, account, "5.100.1", "2026-05-15", "h1")).await.unwrap();
        tx.insert_activation_code(s.town, account, "used", now + 60_000, "staff:1").await.unwrap();
        tx.insert_activation_code(s.town, account, "lost", now + 60_000, "staff:1").await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        assert!(matches!(tx.use_activation_code("used", erika, now).await.unwrap(), ActivationUse::Linked { .. }));
        tx.commit().await.unwrap();
        assert_eq!(store.open_activation_codes(s.town, now).await.unwrap(), [(account, 1)]);
        assert_eq!(store.claims_of_citizen(erika).await.unwrap().len(), 1);

        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.revoke_activation_codes(s.county, account).await.unwrap(), 0, "not another authority's");
        assert_eq!(tx.revoke_activation_codes(s.town, account).await.unwrap(), 1, "only the unused one");
        assert!(tx.unlink_finance_account(s.town, account).await.unwrap());
        assert_eq!(tx.use_activation_code("lost", erika, now).await.unwrap(), ActivationUse::Unknown);
        assert_eq!(tx.use_activation_code("used", erika, now).await.unwrap(), ActivationUse::Used);
        tx.commit().await.unwrap();
        assert!(store.claims_of_citizen(erika).await.unwrap().is_empty(), "unlinked: nothing shown");
        assert!(store.open_activation_codes(s.town, now).await.unwrap().is_empty());
    })
    .await;
}
