//! The housekeeping of bookings: holds that ran out, reminders that are due, and
//! personal data whose time is up. None of these ever waits for a row another
//! transaction holds (`SKIP LOCKED`): a booking being confirmed or taken over
//! right now is simply left for the next run.

use super::{APPOINTMENT_COLUMNS, AppointmentRow, CONFIRMED, EXPIRED, HELD, PRECONFIRMED};
use crate::Result;
use crate::db::Tx;
use sea_query::{Expr, ExprTrait, LockBehavior, LockType, Order, Query};

/// At most this many bookings expire per call; the sweeper runs again soon.
const EXPIRE_BATCH: u64 = 1000;

#[derive(sqlx::FromRow)]
struct IdRow {
    id: i64,
}

impl Tx {
    /// Marks holds and unconfirmed (preconfirmed) bookings whose time ran out as
    /// expired, with their personal data due for deletion now. Their units occupy
    /// nothing from the moment the hold ran out (another booking may already have
    /// taken them over); the rows left in the past are deleted here. Returns how
    /// many bookings expired.
    ///
    /// # Errors
    /// On database errors.
    pub async fn expire_holds(&mut self, now_ms: i64) -> Result<u64> {
        let q = Query::select()
            .column("id")
            .from("appointments")
            .and_where(Expr::col("status").is_in([HELD, PRECONFIRMED]))
            .and_where(Expr::col("hold_until").lte(now_ms))
            .order_by("id", Order::Asc)
            .limit(EXPIRE_BATCH)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .to_owned();
        let ids: Vec<i64> = self.fetch_all_in_tx::<IdRow>(&q).await?.into_iter().map(|r| r.id).collect();
        let mut expired = 0;
        if !ids.is_empty() {
            let q = Query::update()
                .table("appointments")
                .value("status", EXPIRED)
                .value("purge_at", now_ms)
                .value("updated_at", now_ms)
                .and_where(Expr::col("id").is_in(ids))
                .and_where(Expr::col("status").is_in([HELD, PRECONFIRMED]))
                .and_where(Expr::col("hold_until").lte(now_ms))
                .to_owned();
            expired = self.execute(&q).await?;
        }
        // Run-out rows of times already past: nobody can book those any more, so no
        // booking waits for them and deleting them takes no lock anyone wants.
        let q = Query::delete()
            .from_table("appointment_units")
            .and_where(Expr::col("hold_until").is_not_null())
            .and_where(Expr::col("hold_until").lte(now_ms))
            .and_where(Expr::col("starts_at").lt(now_ms))
            .to_owned();
        self.execute(&q).await?;
        Ok(expired)
    }

    /// Up to `limit` confirmed bookings whose reminder is due and not yet sent (and
    /// whose appointment is still ahead), earliest first. Taken for this
    /// transaction: another sweeper running at the same time skips them.
    ///
    /// # Errors
    /// On database errors.
    pub async fn due_reminders(&mut self, now_ms: i64, limit: u64) -> Result<Vec<AppointmentRow>> {
        let q = Query::select()
            .columns(APPOINTMENT_COLUMNS)
            .from("appointments")
            .and_where(Expr::col("status").eq(CONFIRMED))
            .and_where(Expr::col("remind_at").lte(now_ms))
            .and_where(Expr::col("reminded_at").is_null())
            .and_where(Expr::col("starts_at").gt(now_ms))
            .and_where(Expr::col("purged_at").is_null())
            .order_by("remind_at", Order::Asc)
            .order_by("id", Order::Asc)
            .limit(limit)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .to_owned();
        self.fetch_all_in_tx(&q).await
    }

    /// Records that the reminder of a booking was queued.
    ///
    /// # Errors
    /// On database errors.
    pub async fn mark_reminded(&mut self, id: i64, now_ms: i64) -> Result<bool> {
        let q = Query::update()
            .table("appointments")
            .value("reminded_at", now_ms)
            .and_where(Expr::col("id").eq(id))
            .and_where(Expr::col("reminded_at").is_null())
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }

    /// Deletes the personal data (sealed contact data and the contact hash) of every
    /// booking whose `purge_at` has come. Returns how many were purged.
    ///
    /// # Errors
    /// On database errors.
    pub async fn purge_appointment_personal(&mut self, now_ms: i64) -> Result<u64> {
        let q = Query::update()
            .table("appointments")
            .value("personal", "")
            .value("contact_hash", "")
            .value("purged_at", now_ms)
            .value("updated_at", now_ms)
            .and_where(Expr::col("purge_at").lte(now_ms))
            .and_where(Expr::col("purged_at").is_null())
            .to_owned();
        self.execute(&q).await
    }
}
