//! Sealed values that older versions stored without their record (format `v1:`):
//! finding them column by column and replacing each with its re-sealed, bound value.
//! The portal's start-up step (`amtsweg_portal::rebind`) drives this; nothing else
//! reads the old format.

use crate::Result;
use crate::db::{Store, Tx};
use sea_query::{Alias, Expr, ExprTrait, Order, Query, SelectStatement};

/// A column that holds sealed values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedColumn {
    /// `citizen_profile.value` (Verbund scope).
    ProfileValues,
    /// `form_drafts.answers`.
    DraftAnswers,
    /// `draft_files.file_name` (the file itself is the object `name`).
    DraftFileNames,
    /// `submissions.data`.
    SubmissionData,
    /// `submission_files.file_name` (the file itself is the object `name`).
    SubmissionFileNames,
    /// `submission_events.body`.
    CaseTexts,
    /// `postfach_threads.subject`.
    ThreadSubjects,
    /// `postfach_messages.body`.
    MessageBodies,
    /// `postfach_attachments.file_name` (the file itself is the object `name`).
    AttachmentNames,
    /// `connectors.config`.
    ConnectorConfigs,
}

impl SealedColumn {
    /// Every sealed column.
    pub const ALL: [Self; 10] = [
        Self::ProfileValues,
        Self::DraftAnswers,
        Self::DraftFileNames,
        Self::SubmissionData,
        Self::SubmissionFileNames,
        Self::CaseTexts,
        Self::ThreadSubjects,
        Self::MessageBodies,
        Self::AttachmentNames,
        Self::ConnectorConfigs,
    ];

    /// (table, sealed column).
    fn place(self) -> (&'static str, &'static str) {
        match self {
            Self::ProfileValues => ("citizen_profile", "value"),
            Self::DraftAnswers => ("form_drafts", "answers"),
            Self::DraftFileNames => ("draft_files", "file_name"),
            Self::SubmissionData => ("submissions", "data"),
            Self::SubmissionFileNames => ("submission_files", "file_name"),
            Self::CaseTexts => ("submission_events", "body"),
            Self::ThreadSubjects => ("postfach_threads", "subject"),
            Self::MessageBodies => ("postfach_messages", "body"),
            Self::AttachmentNames => ("postfach_attachments", "file_name"),
            Self::ConnectorConfigs => ("connectors", "config"),
        }
    }

    /// The select of this column's rows with the fields of [`UnboundValue`] they have,
    /// in a stable order.
    fn select(self) -> SelectStatement {
        let (table, column) = self.place();
        let mut q = Query::select();
        q.from(table).expr_as(Expr::col((table, column)), "value");
        let mut with = |col: &'static str, alias: &'static str| {
            q.expr_as(Expr::col((table, col)), Alias::new(alias));
        };
        match self {
            Self::ProfileValues => {
                with("citizen_id", "id");
                with("field", "name");
                with("citizen_id", "owner");
            }
            Self::DraftAnswers => {
                with("token", "name");
                with("authority_id", "authority_id");
            }
            Self::SubmissionData => {
                with("id", "id");
                with("form_token", "name");
                with("authority_id", "authority_id");
            }
            Self::ThreadSubjects | Self::ConnectorConfigs => {
                with("id", "id");
                with("authority_id", "authority_id");
                if self == Self::ThreadSubjects {
                    with("citizen_id", "owner");
                } else {
                    with("id", "owner");
                }
            }
            Self::DraftFileNames
            | Self::SubmissionFileNames
            | Self::AttachmentNames
            | Self::CaseTexts
            | Self::MessageBodies => {
                with("id", "id");
                match self {
                    Self::CaseTexts => with("submission_id", "owner"),
                    Self::MessageBodies => with("citizen_id", "owner"),
                    Self::AttachmentNames => {
                        with("object_key", "name");
                        with("citizen_id", "owner");
                    }
                    _ => with("object_key", "name"),
                }
            }
        }
        // The authority whose scope the value is sealed under, through the parent row.
        match self {
            Self::DraftFileNames => {
                q.inner_join("form_drafts", Expr::col(("form_drafts", "token")).equals((table, "draft_token")))
                    .expr_as(Expr::col(("form_drafts", "authority_id")), "authority_id");
            }
            Self::SubmissionFileNames | Self::CaseTexts => {
                q.inner_join("submissions", Expr::col(("submissions", "id")).equals((table, "submission_id")))
                    .expr_as(Expr::col(("submissions", "authority_id")), "authority_id");
            }
            Self::MessageBodies => {
                q.inner_join("postfach_threads", Expr::col(("postfach_threads", "id")).equals((table, "thread_id")))
                    .expr_as(Expr::col(("postfach_threads", "authority_id")), "authority_id");
            }
            Self::AttachmentNames => {
                q.inner_join("postfach_messages", Expr::col(("postfach_messages", "id")).equals((table, "message_id")))
                    .inner_join(
                        "postfach_threads",
                        Expr::col(("postfach_threads", "id")).equals(("postfach_messages", "thread_id")),
                    )
                    .expr_as(Expr::col(("postfach_threads", "authority_id")), "authority_id");
            }
            _ => {}
        }
        match self {
            Self::ProfileValues => q.order_by((table, "citizen_id"), Order::Asc).order_by((table, "field"), Order::Asc),
            Self::DraftAnswers => q.order_by((table, "token"), Order::Asc),
            _ => q.order_by((table, "id"), Order::Asc),
        };
        q.and_where(Expr::col((table, column)).like("v1:%"));
        q
    }
}

/// A value sealed without its record, with what names the record. Fields a column
/// has no use for stay empty.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct UnboundValue {
    /// The row's id (the citizen's for profile values).
    #[sqlx(default)]
    pub id: i64,
    /// The row's text key: the profile field, the draft's or submission's form
    /// token, the object key of a file.
    #[sqlx(default)]
    pub name: String,
    /// Whose it is: the citizen (profile, Postfach), the submission (case texts),
    /// the connector.
    #[sqlx(default)]
    pub owner: i64,
    /// The authority whose scope it is sealed under (0: the Verbund's).
    #[sqlx(default)]
    pub authority_id: i64,
    /// The sealed value as stored.
    pub value: String,
}

impl Store {
    /// Up to `limit` values of `column` still sealed without their record, after
    /// skipping `skip` (values that did not open and stay as they are).
    ///
    /// # Errors
    /// On database errors.
    pub async fn unbound_values(&self, column: SealedColumn, skip: u64, limit: u64) -> Result<Vec<UnboundValue>> {
        let mut q = column.select();
        q.limit(limit).offset(skip);
        self.fetch_all(&q).await
    }
}

impl Tx {
    /// Replaces an unbound value with its bound one if the row still holds the old
    /// value (another node may have done it). Returns whether it was replaced.
    ///
    /// # Errors
    /// On database errors.
    pub async fn replace_unbound(&mut self, column: SealedColumn, v: &UnboundValue, new: &str) -> Result<bool> {
        let (table, col) = column.place();
        let mut q = Query::update();
        q.table(table).value(col, new).and_where(Expr::col(col).eq(v.value.as_str()));
        match column {
            SealedColumn::ProfileValues => {
                q.and_where(Expr::col("citizen_id").eq(v.id)).and_where(Expr::col("field").eq(v.name.as_str()))
            }
            SealedColumn::DraftAnswers => q.and_where(Expr::col("token").eq(v.name.as_str())),
            _ => q.and_where(Expr::col("id").eq(v.id)),
        };
        Ok(self.execute(&q).await? == 1)
    }
}
