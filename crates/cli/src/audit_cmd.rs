//! The audit log from the binary: where its signed checkpoints go (`[audit]`), the
//! checkpoint writer of a serving node, and `amtsweg audit verify`.

use crate::config::Config;
use amtsweg_portal::Portal;
use amtsweg_portal::audit_anchor::{self, Verdict};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// `[audit]`: anchoring the audit chain outside the database.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuditConfig {
    /// Seconds between two signed checkpoints of the chain's head (a checkpoint is
    /// written only when the log grew, and once more at shutdown). Default 60.
    pub checkpoint_interval_seconds: u64,
    /// Directory for `audit-checkpoint.json` and `audit-checkpoints.log`; default
    /// the data directory. Put it on storage the database's users cannot write.
    pub checkpoint_dir: Option<PathBuf>,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self { checkpoint_interval_seconds: 60, checkpoint_dir: None }
    }
}

/// The keyring of this configuration's master key.
///
/// # Errors
/// When the key cannot be read or is invalid.
pub fn keyring(cfg: &Config) -> amtsweg_portal::Result<amtsweg_portal::Keyring> {
    let web = crate::server::web_config(cfg).map_err(|e| amtsweg_portal::PortalError::Internal(format!("{e:#}")))?;
    Ok(amtsweg_portal::Keyring::from_base64(web.master_key.as_deref().unwrap_or_default())?)
}

/// Where the checkpoints of this configuration live.
#[must_use]
pub fn checkpoint_dir(cfg: &Config) -> PathBuf {
    cfg.audit.checkpoint_dir.clone().unwrap_or_else(|| cfg.data_dir.clone())
}

/// Starts the periodic checkpoint writer of a serving node.
///
/// # Errors
/// When the checkpoint directory cannot be created.
pub fn spawn_checkpointer(portal: &Portal, cfg: &Config) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let dir = checkpoint_dir(cfg);
    std::fs::create_dir_all(&dir)?;
    let every = Duration::from_secs(cfg.audit.checkpoint_interval_seconds.max(1));
    Ok(audit_anchor::spawn_checkpointer(portal.clone(), dir, every))
}

/// The last checkpoint of a node that stops.
pub async fn final_checkpoint(portal: &Portal, cfg: &Config) {
    if let Err(e) = audit_anchor::checkpoint_now(portal, &checkpoint_dir(cfg)).await {
        tracing::warn!(error = %e, "writing the audit checkpoint at shutdown failed");
    }
}

/// `amtsweg audit verify`: the chain (keyed entries with the key from the master
/// key) and the newest checkpoint. Returns whether everything is intact; prints
/// what it found.
///
/// # Errors
/// When the store or the keys cannot be opened.
pub async fn verify(cfg: &Config) -> anyhow::Result<bool> {
    let store = crate::server::open_store(cfg).await?;
    let result = async {
        let keys = audit_anchor::attach_existing(&store, || keyring(cfg)).await?;
        anyhow::Ok(audit_anchor::verify(&store, keys.as_ref(), &checkpoint_dir(cfg)).await?)
    }
    .await;
    store.close().await;
    match result? {
        Verdict::Intact { entries, keyed, checkpoint } => {
            println!("Protokoll intakt: {entries} Einträge, Prüfkette vollständig ({keyed} mit Schlüssel gesichert).");
            match checkpoint {
                Some(c) => println!(
                    "Prüfpunkt vom {}: {} Einträge – in der Datenbank unverändert vorhanden.",
                    jiff::Timestamp::from_millisecond(c.at).map(|t| t.to_string()).unwrap_or_default(),
                    c.entries
                ),
                None => println!("Noch kein Prüfpunkt geschrieben (der Server schreibt ihn regelmäßig)."),
            }
            Ok(true)
        }
        Verdict::Failed(what) => {
            eprintln!("Protokoll VERLETZT: {what}");
            Ok(false)
        }
    }
}
