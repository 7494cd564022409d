//! The secret manage link `/termin/<token>`: while the time is held, the contact
//! form ("reserviert bis 14:32 Uhr"); afterwards the booking with cancel and move;
//! and pages that explain an expired hold, a cancelled or past appointment. An
//! unknown or altered link gets a 404 page that leads to booking again.

use super::{appointment, book_again_url, link_base, private};
use crate::AppState;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::LeikaKey;
use amtsweg_domain::appointments::AppointmentStatus;
use amtsweg_portal::PortalError;
use amtsweg_portal::appointments::view::{AppointmentView, Contact, rules_of};
use amtsweg_portal::appointments::{booking, manage};
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use std::collections::BTreeMap;

/// What the page shows for a booking in its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Held,
    HoldExpired,
    Preconfirmed,
    Confirmed,
    Past,
    Cancelled,
    Expired,
}

fn stage(v: &AppointmentView, now_ms: i64) -> Stage {
    let holding = v.hold_until.is_some_and(|h| h > now_ms);
    match v.status {
        AppointmentStatus::Held if holding => Stage::Held,
        AppointmentStatus::Held => Stage::HoldExpired,
        AppointmentStatus::Preconfirmed if holding && v.starts_at > now_ms => Stage::Preconfirmed,
        AppointmentStatus::Preconfirmed | AppointmentStatus::Expired => Stage::Expired,
        AppointmentStatus::Confirmed if v.starts_at > now_ms => Stage::Confirmed,
        AppointmentStatus::Confirmed | AppointmentStatus::Attended | AppointmentStatus::Missed => Stage::Past,
        AppointmentStatus::Cancelled => Stage::Cancelled,
    }
}

/// The contact form as posted.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ContactForm {
    csrf: String,
    name: String,
    email: String,
    phone: String,
    notes: String,
}

/// The form of a button (cancel, confirm by e-mail link).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct Button {
    csrf: String,
}

/// The 404 page of an unknown, altered or deleted manage link: where to book again.
pub(crate) async fn unknown_link(state: &AppState, headers: &HeaderMap) -> Result<Response, AppError> {
    let c = state.catalogue();
    let mut ids: Vec<i64> =
        state.store.all_appointment_calendars().await?.into_iter().map(|r| r.authority_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let links: Vec<Value> = ids
        .iter()
        .filter_map(|id| c.authority(*id))
        .map(|a| context! { url => super::start_url(&a.slug), label => format!("Termin bei {} vereinbaren", a.name) })
        .collect();
    let ctx = context! {
        title => "Diesen Termin-Link kennen wir nicht",
        message => "Der Link ist unvollständig, wurde verändert oder gehört zu einem Termin, dessen Daten schon gelöscht sind. Bitte prüfen Sie, ob Sie den ganzen Link aus der E-Mail übernommen haben. Sie können auch einen neuen Termin vereinbaren.",
        notice => true, links,
        ..crate::render::base_context(state, &c, None, headers, "/", Vec::new())
    };
    Ok(private((StatusCode::NOT_FOUND, render_page(state, "termine/hinweis.html", ctx)?).into_response()))
}

/// The "documents to bring" text of each booked service (its "Unterlagen" module).
fn documents(state: &AppState, v: &AppointmentView) -> Vec<Value> {
    let c = state.catalogue();
    v.services
        .iter()
        .filter_map(|(leika, title, _)| {
            let l = c.leistung_by_leika(v.authority_id, &LeikaKey::parse(leika).ok()?)?;
            let (_, html) = c.modules_html(l.id).iter().find(|(m, _)| m.key() == "documents")?;
            Some(context! { title, html => Value::from_safe_string(html.clone()) })
        })
        .collect()
}

/// Which field a message of the portal is about (for the error summary's link).
fn field_of(message: &str) -> Option<&'static str> {
    if message.contains("Name") {
        Some("name")
    } else if message.contains("E-Mail") {
        Some("email")
    } else if message.contains("Telefon") {
        Some("phone")
    } else if message.contains("Anmerkung") {
        Some("notes")
    } else {
        None
    }
}

/// The manage page of `v` with an optional message (`error`: what went wrong with
/// the last action) and the contact as typed.
async fn render(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    token: &str,
    v: &AppointmentView,
    error: Option<String>,
    typed: Option<Contact>,
) -> Result<Response, AppError> {
    let now = amtsweg_store::now_ms();
    let st = stage(v, now);
    let rules = rules_of(&state.portal, v.authority_id).await?;
    let me = super::citizen(state, headers, uri).await;
    let csrf = crate::csrf::pre_session_token(headers);
    let base = format!("/termin/{token}");
    let hold_until = v.hold_until.map(|h| {
        jiff::Timestamp::from_millisecond(h)
            .map(|t| t.to_zoned(crate::render::berlin()).strftime("%H:%M").to_string())
            .unwrap_or_default()
    });
    let replaces = match v.replaces_id.filter(|_| st == Stage::Held) {
        Some(id) => match state.store.appointment(v.authority_id, id).await? {
            Some(row) => Some(appointment(&amtsweg_portal::appointments::view::view(&state.portal, &row).await?)),
            None => None,
        },
        None => None,
    };
    // The contact form starts from what was typed, the booking being moved, or the account.
    let contact = match typed {
        Some(c) => c,
        None if st == Stage::Held => match manage::prefill(&state.portal, v).await? {
            Some(c) => c,
            None => Contact {
                email: me.as_ref().and_then(|m| m.citizen.email.clone()).unwrap_or_default(),
                ..Contact::default()
            },
        },
        None => Contact::default(),
    };
    let (title, message, status) = match st {
        Stage::Held => ("Ihre Angaben zum Termin", None, StatusCode::OK),
        Stage::HoldExpired => ("Die Reservierung ist abgelaufen", None, StatusCode::GONE),
        Stage::Preconfirmed => ("Bitte bestätigen Sie Ihren Termin", None, StatusCode::OK),
        Stage::Confirmed => ("Ihr Termin", None, StatusCode::OK),
        Stage::Past => ("Dieser Termin liegt in der Vergangenheit", None, StatusCode::OK),
        Stage::Cancelled => (
            "Dieser Termin ist abgesagt",
            Some(
                "Der Termin wurde abgesagt; die Zeit ist wieder frei. Wenn Sie doch einen Termin brauchen, vereinbaren Sie bitte einen neuen.",
            ),
            StatusCode::OK,
        ),
        Stage::Expired => (
            "Diese Buchung ist verfallen",
            Some(
                "Die Buchung wurde nicht rechtzeitig über den Link in der E-Mail bestätigt. Deshalb haben wir die Zeit wieder freigegeben. Es besteht kein Termin.",
            ),
            StatusCode::GONE,
        ),
    };
    let (errors, field_errors, status) = match &error {
        Some(m) if st == Stage::Held => {
            let field = field_of(m);
            let anchor = field.unwrap_or("name");
            let fields: BTreeMap<&str, String> = field.map(|f| (f, m.clone())).into_iter().collect();
            (vec![context! { anchor, message => m }], fields, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Some(_) => (Vec::new(), BTreeMap::new(), if status == StatusCode::OK { StatusCode::CONFLICT } else { status }),
        None => (Vec::new(), BTreeMap::new(), status),
    };
    // A message about the last action on a page that changed stage is shown instead of the stage's own.
    let message = error.clone().filter(|_| st != Stage::Held).or_else(|| message.map(str::to_owned));
    let stage_name = match st {
        Stage::Held => "held",
        Stage::HoldExpired => "hold_expired",
        Stage::Preconfirmed => "preconfirmed",
        Stage::Confirmed => "confirmed",
        Stage::Past => "past",
        Stage::Cancelled | Stage::Expired => "other",
    };
    let fresh = super::param(uri.query(), "neu").is_some() && error.is_none();
    let ctx = context! {
        title, message, stage => stage_name, t => appointment(v), fresh,
        hold_until, replaces, contact, errors, field_errors,
        double_opt_in => rules.double_opt_in && me.is_none() && v.citizen_id.is_none(),
        csrf => &csrf, action => format!("{base}/bestaetigen"), cancel_action => format!("{base}/absagen"),
        move_url => manage::can_change(v, now).then(|| format!("{base}/verschieben")),
        ics_url => (st == Stage::Confirmed).then(|| format!("{base}/termin.ics")),
        email => v.contact.as_ref().map(|c| c.email.clone()),
        confirm_until => v.hold_until.map(amtsweg_portal::time::when),
        documents => documents(state, v),
        book_again => book_again_url(state, v),
        ..link_base(state, v.authority_id, headers)
    };
    let r = (status, render_page(state, "termine/termin.html", ctx)?).into_response();
    Ok(private(crate::csrf::with_pre_session_cookie(r, &csrf)))
}

/// `GET /termin/<token>`.
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    match booking::by_token(&state.portal, &token).await? {
        Some(v) => render(&state, &headers, &uri, &token, &v, None, None).await,
        None => unknown_link(&state, &headers).await,
    }
}

/// `POST /termin/<token>/bestaetigen`: the contact data; booked (or waiting for the
/// e-mail confirmation) → back to the manage page, which says so.
pub async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(token): Path<String>,
    Form(f): Form<ContactForm>,
) -> Result<Response, AppError> {
    crate::csrf::check_pre_session(&headers, &f.csrf)?;
    let citizen = super::citizen(&state, &headers, &uri).await.map(|c| c.citizen.id);
    let contact = Contact { name: f.name, email: f.email, phone: f.phone, notes: f.notes };
    match booking::confirm(&state.portal, &token, contact.clone(), citizen).await {
        Ok(Ok(_)) => Ok(private(Redirect::to(&format!("/termin/{token}?neu=1")).into_response())),
        Ok(Err(message)) => {
            let Some(v) = booking::by_token(&state.portal, &token).await? else {
                return unknown_link(&state, &headers).await;
            };
            render(&state, &headers, &uri, &token, &v, Some(message), Some(contact)).await
        }
        Err(PortalError::NotFound) => unknown_link(&state, &headers).await,
        Err(e) => Err(e.into()),
    }
}

/// `POST /termin/<token>/absagen`: cancels (or gives up the hold).
pub async fn cancel(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(token): Path<String>,
    Form(f): Form<Button>,
) -> Result<Response, AppError> {
    crate::csrf::check_pre_session(&headers, &f.csrf)?;
    match manage::cancel(&state.portal, &token).await {
        Ok(Ok(_)) => Ok(private(Redirect::to(&format!("/termin/{token}")).into_response())),
        Ok(Err(message)) => {
            let Some(v) = booking::by_token(&state.portal, &token).await? else {
                return unknown_link(&state, &headers).await;
            };
            render(&state, &headers, &uri, &token, &v, Some(message), None).await
        }
        Err(PortalError::NotFound) => unknown_link(&state, &headers).await,
        Err(e) => Err(e.into()),
    }
}

/// For the move pages: the booking behind the link when it may still be moved; else
/// the page that says why not.
pub(crate) async fn movable(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    token: &str,
) -> Result<Result<AppointmentView, Response>, AppError> {
    let Some(v) = booking::by_token(&state.portal, token).await? else {
        return Ok(Err(unknown_link(state, headers).await?));
    };
    if manage::can_change(&v, amtsweg_store::now_ms()) {
        return Ok(Ok(v));
    }
    let m = "Dieser Termin kann nicht mehr verschoben werden: Er ist abgesagt, verfallen, noch nicht gebucht oder schon vorbei.";
    Ok(Err(render(state, headers, uri, token, &v, Some(m.into()), None).await?))
}

#[cfg(test)]
mod tests {
    use super::field_of;

    #[test]
    fn messages_point_to_their_field() {
        assert_eq!(field_of("Bitte geben Sie Ihren Namen an."), Some("name"));
        assert_eq!(field_of("Bitte geben Sie eine gültige E-Mail-Adresse an."), Some("email"));
        assert_eq!(field_of("Mit dieser E-Mail-Adresse sind schon 2 Termine gebucht."), Some("email"));
        assert_eq!(field_of("Bitte geben Sie die Telefonnummer nur mit Ziffern an."), Some("phone"));
        assert_eq!(field_of("Die Reservierung ist abgelaufen."), None);
    }
}
