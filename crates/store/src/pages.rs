//! Plain pages of an authority (Leichte Sprache, Gebärdensprache, Barrierefreiheit,
//! Impressum, Datenschutz), stored once an editor publishes a change to the built-in
//! template. Like services they have one draft at a time (optimistic locking by
//! draft version) and a history of every published revision.

use crate::db::{Store, Tx};
use crate::editing::Saved;
use crate::{Result, StoreError, now_ms};
use amtsweg_domain::audit::AuditEntry;
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use serde::{Deserialize, Serialize};

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

/// What an editor writes on a page (a draft, a revision).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PageContent {
    pub title: String,
    pub body: String,
    pub video_url: String,
}

/// The draft of a page and the version it is at.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PageDraftRow {
    pub version: i64,
    pub content: String,
    pub updated_at: i64,
    pub updated_by: Option<i64>,
}

/// One published state of a page.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PageRevisionRow {
    pub revision: i64,
    pub content: String,
    pub published_at: i64,
    pub published_by: Option<i64>,
}

fn parse(json: &str) -> Result<PageContent> {
    serde_json::from_str(json).map_err(|e| StoreError::Invalid(e.to_string()))
}

impl PageDraftRow {
    /// # Errors
    /// When the stored JSON is unreadable.
    pub fn content(&self) -> Result<PageContent> {
        parse(&self.content)
    }
}

impl PageRevisionRow {
    /// # Errors
    /// When the stored JSON is unreadable.
    pub fn content(&self) -> Result<PageContent> {
        parse(&self.content)
    }
}

fn audit(by: Option<i64>, authority_id: i64, action: &str, kind: &str) -> AuditEntry {
    AuditEntry {
        at: now_ms(),
        actor: by.map_or_else(|| "system".to_owned(), |a| format!("staff:{a}")),
        authority_id: Some(authority_id),
        action: action.to_owned(),
        target: format!("page:{kind}"),
        outcome: "success".to_owned(),
    }
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    version: i64,
}

impl Store {
    /// The draft of a page, if an editor saved one.
    ///
    /// # Errors
    /// On database errors.
    pub async fn page_draft(&self, authority_id: i64, kind: &str) -> Result<Option<PageDraftRow>> {
        let q = Query::select()
            .columns(["version", "content", "updated_at", "updated_by"])
            .from("page_drafts")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("kind").eq(kind))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// Published revisions of a page, newest first.
    ///
    /// # Errors
    /// On database errors.
    pub async fn page_revisions(&self, authority_id: i64, kind: &str) -> Result<Vec<PageRevisionRow>> {
        let q = Query::select()
            .columns(["revision", "content", "published_at", "published_by"])
            .from("page_revisions")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("kind").eq(kind))
            .order_by("revision", Order::Desc)
            .to_owned();
        self.fetch_all(&q).await
    }
}

impl Tx {
    /// The published revision of a page (0 = still the template); see
    /// `Tx::leistung_revision` for why editors send it along.
    ///
    /// # Errors
    /// On database errors.
    pub async fn page_revision(&mut self, authority_id: i64, kind: &str) -> Result<i64> {
        let q = Query::select()
            .columns(COLUMNS)
            .from("pages")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("kind").eq(kind))
            .to_owned();
        Ok(self.fetch_optional_in_tx::<PageRow>(&q).await?.map_or(0, |p| p.revision))
    }

    async fn page_draft_version(&mut self, authority_id: i64, kind: &str) -> Result<i64> {
        let q = Query::select()
            .column("version")
            .from("page_drafts")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("kind").eq(kind))
            .to_owned();
        Ok(self.fetch_optional_in_tx::<VersionRow>(&q).await?.map_or(0, |r| r.version))
    }

    /// Saves the draft of a page if nobody saved since `expected_version` (0 = no draft).
    ///
    /// # Errors
    /// On database errors.
    pub async fn save_page_draft(
        &mut self,
        authority_id: i64,
        kind: &str,
        expected_version: i64,
        content: &PageContent,
        by: Option<i64>,
    ) -> Result<Saved> {
        let current = self.page_draft_version(authority_id, kind).await?;
        if current != expected_version {
            return Ok(Saved::Conflict { current_version: current });
        }
        let next = current + 1;
        let json = serde_json::to_string(content).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let q = Query::insert()
            .into_table("page_drafts")
            .columns(["authority_id", "kind", "version", "content", "updated_at", "updated_by"])
            .values_panic([authority_id.into(), kind.into(), next.into(), json.into(), now_ms().into(), by.into()])
            .on_conflict(
                OnConflict::columns(["authority_id", "kind"])
                    .update_columns(["version", "content", "updated_at", "updated_by"])
                    .to_owned(),
            )
            .to_owned();
        self.execute(&q).await?;
        self.append_audit(&audit(by, authority_id, "page.save_draft", kind)).await?;
        Ok(Saved::Ok(next))
    }

    /// Publishes the page draft saved as `expected_version`: citizens see it, a
    /// revision is recorded and the draft is removed. Returns the new revision.
    ///
    /// # Errors
    /// On database errors.
    pub async fn publish_page_draft(
        &mut self,
        authority_id: i64,
        kind: &str,
        expected_version: i64,
        by: Option<i64>,
    ) -> Result<Saved> {
        let current = self.page_draft_version(authority_id, kind).await?;
        if current != expected_version || current == 0 {
            return Ok(Saved::Conflict { current_version: current });
        }
        let q = Query::select()
            .columns(["version", "content", "updated_at", "updated_by"])
            .from("page_drafts")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("kind").eq(kind))
            .to_owned();
        let Some(draft) = self.fetch_optional_in_tx::<PageDraftRow>(&q).await? else {
            return Ok(Saved::Conflict { current_version: 0 });
        };
        let c = draft.content()?;
        let q = Query::select()
            .columns(COLUMNS)
            .from("pages")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("kind").eq(kind))
            .to_owned();
        let revision = self.fetch_optional_in_tx::<PageRow>(&q).await?.map_or(0, |p| p.revision) + 1;
        let q = Query::insert()
            .into_table("pages")
            .columns(["authority_id", "kind", "title", "body", "video_url", "revision", "updated_at", "updated_by"])
            .values_panic([
                authority_id.into(),
                kind.into(),
                c.title.clone().into(),
                c.body.clone().into(),
                c.video_url.clone().into(),
                revision.into(),
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
        let q = Query::insert()
            .into_table("page_revisions")
            .columns(["authority_id", "kind", "revision", "content", "published_at", "published_by"])
            .values_panic([
                authority_id.into(),
                kind.into(),
                revision.into(),
                draft.content.into(),
                now_ms().into(),
                by.into(),
            ])
            .to_owned();
        self.execute(&q).await?;
        let q = Query::delete()
            .from_table("page_drafts")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("kind").eq(kind))
            .to_owned();
        self.execute(&q).await?;
        self.append_audit(&audit(by, authority_id, "page.publish", kind)).await?;
        Ok(Saved::Ok(revision))
    }

    /// Drops the draft of a page; the published state stays.
    ///
    /// # Errors
    /// On database errors.
    pub async fn discard_page_draft(&mut self, authority_id: i64, kind: &str, by: Option<i64>) -> Result<()> {
        let q = Query::delete()
            .from_table("page_drafts")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("kind").eq(kind))
            .to_owned();
        if self.execute(&q).await? > 0 {
            self.append_audit(&audit(by, authority_id, "page.discard_draft", kind)).await?;
        }
        Ok(())
    }
}
