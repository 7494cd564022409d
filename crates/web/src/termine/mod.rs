//! Online appointments for citizens (Terminvergabe): the booking journey at
//! `/o/<slug>/termine/` (services and persons → triage questions → location → the
//! days of a month → the free times of a day → hold), the secret manage link
//! `/termin/<token>` (contact data while the time is held, confirm, cancel, move),
//! the double opt-in link `/termin/bestaetigen/<token>` and "Meine Termine" in the
//! account.
//!
//! Everything works without JavaScript: the journey's choices travel in the query
//! string of plain GET forms (`amtsweg_portal::appointments::journey::Journey`), the
//! month is a list of days and the day a list of radio buttons. Only holding,
//! confirming and cancelling are POSTs; anonymous ones carry the pre-session token
//! (`csrf::check_pre_session`). The portal decides everything; a handler extracts,
//! calls it once or twice and renders.

pub(crate) mod auswahl;
pub(crate) mod halten;
pub(crate) mod kalender;
pub(crate) mod kalenderdatei;
pub(crate) mod konto;
pub(crate) mod links;
pub(crate) mod opt_in;
pub(crate) mod termin;
pub(crate) mod verschieben;
mod words;

use crate::AppState;
use crate::error::AppError;
use crate::konto::CitizenContext;
use crate::render::{Crumb, base_context};
use amtsweg_domain::Authority;
use amtsweg_portal::appointments::journey::Journey;
use amtsweg_portal::appointments::view::AppointmentView;
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::Response;
use minijinja::{Value, context};
use std::sync::Arc;

/// The authority of `{slug}` (404 when unknown).
pub(crate) fn authority(state: &AppState, slug: &str) -> Result<Arc<Authority>, AppError> {
    state.catalogue().shared_authority_by_slug(slug).ok_or(AppError::NotFound)
}

/// The journey in a query string (`leistung=…&personen=…`).
pub(crate) fn journey_of(query: Option<&str>) -> Journey {
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
    Journey::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// One parameter of a query string (the first), e.g. `monat` or `tag`.
pub(crate) fn param(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// `path?<journey>&<extra>`, encoded.
pub(crate) fn url(path: &str, j: &Journey, extra: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in j.to_pairs() {
        s.append_pair(&k, &v);
    }
    for (k, v) in extra {
        s.append_pair(k, v);
    }
    format!("{path}?{}", s.finish())
}

/// The journey as hidden fields of the next GET or POST form.
pub(crate) fn hidden_fields(j: &Journey) -> Vec<Value> {
    j.to_pairs().into_iter().map(|(name, value)| context! { name, value }).collect()
}

/// The start of the booking journey of an authority.
pub(crate) fn start_url(slug: impl std::fmt::Display) -> String {
    format!("/o/{slug}/termine/")
}

/// The page context of a journey page: the authority's look and breadcrumbs.
pub(crate) fn page_base(state: &AppState, a: &Authority, headers: &HeaderMap, uri: &Uri, here: &str) -> Value {
    let c = state.catalogue();
    let crumbs = vec![
        Crumb::link(a.name.clone(), format!("/o/{}/", a.slug)),
        Crumb::link("Termin vereinbaren", start_url(&a.slug)),
        Crumb::here(here),
    ];
    base_context(state, &c, Some(a), headers, &crate::render::request_path(uri), crumbs)
}

/// The page context of a page behind a secret link: no breadcrumbs, and the path
/// without the token (it must not reach the place form's `zurueck`).
pub(crate) fn link_base(state: &AppState, authority_id: i64, headers: &HeaderMap) -> Value {
    let c = state.catalogue();
    base_context(state, &c, c.authority(authority_id), headers, "/", Vec::new())
}

/// The signed-in citizen, if any (the journey is open to everyone; a booking made
/// while signed in is linked to the account).
pub(crate) async fn citizen(state: &AppState, headers: &HeaderMap, uri: &Uri) -> Option<CitizenContext> {
    match crate::session::current(state, headers, "citizen").await {
        Ok(Some(_)) => crate::konto::require_citizen(state, headers, uri).await.ok(),
        _ => None,
    }
}

/// Pages with a booking's token or personal data: never cached, and the address
/// (which holds the token) is not sent on to other sites. Not `no-referrer`: with it
/// browsers send `Origin: null` on the page's own forms, which the CSRF check refuses.
pub(crate) fn private(mut r: Response) -> Response {
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    r
}

/// An appointment as the templates show it (`termine/macros.html` `facts`).
pub(crate) fn appointment(v: &AppointmentView) -> Value {
    let services: Vec<Value> =
        v.services.iter().map(|(leika, title, persons)| context! { leika, title, persons => *persons }).collect();
    context! {
        id => v.id,
        reference => &v.reference,
        date => words::date_long(v.start.date()),
        from => v.start.strftime("%H:%M").to_string(),
        to => v.end.strftime("%H:%M").to_string(),
        services,
        services_text => v.services_de(),
        persons => v.persons,
        authority => &v.authority_title,
        location => &v.location,
        receipt_number => &v.receipt_number,
        status => v.status.as_str(),
        status_label => v.status.label_de(),
    }
}

/// Where to book the same again: the journey's first page with the services chosen.
pub(crate) fn book_again_url(state: &AppState, v: &AppointmentView) -> String {
    let slug = state.catalogue().authority(v.authority_id).map(|a| a.slug.to_string()).unwrap_or_default();
    if slug.is_empty() {
        return "/".to_owned();
    }
    let mut j = amtsweg_portal::appointments::manage::journey_of(v, Vec::new());
    j.calendar = None;
    url(&start_url(&slug), &j, &[])
}
