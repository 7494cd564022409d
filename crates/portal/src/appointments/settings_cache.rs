//! The booking rules and calendars of each authority, parsed, kept in memory.
//!
//! Every step of a booking needs them (the day page, the hold, the contact form,
//! the confirmation), and reading and parsing them from the store each time was a
//! large share of a booking's cost in a rush. They change rarely, by a person.
//!
//! A cached entry is used while (a) the store's settings generation is the one it
//! was loaded under — every save through this process moves it on, at the save and
//! at its commit (`Store::appointment_settings_generation`) — and (b) it is younger
//! than [`MAX_AGE`], which bounds how long a change saved by another node goes
//! unseen here. Stale settings cannot book a wrong time: the hold's transaction
//! checks that the calendar is still at the version the time was chosen from
//! (`Tx::calendar_at_version`), and a refused hold drops the entry
//! ([`SettingsCache::forget`]).

use super::view::parse_calendar;
use crate::{Portal, PortalError, Result};
use amtsweg_domain::appointments::{BookingRules, Calendar};
use amtsweg_store::appointments::CalendarRow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a change saved on another node may go unseen on this one.
pub const MAX_AGE: Duration = Duration::from_secs(1);

/// One authority's settings as loaded.
#[derive(Debug)]
pub struct AuthoritySettings {
    pub rules: BookingRules,
    /// Every calendar of the authority (active or not) with its parsed settings, or
    /// the reason it does not parse.
    pub calendars: Vec<(CalendarRow, std::result::Result<Calendar, String>)>,
    generation: u64,
    loaded: Instant,
}

impl AuthoritySettings {
    /// A calendar by id, parsed.
    ///
    /// # Errors
    /// When its stored settings do not parse.
    pub fn calendar(&self, calendar_id: i64) -> Result<Option<(CalendarRow, Calendar)>> {
        match self.calendars.iter().find(|(row, _)| row.id == calendar_id) {
            Some((row, Ok(cal))) => Ok(Some((row.clone(), cal.clone()))),
            Some((_, Err(e))) => Err(PortalError::Internal(e.clone())),
            None => Ok(None),
        }
    }
}

/// The per-authority entries.
#[derive(Debug, Default)]
pub struct SettingsCache {
    entries: Mutex<HashMap<i64, Arc<AuthoritySettings>>>,
}

impl SettingsCache {
    fn current(&self, authority_id: i64, generation: u64) -> Option<Arc<AuthoritySettings>> {
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries
            .get(&authority_id)
            .filter(|e| e.generation == generation && e.loaded.elapsed() < MAX_AGE)
            .map(Arc::clone)
    }

    fn put(&self, authority_id: i64, s: Arc<AuthoritySettings>) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.insert(authority_id, s);
    }

    /// Drops an authority's entry, so the next read goes to the store (after a hold
    /// was refused because the calendar changed elsewhere).
    pub fn forget(&self, authority_id: i64) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.remove(&authority_id);
    }
}

/// The authority's rules and calendars: from memory while current, else from the store.
///
/// # Errors
/// Store errors; stored rules that do not parse.
pub async fn settings(portal: &Portal, authority_id: i64) -> Result<Arc<AuthoritySettings>> {
    // Read before the store: a save that commits while we read moves it on, so what
    // we load is then not taken for current.
    let generation = portal.store.appointment_settings_generation();
    if let Some(s) = portal.appointment_settings.current(authority_id, generation) {
        return Ok(s);
    }
    let rules = match portal.store.appointment_rules(authority_id).await? {
        Some(r) => serde_json::from_str(&r.settings)
            .map_err(|e| PortalError::Internal(format!("booking rules of {authority_id} do not parse: {e}")))?,
        None => BookingRules::default(),
    };
    let calendars = portal
        .store
        .appointment_calendars(authority_id)
        .await?
        .into_iter()
        .map(|row| {
            let parsed = parse_calendar(&row).map_err(|e| e.to_string());
            (row, parsed)
        })
        .collect();
    let s = Arc::new(AuthoritySettings { rules, calendars, generation, loaded: Instant::now() });
    portal.appointment_settings.put(authority_id, Arc::clone(&s));
    Ok(s)
}
