//! Handing the container over: written atomically and idempotently into a DMS import
//! folder, or POSTed with the idempotency key to an HTTP endpoint.

use super::{Export, XdomeaDirs, XdomeaError, XdomeaTarget, build};
use crate::package::Package;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt as _;
use uuid::Uuid;

/// Writes the container into `dir` (a DMS import folder) and returns its path.
///
/// Atomic: written to a hidden temporary name in the same folder, fsync'd, renamed, folder
/// fsync'd, so an importer never sees half a file. Idempotent: the file name follows from the
/// idempotency key, and an existing file with identical content is left untouched. An existing
/// file with different content (a rebuild with another `created_at_ms`) is replaced atomically.
///
/// # Errors
/// [`XdomeaError::Io`] (retryable), e.g. when the folder does not exist or is not writable.
pub async fn write_to_dir(dir: &Path, e: &Export) -> Result<PathBuf, XdomeaError> {
    if e.file_name.is_empty() || e.file_name.contains(['/', '\\']) || e.file_name.starts_with('.') {
        return Err(XdomeaError::Package(format!("unsafe container file name \"{}\"", e.file_name)));
    }
    let target = dir.join(&e.file_name);
    // Not following a symbolic link in the container's place: it is replaced, never
    // read or written through.
    match tokio::fs::symlink_metadata(&target).await {
        Ok(meta) => {
            if meta.is_file() && meta.len() == e.zip.len() as u64 {
                let existing = tokio::fs::read(&target).await.map_err(io_at(&target))?;
                if existing == e.zip {
                    return Ok(target);
                }
            }
            tracing::warn!(path = %target.display(), "xdomea: replacing an export with different content");
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(io_at(&target)(err)),
    }

    let tmp = dir.join(format!(".{}.{}.part", e.file_name, Uuid::new_v4().simple()));
    let written = async {
        let mut f = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&tmp).await?;
        f.write_all(&e.zip).await?;
        f.sync_all().await?;
        drop(f);
        tokio::fs::rename(&tmp, &target).await
    }
    .await;
    if let Err(err) = written {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(io_at(&tmp)(err));
    }
    sync_dir(dir).await?;
    Ok(target)
}

#[cfg(unix)]
async fn sync_dir(dir: &Path) -> Result<(), XdomeaError> {
    let d = tokio::fs::File::open(dir).await.map_err(io_at(dir))?;
    d.sync_all().await.map_err(io_at(dir))
}

#[cfg(not(unix))]
async fn sync_dir(_dir: &Path) -> Result<(), XdomeaError> {
    Ok(())
}

/// POSTs the container to `url` as `application/zip` with an `Idempotency-Key` header (and the
/// container's name in `Content-Disposition`). Any 2xx is success.
///
/// # Errors
/// [`XdomeaError::Status`] for other answers, [`XdomeaError::Http`] for transport errors; see
/// [`XdomeaError::is_retryable`].
pub async fn post(client: &reqwest::Client, url: &str, e: &Export, idempotency_key: &str) -> Result<(), XdomeaError> {
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/zip")
        .header("Idempotency-Key", idempotency_key)
        .header(reqwest::header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", e.file_name))
        .body(e.zip.clone())
        .send()
        .await?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let mut body = response.text().await.unwrap_or_default();
    if let Some((cut, _)) = body.char_indices().nth(500) {
        body.truncate(cut);
        body.push('…');
    }
    Err(XdomeaError::Status { status: status.as_u16(), body })
}

/// Builds the export for `p` and delivers it to `target`: into the folder `dirs`
/// hold for the package's authority, or to the URL (checked by `validate` against
/// the outbound-URL policy; `client` must be a policy client, which checks the
/// address again when connecting).
///
/// # Errors
/// As [`build`], [`XdomeaDirs::dir_for`], [`write_to_dir`] and [`post`].
pub async fn deliver(
    client: &reqwest::Client,
    target: &XdomeaTarget,
    dirs: &XdomeaDirs,
    p: &Package,
    created_at_ms: i64,
) -> Result<(), XdomeaError> {
    let e = build(p, created_at_ms)?;
    match target {
        XdomeaTarget::Directory => {
            let dir = dirs.dir_for(&p.authority.slug).await?;
            write_to_dir(&dir, &e).await.map(|_| ())
        }
        XdomeaTarget::Url(url) => post(client, url.as_str(), &e, &p.idempotency_key).await,
    }
}

fn io_at(path: &Path) -> impl Fn(std::io::Error) -> XdomeaError + '_ {
    move |source| XdomeaError::Io { path: path.to_path_buf(), source }
}
