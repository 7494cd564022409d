//! Anchoring the audit chain outside the database. The keyed chain (see
//! `amtsweg_store::audit_log`) stops anyone without the key from changing entries,
//! but cutting off the newest entries leaves a shorter chain that still verifies.
//! So the head of the chain — how many entries, the last one's id and hash, when —
//! is signed (HMAC-SHA256 under a key derived from the audit data key) and written
//! to `audit-checkpoint.json` in the data directory, periodically and at shutdown;
//! every checkpoint is also appended to `audit-checkpoints.log`, which an operator
//! may ship elsewhere. [`verify`] compares the database with the newest checkpoint.

use crate::keyring::{AuditKeys, Keyring, hmac_hex};
use crate::{Portal, PortalError, Result};
use amtsweg_store::Store;
use amtsweg_store::audit_log::{ChainCheck, ChainLink};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The newest checkpoint, replaced atomically.
pub const CHECKPOINT_FILE: &str = "audit-checkpoint.json";
/// Every checkpoint written, one JSON object per line.
pub const HISTORY_FILE: &str = "audit-checkpoints.log";

/// The signed head of the audit chain at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// How many entries the chain had.
    pub entries: usize,
    /// The newest entry's id and hash.
    pub head_id: i64,
    pub head_hash: String,
    /// When (ms since the epoch).
    pub at: i64,
    /// HMAC-SHA256 (hex) over the fields above.
    pub signature: String,
}

impl Checkpoint {
    fn signed_bytes(&self) -> String {
        format!("amtsweg audit checkpoint v1|{}|{}|{}|{}", self.entries, self.head_id, self.head_hash, self.at)
    }

    fn sign(mut self, keys: &AuditKeys) -> Self {
        self.signature = hmac_hex(&keys.checkpoint, self.signed_bytes().as_bytes());
        self
    }

    fn genuine(&self, keys: &AuditKeys) -> bool {
        let expected = hmac_hex(&keys.checkpoint, self.signed_bytes().as_bytes());
        subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), self.signature.as_bytes()).into()
    }
}

/// Gives the store the chain's key (so every entry from now on is keyed) and
/// returns the audit keys.
///
/// # Errors
/// When the audit data key cannot be had or opened (wrong master key).
pub async fn attach(store: &Store, keyring: &Keyring) -> Result<AuditKeys> {
    let keys = keyring.audit_keys(store).await?;
    store.set_audit_key(keys.chain);
    Ok(keys)
}

/// As [`attach`], but only when the chain already has a key (a portal ran on this
/// database): commands of the binary then write keyed entries too, and create no
/// keys on a database that has none yet.
///
/// # Errors
/// When the audit data key does not open (wrong master key).
pub async fn attach_existing(store: &Store, master_key: impl FnOnce() -> Result<Keyring>) -> Result<Option<AuditKeys>> {
    if store.data_key(crate::keyring::AUDIT_SCOPE).await?.is_none() {
        return Ok(None);
    }
    attach(store, &master_key()?).await.map(Some)
}

/// The newest checkpoint in `dir`, if one was written.
///
/// # Errors
/// When the file exists but cannot be read or parsed.
pub fn read_checkpoint(dir: &Path) -> Result<Option<Checkpoint>> {
    match std::fs::read_to_string(dir.join(CHECKPOINT_FILE)) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| PortalError::Internal(format!("{CHECKPOINT_FILE} does not parse: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(PortalError::Internal(format!("cannot read {CHECKPOINT_FILE}: {e}"))),
    }
}

/// What comparing the database with a checkpoint found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    /// The database holds the checkpoint's entries unchanged (and maybe more).
    Extends,
    /// Fewer entries than the checkpoint recorded.
    Truncated { checkpoint: usize, database: usize },
    /// Another entry (id or hash) where the checkpoint's head was.
    Rewritten { position: usize, id: i64 },
}

async fn compare(store: &Store, c: &Checkpoint) -> Result<Anchor> {
    Ok(match store.audit_link_at(c.entries).await? {
        None => {
            let database = store.audit_head().await?.map_or(0, |(n, _)| n);
            Anchor::Truncated { checkpoint: c.entries, database }
        }
        Some(ChainLink { id, hash, .. }) if id == c.head_id && hash == c.head_hash => Anchor::Extends,
        Some(ChainLink { id, .. }) => Anchor::Rewritten { position: c.entries, id },
    })
}

/// Writes a checkpoint of the current head to `dir` when the chain grew since the
/// last one. A database that no longer extends the last checkpoint gets none: the
/// evidence stays on disk for `amtsweg audit verify`. Returns the new checkpoint.
///
/// # Errors
/// On store errors or when the files cannot be written.
pub async fn write_checkpoint(store: &Store, keys: &AuditKeys, dir: &Path) -> Result<Option<Checkpoint>> {
    let Some((entries, head)) = store.audit_head().await? else { return Ok(None) };
    if let Some(last) = read_checkpoint(dir)? {
        if last.entries == entries && last.head_id == head.id && last.head_hash == head.hash {
            return Ok(None);
        }
        let found = compare(store, &last).await?;
        if found != Anchor::Extends {
            tracing::error!(?found, "the audit log does not extend its last checkpoint; no new checkpoint written");
            return Ok(None);
        }
    }
    let c = Checkpoint {
        entries,
        head_id: head.id,
        head_hash: head.hash,
        at: amtsweg_store::now_ms(),
        signature: String::new(),
    }
    .sign(keys);
    let json = serde_json::to_string(&c).map_err(|e| PortalError::Internal(e.to_string()))?;
    write_atomically(&dir.join(CHECKPOINT_FILE), &json)
        .and_then(|()| append_line(&dir.join(HISTORY_FILE), &json))
        .map_err(|e| PortalError::Internal(format!("cannot write the audit checkpoint in {}: {e}", dir.display())))?;
    Ok(Some(c))
}

/// Write to a temporary file, sync it, rename it over the old one, sync the
/// directory: a crash leaves the old checkpoint or the new one, never half of one.
fn write_atomically(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(content.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    writeln!(f, "{line}")?;
    f.sync_all()
}

/// Writes checkpoints to `dir` every `every` until aborted; the caller writes a
/// last one at shutdown ([`write_checkpoint`]).
pub fn spawn_checkpointer(portal: Portal, dir: PathBuf, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = checkpoint_now(&portal, &dir).await {
                tracing::warn!(error = %e, "writing the audit checkpoint failed; will try again");
            }
        }
    })
}

/// One checkpoint of the portal's store now (periodic task and shutdown).
///
/// # Errors
/// As [`write_checkpoint`].
pub async fn checkpoint_now(portal: &Portal, dir: &Path) -> Result<Option<Checkpoint>> {
    let keys = portal.keyring.audit_keys(&portal.store).await?;
    write_checkpoint(&portal.store, &keys, dir).await
}

/// The verdict of `amtsweg audit verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Chain intact and consistent with the newest checkpoint (if there is one).
    Intact { entries: usize, keyed: usize, checkpoint: Option<Checkpoint> },
    /// What is wrong, in words for the operator.
    Failed(String),
}

/// Verifies the chain in the database (keyed entries with the store's key, which
/// [`attach`] gave it) and compares it with the newest checkpoint in `dir`.
///
/// # Errors
/// On store errors or an unreadable checkpoint file.
pub async fn verify(store: &Store, keys: Option<&AuditKeys>, dir: &Path) -> Result<Verdict> {
    let report = store.audit_chain_report().await?;
    if let ChainCheck::Broken { id, reason } = &report.check {
        return Ok(Verdict::Failed(format!("chain broken at entry {id}: {reason}")));
    }
    let entries = report.links.len();
    let keyed = report.links.iter().filter(|l| l.chain == amtsweg_domain::audit::CHAIN_KEYED).count();
    let Some(c) = read_checkpoint(dir)? else {
        if dir.join(HISTORY_FILE).exists() {
            return Ok(Verdict::Failed(format!(
                "{CHECKPOINT_FILE} is missing although {HISTORY_FILE} records checkpoints"
            )));
        }
        return Ok(Verdict::Intact { entries, keyed, checkpoint: None });
    };
    let Some(keys) = keys else {
        return Ok(Verdict::Failed(format!(
            "{CHECKPOINT_FILE} exists, but the audit key is missing from the database"
        )));
    };
    if !c.genuine(keys) {
        return Ok(Verdict::Failed(format!("{CHECKPOINT_FILE} is not signed with this portal's key (altered)")));
    }
    Ok(match compare(store, &c).await? {
        Anchor::Extends => Verdict::Intact { entries, keyed, checkpoint: Some(c) },
        Anchor::Truncated { checkpoint, database } => {
            Verdict::Failed(format!("truncated: checkpoint has {checkpoint} entries, database {database}"))
        }
        Anchor::Rewritten { position, id } => Verdict::Failed(format!(
            "rewritten: entry {position} of the checkpoint was id {} with hash {}, the database has id {id} with another hash",
            c.head_id, c.head_hash
        )),
    })
}
