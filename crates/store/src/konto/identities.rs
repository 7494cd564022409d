//! Sign-in at ID providers: identities (OIDC/SAML subjects) linked to accounts,
//! the account created on a first sign-in, sign-ins in flight (auth requests) and
//! the cache of seen SAML assertion ids that refuses replays.

use super::CountRow;
use crate::db::{Store, Tx};
use crate::{Result, now_ms};
use amtsweg_domain::TrustLevel;
use sea_query::{Expr, ExprTrait, OnConflict, Query};
use serde::Serialize;

/// An identity at an ID provider linked to an account.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct LinkedIdentity {
    pub provider: String,
    pub subject: String,
    pub citizen_id: i64,
    pub trust_level: String,
    pub linked_at: i64,
    pub last_login_at: i64,
}

impl Store {
    /// The identity an ID provider vouches for, if linked to an account.
    ///
    /// # Errors
    /// On database errors.
    pub async fn identity(&self, provider: &str, subject: &str) -> Result<Option<LinkedIdentity>> {
        let q = Query::select()
            .columns(["provider", "subject", "citizen_id", "trust_level", "linked_at", "last_login_at"])
            .from("citizen_identities")
            .and_where(Expr::col("provider").eq(provider))
            .and_where(Expr::col("subject").eq(subject))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// Every identity linked to an account.
    ///
    /// # Errors
    /// On database errors.
    pub async fn identities_of(&self, citizen_id: i64) -> Result<Vec<LinkedIdentity>> {
        let q = Query::select()
            .columns(["provider", "subject", "citizen_id", "trust_level", "linked_at", "last_login_at"])
            .from("citizen_identities")
            .and_where(Expr::col("citizen_id").eq(citizen_id))
            .to_owned();
        self.fetch_all(&q).await
    }
}

impl Tx {
    /// Creates an account for a person who signed in at an ID provider for the first
    /// time, linked to that identity.
    ///
    /// # Errors
    /// On database errors.
    pub async fn insert_citizen_for_identity(
        &mut self,
        provider: &str,
        subject: &str,
        trust: TrustLevel,
    ) -> Result<i64> {
        let now = now_ms();
        let q = Query::insert()
            .into_table("citizens")
            .columns(["email_verified", "password_changed_at", "created_at"])
            .values_panic([false.into(), now.into(), now.into()])
            .returning_col("id")
            .to_owned();
        let id = self.insert_id(&q).await?;
        self.link_identity(id, provider, subject, trust).await?;
        Ok(id)
    }

    /// Links an identity to an account. An identity already linked to another
    /// account is refused (`false`): one person never gets two accounts by accident.
    ///
    /// # Errors
    /// On database errors.
    pub async fn link_identity(
        &mut self,
        citizen_id: i64,
        provider: &str,
        subject: &str,
        trust: TrustLevel,
    ) -> Result<bool> {
        let q = Query::select()
            .expr_as(Expr::col("citizen_id"), "n")
            .from("citizen_identities")
            .and_where(Expr::col("provider").eq(provider))
            .and_where(Expr::col("subject").eq(subject))
            .to_owned();
        let now = now_ms();
        match self.fetch_optional_in_tx::<CountRow>(&q).await? {
            Some(r) if r.n != citizen_id => Ok(false),
            Some(_) => {
                let q = Query::update()
                    .table("citizen_identities")
                    .value("trust_level", trust.as_str())
                    .value("last_login_at", now)
                    .and_where(Expr::col("provider").eq(provider))
                    .and_where(Expr::col("subject").eq(subject))
                    .to_owned();
                self.execute(&q).await?;
                Ok(true)
            }
            None => {
                let q = Query::insert()
                    .into_table("citizen_identities")
                    .columns(["provider", "subject", "citizen_id", "trust_level", "linked_at", "last_login_at"])
                    .values_panic([
                        provider.into(),
                        subject.into(),
                        citizen_id.into(),
                        trust.as_str().into(),
                        now.into(),
                        now.into(),
                    ])
                    .to_owned();
                self.execute(&q).await?;
                Ok(true)
            }
        }
    }
}

/// A sign-in at an ID provider in flight.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuthRequest {
    pub id_hash: String,
    pub provider: String,
    pub browser_hash: String,
    pub nonce: String,
    pub verifier: String,
    pub return_to: String,
    pub link_citizen_id: Option<i64>,
    pub needed_trust: String,
    pub created_at: i64,
    pub expires_at: i64,
}

const AUTH_REQUEST_COLUMNS: [&str; 10] = [
    "id_hash",
    "provider",
    "browser_hash",
    "nonce",
    "verifier",
    "return_to",
    "link_citizen_id",
    "needed_trust",
    "created_at",
    "expires_at",
];

impl Tx {
    /// # Errors
    /// On database errors.
    pub async fn insert_auth_request(&mut self, r: &AuthRequest) -> Result<()> {
        let q = Query::insert()
            .into_table("auth_requests")
            .columns(AUTH_REQUEST_COLUMNS)
            .values_panic([
                r.id_hash.clone().into(),
                r.provider.clone().into(),
                r.browser_hash.clone().into(),
                r.nonce.clone().into(),
                r.verifier.clone().into(),
                r.return_to.clone().into(),
                r.link_citizen_id.into(),
                r.needed_trust.clone().into(),
                r.created_at.into(),
                r.expires_at.into(),
            ])
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// Takes a sign-in in flight out (one-time): `None` when unknown, expired or
    /// already used. Expired requests are cleared on the way.
    ///
    /// # Errors
    /// On database errors.
    pub async fn take_auth_request(&mut self, id_hash: &str) -> Result<Option<AuthRequest>> {
        let q = Query::select()
            .columns(AUTH_REQUEST_COLUMNS)
            .from("auth_requests")
            .and_where(Expr::col("id_hash").eq(id_hash))
            .to_owned();
        let found = self.fetch_optional_in_tx::<AuthRequest>(&q).await?;
        let q = Query::delete()
            .from_table("auth_requests")
            .and_where(Expr::col("id_hash").eq(id_hash).or(Expr::col("expires_at").lt(now_ms())))
            .to_owned();
        self.execute(&q).await?;
        Ok(found.filter(|r| r.expires_at > now_ms()))
    }

    /// Remembers an assertion id until it expires; `false` when it was seen before
    /// (a replay).
    ///
    /// # Errors
    /// On database errors.
    pub async fn remember_assertion(&mut self, assertion_id: &str, expires_at: i64) -> Result<bool> {
        let q = Query::delete().from_table("saml_replay").and_where(Expr::col("expires_at").lt(now_ms())).to_owned();
        self.execute(&q).await?;
        let q = Query::insert()
            .into_table("saml_replay")
            .columns(["assertion_id", "expires_at"])
            .values_panic([assertion_id.into(), expires_at.into()])
            .on_conflict(OnConflict::column("assertion_id").do_nothing().to_owned())
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }
}
