//! `/verwaltung/behoerden/<slug>/termine/`: the authority's locations with their
//! calendars (set up, paused, none yet) and links to the day lists, and the booking
//! rules form for those who configure (hold time, double opt-in, reminder,
//! retention, limit per person, triage questions).

use super::regeln_form::RulesForm;
use super::{Problem, Rights, StaffContext, authority_value, base_url, problems_value, today};
use crate::AppState;
use crate::csrf::Csrf;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::appointments::Calendar;
use amtsweg_portal::appointments::config;
use amtsweg_store::Location;
use amtsweg_store::appointments::CalendarRow;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Notice {
    hinweis: String,
}

/// The services the triage questions may be limited to: those bookable in one of the
/// authority's calendars, else all the authority offers (LeiKa key, name).
fn triage_services(
    state: &AppState,
    authority_id: i64,
    calendars: &[(CalendarRow, Calendar, Location)],
) -> Vec<(String, String)> {
    let catalogue = state.catalogue();
    let name = |leika: &str| {
        catalogue
            .leistungen_of(authority_id)
            .find(|l| l.leika.as_str() == leika)
            .map_or_else(|| format!("LeiKa {leika}"), |l| l.name.clone())
    };
    let mut keys: Vec<String> =
        calendars.iter().flat_map(|(_, c, _)| c.services.iter().map(|s| s.leika.clone())).collect();
    if keys.is_empty() {
        keys = catalogue.leistungen_of(authority_id).map(|l| l.leika.as_str().to_owned()).collect();
    }
    keys.sort();
    keys.dedup();
    let mut out: Vec<(String, String)> = keys.into_iter().map(|k| (name(&k), k)).map(|(n, k)| (k, n)).collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

struct Shown<'a> {
    form: &'a RulesForm,
    problems: &'a [Problem],
    conflict: Option<String>,
    notice: &'a str,
}

async fn render(
    state: &AppState,
    staff: &StaffContext,
    rights: &Rights,
    uri: &Uri,
    shown: &Shown<'_>,
) -> Result<Response, AppError> {
    let a = &rights.authority;
    let calendars = config::calendars(&state.portal, a.id).await?;
    let locations = state.store.locations(a.id).await?;
    let today = today().to_string();
    // Those who configure see every location; the counter only the locations it
    // works at (a grant limited to an org unit covers that unit's location).
    let scope = staff.counter_scope(state, a.id).await?;
    let rows: Vec<Value> = locations
        .iter()
        .filter(|l| rights.configure || scope.covers(l.id))
        .map(|l| {
            let cal = calendars.iter().find(|(row, _, _)| row.location_id == l.id);
            context! {
                counter => rights.counter && scope.covers(l.id),
                id => l.id, name => &l.name, address => format!("{}, {} {}", l.street, l.plz, l.city),
                calendar_id => cal.map(|(row, _, _)| row.id),
                active => cal.is_some_and(|(_, c, _)| c.active),
                services => cal.map_or(0, |(_, c, _)| c.services.len()),
                counters => cal.map(|(_, c, _)| c.counters),
            }
        })
        .collect();
    let services: Vec<Value> =
        triage_services(state, a.id, &calendars).into_iter().map(|(leika, name)| context! { leika, name }).collect();
    let p = shown.problems;
    let err: std::collections::BTreeMap<&str, &str> =
        p.iter().map(|x| (x.field.as_str(), x.message.as_str())).collect();
    let status = if shown.conflict.is_some() {
        StatusCode::CONFLICT
    } else if p.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let ctx = context! {
        authority => authority_value(a), base => base_url(a), rights => context! { configure => rights.configure, counter => rights.counter },
        rows, today, f => shown.form, services, has_locations => !locations.is_empty(),
        errors => problems_value(p), err, conflict => &shown.conflict, notice => shown.notice,
        ..super::super::base(state, Some(staff), uri.path())
    };
    Ok(super::no_store((status, render_page(state, "verwaltung/termine/uebersicht.html", ctx)?).into_response()))
}

pub async fn page(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path(slug): Path<String>,
    Query(n): Query<Notice>,
) -> Result<Response, AppError> {
    let rights = staff.appointment_rights(&state, &slug)?;
    let form = if rights.configure {
        let (rules, version) = config::rules(&state.portal, rights.authority.id).await?;
        RulesForm::from_rules(&rules, version).for_editing(false)
    } else {
        RulesForm::default()
    };
    let notice = match n.hinweis.as_str() {
        "regeln" => "regeln",
        "kalender" => "kalender",
        _ => "",
    };
    render(&state, &staff, &rights, &uri, &Shown { form: &form, problems: &[], conflict: None, notice }).await
}

/// Saves the rules, or shows the form again: with one more question for "Frage
/// hinzufügen", with the problems named, or with the conflict explained.
pub async fn save_rules(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path(slug): Path<String>,
    Csrf(Form(pairs)): Csrf<Form<Vec<(String, String)>>>,
) -> Result<Response, AppError> {
    let rights = staff.appointment_rights(&state, &slug)?;
    if !rights.configure {
        return Err(AppError::Forbidden);
    }
    let form = RulesForm::from_pairs(&pairs);
    if super::first(&pairs, "aktion") == "frage" {
        let form = form.for_editing(true);
        return render(
            &state,
            &staff,
            &rights,
            &uri,
            &Shown { form: &form, problems: &[], conflict: None, notice: "" },
        )
        .await;
    }
    let rules = match form.parse() {
        Ok(r) => r,
        Err(problems) => {
            let form = form.for_editing(false);
            return render(
                &state,
                &staff,
                &rights,
                &uri,
                &Shown { form: &form, problems: &problems, conflict: None, notice: "" },
            )
            .await;
        }
    };
    let a = &rights.authority;
    match config::save_rules(&state.portal, &staff.actor(), a.id, &rules, form.version()).await? {
        Ok(()) => Ok(Redirect::to(&format!("{}?hinweis=regeln#regeln", base_url(a))).into_response()),
        Err(messages) if messages.iter().any(|m| m == config::CONFLICT_RULES) => {
            let form = form.for_editing(false);
            let conflict = Some(config::CONFLICT_RULES.to_owned());
            render(&state, &staff, &rights, &uri, &Shown { form: &form, problems: &[], conflict, notice: "" }).await
        }
        Err(messages) => {
            // The domain's checks name the setting in their words; they are shown
            // in the summary and lead to the rules form.
            let problems: Vec<Problem> = messages.into_iter().map(|m| Problem::new("regeln", m)).collect();
            let form = form.for_editing(false);
            render(
                &state,
                &staff,
                &rights,
                &uri,
                &Shown { form: &form, problems: &problems, conflict: None, notice: "" },
            )
            .await
        }
    }
}
