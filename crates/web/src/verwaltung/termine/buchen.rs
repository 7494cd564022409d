//! Booking on behalf of a caller: `…/<calendar id>/buchen`. A GET form chooses the
//! services, persons, the answers to the triage questions and the day, and lists the
//! free times of that day (the same rules as online); the POST books the chosen time
//! with name, optional e-mail address and phone. The e-mail with the calendar file
//! goes out only when an address was given.

use super::tag::{calendar, day_of, day_url};
use super::{StaffContext, authority_value, base_url, first, german_day, no_store};
use crate::AppState;
use crate::csrf::Csrf;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::Authority;
use amtsweg_portal::appointments::counter;
use amtsweg_portal::appointments::journey::{self, Journey};
use amtsweg_portal::appointments::view::{Contact, rules_of, service_title};
use axum::Form;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use jiff::civil::{Date, Time};
use minijinja::{Value, context};

/// The journey of the form (services, persons, answers), at this calendar.
fn journey_of(pairs: &[(String, String)], calendar_id: i64) -> Journey {
    let mut j = Journey::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    j.calendar = Some(calendar_id);
    j
}

fn pairs_of(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect()
}

/// What was typed in the contact part of the form.
#[derive(Default, serde::Serialize)]
struct Typed {
    zeit: String,
    name: String,
    email: String,
    phone: String,
    notes: String,
}

struct Shown<'a> {
    journey: &'a Journey,
    day: Date,
    /// Whether the citizen's choices were sent (then the free times are listed).
    asked: bool,
    /// Whether this is the answer to the booking POST.
    posted: bool,
    typed: Typed,
    error: Option<String>,
}

async fn render(
    state: &AppState,
    staff: &StaffContext,
    a: &Authority,
    uri: &Uri,
    calendar_id: i64,
    shown: Shown<'_>,
) -> Result<Response, AppError> {
    let (row, cal, location) = calendar(state, staff, a, calendar_id).await?;
    let j = shown.journey;
    let services: Vec<Value> = cal
        .services
        .iter()
        .map(|s| {
            context! {
                leika => &s.leika, title => service_title(&state.portal, a.id, &s.leika),
                checked => j.services.contains(&s.leika), max => s.max_persons,
            }
        })
        .collect();
    let rules = rules_of(&state.portal, a.id).await?;
    let questions: Vec<Value> = journey::questions(&rules, &j.services)
        .into_iter()
        .map(|q| {
            let chosen = j.answer(&q.id).unwrap_or_default();
            let answers: Vec<Value> = q
                .answers
                .iter()
                .map(|x| context! { id => &x.id, label => &x.label, checked => x.id == chosen })
                .collect();
            context! { id => &q.id, text => &q.text, answers }
        })
        .collect();
    let mut error = shown.error;
    let mut times: Vec<Value> = Vec::new();
    let mut bookable = false;
    if shown.asked {
        let now = crate::render::now_local();
        // Staff may book from today on (see counter::free_times).
        match counter::free_times(&state.portal, a.id, j, shown.day, now).await? {
            Ok(free) => {
                bookable = true;
                times = free
                    .iter()
                    .map(|t| {
                        let value = t.start.time().strftime("%H:%M").to_string();
                        context! {
                            checked => value == shown.typed.zeit, value,
                            label => format!("{}–{} Uhr", t.start.strftime("%H:%M"), t.end.strftime("%H:%M")),
                        }
                    })
                    .collect();
            }
            Err(m) => {
                error.get_or_insert(m);
            }
        }
    }
    let hidden: Vec<Value> = j
        .to_pairs()
        .into_iter()
        .filter(|(k, _)| k != "standort")
        .map(|(name, value)| context! { name, value })
        .collect();
    let status = if error.is_some() && shown.posted { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let ctx = context! {
        authority => authority_value(a), base => base_url(a), calendar_id => row.id, location => &location.name,
        services, questions, persons => j.persons.max(1), day => shown.day.to_string(), day_de => german_day(shown.day),
        asked => shown.asked, bookable, times, hidden, typed => shown.typed, error,
        ..super::super::base(state, Some(staff), uri.path())
    };
    Ok(no_store((status, render_page(state, "verwaltung/termine/buchen.html", ctx)?).into_response()))
}

pub async fn form(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path((slug, calendar_id)): Path<(String, i64)>,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let a = staff.appointment_counter(&state, &slug)?;
    let pairs = pairs_of(query.as_deref());
    let journey = journey_of(&pairs, calendar_id);
    let asked = !journey.services.is_empty() || !first(&pairs, "personen").is_empty();
    let shown = Shown {
        journey: &journey,
        day: day_of(first(&pairs, "tag")),
        asked,
        posted: false,
        typed: Typed::default(),
        error: None,
    };
    render(&state, &staff, &a, &uri, calendar_id, shown).await
}

pub async fn submit(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path((slug, calendar_id)): Path<(String, i64)>,
    Csrf(Form(pairs)): Csrf<Form<Vec<(String, String)>>>,
) -> Result<Response, AppError> {
    let a = staff.appointment_counter(&state, &slug)?;
    calendar(&state, &staff, &a, calendar_id).await?;
    let journey = journey_of(&pairs, calendar_id);
    let day = day_of(first(&pairs, "tag"));
    let typed = Typed {
        zeit: first(&pairs, "zeit").trim().to_owned(),
        name: first(&pairs, "name").trim().to_owned(),
        email: first(&pairs, "email").trim().to_owned(),
        phone: first(&pairs, "phone").trim().to_owned(),
        notes: first(&pairs, "notes").trim().to_owned(),
    };
    let time = Time::strptime("%H:%M", &typed.zeit).ok();
    let problem = if time.is_none() {
        Some("Bitte wählen Sie eine freie Zeit.".to_owned())
    } else if typed.name.is_empty() {
        Some("Bitte geben Sie den Namen der Person ein.".to_owned())
    } else if typed.email.is_empty() && typed.phone.is_empty() {
        Some("Bitte geben Sie eine E-Mail-Adresse oder eine Telefonnummer an, damit die Person bei einer Absage erreichbar ist.".to_owned())
    } else {
        None
    };
    let (Some(time), None) = (time, problem.clone()) else {
        let shown = Shown { journey: &journey, day, asked: true, posted: true, typed, error: problem };
        return render(&state, &staff, &a, &uri, calendar_id, shown).await;
    };
    let contact = Contact {
        name: typed.name.clone(),
        email: typed.email.clone(),
        phone: typed.phone.clone(),
        notes: typed.notes.clone(),
    };
    let start = day.to_datetime(time);
    match counter::book_on_behalf(&state.portal, &staff.actor(), a.id, &journey, start, contact).await? {
        Ok(v) => {
            let id = v.id;
            let to = format!("{}&hinweis=gebucht#termin-{id}", day_url(&a, calendar_id, day));
            Ok(Redirect::to(&to).into_response())
        }
        Err(message) => {
            let shown = Shown { journey: &journey, day, asked: true, posted: true, typed, error: Some(message) };
            render(&state, &staff, &a, &uri, calendar_id, shown).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_carries_the_journey() {
        let pairs =
            pairs_of(Some("leistung=99115001012000&leistung=99115001013000&personen=2&a_frage1=ja&tag=2026-11-24"));
        let j = journey_of(&pairs, 7);
        assert_eq!(j.services.len(), 2);
        assert_eq!((j.persons, j.calendar), (2, Some(7)));
        assert_eq!(j.answer("frage1"), Some("ja"));
        assert_eq!(super::super::all(&pairs, "leistung").count(), 2);
    }
}
