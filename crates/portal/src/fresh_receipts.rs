//! Receipts of submissions that were just committed, kept in memory until the
//! browser follows its redirect to the receipt page. That page then needs neither a
//! database read nor decrypting the sealed answers again: the handler that stored
//! them still had them in plain text. An entry is taken by the first page view that
//! may see it; reloading the page later reads the store. A status change made
//! through this process forgets the entry, and entries live only seconds, so a page
//! shown from here is never staler than that even when another node changed the
//! status. At a postal-vote rush the receipt read was a quarter of the work of an
//! application.

use crate::submission::data::SubmissionData;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A browser follows the redirect at once; an entry nobody fetched goes after this.
const KEEP: Duration = Duration::from_secs(10);
/// Bounds the memory when redirects are not followed (a few KB each).
const MAX_ENTRIES: usize = 4096;

/// What the receipt page shows of a submission and who may see it.
#[derive(Debug)]
pub struct FreshReceipt {
    pub authority_id: i64,
    pub form_id: i64,
    pub form_version: i64,
    pub citizen_id: Option<i64>,
    pub browser_hash: String,
    pub receipt_number: String,
    pub submitted_at: i64,
    pub data_hash: String,
    pub data: SubmissionData,
}

#[derive(Default)]
pub struct FreshReceipts {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Each receipt with the time it was put.
    by_token: HashMap<String, (Instant, FreshReceipt)>,
    /// Form tokens in the order they were put, with the time.
    order: VecDeque<(Instant, String)>,
}

impl FreshReceipts {
    /// Keeps the receipt of the submission made with `token`.
    pub fn put(&self, token: &str, receipt: FreshReceipt) {
        self.put_at(token, receipt, Instant::now());
    }

    fn put_at(&self, token: &str, receipt: FreshReceipt, now: Instant) {
        let mut g = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while let Some((at, oldest)) = g.order.front() {
            if now.duration_since(*at) < KEEP && g.order.len() < MAX_ENTRIES {
                break;
            }
            let oldest = oldest.clone();
            g.order.pop_front();
            g.by_token.remove(&oldest);
        }
        g.by_token.insert(token.to_owned(), (now, receipt));
        g.order.push_back((now, token.to_owned()));
    }

    /// The receipt of `token` if it is younger than `KEEP` and `may_see` allows it;
    /// it is no longer kept then. (The order list keeps the token until it expires;
    /// removing it there would cost a search, and a stale token only points at nothing.)
    pub fn take(&self, token: &str, may_see: impl FnOnce(&FreshReceipt) -> bool) -> Option<FreshReceipt> {
        self.take_at(token, may_see, Instant::now())
    }

    fn take_at(&self, token: &str, may_see: impl FnOnce(&FreshReceipt) -> bool, now: Instant) -> Option<FreshReceipt> {
        let mut g = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (at, receipt) = g.by_token.get(token)?;
        if now.duration_since(*at) >= KEEP {
            g.by_token.remove(token);
            return None;
        }
        if !may_see(receipt) {
            return None;
        }
        g.by_token.remove(token).map(|(_, r)| r)
    }

    /// Forgets the receipt of `token` (its status changed).
    pub fn forget(&self, token: &str) {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner).by_token.remove(token);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().map(|g| g.by_token.len()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt(n: i64) -> FreshReceipt {
        FreshReceipt {
            authority_id: 1,
            form_id: 2,
            form_version: 1,
            citizen_id: None,
            browser_hash: "b".into(),
            receipt_number: format!("MOO-2026-{n:06}"),
            submitted_at: 0,
            data_hash: String::new(),
            data: SubmissionData {
                form: "f".into(),
                version: 1,
                answers: Default::default(),
                computed: Vec::new(),
                files: Vec::new(),
            },
        }
    }

    #[test]
    fn a_receipt_is_handed_out_once_and_only_to_who_may_see_it() {
        let r = FreshReceipts::default();
        r.put("t1", receipt(1));
        assert!(r.take("t1", |_| false).is_none(), "refused");
        assert_eq!(
            r.take("t1", |f| f.browser_hash == "b").map(|f| f.receipt_number).as_deref(),
            Some("MOO-2026-000001")
        );
        assert!(r.take("t1", |_| true).is_none(), "taken already: the page reads the store from now on");
        assert!(r.take("unbekannt", |_| true).is_none());
        r.put("t2", receipt(2));
        r.forget("t2");
        assert!(r.take("t2", |_| true).is_none(), "its status changed");
    }

    #[test]
    fn old_and_surplus_receipts_are_dropped() {
        let r = FreshReceipts::default();
        let start = Instant::now();
        r.put_at("alt", receipt(1), start);
        r.put_at("neu", receipt(2), start + KEEP);
        assert!(r.take("alt", |_| true).is_none(), "expired");
        // Expired also when nothing was put since (no clean-up ran).
        let quiet = FreshReceipts::default();
        quiet.put_at("t", receipt(3), start);
        assert!(quiet.take_at("t", |_| true, start + KEEP).is_none(), "older than KEEP");
        quiet.put_at("u", receipt(4), start);
        assert!(quiet.take_at("u", |_| true, start + KEEP / 2).is_some());
        assert!(r.take("neu", |_| true).is_some());
        for i in 0..MAX_ENTRIES + 10 {
            r.put_at(&format!("t{i}"), receipt(i as i64), start + KEEP);
        }
        assert_eq!(r.len(), MAX_ENTRIES);
        assert!(r.take("t0", |_| true).is_none(), "the oldest went first");
        assert!(r.take(&format!("t{}", MAX_ENTRIES + 9), |_| true).is_some());
    }
}
