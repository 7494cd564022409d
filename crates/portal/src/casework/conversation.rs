//! The conversation of a case: every Postfach message of the application's thread,
//! the authority's (questions, messages, decisions) and the citizen's replies, in
//! order, with their attachments; which replies nobody of the authority has read.
//!
//! A case's thread is the one the submission row links (`thread_id`), and it must be
//! the citizen's thread with this very authority: a case never shows another
//! authority's messages, even with a damaged link.

use super::Case;
use crate::keyring::record;
use crate::postfach::open_text;
use crate::{Portal, PortalError, Result};

/// A file attached to a message of the conversation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct File {
    pub id: i64,
    pub name: String,
    pub content_type: String,
    pub size: i64,
}

/// One message of the conversation, opened.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Message {
    pub id: i64,
    /// Written by the citizen (a reply) rather than by the authority.
    pub from_citizen: bool,
    pub sender: String,
    pub at: i64,
    pub text: String,
    pub files: Vec<File>,
    /// A reply of the citizen nobody of the authority has seen yet.
    pub unread: bool,
}

/// The thread of the case: (citizen, thread), if it has one of this authority.
async fn thread_of(portal: &Portal, case: &Case) -> Result<Option<(i64, i64)>> {
    let (Some(citizen_id), Some(thread_id)) = (case.row.citizen_id, case.row.thread_id) else { return Ok(None) };
    match portal.store.thread(citizen_id, thread_id).await? {
        Some(t) if t.authority_id == case.row.authority_id => Ok(Some((citizen_id, thread_id))),
        Some(_) => {
            tracing::error!(submission = case.row.id, thread_id, "the case's thread belongs to another authority");
            Ok(None)
        }
        None => Ok(None),
    }
}

/// Every message of the case's thread, oldest first.
///
/// # Errors
/// On store or crypto errors.
pub async fn conversation(portal: &Portal, case: &Case) -> Result<Vec<Message>> {
    let Some((citizen_id, thread_id)) = thread_of(portal, case).await? else { return Ok(Vec::new()) };
    let authority = case.row.authority_id;
    let attachments = portal.store.attachments(citizen_id, thread_id).await?;
    let mut out = Vec::new();
    for m in portal.store.messages(citizen_id, thread_id).await? {
        let mut files = Vec::new();
        for a in attachments.iter().filter(|a| a.message_id == m.id) {
            files.push(File {
                id: a.id,
                name: open_text(portal, authority, "file_name", &record::object(&a.object_key), &a.file_name).await,
                content_type: a.content_type.clone(),
                size: a.size,
            });
        }
        let from_citizen = !m.is_to_citizen();
        out.push(Message {
            id: m.id,
            from_citizen,
            sender: m.sender.clone(),
            at: m.created_at,
            text: open_text(portal, authority, "message", &record::citizen(citizen_id), &m.body).await,
            files,
            unread: from_citizen && m.read_at.is_none(),
        });
    }
    Ok(out)
}

/// Marks the citizen's replies in the case's thread as read by the authority;
/// returns how many were unread.
///
/// # Errors
/// On store errors.
pub async fn mark_read(portal: &Portal, case: &Case) -> Result<u64> {
    let Some((citizen_id, thread_id)) = thread_of(portal, case).await? else { return Ok(0) };
    let mut tx = portal.store.begin().await?;
    let n = tx.mark_replies_read(citizen_id, thread_id).await?;
    tx.commit().await?;
    Ok(n)
}

/// One attachment of the case's conversation, opened: (file name, content type,
/// bytes). `NotFound` for any file outside this case's thread.
///
/// # Errors
/// Not found; store, object-store or crypto errors.
pub async fn attachment(portal: &Portal, case: &Case, attachment_id: i64) -> Result<(String, String, Vec<u8>)> {
    let (citizen_id, thread_id) = thread_of(portal, case).await?.ok_or(PortalError::NotFound)?;
    let a = portal.store.attachment(citizen_id, attachment_id).await?.ok_or(PortalError::NotFound)?;
    if !portal.store.messages(citizen_id, thread_id).await?.iter().any(|m| m.id == a.message_id) {
        return Err(PortalError::NotFound);
    }
    let authority = case.row.authority_id;
    let bytes = crate::postfach::open_file(portal, authority, &a.object_key).await?;
    let name = open_text(portal, authority, "file_name", &record::object(&a.object_key), &a.file_name).await;
    Ok((name, a.content_type, bytes))
}
