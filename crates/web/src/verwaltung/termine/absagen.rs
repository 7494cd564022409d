//! Cancelling at the counter, always with a message to the people affected (e-mail
//! with a cancelled `.ics`, and a Postfach message when the booking came from an
//! account): one appointment (`…/<calendar id>/absagen?termin=`) or every
//! appointment of a day (`…/<calendar id>/tag-absagen?tag=`). Both ask first, on a
//! page of their own, and say how many people will be told.

use super::tag::{calendar, day_of, day_url, row_value};
use super::{StaffContext, authority_value, base_url, german_day, no_store};
use crate::AppState;
use crate::csrf::Csrf;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::Authority;
use amtsweg_domain::appointments::AppointmentStatus;
use amtsweg_portal::appointments::counter;
use amtsweg_portal::appointments::view::{self, AppointmentView};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::civil::Date;
use minijinja::context;
use serde::Deserialize;

/// An appointment of this authority and calendar, at a location this person works
/// at (404 otherwise).
async fn appointment(
    state: &AppState,
    staff: &StaffContext,
    a: &Authority,
    calendar_id: i64,
    id: &str,
) -> Result<AppointmentView, AppError> {
    calendar(state, staff, a, calendar_id).await?;
    let id: i64 = id.trim().parse().map_err(|_| AppError::NotFound)?;
    let row = state.store.appointment(a.id, id).await?.ok_or(AppError::NotFound)?;
    if row.calendar_id != calendar_id {
        return Err(AppError::NotFound);
    }
    Ok(view::view(&state.portal, &row).await?)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OneQuery {
    termin: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct OneForm {
    termin: String,
    nachricht: String,
}

fn render_one(
    state: &AppState,
    staff: &StaffContext,
    a: &Authority,
    uri: &Uri,
    v: &AppointmentView,
    message: &str,
    error: Option<String>,
) -> Result<Response, AppError> {
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! {
        authority => authority_value(a), base => base_url(a), calendar_id => v.calendar_id,
        location => &v.location.name, day => v.start.date().to_string(), day_de => german_day(v.start.date()),
        r => row_value(v, amtsweg_store::now_ms()), message, error,
        ..super::super::base(state, Some(staff), uri.path())
    };
    Ok(no_store((status, render_page(state, "verwaltung/termine/absagen.html", ctx)?).into_response()))
}

pub async fn one_form(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path((slug, calendar_id)): Path<(String, i64)>,
    Query(q): Query<OneQuery>,
) -> Result<Response, AppError> {
    let a = staff.appointment_counter(&state, &slug)?;
    let v = appointment(&state, &staff, &a, calendar_id, &q.termin).await?;
    render_one(&state, &staff, &a, &uri, &v, "", None)
}

pub async fn one_submit(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path((slug, calendar_id)): Path<(String, i64)>,
    Csrf(Form(f)): Csrf<Form<OneForm>>,
) -> Result<Response, AppError> {
    let a = staff.appointment_counter(&state, &slug)?;
    let v = appointment(&state, &staff, &a, calendar_id, &f.termin).await?;
    match counter::cancel_one(&state.portal, &staff.actor(), a.id, v.id, f.nachricht.trim()).await? {
        Ok(_) => {
            let to = format!("{}&hinweis=abgesagt", day_url(&a, calendar_id, v.start.date()));
            Ok(Redirect::to(&to).into_response())
        }
        Err(e) => render_one(&state, &staff, &a, &uri, &v, &f.nachricht, Some(e)),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DayQuery {
    tag: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DayForm {
    tag: String,
    nachricht: String,
}

#[allow(clippy::too_many_arguments)]
async fn render_day(
    state: &AppState,
    staff: &StaffContext,
    a: &Authority,
    uri: &Uri,
    calendar_id: i64,
    day: Date,
    message: &str,
    error: Option<String>,
) -> Result<Response, AppError> {
    let (row, _, location) = calendar(state, staff, a, calendar_id).await?;
    let list = counter::day_list(&state.portal, a.id, row.id, day).await?;
    let affected = list
        .iter()
        .filter(|v| matches!(v.status, AppointmentStatus::Confirmed | AppointmentStatus::Preconfirmed))
        .count();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! {
        authority => authority_value(a), base => base_url(a), calendar_id => row.id,
        location => &location.name, day => day.to_string(), day_de => german_day(day),
        affected, message, error,
        ..super::super::base(state, Some(staff), uri.path())
    };
    Ok(no_store((status, render_page(state, "verwaltung/termine/tag_absagen.html", ctx)?).into_response()))
}

pub async fn day_form(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path((slug, calendar_id)): Path<(String, i64)>,
    Query(q): Query<DayQuery>,
) -> Result<Response, AppError> {
    let a = staff.appointment_counter(&state, &slug)?;
    render_day(&state, &staff, &a, &uri, calendar_id, day_of(&q.tag), "", None).await
}

pub async fn day_submit(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path((slug, calendar_id)): Path<(String, i64)>,
    Csrf(Form(f)): Csrf<Form<DayForm>>,
) -> Result<Response, AppError> {
    let a = staff.appointment_counter(&state, &slug)?;
    let (row, _, _) = calendar(&state, &staff, &a, calendar_id).await?;
    let Some(day) = super::parse_date(&f.tag) else {
        return Err(AppError::BadRequest("Der Tag fehlt.".into()));
    };
    match counter::cancel_day(&state.portal, &staff.actor(), a.id, row.id, day, f.nachricht.trim()).await? {
        Ok(n) => {
            let to = format!("{}&hinweis=tag-abgesagt&anzahl={n}", day_url(&a, calendar_id, day));
            Ok(Redirect::to(&to).into_response())
        }
        Err(e) => render_day(&state, &staff, &a, &uri, calendar_id, day, &f.nachricht, Some(e)).await,
    }
}
