//! New forms from files: a JSON text of a form (for power users, and for forms moved
//! between authorities) and the upload of an XDatenfelder file (xdf1, xdf2, xdf3, the
//! FIM standard) with a report of what could not be carried over. Both end on the list
//! page (`liste`); the JSON check is also used when a draft is replaced by JSON.

use super::liste::{ListForm, ListView, chosen_service, create, render_list, services_for, short_name};
use super::{Msg, msg};
use crate::AppState;
use crate::csrf::Csrf;
use crate::error::AppError;
use crate::verwaltung::StaffContext;
use amtsweg_forms::Form;
use amtsweg_forms::check::tidy_ids;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;

/// Messages for a JSON text that is no form (or not a valid one), linking to `anchor`.
pub(super) fn parse_json(json: &str, anchor: &str) -> Result<Form, Vec<Msg>> {
    let form: Form = serde_json::from_str(json).map_err(|e| {
        vec![msg(anchor, format!("Das JSON ist kein Formular: {e} (Zeile {}, Spalte {}).", e.line(), e.column()))]
    })?;
    let problems = amtsweg_forms::check(&form);
    if problems.is_empty() { Ok(form) } else { Err(problems.into_iter().map(|m| msg(anchor, m)).collect()) }
}

pub async fn import_json(
    State(state): State<AppState>,
    staff: StaffContext,
    Path(slug): Path<String>,
    Csrf(axum::Form(f)): Csrf<axum::Form<ListForm>>,
) -> Result<Response, AppError> {
    let a = staff.content_authority(&state, &slug)?;
    let services = services_for(&state, &staff, &a).await?;
    let mut errors = Vec::new();
    let service = chosen_service(&staff, &a, &services, &f.leistung, "feld-json-leistung", &mut errors);
    let form = match parse_json(&f.json, "feld-json") {
        Ok(form) => Some(form),
        Err(e) => {
            errors.extend(e);
            None
        }
    };
    let basis = form.as_ref().map_or_else(String::new, |f| f.id.clone());
    let slug = short_name(&state, &a, &f.kurzname, &basis, "feld-json-kurzname", &mut errors).await?;
    let (Some(form), Some(slug), true) = (form, slug, errors.is_empty()) else {
        let v = ListView { errors, source: "json", typed: f, report: None };
        return render_list(&state, &staff, &a, v, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let id = create(&state, &staff, &a, &slug, service, &form).await?;
    Ok(Redirect::to(&format!("/verwaltung/behoerden/{}/formulare/{id}?hinweis=angelegt", a.slug)).into_response())
}

/// The upload of an XDatenfelder file (xdf1, xdf2, xdf3): a new draft and the
/// report of what could not be carried over.
pub async fn import_xdf(
    State(state): State<AppState>,
    staff: StaffContext,
    headers: HeaderMap,
    Path(slug): Path<String>,
    request: Request,
) -> Result<Response, AppError> {
    let a = staff.content_authority(&state, &slug)?;
    let broken =
        || AppError::BadRequest("Die Datei kam nicht vollständig an. Bitte laden Sie sie noch einmal hoch.".into());
    let mut mp = Multipart::from_request(request, &state).await.map_err(|_| broken())?;
    let (mut csrf, mut kurzname, mut leistung, mut file) = (String::new(), String::new(), String::new(), Vec::new());
    let mut file_name = String::new();
    while let Some(part) = mp.next_field().await.map_err(|_| broken())? {
        match part.name().unwrap_or_default() {
            "datei" => {
                file_name = part.file_name().unwrap_or_default().to_owned();
                file = part.bytes().await.map_err(|_| broken())?.to_vec();
            }
            name => {
                let name = name.to_owned();
                let text = part.text().await.map_err(|_| broken())?;
                match name.as_str() {
                    "csrf" => csrf = text,
                    "kurzname" => kurzname = text,
                    "leistung" => leistung = text,
                    _ => {}
                }
            }
        }
    }
    staff.check_form(&headers, &csrf)?;
    let services = services_for(&state, &staff, &a).await?;
    let mut errors = Vec::new();
    let service = chosen_service(&staff, &a, &services, &leistung, "feld-xdf-leistung", &mut errors);
    let imported = if file.is_empty() {
        errors.push(msg("feld-datei", "Bitte wählen Sie eine XDatenfelder-Datei (.xml) aus."));
        None
    } else {
        match std::str::from_utf8(&file) {
            Err(_) => {
                errors.push(msg(
                    "feld-datei",
                    format!(
                        "„{file_name}“ ist keine Textdatei in UTF-8; XDatenfelder-Dateien sind UTF-8-kodiertes XML."
                    ),
                ));
                None
            }
            Ok(xml) => match amtsweg_xdf::import(xml.trim_start_matches('\u{feff}')) {
                Err(e) => {
                    errors.push(msg("feld-datei", format!("Import abgelehnt: {e}")));
                    None
                }
                Ok(i) => Some(i),
            },
        }
    };
    let basis = imported.as_ref().map_or_else(String::new, |i| i.form.title.clone());
    let slug = short_name(&state, &a, &kurzname, &basis, "feld-xdf-kurzname", &mut errors).await?;
    let typed = ListForm { kurzname, leistung, ..ListForm::default() };
    let (Some(mut imported), Some(slug), true) = (imported, slug, errors.is_empty()) else {
        let v = ListView { errors, source: "xdf", typed, report: None };
        return render_list(&state, &staff, &a, v, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    // FIM ids are upper case (F60000227); the editor's ids are not.
    tidy_ids(&mut imported.form);
    if imported.form.title.trim().is_empty() {
        imported.form.title = file_name.clone();
    }
    let id = create(&state, &staff, &a, &slug, service, &imported.form).await?;
    let r = &imported.report;
    let open = amtsweg_forms::check(&imported.form);
    let report = context! {
        standard => &r.standard, id => &r.id, version => &r.version, title => &imported.form.title,
        fields => r.fields, groups => r.groups, not_supported => &r.not_supported, open => open.len(),
        editor => format!("/verwaltung/behoerden/{}/formulare/{id}", a.slug), slug => slug.as_str(),
    };
    render_list(&state, &staff, &a, ListView { report: Some(report), ..ListView::default() }, StatusCode::OK).await
}
