//! The first steps of the booking journey, each a GET form that carries the choices
//! on: `/o/<slug>/termine/` (services and persons), `…/fragen` (the authority's
//! triage questions, skipped when none applies) and `…/standort` (skipped when one
//! location fits). Each step checks what the one before it sent and shows that page
//! again with the message when something does not fit.

use super::{authority, hidden_fields, journey_of, page_base, url};
use crate::AppState;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::Authority;
use amtsweg_portal::appointments::journey::{self, Journey, MAX_SERVICES, OfferedService};
use amtsweg_portal::appointments::view::{parse_calendar, rules_of};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};

/// What went wrong on the services page, by field.
#[derive(Debug, Default)]
pub(crate) struct ChoiceErrors {
    pub services: Option<String>,
    pub persons: Option<String>,
}

impl ChoiceErrors {
    /// A message of the portal, put next to the field it is about.
    pub(crate) fn from_message(message: String) -> Self {
        if message.contains("Person") {
            Self { persons: Some(message), ..Self::default() }
        } else {
            Self { services: Some(message), ..Self::default() }
        }
    }

    fn is_empty(&self) -> bool {
        self.services.is_none() && self.persons.is_none()
    }
}

/// The most persons any active calendar of the authority takes for one service (at
/// least 1): the choices of the persons field.
async fn max_persons(state: &AppState, authority_id: i64) -> Result<u8, AppError> {
    let mut max = 1;
    for row in state.store.appointment_calendars(authority_id).await? {
        if let Ok(cal) = parse_calendar(&row)
            && cal.active
        {
            max = cal.services.iter().map(|s| s.max_persons).fold(max, u8::max);
        }
    }
    Ok(max)
}

/// The services page, with `errors` (422) or without.
pub(crate) async fn services_page(
    state: &AppState,
    a: &Authority,
    headers: &HeaderMap,
    uri: &Uri,
    j: &Journey,
    offers: &[OfferedService],
    errors: ChoiceErrors,
) -> Result<Response, AppError> {
    // A receipt number no application of this authority has is dropped here, where the
    // journey starts again, with a notice instead of an error the citizen cannot fix.
    let mut j = j.clone();
    let receipt_notice = journey::drop_unknown_receipt(&state.portal, a.id, &mut j).await?;
    let mut errors = errors;
    errors.services = errors.services.filter(|m| m != journey::RECEIPT_UNKNOWN);
    let j = &j;
    let max = max_persons(state, a.id).await?;
    let services: Vec<Value> = offers
        .iter()
        .map(|o| context! { leika => &o.leika, title => &o.title, checked => j.services.contains(&o.leika) })
        .collect();
    let mut summary = Vec::new();
    if let Some(m) = &errors.services {
        summary.push(context! { anchor => "leistung", message => m });
    }
    if let Some(m) = &errors.persons {
        summary.push(context! { anchor => "personen", message => m });
    }
    let keep: Vec<Value> = j.receipt.iter().map(|r| context! { name => "vorgang", value => r }).collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let ctx = context! {
        services, keep, receipt => &j.receipt, receipt_notice,
        persons => j.persons.max(1), person_choices => (1..=max).collect::<Vec<u8>>(),
        service_error => errors.services, persons_error => errors.persons, errors => summary,
        ..page_base(state, a, headers, uri, "Anliegen wählen")
    };
    Ok((status, render_page(state, "termine/leistungen.html", ctx)?).into_response())
}

/// `/o/<slug>/termine/`: which services, for how many persons.
pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let a = authority(&state, &slug)?;
    let j = journey_of(uri.query());
    let offers = journey::offers(&state.portal, a.id).await?;
    services_page(&state, &a, &headers, &uri, &j, &offers, ChoiceErrors::default()).await
}

/// What is wrong with the chosen services and persons, checked against what the
/// authority's calendars offer (the location is not chosen yet).
async fn check_choice(
    state: &AppState,
    a: &Authority,
    j: &Journey,
    offers: &[OfferedService],
) -> Result<ChoiceErrors, AppError> {
    let mut e = ChoiceErrors::default();
    if j.services.is_empty() {
        e.services = Some("Bitte wählen Sie mindestens ein Anliegen aus.".into());
    } else if j.services.len() > MAX_SERVICES {
        e.services = Some(format!("Bitte wählen Sie höchstens {MAX_SERVICES} Anliegen für einen Termin."));
    } else if let Some(s) = j.services.iter().find(|s| !offers.iter().any(|o| &&o.leika == s)) {
        let title = amtsweg_portal::appointments::view::service_title(&state.portal, a.id, s);
        e.services = Some(format!("Für „{title}“ können Sie bei {} keinen Termin online vereinbaren.", a.name));
    }
    let max = max_persons(state, a.id).await?;
    if j.persons == 0 {
        e.persons = Some("Bitte geben Sie an, für wie viele Personen der Termin ist (mindestens 1).".into());
    } else if j.persons > max {
        e.persons = Some(format!(
            "Für einen Termin können höchstens {max} Personen gemeinsam kommen. Bitte vereinbaren Sie für weitere Personen einen eigenen Termin."
        ));
    }
    Ok(e)
}

/// `/o/<slug>/termine/fragen`: the triage questions for the chosen services.
pub async fn questions(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let a = authority(&state, &slug)?;
    let j = journey_of(uri.query());
    let offers = journey::offers(&state.portal, a.id).await?;
    let errors = check_choice(&state, &a, &j, &offers).await?;
    if !errors.is_empty() {
        return services_page(&state, &a, &headers, &uri, &j, &offers, errors).await;
    }
    let rules = rules_of(&state.portal, a.id).await?;
    if journey::questions(&rules, &j.services).is_empty() {
        return Ok(Redirect::to(&url(&format!("/o/{slug}/termine/standort"), &j, &[])).into_response());
    }
    questions_page(
        &state,
        &a,
        &headers,
        &uri,
        &j,
        &rules,
        None,
        &format!("/o/{slug}/termine/standort"),
        hidden_fields(&j),
    )
}

/// The questions page; `error` (422) names what is missing. `action` and `keep`: where
/// the answers go and what travels with them (the journey, or nothing when moving).
#[allow(clippy::too_many_arguments)]
pub(crate) fn questions_page(
    state: &AppState,
    a: &Authority,
    headers: &HeaderMap,
    uri: &Uri,
    j: &Journey,
    rules: &amtsweg_domain::appointments::BookingRules,
    error: Option<String>,
    action: &str,
    keep: Vec<Value>,
) -> Result<Response, AppError> {
    let asked = journey::questions(rules, &j.services);
    // The message goes next to the first question not (validly) answered.
    let open = asked.iter().find(|q| j.answer(&q.id).is_none_or(|given| !q.answers.iter().any(|x| x.id == given)));
    let questions: Vec<Value> = asked
        .iter()
        .map(|q| {
            let given = j.answer(&q.id);
            let own_error = error.as_ref().filter(|_| open.is_some_and(|o| o.id == q.id));
            context! {
                id => &q.id, text => &q.text, error => own_error,
                answers => q.answers.iter().map(|x| context! { id => &x.id, label => &x.label, checked => given == Some(x.id.as_str()) }).collect::<Vec<_>>(),
            }
        })
        .collect();
    let anchor = open.map_or_else(String::new, |q| format!("frage-{}", q.id));
    let errors: Vec<Value> = error.iter().map(|m| context! { anchor, message => m }).collect();
    // The answers are the form's own fields: keep the rest of the journey only.
    let keep: Vec<Value> = keep
        .into_iter()
        .filter(|f| !f.get_attr("name").ok().and_then(|n| n.as_str().map(|s| s.starts_with("a_"))).unwrap_or(false))
        .collect();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let back = url(&super::start_url(&a.slug), &Journey { answers: Vec::new(), calendar: None, ..j.clone() }, &[]);
    let ctx = context! {
        questions, errors, keep, action, back,
        ..page_base(state, a, headers, uri, "Fragen zu Ihrem Anliegen")
    };
    Ok((status, render_page(state, "termine/fragen.html", ctx)?).into_response())
}

/// `/o/<slug>/termine/standort`: checks the answers, then the location (chosen
/// directly when only one offers every chosen service).
pub async fn location(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let a = authority(&state, &slug)?;
    let mut j = journey_of(uri.query());
    let offers = journey::offers(&state.portal, a.id).await?;
    let errors = check_choice(&state, &a, &j, &offers).await?;
    if !errors.is_empty() {
        return services_page(&state, &a, &headers, &uri, &j, &offers, errors).await;
    }
    let rules = rules_of(&state.portal, a.id).await?;
    match journey::triage_outcome(&rules, &j) {
        Err(m) => {
            let action = format!("/o/{slug}/termine/standort");
            return questions_page(&state, &a, &headers, &uri, &j, &rules, Some(m), &action, hidden_fields(&j));
        }
        Ok(t) => {
            if let Some((message, link)) = t.no_appointment {
                return no_appointment(&state, &a, &headers, &uri, &message, &link);
            }
        }
    }
    let places = journey::locations(&state.portal, a.id, &j).await?;
    match places.as_slice() {
        [] => {
            let m = "Diese Anliegen können Sie an keinem Ort gemeinsam erledigen. Bitte wählen Sie weniger Anliegen und vereinbaren Sie für die übrigen einen eigenen Termin.";
            services_page(
                &state,
                &a,
                &headers,
                &uri,
                &j,
                &offers,
                ChoiceErrors { services: Some(m.into()), ..ChoiceErrors::default() },
            )
            .await
        }
        [(only, _)] => {
            j.calendar = Some(only.id);
            Ok(Redirect::to(&url(&format!("/o/{slug}/termine/kalender"), &j, &[])).into_response())
        }
        several => {
            let chosen = j.calendar;
            j.calendar = None;
            let locations: Vec<Value> = several
                .iter()
                .map(|(row, l)| {
                    context! { id => row.id, name => &l.name, street => &l.street, plz => &l.plz, city => &l.city, checked => chosen == Some(row.id) }
                })
                .collect();
            let back = url(&super::start_url(&slug), &Journey { answers: Vec::new(), ..j.clone() }, &[]);
            let ctx = context! {
                locations, keep => hidden_fields(&j), back, errors => Vec::<Value>::new(),
                ..page_base(&state, &a, &headers, &uri, "Ort wählen")
            };
            Ok(render_page(&state, "termine/standort.html", ctx)?.into_response())
        }
    }
}

/// A triage answer that needs no appointment: its message and where to go instead.
fn no_appointment(
    state: &AppState,
    a: &Authority,
    headers: &HeaderMap,
    uri: &Uri,
    message: &str,
    link: &str,
) -> Result<Response, AppError> {
    // Only links of this portal or the web: never `javascript:` from a stored setting.
    let safe =
        link.starts_with('/') && !link.starts_with("//") || link.starts_with("https://") || link.starts_with("http://");
    let primary = safe.then(|| context! { url => link, label => "Weiter zum Online-Dienst" });
    let ctx = context! {
        title => "Dafür brauchen Sie keinen Termin", message, notice => false, primary,
        links => vec![context! { url => super::start_url(&a.slug), label => "Doch einen Termin für ein anderes Anliegen vereinbaren" }],
        ..page_base(state, a, headers, uri, "Kein Termin nötig")
    };
    Ok(render_page(state, "termine/hinweis.html", ctx)?.into_response())
}
