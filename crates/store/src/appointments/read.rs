//! Reading bookings: the occupied units behind the free times, a booking by its
//! link, the counter's day list, a citizen's bookings, the limits and the figures.

use super::booking::occupying;
use super::{APPOINTMENT_COLUMNS, ATTENDED, AppointmentRow, CANCELLED, CONFIRMED, EXPIRED, HELD, MISSED, PRECONFIRMED};
use crate::Result;
use crate::db::Store;
use sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use serde::Serialize;

#[derive(sqlx::FromRow)]
pub(super) struct UnitRow {
    pub(super) starts_at: i64,
    pub(super) counter: i64,
}

#[derive(sqlx::FromRow)]
struct MaskRow {
    starts_at: i64,
    mask: i64,
}

#[derive(sqlx::FromRow)]
pub(super) struct CountRow {
    pub(super) n: i64,
}

/// A client's holds and bookings waiting for the e-mail confirmation that last at `now_ms`.
pub(super) fn client_open_query(client_key: &str, now_ms: i64) -> SelectStatement {
    Query::select()
        .expr_as(Expr::col("id").count(), "n")
        .from("appointments")
        .and_where(Expr::col("client_key").eq(client_key))
        .and_where(Expr::col("hold_until").gt(now_ms))
        .and_where(Expr::col("status").is_in([HELD, PRECONFIRMED]))
        .to_owned()
}

/// A client's bookings made within `window_ms` before `now_ms` that still stand:
/// held or waiting (not run out), confirmed, attended or missed.
pub(super) fn client_recent_query(client_key: &str, now_ms: i64, window_ms: i64) -> SelectStatement {
    Query::select()
        .expr_as(Expr::col("id").count(), "n")
        .from("appointments")
        .and_where(Expr::col("client_key").eq(client_key))
        .and_where(Expr::col("created_at").gt(now_ms - window_ms))
        .and_where(Expr::col("status").is_not_in([CANCELLED, EXPIRED]))
        .and_where(Expr::col("hold_until").is_null().or(Expr::col("hold_until").gt(now_ms)))
        .to_owned()
}

#[derive(sqlx::FromRow)]
struct StatusCount {
    status: String,
    n: i64,
}

/// Bookings of a calendar in a period, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    /// Bookings that stand or stood: confirmed, attended or missed (not the ones
    /// waiting for their e-mail confirmation, not cancelled ones).
    pub booked: i64,
    pub cancelled: i64,
    pub missed: i64,
    pub attended: i64,
}

impl Store {
    /// The units of a calendar starting in `[from_ms, to_ms)` that are occupied at
    /// `now_ms`, as (unit start, counter), in time order. Holds that have run out
    /// occupy nothing.
    ///
    /// # Errors
    /// On database errors.
    pub async fn occupied_units(
        &self,
        calendar_id: i64,
        from_ms: i64,
        to_ms: i64,
        now_ms: i64,
    ) -> Result<Vec<(i64, i64)>> {
        let q = Query::select()
            .columns(["starts_at", "counter"])
            .from("appointment_units")
            .and_where(Expr::col("calendar_id").eq(calendar_id))
            .and_where(Expr::col("starts_at").gte(from_ms))
            .and_where(Expr::col("starts_at").lt(to_ms))
            .and_where(occupying(now_ms))
            .order_by("starts_at", Order::Asc)
            .order_by("counter", Order::Asc)
            .to_owned();
        Ok(self.fetch_all::<UnitRow>(&q).await?.into_iter().map(|u| (u.starts_at, u.counter)).collect())
    }

    /// The same as [`Store::occupied_units`] by unit start: (unit start, the occupied
    /// counters as a bit set, bit `n` for counter `n`), in time order. A day of a busy
    /// calendar is then one row per time instead of one per time and counter, which
    /// is most of what a day page costs. Calendars have at most 50 counters (see
    /// `Calendar::validate`), so the set fits in 63 bits.
    ///
    /// # Errors
    /// On database errors.
    pub async fn occupied_counters(
        &self,
        calendar_id: i64,
        from_ms: i64,
        to_ms: i64,
        now_ms: i64,
    ) -> Result<Vec<(i64, u64)>> {
        // A constant expression without input: the counters of one start are
        // distinct (primary key), so their sum of powers of two is their set.
        let mask = Expr::cust("CAST(SUM(CAST(1 AS BIGINT) << CAST(counter AS INTEGER)) AS BIGINT)");
        let q = Query::select()
            .column("starts_at")
            .expr_as(mask, "mask")
            .from("appointment_units")
            .and_where(Expr::col("calendar_id").eq(calendar_id))
            .and_where(Expr::col("starts_at").gte(from_ms))
            .and_where(Expr::col("starts_at").lt(to_ms))
            .and_where(Expr::col("counter").lt(63))
            .and_where(occupying(now_ms))
            .group_by_col("starts_at")
            .order_by("starts_at", Order::Asc)
            .to_owned();
        Ok(self
            .fetch_all::<MaskRow>(&q)
            .await?
            .into_iter()
            .map(|r| (r.starts_at, u64::try_from(r.mask).unwrap_or(0)))
            .collect())
    }

    /// The booking behind a manage link (the SHA-256 hex of its token).
    ///
    /// # Errors
    /// On database errors.
    pub async fn appointment_by_manage_hash(&self, manage_hash: &str) -> Result<Option<AppointmentRow>> {
        self.one_appointment(Expr::col("manage_hash").eq(manage_hash)).await
    }

    /// The booking behind an e-mail confirmation link (the SHA-256 hex of its token).
    ///
    /// # Errors
    /// On database errors.
    pub async fn appointment_by_confirm_hash(&self, confirm_hash: &str) -> Result<Option<AppointmentRow>> {
        self.one_appointment(Expr::col("confirm_hash").eq(confirm_hash)).await
    }

    /// One booking of the authority (`None` for another authority's).
    ///
    /// # Errors
    /// On database errors.
    pub async fn appointment(&self, authority_id: i64, id: i64) -> Result<Option<AppointmentRow>> {
        self.one_appointment(Expr::col("authority_id").eq(authority_id).and(Expr::col("id").eq(id))).await
    }

    /// A booking of the authority by its reference (e.g. `T-7KQ2-M9XD`), for the
    /// counter's search.
    ///
    /// # Errors
    /// On database errors.
    pub async fn appointment_by_reference(&self, authority_id: i64, reference: &str) -> Result<Option<AppointmentRow>> {
        self.one_appointment(Expr::col("authority_id").eq(authority_id).and(Expr::col("reference").eq(reference))).await
    }

    async fn one_appointment(&self, cond: Expr) -> Result<Option<AppointmentRow>> {
        let q = Query::select().columns(APPOINTMENT_COLUMNS).from("appointments").and_where(cond).to_owned();
        self.fetch_optional(&q).await
    }

    /// The authority's bookings of a calendar starting in `[from_ms, to_ms)`, in
    /// time and counter order: the counter's day list. Holds in progress and
    /// expired ones are left out; cancelled ones are in.
    ///
    /// # Errors
    /// On database errors.
    pub async fn appointments_between(
        &self,
        authority_id: i64,
        calendar_id: i64,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<AppointmentRow>> {
        let q = Query::select()
            .columns(APPOINTMENT_COLUMNS)
            .from("appointments")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("calendar_id").eq(calendar_id))
            .and_where(Expr::col("starts_at").gte(from_ms))
            .and_where(Expr::col("starts_at").lt(to_ms))
            .and_where(Expr::col("status").is_not_in([HELD, EXPIRED]))
            .order_by("starts_at", Order::Asc)
            .order_by("counter", Order::Asc)
            .order_by("id", Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// A signed-in citizen's bookings (all authorities), latest appointment first;
    /// holds in progress and expired ones left out.
    ///
    /// # Errors
    /// On database errors.
    pub async fn appointments_of_citizen(&self, citizen_id: i64) -> Result<Vec<AppointmentRow>> {
        let q = Query::select()
            .columns(APPOINTMENT_COLUMNS)
            .from("appointments")
            .and_where(Expr::col("citizen_id").eq(citizen_id))
            .and_where(Expr::col("status").is_not_in([HELD, EXPIRED]))
            .order_by("starts_at", Order::Desc)
            .order_by("id", Order::Desc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// How many bookings (preconfirmed or confirmed) the person with this contact
    /// hash has at the authority starting in `[from_ms, to_ms)`: the limit per person.
    ///
    /// # Errors
    /// On database errors.
    pub async fn count_bookings_by_contact(
        &self,
        authority_id: i64,
        contact_hash: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<i64> {
        if contact_hash.is_empty() {
            return Ok(0);
        }
        let q = Query::select()
            .expr_as(Expr::col("id").count(), "n")
            .from("appointments")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("contact_hash").eq(contact_hash))
            .and_where(Expr::col("starts_at").gte(from_ms))
            .and_where(Expr::col("starts_at").lt(to_ms))
            .and_where(Expr::col("status").is_in([PRECONFIRMED, CONFIRMED]))
            .to_owned();
        Ok(self.fetch_optional::<CountRow>(&q).await?.map_or(0, |r| r.n))
    }

    /// How many holds of this client last at `now_ms`: the limit against floods.
    ///
    /// # Errors
    /// On database errors.
    pub async fn count_active_holds_by_client(&self, client_key: &str, now_ms: i64) -> Result<i64> {
        let q = Query::select()
            .expr_as(Expr::col("id").count(), "n")
            .from("appointments")
            .and_where(Expr::col("client_key").eq(client_key))
            .and_where(Expr::col("hold_until").gt(now_ms))
            .and_where(Expr::col("status").eq(HELD))
            .to_owned();
        Ok(self.fetch_optional::<CountRow>(&q).await?.map_or(0, |r| r.n))
    }

    /// A client's (open, recent) bookings as [`ClientLimit`](super::ClientLimit)
    /// counts them: held or waiting for the e-mail confirmation now, and made within
    /// `window_ms` and still standing.
    ///
    /// # Errors
    /// On database errors.
    pub async fn client_booking_counts(&self, client_key: &str, now_ms: i64, window_ms: i64) -> Result<(i64, i64)> {
        let open = self.fetch_optional::<CountRow>(&client_open_query(client_key, now_ms)).await?.map_or(0, |r| r.n);
        let recent = self
            .fetch_optional::<CountRow>(&client_recent_query(client_key, now_ms, window_ms))
            .await?
            .map_or(0, |r| r.n);
        Ok((open, recent))
    }

    /// The authority's bookings of a calendar starting in `[from_ms, to_ms)` by outcome.
    ///
    /// # Errors
    /// On database errors.
    pub async fn appointment_figures(
        &self,
        authority_id: i64,
        calendar_id: i64,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Figures> {
        let q = Query::select()
            .column("status")
            .expr_as(Expr::col("id").count(), "n")
            .from("appointments")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("calendar_id").eq(calendar_id))
            .and_where(Expr::col("starts_at").gte(from_ms))
            .and_where(Expr::col("starts_at").lt(to_ms))
            .group_by_col("status")
            .to_owned();
        let mut f = Figures::default();
        for row in self.fetch_all::<StatusCount>(&q).await? {
            match row.status.as_str() {
                CONFIRMED => f.booked += row.n,
                ATTENDED => {
                    f.booked += row.n;
                    f.attended += row.n;
                }
                MISSED => {
                    f.booked += row.n;
                    f.missed += row.n;
                }
                CANCELLED => f.cancelled += row.n,
                _ => {}
            }
        }
        Ok(f)
    }
}
