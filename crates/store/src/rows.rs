//! Row types as stored, and their conversion into domain types.

use crate::{Result, StoreError};
use amtsweg_domain::{Ags, Ars, Authority, AuthorityKind, LeikaKey, Leistung, OpeningHours, Slug, TrustLevel};
use serde::Serialize;

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AuthorityRow {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub kind: String,
    pub ags: Option<String>,
    pub ars: String,
    pub parent_id: Option<i64>,
    pub street: String,
    pub plz: String,
    pub city: String,
    pub phone: String,
    pub email: String,
    pub website: String,
    pub intro: String,
    pub primary_color: String,
    pub main_location_id: Option<i64>,
    pub logo_key: String,
    pub logo_type: String,
    pub footer_links: String,
}

pub(crate) const AUTHORITY_COLUMNS: [&str; 19] = [
    "id",
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
    "main_location_id",
    "logo_key",
    "logo_type",
    "footer_links",
];

impl AuthorityRow {
    pub(crate) fn into_domain(self, hosts: Vec<String>) -> Result<Authority> {
        Ok(Authority {
            id: self.id,
            slug: Slug::parse(&self.slug)?,
            name: self.name,
            kind: AuthorityKind::parse(&self.kind)?,
            ags: self.ags.filter(|a| !a.is_empty()).map(|a| Ags::parse(&a)).transpose()?,
            ars: Ars::parse(&self.ars)?,
            parent_id: self.parent_id,
            hosts,
            street: self.street,
            plz: self.plz,
            city: self.city,
            phone: self.phone,
            email: self.email,
            website: self.website,
            intro: self.intro,
            primary_color: self.primary_color,
            main_location_id: self.main_location_id,
            logo_key: self.logo_key,
            logo_type: self.logo_type,
            // Written only from validated links; unreadable JSON shows no links
            // rather than taking the authority's portal down.
            footer_links: serde_json::from_str(&self.footer_links).unwrap_or_default(),
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct LeistungRow {
    pub id: i64,
    pub authority_id: i64,
    pub slug: String,
    pub name: String,
    pub leika_key: String,
    pub leika_verified: bool,
    pub trust_level: String,
    pub org_unit_id: Option<i64>,
    pub online_url: String,
    pub keywords: String,
    pub summary: String,
    pub description: String,
    pub requirements: String,
    pub documents: String,
    pub fees: String,
    pub deadlines: String,
    pub procedure_text: String,
    pub legal_basis: String,
    pub processing_time: String,
    pub published: bool,
    pub updated_at: i64,
    pub revision: i64,
}

pub(crate) const LEISTUNG_COLUMNS: [&str; 22] = [
    "id",
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
    "revision",
];

impl TryFrom<LeistungRow> for Leistung {
    type Error = StoreError;
    fn try_from(r: LeistungRow) -> Result<Self> {
        Ok(Self {
            id: r.id,
            authority_id: r.authority_id,
            slug: Slug::parse(&r.slug)?,
            name: r.name,
            leika: LeikaKey::parse(&r.leika_key)?,
            leika_verified: r.leika_verified,
            trust_level: TrustLevel::parse(&r.trust_level)?,
            org_unit_id: r.org_unit_id,
            online_url: r.online_url,
            keywords: r.keywords.lines().map(str::to_owned).filter(|k| !k.is_empty()).collect(),
            summary: r.summary,
            description: r.description,
            requirements: r.requirements,
            documents: r.documents,
            fees: r.fees,
            deadlines: r.deadlines,
            procedure: r.procedure_text,
            legal_basis: r.legal_basis,
            processing_time: r.processing_time,
            published: r.published,
            updated_at: r.updated_at,
            revision: r.revision,
        })
    }
}

/// An office or department (Organisationseinheit) of an authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct OrgUnit {
    pub id: i64,
    pub authority_id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub location_id: Option<i64>,
    pub phone: String,
    pub email: String,
    /// Version for optimistic locking when editing.
    pub updated_at: i64,
}

pub(crate) const ORG_UNIT_COLUMNS: [&str; 9] =
    ["id", "authority_id", "slug", "name", "description", "location_id", "phone", "email", "updated_at"];

/// A contact person (Ansprechpartner).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Contact {
    pub id: i64,
    pub authority_id: i64,
    pub slug: String,
    pub name: String,
    pub role: String,
    pub org_unit_id: Option<i64>,
    pub phone: String,
    pub email: String,
    pub room: String,
    /// Version for optimistic locking when editing.
    pub updated_at: i64,
}

pub(crate) const CONTACT_COLUMNS: [&str; 10] =
    ["id", "authority_id", "slug", "name", "role", "org_unit_id", "phone", "email", "room", "updated_at"];

/// A building where citizens are served, with its opening hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Location {
    pub id: i64,
    pub authority_id: i64,
    pub slug: String,
    pub name: String,
    pub street: String,
    pub plz: String,
    pub city: String,
    pub accessibility: String,
    pub opening_hours: String,
    /// Version for optimistic locking when editing.
    pub updated_at: i64,
}

pub(crate) const LOCATION_COLUMNS: [&str; 10] =
    ["id", "authority_id", "slug", "name", "street", "plz", "city", "accessibility", "opening_hours", "updated_at"];

impl Location {
    /// The parsed opening hours; an unreadable value counts as "no hours known".
    #[must_use]
    pub fn hours(&self) -> OpeningHours {
        serde_json::from_str(&self.opening_hours).unwrap_or_default()
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct PlaceRow {
    pub id: i64,
    pub name: String,
    pub ars: String,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct PlazRow {
    pub plz: String,
    pub place_id: i64,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct HostRow {
    pub host: String,
    pub authority_id: i64,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct RuleRow {
    pub leika_key: String,
    pub authority_id: i64,
    pub area_prefix: String,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct IdRow {
    pub id: i64,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct KeyValueRow {
    pub value: String,
}
