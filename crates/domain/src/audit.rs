//! The audit log's hash chain: every entry's hash covers its content and the previous
//! entry's hash, so changing or deleting a row breaks every later hash.

use sha2::{Digest, Sha256};

/// The hash of the (empty) chain before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What is recorded: who did what to what, where, with which outcome. Never personal
/// data values — targets are ids and kinds, not names or contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: i64,
    pub actor: String,
    pub authority_id: Option<i64>,
    pub action: String,
    pub target: String,
    pub outcome: String,
}

/// `sha256(prev ‖ fields…)` as lower-case hex. Fields are length-prefixed so no two
/// different entries can serialise to the same bytes.
#[must_use]
pub fn chain_hash(prev: &str, e: &AuditEntry) -> String {
    let mut h = Sha256::new();
    let authority = e.authority_id.map(|a| a.to_string()).unwrap_or_default();
    for part in [prev, &e.at.to_string(), &e.actor, &authority, &e.action, &e.target, &e.outcome] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(action: &str) -> AuditEntry {
        AuditEntry {
            at: 1,
            actor: "staff:1".into(),
            authority_id: Some(2),
            action: action.into(),
            target: "leistung:3".into(),
            outcome: "success".into(),
        }
    }

    #[test]
    fn any_change_changes_the_hash() {
        let a = chain_hash(GENESIS, &e("publish"));
        assert_eq!(a.len(), 64);
        assert_ne!(a, chain_hash(GENESIS, &e("unpublish")));
        assert_ne!(a, chain_hash(&a, &e("publish")));
        let mut shifted = e("publish");
        shifted.actor = "staff:12".into();
        shifted.target = "eistung:3".into();
        assert_ne!(a, chain_hash(GENESIS, &shifted));
    }
}
