//! The rules page of a form: rules across fields (Regeln: one date after another, a
//! date within some days of the application) and the computed amounts, whose builder
//! is `berechnet`. Rules refer to answers at the top level only.

use super::{CONFLICT, Loaded, Msg, RulesForm, Stored, authority_ctx, berechnet, label_of, load, msg, page};
use super::{store_draft, top_level_fields};
use crate::AppState;
use crate::csrf::Csrf;
use crate::error::AppError;
use crate::verwaltung::{StaffContext, base};
use amtsweg_forms::check::Finding;
use amtsweg_forms::{Kind, Rule};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;

fn render_rules(
    state: &AppState,
    staff: &StaffContext,
    l: &Loaded,
    typed: RulesForm,
    errors: Vec<Msg>,
    conflict: bool,
    status: StatusCode,
) -> Result<Response, AppError> {
    let form = &l.draft;
    let rules: Vec<Value> = form
        .rules
        .iter()
        .enumerate()
        .map(|(n, r)| {
            let (text, message) = match r {
                Rule::DateAfter { field, other, message } => {
                    (format!("„{}“ muss nach „{}“ liegen.", label_of(form, field), label_of(form, other)), message)
                }
                Rule::WithinDays { field, days, message } => (
                    format!("„{}“ darf höchstens {days} Tage nach dem Tag des Antrags liegen.", label_of(form, field)),
                    message,
                ),
            };
            context! { nr => n, number => n + 1, anchor => format!("regel-{n}"), text, message }
        })
        .collect();
    let dates: Vec<Value> = top_level_fields(form)
        .into_iter()
        .filter(|f| matches!(f.kind, Kind::Date { .. } | Kind::BirthDate { .. }))
        .map(|f| context! { id => &f.id, label => &f.label })
        .collect();
    let editor = l.editor();
    let invalid: Vec<String> = errors.iter().map(|e| e.href.trim_start_matches('#').to_owned()).collect();
    let ctx = context! {
        authority => authority_ctx(&l.authority), editor, form_title => &form.title, version => l.row.draft_version,
        rules, dates, berechnet => berechnet::view(form, &typed), typed => Value::from_serialize(&typed), errors, invalid,
        conflict => conflict.then_some(CONFLICT),
        ..base(state, Some(staff), &format!("{editor}/regeln"))
    };
    page(state, "verwaltung/formular_regeln.html", ctx, status)
}

#[derive(Debug, Default, Deserialize)]
pub struct RulesQuery {
    /// The computed amount (position) to edit in the builder.
    berechnet: Option<String>,
}

pub async fn rules(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id)): Path<(String, i64)>,
    Query(q): Query<RulesQuery>,
) -> Result<Response, AppError> {
    let l = load(&state, &staff, &slug, id).await?;
    let typed =
        q.berechnet.and_then(|n| n.parse().ok()).and_then(|n| berechnet::input_of(&l.draft, n)).unwrap_or_default();
    render_rules(&state, &staff, &l, typed, Vec::new(), false, StatusCode::OK)
}

pub async fn rules_submit(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id)): Path<(String, i64)>,
    Csrf(axum::Form(f)): Csrf<axum::Form<RulesForm>>,
) -> Result<Response, AppError> {
    let l = load(&state, &staff, &slug, id).await?;
    let mut candidate = l.draft.clone();
    let mut errors = Vec::new();
    match f.aktion.as_str() {
        "nach" => {
            if f.nach_feld.is_empty() {
                errors.push(msg("feld-nach_feld", "Bitte wählen Sie das Datum, das später liegen muss."));
            }
            if f.nach_anderes.is_empty() {
                errors.push(msg("feld-nach_anderes", "Bitte wählen Sie das Datum, mit dem verglichen wird."));
            }
            if f.nach_meldung.trim().is_empty() {
                errors.push(msg("feld-nach_meldung", "Bitte geben Sie die Meldung für die Antragstellenden an."));
            }
            candidate.rules.push(Rule::DateAfter {
                field: f.nach_feld.clone(),
                other: f.nach_anderes.clone(),
                message: f.nach_meldung.trim().to_owned(),
            });
        }
        "frist" => {
            if f.frist_feld.is_empty() {
                errors.push(msg("feld-frist_feld", "Bitte wählen Sie das Datum."));
            }
            let days = f.frist_tage.trim().parse::<u32>().ok().filter(|d| *d > 0);
            if days.is_none() {
                errors.push(msg(
                    "feld-frist_tage",
                    "Bitte geben Sie die Anzahl der Tage als ganze Zahl größer als 0 an.",
                ));
            }
            if f.frist_meldung.trim().is_empty() {
                errors.push(msg("feld-frist_meldung", "Bitte geben Sie die Meldung für die Antragstellenden an."));
            }
            candidate.rules.push(Rule::WithinDays {
                field: f.frist_feld.clone(),
                days: days.unwrap_or(1),
                message: f.frist_meldung.trim().to_owned(),
            });
        }
        "loeschen" if f.nr < candidate.rules.len() => {
            candidate.rules.remove(f.nr);
        }
        a if a.starts_with("berechnet_") => {
            if let Err(e) = berechnet::apply(&mut candidate, &f) {
                errors.extend(e);
            }
        }
        _ => errors.push(msg("regeln", "Diese Regel gibt es nicht mehr. Bitte laden Sie die Seite neu.")),
    }
    if !errors.is_empty() {
        return render_rules(&state, &staff, &l, f, errors, false, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let computed = f.aktion.starts_with("berechnet_");
    match store_draft(&state, &staff, &l, f.version, &candidate, false).await? {
        Stored::Saved if computed => Ok(Redirect::to(&format!("{}/regeln#berechnet", l.editor())).into_response()),
        Stored::Saved => Ok(Redirect::to(&format!("{}/regeln", l.editor())).into_response()),
        Stored::Refused(found) => {
            let anchor = |x: &Finding| match f.aktion.as_str() {
                "frist" => "feld-frist_feld",
                a if a.starts_with("berechnet_") => berechnet::finding_anchor(a, x),
                _ => "feld-nach_feld",
            };
            let errors = found.into_iter().map(|x| msg(anchor(&x), x.message)).collect();
            render_rules(&state, &staff, &l, f, errors, false, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Stored::Conflict => {
            let fresh = load(&state, &staff, &slug, id).await?;
            render_rules(&state, &staff, &fresh, f, Vec::new(), true, StatusCode::CONFLICT)
        }
    }
}
