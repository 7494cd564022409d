//! "Meine Finanzen" in the citizen account (`/konto/finanzen/`): the claims
//! (Forderungen) of the municipal finance software — taxes, fees, dues — for every
//! taxpayer account (Personenkonto) linked to the citizen, per authority; one claim
//! with its notices (Bescheide) to download again, bank details with GiroCode and
//! paying online.
//!
//! An account is linked only with the one-time activation code the authority sends
//! by letter; nothing is linked by name. Wrong, used and expired codes count as
//! failures and are throttled (`amtsweg_portal::finanzen::activate`). A claim of an
//! account that is not linked to the signed-in citizen is simply not found.

use super::CitizenContext;
use crate::AppState;
use crate::antrag::zahlung::{Outcome, gateway};
use crate::csrf::{Csrf, NoFields};
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_portal::finanzen::{self, Activation, ClaimView};
use amtsweg_portal::payments::online::{self, Started};
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;

const OVERVIEW: &str = "/konto/finanzen/";

/// Pages with the citizen's money matters are never kept by caches.
fn private(mut r: Response) -> Response {
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The overview, with what the citizen typed and the problem with it, if any.
async fn render_overview(
    state: &AppState,
    me: &CitizenContext,
    status: StatusCode,
    linked: bool,
    typed: &str,
    error: Option<&str>,
) -> Result<Response, AppError> {
    let groups = finanzen::citizen_overview(&state.portal, me.citizen.id).await?;
    let ctx = context! {
        title => if error.is_some() { "Fehler: Meine Finanzen" } else { "Meine Finanzen" },
        groups => Value::from_serialize(&groups), linked, typed, error,
        ..super::base(state, Some(me), OVERVIEW)
    };
    Ok(private((status, render_page(state, "konto/finanzen.html", ctx)?).into_response()))
}

/// `GET /konto/finanzen/`: the claims of every linked account, and the form to link one.
pub async fn overview(State(state): State<AppState>, me: CitizenContext, uri: Uri) -> Result<Response, AppError> {
    let linked = form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).any(|(k, _)| k == "verknuepft");
    render_overview(&state, &me, StatusCode::OK, linked, "", None).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LinkForm {
    code: String,
}

/// `POST /konto/finanzen/verknuepfen`: links the account the activation code is for.
pub async fn link(
    State(state): State<AppState>,
    me: CitizenContext,
    client: crate::limits::Client,
    Csrf(Form(f)): Csrf<Form<LinkForm>>,
) -> Result<Response, AppError> {
    let typed: String = f.code.chars().filter(|c| !c.is_control()).take(40).collect();
    if typed.trim().is_empty() {
        // Nothing typed is no attempt: it does not count against the limit.
        let error = "Bitte geben Sie den Aktivierungscode aus dem Brief Ihrer Behörde ein.";
        return render_overview(&state, &me, StatusCode::UNPROCESSABLE_ENTITY, false, "", Some(error)).await;
    }
    let (status, error) = match finanzen::activate(&state.portal, me.citizen.id, &client.stored(), &typed).await? {
        Activation::Linked(_) => return Ok(Redirect::to(&format!("{OVERVIEW}?verknuepft=1")).into_response()),
        Activation::Wrong => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Dieser Aktivierungscode stimmt nicht. Bitte prüfen Sie ihn: Er steht im Brief Ihrer Behörde und hat die Form ABCD-EFGH-JKLM.",
        ),
        Activation::Used => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Dieser Aktivierungscode wurde schon verwendet. Jeder Code gilt nur einmal – wenn Sie Ihre Forderungen hier nicht sehen, fordern Sie bitte bei Ihrer Behörde einen neuen an.",
        ),
        Activation::Expired => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Dieser Aktivierungscode ist abgelaufen. Bitte fordern Sie bei Ihrer Behörde einen neuen an.",
        ),
        Activation::Throttled => (
            StatusCode::TOO_MANY_REQUESTS,
            "Zu viele Versuche mit falschen Codes. Zu Ihrem Schutz ist das Verknüpfen für eine Stunde gesperrt. Bitte versuchen Sie es danach noch einmal.",
        ),
    };
    let typed = if status == StatusCode::TOO_MANY_REQUESTS { "" } else { typed.trim() };
    let mut r = render_overview(&state, &me, status, false, typed, Some(error)).await?;
    if status == StatusCode::TOO_MANY_REQUESTS {
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("3600"));
    }
    Ok(r)
}

/// Where the pay button of a claim continues: the connector's pay-page origin (the
/// only one its pay pages may be on), for the page's `form-action` (see
/// `antrag::zahlung::allow_provider`).
async fn provider_origin(state: &AppState, v: &ClaimView) -> Result<Option<String>, AppError> {
    if !v.can_pay_online {
        return Ok(None);
    }
    let found = amtsweg_portal::payments::online_connector(&state.portal, v.claim.authority_id, None).await?;
    Ok(found.and_then(|(_, cfg)| cfg.pay_page_origin()))
}

async fn render_claim(
    state: &AppState,
    me: &CitizenContext,
    id: i64,
    notice: Option<Outcome>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let v = finanzen::claim_for_citizen(&state.portal, me.citizen.id, id).await?.ok_or(AppError::NotFound)?;
    // The finance software's state wins over what the provider's return said.
    let paid = v.claim.state == "settled" || (v.claim.open.0 == 0 && v.claim.state != "cancelled");
    let notice = notice.map(|n| n.given(if paid { "paid" } else { "open" }).notice());
    let bic = v.bank.as_ref().map(|b| b.bic.trim().to_owned()).unwrap_or_default();
    let recipient = v.bank.as_ref().map(|b| b.recipient.trim().to_owned()).unwrap_or_default();
    let notices: Vec<Value> = v
        .notices
        .iter()
        .map(|n| {
            context! {
                title => &n.title, file_name => &n.file_name, size => crate::antrag::eingang::file_size(n.size),
                url => format!("/konto/finanzen/{id}/bescheide/{}", n.id),
            }
        })
        .collect();
    let status = if error.is_some() { StatusCode::CONFLICT } else { StatusCode::OK };
    let ctx = context! {
        title => format!("{}{} – {}", if error.is_some() { "Fehler: " } else { "" }, v.claim.title, v.claim.kassenzeichen),
        v => Value::from_serialize(&v), notices, bic, recipient,
        girocode => v.girocode_svg.clone().map(Value::from_safe_string),
        reference => if v.rf_printed.is_empty() { v.claim.kassenzeichen.clone() } else { v.rf_printed.clone() },
        pay => format!("/konto/finanzen/{id}/bezahlen"), notice, error,
        ..super::base(state, Some(me), &format!("/konto/finanzen/{id}"))
    };
    let r = private((status, render_page(state, "konto/finanzen_forderung.html", ctx)?).into_response());
    Ok(match provider_origin(state, &v).await? {
        Some(o) => crate::security::allow_form_targets(r, &[o]),
        None => r,
    })
}

/// `GET /konto/finanzen/<id>`: one claim with its notices and how to pay it.
pub async fn claim(
    State(state): State<AppState>,
    me: CitizenContext,
    Path(id): Path<i64>,
    uri: Uri,
) -> Result<Response, AppError> {
    render_claim(&state, &me, id, Outcome::in_query(uri.query()), None).await
}

/// `POST /konto/finanzen/<id>/bezahlen`: starts (or resumes) paying the open
/// amount online and sends the citizen to the provider's pay page.
pub async fn pay(
    State(state): State<AppState>,
    me: CitizenContext,
    Path(id): Path<i64>,
    Csrf(Form(NoFields {})): Csrf<Form<NoFields>>,
) -> Result<Response, AppError> {
    match online::start_for_claim(&state.portal, &gateway(&state), me.citizen.id, id).await? {
        Started::Redirect(url) => Ok(Redirect::to(&url).into_response()),
        Started::AlreadyPaid => {
            Ok(Redirect::to(&format!("/konto/finanzen/{id}?zahlung=bezahlt#zahlung")).into_response())
        }
        Started::Refused(message) => render_claim(&state, &me, id, None, Some(message)).await,
    }
}

/// `GET /konto/finanzen/<id>/bescheide/<doc>`: a notice of the claim, always as a
/// download.
pub async fn notice(
    State(state): State<AppState>,
    me: CitizenContext,
    Path((id, doc)): Path<(i64, i64)>,
) -> Result<Response, AppError> {
    let (name, bytes) =
        finanzen::notice_for_citizen(&state.portal, me.citizen.id, id, doc).await?.ok_or(AppError::NotFound)?;
    Ok(crate::download::attachment(bytes, &name, "application/pdf"))
}
