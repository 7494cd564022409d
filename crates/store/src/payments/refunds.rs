//! Refunds: every refund is a payout instruction (a negative booking, marked done by
//! a person), since XBezahldienste 1.0 defines no refund call.
//!
//! The refund row and its negative booking are written in one transaction with the
//! payment row locked, so two people refunding at once can never pay back more than
//! was paid.

use super::bookings::NewBooking;
use super::{REFUND_COLUMNS, RefundRow, SOURCE_REFUND};
use crate::db::{Store, Tx};
use crate::{Result, StoreError, now_ms};
use sea_query::{Expr, ExprTrait, Order, Query};

/// Refund methods: paid out by the treasury (a person transfers the money), or
/// through the provider (kept for providers that offer a refund call).
pub const REFUND_PAYOUT: &str = "payout";
pub const REFUND_PROVIDER: &str = "provider";

/// Refund states.
pub const REFUND_INSTRUCTED: &str = "instructed";
pub const REFUND_DONE: &str = "done";

/// A refund to record.
#[derive(Debug, Clone)]
pub struct NewRefund<'a> {
    pub authority_id: i64,
    pub payment_id: i64,
    /// Positive: the amount paid back.
    pub amount_cents: i64,
    /// Sealed.
    pub reason: &'a str,
    /// [`REFUND_PAYOUT`] or [`REFUND_PROVIDER`].
    pub method: &'a str,
    /// Sealed, '' when none.
    pub payout_iban: &'a str,
    pub actor: &'a str,
    /// Day of the negative booking, YYYY-MM-DD (German time, chosen by the caller).
    pub booked_on: &'a str,
}

impl Tx {
    /// Records a refund of a payment of the authority: a negative booking (source
    /// `refund`, which raises the payment's `refunded_cents` and enters the finance
    /// feed) and the refund row, state `instructed`. `None` when the payment has less
    /// left to refund (paid − refunded) than asked — checked with the payment row
    /// locked, so concurrent refunds cannot exceed what was paid.
    ///
    /// # Errors
    /// On database errors; a payment of another authority, an unknown method or an
    /// amount that is not positive.
    pub async fn insert_refund(&mut self, r: &NewRefund<'_>) -> Result<Option<i64>> {
        if r.amount_cents <= 0 {
            return Err(StoreError::Invalid("a refund must be positive".into()));
        }
        if ![REFUND_PAYOUT, REFUND_PROVIDER].contains(&r.method) {
            return Err(StoreError::Invalid(format!("unknown refund method {}", r.method)));
        }
        let p =
            self.payment_locked(r.payment_id).await?.filter(|p| p.authority_id == r.authority_id).ok_or_else(|| {
                StoreError::Invalid(format!("no payment {} of authority {}", r.payment_id, r.authority_id))
            })?;
        if r.amount_cents > p.paid_cents - p.refunded_cents {
            return Ok(None);
        }
        let booked = self
            .book_payment(
                &NewBooking {
                    authority_id: r.authority_id,
                    payment_id: Some(p.id),
                    claim_id: None,
                    source: SOURCE_REFUND,
                    amount_cents: -r.amount_cents,
                    method: r.method,
                    reference: &p.kassenzeichen,
                    bank_entry_id: None,
                    attempt_id: None,
                    actor: r.actor,
                    booked_on: r.booked_on,
                },
                None,
            )
            .await?;
        let q = Query::insert()
            .into_table("payment_refunds")
            .columns([
                "authority_id",
                "payment_id",
                "amount_cents",
                "reason",
                "method",
                "status",
                "payout_iban",
                "booking_id",
                "actor",
                "created_at",
            ])
            .values_panic([
                r.authority_id.into(),
                p.id.into(),
                r.amount_cents.into(),
                r.reason.into(),
                r.method.into(),
                REFUND_INSTRUCTED.into(),
                r.payout_iban.into(),
                booked.booking_id.into(),
                r.actor.into(),
                now_ms().into(),
            ])
            .returning_col("id")
            .to_owned();
        Ok(Some(self.insert_id(&q).await?))
    }

    /// Whether a refund of `amount_cents` of this payment was recorded at `since` or
    /// later: a second click on the same refund. Meant to be asked after
    /// [`Tx::lock_payment`], so two submissions at once see each other.
    ///
    /// # Errors
    /// On database errors.
    pub async fn same_refund_since(&mut self, payment_id: i64, amount_cents: i64, since: i64) -> Result<bool> {
        let q = Query::select()
            .columns(REFUND_COLUMNS)
            .from("payment_refunds")
            .and_where(Expr::col("payment_id").eq(payment_id))
            .and_where(Expr::col("amount_cents").eq(amount_cents))
            .and_where(Expr::col("created_at").gte(since))
            .limit(1)
            .to_owned();
        Ok(self.fetch_optional_in_tx::<RefundRow>(&q).await?.is_some())
    }

    /// Marks an instructed refund of the authority as paid out. False when there is
    /// no such refund or it was marked before.
    ///
    /// # Errors
    /// On database errors.
    pub async fn mark_refund_done(&mut self, authority_id: i64, id: i64) -> Result<bool> {
        let q = Query::update()
            .table("payment_refunds")
            .value("status", REFUND_DONE)
            .value("done_at", now_ms())
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(id))
            .and_where(Expr::col("status").eq(REFUND_INSTRUCTED))
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }
}

impl Store {
    /// The refunds of a payment, oldest first (the caller checked the payment's
    /// authority).
    ///
    /// # Errors
    /// On database errors.
    pub async fn refunds_of(&self, payment_id: i64) -> Result<Vec<RefundRow>> {
        let q = Query::select()
            .columns(REFUND_COLUMNS)
            .from("payment_refunds")
            .and_where(Expr::col("payment_id").eq(payment_id))
            .order_by("id", Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// One refund of the authority.
    ///
    /// # Errors
    /// On database errors.
    pub async fn refund(&self, authority_id: i64, id: i64) -> Result<Option<RefundRow>> {
        let q = Query::select()
            .columns(REFUND_COLUMNS)
            .from("payment_refunds")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// The authority's refunds still to pay out, oldest first.
    ///
    /// # Errors
    /// On database errors.
    pub async fn refunds_open(&self, authority_id: i64) -> Result<Vec<RefundRow>> {
        let q = Query::select()
            .columns(REFUND_COLUMNS)
            .from("payment_refunds")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("status").eq(REFUND_INSTRUCTED))
            .order_by("id", Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }
}
