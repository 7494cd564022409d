//! Service descriptions (Leistungen): reading them for citizens (published only) and
//! for editors (drafts too), following changes for the search index, publishing and
//! withdrawing, and the contacts named on each service in their given order.
//!
//! Lists are sorted by the German collation key of the title, not by the database,
//! so SQLite and PostgreSQL give the same order.

use crate::db::{Store, Tx};
use crate::rows::{CONTACT_COLUMNS, Contact, LEISTUNG_COLUMNS, LeistungRow};
use crate::{Result, now_ms};
use amtsweg_domain::leistung::sort_key;
use amtsweg_domain::{LeikaKey, Leistung};
use sea_query::{Expr, ExprTrait, Order, Query};

/// A service description to store; `published` decides whether citizens see it.
#[derive(Debug, Clone)]
pub struct NewLeistung {
    pub slug: amtsweg_domain::Slug,
    pub name: String,
    pub leika: LeikaKey,
    pub leika_verified: bool,
    pub trust_level: amtsweg_domain::TrustLevel,
    pub org_unit_id: Option<i64>,
    pub online_url: String,
    pub keywords: Vec<String>,
    pub summary: String,
    pub description: String,
    pub requirements: String,
    pub documents: String,
    pub fees: String,
    pub deadlines: String,
    pub procedure: String,
    pub legal_basis: String,
    pub processing_time: String,
    pub published: bool,
}

#[derive(Debug, sqlx::FromRow)]
pub struct LeistungContactLink {
    pub leistung_id: i64,
    pub contact_id: i64,
}

impl Store {
    /// The services of one authority, sorted by German title. Drafts only when asked.
    ///
    /// # Errors
    /// On database errors.
    pub async fn leistungen_of(&self, authority_id: i64, include_drafts: bool) -> Result<Vec<Leistung>> {
        let mut q = Query::select();
        q.columns(LEISTUNG_COLUMNS).from("leistungen").and_where(Expr::col("authority_id").eq(authority_id));
        if !include_drafts {
            q.and_where(Expr::col("published").eq(true));
        }
        self.leistungen_sorted(&q).await
    }

    /// Every published service of the Verbund, sorted by German title.
    ///
    /// # Errors
    /// On database errors.
    pub async fn published_leistungen(&self) -> Result<Vec<Leistung>> {
        let q = Query::select()
            .columns(LEISTUNG_COLUMNS)
            .from("leistungen")
            .and_where(Expr::col("published").eq(true))
            .to_owned();
        self.leistungen_sorted(&q).await
    }

    /// Services (published or not) changed at or after `since_ms`, oldest first; the
    /// search index follows the catalogue with this.
    ///
    /// # Errors
    /// On database errors.
    pub async fn leistungen_changed_since(&self, since_ms: i64) -> Result<Vec<Leistung>> {
        let q = Query::select()
            .columns(LEISTUNG_COLUMNS)
            .from("leistungen")
            .and_where(Expr::col("updated_at").gte(since_ms))
            .order_by("updated_at", Order::Asc)
            .to_owned();
        self.fetch_all::<LeistungRow>(&q).await?.into_iter().map(Leistung::try_from).collect()
    }

    async fn leistungen_sorted(&self, q: &sea_query::SelectStatement) -> Result<Vec<Leistung>> {
        let mut v: Vec<Leistung> =
            self.fetch_all::<LeistungRow>(q).await?.into_iter().map(Leistung::try_from).collect::<Result<_>>()?;
        v.sort_by_cached_key(|l| sort_key(&l.name));
        Ok(v)
    }

    /// One service of one authority by its URL name.
    ///
    /// # Errors
    /// On database errors.
    pub async fn leistung(&self, authority_id: i64, slug: &str) -> Result<Option<Leistung>> {
        let q = Query::select()
            .columns(LEISTUNG_COLUMNS)
            .from("leistungen")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("slug").eq(slug))
            .to_owned();
        self.fetch_optional::<LeistungRow>(&q).await?.map(Leistung::try_from).transpose()
    }

    /// The contacts named on a service, in their given order.
    ///
    /// # Errors
    /// On database errors.
    pub async fn contacts_of_leistung(&self, authority_id: i64, leistung_id: i64) -> Result<Vec<Contact>> {
        let q = Query::select()
            .columns(CONTACT_COLUMNS.map(|c| ("contacts", c)))
            .from("contacts")
            .inner_join("leistung_contacts", Expr::col(("leistung_contacts", "contact_id")).equals(("contacts", "id")))
            .and_where(Expr::col(("leistung_contacts", "leistung_id")).eq(leistung_id))
            .and_where(Expr::col(("leistung_contacts", "authority_id")).eq(authority_id))
            .and_where(Expr::col(("contacts", "authority_id")).eq(authority_id))
            .order_by(("leistung_contacts", "position"), Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// Which contacts are named on which service, for every service of the Verbund.
    ///
    /// # Errors
    /// On database errors.
    pub async fn leistung_contact_links(&self) -> Result<Vec<LeistungContactLink>> {
        let q = Query::select()
            .columns(["leistung_id", "contact_id"])
            .from("leistung_contacts")
            .order_by("leistung_id", Order::Asc)
            .order_by("position", Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }
}

impl Tx {
    /// Stores a service description with its contacts (ids of the same authority).
    ///
    /// # Errors
    /// On database errors, e.g. a slug already used by this authority.
    pub async fn insert_leistung(&mut self, authority_id: i64, l: &NewLeistung, contact_ids: &[i64]) -> Result<i64> {
        let q = Query::insert()
            .into_table("leistungen")
            .columns([
                "authority_id",
                "slug",
                "name",
                "leika_key",
                "leika_verified",
                "trust_level",
                "org_unit_id",
                "online_url",
                "keywords",
                "summary",
                "description",
                "requirements",
                "documents",
                "fees",
                "deadlines",
                "procedure_text",
                "legal_basis",
                "processing_time",
                "published",
                "updated_at",
            ])
            .values_panic([
                authority_id.into(),
                l.slug.as_str().into(),
                l.name.clone().into(),
                l.leika.as_str().into(),
                l.leika_verified.into(),
                l.trust_level.as_str().into(),
                l.org_unit_id.into(),
                l.online_url.clone().into(),
                l.keywords.join("\n").into(),
                l.summary.clone().into(),
                l.description.clone().into(),
                l.requirements.clone().into(),
                l.documents.clone().into(),
                l.fees.clone().into(),
                l.deadlines.clone().into(),
                l.procedure.clone().into(),
                l.legal_basis.clone().into(),
                l.processing_time.clone().into(),
                l.published.into(),
                now_ms().into(),
            ])
            .returning_col("id")
            .to_owned();
        let id = self.insert_id(&q).await?;
        for (pos, contact_id) in contact_ids.iter().enumerate() {
            let q = Query::insert()
                .into_table("leistung_contacts")
                .columns(["leistung_id", "contact_id", "authority_id", "position"])
                .values_panic([
                    id.into(),
                    (*contact_id).into(),
                    authority_id.into(),
                    i64::try_from(pos).unwrap_or(0).into(),
                ])
                .to_owned();
            self.execute(&q).await?;
        }
        Ok(id)
    }

    /// Publishes or withdraws a service; the search index follows within a second.
    /// Returns whether a row of this authority was changed.
    ///
    /// # Errors
    /// On database errors.
    pub async fn set_leistung_published(
        &mut self,
        authority_id: i64,
        leistung_id: i64,
        published: bool,
    ) -> Result<bool> {
        let q = Query::update()
            .table("leistungen")
            .value("published", published)
            .value("updated_at", now_ms())
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(leistung_id))
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }
}
