//! Forms of an authority: a draft (optimistic locking by draft version) and
//! immutable published versions. Every definition is checked to be a valid form
//! before it is stored; a published version is written once and never changed.

use crate::db::{Store, Tx};
use crate::editing::Saved;
use crate::{Result, StoreError, now_ms};
use amtsweg_domain::Slug;
use amtsweg_domain::audit::AuditEntry;
use amtsweg_forms::Form;
use sea_query::{Expr, ExprTrait, Order, Query};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct FormRow {
    pub id: i64,
    pub authority_id: i64,
    pub leistung_id: Option<i64>,
    pub slug: String,
    pub title: String,
    pub draft: String,
    pub draft_version: i64,
    pub published_version: i64,
}

const COLUMNS: [&str; 8] =
    ["id", "authority_id", "leistung_id", "slug", "title", "draft", "draft_version", "published_version"];

impl FormRow {
    /// # Errors
    /// When the stored draft does not parse (it was checked when stored).
    pub fn draft(&self) -> Result<Form> {
        parse(&self.draft)
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct FormVersion {
    pub version: i64,
    pub definition: String,
    pub published_at: i64,
    pub published_by: Option<i64>,
}

impl FormVersion {
    /// # Errors
    /// When the stored definition does not parse.
    pub fn form(&self) -> Result<Form> {
        parse(&self.definition)
    }
}

fn parse(json: &str) -> Result<Form> {
    serde_json::from_str(json).map_err(|e| StoreError::Invalid(format!("form definition: {e}")))
}

fn to_json(f: &Form) -> Result<String> {
    serde_json::to_string(f).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn audit(by: Option<i64>, authority_id: i64, action: &str, form_id: i64) -> AuditEntry {
    AuditEntry {
        at: now_ms(),
        actor: by.map_or_else(|| "system".to_owned(), |a| format!("staff:{a}")),
        authority_id: Some(authority_id),
        action: action.to_owned(),
        target: format!("form:{form_id}"),
        outcome: "success".to_owned(),
    }
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    draft_version: i64,
    published_version: i64,
}

impl Store {
    /// The forms of an authority.
    ///
    /// # Errors
    /// On database errors.
    pub async fn forms_of(&self, authority_id: i64) -> Result<Vec<FormRow>> {
        let q = Query::select()
            .columns(COLUMNS)
            .from("forms")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .order_by("title", Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// One form of this authority by its short name.
    ///
    /// # Errors
    /// On database errors.
    pub async fn form_by_slug(&self, authority_id: i64, slug: &str) -> Result<Option<FormRow>> {
        let q = Query::select()
            .columns(COLUMNS)
            .from("forms")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("slug").eq(slug))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// One form of this authority by its id.
    ///
    /// # Errors
    /// On database errors.
    pub async fn form_by_id(&self, authority_id: i64, form_id: i64) -> Result<Option<FormRow>> {
        let q = Query::select()
            .columns(COLUMNS)
            .from("forms")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(form_id))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// The authority that owns a form (submissions of adopted forms belong to the
    /// adopter; their definitions to the owner).
    ///
    /// # Errors
    /// On database errors.
    pub async fn form_owner(&self, form_id: i64) -> Result<Option<i64>> {
        #[derive(sqlx::FromRow)]
        struct Owner {
            authority_id: i64,
        }
        let q = Query::select().column("authority_id").from("forms").and_where(Expr::col("id").eq(form_id)).to_owned();
        Ok(self.fetch_optional::<Owner>(&q).await?.map(|o| o.authority_id))
    }

    /// One published version of a form of this authority.
    ///
    /// # Errors
    /// On database errors.
    pub async fn form_version(&self, authority_id: i64, form_id: i64, version: i64) -> Result<Option<FormVersion>> {
        let q = Query::select()
            .columns([
                ("form_versions", "version"),
                ("form_versions", "definition"),
                ("form_versions", "published_at"),
                ("form_versions", "published_by"),
            ])
            .from("form_versions")
            .inner_join("forms", Expr::col(("forms", "id")).equals(("form_versions", "form_id")))
            .and_where(Expr::col(("forms", "authority_id")).eq(authority_id))
            .and_where(Expr::col(("form_versions", "form_id")).eq(form_id))
            .and_where(Expr::col(("form_versions", "version")).eq(version))
            .to_owned();
        self.fetch_optional(&q).await
    }
}

/// The version of a form citizens fill in now.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PublishedFormRow {
    pub form_id: i64,
    pub authority_id: i64,
    pub leistung_id: Option<i64>,
    pub slug: String,
    pub version: i64,
    pub definition: String,
}

impl PublishedFormRow {
    /// # Errors
    /// When the stored definition does not parse.
    pub fn form(&self) -> Result<Form> {
        parse(&self.definition)
    }
}

impl Store {
    /// The current published version of every form of the Verbund.
    ///
    /// # Errors
    /// On database errors.
    pub async fn published_forms(&self) -> Result<Vec<PublishedFormRow>> {
        let q = Query::select()
            .expr_as(Expr::col(("forms", "id")), "form_id")
            .columns([("forms", "authority_id"), ("forms", "leistung_id"), ("forms", "slug")])
            .expr_as(Expr::col(("form_versions", "version")), "version")
            .column(("form_versions", "definition"))
            .from("forms")
            .inner_join(
                "form_versions",
                Expr::col(("form_versions", "form_id"))
                    .equals(("forms", "id"))
                    .and(Expr::col(("form_versions", "version")).equals(("forms", "published_version"))),
            )
            .order_by(("forms", "id"), Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }
}

impl Tx {
    /// Creates a form (unpublished) with its first draft; returns its id.
    ///
    /// # Errors
    /// On database errors, e.g. the short name is taken in this authority.
    pub async fn create_form(
        &mut self,
        authority_id: i64,
        slug: &Slug,
        leistung_id: Option<i64>,
        form: &Form,
        by: Option<i64>,
    ) -> Result<i64> {
        let q = Query::insert()
            .into_table("forms")
            .columns(["authority_id", "leistung_id", "slug", "title", "draft", "draft_version", "updated_at"])
            .values_panic([
                authority_id.into(),
                leistung_id.into(),
                slug.as_str().into(),
                form.title.clone().into(),
                to_json(form)?.into(),
                1i64.into(),
                now_ms().into(),
            ])
            .returning_col("id")
            .to_owned();
        let id = self.insert_id(&q).await?;
        self.append_audit(&audit(by, authority_id, "form.create", id)).await?;
        Ok(id)
    }

    async fn form_versions_of(&mut self, authority_id: i64, form_id: i64) -> Result<Option<VersionRow>> {
        let q = Query::select()
            .columns(["draft_version", "published_version"])
            .from("forms")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(form_id))
            .to_owned();
        self.fetch_optional_in_tx(&q).await
    }

    /// Saves the draft if nobody saved since `expected_version`.
    ///
    /// # Errors
    /// On database errors, or a form of another authority.
    pub async fn save_form_draft(
        &mut self,
        authority_id: i64,
        form_id: i64,
        expected_version: i64,
        form: &Form,
        by: Option<i64>,
    ) -> Result<Saved> {
        let Some(v) = self.form_versions_of(authority_id, form_id).await? else {
            return Err(StoreError::Invalid(format!("form {form_id} does not belong to authority {authority_id}")));
        };
        if v.draft_version != expected_version {
            return Ok(Saved::Conflict { current_version: v.draft_version });
        }
        let q = Query::update()
            .table("forms")
            .value("draft", to_json(form)?)
            .value("title", form.title.clone())
            .value("draft_version", v.draft_version + 1)
            .value("updated_at", now_ms())
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(form_id))
            .and_where(Expr::col("draft_version").eq(v.draft_version))
            .to_owned();
        if self.execute(&q).await? != 1 {
            return Ok(Saved::Conflict { current_version: v.draft_version + 1 });
        }
        self.append_audit(&audit(by, authority_id, "form.save_draft", form_id)).await?;
        Ok(Saved::Ok(v.draft_version + 1))
    }

    /// Publishes the draft seen at `expected_version` as the next immutable version.
    ///
    /// # Errors
    /// On database errors, or a form of another authority.
    pub async fn publish_form(
        &mut self,
        authority_id: i64,
        form_id: i64,
        expected_version: i64,
        by: Option<i64>,
    ) -> Result<Saved> {
        let Some(v) = self.form_versions_of(authority_id, form_id).await? else {
            return Err(StoreError::Invalid(format!("form {form_id} does not belong to authority {authority_id}")));
        };
        if v.draft_version != expected_version {
            return Ok(Saved::Conflict { current_version: v.draft_version });
        }
        #[derive(sqlx::FromRow)]
        struct Draft {
            draft: String,
        }
        let q = Query::select().column("draft").from("forms").and_where(Expr::col("id").eq(form_id)).to_owned();
        let draft =
            self.fetch_optional_in_tx::<Draft>(&q).await?.ok_or_else(|| StoreError::Invalid("form vanished".into()))?;
        parse(&draft.draft)?;
        let next = v.published_version + 1;
        let q = Query::insert()
            .into_table("form_versions")
            .columns(["form_id", "version", "definition", "published_at", "published_by"])
            .values_panic([form_id.into(), next.into(), draft.draft.into(), now_ms().into(), by.into()])
            .to_owned();
        self.execute(&q).await?;
        let q = Query::update()
            .table("forms")
            .value("published_version", next)
            .value("updated_at", now_ms())
            .and_where(Expr::col("id").eq(form_id))
            .to_owned();
        self.execute(&q).await?;
        self.append_audit(&audit(by, authority_id, "form.publish", form_id)).await?;
        Ok(Saved::Ok(next))
    }
}
