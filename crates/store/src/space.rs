//! A full disk: recognising it in errors, keeping the SQLite writer usable through
//! it, and looking whether there is room again.
//!
//! When the disk under the database or the uploaded files fills up, writes fail
//! while reads still work. The portal then answers "temporarily not possible" (503)
//! rather than a generic error, the health check says so, and everything works again
//! once space is freed — without a restart.

use sqlx::Connection;
use sqlx::pool::PoolConnectionMetadata;
use sqlx::sqlite::SqliteConnection;
use std::error::Error;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;

/// SQLite's primary result code for "database or disk is full".
const SQLITE_FULL: i64 = 13;
/// PostgreSQL's SQLSTATE `disk_full`.
const PG_DISK_FULL: &str = "53100";

/// Whether `e` (or one of its causes) is the operating system's "no space left on
/// device" or "disk quota exceeded".
#[must_use]
pub fn is_full(e: &(dyn Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        if e.downcast_ref::<std::io::Error>().is_some_and(io_is_full) {
            return true;
        }
        next = e.source();
    }
    false
}

/// Whether an I/O error means the disk (or the quota) is full.
#[must_use]
pub fn io_is_full(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded)
}

/// Whether a database error means the database's disk is full, on either backend.
pub(crate) fn sqlx_is_full(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // SQLite reports extended codes; the primary code is the low byte.
            code == PG_DISK_FULL || code.parse::<i64>().is_ok_and(|c| c & 0xff == SQLITE_FULL)
        }),
        sqlx::Error::Io(io) => io_is_full(io),
        other => is_full(other),
    }
}

/// Decides whether the SQLite writer connection goes back into its pool after use.
///
/// A failed COMMIT (or statement) on a full disk may make SQLite roll the
/// transaction back by itself. The pool's own rollback then fails and its count of
/// open transactions stays at one, so the next "begin" only opens a savepoint, and
/// a later failure can leave a transaction open that is never committed: every
/// write after it — drafts, submissions with receipts already shown — would be
/// visible to this connection alone and lost at the next restart. Such a connection
/// is closed instead (which rolls back whatever it holds); the pool opens a fresh one.
pub(crate) fn writer_still_usable(
    conn: &mut SqliteConnection,
    _: PoolConnectionMetadata,
) -> Pin<Box<dyn Future<Output = Result<bool, sqlx::Error>> + Send + '_>> {
    Box::pin(async move {
        // After a commit the count is settled at zero. Above zero, a dropped
        // transaction's rollback may still be queued: one round trip lets it run.
        if !conn.is_in_transaction() {
            return Ok(true);
        }
        conn.ping().await?;
        let clean = !conn.is_in_transaction();
        if !clean {
            tracing::warn!("the database writer is out of step after a failed write; opening a new connection");
        }
        Ok(clean)
    })
}

/// Whether `dir` can take a small write now: a probe file of 64 KiB is written and
/// removed again (no sync). `Ok(false)` when the disk or quota is full; other errors
/// (no such directory, no permission) as they are.
///
/// # Errors
/// I/O errors other than a full disk.
pub fn has_room(dir: &Path) -> std::io::Result<bool> {
    use std::io::Write;
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let probe = dir.join(format!(".amtsweg-space-probe-{}-{n}", std::process::id()));
    let written = std::fs::File::create(&probe).and_then(|mut f| f.write_all(&[0u8; 64 * 1024]));
    let _ = std::fs::remove_file(&probe);
    match written {
        Ok(()) => Ok(true),
        Err(e) if io_is_full(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::{has_room, io_is_full, is_full};

    #[test]
    fn a_full_disk_is_recognised_through_wrapping_errors() {
        let enospc = std::io::Error::from_raw_os_error(28);
        assert!(io_is_full(&enospc));
        #[derive(Debug, thiserror::Error)]
        #[error("copying failed")]
        struct Wrapper(#[source] std::io::Error);
        assert!(is_full(&Wrapper(std::io::Error::from_raw_os_error(28))));
        assert!(!is_full(&Wrapper(std::io::Error::from_raw_os_error(2))));
        assert!(!io_is_full(&std::io::Error::other("no")));
    }

    #[test]
    fn a_directory_with_room_passes_the_probe_and_keeps_no_file() {
        let dir = tempfile::tempdir().unwrap();
        assert!(has_room(dir.path()).unwrap());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert!(has_room(&dir.path().join("missing")).is_err());
    }
}
