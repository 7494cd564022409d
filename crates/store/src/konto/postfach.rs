//! The Postfach: threads between a citizen and an authority, their messages in both
//! directions, attachments (stored in the object store) and read marks.

use super::CountRow;
use crate::db::{Store, Tx};
use crate::{Result, StoreError, now_ms};
use sea_query::{Expr, ExprTrait, Order, Query};
use serde::Serialize;

/// A Postfach thread with what the overview shows.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Thread {
    pub id: i64,
    pub citizen_id: i64,
    pub authority_id: i64,
    pub subject: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Message {
    pub id: i64,
    pub thread_id: i64,
    pub direction: String,
    pub sender: String,
    pub body: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

impl Message {
    /// Written by the authority (as opposed to a reply of the citizen).
    #[must_use]
    pub fn is_to_citizen(&self) -> bool {
        self.direction == "to_citizen"
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Attachment {
    pub id: i64,
    pub message_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub object_key: String,
}

/// A file to attach, already stored in the object store.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub object_key: String,
}

/// Who writes a Postfach message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    ToCitizen,
    FromCitizen,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Self::ToCitizen => "to_citizen",
            Self::FromCitizen => "from_citizen",
        }
    }
}

impl Store {
    /// The citizen's threads, latest activity first.
    ///
    /// # Errors
    /// On database errors.
    pub async fn threads(&self, citizen_id: i64) -> Result<Vec<Thread>> {
        let q = Query::select()
            .columns(["id", "citizen_id", "authority_id", "subject", "created_at", "updated_at"])
            .from("postfach_threads")
            .and_where(Expr::col("citizen_id").eq(citizen_id))
            .order_by("updated_at", Order::Desc)
            .order_by("id", Order::Desc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// One thread of this citizen (`None` for anyone else's).
    ///
    /// # Errors
    /// On database errors.
    pub async fn thread(&self, citizen_id: i64, thread_id: i64) -> Result<Option<Thread>> {
        let q = Query::select()
            .columns(["id", "citizen_id", "authority_id", "subject", "created_at", "updated_at"])
            .from("postfach_threads")
            .and_where(Expr::col("citizen_id").eq(citizen_id))
            .and_where(Expr::col("id").eq(thread_id))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// The messages of one of the citizen's threads, oldest first.
    ///
    /// # Errors
    /// On database errors.
    pub async fn messages(&self, citizen_id: i64, thread_id: i64) -> Result<Vec<Message>> {
        let q = Query::select()
            .columns(["id", "thread_id", "direction", "sender", "body", "created_at", "read_at"])
            .from("postfach_messages")
            .and_where(Expr::col("citizen_id").eq(citizen_id))
            .and_where(Expr::col("thread_id").eq(thread_id))
            .order_by("id", Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// Unread messages from authorities, per thread (thread id, count).
    ///
    /// # Errors
    /// On database errors.
    pub async fn unread_count(&self, citizen_id: i64) -> Result<i64> {
        let q = Query::select()
            .expr_as(Expr::col("id").count(), "n")
            .from("postfach_messages")
            .and_where(Expr::col("citizen_id").eq(citizen_id))
            .and_where(Expr::col("direction").eq(Direction::ToCitizen.as_str()))
            .and_where(Expr::col("read_at").is_null())
            .to_owned();
        Ok(self.fetch_optional::<CountRow>(&q).await?.map_or(0, |r| r.n))
    }

    /// Attachments of the citizen's messages in a thread.
    ///
    /// # Errors
    /// On database errors.
    pub async fn attachments(&self, citizen_id: i64, thread_id: i64) -> Result<Vec<Attachment>> {
        let q = Query::select()
            .columns([
                ("postfach_attachments", "id"),
                ("postfach_attachments", "message_id"),
                ("postfach_attachments", "file_name"),
                ("postfach_attachments", "content_type"),
                ("postfach_attachments", "size"),
                ("postfach_attachments", "object_key"),
            ])
            .from("postfach_attachments")
            .inner_join(
                "postfach_messages",
                Expr::col(("postfach_messages", "id")).equals(("postfach_attachments", "message_id")),
            )
            .and_where(Expr::col(("postfach_attachments", "citizen_id")).eq(citizen_id))
            .and_where(Expr::col(("postfach_messages", "thread_id")).eq(thread_id))
            .order_by(("postfach_attachments", "id"), Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// The authority of the thread a message of this citizen belongs to.
    ///
    /// # Errors
    /// On database errors.
    pub async fn thread_of_message(&self, citizen_id: i64, message_id: i64) -> Result<Option<i64>> {
        let q = Query::select()
            .expr_as(Expr::col(("postfach_threads", "authority_id")), "n")
            .from("postfach_messages")
            .inner_join(
                "postfach_threads",
                Expr::col(("postfach_threads", "id")).equals(("postfach_messages", "thread_id")),
            )
            .and_where(Expr::col(("postfach_messages", "citizen_id")).eq(citizen_id))
            .and_where(Expr::col(("postfach_messages", "id")).eq(message_id))
            .to_owned();
        Ok(self.fetch_optional::<CountRow>(&q).await?.map(|r| r.n))
    }

    /// One attachment of this citizen (`None` for anyone else's).
    ///
    /// # Errors
    /// On database errors.
    pub async fn attachment(&self, citizen_id: i64, attachment_id: i64) -> Result<Option<Attachment>> {
        let q = Query::select()
            .columns(["id", "message_id", "file_name", "content_type", "size", "object_key"])
            .from("postfach_attachments")
            .and_where(Expr::col("citizen_id").eq(citizen_id))
            .and_where(Expr::col("id").eq(attachment_id))
            .to_owned();
        self.fetch_optional(&q).await
    }
}

impl Tx {
    /// Posts a message into the citizen's Postfach: into `thread_id` (which must be
    /// this citizen's) or a new thread with `subject`. Returns (thread, message).
    ///
    /// # Errors
    /// On database errors, or a thread that is not this citizen's.
    #[allow(clippy::too_many_arguments)]
    pub async fn post_message(
        &mut self,
        citizen_id: i64,
        authority_id: i64,
        thread_id: Option<i64>,
        subject: &str,
        direction: Direction,
        sender: &str,
        body: &str,
        attachments: &[NewAttachment],
    ) -> Result<(i64, i64)> {
        let now = now_ms();
        let thread_id = match thread_id {
            Some(id) => {
                let q = Query::update()
                    .table("postfach_threads")
                    .value("updated_at", now)
                    .and_where(Expr::col("citizen_id").eq(citizen_id))
                    .and_where(Expr::col("id").eq(id))
                    .to_owned();
                if self.execute(&q).await? != 1 {
                    return Err(StoreError::Invalid(format!("thread {id} is not citizen {citizen_id}'s")));
                }
                id
            }
            None => {
                let q = Query::insert()
                    .into_table("postfach_threads")
                    .columns(["citizen_id", "authority_id", "subject", "created_at", "updated_at"])
                    .values_panic([
                        citizen_id.into(),
                        authority_id.into(),
                        subject.trim().into(),
                        now.into(),
                        now.into(),
                    ])
                    .returning_col("id")
                    .to_owned();
                self.insert_id(&q).await?
            }
        };
        let q = Query::insert()
            .into_table("postfach_messages")
            .columns(["thread_id", "citizen_id", "direction", "sender", "body", "created_at"])
            .values_panic([
                thread_id.into(),
                citizen_id.into(),
                direction.as_str().into(),
                sender.into(),
                body.into(),
                now.into(),
            ])
            .returning_col("id")
            .to_owned();
        let message_id = self.insert_id(&q).await?;
        for a in attachments {
            let q = Query::insert()
                .into_table("postfach_attachments")
                .columns(["message_id", "citizen_id", "file_name", "content_type", "size", "object_key", "created_at"])
                .values_panic([
                    message_id.into(),
                    citizen_id.into(),
                    a.file_name.clone().into(),
                    a.content_type.clone().into(),
                    a.size.into(),
                    a.object_key.clone().into(),
                    now.into(),
                ])
                .to_owned();
            self.execute(&q).await?;
        }
        Ok((thread_id, message_id))
    }

    /// Marks the authority's messages in one of the citizen's threads as read.
    ///
    /// # Errors
    /// On database errors.
    pub async fn mark_thread_read(&mut self, citizen_id: i64, thread_id: i64) -> Result<u64> {
        let q = Query::update()
            .table("postfach_messages")
            .value("read_at", now_ms())
            .and_where(Expr::col("citizen_id").eq(citizen_id))
            .and_where(Expr::col("thread_id").eq(thread_id))
            .and_where(Expr::col("direction").eq(Direction::ToCitizen.as_str()))
            .and_where(Expr::col("read_at").is_null())
            .to_owned();
        self.execute(&q).await
    }
}
