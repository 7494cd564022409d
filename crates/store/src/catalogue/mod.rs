//! The catalogue: authorities, their locations, org units and contacts, the service
//! descriptions (Leistungen), the municipalities of the territory and the
//! responsibility rules that say which authority handles which service where.
//!
//! One file per subject, so each stays readable on its own:
//! [`authorities`] (the Verbund's members and their host names), [`organisation`]
//! (locations, org units, contacts), [`leistungen`] (service descriptions and the
//! contacts named on them) and [`places`] (municipalities and responsibility rules).
//! This file keeps what spans all of them: the change watermark readers poll to know
//! when to reload the catalogue, and the database liveness probe.

mod authorities;
mod leistungen;
mod organisation;
mod places;

pub use authorities::NewAuthority;
pub use leistungen::{LeistungContactLink, NewLeistung};
pub use organisation::{NewContact, NewLocation, NewOrgUnit};
pub use places::NewPlace;

use crate::Result;
use crate::db::Store;
use crate::rows::IdRow;
use sea_query::{Expr, ExprTrait, Query};

#[derive(Debug, sqlx::FromRow)]
struct WatermarkRow {
    latest: Option<i64>,
    rows: i64,
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

    /// A cheap liveness probe of the database.
    ///
    /// # Errors
    /// When the database does not answer.
    pub async fn ping(&self) -> Result<()> {
        self.fetch_all::<IdRow>(&Query::select().expr_as(Expr::val(1i64), "id").to_owned()).await?;
        Ok(())
    }
}
