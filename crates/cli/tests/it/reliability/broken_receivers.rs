//! (b) Broken receivers: one authority's receiver is down, answers 500 or 429, hangs,
//! or resets the connection, while another authority's deliveries keep flowing; after
//! the recovery (and a restart in the middle of the retries) everything arrives with
//! one effect each.

use super::checks::check_one_effect_each;
use super::journeys::{letters, submit, unique_pdf};
use super::receiver::{Mode, Receiver};
use super::server::{Server, setup};
use super::{BRIEFWAHL, BRIEFWAHL_HEIDELAND, eventually, free_port};
use crate::support::EXCLUSIVE;
use amtsweg_store::testing::both;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_receivers_recover_with_one_effect_each() {
    // Asserts how quickly the other authority's deliveries arrive.
    let _exclusive = EXCLUSIVE.lock().await;
    for t in both().await {
        let backend = t.name;
        let started = Instant::now();
        let (port_a, port_b) = (free_port(), free_port());
        // Moorbrück's receiver starts down; Heideland's always works.
        let mut broken = Receiver::new(port_a);
        let mut healthy = Receiver::new(port_b);
        healthy.listen().await;
        let s = setup(
            t,
            &[("moorbrueck", port_a), ("sg-heideland", port_b)],
            // Request timeout 3 s (lease 9 s); many attempts, so nothing is parked as dead.
            "retry_base_ms = 50\nretry_cap_seconds = 1\nmax_attempts = 10000\nrequest_timeout_seconds = 3\npoll_ms = 50",
        )
        .await;
        let (moorbrueck, heideland) = (s.moorbrueck, s.heideland);
        let mut server = Server::start(&s).await;
        let mut files = HashMap::new();

        let first = submit(s.port, BRIEFWAHL, "Erste", None).await;
        let first_key = s.key(moorbrueck, s.submission(&first).await.id);
        for (i, mode) in [None, Some(Mode::Fail500), Some(Mode::TooMany), Some(Mode::Slow), Some(Mode::Reset)]
            .into_iter()
            .enumerate()
        {
            let phase = mode.map_or_else(|| "down".to_owned(), |m| format!("{m:?}"));
            match mode {
                None => broken.close().await,
                Some(m) => {
                    broken.set(m);
                    broken.listen().await;
                }
            }
            // New applications for both authorities while Moorbrück's receiver is broken.
            let pdf = (i == 1).then(|| unique_pdf("phase"));
            let token = submit(s.port, BRIEFWAHL, &format!("Moor{}", letters(i as u32)), pdf.clone()).await;
            files.insert(token, pdf);
            // Moorbrück's first delivery meets this failure (again).
            match mode {
                None => {
                    eventually("attempts against the closed port", Duration::from_secs(10), async || {
                        let d = s.store().deliveries_of(moorbrueck, s.submission(&first).await.id).await.unwrap();
                        d[0].attempts >= 2 && d[0].last_error.contains("nicht erreichbar")
                    })
                    .await;
                }
                Some(m) => {
                    eventually(&format!("{phase}: first delivery retried"), Duration::from_secs(15), async || {
                        broken.seen().requests.get(&first_key).is_some_and(|r| r.contains(&m))
                    })
                    .await;
                }
            }
            // While a request to Moorbrück's receiver hangs, Heideland's deliveries flow:
            // submitted right after a hanging request began, delivered long before it
            // times out.
            if mode == Some(Mode::Slow) {
                let before = broken.seen().count(Mode::Slow);
                eventually("a request hangs", Duration::from_secs(10), async || {
                    broken.seen().count(Mode::Slow) > before
                })
                .await;
            }
            submit(s.port, BRIEFWAHL_HEIDELAND, &format!("Heide{}", letters(i as u32)), None).await;
            let submitted = Instant::now();
            eventually(&format!("{phase}: Heideland delivered"), Duration::from_secs(10), async || {
                s.all_delivered(heideland).await
            })
            .await;
            let latency = submitted.elapsed();
            eprintln!("{backend}: {phase}: Heideland delivered {latency:?} after its submission");
            assert!(
                latency < Duration::from_millis(1500),
                "{backend}: {phase}: another authority's delivery waited {latency:?} for Moorbrück's broken receiver"
            );
            let pending = s.deliveries(moorbrueck).await;
            assert!(pending.iter().all(|r| r.status.as_deref() == Some("pending")), "{backend}: {phase}: {pending:#?}");
            // A restart (kill -9) in the middle of the retries.
            if matches!(mode, Some(Mode::TooMany | Mode::Reset)) {
                server.restart().await;
            }
        }
        broken.set(Mode::Ok);
        broken.listen().await;
        eventually("everything delivered after the recovery", Duration::from_secs(60), async || {
            s.all_delivered(moorbrueck).await && s.all_delivered(heideland).await
        })
        .await;

        let mb = check_one_effect_each(&s, moorbrueck, &broken, &files).await;
        let sg = check_one_effect_each(&s, heideland, &healthy, &HashMap::new()).await;
        assert_eq!((mb.len(), sg.len()), (6, 5));
        let modes: HashSet<Mode> = broken.seen().requests[&first_key].iter().copied().collect();
        assert_eq!(modes.len(), 5, "{backend}: the first delivery met every failure: {modes:?}");
        let (requests, effects, repeats) = broken.stats();
        assert!(repeats > 0, "{backend}: deliveries that took effect and failed were sent again");
        for x in &mb {
            let d = s.store().deliveries_of(moorbrueck, x.id).await.unwrap();
            assert!(d[0].attempts > 1 && d[0].last_error.is_empty(), "{backend}: {d:?}");
        }
        eprintln!(
            "{backend}: {} requests to the broken receiver for {} effects ({} repeats recognised by key); {:?}",
            requests,
            effects,
            repeats,
            started.elapsed()
        );
        drop(server);
        broken.close().await;
        healthy.close().await;
        s.t.cleanup().await;
    }
}
