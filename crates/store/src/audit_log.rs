//! Reading the audit log page by page, with the filters of the back office's
//! Protokoll page (kind of action, who, period). Writing and verifying the chain
//! live with the staff accounts (`staff.rs`).

use crate::Result;
use crate::db::Store;
use crate::staff::AuditRecord;
use sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};

const COLUMNS: [&str; 9] = ["id", "at", "actor", "authority_id", "action", "target", "outcome", "prev_hash", "hash"];

/// Who acted, as the filter takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActorFilter {
    /// Exactly this actor, e.g. `staff:4`.
    Exactly(String),
    /// Every actor whose id starts so, e.g. `citizen:` or `api:`.
    Prefix(String),
}

/// Which entries the Protokoll page shows.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// The authorities whose entries may be read; `None` for all (Verbund admins).
    pub authorities: Option<Vec<i64>>,
    /// One kind of action, e.g. `submission.status`.
    pub action: Option<String>,
    pub actor: Option<ActorFilter>,
    /// From this moment (ms, inclusive) …
    pub from_ms: Option<i64>,
    /// … to this one (ms, exclusive).
    pub until_ms: Option<i64>,
    pub offset: u64,
    pub limit: u64,
}

#[derive(Debug, sqlx::FromRow)]
struct Count {
    n: i64,
}

#[derive(Debug, sqlx::FromRow)]
struct Text {
    v: String,
}

fn filtered(f: &AuditQuery, q: &mut SelectStatement) {
    q.from("audit_log");
    if let Some(ids) = &f.authorities {
        q.and_where(Expr::col("authority_id").is_in(ids.iter().copied()));
    }
    if let Some(a) = &f.action {
        q.and_where(Expr::col("action").eq(a.as_str()));
    }
    match &f.actor {
        Some(ActorFilter::Exactly(a)) => {
            q.and_where(Expr::col("actor").eq(a.as_str()));
        }
        Some(ActorFilter::Prefix(p)) => {
            // The prefixes are our own ids ("citizen:"), never typed text: no
            // wildcard of a person reaches LIKE.
            let p: String = p.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_')).collect();
            q.and_where(Expr::col("actor").like(format!("{p}%")));
        }
        None => {}
    }
    if let Some(t) = f.from_ms {
        q.and_where(Expr::col("at").gte(t));
    }
    if let Some(t) = f.until_ms {
        q.and_where(Expr::col("at").lt(t));
    }
}

impl Store {
    /// One page of the audit log, newest first, and how many entries match in all.
    ///
    /// # Errors
    /// On database errors.
    pub async fn audit_page(&self, f: &AuditQuery) -> Result<(Vec<AuditRecord>, i64)> {
        let mut q = Query::select();
        q.columns(COLUMNS).order_by("id", Order::Desc).limit(Ord::max(f.limit, 1)).offset(f.offset);
        filtered(f, &mut q);
        let rows = self.fetch_all(&q).await?;
        let mut c = Query::select();
        c.expr_as(Expr::col("id").count(), "n");
        filtered(f, &mut c);
        let total = self.fetch_optional::<Count>(&c).await?.map_or(0, |r| r.n);
        Ok((rows, total))
    }

    /// The kinds of action and the staff members (`staff:<id>`) that occur in the
    /// entries these authorities may read (for the filters' choices), each sorted.
    ///
    /// # Errors
    /// On database errors.
    pub async fn audit_choices(&self, authorities: Option<&[i64]>) -> Result<(Vec<String>, Vec<String>)> {
        let mut out = Vec::new();
        for col in ["action", "actor"] {
            let mut q = Query::select();
            q.distinct().expr_as(Expr::col(col), "v").from("audit_log").order_by(col, Order::Asc);
            if let Some(ids) = authorities {
                q.and_where(Expr::col("authority_id").is_in(ids.iter().copied()));
            }
            if col == "actor" {
                q.and_where(Expr::col("actor").like("staff:%"));
            }
            out.push(self.fetch_all::<Text>(&q).await?.into_iter().map(|r| r.v).collect::<Vec<_>>());
        }
        let actors = out.pop().unwrap_or_default();
        let actions = out.pop().unwrap_or_default();
        Ok((actions, actors))
    }
}
