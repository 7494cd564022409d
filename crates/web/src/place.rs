//! The citizen's place (Wohnort), kept in a cookie and changeable on every page.
//! It is a preference, not personal data of an account: only a place id is stored.

use crate::AppState;
use crate::render::{base_context, render_page};
use amtsweg_domain::place::How;
use amtsweg_domain::{Place, PlaceQuery};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;

pub use crate::render::{PLACE_COOKIE as COOKIE, current_place as current};

/// Only same-site paths are followed back, so the parameter cannot redirect elsewhere.
fn safe_return(zurueck: Option<&str>) -> String {
    crate::urls::local_target(zurueck, "/", "/")
}

#[derive(Debug, Deserialize)]
pub struct PlaceParams {
    ort: Option<String>,
    ort_id: Option<i64>,
    zurueck: Option<String>,
    loeschen: Option<String>,
}

fn set_cookie(state: &AppState, value: &str, max_age: i64) -> Option<HeaderValue> {
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{COOKIE}={value}; Path=/; Max-Age={max_age}; SameSite=Lax; HttpOnly{secure}")).ok()
}

fn remember(state: &AppState, place: &Place, back: &str) -> Response {
    let mut r = Redirect::to(back).into_response();
    if let Some(c) = set_cookie(state, &place.id.to_string(), 60 * 60 * 24 * 365) {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    r
}

/// `GET /ort`: set, choose or clear the place. A GET form so it works without
/// JavaScript and needs no CSRF token: it only stores a preference of this browser.
pub async fn handler(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<PlaceParams>,
) -> Result<Response, crate::AppError> {
    let catalogue = state.catalogue();
    let back = safe_return(p.zurueck.as_deref());
    if p.loeschen.is_some() {
        let mut r = Redirect::to(&back).into_response();
        if let Some(c) = set_cookie(&state, "", 0) {
            r.headers_mut().insert(header::SET_COOKIE, c);
        }
        return Ok(r);
    }
    if let Some(id) = p.ort_id
        && let Some(place) = catalogue.place(id)
    {
        return Ok(remember(&state, place, &back));
    }
    let input: String = p.ort.clone().unwrap_or_default().chars().filter(|c| !c.is_control()).take(100).collect();
    let mut status = StatusCode::OK;
    let mut message = None;
    let mut choices: Vec<&Place> = Vec::new();
    let mut choose = None;
    if p.ort.is_some() || p.ort_id.is_some() {
        match PlaceQuery::parse(&input) {
            None => {
                message = Some("Bitte geben Sie Ihren Wohnort oder Ihre fünfstellige Postleitzahl ein.".to_owned());
                status = StatusCode::UNPROCESSABLE_ENTITY;
            }
            Some(q) => {
                let found = q.find(&catalogue.places);
                match found.places.as_slice() {
                    [one] => return Ok(remember(&state, one, &back)),
                    [] => {
                        message = Some(format!(
                            "„{}“ liegt nicht im Gebiet des {}. Bitte prüfen Sie die Schreibweise oder wenden Sie sich an die Verwaltung Ihres Wohnorts.",
                            input.trim(),
                            catalogue.verbund_name
                        ));
                        status = StatusCode::UNPROCESSABLE_ENTITY;
                    }
                    _ => {
                        // Several places fit: the citizen chooses, none is picked for them.
                        choose = Some(match found.how {
                            How::Plz => format!("Die Postleitzahl {} gehört zu mehreren Gemeinden.", input.trim()),
                            How::Similar => {
                                format!("Zu „{}“ passen mehrere Gemeinden. Meinten Sie eine davon?", input.trim())
                            }
                            How::Exact | How::Prefix => {
                                format!("Zu „{}“ passen mehrere Gemeinden.", input.trim())
                            }
                        });
                        choices = found.places;
                    }
                }
            }
        }
    }
    let base = base_context(&state, &catalogue, None, &headers, "/ort", Vec::new());
    let ctx = context! {
        input => input.trim(),
        message,
        choices,
        choose,
        zurueck => back,
        places => &catalogue.places,
        ..base
    };
    Ok((status, render_page(&state, "place.html", ctx)?).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_cookie_among_others() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=b; amtsweg_ort=7; c=d"));
        assert_eq!(crate::session::cookie_value(&h, COOKIE), Some("7"));
    }
}
