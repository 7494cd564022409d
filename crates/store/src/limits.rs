//! What the abuse limits count: failed sign-ins and account mails (rows of
//! `login_failures` with the client that caused them), and anonymous drafts with
//! their files per client and in total. Clients are stored as a hash, never as an
//! address; rows older than a day are pruned by the housekeeping task.

use crate::db::{Store, Tx};
use crate::{Result, now_ms};
use sea_query::{Expr, ExprTrait, Order, Query};

#[derive(Debug, sqlx::FromRow)]
struct CountLatestRow {
    n: i64,
    latest: Option<i64>,
}

#[derive(Debug, sqlx::FromRow)]
struct AtRow {
    at: i64,
}

#[derive(Debug, sqlx::FromRow)]
struct NRow {
    n: i64,
}

/// Rows counted under one key since some time: how many, and the newest (ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    pub count: i64,
    pub latest: Option<i64>,
}

impl Store {
    /// Failures counted under `account_key` (from every client) since `since_ms`.
    ///
    /// # Errors
    /// On database errors.
    pub async fn failures_of(&self, account_key: &str, since_ms: i64) -> Result<Counted> {
        let q = Query::select()
            .expr_as(Expr::col("id").count(), "n")
            .expr_as(Expr::col("at").max(), "latest")
            .from("login_failures")
            .and_where(Expr::col("account_key").eq(account_key))
            .and_where(Expr::col("at").gte(since_ms))
            .to_owned();
        let r = self.fetch_optional::<CountLatestRow>(&q).await?;
        Ok(r.map_or(Counted { count: 0, latest: None }, |r| Counted { count: r.n, latest: r.latest }))
    }

    /// The times of the newest `limit` failures under `account_key` from `client`
    /// since `since_ms`, newest first.
    ///
    /// # Errors
    /// On database errors.
    pub async fn failure_times_from(
        &self,
        account_key: &str,
        client: &str,
        since_ms: i64,
        limit: u64,
    ) -> Result<Vec<i64>> {
        let q = Query::select()
            .column("at")
            .from("login_failures")
            .and_where(Expr::col("account_key").eq(account_key))
            .and_where(Expr::col("client").eq(client))
            .and_where(Expr::col("at").gte(since_ms))
            .order_by("at", Order::Desc)
            .limit(limit)
            .to_owned();
        Ok(self.fetch_all::<AtRow>(&q).await?.into_iter().map(|r| r.at).collect())
    }

    /// Rows of `client` whose key starts with `prefix` since `since_ms`.
    ///
    /// # Errors
    /// On database errors.
    pub async fn failures_of_client(&self, prefix: &str, client: &str, since_ms: i64) -> Result<i64> {
        let q = Query::select()
            .expr_as(Expr::col("id").count(), "n")
            .from("login_failures")
            .and_where(Expr::col("client").eq(client))
            .and_where(Expr::col("at").gte(since_ms))
            .and_where(Expr::col("account_key").like(format!("{prefix}%")))
            .to_owned();
        Ok(self.fetch_optional::<NRow>(&q).await?.map_or(0, |r| r.n))
    }

    /// Open drafts without an account, begun by `client` (all clients: `None`)
    /// since `since_ms`.
    ///
    /// # Errors
    /// On database errors.
    pub async fn anonymous_drafts(&self, client: Option<&str>, since_ms: i64) -> Result<i64> {
        let mut q = Query::select();
        q.expr_as(Expr::col("token").count(), "n")
            .from("form_drafts")
            .and_where(Expr::col("citizen_id").is_null())
            .and_where(Expr::col("created_at").gte(since_ms));
        if let Some(c) = client {
            q.and_where(Expr::col("client").eq(c));
        }
        Ok(self.fetch_optional::<NRow>(&q).await?.map_or(0, |r| r.n))
    }

    /// Bytes of the files in open drafts without an account, of `client` (all
    /// clients: `None`).
    ///
    /// # Errors
    /// On database errors.
    pub async fn anonymous_draft_bytes(&self, client: Option<&str>) -> Result<i64> {
        let mut q = Query::select();
        // SUM is NUMERIC on PostgreSQL: cast, so both backends answer an integer.
        q.expr_as(Expr::cust("CAST(COALESCE(SUM(draft_files.size), 0) AS BIGINT)"), "n")
            .from("draft_files")
            .inner_join("form_drafts", Expr::col(("form_drafts", "token")).equals(("draft_files", "draft_token")))
            .and_where(Expr::col(("form_drafts", "citizen_id")).is_null());
        if let Some(c) = client {
            q.and_where(Expr::col(("form_drafts", "client")).eq(c));
        }
        Ok(self.fetch_optional::<NRow>(&q).await?.map_or(0, |r| r.n))
    }
}

impl Tx {
    /// Counts a failed sign-in (or a mail sent) under `account_key`, caused by `client`.
    ///
    /// # Errors
    /// On database errors.
    pub async fn record_failure_from(&mut self, account_key: &str, client: &str) -> Result<()> {
        let q = Query::insert()
            .into_table("login_failures")
            .columns(["account_key", "client", "at"])
            .values_panic([account_key.into(), client.into(), now_ms().into()])
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// Counts a try under `account_key` from `client` before it runs (so parallel
    /// tries cannot all pass the limit); returns its id, to take it back with
    /// [`withdraw_failure`](Self::withdraw_failure) when it turns out not to be a
    /// failure.
    ///
    /// # Errors
    /// On database errors.
    pub async fn record_try_from(&mut self, account_key: &str, client: &str) -> Result<i64> {
        let q = Query::insert()
            .into_table("login_failures")
            .columns(["account_key", "client", "at"])
            .values_panic([account_key.into(), client.into(), now_ms().into()])
            .returning_col("id")
            .to_owned();
        self.insert_id(&q).await
    }

    /// Takes back a try counted by [`record_try_from`](Self::record_try_from).
    ///
    /// # Errors
    /// On database errors.
    pub async fn withdraw_failure(&mut self, id: i64) -> Result<()> {
        let q = Query::delete().from_table("login_failures").and_where(Expr::col("id").eq(id)).to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// Notes which client began a draft (for the quotas per client).
    ///
    /// # Errors
    /// On database errors.
    pub async fn set_application_draft_client(&mut self, token: &str, client: &str) -> Result<()> {
        let q = Query::update()
            .table("form_drafts")
            .value("client", client)
            .and_where(Expr::col("token").eq(token))
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }
}
