//! The editor of one form, split into an outline and one editing pane. The outline
//! lists the steps (Schritte) with their fields and groups as links; each selects
//! its pane: the form itself (`?`: title, Vertrauensniveau, new steps, publishing,
//! JSON), a step (`?schritt=<id>`: heading, order, new fields and groups, deleting
//! it), or a field or group (their own pages in `feld` and `gruppen`, framed alike
//! by [`render_frame`]). Every change made on the form's and a step's pane is
//! carried out here, as are moving and deleting fields and groups; after a change
//! the pane of the part it concerned is shown. The page is also shown again with
//! problems by the JSON upload and by publishing.

use super::arten::{KINDS, blank_field, kind_key, kind_label, needs_settings, new_kind};
use super::eingaben::FieldInput;
use super::feld::required_text;
use super::{
    CONFLICT, Done, EditorForm, Loaded, Msg, Notice, Stored, anchor, authority_ctx, feld, field_at, finding_href,
    gruppen, item_url, load, locate, msg, notice_text, page, pretty, step_index, step_url, store_draft, with_notice,
};
use crate::AppState;
use crate::antrag::fields;
use crate::csrf::Csrf;
use crate::error::AppError;
use crate::verwaltung::{StaffContext, base};
use amtsweg_domain::TrustLevel;
use amtsweg_forms::check::{Finding, Target};
use amtsweg_forms::check::{findings, id_from_label, ids_in_use};
use amtsweg_forms::{AppointmentOffer, Field, Form, Item, Step};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};

/// Which part of the form the editor's pane shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Sel {
    /// The form itself: title, Vertrauensniveau, new steps, publishing, JSON.
    Form,
    /// A step, by its index.
    Step(usize),
    /// A field or group, by its key (`group.field` for a field of a group).
    Item(String),
}

/// One page of the editor: the frame (outline, notices, errors) around one pane.
pub(super) struct Frame<'a> {
    pub(super) l: &'a Loaded,
    pub(super) sel: Sel,
    /// The pane's part of the template: "formular", "schritt", "feld" or "gruppe".
    pub(super) pane: &'static str,
    /// The pane's own values.
    pub(super) ctx: Value,
    /// The pane's heading, also in the page title.
    pub(super) heading: String,
    pub(super) errors: Vec<Msg>,
    pub(super) conflict: bool,
    pub(super) notice: Option<&'static str>,
}

/// The editor page with the form's own pane or a step's (also shown again with
/// problems by the JSON upload and by publishing).
pub(super) struct EditorView<'a> {
    pub(super) l: &'a Loaded,
    pub(super) sel: Sel,
    pub(super) errors: Vec<Msg>,
    pub(super) conflict: bool,
    pub(super) notice: Option<&'static str>,
    pub(super) typed: Option<&'a EditorForm>,
    pub(super) json: Option<String>,
    /// Only the JSON was refused: show it open.
    pub(super) json_open: bool,
}

fn outline_field(form: &Form, f: &Field, key: String, editor: &str, sel: &Sel) -> Value {
    context! {
        anchor => anchor("element", &key), href => format!("{editor}/felder/{key}"),
        current => matches!(sel, Sel::Item(k) if *k == key), key, label => &f.label,
        kind => kind_label(kind_key(&f.kind)), required => required_text(form, f),
        condition => f.visible_if.is_some(),
    }
}

/// The outline: steps with their fields and groups (with their fields), each a link
/// to its pane; the selected one is marked.
fn outline(form: &Form, editor: &str, sel: &Sel) -> Vec<Value> {
    form.steps
        .iter()
        .enumerate()
        .map(|(si, s)| {
            let items: Vec<Value> = s
                .items
                .iter()
                .map(|item| match item {
                    Item::Field(f) => outline_field(form, f, f.id.clone(), editor, sel),
                    Item::Group(g) => {
                        let fields: Vec<Value> = g
                            .fields
                            .iter()
                            .map(|f| outline_field(form, f, format!("{}.{}", g.id, f.id), editor, sel))
                            .collect();
                        let kind = match g.repeat {
                            Some(r) => format!("Wiederholbare Gruppe, {} bis {} Einträge", r.min, r.max),
                            None => "Gruppe".to_owned(),
                        };
                        context! {
                            group => true, anchor => anchor("element", &g.id), key => &g.id, label => &g.label, kind,
                            href => format!("{editor}/gruppen/{}", g.id), fields,
                            current => matches!(sel, Sel::Item(k) if *k == g.id), condition => g.visible_if.is_some(),
                        }
                    }
                })
                .collect();
            context! {
                id => &s.id, anchor => anchor("schritt", &s.id), title => &s.title, number => si + 1,
                href => step_url(editor, &s.id), current => *sel == Sel::Step(si), items,
                condition => s.visible_if.is_some(),
            }
        })
        .collect()
}

/// Renders a page of the editor: the frame with the outline and the selected pane.
pub(super) fn render_frame(
    state: &AppState,
    staff: &StaffContext,
    f: Frame<'_>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let l = f.l;
    let form = &l.draft;
    let editor = l.editor();
    let here = match &f.sel {
        Sel::Form => editor.clone(),
        Sel::Step(i) => form.steps.get(*i).map_or_else(|| editor.clone(), |s| step_url(&editor, &s.id)),
        Sel::Item(key) => item_url(form, &editor, key),
    };
    let invalid: Vec<String> = f.errors.iter().map(|e| e.href.trim_start_matches('#').to_owned()).collect();
    let a = &l.authority;
    let ctx = context! {
        authority => authority_ctx(a), editor => editor.clone(), form_title => &form.title, heading => f.heading,
        pane => f.pane, form_current => f.sel == Sel::Form, here => here.clone(),
        form_id => l.row.id, slug => &l.row.slug, version => l.row.draft_version,
        published => l.row.published_version, next => l.row.published_version + 1,
        service => l.service.as_ref().map(|s| s.name.clone()),
        portal => format!("/o/{}/antrag/{}/", a.slug, l.row.slug),
        outline => outline(form, &editor, &f.sel), rules => form.rules.len(), computed => form.computed.len(),
        open_count => findings(form).len(), errors => f.errors, invalid,
        conflict => f.conflict.then_some(CONFLICT), notice => f.notice,
        ..minijinja::value::merge_maps([f.ctx, base(state, Some(staff), here.split('?').next().unwrap_or_default())])
    };
    page(state, "verwaltung/formular.html", ctx, status)
}

/// Where a problem of the check is fixed: the pane of its step, field or group.
fn finding_link(f: &Finding, form: &Form, editor: &str) -> String {
    match &f.target {
        Target::Step(s) if form.steps.iter().any(|x| &x.id == s) => step_url(editor, s),
        Target::Item(k) if locate(form, k).is_some() => item_url(form, editor, k),
        _ => finding_href(f, form, editor, "schritte"),
    }
}

fn typed_ctx(t: &EditorForm) -> Value {
    context! {
        aktion => &t.aktion, title => &t.title, trust_level => &t.trust_level, schritt => &t.schritt,
        schritt_titel => &t.schritt_titel, label => &t.label, art => &t.art, pflicht => t.pflicht == "ja",
        ziel => &t.ziel, bestaetigt => t.bestaetigt == "ja", gruppe_label => &t.gruppe_label,
        mehrfach => t.mehrfach == "ja", min => &t.min, max => &t.max, termin => &t.termin,
        termin_leika => &t.termin_leika,
    }
}

/// The form's own pane.
fn form_pane(l: &Loaded, typed: Option<&EditorForm>, json: String, json_open: bool) -> Value {
    let form = &l.draft;
    let editor = l.editor();
    let open: Vec<Msg> = findings(form)
        .iter()
        .map(|f| Msg { href: finding_link(f, form, &editor), message: f.message.clone() })
        .collect();
    let trust_levels: Vec<Value> = [TrustLevel::Normal, TrustLevel::Substanziell, TrustLevel::Hoch]
        .iter()
        .map(|t| context! { value => t.as_str(), label => t.label() })
        .collect();
    // A new offer books the form's own service unless another key is typed.
    let termin = match &form.appointment {
        None => "nein",
        Some(a) if a.required => "erforderlich",
        Some(_) => "angeboten",
    };
    let termin_leika = form
        .appointment
        .as_ref()
        .map(|a| a.leika.clone())
        .or_else(|| l.service.as_ref().map(|s| s.leika.as_str().to_owned()))
        .unwrap_or_default();
    context! {
        title => &form.title, trust_level => &form.trust_level, trust_levels, open, json, json_open,
        steps => form.steps.len(), typed => typed.map(typed_ctx), termin, termin_leika,
    }
}

/// The pane of step `i`.
fn step_pane(form: &Form, editor: &str, i: usize, typed: Option<&EditorForm>) -> Value {
    let s = &form.steps[i];
    let kinds: Vec<Value> = KINDS.iter().map(|(k, label)| context! { value => k, label }).collect();
    let groups: Vec<Value> = s
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Group(g) => Some(context! { id => &g.id, label => &g.label }),
            Item::Field(_) => None,
        })
        .collect();
    let items: Vec<Value> = s
        .items
        .iter()
        .map(|item| match item {
            Item::Field(f) => context! {
                label => &f.label, href => format!("{editor}/felder/{}", f.id), kind => kind_label(kind_key(&f.kind)),
            },
            Item::Group(g) => context! {
                label => &g.label, href => format!("{editor}/gruppen/{}", g.id),
                kind => format!("Gruppe mit {} Feldern", g.fields.len()),
            },
        })
        .collect();
    let step = context! {
        id => &s.id, anchor => anchor("schritt", &s.id), title => &s.title, number => i + 1,
        first => i == 0, last => i + 1 == form.steps.len(), count => s.items.len(), items, groups,
        condition => s.visible_if.as_ref().map(|c| fields::describe(form, c)),
    };
    context! { step, kinds, typed => typed.map(typed_ctx) }
}

pub(super) fn render_editor(
    state: &AppState,
    staff: &StaffContext,
    v: EditorView<'_>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let l = v.l;
    let form = &l.draft;
    let version = l.row.draft_version;
    let (pane, ctx, heading) = match &v.sel {
        Sel::Step(i) if *i < form.steps.len() => {
            let s = &form.steps[*i];
            ("schritt", step_pane(form, &l.editor(), *i, v.typed), format!("Schritt {}: {}", i + 1, s.title))
        }
        Sel::Item(key) => {
            let pos = locate(form, key);
            let group = pos.filter(|p| p.inner.is_none()).and_then(|p| match form.steps[p.step].items.get(p.item) {
                Some(Item::Group(g)) => Some((p.step, g)),
                _ => None,
            });
            match (group, pos.and_then(|p| field_at(form, p))) {
                (Some((step, g)), _) => {
                    let input = gruppen::GroupInput::of(g, version);
                    ("gruppe", gruppen::group_pane(l, step, g, &input), gruppen::heading(g))
                }
                (None, Some(f)) => ("feld", feld::field_pane(l, key, f, &FieldInput::of(f, version)), feld::heading(f)),
                (None, None) => {
                    let json = pretty(form)?;
                    ("formular", form_pane(l, v.typed, json, false), format!("Formular „{}“ bearbeiten", form.title))
                }
            }
        }
        _ => {
            let json = match v.json {
                Some(j) => j,
                None => pretty(form)?,
            };
            let heading = format!("Formular „{}“ bearbeiten", form.title);
            ("formular", form_pane(l, v.typed, json, v.json_open), heading)
        }
    };
    let sel = match pane {
        "formular" => Sel::Form,
        _ => v.sel,
    };
    let frame = Frame { l, sel, pane, ctx, heading, errors: v.errors, conflict: v.conflict, notice: v.notice };
    render_frame(state, staff, frame, status)
}

pub async fn editor(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id)): Path<(String, i64)>,
    Query(n): Query<Notice>,
) -> Result<Response, AppError> {
    let l = load(&state, &staff, &slug, id).await?;
    let sel = match n.schritt.as_deref() {
        Some(s) => Sel::Step(l.draft.steps.iter().position(|x| x.id == s).ok_or(AppError::NotFound)?),
        None => Sel::Form,
    };
    let v = EditorView {
        l: &l,
        sel,
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

/// The appointment setting of the form pane: none, offered or required, with the
/// LeiKa key of the service to book.
fn appointment_offer(choice: &str, leika: &str) -> Result<Option<AppointmentOffer>, Vec<Msg>> {
    let required = match choice {
        "nein" => return Ok(None),
        "angeboten" => false,
        "erforderlich" => true,
        _ => return Err(vec![msg("feld-termin", "Bitte wählen Sie, ob nach dem Absenden ein Termin gebucht wird.")]),
    };
    let leika: String = leika.chars().filter(|c| !c.is_whitespace()).collect();
    if leika.len() != 14 || !leika.bytes().all(|b| b.is_ascii_digit()) {
        return Err(vec![msg(
            "feld-termin_leika",
            "Bitte geben Sie den Leistungsschlüssel (14 Ziffern) der Leistung an, für die der Termin gebucht wird.",
        )]);
    }
    Ok(Some(AppointmentOffer { required, leika }))
}

/// Carries out one change of the editor on `form`.
fn apply(form: &mut Form, f: &EditorForm, editor: &str) -> Result<Done, Vec<Msg>> {
    let done = |next: String, anchor: String| Ok(Done { anchor, next, input: None });
    let saved = |url: &str| with_notice(url, "gespeichert");
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
            done(saved(editor), "formular".into())
        }
        "termin" => {
            form.appointment = appointment_offer(&f.termin, &f.termin_leika)?;
            done(saved(editor), "termin".into())
        }
        "schritt_neu" => {
            let title = f.schritt_titel.trim();
            if title.is_empty() {
                return Err(vec![msg("neu-schritt", "Bitte geben Sie die Überschrift des neuen Schritts an.")]);
            }
            let id = id_from_label(title, &ids_in_use(form));
            form.steps.push(Step { id: id.clone(), title: title.to_owned(), items: Vec::new(), visible_if: None });
            done(saved(&step_url(editor, &id)), anchor("schritt", &id))
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
            done(saved(&step_url(editor, &f.schritt)), anchor("schritt", &f.schritt))
        }
        "schritt_hoch" | "schritt_runter" => {
            let i = step_index(form, &f.schritt)?;
            shift(&mut form.steps, i, f.aktion == "schritt_hoch");
            done(with_notice(&step_url(editor, &f.schritt), "verschoben"), anchor("schritt", &f.schritt))
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
            done(with_notice(editor, "entfernt"), "schritte".into())
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
            let next = if settings {
                format!("{editor}/felder/{key}?hinweis=neu")
            } else {
                format!("{}#{}", saved(&step_url(editor, &f.schritt)), anchor("element", &key))
            };
            Ok(Done { next, anchor: anchor("element", &key), input: Some(anchor("neu-art", &f.schritt)) })
        }
        "gruppe_neu" => gruppen::add(form, f, editor),
        "element_hoch" | "element_runter" | "element_loeschen" => {
            let Some(p) = locate(form, &f.element) else {
                return Err(vec![msg("schritte", "Dieses Feld gibt es nicht mehr. Bitte laden Sie die Seite neu.")]);
            };
            let step = step_url(editor, &form.steps[p.step].id);
            let moved = with_notice(&item_url(form, editor, &f.element), "verschoben");
            let items = &mut form.steps[p.step].items;
            let up = f.aktion == "element_hoch";
            match (f.aktion.as_str(), p.inner) {
                ("element_loeschen", None) => {
                    if let Item::Group(g) = &items[p.item] {
                        gruppen::may_delete(g, f.bestaetigt == "ja", &anchor("gruppe-loeschen", &g.id))?;
                    }
                    items.remove(p.item);
                    return done(with_notice(&step, "entfernt"), anchor("schritt", &form.steps[p.step].id));
                }
                ("element_loeschen", Some(fi)) => {
                    if let Item::Group(g) = &mut items[p.item] {
                        g.fields.remove(fi);
                    }
                    return done(with_notice(&step, "entfernt"), anchor("schritt", &form.steps[p.step].id));
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
            done(moved, anchor("element", &f.element))
        }
        _ => Err(vec![msg("schritte", "Diese Aktion gibt es nicht.")]),
    }
}

/// The pane a change was made on, to show it again with the change's problems.
fn selection(form: &Form, f: &EditorForm) -> Sel {
    match f.aktion.as_str() {
        "schritt_umbenennen" | "schritt_hoch" | "schritt_runter" | "schritt_loeschen" | "feld_neu" | "gruppe_neu" => {
            form.steps.iter().position(|s| s.id == f.schritt).map_or(Sel::Form, Sel::Step)
        }
        "element_hoch" | "element_runter" | "element_loeschen" if locate(form, &f.element).is_some() => {
            Sel::Item(f.element.clone())
        }
        _ => Sel::Form,
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
        sel: selection(&l.draft, &f),
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
        Stored::Saved => Ok(Redirect::to(&done.next).into_response()),
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
            let v = EditorView { l: &fresh, typed: None, sel: selection(&fresh.draft, &f), ..view(Vec::new(), true) };
            render_editor(&state, &staff, v, StatusCode::CONFLICT)
        }
    }
}
