//! Drafts: an application in progress, from its first step (created once, so a
//! retried first step is harmless) through saving, keeping it in a citizen's
//! account and resuming it by an e-mailed link, to its deletion — by the citizen or
//! when it expires.
//!
//! Deleting a draft returns the object keys of its files: the caller deletes those
//! from the object store only after the transaction committed.

use super::{ApplicationDraft, DRAFT_COLUMNS, NewDraft};
use crate::db::{Store, Tx};
use crate::{Result, now_ms};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};

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
}
