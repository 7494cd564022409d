//! Publishing a draft as the next immutable version (Fassung), which new applications
//! use from then on, and the history of the published versions with what changed
//! between them, field by field. A draft with problems is not published: the editor
//! page is shown again with them.

use super::arten::kind_label;
use super::eingaben::FieldInput;
use super::feld::PREFILLS;
use super::schritte::{EditorView, Sel, render_editor};
use super::{Msg, anchor, authority_ctx, finding_href, load, msg, page};
use crate::AppState;
use crate::antrag::fields;
use crate::csrf::Csrf;
use crate::error::AppError;
use crate::verwaltung::leistungen::editor_names;
use crate::verwaltung::{StaffContext, base};
use amtsweg_domain::TrustLevel;
use amtsweg_forms::check::findings;
use amtsweg_forms::diff::{Change, diff};
use amtsweg_forms::{Field, Form, Group, Item};
use amtsweg_portal::time::when;
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
        sel: Sel::Form,
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

pub(crate) fn change_text(c: &Change) -> String {
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

pub(crate) fn change_kind(c: &Change) -> &'static str {
    match c {
        Change::StepAdded { .. } | Change::FieldAdded { .. } => "ins",
        Change::StepRemoved { .. } | Change::FieldRemoved { .. } => "del",
        _ => "",
    }
}

/// The settings of a field as the field page names them, in its order.
const SETTINGS: [(&str, &str); 23] = [
    ("label", "Bezeichnung"),
    ("hint", "Hinweis zum Ausfüllen"),
    ("art", "Art des Feldes"),
    ("pflicht", "Pflichtangabe"),
    ("pflicht_wenn", "Sonst Pflicht, wenn"),
    ("sichtbar", "Nur anzeigen, wenn"),
    ("prefill", "Aus dem Bürgerkonto vorausfüllen"),
    ("optionen", "Auswahlmöglichkeiten"),
    ("max_len", "Höchstlänge in Zeichen"),
    ("min", "Kleinster Wert"),
    ("max", "Größter Wert"),
    ("min_betrag", "Mindestbetrag in Euro"),
    ("max_betrag", "Höchstbetrag in Euro"),
    ("frueheste", "Frühestes Datum"),
    ("spaeteste", "Spätestes Datum"),
    ("min_alter", "Mindestalter"),
    ("max_alter", "Höchstalter"),
    ("min_anzahl", "Mindestens auszuwählen"),
    ("max_anzahl", "Höchstens auszuwählen"),
    ("endungen", "Erlaubte Dateiendungen"),
    ("max_mb", "Höchste Dateigröße in MB"),
    ("text", "Text"),
    ("in_verbund", "Ort muss im Verbund liegen"),
];

/// Every field of a form by its key (`group.field` inside groups).
fn fields_by_key(form: &Form) -> Vec<(String, &Field)> {
    let mut out = Vec::new();
    for s in &form.steps {
        for item in &s.items {
            match item {
                Item::Field(f) => out.push((f.id.clone(), f)),
                Item::Group(g) => out.extend(g.fields.iter().map(|f| (format!("{}.{}", g.id, f.id), f))),
            }
        }
    }
    out
}

fn groups(form: &Form) -> Vec<&Group> {
    form.steps
        .iter()
        .flat_map(|s| &s.items)
        .filter_map(|i| match i {
            Item::Group(g) => Some(g),
            Item::Field(_) => None,
        })
        .collect()
}

/// A value as the history shows it.
fn quoted(s: &str) -> String {
    let s = s.trim();
    if s.is_empty() { "(leer)".to_owned() } else { format!("„{}“", s.replace('\n', "; ")) }
}

/// One setting of a field in words: conditions described, choices and yes/no named.
fn setting_text(form: &Form, f: &Field, key: &str, raw: &str) -> String {
    match key {
        "art" => kind_label(raw).to_owned(),
        "pflicht" | "in_verbund" => if raw == "ja" { "ja" } else { "nein" }.to_owned(),
        "sichtbar" => f.visible_if.as_ref().map_or_else(|| "immer".to_owned(), |c| fields::describe(form, c)),
        "pflicht_wenn" => {
            f.required_if.as_ref().map_or_else(|| "(keine Bedingung)".to_owned(), |c| fields::describe(form, c))
        }
        "prefill" => PREFILLS
            .iter()
            .find(|(k, _)| *k == raw)
            .map_or_else(|| "nicht vorausgefüllt".to_owned(), |(_, l)| (*l).to_owned()),
        _ => quoted(raw),
    }
}

/// What changed in a field, setting by setting: (setting, before, after).
fn field_details(before: &Form, old: &Field, after: &Form, new: &Field) -> Vec<Value> {
    let (Ok(o), Ok(n)) = (serde_json::to_value(FieldInput::of(old, 0)), serde_json::to_value(FieldInput::of(new, 0)))
    else {
        return Vec::new();
    };
    let text =
        |v: &serde_json::Value, k: &str| v.get(k).and_then(serde_json::Value::as_str).unwrap_or_default().to_owned();
    SETTINGS
        .iter()
        .filter_map(|(key, name)| {
            let (a, b) =
                (setting_text(before, old, key, &text(&o, key)), setting_text(after, new, key, &text(&n, key)));
            (a != b).then(|| context! { what => name, before => a, after => b })
        })
        .collect()
}

fn detail(what: &str, before: String, after: String) -> Value {
    context! { what, before, after }
}

fn repeat_text(g: &Group) -> String {
    g.repeat.map_or_else(|| "einmal".to_owned(), |r| format!("{} bis {} Einträge", r.min, r.max))
}

/// The changes from `before` to `after` for people: the check's list, each changed
/// field with its settings from what to what, and what that list leaves out
/// (Vertrauensniveau, renamed steps, groups).
fn changes(before: &Form, after: &Form) -> Vec<Value> {
    let old_fields = fields_by_key(before);
    let new_fields = fields_by_key(after);
    let mut out: Vec<Value> = Vec::new();
    if before.trust_level != after.trust_level {
        let label = |t: &str| TrustLevel::parse(t).map(TrustLevel::label).unwrap_or(t).to_owned();
        out.push(context! {
            kind => "", text => "Vertrauensniveau geändert",
            details => [detail("Vertrauensniveau", label(&before.trust_level), label(&after.trust_level))],
        });
    }
    for c in diff(before, after) {
        let details = match &c {
            Change::FieldChanged { field, .. } => {
                let old = old_fields.iter().find(|(k, _)| k == field).map(|(_, f)| *f);
                let new = new_fields.iter().find(|(k, _)| k == field).map(|(_, f)| *f);
                match (old, new) {
                    (Some(o), Some(n)) => field_details(before, o, after, n),
                    _ => Vec::new(),
                }
            }
            _ => Vec::new(),
        };
        out.push(context! { kind => change_kind(&c), text => change_text(&c), details });
    }
    for s in &after.steps {
        if let Some(old) = before.steps.iter().find(|b| b.id == s.id && b.title != s.title) {
            out.push(context! {
                kind => "", text => format!("Schritt umbenannt: „{}“", s.title),
                details => [detail("Überschrift", quoted(&old.title), quoted(&s.title))],
            });
        }
    }
    let old_groups = groups(before);
    for g in groups(after) {
        let Some(old) = old_groups.iter().find(|o| o.id == g.id) else { continue };
        let mut details = Vec::new();
        if old.label != g.label {
            details.push(detail("Bezeichnung", quoted(&old.label), quoted(&g.label)));
        }
        if old.repeat != g.repeat {
            details.push(detail("Mehrere Einträge", repeat_text(old), repeat_text(g)));
        }
        if old.visible_if != g.visible_if {
            let cond = |f: &Form, c: Option<&amtsweg_forms::Cond>| {
                c.map_or_else(|| "immer".to_owned(), |c| fields::describe(f, c))
            };
            details.push(detail(
                "Nur anzeigen, wenn",
                cond(before, old.visible_if.as_ref()),
                cond(after, g.visible_if.as_ref()),
            ));
        }
        if !details.is_empty() {
            out.push(context! { kind => "", text => format!("Gruppe geändert: „{}“ ({})", g.label, g.id), details });
        }
    }
    out
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
    let names =
        editor_names(&state, l.authority.id, published.iter().filter_map(|(_, v)| v.published_by).collect()).await?;
    let mut items = Vec::new();
    for (i, (form, v)) in published.iter().enumerate() {
        let (before, changes) = match i.checked_sub(1).and_then(|p| published.get(p)) {
            Some((prev, pv)) => (Some(pv.version), changes(prev, form)),
            None => (None, Vec::new()),
        };
        let fields = form.steps.iter().map(|s| s.items.len()).sum::<usize>();
        items.push(context! {
            version => v.version, when => when(v.published_at), by => v.published_by.and_then(|b| names.get(&b).cloned()),
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
