//! Writing to and reading from the citizen's Postfach: messages of an authority
//! (with attachments, checked like the citizen's own), the citizen's replies, and
//! opening what is sealed. Subjects, texts, file names and files are sealed under the
//! key of the authority the thread is with, subjects and texts bound to the citizen,
//! files and their names to the object key (see [`record`]); the e-mail notice of a new message says
//! only that there is one, never its content.

use crate::keyring::{authority_scope, record};
use crate::tokens::random_token;
use crate::{Portal, PortalError, Result};
use amtsweg_domain::konto::{MAX_ATTACHMENTS, check_attachment, check_message};
use amtsweg_store::konto::{Direction, NewAttachment};

/// Seals a Postfach text (`purpose`: "subject", "message" bound to
/// [`record::citizen`], "file_name" to [`record::object`]) or file ("file", bound to
/// [`record::object`]).
///
/// # Errors
/// On store or crypto errors.
pub async fn seal(portal: &Portal, authority_id: i64, purpose: &str, record: &str, plain: &[u8]) -> Result<String> {
    portal.seal_bound(&authority_scope(authority_id), &format!("postfach:{purpose}"), record, plain).await
}

/// Opens a Postfach text sealed for `record`; a value that does not open shows as
/// a notice.
pub async fn open_text(portal: &Portal, authority_id: i64, purpose: &str, record: &str, sealed: &str) -> String {
    match portal.open_bound_text(&authority_scope(authority_id), &format!("postfach:{purpose}"), record, sealed).await {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(%purpose, error = %e, "Postfach value does not open");
            "(nicht lesbar)".to_owned()
        }
    }
}

/// A file name safe to show and to put into `Content-Disposition`.
#[must_use]
pub fn sanitize_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base.chars().filter(|c| !c.is_control() && !matches!(c, '"' | ';')).take(120).collect();
    if clean.trim().is_empty() { "Anhang".to_owned() } else { clean }
}

/// Seals and stores attachments (already checked) under the authority's prefix.
pub(crate) async fn store_attachments(
    portal: &Portal,
    authority_id: i64,
    citizen_id: i64,
    files: &[(&str, &'static str, &[u8])],
) -> Result<Vec<NewAttachment>> {
    let mut stored = Vec::new();
    for (name, content_type, bytes) in files {
        let key = format!("authorities/{authority_id}/postfach/{citizen_id}/{}", random_token());
        let object = record::object(&key);
        let sealed = seal(portal, authority_id, "file", &object, bytes).await?;
        crate::files::put(portal, &key, sealed.into_bytes()).await?;
        stored.push(NewAttachment {
            file_name: seal(portal, authority_id, "file_name", &object, sanitize_name(name).as_bytes()).await?,
            content_type: (*content_type).to_owned(),
            size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
            object_key: key,
        });
    }
    Ok(stored)
}

/// One of the citizen's attachments, opened: (file name, content type, bytes).
///
/// # Errors
/// `NotFound` for another's attachment; store, object-store or crypto errors.
pub async fn attachment(portal: &Portal, citizen_id: i64, id: i64) -> Result<(String, String, Vec<u8>)> {
    let a = portal.store.attachment(citizen_id, id).await?.ok_or(PortalError::NotFound)?;
    let authority = portal.store.thread_of_message(citizen_id, a.message_id).await?.ok_or(PortalError::NotFound)?;
    let bytes = open_file(portal, authority, &a.object_key).await?;
    let file_name = open_text(portal, authority, "file_name", &record::object(&a.object_key), &a.file_name).await;
    Ok((file_name, a.content_type, bytes))
}

/// The stored file of an attachment of a thread with `authority_id`, opened.
///
/// # Errors
/// `NotFound` when it is gone; object-store or crypto errors.
pub(crate) async fn open_file(portal: &Portal, authority_id: i64, object_key: &str) -> Result<Vec<u8>> {
    let sealed = crate::files::get_sealed(portal, object_key).await?;
    portal.open_bound(&authority_scope(authority_id), "postfach:file", &record::object(object_key), &sealed).await
}

/// A message from an authority to a citizen's Postfach.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub citizen_id: i64,
    pub authority_id: i64,
    /// Shown as the sender, e.g. "Stadt Moorbrück, Bürgerbüro".
    pub sender: String,
    pub subject: String,
    pub body: String,
    /// (file name, bytes); checked like the citizen's own attachments.
    pub attachments: Vec<(String, Vec<u8>)>,
}

/// Why a delivery was refused.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("{0}")]
    Invalid(String),
    #[error("no such citizen account")]
    UnknownCitizen,
    #[error("{0}")]
    Portal(#[from] PortalError),
}

impl From<amtsweg_store::StoreError> for DeliveryError {
    fn from(e: amtsweg_store::StoreError) -> Self {
        Self::Portal(e.into())
    }
}

/// A message checked and sealed, its files stored, ready to be written.
pub struct Prepared {
    citizen: amtsweg_store::konto::Citizen,
    authority_id: i64,
    sender: String,
    subject: String,
    body: String,
    attachments: Vec<NewAttachment>,
}

/// Puts a message into a citizen's Postfach and, in the same transaction, queues an
/// e-mail notice that says only that there is a new message, with a link — never
/// its content. Used by the back office, the CLI and tests.
///
/// # Errors
/// Invalid message or attachment, unknown citizen, store or object-store failures.
pub async fn deliver(portal: &Portal, d: &Delivery) -> Result<(i64, i64), DeliveryError> {
    let p = prepare(portal, d).await?;
    let mut tx = portal.store.begin().await?;
    let ids = write(&mut tx, &p, None, portal.settings.base_url()).await?;
    tx.commit().await?;
    Ok(ids)
}

/// Checks and seals a message and stores its files (first, so that a crash leaves
/// at most an orphan file, never a message with a missing attachment).
///
/// # Errors
/// Invalid message or attachment, unknown citizen, store or object-store failures.
pub async fn prepare(portal: &Portal, d: &Delivery) -> Result<Prepared, DeliveryError> {
    check_message(&d.subject, &d.body).map_err(|e| DeliveryError::Invalid(e.0))?;
    if d.attachments.len() > MAX_ATTACHMENTS {
        return Err(DeliveryError::Invalid(format!("höchstens {MAX_ATTACHMENTS} Anhänge")));
    }
    let citizen = portal.store.citizen_by_id(d.citizen_id).await?.ok_or(DeliveryError::UnknownCitizen)?;
    let mut checked = Vec::new();
    for (name, bytes) in &d.attachments {
        let content_type = check_attachment(name, bytes).map_err(|e| DeliveryError::Invalid(e.0))?;
        checked.push((name.as_str(), content_type, bytes.as_slice()));
    }
    let attachments = store_attachments(portal, d.authority_id, d.citizen_id, &checked).await?;
    Ok(Prepared {
        citizen,
        authority_id: d.authority_id,
        sender: d.sender.clone(),
        subject: seal(portal, d.authority_id, "subject", &record::citizen(d.citizen_id), d.subject.trim().as_bytes())
            .await?,
        body: seal(portal, d.authority_id, "message", &record::citizen(d.citizen_id), d.body.trim().as_bytes()).await?,
        attachments,
    })
}

/// Writes a prepared message into `thread` (or a new thread) with its e-mail notice
/// and audit entry, inside the caller's transaction. Returns (thread, message).
///
/// # Errors
/// On store errors, or a thread that is not the citizen's.
pub async fn write(
    tx: &mut amtsweg_store::Tx,
    p: &Prepared,
    thread: Option<i64>,
    public_base_url: &str,
) -> Result<(i64, i64), DeliveryError> {
    let (thread, message) = tx
        .post_message(
            p.citizen.id,
            p.authority_id,
            thread,
            &p.subject,
            Direction::ToCitizen,
            &p.sender,
            &p.body,
            &p.attachments,
        )
        .await?;
    if let Some(email) = p.citizen.email.clone().filter(|_| p.citizen.email_verified) {
        tx.enqueue_email(&amtsweg_store::outbox::EmailMessage {
            to: email,
            subject: "Sie haben eine neue Nachricht in Ihrem Postfach".into(),
            body: format!(
                "Guten Tag,\n\nin Ihrem Bürgerkonto liegt eine neue Nachricht von {}.\nAus Datenschutzgründen steht der Inhalt nicht in dieser E-Mail. Lesen Sie die Nachricht nach der Anmeldung hier:\n\n{}/konto/postfach/{thread}\n",
                p.sender,
                public_base_url.trim_end_matches('/'),
            ),
            attachments: Vec::new(),
        })
        .await?;
    }
    tx.append_audit(&amtsweg_domain::audit::AuditEntry {
        at: amtsweg_store::now_ms(),
        actor: format!("authority:{}", p.authority_id),
        authority_id: Some(p.authority_id),
        action: "postfach.deliver".into(),
        target: format!("thread:{thread}"),
        outcome: "success".into(),
    })
    .await?;
    Ok((thread, message))
}
