//! Drafts of applications: the answers sealed under the authority's key (bound to
//! the draft's token), their files sealed in the object store (bound, like their
//! names, to the object key, which the submission keeps), saving, removing a file, discarding, and the sweeper
//! that deletes expired drafts with their files.

use crate::files::CheckedFile;
use crate::keyring::{authority_scope, record};
use crate::tokens::random_token;
use crate::{Portal, PortalError, Result};
use amtsweg_forms::Answers;
use amtsweg_store::submissions::{ApplicationDraft, FileRow, NewFile};

/// Purposes of what is sealed here (bound into the ciphertext).
pub(crate) const ANSWERS: &str = "antrag:answers";
pub(crate) const FILE: &str = "antrag:file";
pub(crate) const FILE_NAME: &str = "antrag:file_name";

pub use amtsweg_forms::display::FileInfo;

/// The answers of a draft, opened.
///
/// # Errors
/// When they do not open or parse.
pub async fn answers(portal: &Portal, d: &ApplicationDraft) -> Result<Answers> {
    if d.answers.is_empty() {
        return Ok(Answers::new());
    }
    let json =
        portal.open_bound_text(&authority_scope(d.authority_id), ANSWERS, &record::draft(&d.token), &d.answers).await?;
    serde_json::from_str(&json).map_err(|e| PortalError::Internal(format!("draft answers: {e}")))
}

/// Seals answers for storing them in the draft of form token `token`.
///
/// # Errors
/// On store or crypto errors.
pub async fn seal_answers(portal: &Portal, authority_id: i64, token: &str, a: &Answers) -> Result<String> {
    let json = serde_json::to_string(a).map_err(|e| PortalError::Internal(e.to_string()))?;
    portal.seal_bound(&authority_scope(authority_id), ANSWERS, &record::draft(token), json.as_bytes()).await
}

/// The stored files of a draft (one read) with their names opened: the rows as
/// stored, and what the citizen sees.
///
/// # Errors
/// On store or crypto errors.
pub async fn files(portal: &Portal, d: &ApplicationDraft) -> Result<(Vec<FileRow>, Vec<FileInfo>)> {
    let scope = authority_scope(d.authority_id);
    let rows = portal.store.application_draft_files(&d.token).await?;
    let mut out = Vec::with_capacity(rows.len());
    for f in &rows {
        let name = portal.open_bound_text(&scope, FILE_NAME, &record::object(&f.object_key), &f.file_name).await?;
        out.push(FileInfo { id: f.id, field: f.field.clone(), name, size: f.size });
    }
    Ok((rows, out))
}

/// Saves the draft's answers and the step the citizen is on; the draft lives
/// another `draft_days` from now.
///
/// # Errors
/// On store or crypto errors.
pub async fn save(portal: &Portal, d: &ApplicationDraft, answers: &Answers, step: &str) -> Result<()> {
    let sealed = seal_answers(portal, d.authority_id, &d.token, answers).await?;
    let mut tx = portal.store.begin().await?;
    tx.save_application_draft(&d.token, &sealed, step, amtsweg_store::now_ms() + portal.settings.draft_ttl_ms())
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Seals and stores a checked file of a draft under the authority's prefix; the
/// draft's earlier files of the same field (`replaced`) go. Returns the new id.
///
/// # Errors
/// On store, object-store or crypto errors.
pub async fn add_file(portal: &Portal, d: &ApplicationDraft, f: &CheckedFile, replaced: &[i64]) -> Result<i64> {
    let scope = authority_scope(d.authority_id);
    let key = format!("authorities/{}/antraege/{}", d.authority_id, random_token());
    let object = record::object(&key);
    let sealed = portal.seal_bound(&scope, FILE, &object, &f.bytes).await?;
    let name = portal.seal_bound(&scope, FILE_NAME, &object, f.name.as_bytes()).await?;
    crate::files::put(portal, &key, sealed.into_bytes()).await?;
    let mut tx = portal.store.begin().await?;
    let id = tx
        .add_application_draft_file(
            &d.token,
            &NewFile {
                field: &f.field,
                file_name: &name,
                content_type: f.kind.content_type(),
                size: i64::try_from(f.bytes.len()).unwrap_or(i64::MAX),
                sha256: &f.sha256,
                object_key: &key,
            },
        )
        .await?;
    let mut old_keys = Vec::new();
    for old in replaced {
        old_keys.extend(tx.remove_application_draft_file(&d.token, *old).await?);
    }
    tx.commit().await?;
    crate::files::delete_all(portal, old_keys).await;
    Ok(id)
}

/// Removes one file of a draft.
///
/// # Errors
/// On store errors.
pub async fn remove_file(portal: &Portal, d: &ApplicationDraft, id: i64) -> Result<()> {
    let mut tx = portal.store.begin().await?;
    let key = tx.remove_application_draft_file(&d.token, id).await?;
    tx.commit().await?;
    crate::files::delete_all(portal, key).await;
    Ok(())
}

/// Deletes a draft with its files.
///
/// # Errors
/// On store errors.
pub async fn discard(portal: &Portal, d: &ApplicationDraft) -> Result<()> {
    let mut tx = portal.store.begin().await?;
    let keys = tx.delete_application_draft(&d.token).await?;
    tx.commit().await?;
    crate::files::delete_all(portal, keys).await;
    Ok(())
}

/// Reads a stored file of an application back (sealed under the authority's key).
///
/// # Errors
/// `NotFound` when it is gone; object-store or crypto errors.
pub async fn read_file(portal: &Portal, authority_id: i64, object_key: &str) -> Result<Vec<u8>> {
    let sealed = crate::files::get_sealed(portal, object_key).await?;
    portal.open_bound(&authority_scope(authority_id), FILE, &record::object(object_key), &sealed).await
}

/// The name of the stored file `object_key` of an application; "Datei" when it
/// does not open.
pub async fn open_file_name(portal: &Portal, authority_id: i64, object_key: &str, sealed: &str) -> String {
    let scope = authority_scope(authority_id);
    portal.open_bound_text(&scope, FILE_NAME, &record::object(object_key), sealed).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "file name does not open");
        "Datei".to_owned()
    })
}

/// Deletes expired drafts with their files (run periodically). Returns how many.
///
/// # Errors
/// On store errors.
pub async fn sweep_expired(portal: &Portal) -> Result<u64> {
    let mut total = 0;
    loop {
        let mut tx = portal.store.begin().await?;
        let (n, keys) = tx.delete_expired_application_drafts(amtsweg_store::now_ms(), 200).await?;
        tx.commit().await?;
        crate::files::delete_all(portal, keys).await;
        total += n;
        if n < 200 {
            return Ok(total);
        }
    }
}

/// Runs [`sweep_expired`] every `every` until the process ends.
pub fn spawn_sweeper(portal: Portal, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match sweep_expired(&portal).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(drafts = n, "expired application drafts deleted"),
                Err(e) => tracing::warn!(error = %e, "deleting expired drafts failed"),
            }
        }
    })
}
