//! Drafts, publication with revision history, and optimistic locking for services.
//!
//! Citizens always see the `leistungen` row (the published state). Editors work on a
//! draft (`leistung_drafts`, one per service); every save names the draft version it
//! started from, and a save or publish from a stale version is refused as a conflict
//! instead of overwriting someone else's work.

use crate::db::{Store, Tx};
use crate::{Result, StoreError, now_ms};
use amtsweg_domain::audit::AuditEntry;
use amtsweg_domain::leistung::LeistungContent;
use amtsweg_domain::{LeikaKey, Slug, TrustLevel};
use sea_query::{Expr, ExprTrait, Order, Query};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DraftRow {
    pub leistung_id: i64,
    pub authority_id: i64,
    pub version: i64,
    pub content: String,
    pub updated_at: i64,
    pub updated_by: Option<i64>,
}

impl DraftRow {
    /// # Errors
    /// When the stored JSON is unreadable.
    pub fn content(&self) -> Result<LeistungContent> {
        serde_json::from_str(&self.content).map_err(|e| StoreError::Invalid(e.to_string()))
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct RevisionRow {
    pub revision: i64,
    pub content: String,
    pub published_at: i64,
    pub published_by: Option<i64>,
}

impl RevisionRow {
    /// # Errors
    /// When the stored JSON is unreadable.
    pub fn content(&self) -> Result<LeistungContent> {
        serde_json::from_str(&self.content).map_err(|e| StoreError::Invalid(e.to_string()))
    }
}

/// The result of a save or publish that names the version it started from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Saved {
    /// Stored; the new draft version (save) or revision (publish).
    Ok(i64),
    /// Someone else saved in between; nothing was changed.
    Conflict { current_version: i64 },
}

#[derive(Debug, sqlx::FromRow)]
struct VersionRow {
    version: i64,
}

fn to_json(c: &LeistungContent) -> Result<String> {
    serde_json::to_string(c).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn audit(actor: Option<i64>, authority_id: i64, action: &str, leistung_id: i64) -> AuditEntry {
    AuditEntry {
        at: now_ms(),
        actor: actor.map_or_else(|| "system".to_owned(), |a| format!("staff:{a}")),
        authority_id: Some(authority_id),
        action: action.to_owned(),
        target: format!("leistung:{leistung_id}"),
        outcome: "success".to_owned(),
    }
}

impl Store {
    /// The draft of a service of this authority, if any.
    ///
    /// # Errors
    /// On database errors.
    pub async fn draft(&self, authority_id: i64, leistung_id: i64) -> Result<Option<DraftRow>> {
        let q = Query::select()
            .columns(["leistung_id", "authority_id", "version", "content", "updated_at", "updated_by"])
            .from("leistung_drafts")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("leistung_id").eq(leistung_id))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// Published revisions of a service, newest first.
    ///
    /// # Errors
    /// On database errors.
    pub async fn revisions(&self, authority_id: i64, leistung_id: i64) -> Result<Vec<RevisionRow>> {
        let q = Query::select()
            .columns(["revision", "content", "published_at", "published_by"])
            .from("leistung_revisions")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("leistung_id").eq(leistung_id))
            .order_by("revision", Order::Desc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// One service of this authority by id, published or not.
    ///
    /// # Errors
    /// On database errors.
    pub async fn leistung_by_id(&self, authority_id: i64, id: i64) -> Result<Option<amtsweg_domain::Leistung>> {
        let q = Query::select()
            .columns(crate::rows::LEISTUNG_COLUMNS)
            .from("leistungen")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        self.fetch_optional::<crate::rows::LeistungRow>(&q).await?.map(amtsweg_domain::Leistung::try_from).transpose()
    }
}

impl Tx {
    /// The published revision of a service of this authority (0 = never published).
    /// Editors who start without a draft send the revision they saw, so a publication
    /// in between (which removes the draft) is detected as a conflict too.
    ///
    /// # Errors
    /// On database errors.
    pub async fn leistung_revision(&mut self, authority_id: i64, leistung_id: i64) -> Result<Option<i64>> {
        let q = Query::select()
            .expr_as(Expr::col("revision"), "version")
            .from("leistungen")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(leistung_id))
            .to_owned();
        Ok(self.fetch_optional_in_tx::<VersionRow>(&q).await?.map(|r| r.version))
    }

    async fn draft_version(&mut self, authority_id: i64, leistung_id: i64) -> Result<i64> {
        let q = Query::select()
            .column("version")
            .from("leistung_drafts")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("leistung_id").eq(leistung_id))
            .to_owned();
        Ok(self.fetch_optional_in_tx::<VersionRow>(&q).await?.map_or(0, |r| r.version))
    }

    /// Saves a draft if nobody saved since `expected_version` (0 = no draft yet).
    ///
    /// # Errors
    /// On database errors.
    pub async fn save_draft(
        &mut self,
        authority_id: i64,
        leistung_id: i64,
        expected_version: i64,
        content: &LeistungContent,
        by: Option<i64>,
    ) -> Result<Saved> {
        let current = self.draft_version(authority_id, leistung_id).await?;
        if current != expected_version {
            return Ok(Saved::Conflict { current_version: current });
        }
        let content = self.enforce_linked_text(authority_id, leistung_id, content).await?;
        let json = to_json(&content)?;
        let next = current + 1;
        if current == 0 {
            // Tenant check: the service must belong to this authority.
            let q = Query::select()
                .expr_as(Expr::col("revision"), "version")
                .from("leistungen")
                .and_where(Expr::col("authority_id").eq(authority_id))
                .and_where(Expr::col("id").eq(leistung_id))
                .to_owned();
            if self.fetch_optional_in_tx::<VersionRow>(&q).await?.is_none() {
                return Err(StoreError::Invalid(format!(
                    "service {leistung_id} does not belong to authority {authority_id}"
                )));
            }
            let q = Query::insert()
                .into_table("leistung_drafts")
                .columns(["leistung_id", "authority_id", "version", "content", "updated_at", "updated_by"])
                .values_panic([
                    leistung_id.into(),
                    authority_id.into(),
                    next.into(),
                    json.into(),
                    now_ms().into(),
                    by.into(),
                ])
                .to_owned();
            self.execute(&q).await?;
        } else {
            let q = Query::update()
                .table("leistung_drafts")
                .value("version", next)
                .value("content", json)
                .value("updated_at", now_ms())
                .value("updated_by", by)
                .and_where(Expr::col("authority_id").eq(authority_id))
                .and_where(Expr::col("leistung_id").eq(leistung_id))
                .and_where(Expr::col("version").eq(current))
                .to_owned();
            if self.execute(&q).await? != 1 {
                return Ok(Saved::Conflict { current_version: current + 1 });
            }
        }
        self.append_audit(&audit(by, authority_id, "leistung.save_draft", leistung_id)).await?;
        Ok(Saved::Ok(next))
    }

    /// Publishes the draft saved as `expected_version`: the service shows it to
    /// citizens, a revision is recorded and the draft is removed.
    ///
    /// # Errors
    /// On database errors or a draft that does not validate.
    pub async fn publish_draft(
        &mut self,
        authority_id: i64,
        leistung_id: i64,
        expected_version: i64,
        by: Option<i64>,
    ) -> Result<Saved> {
        let current = self.draft_version(authority_id, leistung_id).await?;
        if current != expected_version || current == 0 {
            return Ok(Saved::Conflict { current_version: current });
        }
        let q = Query::select()
            .columns(["leistung_id", "authority_id", "version", "content", "updated_at", "updated_by"])
            .from("leistung_drafts")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("leistung_id").eq(leistung_id))
            .to_owned();
        let Some(draft) = self.fetch_optional_in_tx::<DraftRow>(&q).await? else {
            return Ok(Saved::Conflict { current_version: 0 });
        };
        let revision = self.publish_content(authority_id, leistung_id, &draft.content()?, by).await?;
        if matches!(revision, Saved::Conflict { .. }) {
            return Ok(revision);
        }
        let q = Query::delete()
            .from_table("leistung_drafts")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("leistung_id").eq(leistung_id))
            .to_owned();
        self.execute(&q).await?;
        Ok(revision)
    }

    /// Shows `c` to citizens as the next revision of the service, records the
    /// revision and, when the service is offered in the Verbund library, the library
    /// follows. Returns `Saved::Conflict` when the service is not this authority's.
    ///
    /// # Errors
    /// On database errors or content that does not validate.
    pub(crate) async fn publish_content(
        &mut self,
        authority_id: i64,
        leistung_id: i64,
        c: &LeistungContent,
        by: Option<i64>,
    ) -> Result<Saved> {
        if let Some(e) = c.validate().first() {
            return Err(StoreError::Invalid(e.message.clone()));
        }
        let leika = LeikaKey::parse(&c.leika)?;
        let trust = TrustLevel::parse(&c.trust_level)?;
        let q = Query::select()
            .columns(crate::rows::LEISTUNG_COLUMNS)
            .from("leistungen")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(leistung_id))
            .to_owned();
        let Some(current) = self.fetch_optional_in_tx::<crate::rows::LeistungRow>(&q).await? else {
            return Ok(Saved::Conflict { current_version: 0 });
        };
        let current = amtsweg_domain::Leistung::try_from(current)?;
        let revision = current.revision;
        self.keep_unrecorded_state(&current).await?;
        let next = revision + 1;
        let q = Query::update()
            .table("leistungen")
            .value("name", c.name.trim())
            .value("leika_key", leika.as_str())
            .value("trust_level", trust.as_str())
            .value("org_unit_id", c.org_unit_id)
            .value("online_url", c.online_url.trim())
            .value("keywords", c.keywords.join("\n"))
            .value("summary", c.summary.clone())
            .value("description", c.description.clone())
            .value("requirements", c.requirements.clone())
            .value("documents", c.documents.clone())
            .value("fees", c.fees.clone())
            .value("deadlines", c.deadlines.clone())
            .value("procedure_text", c.procedure.clone())
            .value("legal_basis", c.legal_basis.clone())
            .value("processing_time", c.processing_time.clone())
            .value("published", true)
            .value("revision", next)
            .value("updated_at", now_ms())
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(leistung_id))
            .to_owned();
        self.execute(&q).await?;
        let q = Query::insert()
            .into_table("leistung_revisions")
            .columns(["leistung_id", "authority_id", "revision", "content", "published_at", "published_by"])
            .values_panic([
                leistung_id.into(),
                authority_id.into(),
                next.into(),
                to_json(c)?.into(),
                now_ms().into(),
                by.into(),
            ])
            .to_owned();
        self.execute(&q).await?;
        let area = self.area_prefix_of(authority_id).await?;
        self.add_responsibility(&leika, authority_id, &area).await?;
        self.follow_in_library(authority_id, leistung_id, c, by).await?;
        self.append_audit(&audit(by, authority_id, "leistung.publish", leistung_id)).await?;
        Ok(Saved::Ok(next))
    }

    /// Records the state a publication replaces when the history does not hold it yet:
    /// services that were seeded, imported or published before the history existed
    /// have a published revision without a stored content. Keeping it (with the time
    /// of its last change and no editor) lets the history show the first edit as a
    /// real diff, old and new value side by side.
    async fn keep_unrecorded_state(&mut self, l: &amtsweg_domain::Leistung) -> Result<()> {
        #[derive(sqlx::FromRow)]
        struct Count {
            n: i64,
        }
        if l.revision < 1 {
            return Ok(());
        }
        let q = Query::select()
            .expr_as(Expr::col("revision").count(), "n")
            .from("leistung_revisions")
            .and_where(Expr::col("authority_id").eq(l.authority_id))
            .and_where(Expr::col("leistung_id").eq(l.id))
            .and_where(Expr::col("revision").eq(l.revision))
            .to_owned();
        if self.fetch_optional_in_tx::<Count>(&q).await?.is_some_and(|c| c.n > 0) {
            return Ok(());
        }
        let q = Query::insert()
            .into_table("leistung_revisions")
            .columns(["leistung_id", "authority_id", "revision", "content", "published_at", "published_by"])
            .values_panic([
                l.id.into(),
                l.authority_id.into(),
                l.revision.into(),
                to_json(&LeistungContent::of(l))?.into(),
                l.updated_at.into(),
                Option::<i64>::None.into(),
            ])
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    async fn area_prefix_of(&mut self, authority_id: i64) -> Result<String> {
        #[derive(sqlx::FromRow)]
        struct Row {
            kind: String,
            ars: String,
        }
        let q = Query::select()
            .columns(["kind", "ars"])
            .from("authorities")
            .and_where(Expr::col("id").eq(authority_id))
            .to_owned();
        let r: Row =
            self.fetch_optional_in_tx(&q).await?.ok_or_else(|| StoreError::Invalid("unknown authority".into()))?;
        Ok(amtsweg_domain::Ars::parse(&r.ars)?.area_prefix(amtsweg_domain::AuthorityKind::parse(&r.kind)?))
    }

    /// Withdraws or re-publishes a service and records it.
    ///
    /// # Errors
    /// On database errors.
    pub async fn set_published_audited(
        &mut self,
        authority_id: i64,
        leistung_id: i64,
        published: bool,
        by: Option<i64>,
    ) -> Result<bool> {
        let changed = self.set_leistung_published(authority_id, leistung_id, published).await?;
        if changed {
            let action = if published { "leistung.publish" } else { "leistung.unpublish" };
            self.append_audit(&audit(by, authority_id, action, leistung_id)).await?;
        }
        Ok(changed)
    }

    /// Creates a new, unpublished service with a first draft; returns its id.
    ///
    /// # Errors
    /// On database errors, e.g. the slug is already used by this authority.
    pub async fn create_leistung(
        &mut self,
        authority_id: i64,
        slug: &Slug,
        content: &LeistungContent,
        by: Option<i64>,
    ) -> Result<i64> {
        let id = self.create_leistung_row(authority_id, slug, content).await?;
        self.save_draft(authority_id, id, 0, content, by).await?;
        self.append_audit(&audit(by, authority_id, "leistung.create", id)).await?;
        Ok(id)
    }

    /// The unpublished service row alone (revision 0, no draft yet).
    pub(crate) async fn create_leistung_row(
        &mut self,
        authority_id: i64,
        slug: &Slug,
        content: &LeistungContent,
    ) -> Result<i64> {
        let leika = LeikaKey::parse(&content.leika)?;
        let q = Query::insert()
            .into_table("leistungen")
            .columns([
                "authority_id",
                "slug",
                "name",
                "leika_key",
                "trust_level",
                "published",
                "revision",
                "updated_at",
            ])
            .values_panic([
                authority_id.into(),
                slug.as_str().into(),
                content.name.trim().into(),
                leika.as_str().into(),
                TrustLevel::parse(&content.trust_level)?.as_str().into(),
                false.into(),
                0i64.into(),
                now_ms().into(),
            ])
            .returning_col("id")
            .to_owned();
        self.insert_id(&q).await
    }

    /// Drops the draft; the published state stays.
    ///
    /// # Errors
    /// On database errors.
    pub async fn discard_draft(&mut self, authority_id: i64, leistung_id: i64, by: Option<i64>) -> Result<()> {
        let q = Query::delete()
            .from_table("leistung_drafts")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("leistung_id").eq(leistung_id))
            .to_owned();
        if self.execute(&q).await? > 0 {
            self.append_audit(&audit(by, authority_id, "leistung.discard_draft", leistung_id)).await?;
        }
        Ok(())
    }
}
