//! Online payment attempts: starting one (or reusing a running one), what the
//! provider answered, the poll worker's claim, and the merge of observations.
//!
//! An attempt is also an outbox row (`status`, `next_attempt_at`, `claimed_until`):
//! the poll worker claims due attempts through the claim every outbox shares.
//! [`Tx::record_observation`] schedules the next poll itself (by
//! `domain::payment::poll_delay_ms`), so the worker only reports what it saw —
//! or, when the provider could not be asked, calls [`Tx::attempt_poll_later`].

use super::bookings::{Booked, NewBooking};
use super::{ATTEMPT_COLUMNS, ATTEMPT_DONE, ATTEMPT_PENDING, AttemptRow, PAYMENT_COLUMNS, PaymentRow};
use crate::db::{Store, Tx};
use crate::outbox::EmailMessage;
use crate::{Result, StoreError, now_ms};
use amtsweg_domain::payment::{PaymentStatus, ProviderStatus, Review, merge, poll_delay_ms};
use sea_query::{Expr, ExprTrait, LockType, Order, Query};

/// What [`Tx::begin_attempt`] found.
#[derive(Debug, Clone)]
pub enum BeginAttempt {
    /// A new attempt (provider status NEW): send the request now.
    Created(AttemptRow),
    /// A running attempt: INITIAL and younger than the reuse limit (send the citizen
    /// to its `transaction_url` again), or NEW and younger than a minute (a request
    /// for it is on its way: `transaction_url` is empty — ask the citizen to wait).
    Running(AttemptRow),
    /// The payment cannot be paid now: its status (`paid`, `expired`, `cancelled`),
    /// or `unknown` when there is no such payment.
    NotPayable(String),
}

/// A new attempt.
#[derive(Debug, Clone)]
pub struct NewAttempt<'a> {
    pub payment_id: i64,
    pub authority_id: i64,
    pub connector_id: i64,
    /// XBezahldienste `requestId` (≤ 36 of `[\w-]`).
    pub request_id: &'a str,
    /// SHA-256 (hex) of the return URL's secret.
    pub return_hash: &'a str,
    pub amount_cents: i64,
    /// An INITIAL attempt younger than this is reused instead of a new one.
    pub reuse_younger_than_ms: i64,
}

/// What the provider said about an attempt.
#[derive(Debug, Clone)]
pub struct Observation<'a> {
    pub attempt_id: i64,
    pub status: ProviderStatus,
    /// When our request was sent (ms): an older observation never overrides a newer one.
    pub seen_at: i64,
    pub transaction_reference: &'a str,
    pub payment_method: &'a str,
    /// The amount the provider reports, when it does.
    pub reported_cents: Option<i64>,
}

/// What [`Tx::record_observation`] did.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The stored state changed.
    pub changed: bool,
    /// The state stored now.
    pub status: ProviderStatus,
    /// The booking made (PAYED), if any.
    pub booked: Option<Booked>,
}

/// A NEW attempt (request on its way) is first due for the worker after this: longer
/// than any request may take, so the worker never abandons a request still running.
pub const NEW_ATTEMPT_STALE_MS: i64 = 2 * 60 * 1000;

/// A NEW attempt younger than this counts as running (a second click while the first
/// request is on its way creates no second transaction).
const NEW_ATTEMPT_RUNNING_MS: i64 = 60 * 1000;

/// Who books what a provider reports.
pub const PROVIDER_ACTOR: &str = "bezahldienst";

fn stored_status(a: &AttemptRow) -> Result<ProviderStatus> {
    ProviderStatus::parse(&a.provider_status).ok_or_else(|| {
        StoreError::Invalid(format!("attempt {}: unknown provider status {:?}", a.id, a.provider_status))
    })
}

/// Today in German time, for `booked_on`.
pub(crate) fn today_berlin() -> String {
    let tz = jiff::tz::TimeZone::get("Europe/Berlin").unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::now().to_zoned(tz).date().to_string()
}

impl Store {
    /// The attempts of a payment, oldest first.
    ///
    /// # Errors
    /// On database errors.
    pub async fn attempts_of(&self, payment_id: i64) -> Result<Vec<AttemptRow>> {
        let q = Query::select()
            .columns(ATTEMPT_COLUMNS)
            .from("payment_attempts")
            .and_where(Expr::col("payment_id").eq(payment_id))
            .order_by("id", Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// The attempt whose return URL secret hashes to `hash` (the return page; an
    /// unknown or forged secret finds nothing).
    ///
    /// # Errors
    /// On database errors.
    pub async fn attempt_by_return_hash(&self, hash: &str) -> Result<Option<AttemptRow>> {
        let q = Query::select()
            .columns(ATTEMPT_COLUMNS)
            .from("payment_attempts")
            .and_where(Expr::col("return_hash").eq(hash))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// Claims up to `limit` attempts due for a status poll, for `lease_ms` (the
    /// claim of every outbox: `FOR UPDATE SKIP LOCKED` on PostgreSQL). A claimed
    /// attempt still NEW has lost its request (the process ended meanwhile): the
    /// worker abandons it.
    ///
    /// # Errors
    /// On database errors.
    pub async fn claim_attempts(&self, limit: u64, lease_ms: i64) -> Result<Vec<AttemptRow>> {
        self.claim_due("payment_attempts", &ATTEMPT_COLUMNS, limit, lease_ms, |r: &AttemptRow| r.id).await
    }
}

impl Tx {
    async fn attempt_locked(&mut self, attempt_id: i64) -> Result<Option<AttemptRow>> {
        let q = Query::select()
            .columns(ATTEMPT_COLUMNS)
            .from("payment_attempts")
            .and_where(Expr::col("id").eq(attempt_id))
            .lock(LockType::Update)
            .to_owned();
        self.fetch_optional_in_tx(&q).await
    }

    pub(crate) async fn payment_locked(&mut self, payment_id: i64) -> Result<Option<PaymentRow>> {
        let q = Query::select()
            .columns(PAYMENT_COLUMNS)
            .from("payments")
            .and_where(Expr::col("id").eq(payment_id))
            .lock(LockType::Update)
            .to_owned();
        self.fetch_optional_in_tx(&q).await
    }

    /// Starts an attempt for a payment of the authority, or returns the running one.
    /// Locks the payment row (PostgreSQL: `FOR UPDATE`; SQLite has one writer), so
    /// two clicks at once start one attempt. Only `open` and `partly_paid` payments
    /// can be paid.
    ///
    /// # Errors
    /// On database errors.
    pub async fn begin_attempt(&mut self, a: &NewAttempt<'_>) -> Result<BeginAttempt> {
        let Some(p) = self.payment_locked(a.payment_id).await?.filter(|p| p.authority_id == a.authority_id) else {
            return Ok(BeginAttempt::NotPayable("unknown".into()));
        };
        if !matches!(PaymentStatus::parse(&p.status), Some(PaymentStatus::Open | PaymentStatus::PartlyPaid)) {
            return Ok(BeginAttempt::NotPayable(p.status));
        }
        let now = now_ms();
        let q = Query::select()
            .columns(ATTEMPT_COLUMNS)
            .from("payment_attempts")
            .and_where(Expr::col("payment_id").eq(p.id))
            .and_where(
                Expr::col("provider_status")
                    .eq(ProviderStatus::Initial.as_str())
                    .and(Expr::col("created_at").gt(now - a.reuse_younger_than_ms))
                    .and(Expr::col("transaction_url").ne(""))
                    .or(Expr::col("provider_status")
                        .eq(ProviderStatus::New.as_str())
                        .and(Expr::col("created_at").gt(now - NEW_ATTEMPT_RUNNING_MS))),
            )
            .order_by("id", Order::Desc)
            .limit(1)
            .to_owned();
        if let Some(running) = self.fetch_optional_in_tx::<AttemptRow>(&q).await? {
            return Ok(BeginAttempt::Running(running));
        }
        let q = Query::insert()
            .into_table("payment_attempts")
            .columns([
                "payment_id",
                "authority_id",
                "connector_id",
                "request_id",
                "return_hash",
                "amount_cents",
                "provider_status",
                "status_seen_at",
                "status",
                "next_attempt_at",
                "created_at",
                "updated_at",
            ])
            .values_panic([
                p.id.into(),
                a.authority_id.into(),
                a.connector_id.into(),
                a.request_id.into(),
                a.return_hash.into(),
                a.amount_cents.into(),
                ProviderStatus::New.as_str().into(),
                now.into(),
                ATTEMPT_PENDING.into(),
                (now + NEW_ATTEMPT_STALE_MS).into(),
                now.into(),
                now.into(),
            ])
            .returning_col("id")
            .to_owned();
        let id = self.insert_id(&q).await?;
        let row = self.attempt_locked(id).await?.ok_or_else(|| StoreError::Invalid("attempt vanished".into()))?;
        Ok(BeginAttempt::Created(row))
    }

    /// The provider created the transaction: the attempt becomes INITIAL with its
    /// id and pay-page URL, first polled 20 s later. False when the attempt is no
    /// longer NEW (abandoned meanwhile): then the citizen must not be sent there.
    ///
    /// # Errors
    /// On database errors, also when the provider repeats a transaction id it gave
    /// another attempt (UNIQUE per connector).
    pub async fn attempt_created(
        &mut self,
        attempt_id: i64,
        transaction_id: &str,
        url: &str,
        seen_at: i64,
    ) -> Result<bool> {
        let now = now_ms();
        let first = poll_delay_ms(ProviderStatus::Initial, 0, 0).unwrap_or(20_000);
        let q = Query::update()
            .table("payment_attempts")
            .value("transaction_id", transaction_id)
            .value("transaction_url", url)
            .value("provider_status", ProviderStatus::Initial.as_str())
            .value("status_seen_at", seen_at)
            .value("polls", 0)
            .value("next_attempt_at", now + first)
            .value("updated_at", now)
            .and_where(Expr::col("id").eq(attempt_id))
            .and_where(Expr::col("provider_status").eq(ProviderStatus::New.as_str()))
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }

    /// Our request never got an answer (timeout, connection lost, refused): the
    /// citizen never saw a pay page. The attempt is ABANDONED and no longer polled.
    /// Only a NEW attempt can be abandoned.
    ///
    /// # Errors
    /// On database errors.
    pub async fn abandon_attempt(&mut self, attempt_id: i64, error: &str) -> Result<()> {
        let now = now_ms();
        let q = Query::update()
            .table("payment_attempts")
            .value("provider_status", ProviderStatus::Abandoned.as_str())
            .value("status_seen_at", now)
            .value("status", ATTEMPT_DONE)
            .value("claimed_until", 0)
            .value("last_error", error.chars().take(500).collect::<String>())
            .value("updated_at", now)
            .and_where(Expr::col("id").eq(attempt_id))
            .and_where(Expr::col("provider_status").eq(ProviderStatus::New.as_str()))
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// The provider could not be asked (or answered garbage): poll again at
    /// `next_attempt_at`. Counts the poll, keeps the error, releases the lease.
    ///
    /// # Errors
    /// On database errors.
    pub async fn attempt_poll_later(&mut self, attempt_id: i64, next_attempt_at: i64, error: &str) -> Result<()> {
        let q = Query::update()
            .table("payment_attempts")
            .value("polls", Expr::col("polls").add(1))
            .value("attempts", Expr::col("attempts").add(i64::from(!error.is_empty())))
            .value("next_attempt_at", next_attempt_at)
            .value("last_error", error.chars().take(500).collect::<String>())
            .value("claimed_until", 0)
            .value("updated_at", now_ms())
            .and_where(Expr::col("id").eq(attempt_id))
            .and_where(Expr::col("status").eq(ATTEMPT_PENDING))
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// No more polls for this attempt. A non-empty `review` (e.g. `no_final_status`)
    /// is set on its payment unless that has one already or is paid.
    ///
    /// # Errors
    /// On database errors.
    pub async fn attempt_poll_done(&mut self, attempt_id: i64, review: &str) -> Result<()> {
        let Some(a) = self.attempt_locked(attempt_id).await? else { return Ok(()) };
        let q = Query::update()
            .table("payment_attempts")
            .value("status", ATTEMPT_DONE)
            .value("claimed_until", 0)
            .value("updated_at", now_ms())
            .and_where(Expr::col("id").eq(attempt_id))
            .to_owned();
        self.execute(&q).await?;
        if !review.is_empty() {
            self.review_unless_set(a.payment_id, review).await?;
        }
        Ok(())
    }

    /// Sets a review on a payment that has none and is not paid.
    async fn review_unless_set(&mut self, payment_id: i64, review: &str) -> Result<()> {
        let q = Query::update()
            .table("payments")
            .value("review", review)
            .value("updated_at", now_ms())
            .and_where(Expr::col("id").eq(payment_id))
            .and_where(Expr::col("review").eq(""))
            .and_where(Expr::col("status").ne(PaymentStatus::Paid.as_str()))
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// Merges what the provider said into the attempt (`domain::payment::merge`:
    /// PAYED always wins and is never left, older observations change nothing, a
    /// final state never goes back) and, when it became PAYED, books the money
    /// (source `online`, the reported amount or the attempt's) — which releases a
    /// held submission, with `release_mail`, in this same transaction. A second
    /// PAYED books nothing. A reported amount other than the attempt's is booked as
    /// reported, marked `amount_mismatch`, and releases nothing; a reported amount of
    /// zero or less is not booked at all, only marked `amount_mismatch`.
    ///
    /// Also schedules the next poll (and ends polling when there is none; an attempt
    /// that never reached a final state marks its payment `no_final_status`).
    ///
    /// # Errors
    /// On database errors, or when there is no such attempt.
    pub async fn record_observation(
        &mut self,
        o: &Observation<'_>,
        release_mail: Option<&EmailMessage>,
    ) -> Result<Recorded> {
        let a = self
            .attempt_locked(o.attempt_id)
            .await?
            .ok_or_else(|| StoreError::Invalid(format!("no payment attempt {}", o.attempt_id)))?;
        let stored = stored_status(&a)?;
        let merged = merge(stored, a.status_seen_at, o.status, o.seen_at);
        let now = now_ms();
        let status = merged.unwrap_or(stored);
        let polls = if merged.is_some() { 0 } else { a.polls + 1 };
        let next = poll_delay_ms(status, polls, now - a.created_at);
        let mut q = Query::update()
            .table("payment_attempts")
            .value("polls", polls)
            .value("claimed_until", 0)
            .value("updated_at", now)
            .and_where(Expr::col("id").eq(a.id))
            .to_owned();
        match next {
            Some(d) => q.value("status", ATTEMPT_PENDING).value("next_attempt_at", now + d),
            None => q.value("status", ATTEMPT_DONE),
        };
        if let Some(n) = merged {
            q.value("provider_status", n.as_str()).value("status_seen_at", o.seen_at);
            if !o.transaction_reference.is_empty() {
                q.value("transaction_reference", o.transaction_reference.chars().take(200).collect::<String>());
            }
            if !o.payment_method.is_empty() {
                q.value("payment_method", o.payment_method.chars().take(50).collect::<String>());
            }
            if o.reported_cents.is_some() {
                q.value("reported_cents", o.reported_cents);
            }
        }
        self.execute(&q).await?;
        if next.is_none() && !status.is_final() {
            self.review_unless_set(a.payment_id, Review::NoFinalStatus.as_str()).await?;
        }
        let amount = o.reported_cents.unwrap_or(a.amount_cents);
        let booked = if merged == Some(ProviderStatus::Payed) && amount <= 0 {
            // Nothing or less than nothing is no money taken: a person looks.
            self.review_unless_set(a.payment_id, Review::AmountMismatch.as_str()).await?;
            None
        } else if merged == Some(ProviderStatus::Payed) {
            let method = if o.payment_method.is_empty() { a.payment_method.as_str() } else { o.payment_method };
            let reference = if o.transaction_reference.is_empty() {
                a.transaction_id.clone().unwrap_or_default()
            } else {
                o.transaction_reference.to_owned()
            };
            let b = NewBooking {
                authority_id: a.authority_id,
                payment_id: Some(a.payment_id),
                claim_id: None,
                source: super::SOURCE_ONLINE,
                amount_cents: amount,
                method,
                reference: &reference,
                bank_entry_id: None,
                attempt_id: Some(a.id),
                actor: PROVIDER_ACTOR,
                booked_on: &today_berlin(),
            };
            Some(self.book_checked(&b, release_mail, amount != a.amount_cents).await?)
        } else {
            None
        };
        Ok(Recorded { changed: merged.is_some(), status, booked })
    }
}
