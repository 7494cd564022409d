//! Profile values of a citizen, each with the source it came from (the citizen or
//! an ID provider) and the trust level it carries.

use crate::db::{Store, Tx};
use crate::{Result, now_ms};
use amtsweg_domain::TrustLevel;
use amtsweg_domain::konto::{ProfileField, ProfileSource};
use sea_query::{Expr, ExprTrait, OnConflict, Query};
use serde::Serialize;

/// One stored profile value.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ProfileValue {
    pub field: String,
    pub value: String,
    pub source: String,
    pub trust_level: String,
    pub updated_at: i64,
}

impl ProfileValue {
    #[must_use]
    pub fn source(&self) -> ProfileSource {
        ProfileSource::parse(&self.source)
    }
}

impl Store {
    /// The citizen's profile values.
    ///
    /// # Errors
    /// On database errors.
    pub async fn profile(&self, citizen_id: i64) -> Result<Vec<ProfileValue>> {
        let q = Query::select()
            .columns(["field", "value", "source", "trust_level", "updated_at"])
            .from("citizen_profile")
            .and_where(Expr::col("citizen_id").eq(citizen_id))
            .to_owned();
        self.fetch_all(&q).await
    }
}

impl Tx {
    /// Stores one profile value. A citizen's own entry never overwrites a value an
    /// ID provider delivered (returns `false`); provider values replace anything.
    ///
    /// # Errors
    /// On database errors.
    pub async fn set_profile_value(
        &mut self,
        citizen_id: i64,
        field: ProfileField,
        value: &str,
        source: &ProfileSource,
        trust: TrustLevel,
    ) -> Result<bool> {
        if !source.is_locked() {
            let q = Query::select()
                .columns(["field", "value", "source", "trust_level", "updated_at"])
                .from("citizen_profile")
                .and_where(Expr::col("citizen_id").eq(citizen_id))
                .and_where(Expr::col("field").eq(field.key()))
                .to_owned();
            if self.fetch_optional_in_tx::<ProfileValue>(&q).await?.is_some_and(|v| v.source().is_locked()) {
                return Ok(false);
            }
        }
        if value.is_empty() {
            let q = Query::delete()
                .from_table("citizen_profile")
                .and_where(Expr::col("citizen_id").eq(citizen_id))
                .and_where(Expr::col("field").eq(field.key()))
                .to_owned();
            self.execute(&q).await?;
            return Ok(true);
        }
        let q = Query::insert()
            .into_table("citizen_profile")
            .columns(["citizen_id", "field", "value", "source", "trust_level", "updated_at"])
            .values_panic([
                citizen_id.into(),
                field.key().into(),
                value.into(),
                source.as_str().into(),
                trust.as_str().into(),
                now_ms().into(),
            ])
            .on_conflict(
                OnConflict::columns(["citizen_id", "field"])
                    .update_columns(["value", "source", "trust_level", "updated_at"])
                    .to_owned(),
            )
            .to_owned();
        self.execute(&q).await?;
        Ok(true)
    }
}
