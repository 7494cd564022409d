//! Applications: drafts in progress (with their uploaded files) and submissions.
//!
//! The store sees only sealed answers and file names (the web layer encrypts them
//! under the authority's data key). A submission is written in one transaction with
//! its receipt number, its files and the confirmation e-mail in the outbox, and the
//! draft it came from is deleted in the same transaction: after the commit the
//! application exists exactly once, before it nothing of it does.
//!
//! This file holds the row and input types and the receipt-number format shared by
//! the rest; the queries live beside it by job: [`drafts`] (a draft's life from the
//! first step to its expiry), [`files`] (uploads of drafts and files of
//! submissions), [`group_commit`] (storing submissions, singly or as one batch per
//! commit), [`read`] (reading stored submissions) and [`benchmark`] (filling a
//! database for the start-up benchmark).

mod benchmark;
mod drafts;
mod files;
mod group_commit;
mod read;

use crate::outbox::EmailMessage;
use serde::Serialize;

/// An application in progress.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ApplicationDraft {
    pub token: String,
    pub authority_id: i64,
    pub form_id: i64,
    pub form_version: i64,
    pub citizen_id: Option<i64>,
    pub browser_hash: String,
    pub csrf: String,
    /// Sealed JSON of the answers so far.
    pub answers: String,
    /// The step the citizen was last on.
    pub step: String,
    pub resume_hash: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub expires_at: i64,
}

const DRAFT_COLUMNS: [&str; 13] = [
    "token",
    "authority_id",
    "form_id",
    "form_version",
    "citizen_id",
    "browser_hash",
    "csrf",
    "answers",
    "step",
    "resume_hash",
    "created_at",
    "updated_at",
    "expires_at",
];

/// A new draft.
#[derive(Debug, Clone)]
pub struct NewDraft<'a> {
    pub token: &'a str,
    pub authority_id: i64,
    pub form_id: i64,
    pub form_version: i64,
    pub citizen_id: Option<i64>,
    pub browser_hash: &'a str,
    pub csrf: &'a str,
    pub answers: &'a str,
    pub step: &'a str,
    pub expires_at: i64,
}

/// A file uploaded into a draft or attached to a submission.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct FileRow {
    pub id: i64,
    /// The field (path) the file answers.
    pub field: String,
    /// Sealed.
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub object_key: String,
}

const FILE_COLUMNS: [&str; 7] = ["id", "field", "file_name", "content_type", "size", "sha256", "object_key"];

#[derive(Debug, Clone)]
pub struct NewFile<'a> {
    pub field: &'a str,
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub size: i64,
    pub sha256: &'a str,
    pub object_key: &'a str,
}

/// A submitted application.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SubmissionRow {
    pub id: i64,
    pub authority_id: i64,
    pub form_id: i64,
    pub form_version: i64,
    pub form_token: String,
    pub receipt_number: String,
    pub title: String,
    pub citizen_id: Option<i64>,
    pub browser_hash: String,
    pub status: String,
    /// Sealed JSON of the answers.
    pub data: String,
    pub data_hash: String,
    pub submitted_at: i64,
    pub status_at: i64,
    /// Sub-status of a final state ("bewilligt"), '' when none.
    pub sub_status: String,
    /// The org unit of the service, for the inbox per org unit.
    pub org_unit_id: Option<i64>,
    pub assignee_id: Option<i64>,
    /// YYYY-MM-DD, '' when none.
    pub due_on: String,
    /// The Postfach thread of this application's messages.
    pub thread_id: Option<i64>,
}

pub(crate) const SUBMISSION_COLUMNS: [&str; 19] = [
    "id",
    "authority_id",
    "form_id",
    "form_version",
    "form_token",
    "receipt_number",
    "title",
    "citizen_id",
    "browser_hash",
    "status",
    "data",
    "data_hash",
    "submitted_at",
    "status_at",
    "sub_status",
    "org_unit_id",
    "assignee_id",
    "due_on",
    "thread_id",
];

/// Replaced by the receipt number in the confirmation e-mail.
pub const RECEIPT_PLACEHOLDER: &str = "{eingangsnummer}";

/// Status of a submission as it arrives.
pub const STATUS_RECEIVED: &str = "eingegangen";

/// What to store for a submission.
#[derive(Debug, Clone)]
pub struct NewSubmission<'a> {
    /// The draft's token; also the idempotency key.
    pub form_token: &'a str,
    pub authority_id: i64,
    pub form_id: i64,
    pub form_version: i64,
    pub title: &'a str,
    pub org_unit_id: Option<i64>,
    pub citizen_id: Option<i64>,
    pub browser_hash: &'a str,
    pub data: &'a str,
    pub data_hash: &'a str,
    /// Prefix and year of the receipt number, e.g. ("HK", 2026) for `HK-2026-000123`.
    pub receipt_prefix: &'a str,
    pub year: i64,
    /// The confirmation e-mail, if the citizen gave an address; `{eingangsnummer}`
    /// in its subject and body becomes the receipt number (known only in the commit).
    pub confirmation: Option<&'a EmailMessage>,
}

/// A [`NewSubmission`] that owns its values, to hand to another task (the group
/// committer).
#[derive(Debug, Clone)]
pub struct OwnedSubmission {
    pub form_token: String,
    pub authority_id: i64,
    pub form_id: i64,
    pub form_version: i64,
    pub title: String,
    pub org_unit_id: Option<i64>,
    pub citizen_id: Option<i64>,
    pub browser_hash: String,
    pub data: String,
    pub data_hash: String,
    pub receipt_prefix: String,
    pub year: i64,
    pub confirmation: Option<EmailMessage>,
}

impl OwnedSubmission {
    #[must_use]
    pub fn as_new(&self) -> NewSubmission<'_> {
        NewSubmission {
            form_token: &self.form_token,
            authority_id: self.authority_id,
            form_id: self.form_id,
            form_version: self.form_version,
            title: &self.title,
            org_unit_id: self.org_unit_id,
            citizen_id: self.citizen_id,
            browser_hash: &self.browser_hash,
            data: &self.data,
            data_hash: &self.data_hash,
            receipt_prefix: &self.receipt_prefix,
            year: self.year,
            confirmation: self.confirmation.as_ref(),
        }
    }
}

/// The stored submission, and whether this call stored it (false: it existed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub id: i64,
    pub receipt_number: String,
    /// When it was stored (ms since the epoch).
    pub submitted_at: i64,
    pub new: bool,
}

/// A receipt number such as `HK-2026-000123`.
#[must_use]
pub fn receipt_number(prefix: &str, year: i64, n: i64) -> String {
    format!("{prefix}-{year}-{n:06}")
}
