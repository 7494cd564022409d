//! How an authority is organised: its locations (with opening hours), its org units
//! and its contacts — what a service description points citizens to.
//!
//! Every read and write is scoped by the authority id. Updates take the version
//! (`updated_at`) the editor saw and change nothing when someone else saved first.

use crate::db::{Store, Tx};
use crate::rows::{CONTACT_COLUMNS, Contact, LOCATION_COLUMNS, Location, ORG_UNIT_COLUMNS, OrgUnit};
use crate::{Result, now_ms};
use amtsweg_domain::OpeningHours;
use amtsweg_domain::leistung::sort_key;
use sea_query::{Expr, ExprTrait, Order, Query};

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

impl Store {
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
}

impl Tx {
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
