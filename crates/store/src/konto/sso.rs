//! Single-sign-on codes: one-time, short-lived codes that carry a sign-in from the
//! portal to another member host of the Verbund.

use crate::db::Tx;
use crate::{Result, now_ms};
use sea_query::{Expr, ExprTrait, Query};

/// What a single-sign-on code carries to another host.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SsoGrant {
    pub citizen_id: i64,
    pub trust_level: String,
    pub auth_method: String,
    pub host: String,
    pub expires_at: i64,
    /// SHA-256 of the member host's cookie that asked for the code.
    pub browser_hash: String,
}

impl Tx {
    /// Issues a one-time single-sign-on code for `host` (stored as its hash).
    ///
    /// # Errors
    /// On database errors.
    pub async fn insert_sso_code(&mut self, code_hash: &str, grant: &SsoGrant) -> Result<()> {
        let q = Query::insert()
            .into_table("sso_codes")
            .columns(["code_hash", "citizen_id", "trust_level", "auth_method", "host", "expires_at", "browser_hash"])
            .values_panic([
                code_hash.into(),
                grant.citizen_id.into(),
                grant.trust_level.clone().into(),
                grant.auth_method.clone().into(),
                grant.host.clone().into(),
                grant.expires_at.into(),
                grant.browser_hash.clone().into(),
            ])
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }

    /// Redeems a single-sign-on code for `host`: valid once, within its minute, on
    /// the host it was issued for.
    ///
    /// # Errors
    /// On database errors.
    pub async fn take_sso_code(&mut self, code_hash: &str, host: &str) -> Result<Option<SsoGrant>> {
        let q = Query::select()
            .columns(["citizen_id", "trust_level", "auth_method", "host", "expires_at", "browser_hash"])
            .from("sso_codes")
            .and_where(Expr::col("code_hash").eq(code_hash))
            .to_owned();
        let grant = self.fetch_optional_in_tx::<SsoGrant>(&q).await?;
        let q = Query::delete()
            .from_table("sso_codes")
            .and_where(Expr::col("code_hash").eq(code_hash).or(Expr::col("expires_at").lt(now_ms())))
            .to_owned();
        self.execute(&q).await?;
        Ok(grant.filter(|g| g.host == host && g.expires_at > now_ms()))
    }
}
