//! Bank statements (camt.053) and their entries, the candidates a credit may pay,
//! and the rows of the per-period report.
//!
//! A statement is known by its account and identifier (and by a hash of the file
//! and its position in it): a statement imported again is refused as a whole by the
//! unique keys, so its entries can never be stored or booked twice. Entries a
//! person has to look at (partial, over-paid, ambiguous, unmatched, other currency)
//! stay until somebody assigns or dismisses them — once, compare-and-set.

use super::{
    BANK_ENTRY_COLUMNS, BOOKING_COLUMNS, BankEntryRow, BookingRow, CLAIM_COLUMNS, ClaimRow, PAYMENT_COLUMNS,
    PaymentRow, SOURCE_REFUND, STATEMENT_COLUMNS, StatementRow,
};
use crate::db::{Store, Tx};
use crate::{Result, StoreError, now_ms};
use amtsweg_domain::payment::kassenzeichen::compact;
use amtsweg_domain::payment::reconcile::Candidate;
use amtsweg_domain::payment::{Cents, ClaimState, PaymentStatus};
use sea_query::{Cond, Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Values of `bank_entries.match`: what the import found (`exact` … `unmatched` are
/// `domain::payment::MatchKind`), and what a person decided.
pub const MATCH_EXACT: &str = "exact";
pub const MATCH_PARTIAL: &str = "partial";
pub const MATCH_OVER: &str = "over";
pub const MATCH_AMBIGUOUS: &str = "ambiguous";
pub const MATCH_UNMATCHED: &str = "unmatched";
/// Money going out (listed, nothing to match).
pub const MATCH_DEBIT: &str = "debit";
/// Another currency than EUR (a person decides).
pub const MATCH_FOREIGN: &str = "foreign";
/// A person booked it to a payment or claim.
pub const MATCH_ASSIGNED: &str = "assigned";
/// A person decided it is not a payment of the portal (with a note).
pub const MATCH_DISMISSED: &str = "dismissed";

/// The matches a person still has to resolve (for credits).
pub const TO_RESOLVE: [&str; 5] = [MATCH_PARTIAL, MATCH_OVER, MATCH_AMBIGUOUS, MATCH_UNMATCHED, MATCH_FOREIGN];

/// A statement to record.
#[derive(Debug, Clone)]
pub struct NewStatement<'a> {
    pub authority_id: i64,
    pub account_iban: &'a str,
    pub statement_id: &'a str,
    pub message_id: &'a str,
    pub electronic_seq: &'a str,
    pub version: &'a str,
    /// SHA-256 (hex) of the file and the statement's position in it.
    pub sha256: &'a str,
    pub from_date: &'a str,
    pub to_date: &'a str,
    pub entries: i64,
    pub imported_by: &'a str,
}

/// An entry of a statement to record.
#[derive(Debug, Clone)]
pub struct NewBankEntry<'a> {
    pub statement_ref: i64,
    pub authority_id: i64,
    /// Unique per authority: account, statement and position.
    pub entry_key: &'a str,
    /// Positive; `credit` says the direction.
    pub amount_cents: i64,
    pub credit: bool,
    pub currency: &'a str,
    pub booking_date: &'a str,
    pub value_date: &'a str,
    /// The structured reference (RF), clear.
    pub reference: &'a str,
    /// Sealed JSON.
    pub details: &'a str,
    pub r#match: &'a str,
    pub payment_id: Option<i64>,
    pub claim_id: Option<i64>,
}

/// The bounds of a report period: payments requested within `from_ms..to_ms`,
/// money booked on `first_day..=last_day` (YYYY-MM-DD, the booking's own day — for
/// bank credits the bank's booking date).
#[derive(Debug, Clone, Copy)]
pub struct Period<'a> {
    pub from_ms: i64,
    /// Exclusive.
    pub to_ms: i64,
    pub first_day: &'a str,
    /// Inclusive.
    pub last_day: &'a str,
}

/// One payment (or claim paid through the portal) in the per-period report.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PeriodRow {
    pub payment_id: Option<i64>,
    pub claim_id: Option<i64>,
    pub submission_id: Option<i64>,
    /// The submission's receipt number, '' when none.
    pub receipt_number: String,
    /// `vorab`, `rechnung`, `vor_ort`, `forderung`.
    pub mode: String,
    pub kassenzeichen: String,
    /// The payment's purpose, or the claim's kind.
    pub purpose: String,
    /// The claim's due date, '' for payments.
    pub due_on: String,
    pub amount_cents: i64,
    /// Paid in total (without refunds).
    pub paid_cents: i64,
    pub refunded_cents: i64,
    /// Booked within the period (without refunds).
    pub paid_in_period: i64,
    /// What is open now.
    pub open_cents: i64,
    /// `PaymentStatus` or `ClaimState` as text.
    pub status: String,
    /// (source, method) of the money booked, each once, in booking order.
    pub methods: Vec<(String, String)>,
    pub created_at: i64,
    pub paid_at: Option<i64>,
    /// The day of the last booking of money in (YYYY-MM-DD), '' when none.
    pub last_booked_on: String,
}

#[derive(sqlx::FromRow)]
struct IdRow {
    id: i64,
}

#[derive(sqlx::FromRow)]
struct ClaimSum {
    claim_id: i64,
    total: i64,
}

#[derive(sqlx::FromRow)]
struct Receipt {
    id: i64,
    receipt_number: String,
}

impl Tx {
    /// Records a statement; `None` when it is known already (same account and
    /// statement id, or the same file position) — nothing is written then.
    ///
    /// # Errors
    /// On database errors.
    pub async fn insert_statement(&mut self, s: &NewStatement<'_>) -> Result<Option<i64>> {
        let q = Query::insert()
            .into_table("bank_statements")
            .columns([
                "authority_id",
                "account_iban",
                "statement_id",
                "message_id",
                "electronic_seq",
                "version",
                "sha256",
                "from_date",
                "to_date",
                "entries",
                "imported_by",
                "imported_at",
            ])
            .values_panic([
                s.authority_id.into(),
                s.account_iban.into(),
                s.statement_id.into(),
                s.message_id.into(),
                s.electronic_seq.into(),
                s.version.into(),
                s.sha256.into(),
                s.from_date.into(),
                s.to_date.into(),
                s.entries.into(),
                s.imported_by.into(),
                now_ms().into(),
            ])
            // Either unique key: on PostgreSQL a violation would abort the transaction.
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .returning_col("id")
            .to_owned();
        Ok(self.fetch_optional_in_tx::<IdRow>(&q).await?.map(|r| r.id))
    }

    /// Records an entry; `None` when its key is known already.
    ///
    /// # Errors
    /// On database errors.
    pub async fn insert_bank_entry(&mut self, e: &NewBankEntry<'_>) -> Result<Option<i64>> {
        let q = Query::insert()
            .into_table("bank_entries")
            .columns([
                "statement_ref",
                "authority_id",
                "entry_key",
                "amount_cents",
                "credit",
                "currency",
                "booking_date",
                "value_date",
                "reference",
                "details",
                "match",
                "payment_id",
                "claim_id",
                "created_at",
            ])
            .values_panic([
                e.statement_ref.into(),
                e.authority_id.into(),
                e.entry_key.into(),
                e.amount_cents.into(),
                i64::from(e.credit).into(),
                e.currency.into(),
                e.booking_date.into(),
                e.value_date.into(),
                e.reference.into(),
                e.details.into(),
                e.r#match.into(),
                e.payment_id.into(),
                e.claim_id.into(),
                now_ms().into(),
            ])
            .on_conflict(OnConflict::columns(["authority_id", "entry_key"]).do_nothing().to_owned())
            .returning_col("id")
            .to_owned();
        Ok(self.fetch_optional_in_tx::<IdRow>(&q).await?.map(|r| r.id))
    }

    /// A person resolved an entry of the authority: `assigned` (to `payment_id` or
    /// `claim_id`) or `dismissed`, with a sealed `note`. Only an entry still to
    /// resolve (a credit whose match is in [`TO_RESOLVE`], not resolved before);
    /// false otherwise, so two people resolving at once book once. The entry row is
    /// locked until the commit.
    ///
    /// # Errors
    /// On database errors, or another `match` than assigned/dismissed.
    #[allow(clippy::too_many_arguments)]
    pub async fn resolve_entry(
        &mut self,
        authority_id: i64,
        entry_id: i64,
        r#match: &str,
        payment_id: Option<i64>,
        claim_id: Option<i64>,
        note: &str,
        actor: &str,
    ) -> Result<bool> {
        if ![MATCH_ASSIGNED, MATCH_DISMISSED].contains(&r#match) {
            return Err(StoreError::Invalid(format!("an entry is resolved as assigned or dismissed, not {match}")));
        }
        let q = Query::update()
            .table("bank_entries")
            .value("match", r#match)
            .value("payment_id", payment_id)
            .value("claim_id", claim_id)
            .value("note", note)
            .value("resolved_by", actor)
            .value("resolved_at", now_ms())
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(entry_id))
            .and_where(Expr::col("credit").eq(1))
            .and_where(Expr::col("resolved_at").is_null())
            .and_where(Expr::col("match").is_in(TO_RESOLVE))
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }
}

impl Store {
    /// The authority's latest statements, newest first.
    ///
    /// # Errors
    /// On database errors.
    pub async fn statements_of(&self, authority_id: i64, limit: u64) -> Result<Vec<StatementRow>> {
        let q = Query::select()
            .columns(STATEMENT_COLUMNS)
            .from("bank_statements")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .order_by("id", Order::Desc)
            .limit(limit)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// Whether a statement is known already: the same account and statement id, or
    /// the same file position (`sha256`).
    ///
    /// # Errors
    /// On database errors.
    pub async fn statement_known(
        &self,
        authority_id: i64,
        account_iban: &str,
        statement_id: &str,
        sha256: &str,
    ) -> Result<bool> {
        let q = Query::select()
            .column("id")
            .from("bank_statements")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .cond_where(
                Cond::any()
                    .add(Expr::col("account_iban").eq(account_iban).and(Expr::col("statement_id").eq(statement_id)))
                    .add(Expr::col("sha256").eq(sha256)),
            )
            .limit(1)
            .to_owned();
        Ok(self.fetch_optional::<IdRow>(&q).await?.is_some())
    }

    /// The entries of one statement of the authority, in order.
    ///
    /// # Errors
    /// On database errors.
    pub async fn bank_entries_of_statement(&self, authority_id: i64, statement_ref: i64) -> Result<Vec<BankEntryRow>> {
        let q = Query::select()
            .columns(BANK_ENTRY_COLUMNS)
            .from("bank_entries")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("statement_ref").eq(statement_ref))
            .order_by("id", Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// The authority's entries a person has to resolve, oldest first.
    ///
    /// # Errors
    /// On database errors.
    pub async fn bank_entries_to_resolve(&self, authority_id: i64) -> Result<Vec<BankEntryRow>> {
        let q = Query::select()
            .columns(BANK_ENTRY_COLUMNS)
            .from("bank_entries")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("credit").eq(1))
            .and_where(Expr::col("resolved_at").is_null())
            .and_where(Expr::col("match").is_in(TO_RESOLVE))
            .order_by("id", Order::Asc)
            .to_owned();
        self.fetch_all(&q).await
    }

    /// One entry of the authority.
    ///
    /// # Errors
    /// On database errors.
    pub async fn bank_entry(&self, authority_id: i64, id: i64) -> Result<Option<BankEntryRow>> {
        let q = Query::select()
            .columns(BANK_ENTRY_COLUMNS)
            .from("bank_entries")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        self.fetch_optional(&q).await
    }

    /// Everything of the authority a credit may pay: its payments (not those of
    /// claims, which share the claim's Kassenzeichen) with what is open, paid ones
    /// included (open 0, so a second transfer is recognised as an over-payment), and
    /// its claims that are not cancelled. Claims with the same Kassenzeichen and
    /// reference (instalments such as Grundsteuer quarters) are one candidate: the
    /// earliest due one with money open, else the latest. A claim's open amount is
    /// the finance software's minus the portal's bookings since its last sync.
    ///
    /// # Errors
    /// On database errors.
    pub async fn match_candidates(&self, authority_id: i64) -> Result<Vec<Candidate>> {
        let q = Query::select()
            .columns(PAYMENT_COLUMNS)
            .from("payments")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("claim_id").is_null())
            .and_where(Expr::col("status").ne(PaymentStatus::Cancelled.as_str()))
            .order_by("id", Order::Asc)
            .to_owned();
        let payments: Vec<PaymentRow> = self.fetch_all(&q).await?;
        let mut out: Vec<Candidate> = payments
            .into_iter()
            .map(|p| Candidate {
                payment_id: Some(p.id),
                claim_id: None,
                kassenzeichen: p.kassenzeichen,
                rf: p.rf_reference,
                open: Cents(open_of(p.amount_cents, p.paid_cents)),
            })
            .collect();
        let q = Query::select()
            .columns(CLAIM_COLUMNS)
            .from("claims")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("state").ne(ClaimState::Cancelled.as_str()))
            .order_by("due_on", Order::Asc)
            .order_by("id", Order::Asc)
            .to_owned();
        let claims: Vec<ClaimRow> = self.fetch_all(&q).await?;
        let since = self.claim_bookings_since_sync(authority_id).await?;
        // (rf, compact Kassenzeichen) → the chosen claim's index in `out`.
        let mut groups: HashMap<(String, String), usize> = HashMap::new();
        for c in claims {
            let open = Cents(open_of(c.open_cents, since.get(&c.id).copied().unwrap_or(0)));
            let cand = Candidate {
                payment_id: None,
                claim_id: Some(c.id),
                kassenzeichen: c.kassenzeichen.clone(),
                rf: c.rf_reference.clone(),
                open,
            };
            match groups.get(&(c.rf_reference.clone(), compact(&c.kassenzeichen))) {
                // Due dates ascend: keep the first with money open; else the latest.
                Some(&i) if out[i].open.0 > 0 => {}
                Some(&i) => out[i] = cand,
                None => {
                    groups.insert((c.rf_reference, compact(&c.kassenzeichen)), out.len());
                    out.push(cand);
                }
            }
        }
        Ok(out)
    }

    /// Per claim of the authority: the money the portal booked since the claim's
    /// last sync (refunds negative).
    async fn claim_bookings_since_sync(&self, authority_id: i64) -> Result<HashMap<i64, i64>> {
        let q = Query::select()
            .expr_as(Expr::col(("payment_bookings", "claim_id")), "claim_id")
            .expr_as(Expr::cust("CAST(SUM(payment_bookings.amount_cents) AS BIGINT)"), "total")
            .from("payment_bookings")
            .inner_join("claims", Expr::col(("claims", "id")).equals(("payment_bookings", "claim_id")))
            .and_where(Expr::col(("payment_bookings", "authority_id")).eq(authority_id))
            .and_where(Expr::col(("payment_bookings", "id")).gt(Expr::col(("claims", "synced_booking_id"))))
            .group_by_col(("payment_bookings", "claim_id"))
            .to_owned();
        let rows: Vec<ClaimSum> = self.fetch_all(&q).await?;
        Ok(rows.into_iter().map(|r| (r.claim_id, r.total)).collect())
    }

    /// The report of a period: every payment of the authority requested in it,
    /// with money booked in it, or requested before its end and still open; and
    /// every claim with money booked through the portal in it. Payments of claims
    /// are counted in their claim's row.
    ///
    /// # Errors
    /// On database errors.
    pub async fn period_rows(&self, authority_id: i64, p: Period<'_>) -> Result<Vec<PeriodRow>> {
        let booked_in = |col: &'static str| {
            Query::select()
                .column(col)
                .from("payment_bookings")
                .and_where(Expr::col("authority_id").eq(authority_id))
                .and_where(Expr::col(col).is_not_null())
                .and_where(Expr::col("booked_on").gte(p.first_day))
                .and_where(Expr::col("booked_on").lte(p.last_day))
                .to_owned()
        };
        let in_scope: SelectStatement = Query::select()
            .column("id")
            .from("payments")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("claim_id").is_null())
            .cond_where(
                Cond::any()
                    .add(Expr::col("created_at").gte(p.from_ms).and(Expr::col("created_at").lt(p.to_ms)))
                    .add(Expr::col("id").in_subquery(booked_in("payment_id")))
                    .add(Expr::col("created_at").lt(p.to_ms).and(
                        Expr::col("status").is_in([PaymentStatus::Open.as_str(), PaymentStatus::PartlyPaid.as_str()]),
                    )),
            )
            .to_owned();
        let q = Query::select()
            .columns(PAYMENT_COLUMNS)
            .from("payments")
            .and_where(Expr::col("id").in_subquery(in_scope.clone()))
            .order_by("created_at", Order::Asc)
            .order_by("id", Order::Asc)
            .to_owned();
        let payments: Vec<PaymentRow> = self.fetch_all(&q).await?;
        let q = Query::select()
            .columns(BOOKING_COLUMNS)
            .from("payment_bookings")
            .and_where(Expr::col("payment_id").in_subquery(in_scope.clone()))
            .order_by("id", Order::Asc)
            .to_owned();
        let mut by_payment: BTreeMap<i64, Vec<BookingRow>> = BTreeMap::new();
        for b in self.fetch_all::<BookingRow>(&q).await? {
            by_payment.entry(b.payment_id.unwrap_or_default()).or_default().push(b);
        }
        let subs = Query::select()
            .column("submission_id")
            .from("payments")
            .and_where(Expr::col("id").in_subquery(in_scope))
            .and_where(Expr::col("submission_id").is_not_null())
            .to_owned();
        let q = Query::select()
            .columns(["id", "receipt_number"])
            .from("submissions")
            .and_where(Expr::col("id").in_subquery(subs))
            .to_owned();
        let receipts: HashMap<i64, String> =
            self.fetch_all::<Receipt>(&q).await?.into_iter().map(|r| (r.id, r.receipt_number)).collect();

        let mut out = Vec::new();
        for pay in payments {
            let bookings = by_payment.remove(&pay.id).unwrap_or_default();
            let s = summarise(&bookings, p);
            out.push(PeriodRow {
                payment_id: Some(pay.id),
                claim_id: None,
                submission_id: pay.submission_id,
                receipt_number: pay.submission_id.and_then(|s| receipts.get(&s).cloned()).unwrap_or_default(),
                mode: pay.mode,
                kassenzeichen: pay.kassenzeichen,
                purpose: pay.purpose,
                due_on: pay.due_on,
                amount_cents: pay.amount_cents,
                paid_cents: pay.paid_cents,
                refunded_cents: pay.refunded_cents,
                paid_in_period: s.in_period,
                open_cents: open_of(pay.amount_cents, pay.paid_cents),
                status: pay.status,
                methods: s.methods,
                created_at: pay.created_at,
                paid_at: pay.paid_at,
                last_booked_on: s.last_booked_on,
            });
        }

        let q = Query::select()
            .columns(CLAIM_COLUMNS)
            .from("claims")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").in_subquery(booked_in("claim_id")))
            .order_by("due_on", Order::Asc)
            .order_by("id", Order::Asc)
            .to_owned();
        let claims: Vec<ClaimRow> = self.fetch_all(&q).await?;
        if !claims.is_empty() {
            let q = Query::select()
                .columns(BOOKING_COLUMNS)
                .from("payment_bookings")
                .and_where(Expr::col("claim_id").in_subquery(booked_in("claim_id")))
                .order_by("id", Order::Asc)
                .to_owned();
            let mut by_claim: BTreeMap<i64, Vec<BookingRow>> = BTreeMap::new();
            for b in self.fetch_all::<BookingRow>(&q).await? {
                by_claim.entry(b.claim_id.unwrap_or_default()).or_default().push(b);
            }
            let since = self.claim_bookings_since_sync(authority_id).await?;
            for c in claims {
                let bookings = by_claim.remove(&c.id).unwrap_or_default();
                let s = summarise(&bookings, p);
                out.push(PeriodRow {
                    payment_id: None,
                    claim_id: Some(c.id),
                    submission_id: None,
                    receipt_number: String::new(),
                    mode: "forderung".into(),
                    kassenzeichen: c.kassenzeichen,
                    purpose: c.kind,
                    due_on: c.due_on,
                    amount_cents: c.amount_cents,
                    paid_cents: s.paid,
                    refunded_cents: s.refunded,
                    paid_in_period: s.in_period,
                    open_cents: open_of(c.open_cents, since.get(&c.id).copied().unwrap_or(0)),
                    status: c.state,
                    methods: s.methods,
                    created_at: c.created_at,
                    paid_at: None,
                    last_booked_on: s.last_booked_on,
                });
            }
        }
        Ok(out)
    }
}

/// What is left of `asked` after `paid`, never below zero.
fn open_of(asked: i64, paid: i64) -> i64 {
    Ord::max(asked - paid, 0)
}

struct Summary {
    paid: i64,
    refunded: i64,
    in_period: i64,
    methods: Vec<(String, String)>,
    last_booked_on: String,
}

/// Money in (total and within the period), refunds, how it was paid, and the day of
/// the last money in.
fn summarise(bookings: &[BookingRow], p: Period<'_>) -> Summary {
    let mut s = Summary { paid: 0, refunded: 0, in_period: 0, methods: Vec::new(), last_booked_on: String::new() };
    for b in bookings {
        if b.source == SOURCE_REFUND {
            s.refunded -= b.amount_cents;
            continue;
        }
        s.paid += b.amount_cents;
        if b.booked_on.as_str() >= p.first_day && b.booked_on.as_str() <= p.last_day {
            s.in_period += b.amount_cents;
        }
        let m = (b.source.clone(), b.method.clone());
        if !s.methods.contains(&m) {
            s.methods.push(m);
        }
        if b.booked_on > s.last_booked_on {
            s.last_booked_on.clone_from(&b.booked_on);
        }
    }
    s
}
