//! The first page of a form as a citizen without an account gets it. Between two such
//! citizens it differs only in the form token and the CSRF token, so it is rendered
//! once per form version, chosen place and catalogue snapshot with marks in their
//! place, and each request fills in its own tokens. At a postal-vote rush this page
//! is a third of all requests, and rendering it was the largest single cost.

use super::cut::{Cut, Cuts, FormPageKey, mark, plain};
use super::journey::Journey;
use super::schritt::{StepPage, step_html};
use crate::AppState;
use crate::error::AppError;
use axum::http::{HeaderMap, StatusCode};
use std::sync::Arc;

pub(crate) type FirstPages = Cuts<FormPageKey>;

/// The first page of an empty application for a citizen without an account, with
/// these tokens.
pub(super) fn render(
    state: &AppState,
    j: &Journey,
    headers: &HeaderMap,
    page: &StepPage<'_>,
) -> Result<(StatusCode, String), AppError> {
    let cacheable = j.citizen.is_none()
        && !state.templates.has_overrides()
        && page.answers.is_empty()
        && page.errors.is_empty()
        && page.files.is_empty()
        && page.locked.is_empty()
        && !page.back_to_check
        && plain(&page.token)
        && plain(&page.csrf);
    if !cacheable {
        return step_html(state, j, headers, page);
    }
    let key = FormPageKey::new(state, j, headers);
    let values = [page.token.as_str(), page.csrf.as_str()];
    if let Some(cut) = state.first_pages.get(&key) {
        return Ok((StatusCode::OK, cut.fill(&values)));
    }
    let (token_mark, csrf_mark) = (mark("FormToken"), mark("CsrfToken"));
    let marked = StepPage { token: token_mark.clone(), csrf: csrf_mark.clone(), ..page.clone() };
    let (status, html) = step_html(state, j, headers, &marked)?;
    match Cut::new(&html, &[&token_mark, &csrf_mark]) {
        Some(cut) if status == StatusCode::OK => {
            let cut = Arc::new(cut);
            state.first_pages.put(key, Arc::clone(&cut));
            Ok((status, cut.fill(&values)))
        }
        _ => step_html(state, j, headers, page),
    }
}
