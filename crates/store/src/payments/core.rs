//! Settings, connectors and payments of an authority, and the Kassenzeichen numbers.

use super::{
    BOOKING_COLUMNS, BookingRow, CLAIM_COLUMNS, CONNECTOR_COLUMNS, ClaimRow, NewPayment, PAYMENT_COLUMNS,
    PaymentConnectorRow, PaymentRow, PaymentSettingsRow, SETTINGS_COLUMNS,
};
use crate::db::{Store, Tx};
use crate::{Result, now_ms};
use sea_query::{Expr, ExprTrait, LockType, OnConflict, Order, Query};

impl Store {
    /// The authority's payment settings, if it ever saved some.
    ///
    /// # Errors
    /// On database errors.
    pub async fn payment_settings(&self, authority_id: i64) -> Result<Option<PaymentSettingsRow>> {
        let q = Query::select()
            .columns(SETTINGS_COLUMNS)
            .from("payment_settings")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// The authority's payment connectors (active and inactive), oldest first.
    ///
    /// # Errors
    /// On database errors.
    pub async fn payment_connectors_of(&self, authority_id: i64) -> Result<Vec<PaymentConnectorRow>> {
        let q = Query::select()
            .columns(CONNECTOR_COLUMNS)
            .from("payment_connectors")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .order_by("id", Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// One payment connector by id (for workers, which serve every authority).
    ///
    /// # Errors
    /// On database errors.
    pub async fn payment_connector(&self, id: i64) -> Result<Option<PaymentConnectorRow>> {
        let q = Query::select()
            .columns(CONNECTOR_COLUMNS)
            .from("payment_connectors")
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// The active connector of `kind` for a form: one for this form before one for
    /// every form, the oldest of each.
    ///
    /// # Errors
    /// On database errors.
    pub async fn payment_connector_for(
        &self,
        authority_id: i64,
        form_id: Option<i64>,
        kind: &str,
    ) -> Result<Option<PaymentConnectorRow>> {
        let forms = match form_id {
            Some(f) => Expr::col("form_id").is_null().or(Expr::col("form_id").eq(f)),
            None => Expr::col("form_id").is_null(),
        };
        let q = Query::select()
            .columns(CONNECTOR_COLUMNS)
            .from("payment_connectors")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("kind").eq(kind))
            .and_where(Expr::col("active").eq(1))
            .and_where(forms)
            // false sorts first on both backends: form-specific before all-forms.
            .order_by_expr(Expr::col("form_id").is_null(), Order::Asc)
            .order_by("id", Order::Asc)
            .limit(1)
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// One payment of the authority.
    ///
    /// # Errors
    /// On database errors.
    pub async fn payment(&self, authority_id: i64, id: i64) -> Result<Option<PaymentRow>> {
        let q = Query::select()
            .columns(PAYMENT_COLUMNS)
            .from("payments")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// The payment of a submission of the authority.
    ///
    /// # Errors
    /// On database errors.
    pub async fn payment_of_submission(&self, authority_id: i64, submission_id: i64) -> Result<Option<PaymentRow>> {
        let q = Query::select()
            .columns(PAYMENT_COLUMNS)
            .from("payments")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("submission_id").eq(submission_id))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// The payments of several submissions (a citizen's "Meine Anträge"; the caller
    /// has checked that the submissions are the citizen's).
    ///
    /// # Errors
    /// On database errors.
    pub async fn payments_of_submissions(&self, submission_ids: &[i64]) -> Result<Vec<PaymentRow>> {
        if submission_ids.is_empty() {
            return Ok(Vec::new());
        }
        let q = Query::select()
            .columns(PAYMENT_COLUMNS)
            .from("payments")
            .and_where(Expr::col("submission_id").is_in(crate::db::padded(submission_ids)))
            .order_by("id", Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// The payment of the authority with this Kassenzeichen (payments of claims share
    /// their claim's and are not found here).
    ///
    /// # Errors
    /// On database errors.
    pub async fn payment_by_kassenzeichen(&self, authority_id: i64, kz: &str) -> Result<Option<PaymentRow>> {
        let q = Query::select()
            .columns(PAYMENT_COLUMNS)
            .from("payments")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("kassenzeichen").eq(kz))
            .and_where(Expr::col("claim_id").is_null())
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// The newest open payment (mode `forderung`) of a claim of the authority: an
    /// online payment of the claim reuses it while its amount still fits.
    ///
    /// # Errors
    /// On database errors.
    pub async fn open_payment_of_claim(&self, authority_id: i64, claim_id: i64) -> Result<Option<PaymentRow>> {
        let q = Query::select()
            .columns(PAYMENT_COLUMNS)
            .from("payments")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("claim_id").eq(claim_id))
            .and_where(Expr::col("status").eq(amtsweg_domain::payment::PaymentStatus::Open.as_str()))
            .order_by("id", Order::Desc)
            .limit(1)
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// The authority's payments a person has to look at, oldest first.
    ///
    /// # Errors
    /// On database errors.
    pub async fn payments_in_review(&self, authority_id: i64) -> Result<Vec<PaymentRow>> {
        let q = Query::select()
            .columns(PAYMENT_COLUMNS)
            .from("payments")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("review").ne(""))
            .order_by("id", Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }
}

impl Tx {
    /// Saves the authority's settings (JSON of `PaymentSettings`, checked by the
    /// caller). `expected_version`: `None` saves regardless, `Some(0)` only when none
    /// were saved yet, `Some(v)` only when nobody saved since version `v`. False on
    /// a conflict.
    ///
    /// # Errors
    /// On database errors.
    pub async fn save_payment_settings(
        &mut self,
        authority_id: i64,
        json: &str,
        expected_version: Option<i64>,
    ) -> Result<bool> {
        let now = now_ms();
        let written = match expected_version {
            None => {
                let q = Query::insert()
                    .into_table("payment_settings")
                    .columns(SETTINGS_COLUMNS)
                    .values_panic([authority_id.into(), json.into(), 1i64.into(), now.into()])
                    .on_conflict(
                        OnConflict::column("authority_id")
                            .value("settings", json)
                            .value("version", Expr::col(("payment_settings", "version")).add(1))
                            .value("updated_at", now)
                            .to_owned(),
                    )
                    .to_owned();
                self.execute(&q).await?
            }
            Some(0) => {
                let q = Query::insert()
                    .into_table("payment_settings")
                    .columns(SETTINGS_COLUMNS)
                    .values_panic([authority_id.into(), json.into(), 1i64.into(), now.into()])
                    .on_conflict(OnConflict::column("authority_id").do_nothing().to_owned())
                    .to_owned();
                self.execute(&q).await?
            }
            Some(v) => {
                let q = Query::update()
                    .table("payment_settings")
                    .value("settings", json)
                    .value("version", v + 1)
                    .value("updated_at", now)
                    .and_where(Expr::col("authority_id").eq(authority_id))
                    .and_where(Expr::col("version").eq(v))
                    .to_owned();
                self.execute(&q).await?
            }
        };
        Ok(written == 1)
    }

    /// A new (active) payment connector; `config` is sealed by the caller.
    ///
    /// # Errors
    /// On database errors.
    pub async fn insert_payment_connector(
        &mut self,
        authority_id: i64,
        form_id: Option<i64>,
        kind: &str,
        name: &str,
        config: &str,
    ) -> Result<i64> {
        let q = Query::insert()
            .into_table("payment_connectors")
            .columns(["authority_id", "form_id", "kind", "name", "config", "active", "created_at"])
            .values_panic([
                authority_id.into(),
                form_id.into(),
                kind.into(),
                name.into(),
                config.into(),
                1i64.into(),
                now_ms().into(),
            ])
            .returning_col("id")
            .to_owned();
        self.insert_id(&q).await
    }

    /// Changes a payment connector of the authority (form, name, sealed config); its
    /// kind stays.
    ///
    /// # Errors
    /// On database errors.
    pub async fn update_payment_connector(
        &mut self,
        authority_id: i64,
        id: i64,
        form_id: Option<i64>,
        name: &str,
        config: &str,
    ) -> Result<bool> {
        let q = Query::update()
            .table("payment_connectors")
            .value("form_id", form_id)
            .value("name", name)
            .value("config", config)
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }

    /// Switches a payment connector of the authority on or off.
    ///
    /// # Errors
    /// On database errors.
    pub async fn set_payment_connector_active(&mut self, authority_id: i64, id: i64, active: bool) -> Result<bool> {
        let q = Query::update()
            .table("payment_connectors")
            .value("active", i64::from(active))
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }

    /// The next running number of the authority's Kassenzeichen in `year`. Meant
    /// for a small transaction of its own before the submission's commit, so the
    /// Kassenzeichen is known while the e-mail and GiroCode are made; a submission
    /// that then fails leaves a gap (documented, harmless).
    ///
    /// # Errors
    /// On database errors.
    pub async fn next_kassenzeichen_number(&mut self, authority_id: i64, year: i64) -> Result<i64> {
        let q = Query::insert()
            .into_table("kassenzeichen_counters")
            .columns(["authority_id", "year", "last_number"])
            .values_panic([authority_id.into(), year.into(), 1i64.into()])
            .on_conflict(
                OnConflict::columns(["authority_id", "year"])
                    .value("last_number", Expr::col(("kassenzeichen_counters", "last_number")).add(1))
                    .to_owned(),
            )
            .returning_col("last_number")
            .to_owned();
        self.insert_id(&q).await
    }

    /// Locks a claim of the authority until the transaction ends (PostgreSQL:
    /// `FOR UPDATE`; SQLite has one writer) and answers it with its open amount as
    /// the portal sees it and its newest open payment: finding or creating the
    /// claim's payment under this lock makes two clicks at once find one payment.
    ///
    /// # Errors
    /// On database errors.
    pub async fn claim_for_payment(&mut self, authority_id: i64, claim_id: i64) -> Result<Option<ClaimToPay>> {
        let q = Query::select()
            .columns(CLAIM_COLUMNS)
            .from("claims")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(claim_id))
            .lock(LockType::Update)
            .to_owned();
        let Some(claim) = self.fetch_optional_in_tx::<ClaimRow>(&q).await? else { return Ok(None) };
        let q = Query::select()
            .columns(BOOKING_COLUMNS)
            .from("payment_bookings")
            .and_where(Expr::col("claim_id").eq(claim_id))
            .and_where(Expr::col("id").gt(claim.synced_booking_id))
            .to_owned();
        let bookings: Vec<BookingRow> = self.fetch_all_in_tx(&q).await?;
        let open_cents = claim.open_after(&bookings);
        let q = Query::select()
            .columns(PAYMENT_COLUMNS)
            .from("payments")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("claim_id").eq(claim_id))
            .and_where(Expr::col("status").eq(amtsweg_domain::payment::PaymentStatus::Open.as_str()))
            .order_by("id", Order::Desc)
            .limit(1)
            .to_owned();
        let open_payment = self.fetch_optional_in_tx::<PaymentRow>(&q).await?;
        Ok(Some(ClaimToPay { claim, open_cents, open_payment }))
    }

    /// Stores the payment of a claim (mode `forderung`) — one per online attempt
    /// period; it shares the claim's Kassenzeichen.
    ///
    /// # Errors
    /// On database errors.
    pub async fn insert_claim_payment(&mut self, p: &NewPayment, claim_id: i64) -> Result<i64> {
        self.insert_payment(p, None, Some(claim_id)).await
    }

    /// Inserts one payment row (status `open`).
    pub(crate) async fn insert_payment(
        &mut self,
        p: &NewPayment,
        submission_id: Option<i64>,
        claim_id: Option<i64>,
    ) -> Result<i64> {
        let now = now_ms();
        let q = Query::insert()
            .into_table("payments")
            .columns(PAYMENT_INSERT_COLUMNS)
            .values_panic(payment_values(p, submission_id, claim_id, now))
            .returning_col("id")
            .to_owned();
        self.insert_id(&q).await
    }
}

/// A claim locked for paying it ([`Tx::claim_for_payment`]).
#[derive(Debug, Clone)]
pub struct ClaimToPay {
    pub claim: ClaimRow,
    /// The synced open amount less what the portal booked since, never below zero.
    pub open_cents: i64,
    /// The claim's newest open payment.
    pub open_payment: Option<PaymentRow>,
}

pub(crate) const PAYMENT_INSERT_COLUMNS: [&str; 16] = [
    "authority_id",
    "submission_id",
    "claim_id",
    "mode",
    "connector_id",
    "kassenzeichen",
    "rf_reference",
    "purpose",
    "amount_cents",
    "status",
    "booking",
    "due_on",
    "expires_at",
    "citizen_id",
    "created_at",
    "updated_at",
];

/// The values for [`PAYMENT_INSERT_COLUMNS`].
pub(crate) fn payment_values(
    p: &NewPayment,
    submission_id: Option<i64>,
    claim_id: Option<i64>,
    now: i64,
) -> [sea_query::SimpleExpr; 16] {
    [
        p.authority_id.into(),
        submission_id.into(),
        claim_id.into(),
        p.mode.clone().into(),
        p.connector_id.into(),
        p.kassenzeichen.clone().into(),
        p.rf_reference.clone().into(),
        p.purpose.clone().into(),
        p.amount_cents.into(),
        amtsweg_domain::payment::PaymentStatus::Open.as_str().into(),
        p.booking.clone().into(),
        p.due_on.clone().into(),
        p.expires_at.into(),
        p.citizen_id.into(),
        now.into(),
        now.into(),
    ]
}
