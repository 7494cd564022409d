//! The check both tests end with: every submission delivered exactly once with
//! exactly one effect at the receiver, its attachment byte for byte.

use super::receiver::Receiver;
use super::server::Setup;
use super::sha256_hex;
use amtsweg_store::casework::InboxFilter;
use amtsweg_store::handoff::ReconciliationRow;
use amtsweg_store::submissions::SubmissionRow;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Every submission of `authority` has exactly one delivery, delivered, and took
/// effect exactly once at `receiver`, which saw nothing else; files given in
/// `expected_files` (form token → bytes) arrive byte for byte.
pub(super) async fn check_one_effect_each(
    s: &Setup,
    authority: i64,
    receiver: &Receiver,
    expected_files: &HashMap<String, Option<Vec<u8>>>,
) -> Vec<SubmissionRow> {
    let subs = s
        .store()
        .inbox(&InboxFilter { authority_ids: vec![authority], limit: 1_000_000, ..InboxFilter::default() })
        .await
        .unwrap();
    let mut per_submission: BTreeMap<i64, Vec<ReconciliationRow>> = BTreeMap::new();
    for r in s.deliveries(authority).await {
        per_submission.entry(r.submission_id).or_default().push(r);
    }
    assert_eq!(per_submission.len(), subs.len());
    for (id, rows) in &per_submission {
        assert_eq!(rows.len(), 1, "one delivery per submission and connector: {id}");
        assert_eq!(rows[0].connector_id, Some(s.connectors[&authority]));
        assert_eq!(rows[0].status.as_deref(), Some("delivered"), "{id}: {:?}", rows[0].last_error);
    }

    let downloads = {
        let seen = receiver.seen();
        assert!(seen.bad.is_empty(), "requests without key or with a wrong signature: {:?}", seen.bad);
        let keys: HashSet<String> = subs.iter().map(|x| s.key(authority, x.id)).collect();
        let effected: HashSet<String> = seen.effects.keys().cloned().collect();
        assert_eq!(effected, keys, "exactly the stored submissions took effect at the receiver");
        // The receiver counts once per key; one effect per *submission* also needs the key
        // to be stable across attempts and restarts.
        let mut effects_per_submission: HashMap<i64, u32> = HashMap::new();
        for body in seen.effects.values() {
            *effects_per_submission.entry(body["id"].as_i64().unwrap()).or_default() += 1;
        }
        let mut downloads = Vec::new();
        for x in &subs {
            assert_eq!(effects_per_submission.get(&x.id), Some(&1), "one effect for submission {}", x.id);
            let body = &seen.effects[&s.key(authority, x.id)];
            assert_eq!(body["receipt_number"], x.receipt_number.as_str());
            let files = body["files"].as_array().unwrap();
            match expected_files.get(&x.form_token).cloned().flatten() {
                Some(bytes) => {
                    assert_eq!(files.len(), 1, "{}: {body}", x.receipt_number);
                    assert_eq!(files[0]["sha256"], sha256_hex(&bytes));
                    assert_eq!(files[0]["size"], bytes.len());
                    downloads.push((files[0]["url"].as_str().unwrap().to_owned(), bytes));
                }
                None => assert!(files.is_empty(), "{}: {body}", x.receipt_number),
            }
        }
        downloads
    };
    // The signed links in the webhook give back the very bytes uploaded.
    let http = reqwest::Client::new();
    for (url, bytes) in downloads {
        let resp = http.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{url}");
        assert!(resp.bytes().await.unwrap() == bytes, "attachment byte-identical: {url}");
    }
    subs
}
