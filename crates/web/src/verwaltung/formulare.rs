//! The form editor: an authority's application forms (`amtsweg_forms`) built in the
//! back office without writing JSON — steps, fields and groups in order, conditions,
//! rules across fields — with a preview as citizens see it, JSON export and import for
//! power users, the upload of XDatenfelder files, publishing as immutable versions and
//! a field-level history. Groups and computed amounts have their own modules
//! (`gruppen`, `berechnet`).
//!
//! Every change is a plain POST (no JavaScript needed) that names the draft version it
//! was made on (optimistic locking: a change on an outdated page is not stored). A
//! change is stored only when `amtsweg_forms::check` finds no problem that the stored
//! draft did not already have: an imported form may arrive with gaps (code lists that
//! are not part of the file), which are listed until they are fixed; publishing needs
//! a form without any.

mod berechnet;
pub mod gruppen;

use super::{StaffContext, base};
use crate::AppState;
use crate::antrag::fields;
use crate::error::AppError;
use crate::pages::render_page;
use amtsweg_domain::{Authority, Leistung, Slug, TrustLevel};
use amtsweg_forms::check::{Finding, Target, ascii_id, findings, id_from_label, ids_in_use, tidy_id, tidy_ids};
use amtsweg_forms::diff::{Change, diff};
use amtsweg_forms::{Answers, Choice, Cond, Expr, Field, Form, Item, Kind, Prefill, Rule, Step};
use amtsweg_store::editing::Saved;
use amtsweg_store::forms::FormRow;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The field types with their German names, in the order of the type select.
const KINDS: [(&str, &str); 21] = [
    ("text", "Text, einzeilig"),
    ("long_text", "Text, mehrzeilig"),
    ("number", "Ganze Zahl"),
    ("euro", "Betrag in Euro"),
    ("date", "Datum"),
    ("select", "Auswahlliste"),
    ("radio", "Auswahl (eine Möglichkeit)"),
    ("checkboxes", "Mehrfachauswahl"),
    ("yes_no", "Ja/Nein-Frage"),
    ("email", "E-Mail-Adresse"),
    ("phone", "Telefonnummer"),
    ("iban", "IBAN"),
    ("plz", "Postleitzahl"),
    ("steuer_id", "Steuer-Identifikationsnummer"),
    ("kfz", "Kfz-Kennzeichen"),
    ("address", "Anschrift"),
    ("name", "Name"),
    ("birth_date", "Geburtsdatum"),
    ("file", "Datei hochladen"),
    ("info", "Hinweistext (ohne Eingabe)"),
    ("declaration", "Erklärung zum Bestätigen"),
];

/// Where a prefilled value may come from, with German names.
const PREFILLS: [(&str, &str); 7] = [
    ("name", "Vor- und Familienname"),
    ("given_name", "Vorname"),
    ("family_name", "Familienname"),
    ("birth_date", "Geburtsdatum"),
    ("address", "Anschrift"),
    ("email", "E-Mail-Adresse"),
    ("phone", "Telefonnummer"),
];

/// A condition that the simple selects cannot show; kept as it is.
const KEEP: &str = "unveraendert";

fn kind_key(k: &Kind) -> &'static str {
    match k {
        Kind::Text { .. } => "text",
        Kind::LongText { .. } => "long_text",
        Kind::Number { .. } => "number",
        Kind::Euro { .. } => "euro",
        Kind::Date { .. } => "date",
        Kind::Select { .. } => "select",
        Kind::Radio { .. } => "radio",
        Kind::Checkboxes { .. } => "checkboxes",
        Kind::YesNo => "yes_no",
        Kind::Email => "email",
        Kind::Phone => "phone",
        Kind::Iban => "iban",
        Kind::Plz => "plz",
        Kind::SteuerId => "steuer_id",
        Kind::Kfz => "kfz",
        Kind::Address { .. } => "address",
        Kind::Name => "name",
        Kind::BirthDate { .. } => "birth_date",
        Kind::File { .. } => "file",
        Kind::Info { .. } => "info",
        Kind::Declaration { .. } => "declaration",
    }
}

fn kind_label(key: &str) -> &'static str {
    KINDS.iter().find(|(k, _)| *k == key).map_or("unbekannt", |(_, l)| l)
}

fn placeholder_options() -> Vec<Choice> {
    (1..=2).map(|n| Choice { value: format!("moeglichkeit_{n}"), label: format!("Möglichkeit {n}") }).collect()
}

/// A new field type with settings that pass the check (choices get two placeholders
/// to rename).
fn new_kind(key: &str) -> Option<Kind> {
    Some(match key {
        "text" => Kind::Text { max_len: 200 },
        "long_text" => Kind::LongText { max_len: 5000 },
        "number" => Kind::Number { min: None, max: None },
        "euro" => Kind::Euro { min_cents: None, max_cents: None },
        "date" => Kind::Date { not_before: None, not_after: None },
        "select" => Kind::Select { options: placeholder_options() },
        "radio" => Kind::Radio { options: placeholder_options() },
        "checkboxes" => Kind::Checkboxes { options: placeholder_options(), min: 0, max: None },
        "yes_no" => Kind::YesNo,
        "email" => Kind::Email,
        "phone" => Kind::Phone,
        "iban" => Kind::Iban,
        "plz" => Kind::Plz,
        "steuer_id" => Kind::SteuerId,
        "kfz" => Kind::Kfz,
        "address" => Kind::Address { in_verbund: false },
        "name" => Kind::Name,
        "birth_date" => Kind::BirthDate { min_age: None, max_age: None },
        "file" => {
            Kind::File { accept: ["pdf", "jpg", "jpeg", "png"].map(str::to_owned).to_vec(), max_bytes: 5_000_000 }
        }
        "info" => Kind::Info { text: String::new() },
        "declaration" => {
            Kind::Declaration { text: "Ich versichere, dass meine Angaben vollständig und richtig sind.".into() }
        }
        _ => return None,
    })
}

/// Field types whose settings must be filled in after adding the field.
fn needs_settings(k: &Kind) -> bool {
    matches!(
        k,
        Kind::Select { .. } | Kind::Radio { .. } | Kind::Checkboxes { .. } | Kind::Info { .. } | Kind::File { .. }
    )
}

/// A new field with no hint, condition or prefill (information texts and
/// declarations are never "required").
fn blank_field(id: String, label: &str, kind: Kind, required: bool) -> Field {
    let answerable = !matches!(kind, Kind::Info { .. } | Kind::Declaration { .. });
    Field {
        id,
        label: label.to_owned(),
        hint: String::new(),
        kind,
        required: answerable && required,
        required_if: None,
        visible_if: None,
        prefill: None,
    }
}

fn options_of(k: &Kind) -> Option<&Vec<Choice>> {
    match k {
        Kind::Select { options } | Kind::Radio { options } | Kind::Checkboxes { options, .. } => Some(options),
        _ => None,
    }
}

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

#[derive(Debug, Deserialize)]
pub struct Notice {
    hinweis: Option<String>,
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
        _ => None,
    }
}

// ----------------------------------------------------------------------------------
// The list of forms, new forms and imports

/// The services a form of this person may belong to.
async fn services_for(state: &AppState, staff: &StaffContext, a: &Authority) -> Result<Vec<Leistung>, AppError> {
    Ok(state
        .store
        .leistungen_of(a.id, true)
        .await?
        .into_iter()
        .filter(|l| staff.perms.can_edit_in_unit(a.id, l.org_unit_id))
        .collect())
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ListForm {
    #[serde(skip_serializing)]
    csrf: String,
    title: String,
    kurzname: String,
    leistung: String,
    json: String,
}

#[derive(Default)]
struct ListView {
    errors: Vec<Msg>,
    /// Which of the three forms was sent ("neu", "json", "xdf"), and what was typed.
    source: &'static str,
    typed: ListForm,
    report: Option<Value>,
}

async fn render_list(
    state: &AppState,
    staff: &StaffContext,
    a: &Authority,
    v: ListView,
    status: StatusCode,
) -> Result<Response, AppError> {
    let services = state.store.leistungen_of(a.id, true).await?;
    let mut rows = Vec::new();
    for f in state.store.forms_of(a.id).await? {
        let service = f.leistung_id.and_then(|id| services.iter().find(|l| l.id == id));
        let editable = staff.perms.can_edit_in_unit(a.id, service.and_then(|l| l.org_unit_id));
        let changed = if f.published_version > 0 {
            state.store.form_version(a.id, f.id, f.published_version).await?.is_some_and(|p| p.definition != f.draft)
        } else {
            false
        };
        let status = match (f.published_version, changed) {
            (0, _) => "Entwurf, nicht veröffentlicht".to_owned(),
            (n, false) => format!("Fassung {n} veröffentlicht"),
            (n, true) => format!("Fassung {n} veröffentlicht, Entwurf mit Änderungen"),
        };
        rows.push(context! {
            id => f.id, title => &f.title, slug => &f.slug, service => service.map(|l| l.name.clone()),
            status, published => f.published_version > 0, editable,
        });
    }
    let choices: Vec<Value> = services
        .iter()
        .filter(|l| staff.perms.can_edit_in_unit(a.id, l.org_unit_id))
        .map(|l| context! { id => l.id.to_string(), name => &l.name })
        .collect();
    let invalid: Vec<String> = v.errors.iter().map(|e| e.href.trim_start_matches('#').to_owned()).collect();
    let ctx = context! {
        authority => authority_ctx(a), rows, services => choices,
        without_service => staff.perms.can_edit_authority_wide(a.id),
        errors => v.errors, invalid, source => v.source, typed => Value::from_serialize(&v.typed), report => v.report,
        ..base(state, Some(staff), &format!("/verwaltung/behoerden/{}/formulare/", a.slug))
    };
    page(state, "verwaltung/formulare.html", ctx, status)
}

pub async fn list(
    State(state): State<AppState>,
    staff: StaffContext,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let a = staff.content_authority(&state, &slug)?;
    render_list(&state, &staff, &a, ListView::default(), StatusCode::OK).await
}

/// The service chosen for a new form, if this person may use it.
fn chosen_service(
    staff: &StaffContext,
    a: &Authority,
    services: &[Leistung],
    raw: &str,
    anchor: &str,
    errors: &mut Vec<Msg>,
) -> Option<i64> {
    if raw.trim().is_empty() {
        if !staff.perms.can_edit_authority_wide(a.id) {
            errors.push(msg(anchor, "Bitte wählen Sie die Leistung Ihrer Stelle, zu der das Formular gehört."));
        }
        return None;
    }
    let found = raw.trim().parse::<i64>().ok().and_then(|id| services.iter().find(|l| l.id == id));
    if found.is_none() {
        errors.push(msg(anchor, "Diese Leistung können Sie nicht auswählen."));
    }
    found.map(|l| l.id)
}

/// The short name asked for (checked and free), or one made from `basis` (free).
async fn short_name(
    state: &AppState,
    a: &Authority,
    wanted: &str,
    basis: &str,
    anchor: &str,
    errors: &mut Vec<Msg>,
) -> Result<Option<Slug>, AppError> {
    let wanted = wanted.trim();
    if !wanted.is_empty() {
        return match Slug::parse(wanted) {
            Err(e) => {
                errors.push(msg(anchor, e.0));
                Ok(None)
            }
            Ok(s) if state.store.form_by_slug(a.id, s.as_str()).await?.is_some() => {
                errors.push(msg(anchor, format!("Der Kurzname „{s}“ ist schon für ein anderes Formular vergeben.")));
                Ok(None)
            }
            Ok(s) => Ok(Some(s)),
        };
    }
    let base = Slug::from_title(basis);
    let mut candidate = base.clone();
    for n in 2.. {
        if state.store.form_by_slug(a.id, candidate.as_str()).await?.is_none() {
            break;
        }
        candidate = Slug::parse(&format!("{}-{n}", base.as_str().chars().take(70).collect::<String>()))
            .map_err(|e| AppError::Internal(e.0))?;
    }
    Ok(Some(candidate))
}

async fn create(
    state: &AppState,
    staff: &StaffContext,
    a: &Authority,
    slug: &Slug,
    service: Option<i64>,
    form: &Form,
) -> Result<i64, AppError> {
    let mut tx = state.store.begin().await?;
    let id = tx.create_form(a.id, slug, service, form, Some(staff.user.id)).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn new_form(
    State(state): State<AppState>,
    staff: StaffContext,
    headers: HeaderMap,
    Path(slug): Path<String>,
    axum::Form(f): axum::Form<ListForm>,
) -> Result<Response, AppError> {
    staff.check_form(&headers, &f.csrf)?;
    let a = staff.content_authority(&state, &slug)?;
    let services = services_for(&state, &staff, &a).await?;
    let mut errors = Vec::new();
    let title = f.title.trim().to_owned();
    if title.is_empty() {
        errors.push(msg("feld-title", "Bitte geben Sie den Titel des Formulars an."));
    }
    let service = chosen_service(&staff, &a, &services, &f.leistung, "feld-leistung", &mut errors);
    let slug = short_name(&state, &a, &f.kurzname, &title, "feld-kurzname", &mut errors).await?;
    let Some(slug) = slug.filter(|_| errors.is_empty()) else {
        let v = ListView { errors, source: "neu", typed: f, report: None };
        return render_list(&state, &staff, &a, v, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let trust_level = service
        .and_then(|id| services.iter().find(|l| l.id == id))
        .map_or("normal", |l| l.trust_level.as_str())
        .to_owned();
    let form = Form {
        id: slug.as_str().to_owned(),
        title,
        trust_level,
        steps: vec![Step { id: "angaben".into(), title: "Ihre Angaben".into(), items: Vec::new(), visible_if: None }],
        computed: Vec::new(),
        rules: Vec::new(),
        direct_submit: false,
        workflow: None,
    };
    let id = create(&state, &staff, &a, &slug, service, &form).await?;
    Ok(Redirect::to(&format!("/verwaltung/behoerden/{}/formulare/{id}?hinweis=angelegt", a.slug)).into_response())
}

/// Messages for a JSON text that is no form (or not a valid one), linking to `anchor`.
fn parse_json(json: &str, anchor: &str) -> Result<Form, Vec<Msg>> {
    let form: Form = serde_json::from_str(json).map_err(|e| {
        vec![msg(anchor, format!("Das JSON ist kein Formular: {e} (Zeile {}, Spalte {}).", e.line(), e.column()))]
    })?;
    let problems = amtsweg_forms::check(&form);
    if problems.is_empty() { Ok(form) } else { Err(problems.into_iter().map(|m| msg(anchor, m)).collect()) }
}

pub async fn import_json(
    State(state): State<AppState>,
    staff: StaffContext,
    headers: HeaderMap,
    Path(slug): Path<String>,
    axum::Form(f): axum::Form<ListForm>,
) -> Result<Response, AppError> {
    staff.check_form(&headers, &f.csrf)?;
    let a = staff.content_authority(&state, &slug)?;
    let services = services_for(&state, &staff, &a).await?;
    let mut errors = Vec::new();
    let service = chosen_service(&staff, &a, &services, &f.leistung, "feld-json-leistung", &mut errors);
    let form = match parse_json(&f.json, "feld-json") {
        Ok(form) => Some(form),
        Err(e) => {
            errors.extend(e);
            None
        }
    };
    let basis = form.as_ref().map_or_else(String::new, |f| f.id.clone());
    let slug = short_name(&state, &a, &f.kurzname, &basis, "feld-json-kurzname", &mut errors).await?;
    let (Some(form), Some(slug), true) = (form, slug, errors.is_empty()) else {
        let v = ListView { errors, source: "json", typed: f, report: None };
        return render_list(&state, &staff, &a, v, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let id = create(&state, &staff, &a, &slug, service, &form).await?;
    Ok(Redirect::to(&format!("/verwaltung/behoerden/{}/formulare/{id}?hinweis=angelegt", a.slug)).into_response())
}

/// The upload of an XDatenfelder file (xdf1, xdf2, xdf3): a new draft and the
/// report of what could not be carried over.
pub async fn import_xdf(
    State(state): State<AppState>,
    staff: StaffContext,
    headers: HeaderMap,
    Path(slug): Path<String>,
    request: Request,
) -> Result<Response, AppError> {
    let a = staff.content_authority(&state, &slug)?;
    let broken =
        || AppError::BadRequest("Die Datei kam nicht vollständig an. Bitte laden Sie sie noch einmal hoch.".into());
    let mut mp = Multipart::from_request(request, &state).await.map_err(|_| broken())?;
    let (mut csrf, mut kurzname, mut leistung, mut file) = (String::new(), String::new(), String::new(), Vec::new());
    let mut file_name = String::new();
    while let Some(part) = mp.next_field().await.map_err(|_| broken())? {
        match part.name().unwrap_or_default() {
            "datei" => {
                file_name = part.file_name().unwrap_or_default().to_owned();
                file = part.bytes().await.map_err(|_| broken())?.to_vec();
            }
            name => {
                let name = name.to_owned();
                let text = part.text().await.map_err(|_| broken())?;
                match name.as_str() {
                    "csrf" => csrf = text,
                    "kurzname" => kurzname = text,
                    "leistung" => leistung = text,
                    _ => {}
                }
            }
        }
    }
    staff.check_form(&headers, &csrf)?;
    let services = services_for(&state, &staff, &a).await?;
    let mut errors = Vec::new();
    let service = chosen_service(&staff, &a, &services, &leistung, "feld-xdf-leistung", &mut errors);
    let imported = if file.is_empty() {
        errors.push(msg("feld-datei", "Bitte wählen Sie eine XDatenfelder-Datei (.xml) aus."));
        None
    } else {
        match std::str::from_utf8(&file) {
            Err(_) => {
                errors.push(msg(
                    "feld-datei",
                    format!(
                        "„{file_name}“ ist keine Textdatei in UTF-8; XDatenfelder-Dateien sind UTF-8-kodiertes XML."
                    ),
                ));
                None
            }
            Ok(xml) => match amtsweg_xdf::import(xml.trim_start_matches('\u{feff}')) {
                Err(e) => {
                    errors.push(msg("feld-datei", format!("Import abgelehnt: {e}")));
                    None
                }
                Ok(i) => Some(i),
            },
        }
    };
    let basis = imported.as_ref().map_or_else(String::new, |i| i.form.title.clone());
    let slug = short_name(&state, &a, &kurzname, &basis, "feld-xdf-kurzname", &mut errors).await?;
    let typed = ListForm { kurzname, leistung, ..ListForm::default() };
    let (Some(mut imported), Some(slug), true) = (imported, slug, errors.is_empty()) else {
        let v = ListView { errors, source: "xdf", typed, report: None };
        return render_list(&state, &staff, &a, v, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    // FIM ids are upper case (F60000227); the editor's ids are not.
    tidy_ids(&mut imported.form);
    if imported.form.title.trim().is_empty() {
        imported.form.title = file_name.clone();
    }
    let id = create(&state, &staff, &a, &slug, service, &imported.form).await?;
    let r = &imported.report;
    let open = amtsweg_forms::check(&imported.form);
    let report = context! {
        standard => &r.standard, id => &r.id, version => &r.version, title => &imported.form.title,
        fields => r.fields, groups => r.groups, not_supported => &r.not_supported, open => open.len(),
        editor => format!("/verwaltung/behoerden/{}/formulare/{id}", a.slug), slug => slug.as_str(),
    };
    render_list(&state, &staff, &a, ListView { report: Some(report), ..ListView::default() }, StatusCode::OK).await
}

// ----------------------------------------------------------------------------------
// The editor

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
}

struct EditorView<'a> {
    l: &'a Loaded,
    errors: Vec<Msg>,
    conflict: bool,
    notice: Option<&'static str>,
    typed: Option<&'a EditorForm>,
    json: Option<String>,
    /// Only the JSON was refused: show it open.
    json_open: bool,
}

fn required_text(form: &Form, f: &Field) -> String {
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

fn render_editor(
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

/// What a change did: the anchor to return to, where to go next if not the editor,
/// and the input that problems of a new part (not yet on the page) link to.
struct Done {
    anchor: String,
    next: Option<String>,
    input: Option<String>,
}

fn step_index(form: &Form, id: &str) -> Result<usize, Vec<Msg>> {
    form.steps
        .iter()
        .position(|s| s.id == id)
        .ok_or_else(|| vec![msg("schritte", "Diesen Schritt gibt es nicht mehr. Bitte laden Sie die Seite neu.")])
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
    headers: HeaderMap,
    Path((slug, id)): Path<(String, i64)>,
    axum::Form(f): axum::Form<EditorForm>,
) -> Result<Response, AppError> {
    staff.check_form(&headers, &f.csrf)?;
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

// ----------------------------------------------------------------------------------
// One field

/// The inputs of the field page, as typed.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct FieldInput {
    #[serde(skip_serializing)]
    csrf: String,
    version: i64,
    label: String,
    hint: String,
    pflicht: String,
    sichtbar: String,
    pflicht_wenn: String,
    art: String,
    optionen: String,
    max_len: String,
    min: String,
    max: String,
    min_betrag: String,
    max_betrag: String,
    frueheste: String,
    spaeteste: String,
    min_alter: String,
    max_alter: String,
    min_anzahl: String,
    max_anzahl: String,
    endungen: String,
    max_mb: String,
    text: String,
    in_verbund: String,
    prefill: String,
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn euro(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    format!("{sign}{},{:02}", c / 100, c % 100)
}

fn megabytes(bytes: u64) -> String {
    let mb = format!("{:.2}", bytes as f64 / 1_000_000.0);
    mb.trim_end_matches('0').trim_end_matches('.').replace('.', ",")
}

fn cond_input(c: Option<&Cond>) -> String {
    match c {
        None => String::new(),
        Some(Cond::Equals { field, value }) => format!("{field}={value}"),
        Some(_) => KEEP.to_owned(),
    }
}

fn date_bound(b: Option<&String>) -> String {
    match b.map(String::as_str) {
        None => String::new(),
        Some("heute") => "heute".into(),
        Some(s) => amtsweg_forms::Date::parse(s).map_or_else(|| s.to_owned(), amtsweg_forms::Date::german),
    }
}

impl FieldInput {
    fn of(f: &Field, version: i64) -> Self {
        let mut i = Self {
            version,
            label: f.label.clone(),
            hint: f.hint.clone(),
            pflicht: if f.required { "ja".into() } else { String::new() },
            sichtbar: cond_input(f.visible_if.as_ref()),
            pflicht_wenn: cond_input(f.required_if.as_ref()),
            art: kind_key(&f.kind).into(),
            prefill: f
                .prefill
                .and_then(|p| serde_json::to_value(p).ok())
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            ..Self::default()
        };
        if let Some(o) = options_of(&f.kind) {
            i.optionen = o.iter().map(|c| format!("{} = {}", c.value, c.label)).collect::<Vec<_>>().join("\n");
        }
        match &f.kind {
            Kind::Text { max_len } | Kind::LongText { max_len } => i.max_len = max_len.to_string(),
            Kind::Number { min, max } => (i.min, i.max) = (opt(*min), opt(*max)),
            Kind::Euro { min_cents, max_cents } => {
                (i.min_betrag, i.max_betrag) =
                    (min_cents.map(euro).unwrap_or_default(), max_cents.map(euro).unwrap_or_default());
            }
            Kind::Date { not_before, not_after } => {
                (i.frueheste, i.spaeteste) = (date_bound(not_before.as_ref()), date_bound(not_after.as_ref()));
            }
            Kind::Checkboxes { min, max, .. } => (i.min_anzahl, i.max_anzahl) = (min.to_string(), opt(*max)),
            Kind::BirthDate { min_age, max_age } => (i.min_alter, i.max_alter) = (opt(*min_age), opt(*max_age)),
            Kind::File { accept, max_bytes } => (i.endungen, i.max_mb) = (accept.join(", "), megabytes(*max_bytes)),
            Kind::Info { text } | Kind::Declaration { text } => i.text = text.clone(),
            Kind::Address { in_verbund } => i.in_verbund = if *in_verbund { "ja".into() } else { String::new() },
            _ => {}
        }
        i
    }
}

/// Reads typed numbers; problems go to `errors`, linked to the input.
struct Reader<'e> {
    errors: &'e mut Vec<Msg>,
}

impl Reader<'_> {
    fn number<T: std::str::FromStr>(&mut self, raw: &str, name: &str, what: &str) -> Option<T> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        let parsed = raw.parse().ok();
        if parsed.is_none() {
            self.errors.push(msg(&format!("feld-{name}"), format!("Bitte geben Sie bei „{what}“ eine ganze Zahl an.")));
        }
        parsed
    }

    fn cents(&mut self, raw: &str, name: &str, what: &str) -> Option<i64> {
        let raw = raw.trim().trim_end_matches('€').trim();
        if raw.is_empty() {
            return None;
        }
        let (int, frac) = raw.split_once(',').unwrap_or((raw, ""));
        let int = int.replace('.', "");
        let ok = !int.is_empty()
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.len() <= 2
            && frac.bytes().all(|b| b.is_ascii_digit());
        let cents = ok
            .then(|| Some(int.parse::<i64>().ok()?.checked_mul(100)? + format!("{frac:0<2}").parse::<i64>().ok()?))
            .flatten();
        if cents.is_none() {
            self.errors.push(msg(
                &format!("feld-{name}"),
                format!("Bitte geben Sie bei „{what}“ einen Betrag in Euro an, zum Beispiel 12,50."),
            ));
        }
        cents
    }

    fn date(&mut self, raw: &str, name: &str, what: &str) -> Option<String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        if raw.eq_ignore_ascii_case("heute") {
            return Some("heute".into());
        }
        let d = amtsweg_forms::Date::parse(raw).map(|d| d.to_string());
        if d.is_none() {
            self.errors.push(msg(
                &format!("feld-{name}"),
                format!("Bitte geben Sie bei „{what}“ ein Datum als TT.MM.JJJJ oder „heute“ an."),
            ));
        }
        d
    }
}

/// `wert = Bezeichnung` or just `Bezeichnung` (the value is made from it), one a line.
fn parse_options(raw: &str) -> Vec<Choice> {
    raw.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| match line.split_once('=') {
            Some((value, label)) => {
                let label = label.trim();
                let value = if value.trim().is_empty() { ascii_id(label) } else { value.trim().to_owned() };
                Choice { value, label: label.to_owned() }
            }
            None => Choice { value: ascii_id(line), label: line.to_owned() },
        })
        .collect()
}

fn parse_cond(raw: &str, old: Option<&Cond>) -> Option<Cond> {
    match raw {
        "" => None,
        KEEP => old.cloned(),
        s => s.split_once('=').map(|(field, value)| Cond::Equals { field: field.into(), value: value.into() }),
    }
}

/// The field as edited; `Err` with the problems of the inputs.
fn build_field(i: &FieldInput, old: &Field) -> Result<(Field, bool), Vec<Msg>> {
    let mut errors = Vec::new();
    let label = i.label.trim();
    if label.is_empty() {
        errors.push(msg("feld-label", "Bitte geben Sie die Bezeichnung des Feldes an."));
    }
    let old_key = kind_key(&old.kind);
    let changed_type = !i.art.is_empty() && i.art != old_key;
    let mut r = Reader { errors: &mut errors };
    let kind = if changed_type {
        match new_kind(&i.art) {
            // Choices keep their options when switching between the choice types.
            Some(mut k) => {
                if let (
                    Some(from),
                    Kind::Select { options } | Kind::Radio { options } | Kind::Checkboxes { options, .. },
                ) = (options_of(&old.kind), &mut k)
                {
                    options.clone_from(from);
                }
                Some(k)
            }
            None => {
                r.errors.push(msg("feld-art", "Bitte wählen Sie eine Art des Feldes."));
                None
            }
        }
    } else {
        Some(match &old.kind {
            Kind::Text { .. } => {
                Kind::Text { max_len: r.number(&i.max_len, "max_len", "Höchstlänge").unwrap_or(200) }
            }
            Kind::LongText { .. } => {
                Kind::LongText { max_len: r.number(&i.max_len, "max_len", "Höchstlänge").unwrap_or(5000) }
            }
            Kind::Number { .. } => Kind::Number {
                min: r.number(&i.min, "min", "Kleinster Wert"),
                max: r.number(&i.max, "max", "Größter Wert"),
            },
            Kind::Euro { .. } => Kind::Euro {
                min_cents: r.cents(&i.min_betrag, "min_betrag", "Mindestbetrag"),
                max_cents: r.cents(&i.max_betrag, "max_betrag", "Höchstbetrag"),
            },
            Kind::Date { .. } => Kind::Date {
                not_before: r.date(&i.frueheste, "frueheste", "Frühestes Datum"),
                not_after: r.date(&i.spaeteste, "spaeteste", "Spätestes Datum"),
            },
            Kind::Select { .. } => Kind::Select { options: parse_options(&i.optionen) },
            Kind::Radio { .. } => Kind::Radio { options: parse_options(&i.optionen) },
            Kind::Checkboxes { .. } => Kind::Checkboxes {
                options: parse_options(&i.optionen),
                min: r.number(&i.min_anzahl, "min_anzahl", "Mindestens auszuwählen").unwrap_or(0),
                max: r.number(&i.max_anzahl, "max_anzahl", "Höchstens auszuwählen"),
            },
            Kind::BirthDate { .. } => Kind::BirthDate {
                min_age: r.number(&i.min_alter, "min_alter", "Mindestalter"),
                max_age: r.number(&i.max_alter, "max_alter", "Höchstalter"),
            },
            Kind::File { max_bytes, .. } => {
                let accept = i
                    .endungen
                    .split([',', ';', ' '])
                    .map(|e| e.trim().trim_start_matches('.').to_lowercase())
                    .filter(|e| !e.is_empty())
                    .collect();
                let typed = i.max_mb.trim();
                let max_bytes = if typed == megabytes(*max_bytes) {
                    *max_bytes
                } else {
                    match typed.replace(',', ".").parse::<f64>() {
                        Ok(mb) if mb.is_finite() && mb > 0.0 && mb <= 1000.0 => (mb * 1_000_000.0).round() as u64,
                        _ => {
                            r.errors.push(msg(
                                "feld-max_mb",
                                "Bitte geben Sie die höchste Dateigröße in MB an (größer als 0, höchstens 1000).",
                            ));
                            *max_bytes
                        }
                    }
                };
                Kind::File { accept, max_bytes }
            }
            Kind::Info { .. } => Kind::Info { text: i.text.trim().to_owned() },
            Kind::Declaration { .. } => Kind::Declaration { text: i.text.trim().to_owned() },
            Kind::Address { .. } => Kind::Address { in_verbund: i.in_verbund == "ja" },
            other => other.clone(),
        })
    };
    let prefill = match i.prefill.as_str() {
        "" => None,
        p => {
            let parsed = serde_json::from_value::<Prefill>(serde_json::Value::String(p.to_owned())).ok();
            if parsed.is_none() {
                errors.push(msg("feld-prefill", "Bitte wählen Sie eine der angebotenen Angaben aus dem Konto."));
            }
            parsed
        }
    };
    let Some(kind) = kind.filter(|_| errors.is_empty()) else { return Err(errors) };
    let answerable = !matches!(kind, Kind::Info { .. } | Kind::Declaration { .. });
    let field = Field {
        id: old.id.clone(),
        label: label.to_owned(),
        hint: i.hint.trim().to_owned(),
        required: answerable && i.pflicht == "ja",
        required_if: if answerable { parse_cond(&i.pflicht_wenn, old.required_if.as_ref()) } else { None },
        visible_if: parse_cond(&i.sichtbar, old.visible_if.as_ref()),
        prefill: if answerable { prefill } else { None },
        kind,
    };
    Ok((field, changed_type))
}

/// The "field = value" conditions the selects offer (fields with options, yes/no),
/// as `field=value` and in words, without the fields in `except`.
fn condition_pairs(form: &Form, except: &[&str]) -> Vec<(String, String)> {
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
fn condition_choices(form: &Form, except: &[&str]) -> Vec<Value> {
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

fn render_field(
    state: &AppState,
    staff: &StaffContext,
    v: FieldView<'_>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let form = &v.l.draft;
    let editor = v.l.editor();
    let invalid: Vec<String> = v.errors.iter().map(|e| e.href.trim_start_matches('#').to_owned()).collect();
    let kinds: Vec<Value> = KINDS.iter().map(|(k, label)| context! { value => k, label }).collect();
    let prefills: Vec<Value> = PREFILLS.iter().map(|(k, label)| context! { value => k, label }).collect();
    // A condition the simple selects cannot show, in words.
    let complex = |c: Option<&Cond>| c.filter(|c| cond_input(Some(c)) == KEEP).map(|c| fields::describe(form, c));
    let in_group = v.key.split_once('.').map(|(g, _)| g.to_owned());
    // A field of a repeating group is no answer at the top level (its id is scoped to
    // the group and may equal one of them); other fields do not depend on themselves.
    let repeating = in_group
        .as_deref()
        .and_then(|g| locate(form, g))
        .is_some_and(|p| matches!(form.steps[p.step].items.get(p.item), Some(Item::Group(g)) if g.repeat.is_some()));
    let except: Vec<&str> = if repeating { Vec::new() } else { vec![v.field.id.as_str()] };
    let ctx = context! {
        authority => authority_ctx(&v.l.authority), editor, form_title => &form.title, key => v.key,
        id => &v.field.id, label => &v.field.label, art => kind_key(&v.field.kind),
        kind_label => kind_label(kind_key(&v.field.kind)), kinds, prefills,
        conditions => condition_choices(form, &except),
        visible_complex => complex(v.field.visible_if.as_ref()),
        required_complex => complex(v.field.required_if.as_ref()),
        input => Value::from_serialize(&v.input), errors => v.errors, invalid, in_group,
        conflict => v.conflict.then_some(CONFLICT), notice => v.notice,
        element => anchor("element", v.key),
        ..base(state, Some(staff), &format!("{editor}/felder/{}", v.key))
    };
    page(state, "verwaltung/formular_feld.html", ctx, status)
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
    headers: HeaderMap,
    Path((slug, id, key)): Path<(String, i64, String)>,
    axum::Form(input): axum::Form<FieldInput>,
) -> Result<Response, AppError> {
    staff.check_form(&headers, &input.csrf)?;
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
        Stored::Saved => {
            Ok(Redirect::to(&format!("{editor}?hinweis=gespeichert#{}", anchor("element", &key))).into_response())
        }
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

// ----------------------------------------------------------------------------------
// Rules across fields, computed values

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
        Expr::If { when, then, otherwise } => format!(
            "wenn {}, dann {}, sonst {}",
            fields::describe(form, when),
            expr_text(form, then),
            expr_text(form, otherwise)
        ),
    }
}

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
    headers: HeaderMap,
    Path((slug, id)): Path<(String, i64)>,
    axum::Form(f): axum::Form<RulesForm>,
) -> Result<Response, AppError> {
    staff.check_form(&headers, &f.csrf)?;
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

// ----------------------------------------------------------------------------------
// Preview, JSON, publishing, versions

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
    headers: HeaderMap,
    Path((slug, id)): Path<(String, i64)>,
    axum::Form(f): axum::Form<JsonForm>,
) -> Result<Response, AppError> {
    staff.check_form(&headers, &f.csrf)?;
    let l = load(&state, &staff, &slug, id).await?;
    let view = |errors, conflict| EditorView {
        l: &l,
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

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PublishForm {
    csrf: String,
    version: i64,
}

pub async fn publish(
    State(state): State<AppState>,
    staff: StaffContext,
    headers: HeaderMap,
    Path((slug, id)): Path<(String, i64)>,
    axum::Form(f): axum::Form<PublishForm>,
) -> Result<Response, AppError> {
    staff.check_form(&headers, &f.csrf)?;
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
            version => v.version, when => super::berlin_time(v.published_at), by => v.published_by,
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
