//! `GET /termin/<token>/termin.ics`: the booked appointment as a calendar file to
//! download from the manage page — the same file the confirmation e-mail carries
//! (`amtsweg_portal::appointments::mail::calendar_file`), for citizens whose e-mail
//! program does not offer to take it over. Only a booked (confirmed) appointment has
//! one; a held, expired or cancelled booking gets a 404 page that leads back.

use super::{private, termin::unknown_link};
use crate::AppState;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::appointments::AppointmentStatus;
use amtsweg_portal::appointments::view::rules_of;
use amtsweg_portal::appointments::{booking, mail};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;

/// `GET /termin/<token>/termin.ics`.
pub async fn download(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let Some(v) = booking::by_token(&state.portal, &token).await? else {
        return unknown_link(&state, &headers).await;
    };
    if v.status != AppointmentStatus::Confirmed {
        let c = state.catalogue();
        let ctx = context! {
            title => "Für diesen Termin gibt es keine Kalenderdatei",
            message => "Eine Kalenderdatei gibt es nur für einen gebuchten Termin. Dieser Termin ist noch nicht gebucht, abgesagt oder verfallen.",
            notice => true,
            primary => context! { url => format!("/termin/{token}"), label => "Zurück zum Termin" },
            ..crate::render::base_context(&state, &c, None, &headers, "/", Vec::new())
        };
        return Ok(private((StatusCode::NOT_FOUND, render_page(&state, "termine/hinweis.html", ctx)?).into_response()));
    }
    let rules = rules_of(&state.portal, v.authority_id).await?;
    let file = mail::calendar_file(&state.portal, &v, Some(&token), &rules);
    Ok(private(crate::download::attachment(file.content.into_bytes(), &file.file_name, "text/calendar; charset=utf-8")))
}
