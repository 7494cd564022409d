//! The citizen's finances (`/konto/finanzen/`) and the finance software's side of
//! them: claims (Forderungen) with their notices arrive in batches through the API
//! or a CSV import ([`upsert_claims`], [`import_csv`]); a finance account
//! (Personenkonto) is linked to a citizen only by a one-time activation code sent
//! by letter ([`create_activation_code`], [`activate`]); the citizen sees the
//! claims of linked accounts ([`citizen_overview`], [`claim_for_citizen`],
//! [`notice_for_citizen`]); the money the portal takes flows back through the
//! finance feed ([`feed`]) and its webhook ([`webhook`]).
//!
//! The finance software is the master of every claim. The open amount shown is its
//! open amount minus what the portal booked on the claim since the claim was last
//! synced ([`open_amount`]), never below zero: a citizen who just paid sees it at
//! once, and the next sync from the finance software replaces the estimate.

mod activation;
mod claims;
mod csv_import;
mod view;
pub mod webhook;

pub use activation::{
    Activation, MAX_FAILURES_PER_CLIENT, MAX_FAILURES_PER_HOUR, Unlinked, activate, code_hash, create_activation_code,
    failure_key, unlink,
};
pub use claims::{
    ClaimAsOf, ClaimUpload, Field, MAX_BATCH, MAX_NOTICE_BYTES, MAX_NOTICES, NoticeUpload, check_batch, check_upload,
    claim_rf, upsert_claims, upsert_claims_as_of,
};
pub use csv_import::{CSV_HEADER, import_csv};
pub use view::{
    AuthorityClaims, ClaimBooking, ClaimSummary, ClaimView, NoticeRef, citizen_overview, claim_for_citizen,
    notice_for_citizen, open_amount,
};

use crate::keyring::authority_scope;
use crate::{Portal, Result};
use amtsweg_store::payments::FeedRow;

/// Purposes of what is sealed here (bound into the ciphertext).
pub(crate) const CLAIM_TITLE: &str = "claim:title";
pub(crate) const NOTICE_FILE: &str = "bescheid:file";
pub(crate) const NOTICE_FILE_NAME: &str = "bescheid:file_name";

/// Opens a claim's title; "Forderung" when it does not open (logged).
pub(crate) async fn open_title(portal: &Portal, c: &amtsweg_store::payments::ClaimRow) -> String {
    let record = crate::keyring::record::claim(c.authority_id, &c.kassenzeichen, &c.due_on);
    portal.open_bound_text(&authority_scope(c.authority_id), CLAIM_TITLE, &record, &c.title).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, claim = c.id, "claim title does not open");
        "Forderung".to_owned()
    })
}

/// An authority's name (from the catalogue snapshot; from the store for one
/// created since).
pub(crate) async fn authority_name(portal: &Portal, authority_id: i64) -> Result<String> {
    if let Some(a) = portal.catalogue().authority(authority_id) {
        return Ok(a.name.clone());
    }
    Ok(portal.store.authorities().await?.into_iter().find(|a| a.id == authority_id).map(|a| a.name).unwrap_or_default())
}

/// A page of the finance feed.
#[derive(Debug, Clone)]
pub struct Feed {
    /// Bookings after the asked sequence, in order.
    pub items: Vec<FeedRow>,
    /// What to ask for next time (`seit`): the last listed sequence, or the asked one
    /// when nothing is new.
    pub next: i64,
    /// Whether more bookings wait beyond this page.
    pub more: bool,
}

/// The authority's bookings after `after_seq` (at most `limit`), in the order they
/// were committed; the sequence has no gaps, so a reader that always asks after the
/// last sequence it saw misses none.
///
/// # Errors
/// On store errors.
pub async fn feed(portal: &Portal, authority_id: i64, after_seq: i64, limit: u64) -> Result<Feed> {
    let mut items = portal.store.finance_feed(authority_id, after_seq.max(0), limit.saturating_add(1)).await?;
    let more = items.len() as u64 > limit;
    items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next = items.last().map_or(after_seq.max(0), |r| r.feed_seq);
    Ok(Feed { items, next, more })
}
