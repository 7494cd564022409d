//! `/verwaltung/behoerden/<slug>/termine/<location id>/kalender`: the calendar of
//! one location — set up, edited, paused. Saving checks the version the form was
//! opened with, so two people editing at once never overwrite each other unseen.

use super::kalender_form::{CalendarForm, DAY_KEYS};
use super::{Problem, StaffContext, authority_value, base_url, problems_value};
use crate::AppState;
use crate::csrf::Csrf;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::Authority;
use amtsweg_domain::opening_hours::WEEKDAY_NAMES;
use amtsweg_portal::appointments::config;
use amtsweg_store::Location;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};

/// The services a row may name: the authority's published services, and any key a
/// stored calendar already names (so it is not lost when the service is withdrawn).
fn service_options(state: &AppState, authority_id: i64, form: &CalendarForm) -> Vec<Value> {
    let catalogue = state.catalogue();
    let mut options: Vec<(String, String)> =
        catalogue.leistungen_of(authority_id).map(|l| (l.leika.as_str().to_owned(), l.name.clone())).collect();
    for s in &form.services {
        let key = s.leika.trim();
        if !key.is_empty() && !options.iter().any(|(k, _)| k == key) {
            options.push((key.to_owned(), format!("LeiKa {key} (nicht mehr im Portal)")));
        }
    }
    options.sort_by(|a, b| a.1.cmp(&b.1));
    options.dedup_by(|a, b| a.0 == b.0);
    options.into_iter().map(|(leika, name)| context! { leika, name }).collect()
}

struct Shown<'a> {
    form: &'a CalendarForm,
    problems: &'a [Problem],
    conflict: Option<String>,
    is_new: bool,
}

fn render(
    state: &AppState,
    staff: &StaffContext,
    a: &Authority,
    location: &Location,
    uri: &Uri,
    shown: &Shown<'_>,
) -> Result<Response, AppError> {
    let p = shown.problems;
    let err: std::collections::BTreeMap<&str, &str> =
        p.iter().map(|x| (x.field.as_str(), x.message.as_str())).collect();
    let opening = location.hours();
    let days: Vec<Value> = DAY_KEYS
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let opening_text = opening.weekly[i]
                .iter()
                .map(|iv| {
                    format!(
                        "{}-{}",
                        amtsweg_domain::opening_hours::fmt_minutes(iv.from),
                        amtsweg_domain::opening_hours::fmt_minutes(iv.to)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            context! { key => *key, label => WEEKDAY_NAMES[i], value => &shown.form.days[i], opening => opening_text }
        })
        .collect();
    let status = if shown.conflict.is_some() {
        StatusCode::CONFLICT
    } else if p.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let ctx = context! {
        authority => authority_value(a), base => base_url(a),
        location => context! { id => location.id, name => &location.name },
        f => shown.form, days, services => service_options(state, a.id, shown.form), is_new => shown.is_new,
        errors => problems_value(p), err, conflict => &shown.conflict,
        ..super::super::base(state, Some(staff), uri.path())
    };
    Ok(super::no_store((status, render_page(state, "verwaltung/termine/kalender.html", ctx)?).into_response()))
}

/// The location of the path, if it belongs to the authority.
async fn location_of(state: &AppState, a: &Authority, location_id: i64) -> Result<Location, AppError> {
    state.store.location(a.id, location_id).await?.ok_or(AppError::NotFound)
}

pub async fn form(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path((slug, location_id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let a = staff.appointment_config(&state, &slug)?;
    let location = location_of(&state, &a, location_id).await?;
    let (_, calendar, row) = config::calendar_for_location(&state.portal, a.id, location_id).await?;
    let opening = location.hours();
    let is_new = row.is_none();
    let form = CalendarForm::from_calendar(&calendar, &opening, row.map_or(0, |r| r.version));
    let form = form.for_editing(if is_new { 3 } else { 1 });
    render(&state, &staff, &a, &location, &uri, &Shown { form: &form, problems: &[], conflict: None, is_new })
}

pub async fn submit(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path((slug, location_id)): Path<(String, i64)>,
    Csrf(Form(pairs)): Csrf<Form<Vec<(String, String)>>>,
) -> Result<Response, AppError> {
    let a = staff.appointment_config(&state, &slug)?;
    let location = location_of(&state, &a, location_id).await?;
    let form = CalendarForm::from_pairs(&pairs);
    let is_new = form.version() == 0;
    if super::first(&pairs, "aktion") == "leistung" {
        let form = form.for_editing(2);
        return render(
            &state,
            &staff,
            &a,
            &location,
            &uri,
            &Shown { form: &form, problems: &[], conflict: None, is_new },
        );
    }
    let calendar = match form.parse(&location.hours()) {
        Ok(c) => c,
        Err(problems) => {
            let form = form.for_editing(1);
            return render(
                &state,
                &staff,
                &a,
                &location,
                &uri,
                &Shown { form: &form, problems: &problems, conflict: None, is_new },
            );
        }
    };
    match config::save_calendar(&state.portal, &staff.actor(), a.id, location_id, &calendar, form.version()).await? {
        Ok(()) => Ok(Redirect::to(&format!("{}?hinweis=kalender", base_url(&a))).into_response()),
        Err(messages) if messages.iter().any(|m| m == config::CONFLICT_CALENDAR) => {
            let form = form.for_editing(1);
            let conflict = Some(config::CONFLICT_CALENDAR.to_owned());
            render(&state, &staff, &a, &location, &uri, &Shown { form: &form, problems: &[], conflict, is_new })
        }
        Err(messages) => {
            let problems: Vec<Problem> = messages.into_iter().map(|m| Problem::new("kalender", m)).collect();
            let form = form.for_editing(1);
            render(
                &state,
                &staff,
                &a,
                &location,
                &uri,
                &Shown { form: &form, problems: &problems, conflict: None, is_new },
            )
        }
    }
}
