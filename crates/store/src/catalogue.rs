//! Authorities, places, the service catalogue and responsibility rules.

use crate::db::{Store, Tx};
use crate::rows::{
    AUTHORITY_COLUMNS, AuthorityRow, CONTACT_COLUMNS, Contact, HostRow, IdRow, KeyValueRow, LEISTUNG_COLUMNS,
    LOCATION_COLUMNS, LeistungRow, Location, ORG_UNIT_COLUMNS, OrgUnit, PlaceRow, PlazRow, RuleRow,
};
use crate::{Result, now_ms};
use amtsweg_domain::leistung::sort_key;
use amtsweg_domain::{Ars, Authority, LeikaKey, Leistung, OpeningHours, Place, ResponsibilityRule};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use std::collections::HashMap;

/// Input for a new authority; keys are validated by their types.
#[derive(Debug, Clone)]
pub struct NewAuthority {
    pub slug: amtsweg_domain::Slug,
    pub name: String,
    pub kind: amtsweg_domain::AuthorityKind,
    pub ags: Option<amtsweg_domain::Ags>,
    pub ars: Ars,
    pub parent_id: Option<i64>,
    pub hosts: Vec<String>,
    pub street: String,
    pub plz: String,
    pub city: String,
    pub phone: String,
    pub email: String,
    pub website: String,
    pub intro: String,
    pub primary_color: String,
}

#[derive(Debug, Clone)]
pub struct NewLocation {
    pub slug: String,
    pub name: String,
    pub street: String,
    pub plz: String,
    pub city: String,
    pub accessibility: String,
    pub hours: OpeningHours,
}

#[derive(Debug, Clone)]
pub struct NewOrgUnit {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub location_id: Option<i64>,
    pub phone: String,
    pub email: String,
}

#[derive(Debug, Clone)]
pub struct NewContact {
    pub slug: String,
    pub name: String,
    pub role: String,
    pub org_unit_id: Option<i64>,
    pub phone: String,
    pub email: String,
    pub room: String,
}

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

#[derive(Debug, Clone)]
pub struct NewPlace {
    pub name: String,
    pub ars: Ars,
    pub plz: Vec<String>,
}

fn normalize_host(h: &str) -> String {
    h.trim().to_ascii_lowercase()
}

impl Store {
    /// The Verbund's display name.
    ///
    /// # Errors
    /// On database errors.
    pub async fn verbund_name(&self) -> Result<String> {
        let q =
            Query::select().column("value").from("verbund_settings").and_where(Expr::col("key").eq("name")).to_owned();
        Ok(self.fetch_optional::<KeyValueRow>(&q).await?.map_or_else(|| "Portalverbund".to_owned(), |r| r.value))
    }

    /// Every authority of the Verbund with its host names, in tree order by ARS.
    ///
    /// # Errors
    /// On database errors or invalid stored keys.
    pub async fn authorities(&self) -> Result<Vec<Authority>> {
        let q = Query::select().columns(AUTHORITY_COLUMNS).from("authorities").order_by("ars", Order::Asc).to_owned();
        let rows: Vec<AuthorityRow> = self.fetch_all(&q).await?;
        let hosts: Vec<HostRow> = self
            .fetch_all(
                &Query::select()
                    .columns(["host", "authority_id"])
                    .from("authority_hosts")
                    .order_by("host", Order::Asc)
                    .to_owned(),
            )
            .await?;
        let mut by_authority: HashMap<i64, Vec<String>> = HashMap::new();
        for h in hosts {
            by_authority.entry(h.authority_id).or_default().push(h.host);
        }
        rows.into_iter()
            .map(|r| {
                let hosts = by_authority.remove(&r.id).unwrap_or_default();
                r.into_domain(hosts)
            })
            .collect()
    }

    /// # Errors
    /// On database errors.
    pub async fn authority_by_slug(&self, slug: &str) -> Result<Option<Authority>> {
        let q = Query::select()
            .columns(AUTHORITY_COLUMNS)
            .from("authorities")
            .and_where(Expr::col("slug").eq(slug))
            .to_owned();
        match self.fetch_optional::<AuthorityRow>(&q).await? {
            Some(row) => {
                let hosts = self.hosts_of(row.id).await?;
                Ok(Some(row.into_domain(hosts)?))
            }
            None => Ok(None),
        }
    }

    /// The authority a host name (without port) belongs to.
    ///
    /// # Errors
    /// On database errors.
    pub async fn authority_by_host(&self, host: &str) -> Result<Option<Authority>> {
        let q = Query::select()
            .column("authority_id")
            .expr_as(Expr::col("authority_id"), "id")
            .from("authority_hosts")
            .and_where(Expr::col("host").eq(normalize_host(host)))
            .to_owned();
        let Some(IdRow { id }) = self.fetch_optional::<IdRow>(&q).await? else {
            return Ok(None);
        };
        let q =
            Query::select().columns(AUTHORITY_COLUMNS).from("authorities").and_where(Expr::col("id").eq(id)).to_owned();
        match self.fetch_optional::<AuthorityRow>(&q).await? {
            Some(row) => {
                let hosts = self.hosts_of(row.id).await?;
                Ok(Some(row.into_domain(hosts)?))
            }
            None => Ok(None),
        }
    }

    async fn hosts_of(&self, authority_id: i64) -> Result<Vec<String>> {
        let q = Query::select()
            .columns(["host", "authority_id"])
            .from("authority_hosts")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .order_by("host", Order::Asc)
            .to_owned();
        Ok(self.fetch_all::<HostRow>(&q).await?.into_iter().map(|h| h.host).collect())
    }

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

    /// # Errors
    /// On database errors.
    pub async fn org_units(&self, authority_id: i64) -> Result<Vec<OrgUnit>> {
        let q = Query::select()
            .columns(ORG_UNIT_COLUMNS)
            .from("org_units")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .to_owned();
        let mut v: Vec<OrgUnit> = self.fetch_all(&q).await?;
        v.sort_by_cached_key(|o| sort_key(&o.name));
        Ok(v)
    }

    /// # Errors
    /// On database errors.
    pub async fn org_unit(&self, authority_id: i64, slug: &str) -> Result<Option<OrgUnit>> {
        let q = Query::select()
            .columns(ORG_UNIT_COLUMNS)
            .from("org_units")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("slug").eq(slug))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// # Errors
    /// On database errors.
    pub async fn org_unit_by_id(&self, authority_id: i64, id: i64) -> Result<Option<OrgUnit>> {
        let q = Query::select()
            .columns(ORG_UNIT_COLUMNS)
            .from("org_units")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// # Errors
    /// On database errors.
    pub async fn contacts(&self, authority_id: i64) -> Result<Vec<Contact>> {
        let q = Query::select()
            .columns(CONTACT_COLUMNS)
            .from("contacts")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .to_owned();
        let mut v: Vec<Contact> = self.fetch_all(&q).await?;
        v.sort_by_cached_key(|c| sort_key(&c.name));
        Ok(v)
    }

    /// # Errors
    /// On database errors.
    pub async fn contact(&self, authority_id: i64, slug: &str) -> Result<Option<Contact>> {
        let q = Query::select()
            .columns(CONTACT_COLUMNS)
            .from("contacts")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("slug").eq(slug))
            .to_owned();
        self.fetch_optional(&q).await
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

    /// # Errors
    /// On database errors.
    pub async fn contacts_of_org_unit(&self, authority_id: i64, org_unit_id: i64) -> Result<Vec<Contact>> {
        let q = Query::select()
            .columns(CONTACT_COLUMNS)
            .from("contacts")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("org_unit_id").eq(org_unit_id))
            .order_by("name", Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// # Errors
    /// On database errors.
    pub async fn locations(&self, authority_id: i64) -> Result<Vec<Location>> {
        let q = Query::select()
            .columns(LOCATION_COLUMNS)
            .from("locations")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .order_by("name", Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// # Errors
    /// On database errors.
    pub async fn location(&self, authority_id: i64, id: i64) -> Result<Option<Location>> {
        let q = Query::select()
            .columns(LOCATION_COLUMNS)
            .from("locations")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// The municipalities of the Verbund's territory with their postcodes.
    ///
    /// # Errors
    /// On database errors.
    pub async fn places(&self) -> Result<Vec<Place>> {
        let rows: Vec<PlaceRow> =
            self.fetch_all(&Query::select().columns(["id", "name", "ars"]).from("places").to_owned()).await?;
        let plz: Vec<PlazRow> = self
            .fetch_all(
                &Query::select().columns(["plz", "place_id"]).from("place_plz").order_by("plz", Order::Asc).to_owned(),
            )
            .await?;
        let mut places = rows
            .into_iter()
            .map(|r| {
                Ok(Place {
                    id: r.id,
                    name: r.name,
                    ars: Ars::parse(&r.ars)?,
                    plz: plz.iter().filter(|p| p.place_id == r.id).map(|p| p.plz.clone()).collect(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        places.sort_by_cached_key(|p| sort_key(&p.name));
        Ok(places)
    }

    /// Every responsibility rule of the Verbund.
    ///
    /// # Errors
    /// On database errors.
    pub async fn responsibility_rules(&self) -> Result<Vec<ResponsibilityRule>> {
        let q = Query::select()
            .columns(["leika_key", "authority_id", "area_prefix"])
            .from("zustaendigkeiten")
            .order_by("leika_key", Order::Asc)
            .to_owned();
        self.fetch_all::<RuleRow>(&q)
            .await?
            .into_iter()
            .map(|r| {
                Ok(ResponsibilityRule {
                    leika: LeikaKey::parse(&r.leika_key)?,
                    authority_id: r.authority_id,
                    area_prefix: r.area_prefix,
                })
            })
            .collect()
    }

    /// A cheap liveness probe of the database.
    ///
    /// # Errors
    /// When the database does not answer.
    pub async fn ping(&self) -> Result<()> {
        self.fetch_all::<IdRow>(&Query::select().expr_as(Expr::val(1i64), "id").to_owned()).await?;
        Ok(())
    }
}

impl Tx {
    /// # Errors
    /// On database errors.
    pub async fn set_verbund_name(&mut self, name: &str) -> Result<()> {
        let q = Query::insert()
            .into_table("verbund_settings")
            .columns(["key", "value"])
            .values_panic(["name".into(), name.into()])
            .on_conflict(OnConflict::column("key").update_column("value").to_owned())
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// Adds an authority with its host names; returns its id.
    ///
    /// # Errors
    /// On database errors, e.g. a slug, ARS or host name already taken.
    pub async fn insert_authority(&mut self, a: &NewAuthority) -> Result<i64> {
        let q = Query::insert()
            .into_table("authorities")
            .columns([
                "slug",
                "name",
                "kind",
                "ags",
                "ars",
                "parent_id",
                "street",
                "plz",
                "city",
                "phone",
                "email",
                "website",
                "intro",
                "primary_color",
                "updated_at",
            ])
            .values_panic([
                a.slug.as_str().into(),
                a.name.clone().into(),
                a.kind.as_str().into(),
                a.ags.as_ref().map(|x| x.as_str().to_owned()).into(),
                a.ars.as_str().into(),
                a.parent_id.into(),
                a.street.clone().into(),
                a.plz.clone().into(),
                a.city.clone().into(),
                a.phone.clone().into(),
                a.email.clone().into(),
                a.website.clone().into(),
                a.intro.clone().into(),
                a.primary_color.clone().into(),
                now_ms().into(),
            ])
            .returning_col("id")
            .to_owned();
        let id = self.insert_id(&q).await?;
        for host in &a.hosts {
            let q = Query::insert()
                .into_table("authority_hosts")
                .columns(["host", "authority_id"])
                .values_panic([normalize_host(host).into(), id.into()])
                .to_owned();
            self.execute(&q).await?;
        }
        Ok(id)
    }

    /// # Errors
    /// On database errors.
    pub async fn set_main_location(&mut self, authority_id: i64, location_id: i64) -> Result<()> {
        let q = Query::update()
            .table("authorities")
            .value("main_location_id", location_id)
            .value("updated_at", now_ms())
            .and_where(Expr::col("id").eq(authority_id))
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// # Errors
    /// On database errors.
    pub async fn insert_location(&mut self, authority_id: i64, l: &NewLocation) -> Result<i64> {
        let hours = serde_json::to_string(&l.hours).map_err(|e| crate::StoreError::Invalid(e.to_string()))?;
        let q = Query::insert()
            .into_table("locations")
            .columns([
                "authority_id",
                "slug",
                "name",
                "street",
                "plz",
                "city",
                "accessibility",
                "opening_hours",
                "updated_at",
            ])
            .values_panic([
                authority_id.into(),
                l.slug.clone().into(),
                l.name.clone().into(),
                l.street.clone().into(),
                l.plz.clone().into(),
                l.city.clone().into(),
                l.accessibility.clone().into(),
                hours.into(),
                now_ms().into(),
            ])
            .returning_col("id")
            .to_owned();
        self.insert_id(&q).await
    }

    /// # Errors
    /// On database errors.
    pub async fn insert_org_unit(&mut self, authority_id: i64, o: &NewOrgUnit) -> Result<i64> {
        let q = Query::insert()
            .into_table("org_units")
            .columns(["authority_id", "slug", "name", "description", "location_id", "phone", "email", "updated_at"])
            .values_panic([
                authority_id.into(),
                o.slug.clone().into(),
                o.name.clone().into(),
                o.description.clone().into(),
                o.location_id.into(),
                o.phone.clone().into(),
                o.email.clone().into(),
                now_ms().into(),
            ])
            .returning_col("id")
            .to_owned();
        self.insert_id(&q).await
    }

    /// # Errors
    /// On database errors.
    pub async fn insert_contact(&mut self, authority_id: i64, c: &NewContact) -> Result<i64> {
        let q = Query::insert()
            .into_table("contacts")
            .columns(["authority_id", "slug", "name", "role", "org_unit_id", "phone", "email", "room", "updated_at"])
            .values_panic([
                authority_id.into(),
                c.slug.clone().into(),
                c.name.clone().into(),
                c.role.clone().into(),
                c.org_unit_id.into(),
                c.phone.clone().into(),
                c.email.clone().into(),
                c.room.clone().into(),
                now_ms().into(),
            ])
            .returning_col("id")
            .to_owned();
        self.insert_id(&q).await
    }

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

    /// # Errors
    /// On database errors.
    pub async fn insert_place(&mut self, p: &NewPlace) -> Result<i64> {
        let q = Query::insert()
            .into_table("places")
            .columns(["name", "ars"])
            .values_panic([p.name.clone().into(), p.ars.as_str().into()])
            .returning_col("id")
            .to_owned();
        let id = self.insert_id(&q).await?;
        for plz in &p.plz {
            let q = Query::insert()
                .into_table("place_plz")
                .columns(["plz", "place_id"])
                .values_panic([plz.clone().into(), id.into()])
                .to_owned();
            self.execute(&q).await?;
        }
        Ok(id)
    }

    /// Records that `authority_id` is responsible for `leika` in the area `area_prefix`
    /// (an ARS prefix). Recording the same rule twice changes nothing.
    ///
    /// # Errors
    /// On database errors.
    pub async fn add_responsibility(&mut self, leika: &LeikaKey, authority_id: i64, area_prefix: &str) -> Result<()> {
        let q = Query::insert()
            .into_table("zustaendigkeiten")
            .columns(["leika_key", "authority_id", "area_prefix"])
            .values_panic([leika.as_str().into(), authority_id.into(), area_prefix.into()])
            .on_conflict(OnConflict::columns(["leika_key", "authority_id", "area_prefix"]).do_nothing().to_owned())
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }
}

#[derive(Debug, sqlx::FromRow)]
struct WatermarkRow {
    latest: Option<i64>,
    rows: i64,
}

#[derive(Debug, sqlx::FromRow)]
pub struct LeistungContactLink {
    pub leistung_id: i64,
    pub contact_id: i64,
}

impl Store {
    /// A number that changes whenever any catalogue content is added, changed or
    /// removed: readers poll it to know when to reload (also across nodes).
    ///
    /// # Errors
    /// On database errors.
    pub async fn content_watermark(&self) -> Result<i64> {
        let mut sum = 0i64;
        for table in [
            "authorities",
            "locations",
            "org_units",
            "contacts",
            "leistungen",
            "places",
            "zustaendigkeiten",
            "pages",
            "forms",
        ] {
            let q = Query::select()
                .expr_as(Expr::col("id").count(), "rows")
                .expr_as(
                    if matches!(table, "places" | "zustaendigkeiten") {
                        Expr::col("id").max()
                    } else {
                        Expr::col("updated_at").max()
                    },
                    "latest",
                )
                .from(table)
                .to_owned();
            if let Some(r) = self.fetch_optional::<WatermarkRow>(&q).await? {
                sum = sum.wrapping_mul(31).wrapping_add(r.latest.unwrap_or(0)).wrapping_mul(31).wrapping_add(r.rows);
            }
        }
        Ok(sum)
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
    /// Changes an authority's look (colour, welcome text, footer links).
    ///
    /// # Errors
    /// On database errors.
    pub async fn update_authority_look(
        &mut self,
        authority_id: i64,
        primary_color: &str,
        intro: &str,
        footer_links: &[amtsweg_domain::theme::FooterLink],
    ) -> Result<bool> {
        let links = serde_json::to_string(footer_links).map_err(|e| crate::StoreError::Invalid(e.to_string()))?;
        let q = Query::update()
            .table("authorities")
            .value("primary_color", primary_color)
            .value("intro", intro)
            .value("footer_links", links)
            .value("updated_at", now_ms())
            .and_where(Expr::col("id").eq(authority_id))
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }

    /// Sets (or with empty strings removes) an authority's logo.
    ///
    /// # Errors
    /// On database errors.
    pub async fn set_authority_logo(&mut self, authority_id: i64, key: &str, content_type: &str) -> Result<bool> {
        let q = Query::update()
            .table("authorities")
            .value("logo_key", key)
            .value("logo_type", content_type)
            .value("updated_at", now_ms())
            .and_where(Expr::col("id").eq(authority_id))
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }

    /// Whether a host name is already taken by some authority.
    ///
    /// # Errors
    /// On database errors.
    pub async fn host_taken(&mut self, host: &str) -> Result<bool> {
        let q = Query::select()
            .expr_as(Expr::col("authority_id"), "id")
            .from("authority_hosts")
            .and_where(Expr::col("host").eq(normalize_host(host)))
            .to_owned();
        Ok(self.fetch_optional_in_tx::<IdRow>(&q).await?.is_some())
    }
}

impl Tx {
    /// Removes one responsibility rule; returns whether it existed.
    ///
    /// # Errors
    /// On database errors.
    pub async fn remove_responsibility(
        &mut self,
        leika: &LeikaKey,
        authority_id: i64,
        area_prefix: &str,
    ) -> Result<bool> {
        let q = Query::delete()
            .from_table("zustaendigkeiten")
            .and_where(Expr::col("leika_key").eq(leika.as_str()))
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("area_prefix").eq(area_prefix))
            .to_owned();
        Ok(self.execute(&q).await? > 0)
    }
}

impl Tx {
    /// Changes a location of this authority if nobody changed it since `expected_version`
    /// (its `updated_at`). Returns false on a conflict or a foreign location.
    ///
    /// # Errors
    /// On database errors.
    pub async fn update_location(
        &mut self,
        authority_id: i64,
        id: i64,
        expected_version: i64,
        l: &NewLocation,
    ) -> Result<bool> {
        let hours = serde_json::to_string(&l.hours).map_err(|e| crate::StoreError::Invalid(e.to_string()))?;
        let now = Ord::max(now_ms(), expected_version + 1);
        let q = Query::update()
            .table("locations")
            .value("name", l.name.clone())
            .value("street", l.street.clone())
            .value("plz", l.plz.clone())
            .value("city", l.city.clone())
            .value("accessibility", l.accessibility.clone())
            .value("opening_hours", hours)
            .value("updated_at", now)
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(id))
            .and_where(Expr::col("updated_at").eq(expected_version))
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }
}

impl Tx {
    /// Changes an org unit of this authority unless it changed since `expected_version`.
    ///
    /// # Errors
    /// On database errors.
    pub async fn update_org_unit(
        &mut self,
        authority_id: i64,
        id: i64,
        expected_version: i64,
        o: &NewOrgUnit,
    ) -> Result<bool> {
        let q = Query::update()
            .table("org_units")
            .value("name", o.name.clone())
            .value("description", o.description.clone())
            .value("location_id", o.location_id)
            .value("phone", o.phone.clone())
            .value("email", o.email.clone())
            .value("updated_at", Ord::max(now_ms(), expected_version + 1))
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(id))
            .and_where(Expr::col("updated_at").eq(expected_version))
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }

    /// Changes a contact of this authority unless it changed since `expected_version`.
    ///
    /// # Errors
    /// On database errors.
    pub async fn update_contact(
        &mut self,
        authority_id: i64,
        id: i64,
        expected_version: i64,
        c: &NewContact,
    ) -> Result<bool> {
        let q = Query::update()
            .table("contacts")
            .value("name", c.name.clone())
            .value("role", c.role.clone())
            .value("org_unit_id", c.org_unit_id)
            .value("phone", c.phone.clone())
            .value("email", c.email.clone())
            .value("room", c.room.clone())
            .value("updated_at", Ord::max(now_ms(), expected_version + 1))
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(id))
            .and_where(Expr::col("updated_at").eq(expected_version))
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }
}
