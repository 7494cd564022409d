//! "Meine Termine" in the citizen account (`/konto/termine/`): the appointments
//! booked while signed in, with a cancel button for those ahead.

use super::appointment;
use crate::AppState;
use crate::csrf::{Csrf, NoFields};
use crate::error::AppError;
use crate::konto::CitizenContext;
use crate::render::render_page;
use amtsweg_portal::appointments::manage;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;

async fn render(
    state: &AppState,
    me: &CitizenContext,
    notice: Option<&str>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let now = amtsweg_store::now_ms();
    let (mut upcoming, mut past) = (Vec::new(), Vec::new());
    for v in manage::citizen_appointments(&state.portal, me.citizen.id).await? {
        if manage::can_change(&v, now) { upcoming.push(appointment(&v)) } else { past.push(appointment(&v)) }
    }
    let status = if error.is_some() { StatusCode::CONFLICT } else { StatusCode::OK };
    let ctx = context! {
        title => "Meine Termine", upcoming, past, notice, error,
        ..crate::konto::base(state, Some(me), "/konto/termine/")
    };
    Ok(super::private((status, render_page(state, "konto/termine.html", ctx)?).into_response()))
}

/// `GET /konto/termine/`.
pub async fn list(State(state): State<AppState>, me: CitizenContext, uri: Uri) -> Result<Response, AppError> {
    let notice =
        super::param(uri.query(), "abgesagt").map(|_| "Der Termin ist abgesagt. Sie erhalten eine E-Mail dazu.");
    render(&state, &me, notice, None).await
}

/// `POST /konto/termine/<id>/absagen`.
pub async fn cancel(
    State(state): State<AppState>,
    me: CitizenContext,
    Path(id): Path<i64>,
    Csrf(Form(NoFields {})): Csrf<Form<NoFields>>,
) -> Result<Response, AppError> {
    match manage::cancel_for_citizen(&state.portal, me.citizen.id, id).await? {
        Ok(_) => Ok(Redirect::to("/konto/termine/?abgesagt=1").into_response()),
        Err(message) => render(&state, &me, None, Some(message)).await,
    }
}
