//! Publishing a draft as the next immutable version (Fassung), which new applications
//! use from then on, and the history of the published versions with what changed
//! between them, field by field. A draft with problems is not published: the editor
//! page is shown again with them.

use super::schritte::{EditorView, render_editor};
use super::{Msg, anchor, authority_ctx, finding_href, load, msg, page};
use crate::AppState;
use crate::csrf::Csrf;
use crate::error::AppError;
use crate::verwaltung::{StaffContext, base, berlin_time};
use amtsweg_forms::Form;
use amtsweg_forms::check::findings;
use amtsweg_forms::diff::{Change, diff};
use amtsweg_store::editing::Saved;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PublishForm {
    csrf: String,
    version: i64,
}

pub async fn publish(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id)): Path<(String, i64)>,
    Csrf(axum::Form(f)): Csrf<axum::Form<PublishForm>>,
) -> Result<Response, AppError> {
    let l = load(&state, &staff, &slug, id).await?;
    let editor = l.editor();
    let mut errors: Vec<Msg> = findings(&l.draft)
        .iter()
        .map(|x| Msg { href: finding_href(x, &l.draft, &editor, "schritte"), message: x.message.clone() })
        .collect();
    for s in l.draft.steps.iter().filter(|s| s.items.is_empty()) {
        errors.push(msg(&anchor("schritt", &s.id), format!("Der Schritt „{}“ hat noch keine Felder.", s.title)));
    }
    let view = |errors, conflict| EditorView {
        l: &l,
        errors,
        conflict,
        notice: None,
        typed: None,
        json: None,
        json_open: false,
    };
    if !errors.is_empty() {
        return render_editor(&state, &staff, view(errors, false), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let mut tx = state.store.begin().await?;
    match tx.publish_form(l.authority.id, l.row.id, f.version, Some(staff.user.id)).await? {
        Saved::Ok(_) => {
            tx.commit().await?;
            // The catalogue reloads by itself (the watermark includes the forms); here
            // at once, so the editor's link to the portal works right away.
            crate::sync::refresh(&state).await?;
            Ok(Redirect::to(&format!("{editor}?hinweis=veroeffentlicht")).into_response())
        }
        Saved::Conflict { .. } => {
            drop(tx);
            let fresh = load(&state, &staff, &slug, id).await?;
            let v = EditorView { l: &fresh, ..view(Vec::new(), true) };
            render_editor(&state, &staff, v, StatusCode::CONFLICT)
        }
    }
}

fn change_text(c: &Change) -> String {
    match c {
        Change::Title { before, after } => format!("Titel geändert: „{before}“ → „{after}“"),
        Change::StepAdded { step } => format!("Schritt hinzugefügt: „{step}“"),
        Change::StepRemoved { step } => format!("Schritt entfernt: „{step}“"),
        Change::FieldAdded { field, label } => format!("Feld hinzugefügt: „{label}“ ({field})"),
        Change::FieldRemoved { field, label } => format!("Feld entfernt: „{label}“ ({field})"),
        Change::FieldChanged { field, label } => format!("Feld geändert: „{label}“ ({field})"),
        Change::RulesChanged => "Regeln über mehrere Felder geändert".into(),
        Change::ComputedChanged => "Berechnete Werte geändert".into(),
    }
}

fn change_kind(c: &Change) -> &'static str {
    match c {
        Change::StepAdded { .. } | Change::FieldAdded { .. } => "ins",
        Change::StepRemoved { .. } | Change::FieldRemoved { .. } => "del",
        _ => "",
    }
}

fn changes(before: &Form, after: &Form) -> Vec<Value> {
    diff(before, after).iter().map(|c| context! { kind => change_kind(c), text => change_text(c) }).collect()
}

pub async fn versions(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path((slug, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let l = load(&state, &staff, &slug, id).await?;
    let mut published = Vec::new();
    for n in 1..=l.row.published_version {
        if let Some(v) = state.store.form_version(l.authority.id, l.row.id, n).await? {
            published.push((v.form()?, v));
        }
    }
    let mut items = Vec::new();
    for (i, (form, v)) in published.iter().enumerate() {
        let (before, changes) = match i.checked_sub(1).and_then(|p| published.get(p)) {
            Some((prev, pv)) => (Some(pv.version), changes(prev, form)),
            None => (None, Vec::new()),
        };
        let fields = form.steps.iter().map(|s| s.items.len()).sum::<usize>();
        items.push(context! {
            version => v.version, when => berlin_time(v.published_at), by => v.published_by,
            before, changes, steps => form.steps.len(), fields,
        });
    }
    items.reverse();
    let draft = published.last().map(|(last, v)| {
        context! { version => v.version, changes => changes(last, &l.draft) }
    });
    let ctx = context! {
        authority => authority_ctx(&l.authority), editor => l.editor(), title => &l.draft.title, items, draft,
        ..base(&state, Some(&staff), uri.path())
    };
    page(&state, "verwaltung/formular_versionen.html", ctx, StatusCode::OK)
}
