//! What staff read inside their own write transaction before they change a calendar
//! or cancel a day: the bookings that still occupy time, locked, so that no citizen
//! confirms one of them while the change is being decided.

use super::{APPOINTMENT_COLUMNS, AppointmentRow, CONFIRMED, HELD, PRECONFIRMED};
use crate::Result;
use crate::db::Tx;
use sea_query::{Expr, ExprTrait, LockType, Order, Query};

impl Tx {
    /// The authority's bookings of a calendar starting in `[from_ms, to_ms)` that
    /// occupy their time at `now_ms`: held or waiting for the e-mail confirmation
    /// while their hold lasts, and confirmed ones; in id order.
    ///
    /// On PostgreSQL the rows are locked (`FOR UPDATE`, in id order) until the
    /// transaction ends, so a confirmation or cancellation running at the same time
    /// waits and then sees the outcome; on SQLite the transaction is the only
    /// writer anyway.
    ///
    /// # Errors
    /// On database errors.
    pub async fn active_appointments_for_update(
        &mut self,
        authority_id: i64,
        calendar_id: i64,
        from_ms: i64,
        to_ms: i64,
        now_ms: i64,
    ) -> Result<Vec<AppointmentRow>> {
        let lasting = Expr::col("hold_until").is_null().or(Expr::col("hold_until").gt(now_ms));
        let q = Query::select()
            .columns(APPOINTMENT_COLUMNS)
            .from("appointments")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("calendar_id").eq(calendar_id))
            .and_where(Expr::col("starts_at").gte(from_ms))
            .and_where(Expr::col("starts_at").lt(to_ms))
            .and_where(
                Expr::col("status").eq(CONFIRMED).or(Expr::col("status").is_in([HELD, PRECONFIRMED]).and(lasting)),
            )
            .order_by("id", Order::Asc)
            .lock(LockType::Update)
            .to_owned();
        self.fetch_all_in_tx(&q).await
    }
}
