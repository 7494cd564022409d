//! Encryption at rest for personal data: profile values, Postfach messages and
//! their files. AES-256-GCM under a data key per scope ("verbund" for the citizen's
//! own data, "authority:<id>" for what an authority exchanges with citizens); data
//! keys are stored only wrapped with the master key from the configuration, so a
//! copy of the database or the object store alone reveals nothing.
//!
//! Sealed values are text: `v2:` + base64(nonce ‖ ciphertext ‖ tag), sealed with
//! [`Keyring::seal_bound`]; the scope, the purpose and the record that holds the
//! value (see [`record`]) are authenticated as associated data, so a value copied
//! into another column, another authority's scope or another row does not open.
//! Older versions sealed `v1:` values without the record; the start-up step in
//! `crate::rebind` re-seals them with [`Keyring::rebind`], the only reader of that
//! format besides the legacy [`Keyring::open`].
//!
//! The keyring also holds the keys of the audit chain ([`Keyring::audit_keys`]): a
//! random data key of its own scope, wrapped by the master key like every data key
//! (so a master-key rotation keeps old entries verifiable), from which the chain's
//! HMAC key and the checkpoint signing key are derived with HKDF.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use amtsweg_store::Store;
use base64::Engine;
use std::collections::HashMap;
use tokio::sync::RwLock;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("master key: {0}")]
    MasterKey(String),
    #[error("store: {0}")]
    Store(#[from] amtsweg_store::StoreError),
    #[error("a sealed value does not open (wrong key or changed data)")]
    Corrupt,
}

const PREFIX: &str = "v1:";
/// Values bound to their record (associated data scope|purpose|record).
const BOUND_PREFIX: &str = "v2:";

/// Scope of the data key the audit chain's keys derive from.
pub const AUDIT_SCOPE: &str = "audit";

/// The keys of the audit log: the chain's HMAC key (given to the store) and the key
/// that signs checkpoints of the chain's head outside the database.
#[derive(Clone)]
pub struct AuditKeys {
    pub chain: amtsweg_domain::audit::ChainKey,
    pub checkpoint: [u8; 32],
}

impl std::fmt::Debug for AuditKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKeys(…)")
    }
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    use hmac::Mac;
    // HMAC takes keys of any length; the fallback is never taken.
    let Ok(mut m) = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(key) else { return [0; 32] };
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// HKDF-SHA256 (RFC 5869) with an empty salt and 32 bytes of output: one block of
/// HKDF-Expand, written out here rather than pulling a second `hmac`/`digest`
/// generation into the build for the `hkdf` crate.
#[must_use]
pub fn hkdf_sha256(ikm: &[u8], info: &[u8]) -> [u8; 32] {
    let prk = hmac_sha256(&[0; 32], &[ikm]);
    hmac_sha256(&prk, &[info, &[1]])
}

/// An HMAC-SHA256 tag as lower-case hex (checkpoint signatures).
#[must_use]
pub fn hmac_hex(key: &[u8; 32], data: &[u8]) -> String {
    hex::encode(hmac_sha256(key, &[data]))
}

/// Scope of what the citizen keeps for themselves (profile): the Verbund's key.
pub const CITIZEN_SCOPE: &str = "verbund";

/// Scope of what an authority exchanges with citizens (answers, files, Postfach).
#[must_use]
pub fn authority_scope(authority_id: i64) -> String {
    format!("authority:{authority_id}")
}

/// The records sealed values are bound to: the row or object that holds them,
/// named by a key known both before the row is written and when it is read.
pub mod record {
    /// A citizen's own data (profile values, Postfach subjects and texts).
    #[must_use]
    pub fn citizen(id: i64) -> String {
        format!("citizen:{id}")
    }

    /// A draft's answers, by the form token (the draft's key).
    #[must_use]
    pub fn draft(token: &str) -> String {
        format!("draft:{token}")
    }

    /// A submission's data, by its form token (chosen before the row is written).
    #[must_use]
    pub fn submission(form_token: &str) -> String {
        format!("submission:{form_token}")
    }

    /// The texts of a case's history, by the submission's id.
    #[must_use]
    pub fn case(submission_id: i64) -> String {
        format!("case:{submission_id}")
    }

    /// A stored file and its name, by the object key (kept when a draft's file
    /// becomes the submission's).
    #[must_use]
    pub fn object(key: &str) -> String {
        format!("object:{key}")
    }

    /// A connector's settings.
    #[must_use]
    pub fn connector(id: i64) -> String {
        format!("connector:{id}")
    }

    /// A payment connector's settings (a table of its own, so its own record name).
    #[must_use]
    pub fn payment_connector(id: i64) -> String {
        format!("payment-connector:{id}")
    }

    /// Sealed texts of a payment (refund reasons, payout IBAN), by the payment's id.
    #[must_use]
    pub fn payment(id: i64) -> String {
        format!("payment:{id}")
    }

    /// A bank statement entry's details and note, by its key (known before the insert).
    #[must_use]
    pub fn bank_entry(authority_id: i64, key: &str) -> String {
        format!("bank-entry:{authority_id}:{key}")
    }

    /// A claim's title, by Kassenzeichen and due date (its natural key, known before
    /// the upsert).
    #[must_use]
    pub fn claim(authority_id: i64, kassenzeichen: &str, due_on: &str) -> String {
        format!("claim:{authority_id}:{kassenzeichen}:{due_on}")
    }
}

/// The master key and the data keys unwrapped so far.
pub struct Keyring {
    master: [u8; 32],
    /// The HMAC key of `mac`, derived from the master key once.
    mac_key: [u8; 32],
    keys: RwLock<HashMap<String, [u8; 32]>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyring(…)")
    }
}

fn b64() -> &'static base64::engine::GeneralPurpose {
    &base64::engine::general_purpose::STANDARD
}

/// The key of `Keyring::mac`: SHA-256 of a label and the master key.
fn mac_key(master: &[u8; 32]) -> [u8; 32] {
    use sha2::Digest;
    let mut derived = sha2::Sha256::new();
    derived.update(b"amtsweg mac v1|");
    derived.update(master);
    derived.finalize().into()
}

// RustCrypto's AES-GCM (AES-NI and CLMUL where the CPU has them) rather than
// OpenSSL's: OpenSSL 3 fetches the cipher from its provider tables and sets up a new
// context on every call, which cost several times the encryption of an application
// on the submission path. The format is the same: nonce ‖ ciphertext ‖ tag.
fn seal_with(key: &[u8; 32], plain: &[u8], aad: &[u8]) -> Result<String, CryptoError> {
    seal_as(PREFIX, key, plain, aad)
}

fn seal_as(prefix: &str, key: &[u8; 32], plain: &[u8], aad: &[u8]) -> Result<String, CryptoError> {
    let nonce: [u8; 12] = rand::random();
    let sealed = Aes256Gcm::new(key.into())
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
        .map_err(|_| CryptoError::Corrupt)?;
    let mut out = Vec::with_capacity(12 + sealed.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(format!("{prefix}{}", b64().encode(out)))
}

/// Opens an unbound value (`scope|purpose`) and seals it bound (`scope|purpose|record`).
fn rebind_with(key: &[u8; 32], scope: &str, purpose: &str, record: &str, sealed: &str) -> Result<String, CryptoError> {
    let plain = open_with(key, sealed, format!("{scope}|{purpose}").as_bytes())?;
    seal_as(BOUND_PREFIX, key, &plain, format!("{scope}|{purpose}|{record}").as_bytes())
}

fn open_with(key: &[u8; 32], sealed: &str, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    open_as(PREFIX, key, sealed, aad)
}

fn open_as(prefix: &str, key: &[u8; 32], sealed: &str, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let raw = sealed.strip_prefix(prefix).ok_or(CryptoError::Corrupt)?;
    let bytes = b64().decode(raw).map_err(|_| CryptoError::Corrupt)?;
    if bytes.len() < 28 {
        return Err(CryptoError::Corrupt);
    }
    let (nonce, sealed) = bytes.split_at(12);
    Aes256Gcm::new(key.into())
        .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad })
        .map_err(|_| CryptoError::Corrupt)
}

impl Keyring {
    /// From a base64 master key of 32 bytes.
    ///
    /// # Errors
    /// When the key is not 32 bytes of base64.
    pub fn from_base64(master: &str) -> Result<Self, CryptoError> {
        let bytes = b64().decode(master.trim()).map_err(|_| CryptoError::MasterKey("not base64".into()))?;
        let master: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CryptoError::MasterKey("must be 32 bytes (base64 of 32 random bytes)".into()))?;
        Ok(Self { master, mac_key: mac_key(&master), keys: RwLock::default() })
    }

    /// An HMAC-SHA256 tag of `data` (base64url, 128 bits) under a key derived from
    /// the master key; for values the portal hands out and must recognise unchanged
    /// (form tokens).
    ///
    /// # Errors
    /// On crypto errors.
    pub fn mac(&self, data: &str) -> Result<String, CryptoError> {
        // RustCrypto's HMAC rather than OpenSSL's: OpenSSL 3 looks the algorithm up
        // in its provider tables on every new signer, which cost more than the MAC
        // itself on the submission path (four tags per application).
        use hmac::Mac;
        let mut m =
            <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.mac_key).map_err(|_| CryptoError::Corrupt)?;
        m.update(data.as_bytes());
        let tag = m.finalize().into_bytes();
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&tag[..16]))
    }

    /// A new random master key, base64 (for `amtsweg` to write on first start).
    #[must_use]
    pub fn new_master_key() -> String {
        b64().encode(rand::random::<[u8; 32]>())
    }

    async fn data_key(&self, store: &Store, scope: &str) -> Result<[u8; 32], CryptoError> {
        if let Some(k) = self.keys.read().await.get(scope) {
            return Ok(*k);
        }
        let wrapped = match store.data_key(scope).await? {
            Some(w) => w,
            None => {
                let fresh: [u8; 32] = rand::random();
                let wrapped = seal_with(&self.master, &fresh, scope.as_bytes())?;
                let mut tx = store.begin().await?;
                tx.insert_data_key(scope, &wrapped).await?;
                tx.commit().await?;
                // Another node may have won the race: use what is stored.
                store.data_key(scope).await?.unwrap_or(wrapped)
            }
        };
        let key: [u8; 32] =
            open_with(&self.master, &wrapped, scope.as_bytes())?.try_into().map_err(|_| CryptoError::Corrupt)?;
        self.keys.write().await.insert(scope.to_owned(), key);
        Ok(key)
    }

    /// Seals `plain` for `scope` in the old format without a record (`v1:`);
    /// `purpose` (e.g. "profile:family_name") is bound in. Nothing in the portal
    /// writes this format any more: kept for master-key tools and for tests that
    /// build a database of an older version.
    ///
    /// # Errors
    /// On store or crypto errors.
    pub async fn seal(&self, store: &Store, scope: &str, purpose: &str, plain: &[u8]) -> Result<String, CryptoError> {
        let key = self.data_key(store, scope).await?;
        seal_with(&key, plain, format!("{scope}|{purpose}").as_bytes())
    }

    /// Opens what `seal` produced for the same scope and purpose. Not for reading
    /// the portal's data: that is bound to its record (see [`Keyring::rebind`]).
    ///
    /// # Errors
    /// When the value was changed, moved, or sealed with another key.
    pub async fn open(&self, store: &Store, scope: &str, purpose: &str, sealed: &str) -> Result<Vec<u8>, CryptoError> {
        let key = self.data_key(store, scope).await?;
        open_with(&key, sealed, format!("{scope}|{purpose}").as_bytes())
    }

    /// Seals `plain` for `scope` and `purpose`, bound to one `record` (e.g.
    /// "staff:4"): it opens only with the same three.
    ///
    /// # Errors
    /// On store or crypto errors.
    pub async fn seal_bound(
        &self,
        store: &Store,
        scope: &str,
        purpose: &str,
        record: &str,
        plain: &[u8],
    ) -> Result<String, CryptoError> {
        let key = self.data_key(store, scope).await?;
        seal_as(BOUND_PREFIX, &key, plain, format!("{scope}|{purpose}|{record}").as_bytes())
    }

    /// Opens what `seal_bound` produced for the same scope, purpose and record.
    ///
    /// # Errors
    /// When the value was changed, moved to another record, or sealed otherwise.
    pub async fn open_bound(
        &self,
        store: &Store,
        scope: &str,
        purpose: &str,
        record: &str,
        sealed: &str,
    ) -> Result<Vec<u8>, CryptoError> {
        let key = self.data_key(store, scope).await?;
        open_as(BOUND_PREFIX, &key, sealed, format!("{scope}|{purpose}|{record}").as_bytes())
    }

    /// Makes sure the data key of `scope` exists and is unwrapped, so that sealing
    /// inside a write transaction (for a row whose id the insert gives) needs no
    /// transaction of its own.
    ///
    /// # Errors
    /// On store errors, or when the data key does not open (wrong master key).
    pub async fn ready(&self, store: &Store, scope: &str) -> Result<(), CryptoError> {
        self.data_key(store, scope).await.map(|_| ())
    }

    /// Re-seals a value of the old format (`v1:`, sealed without its record) bound
    /// to `record`; `None` when it is already bound (idempotent). Only the start-up
    /// step that migrates stored values calls this: normal reads accept bound
    /// values only.
    ///
    /// # Errors
    /// When the old value does not open (changed, or another key).
    pub async fn rebind(
        &self,
        store: &Store,
        scope: &str,
        purpose: &str,
        record: &str,
        sealed: &str,
    ) -> Result<Option<String>, CryptoError> {
        if sealed.starts_with(BOUND_PREFIX) {
            return Ok(None);
        }
        let key = self.data_key(store, scope).await?;
        rebind_with(&key, scope, purpose, record, sealed).map(Some)
    }

    /// Whether `value` is sealed (either format) rather than clear text.
    #[must_use]
    pub fn is_sealed(value: &str) -> bool {
        value.starts_with(PREFIX) || value.starts_with(BOUND_PREFIX)
    }

    /// The keys of the audit log, derived from the audit scope's data key (created
    /// on first use).
    ///
    /// # Errors
    /// On store errors, or when the data key does not open (wrong master key).
    pub async fn audit_keys(&self, store: &Store) -> Result<AuditKeys, CryptoError> {
        let base = self.data_key(store, AUDIT_SCOPE).await?;
        Ok(AuditKeys {
            chain: amtsweg_domain::audit::ChainKey(hkdf_sha256(&base, b"amtsweg audit chain v2")),
            checkpoint: hkdf_sha256(&base, b"amtsweg audit checkpoint v1"),
        })
    }
}

/// Re-wraps every data key from `old`'s master key to `new`'s in one transaction
/// (master-key rotation); the data itself stays as it is. Returns how many keys.
///
/// # Errors
/// When a data key does not open with `old` (wrong current key): nothing changes.
pub async fn rotate_master(store: &Store, old: &Keyring, new: &Keyring) -> Result<usize, CryptoError> {
    let mut tx = store.begin().await?;
    let keys = tx.all_data_keys().await?;
    for (scope, wrapped) in &keys {
        let plain = open_with(&old.master, wrapped, scope.as_bytes())?;
        tx.rewrap_data_key(scope, &seal_with(&new.master, &plain, scope.as_bytes())?).await?;
    }
    tx.commit().await?;
    Ok(keys.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_are_bound_to_key_and_purpose() {
        let k: [u8; 32] = rand::random();
        let s = seal_with(&k, b"Mustermann", b"verbund|profile:family_name").unwrap();
        assert!(!s.contains("Mustermann"));
        assert_eq!(open_with(&k, &s, b"verbund|profile:family_name").unwrap(), b"Mustermann");
        assert!(open_with(&k, &s, b"verbund|profile:given_name").is_err(), "moved to another field");
        assert!(open_with(&rand::random(), &s, b"verbund|profile:family_name").is_err(), "another key");
        let mut tampered = s.clone();
        tampered.replace_range(10..11, if &s[10..11] == "A" { "B" } else { "A" });
        assert!(open_with(&k, &tampered, b"verbund|profile:family_name").is_err());
        assert!(Keyring::from_base64("kurz").is_err());
        assert!(Keyring::from_base64(&Keyring::new_master_key()).is_ok());
    }

    #[test]
    fn bound_values_open_only_for_their_record() {
        let k: [u8; 32] = rand::random();
        let s = seal_as(BOUND_PREFIX, &k, b"JBSWY3DP", b"verbund|totp|staff:1").unwrap();
        assert!(s.starts_with("v2:") && Keyring::is_sealed(&s));
        assert_eq!(open_as(BOUND_PREFIX, &k, &s, b"verbund|totp|staff:1").unwrap(), b"JBSWY3DP");
        assert!(open_as(BOUND_PREFIX, &k, &s, b"verbund|totp|staff:2").is_err(), "copied to another record");
        assert!(open_with(&k, &s, b"verbund|totp").is_err(), "not an unbound value");
        assert!(!Keyring::is_sealed("JBSWY3DPEHPK3PXP"));
    }

    #[test]
    fn old_values_are_rebound_to_their_record_once() {
        let k: [u8; 32] = rand::random();
        let old = seal_with(&k, b"Mustermann", b"verbund|profile:family_name").unwrap();
        let rec = record::citizen(7);
        let new = rebind_with(&k, "verbund", "profile:family_name", &rec, &old).unwrap();
        assert!(new.starts_with("v2:"));
        assert_eq!(open_as(BOUND_PREFIX, &k, &new, b"verbund|profile:family_name|citizen:7").unwrap(), b"Mustermann");
        assert!(open_as(BOUND_PREFIX, &k, &new, b"verbund|profile:family_name|citizen:8").is_err(), "another citizen");
        assert!(
            open_as(BOUND_PREFIX, &k, &old, b"verbund|profile:family_name|citizen:7").is_err(),
            "old format refused"
        );
        assert!(rebind_with(&k, "verbund", "profile:given_name", &rec, &old).is_err(), "moved to another field");
        assert!(rebind_with(&k, "verbund", "profile:family_name", &rec, &new).is_err(), "bound values are not v1");
    }

    #[test]
    fn hkdf_matches_rfc_5869() {
        // RFC 5869, test case 3 (empty salt and info): the first 32 bytes of the OKM.
        assert_eq!(
            hex::encode(hkdf_sha256(&[0x0b; 22], b"")),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
        );
    }

    #[test]
    fn values_sealed_before_the_switch_from_openssl_still_open() {
        // AES-256-GCM, key 0..31, nonce 100..111, sealed by Python's `cryptography`
        // (OpenSSL underneath) as the portal sealed values before.
        let key: [u8; 32] = std::array::from_fn(|i| i as u8);
        let old = "v1:ZGVmZ2hpamtsbW5vBW6tEhybO/9QDF4F517oXzRYgDsr/qEPu/w=";
        assert_eq!(open_with(&key, old, b"verbund|profile:family_name").unwrap(), b"Mustermann");
        assert!(open_with(&key, old, b"verbund|profile:given_name").is_err());
    }

    #[test]
    fn form_tokens_issued_before_an_update_still_verify() {
        // HMAC-SHA256 under SHA-256("amtsweg mac v1|" ‖ master), first 128 bits,
        // base64url — computed independently with Python's hmac module.
        let k = Keyring::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
        assert_eq!(k.mac("antrag|1|2|abc.1").unwrap(), "87d0aqQWO7kY72_TF4fDrQ");
        assert_ne!(k.mac("antrag|1|2|abc.2").unwrap(), "87d0aqQWO7kY72_TF4fDrQ");
    }
}
