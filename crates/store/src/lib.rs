//! The Store facade: every read and write of Amtsweg's data goes through [`Store`]
//! (reads) and [`Tx`] (writes in one transaction), on SQLite or PostgreSQL alike.
//!
//! Queries are written once with sea-query and rendered per backend; only the
//! helpers in `db` know which backend runs. Methods that touch tenant-owned rows
//! take the authority id, so no caller can read another authority's rows by
//! forgetting a filter.

pub mod appointments;
pub mod audit_log;
pub mod casework;
mod catalogue;
mod db;
pub mod editing;
pub mod forms;
pub mod handoff;
pub mod konto;
pub mod library;
pub mod limits;
mod migrate;
pub mod outbox;
pub mod pages;
pub mod payments;
pub mod rows;
pub mod second_factor;
pub mod space;
pub mod staff;
pub mod staff_admin;
pub mod submissions;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod unbound;
pub mod workload;

pub use appointments::{AppointmentRow, CalendarRow, Figures, NewAppointment, RulesRow};
pub use catalogue::{LeistungContactLink, NewAuthority, NewContact, NewLeistung, NewLocation, NewOrgUnit, NewPlace};
pub use db::{Backend, Store, Tx};
pub use rows::{Contact, Location, OrgUnit};

/// Errors of the storage layer. Messages are for logs, never shown to users verbatim.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored value is invalid: {0}")]
    Invalid(String),
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("migration {version} failed: {source}")]
    Migration { version: i64, source: sqlx::Error },
    #[error("the database has migration {0}, which this version of Amtsweg does not know; upgrade Amtsweg")]
    UnknownMigration(i64),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl StoreError {
    /// Whether the database's disk (or an I/O path below it) is full: a passing
    /// condition the portal answers with 503, not a failure of the request.
    #[must_use]
    pub fn is_storage_full(&self) -> bool {
        match self {
            Self::Database(e) | Self::Migration { source: e, .. } => space::sqlx_is_full(e),
            Self::Io(e) => space::io_is_full(e),
            _ => false,
        }
    }
}

impl From<amtsweg_domain::InvalidValue> for StoreError {
    fn from(e: amtsweg_domain::InvalidValue) -> Self {
        Self::Invalid(e.0)
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Milliseconds since the Unix epoch, the timestamp format of every table.
#[must_use]
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}
