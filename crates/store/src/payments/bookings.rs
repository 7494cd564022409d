//! Booking money: updates the payment, assigns the feed sequence, and releases a
//! held submission when its payment becomes paid; expiry of unpaid ones.
//!
//! The feed sequence comes from a counter row per authority updated inside the
//! booking's transaction: its row lock serialises the authority's bookings, so the
//! sequence follows the commit order and a reader of the feed (`seit=`) never skips
//! a booking that commits late.

use super::{
    AWAITING_PAYMENT, BOOKING_COLUMNS, BookingRow, CLAIM_COLUMNS, ClaimRow, PAYMENT_COLUMNS, PAYMENT_EXPIRED,
    PaymentRow, SOURCE_REFUND,
};
use crate::casework::NewEvent;
use crate::db::{Store, Tx};
use crate::outbox::EmailMessage;
use crate::submissions::STATUS_RECEIVED;
use crate::{Result, StoreError, now_ms};
use amtsweg_domain::payment::{Cents, PayMode, PaymentStatus, Review};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};

/// Money to book.
#[derive(Debug, Clone)]
pub struct NewBooking<'a> {
    pub authority_id: i64,
    pub payment_id: Option<i64>,
    pub claim_id: Option<i64>,
    /// `online`, `bank`, `counter`, `refund`, `correction`.
    pub source: &'a str,
    /// Negative for refunds.
    pub amount_cents: i64,
    pub method: &'a str,
    pub reference: &'a str,
    pub bank_entry_id: Option<i64>,
    pub attempt_id: Option<i64>,
    pub actor: &'a str,
    /// YYYY-MM-DD.
    pub booked_on: &'a str,
}

/// What [`Tx::book_payment`] did.
#[derive(Debug, Clone)]
pub struct Booked {
    /// `None`: this attempt or bank entry was booked already; nothing was booked now.
    pub booking_id: Option<i64>,
    /// The payment after the booking.
    pub payment: Option<PaymentRow>,
    /// The submission released now, if any.
    pub released: Option<i64>,
    /// The payment's review after the booking ('' when none).
    pub review: String,
}

impl Store {
    /// The bookings of a payment, oldest first.
    ///
    /// # Errors
    /// On database errors.
    pub async fn bookings_of_payment(&self, payment_id: i64) -> Result<Vec<BookingRow>> {
        let q = Query::select()
            .columns(BOOKING_COLUMNS)
            .from("payment_bookings")
            .and_where(Expr::col("payment_id").eq(payment_id))
            .order_by("id", Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// Payments to pay before release (`vorab`) that are still open or partly paid,
    /// whose time ran out (`expires_at <= now`) and whose submission is still held. Oldest first.
    ///
    /// # Errors
    /// On database errors.
    pub async fn expirable_payments(&self, now: i64, limit: u64) -> Result<Vec<PaymentRow>> {
        let held = Query::select()
            .column("id")
            .from("submissions")
            .and_where(Expr::col("status").eq(AWAITING_PAYMENT))
            .to_owned();
        let q = Query::select()
            .columns(PAYMENT_COLUMNS)
            .from("payments")
            .and_where(Expr::col("status").is_in([PaymentStatus::Open.as_str(), PaymentStatus::PartlyPaid.as_str()]))
            .and_where(Expr::col("expires_at").lte(now))
            .and_where(Expr::col("mode").eq(PayMode::Vorab.as_str()))
            .and_where(Expr::col("submission_id").in_subquery(held))
            .order_by("expires_at", Order::Asc)
            .order_by("id", Order::Asc)
            .limit(limit)
            .to_owned();
        self.fetch_all(&q).await
    }
}

impl Tx {
    /// The authority's next feed sequence; the counter row stays locked until commit.
    async fn next_feed_seq(&mut self, authority_id: i64) -> Result<i64> {
        let q = Query::insert()
            .into_table("finance_feed_counters")
            .columns(["authority_id", "last_seq"])
            .values_panic([authority_id.into(), 1i64.into()])
            .on_conflict(
                OnConflict::column("authority_id")
                    .value("last_seq", Expr::col(("finance_feed_counters", "last_seq")).add(1))
                    .to_owned(),
            )
            .returning_col("last_seq")
            .to_owned();
        self.insert_id(&q).await
    }

    /// Books money: one row in `payment_bookings` with the authority's next feed
    /// sequence, and the payment updated — `paid_cents` (for source `refund`:
    /// `refunded_cents`, the amount being negative), its status from the amounts,
    /// `paid_at` when it becomes paid, and a review when more was paid than asked
    /// (`overpaid`) or the payment had expired (`paid_after_expiry`). When a
    /// payment's submission is held (`vorab`) and the payment becomes paid, the
    /// submission is released in this transaction ([`Tx::release_submission`] with
    /// `release_mail`).
    ///
    /// An attempt or bank entry is booked once: a second call books nothing and
    /// answers `booking_id: None`. Claims are not changed: the finance software is
    /// their master, and the open amount shown subtracts the bookings since the
    /// claim's last sync.
    ///
    /// # Errors
    /// On database errors, or for a payment of another authority.
    pub async fn book_payment(&mut self, b: &NewBooking<'_>, release_mail: Option<&EmailMessage>) -> Result<Booked> {
        self.book_checked(b, release_mail, false).await
    }

    /// [`Tx::book_payment`]; `mismatch`: the provider reported another amount than
    /// asked — booked as reported, marked for review, nothing released.
    pub(crate) async fn book_checked(
        &mut self,
        b: &NewBooking<'_>,
        release_mail: Option<&EmailMessage>,
        mismatch: bool,
    ) -> Result<Booked> {
        let payment = match b.payment_id {
            Some(id) => Some(
                self.payment_locked(id)
                    .await?
                    .filter(|p| p.authority_id == b.authority_id)
                    .ok_or_else(|| StoreError::Invalid(format!("no payment {id} of authority {}", b.authority_id)))?,
            ),
            None => None,
        };
        // Booked before (a repeated report, an entry imported twice): nothing now.
        for (col, v) in [("attempt_id", b.attempt_id), ("bank_entry_id", b.bank_entry_id)] {
            let Some(v) = v else { continue };
            let q = Query::select().column("id").from("payment_bookings").and_where(Expr::col(col).eq(v)).to_owned();
            if self.fetch_optional_in_tx::<IdRow>(&q).await?.is_some() {
                let review = payment.as_ref().map(|p| p.review.clone()).unwrap_or_default();
                return Ok(Booked { booking_id: None, payment, released: None, review });
            }
        }
        let now = now_ms();
        let claim_id = b.claim_id.or(payment.as_ref().and_then(|p| p.claim_id));
        let seq = self.next_feed_seq(b.authority_id).await?;
        let q = Query::insert()
            .into_table("payment_bookings")
            .columns([
                "authority_id",
                "payment_id",
                "claim_id",
                "source",
                "amount_cents",
                "method",
                "reference",
                "bank_entry_id",
                "attempt_id",
                "feed_seq",
                "actor",
                "booked_on",
                "created_at",
            ])
            .values_panic([
                b.authority_id.into(),
                b.payment_id.into(),
                claim_id.into(),
                b.source.into(),
                b.amount_cents.into(),
                b.method.into(),
                b.reference.chars().take(200).collect::<String>().into(),
                b.bank_entry_id.into(),
                b.attempt_id.into(),
                seq.into(),
                b.actor.into(),
                b.booked_on.into(),
                now.into(),
            ])
            .returning_col("id")
            .to_owned();
        let booking_id = self.insert_id(&q).await?;
        let Some(p) = payment else {
            return Ok(Booked { booking_id: Some(booking_id), payment: None, released: None, review: String::new() });
        };
        let (paid, refunded) = if b.source == SOURCE_REFUND {
            (p.paid_cents, p.refunded_cents - b.amount_cents)
        } else {
            (p.paid_cents + b.amount_cents, p.refunded_cents)
        };
        let was_expired = p.status == PaymentStatus::Expired.as_str();
        let cancelled = p.status == PaymentStatus::Cancelled.as_str();
        let status = if cancelled {
            PaymentStatus::Cancelled
        } else {
            PaymentStatus::from_amounts(Cents(p.amount_cents), Cents(paid))
        };
        // An expired payment stays expired until it is paid in full (which releases).
        let status = if was_expired && status != PaymentStatus::Paid { PaymentStatus::Expired } else { status };
        // The first reason for a person to look stays; money arriving adds one.
        let review = if !p.review.is_empty() || b.source == SOURCE_REFUND {
            p.review.clone()
        } else if mismatch {
            Review::AmountMismatch.as_str().to_owned()
        } else if was_expired && b.amount_cents > 0 {
            Review::PaidAfterExpiry.as_str().to_owned()
        } else if paid > p.amount_cents {
            Review::Overpaid.as_str().to_owned()
        } else if b.amount_cents > 0 && self.claim_overpaid(claim_id).await? {
            // Online and bank money for one claim together exceed what it asked.
            Review::Overpaid.as_str().to_owned()
        } else {
            String::new()
        };
        let paid_at = match p.paid_at {
            None if status == PaymentStatus::Paid => Some(now),
            other => other,
        };
        let q = Query::update()
            .table("payments")
            .value("paid_cents", paid)
            .value("refunded_cents", refunded)
            .value("status", status.as_str())
            .value("review", review.as_str())
            .value("paid_at", paid_at)
            .value("updated_at", now)
            .and_where(Expr::col("id").eq(p.id))
            .to_owned();
        self.execute(&q).await?;
        // Release: paid in full, as asked. A held submission that had expired is
        // released too (the money was taken; the review tells a person).
        let mut released = None;
        if status == PaymentStatus::Paid
            && !mismatch
            && b.source != SOURCE_REFUND
            && let Some(sid) = p.submission_id
            && self.release_submission(sid, b.actor, release_mail).await?
        {
            released = Some(sid);
        }
        let payment = self.payment_locked(p.id).await?;
        Ok(Booked { booking_id: Some(booking_id), payment, released, review })
    }

    /// Releases a held submission: compare-and-set from `zahlung_ausstehend` (or
    /// `zahlung_abgelaufen`, when paid late) to `eingegangen`, a public history entry,
    /// its hand-off deliveries, and `mail` queued. False when it was not held (never,
    /// or released already): then nothing happens, so a release happens once.
    ///
    /// # Errors
    /// On database errors.
    pub async fn release_submission(
        &mut self,
        submission_id: i64,
        actor: &str,
        mail: Option<&EmailMessage>,
    ) -> Result<bool> {
        let now = now_ms();
        let q = Query::update()
            .table("submissions")
            .value("status", STATUS_RECEIVED)
            .value("status_at", now)
            .and_where(Expr::col("id").eq(submission_id))
            .and_where(Expr::col("status").is_in([AWAITING_PAYMENT, PAYMENT_EXPIRED]))
            .to_owned();
        if self.execute(&q).await? != 1 {
            return Ok(false);
        }
        let e = NewEvent { kind: "status", status: STATUS_RECEIVED, sub_status: "", body: "", public: true, actor };
        self.add_event(submission_id, &e).await?;
        self.enqueue_deliveries(&[submission_id], now).await?;
        if let Some(m) = mail {
            self.enqueue_email(m).await?;
        }
        Ok(true)
    }

    /// Expires an unpaid payment to pay before release: the payment becomes
    /// `expired`, its held submission `zahlung_abgelaufen` (public history entry),
    /// and `mail` is queued; a partly paid one is marked `expired_partly_paid` for a
    /// person. Only when the payment is still open or partly paid, its time ran out by
    /// `now`, and its submission is still held; false otherwise (paid meanwhile).
    ///
    /// # Errors
    /// On database errors.
    pub async fn expire_payment(&mut self, payment_id: i64, now: i64, mail: Option<&EmailMessage>) -> Result<bool> {
        let Some(p) = self.payment_locked(payment_id).await? else { return Ok(false) };
        let partly = p.status == PaymentStatus::PartlyPaid.as_str();
        if !(partly || p.status == PaymentStatus::Open.as_str()) || p.expires_at.is_none_or(|e| e > now) {
            return Ok(false);
        }
        let Some(sid) = p.submission_id else { return Ok(false) };
        let q = Query::update()
            .table("submissions")
            .value("status", PAYMENT_EXPIRED)
            .value("status_at", now_ms())
            .and_where(Expr::col("id").eq(sid))
            .and_where(Expr::col("status").eq(AWAITING_PAYMENT))
            .to_owned();
        if self.execute(&q).await? != 1 {
            return Ok(false);
        }
        // Money was taken for an application that will not go on: a person refunds
        // it or collects the rest (a payment of the rest still releases).
        let review = if partly && p.review.is_empty() { Review::ExpiredPartlyPaid.as_str() } else { p.review.as_str() };
        let q = Query::update()
            .table("payments")
            .value("status", PaymentStatus::Expired.as_str())
            .value("review", review)
            .value("updated_at", now_ms())
            .and_where(Expr::col("id").eq(p.id))
            .to_owned();
        self.execute(&q).await?;
        let e = NewEvent {
            kind: "status",
            status: PAYMENT_EXPIRED,
            sub_status: "",
            body: "",
            public: true,
            actor: "system",
        };
        self.add_event(sid, &e).await?;
        if let Some(m) = mail {
            self.enqueue_email(m).await?;
        }
        Ok(true)
    }

    /// Locks a payment of the authority until the transaction ends (PostgreSQL:
    /// `FOR UPDATE`; SQLite has one writer) and answers it as it is now: checks made
    /// on it stay true until the commit.
    ///
    /// # Errors
    /// On database errors.
    pub async fn lock_payment(&mut self, authority_id: i64, payment_id: i64) -> Result<Option<PaymentRow>> {
        Ok(self.payment_locked(payment_id).await?.filter(|p| p.authority_id == authority_id))
    }

    /// Whether the portal's bookings on a claim since its last sync exceed the open
    /// amount the finance software synced (e.g. paid online and by transfer).
    async fn claim_overpaid(&mut self, claim_id: Option<i64>) -> Result<bool> {
        let Some(claim_id) = claim_id else { return Ok(false) };
        let q =
            Query::select().columns(CLAIM_COLUMNS).from("claims").and_where(Expr::col("id").eq(claim_id)).to_owned();
        let Some(claim) = self.fetch_optional_in_tx::<ClaimRow>(&q).await? else { return Ok(false) };
        let q = Query::select()
            .columns(BOOKING_COLUMNS)
            .from("payment_bookings")
            .and_where(Expr::col("claim_id").eq(claim_id))
            .and_where(Expr::col("id").gt(claim.synced_booking_id))
            .to_owned();
        let since: Vec<BookingRow> = self.fetch_all_in_tx(&q).await?;
        Ok(claim.booked_since_sync(&since) > claim.open_cents)
    }

    /// Closes the review of a payment of the authority: with `release`, its held
    /// application is released (only when money was booked on it); the review is
    /// cleared either way. The payment row is locked, so two people closing it at
    /// once release once. `Ok(Err(why))`: nothing changed — no review (any more),
    /// nothing held, or no money booked.
    ///
    /// # Errors
    /// On database errors.
    pub async fn resolve_review(
        &mut self,
        authority_id: i64,
        payment_id: i64,
        release: bool,
        actor: &str,
        mail: Option<&EmailMessage>,
    ) -> Result<std::result::Result<ResolvedReview, ReviewRefusal>> {
        let Some(p) = self.lock_payment(authority_id, payment_id).await? else {
            return Ok(Err(ReviewRefusal::NoReview));
        };
        if p.review.is_empty() {
            return Ok(Err(ReviewRefusal::NoReview));
        }
        let mut released = None;
        if release {
            if p.paid_cents - p.refunded_cents <= 0 {
                return Ok(Err(ReviewRefusal::NothingPaid));
            }
            match p.submission_id {
                Some(sid) if self.release_submission(sid, actor, mail).await? => released = Some(sid),
                _ => return Ok(Err(ReviewRefusal::NotHeld)),
            }
        }
        self.set_payment_review(authority_id, p.id, "").await?;
        Ok(Ok(ResolvedReview { review: p.review, released }))
    }

    /// Sets (or with '' clears) the review of a payment of the authority.
    ///
    /// # Errors
    /// On database errors.
    pub async fn set_payment_review(&mut self, authority_id: i64, payment_id: i64, review: &str) -> Result<bool> {
        let q = Query::update()
            .table("payments")
            .value("review", review)
            .value("updated_at", now_ms())
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(payment_id))
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }
}

/// What [`Tx::resolve_review`] closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedReview {
    /// The review that was closed.
    pub review: String,
    /// The submission released now, if any.
    pub released: Option<i64>,
}

/// Why [`Tx::resolve_review`] changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewRefusal {
    /// The payment has no review (closed meanwhile) or is not the authority's.
    NoReview,
    /// Release asked, but the application is not held (any more).
    NotHeld,
    /// Release asked, but no money is booked on the payment.
    NothingPaid,
}

#[derive(sqlx::FromRow)]
struct IdRow {
    #[allow(dead_code)]
    id: i64,
}
