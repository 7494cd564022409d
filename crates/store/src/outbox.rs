//! The transactional outbox: work for the outside world (e-mail now, back-office
//! connectors later) is written in the same transaction as the change that causes it,
//! and delivered afterwards by a worker with retries and backoff.
//!
//! Both outboxes — the e-mails here and the hand-off deliveries (`handoff.rs`) — are
//! taken the same way, through `Store::claim_due`: a worker claims due rows for a
//! lease (`claimed_until`), on PostgreSQL with `FOR UPDATE SKIP LOCKED`, on SQLite
//! inside the single write connection. So several workers (or nodes on one
//! PostgreSQL) never take the same row, and a row whose worker died is taken again
//! once its lease has run out. Done and failed clear the lease and only touch rows
//! that are still pending, so a late report never revives a finished row.

use crate::db::{AnyRow, Store, Tx};
use crate::{Result, StoreError, now_ms};
use sea_query::{Cond, Expr, ExprTrait, LockBehavior, LockType, Order, Query};
use serde::{Deserialize, Serialize};

/// An e-mail as queued. Bodies never contain application data, only notices and links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailMessage {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// Text files sent along (e.g. the `.ics` of an appointment). Absent in the
    /// payloads queued before there were attachments, hence the default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<EmailAttachment>,
}

/// An attachment of an e-mail: text such as an appointment's calendar file, or
/// binary (a GiroCode image) carried as base64 in the queued JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailAttachment {
    pub file_name: String,
    /// e.g. `text/calendar; method=REQUEST`.
    pub content_type: String,
    /// The text itself, or the bytes in standard base64 when `encoding` is `base64`.
    pub content: String,
    /// `""`: `content` is the text; `"base64"`: `content` holds binary bytes.
    /// Absent in payloads queued before binary attachments, hence the default.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub encoding: String,
}

/// The [`EmailAttachment::encoding`] of binary attachments.
pub const ENCODING_BASE64: &str = "base64";

impl EmailAttachment {
    /// A text attachment.
    #[must_use]
    pub fn text(file_name: &str, content_type: &str, content: &str) -> Self {
        Self {
            file_name: file_name.to_owned(),
            content_type: content_type.to_owned(),
            content: content.to_owned(),
            encoding: String::new(),
        }
    }

    /// A binary attachment (e.g. `image/png`), stored as base64.
    #[must_use]
    pub fn binary(file_name: &str, content_type: &str, bytes: &[u8]) -> Self {
        use base64::Engine as _;
        Self {
            file_name: file_name.to_owned(),
            content_type: content_type.to_owned(),
            content: base64::engine::general_purpose::STANDARD.encode(bytes),
            encoding: ENCODING_BASE64.to_owned(),
        }
    }

    /// The bytes to send: the text's UTF-8, or the decoded base64.
    ///
    /// # Errors
    /// When a base64 attachment does not decode, or the encoding is unknown.
    pub fn bytes(&self) -> Result<Vec<u8>> {
        use base64::Engine as _;
        match self.encoding.as_str() {
            "" => Ok(self.content.as_bytes().to_vec()),
            ENCODING_BASE64 => base64::engine::general_purpose::STANDARD
                .decode(&self.content)
                .map_err(|e| StoreError::Invalid(format!("attachment {}: {e}", self.file_name))),
            other => Err(StoreError::Invalid(format!("attachment {}: unknown encoding {other:?}", self.file_name))),
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    /// A worker holds the entry until then (0: nobody).
    pub claimed_until: i64,
    pub last_error: String,
}

impl OutboxRow {
    /// # Errors
    /// When the payload is not an e-mail, or no longer one because its retention
    /// has passed ([`REDACTED_PAYLOAD`]).
    pub fn email(&self) -> Result<EmailMessage> {
        if self.is_redacted() {
            return Err(StoreError::Invalid(format!("outbox entry {} was redacted after its retention", self.id)));
        }
        serde_json::from_str(&self.payload).map_err(|e| StoreError::Invalid(e.to_string()))
    }

    /// Whether the content was removed after its retention ([`Tx::redact_outbox`]).
    #[must_use]
    pub fn is_redacted(&self) -> bool {
        self.payload == REDACTED_PAYLOAD
    }
}

/// What is left of an e-mail once its retention has passed: the recipient, subject,
/// body (with names and one-time links) and attachments are gone; id, kind, status,
/// attempts and dates stay for the operator's statistics.
pub const REDACTED_PAYLOAD: &str = r#"{"redacted":true}"#;

/// After this many failed attempts an entry is parked as `dead` for a person to look at.
pub const MAX_ATTEMPTS: i64 = 8;

/// The status of an entry that is waiting (also while retrying); the same word in
/// both outboxes.
pub(crate) const PENDING: &str = "pending";

const COLUMNS: [&str; 8] =
    ["id", "kind", "payload", "status", "attempts", "next_attempt_at", "claimed_until", "last_error"];

#[derive(Debug, sqlx::FromRow)]
struct TokenRow {
    kind: String,
    user_id: i64,
    expires_at: i64,
    used_at: Option<i64>,
}

/// Why a one-time link cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenProblem {
    Unknown,
    Expired,
    Used,
}

impl Store {
    /// Takes up to `limit` due e-mails for `lease_ms`. Returns them; each is held
    /// until its lease runs out or it is marked done or failed.
    ///
    /// # Errors
    /// On database errors.
    pub async fn claim_outbox(&self, limit: u64, lease_ms: i64) -> Result<Vec<OutboxRow>> {
        self.claim_due("outbox", &COLUMNS, limit, lease_ms, |r: &OutboxRow| r.id).await
    }

    /// Claims up to `limit` pending rows of `table` that are due and not held by a
    /// lease, oldest due first, for `lease_ms`: the one claim of both outboxes. The
    /// rows come back as they were before the claim.
    pub(crate) async fn claim_due<T: AnyRow>(
        &self,
        table: &'static str,
        columns: &[&'static str],
        limit: u64,
        lease_ms: i64,
        id: fn(&T) -> i64,
    ) -> Result<Vec<T>> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        let q = Query::select()
            .columns(columns.iter().copied())
            .from(table)
            .and_where(Expr::col("status").eq(PENDING))
            .and_where(Expr::col("next_attempt_at").lte(now))
            .and_where(Expr::col("claimed_until").lte(now))
            .order_by("next_attempt_at", Order::Asc)
            .order_by("id", Order::Asc)
            .limit(limit)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .to_owned();
        let rows: Vec<T> = tx.fetch_all_in_tx(&q).await?;
        if !rows.is_empty() {
            let q = Query::update()
                .table(table)
                .value("claimed_until", now + lease_ms)
                .and_where(Expr::col("id").is_in(rows.iter().map(id)))
                .to_owned();
            tx.execute(&q).await?;
        }
        tx.commit().await?;
        Ok(rows)
    }

    /// Every entry (newest first), for tests and operators.
    ///
    /// # Errors
    /// On database errors.
    pub async fn outbox_entries(&self, limit: u64) -> Result<Vec<OutboxRow>> {
        let q = Query::select().columns(COLUMNS).from("outbox").order_by("id", Order::Desc).limit(limit).to_owned();
        self.fetch_all(&q).await
    }

    /// Checks a one-time link of `kind` and returns its user, without using it up.
    ///
    /// # Errors
    /// On database errors.
    pub async fn staff_token_user(
        &self,
        token_hash: &str,
        kind: &str,
    ) -> Result<std::result::Result<i64, TokenProblem>> {
        self.token_owner(Tokens::Staff, token_hash, kind).await
    }

    /// The owner of a one-time link of `kind` in `tokens`, without using it up.
    pub(crate) async fn token_owner(
        &self,
        tokens: Tokens,
        token_hash: &str,
        kind: &str,
    ) -> Result<std::result::Result<i64, TokenProblem>> {
        let q = Query::select()
            .column("kind")
            .expr_as(Expr::col(tokens.owner()), "user_id")
            .columns(["expires_at", "used_at"])
            .from(tokens.table())
            .and_where(Expr::col("token_hash").eq(token_hash))
            .to_owned();
        Ok(match self.fetch_optional::<TokenRow>(&q).await? {
            Some(t) if t.kind != kind => Err(TokenProblem::Unknown),
            Some(t) if t.used_at.is_some() => Err(TokenProblem::Used),
            Some(t) if t.expires_at <= now_ms() => Err(TokenProblem::Expired),
            Some(t) => Ok(t.user_id),
            None => Err(TokenProblem::Unknown),
        })
    }
}

impl Tx {
    /// Queues an e-mail; it is sent only if this transaction commits.
    ///
    /// # Errors
    /// On database errors.
    pub async fn enqueue_email(&mut self, m: &EmailMessage) -> Result<i64> {
        let payload = serde_json::to_string(m).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let now = now_ms();
        let q = Query::insert()
            .into_table("outbox")
            .columns(["kind", "payload", "next_attempt_at", "created_at"])
            .values_panic(["email".into(), payload.into(), now.into(), now.into()])
            .returning_col("id")
            .to_owned();
        self.insert_id(&q).await
    }

    /// Queues several e-mails with one statement.
    ///
    /// # Errors
    /// On database errors.
    pub async fn enqueue_emails(&mut self, mails: &[EmailMessage]) -> Result<()> {
        if mails.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        let mut q = Query::insert()
            .into_table("outbox")
            .columns(["kind", "payload", "next_attempt_at", "created_at"])
            .to_owned();
        for m in mails {
            let payload = serde_json::to_string(m).map_err(|e| StoreError::Invalid(e.to_string()))?;
            q.values_panic(["email".into(), payload.into(), now.into(), now.into()]);
        }
        self.execute(&q).await?;
        Ok(())
    }

    /// Records a sent e-mail and releases its lease; a sent e-mail is never claimed again.
    ///
    /// # Errors
    /// On database errors.
    pub async fn mark_outbox_done(&mut self, id: i64) -> Result<()> {
        let q = Query::update()
            .table("outbox")
            .value("status", "done")
            .value("done_at", now_ms())
            .value("claimed_until", 0)
            .and_where(Expr::col("id").eq(id))
            .and_where(Expr::col("status").eq(PENDING))
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// Records a failed attempt and releases the lease; schedules the next one or
    /// parks the entry as dead. An entry that is no longer pending (sent meanwhile by
    /// a worker that took it over after this one's lease ran out) stays as it is.
    ///
    /// # Errors
    /// On database errors.
    pub async fn mark_outbox_failed(&mut self, row: &OutboxRow, error: &str, next_attempt_at: i64) -> Result<()> {
        let attempts = row.attempts + 1;
        let status = if attempts >= MAX_ATTEMPTS { "dead" } else { PENDING };
        let q = Query::update()
            .table("outbox")
            .value("status", status)
            .value("attempts", attempts)
            .value("next_attempt_at", next_attempt_at)
            .value("last_error", error.chars().take(500).collect::<String>())
            .value("claimed_until", 0)
            .and_where(Expr::col("id").eq(row.id))
            .and_where(Expr::col("status").eq(PENDING))
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// Removes the content of finished e-mails (review finding 3: the outbox held
    /// addresses, names and manage links in clear text for ever): sent ones whose
    /// `done_at` is at or before `sent_before`, dead ones queued at or before
    /// `dead_before`. Their payload becomes [`REDACTED_PAYLOAD`] and the last error
    /// (SMTP answers often repeat the address) is emptied. Pending entries are
    /// never touched — they still have to be sent. The outbox is not per tenant (an
    /// e-mail carries no authority), so this runs over all of it. Returns how many
    /// entries were redacted now.
    ///
    /// # Errors
    /// On database errors.
    pub async fn redact_outbox(&mut self, sent_before: i64, dead_before: i64) -> Result<u64> {
        let finished = Cond::any()
            .add(Cond::all().add(Expr::col("status").eq("done")).add(Expr::col("done_at").lte(sent_before)))
            .add(Cond::all().add(Expr::col("status").eq("dead")).add(Expr::col("created_at").lte(dead_before)));
        let q = Query::update()
            .table("outbox")
            .value("payload", REDACTED_PAYLOAD)
            .value("last_error", "")
            .and_where(Expr::col("kind").eq("email"))
            .and_where(Expr::col("payload").ne(REDACTED_PAYLOAD))
            .cond_where(finished)
            .to_owned();
        self.execute(&q).await
    }

    /// Stores a one-time link (`invite` or `reset`) for a staff member.
    ///
    /// # Errors
    /// On database errors.
    pub async fn insert_staff_token(
        &mut self,
        token_hash: &str,
        kind: &str,
        user_id: i64,
        expires_at: i64,
    ) -> Result<()> {
        self.insert_token(Tokens::Staff, token_hash, kind, user_id, expires_at).await
    }

    /// Uses up a one-time link; false when it was used, expired or unknown meanwhile.
    ///
    /// # Errors
    /// On database errors.
    pub async fn use_staff_token(&mut self, token_hash: &str, kind: &str) -> Result<bool> {
        self.use_token(Tokens::Staff, token_hash, kind).await
    }

    pub(crate) async fn insert_token(
        &mut self,
        tokens: Tokens,
        token_hash: &str,
        kind: &str,
        owner: i64,
        expires_at: i64,
    ) -> Result<()> {
        let q = Query::insert()
            .into_table(tokens.table())
            .columns(["token_hash", "kind", tokens.owner(), "expires_at"])
            .values_panic([token_hash.into(), kind.into(), owner.into(), expires_at.into()])
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    pub(crate) async fn use_token(&mut self, tokens: Tokens, token_hash: &str, kind: &str) -> Result<bool> {
        let q = Query::update()
            .table(tokens.table())
            .value("used_at", now_ms())
            .and_where(Expr::col("token_hash").eq(token_hash))
            .and_where(Expr::col("kind").eq(kind))
            .and_where(Expr::col("used_at").is_null())
            .and_where(Expr::col("expires_at").gt(now_ms()))
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }
}

/// The two tables of one-time links (hash only, kind, owner, expiry, use).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Tokens {
    Staff,
    Citizen,
}

impl Tokens {
    fn table(self) -> &'static str {
        match self {
            Self::Staff => "staff_tokens",
            Self::Citizen => "citizen_tokens",
        }
    }

    fn owner(self) -> &'static str {
        match self {
            Self::Staff => "user_id",
            Self::Citizen => "citizen_id",
        }
    }
}
