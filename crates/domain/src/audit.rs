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

/// Chain version of entries hashed with plain SHA-256 (before issue 18): anyone
/// who can write the table can recompute such a chain after changing it.
pub const CHAIN_PLAIN: i64 = 1;

/// Chain version of entries tagged with HMAC-SHA256 under [`ChainKey`]: without
/// the key a changed entry cannot be given a fitting tag.
pub const CHAIN_KEYED: i64 = 2;

/// The key of the keyed chain. It never lives in the database in the clear (the
/// keyring derives it from a data key wrapped by the master key).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ChainKey(pub [u8; 32]);

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainKey(…)")
    }
}

/// The entry's fields after `prev`, each length-prefixed so no two different
/// entries serialise to the same bytes.
fn fields(prev: &str, e: &AuditEntry, mut feed: impl FnMut(&[u8])) {
    let authority = e.authority_id.map(|a| a.to_string()).unwrap_or_default();
    for part in [prev, &e.at.to_string(), &e.actor, &authority, &e.action, &e.target, &e.outcome] {
        feed(&(part.len() as u64).to_be_bytes());
        feed(part.as_bytes());
    }
}

/// `sha256(prev ‖ fields…)` as lower-case hex (chain version [`CHAIN_PLAIN`]).
#[must_use]
pub fn chain_hash(prev: &str, e: &AuditEntry) -> String {
    let mut h = Sha256::new();
    fields(prev, e, |b| h.update(b));
    hex::encode(h.finalize())
}

/// `hmac_sha256(key, prev ‖ fields…)` as lower-case hex (chain version [`CHAIN_KEYED`]).
#[must_use]
pub fn keyed_chain_hash(key: &ChainKey, prev: &str, e: &AuditEntry) -> String {
    use hmac::Mac;
    // A 32-byte key is always a valid HMAC key; the fallback is never taken.
    let Ok(mut m) = <hmac::Hmac<Sha256> as Mac>::new_from_slice(&key.0) else { return String::new() };
    fields(prev, e, |b| m.update(b));
    hex::encode(m.finalize().into_bytes())
}

/// The hash of an entry in the given chain version; `None` for a keyed entry
/// without the key, or an unknown version.
#[must_use]
pub fn hash_for(chain: i64, key: Option<&ChainKey>, prev: &str, e: &AuditEntry) -> Option<String> {
    match (chain, key) {
        (CHAIN_PLAIN, _) => Some(chain_hash(prev, e)),
        (CHAIN_KEYED, Some(k)) => Some(keyed_chain_hash(k, prev, e)),
        _ => None,
    }
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

    #[test]
    fn the_keyed_hash_needs_the_key() {
        let k = ChainKey([7; 32]);
        let a = keyed_chain_hash(&k, GENESIS, &e("publish"));
        assert_eq!(a.len(), 64);
        assert_ne!(a, chain_hash(GENESIS, &e("publish")), "not the plain hash");
        assert_ne!(a, keyed_chain_hash(&ChainKey([8; 32]), GENESIS, &e("publish")), "another key");
        assert_eq!(hash_for(CHAIN_KEYED, Some(&k), GENESIS, &e("publish")), Some(a));
        assert_eq!(hash_for(CHAIN_KEYED, None, GENESIS, &e("publish")), None);
    }
}
