//! The form editor: an authority's application forms (`amtsweg_forms`) built in the
//! back office without writing JSON — steps, fields and groups in order, conditions,
//! rules across fields — with a preview as citizens see it, JSON export and import for
//! power users, the upload of XDatenfelder files, publishing as immutable versions and
//! a field-level history.
//!
//! Every change is a plain POST (no JavaScript needed) that names the draft version it
//! was made on (optimistic locking: a change on an outdated page is not stored). A
//! change is stored only when `amtsweg_forms::check` finds no problem that the stored
//! draft did not already have: an imported form may arrive with gaps (code lists that
//! are not part of the file), which are listed until they are fixed; publishing needs
//! a form without any.
//!
//! The pages live in one module each: `liste` (the list and new forms), `import`
//! (JSON and XDatenfelder), `schritte` (the editor page with steps and fields in
//! order), `feld` (one field's page, reading its inputs in `eingaben`), `gruppen`,
//! `regeln` (rules across fields, computed amounts in `berechnet`), `vorschau`
//! (preview and JSON) and `versionen` (publishing and history); the field types are
//! in `arten`. This module holds what several of them share: finding things in a
//! form, loading with the permission checks, storing a draft, and the inputs that
//! two pages read.

mod arten;
mod berechnet;
mod eingaben;
mod feld;
pub mod gruppen;
mod import;
mod liste;
mod regeln;
mod schritte;
pub(super) mod versionen;
mod vorschau;

pub use feld::{field_form, field_submit};
pub use import::{import_json, import_xdf};
pub use liste::{list, new_form};
pub use regeln::{rules, rules_submit};
pub use schritte::{editor, editor_submit};
pub use versionen::{publish, versions};
pub use vorschau::{json_download, json_submit, preview};

use super::StaffContext;
use crate::AppState;
use crate::antrag::fields;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::{Authority, Leistung};
use amtsweg_forms::check::{Finding, Target, findings, tidy_id};
use amtsweg_forms::{Expr, Field, Form, Item};
use amtsweg_store::editing::Saved;
use amtsweg_store::forms::FormRow;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// An error for the summary: the message and where it links to.
#[derive(Debug, Clone, Serialize)]
struct Msg {
    href: String,
    message: String,
}

fn msg(anchor: &str, message: impl Into<String>) -> Msg {
    Msg { href: format!("#{anchor}"), message: message.into() }
}

/// The HTML id of a step, field or group in the editor.
fn anchor(prefix: &str, key: &str) -> String {
    format!("{prefix}-{}", tidy_id(&key.replace('.', "--")))
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn page(state: &AppState, name: &str, ctx: Value, status: StatusCode) -> Result<Response, AppError> {
    Ok(no_store((status, render_page(state, name, ctx)?).into_response()))
}

fn pretty(form: &Form) -> Result<String, AppError> {
    serde_json::to_string_pretty(form).map_err(|e| AppError::Internal(e.to_string()))
}

fn authority_ctx(a: &Authority) -> Value {
    context! { name => &a.name, slug => a.slug.as_str() }
}

// ----------------------------------------------------------------------------------
// Finding things in a form

/// Where a field or group is: step, item, and the field inside a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pos {
    step: usize,
    item: usize,
    inner: Option<usize>,
}

/// A field or group by its key: the id, or `group.field` for a field of a group.
fn locate(form: &Form, key: &str) -> Option<Pos> {
    for (si, s) in form.steps.iter().enumerate() {
        for (ii, item) in s.items.iter().enumerate() {
            match (item, key.split_once('.')) {
                (Item::Field(f), None) if f.id == key => return Some(Pos { step: si, item: ii, inner: None }),
                (Item::Group(g), None) if g.id == key => return Some(Pos { step: si, item: ii, inner: None }),
                (Item::Group(g), Some((gid, fid))) if g.id == gid => {
                    if let Some(fi) = g.fields.iter().position(|f| f.id == fid) {
                        return Some(Pos { step: si, item: ii, inner: Some(fi) });
                    }
                }
                _ => {}
            }
        }
    }
    None
}

fn field_at(form: &Form, p: Pos) -> Option<&Field> {
    match (form.steps.get(p.step)?.items.get(p.item)?, p.inner) {
        (Item::Field(f), None) => Some(f),
        (Item::Group(g), Some(i)) => g.fields.get(i),
        _ => None,
    }
}

fn field_at_mut(form: &mut Form, p: Pos) -> Option<&mut Field> {
    match (form.steps.get_mut(p.step)?.items.get_mut(p.item)?, p.inner) {
        (Item::Field(f), None) => Some(f),
        (Item::Group(g), Some(i)) => g.fields.get_mut(i),
        _ => None,
    }
}

/// The fields answered at the top level (also those of plain groups): what
/// conditions and rules may refer to.
fn top_level_fields(form: &Form) -> Vec<&Field> {
    let mut out = Vec::new();
    for s in &form.steps {
        for item in &s.items {
            match item {
                Item::Field(f) => out.push(f),
                Item::Group(g) if g.repeat.is_none() => out.extend(g.fields.iter()),
                Item::Group(_) => {}
            }
        }
    }
    out
}

fn label_of(form: &Form, id: &str) -> String {
    top_level_fields(form).into_iter().find(|f| f.id == id).map_or_else(|| id.to_owned(), |f| f.label.clone())
}

fn finding_href(f: &Finding, form: &Form, editor: &str, fallback: &str) -> String {
    match &f.target {
        Target::Form => "#feld-title".to_owned(),
        Target::Step(s) if form.steps.iter().any(|x| &x.id == s) => format!("#{}", anchor("schritt", s)),
        Target::Item(k) if locate(form, k).is_some() => format!("#{}", anchor("element", k)),
        Target::Computed(_) | Target::Rule(_) => format!("{editor}/regeln"),
        _ => format!("#{fallback}"),
    }
}

fn step_index(form: &Form, id: &str) -> Result<usize, Vec<Msg>> {
    form.steps
        .iter()
        .position(|s| s.id == id)
        .ok_or_else(|| vec![msg("schritte", "Diesen Schritt gibt es nicht mehr. Bitte laden Sie die Seite neu.")])
}

// ----------------------------------------------------------------------------------
// Loading with the permission checks

struct Loaded {
    authority: Authority,
    row: FormRow,
    service: Option<Leistung>,
    draft: Form,
}

impl Loaded {
    fn editor(&self) -> String {
        format!("/verwaltung/behoerden/{}/formulare/{}", self.authority.slug, self.row.id)
    }
}

/// The form of this authority, if this person may edit it: like services, a form of
/// a service belongs to that service's org unit.
async fn load(state: &AppState, staff: &StaffContext, slug: &str, id: i64) -> Result<Loaded, AppError> {
    let authority = staff.content_authority(state, slug)?;
    let row = state.store.form_by_id(authority.id, id).await?.ok_or(AppError::NotFound)?;
    let service = match row.leistung_id {
        Some(l) => state.store.leistung_by_id(authority.id, l).await?,
        None => None,
    };
    staff.require_unit_of(authority.id, service.as_ref().and_then(|l| l.org_unit_id))?;
    let draft = row.draft()?;
    Ok(Loaded { authority, row, service, draft })
}

/// What happened to a change.
enum Stored {
    Saved,
    Conflict,
    /// Not stored: problems the stored draft did not have.
    Refused(Vec<Finding>),
}

/// Stores `candidate` as the new draft if it adds no problem (`strict`: if it has
/// none at all) and nobody saved since `version`.
async fn store_draft(
    state: &AppState,
    staff: &StaffContext,
    l: &Loaded,
    version: i64,
    candidate: &Form,
    strict: bool,
) -> Result<Stored, AppError> {
    if version != l.row.draft_version {
        return Ok(Stored::Conflict);
    }
    let before: BTreeSet<String> =
        if strict { BTreeSet::new() } else { amtsweg_forms::check(&l.draft).into_iter().collect() };
    let new: Vec<Finding> = findings(candidate).into_iter().filter(|f| !before.contains(&f.message)).collect();
    if !new.is_empty() {
        return Ok(Stored::Refused(new));
    }
    let mut tx = state.store.begin().await?;
    match tx.save_form_draft(l.authority.id, l.row.id, version, candidate, Some(staff.user.id)).await? {
        Saved::Ok(_) => {
            tx.commit().await?;
            Ok(Stored::Saved)
        }
        Saved::Conflict { .. } => Ok(Stored::Conflict),
    }
}

const CONFLICT: &str = "Während Sie gearbeitet haben, hat jemand anderes dieses Formular gespeichert. Ihre Änderung wurde nicht gespeichert. Sie sehen jetzt den neuen Stand; bitte nehmen Sie Ihre Änderung darin noch einmal vor.";

/// The query of the editor's pages: a notice after a change, and on the editor page
/// the step whose pane is shown (`?schritt=<id>`; without it the form's own pane).
#[derive(Debug, Deserialize)]
pub struct Notice {
    hinweis: Option<String>,
    schritt: Option<String>,
}

fn notice_text(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "gespeichert" => Some("Der Entwurf wurde gespeichert. Im Portal steht weiterhin die veröffentlichte Fassung."),
        "angelegt" => Some("Das Formular wurde als Entwurf angelegt. Fügen Sie jetzt Schritte und Felder hinzu."),
        "veroeffentlicht" => Some("Das Formular wurde veröffentlicht. Neue Anträge verwenden ab jetzt diese Fassung."),
        "json" => Some("Der Entwurf wurde aus dem JSON übernommen."),
        "neu" => Some("Das Feld wurde angelegt. Legen Sie jetzt seine Einstellungen fest."),
        "art" => Some("Die Art des Feldes wurde geändert. Bitte prüfen Sie seine Einstellungen."),
        "feld" => Some("Das Feld wurde der Gruppe hinzugefügt."),
        "gruppe" => Some("Die Gruppe wurde mit ihrem ersten Feld angelegt. Hier fügen Sie weitere Felder hinzu."),
        "verschoben" => Some("Die Reihenfolge wurde geändert und als Entwurf gespeichert."),
        "entfernt" => Some("Gelöscht. Die Änderung ist als Entwurf gespeichert."),
        _ => None,
    }
}

/// `url` with a notice for the page it leads to.
fn with_notice(url: &str, code: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}hinweis={code}")
}

/// The editor page with the pane of a step.
fn step_url(editor: &str, id: &str) -> String {
    if id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        format!("{editor}?schritt={id}")
    } else {
        format!("{editor}?schritt={}", crate::urls::urlencode(id))
    }
}

/// The page of a field or group of the form, by its key.
fn item_url(form: &Form, editor: &str, key: &str) -> String {
    let group = locate(form, key)
        .is_some_and(|p| p.inner.is_none() && matches!(form.steps[p.step].items.get(p.item), Some(Item::Group(_))));
    if group { format!("{editor}/gruppen/{key}") } else { format!("{editor}/felder/{key}") }
}

// ----------------------------------------------------------------------------------
// A change on the editor page (also carried out by `gruppen`)

/// What was typed into the editor's inputs, shown again when nothing was stored.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EditorForm {
    csrf: String,
    version: i64,
    aktion: String,
    title: String,
    trust_level: String,
    schritt: String,
    schritt_titel: String,
    bestaetigt: String,
    element: String,
    label: String,
    art: String,
    pflicht: String,
    ziel: String,
    gruppe_label: String,
    mehrfach: String,
    min: String,
    max: String,
    /// Booking after submission: `nein`, `angeboten` or `erforderlich`.
    termin: String,
    termin_leika: String,
}

/// What a change did: the pane to show next (with its notice and an anchor in it),
/// and the input that problems of a new part (not yet on the page) link to.
struct Done {
    anchor: String,
    next: String,
    input: Option<String>,
}

// ----------------------------------------------------------------------------------
// The rules page's inputs (also read by `berechnet`), computed amounts in words

#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct RulesForm {
    #[serde(skip_serializing)]
    csrf: String,
    version: i64,
    aktion: String,
    nr: usize,
    nach_feld: String,
    nach_anderes: String,
    nach_meldung: String,
    frist_feld: String,
    frist_tage: String,
    frist_meldung: String,
    /// The builder of computed amounts (`berechnet`).
    berechnet_label: String,
    grundbetrag: String,
    je_gruppe: String,
    je_betrag: String,
    wenn: String,
    dann_betrag: String,
    sonst_betrag: String,
    /// Staffel (`berechnet`): what is counted, the first unit's and every further unit's amount.
    staffel_einheiten: String,
    staffel_erste: String,
    staffel_weitere: String,
    /// Befreiung (`berechnet`): up to four answers (`field=value`) that make the amount 0.
    befreit_1: String,
    befreit_2: String,
    befreit_3: String,
    befreit_4: String,
    /// Payment of the fee (`berechnet`): mode (`vorab`, `rechnung`, `vor_ort`, empty:
    /// none), the computed amount and the purpose.
    zahlung_art: String,
    zahlung_betrag: String,
    zahlung_zweck: String,
}

fn euro(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    format!("{sign}{},{:02}", c / 100, c % 100)
}

/// The label of a group, or its id when there is none.
fn group_label(form: &Form, id: &str) -> String {
    form.steps
        .iter()
        .flat_map(|s| &s.items)
        .find_map(|i| match i {
            Item::Group(g) if g.id == id => Some(g.label.clone()),
            _ => None,
        })
        .unwrap_or_else(|| id.to_owned())
}

fn expr_text(form: &Form, e: &Expr) -> String {
    match e {
        Expr::Cents(c) => format!("{} €", euro(*c)),
        Expr::Field(f) => format!("„{}“", label_of(form, f)),
        Expr::Count(g) => format!("Anzahl der Einträge bei „{}“", group_label(form, g)),
        Expr::Sum(es) => format!("({})", es.iter().map(|e| expr_text(form, e)).collect::<Vec<_>>().join(" + ")),
        Expr::Product(es) => format!("({})", es.iter().map(|e| expr_text(form, e)).collect::<Vec<_>>().join(" × ")),
        Expr::Tiered { .. } => berechnet::tiered_text(form, e),
        Expr::If { when, then, otherwise } => format!(
            "wenn {}, dann {}, sonst {}",
            fields::describe(form, when),
            expr_text(form, then),
            expr_text(form, otherwise)
        ),
    }
}
