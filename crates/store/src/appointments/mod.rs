//! Online appointments (Terminvergabe): the booking rules of an authority, one
//! calendar per location, the bookings and the units of time they occupy.
//!
//! **No double booking** is a property of the schema, not of this code: a booking
//! occupies `n` consecutive units of its calendar on one counter, one row each in
//! `appointment_units`, whose primary key is (calendar, unit start, counter). Two
//! bookings can never own the same row, on either database and however many
//! nodes write at once.
//!
//! **Holds that run out.** A unit row repeats its booking's `hold_until`. A row
//! whose hold has run out occupies nothing: [`Store::occupied_units`] leaves it out,
//! and [`Tx::hold_appointment`] takes it over in the very statement that inserts the
//! units (`INSERT … ON CONFLICT DO UPDATE … WHERE hold_until <= now`). So the time
//! of an expired hold is free for others at once, without waiting for the sweeper,
//! and a failed insert never aborts a PostgreSQL transaction (no unique violation
//! is ever raised: conflicts are counted through the number of rows written).
//!
//! **No deadlocks on PostgreSQL.** Every operation that writes unit rows on behalf
//! of a person locks them in one order — counter, then unit start — the order of
//! the insert's VALUES and of the `SELECT … ORDER BY … FOR UPDATE` before every
//! update or delete of a booking's units; and the sweeper never waits for a lock
//! (`SKIP LOCKED`). Two transactions therefore never wait for each other in a
//! circle.
//!
//! One file per subject: [`settings`] (rules and calendars with optimistic
//! locking), [`booking`] (hold, confirm, status changes), [`batch`] (holds and
//! confirmations of many citizens in one commit), [`read`] (what pages and the
//! counter read), [`sweep`] (expiry, reminders, deletion of personal data).

mod batch;
mod booking;
mod read;
mod settings;
mod staff;
mod sweep;

use serde::Serialize;

pub use batch::{BookingOutcome, BookingWrite};
pub use booking::{ClientLimit, ContactLimit};
pub use read::Figures;
pub use settings::{CalendarRow, RulesRow};

/// Chosen, held while the citizen types the contact data.
pub(crate) const HELD: &str = "held";
/// Contact data given; waits for the confirmation link in the e-mail.
pub(crate) const PRECONFIRMED: &str = "preconfirmed";
pub(crate) const CONFIRMED: &str = "confirmed";
pub(crate) const CANCELLED: &str = "cancelled";
pub(crate) const EXPIRED: &str = "expired";
pub(crate) const ATTENDED: &str = "attended";
pub(crate) const MISSED: &str = "missed";

/// A booking as stored. `personal` is sealed by the portal's keyring ('' once
/// purged); `services` is JSON without personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct AppointmentRow {
    pub id: i64,
    pub authority_id: i64,
    pub calendar_id: i64,
    pub location_id: i64,
    pub reference: String,
    pub status: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub counter: i64,
    /// How many units of time the booking occupies (one row each).
    pub units: i64,
    pub services: String,
    pub persons: i64,
    pub manage_hash: String,
    pub confirm_hash: Option<String>,
    pub hold_until: Option<i64>,
    pub citizen_id: Option<i64>,
    pub receipt_number: Option<String>,
    pub replaces_id: Option<i64>,
    pub contact_hash: String,
    pub personal: String,
    pub booked_by: String,
    pub client_key: String,
    pub remind_at: Option<i64>,
    pub reminded_at: Option<i64>,
    pub purge_at: Option<i64>,
    pub purged_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub(crate) const APPOINTMENT_COLUMNS: [&str; 28] = [
    "id",
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
    "confirm_hash",
    "hold_until",
    "citizen_id",
    "receipt_number",
    "replaces_id",
    "contact_hash",
    "personal",
    "booked_by",
    "client_key",
    "remind_at",
    "reminded_at",
    "purge_at",
    "purged_at",
    "created_at",
    "updated_at",
];

/// A booking to hold (see [`Tx::hold_appointment`](crate::Tx::hold_appointment)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAppointment {
    pub authority_id: i64,
    pub calendar_id: i64,
    pub location_id: i64,
    pub reference: String,
    /// Normally `"held"`; a booking that needs no confirmation may start as `"confirmed"`
    /// with `hold_until: None`.
    pub status: String,
    pub starts_at: i64,
    pub ends_at: i64,
    /// JSON `[{"leika":..,"persons":..}]`.
    pub services: String,
    pub persons: i64,
    /// SHA-256 (hex) of the manage token.
    pub manage_hash: String,
    /// When the hold runs out (None: never, e.g. a booking confirmed at once).
    pub hold_until: Option<i64>,
    pub citizen_id: Option<i64>,
    pub receipt_number: Option<String>,
    /// The booking this one moves; it is cancelled when this one is confirmed.
    pub replaces_id: Option<i64>,
    /// `"citizen"` or `"staff"`.
    pub booked_by: String,
    /// Who asked for the hold (a hash of the client), for the limit of holds.
    pub client_key: String,
}
