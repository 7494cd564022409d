//! Storage of the TOTP second factor beyond the secret columns themselves: the last
//! accepted time step per account (a code is accepted once), and the sweep over
//! every stored secret that seals those written in clear by older versions.

use crate::Result;
use crate::db::{Store, Tx};
use sea_query::{Expr, ExprTrait, Query};

/// Where a TOTP secret is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TotpHolder {
    /// `staff_users.totp_secret`.
    Staff(i64),
    /// `citizens.totp_secret`.
    Citizen(i64),
    /// `sessions.pending_totp_secret` (being enrolled), by the session's id hash.
    Enrolment(String),
}

impl TotpHolder {
    fn place(&self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::Staff(_) => ("staff_users", "id", "totp_secret"),
            Self::Citizen(_) => ("citizens", "id", "totp_secret"),
            Self::Enrolment(_) => ("sessions", "id_hash", "pending_totp_secret"),
        }
    }

    fn key(&self) -> sea_query::Value {
        match self {
            Self::Staff(id) | Self::Citizen(id) => (*id).into(),
            Self::Enrolment(h) => h.clone().into(),
        }
    }
}

/// A stored secret and where it is.
#[derive(Debug, Clone)]
pub struct StoredSecret {
    pub holder: TotpHolder,
    pub value: String,
}

#[derive(Debug, sqlx::FromRow)]
struct IdSecret {
    id: i64,
    secret: String,
}

#[derive(Debug, sqlx::FromRow)]
struct HashSecret {
    id_hash: String,
    secret: String,
}

impl Store {
    /// Every stored TOTP secret (accounts and enrolments in progress).
    ///
    /// # Errors
    /// On database errors.
    pub async fn totp_secrets(&self) -> Result<Vec<StoredSecret>> {
        let mut out = Vec::new();
        for (table, staff) in [("staff_users", true), ("citizens", false)] {
            let q = Query::select()
                .column("id")
                .expr_as(Expr::col("totp_secret"), "secret")
                .from(table)
                .and_where(Expr::col("totp_secret").is_not_null())
                .to_owned();
            for r in self.fetch_all::<IdSecret>(&q).await? {
                let holder = if staff { TotpHolder::Staff(r.id) } else { TotpHolder::Citizen(r.id) };
                out.push(StoredSecret { holder, value: r.secret });
            }
        }
        let q = Query::select()
            .column("id_hash")
            .expr_as(Expr::col("pending_totp_secret"), "secret")
            .from("sessions")
            .and_where(Expr::col("pending_totp_secret").is_not_null())
            .to_owned();
        for r in self.fetch_all::<HashSecret>(&q).await? {
            out.push(StoredSecret { holder: TotpHolder::Enrolment(r.id_hash), value: r.secret });
        }
        Ok(out)
    }
}

impl Tx {
    /// Replaces a stored secret if it is still `old` (another node may have sealed
    /// it meanwhile). Returns whether it was replaced.
    ///
    /// # Errors
    /// On database errors.
    pub async fn replace_totp_secret(&mut self, holder: &TotpHolder, old: &str, new: &str) -> Result<bool> {
        let (table, key, column) = holder.place();
        let q = Query::update()
            .table(table)
            .value(column, new)
            .and_where(Expr::col(key).eq(holder.key()))
            .and_where(Expr::col(column).eq(old))
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }

    /// Accepts TOTP time step `step` for an account once: true when it is later than
    /// every step accepted before (and is now the last one), false for a code of
    /// that step or an earlier one — a replay. One conditional update, so two
    /// requests with the same code cannot both pass.
    ///
    /// # Errors
    /// On database errors; `Invalid` for an enrolment holder (it has no account yet).
    pub async fn claim_totp_step(&mut self, holder: &TotpHolder, step: i64) -> Result<bool> {
        if matches!(holder, TotpHolder::Enrolment(_)) {
            return Err(crate::StoreError::Invalid("an enrolment has no account to claim a step for".into()));
        }
        let (table, key, _) = holder.place();
        let q = Query::update()
            .table(table)
            .value("totp_last_step", step)
            .and_where(Expr::col(key).eq(holder.key()))
            .and_where(Expr::col("totp_last_step").lt(step))
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }
}
