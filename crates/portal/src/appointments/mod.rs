//! Online appointments (Terminvergabe), the application layer: what a citizen chooses
//! and books ([`journey`], [`booking`]), changes by the secret link or in the account
//! ([`manage`]), the e-mails with their calendar files ([`mail`]), and the shared view
//! of one appointment with its personal data opened ([`view`]).
//!
//! The database enforces that no unit of a counter is booked twice (the primary key
//! of `appointment_units`); this layer checks everything a person must be told about
//! (window, hours, services, persons, limits) before it asks the store.
//!
//! The manage link's token is the booking's only key for the citizen. The store keeps
//! its SHA-256 (`manage_hash`); the token itself is sealed inside the booking's
//! personal data (with name and e-mail, under the authority's key), so the reminder
//! e-mail can carry the link again, and it is deleted with the personal data.

pub mod booking;
pub mod config;
pub mod counter;
pub mod journey;
pub mod mail;
pub mod manage;
pub mod settings_cache;
pub mod sweep;
pub mod view;
pub mod writer;

#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
