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
