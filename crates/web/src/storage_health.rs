//! Room on the local disks for the health check: the directory of the SQLite
//! database and the directory of uploaded files, each probed with a small write.
//!
//! A full disk does not stop the portal from showing pages, so the health check
//! still answers 200 and reports `"storage": "full"` with `"status": "degraded"`:
//! monitoring sees it, and a load balancer does not take away the node that can
//! still explain the situation to citizens. PostgreSQL's own disk is the database
//! server's to report; a full one shows as 503 answers to writes.

use crate::AppState;
use std::path::PathBuf;

/// What the probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Room {
    Ok,
    Full,
    /// A directory could not be probed for another reason (permissions, missing):
    /// logged and reported, but not counted as degraded.
    Unknown,
}

impl Room {
    #[must_use]
    pub fn is_full(self) -> bool {
        self == Self::Full
    }

    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Full => "full",
            Self::Unknown => "unknown",
        }
    }
}

/// Probes every local directory the portal writes to (off the async workers).
pub async fn room(state: &AppState) -> Room {
    let mut dirs: Vec<PathBuf> = state.store.local_dir().into_iter().collect();
    dirs.extend(state.config.objects_dir.clone());
    dirs.dedup();
    let probed = tokio::task::spawn_blocking(move || {
        let mut room = Room::Ok;
        for d in &dirs {
            match amtsweg_store::space::has_room(d) {
                Ok(true) => {}
                Ok(false) => return Room::Full,
                Err(e) => {
                    tracing::warn!(dir = %d.display(), error = %e, "free space not checkable");
                    room = Room::Unknown;
                }
            }
        }
        room
    })
    .await;
    probed.unwrap_or(Room::Unknown)
}
