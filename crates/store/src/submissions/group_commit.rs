//! Storing submissions: the one transaction that turns a draft into a submission
//! with its receipt number, files, hand-off deliveries and confirmation e-mail.
//!
//! The path is written for batches (group commit): [`Tx::submit_many`] stores any
//! number of submissions in a fixed number of statements, [`Store::submit_all`]
//! commits a batch of concurrent citizens at once and falls back to one transaction
//! each when the batch fails, and [`Tx::submit`] is a batch of one. A form token
//! already stored yields the first submission again, so a resent final step stores
//! nothing twice.
//!
//! A submission may come with its payment (`*_with`): the payment row is written in
//! the same transaction, and a submission whose fee is to be paid first (`hold`) is
//! stored as `zahlung_ausstehend` without deliveries — released later, in the
//! transaction that books its payment.

use super::{NewSubmission, OwnedSubmission, RECEIPT_PLACEHOLDER, STATUS_RECEIVED, Submitted, receipt_number};
use crate::db::{Store, Tx};
use crate::outbox::EmailMessage;
use crate::payments::core::{PAYMENT_INSERT_COLUMNS, payment_values};
use crate::payments::{AWAITING_PAYMENT, NewPayment};
use crate::{Result, StoreError, now_ms};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};

impl Store {
    /// Stores several submissions in one transaction — one commit, one fsync, for a
    /// whole batch of concurrent citizens (group commit). When the batch fails as a
    /// whole, each is tried in a transaction of its own, so one bad submission does
    /// not take the others down. Results in the order given.
    ///
    /// # Errors
    /// Per submission, as [`Tx::submit`] and the commit.
    pub async fn submit_all(&self, batch: &[OwnedSubmission]) -> Vec<Result<Submitted>> {
        let items: Vec<(NewSubmission<'_>, Option<&NewPayment>)> = batch.iter().map(|s| (s.as_new(), None)).collect();
        self.submit_batch(&items).await
    }

    /// [`Store::submit_all`] for submissions with their payments (see
    /// [`Tx::submit_many_with`]).
    ///
    /// # Errors
    /// Per submission, as [`Tx::submit_many_with`] and the commit.
    pub async fn submit_all_with(&self, batch: &[(OwnedSubmission, Option<NewPayment>)]) -> Vec<Result<Submitted>> {
        let items: Vec<(NewSubmission<'_>, Option<&NewPayment>)> =
            batch.iter().map(|(s, p)| (s.as_new(), p.as_ref())).collect();
        self.submit_batch(&items).await
    }

    async fn submit_batch(&self, batch: &[(NewSubmission<'_>, Option<&NewPayment>)]) -> Vec<Result<Submitted>> {
        let together = async {
            let mut tx = self.begin().await?;
            let out = tx.submit_many_with(batch).await?;
            tx.commit().await?;
            Ok::<_, StoreError>(out)
        }
        .await;
        if let Ok(done) = together {
            return done.into_iter().map(Ok).collect();
        }
        let mut out = Vec::with_capacity(batch.len());
        for item in batch {
            let one = async {
                let mut tx = self.begin().await?;
                let mut r = tx.submit_many_with(std::slice::from_ref(item)).await?;
                tx.commit().await?;
                r.pop().ok_or_else(|| StoreError::Invalid("no submission stored".into()))
            }
            .await;
            out.push(one);
        }
        out
    }
}

impl Tx {
    /// Reserves `count` consecutive receipt numbers of an authority in a year and
    /// returns the first.
    async fn reserve_receipts(&mut self, authority_id: i64, year: i64, count: i64) -> Result<i64> {
        let q = Query::insert()
            .into_table("receipt_counters")
            .columns(["authority_id", "year", "last_number"])
            .values_panic([authority_id.into(), year.into(), count.into()])
            .on_conflict(
                OnConflict::columns(["authority_id", "year"])
                    .value("last_number", Expr::col(("receipt_counters", "last_number")).add(count))
                    .to_owned(),
            )
            .returning_col("last_number")
            .to_owned();
        Ok(self.insert_id(&q).await? - count + 1)
    }

    /// Stores a submission with its receipt number, moves the draft's files to it,
    /// deletes the draft and queues the confirmation e-mail. A second call with the
    /// same form token stores nothing and returns the first submission.
    ///
    /// # Errors
    /// On database errors; then nothing is stored.
    pub async fn submit(&mut self, s: &NewSubmission<'_>) -> Result<Submitted> {
        let mut one = self.submit_many(std::slice::from_ref(s)).await?;
        one.pop().ok_or_else(|| StoreError::Invalid("no submission stored".into()))
    }

    /// [`Tx::submit`] for several submissions at once, in a number of statements
    /// that does not grow with the batch — seven, plus one receipt-number
    /// reservation per authority in it (group commit: the writer's time per citizen
    /// is what limits a rush). Results in the order given; a token that is
    /// already stored, or twice in `batch`, yields the first submission with
    /// `new: false`.
    ///
    /// # Errors
    /// On database errors; then the caller's transaction must be rolled back.
    pub async fn submit_many(&mut self, batch: &[NewSubmission<'_>]) -> Result<Vec<Submitted>> {
        let items: Vec<(NewSubmission<'_>, Option<&NewPayment>)> = batch.iter().map(|s| (s.clone(), None)).collect();
        self.submit_many_with(&items).await
    }

    /// [`Tx::submit_many`] with each submission's payment, if it has one: the payment
    /// row is written with it (one more statement for the batch), and a submission
    /// whose payment says `hold` is stored as `zahlung_ausstehend` and gets no
    /// deliveries until its payment releases it. A token already stored keeps its
    /// first submission and payment.
    ///
    /// # Errors
    /// On database errors; then the caller's transaction must be rolled back.
    pub async fn submit_many_with(
        &mut self,
        batch_with: &[(NewSubmission<'_>, Option<&NewPayment>)],
    ) -> Result<Vec<Submitted>> {
        use std::collections::HashMap;
        let batch: Vec<&NewSubmission<'_>> = batch_with.iter().map(|(s, _)| s).collect();
        let payment_of: HashMap<&str, &NewPayment> =
            batch_with.iter().filter_map(|(s, p)| p.map(|p| (s.form_token, p))).rev().collect();
        #[derive(sqlx::FromRow)]
        struct Stored {
            id: i64,
            form_token: String,
            receipt_number: String,
            submitted_at: i64,
        }
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let mut tokens: Vec<&str> = batch.iter().map(|s| s.form_token).collect();
        tokens.sort_unstable();
        tokens.dedup();
        let q = Query::select()
            .columns(["id", "form_token", "receipt_number", "submitted_at"])
            .from("submissions")
            .and_where(Expr::col("form_token").is_in(crate::db::padded(&tokens)))
            .to_owned();
        let mut known: HashMap<String, Submitted> = self
            .fetch_all_in_tx::<Stored>(&q)
            .await?
            .into_iter()
            .map(|e| {
                let s =
                    Submitted { id: e.id, receipt_number: e.receipt_number, submitted_at: e.submitted_at, new: false };
                (e.form_token, s)
            })
            .collect();
        // The new ones: each token's first occurrence that is not stored yet.
        let mut seen = std::collections::HashSet::new();
        let fresh: Vec<&NewSubmission<'_>> =
            batch.iter().copied().filter(|s| !known.contains_key(s.form_token) && seen.insert(s.form_token)).collect();
        if fresh.is_empty() {
            return Ok(batch.iter().filter_map(|s| known.get(s.form_token).cloned()).collect());
        }
        // Receipt numbers: one reservation per authority and year, handed out in the
        // order of the batch (the order in which the citizens sent).
        let mut receipts: Vec<String> = vec![String::new(); fresh.len()];
        let mut groups: Vec<(i64, i64)> = fresh.iter().map(|s| (s.authority_id, s.year)).collect();
        groups.sort_unstable();
        groups.dedup();
        for (authority_id, year) in groups {
            let members: Vec<usize> =
                (0..fresh.len()).filter(|&i| fresh[i].authority_id == authority_id && fresh[i].year == year).collect();
            let count = i64::try_from(members.len()).map_err(|e| StoreError::Invalid(e.to_string()))?;
            let first = self.reserve_receipts(authority_id, year, count).await?;
            for (n, i) in (first..).zip(members) {
                receipts[i] = receipt_number(fresh[i].receipt_prefix, year, n);
            }
        }
        let now = now_ms();
        let mut q = Query::insert()
            .into_table("submissions")
            .columns([
                "authority_id",
                "form_id",
                "form_version",
                "form_token",
                "receipt_number",
                "title",
                "citizen_id",
                "browser_hash",
                "status",
                "data",
                "data_hash",
                "submitted_at",
                "status_at",
                "org_unit_id",
            ])
            .returning(Query::returning().columns(["id", "form_token", "receipt_number", "submitted_at"]))
            .to_owned();
        for (s, receipt) in fresh.iter().zip(&receipts) {
            q.values_panic([
                s.authority_id.into(),
                s.form_id.into(),
                s.form_version.into(),
                s.form_token.into(),
                receipt.clone().into(),
                s.title.into(),
                s.citizen_id.into(),
                s.browser_hash.into(),
                if payment_of.get(s.form_token).is_some_and(|p| p.hold) { AWAITING_PAYMENT } else { STATUS_RECEIVED }
                    .into(),
                s.data.into(),
                s.data_hash.into(),
                now.into(),
                now.into(),
                s.org_unit_id.into(),
            ]);
        }
        // RETURNING does not promise the order of VALUES: matched by token.
        let stored = self.fetch_all_in_tx::<Stored>(&q).await?;
        // Held submissions get their deliveries when their payment releases them.
        let released: Vec<i64> = stored
            .iter()
            .filter(|e| !payment_of.get(e.form_token.as_str()).is_some_and(|p| p.hold))
            .map(|e| e.id)
            .collect();
        let mut payments = Query::insert().into_table("payments").columns(PAYMENT_INSERT_COLUMNS).to_owned();
        let mut any_payment = false;
        for e in &stored {
            if let Some(p) = payment_of.get(e.form_token.as_str()) {
                payments.values_panic(payment_values(p, Some(e.id), None, now));
                any_payment = true;
            }
        }
        for e in stored {
            let s = Submitted { id: e.id, receipt_number: e.receipt_number, submitted_at: e.submitted_at, new: true };
            known.insert(e.form_token, s);
        }
        self.enqueue_deliveries(&released, now).await?;
        if any_payment {
            self.execute(&payments).await?;
        }
        let fresh_tokens: Vec<&str> = fresh.iter().map(|s| s.form_token).collect();
        let padded_tokens = crate::db::padded(&fresh_tokens);
        let q = Query::insert()
            .into_table("submission_files")
            .columns(["submission_id", "field", "file_name", "content_type", "size", "sha256", "object_key"])
            .select_from(
                Query::select()
                    .column(("submissions", "id"))
                    .columns([
                        ("draft_files", "field"),
                        ("draft_files", "file_name"),
                        ("draft_files", "content_type"),
                        ("draft_files", "size"),
                        ("draft_files", "sha256"),
                        ("draft_files", "object_key"),
                    ])
                    .from("draft_files")
                    .inner_join(
                        "submissions",
                        Expr::col(("submissions", "form_token")).equals(("draft_files", "draft_token")),
                    )
                    .and_where(Expr::col(("draft_files", "draft_token")).is_in(padded_tokens.iter().copied()))
                    .order_by(("draft_files", "id"), Order::Asc)
                    .to_owned(),
            )
            .map_err(|e| crate::StoreError::Invalid(e.to_string()))?
            .to_owned();
        self.execute(&q).await?;
        let q = Query::delete()
            .from_table("draft_files")
            .and_where(Expr::col("draft_token").is_in(padded_tokens.iter().copied()))
            .to_owned();
        self.execute(&q).await?;
        let q = Query::delete()
            .from_table("form_drafts")
            .and_where(Expr::col("token").is_in(padded_tokens.iter().copied()))
            .to_owned();
        self.execute(&q).await?;
        let mails: Vec<EmailMessage> = fresh
            .iter()
            .filter_map(|s| {
                let receipt = &known.get(s.form_token)?.receipt_number;
                s.confirmation.map(|m| EmailMessage {
                    to: m.to.clone(),
                    subject: m.subject.replace(RECEIPT_PLACEHOLDER, receipt),
                    body: m.body.replace(RECEIPT_PLACEHOLDER, receipt),
                    // An invoice's GiroCode (PNG) travels with the confirmation.
                    attachments: m.attachments.clone(),
                })
            })
            .collect();
        self.enqueue_emails(&mails).await?;
        // Each token once as new: its repetitions in the batch get the same answer, not new.
        let mut answered: std::collections::HashSet<&str> = std::collections::HashSet::new();
        batch
            .iter()
            .map(|s| {
                let mut r = known
                    .get(s.form_token)
                    .cloned()
                    .ok_or_else(|| StoreError::Invalid("a submission was not stored".into()))?;
                if !answered.insert(s.form_token) {
                    r.new = false;
                }
                Ok(r)
            })
            .collect()
    }
}
