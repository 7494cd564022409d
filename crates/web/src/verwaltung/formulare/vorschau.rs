//! The draft as citizens will see it (Vorschau, every conditional part shown with its
//! condition in words) and the draft as JSON: the download, and replacing the draft by
//! an edited JSON text, which shows the editor page again when it is refused.

use super::import::parse_json;
use super::schritte::{EditorView, Sel, render_editor};
use super::{Stored, authority_ctx, expr_text, load, msg, page, pretty, store_draft};
use crate::AppState;
use crate::antrag::fields;
use crate::csrf::Csrf;
use crate::error::AppError;
use crate::verwaltung::{StaffContext, base};
use amtsweg_forms::{Answers, Field, Form, Item, Step};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// Every step as citizens see it, with every conditional part shown and its
/// condition in words (the preview has no answers to decide them).
fn preview_step(form: &Form, step: &Step) -> Result<Value, AppError> {
    let mut open = step.clone();
    for item in &mut open.items {
        match item {
            Item::Field(f) => f.visible_if = None,
            Item::Group(g) => g.visible_if = None,
        }
    }
    let views = fields::step_view(form, &open, &Answers::new(), &BTreeMap::new(), &[], &BTreeSet::new());
    let mut items = Vec::new();
    for (view, item) in views.iter().zip(&step.items) {
        let mut v = serde_json::to_value(view).map_err(|e| AppError::Internal(e.to_string()))?;
        let note = |f: &Field| {
            let mut parts = Vec::new();
            if let Some(c) = &f.visible_if {
                parts.push(format!("Nur gefragt, wenn {}.", fields::describe(form, c)));
            }
            if let Some(c) = f.required_if.as_ref().filter(|_| !f.required) {
                parts.push(format!("Pflichtangabe, wenn {}.", fields::describe(form, c)));
            }
            (!parts.is_empty()).then(|| parts.join(" "))
        };
        match item {
            Item::Field(f) => {
                if let Some(n) = note(f) {
                    v["condition"] = n.into();
                }
            }
            Item::Group(g) => {
                if let Some(c) = &g.visible_if {
                    v["condition"] = format!("Nur gefragt, wenn {}.", fields::describe(form, c)).into();
                }
                let lists: Vec<&mut serde_json::Value> = match v.get_mut("rows") {
                    Some(serde_json::Value::Array(rows)) if g.repeat.is_some() => {
                        rows.iter_mut().filter_map(|r| r.get_mut("fields")).collect()
                    }
                    _ => v.get_mut("fields").into_iter().collect(),
                };
                for list in lists {
                    if let serde_json::Value::Array(fs) = list {
                        for (fv, f) in fs.iter_mut().zip(&g.fields) {
                            if let Some(n) = note(f) {
                                fv["condition"] = n.into();
                            }
                        }
                    }
                }
            }
        }
        items.push(v);
    }
    Ok(context! {
        id => &step.id, title => &step.title, items => Value::from_serialize(&items),
        condition => step.visible_if.as_ref().map(|c| fields::describe(form, c)),
    })
}

pub async fn preview(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path((slug, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let l = load(&state, &staff, &slug, id).await?;
    let form = &l.draft;
    let steps = form.steps.iter().map(|s| preview_step(form, s)).collect::<Result<Vec<_>, _>>()?;
    let computed: Vec<Value> =
        form.computed.iter().map(|c| context! { label => &c.label, text => expr_text(form, &c.expr) }).collect();
    let ctx = context! {
        authority => authority_ctx(&l.authority), editor => l.editor(), title => &form.title, steps, computed,
        total => form.steps.len(), ..base(&state, Some(&staff), uri.path())
    };
    page(&state, "verwaltung/formular_vorschau.html", ctx, StatusCode::OK)
}

/// The draft as a JSON file.
pub async fn json_download(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let l = load(&state, &staff, &slug, id).await?;
    let body = pretty(&l.draft)?;
    let disposition = format!("attachment; filename=\"{}.json\"", l.row.slug);
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).map_err(|e| AppError::Internal(e.to_string()))?,
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct JsonForm {
    csrf: String,
    version: i64,
    json: String,
}

/// Replaces the draft by a JSON text: only a form without any problem is taken.
pub async fn json_submit(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id)): Path<(String, i64)>,
    Csrf(axum::Form(f)): Csrf<axum::Form<JsonForm>>,
) -> Result<Response, AppError> {
    let l = load(&state, &staff, &slug, id).await?;
    let view = |errors, conflict| EditorView {
        l: &l,
        sel: Sel::Form,
        errors,
        conflict,
        notice: None,
        typed: None,
        json: Some(f.json.clone()),
        json_open: true,
    };
    let candidate = match parse_json(&f.json, "feld-json") {
        Ok(c) => c,
        Err(errors) => return render_editor(&state, &staff, view(errors, false), StatusCode::UNPROCESSABLE_ENTITY),
    };
    match store_draft(&state, &staff, &l, f.version, &candidate, true).await? {
        Stored::Saved => Ok(Redirect::to(&format!("{}?hinweis=json", l.editor())).into_response()),
        Stored::Refused(found) => {
            let errors = found.into_iter().map(|x| msg("feld-json", x.message)).collect();
            render_editor(&state, &staff, view(errors, false), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Stored::Conflict => {
            let fresh = load(&state, &staff, &slug, id).await?;
            let v = EditorView { l: &fresh, ..view(Vec::new(), true) };
            render_editor(&state, &staff, v, StatusCode::CONFLICT)
        }
    }
}
