//! The double opt-in link from the e-mail, `/termin/bestaetigen/<token>`: a page
//! with one button (mail scanners that open links must not confirm), and the POST
//! that books the time and sends the confirmation with the calendar file.

use super::{appointment, private};
use crate::AppState;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_portal::PortalError;
use amtsweg_portal::appointments::booking;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;

fn base(state: &AppState, headers: &HeaderMap) -> minijinja::Value {
    crate::render::base_context(state, &state.catalogue(), None, headers, "/", Vec::new())
}

/// `GET /termin/bestaetigen/<token>`: the button.
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let csrf = crate::csrf::pre_session_token(&headers);
    let ctx = context! {
        title => "Termin bestätigen", done => false, invalid => false, csrf => &csrf,
        action => format!("/termin/bestaetigen/{token}"),
        ..base(&state, &headers)
    };
    let r = render_page(&state, "termine/bestaetigen.html", ctx)?.into_response();
    Ok(private(crate::csrf::with_pre_session_cookie(r, &csrf)))
}

/// `POST /termin/bestaetigen/<token>`: confirms the booking.
pub async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(f): Form<crate::csrf::CsrfField>,
) -> Result<Response, AppError> {
    crate::csrf::check_pre_session(&headers, &f.csrf)?;
    let (status, ctx) = match booking::confirm_email(&state.portal, &token).await {
        Ok(Ok(v)) => {
            let c = state.catalogue();
            let b = crate::render::base_context(&state, &c, c.authority(v.authority_id), &headers, "/", Vec::new());
            (StatusCode::OK, context! { title => "Ihr Termin ist gebucht", done => true, t => appointment(&v), ..b })
        }
        Ok(Err(message)) => (
            StatusCode::GONE,
            context! { title => "Dieser Link gilt nicht mehr", invalid => true, message, book_again => "/", ..base(&state, &headers) },
        ),
        Err(PortalError::NotFound) => (
            StatusCode::NOT_FOUND,
            context! {
                title => "Dieser Link gilt nicht", invalid => true, book_again => "/",
                message => "Den Bestätigungslink kennen wir nicht. Bitte prüfen Sie, ob Sie den ganzen Link aus der E-Mail übernommen haben.",
                ..base(&state, &headers)
            },
        ),
        Err(e) => return Err(e.into()),
    };
    Ok(private((status, render_page(&state, "termine/bestaetigen.html", ctx)?).into_response()))
}
