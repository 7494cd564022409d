//! The finance feed: bookings in commit order per authority, for the finance
//! software (`GET /api/v1/zahlungen?seit=`) and its webhook.
//!
//! `feed_seq` is gapless per authority and follows the commit order (see
//! `bookings`), so a reader that asks for everything after the last sequence it
//! saw never skips a booking. The webhook only says "there is news up to N"; how
//! far each webhook connector was told is kept in `finance_webhook_state`.

use super::{CONNECTOR_COLUMNS, KIND_FINANZEN_WEBHOOK, PaymentConnectorRow};
use crate::db::{Store, Tx};
use crate::{Result, StoreError};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use serde::Serialize;

/// One booking as the finance software sees it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct FeedRow {
    pub feed_seq: i64,
    pub booked_on: String,
    pub amount_cents: i64,
    pub source: String,
    pub method: String,
    pub reference: String,
    pub kassenzeichen: String,
    pub due_on: Option<String>,
    pub claim_id: Option<i64>,
    pub receipt_number: Option<String>,
}

/// How far a finance webhook has been told, and its retries.
#[derive(Debug, Clone, Default, Serialize, sqlx::FromRow)]
pub struct FinanceWebhookState {
    pub connector_id: i64,
    pub delivered_seq: i64,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: String,
}

#[derive(sqlx::FromRow)]
struct DueRow {
    id: i64,
    authority_id: i64,
    form_id: Option<i64>,
    kind: String,
    name: String,
    config: String,
    active: i64,
    created_at: i64,
    delivered: i64,
    last: i64,
}

#[derive(sqlx::FromRow)]
struct SeqRow {
    last_seq: i64,
}

impl Store {
    /// The authority's bookings after `after_seq`, in order, at most `limit`.
    ///
    /// # Errors
    /// On database errors.
    pub async fn finance_feed(&self, authority_id: i64, after_seq: i64, limit: u64) -> Result<Vec<FeedRow>> {
        use sea_query::JoinType::LeftJoin;
        let q = Query::select()
            .column(("b", "feed_seq"))
            .column(("b", "booked_on"))
            .column(("b", "amount_cents"))
            .column(("b", "source"))
            .column(("b", "method"))
            .column(("b", "reference"))
            // A claim's payment shares the claim's Kassenzeichen; a bank entry booked on
            // a claim directly has no payment.
            .expr_as(Expr::cust("COALESCE(p.kassenzeichen, c.kassenzeichen, '')"), "kassenzeichen")
            .column(("c", "due_on"))
            .column(("b", "claim_id"))
            .column(("s", "receipt_number"))
            .from_as("payment_bookings", "b")
            .join_as(LeftJoin, "payments", "p", Expr::col(("p", "id")).equals(("b", "payment_id")))
            .join_as(LeftJoin, "claims", "c", Expr::col(("c", "id")).equals(("b", "claim_id")))
            .join_as(LeftJoin, "submissions", "s", Expr::col(("s", "id")).equals(("p", "submission_id")))
            .and_where(Expr::col(("b", "authority_id")).eq(authority_id))
            .and_where(Expr::col(("b", "feed_seq")).gt(after_seq))
            .order_by(("b", "feed_seq"), Order::Asc)
            .limit(limit)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// The authority's last feed sequence (0: none yet).
    ///
    /// # Errors
    /// On database errors.
    pub async fn last_feed_seq(&self, authority_id: i64) -> Result<i64> {
        let q = Query::select()
            .column("last_seq")
            .from("finance_feed_counters")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .to_owned();
        Ok(self.fetch_optional::<SeqRow>(&q).await?.map_or(0, |r| r.last_seq))
    }

    /// Finance webhooks with news to tell: active connectors of kind
    /// `finanzen_webhook` whose authority's last sequence is beyond what they were
    /// told, and whose retry time has come. Each with its delivered sequence and the
    /// authority's last.
    ///
    /// # Errors
    /// On database errors.
    pub async fn finance_webhooks_due(&self, now: i64) -> Result<Vec<(PaymentConnectorRow, i64, i64)>> {
        let mut q = Query::select();
        for c in CONNECTOR_COLUMNS {
            q.expr_as(Expr::col(("payment_connectors", c)), c);
        }
        let q = q
            .expr_as(Expr::cust("COALESCE(finance_webhook_state.delivered_seq, 0)"), "delivered")
            .expr_as(Expr::cust("COALESCE(finance_feed_counters.last_seq, 0)"), "last")
            .from("payment_connectors")
            .left_join(
                "finance_webhook_state",
                Expr::col(("finance_webhook_state", "connector_id")).equals(("payment_connectors", "id")),
            )
            .left_join(
                "finance_feed_counters",
                Expr::col(("finance_feed_counters", "authority_id")).equals(("payment_connectors", "authority_id")),
            )
            .and_where(Expr::col(("payment_connectors", "kind")).eq(KIND_FINANZEN_WEBHOOK))
            .and_where(Expr::col(("payment_connectors", "active")).eq(1))
            .and_where(Expr::cust(
                "COALESCE(finance_feed_counters.last_seq, 0) > COALESCE(finance_webhook_state.delivered_seq, 0)",
            ))
            .and_where(Expr::cust("COALESCE(finance_webhook_state.next_attempt_at, 0)").lte(now))
            .order_by(("payment_connectors", "id"), Order::Asc)
            .to_owned();
        let rows: Vec<DueRow> = self.fetch_all(&q).await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let c = PaymentConnectorRow {
                    id: r.id,
                    authority_id: r.authority_id,
                    form_id: r.form_id,
                    kind: r.kind,
                    name: r.name,
                    config: r.config,
                    active: r.active,
                    created_at: r.created_at,
                };
                (c, r.delivered, r.last)
            })
            .collect())
    }

    /// How far a finance webhook was told (default: nothing yet).
    ///
    /// # Errors
    /// On database errors.
    pub async fn finance_webhook_state(&self, connector_id: i64) -> Result<FinanceWebhookState> {
        let q = Query::select()
            .columns(["connector_id", "delivered_seq", "attempts", "next_attempt_at", "last_error"])
            .from("finance_webhook_state")
            .and_where(Expr::col("connector_id").eq(connector_id))
            .to_owned();
        Ok(self
            .fetch_optional::<FinanceWebhookState>(&q)
            .await?
            .unwrap_or(FinanceWebhookState { connector_id, ..FinanceWebhookState::default() }))
    }
}

impl Tx {
    /// The webhook told the finance software about everything up to `seq`; the
    /// delivered sequence never goes back (two workers finishing out of order).
    ///
    /// # Errors
    /// On database errors.
    pub async fn finance_webhook_done(&mut self, connector_id: i64, seq: i64) -> Result<()> {
        if seq < 0 {
            return Err(StoreError::Invalid(format!("negative feed sequence {seq}")));
        }
        let q = Query::insert()
            .into_table("finance_webhook_state")
            .columns(["connector_id", "delivered_seq", "attempts", "next_attempt_at", "last_error"])
            .values_panic([connector_id.into(), seq.into(), 0i64.into(), 0i64.into(), "".into()])
            .on_conflict(
                OnConflict::column("connector_id")
                    .value(
                        "delivered_seq",
                        Expr::cust(
                            "CASE WHEN finance_webhook_state.delivered_seq > excluded.delivered_seq \
                             THEN finance_webhook_state.delivered_seq ELSE excluded.delivered_seq END",
                        ),
                    )
                    .value("attempts", 0i64)
                    .value("next_attempt_at", 0i64)
                    .value("last_error", "")
                    .to_owned(),
            )
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// The webhook failed; try again at `next_attempt_at`.
    ///
    /// # Errors
    /// On database errors.
    pub async fn finance_webhook_failed(&mut self, connector_id: i64, error: &str, next_attempt_at: i64) -> Result<()> {
        let error: String = error.chars().take(500).collect();
        let q = Query::insert()
            .into_table("finance_webhook_state")
            .columns(["connector_id", "delivered_seq", "attempts", "next_attempt_at", "last_error"])
            .values_panic([
                connector_id.into(),
                0i64.into(),
                1i64.into(),
                next_attempt_at.into(),
                error.as_str().into(),
            ])
            .on_conflict(
                OnConflict::column("connector_id")
                    .value("attempts", Expr::col(("finance_webhook_state", "attempts")).add(1))
                    .value("next_attempt_at", next_attempt_at)
                    .value("last_error", error.as_str())
                    .to_owned(),
            )
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }
}
