//! The appointments of the client's authority for counter and queue software: one
//! location's day (with the citizens' names and contact data — the authority's own
//! back office needs them to call people up; the client holds the scope `termine`
//! only when an administrator of that authority granted it), and the counter's marks
//! attended, missed and cancelled.

use super::APPOINTMENTS;
use super::Problem;
use super::antraege::invalid;
use super::auth::Client;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::AppState;
use amtsweg_domain::appointments::AppointmentStatus;
use amtsweg_portal::appointments::counter;
use amtsweg_portal::appointments::view::{AppointmentView, address, calendar_of};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    /// The calendar (Standort) id, as the back office shows it.
    #[param(required = true)]
    standort: Option<i64>,
    /// The day, `YYYY-MM-DD` (German civil date).
    #[param(required = true, value_type = String, format = Date, example = "2026-12-08")]
    tag: Option<String>,
}

/// The states an appointment of a day list can be in.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // Only documents the values `AppointmentItem::status` takes.
#[schema(rename_all = "lowercase")]
pub enum AppointmentState {
    Preconfirmed,
    Confirmed,
    Cancelled,
    Attended,
    Missed,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LocationRef {
    /// The calendar id (`standort`).
    calendar_id: i64,
    location_id: i64,
    name: String,
    /// "Bürgerbüro, Markt 1, 29391 Moorbrück".
    address: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BookedService {
    /// LeiKa key.
    leika: String,
    title: String,
    persons: u8,
}

/// What the citizen entered when booking. Absent once the personal data was deleted
/// (the configured number of days after the appointment).
#[derive(Debug, Serialize, ToSchema)]
pub struct AppointmentContact {
    name: String,
    email: String,
    /// Empty when none was given.
    phone: String,
    /// Empty when none was given.
    notes: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppointmentItem {
    id: i64,
    /// What the citizen quotes at the counter, e.g. `T-7KQ2-M9XD`.
    reference: String,
    #[schema(value_type = AppointmentState)]
    status: String,
    /// The status in words, e.g. "gebucht".
    status_label: String,
    /// RFC 3339 with the German offset, e.g. `2026-12-08T09:10:00+01:00`.
    start: String,
    end: String,
    /// The counter (Schalter) the appointment was given, counting from 1.
    counter: i64,
    services: Vec<BookedService>,
    persons: u8,
    contact: Option<AppointmentContact>,
    /// The Eingangsnummer of the application the appointment belongs to, if any.
    receipt_number: Option<String>,
    /// `citizen` (online) or `staff` (booked on behalf of a caller).
    booked_by: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppointmentDay {
    location: LocationRef,
    /// `YYYY-MM-DD`.
    date: String,
    /// By start time.
    items: Vec<AppointmentItem>,
}

/// RFC 3339 in German time with its offset.
fn local(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(amtsweg_portal::time::berlin()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
        .unwrap_or_default()
}

fn item(v: AppointmentView) -> AppointmentItem {
    AppointmentItem {
        id: v.id,
        reference: v.reference,
        status: v.status.as_str().to_owned(),
        status_label: v.status.label_de().to_owned(),
        start: local(v.starts_at),
        end: local(v.ends_at),
        counter: v.counter + 1,
        services: v
            .services
            .into_iter()
            .map(|(leika, title, persons)| BookedService { leika, title, persons })
            .collect(),
        persons: v.persons,
        contact: v.contact.map(|c| AppointmentContact { name: c.name, email: c.email, phone: c.phone, notes: c.notes }),
        receipt_number: v.receipt_number,
        booked_by: v.booked_by,
    }
}

fn unknown_calendar() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "unknown-calendar",
        "Diesen Standort mit Terminkalender gibt es für Ihren Zugang nicht.".into(),
        "There is no such calendar (standort) for this client.".into(),
    )
}

fn unknown_appointment() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "unknown-appointment",
        "Diesen Termin gibt es für Ihren Zugang nicht.".into(),
        "There is no such appointment for this client.".into(),
    )
}

/// The appointments of one location and day, by start time: booked, waiting for the
/// e-mail confirmation, attended, missed and cancelled ones (times only held while a
/// citizen types are not listed). Includes the citizens' names and contact data; each
/// call is written to the authority's audit log.
#[utoipa::path(get, path = "/api/v1/termine", tag = "appointments", operation_id = "appointments_day", params(DayQuery),
    security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, body = AppointmentDay), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn day(
    State(state): State<AppState>,
    client: Client,
    ApiQuery(q): ApiQuery<DayQuery>,
) -> Result<Json<AppointmentDay>, Problem> {
    client.require(APPOINTMENTS)?;
    let Some(calendar_id) = q.standort else {
        return Err(invalid(
            "Bitte geben Sie den Standort an: standort=<Kennung des Kalenders>.",
            "The query parameter standort (the calendar id) is missing.",
        ));
    };
    let date = match q.tag.as_deref().map(str::trim) {
        None | Some("") => {
            return Err(invalid("Bitte geben Sie den Tag an: tag=JJJJ-MM-TT.", "The query parameter tag is missing."));
        }
        Some(t) => t.parse::<jiff::civil::Date>().map_err(|_| {
            invalid(
                &format!("„{t}“ ist kein Tag im Format JJJJ-MM-TT (z. B. 2026-12-08)."),
                &format!("\"{t}\" is not a date as YYYY-MM-DD (e.g. 2026-12-08)."),
            )
        })?,
    };
    let a = client.row.authority_id;
    let (row, _, location) =
        calendar_of(&state.portal, a, calendar_id).await.map_err(Problem::from)?.ok_or_else(unknown_calendar)?;
    let views = counter::day_list(&state.portal, a, calendar_id, date).await.map_err(Problem::from)?;
    client.audit(&state, "api.appointments.day", &format!("calendar:{calendar_id}/{date}")).await?;
    Ok(Json(AppointmentDay {
        location: LocationRef {
            calendar_id: row.id,
            location_id: location.id,
            address: address(&location),
            name: location.name,
        },
        date: date.to_string(),
        items: views.into_iter().map(item).collect(),
    }))
}

/// What the counter reports about an appointment.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppointmentStatusUpdate {
    #[schema(value_type = NewAppointmentStatus)]
    status: String,
    /// For `cancelled`: a message to the citizen, sent with the cancellation by e-mail
    /// (and to the Postfach when the booking came from an account).
    #[serde(default)]
    #[schema(max_length = 2000)]
    message: String,
}

/// The states the counter may set.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // Only documents the values `AppointmentStatusUpdate::status` accepts.
#[schema(rename_all = "lowercase")]
pub enum NewAppointmentStatus {
    Attended,
    Missed,
    Cancelled,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppointmentStatusResult {
    id: i64,
    #[schema(value_type = AppointmentState)]
    status: String,
    status_label: String,
}

/// Marks an appointment as attended or missed (no-show), or cancels it; a
/// cancellation is sent to the citizen with an updated calendar file. Only from a
/// state that allows it: attended and missed from a booked appointment once it has
/// begun (or each other, to correct a mark), cancelled from a booked one that has not
/// yet begun; otherwise 409 with the reason, and nothing changes.
#[utoipa::path(post, path = "/api/v1/termine/{id}/status", tag = "appointments", operation_id = "appointment_status", params(("id" = i64, Path)),
    request_body = AppointmentStatusUpdate, security(("bearer" = []), ("api_key" = [])),
    responses((status = 200, body = AppointmentStatusResult), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn status(
    State(state): State<AppState>,
    client: Client,
    ApiPath(id): ApiPath<i64>,
    ApiJson(u): ApiJson<AppointmentStatusUpdate>,
) -> Result<Json<AppointmentStatusResult>, Problem> {
    client.require(APPOINTMENTS)?;
    let to = match AppointmentStatus::parse(&u.status) {
        Ok(s @ (AppointmentStatus::Attended | AppointmentStatus::Missed | AppointmentStatus::Cancelled)) => s,
        _ => {
            return Err(invalid(
                "status muss „attended“, „missed“ oder „cancelled“ sein.",
                "status must be \"attended\", \"missed\" or \"cancelled\".",
            ));
        }
    };
    if u.message.chars().count() > 2000
        || u.message.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(invalid(
            "Die Nachricht darf höchstens 2000 Zeichen lang sein und keine Steuerzeichen enthalten.",
            "The message may have at most 2000 characters and no control characters.",
        ));
    }
    let a = client.row.authority_id;
    if state.store.appointment(a, id).await.map_err(Problem::from)?.is_none() {
        return Err(unknown_appointment());
    }
    let actor = client.actor().audit;
    let done = if to == AppointmentStatus::Cancelled {
        counter::cancel_one(&state.portal, &actor, a, id, u.message.trim()).await
    } else {
        counter::mark(&state.portal, &actor, a, id, to).await
    }
    .map_err(Problem::from)?;
    match done {
        Ok(v) => Ok(Json(AppointmentStatusResult {
            id,
            status: v.status.as_str().to_owned(),
            status_label: v.status.label_de().to_owned(),
        })),
        Err(why) => Err(Problem::new(
            StatusCode::CONFLICT,
            "invalid-transition",
            why,
            format!(
                "The appointment cannot become {} now (its state does not allow it, or it has not begun yet).",
                to.as_str()
            ),
        )),
    }
}
