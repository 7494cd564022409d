//! The hand-off to the back office: connectors per authority (and form), the
//! deliveries outbox (one row per submission and connector, written in the
//! submission's own transaction), and the API clients that pull submissions.
//!
//! Workers claim due deliveries for a lease (`claimed_until`) through the claim both
//! outboxes share (`outbox.rs`); on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so
//! several nodes never take the same row, on SQLite inside the single write
//! connection. A worker that dies mid-delivery leaves a lease that runs out, and
//! another attempt follows: receivers get the same `Idempotency-Key` and recognise
//! the repeat.

use crate::db::{Store, Tx};
use crate::{Result, now_ms};
use sea_query::{Expr, ExprTrait, Order, Query};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ConnectorRow {
    pub id: i64,
    pub authority_id: i64,
    pub form_id: Option<i64>,
    pub kind: String,
    pub name: String,
    /// Sealed JSON.
    pub config: String,
    pub active: i64,
    pub created_at: i64,
}

const CONNECTOR_COLUMNS: [&str; 8] =
    ["id", "authority_id", "form_id", "kind", "name", "config", "active", "created_at"];

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub submission_id: i64,
    pub authority_id: i64,
    pub connector_id: i64,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub claimed_until: i64,
    pub last_error: String,
    pub reference: String,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

const DELIVERY_COLUMNS: [&str; 12] = [
    "id",
    "submission_id",
    "authority_id",
    "connector_id",
    "status",
    "attempts",
    "next_attempt_at",
    "claimed_until",
    "last_error",
    "reference",
    "created_at",
    "delivered_at",
];

pub const DELIVERY_PENDING: &str = crate::outbox::PENDING;
pub const DELIVERY_DONE: &str = "delivered";
pub const DELIVERY_DEAD: &str = "dead";

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ApiClientRow {
    pub id: i64,
    pub authority_id: i64,
    pub name: String,
    pub client_id: String,
    pub secret_hash: String,
    pub scopes: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

const API_CLIENT_COLUMNS: [&str; 8] =
    ["id", "authority_id", "name", "client_id", "secret_hash", "scopes", "created_at", "revoked_at"];

/// A row of the reconciliation report: one submission and one of its targets.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ReconciliationRow {
    pub submission_id: i64,
    pub receipt_number: String,
    pub submitted_at: i64,
    pub connector_id: Option<i64>,
    pub status: Option<String>,
    pub attempts: Option<i64>,
    pub delivered_at: Option<i64>,
    pub reference: Option<String>,
    pub last_error: Option<String>,
}

impl Store {
    /// The authority's connectors (active and inactive).
    ///
    /// # Errors
    /// On database errors.
    pub async fn connectors_of(&self, authority_id: i64) -> Result<Vec<ConnectorRow>> {
        let q = Query::select()
            .columns(CONNECTOR_COLUMNS)
            .from("connectors")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .order_by("id", Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// One connector by id (for the worker, which serves every authority).
    ///
    /// # Errors
    /// On database errors.
    pub async fn connector(&self, id: i64) -> Result<Option<ConnectorRow>> {
        let q =
            Query::select().columns(CONNECTOR_COLUMNS).from("connectors").and_where(Expr::col("id").eq(id)).to_owned();
        self.fetch_optional(&q).await
    }

    /// The deliveries of one submission of the authority.
    ///
    /// # Errors
    /// On database errors.
    pub async fn deliveries_of(&self, authority_id: i64, submission_id: i64) -> Result<Vec<DeliveryRow>> {
        let q = Query::select()
            .columns(DELIVERY_COLUMNS)
            .from("deliveries")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("submission_id").eq(submission_id))
            .order_by("id", Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// How many deliveries of the authority are in each status.
    ///
    /// # Errors
    /// On database errors.
    pub async fn delivery_counts(&self, authority_id: i64) -> Result<Vec<(String, i64)>> {
        #[derive(sqlx::FromRow)]
        struct Count {
            status: String,
            n: i64,
        }
        let q = Query::select()
            .column("status")
            .expr_as(Expr::col("id").count(), "n")
            .from("deliveries")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .group_by_col("status")
            .to_owned();
        Ok(self.fetch_all::<Count>(&q).await?.into_iter().map(|c| (c.status, c.n)).collect())
    }

    /// Every submission of the authority in `[from, to)` with each of its deliveries
    /// (a submission without any delivery appears once with empty delivery fields).
    ///
    /// # Errors
    /// On database errors.
    pub async fn reconciliation(&self, authority_id: i64, from: i64, to: i64) -> Result<Vec<ReconciliationRow>> {
        let q = Query::select()
            .expr_as(Expr::col(("s", "id")), "submission_id")
            .expr_as(Expr::col(("s", "receipt_number")), "receipt_number")
            .expr_as(Expr::col(("s", "submitted_at")), "submitted_at")
            .expr_as(Expr::col(("d", "connector_id")), "connector_id")
            .expr_as(Expr::col(("d", "status")), "status")
            .expr_as(Expr::col(("d", "attempts")), "attempts")
            .expr_as(Expr::col(("d", "delivered_at")), "delivered_at")
            .expr_as(Expr::col(("d", "reference")), "reference")
            .expr_as(Expr::col(("d", "last_error")), "last_error")
            .from_as("submissions", "s")
            .join_as(
                sea_query::JoinType::LeftJoin,
                "deliveries",
                "d",
                Expr::col(("d", "submission_id")).equals(("s", "id")),
            )
            .and_where(Expr::col(("s", "authority_id")).eq(authority_id))
            .and_where(Expr::col(("s", "submitted_at")).gte(from))
            .and_where(Expr::col(("s", "submitted_at")).lt(to))
            .order_by(("s", "id"), Order::Asc)
            .order_by(("d", "connector_id"), Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// Takes up to `limit` due deliveries for `lease_ms`. Returns them; each is held
    /// until its lease runs out or it is marked done or failed.
    ///
    /// # Errors
    /// On database errors.
    pub async fn claim_deliveries(&self, limit: u64, lease_ms: i64) -> Result<Vec<DeliveryRow>> {
        self.claim_due("deliveries", &DELIVERY_COLUMNS, limit, lease_ms, |r: &DeliveryRow| r.id).await
    }

    /// An API client by its public client id.
    ///
    /// # Errors
    /// On database errors.
    pub async fn api_client(&self, client_id: &str) -> Result<Option<ApiClientRow>> {
        let q = Query::select()
            .columns(API_CLIENT_COLUMNS)
            .from("api_clients")
            .and_where(Expr::col("client_id").eq(client_id))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// The authority's API clients, newest first.
    ///
    /// # Errors
    /// On database errors.
    pub async fn api_clients_of(&self, authority_id: i64) -> Result<Vec<ApiClientRow>> {
        let q = Query::select()
            .columns(API_CLIENT_COLUMNS)
            .from("api_clients")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .order_by("id", Order::Desc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// Ids of the authority's submissions this client has not acknowledged yet,
    /// oldest first.
    ///
    /// # Errors
    /// On database errors.
    pub async fn unacknowledged(&self, authority_id: i64, client: i64, after_id: i64, limit: u64) -> Result<Vec<i64>> {
        let acked = Query::select()
            .column("submission_id")
            .from("api_acknowledgements")
            .and_where(Expr::col("client_id").eq(client))
            .to_owned();
        let q = Query::select()
            .column("id")
            .from("submissions")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").gt(after_id))
            .and_where(Expr::col("id").not_in_subquery(acked))
            // Held until paid (or expired unpaid): not released to the authority.
            .and_where(Expr::col("status").is_not_in(crate::payments::RESERVED_STATES))
            .order_by("id", Order::Asc)
            .limit(limit)
            .to_owned();
        #[derive(sqlx::FromRow)]
        struct Id {
            id: i64,
        }
        Ok(self.fetch_all::<Id>(&q).await?.into_iter().map(|r| r.id).collect())
    }

    /// When this client acknowledged the submission, if it did.
    ///
    /// # Errors
    /// On database errors.
    pub async fn acknowledged_at(&self, submission_id: i64, client: i64) -> Result<Option<i64>> {
        #[derive(sqlx::FromRow)]
        struct At {
            acknowledged_at: i64,
        }
        let q = Query::select()
            .column("acknowledged_at")
            .from("api_acknowledgements")
            .and_where(Expr::col("submission_id").eq(submission_id))
            .and_where(Expr::col("client_id").eq(client))
            .to_owned();
        Ok(self.fetch_optional::<At>(&q).await?.map(|a| a.acknowledged_at))
    }
}

/// A new connector.
#[derive(Debug, Clone)]
pub struct NewConnector<'a> {
    pub authority_id: i64,
    pub form_id: Option<i64>,
    pub kind: &'a str,
    pub name: &'a str,
    pub config: &'a str,
}

impl Tx {
    /// Writes one pending delivery per active connector of the authority that takes
    /// this form; part of the submission's transaction.
    pub(crate) async fn enqueue_deliveries(&mut self, submission_ids: &[i64], now: i64) -> Result<()> {
        if submission_ids.is_empty() {
            return Ok(());
        }
        let q = Query::insert()
            .into_table("deliveries")
            .columns(["submission_id", "authority_id", "connector_id", "next_attempt_at", "created_at"])
            .select_from(
                Query::select()
                    .column(("submissions", "id"))
                    .column(("submissions", "authority_id"))
                    .column(("connectors", "id"))
                    .expr(Expr::val(now))
                    .expr(Expr::val(now))
                    .from("submissions")
                    .inner_join(
                        "connectors",
                        Expr::col(("connectors", "authority_id")).equals(("submissions", "authority_id")),
                    )
                    .and_where(Expr::col(("submissions", "id")).is_in(crate::db::padded(submission_ids)))
                    .and_where(Expr::col(("connectors", "active")).eq(1))
                    .and_where(
                        Expr::col(("connectors", "form_id"))
                            .is_null()
                            .or(Expr::col(("connectors", "form_id")).equals(("submissions", "form_id"))),
                    )
                    .order_by(("submissions", "id"), Order::Asc)
                    .order_by(("connectors", "id"), Order::Asc)
                    .to_owned(),
            )
            .map_err(|e| crate::StoreError::Invalid(e.to_string()))?
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// # Errors
    /// On database errors.
    pub async fn insert_connector(&mut self, c: &NewConnector<'_>) -> Result<i64> {
        let q = Query::insert()
            .into_table("connectors")
            .columns(["authority_id", "form_id", "kind", "name", "config", "active", "created_at"])
            .values_panic([
                c.authority_id.into(),
                c.form_id.into(),
                c.kind.into(),
                c.name.into(),
                c.config.into(),
                1i64.into(),
                now_ms().into(),
            ])
            .returning_col("id")
            .to_owned();
        self.insert_id(&q).await
    }

    /// Switches a connector of the authority on or off; new submissions only.
    ///
    /// # Errors
    /// On database errors.
    pub async fn set_connector_active(&mut self, authority_id: i64, id: i64, active: bool) -> Result<bool> {
        let q = Query::update()
            .table("connectors")
            .value("active", i64::from(active))
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }

    /// Changes a connector of the authority (name, form, sealed settings); its kind
    /// stays. New submissions only: deliveries already queued keep their connector.
    ///
    /// # Errors
    /// On database errors.
    pub async fn update_connector(
        &mut self,
        authority_id: i64,
        id: i64,
        form_id: Option<i64>,
        name: &str,
        config: &str,
    ) -> Result<bool> {
        let q = Query::update()
            .table("connectors")
            .value("form_id", form_id)
            .value("name", name)
            .value("config", config)
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }

    /// Records a successful delivery.
    ///
    /// # Errors
    /// On database errors.
    pub async fn mark_delivered(&mut self, id: i64, reference: &str) -> Result<()> {
        let q = Query::update()
            .table("deliveries")
            .value("status", DELIVERY_DONE)
            .value("delivered_at", now_ms())
            .value("reference", reference.chars().take(500).collect::<String>())
            .value("last_error", "")
            .value("claimed_until", 0)
            .value("attempts", Expr::col("attempts").add(1))
            .and_where(Expr::col("id").eq(id))
            .and_where(Expr::col("status").eq(DELIVERY_PENDING))
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// Records a failed attempt: the next one at `next_attempt_at`, or parked as
    /// dead when `dead`.
    ///
    /// # Errors
    /// On database errors.
    pub async fn mark_delivery_failed(&mut self, id: i64, error: &str, next_attempt_at: i64, dead: bool) -> Result<()> {
        let q = Query::update()
            .table("deliveries")
            .value("status", if dead { DELIVERY_DEAD } else { DELIVERY_PENDING })
            .value("next_attempt_at", next_attempt_at)
            .value("last_error", error.chars().take(500).collect::<String>())
            .value("claimed_until", 0)
            .value("attempts", Expr::col("attempts").add(1))
            .and_where(Expr::col("id").eq(id))
            .and_where(Expr::col("status").eq(DELIVERY_PENDING))
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// Sends a delivery of the authority again now (after a dead letter, or to hand
    /// the submission over once more); the receiver sees the same idempotency key.
    ///
    /// # Errors
    /// On database errors.
    pub async fn resend_delivery(&mut self, authority_id: i64, id: i64) -> Result<bool> {
        let q = Query::update()
            .table("deliveries")
            .value("status", DELIVERY_PENDING)
            .value("next_attempt_at", now_ms())
            .value("claimed_until", 0)
            .value("attempts", 0)
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }

    /// # Errors
    /// On database errors (a taken client id is a unique violation).
    pub async fn insert_api_client(
        &mut self,
        authority_id: i64,
        name: &str,
        client_id: &str,
        secret_hash: &str,
        scopes: &str,
    ) -> Result<i64> {
        let q = Query::insert()
            .into_table("api_clients")
            .columns(["authority_id", "name", "client_id", "secret_hash", "scopes", "created_at"])
            .values_panic([
                authority_id.into(),
                name.into(),
                client_id.into(),
                secret_hash.into(),
                scopes.into(),
                now_ms().into(),
            ])
            .returning_col("id")
            .to_owned();
        self.insert_id(&q).await
    }

    /// # Errors
    /// On database errors.
    pub async fn revoke_api_client(&mut self, authority_id: i64, id: i64) -> Result<bool> {
        let q = Query::update()
            .table("api_clients")
            .value("revoked_at", now_ms())
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(id))
            .and_where(Expr::col("revoked_at").is_null())
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }

    /// Records the client's acknowledgement; false when it had acknowledged before.
    ///
    /// # Errors
    /// On database errors.
    pub async fn acknowledge(&mut self, submission_id: i64, client: i64) -> Result<bool> {
        let q = Query::insert()
            .into_table("api_acknowledgements")
            .columns(["submission_id", "client_id", "acknowledged_at"])
            .values_panic([submission_id.into(), client.into(), now_ms().into()])
            .on_conflict(sea_query::OnConflict::columns(["submission_id", "client_id"]).do_nothing().to_owned())
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }
}
