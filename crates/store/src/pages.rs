//! Plain pages of an authority (Leichte Sprache, Gebärdensprache, Barrierefreiheit,
//! Impressum, Datenschutz), stored once an editor changes the built-in template.

use crate::db::{Store, Tx};
use crate::{Result, now_ms};
use sea_query::{Expr, ExprTrait, OnConflict, Query};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PageRow {
    pub authority_id: i64,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub video_url: String,
    pub revision: i64,
}

const COLUMNS: [&str; 6] = ["authority_id", "kind", "title", "body", "video_url", "revision"];

impl Store {
    /// Every stored page of the Verbund (for the catalogue snapshot).
    ///
    /// # Errors
    /// On database errors.
    pub async fn all_pages(&self) -> Result<Vec<PageRow>> {
        self.fetch_all(&Query::select().columns(COLUMNS).from("pages").to_owned()).await
    }

    /// # Errors
    /// On database errors.
    pub async fn page(&self, authority_id: i64, kind: &str) -> Result<Option<PageRow>> {
        let q = Query::select()
            .columns(COLUMNS)
            .from("pages")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("kind").eq(kind))
            .to_owned();
        self.fetch_optional(&q).await
    }
}

/// What an editor writes on a page.
#[derive(Debug, Clone, Copy)]
pub struct PageContent<'a> {
    pub title: &'a str,
    pub body: &'a str,
    pub video_url: &'a str,
}

impl Tx {
    /// Saves a page if it is still at `expected_revision` (0 = still the template).
    /// Returns the new revision, or `None` when someone else saved in between.
    ///
    /// # Errors
    /// On database errors.
    pub async fn save_page(
        &mut self,
        authority_id: i64,
        kind: &str,
        expected_revision: i64,
        content: &PageContent<'_>,
        by: Option<i64>,
    ) -> Result<Option<i64>> {
        let q = Query::select()
            .columns(COLUMNS)
            .from("pages")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("kind").eq(kind))
            .to_owned();
        let current = self.fetch_optional_in_tx::<PageRow>(&q).await?.map_or(0, |p| p.revision);
        if current != expected_revision {
            return Ok(None);
        }
        let next = current + 1;
        let q = Query::insert()
            .into_table("pages")
            .columns(["authority_id", "kind", "title", "body", "video_url", "revision", "updated_at", "updated_by"])
            .values_panic([
                authority_id.into(),
                kind.into(),
                content.title.into(),
                content.body.into(),
                content.video_url.into(),
                next.into(),
                now_ms().into(),
                by.into(),
            ])
            .on_conflict(
                OnConflict::columns(["authority_id", "kind"])
                    .update_columns(["title", "body", "video_url", "revision", "updated_at", "updated_by"])
                    .to_owned(),
            )
            .to_owned();
        self.execute(&q).await?;
        Ok(Some(next))
    }
}
