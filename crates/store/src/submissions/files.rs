//! Uploaded files: the file rows of a draft (added and removed while the citizen
//! fills the form) and of a submission (moved there from the draft in the submit
//! transaction, see [`super::group_commit`]).
//!
//! Only metadata is stored here; the bytes are in the object store under
//! `object_key`, and the file name is sealed.

use super::{FILE_COLUMNS, FileRow, NewFile};
use crate::db::{Store, Tx};
use crate::{Result, now_ms};
use sea_query::{Expr, ExprTrait, Order, Query};

impl Store {
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
}

impl Tx {
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
}
