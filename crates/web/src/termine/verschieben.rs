//! Moving a booking under its manage link: `/termin/<token>/verschieben` (the month),
//! `…/verschieben/tag?tag=` (the day) and `POST …/verschieben` (hold the new time).
//! The old booking stays until the new one is confirmed; the portal then cancels it
//! in the same transaction, so the appointment never occupies two times.

use super::halten::{HoldForm, answer, no_time};
use super::kalender::{Target, answers_only, day_page, month_page};
use super::termin::movable;
use super::{appointment, journey_of, param};
use crate::AppState;
use crate::error::AppError;
use crate::limits::Client;
use amtsweg_domain::Authority;
use amtsweg_portal::PortalError;
use amtsweg_portal::appointments::manage;
use amtsweg_portal::appointments::view::AppointmentView;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use jiff::civil::Date;
use minijinja::context;
use std::sync::Arc;

fn target(token: &str, v: &AppointmentView) -> Target {
    let base = format!("/termin/{token}/verschieben");
    let t = appointment(v);
    Target {
        month_path: base.clone(),
        day_path: format!("{base}/tag"),
        hold_action: base,
        moving: Some(context! { date => t.get_attr("date").ok(), from => t.get_attr("from").ok() }),
    }
}

fn authority_of(state: &AppState, v: &AppointmentView) -> Result<Arc<Authority>, AppError> {
    let c = state.catalogue();
    let slug = c.authority(v.authority_id).map(|a| a.slug.to_string()).ok_or(AppError::NotFound)?;
    c.shared_authority_by_slug(&slug).ok_or(AppError::NotFound)
}

/// `GET /termin/<token>/verschieben`: the month (after the triage questions again,
/// when the authority asks any for these services).
pub async fn month(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let v = match movable(&state, &headers, &uri, &token).await? {
        Ok(v) => v,
        Err(page) => return Ok(page),
    };
    let a = authority_of(&state, &v)?;
    let j = manage::journey_of(&v, journey_of(uri.query()).answers);
    month_page(&state, &a, &headers, &uri, &j, &target(&token, &v)).await
}

/// `GET /termin/<token>/verschieben/tag?tag=YYYY-MM-DD`.
pub async fn day(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let v = match movable(&state, &headers, &uri, &token).await? {
        Ok(v) => v,
        Err(page) => return Ok(page),
    };
    let a = authority_of(&state, &v)?;
    let j = manage::journey_of(&v, journey_of(uri.query()).answers);
    let date = param(uri.query(), "tag").and_then(|t| t.parse::<Date>().ok());
    day_page(&state, &a, &headers, &uri, &j, &target(&token, &v), date, None, None).await
}

/// `POST /termin/<token>/verschieben`: holds the new time for the booking.
pub async fn hold(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    client: Client,
    Path(token): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let form = HoldForm::parse(&body);
    form.check(&headers)?;
    let v = match movable(&state, &headers, &uri, &token).await? {
        Ok(v) => v,
        Err(page) => return Ok(page),
    };
    let a = authority_of(&state, &v)?;
    let j = manage::journey_of(&v, form.journey().answers);
    let t = target(&token, &v);
    let Some(start) = form.start() else {
        return no_time(&state, &a, &headers, &uri, &j, &t, &form).await;
    };
    let outcome = match manage::move_hold(&state.portal, &token, &j, start, &client.stored()).await {
        Ok(o) => o,
        Err(PortalError::NotFound) => return super::termin::unknown_link(&state, &headers).await,
        Err(e) => return Err(e.into()),
    };
    let month_url = super::url(&t.month_path, &j, &[]);
    answer(&state, &a, &headers, &uri, &t, &month_url, &answers_only(&j), outcome)
}
