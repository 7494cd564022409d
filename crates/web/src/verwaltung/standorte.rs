//! Editing an authority's locations: address, accessibility notes, weekly opening
//! hours and closure days (holidays). "Open now" on the portal follows at once.

use super::{StaffContext, base, require_staff};
use crate::AppState;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::audit::AuditEntry;
use amtsweg_domain::opening_hours::{WEEKDAY_NAMES, fmt_minutes};
use amtsweg_domain::{Authority, OpeningHours, Slug};
use amtsweg_store::NewLocation;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};

const DAY_KEYS: [&str; 7] = ["mo", "di", "mi", "do", "fr", "sa", "so"];

pub async fn list(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let a = staff.authority_wide(&state, &slug)?;
    let rows: Vec<Value> = state
        .store
        .locations(a.id)
        .await?
        .iter()
        .map(|l| context! { id => l.id, name => &l.name, address => format!("{}, {} {}", l.street, l.plz, l.city) })
        .collect();
    let ctx = context! { authority => context! { name => &a.name, slug => a.slug.as_str() }, rows, ..base(&state, Some(&staff), uri.path()) };
    Ok(render_page(&state, "verwaltung/standorte.html", ctx)?.into_response())
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct LocationForm {
    #[serde(skip_serializing)]
    csrf: String,
    version: i64,
    name: String,
    street: String,
    plz: String,
    city: String,
    accessibility: String,
    mo: String,
    di: String,
    mi: String,
    #[serde(rename = "do")]
    do_: String,
    fr: String,
    sa: String,
    so: String,
    closed: String,
}

impl LocationForm {
    fn days(&self) -> [&str; 7] {
        [&self.mo, &self.di, &self.mi, &self.do_, &self.fr, &self.sa, &self.so]
    }

    fn from_location(l: &amtsweg_store::Location) -> Self {
        let h = l.hours();
        let day = |i: usize| {
            h.weekly[i]
                .iter()
                .map(|iv| format!("{}-{}", fmt_minutes(iv.from), fmt_minutes(iv.to)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        Self {
            csrf: String::new(),
            version: l.updated_at,
            name: l.name.clone(),
            street: l.street.clone(),
            plz: l.plz.clone(),
            city: l.city.clone(),
            accessibility: l.accessibility.clone(),
            mo: day(0),
            di: day(1),
            mi: day(2),
            do_: day(3),
            fr: day(4),
            sa: day(5),
            so: day(6),
            closed: h.closed.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
        }
    }

    /// The location to store, or the problems in field order.
    fn parse(&self) -> Result<NewLocation, Vec<(String, String)>> {
        let mut errors = Vec::new();
        if self.name.trim().is_empty() {
            errors.push(("name".to_owned(), "Bitte geben Sie den Namen des Standorts ein.".to_owned()));
        }
        let plz = self.plz.trim();
        if !(plz.is_empty() || (plz.len() == 5 && plz.bytes().all(|b| b.is_ascii_digit()))) {
            errors.push(("plz".to_owned(), "Die Postleitzahl hat fünf Ziffern.".to_owned()));
        }
        let mut days = Vec::new();
        for (i, (key, text)) in DAY_KEYS.iter().zip(self.days()).enumerate() {
            match OpeningHours::parse_day(text) {
                Ok(_) => days.push((*key, text)),
                Err(e) => errors.push(((*key).to_owned(), format!("{}: {}", WEEKDAY_NAMES[i], e.0))),
            }
        }
        let mut closed = Vec::new();
        for line in self.closed.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let parsed = line.parse::<jiff::civil::Date>().ok().or_else(|| {
                let mut p = line.split('.');
                let (d, m, y) = (p.next()?.parse().ok()?, p.next()?.parse().ok()?, p.next()?.parse().ok()?);
                jiff::civil::Date::new(y, m, d).ok()
            });
            match parsed {
                Some(d) => closed.push(d),
                None => {
                    errors.push(("closed".to_owned(), format!("„{line}“ ist kein Datum (TT.MM.JJJJ oder JJJJ-MM-TT).")))
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let hours = OpeningHours::from_day_map(days, closed).map_err(|e| vec![("mo".to_owned(), e.0)])?;
        Ok(NewLocation {
            slug: Slug::from_title(&self.name).to_string(),
            name: self.name.trim().to_owned(),
            street: self.street.trim().to_owned(),
            plz: plz.to_owned(),
            city: self.city.trim().to_owned(),
            accessibility: self.accessibility.trim().to_owned(),
            hours,
        })
    }
}

#[derive(Debug, Deserialize)]
pub struct Notice {
    gespeichert: Option<String>,
}

#[allow(clippy::too_many_arguments, clippy::fn_params_excessive_bools)]
fn render(
    state: &AppState,
    staff: &StaffContext,
    a: &Authority,
    id: Option<i64>,
    f: &LocationForm,
    errors: &[(String, String)],
    conflict: bool,
    saved: bool,
) -> Result<Response, AppError> {
    let days: Vec<Value> = DAY_KEYS
        .iter()
        .zip(f.days())
        .enumerate()
        .map(|(i, (key, value))| {
            let error = errors.iter().find(|(k, _)| k == key).map(|(_, m)| m.clone());
            context! { key => *key, label => WEEKDAY_NAMES[i], value, error }
        })
        .collect();
    let err = |k: &str| errors.iter().find(|(f, _)| f == k).map(|(_, m)| m.clone());
    let status = if conflict {
        StatusCode::CONFLICT
    } else if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let ctx = context! {
        authority => context! { name => &a.name, slug => a.slug.as_str() }, id, f => f, days,
        errors => errors.iter().map(|(k, m)| context! { field => k, message => m }).collect::<Vec<_>>(),
        name_error => err("name"), plz_error => err("plz"), closed_error => err("closed"), conflict, saved,
        ..base(state, Some(staff), "/verwaltung/standort")
    };
    Ok((status, render_page(state, "verwaltung/standort.html", ctx)?).into_response())
}

pub async fn new_form(
    State(state): State<AppState>,
    staff: StaffContext,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let a = staff.authority_wide(&state, &slug)?;
    render(&state, &staff, &a, None, &LocationForm::default(), &[], false, false)
}

pub async fn edit_form(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id)): Path<(String, i64)>,
    Query(n): Query<Notice>,
) -> Result<Response, AppError> {
    let a = staff.authority_wide(&state, &slug)?;
    let l = state.store.location(a.id, id).await?.ok_or(AppError::NotFound)?;
    render(&state, &staff, &a, Some(id), &LocationForm::from_location(&l), &[], false, n.gespeichert.is_some())
}

async fn save(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    slug: &str,
    id: Option<i64>,
    f: LocationForm,
) -> Result<Response, AppError> {
    let staff = match require_staff(state, headers, uri).await {
        Ok(s) => s,
        Err(r) => return Ok(r),
    };
    staff.check_form(headers, &f.csrf)?;
    let a = staff.authority_wide(state, slug)?;
    if let Some(id) = id {
        state.store.location(a.id, id).await?.ok_or(AppError::NotFound)?;
    }
    let location = match f.parse() {
        Ok(l) => l,
        Err(errors) => return render(state, &staff, &a, id, &f, &errors, false, false),
    };
    let mut tx = state.store.begin().await?;
    let id = match id {
        Some(id) => {
            if !tx.update_location(a.id, id, f.version, &location).await? {
                drop(tx);
                return render(state, &staff, &a, Some(id), &f, &[], true, false);
            }
            id
        }
        None => {
            let mut l = location;
            l.slug = format!("{}-{}", l.slug, amtsweg_store::now_ms() % 100_000);
            tx.insert_location(a.id, &l).await?
        }
    };
    tx.append_audit(&AuditEntry {
        at: amtsweg_store::now_ms(),
        actor: format!("staff:{}", staff.user.id),
        authority_id: Some(a.id),
        action: "location.save".into(),
        target: format!("location:{id}"),
        outcome: "success".into(),
    })
    .await?;
    tx.commit().await?;
    crate::sync::refresh(state).await?;
    Ok(Redirect::to(&format!("/verwaltung/behoerden/{}/standorte/{id}?gespeichert=1", a.slug)).into_response())
}

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(slug): Path<String>,
    Form(f): Form<LocationForm>,
) -> Result<Response, AppError> {
    save(&state, &headers, &uri, &slug, None, f).await
}

pub async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((slug, id)): Path<(String, i64)>,
    Form(f): Form<LocationForm>,
) -> Result<Response, AppError> {
    save(&state, &headers, &uri, &slug, Some(id), f).await
}
