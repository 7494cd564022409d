//! The page of one field (its pane in the editor's frame): its label, hint,
//! "Pflicht", conditions, prefill from the account (Vorbefüllung) and the settings of
//! its type, stored after the check, and the tools to move and delete it. The
//! inputs are read in `eingaben`; the conditions offered here are also offered by the
//! group page and the builder of computed amounts.

use super::arten::{KINDS, kind_key, kind_label, options_of};
use super::eingaben::{FieldInput, KEEP, build_field, cond_input};
use super::schritte::{Frame, Sel, render_frame};
use super::{
    Loaded, Msg, Notice, Pos, Stored, anchor, field_at, field_at_mut, load, locate, msg, notice_text, store_draft,
    top_level_fields,
};
use crate::AppState;
use crate::antrag::fields;
use crate::csrf::Csrf;
use crate::error::AppError;
use crate::verwaltung::StaffContext;
use amtsweg_forms::check::{Finding, Target};
use amtsweg_forms::{Cond, Field, Form, Item, Kind};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};

/// Where a prefilled value may come from, with German names.
pub(super) const PREFILLS: [(&str, &str); 7] = [
    ("name", "Vor- und Familienname"),
    ("given_name", "Vorname"),
    ("family_name", "Familienname"),
    ("birth_date", "Geburtsdatum"),
    ("address", "Anschrift"),
    ("email", "E-Mail-Adresse"),
    ("phone", "Telefonnummer"),
];

pub(super) fn required_text(form: &Form, f: &Field) -> String {
    match &f.kind {
        Kind::Info { .. } => "ohne Eingabe".into(),
        Kind::Declaration { .. } => "muss bestätigt werden".into(),
        _ if f.required => "Pflichtangabe".into(),
        _ => match &f.required_if {
            Some(c) => format!("Pflicht, wenn {}", fields::describe(form, c)),
            None => "freiwillig".into(),
        },
    }
}

/// The "field = value" conditions the selects offer (fields with options, yes/no),
/// as `field=value` and in words, without the fields in `except`.
pub(super) fn condition_pairs(form: &Form, except: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for f in top_level_fields(form) {
        if except.contains(&f.id.as_str()) {
            continue;
        }
        let values: Vec<(String, String)> = match &f.kind {
            Kind::YesNo => vec![("ja".into(), "Ja".into()), ("nein".into(), "Nein".into())],
            k => options_of(k)
                .map(|o| o.iter().map(|c| (c.value.clone(), c.label.clone())).collect())
                .unwrap_or_default(),
        };
        for (value, label) in values {
            out.push((format!("{}={value}", f.id), format!("„{}“ ist „{label}“", f.label)));
        }
    }
    out
}

/// [`condition_pairs`] for a select.
pub(super) fn condition_choices(form: &Form, except: &[&str]) -> Vec<Value> {
    condition_pairs(form, except).into_iter().map(|(value, label)| context! { value, label }).collect()
}

struct FieldView<'a> {
    l: &'a Loaded,
    key: &'a str,
    field: &'a Field,
    input: FieldInput,
    errors: Vec<Msg>,
    conflict: bool,
    notice: Option<&'static str>,
}

/// The heading of a field's pane.
pub(super) fn heading(f: &Field) -> String {
    format!("Feld „{}“ bearbeiten", f.label)
}

/// Whether the item at `p` is the first and the last of its step or group.
fn edges(form: &Form, p: Pos) -> (bool, bool) {
    let items = &form.steps[p.step].items;
    match (p.inner, items.get(p.item)) {
        (Some(i), Some(Item::Group(g))) => (i == 0, i + 1 == g.fields.len()),
        _ => (p.item == 0, p.item + 1 == items.len()),
    }
}

/// The pane of one field: its settings and the tools to move and delete it.
pub(super) fn field_pane(l: &Loaded, key: &str, field: &Field, input: &FieldInput) -> Value {
    let form = &l.draft;
    let kinds: Vec<Value> = KINDS.iter().map(|(k, label)| context! { value => k, label }).collect();
    let prefills: Vec<Value> = PREFILLS.iter().map(|(k, label)| context! { value => k, label }).collect();
    // A condition the simple selects cannot show, in words.
    let complex = |c: Option<&Cond>| c.filter(|c| cond_input(Some(c)) == KEEP).map(|c| fields::describe(form, c));
    let in_group = key.split_once('.').map(|(g, _)| g.to_owned());
    // A field of a repeating group is no answer at the top level (its id is scoped to
    // the group and may equal one of them); other fields do not depend on themselves.
    let repeating = in_group
        .as_deref()
        .and_then(|g| locate(form, g))
        .is_some_and(|p| matches!(form.steps[p.step].items.get(p.item), Some(Item::Group(g)) if g.repeat.is_some()));
    let except: Vec<&str> = if repeating { Vec::new() } else { vec![field.id.as_str()] };
    let (first, last) = locate(form, key).map_or((true, true), |p| edges(form, p));
    let step = locate(form, key).and_then(|p| form.steps.get(p.step)).map(|s| s.title.clone());
    context! {
        key, id => &field.id, label => &field.label, art => kind_key(&field.kind),
        kind_label => kind_label(kind_key(&field.kind)), kinds, prefills,
        conditions => condition_choices(form, &except),
        visible_complex => complex(field.visible_if.as_ref()),
        required_complex => complex(field.required_if.as_ref()),
        input => Value::from_serialize(input), in_group, step, first, last,
        element => anchor("element", key),
    }
}

fn render_field(
    state: &AppState,
    staff: &StaffContext,
    v: FieldView<'_>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let frame = Frame {
        l: v.l,
        sel: Sel::Item(v.key.to_owned()),
        pane: "feld",
        ctx: field_pane(v.l, v.key, v.field, &v.input),
        heading: heading(v.field),
        errors: v.errors,
        conflict: v.conflict,
        notice: v.notice,
    };
    render_frame(state, staff, frame, status)
}

pub async fn field_form(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id, key)): Path<(String, i64, String)>,
    Query(n): Query<Notice>,
) -> Result<Response, AppError> {
    let l = load(&state, &staff, &slug, id).await?;
    let field = locate(&l.draft, &key).and_then(|p| field_at(&l.draft, p)).ok_or(AppError::NotFound)?;
    let v = FieldView {
        l: &l,
        key: &key,
        field,
        input: FieldInput::of(field, l.row.draft_version),
        errors: Vec::new(),
        conflict: false,
        notice: notice_text(n.hinweis.as_deref()),
    };
    render_field(&state, &staff, v, StatusCode::OK)
}

pub async fn field_submit(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id, key)): Path<(String, i64, String)>,
    Csrf(axum::Form(input)): Csrf<axum::Form<FieldInput>>,
) -> Result<Response, AppError> {
    let l = load(&state, &staff, &slug, id).await?;
    let pos = locate(&l.draft, &key).ok_or(AppError::NotFound)?;
    let old = field_at(&l.draft, pos).ok_or(AppError::NotFound)?;
    let editor = l.editor();
    let view = |errors, conflict| FieldView {
        l: &l,
        key: &key,
        field: old,
        input: input.clone(),
        errors,
        conflict,
        notice: None,
    };
    let (field, changed_type) = match build_field(&input, old) {
        Ok(x) => x,
        Err(errors) => return render_field(&state, &staff, view(errors, false), StatusCode::UNPROCESSABLE_ENTITY),
    };
    let mut candidate = l.draft.clone();
    if let Some(slot) = field_at_mut(&mut candidate, pos) {
        *slot = field;
    }
    match store_draft(&state, &staff, &l, input.version, &candidate, false).await? {
        Stored::Saved if changed_type => {
            Ok(Redirect::to(&format!("{editor}/felder/{key}?hinweis=art")).into_response())
        }
        Stored::Saved => Ok(Redirect::to(&format!("{editor}/felder/{key}?hinweis=gespeichert")).into_response()),
        Stored::Refused(found) => {
            let errors = found.into_iter().map(|f| msg(&field_anchor(&f, &key), f.message)).collect();
            render_field(&state, &staff, view(errors, false), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Stored::Conflict => render_field(&state, &staff, view(Vec::new(), true), StatusCode::CONFLICT),
    }
}

/// The input of the field page a finding is most likely about.
fn field_anchor(f: &Finding, key: &str) -> String {
    let m = &f.message;
    let about = [
        ("Bedingung", "sichtbar"),
        ("Auswahlmöglichkeit", "optionen"),
        ("mehrfach vor", "optionen"),
        ("Möglichkeiten", "min_anzahl"),
        ("höchstens", "min_anzahl"),
        ("Dateiendung", "endungen"),
        ("Dateigröße", "max_mb"),
        ("wiederholbaren Gruppe", "art"),
        ("Höchstlänge", "max_len"),
        ("Minimum", "min"),
        ("Mindestbetrag", "min_betrag"),
        ("Datum", "frueheste"),
        ("Mindestalter", "min_alter"),
        ("Bezeichnung", "label"),
    ];
    let input = if f.target == Target::Item(key.to_owned()) {
        about.iter().find(|(needle, _)| m.contains(needle)).map_or("art", |(_, input)| input)
    } else if m.contains("den Wert") {
        // Another field's condition needs an option this change removed.
        "optionen"
    } else {
        "sichtbar"
    };
    format!("feld-{input}")
}
