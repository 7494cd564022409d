//! Citizen accounts: looking them up, creating one with a local password, confirming
//! the e-mail address, changing the password and the second factor, and the
//! one-time links (confirmation, password reset) that belong to an account.

use super::CountRow;
use crate::db::{Store, Tx};
use crate::outbox::{TokenProblem, Tokens};
use crate::{Result, now_ms};
use sea_query::{Expr, ExprTrait, Query};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Citizen {
    pub id: i64,
    pub email: Option<String>,
    pub email_verified: bool,
    #[serde(skip)]
    pub password_hash: Option<String>,
    #[serde(skip)]
    pub totp_secret: Option<String>,
    pub disabled: bool,
    pub created_at: i64,
}

const CITIZEN_COLUMNS: [&str; 7] =
    ["id", "email", "email_verified", "password_hash", "totp_secret", "disabled", "created_at"];

impl Store {
    /// # Errors
    /// On database errors.
    pub async fn citizen_by_email(&self, email: &str) -> Result<Option<Citizen>> {
        let q = Query::select()
            .columns(CITIZEN_COLUMNS)
            .from("citizens")
            .and_where(Expr::col("email").eq(email.trim().to_lowercase()))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// # Errors
    /// On database errors.
    pub async fn citizen_by_id(&self, id: i64) -> Result<Option<Citizen>> {
        let q = Query::select().columns(CITIZEN_COLUMNS).from("citizens").and_where(Expr::col("id").eq(id)).to_owned();
        self.fetch_optional(&q).await
    }

    /// Checks a one-time link of `kind` and returns its citizen, without using it up.
    ///
    /// # Errors
    /// On database errors.
    pub async fn citizen_token(&self, token_hash: &str, kind: &str) -> Result<std::result::Result<i64, TokenProblem>> {
        self.token_owner(Tokens::Citizen, token_hash, kind).await
    }
}

impl Tx {
    /// Creates an account with a local password (e-mail not yet confirmed).
    /// Returns `None` when the address already has an account.
    ///
    /// # Errors
    /// On database errors.
    pub async fn insert_citizen(&mut self, email: &str, password_hash: &str) -> Result<Option<i64>> {
        let q = Query::select()
            .expr_as(Expr::col("id"), "n")
            .from("citizens")
            .and_where(Expr::col("email").eq(email))
            .to_owned();
        if self.fetch_optional_in_tx::<CountRow>(&q).await?.is_some() {
            return Ok(None);
        }
        let now = now_ms();
        let q = Query::insert()
            .into_table("citizens")
            .columns(["email", "email_verified", "password_hash", "password_changed_at", "created_at"])
            .values_panic([email.into(), false.into(), password_hash.into(), now.into(), now.into()])
            .returning_col("id")
            .to_owned();
        Ok(Some(self.insert_id(&q).await?))
    }

    /// # Errors
    /// On database errors.
    pub async fn mark_email_verified(&mut self, citizen_id: i64) -> Result<()> {
        let q = Query::update()
            .table("citizens")
            .value("email_verified", true)
            .and_where(Expr::col("id").eq(citizen_id))
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// # Errors
    /// On database errors.
    pub async fn set_citizen_password(&mut self, citizen_id: i64, password_hash: &str) -> Result<()> {
        let q = Query::update()
            .table("citizens")
            .value("password_hash", password_hash)
            .value("password_changed_at", now_ms())
            .and_where(Expr::col("id").eq(citizen_id))
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// # Errors
    /// On database errors.
    pub async fn set_citizen_totp(&mut self, citizen_id: i64, secret: Option<&str>) -> Result<()> {
        let q = Query::update()
            .table("citizens")
            .value("totp_secret", secret)
            .and_where(Expr::col("id").eq(citizen_id))
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// # Errors
    /// On database errors.
    pub async fn insert_citizen_token(
        &mut self,
        token_hash: &str,
        kind: &str,
        citizen_id: i64,
        expires_at: i64,
    ) -> Result<()> {
        self.insert_token(Tokens::Citizen, token_hash, kind, citizen_id, expires_at).await
    }

    /// Uses up a one-time link; false when it was used, expired or unknown meanwhile.
    ///
    /// # Errors
    /// On database errors.
    pub async fn use_citizen_token(&mut self, token_hash: &str, kind: &str) -> Result<bool> {
        self.use_token(Tokens::Citizen, token_hash, kind).await
    }
}
