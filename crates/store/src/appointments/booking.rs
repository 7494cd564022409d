//! Writing bookings: hold a time, confirm it (directly or by the e-mail link),
//! change its status. See the module documentation for why no time can be booked
//! twice and why these transactions never deadlock.

use super::{ATTENDED, CANCELLED, CONFIRMED, EXPIRED, HELD, MISSED, NewAppointment, PRECONFIRMED, read::UnitRow};
use crate::db::Tx;
use crate::{Result, StoreError};
use sea_query::{Expr, ExprTrait, LockType, OnConflict, Order, Query};

#[derive(sqlx::FromRow)]
struct IdRow {
    id: i64,
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    version: i64,
}

#[derive(sqlx::FromRow)]
struct OwnerRow {
    authority_id: i64,
    replaces_id: Option<i64>,
}

/// Advisory lock namespaces (PostgreSQL) that make the limits below exact under
/// concurrency: one client's holds, one person's confirmations, one after another.
const CLIENT_LOCK: i32 = 7_315_019;
const CONTACT_LOCK: i32 = 7_315_020;

/// What one client (a browser or address, `client_key`) may hold and book, so that
/// a bot cannot take a whole calendar by confirming with made-up e-mail addresses.
/// Checked inside the hold's transaction (see [`Tx::hold_appointment_limited`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientLimit {
    /// Held or waiting for the e-mail confirmation at the same time.
    pub open: i64,
    /// Bookings made within `window_ms` that still stand (held, waiting or
    /// confirmed; cancelled and run-out ones do not count).
    pub recent: i64,
    pub window_ms: i64,
}

/// The per-person limit: at most `count` other bookings (waiting or confirmed) with
/// the same contact hash at the authority, starting in `[from_ms, to_ms)`. The
/// booking a move replaces is not counted. Checked inside the confirmation's
/// transaction (see [`BookingWrite::Confirm`](super::BookingWrite::Confirm)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContactLimit {
    pub count: i64,
    pub from_ms: i64,
    pub to_ms: i64,
}

/// What a conditional update of a booking gives back to go on with.
#[derive(sqlx::FromRow)]
struct Changed {
    authority_id: i64,
    units: i64,
    replaces_id: Option<i64>,
}

impl Tx {
    /// Whether the authority's calendar `calendar_id` is still at `version`, the one the free times
    /// of a hold were worked out from. Call it first in the hold's transaction: on
    /// PostgreSQL the row is read `FOR SHARE`, so a calendar save (which updates that
    /// row first) either waits until the hold is committed — and then sees it among
    /// the bookings it checks — or has committed already, and this reads its new
    /// version. On SQLite the transaction is the only writer anyway.
    ///
    /// # Errors
    /// On database errors.
    pub async fn calendar_at_version(&mut self, authority_id: i64, calendar_id: i64, version: i64) -> Result<bool> {
        let q = Query::select()
            .column("version")
            .from("appointment_calendars")
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(calendar_id))
            .lock(LockType::Share)
            .to_owned();
        Ok(self.fetch_optional_in_tx::<VersionRow>(&q).await?.is_some_and(|r| r.version == version))
    }

    /// Holds a time: stores the booking and its units (`unit_starts`, the starts of
    /// the units in ms) on the first of `counters` counters where all of them are
    /// free at `now_ms`. Returns the booking's id and counter, or `None` when every
    /// counter is taken — then nothing of it is kept. Units of holds that have run
    /// out are taken over. The caller checks first, in the same transaction, that
    /// the calendar is the one the time was chosen from ([`Tx::calendar_at_version`];
    /// [`BookingWrite::Hold`](super::BookingWrite::Hold) does).
    ///
    /// # Errors
    /// On database errors, or no units or counters.
    pub async fn hold_appointment(
        &mut self,
        a: &NewAppointment,
        unit_starts: &[i64],
        counters: u16,
        now_ms: i64,
    ) -> Result<Option<(i64, i64)>> {
        let mut starts = unit_starts.to_vec();
        starts.sort_unstable();
        starts.dedup();
        if starts.is_empty() || counters == 0 {
            return Err(StoreError::Invalid("an appointment needs at least one unit and one counter".into()));
        }
        let units = i64::try_from(starts.len()).map_err(|e| StoreError::Invalid(e.to_string()))?;
        // Counters seen taken now are not tried: a taken unit stays taken for the
        // rest of this transaction, except by a cancellation, and then the booking
        // is merely told to choose again. The ones left are tried in ascending
        // order, the lock order (see the module documentation).
        let q = Query::select()
            .columns(["starts_at", "counter"])
            .from("appointment_units")
            .and_where(Expr::col("calendar_id").eq(a.calendar_id))
            .and_where(Expr::col("starts_at").is_in(starts.iter().copied()))
            .and_where(Expr::col("counter").lt(i64::from(counters)))
            .and_where(occupying(now_ms))
            .to_owned();
        let taken: Vec<UnitRow> = self.fetch_all_in_tx(&q).await?;
        let free: Vec<i64> = (0..i64::from(counters)).filter(|c| !taken.iter().any(|t| t.counter == *c)).collect();
        let Some(&first) = free.first() else {
            return Ok(None);
        };
        let id = self.insert_appointment(a, first, units, now_ms).await?;
        for counter in free {
            let mut q = Query::insert()
                .into_table("appointment_units")
                .columns(["calendar_id", "starts_at", "counter", "appointment_id", "hold_until"])
                .on_conflict(
                    OnConflict::columns(["calendar_id", "starts_at", "counter"])
                        .update_columns(["appointment_id", "hold_until"])
                        .action_and_where(
                            Expr::col(("appointment_units", "hold_until"))
                                .is_not_null()
                                .and(Expr::col(("appointment_units", "hold_until")).lte(now_ms)),
                        )
                        .to_owned(),
                )
                .to_owned();
            for s in &starts {
                q.values_panic([a.calendar_id.into(), (*s).into(), counter.into(), id.into(), a.hold_until.into()]);
            }
            if self.execute(&q).await? == starts.len() as u64 {
                if counter != first {
                    let q = Query::update()
                        .table("appointments")
                        .value("counter", counter)
                        .and_where(Expr::col("id").eq(id))
                        .to_owned();
                    self.execute(&q).await?;
                }
                return Ok(Some((id, counter)));
            }
            // Some unit of this counter is taken: give back what went in.
            let q = Query::delete()
                .from_table("appointment_units")
                .and_where(Expr::col("appointment_id").eq(id))
                .and_where(Expr::col("counter").eq(counter))
                .to_owned();
            self.execute(&q).await?;
        }
        let q = Query::delete().from_table("appointments").and_where(Expr::col("id").eq(id)).to_owned();
        self.execute(&q).await?;
        Ok(None)
    }

    /// [`Tx::hold_appointment`], unless the client is over its `limit` (counted in
    /// this transaction, under a lock per client): then `None` as for a taken time,
    /// and nothing is written. Staff bookings and holds without a client key are not
    /// limited.
    ///
    /// # Errors
    /// As [`Tx::hold_appointment`].
    pub async fn hold_appointment_limited(
        &mut self,
        a: &NewAppointment,
        unit_starts: &[i64],
        counters: u16,
        now_ms: i64,
        limit: Option<ClientLimit>,
    ) -> Result<Option<(i64, i64)>> {
        if let Some(l) = limit
            && !a.client_key.is_empty()
            && a.booked_by != "staff"
        {
            self.lock_key(CLIENT_LOCK, &a.client_key).await?;
            let open = self.count_in_tx(&super::read::client_open_query(&a.client_key, now_ms)).await?;
            let recent =
                self.count_in_tx(&super::read::client_recent_query(&a.client_key, now_ms, l.window_ms)).await?;
            if open >= l.open || recent >= l.recent {
                return Ok(None);
            }
        }
        self.hold_appointment(a, unit_starts, counters, now_ms).await
    }

    /// Whether confirming booking `id` with `contact_hash` keeps the person within
    /// `limit`; counted under a lock per person, so two confirmations with one
    /// address at the same moment cannot both slip under it.
    ///
    /// # Errors
    /// On database errors.
    pub async fn within_contact_limit(
        &mut self,
        id: i64,
        contact_hash: &str,
        limit: ContactLimit,
        now_ms: i64,
    ) -> Result<bool> {
        if contact_hash.is_empty() {
            return Ok(true);
        }
        let q = Query::select()
            .columns(["authority_id", "replaces_id"])
            .from("appointments")
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        let Some(owner) = self.fetch_optional_in_tx::<OwnerRow>(&q).await? else {
            return Ok(false);
        };
        self.lock_key(CONTACT_LOCK, contact_hash).await?;
        let mut q = Query::select();
        q.expr_as(Expr::col("id").count(), "n")
            .from("appointments")
            .and_where(Expr::col("authority_id").eq(owner.authority_id))
            .and_where(Expr::col("contact_hash").eq(contact_hash))
            .and_where(Expr::col("starts_at").gte(limit.from_ms))
            .and_where(Expr::col("starts_at").lt(limit.to_ms))
            .and_where(Expr::col("status").is_in([PRECONFIRMED, CONFIRMED]))
            .and_where(Expr::col("hold_until").is_null().or(Expr::col("hold_until").gt(now_ms)))
            .and_where(Expr::col("id").ne(id));
        if let Some(old) = owner.replaces_id {
            // The booking being moved is given up when this one is confirmed.
            q.and_where(Expr::col("id").ne(old));
        }
        Ok(self.count_in_tx(&q).await? < limit.count)
    }

    async fn count_in_tx(&mut self, q: &sea_query::SelectStatement) -> Result<i64> {
        Ok(self.fetch_optional_in_tx::<super::read::CountRow>(q).await?.map_or(0, |r| r.n))
    }

    async fn insert_appointment(&mut self, a: &NewAppointment, counter: i64, units: i64, now: i64) -> Result<i64> {
        let q = Query::insert()
            .into_table("appointments")
            .columns([
                "authority_id",
                "calendar_id",
                "location_id",
                "reference",
                "status",
                "starts_at",
                "ends_at",
                "counter",
                "units",
                "services",
                "persons",
                "manage_hash",
                "hold_until",
                "citizen_id",
                "receipt_number",
                "replaces_id",
                "booked_by",
                "client_key",
                "created_at",
                "updated_at",
            ])
            .values_panic([
                a.authority_id.into(),
                a.calendar_id.into(),
                a.location_id.into(),
                a.reference.clone().into(),
                a.status.clone().into(),
                a.starts_at.into(),
                a.ends_at.into(),
                counter.into(),
                units.into(),
                a.services.clone().into(),
                a.persons.into(),
                a.manage_hash.clone().into(),
                a.hold_until.into(),
                a.citizen_id.into(),
                a.receipt_number.clone().into(),
                a.replaces_id.into(),
                a.booked_by.clone().into(),
                a.client_key.clone().into(),
                now.into(),
                now.into(),
            ])
            // A reference or manage hash that is taken (random values, so hardly
            // ever) is an error without a unique violation, which on PostgreSQL would
            // abort the caller's transaction.
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .returning(Query::returning().column("id"))
            .to_owned();
        match self.fetch_optional_in_tx::<IdRow>(&q).await? {
            Some(row) => Ok(row.id),
            None => Err(StoreError::Invalid("appointment reference or manage link already in use".into())),
        }
    }

    /// Confirms a held booking with the contact data: as `confirmed`, or as
    /// `preconfirmed` (double opt-in) with `confirm_hash` and the new `hold_until`.
    /// Only from `held` while the hold lasts; false otherwise (also when the hold ran
    /// out and another booking took a unit over — then the booking is expired).
    /// Confirming a move (`replaces_id`) cancels the old booking and frees its time.
    ///
    /// # Errors
    /// On database errors, or another status than confirmed/preconfirmed.
    #[allow(clippy::too_many_arguments)]
    pub async fn confirm_appointment(
        &mut self,
        id: i64,
        status: &str,
        personal: &str,
        contact_hash: &str,
        confirm_hash: Option<&str>,
        hold_until: Option<i64>,
        remind_at: Option<i64>,
        purge_at: i64,
        now_ms: i64,
    ) -> Result<bool> {
        let hold_until = match status {
            CONFIRMED => None,
            PRECONFIRMED => Some(hold_until.ok_or_else(|| StoreError::Invalid("preconfirmed needs an expiry".into()))?),
            other => return Err(StoreError::Invalid(format!("cannot confirm as {other:?}"))),
        };
        let q = Query::update()
            .table("appointments")
            .value("status", status)
            .value("personal", personal)
            .value("contact_hash", contact_hash)
            .value("confirm_hash", confirm_hash.map(str::to_owned))
            .value("hold_until", hold_until)
            .value("remind_at", remind_at)
            .value("purge_at", purge_at)
            .value("updated_at", now_ms)
            .and_where(Expr::col("id").eq(id))
            .and_where(Expr::col("status").eq(HELD))
            .and_where(Expr::col("hold_until").is_null().or(Expr::col("hold_until").gt(now_ms)))
            .returning(Query::returning().columns(["authority_id", "units", "replaces_id"]))
            .to_owned();
        let Some(changed) = self.fetch_optional_in_tx::<Changed>(&q).await? else {
            return Ok(false);
        };
        self.settle(id, &changed, hold_until, status == CONFIRMED, now_ms).await
    }

    /// Confirms a preconfirmed booking by the link in the e-mail, while it has not
    /// run out; false otherwise. Confirming a move cancels the old booking.
    ///
    /// # Errors
    /// On database errors.
    pub async fn confirm_by_email(&mut self, id: i64, remind_at: Option<i64>, now_ms: i64) -> Result<bool> {
        let q = Query::update()
            .table("appointments")
            .value("status", CONFIRMED)
            .value("hold_until", None::<i64>)
            .value("remind_at", remind_at)
            .value("updated_at", now_ms)
            .and_where(Expr::col("id").eq(id))
            .and_where(Expr::col("status").eq(PRECONFIRMED))
            .and_where(Expr::col("hold_until").is_null().or(Expr::col("hold_until").gt(now_ms)))
            .returning(Query::returning().columns(["authority_id", "units", "replaces_id"]))
            .to_owned();
        let Some(changed) = self.fetch_optional_in_tx::<Changed>(&q).await? else {
            return Ok(false);
        };
        self.settle(id, &changed, None, true, now_ms).await
    }

    /// Changes the status of the authority's booking from one of `from` to `to`;
    /// false when it is in none of them (or of another authority). Cancelled and
    /// expired bookings give their time back at once.
    ///
    /// # Errors
    /// On database errors, or an unknown target status.
    pub async fn set_appointment_status(
        &mut self,
        authority_id: i64,
        id: i64,
        from: &[&str],
        to: &str,
        now_ms: i64,
    ) -> Result<bool> {
        let active = match to {
            CONFIRMED | ATTENDED | MISSED => true,
            CANCELLED | EXPIRED => false,
            other => return Err(StoreError::Invalid(format!("cannot set status {other:?}"))),
        };
        if from.is_empty() {
            return Ok(false);
        }
        let mut q = Query::update();
        q.table("appointments")
            .value("status", to)
            .value("updated_at", now_ms)
            .and_where(Expr::col("authority_id").eq(authority_id))
            .and_where(Expr::col("id").eq(id))
            .and_where(Expr::col("status").is_in(from.iter().map(|s| (*s).to_owned())))
            .returning(Query::returning().columns(["authority_id", "units", "replaces_id"]));
        if active {
            q.value("hold_until", None::<i64>);
        }
        let Some(changed) = self.fetch_optional_in_tx::<Changed>(&q).await? else {
            return Ok(false);
        };
        if active {
            // A staff member confirming a held booking moves nothing: only the
            // citizen's own confirmation completes a move.
            self.settle(id, &changed, None, false, now_ms).await
        } else {
            self.free_units(id).await?;
            Ok(true)
        }
    }

    /// Links a held booking to the citizen who signed in between choosing the time
    /// and confirming it, so it shows in the account; false when it is no longer
    /// held or already someone's.
    ///
    /// # Errors
    /// On database errors.
    pub async fn link_appointment_citizen(&mut self, id: i64, citizen_id: i64, now_ms: i64) -> Result<bool> {
        let q = Query::update()
            .table("appointments")
            .value("citizen_id", citizen_id)
            .value("updated_at", now_ms)
            .and_where(Expr::col("id").eq(id))
            .and_where(Expr::col("status").eq(HELD))
            .and_where(Expr::col("citizen_id").is_null())
            .to_owned();
        Ok(self.execute(&q).await? == 1)
    }

    /// After a booking's row has been moved to an occupying status: makes its units
    /// carry the new hold (None: for good) and, with `complete_move`, cancels the
    /// booking it replaces. When a unit was taken over after the hold ran out (a
    /// confirmation that raced the expiry), the booking is expired instead and false
    /// returned: it must never share its time with the one that took it.
    async fn settle(
        &mut self,
        id: i64,
        changed: &Changed,
        hold_until: Option<i64>,
        complete_move: bool,
        now_ms: i64,
    ) -> Result<bool> {
        if self.lock_units(id).await? != changed.units {
            self.give_up(id, now_ms).await?;
            return Ok(false);
        }
        let q = Query::update()
            .table("appointment_units")
            .value("hold_until", hold_until)
            .and_where(Expr::col("appointment_id").eq(id))
            .to_owned();
        self.execute(&q).await?;
        if complete_move && let Some(old) = changed.replaces_id {
            let q = Query::update()
                .table("appointments")
                .value("status", CANCELLED)
                .value("updated_at", now_ms)
                .and_where(Expr::col("authority_id").eq(changed.authority_id))
                .and_where(Expr::col("id").eq(old))
                .and_where(Expr::col("status").is_in([PRECONFIRMED, CONFIRMED, HELD]))
                .to_owned();
            if self.execute(&q).await? == 1 {
                self.free_units(old).await?;
            } else {
                // The old booking was cancelled or moved meanwhile (a second move
                // from the same link, confirmed at the same moment): this one must
                // not stand beside the first, or the citizen would hold two times.
                self.give_up(id, now_ms).await?;
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Expires a booking that cannot be confirmed after all and frees its time.
    async fn give_up(&mut self, id: i64, now_ms: i64) -> Result<()> {
        let q = Query::update()
            .table("appointments")
            .value("status", EXPIRED)
            .value("personal", "")
            .value("contact_hash", "")
            .value("updated_at", now_ms)
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        self.execute(&q).await?;
        self.free_units(id).await
    }

    /// Locks a booking's unit rows in the lock order and counts them.
    async fn lock_units(&mut self, appointment_id: i64) -> Result<i64> {
        let q = Query::select()
            .columns(["starts_at", "counter"])
            .from("appointment_units")
            .and_where(Expr::col("appointment_id").eq(appointment_id))
            .order_by("counter", Order::Asc)
            .order_by("starts_at", Order::Asc)
            .lock(LockType::Update)
            .to_owned();
        let rows: Vec<UnitRow> = self.fetch_all_in_tx(&q).await?;
        i64::try_from(rows.len()).map_err(|e| StoreError::Invalid(e.to_string()))
    }

    /// Deletes a booking's unit rows (locked in the lock order first).
    async fn free_units(&mut self, appointment_id: i64) -> Result<()> {
        self.lock_units(appointment_id).await?;
        let q = Query::delete()
            .from_table("appointment_units")
            .and_where(Expr::col("appointment_id").eq(appointment_id))
            .to_owned();
        self.execute(&q).await?;
        Ok(())
    }
}

/// A unit row that occupies its time at `now_ms`: held for good, or a hold that
/// has not run out.
pub(super) fn occupying(now_ms: i64) -> Expr {
    Expr::col(("appointment_units", "hold_until"))
        .is_null()
        .or(Expr::col(("appointment_units", "hold_until")).gt(now_ms))
}
