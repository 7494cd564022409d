//! The booking rules of an authority and the calendars of its locations, stored as
//! JSON (validated by the portal before saving) with a version for optimistic
//! locking: a save names the version it was edited from and fails when someone
//! saved in between.

use crate::db::{Store, Tx};
use crate::{Result, StoreError, now_ms};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use serde::Serialize;

/// The rules of an authority (JSON of `domain::appointments::BookingRules`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct RulesRow {
    pub authority_id: i64,
    pub settings: String,
    pub version: i64,
}

/// The calendar of one location (JSON of `domain::appointments::Calendar`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CalendarRow {
    pub id: i64,
    pub authority_id: i64,
    pub location_id: i64,
    pub settings: String,
    pub version: i64,
    pub updated_at: i64,
}

const CALENDAR_COLUMNS: [&str; 6] = ["id", "authority_id", "location_id", "settings", "version", "updated_at"];

#[derive(sqlx::FromRow)]
struct IdRow {
    id: i64,
}

#[derive(sqlx::FromRow)]
struct IdVersionRow {
    id: i64,
    version: i64,
}

impl Store {
    /// The authority's booking rules, if it ever saved some.
    ///
    /// # Errors
    /// On database errors.
    pub async fn appointment_rules(&self, authority_id: i64) -> Result<Option<RulesRow>> {
        let q = Query::select()
            .columns(["authority_id", "settings", "version"])
            .from("appointment_rules")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// The calendars of the authority's locations, in the order they were set up.
    ///
    /// # Errors
    /// On database errors.
    pub async fn appointment_calendars(&self, authority_id: i64) -> Result<Vec<CalendarRow>> {
        let q = Query::select()
            .columns(CALENDAR_COLUMNS)
            .from("appointment_calendars")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .order_by("id", Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// One calendar of the authority (`None` for another authority's).
    ///
    /// # Errors
    /// On database errors.
    pub async fn appointment_calendar(&self, authority_id: i64, calendar_id: i64) -> Result<Option<CalendarRow>> {
        let q = Query::select()
            .columns(CALENDAR_COLUMNS)
            .from("appointment_calendars")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(calendar_id))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// Every calendar of the Verbund, for the public pages (which authority and
    /// location books what). Calendars hold no personal data.
    ///
    /// # Errors
    /// On database errors.
    pub async fn all_appointment_calendars(&self) -> Result<Vec<CalendarRow>> {
        let q = Query::select()
            .columns(CALENDAR_COLUMNS)
            .from("appointment_calendars")
            .order_by("id", Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }
}

impl Tx {
    /// Saves the authority's rules if nobody saved since `expected_version` (0: there
    /// were none yet). Returns the new version, or `None` on a conflict.
    ///
    /// # Errors
    /// On database errors.
    pub async fn save_appointment_rules(
        &mut self,
        authority_id: i64,
        settings: &str,
        expected_version: i64,
    ) -> Result<Option<i64>> {
        self.touch_appointment_settings();
        let now = now_ms();
        let written = if expected_version == 0 {
            let q = Query::insert()
                .into_table("appointment_rules")
                .columns(["authority_id", "settings", "version", "updated_at"])
                .values_panic([authority_id.into(), settings.into(), 1i64.into(), now.into()])
                .on_conflict(OnConflict::column("authority_id").do_nothing().to_owned())
                .to_owned();
            self.execute(&q).await?
        } else {
            let q = Query::update()
                .table("appointment_rules")
                .value("settings", settings)
                .value("version", expected_version + 1)
                .value("updated_at", now)
                .and_where(Expr::col("authority_id").eq(authority_id))
                .and_where(Expr::col("version").eq(expected_version))
                .to_owned();
            self.execute(&q).await?
        };
        Ok((written == 1).then_some(expected_version + 1))
    }

    /// Saves the calendar of a location of the authority if nobody saved since
    /// `expected_version` (0: the location has no calendar yet). Returns the
    /// calendar's id and new version, or `None` on a conflict.
    ///
    /// # Errors
    /// On database errors, or a location of another authority.
    pub async fn save_appointment_calendar(
        &mut self,
        authority_id: i64,
        location_id: i64,
        settings: &str,
        expected_version: i64,
    ) -> Result<Option<(i64, i64)>> {
        self.touch_appointment_settings();
        let now = now_ms();
        if expected_version == 0 {
            let q = Query::select()
                .column("id")
                .from("locations")
                .and_where(Expr::col("authority_id").eq(authority_id))
                .and_where(Expr::col("id").eq(location_id))
                .to_owned();
            if self.fetch_optional_in_tx::<IdRow>(&q).await?.map(|r| r.id) != Some(location_id) {
                return Err(StoreError::Invalid(format!(
                    "location {location_id} does not belong to authority {authority_id}"
                )));
            }
            let q = Query::insert()
                .into_table("appointment_calendars")
                .columns(["authority_id", "location_id", "settings", "version", "updated_at"])
                .values_panic([authority_id.into(), location_id.into(), settings.into(), 1i64.into(), now.into()])
                .on_conflict(OnConflict::column("location_id").do_nothing().to_owned())
                .returning(Query::returning().columns(["id", "version"]))
                .to_owned();
            return Ok(self.fetch_optional_in_tx::<IdVersionRow>(&q).await?.map(|r| (r.id, r.version)));
        }
        let q = Query::update()
            .table("appointment_calendars")
            .value("settings", settings)
            .value("version", expected_version + 1)
            .value("updated_at", now)
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("location_id").eq(location_id))
            .and_where(Expr::col("version").eq(expected_version))
            .returning(Query::returning().columns(["id", "version"]))
            .to_owned();
        Ok(self.fetch_optional_in_tx::<IdVersionRow>(&q).await?.map(|r| (r.id, r.version)))
    }
}
