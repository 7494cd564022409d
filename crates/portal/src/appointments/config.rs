//! The authority's appointment configuration: the booking rules (one set per
//! authority) and a calendar per location. Staff read and save them here; a save is
//! validated (the domain's rules, plus what only the store knows: the location is the
//! authority's, the services are ones it offers), refused when someone else saved in
//! between (optimistic locking by version) and recorded in the audit log (ids only).

use super::view::parse_calendar;
use crate::{Portal, PortalError, Result};
use amtsweg_domain::appointments::{BookingRules, Calendar};
use amtsweg_domain::audit::AuditEntry;
use amtsweg_store::appointments::CalendarRow;
use amtsweg_store::{Location, now_ms};

mod fit;

/// What a stale form is told: another person saved first.
pub const CONFLICT_RULES: &str = "Inzwischen hat jemand anderes die Regeln für Termine geändert. Bitte laden Sie \
                                  die Seite neu, prüfen Sie den aktuellen Stand und tragen Sie Ihre Änderung erneut ein.";
/// The same for a calendar.
pub const CONFLICT_CALENDAR: &str = "Inzwischen hat jemand anderes diesen Kalender geändert. Bitte laden Sie die \
                                     Seite neu, prüfen Sie den aktuellen Stand und tragen Sie Ihre Änderung erneut ein.";

/// The authority's booking rules and their version (0: none saved yet, the defaults).
///
/// # Errors
/// On store errors; a stored value that does not parse is an internal error (it was
/// validated on the way in).
pub async fn rules(portal: &Portal, authority_id: i64) -> Result<(BookingRules, i64)> {
    match portal.store.appointment_rules(authority_id).await? {
        Some(row) => {
            let rules = serde_json::from_str(&row.settings)
                .map_err(|e| PortalError::Internal(format!("appointment rules of authority {authority_id}: {e}")))?;
            Ok((rules, row.version))
        }
        None => Ok((BookingRules::default(), 0)),
    }
}

/// The authority's calendars with their locations, sorted by the location's name
/// (read from the store, so a location added a moment ago is there).
///
/// # Errors
/// On store errors or a stored calendar that does not parse.
pub async fn calendars(portal: &Portal, authority_id: i64) -> Result<Vec<(CalendarRow, Calendar, Location)>> {
    let rows = portal.store.appointment_calendars(authority_id).await?;
    let locations = portal.store.locations(authority_id).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(location) = locations.iter().find(|l| l.id == row.location_id).cloned() else { continue };
        let calendar = parse_calendar(&row)?;
        out.push((row, calendar, location));
    }
    out.sort_by(|a, b| a.2.name.cmp(&b.2.name).then(a.0.id.cmp(&b.0.id)));
    Ok(out)
}

/// The calendar of one location of the authority for the form: the stored one with
/// its row, or the defaults (`None`) when none is set up yet. `NotFound` when the
/// location is not the authority's.
///
/// # Errors
/// Not found, store errors.
pub async fn calendar_for_location(
    portal: &Portal,
    authority_id: i64,
    location_id: i64,
) -> Result<(Location, Calendar, Option<CalendarRow>)> {
    let location = portal.store.location(authority_id, location_id).await?.ok_or(PortalError::NotFound)?;
    let row =
        portal.store.appointment_calendars(authority_id).await?.into_iter().find(|c| c.location_id == location_id);
    match row {
        Some(row) => Ok((location, parse_calendar(&row)?, Some(row))),
        None => Ok((location, Calendar::default(), None)),
    }
}

/// Saves the booking rules after validation. `version` is the one the form was shown
/// with (0 when none was stored). `Ok(Err(messages))` lists what to fix, in German.
///
/// # Errors
/// On store errors.
pub async fn save_rules(
    portal: &Portal,
    actor: &str,
    authority_id: i64,
    rules: &BookingRules,
    version: i64,
) -> Result<Result<(), Vec<String>>> {
    let mut problems = rules.validate();
    problems.extend(unknown_triage_services(portal, authority_id, rules).await?);
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    let settings = serde_json::to_string(rules).map_err(|e| PortalError::Internal(e.to_string()))?;
    let mut tx = portal.store.begin().await?;
    let Some(new_version) = tx.save_appointment_rules(authority_id, &settings, version).await? else {
        return Ok(Err(vec![CONFLICT_RULES.to_owned()]));
    };
    tx.append_audit(&entry(
        actor,
        authority_id,
        "appointment.rules_saved",
        &format!("authority:{authority_id}"),
        new_version,
    ))
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Saves the calendar of a location after validation. `version` is the one the form
/// was shown with (0 for a new calendar). `Ok(Err(messages))` lists what to fix.
///
/// # Errors
/// On store errors.
pub async fn save_calendar(
    portal: &Portal,
    actor: &str,
    authority_id: i64,
    location_id: i64,
    calendar: &Calendar,
    version: i64,
) -> Result<Result<(), Vec<String>>> {
    let Some(location) = portal.store.location(authority_id, location_id).await? else {
        return Ok(Err(vec!["Diesen Standort gibt es bei Ihrer Behörde nicht.".to_owned()]));
    };
    let mut problems = calendar.validate();
    if calendar.active && calendar.hours.is_none() && location.hours().is_empty() {
        problems.push(format!(
            "Für den Standort „{}“ sind keine Öffnungszeiten eingetragen. Bitte tragen Sie eigene Terminzeiten ein.",
            location.name
        ));
    }
    problems.extend(unknown_calendar_services(portal, authority_id, calendar).await?);
    if !problems.is_empty() {
        return Ok(Err(problems));
    }
    // The calendar being replaced: bookings that fit it must fit the new one too.
    let old = match portal
        .store
        .appointment_calendars(authority_id)
        .await?
        .into_iter()
        .find(|c| c.location_id == location_id)
    {
        Some(row) if row.version != version => return Ok(Err(vec![CONFLICT_CALENDAR.to_owned()])),
        Some(row) => Some(parse_calendar(&row)?),
        None => None,
    };
    let settings = serde_json::to_string(calendar).map_err(|e| PortalError::Internal(e.to_string()))?;
    let mut tx = portal.store.begin().await?;
    // Saved first: on PostgreSQL the update locks the calendar row, so another save
    // or a day cancellation waits; on SQLite this transaction is the only writer. The
    // bookings read next are then the ones the new calendar must carry; if it cannot,
    // the transaction is dropped, which rolls the save back.
    let Some((id, new_version)) = tx.save_appointment_calendar(authority_id, location_id, &settings, version).await?
    else {
        return Ok(Err(vec![CONFLICT_CALENDAR.to_owned()]));
    };
    if let Some(old) = &old {
        let now = now_ms();
        let bookings = tx.active_appointments_for_update(authority_id, id, now, i64::MAX, now).await?;
        let misfits = fit::misfits(old, calendar, &location.hours(), &bookings);
        if !misfits.is_empty() {
            return Ok(Err(fit::messages(&misfits)));
        }
    }
    tx.append_audit(&entry(
        actor,
        authority_id,
        "appointment.calendar_saved",
        &format!("appointment_calendar:{id}"),
        new_version,
    ))
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

fn entry(actor: &str, authority_id: i64, action: &str, target: &str, version: i64) -> AuditEntry {
    AuditEntry {
        at: amtsweg_store::now_ms(),
        actor: actor.to_owned(),
        authority_id: Some(authority_id),
        action: action.to_owned(),
        target: target.to_owned(),
        outcome: format!("version:{version}"),
    }
}

/// The LeiKa keys the authority offers (published or in preparation: a calendar may
/// be set up before the service goes online).
async fn offered(portal: &Portal, authority_id: i64) -> Result<Vec<(String, String)>> {
    Ok(portal
        .store
        .leistungen_of(authority_id, true)
        .await?
        .into_iter()
        .map(|l| (l.leika.as_str().to_owned(), l.name))
        .collect())
}

async fn unknown_calendar_services(portal: &Portal, authority_id: i64, calendar: &Calendar) -> Result<Vec<String>> {
    let offered = offered(portal, authority_id).await?;
    Ok(calendar
        .services
        .iter()
        .filter(|s| !offered.iter().any(|(k, _)| *k == s.leika))
        .map(|s| format!("Die Leistung mit dem Schlüssel {} bietet Ihre Behörde nicht an.", s.leika))
        .collect())
}

async fn unknown_triage_services(portal: &Portal, authority_id: i64, rules: &BookingRules) -> Result<Vec<String>> {
    let offered = offered(portal, authority_id).await?;
    let mut out = Vec::new();
    for q in &rules.triage {
        for key in q.leika.iter().filter(|k| !offered.iter().any(|(o, _)| o == *k)) {
            out.push(format!(
                "Die Frage „{}“ nennt die Leistung mit dem Schlüssel {key}, die Ihre Behörde nicht anbietet.",
                q.text
            ));
        }
    }
    Ok(out)
}
