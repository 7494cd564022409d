//! `…/<calendar id>/zahlen?monat=YYYY-MM`: simple figures of one location and month
//! (booked, still free, cancelled, missed, attended). They hold no personal data, so
//! those who configure the calendar see them as well as the counter.

use super::tag::{any_calendar, calendar};
use super::{StaffContext, authority_value, base_url, no_store, today};
use crate::AppState;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_portal::appointments::counter;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use minijinja::context;
use serde::Deserialize;

const MONTHS: [&str; 12] = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
];

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MonthQuery {
    monat: String,
}

/// The first day of `YYYY-MM`, or of this month when it is missing or unreadable.
fn month_of(s: &str) -> Date {
    s.split_once('-')
        .and_then(|(y, m)| Date::new(y.trim().parse().ok()?, m.trim().parse().ok()?, 1).ok())
        .unwrap_or_else(|| today().first_of_month())
}

/// "November 2026".
fn month_name(d: Date) -> String {
    let i = usize::try_from(d.month() - 1).unwrap_or(0) % 12;
    format!("{} {}", MONTHS[i], d.year())
}

pub async fn page(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path((slug, calendar_id)): Path<(String, i64)>,
    Query(q): Query<MonthQuery>,
) -> Result<Response, AppError> {
    let rights = staff.appointment_rights(&state, &slug)?;
    let a = &rights.authority;
    // The figures hold no personal data: those who configure see every location,
    // the counter only the locations it works at.
    let (row, _, location) = if rights.configure {
        any_calendar(&state, a, calendar_id).await?
    } else {
        calendar(&state, &staff, a, calendar_id).await?
    };
    let counter = rights.counter && staff.counter_scope(&state, a.id).await?.covers(location.id);
    let month = month_of(&q.monat);
    let f = counter::figures(&state.portal, a.id, row.id, month.year(), month.month()).await?;
    let ym = |d: Date| d.strftime("%Y-%m").to_string();
    let previous = month.checked_sub(jiff::Span::new().months(1)).ok().map(ym);
    let next = month.checked_add(jiff::Span::new().months(1)).ok().map(ym);
    let ctx = context! {
        authority => authority_value(a), base => base_url(a), calendar_id => row.id, location => &location.name,
        counter, month => month_name(month), today => today().to_string(), previous, next,
        figures => context! {
            booked => f.booked, cancelled => f.cancelled, missed => f.missed, attended => f.attended,
            free_hours => f.free_hours(), capacity_hours => f.capacity * i64::from(f.slot_minutes) / 60,
        },
        ..super::super::base(&state, Some(&staff), uri.path())
    };
    Ok(no_store(render_page(&state, "verwaltung/termine/zahlen.html", ctx)?.into_response()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_read_and_named() {
        let d = month_of("2026-11");
        assert_eq!(d, Date::new(2026, 11, 1).unwrap());
        assert_eq!(month_name(d), "November 2026");
        assert_eq!(month_of("2026-13"), today().first_of_month());
    }
}
