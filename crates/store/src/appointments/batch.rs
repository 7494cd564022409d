//! Group commit for bookings. On SQLite every commit waits for one fsync of the
//! log (about a millisecond on the benchmark machine) and all writes go through one
//! connection, so one transaction per hold and per confirmation caps a rush at a few
//! hundred bookings a second. [`Store::book_all`] writes the holds and confirmations
//! of many concurrent citizens in one transaction instead: a writer task in the
//! portal collects what arrived while the last commit ran (as
//! `portal::group_commit` does for submissions) and hands it over here.
//!
//! Sharing a transaction is safe because no step of a booking raises an error for
//! a conflict: a taken time is `None`, a run-out hold `false`, and nothing is left
//! behind by either. Only a real failure (the disk, the connection) fails the
//! batch; then each write is tried again in a transaction of its own. On
//! PostgreSQL one writer task per node means batches of one node never run at the
//! same time; batches of two nodes may wait for each other in a circle (a batch
//! breaks the lock order of the single booking) — PostgreSQL then aborts one,
//! whose writes are retried one by one.

use super::NewAppointment;
use super::booking::{ClientLimit, ContactLimit};
use crate::db::{Store, Tx};
use crate::outbox::EmailMessage;
use crate::{Result, StoreError};

/// One write of a booking journey, owned so it can be queued to a writer task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BookingWrite {
    /// [`Tx::hold_appointment`]; with `client_limit`, [`Tx::hold_appointment_limited`].
    /// Refused (`Held(None)`, nothing written) when the calendar is no longer at
    /// `calendar_version`, the version the time was chosen from (see
    /// [`Tx::calendar_at_version`]).
    Hold {
        new: NewAppointment,
        unit_starts: Vec<i64>,
        counters: u16,
        now_ms: i64,
        client_limit: Option<ClientLimit>,
        calendar_version: i64,
    },
    /// [`Tx::confirm_appointment`], and when it succeeds the `emails` are queued in
    /// the same transaction. Refused (`Confirmed(false)`, nothing written) when the
    /// person is over `contact_limit`. `citizen_id`: the citizen who signed in since
    /// the hold, linked to the booking in the same transaction.
    Confirm {
        id: i64,
        status: String,
        personal: String,
        contact_hash: String,
        confirm_hash: Option<String>,
        hold_until: Option<i64>,
        remind_at: Option<i64>,
        purge_at: i64,
        now_ms: i64,
        emails: Vec<EmailMessage>,
        citizen_id: Option<i64>,
        contact_limit: Option<ContactLimit>,
    },
    /// [`Tx::confirm_by_email`], with `emails` queued when it succeeds.
    ConfirmByEmail { id: i64, remind_at: Option<i64>, now_ms: i64, emails: Vec<EmailMessage> },
}

/// What a [`BookingWrite`] came to, committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingOutcome {
    /// The booking's id and counter, or `None`: the time is taken (or the calendar
    /// changed, or the client is over its limit).
    Held(Option<(i64, i64)>),
    /// Whether the confirmation went through (false: the hold ran out, or the
    /// status changed meanwhile; no e-mail was queued).
    Confirmed(bool),
}

impl Store {
    /// Writes a batch of holds and confirmations in one transaction (one commit,
    /// one fsync); when the batch fails as a whole, each write in a transaction of
    /// its own. Results in the order given.
    ///
    /// # Errors
    /// Per write: database errors and those of the single write.
    pub async fn book_all(&self, batch: &[BookingWrite]) -> Vec<Result<BookingOutcome>> {
        let together = async {
            let mut tx = self.begin().await?;
            let mut out = Vec::with_capacity(batch.len());
            for w in batch {
                out.push(tx.book(w).await?);
            }
            tx.commit().await?;
            Ok::<_, StoreError>(out)
        }
        .await;
        if let Ok(done) = together {
            return done.into_iter().map(Ok).collect();
        }
        let mut out = Vec::with_capacity(batch.len());
        for w in batch {
            let one = async {
                let mut tx = self.begin().await?;
                let r = tx.book(w).await?;
                tx.commit().await?;
                Ok(r)
            }
            .await;
            out.push(one);
        }
        out
    }
}

impl Tx {
    /// Runs one [`BookingWrite`] in this transaction.
    ///
    /// # Errors
    /// As the write's own method.
    pub async fn book(&mut self, w: &BookingWrite) -> Result<BookingOutcome> {
        Ok(match w {
            BookingWrite::Hold { new, unit_starts, counters, now_ms, client_limit, calendar_version } => {
                // First, before any other lock: a calendar saved since the time was
                // chosen may have another grid, fewer counters or a closed day.
                if !self.calendar_at_version(new.authority_id, new.calendar_id, *calendar_version).await? {
                    return Ok(BookingOutcome::Held(None));
                }
                BookingOutcome::Held(
                    self.hold_appointment_limited(new, unit_starts, *counters, *now_ms, *client_limit).await?,
                )
            }
            BookingWrite::Confirm {
                id,
                status,
                personal,
                contact_hash,
                confirm_hash,
                hold_until,
                remind_at,
                purge_at,
                now_ms,
                emails,
                citizen_id,
                contact_limit,
            } => {
                if let Some(limit) = contact_limit
                    && !self.within_contact_limit(*id, contact_hash, *limit, *now_ms).await?
                {
                    return Ok(BookingOutcome::Confirmed(false));
                }
                if let Some(citizen) = citizen_id {
                    // Only a held booking nobody owns yet is linked; the confirmation
                    // below then goes through or this transaction's answer is false.
                    self.link_appointment_citizen(*id, *citizen, *now_ms).await?;
                }
                let ok = self
                    .confirm_appointment(
                        *id,
                        status,
                        personal,
                        contact_hash,
                        confirm_hash.as_deref(),
                        *hold_until,
                        *remind_at,
                        *purge_at,
                        *now_ms,
                    )
                    .await?;
                if ok {
                    self.enqueue_emails(emails).await?;
                }
                BookingOutcome::Confirmed(ok)
            }
            BookingWrite::ConfirmByEmail { id, remind_at, now_ms, emails } => {
                let ok = self.confirm_by_email(*id, *remind_at, *now_ms).await?;
                if ok {
                    self.enqueue_emails(emails).await?;
                }
                BookingOutcome::Confirmed(ok)
            }
        })
    }
}
