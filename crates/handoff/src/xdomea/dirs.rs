//! The DMS import folders, set by the operator in the configuration file
//! (`[handoff.xdomea]`), never in the back office: a folder per authority, or one base
//! folder for the Verbund below which the server creates a folder per authority.
//! Containers are written only there — the folder is canonicalised, a symbolic link in
//! place of an authority's folder is refused, and the result must lie below the
//! configured folder.

use super::XdomeaError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `[handoff.xdomea]`: where xdomea containers are written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct XdomeaDirs {
    /// Base folder for the whole Verbund: authority `slug` writes to `<base_dir>/<slug>/`,
    /// which the server creates. Default: none (no folder delivery).
    pub base_dir: Option<PathBuf>,
    /// Per authority (`slug = "/srv/dms/moorbrueck"`): its folder, used instead of
    /// `base_dir`. The folder must exist. Default: none.
    pub authorities: BTreeMap<String, PathBuf>,
}

impl XdomeaDirs {
    /// Whether authority `slug` has a folder.
    #[must_use]
    pub fn configured_for(&self, slug: &str) -> bool {
        self.authorities.contains_key(slug) || self.base_dir.is_some()
    }

    /// The canonical folder of authority `slug`, created below `base_dir` when needed.
    ///
    /// # Errors
    /// [`XdomeaError::NoDirectory`] when none is configured, [`XdomeaError::Io`] when it
    /// is missing or unusable, [`XdomeaError::Escape`] when it leads outside.
    pub async fn dir_for(&self, slug: &str) -> Result<PathBuf, XdomeaError> {
        if let Some(own) = self.authorities.get(slug) {
            return canonical(own).await;
        }
        let base = canonical(self.base_dir.as_ref().ok_or(XdomeaError::NoDirectory)?).await?;
        if slug.is_empty() || !slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(XdomeaError::Escape(base.join(slug)));
        }
        let dir = base.join(slug);
        match tokio::fs::symlink_metadata(&dir).await {
            Ok(m) if m.file_type().is_symlink() || !m.is_dir() => return Err(XdomeaError::Escape(dir)),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match tokio::fs::create_dir(&dir).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(source) => return Err(XdomeaError::Io { path: dir, source }),
            },
            Err(source) => return Err(XdomeaError::Io { path: dir, source }),
        }
        let real = canonical(&dir).await?;
        if real.parent() != Some(base.as_path()) {
            return Err(XdomeaError::Escape(real));
        }
        Ok(real)
    }
}

async fn canonical(p: &Path) -> Result<PathBuf, XdomeaError> {
    tokio::fs::canonicalize(p).await.map_err(|source| XdomeaError::Io { path: p.to_path_buf(), source })
}
