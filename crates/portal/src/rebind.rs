//! The start-up step that binds values sealed by older versions to their record:
//! every sealed column still holding the old format (`v1:`, associated data
//! scope|purpose only) is opened once and sealed again with the record (see
//! [`crate::keyring::record`]); stored files are re-sealed before the row that names
//! them, so a file whose name is bound is known to be bound too. Idempotent, resumes
//! after a crash, safe with several nodes starting at once (each row is replaced only
//! if it still holds the old value). After it, normal reads accept bound values only.

use crate::keyring::{CITIZEN_SCOPE, CryptoError, Keyring, authority_scope, record};
use crate::{PortalError, Result};
use amtsweg_store::Store;
use amtsweg_store::unbound::{SealedColumn, UnboundValue};
use object_store::ObjectStore;
use object_store::path::Path;

/// Rows read per round.
const BATCH: u64 = 500;

/// Where a value belongs: scope, purpose and record, and for a file name the
/// purpose of the file it names.
struct Target {
    scope: String,
    purpose: String,
    record: String,
    file: Option<&'static str>,
}

fn target(column: SealedColumn, v: &UnboundValue) -> Target {
    let authority = authority_scope(v.authority_id);
    let (scope, purpose, record, file) = match column {
        SealedColumn::ProfileValues => {
            (CITIZEN_SCOPE.to_owned(), format!("profile:{}", v.name), record::citizen(v.owner), None)
        }
        SealedColumn::DraftAnswers => (authority, crate::drafts::ANSWERS.to_owned(), record::draft(&v.name), None),
        SealedColumn::DraftFileNames | SealedColumn::SubmissionFileNames => {
            (authority, crate::drafts::FILE_NAME.to_owned(), record::object(&v.name), Some(crate::drafts::FILE))
        }
        SealedColumn::SubmissionData => {
            (authority, crate::submission::SUBMISSION.to_owned(), record::submission(&v.name), None)
        }
        SealedColumn::CaseTexts => (authority, crate::casework::EVENT_TEXT.to_owned(), record::case(v.owner), None),
        SealedColumn::ThreadSubjects => (authority, "postfach:subject".to_owned(), record::citizen(v.owner), None),
        SealedColumn::MessageBodies => (authority, "postfach:message".to_owned(), record::citizen(v.owner), None),
        SealedColumn::AttachmentNames => {
            (authority, "postfach:file_name".to_owned(), record::object(&v.name), Some("postfach:file"))
        }
        SealedColumn::ConnectorConfigs => {
            (authority, crate::handoff::CONNECTOR_CONFIG.to_owned(), record::connector(v.owner), None)
        }
    };
    Target { scope, purpose, record, file }
}

/// Re-seals every value and stored file still in the old format. Returns how many
/// values were re-sealed; values that do not open are logged and left as they are
/// (they did not open before either).
///
/// # Errors
/// On store or object-store errors.
pub async fn rebind_all(store: &Store, keyring: &Keyring, objects: &dyn ObjectStore) -> Result<usize> {
    let mut done = 0;
    for column in SealedColumn::ALL {
        let mut skipped = 0;
        loop {
            let rows = store.unbound_values(column, skipped, BATCH).await?;
            for v in &rows {
                if rebind_one(store, keyring, objects, column, v).await? {
                    done += 1;
                } else {
                    skipped += 1;
                }
            }
            if (rows.len() as u64) < BATCH {
                break;
            }
        }
        if skipped > 0 {
            tracing::error!(?column, values = skipped, "sealed values do not open and were not re-sealed");
        }
    }
    if done > 0 {
        tracing::info!(values = done, "sealed values of an older version bound to their records");
    }
    Ok(done)
}

/// One value (and the file it names): false when it does not open.
async fn rebind_one(
    store: &Store,
    keyring: &Keyring,
    objects: &dyn ObjectStore,
    column: SealedColumn,
    v: &UnboundValue,
) -> Result<bool> {
    let t = target(column, v);
    if let Some(purpose) = t.file {
        rebind_file(store, keyring, objects, &t.scope, purpose, &v.name).await?;
    }
    let new = match keyring.rebind(store, &t.scope, &t.purpose, &t.record, &v.value).await {
        Ok(Some(new)) => new,
        Ok(None) | Err(CryptoError::Corrupt) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    let mut tx = store.begin().await?;
    // Not replaced: another node did it meanwhile; it is bound either way.
    tx.replace_unbound(column, v, &new).await?;
    tx.commit().await?;
    Ok(true)
}

/// Re-seals a stored file bound to its object key; a file that is gone or already
/// bound is left alone.
async fn rebind_file(
    store: &Store,
    keyring: &Keyring,
    objects: &dyn ObjectStore,
    scope: &str,
    purpose: &str,
    key: &str,
) -> Result<()> {
    let path = Path::from(key);
    let bytes = match objects.get(&path).await {
        Ok(r) => r.bytes().await.map_err(|e| PortalError::Objects(e.to_string()))?,
        Err(object_store::Error::NotFound { .. }) => return Ok(()),
        Err(e) => return Err(PortalError::objects(&e)),
    };
    let Ok(sealed) = std::str::from_utf8(&bytes) else { return Ok(()) };
    match keyring.rebind(store, scope, purpose, &record::object(key), sealed).await {
        Ok(Some(new)) => {
            objects.put(&path, new.into_bytes().into()).await.map_err(|e| PortalError::objects(&e))?;
        }
        Ok(None) => {}
        Err(e) => tracing::error!(%key, error = %e, "stored file does not open and was not re-sealed"),
    }
    Ok(())
}
