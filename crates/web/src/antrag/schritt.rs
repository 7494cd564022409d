//! One step of an application: showing it (fields, errors, computed values) and
//! handling it when sent — answers merged and checked by the rule engine, files
//! checked and stored, rows of repeating groups added or removed, then back, save,
//! or on to the next step or the check page.

use super::journey::{Journey, base, load_draft, no_store, prefill};
use super::{fields, upload};
use crate::AppState;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_forms::{Answer, Answers, Form, Kind, Step, visible_steps};
use amtsweg_portal::drafts::{self, FileInfo};
use amtsweg_store::submissions::ApplicationDraft;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use std::collections::{BTreeMap, BTreeSet};

/// Which visible step comes before / after `step_id` with these answers.
pub(super) fn neighbours<'f>(form: &'f Form, answers: &Answers, step_id: &str) -> (Option<&'f Step>, Option<&'f Step>) {
    let steps = visible_steps(form, answers);
    let pos = steps.iter().position(|s| s.id == step_id);
    match pos {
        Some(i) => (i.checked_sub(1).and_then(|p| steps.get(p)).copied(), steps.get(i + 1).copied()),
        None => (None, steps.first().copied()),
    }
}

/// What a step page shows besides the fields.
#[derive(Clone)]
pub(super) struct StepPage<'a> {
    pub(super) step: &'a Step,
    pub(super) answers: &'a Answers,
    pub(super) errors: Vec<(String, String)>,
    pub(super) files: &'a [FileInfo],
    pub(super) locked: &'a BTreeSet<String>,
    /// The form's action and hidden inputs.
    pub(super) action: String,
    pub(super) token: String,
    pub(super) csrf: String,
    pub(super) back_to_check: bool,
}

pub(super) fn render_step(
    state: &AppState,
    j: &Journey,
    headers: &HeaderMap,
    p: &StepPage<'_>,
) -> Result<Response, AppError> {
    let (status, html) = step_html(state, j, headers, p)?;
    Ok(no_store((status, axum::response::Html(html)).into_response()))
}

pub(super) fn step_html(
    state: &AppState,
    j: &Journey,
    headers: &HeaderMap,
    p: &StepPage<'_>,
) -> Result<(StatusCode, String), AppError> {
    step_html_with(state, j, headers, p, None)
}

/// A step page, with `notice` (why what was sent could not be kept) in place of the
/// error summary: the answers are shown again so nothing typed is lost.
pub(super) fn step_html_with(
    state: &AppState,
    j: &Journey,
    headers: &HeaderMap,
    p: &StepPage<'_>,
    notice: Option<&str>,
) -> Result<(StatusCode, String), AppError> {
    let errors_by_path: BTreeMap<String, String> = p.errors.iter().cloned().collect();
    let mut items = fields::step_view(&j.form, p.step, p.answers, &errors_by_path, p.files, p.locked);
    if let Some(account) = j.account_values() {
        fields::mark_from_account(&mut items, p.answers, account, p.locked);
    }
    let steps = visible_steps(&j.form, p.answers);
    let number = steps.iter().position(|s| s.id == p.step.id).map_or(1, |i| i + 1);
    let (prev, _) = neighbours(&j.form, p.answers, &p.step.id);
    let multipart =
        p.step.items.iter().any(|i| matches!(i, amtsweg_forms::Item::Field(f) if matches!(f.kind, Kind::File { .. })));
    let errors: Vec<_> =
        p.errors.iter().map(|(path, message)| context! { anchor => fields::anchor(path), message }).collect();
    let computed = amtsweg_forms::display::amounts(&j.form, &amtsweg_forms::compute(&j.form, p.answers));
    let status = if p.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let title = if p.errors.is_empty() && notice.is_none() {
        p.step.title.clone()
    } else {
        format!("Fehler: {}", p.step.title)
    };
    let ctx = context! {
        title, step => context! { id => &p.step.id, title => &p.step.title }, items, errors, number, total => steps.len(),
        has_back => prev.is_some() || number > 1, action => &p.action, token => &p.token, csrf => &p.csrf,
        multipart, back_to_check => p.back_to_check, computed, direct => j.form.direct_submit,
        signed_in => j.citizen.is_some(), notice,
        trust_label => j.trust_needed().label(),
        ..base(state, j, headers, &p.action, &p.step.title)
    };
    Ok((status, render_page(state, "antrag/schritt.html", ctx)?.0))
}

#[derive(Debug, serde::Deserialize, Default)]
#[serde(default)]
pub struct StepQuery {
    zurueck: Option<String>,
}

/// A step of a draft.
pub(crate) async fn step_page(
    State(state): State<AppState>,
    mut j: Journey,
    headers: HeaderMap,
    Path((_, _, token, step_id)): Path<(String, String, String, String)>,
    Query(q): Query<StepQuery>,
) -> Result<Response, AppError> {
    let d = load_draft(&state, &mut j, &token).await?;
    let answers = drafts::answers(&state.portal, &d).await?;
    let Some(step) = visible_steps(&j.form, &answers).into_iter().find(|s| s.id == step_id) else {
        return Ok(Redirect::to(&format!("{}pruefen", j.draft_url(&token))).into_response());
    };
    let (_, files) = drafts::files(&state.portal, &d).await?;
    let (_, locked) = prefill(&state, &j).await?;
    let page = StepPage {
        step,
        answers: &answers,
        errors: Vec::new(),
        files: &files,
        locked: &locked,
        action: format!("{}{}", j.draft_url(&token), step.id),
        token: token.clone(),
        csrf: d.csrf.clone(),
        back_to_check: q.zurueck.as_deref() == Some("pruefen"),
    };
    render_step(&state, &j, &headers, &page)
}

/// A step sent.
pub(crate) async fn step_post(
    State(state): State<AppState>,
    mut j: Journey,
    headers: HeaderMap,
    Path((_, _, token, step_id)): Path<(String, String, String, String)>,
    request: Request,
) -> Result<Response, AppError> {
    let d = load_draft(&state, &mut j, &token).await?;
    let step = j.form.steps.iter().find(|s| s.id == step_id).cloned().ok_or(AppError::NotFound)?;
    let (_, files) = drafts::files(&state.portal, &d).await?;
    let used: i64 = files.iter().map(|f| f.size).sum();
    let room = state.config.form_files_limit.saturating_sub(u64::try_from(used).unwrap_or(0));
    let posted = upload::read(&state, request, &step, room).await?;
    crate::csrf::check(&headers, &d.csrf, posted.get("csrf").unwrap_or_default())?;
    handle_step(&state, &mut j, &headers, d, files, &step_id, posted).await
}

/// Inputs of a step page that are not answers.
pub(super) const RESERVED: &[&str] = &["csrf", "token", "aktion", "zurueck"];

/// Reads, checks and stores a posted step; then continues, goes back, saves, or
/// shows the step again with its errors.
pub(super) async fn handle_step(
    state: &AppState,
    j: &mut Journey,
    headers: &HeaderMap,
    d: ApplicationDraft,
    mut files: Vec<FileInfo>,
    step_id: &str,
    posted: upload::Posted,
) -> Result<Response, AppError> {
    let before = drafts::answers(&state.portal, &d).await?;
    let Some(step) = j.form.steps.iter().find(|s| s.id == step_id).cloned() else { return Err(AppError::NotFound) };
    let action = posted.get("aktion").unwrap_or("weiter").to_owned();
    let back_to_check = posted.get("zurueck") == Some("pruefen");
    let read = fields::read_step(&j.form, &step, &before, &posted.pairs, RESERVED);
    let (prefilled, locked) = prefill(state, j).await?;

    let mut errors: Vec<(String, String)> = Vec::new();
    if !read.foreign.is_empty() {
        // Inputs this page never showed: a forged request or a page from an older
        // version of the form. Nothing of it is stored.
        let page = StepPage {
            step: &step,
            answers: &before,
            errors: vec![(
                String::new(),
                "Die gesendeten Angaben passen nicht zu dieser Seite. Bitte füllen Sie die Seite noch einmal aus; es wurde nichts gespeichert.".into(),
            )],
            files: &files,
            locked: &locked,
            action: format!("{}{}", j.draft_url(&d.token), step.id),
            token: d.token.clone(),
            csrf: d.csrf.clone(),
            back_to_check,
        };
        return render_step(state, j, headers, &page);
    }

    // Merge: this step's answers replace what was there; locked values stay as the
    // ID provider said.
    let ids = fields::ids_of(&step);
    let mut answers: Answers =
        before.iter().filter(|(k, _)| !ids.contains(*k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    answers.extend(fields::without_empty(read.answers));
    for id in &locked {
        if ids.contains(id)
            && let Some(v) = prefilled.get(id)
        {
            answers.insert(id.clone(), v.clone());
        }
    }
    // Keep the files this step already has unless the citizen removes them.
    for f in &files {
        if ids.contains(&f.field) {
            answers.insert(f.field.clone(), Answer::One(format!("datei:{}", f.id)));
        }
    }
    if let Some(id) = action.strip_prefix("datei_entfernen:")
        && let Some(f) = files.iter().find(|f| f.id.to_string() == id && ids.contains(&f.field)).cloned()
    {
        drafts::remove_file(&state.portal, &d, f.id).await?;
        answers.remove(&f.field);
        files.retain(|x| x.id != f.id);
    }
    for (field, message) in &posted.problems {
        errors.push((field.clone(), message.clone()));
    }
    for pf in posted.files {
        let field = pf.field.clone();
        match amtsweg_portal::files::check(&state.portal, &j.form, pf).await? {
            Ok(checked) => {
                let replaced: Vec<i64> = files.iter().filter(|f| f.field == checked.field).map(|f| f.id).collect();
                let id = drafts::add_file(&state.portal, &d, &checked, &replaced).await?;
                files.retain(|f| f.field != checked.field);
                files.push(FileInfo {
                    id,
                    field: checked.field.clone(),
                    name: checked.name.clone(),
                    size: checked.bytes.len() as i64,
                });
                answers.insert(checked.field.clone(), Answer::One(format!("datei:{id}")));
            }
            Err(message) => errors.push((field, message)),
        }
    }

    // Rows of repeating groups: add or remove one, then show the page again.
    if let Some(g) = action.strip_prefix("zeile_hinzufuegen:") {
        add_row(&j.form, &mut answers, g);
        drafts::save(&state.portal, &d, &answers, &step.id).await?;
        return Ok(Redirect::to(&format!("{}{}#g-{g}", j.draft_url(&d.token), step.id)).into_response());
    }
    if let Some(rest) = action.strip_prefix("zeile_entfernen:") {
        if let Some((g, i)) = rest.rsplit_once(':')
            && let Ok(i) = i.parse::<usize>()
            && let Some(Answer::Rows(rows)) = answers.get_mut(g)
            && i < rows.len()
        {
            rows.remove(i);
        }
        drafts::save(&state.portal, &d, &answers, &step.id).await?;
        return Ok(Redirect::to(&format!("{}{}#g-{rest}", j.draft_url(&d.token), step.id)).into_response());
    }

    // One call into the rule engine: the answers that were asked for, and this
    // step's problems.
    let accepted = amtsweg_forms::accept(&j.form, Some(&step.id), &answers, amtsweg_portal::time::today());
    let answers = accepted.answers;
    if action == "zurueck" {
        drafts::save(&state.portal, &d, &answers, &step.id).await?;
        let (prev, _) = neighbours(&j.form, &answers, &step.id);
        let to = prev.map_or_else(|| j.base_url(), |p| format!("{}{}", j.draft_url(&d.token), p.id));
        return Ok(Redirect::to(&to).into_response());
    }
    if action == "speichern" {
        drafts::save(&state.portal, &d, &answers, &step.id).await?;
        return Ok(Redirect::to(&format!("{}gespeichert", j.draft_url(&d.token))).into_response());
    }
    if action.starts_with("datei_entfernen:") {
        drafts::save(&state.portal, &d, &answers, &step.id).await?;
        return Ok(Redirect::to(&format!("{}{}", j.draft_url(&d.token), step.id)).into_response());
    }

    errors.extend(accepted.problems.into_iter().map(|p| (p.path, p.message)));
    errors.extend(amtsweg_portal::submission::server_checks(
        &state.catalogue(),
        &j.form,
        Some(&step),
        &answers,
        &files,
    ));
    drafts::save(&state.portal, &d, &answers, &step.id).await?;
    if !errors.is_empty() {
        let page = StepPage {
            step: &step,
            answers: &answers,
            errors,
            files: &files,
            locked: &locked,
            action: format!("{}{}", j.draft_url(&d.token), step.id),
            token: d.token.clone(),
            csrf: d.csrf.clone(),
            back_to_check,
        };
        return render_step(state, j, headers, &page);
    }
    let (_, next) = neighbours(&j.form, &answers, &step.id);
    let to = match next {
        Some(n) if !back_to_check => format!("{}{}", j.draft_url(&d.token), n.id),
        _ => format!("{}pruefen", j.draft_url(&d.token)),
    };
    Ok(Redirect::to(&to).into_response())
}

fn add_row(form: &Form, answers: &mut Answers, group: &str) {
    let Some(max) = form.steps.iter().flat_map(|s| &s.items).find_map(|i| match i {
        amtsweg_forms::Item::Group(g) if g.id == group => g.repeat.map(|r| r.max),
        _ => None,
    }) else {
        return;
    };
    let rows = match answers.entry(group.to_owned()).or_insert_with(|| Answer::Rows(Vec::new())) {
        Answer::Rows(r) => r,
        other => {
            *other = Answer::Rows(Vec::new());
            let Answer::Rows(r) = other else { return };
            r
        }
    };
    // The page always shows at least one row; adding makes it one more than shown.
    if rows.is_empty() {
        rows.push(BTreeMap::new());
    }
    if (rows.len() as u32) < max {
        rows.push(BTreeMap::new());
    }
}
