//! Where services are handled: the municipalities of the Verbund's territory (with
//! their postcodes) and the responsibility rules (Zuständigkeiten) that name, per
//! service (LeiKa key) and area (ARS prefix), the authority in charge.
//!
//! The rules are only stored here; resolving a place to an authority is
//! `amtsweg_domain::zustaendigkeit::resolve`.

use crate::Result;
use crate::db::{Store, Tx};
use crate::rows::{PlaceRow, PlazRow, RuleRow};
use amtsweg_domain::leistung::sort_key;
use amtsweg_domain::{Ars, LeikaKey, Place, ResponsibilityRule};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};

#[derive(Debug, Clone)]
pub struct NewPlace {
    pub name: String,
    pub ars: Ars,
    pub plz: Vec<String>,
}

impl Store {
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
}

impl Tx {
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
