//! The days of a month with free times (`/o/<slug>/termine/kalender?monat=YYYY-MM`)
//! and the free times of one day as radio buttons grouped by hour
//! (`/o/<slug>/termine/tag?tag=YYYY-MM-DD`). No date picker: a list of days, grouped
//! by week, each a link with its number of free times. Moving an appointment shows
//! the same pages under its manage link (`Target`).

use super::auswahl::{ChoiceErrors, questions_page, services_page};
use super::{authority, hidden_fields, journey_of, page_base, param, url, words};
use crate::AppState;
use crate::error::AppError;
use crate::render::{now_local, render_page};
use amtsweg_domain::Authority;
use amtsweg_domain::appointments::slots;
use amtsweg_portal::appointments::journey::{self, Chosen, Journey};
use amtsweg_portal::appointments::view::rules_of;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::civil::Date;
use minijinja::{Value, context};

/// Where the calendar pages lead: the booking journey of an authority, or the move
/// of a booked appointment (under its manage link).
pub(crate) struct Target {
    pub month_path: String,
    pub day_path: String,
    pub hold_action: String,
    /// The appointment being moved ({date, from}), shown on every page.
    pub moving: Option<Value>,
}

impl Target {
    pub(crate) fn journey(slug: &str) -> Self {
        Self {
            month_path: format!("/o/{slug}/termine/kalender"),
            day_path: format!("/o/{slug}/termine/tag"),
            hold_action: format!("/o/{slug}/termine/halten"),
            moving: None,
        }
    }
}

/// The journey checked for the calendar pages, or the page that asks to change it:
/// the questions again, the location choice, or the services page with the message.
pub(crate) async fn checked(
    state: &AppState,
    a: &Authority,
    headers: &HeaderMap,
    uri: &Uri,
    j: &Journey,
    target: &Target,
) -> Result<Result<Chosen, Response>, AppError> {
    let rules = rules_of(&state.portal, a.id).await?;
    if let Err(m) = journey::triage_outcome(&rules, j) {
        // Moving asks the questions again under the manage link; the rest comes from the booking.
        let keep = if target.moving.is_some() { Vec::new() } else { hidden_fields(j) };
        let action =
            if target.moving.is_some() { target.month_path.clone() } else { format!("/o/{}/termine/standort", a.slug) };
        return Ok(Err(questions_page(state, a, headers, uri, j, &rules, Some(m), &action, keep)?));
    }
    if j.calendar.is_none() {
        return Ok(Err(Redirect::to(&url(&format!("/o/{}/termine/standort", a.slug), j, &[])).into_response()));
    }
    match journey::choose(&state.portal, a.id, j).await? {
        Ok(c) => Ok(Ok(c)),
        Err(m) => {
            let offers = journey::offers(&state.portal, a.id).await?;
            let page = services_page(state, a, headers, uri, j, &offers, ChoiceErrors::from_message(m)).await?;
            Ok(Err(page))
        }
    }
}

/// `YYYY-MM` → (year, month).
fn parse_month(s: &str) -> Option<(i16, i8)> {
    let (y, m) = s.split_once('-')?;
    let (y, m) = (y.parse::<i16>().ok()?, m.parse::<i8>().ok()?);
    journey::first_of_month(y, m).map(|_| (y, m))
}

/// `/o/<slug>/termine/kalender`.
pub async fn month(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let a = authority(&state, &slug)?;
    let j = journey_of(uri.query());
    month_page(&state, &a, &headers, &uri, &j, &Target::journey(&slug)).await
}

/// The month page of a journey (or a move).
pub(crate) async fn month_page(
    state: &AppState,
    a: &Authority,
    headers: &HeaderMap,
    uri: &Uri,
    j: &Journey,
    target: &Target,
) -> Result<Response, AppError> {
    let chosen = match checked(state, a, headers, uri, j, target).await? {
        Ok(c) => c,
        Err(page) => return Ok(page),
    };
    let now = now_local();
    let (from, to) = slots::window(&chosen.calendar, &chosen.opening, now);
    let (year, month) =
        param(uri.query(), "monat").as_deref().and_then(parse_month).unwrap_or((from.year(), from.month()));
    let Some(first) = journey::first_of_month(year, month) else { return Err(AppError::NotFound) };
    let days = match journey::month(&state.portal, a.id, j, year, month, now).await? {
        Ok(d) => d,
        Err(m) => {
            let offers = journey::offers(&state.portal, a.id).await?;
            return services_page(state, a, headers, uri, j, &offers, ChoiceErrors::from_message(m)).await;
        }
    };
    let link = |d: Date| url(&target.month_path, j, &[("monat", &format!("{:04}-{:02}", d.year(), d.month()))]);
    let prev = first
        .yesterday()
        .ok()
        .filter(|d| *d >= from)
        .map(|d| context! { url => link(d), label => words::month_year(d) });
    let next = first
        .last_of_month()
        .tomorrow()
        .ok()
        .filter(|d| *d <= to)
        .map(|d| context! { url => link(d), label => words::month_year(d) });
    let weeks = weeks(&days, |d| url(&target.day_path, j, &[("tag", &d.to_string())]));
    let any_free = days.iter().any(|(_, n)| *n > 0);
    let message = (days.is_empty()).then(|| {
        format!(
            "In diesem Monat können Sie keine Termine buchen. Termine gibt es vom {} bis zum {}.",
            words::date_long(from),
            words::date_long(to)
        )
    });
    let change = url(&super::start_url(&a.slug), &Journey { answers: Vec::new(), calendar: None, ..j.clone() }, &[]);
    let ctx = context! {
        month => words::month_year(first), prev, next, weeks, any_free, message, change,
        services_text => services_text(state, a.id, &j.services), persons => j.persons,
        location => &chosen.location, moving => &target.moving,
        ..page_base(state, a, headers, uri, "Tag wählen")
    };
    Ok(super::private(render_page(state, "termine/kalender.html", ctx)?.into_response()))
}

/// The services by title, "Personalausweis, Reisepass".
fn services_text(state: &AppState, authority_id: i64, services: &[String]) -> String {
    services
        .iter()
        .map(|s| amtsweg_portal::appointments::view::service_title(&state.portal, authority_id, s))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The days grouped by week (Monday to Sunday), each with a link when it has free times.
fn weeks(days: &[(Date, usize)], day_url: impl Fn(Date) -> String) -> Vec<Value> {
    let mut out: Vec<(Date, Date, Vec<Value>)> = Vec::new();
    for (d, free) in days {
        let entry = context! {
            label => words::day_label(*d), free => *free,
            url => (*free > 0).then(|| day_url(*d)),
        };
        match out.last_mut() {
            Some((_, last, list)) if d.weekday() != jiff::civil::Weekday::Monday => {
                *last = *d;
                list.push(entry);
            }
            _ => out.push((*d, *d, vec![entry])),
        }
    }
    out.into_iter().map(|(first, last, days)| context! { label => words::week_label(first, last), days }).collect()
}

/// `/o/<slug>/termine/tag?tag=YYYY-MM-DD`.
pub async fn day(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let a = authority(&state, &slug)?;
    let j = journey_of(uri.query());
    let date = param(uri.query(), "tag").and_then(|t| t.parse::<Date>().ok());
    let start = param(uri.query(), "beginn");
    day_page(&state, &a, &headers, &uri, &j, &Target::journey(&slug), date, start.as_deref(), None).await
}

/// The day page of a journey (or a move); `error` (422) when no time was chosen.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn day_page(
    state: &AppState,
    a: &Authority,
    headers: &HeaderMap,
    uri: &Uri,
    j: &Journey,
    target: &Target,
    date: Option<Date>,
    chosen_start: Option<&str>,
    error: Option<&str>,
) -> Result<Response, AppError> {
    let chosen = match checked(state, a, headers, uri, j, target).await? {
        Ok(c) => c,
        Err(page) => return Ok(page),
    };
    let Some(date) = date else {
        return Ok(Redirect::to(&url(&target.month_path, j, &[])).into_response());
    };
    let times = journey::day_of(&state.portal, &chosen, date, now_local()).await?;
    let mut hours: Vec<(i8, Vec<Value>)> = Vec::new();
    for t in &times {
        let value = t.start.strftime("%Y-%m-%dT%H:%M").to_string();
        let entry = context! {
            id => t.start.strftime("%H%M").to_string(), from => t.start.strftime("%H:%M").to_string(),
            checked => chosen_start == Some(value.as_str()), value,
        };
        match hours.last_mut() {
            Some((h, list)) if *h == t.start.hour() => list.push(entry),
            _ => hours.push((t.start.hour(), vec![entry])),
        }
    }
    let hours: Vec<Value> =
        hours.into_iter().map(|(h, times)| context! { label => format!("{h} Uhr"), times }).collect();
    let token = crate::csrf::pre_session_token(headers);
    let minutes = u32::from(chosen.units) * u32::from(chosen.calendar.slot_minutes);
    let month_url = url(&target.month_path, j, &[("monat", &format!("{:04}-{:02}", date.year(), date.month()))]);
    let keep = if target.moving.is_some() { answers_only(j) } else { hidden_fields(j) };
    let ctx = context! {
        day => words::date_long(date), times => !times.is_empty(), hours, csrf => &token, keep,
        action => &target.hold_action, location => &chosen.location, minutes, month_url,
        hold_minutes => chosen.rules.hold_minutes, moving => &target.moving, date_iso => date.to_string(),
        errors => error.map(|m| vec![context! { anchor => "beginn", message => m }]).unwrap_or_default(),
        ..page_base(state, a, headers, uri, "Uhrzeit wählen")
    };
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let r = (status, render_page(state, "termine/tag.html", ctx)?).into_response();
    Ok(super::private(crate::csrf::with_pre_session_cookie(r, &token)))
}

/// The triage answers of a journey as hidden fields (a move carries nothing else).
pub(crate) fn answers_only(j: &Journey) -> Vec<Value> {
    j.answers.iter().map(|(q, a)| context! { name => format!("a_{q}"), value => a }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn months_parse_strictly() {
        assert_eq!(parse_month("2026-03"), Some((2026, 3)));
        assert_eq!(parse_month("2026-13"), None);
        assert_eq!(parse_month("März"), None);
    }

    #[test]
    fn days_are_grouped_by_week_and_only_free_days_are_links() {
        let days = [(date(2026, 11, 28), 0), (date(2026, 11, 29), 0), (date(2026, 11, 30), 3), (date(2026, 12, 1), 1)];
        let w = weeks(&days, |d| format!("/tag?tag={d}"));
        assert_eq!(w.len(), 2);
        let json = serde_json::to_string(&w).unwrap_or_default();
        assert!(json.contains("Woche vom 28. bis 29. November"), "{json}");
        assert!(json.contains("Woche vom 30. November bis 1. Dezember"), "{json}");
        assert!(json.contains("/tag?tag=2026-11-30") && !json.contains("/tag?tag=2026-11-28"), "{json}");
    }
}
