//! The authorities of the Verbund: their records, the host names each is reached
//! under, their look (colour, logo, footer links) and the Verbund's own name.
//!
//! Host names are stored normalised (trimmed, lower case), so the lookup by the
//! request's `Host` header and the check for a taken host agree with what was stored.

use crate::db::{Store, Tx};
use crate::rows::{AUTHORITY_COLUMNS, AuthorityRow, HostRow, IdRow, KeyValueRow};
use crate::{Result, now_ms};
use amtsweg_domain::{Ars, Authority};
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
