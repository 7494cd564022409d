//! Withdrawing an application from "Meine Anträge": a page that says what
//! withdrawing means and asks for an optional reason, and the POST that does it
//! (`amtsweg_portal::casework::withdraw`). Another's application is not found; one
//! that can no longer be withdrawn says why; a reason too long comes back with the
//! text typed, nothing lost.

use crate::AppState;
use crate::csrf::Csrf;
use crate::error::AppError;
use crate::konto::CitizenContext;
use crate::render::render_page;
use amtsweg_portal::casework::withdraw::{self, MAX_REASON};
use amtsweg_store::submissions::SubmissionRow;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WithdrawForm {
    begruendung: String,
}

/// The confirmation page; `refusal` replaces the form when withdrawing is not
/// possible, `error` and `typed` come back from a refused reason.
fn page(
    state: &AppState,
    me: &CitizenContext,
    s: &SubmissionRow,
    refusal: Option<String>,
    error: Option<String>,
    typed: &str,
) -> Result<Response, AppError> {
    let authority = state.catalogue().authority(s.authority_id).map(|a| a.name.clone()).unwrap_or_default();
    let ctx = context! {
        title => format!("Antrag zurückziehen – {}", s.receipt_number),
        s => context! { id => s.id, title => &s.title, receipt_number => &s.receipt_number },
        authority, refusal, error, typed, max => MAX_REASON,
        ..crate::konto::base(state, Some(me), &format!("/konto/antraege/{}/zurueckziehen", s.id))
    };
    Ok(render_page(state, "konto/zurueckziehen.html", ctx)?.into_response())
}

/// `GET /konto/antraege/{id}/zurueckziehen`
pub async fn confirm(
    State(state): State<AppState>,
    me: CitizenContext,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let s = withdraw::own(&state.portal, me.citizen.id, id).await?;
    let refusal = withdraw::refusal(&state.portal, &s).await?;
    page(&state, &me, &s, refusal, None, "")
}

/// `POST /konto/antraege/{id}/zurueckziehen`: withdraws, then shows the application.
pub async fn submit(
    State(state): State<AppState>,
    me: CitizenContext,
    Path(id): Path<i64>,
    Csrf(Form(f)): Csrf<Form<WithdrawForm>>,
) -> Result<Response, AppError> {
    match withdraw::withdraw(&state.portal, me.citizen.id, id, &f.begruendung).await? {
        Ok(()) => Ok(Redirect::to(&format!("/konto/antraege/{id}")).into_response()),
        Err(why) => {
            let s = withdraw::own(&state.portal, me.citizen.id, id).await?;
            // Not possible any more (decided, withdrawn meanwhile): say why, no form.
            // Otherwise the reason was refused: the form again with the text typed.
            let (status, r) = match withdraw::refusal(&state.portal, &s).await? {
                Some(refusal) => (StatusCode::CONFLICT, page(&state, &me, &s, Some(refusal), None, "")?),
                None => (StatusCode::UNPROCESSABLE_ENTITY, page(&state, &me, &s, None, Some(why), &f.begruendung)?),
            };
            Ok((status, r).into_response())
        }
    }
}
