//! The audit log: writing and verifying its chain, and reading it page by page with
//! the filters of the back office's Protokoll page (kind of action, who, period).
//!
//! Each entry's hash covers its content and the previous hash. Entries written
//! before issue 18 use plain SHA-256 (chain version 1), which anyone who can write
//! the table can recompute; since then the store is given a key (`set_audit_key`)
//! and entries are tagged with HMAC-SHA256 (version 2). The old entries stay as
//! they are and verifiable; a plain entry after a keyed one is refused, so the
//! chain cannot be downgraded. Cutting off the newest entries is caught by the
//! signed checkpoints outside the database (`amtsweg_portal::audit_anchor`).

use crate::db::{Store, Tx};
use crate::staff::AuditRecord;
use crate::{Result, StoreError};
use amtsweg_domain::audit::{AuditEntry, CHAIN_KEYED, CHAIN_PLAIN, ChainKey, GENESIS, hash_for};
use sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};

/// Where the hash chain breaks, if it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainCheck {
    Intact { entries: usize },
    Broken { id: i64, reason: String },
}

/// One entry's place in the chain: what a checkpoint records and compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainLink {
    pub id: i64,
    pub hash: String,
    /// [`CHAIN_PLAIN`] or [`CHAIN_KEYED`].
    pub chain: i64,
}

/// The result of walking the whole chain: the verdict and every entry's link, in
/// order (the checkpoint comparison looks up the link at its position).
#[derive(Debug, Clone)]
pub struct ChainReport {
    pub check: ChainCheck,
    pub links: Vec<ChainLink>,
}

#[derive(Debug, sqlx::FromRow)]
struct ChainRow {
    id: i64,
    at: i64,
    actor: String,
    authority_id: Option<i64>,
    action: String,
    target: String,
    outcome: String,
    prev_hash: String,
    hash: String,
    chain: i64,
}

impl ChainRow {
    fn entry(&self) -> AuditEntry {
        AuditEntry {
            at: self.at,
            actor: self.actor.clone(),
            authority_id: self.authority_id,
            action: self.action.clone(),
            target: self.target.clone(),
            outcome: self.outcome.clone(),
        }
    }
}

const CHAIN_COLUMNS: [&str; 10] =
    ["id", "at", "actor", "authority_id", "action", "target", "outcome", "prev_hash", "hash", "chain"];

#[derive(Debug, sqlx::FromRow)]
struct HeadRow {
    hash: String,
    chain: i64,
}

#[derive(Debug, sqlx::FromRow)]
struct HeadLink {
    id: i64,
    hash: String,
    chain: i64,
}

/// Walks the rows in order: the first break, else intact.
fn walk(rows: &[ChainRow], key: Option<&ChainKey>) -> ChainCheck {
    let mut prev = GENESIS.to_owned();
    let mut keyed_seen = false;
    for r in rows {
        if r.prev_hash != prev {
            return ChainCheck::Broken { id: r.id, reason: "does not follow the previous entry".into() };
        }
        if r.chain == CHAIN_PLAIN && keyed_seen {
            return ChainCheck::Broken { id: r.id, reason: "unkeyed entry after the keyed chain began".into() };
        }
        keyed_seen |= r.chain == CHAIN_KEYED;
        match hash_for(r.chain, key, &prev, &r.entry()) {
            Some(h) if h == r.hash => {}
            Some(_) => return ChainCheck::Broken { id: r.id, reason: "content was changed".into() },
            None if r.chain == CHAIN_KEYED => {
                return ChainCheck::Broken { id: r.id, reason: "keyed entry, but no audit key to check it".into() };
            }
            None => return ChainCheck::Broken { id: r.id, reason: format!("unknown chain version {}", r.chain) },
        }
        prev.clone_from(&r.hash);
    }
    ChainCheck::Intact { entries: rows.len() }
}

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
    /// Gives the store the key of the audit chain: from now on every clone appends
    /// keyed entries and verifies them. Set once; a second call is ignored.
    pub fn set_audit_key(&self, key: ChainKey) {
        let _ = self.audit_key.set(key);
    }

    /// Whether the store has the key of the audit chain.
    #[must_use]
    pub fn has_audit_key(&self) -> bool {
        self.audit_key.get().is_some()
    }

    /// Recomputes the whole chain (keyed entries with the store's key).
    ///
    /// # Errors
    /// On database errors.
    pub async fn verify_audit_chain(&self) -> Result<ChainCheck> {
        Ok(self.audit_chain_report().await?.check)
    }

    /// Recomputes the whole chain and lists every entry's link.
    ///
    /// # Errors
    /// On database errors.
    pub async fn audit_chain_report(&self) -> Result<ChainReport> {
        let q = Query::select().columns(CHAIN_COLUMNS).from("audit_log").order_by("id", Order::Asc).to_owned();
        let rows: Vec<ChainRow> = self.fetch_all(&q).await?;
        let check = walk(&rows, self.audit_key.get());
        let links = rows.into_iter().map(|r| ChainLink { id: r.id, hash: r.hash, chain: r.chain }).collect();
        Ok(ChainReport { check, links })
    }

    /// The newest entry's link and how many entries there are up to it (what a
    /// checkpoint records); `None` for an empty log.
    ///
    /// # Errors
    /// On database errors.
    pub async fn audit_head(&self) -> Result<Option<(usize, ChainLink)>> {
        let q = Query::select()
            .columns(["id", "hash", "chain"])
            .from("audit_log")
            .order_by("id", Order::Desc)
            .limit(1)
            .to_owned();
        let Some(head) = self.fetch_optional::<HeadLink>(&q).await? else { return Ok(None) };
        // Counted up to the head read above: an entry appended in between is not
        // counted without its link.
        let mut c = Query::select();
        c.expr_as(Expr::col("id").count(), "n").from("audit_log").and_where(Expr::col("id").lte(head.id));
        let n = self.fetch_optional::<Count>(&c).await?.map_or(0, |r| r.n);
        Ok(Some((usize::try_from(n).unwrap_or(0), ChainLink { id: head.id, hash: head.hash, chain: head.chain })))
    }

    /// The link of the `position`-th entry (1-based, in id order), if there are that
    /// many: what a checkpoint of that many entries must find.
    ///
    /// # Errors
    /// On database errors.
    pub async fn audit_link_at(&self, position: usize) -> Result<Option<ChainLink>> {
        let Some(offset) = position.checked_sub(1) else { return Ok(None) };
        let q = Query::select()
            .columns(["id", "hash", "chain"])
            .from("audit_log")
            .order_by("id", Order::Asc)
            .limit(1)
            .offset(offset as u64)
            .to_owned();
        Ok(self.fetch_optional::<HeadLink>(&q).await?.map(|h| ChainLink { id: h.id, hash: h.hash, chain: h.chain }))
    }

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

impl Tx {
    /// Appends to the audit log, chained to the previous entry: keyed when the store
    /// has the audit key. Concurrent writers are serialised so the chain never forks.
    ///
    /// # Errors
    /// On database errors, or without the key once the chain is keyed (an unkeyed
    /// entry there would break it).
    pub async fn append_audit(&mut self, e: &AuditEntry) -> Result<()> {
        self.lock_audit_chain().await?;
        let q = Query::select()
            .columns(["hash", "chain"])
            .from("audit_log")
            .order_by("id", Order::Desc)
            .limit(1)
            .to_owned();
        let last = self.fetch_optional_in_tx::<HeadRow>(&q).await?;
        let prev = last.as_ref().map_or_else(|| GENESIS.to_owned(), |r| r.hash.clone());
        let (chain, hash) = match (self.audit_key, last.map(|r| r.chain)) {
            (Some(key), _) => (CHAIN_KEYED, amtsweg_domain::audit::keyed_chain_hash(&key, &prev, e)),
            (None, Some(CHAIN_KEYED)) => {
                return Err(StoreError::Invalid(
                    "the audit chain is keyed: open the store through the portal (master key) to write to it".into(),
                ));
            }
            (None, _) => (CHAIN_PLAIN, amtsweg_domain::audit::chain_hash(&prev, e)),
        };
        let q = Query::insert()
            .into_table("audit_log")
            .columns(["at", "actor", "authority_id", "action", "target", "outcome", "prev_hash", "hash", "chain"])
            .values_panic([
                e.at.into(),
                e.actor.clone().into(),
                e.authority_id.into(),
                e.action.clone().into(),
                e.target.clone().into(),
                e.outcome.clone().into(),
                prev.into(),
                hash.into(),
                chain.into(),
            ])
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }
}
