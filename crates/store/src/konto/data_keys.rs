//! Wrapped data keys: the per-scope keys personal data is encrypted with, stored
//! wrapped by the master key, and their rewrapping when the master key rotates.

use crate::db::{Store, Tx};
use crate::{Result, now_ms};
use sea_query::{Expr, ExprTrait, OnConflict, Query};

#[derive(sqlx::FromRow)]
struct WrappedRow {
    wrapped: String,
}

impl Store {
    /// The wrapped data key of a scope, if one exists.
    ///
    /// # Errors
    /// On database errors.
    pub async fn data_key(&self, scope: &str) -> Result<Option<String>> {
        let q = Query::select().column("wrapped").from("data_keys").and_where(Expr::col("scope").eq(scope)).to_owned();
        Ok(self.fetch_optional::<WrappedRow>(&q).await?.map(|r| r.wrapped))
    }
}

impl Tx {
    /// Every wrapped data key: (scope, wrapped), read inside this transaction so that
    /// a rotation sees and rewrites one consistent set.
    ///
    /// # Errors
    /// On database errors.
    pub async fn all_data_keys(&mut self) -> Result<Vec<(String, String)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            scope: String,
            wrapped: String,
        }
        let q = Query::select()
            .columns(["scope", "wrapped"])
            .from("data_keys")
            .order_by("scope", sea_query::Order::Asc)
            .to_owned();
        Ok(self.fetch_all_in_tx::<Row>(&q).await?.into_iter().map(|r| (r.scope, r.wrapped)).collect())
    }

    /// Replaces the wrapping of a data key (master-key rotation).
    ///
    /// # Errors
    /// On database errors.
    pub async fn rewrap_data_key(&mut self, scope: &str, wrapped: &str) -> Result<()> {
        let q = Query::update()
            .table("data_keys")
            .value("wrapped", wrapped)
            .and_where(Expr::col("scope").eq(scope))
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }
}

impl Tx {
    /// Stores a wrapped data key unless the scope has one already (two nodes may race
    /// to create it; the first wins and both then use that one).
    ///
    /// # Errors
    /// On database errors.
    pub async fn insert_data_key(&mut self, scope: &str, wrapped: &str) -> Result<()> {
        let q = Query::insert()
            .into_table("data_keys")
            .columns(["scope", "wrapped", "created_at"])
            .values_panic([scope.into(), wrapped.into(), now_ms().into()])
            .on_conflict(OnConflict::column("scope").do_nothing().to_owned())
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }
}
