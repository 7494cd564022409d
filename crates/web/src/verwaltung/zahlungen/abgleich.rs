//! Reconciliation (`…/zahlungen/abgleich`): the bank credits the import could not
//! book alone — partial and over-payments, credits naming several or no
//! Kassenzeichen, other currencies — each with who paid, the remittance text and the
//! suggestion. A person assigns one to a Kassenzeichen (booked at once; a held
//! application paid in full is released) or closes it with a note.

use super::{Problem, StaffContext, actor, authority_value, base_url, no_store};
use crate::AppState;
use crate::csrf::Csrf;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::Authority;
use amtsweg_portal::reconcile;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;

/// What was typed for one entry, shown again with its problem.
#[derive(Default)]
struct Typed {
    entry: i64,
    kassenzeichen: String,
    note: String,
    problem: Option<Problem>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Notice {
    hinweis: String,
}

async fn render(
    state: &AppState,
    staff: &StaffContext,
    a: &Authority,
    uri: &Uri,
    typed: &Typed,
    notice: Option<&'static str>,
) -> Result<Response, AppError> {
    let entries: Vec<Value> = reconcile::to_resolve(&state.portal, a.id)
        .await?
        .into_iter()
        .map(|e| {
            let mine = typed.entry == e.id;
            let kassenzeichen =
                if mine && typed.problem.is_some() { typed.kassenzeichen.clone() } else { e.kassenzeichen.clone() };
            let error =
                typed.problem.as_ref().filter(|_| mine).map(|p| context! { field => &p.field, message => &p.message });
            context! {
                id => e.id, amount => &e.amount_de, currency => &e.currency, day => &e.booking_date,
                label => &e.match_label, reference => &e.reference, debtor => &e.details.debtor,
                debtor_iban => &e.debtor_iban, remittance => &e.details.remittance, reversal => e.details.reversal,
                end_to_end => &e.details.end_to_end, kassenzeichen, note => if mine { typed.note.as_str() } else { "" },
                error,
            }
        })
        .collect();
    let errors: Vec<&Problem> = typed.problem.iter().collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let ctx = context! {
        authority => authority_value(a), base => base_url(a), entries, errors, notice,
        ..crate::verwaltung::base(state, Some(staff), uri.path())
    };
    Ok(no_store((status, render_page(state, "verwaltung/zahlungen_abgleich.html", ctx)?).into_response()))
}

pub async fn page(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path(slug): Path<String>,
    Query(n): Query<Notice>,
) -> Result<Response, AppError> {
    let a = staff.payment_handler(&state, &slug)?;
    let notice = match n.hinweis.as_str() {
        "zugeordnet" => Some("Die Zahlung ist zugeordnet und gebucht."),
        "erledigt" => Some("Die Buchung ist ohne Zuordnung erledigt."),
        _ => None,
    };
    render(&state, &staff, &a, &uri, &Typed::default(), notice).await
}

/// The entry of the path, if it is one of the authority's (404 otherwise).
async fn entry_id(state: &AppState, a: &Authority, id: &str) -> Result<i64, AppError> {
    let id: i64 = id.trim().parse().map_err(|_| AppError::NotFound)?;
    state.store.bank_entry(a.id, id).await?.ok_or(AppError::NotFound)?;
    Ok(id)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AssignForm {
    csrf: String,
    kassenzeichen: String,
}

pub async fn assign(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path((slug, id)): Path<(String, String)>,
    Csrf(Form(f)): Csrf<Form<AssignForm>>,
) -> Result<Response, AppError> {
    let a = staff.payment_handler(&state, &slug)?;
    let id = entry_id(&state, &a, &id).await?;
    match reconcile::assign(&state.portal, &actor(&staff), a.id, id, &f.kassenzeichen).await? {
        Ok(()) => Ok(Redirect::to(&format!("{}abgleich?hinweis=zugeordnet", base_url(&a))).into_response()),
        Err(m) => {
            let typed = Typed {
                entry: id,
                kassenzeichen: f.kassenzeichen.clone(),
                problem: Some(Problem::new(format!("kz-{id}"), m)),
                ..Typed::default()
            };
            render(&state, &staff, &a, &uri, &typed, None).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DismissForm {
    csrf: String,
    notiz: String,
}

pub async fn dismiss(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path((slug, id)): Path<(String, String)>,
    Csrf(Form(f)): Csrf<Form<DismissForm>>,
) -> Result<Response, AppError> {
    let a = staff.payment_handler(&state, &slug)?;
    let id = entry_id(&state, &a, &id).await?;
    match reconcile::dismiss(&state.portal, &actor(&staff), a.id, id, &f.notiz).await? {
        Ok(()) => Ok(Redirect::to(&format!("{}abgleich?hinweis=erledigt", base_url(&a))).into_response()),
        Err(m) => {
            let typed = Typed {
                entry: id,
                note: f.notiz.clone(),
                problem: Some(Problem::new(format!("notiz-{id}"), m)),
                ..Typed::default()
            };
            render(&state, &staff, &a, &uri, &typed, None).await
        }
    }
}
