//! Reading stored submissions: by form token (the idempotency key of a submit), for
//! an authority, for a citizen's account, whether a receipt number exists, and
//! counting them.
//!
//! Every read is scoped by authority or citizen, so no caller can see another's
//! submission by forgetting a filter. The staff inbox with its filters is in
//! `casework`.

use super::{SUBMISSION_COLUMNS, SubmissionRow};
use crate::Result;
use crate::db::Store;
use sea_query::{Expr, ExprTrait, Order, Query};

impl Store {
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

    /// Whether an authority has a submission with this receipt number (the
    /// `UNIQUE (authority_id, receipt_number)` index answers it). The booking journey
    /// links an appointment to an application only when this holds, so a made-up
    /// number never shows up to staff as a linked application.
    ///
    /// # Errors
    /// On database errors.
    pub async fn submission_exists(&self, authority_id: i64, receipt_number: &str) -> Result<bool> {
        #[derive(sqlx::FromRow)]
        struct N {
            n: i64,
        }
        let q = Query::select()
            .expr_as(Expr::col("id").count(), "n")
            .from("submissions")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("receipt_number").eq(receipt_number))
            .to_owned();
        Ok(self.fetch_optional::<N>(&q).await?.is_some_and(|r| r.n > 0))
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
