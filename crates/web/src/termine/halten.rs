//! Holding a time (`POST /o/<slug>/termine/halten`, and for a move
//! `POST /termin/<token>/verschieben`): the database decides who gets it. The winner
//! goes on to the contact form under the new manage link; everyone else gets a page
//! that says the time was just taken and offers the next free times as buttons
//! (409), or that this client holds too many times already (429).

use super::kalender::{Target, day_page};
use super::{authority, private, words};
use crate::AppState;
use crate::error::AppError;
use crate::limits::Client;
use crate::render::render_page;
use amtsweg_domain::Authority;
use amtsweg_portal::appointments::booking::{self, Held, RefusalKind, Refused};
use amtsweg_portal::appointments::journey::Journey;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::civil::{Date, DateTime};
use minijinja::{Value, context};

/// A posted hold form: its pairs (the journey's `leistung` repeats, so serde's
/// struct forms do not fit).
pub(crate) struct HoldForm(Vec<(String, String)>);

impl HoldForm {
    pub(crate) fn parse(body: &[u8]) -> Self {
        Self(form_urlencoded::parse(body).into_owned().collect())
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub(crate) fn journey(&self) -> Journey {
        Journey::from_pairs(self.0.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// The chosen start (`2026-11-24T08:20`), if it is a civil time.
    pub(crate) fn start(&self) -> Option<DateTime> {
        self.get("beginn").and_then(|s| s.trim().parse::<DateTime>().ok())
    }

    /// The day the form was shown for.
    pub(crate) fn day(&self) -> Option<Date> {
        self.get("tag").and_then(|s| s.parse::<Date>().ok()).or_else(|| self.start().map(|s| s.date()))
    }

    /// The CSRF check of an anonymous form (the pre-session cookie's token).
    pub(crate) fn check(&self, headers: &HeaderMap) -> Result<(), AppError> {
        crate::csrf::check_pre_session(headers, self.get("csrf").unwrap_or_default())
    }
}

/// `POST /o/<slug>/termine/halten`.
pub async fn hold(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    client: Client,
    Path(slug): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let a = authority(&state, &slug)?;
    let form = HoldForm::parse(&body);
    form.check(&headers)?;
    let j = form.journey();
    let target = Target::journey(&slug);
    let Some(start) = form.start() else {
        return no_time(&state, &a, &headers, &uri, &j, &target, &form).await;
    };
    let citizen = super::citizen(&state, &headers, &uri).await.map(|c| c.citizen.id);
    let outcome = booking::hold(&state.portal, a.id, &j, start, &client.stored(), citizen, None).await?;
    let month_url = super::url(&target.month_path, &j, &[]);
    answer(&state, &a, &headers, &uri, &target, &month_url, &super::hidden_fields(&j), outcome)
}

/// The day page again when the form came without a time.
pub(crate) async fn no_time(
    state: &AppState,
    a: &Authority,
    headers: &HeaderMap,
    uri: &Uri,
    j: &Journey,
    target: &Target,
    form: &HoldForm,
) -> Result<Response, AppError> {
    day_page(state, a, headers, uri, j, target, form.day(), None, Some("Bitte wählen Sie eine Uhrzeit.")).await
}

/// The answer to a hold: on to the contact form, or the page that offers other times.
#[allow(clippy::too_many_arguments)]
pub(crate) fn answer(
    state: &AppState,
    a: &Authority,
    headers: &HeaderMap,
    uri: &Uri,
    target: &Target,
    month_url: &str,
    keep: &[Value],
    outcome: Result<Held, Refused>,
) -> Result<Response, AppError> {
    match outcome {
        Ok(held) => Ok(private(Redirect::to(&format!("/termin/{}", held.token)).into_response())),
        Err(refused) => refused_page(state, a, headers, uri, target, month_url, keep, &refused),
    }
}

/// "This time was just taken" (409), "you hold too many times" (429) or "this time
/// cannot be booked" (422), with the next free times as buttons that hold at once.
#[allow(clippy::too_many_arguments)]
fn refused_page(
    state: &AppState,
    a: &Authority,
    headers: &HeaderMap,
    uri: &Uri,
    target: &Target,
    month_url: &str,
    keep: &[Value],
    r: &Refused,
) -> Result<Response, AppError> {
    let (status, title) = match r.kind {
        RefusalKind::Taken => (StatusCode::CONFLICT, "Diese Zeit ist nicht mehr frei"),
        RefusalKind::TooManyHolds => (StatusCode::TOO_MANY_REQUESTS, "Zu viele Reservierungen"),
        RefusalKind::Invalid => (StatusCode::UNPROCESSABLE_ENTITY, "Diese Zeit können Sie nicht buchen"),
    };
    let next: Vec<Value> = r
        .next
        .iter()
        .map(|t| {
            context! {
                value => t.start.strftime("%Y-%m-%dT%H:%M").to_string(),
                label => format!("{}, {} Uhr", words::day_label(t.start.date()), t.start.strftime("%H:%M")),
            }
        })
        .collect();
    let token = crate::csrf::pre_session_token(headers);
    let ctx = context! {
        title, message => &r.message, next, csrf => &token, keep, action => &target.hold_action,
        month_url,
        ..super::page_base(state, a, headers, uri, title)
    };
    let mut resp = (status, render_page(state, "termine/vergeben.html", ctx)?).into_response();
    if r.kind == RefusalKind::TooManyHolds {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("600"));
    }
    Ok(private(crate::csrf::with_pre_session_cookie(resp, &token)))
}
