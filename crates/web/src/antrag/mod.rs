//! The citizen's application journey at `/o/<slug>/antrag/<form>/`: one topic per
//! page with back and continue, an error summary that links to the fields, a page to
//! check every answer, the declaration, submission and the receipt — all without
//! JavaScript. The rule engine (`amtsweg_forms`) judges every request; nothing the
//! browser says is trusted.
//!
//! The first page comes with a signed form token. The first POST keeps the answers as
//! a draft under that token, bound to the citizen's account or — without one — to a
//! cookie of this browser; the submission keeps the token, so a double submit or a
//! retry shows the same receipt. Anonymous drafts resume on another device through a
//! one-time link sent by e-mail; every draft expires (`web.draft_days`).

mod absenden;
pub(crate) mod cut;
mod eingang;
mod entwurf;
pub mod fields;
pub(crate) mod first_page;
mod journey;
mod konto;
pub(crate) mod receipt_page;
mod schritt;
mod start;
pub mod upload;

use crate::AppState;
use axum::Router;
use axum::routing::{MethodRouter, get, post};

pub(crate) use eingang::{pdf_response, receipt_view};

/// The cookie that binds anonymous drafts to this browser.
pub const DRAFT_COOKIE: &str = "__Host-amtsweg_antrag";

/// Every journey route: path, methods, handlers.
fn table() -> Vec<(&'static str, &'static [&'static str], MethodRouter<AppState>)> {
    vec![
        ("/o/{slug}/antrag/{form}", &["GET"], get(crate::pages::add_slash)),
        ("/o/{slug}/antrag/{form}/", &["GET", "POST"], get(start::start).post(start::first_post)),
        ("/o/{slug}/antrag/{form}/{token}/pruefen", &["GET"], get(absenden::check)),
        ("/o/{slug}/antrag/{form}/{token}/absenden", &["POST"], post(absenden::submit)),
        ("/o/{slug}/antrag/{form}/{token}/gespeichert", &["GET", "POST"], get(entwurf::saved).post(entwurf::send_link)),
        ("/o/{slug}/antrag/{form}/{token}/verwerfen", &["POST"], post(entwurf::discard)),
        ("/o/{slug}/antrag/{form}/{token}/datei/{id}", &["GET"], get(entwurf::draft_file)),
        ("/o/{slug}/antrag/{form}/{token}/{step}", &["GET", "POST"], get(schritt::step_page).post(schritt::step_post)),
        ("/o/{slug}/antrag/{form}/eingang/{token}", &["GET"], get(eingang::receipt)),
        ("/o/{slug}/antrag/{form}/eingang/{token}/quittung.pdf", &["GET"], get(eingang::receipt_pdf)),
        ("/o/{slug}/antrag/fortsetzen/{secret}", &["GET", "POST"], get(entwurf::resume_page).post(entwurf::resume)),
    ]
}

pub fn routes() -> Router<AppState> {
    table().into_iter().fold(Router::new(), |r, (path, _, handlers)| r.route(path, handlers))
}

/// The journey routes as (path, methods), for tests that must cover every route.
#[must_use]
pub fn route_table() -> Vec<(&'static str, &'static [&'static str])> {
    let mut t: Vec<_> = table().into_iter().map(|(p, m, _)| (p, m)).collect();
    t.extend(konto::route_table());
    t
}

/// The account pages of applications as (path, methods).
#[must_use]
pub fn konto_route_table() -> Vec<(&'static str, &'static [&'static str])> {
    konto::route_table()
}

/// The account pages of applications (`/konto/antraege/`).
pub fn konto_routes() -> Router<AppState> {
    konto::routes()
}

