//! Applications: drafts in progress (with their uploaded files) and submissions.
//!
//! The store sees only sealed answers and file names (the web layer encrypts them
//! under the authority's data key). A submission is written in one transaction with
//! its receipt number, its files and the confirmation e-mail in the outbox, and the
//! draft it came from is deleted in the same transaction: after the commit the
//! application exists exactly once, before it nothing of it does.

use crate::db::{Store, Tx};
use crate::outbox::EmailMessage;
use crate::{Result, StoreError, now_ms};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
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

impl Store {
    /// Stores several submissions in one transaction — one commit, one fsync, for a
    /// whole batch of concurrent citizens (group commit). When the batch fails as a
    /// whole, each is tried in a transaction of its own, so one bad submission does
    /// not take the others down. Results in the order given.
    ///
    /// # Errors
    /// Per submission, as [`Tx::submit`] and the commit.
    pub async fn submit_all(&self, batch: &[OwnedSubmission]) -> Vec<Result<Submitted>> {
        let together = async {
            let mut tx = self.begin().await?;
            let all: Vec<NewSubmission<'_>> = batch.iter().map(OwnedSubmission::as_new).collect();
            let out = tx.submit_many(&all).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(out)
        }
        .await;
        if let Ok(done) = together {
            return done.into_iter().map(Ok).collect();
        }
        let mut out = Vec::with_capacity(batch.len());
        for s in batch {
            let one = async {
                let mut tx = self.begin().await?;
                let r = tx.submit(&s.as_new()).await?;
                tx.commit().await?;
                Ok(r)
            }
            .await;
            out.push(one);
        }
        out
    }
}

impl Tx {
    /// Stores `count` placeholder submissions (sealed-looking data, numbers from
    /// `first`) for the start-up benchmark, which needs a database with a million of
    /// them; 1,000 rows per statement.
    ///
    /// # Errors
    /// On database errors.
    pub async fn fill_benchmark_submissions(
        &mut self,
        authority_id: i64,
        form_id: i64,
        first: i64,
        count: i64,
    ) -> Result<()> {
        let now = now_ms();
        let mut done = 0;
        while done < count {
            let n = Ord::min(count - done, 1000);
            let mut q = Query::insert()
                .into_table("submissions")
                .columns([
                    "authority_id",
                    "form_id",
                    "form_version",
                    "form_token",
                    "receipt_number",
                    "title",
                    "browser_hash",
                    "status",
                    "data",
                    "data_hash",
                    "submitted_at",
                    "status_at",
                ])
                .to_owned();
            for i in first + done..first + done + n {
                q.values_panic([
                    authority_id.into(),
                    form_id.into(),
                    1i64.into(),
                    format!("bench-{i}").into(),
                    receipt_number("BEN", 2026, i).into(),
                    "Briefwahlunterlagen".into(),
                    String::new().into(),
                    STATUS_RECEIVED.into(),
                    format!("v1:{}", "A".repeat(400)).into(),
                    "0".repeat(64).into(),
                    now.into(),
                    now.into(),
                ]);
            }
            self.execute(&q).await?;
            done += n;
        }
        Ok(())
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

impl Store {
    /// A draft by its token.
    ///
    /// # Errors
    /// On database errors.
    pub async fn application_draft(&self, token: &str) -> Result<Option<ApplicationDraft>> {
        let q = Query::select()
            .columns(DRAFT_COLUMNS)
            .from("form_drafts")
            .and_where(Expr::col("token").eq(token))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// The draft whose e-mailed resume link has this hash.
    ///
    /// # Errors
    /// On database errors.
    pub async fn application_draft_by_resume(&self, resume_hash: &str) -> Result<Option<ApplicationDraft>> {
        let q = Query::select()
            .columns(DRAFT_COLUMNS)
            .from("form_drafts")
            .and_where(Expr::col("resume_hash").eq(resume_hash))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// The drafts kept in a citizen's account, newest first.
    ///
    /// # Errors
    /// On database errors.
    pub async fn application_drafts_of_citizen(&self, citizen_id: i64) -> Result<Vec<ApplicationDraft>> {
        let q = Query::select()
            .columns(DRAFT_COLUMNS)
            .from("form_drafts")
            .and_where(Expr::col("citizen_id").eq(citizen_id))
            .order_by("updated_at", Order::Desc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// The files of a draft.
    ///
    /// # Errors
    /// On database errors.
    pub async fn application_draft_files(&self, token: &str) -> Result<Vec<FileRow>> {
        let q = Query::select()
            .columns(FILE_COLUMNS)
            .from("draft_files")
            .and_where(Expr::col("draft_token").eq(token))
            .order_by("id", Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// The submission made with a form token.
    ///
    /// # Errors
    /// On database errors.
    pub async fn submission_by_token(&self, form_token: &str) -> Result<Option<SubmissionRow>> {
        let q = Query::select()
            .columns(SUBMISSION_COLUMNS)
            .from("submissions")
            .and_where(Expr::col("form_token").eq(form_token))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// One submission of an authority.
    ///
    /// # Errors
    /// On database errors.
    pub async fn submission(&self, authority_id: i64, id: i64) -> Result<Option<SubmissionRow>> {
        let q = Query::select()
            .columns(SUBMISSION_COLUMNS)
            .from("submissions")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// One submission of a citizen.
    ///
    /// # Errors
    /// On database errors.
    pub async fn submission_of_citizen(&self, citizen_id: i64, id: i64) -> Result<Option<SubmissionRow>> {
        let q = Query::select()
            .columns(SUBMISSION_COLUMNS)
            .from("submissions")
            .and_where(Expr::col("citizen_id").eq(citizen_id))
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// A citizen's submissions, newest first.
    ///
    /// # Errors
    /// On database errors.
    pub async fn submissions_of_citizen(&self, citizen_id: i64) -> Result<Vec<SubmissionRow>> {
        let q = Query::select()
            .columns(SUBMISSION_COLUMNS)
            .from("submissions")
            .and_where(Expr::col("citizen_id").eq(citizen_id))
            .order_by("submitted_at", Order::Desc)
            .order_by("id", Order::Desc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// The files of a submission.
    ///
    /// # Errors
    /// On database errors.
    pub async fn submission_files(&self, submission_id: i64) -> Result<Vec<FileRow>> {
        let q = Query::select()
            .columns(FILE_COLUMNS)
            .from("submission_files")
            .and_where(Expr::col("submission_id").eq(submission_id))
            .order_by("id", Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// How many submissions an authority has (for tests and the start-up benchmark).
    ///
    /// # Errors
    /// On database errors.
    pub async fn count_submissions(&self, authority_id: i64) -> Result<i64> {
        #[derive(sqlx::FromRow)]
        struct N {
            n: i64,
        }
        let q = Query::select()
            .expr_as(Expr::col("id").count(), "n")
            .from("submissions")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .to_owned();
        Ok(self.fetch_optional::<N>(&q).await?.map_or(0, |r| r.n))
    }
}

impl Tx {
    /// Creates a draft; false when a draft with this token exists already (a retried
    /// first step).
    ///
    /// # Errors
    /// On database errors.
    pub async fn create_application_draft(&mut self, d: &NewDraft<'_>) -> Result<bool> {
        let now = now_ms();
        let q = Query::insert()
            .into_table("form_drafts")
            .columns([
                "token",
                "authority_id",
                "form_id",
                "form_version",
                "citizen_id",
                "browser_hash",
                "csrf",
                "answers",
                "step",
                "created_at",
                "updated_at",
                "expires_at",
            ])
            .values_panic([
                d.token.into(),
                d.authority_id.into(),
                d.form_id.into(),
                d.form_version.into(),
                d.citizen_id.into(),
                d.browser_hash.into(),
                d.csrf.into(),
                d.answers.into(),
                d.step.into(),
                now.into(),
                now.into(),
                d.expires_at.into(),
            ])
            .on_conflict(OnConflict::column("token").do_nothing().to_owned())
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }

    /// Stores the answers so far and the step reached; extends the expiry.
    ///
    /// # Errors
    /// On database errors.
    pub async fn save_application_draft(
        &mut self,
        token: &str,
        answers: &str,
        step: &str,
        expires_at: i64,
    ) -> Result<bool> {
        let q = Query::update()
            .table("form_drafts")
            .value("answers", answers)
            .value("step", step)
            .value("updated_at", now_ms())
            .value("expires_at", expires_at)
            .and_where(Expr::col("token").eq(token))
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }

    /// Keeps a draft in a citizen's account (after they signed in while filling it).
    ///
    /// # Errors
    /// On database errors.
    pub async fn claim_application_draft(&mut self, token: &str, citizen_id: i64) -> Result<bool> {
        let q = Query::update()
            .table("form_drafts")
            .value("citizen_id", citizen_id)
            .and_where(Expr::col("token").eq(token))
            .and_where(Expr::col("citizen_id").is_null())
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }

    /// Remembers the hash of the resume link just e-mailed (an older link stops working).
    ///
    /// # Errors
    /// On database errors.
    pub async fn set_application_draft_resume(&mut self, token: &str, resume_hash: &str) -> Result<bool> {
        let q = Query::update()
            .table("form_drafts")
            .value("resume_hash", resume_hash)
            .and_where(Expr::col("token").eq(token))
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }

    /// Binds a draft to the browser that opened its resume link; the link is used up.
    ///
    /// # Errors
    /// On database errors.
    pub async fn rebind_application_draft(
        &mut self,
        token: &str,
        resume_hash: &str,
        browser_hash: &str,
    ) -> Result<bool> {
        let q = Query::update()
            .table("form_drafts")
            .value("browser_hash", browser_hash)
            .value("resume_hash", Option::<String>::None)
            .and_where(Expr::col("token").eq(token))
            .and_where(Expr::col("resume_hash").eq(resume_hash))
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }

    /// Deletes a draft and its file rows; returns the object keys to delete.
    ///
    /// # Errors
    /// On database errors.
    pub async fn delete_application_draft(&mut self, token: &str) -> Result<Vec<String>> {
        let keys = self.draft_file_keys(token).await?;
        let q = Query::delete().from_table("draft_files").and_where(Expr::col("draft_token").eq(token)).to_owned();
        self.execute(&q).await?;
        let q = Query::delete().from_table("form_drafts").and_where(Expr::col("token").eq(token)).to_owned();
        self.execute(&q).await?;
        Ok(keys)
    }

    async fn draft_file_keys(&mut self, token: &str) -> Result<Vec<String>> {
        #[derive(sqlx::FromRow)]
        struct Key {
            object_key: String,
        }
        let q = Query::select()
            .column("object_key")
            .from("draft_files")
            .and_where(Expr::col("draft_token").eq(token))
            .to_owned();
        Ok(self.fetch_all_in_tx::<Key>(&q).await?.into_iter().map(|k| k.object_key).collect())
    }

    /// Deletes up to `limit` drafts that expired before `now`; returns the object
    /// keys of their files (to delete from the object store after the commit).
    ///
    /// # Errors
    /// On database errors.
    pub async fn delete_expired_application_drafts(&mut self, now: i64, limit: u64) -> Result<(u64, Vec<String>)> {
        #[derive(sqlx::FromRow)]
        struct Token {
            token: String,
        }
        let q = Query::select()
            .column("token")
            .from("form_drafts")
            .and_where(Expr::col("expires_at").lt(now))
            .limit(limit)
            .to_owned();
        let tokens = self.fetch_all_in_tx::<Token>(&q).await?;
        let mut keys = Vec::new();
        for t in &tokens {
            keys.extend(self.delete_application_draft(&t.token).await?);
        }
        Ok((tokens.len() as u64, keys))
    }

    /// Adds an uploaded file to a draft; returns its id.
    ///
    /// # Errors
    /// On database errors.
    pub async fn add_application_draft_file(&mut self, token: &str, f: &NewFile<'_>) -> Result<i64> {
        let q = Query::insert()
            .into_table("draft_files")
            .columns([
                "draft_token",
                "field",
                "file_name",
                "content_type",
                "size",
                "sha256",
                "object_key",
                "created_at",
            ])
            .values_panic([
                token.into(),
                f.field.into(),
                f.file_name.into(),
                f.content_type.into(),
                f.size.into(),
                f.sha256.into(),
                f.object_key.into(),
                now_ms().into(),
            ])
            .returning_col("id")
            .to_owned();
        self.insert_id(&q).await
    }

    /// Removes a file from a draft; returns its object key.
    ///
    /// # Errors
    /// On database errors.
    pub async fn remove_application_draft_file(&mut self, token: &str, id: i64) -> Result<Option<String>> {
        #[derive(sqlx::FromRow)]
        struct Key {
            object_key: String,
        }
        let q = Query::select()
            .column("object_key")
            .from("draft_files")
            .and_where(Expr::col("draft_token").eq(token))
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        let Some(k) = self.fetch_optional_in_tx::<Key>(&q).await? else { return Ok(None) };
        let q = Query::delete()
            .from_table("draft_files")
            .and_where(Expr::col("draft_token").eq(token))
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        self.execute(&q).await?;
        Ok(Some(k.object_key))
    }

    /// Reserves `count` consecutive receipt numbers of an authority in a year and
    /// returns the first.
    async fn reserve_receipts(&mut self, authority_id: i64, year: i64, count: i64) -> Result<i64> {
        let q = Query::insert()
            .into_table("receipt_counters")
            .columns(["authority_id", "year", "last_number"])
            .values_panic([authority_id.into(), year.into(), count.into()])
            .on_conflict(
                OnConflict::columns(["authority_id", "year"])
                    .value("last_number", Expr::col(("receipt_counters", "last_number")).add(count))
                    .to_owned(),
            )
            .returning_col("last_number")
            .to_owned();
        Ok(self.insert_id(&q).await? - count + 1)
    }

    /// Stores a submission with its receipt number, moves the draft's files to it,
    /// deletes the draft and queues the confirmation e-mail. A second call with the
    /// same form token stores nothing and returns the first submission.
    ///
    /// # Errors
    /// On database errors; then nothing is stored.
    pub async fn submit(&mut self, s: &NewSubmission<'_>) -> Result<Submitted> {
        let mut one = self.submit_many(std::slice::from_ref(s)).await?;
        one.pop().ok_or_else(|| StoreError::Invalid("no submission stored".into()))
    }

    /// [`Tx::submit`] for several submissions at once, in a number of statements
    /// that does not grow with the batch — seven, plus one receipt-number
    /// reservation per authority in it (group commit: the writer's time per citizen
    /// is what limits a rush). Results in the order given; a token that is
    /// already stored, or twice in `batch`, yields the first submission with
    /// `new: false`.
    ///
    /// # Errors
    /// On database errors; then the caller's transaction must be rolled back.
    pub async fn submit_many(&mut self, batch: &[NewSubmission<'_>]) -> Result<Vec<Submitted>> {
        use std::collections::HashMap;
        #[derive(sqlx::FromRow)]
        struct Stored {
            id: i64,
            form_token: String,
            receipt_number: String,
            submitted_at: i64,
        }
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let mut tokens: Vec<&str> = batch.iter().map(|s| s.form_token).collect();
        tokens.sort_unstable();
        tokens.dedup();
        let q = Query::select()
            .columns(["id", "form_token", "receipt_number", "submitted_at"])
            .from("submissions")
            .and_where(Expr::col("form_token").is_in(crate::db::padded(&tokens)))
            .to_owned();
        let mut known: HashMap<String, Submitted> = self
            .fetch_all_in_tx::<Stored>(&q)
            .await?
            .into_iter()
            .map(|e| {
                let s =
                    Submitted { id: e.id, receipt_number: e.receipt_number, submitted_at: e.submitted_at, new: false };
                (e.form_token, s)
            })
            .collect();
        // The new ones: each token's first occurrence that is not stored yet.
        let mut seen = std::collections::HashSet::new();
        let fresh: Vec<&NewSubmission<'_>> =
            batch.iter().filter(|s| !known.contains_key(s.form_token) && seen.insert(s.form_token)).collect();
        if fresh.is_empty() {
            return Ok(batch.iter().filter_map(|s| known.get(s.form_token).cloned()).collect());
        }
        // Receipt numbers: one reservation per authority and year, handed out in the
        // order of the batch (the order in which the citizens sent).
        let mut receipts: Vec<String> = vec![String::new(); fresh.len()];
        let mut groups: Vec<(i64, i64)> = fresh.iter().map(|s| (s.authority_id, s.year)).collect();
        groups.sort_unstable();
        groups.dedup();
        for (authority_id, year) in groups {
            let members: Vec<usize> =
                (0..fresh.len()).filter(|&i| fresh[i].authority_id == authority_id && fresh[i].year == year).collect();
            let count = i64::try_from(members.len()).map_err(|e| StoreError::Invalid(e.to_string()))?;
            let first = self.reserve_receipts(authority_id, year, count).await?;
            for (n, i) in (first..).zip(members) {
                receipts[i] = receipt_number(fresh[i].receipt_prefix, year, n);
            }
        }
        let now = now_ms();
        let mut q = Query::insert()
            .into_table("submissions")
            .columns([
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
                "org_unit_id",
            ])
            .returning(Query::returning().columns(["id", "form_token", "receipt_number", "submitted_at"]))
            .to_owned();
        for (s, receipt) in fresh.iter().zip(&receipts) {
            q.values_panic([
                s.authority_id.into(),
                s.form_id.into(),
                s.form_version.into(),
                s.form_token.into(),
                receipt.clone().into(),
                s.title.into(),
                s.citizen_id.into(),
                s.browser_hash.into(),
                STATUS_RECEIVED.into(),
                s.data.into(),
                s.data_hash.into(),
                now.into(),
                now.into(),
                s.org_unit_id.into(),
            ]);
        }
        // RETURNING does not promise the order of VALUES: matched by token.
        let stored = self.fetch_all_in_tx::<Stored>(&q).await?;
        let ids: Vec<i64> = stored.iter().map(|e| e.id).collect();
        for e in stored {
            let s = Submitted { id: e.id, receipt_number: e.receipt_number, submitted_at: e.submitted_at, new: true };
            known.insert(e.form_token, s);
        }
        self.enqueue_deliveries(&ids, now).await?;
        let fresh_tokens: Vec<&str> = fresh.iter().map(|s| s.form_token).collect();
        let padded_tokens = crate::db::padded(&fresh_tokens);
        let q = Query::insert()
            .into_table("submission_files")
            .columns(["submission_id", "field", "file_name", "content_type", "size", "sha256", "object_key"])
            .select_from(
                Query::select()
                    .column(("submissions", "id"))
                    .columns([
                        ("draft_files", "field"),
                        ("draft_files", "file_name"),
                        ("draft_files", "content_type"),
                        ("draft_files", "size"),
                        ("draft_files", "sha256"),
                        ("draft_files", "object_key"),
                    ])
                    .from("draft_files")
                    .inner_join(
                        "submissions",
                        Expr::col(("submissions", "form_token")).equals(("draft_files", "draft_token")),
                    )
                    .and_where(Expr::col(("draft_files", "draft_token")).is_in(padded_tokens.iter().copied()))
                    .order_by(("draft_files", "id"), Order::Asc)
                    .to_owned(),
            )
            .map_err(|e| crate::StoreError::Invalid(e.to_string()))?
            .to_owned();
        self.execute(&q).await?;
        let q = Query::delete()
            .from_table("draft_files")
            .and_where(Expr::col("draft_token").is_in(padded_tokens.iter().copied()))
            .to_owned();
        self.execute(&q).await?;
        let q = Query::delete()
            .from_table("form_drafts")
            .and_where(Expr::col("token").is_in(padded_tokens.iter().copied()))
            .to_owned();
        self.execute(&q).await?;
        let mails: Vec<EmailMessage> = fresh
            .iter()
            .filter_map(|s| {
                let receipt = &known.get(s.form_token)?.receipt_number;
                s.confirmation.map(|m| EmailMessage {
                    to: m.to.clone(),
                    subject: m.subject.replace(RECEIPT_PLACEHOLDER, receipt),
                    body: m.body.replace(RECEIPT_PLACEHOLDER, receipt),
                })
            })
            .collect();
        self.enqueue_emails(&mails).await?;
        // Each token once as new: its repetitions in the batch get the same answer, not new.
        let mut answered: std::collections::HashSet<&str> = std::collections::HashSet::new();
        batch
            .iter()
            .map(|s| {
                let mut r = known
                    .get(s.form_token)
                    .cloned()
                    .ok_or_else(|| StoreError::Invalid("a submission was not stored".into()))?;
                if !answered.insert(s.form_token) {
                    r.new = false;
                }
                Ok(r)
            })
            .collect()
    }
}
