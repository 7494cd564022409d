//! The editor page of one form: its title and Vertrauensniveau, the steps (Schritte)
//! with their fields and groups in order, and every change made there — adding,
//! renaming, moving and deleting steps and fields (groups are added via `gruppen`).
//! The page is also shown again with problems by the JSON upload and by publishing.

use super::arten::{KINDS, blank_field, kind_key, kind_label, needs_settings, new_kind};
use super::feld::required_text;
use super::{
    CONFLICT, Done, EditorForm, Loaded, Msg, Notice, Stored, anchor, authority_ctx, finding_href, gruppen, load,
    locate, msg, notice_text, page, pretty, step_index, store_draft,
};
use crate::AppState;
use crate::antrag::fields;
use crate::csrf::Csrf;
use crate::error::AppError;
use crate::verwaltung::{StaffContext, base};
use amtsweg_domain::TrustLevel;
use amtsweg_forms::check::{findings, id_from_label, ids_in_use};
use amtsweg_forms::{Field, Form, Item, Step};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};

pub(super) struct EditorView<'a> {
    pub(super) l: &'a Loaded,
    pub(super) errors: Vec<Msg>,
    pub(super) conflict: bool,
    pub(super) notice: Option<&'static str>,
    pub(super) typed: Option<&'a EditorForm>,
    pub(super) json: Option<String>,
    /// Only the JSON was refused: show it open.
    pub(super) json_open: bool,
}

fn field_row(form: &Form, f: &Field, key: String, first: bool, last: bool, editor: &str) -> Value {
    context! {
        anchor => anchor("element", &key), edit => format!("{editor}/felder/{key}"), key, label => &f.label,
        id => &f.id, kind => kind_label(kind_key(&f.kind)), required => required_text(form, f),
        condition => f.visible_if.as_ref().map(|c| fields::describe(form, c)), first, last,
    }
}

fn steps_view(form: &Form, editor: &str) -> Vec<Value> {
    let n = form.steps.len();
    form.steps
        .iter()
        .enumerate()
        .map(|(si, s)| {
            let count = s.items.len();
            let items: Vec<Value> = s
                .items
                .iter()
                .enumerate()
                .map(|(ii, item)| {
                    let (first, last) = (ii == 0, ii + 1 == count);
                    match item {
                        Item::Field(f) => field_row(form, f, f.id.clone(), first, last, editor),
                        Item::Group(g) => {
                            let inner: Vec<Value> = g
                                .fields
                                .iter()
                                .enumerate()
                                .map(|(fi, f)| {
                                    let key = format!("{}.{}", g.id, f.id);
                                    field_row(form, f, key, fi == 0, fi + 1 == g.fields.len(), editor)
                                })
                                .collect();
                            let kind = match g.repeat {
                                Some(r) => format!("Wiederholbare Gruppe, {} bis {} Einträge", r.min, r.max),
                                None => "Gruppe".to_owned(),
                            };
                            context! {
                                group => true, anchor => anchor("element", &g.id), key => &g.id, label => &g.label,
                                id => &g.id, kind, fields => inner, first, last,
                                edit => format!("{editor}/gruppen/{}", g.id), confirm => anchor("gruppe-loeschen", &g.id),
                                condition => g.visible_if.as_ref().map(|c| fields::describe(form, c)),
                            }
                        }
                    }
                })
                .collect();
            let groups: Vec<Value> = s
                .items
                .iter()
                .filter_map(|i| match i {
                    Item::Group(g) => Some(context! { id => &g.id, label => &g.label }),
                    Item::Field(_) => None,
                })
                .collect();
            context! {
                id => &s.id, anchor => anchor("schritt", &s.id), title => &s.title, number => si + 1,
                first => si == 0, last => si + 1 == n, items, groups, count,
                condition => s.visible_if.as_ref().map(|c| fields::describe(form, c)),
            }
        })
        .collect()
}

pub(super) fn render_editor(
    state: &AppState,
    staff: &StaffContext,
    v: EditorView<'_>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let l = v.l;
    let form = &l.draft;
    let editor = l.editor();
    let open: Vec<Msg> = findings(form)
        .iter()
        .map(|f| Msg { href: finding_href(f, form, &editor, "schritte"), message: f.message.clone() })
        .collect();
    let trust_levels: Vec<Value> = [TrustLevel::Normal, TrustLevel::Substanziell, TrustLevel::Hoch]
        .iter()
        .map(|t| context! { value => t.as_str(), label => t.label() })
        .collect();
    let kinds: Vec<Value> = KINDS.iter().map(|(k, label)| context! { value => k, label }).collect();
    let invalid: Vec<String> = v.errors.iter().map(|e| e.href.trim_start_matches('#').to_owned()).collect();
    let typed = v.typed.map(|t| {
        context! {
            aktion => &t.aktion, title => &t.title, trust_level => &t.trust_level, schritt => &t.schritt,
            schritt_titel => &t.schritt_titel, label => &t.label, art => &t.art, pflicht => t.pflicht == "ja",
            ziel => &t.ziel, bestaetigt => t.bestaetigt == "ja", gruppe_label => &t.gruppe_label,
            mehrfach => t.mehrfach == "ja", min => &t.min, max => &t.max,
        }
    });
    let json = match v.json {
        Some(j) => j,
        None => pretty(form)?,
    };
    let a = &l.authority;
    let ctx = context! {
        authority => authority_ctx(a), editor, title => &form.title, trust_level => &form.trust_level,
        form_id => l.row.id, slug => &l.row.slug, version => l.row.draft_version,
        published => l.row.published_version, next => l.row.published_version + 1,
        service => l.service.as_ref().map(|s| s.name.clone()),
        portal => format!("/o/{}/antrag/{}/", a.slug, l.row.slug),
        steps => steps_view(form, &l.editor()), trust_levels, kinds, rules => form.rules.len(),
        computed => form.computed.len(), errors => v.errors, invalid, open, conflict => v.conflict.then_some(CONFLICT),
        notice => v.notice, typed, json, json_open => v.json_open,
        ..base(state, Some(staff), &l.editor())
    };
    page(state, "verwaltung/formular.html", ctx, status)
}

pub async fn editor(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id)): Path<(String, i64)>,
    Query(n): Query<Notice>,
) -> Result<Response, AppError> {
    let l = load(&state, &staff, &slug, id).await?;
    let v = EditorView {
        l: &l,
        errors: Vec::new(),
        conflict: false,
        notice: notice_text(n.hinweis.as_deref()),
        typed: None,
        json: None,
        json_open: false,
    };
    render_editor(&state, &staff, v, StatusCode::OK)
}

/// Moves entry `i` of `v` one place up (`up`) or down; false at the edge.
fn shift<T>(v: &mut [T], i: usize, up: bool) -> bool {
    match (up, i) {
        (true, 0) => false,
        (true, i) => {
            v.swap(i, i - 1);
            true
        }
        (false, i) if i + 1 < v.len() => {
            v.swap(i, i + 1);
            true
        }
        (false, _) => false,
    }
}

/// Carries out one change of the editor on `form`.
fn apply(form: &mut Form, f: &EditorForm, editor: &str) -> Result<Done, Vec<Msg>> {
    let done = |anchor: String| Ok(Done { anchor, next: None, input: None });
    match f.aktion.as_str() {
        "formular" => {
            let mut errors = Vec::new();
            if f.title.trim().is_empty() {
                errors.push(msg("feld-title", "Bitte geben Sie den Titel des Formulars an."));
            }
            if TrustLevel::parse(&f.trust_level).is_err() {
                errors.push(msg("feld-trust_level", "Bitte wählen Sie ein Vertrauensniveau."));
            }
            if !errors.is_empty() {
                return Err(errors);
            }
            form.title = f.title.trim().to_owned();
            form.trust_level = f.trust_level.clone();
            done("formular".into())
        }
        "schritt_neu" => {
            let title = f.schritt_titel.trim();
            if title.is_empty() {
                return Err(vec![msg("neu-schritt", "Bitte geben Sie die Überschrift des neuen Schritts an.")]);
            }
            let id = id_from_label(title, &ids_in_use(form));
            form.steps.push(Step { id: id.clone(), title: title.to_owned(), items: Vec::new(), visible_if: None });
            done(anchor("schritt", &id))
        }
        "schritt_umbenennen" => {
            let i = step_index(form, &f.schritt)?;
            let title = f.schritt_titel.trim();
            if title.is_empty() {
                return Err(vec![msg(
                    &anchor("titel", &f.schritt),
                    "Bitte geben Sie eine Überschrift für den Schritt an.",
                )]);
            }
            form.steps[i].title = title.to_owned();
            done(anchor("schritt", &f.schritt))
        }
        "schritt_hoch" | "schritt_runter" => {
            let i = step_index(form, &f.schritt)?;
            shift(&mut form.steps, i, f.aktion == "schritt_hoch");
            done(anchor("schritt", &f.schritt))
        }
        "schritt_loeschen" => {
            let i = step_index(form, &f.schritt)?;
            let s = &form.steps[i];
            if !s.items.is_empty() && f.bestaetigt != "ja" {
                return Err(vec![msg(
                    &anchor("loeschen", &s.id),
                    format!(
                        "Der Schritt „{}“ enthält noch {} Einträge. Kreuzen Sie an, dass Sie ihn mit allen Feldern löschen wollen.",
                        s.title,
                        s.items.len()
                    ),
                )]);
            }
            form.steps.remove(i);
            done("schritte".into())
        }
        "feld_neu" => {
            let i = step_index(form, &f.schritt)?;
            let mut errors = Vec::new();
            let label = f.label.trim();
            if label.is_empty() {
                errors.push(msg(
                    &anchor("neu-label", &f.schritt),
                    "Bitte geben Sie die Bezeichnung des neuen Feldes an.",
                ));
            }
            let kind = new_kind(&f.art);
            if kind.is_none() {
                errors.push(msg(&anchor("neu-art", &f.schritt), "Bitte wählen Sie die Art des neuen Feldes."));
            }
            let Some(kind) = kind.filter(|_| errors.is_empty()) else { return Err(errors) };
            let id = id_from_label(label, &gruppen::taken_ids(form, i, &f.ziel));
            let settings = needs_settings(&kind);
            let field = blank_field(id.clone(), label, kind, f.pflicht == "ja");
            let step = &mut form.steps[i];
            let key = if f.ziel.is_empty() {
                step.items.push(Item::Field(field));
                id
            } else {
                let Some(g) = step.items.iter_mut().find_map(|it| match it {
                    Item::Group(g) if g.id == f.ziel => Some(g),
                    _ => None,
                }) else {
                    return Err(vec![msg(
                        &anchor("neu-ziel", &f.schritt),
                        "Diese Gruppe gibt es in dem Schritt nicht.",
                    )]);
                };
                g.fields.push(field);
                format!("{}.{id}", g.id)
            };
            Ok(Done {
                next: settings.then(|| format!("{editor}/felder/{key}?hinweis=neu")),
                anchor: anchor("element", &key),
                input: Some(anchor("neu-art", &f.schritt)),
            })
        }
        "gruppe_neu" => gruppen::add(form, f, editor),
        "element_hoch" | "element_runter" | "element_loeschen" => {
            let Some(p) = locate(form, &f.element) else {
                return Err(vec![msg("schritte", "Dieses Feld gibt es nicht mehr. Bitte laden Sie die Seite neu.")]);
            };
            let items = &mut form.steps[p.step].items;
            let up = f.aktion == "element_hoch";
            match (f.aktion.as_str(), p.inner) {
                ("element_loeschen", None) => {
                    if let Item::Group(g) = &items[p.item] {
                        gruppen::may_delete(g, f.bestaetigt == "ja", &anchor("gruppe-loeschen", &g.id))?;
                    }
                    items.remove(p.item);
                    return done(anchor("schritt", &form.steps[p.step].id));
                }
                ("element_loeschen", Some(fi)) => {
                    if let Item::Group(g) = &mut items[p.item] {
                        g.fields.remove(fi);
                    }
                    return done(anchor("schritt", &form.steps[p.step].id));
                }
                (_, None) => {
                    shift(items, p.item, up);
                }
                (_, Some(fi)) => {
                    if let Item::Group(g) = &mut items[p.item] {
                        shift(&mut g.fields, fi, up);
                    }
                }
            }
            done(anchor("element", &f.element))
        }
        _ => Err(vec![msg("schritte", "Diese Aktion gibt es nicht.")]),
    }
}

pub async fn editor_submit(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id)): Path<(String, i64)>,
    Csrf(axum::Form(f)): Csrf<axum::Form<EditorForm>>,
) -> Result<Response, AppError> {
    let l = load(&state, &staff, &slug, id).await?;
    let editor = l.editor();
    let view = |errors: Vec<Msg>, conflict: bool| EditorView {
        l: &l,
        errors,
        conflict,
        notice: None,
        typed: Some(&f),
        json: None,
        json_open: false,
    };
    let mut candidate = l.draft.clone();
    let done = match apply(&mut candidate, &f, &editor) {
        Ok(d) => d,
        Err(errors) => return render_editor(&state, &staff, view(errors, false), StatusCode::UNPROCESSABLE_ENTITY),
    };
    match store_draft(&state, &staff, &l, f.version, &candidate, false).await? {
        Stored::Saved => {
            let next = done.next.unwrap_or_else(|| format!("{editor}?hinweis=gespeichert#{}", done.anchor));
            Ok(Redirect::to(&next).into_response())
        }
        Stored::Refused(found) => {
            let errors = found
                .iter()
                .map(|x| {
                    let fallback = done.input.as_deref().unwrap_or(&done.anchor);
                    Msg { href: finding_href(x, &l.draft, &editor, fallback), message: x.message.clone() }
                })
                .collect();
            render_editor(&state, &staff, view(errors, false), StatusCode::UNPROCESSABLE_ENTITY)
        }
        Stored::Conflict => {
            let fresh = load(&state, &staff, &slug, id).await?;
            let v = EditorView { l: &fresh, typed: None, ..view(Vec::new(), true) };
            render_editor(&state, &staff, v, StatusCode::CONFLICT)
        }
    }
}
