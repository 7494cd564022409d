//! The e-mail outbox is claimed with a lease like the deliveries: two workers never
//! get one e-mail, a lease that ran out lets another worker take the e-mail, and a
//! sent e-mail is never taken again — on SQLite and PostgreSQL.

use super::{Store, on_both};
use amtsweg_store::outbox::EmailMessage;
use std::collections::BTreeSet;
use std::time::Duration;

fn mail(i: usize) -> EmailMessage {
    EmailMessage {
        to: format!("person{i}@example.org"),
        subject: format!("Nachricht {i}"),
        body: "Hallo".into(),
        attachments: Vec::new(),
    }
}

async fn enqueue(store: &Store, n: usize) -> Vec<i64> {
    let mut tx = store.begin().await.unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(tx.enqueue_email(&mail(i)).await.unwrap());
    }
    tx.commit().await.unwrap();
    ids
}

async fn entry(store: &Store, id: i64) -> amtsweg_store::outbox::OutboxRow {
    store.outbox_entries(1_000).await.unwrap().into_iter().find(|r| r.id == id).unwrap()
}

/// Four claimers take small batches at the same time until nothing is left; every
/// e-mail is taken exactly once. On PostgreSQL they run on separate connections, so
/// this exercises `FOR UPDATE SKIP LOCKED`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_claimers_never_get_the_same_email() {
    on_both(|store| async move {
        let ids = enqueue(&store, 60).await;
        let claimers: Vec<_> = (0..4)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    loop {
                        let rows = store.claim_outbox(3, 60_000).await.unwrap();
                        if rows.is_empty() {
                            return mine;
                        }
                        mine.extend(rows.iter().map(|r| r.id));
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        let mut all = Vec::new();
        for c in claimers {
            all.extend(c.await.unwrap());
        }
        let unique: BTreeSet<i64> = all.iter().copied().collect();
        assert_eq!(all.len(), unique.len(), "an e-mail was claimed twice: {all:?}");
        assert_eq!(unique, ids.iter().copied().collect::<BTreeSet<_>>(), "every e-mail claimed once");
        assert!(store.claim_outbox(100, 60_000).await.unwrap().is_empty(), "leased e-mails are not taken again");
        let now = amtsweg_store::now_ms();
        assert!(store.outbox_entries(100).await.unwrap().iter().all(|r| r.claimed_until > now), "all leased");

        // The same two claims, racing for one e-mail: one gets it, the other nothing.
        let [id] = enqueue(&store, 1).await[..] else { unreachable!() };
        let (a, b) = tokio::join!(store.claim_outbox(10, 60_000), store.claim_outbox(10, 60_000));
        let got: Vec<i64> = a.unwrap().iter().chain(b.unwrap().iter()).map(|r| r.id).collect();
        assert_eq!(got, [id]);
    })
    .await;
}

#[tokio::test]
async fn a_claimed_email_whose_lease_ran_out_is_claimed_again() {
    on_both(|store| async move {
        let [id] = enqueue(&store, 1).await[..] else { unreachable!() };
        let first = store.claim_outbox(10, 300).await.unwrap();
        assert_eq!(first.iter().map(|r| r.id).collect::<Vec<_>>(), [id]);
        assert!(store.claim_outbox(10, 60_000).await.unwrap().is_empty(), "held while the lease runs");

        // The worker died mid-send: nobody marks it; the lease runs out.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let again = store.claim_outbox(10, 60_000).await.unwrap();
        assert_eq!(again.iter().map(|r| r.id).collect::<Vec<_>>(), [id], "taken over after the lease");
        assert_eq!((again[0].status.as_str(), again[0].attempts), ("pending", 0));
        assert!(entry(&store, id).await.claimed_until > amtsweg_store::now_ms() + 30_000, "leased anew");
        assert!(store.claim_outbox(10, 60_000).await.unwrap().is_empty(), "and held by the new claim");
    })
    .await;
}

#[tokio::test]
async fn a_sent_email_is_never_claimed_again() {
    on_both(|store| async move {
        let ids = enqueue(&store, 2).await;
        let (sent, failed) = (ids[0], ids[1]);
        let claimed = store.claim_outbox(10, 200).await.unwrap();
        assert_eq!(claimed.iter().map(|r| r.id).collect::<Vec<_>>(), ids);

        let mut tx = store.begin().await.unwrap();
        tx.mark_outbox_done(sent).await.unwrap();
        tx.mark_outbox_failed(&claimed[1], "SMTP: connection refused", 0).await.unwrap();
        tx.commit().await.unwrap();
        let done = entry(&store, sent).await;
        assert_eq!((done.status.as_str(), done.claimed_until), ("done", 0));
        let retry = entry(&store, failed).await;
        assert_eq!((retry.status.as_str(), retry.attempts, retry.claimed_until), ("pending", 1, 0), "lease released");

        // The failed one is due again at once; the sent one is not, now or later.
        let again = store.claim_outbox(10, 200).await.unwrap();
        assert_eq!(again.iter().map(|r| r.id).collect::<Vec<_>>(), [failed]);
        assert_eq!(again[0].last_error, "SMTP: connection refused");
        let mut tx = store.begin().await.unwrap();
        tx.mark_outbox_done(failed).await.unwrap();
        tx.commit().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(store.claim_outbox(10, 60_000).await.unwrap().is_empty(), "sent e-mails stay sent");

        // A late report from a worker whose lease had run out changes nothing.
        let mut tx = store.begin().await.unwrap();
        tx.mark_outbox_failed(&claimed[0], "late failure", 0).await.unwrap();
        tx.mark_outbox_done(sent).await.unwrap();
        tx.commit().await.unwrap();
        let done = entry(&store, sent).await;
        assert_eq!((done.status.as_str(), done.attempts, done.last_error.as_str()), ("done", 0, ""));
        assert!(store.claim_outbox(10, 60_000).await.unwrap().is_empty(), "not revived");
    })
    .await;
}

/// Review finding 3: once their retention has passed, sent and dead e-mails keep
/// no address, name, link or error text — only id, kind, status and counts. The two
/// cut-offs are separate, pending e-mails are never touched, and a second run
/// finds nothing more.
#[tokio::test]
async fn finished_emails_lose_their_content_after_their_retention() {
    on_both(|store| async move {
        let ids = enqueue(&store, 3).await;
        let (sent, dead, waiting) = (ids[0], ids[1], ids[2]);
        let claimed = store.claim_outbox(10, 60_000).await.unwrap();
        assert_eq!(claimed.len(), 3);
        let mut tx = store.begin().await.unwrap();
        tx.mark_outbox_done(sent).await.unwrap();
        // The last allowed attempt fails: the entry is parked as dead.
        let last_try = amtsweg_store::outbox::OutboxRow {
            attempts: amtsweg_store::outbox::MAX_ATTEMPTS - 1,
            ..claimed[1].clone()
        };
        tx.mark_outbox_failed(&last_try, "550 no such user person1@example.org", 0).await.unwrap();
        tx.mark_outbox_failed(&claimed[2], "SMTP: connection refused", i64::MAX).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(entry(&store, dead).await.status, "dead");
        let now = amtsweg_store::now_ms();

        // Not old enough yet: nothing changes.
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.redact_outbox(now - 3_600_000, now - 3_600_000).await.unwrap(), 0);
        tx.commit().await.unwrap();
        assert_eq!(entry(&store, sent).await.email().unwrap(), mail(0));

        // The sent e-mail's retention has passed, the dead one's not yet.
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.redact_outbox(now, now - 3_600_000).await.unwrap(), 1);
        tx.commit().await.unwrap();
        let done = entry(&store, sent).await;
        assert!(done.is_redacted());
        assert_eq!((done.kind.as_str(), done.status.as_str(), done.attempts), ("email", "done", 0));
        assert!(done.email().is_err(), "a redacted entry is never read as an e-mail");
        assert_eq!(entry(&store, dead).await.email().unwrap(), mail(1), "dead ones are kept longer");

        // Now the dead one too; its error (which named the address) goes with it.
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.redact_outbox(now, now).await.unwrap(), 1);
        assert_eq!(tx.redact_outbox(now, now).await.unwrap(), 0, "nothing left to redact");
        tx.commit().await.unwrap();
        let parked = entry(&store, dead).await;
        assert!(parked.is_redacted());
        assert_eq!((parked.status.as_str(), parked.attempts, parked.last_error.as_str()), ("dead", 8, ""));

        // No trace of the recipients of finished e-mails is left in the table.
        for row in store.outbox_entries(100).await.unwrap().iter().filter(|r| r.id != waiting) {
            for trace in ["person0", "person1", "Nachricht", "Hallo", "550"] {
                assert!(!row.payload.contains(trace) && !row.last_error.contains(trace), "{trace} in {row:?}");
            }
        }
        // The e-mail that still has to go out keeps everything.
        let pending = entry(&store, waiting).await;
        assert_eq!((pending.status.as_str(), pending.email().unwrap()), ("pending", mail(2)));
        assert_eq!(pending.last_error, "SMTP: connection refused");
    })
    .await;
}
