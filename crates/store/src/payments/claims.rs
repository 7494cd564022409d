//! Claims of the finance software (Forderungen), their notices, the finance
//! accounts they belong to, and the activation codes that link a citizen.
//!
//! The finance software is the master of a claim: it sends the claim again whenever
//! it changes, and an item sent unchanged (the same payload hash) changes nothing —
//! not even `synced_at`, since the portal's own bookings after the last real sync
//! are subtracted from the open amount it shows. A finance account is linked to a
//! citizen only by a one-time activation code the authority sends by letter;
//! nothing is ever linked by name.

use super::{
    BOOKING_COLUMNS, BookingRow, CLAIM_COLUMNS, CLAIM_DOCUMENT_COLUMNS, ClaimDocumentRow, ClaimRow,
    FINANCE_ACCOUNT_COLUMNS, FinanceAccountRow,
};
use crate::db::{Store, Tx};
use crate::{Result, now_ms};
use sea_query::{Expr, ExprTrait, LockType, OnConflict, Order, Query};

/// A claim to store or update.
#[derive(Debug, Clone)]
pub struct NewClaim<'a> {
    pub authority_id: i64,
    pub finance_account_id: i64,
    pub kassenzeichen: &'a str,
    /// YYYY-MM-DD.
    pub due_on: &'a str,
    pub kind: &'a str,
    /// Sealed.
    pub title: &'a str,
    pub rf_reference: &'a str,
    /// `api`, `csv`.
    pub source: &'a str,
    pub payload_hash: &'a str,
    pub amount_cents: i64,
    pub open_cents: i64,
    pub state: &'a str,
    pub dunning_level: i64,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created(i64),
    Updated(i64),
    Unchanged(i64),
}

impl Upserted {
    /// The claim's id.
    #[must_use]
    pub fn id(self) -> i64 {
        match self {
            Self::Created(id) | Self::Updated(id) | Self::Unchanged(id) => id,
        }
    }

    /// `created`, `updated`, `unchanged` (as the API answers).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created(_) => "created",
            Self::Updated(_) => "updated",
            Self::Unchanged(_) => "unchanged",
        }
    }
}

/// What using an activation code did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivationUse {
    Linked {
        authority_id: i64,
        finance_account_id: i64,
    },
    Unknown,
    Used,
    Expired,
    /// The account is linked to another citizen already.
    LinkedElsewhere,
}

/// An activation code as stored (its hash only).
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct ActivationCodeRow {
    pub id: i64,
    pub authority_id: i64,
    pub finance_account_id: i64,
    pub code_hash: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub used_by: Option<i64>,
    pub created_by: String,
    pub created_at: i64,
}

pub const ACTIVATION_CODE_COLUMNS: [&str; 9] = [
    "id",
    "authority_id",
    "finance_account_id",
    "code_hash",
    "expires_at",
    "used_at",
    "used_by",
    "created_by",
    "created_at",
];

impl Tx {
    /// The authority's finance account `account_ref`, created when new.
    ///
    /// # Errors
    /// On database errors.
    pub async fn upsert_finance_account(&mut self, authority_id: i64, account_ref: &str) -> Result<i64> {
        // DO UPDATE (to the same value) rather than DO NOTHING: RETURNING then gives the
        // existing row's id on both backends.
        let q = Query::insert()
            .into_table("finance_accounts")
            .columns(["authority_id", "account_ref", "created_at"])
            .values_panic([authority_id.into(), account_ref.into(), now_ms().into()])
            .on_conflict(OnConflict::columns(["authority_id", "account_ref"]).update_column("account_ref").to_owned())
            .returning_col("id")
            .to_owned();
        self.insert_id(&q).await
    }

    /// Stores or updates a claim (by authority, Kassenzeichen and due date). The same
    /// payload hash as stored changes nothing (`Unchanged`); a new one replaces
    /// every field and sets `synced_at` and the watermark of the bookings the new
    /// open amount already holds.
    ///
    /// # Errors
    /// On database errors.
    pub async fn upsert_claim(&mut self, c: &NewClaim<'_>) -> Result<Upserted> {
        self.upsert_claim_as_of(c, None).await
    }

    /// [`upsert_claim`](Self::upsert_claim) of a resend whose figures include the
    /// authority's finance feed up to `payments_upto` (the last sequence the finance
    /// software had read): the watermark is then the highest booking of the claim
    /// within that position, so a booking it had not read yet stays subtracted from
    /// the open amount shown. `None`: every booking so far counts as included.
    ///
    /// # Errors
    /// On database errors.
    pub async fn upsert_claim_as_of(&mut self, c: &NewClaim<'_>, payments_upto: Option<i64>) -> Result<Upserted> {
        let q = Query::select()
            .columns(CLAIM_COLUMNS)
            .from("claims")
            .and_where(Expr::col("authority_id").eq(c.authority_id))
            .and_where(Expr::col("kassenzeichen").eq(c.kassenzeichen))
            .and_where(Expr::col("due_on").eq(c.due_on))
            .lock(LockType::Update)
            .to_owned();
        let now = now_ms();
        if let Some(old) = self.fetch_optional_in_tx::<ClaimRow>(&q).await? {
            if old.payload_hash == c.payload_hash {
                return Ok(Upserted::Unchanged(old.id));
            }
            let mut watermark = Query::select()
                .expr(Expr::cust("COALESCE(MAX(id), 0)"))
                .from("payment_bookings")
                .and_where(Expr::col("claim_id").eq(old.id))
                .to_owned();
            if let Some(upto) = payments_upto {
                watermark.and_where(Expr::col("feed_seq").lte(upto));
            }
            let q = Query::update()
                .table("claims")
                .value("finance_account_id", c.finance_account_id)
                .value("synced_booking_id", Expr::SubQuery(None, Box::new(watermark.into())))
                .value("kind", c.kind)
                .value("title", c.title)
                .value("amount_cents", c.amount_cents)
                .value("open_cents", c.open_cents)
                .value("state", c.state)
                .value("dunning_level", c.dunning_level)
                .value("rf_reference", c.rf_reference)
                .value("source", c.source)
                .value("payload_hash", c.payload_hash)
                .value("synced_at", now)
                .value("updated_at", now)
                .and_where(Expr::col("id").eq(old.id))
                .to_owned();
            self.execute(&q).await?;
            return Ok(Upserted::Updated(old.id));
        }
        let q = Query::insert()
            .into_table("claims")
            .columns([
                "authority_id",
                "finance_account_id",
                "kassenzeichen",
                "due_on",
                "kind",
                "title",
                "amount_cents",
                "open_cents",
                "state",
                "dunning_level",
                "rf_reference",
                "source",
                "payload_hash",
                "synced_at",
                "created_at",
                "updated_at",
            ])
            .values_panic([
                c.authority_id.into(),
                c.finance_account_id.into(),
                c.kassenzeichen.into(),
                c.due_on.into(),
                c.kind.into(),
                c.title.into(),
                c.amount_cents.into(),
                c.open_cents.into(),
                c.state.into(),
                c.dunning_level.into(),
                c.rf_reference.into(),
                c.source.into(),
                c.payload_hash.into(),
                now.into(),
                now.into(),
                now.into(),
            ])
            .returning_col("id")
            .to_owned();
        Ok(Upserted::Created(self.insert_id(&q).await?))
    }

    /// Attaches a notice to a claim; false when it is attached already (the same
    /// content, by its SHA-256).
    ///
    /// # Errors
    /// On database errors.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_claim_document(
        &mut self,
        claim_id: i64,
        authority_id: i64,
        title: &str,
        file_name: &str,
        object_key: &str,
        size: i64,
        sha256: &str,
    ) -> Result<bool> {
        let q = Query::insert()
            .into_table("claim_documents")
            .columns(["claim_id", "authority_id", "title", "file_name", "object_key", "size", "sha256", "created_at"])
            .values_panic([
                claim_id.into(),
                authority_id.into(),
                title.into(),
                file_name.into(),
                object_key.into(),
                size.into(),
                sha256.into(),
                now_ms().into(),
            ])
            .on_conflict(OnConflict::columns(["claim_id", "sha256"]).do_nothing().to_owned())
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }

    /// Stores an activation code (its hash) for a finance account of the authority.
    ///
    /// # Errors
    /// On database errors (an account of another authority is refused).
    pub async fn insert_activation_code(
        &mut self,
        authority_id: i64,
        account_id: i64,
        code_hash: &str,
        expires_at: i64,
        actor: &str,
    ) -> Result<i64> {
        let q = Query::select()
            .column("id")
            .from("finance_accounts")
            .and_where(Expr::col("id").eq(account_id))
            .and_where(Expr::col("authority_id").eq(authority_id))
            .to_owned();
        if self.fetch_optional_in_tx::<IdRow>(&q).await?.is_none() {
            return Err(crate::StoreError::Invalid(format!(
                "no finance account {account_id} of authority {authority_id}"
            )));
        }
        let q = Query::insert()
            .into_table("activation_codes")
            .columns(["authority_id", "finance_account_id", "code_hash", "expires_at", "created_by", "created_at"])
            .values_panic([
                authority_id.into(),
                account_id.into(),
                code_hash.into(),
                expires_at.into(),
                actor.into(),
                now_ms().into(),
            ])
            .returning_col("id")
            .to_owned();
        self.insert_id(&q).await
    }

    /// Revokes the unused activation codes of a finance account of the authority
    /// (a letter lost, or a new code made): they are deleted, so a revoked code
    /// answers exactly like one never made; the audit log keeps the revocation.
    /// Returns how many were revoked.
    ///
    /// # Errors
    /// On database errors.
    pub async fn revoke_activation_codes(&mut self, authority_id: i64, account_id: i64) -> Result<u64> {
        let q = Query::delete()
            .from_table("activation_codes")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("finance_account_id").eq(account_id))
            .and_where(Expr::col("used_at").is_null())
            .to_owned();
        self.execute(&q).await
    }

    /// Uses an activation code for a citizen: the code is marked used and its
    /// finance account linked to the citizen — once. A code that is unknown, used,
    /// expired (`expires_at <= now`), or whose account is linked to another citizen
    /// changes nothing.
    ///
    /// # Errors
    /// On database errors.
    pub async fn use_activation_code(&mut self, code_hash: &str, citizen_id: i64, now: i64) -> Result<ActivationUse> {
        let q = Query::select()
            .columns(ACTIVATION_CODE_COLUMNS)
            .from("activation_codes")
            .and_where(Expr::col("code_hash").eq(code_hash))
            .lock(LockType::Update)
            .to_owned();
        let Some(code) = self.fetch_optional_in_tx::<ActivationCodeRow>(&q).await? else {
            return Ok(ActivationUse::Unknown);
        };
        if code.used_at.is_some() {
            return Ok(ActivationUse::Used);
        }
        if code.expires_at <= now {
            return Ok(ActivationUse::Expired);
        }
        let q = Query::select()
            .columns(FINANCE_ACCOUNT_COLUMNS)
            .from("finance_accounts")
            .and_where(Expr::col("id").eq(code.finance_account_id))
            .lock(LockType::Update)
            .to_owned();
        let Some(account) = self.fetch_optional_in_tx::<FinanceAccountRow>(&q).await? else {
            return Ok(ActivationUse::Unknown);
        };
        if account.citizen_id.is_some_and(|c| c != citizen_id) {
            return Ok(ActivationUse::LinkedElsewhere);
        }
        // Compare-and-set: of two uses at once, one wins.
        let q = Query::update()
            .table("activation_codes")
            .value("used_at", now)
            .value("used_by", citizen_id)
            .and_where(Expr::col("id").eq(code.id))
            .and_where(Expr::col("used_at").is_null())
            .to_owned();
        if self.execute(&q).await? != 1 {
            return Ok(ActivationUse::Used);
        }
        if account.citizen_id.is_none() {
            let q = Query::update()
                .table("finance_accounts")
                .value("citizen_id", citizen_id)
                .value("linked_at", now)
                .and_where(Expr::col("id").eq(account.id))
                .and_where(Expr::col("citizen_id").is_null())
                .to_owned();
            if self.execute(&q).await? != 1 {
                return Ok(ActivationUse::LinkedElsewhere);
            }
        }
        Ok(ActivationUse::Linked { authority_id: account.authority_id, finance_account_id: account.id })
    }

    /// Ends the link of a finance account of the authority to its citizen (e.g. the
    /// account changed hands); a new activation code links it again. False when it
    /// was not linked.
    ///
    /// # Errors
    /// On database errors.
    pub async fn unlink_finance_account(&mut self, authority_id: i64, account_id: i64) -> Result<bool> {
        let q = Query::update()
            .table("finance_accounts")
            .value("citizen_id", Option::<i64>::None)
            .value("linked_at", Option::<i64>::None)
            .and_where(Expr::col("id").eq(account_id))
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("citizen_id").is_not_null())
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }
}

impl Store {
    /// The claims of every finance account linked to the citizen, by authority, then
    /// newest due date first.
    ///
    /// # Errors
    /// On database errors.
    pub async fn claims_of_citizen(&self, citizen_id: i64) -> Result<Vec<ClaimRow>> {
        let q = Query::select()
            .columns(CLAIM_COLUMNS.map(|c| ("claims", c)))
            .from("claims")
            .inner_join(
                "finance_accounts",
                Expr::col(("finance_accounts", "id")).equals(("claims", "finance_account_id")),
            )
            .and_where(Expr::col(("finance_accounts", "citizen_id")).eq(citizen_id))
            // The account's authority, not only the claim's: a claim is never shown
            // through an account of another authority.
            .and_where(Expr::col(("finance_accounts", "authority_id")).equals(("claims", "authority_id")))
            .order_by(("claims", "authority_id"), Order::Asc)
            .order_by(("claims", "due_on"), Order::Desc)
            .order_by(("claims", "id"), Order::Desc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// One claim, if its account is linked to the citizen.
    ///
    /// # Errors
    /// On database errors.
    pub async fn claim_of_citizen(&self, citizen_id: i64, claim_id: i64) -> Result<Option<ClaimRow>> {
        let q = Query::select()
            .columns(CLAIM_COLUMNS.map(|c| ("claims", c)))
            .from("claims")
            .inner_join(
                "finance_accounts",
                Expr::col(("finance_accounts", "id")).equals(("claims", "finance_account_id")),
            )
            .and_where(Expr::col(("finance_accounts", "citizen_id")).eq(citizen_id))
            .and_where(Expr::col(("finance_accounts", "authority_id")).equals(("claims", "authority_id")))
            .and_where(Expr::col(("claims", "id")).eq(claim_id))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// One claim of the authority.
    ///
    /// # Errors
    /// On database errors.
    pub async fn claim(&self, authority_id: i64, claim_id: i64) -> Result<Option<ClaimRow>> {
        let q = Query::select()
            .columns(CLAIM_COLUMNS)
            .from("claims")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(claim_id))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// The authority's claim with this Kassenzeichen and due date.
    ///
    /// # Errors
    /// On database errors.
    pub async fn claim_by_key(&self, authority_id: i64, kassenzeichen: &str, due_on: &str) -> Result<Option<ClaimRow>> {
        let q = Query::select()
            .columns(CLAIM_COLUMNS)
            .from("claims")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("kassenzeichen").eq(kassenzeichen))
            .and_where(Expr::col("due_on").eq(due_on))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// The authority's claims, newest first.
    ///
    /// # Errors
    /// On database errors.
    pub async fn claims_of(&self, authority_id: i64, limit: u64) -> Result<Vec<ClaimRow>> {
        let q = Query::select()
            .columns(CLAIM_COLUMNS)
            .from("claims")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .order_by("id", Order::Desc)
            .limit(limit)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// The notices of a claim, oldest first.
    ///
    /// # Errors
    /// On database errors.
    pub async fn claim_documents(&self, claim_id: i64) -> Result<Vec<ClaimDocumentRow>> {
        let q = Query::select()
            .columns(CLAIM_DOCUMENT_COLUMNS)
            .from("claim_documents")
            .and_where(Expr::col("claim_id").eq(claim_id))
            .order_by("id", Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// The money the portal booked on these claims (online, bank, counter; refunds
    /// negative), oldest first — for the open amount shown, which subtracts what
    /// was booked after the claim's last sync.
    ///
    /// # Errors
    /// On database errors.
    pub async fn bookings_of_claims(&self, claim_ids: &[i64]) -> Result<Vec<BookingRow>> {
        if claim_ids.is_empty() {
            return Ok(Vec::new());
        }
        let q = Query::select()
            .columns(BOOKING_COLUMNS)
            .from("payment_bookings")
            .and_where(Expr::col("claim_id").is_in(claim_ids.iter().copied()))
            .order_by("id", Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// The authority's finance account `account_ref`.
    ///
    /// # Errors
    /// On database errors.
    pub async fn finance_account(&self, authority_id: i64, account_ref: &str) -> Result<Option<FinanceAccountRow>> {
        let q = Query::select()
            .columns(FINANCE_ACCOUNT_COLUMNS)
            .from("finance_accounts")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("account_ref").eq(account_ref))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// One finance account by id (any authority: the caller checks).
    ///
    /// # Errors
    /// On database errors.
    pub async fn finance_account_by_id(&self, id: i64) -> Result<Option<FinanceAccountRow>> {
        let q = Query::select()
            .columns(FINANCE_ACCOUNT_COLUMNS)
            .from("finance_accounts")
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// The finance accounts linked to the citizen, by authority.
    ///
    /// # Errors
    /// On database errors.
    pub async fn finance_accounts_of_citizen(&self, citizen_id: i64) -> Result<Vec<FinanceAccountRow>> {
        let q = Query::select()
            .columns(FINANCE_ACCOUNT_COLUMNS)
            .from("finance_accounts")
            .and_where(Expr::col("citizen_id").eq(citizen_id))
            .order_by("authority_id", Order::Asc)
            .order_by("id", Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// The authority's finance accounts, newest first.
    ///
    /// # Errors
    /// On database errors.
    pub async fn finance_accounts_of(&self, authority_id: i64, limit: u64) -> Result<Vec<FinanceAccountRow>> {
        let q = Query::select()
            .columns(FINANCE_ACCOUNT_COLUMNS)
            .from("finance_accounts")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .order_by("id", Order::Desc)
            .limit(limit)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// How many unused, unexpired activation codes each finance account of the
    /// authority has (accounts without any are left out).
    ///
    /// # Errors
    /// On database errors.
    pub async fn open_activation_codes(&self, authority_id: i64, now: i64) -> Result<Vec<(i64, i64)>> {
        let q = Query::select()
            .column("finance_account_id")
            .expr_as(Expr::col("id").count(), "n")
            .from("activation_codes")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("used_at").is_null())
            .and_where(Expr::col("expires_at").gt(now))
            .group_by_col("finance_account_id")
            .to_owned();
        let rows: Vec<OpenCodesRow> = self.fetch_all(&q).await?;
        Ok(rows.into_iter().map(|r| (r.finance_account_id, r.n)).collect())
    }

    /// The activation codes of a finance account of the authority, newest first.
    ///
    /// # Errors
    /// On database errors.
    pub async fn activation_codes_of(&self, authority_id: i64, account_id: i64) -> Result<Vec<ActivationCodeRow>> {
        let q = Query::select()
            .columns(ACTIVATION_CODE_COLUMNS)
            .from("activation_codes")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("finance_account_id").eq(account_id))
            .order_by("id", Order::Desc)
            .to_owned();
        self.fetch_all(&q).await
    }
}

#[derive(sqlx::FromRow)]
struct OpenCodesRow {
    finance_account_id: i64,
    n: i64,
}

#[derive(sqlx::FromRow)]
struct IdRow {
    #[allow(dead_code)]
    id: i64,
}
