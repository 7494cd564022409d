//! Groups in the form editor: adding one to a step (with its first field), its own
//! page — its pane in the editor's frame (label, repetition, "nur anzeigen, wenn",
//! its fields, a new field, moving it) — and deleting it. It uses the editor's loading, checking and storing as they are.

use super::arten::{KINDS, blank_field, kind_key, kind_label, needs_settings, new_kind};
use super::eingaben::{KEEP, cond_input, parse_cond};
use super::feld::{condition_choices, required_text};
use super::schritte::{Frame, Sel, render_frame};
use super::{Done, EditorForm, Loaded, Msg, Notice, Stored, anchor, load, locate, msg, step_index, store_draft};
use crate::AppState;
use crate::antrag::fields;
use crate::csrf::Csrf;
use crate::error::AppError;
use crate::verwaltung::StaffContext;
use amtsweg_forms::check::{Finding, Target};
use amtsweg_forms::check::{id_from_label, ids_in_use};
use amtsweg_forms::{Form, Group, Item, Repeat};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// More entries than this are not offered (the citizen's page shows `min` rows at once).
const MOST_ENTRIES: u32 = 100;

/// The ids a new field may not take: inside a repeating group only the group's own
/// (`check` scopes them to the group), everywhere else every id of the form. `ziel`
/// is the group in step `step`, or empty for the step itself.
pub(super) fn taken_ids(form: &Form, step: usize, ziel: &str) -> BTreeSet<String> {
    let group = form.steps.get(step).and_then(|s| {
        s.items.iter().find_map(|i| match i {
            Item::Group(g) if !ziel.is_empty() && g.id == ziel => Some(g),
            _ => None,
        })
    });
    match group {
        Some(g) if g.repeat.is_some() => g.fields.iter().map(|f| f.id.clone()).chain([g.id.clone()]).collect(),
        _ => ids_in_use(form),
    }
}

/// "mehrfach" with its limits as typed (`None`: a plain group); problems go to
/// `errors`, linked to the inputs `min_at` and `max_at`.
fn read_repeat(
    mehrfach: bool,
    min: &str,
    max: &str,
    min_at: &str,
    max_at: &str,
    errors: &mut Vec<Msg>,
) -> Option<Repeat> {
    if !mehrfach {
        return None;
    }
    let (min, max) = (min.trim(), max.trim());
    let min = if min.is_empty() {
        Some(0)
    } else {
        let n = min.parse::<u32>().ok().filter(|n| *n <= MOST_ENTRIES);
        if n.is_none() {
            errors.push(msg(
                min_at,
                format!("Bitte geben Sie bei „Mindestens“ eine ganze Zahl von 0 bis {MOST_ENTRIES} an."),
            ));
        }
        n
    };
    let max = if max.is_empty() {
        errors.push(msg(max_at, "Bitte geben Sie an, wie viele Einträge höchstens möglich sind."));
        None
    } else {
        let n = max.parse::<u32>().ok().filter(|n| (1..=MOST_ENTRIES).contains(n));
        if n.is_none() {
            errors.push(msg(
                max_at,
                format!("Bitte geben Sie bei „Höchstens“ eine ganze Zahl von 1 bis {MOST_ENTRIES} an."),
            ));
        }
        n
    };
    let (min, max) = (min?, max?);
    if min > max {
        errors.push(msg(
            min_at,
            format!(
                "Mindestens {min} Einträge sind mehr als höchstens {max}. Bitte ändern Sie eine der beiden Zahlen."
            ),
        ));
        return None;
    }
    Some(Repeat { min, max })
}

/// A group with fields is deleted only when that is confirmed (`confirm_at`).
pub(super) fn may_delete(g: &Group, confirmed: bool, confirm_at: &str) -> Result<(), Vec<Msg>> {
    if g.fields.is_empty() || confirmed {
        return Ok(());
    }
    Err(vec![msg(
        confirm_at,
        format!(
            "Die Gruppe „{}“ enthält noch {} Felder. Kreuzen Sie an, dass Sie sie mit allen Feldern löschen wollen.",
            g.label,
            g.fields.len()
        ),
    )])
}

/// "Gruppe hinzufügen" on the editor page: a group with its first field (a group
/// without fields does not pass the check).
pub(super) fn add(form: &mut Form, f: &EditorForm, editor: &str) -> Result<Done, Vec<Msg>> {
    let i = step_index(form, &f.schritt)?;
    let at = |prefix: &str| anchor(prefix, &f.schritt);
    let mut errors = Vec::new();
    let label = f.gruppe_label.trim();
    if label.is_empty() {
        errors.push(msg(&at("neu-gruppe"), "Bitte geben Sie die Bezeichnung der neuen Gruppe an."));
    }
    let repeat =
        read_repeat(f.mehrfach == "ja", &f.min, &f.max, &at("neu-gruppe-min"), &at("neu-gruppe-max"), &mut errors);
    let first = f.label.trim();
    if first.is_empty() {
        errors.push(msg(&at("neu-gruppe-feld"), "Bitte geben Sie die Bezeichnung des ersten Feldes der Gruppe an."));
    }
    let kind = new_kind(&f.art);
    if kind.is_none() {
        errors.push(msg(&at("neu-gruppe-art"), "Bitte wählen Sie die Art des ersten Feldes."));
    }
    let Some(kind) = kind.filter(|_| errors.is_empty()) else { return Err(errors) };
    let gid = id_from_label(label, &ids_in_use(form));
    let mut taken = if repeat.is_some() { BTreeSet::new() } else { ids_in_use(form) };
    taken.insert(gid.clone());
    let fid = id_from_label(first, &taken);
    let settings = needs_settings(&kind);
    let field = blank_field(fid.clone(), first, kind, f.pflicht == "ja");
    form.steps[i].items.push(Item::Group(Group {
        id: gid.clone(),
        label: label.to_owned(),
        fields: vec![field],
        repeat,
        visible_if: None,
    }));
    let next = if settings {
        format!("{editor}/felder/{gid}.{fid}?hinweis=neu")
    } else {
        format!("{editor}/gruppen/{gid}?hinweis=gruppe")
    };
    Ok(Done { next, anchor: anchor("element", &gid), input: Some(at("neu-gruppe-art")) })
}

// ----------------------------------------------------------------------------------
// The page of one group

/// The inputs of the group page (three forms: settings, new field, delete), as typed.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct GroupInput {
    #[serde(skip_serializing)]
    csrf: String,
    version: i64,
    aktion: String,
    label: String,
    mehrfach: String,
    min: String,
    max: String,
    sichtbar: String,
    feld_label: String,
    feld_art: String,
    feld_pflicht: String,
    bestaetigt: String,
}

impl GroupInput {
    pub(super) fn of(g: &Group, version: i64) -> Self {
        Self {
            version,
            label: g.label.clone(),
            mehrfach: if g.repeat.is_some() { "ja".into() } else { String::new() },
            min: g.repeat.map(|r| r.min.to_string()).unwrap_or_default(),
            max: g.repeat.map(|r| r.max.to_string()).unwrap_or_default(),
            sichtbar: cond_input(g.visible_if.as_ref()),
            ..Self::default()
        }
    }

    /// What the page shows after `typed` was refused: the stored settings, and what
    /// was typed into the form that was sent.
    fn shown(g: &Group, typed: &Self) -> Self {
        match typed.aktion.as_str() {
            "feld_neu" => Self {
                aktion: typed.aktion.clone(),
                feld_label: typed.feld_label.clone(),
                feld_art: typed.feld_art.clone(),
                feld_pflicht: typed.feld_pflicht.clone(),
                ..Self::of(g, typed.version)
            },
            "loeschen" => Self { aktion: typed.aktion.clone(), ..Self::of(g, typed.version) },
            _ => typed.clone(),
        }
    }
}

fn group_at(form: &Form, step: usize, item: usize) -> Option<&Group> {
    match form.steps.get(step)?.items.get(item)? {
        Item::Group(g) => Some(g),
        Item::Field(_) => None,
    }
}

/// Where the group `id` is: step and item.
fn find(form: &Form, id: &str) -> Option<(usize, usize)> {
    locate(form, id)
        .filter(|p| p.inner.is_none())
        .map(|p| (p.step, p.item))
        .filter(|(s, i)| group_at(form, *s, *i).is_some())
}

struct GroupView<'a> {
    l: &'a Loaded,
    step: usize,
    group: &'a Group,
    input: GroupInput,
    errors: Vec<Msg>,
    conflict: bool,
    notice: Option<&'static str>,
}

/// The heading of a group's pane.
pub(super) fn heading(g: &Group) -> String {
    format!("Gruppe „{}“ bearbeiten", g.label)
}

/// The pane of one group: its settings, its fields, a new field, and the tools to
/// move and delete it.
pub(super) fn group_pane(l: &Loaded, step: usize, g: &Group, input: &GroupInput) -> Value {
    let form = &l.draft;
    let editor = l.editor();
    let kinds: Vec<Value> = KINDS.iter().map(|(k, label)| context! { value => k, label }).collect();
    // The fields of a plain group are answers at the top level: the group does not
    // depend on them.
    let own: Vec<&str> = if g.repeat.is_none() { g.fields.iter().map(|f| f.id.as_str()).collect() } else { Vec::new() };
    let complex = g.visible_if.as_ref().filter(|c| cond_input(Some(c)) == KEEP).map(|c| fields::describe(form, c));
    let rows: Vec<Value> = g
        .fields
        .iter()
        .map(|f| {
            let key = format!("{}.{}", g.id, f.id);
            context! {
                edit => format!("{editor}/felder/{key}"), label => &f.label, id => &f.id,
                kind => kind_label(kind_key(&f.kind)), required => required_text(form, f),
                condition => f.visible_if.as_ref().map(|c| fields::describe(form, c)),
            }
        })
        .collect();
    let s = &form.steps[step];
    let index = s.items.iter().position(|i| matches!(i, Item::Group(x) if x.id == g.id)).unwrap_or_default();
    context! {
        id => &g.id, label => &g.label, step => &s.title, step_href => super::step_url(&editor, &s.id),
        repeat => g.repeat.map(|r| context! { min => r.min, max => r.max }),
        fields => rows, kinds, conditions => condition_choices(form, &own), visible_complex => complex,
        most => MOST_ENTRIES, input => Value::from_serialize(input), element => anchor("element", &g.id),
        first => index == 0, last => index + 1 == s.items.len(),
    }
}

fn render_group(
    state: &AppState,
    staff: &StaffContext,
    v: GroupView<'_>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let frame = Frame {
        l: v.l,
        sel: Sel::Item(v.group.id.clone()),
        pane: "gruppe",
        ctx: group_pane(v.l, v.step, v.group, &v.input),
        heading: heading(v.group),
        errors: v.errors,
        conflict: v.conflict,
        notice: v.notice,
    };
    render_frame(state, staff, frame, status)
}

pub async fn group_form(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id, gid)): Path<(String, i64, String)>,
    Query(n): Query<Notice>,
) -> Result<Response, AppError> {
    let l = load(&state, &staff, &slug, id).await?;
    let (step, item) = find(&l.draft, &gid).ok_or(AppError::NotFound)?;
    let group = group_at(&l.draft, step, item).ok_or(AppError::NotFound)?;
    let v = GroupView {
        l: &l,
        step,
        group,
        input: GroupInput::of(group, l.row.draft_version),
        errors: Vec::new(),
        conflict: false,
        notice: super::notice_text(n.hinweis.as_deref()),
    };
    render_group(&state, &staff, v, StatusCode::OK)
}

/// The group as edited on its page; `Err` with the problems of the inputs.
fn edited(old: &Group, i: &GroupInput) -> Result<Group, Vec<Msg>> {
    let mut errors = Vec::new();
    let label = i.label.trim();
    if label.is_empty() {
        errors.push(msg("feld-label", "Bitte geben Sie die Bezeichnung der Gruppe an."));
    }
    let repeat = read_repeat(i.mehrfach == "ja", &i.min, &i.max, "feld-min", "feld-max", &mut errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Group {
        label: label.to_owned(),
        repeat,
        visible_if: parse_cond(&i.sichtbar, old.visible_if.as_ref()),
        ..old.clone()
    })
}

/// "Feld hinzufügen" on the group page: the key of the new field and whether its
/// settings must be filled in next.
fn add_field(g: &mut Group, taken: &BTreeSet<String>, i: &GroupInput) -> Result<(String, bool), Vec<Msg>> {
    let mut errors = Vec::new();
    let label = i.feld_label.trim();
    if label.is_empty() {
        errors.push(msg("feld-neu-label", "Bitte geben Sie die Bezeichnung des neuen Feldes an."));
    }
    let kind = new_kind(&i.feld_art);
    if kind.is_none() {
        errors.push(msg("feld-neu-art", "Bitte wählen Sie die Art des neuen Feldes."));
    }
    let Some(kind) = kind.filter(|_| errors.is_empty()) else { return Err(errors) };
    let fid = id_from_label(label, taken);
    let settings = needs_settings(&kind);
    g.fields.push(blank_field(fid.clone(), label, kind, i.feld_pflicht == "ja"));
    Ok((format!("{}.{fid}", g.id), settings))
}

/// The input of the group page a finding of the check is most likely about.
fn finding_anchor(f: &Finding, gid: &str, aktion: &str) -> &'static str {
    match aktion {
        // e.g. a file field in a repeating group
        "feld_neu" => "feld-neu-art",
        // e.g. a computed amount or a condition that uses the group
        "loeschen" => "loeschen",
        _ if f.target == Target::Item(gid.to_owned()) => {
            let m = &f.message;
            if m.contains("Bedingung") {
                "feld-sichtbar"
            } else if m.contains("Einträge") {
                "feld-max"
            } else if m.contains("Kennung") {
                "feld-mehrfach"
            } else {
                "feld-label"
            }
        }
        // Other parts that a change of the repetition touches: ids that clash without
        // it, files in a repeating group, computed amounts that count its entries.
        _ => "feld-mehrfach",
    }
}

pub async fn group_submit(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id, gid)): Path<(String, i64, String)>,
    Csrf(axum::Form(input)): Csrf<axum::Form<GroupInput>>,
) -> Result<Response, AppError> {
    let l = load(&state, &staff, &slug, id).await?;
    let (step, item) = find(&l.draft, &gid).ok_or(AppError::NotFound)?;
    let old = group_at(&l.draft, step, item).ok_or(AppError::NotFound)?;
    let editor = l.editor();
    let here = format!("{editor}/gruppen/{gid}");
    let view = |errors, conflict| GroupView {
        l: &l,
        step,
        group: old,
        input: GroupInput::shown(old, &input),
        errors,
        conflict,
        notice: None,
    };
    let mut candidate = l.draft.clone();
    let outcome = match input.aktion.as_str() {
        "feld_neu" => {
            let taken = taken_ids(&l.draft, step, &gid);
            match &mut candidate.steps[step].items[item] {
                Item::Group(g) => add_field(g, &taken, &input).map(|(key, settings)| {
                    if settings {
                        format!("{editor}/felder/{key}?hinweis=neu")
                    } else {
                        format!("{here}?hinweis=feld#felder")
                    }
                }),
                Item::Field(_) => return Err(AppError::NotFound),
            }
        }
        "loeschen" => may_delete(old, input.bestaetigt == "ja", "feld-bestaetigt").map(|()| {
            candidate.steps[step].items.remove(item);
            super::with_notice(&super::step_url(&editor, &l.draft.steps[step].id), "entfernt")
        }),
        _ => edited(old, &input).map(|g| {
            candidate.steps[step].items[item] = Item::Group(g);
            format!("{here}?hinweis=gespeichert")
        }),
    };
    let next = match outcome {
        Ok(next) => next,
        Err(errors) => return render_group(&state, &staff, view(errors, false), StatusCode::UNPROCESSABLE_ENTITY),
    };
    match store_draft(&state, &staff, &l, input.version, &candidate, false).await? {
        Stored::Saved => Ok(Redirect::to(&next).into_response()),
        Stored::Refused(found) => {
            let errors = found.into_iter().map(|f| msg(finding_anchor(&f, &gid, &input.aktion), f.message)).collect();
            render_group(&state, &staff, view(errors, false), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Stored::Conflict => render_group(&state, &staff, view(Vec::new(), true), StatusCode::CONFLICT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repetition_is_read_with_its_limits() {
        let mut errors = Vec::new();
        assert_eq!(read_repeat(false, "x", "", "a", "b", &mut errors), None);
        assert_eq!(read_repeat(true, "", "3", "a", "b", &mut errors), Some(Repeat { min: 0, max: 3 }));
        assert_eq!(read_repeat(true, " 1 ", "2", "a", "b", &mut errors), Some(Repeat { min: 1, max: 2 }));
        assert!(errors.is_empty());
        assert_eq!(read_repeat(true, "4", "2", "a", "b", &mut errors), None);
        assert_eq!(errors.pop().map(|e| e.href), Some("#a".to_owned()));
        assert_eq!(read_repeat(true, "1", "", "a", "b", &mut errors), None);
        assert_eq!(read_repeat(true, "1", "0", "a", "b", &mut errors), None);
        assert_eq!(read_repeat(true, "-1", "1000", "a", "b", &mut errors), None);
        let at: Vec<&str> = errors.iter().map(|e| e.href.as_str()).collect();
        assert_eq!(at, ["#b", "#b", "#a", "#b"]);
    }

    #[test]
    fn only_ids_of_the_repeating_group_are_taken() {
        let form: Form = serde_json::from_str(
            r#"{"id": "t", "title": "T", "steps": [{"id": "s", "title": "S", "items": [
                {"item": "field", "id": "name", "label": "Name", "type": "name"},
                {"item": "group", "id": "kinder", "label": "Kinder", "repeat": {"min": 0, "max": 3},
                 "fields": [{"item": "field", "id": "alter", "label": "Alter", "type": "number"}]},
                {"item": "group", "id": "kontakt", "label": "Kontakt",
                 "fields": [{"item": "field", "id": "telefon", "label": "Telefon", "type": "phone"}]}]}]}"#,
        )
        .unwrap();
        assert_eq!(id_from_label("Name", &taken_ids(&form, 0, "kinder")), "name");
        assert_eq!(id_from_label("Alter", &taken_ids(&form, 0, "kinder")), "alter_2");
        assert_eq!(id_from_label("Name", &taken_ids(&form, 0, "kontakt")), "name_2");
        assert_eq!(id_from_label("Name", &taken_ids(&form, 0, "")), "name_2");
    }
}
