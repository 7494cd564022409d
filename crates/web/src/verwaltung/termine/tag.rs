//! The counter's day list: `/verwaltung/behoerden/<slug>/termine/<calendar id>/tag?tag=`
//! with the appointments of one location and day (time, reference, services,
//! persons, name and contact, status), a print view (`&druck=1`), a search by
//! reference or name (`&q=`), marking attended or missed, and the day as CSV and
//! `.ics`. Every look at the list is in the audit log (it shows personal data).

use super::{StaffContext, authority_value, base_url, german_day, no_store, parse_date, today};
use crate::AppState;
use crate::csrf::Csrf;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::Authority;
use amtsweg_domain::appointments::{AppointmentStatus, Calendar};
use amtsweg_portal::appointments::counter;
use amtsweg_portal::appointments::view::{self, AppointmentView};
use amtsweg_store::Location;
use amtsweg_store::appointments::CalendarRow;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::civil::Date;
use minijinja::{Value, context};
use serde::Deserialize;

/// The calendar of the path for the counter's pages: 404 unless it belongs to the
/// authority and its location is one this person works at (a location outside their
/// org unit answers like a foreign id, so its existence is not confirmed).
pub(crate) async fn calendar(
    state: &AppState,
    staff: &StaffContext,
    a: &Authority,
    calendar_id: i64,
) -> Result<(CalendarRow, Calendar, Location), AppError> {
    let found = any_calendar(state, a, calendar_id).await?;
    if staff.counter_scope(state, a.id).await?.covers(found.0.location_id) {
        Ok(found)
    } else {
        Err(AppError::NotFound)
    }
}

/// The calendar of the path, if it belongs to the authority (404 otherwise), whoever
/// may use it: for pages without personal data (the figures).
pub(crate) async fn any_calendar(
    state: &AppState,
    a: &Authority,
    calendar_id: i64,
) -> Result<(CalendarRow, Calendar, Location), AppError> {
    view::calendar_of(&state.portal, a.id, calendar_id).await?.ok_or(AppError::NotFound)
}

/// The day of the query, today when none or unreadable.
pub(crate) fn day_of(tag: &str) -> Date {
    parse_date(tag).unwrap_or_else(today)
}

/// The day list's address.
pub(crate) fn day_url(a: &Authority, calendar_id: i64, day: Date) -> String {
    format!("{}{calendar_id}/tag?tag={day}", base_url(a))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DayQuery {
    tag: String,
    druck: String,
    q: String,
    hinweis: String,
    anzahl: String,
}

/// One appointment as a row of the list.
pub(crate) fn row_value(v: &AppointmentView, now_ms: i64) -> Value {
    let contact = v.contact.as_ref();
    let active = matches!(v.status, AppointmentStatus::Confirmed | AppointmentStatus::Preconfirmed);
    context! {
        id => v.id, reference => &v.reference,
        day => german_day(v.start.date()), date => v.start.date().to_string(),
        time => format!("{}–{}", v.start.strftime("%H:%M"), v.end.strftime("%H:%M")),
        services => v.services_de(), persons => v.persons,
        name => contact.map(|c| c.name.as_str()), email => contact.map(|c| c.email.as_str()),
        phone => contact.map(|c| c.phone.as_str()), notes => contact.map(|c| c.notes.as_str()),
        status => v.status.as_str(), status_label => v.status.label_de(),
        location => &v.location.name, calendar_id => v.calendar_id,
        receipt => &v.receipt_number, by_staff => v.booked_by == "staff", from_account => v.citizen_id.is_some(),
        can_mark => matches!(v.status, AppointmentStatus::Confirmed | AppointmentStatus::Attended | AppointmentStatus::Missed)
            && v.starts_at <= now_ms,
        can_cancel => active && v.is_ahead(now_ms),
    }
}

pub(crate) struct DayPage<'a> {
    pub day: Date,
    pub print: bool,
    pub q: &'a str,
    pub notice: &'a str,
    pub count: &'a str,
    pub error: Option<String>,
}

pub(crate) async fn render_day(
    state: &AppState,
    staff: &StaffContext,
    headers: &HeaderMap,
    a: &Authority,
    calendar_id: i64,
    uri: &Uri,
    page: DayPage<'_>,
) -> Result<Response, AppError> {
    let (row, _, location) = calendar(state, staff, a, calendar_id).await?;
    let now_ms = amtsweg_store::now_ms();
    let list = counter::day_list(&state.portal, a.id, row.id, page.day).await?;
    let rows: Vec<Value> = list.iter().map(|v| row_value(v, now_ms)).collect();
    let q = page.q.trim();
    let found: Option<Vec<Value>> = if q.is_empty() {
        None
    } else {
        // The search spans every location of the authority: keep those of this person's.
        let scope = staff.counter_scope(state, a.id).await?;
        let hits = counter::search(&state.portal, a.id, q, today()).await?;
        Some(hits.iter().filter(|v| scope.covers(v.location.id)).map(|v| row_value(v, now_ms)).collect())
    };
    crate::audit::audit_view(
        state,
        headers,
        &staff.actor(),
        Some(a.id),
        "appointment.day_viewed",
        &format!("calendar:{}:{}", row.id, page.day),
    )
    .await?;
    let day = page.day;
    let status = if page.error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! {
        authority => authority_value(a), base => base_url(a),
        location => context! { id => location.id, name => &location.name }, calendar_id => row.id,
        day => day.to_string(), day_de => german_day(day),
        previous => day.yesterday().ok().map(|d| d.to_string()), next => day.tomorrow().ok().map(|d| d.to_string()),
        today => today().to_string(), month => day.strftime("%Y-%m").to_string(),
        rows, found, q, print => page.print, notice => page.notice, count => page.count, error => page.error,
        active => list.iter().filter(|v| matches!(v.status, AppointmentStatus::Confirmed | AppointmentStatus::Preconfirmed)).count(),
        ..super::super::base(state, Some(staff), uri.path())
    };
    Ok(no_store((status, render_page(state, "verwaltung/termine/tag.html", ctx)?).into_response()))
}

pub async fn page(
    State(state): State<AppState>,
    staff: StaffContext,
    headers: HeaderMap,
    uri: Uri,
    Path((slug, calendar_id)): Path<(String, i64)>,
    Query(query): Query<DayQuery>,
) -> Result<Response, AppError> {
    let a = staff.appointment_counter(&state, &slug)?;
    let notice = match query.hinweis.as_str() {
        n @ ("markiert" | "abgesagt" | "tag-abgesagt" | "gebucht") => n,
        _ => "",
    };
    let page = DayPage {
        day: day_of(&query.tag),
        print: !query.druck.is_empty(),
        q: &query.q,
        notice,
        count: &query.anzahl,
        error: None,
    };
    render_day(&state, &staff, &headers, &a, calendar_id, &uri, page).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MarkForm {
    termin: String,
    status: String,
    tag: String,
}

/// Marks an appointment attended or missed, then shows the day again.
pub async fn mark(
    State(state): State<AppState>,
    staff: StaffContext,
    headers: HeaderMap,
    uri: Uri,
    Path((slug, calendar_id)): Path<(String, i64)>,
    Csrf(Form(f)): Csrf<Form<MarkForm>>,
) -> Result<Response, AppError> {
    let a = staff.appointment_counter(&state, &slug)?;
    let (row, _, _) = calendar(&state, &staff, &a, calendar_id).await?;
    let id: i64 = f.termin.trim().parse().map_err(|_| AppError::NotFound)?;
    // Only an appointment of this calendar: the check above covers this location only.
    match state.store.appointment(a.id, id).await? {
        Some(appointment) if appointment.calendar_id == row.id => {}
        _ => return Err(AppError::NotFound),
    }
    let status = match f.status.as_str() {
        "attended" => AppointmentStatus::Attended,
        "missed" => AppointmentStatus::Missed,
        _ => return Err(AppError::BadRequest("Unbekannter Stand.".into())),
    };
    let day = day_of(&f.tag);
    match counter::mark(&state.portal, &staff.actor(), a.id, id, status).await? {
        Ok(_) => {
            Ok(Redirect::to(&format!("{}&hinweis=markiert#termin-{id}", day_url(&a, calendar_id, day))).into_response())
        }
        Err(message) => {
            let page = DayPage { day, print: false, q: "", notice: "", count: "", error: Some(message) };
            render_day(&state, &staff, &headers, &a, calendar_id, &uri, page).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ExportQuery {
    tag: String,
}

/// What the file of a day is called: "termine-rathaus-2026-11-24.csv".
fn file_name(location: &Location, day: Date, ext: &str) -> String {
    format!("termine-{}-{day}.{ext}", location.slug)
}

/// Which export of a day: its file extension and content type.
#[derive(Clone, Copy)]
enum Export {
    Csv,
    Ics,
}

pub async fn csv(
    state: State<AppState>,
    staff: StaffContext,
    headers: HeaderMap,
    path: Path<(String, i64)>,
    query: Query<ExportQuery>,
) -> Result<Response, AppError> {
    export(state, staff, headers, path, query, Export::Csv).await
}

pub async fn ics(
    state: State<AppState>,
    staff: StaffContext,
    headers: HeaderMap,
    path: Path<(String, i64)>,
    query: Query<ExportQuery>,
) -> Result<Response, AppError> {
    export(state, staff, headers, path, query, Export::Ics).await
}

/// A day of one calendar as a download; every export is audited (it holds personal data).
async fn export(
    State(state): State<AppState>,
    staff: StaffContext,
    headers: HeaderMap,
    Path((slug, calendar_id)): Path<(String, i64)>,
    Query(query): Query<ExportQuery>,
    kind: Export,
) -> Result<Response, AppError> {
    let a = staff.appointment_counter(&state, &slug)?;
    let (row, _, location) = calendar(&state, &staff, &a, calendar_id).await?;
    let day = day_of(&query.tag);
    let list = counter::day_list(&state.portal, a.id, row.id, day).await?;
    let actor = staff.actor();
    let target = format!("calendar:{}:{day}", row.id);
    crate::audit::audit_view(&state, &headers, &actor, Some(a.id), "appointment.day_exported", &target).await?;
    let (body, ext, content_type) = match kind {
        Export::Csv => (counter::day_csv(&list), "csv", "text/csv; charset=utf-8"),
        Export::Ics => (counter::day_ics(&state.portal, &list), "ics", "text/calendar; charset=utf-8"),
    };
    Ok(crate::download::attachment(body.into_bytes(), &file_name(&location, day, ext), content_type))
}
