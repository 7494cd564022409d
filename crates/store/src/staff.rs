//! Staff accounts, role grants, sessions, login throttling and the audit log.

use crate::db::{Store, Tx};
use crate::{Result, StoreError};
use amtsweg_domain::staff::{Grant, Role};
use sea_query::{Expr, ExprTrait, Order, Query};
use serde::Serialize;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaffUser {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub totp_secret: Option<String>,
    pub password_changed_at: i64,
    pub disabled: bool,
}

const STAFF_COLUMNS: [&str; 7] =
    ["id", "email", "display_name", "password_hash", "totp_secret", "password_changed_at", "disabled"];

#[derive(Debug, sqlx::FromRow)]
struct GrantRow {
    role: String,
    authority_id: Option<i64>,
    org_unit_id: Option<i64>,
}

/// A signed-in browser. `kind` is `staff` (later also `citizen`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRecord {
    pub id_hash: String,
    pub kind: String,
    pub subject_id: i64,
    pub csrf_token: String,
    pub second_factor_done: bool,
    pub pending_totp_secret: Option<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    /// How well the person was identified (citizen sessions; staff: "normal").
    pub trust_level: String,
    /// How: "password", "bundid", "oidc:<name>".
    pub auth_method: String,
}

const SESSION_COLUMNS: [&str; 11] = [
    "id_hash",
    "kind",
    "subject_id",
    "csrf_token",
    "second_factor_done",
    "pending_totp_secret",
    "created_at",
    "last_seen_at",
    "expires_at",
    "trust_level",
    "auth_method",
];

/// One row of the audit log as stored.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AuditRecord {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub authority_id: Option<i64>,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub prev_hash: String,
    pub hash: String,
}

const AUDIT_COLUMNS: [&str; 9] =
    ["id", "at", "actor", "authority_id", "action", "target", "outcome", "prev_hash", "hash"];

#[derive(Debug, sqlx::FromRow)]
struct CountRow {
    n: i64,
}

pub use crate::audit_log::ChainCheck;

/// E-mail addresses are compared case-insensitively.
#[must_use]
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

impl Store {
    /// # Errors
    /// On database errors.
    pub async fn staff_by_email(&self, email: &str) -> Result<Option<StaffUser>> {
        let q = Query::select()
            .columns(STAFF_COLUMNS)
            .from("staff_users")
            .and_where(Expr::col("email").eq(normalize_email(email)))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// # Errors
    /// On database errors.
    pub async fn staff_by_id(&self, id: i64) -> Result<Option<StaffUser>> {
        let q = Query::select().columns(STAFF_COLUMNS).from("staff_users").and_where(Expr::col("id").eq(id)).to_owned();
        self.fetch_optional(&q).await
    }

    /// # Errors
    /// On database errors or an unknown stored role.
    pub async fn grants_of(&self, user_id: i64) -> Result<Vec<Grant>> {
        let q = Query::select()
            .columns(["role", "authority_id", "org_unit_id"])
            .from("staff_roles")
            .and_where(Expr::col("user_id").eq(user_id))
            .order_by("id", Order::Asc)
            .to_owned();
        self.fetch_all::<GrantRow>(&q)
            .await?
            .into_iter()
            .map(|g| {
                Ok(Grant { role: Role::parse(&g.role)?, authority_id: g.authority_id, org_unit_id: g.org_unit_id })
            })
            .collect()
    }

    /// # Errors
    /// On database errors.
    pub async fn staff_count(&self) -> Result<i64> {
        let q = Query::select().expr_as(Expr::col("id").count(), "n").from("staff_users").to_owned();
        Ok(self.fetch_optional::<CountRow>(&q).await?.map_or(0, |r| r.n))
    }

    /// # Errors
    /// On database errors.
    pub async fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>> {
        let q = Query::select()
            .columns(SESSION_COLUMNS)
            .from("sessions")
            .and_where(Expr::col("id_hash").eq(id_hash))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// Failed sign-ins for an account key since `since_ms`.
    ///
    /// # Errors
    /// On database errors.
    pub async fn login_failures_since(&self, account_key: &str, since_ms: i64) -> Result<i64> {
        let q = Query::select()
            .expr_as(Expr::col("id").count(), "n")
            .from("login_failures")
            .and_where(Expr::col("account_key").eq(account_key))
            .and_where(Expr::col("at").gte(since_ms))
            .to_owned();
        Ok(self.fetch_optional::<CountRow>(&q).await?.map_or(0, |r| r.n))
    }

    /// The newest audit entries, optionally only those of some authorities.
    ///
    /// # Errors
    /// On database errors.
    pub async fn audit_entries(&self, authorities: Option<&[i64]>, limit: u64) -> Result<Vec<AuditRecord>> {
        let mut q = Query::select();
        q.columns(AUDIT_COLUMNS).from("audit_log").order_by("id", Order::Desc).limit(limit);
        if let Some(ids) = authorities {
            q.and_where(Expr::col("authority_id").is_in(ids.iter().copied()));
        }
        self.fetch_all(&q).await
    }
}

/// A new staff member; the password is already hashed (Argon2id) by the caller.
#[derive(Debug, Clone)]
pub struct NewStaff {
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub totp_secret: Option<String>,
}

impl Tx {
    /// # Errors
    /// On database errors, e.g. the e-mail address is taken.
    pub async fn insert_staff(&mut self, s: &NewStaff) -> Result<i64> {
        let now = crate::now_ms();
        let q = Query::insert()
            .into_table("staff_users")
            .columns(["email", "display_name", "password_hash", "totp_secret", "password_changed_at", "created_at"])
            .values_panic([
                normalize_email(&s.email).into(),
                s.display_name.clone().into(),
                s.password_hash.clone().into(),
                s.totp_secret.clone().into(),
                now.into(),
                now.into(),
            ])
            .returning_col("id")
            .to_owned();
        self.insert_id(&q).await
    }

    /// # Errors
    /// On database errors, or a non-Verbund role without authority.
    pub async fn grant_role(&mut self, user_id: i64, g: &Grant) -> Result<()> {
        if g.role != Role::VerbundAdmin && g.authority_id.is_none() {
            return Err(StoreError::Invalid("only the Verbund administrator role spans all authorities".into()));
        }
        let q = Query::insert()
            .into_table("staff_roles")
            .columns(["user_id", "role", "authority_id", "org_unit_id"])
            .values_panic([user_id.into(), g.role.as_str().into(), g.authority_id.into(), g.org_unit_id.into()])
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// # Errors
    /// On database errors.
    pub async fn set_totp_secret(&mut self, user_id: i64, secret: Option<&str>) -> Result<()> {
        let q = Query::update()
            .table("staff_users")
            .value("totp_secret", secret.map(str::to_owned))
            .and_where(Expr::col("id").eq(user_id))
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// Sets a new password hash and ends every session of the user.
    ///
    /// # Errors
    /// On database errors.
    pub async fn set_staff_password(&mut self, user_id: i64, password_hash: &str) -> Result<()> {
        let q = Query::update()
            .table("staff_users")
            .value("password_hash", password_hash)
            .value("password_changed_at", crate::now_ms())
            .and_where(Expr::col("id").eq(user_id))
            .to_owned();
        self.execute(&q).await?;
        self.delete_sessions_of("staff", user_id).await?;
        Ok(())
    }

    /// # Errors
    /// On database errors.
    pub async fn insert_session(&mut self, s: &SessionRecord) -> Result<()> {
        let q = Query::insert()
            .into_table("sessions")
            .columns(SESSION_COLUMNS)
            .values_panic([
                s.id_hash.clone().into(),
                s.kind.clone().into(),
                s.subject_id.into(),
                s.csrf_token.clone().into(),
                s.second_factor_done.into(),
                s.pending_totp_secret.clone().into(),
                s.created_at.into(),
                s.last_seen_at.into(),
                s.expires_at.into(),
                s.trust_level.clone().into(),
                s.auth_method.clone().into(),
            ])
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// Records activity (for the idle timeout).
    ///
    /// # Errors
    /// On database errors.
    pub async fn touch_session(&mut self, id_hash: &str, now: i64) -> Result<()> {
        let q = Query::update()
            .table("sessions")
            .value("last_seen_at", now)
            .and_where(Expr::col("id_hash").eq(id_hash))
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// # Errors
    /// On database errors.
    pub async fn mark_second_factor_done(&mut self, id_hash: &str) -> Result<()> {
        let q = Query::update()
            .table("sessions")
            .value("second_factor_done", true)
            .and_where(Expr::col("id_hash").eq(id_hash))
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// Remembers (or forgets) a second-factor secret being enrolled in this session.
    ///
    /// # Errors
    /// On database errors.
    pub async fn set_pending_totp(&mut self, id_hash: &str, secret: Option<&str>) -> Result<()> {
        let q = Query::update()
            .table("sessions")
            .value("pending_totp_secret", secret.map(str::to_owned))
            .and_where(Expr::col("id_hash").eq(id_hash))
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// # Errors
    /// On database errors.
    pub async fn delete_session(&mut self, id_hash: &str) -> Result<()> {
        let q = Query::delete().from_table("sessions").and_where(Expr::col("id_hash").eq(id_hash)).to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// Ends every session of a subject ("log out everywhere"); returns how many.
    ///
    /// # Errors
    /// On database errors.
    pub async fn delete_sessions_of(&mut self, kind: &str, subject_id: i64) -> Result<u64> {
        let q = Query::delete()
            .from_table("sessions")
            .and_where(Expr::col("kind").eq(kind))
            .and_where(Expr::col("subject_id").eq(subject_id))
            .to_owned();
        self.execute(&q).await
    }

    /// # Errors
    /// On database errors.
    pub async fn record_login_failure(&mut self, account_key: &str, at: i64) -> Result<()> {
        let q = Query::insert()
            .into_table("login_failures")
            .columns(["account_key", "at"])
            .values_panic([account_key.into(), at.into()])
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// Forgets failures (and counted mails) older than `before_ms` (housekeeping);
    /// returns how many.
    ///
    /// # Errors
    /// On database errors.
    pub async fn prune_login_failures(&mut self, before_ms: i64) -> Result<u64> {
        let q = Query::delete().from_table("login_failures").and_where(Expr::col("at").lt(before_ms)).to_owned();
        self.execute(&q).await
    }
}

impl Tx {
    /// Sends the session back through the second-factor step (used to enrol a second
    /// factor voluntarily).
    ///
    /// # Errors
    /// On database errors.
    pub async fn require_second_factor_again(&mut self, id_hash: &str) -> Result<()> {
        let q = Query::update()
            .table("sessions")
            .value("second_factor_done", false)
            .and_where(Expr::col("id_hash").eq(id_hash))
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }
}
