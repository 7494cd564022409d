//! Case work on submissions: the inbox query, status changes with their history,
//! notes, assignment and due dates. Every read names the authority (or the list of
//! authorities the staff member may see); a submission of another authority is
//! simply not found.

use crate::db::{Store, Tx};
use crate::submissions::{SUBMISSION_COLUMNS, SubmissionRow};
use crate::{Result, now_ms};
use sea_query::{Expr, ExprTrait, Order, Query};
use serde::Serialize;

/// One entry of a submission's history.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub submission_id: i64,
    pub kind: String,
    pub status: String,
    pub sub_status: String,
    /// Sealed text, '' when none.
    pub body: String,
    pub public: i64,
    pub actor: String,
    pub created_at: i64,
}

impl EventRow {
    #[must_use]
    pub fn is_public(&self) -> bool {
        self.public != 0
    }
}

const EVENT_COLUMNS: [&str; 9] =
    ["id", "submission_id", "kind", "status", "sub_status", "body", "public", "actor", "created_at"];

/// What to add to a submission's history.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub kind: &'a str,
    pub status: &'a str,
    pub sub_status: &'a str,
    pub body: &'a str,
    pub public: bool,
    pub actor: &'a str,
}

/// Which submissions the inbox shows.
#[derive(Debug, Clone, Default)]
pub struct InboxFilter {
    /// The authorities the staff member may see (required; empty shows nothing).
    pub authority_ids: Vec<i64>,
    pub status: Option<String>,
    pub form_id: Option<i64>,
    pub org_unit_id: Option<i64>,
    /// `Some(Some(id))`: assigned to id; `Some(None)`: assigned to nobody.
    pub assignee: Option<Option<i64>>,
    /// Only submissions whose status is not one of these (e.g. the final ones).
    pub exclude_status: Vec<String>,
    pub sort: InboxSort,
    pub limit: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InboxSort {
    #[default]
    NewestFirst,
    OldestFirst,
    DueFirst,
}

impl Store {
    /// The submissions the inbox shows.
    ///
    /// # Errors
    /// On database errors.
    pub async fn inbox(&self, f: &InboxFilter) -> Result<Vec<SubmissionRow>> {
        let mut q = Query::select()
            .columns(SUBMISSION_COLUMNS)
            .from("submissions")
            .and_where(Expr::col("authority_id").is_in(f.authority_ids.clone()))
            .limit(Ord::max(f.limit, 1))
            .to_owned();
        if let Some(s) = &f.status {
            q.and_where(Expr::col("status").eq(s.as_str()));
        }
        // Applications waiting for (or expired without) payment are not the
        // authority's yet: only a filter asking for exactly that state shows them.
        if !f.status.as_deref().is_some_and(|s| crate::payments::RESERVED_STATES.contains(&s)) {
            q.and_where(Expr::col("status").is_not_in(crate::payments::RESERVED_STATES));
        }
        if !f.exclude_status.is_empty() {
            q.and_where(Expr::col("status").is_not_in(f.exclude_status.clone()));
        }
        if let Some(id) = f.form_id {
            q.and_where(Expr::col("form_id").eq(id));
        }
        if let Some(id) = f.org_unit_id {
            q.and_where(Expr::col("org_unit_id").eq(id));
        }
        match f.assignee {
            Some(Some(id)) => {
                q.and_where(Expr::col("assignee_id").eq(id));
            }
            Some(None) => {
                q.and_where(Expr::col("assignee_id").is_null());
            }
            None => {}
        }
        match f.sort {
            InboxSort::NewestFirst => q.order_by("submitted_at", Order::Desc).order_by("id", Order::Desc),
            InboxSort::OldestFirst => q.order_by("submitted_at", Order::Asc).order_by("id", Order::Asc),
            // Submissions without a due date ('') come last.
            InboxSort::DueFirst => q
                .order_by_expr(Expr::col("due_on").eq(""), Order::Asc)
                .order_by("due_on", Order::Asc)
                .order_by("id", Order::Asc),
        };
        self.fetch_all(&q).await
    }

    /// Submission `id` if it belongs to one of `authority_ids`.
    ///
    /// # Errors
    /// On database errors.
    pub async fn submission_in(&self, authority_ids: &[i64], id: i64) -> Result<Option<SubmissionRow>> {
        let q = Query::select()
            .columns(SUBMISSION_COLUMNS)
            .from("submissions")
            .and_where(Expr::col("authority_id").is_in(authority_ids.to_vec()))
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// Staff who may process the authority's applications: (id, name), by name.
    ///
    /// # Errors
    /// On database errors.
    pub async fn case_workers_of(&self, authority_id: i64) -> Result<Vec<(i64, String)>> {
        #[derive(sqlx::FromRow)]
        struct Person {
            id: i64,
            display_name: String,
        }
        let q = Query::select()
            .distinct()
            .column(("u", "id"))
            .column(("u", "display_name"))
            .from_as("staff_users", "u")
            .join_as(
                sea_query::JoinType::InnerJoin,
                "staff_roles",
                "r",
                Expr::col(("r", "user_id")).equals(("u", "id")),
            )
            .and_where(Expr::col(("r", "authority_id")).eq(authority_id))
            .and_where(Expr::col(("r", "role")).is_in(["case_worker", "authority_admin"]))
            .and_where(Expr::col(("u", "disabled")).eq(false))
            .order_by(("u", "display_name"), Order::Asc)
            .to_owned();
        Ok(self.fetch_all::<Person>(&q).await?.into_iter().map(|p| (p.id, p.display_name)).collect())
    }

    /// The history of a submission, oldest first.
    ///
    /// # Errors
    /// On database errors.
    pub async fn submission_events(&self, submission_id: i64) -> Result<Vec<EventRow>> {
        let q = Query::select()
            .columns(EVENT_COLUMNS)
            .from("submission_events")
            .and_where(Expr::col("submission_id").eq(submission_id))
            .order_by("id", Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// The submission whose messages travel in this Postfach thread, if any.
    ///
    /// # Errors
    /// On database errors.
    pub async fn submission_of_thread(&self, citizen_id: i64, thread_id: i64) -> Result<Option<SubmissionRow>> {
        let q = Query::select()
            .columns(SUBMISSION_COLUMNS)
            .from("submissions")
            .and_where(Expr::col("citizen_id").eq(citizen_id))
            .and_where(Expr::col("thread_id").eq(thread_id))
            .to_owned();
        self.fetch_optional(&q).await
    }
}

impl Tx {
    /// Adds an entry to a submission's history.
    ///
    /// # Errors
    /// On database errors.
    pub async fn add_event(&mut self, submission_id: i64, e: &NewEvent<'_>) -> Result<i64> {
        let q = Query::insert()
            .into_table("submission_events")
            .columns(["submission_id", "kind", "status", "sub_status", "body", "public", "actor", "created_at"])
            .values_panic([
                submission_id.into(),
                e.kind.into(),
                e.status.into(),
                e.sub_status.into(),
                e.body.into(),
                i64::from(e.public).into(),
                e.actor.into(),
                now_ms().into(),
            ])
            .returning_col("id")
            .to_owned();
        self.insert_id(&q).await
    }

    /// Moves a submission from `from` to a new status, if it is still in `from`
    /// (false otherwise: someone else changed it meanwhile), and records the change.
    ///
    /// # Errors
    /// On database errors.
    pub async fn change_status(
        &mut self,
        authority_id: i64,
        submission_id: i64,
        from: &str,
        e: &NewEvent<'_>,
    ) -> Result<bool> {
        let q = Query::update()
            .table("submissions")
            .value("status", e.status)
            .value("sub_status", e.sub_status)
            .value("status_at", now_ms())
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(submission_id))
            .and_where(Expr::col("status").eq(from))
            .to_owned();
        if self.execute(&q).await? != 1 {
            return Ok(false);
        }
        self.add_event(submission_id, e).await?;
        Ok(true)
    }

    /// Assigns a submission to a staff member (or nobody).
    ///
    /// # Errors
    /// On database errors.
    pub async fn assign_submission(&mut self, authority_id: i64, id: i64, assignee: Option<i64>) -> Result<bool> {
        let q = Query::update()
            .table("submissions")
            .value("assignee_id", assignee)
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }

    /// Sets the due date (YYYY-MM-DD, '' for none).
    ///
    /// # Errors
    /// On database errors.
    pub async fn set_submission_due(&mut self, authority_id: i64, id: i64, due_on: &str) -> Result<bool> {
        let q = Query::update()
            .table("submissions")
            .value("due_on", due_on)
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }

    /// Links the Postfach thread that carries the submission's messages.
    ///
    /// # Errors
    /// On database errors.
    pub async fn set_submission_thread(&mut self, id: i64, thread_id: i64) -> Result<()> {
        let q = Query::update()
            .table("submissions")
            .value("thread_id", thread_id)
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }
}

/// How many replies of citizens in a thread no one of the authority has read yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct UnreadReplies {
    pub thread_id: i64,
    pub n: i64,
}

impl Store {
    /// Unread replies of citizens per thread, for these threads of `authority_ids`
    /// (the inbox's marker). A reply counts as read once someone of the authority
    /// opened the case: `read_at` of a message is set by its recipient — the
    /// citizen for the authority's messages, the authority for the citizen's.
    ///
    /// # Errors
    /// On database errors.
    pub async fn unread_replies(&self, authority_ids: &[i64], thread_ids: &[i64]) -> Result<Vec<UnreadReplies>> {
        if thread_ids.is_empty() || authority_ids.is_empty() {
            return Ok(Vec::new());
        }
        let q = Query::select()
            .column(("m", "thread_id"))
            .expr_as(Expr::col(("m", "id")).count(), "n")
            .from_as("postfach_messages", "m")
            .join_as(
                sea_query::JoinType::InnerJoin,
                "postfach_threads",
                "t",
                Expr::col(("t", "id")).equals(("m", "thread_id")),
            )
            .and_where(Expr::col(("t", "authority_id")).is_in(authority_ids.to_vec()))
            .and_where(Expr::col(("m", "thread_id")).is_in(thread_ids.to_vec()))
            .and_where(Expr::col(("m", "direction")).eq("from_citizen"))
            .and_where(Expr::col(("m", "read_at")).is_null())
            .group_by_col(("m", "thread_id"))
            .to_owned();
        self.fetch_all(&q).await
    }
}

impl Tx {
    /// Marks the citizen's replies in the thread of a case as read by the authority.
    /// Returns how many were unread.
    ///
    /// # Errors
    /// On database errors.
    pub async fn mark_replies_read(&mut self, citizen_id: i64, thread_id: i64) -> Result<u64> {
        let q = Query::update()
            .table("postfach_messages")
            .value("read_at", now_ms())
            .and_where(Expr::col("citizen_id").eq(citizen_id))
            .and_where(Expr::col("thread_id").eq(thread_id))
            .and_where(Expr::col("direction").eq("from_citizen"))
            .and_where(Expr::col("read_at").is_null())
            .to_owned();
        self.execute(&q).await
    }
}
