//! Editing an authority's services: list, create, edit with drafts, preview, publish,
//! withdraw, revision history with diff and restore.

use super::{StaffContext, base};
use crate::AppState;
use crate::csrf::{Csrf, NoFields};
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::leistung::{FieldError, LeistungContent};
use amtsweg_domain::{Authority, Leistung, Slug, TextModule, TrustLevel};
use amtsweg_store::editing::Saved;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;

fn status_label(l: &Leistung, has_draft: bool) -> &'static str {
    match (l.published, has_draft) {
        (true, false) => "veröffentlicht",
        (true, true) => "veröffentlicht, mit Entwurf",
        (false, true) => "Entwurf, nicht veröffentlicht",
        (false, false) => "zurückgezogen",
    }
}

pub async fn list(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let a = staff.content_authority(&state, &slug)?;
    let mut rows = Vec::new();
    for l in state.store.leistungen_of(a.id, true).await? {
        let has_draft = state.store.draft(a.id, l.id).await?.is_some();
        let editable = staff.perms.can_edit_in_unit(a.id, l.org_unit_id);
        rows.push(context! { id => l.id, name => &l.name, status => status_label(&l, has_draft), slug => l.slug.as_str(), published => l.published, editable });
    }
    let ctx = context! { authority => context! { name => &a.name, slug => a.slug.as_str() }, rows, ..base(&state, Some(&staff), uri.path()) };
    Ok(render_page(&state, "verwaltung/leistungen.html", ctx)?.into_response())
}

/// The form's fields, as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EditForm {
    csrf: String,
    version: i64,
    /// The published revision the form was loaded at.
    revision: i64,
    aktion: String,
    slug: String,
    name: String,
    leika: String,
    trust_level: String,
    org_unit_id: String,
    online_url: String,
    keywords: String,
    summary: String,
    description: String,
    requirements: String,
    documents: String,
    fees: String,
    deadlines: String,
    procedure: String,
    legal_basis: String,
    processing_time: String,
}

impl EditForm {
    fn content(&self) -> LeistungContent {
        LeistungContent {
            name: self.name.trim().to_owned(),
            leika: self.leika.trim().to_owned(),
            trust_level: self.trust_level.clone(),
            org_unit_id: self.org_unit_id.parse().ok(),
            online_url: self.online_url.trim().to_owned(),
            keywords: self.keywords.split(',').map(str::trim).filter(|k| !k.is_empty()).map(str::to_owned).collect(),
            summary: self.summary.clone(),
            description: self.description.clone(),
            requirements: self.requirements.clone(),
            documents: self.documents.clone(),
            fees: self.fees.clone(),
            deadlines: self.deadlines.clone(),
            procedure: self.procedure.clone(),
            legal_basis: self.legal_basis.clone(),
            processing_time: self.processing_time.clone(),
        }
    }
}

struct FormView<'a> {
    authority: &'a Authority,
    leistung: Option<&'a Leistung>,
    content: LeistungContent,
    slug: String,
    version: i64,
    /// The published revision the editor started from.
    revision: i64,
    errors: Vec<FieldError>,
    notice: Option<String>,
    conflict: Option<String>,
    has_draft: bool,
    /// The Verbund-library section of the editor (undefined for new services).
    library: Value,
}

fn render_form(
    state: &AppState,
    staff: &StaffContext,
    v: FormView<'_>,
    status: StatusCode,
    path: &str,
) -> Result<Response, AppError> {
    let catalogue = state.catalogue();
    let org_units: Vec<Value> = catalogue
        .org_units_of(v.authority.id)
        .iter()
        .map(|o| context! { id => o.id, name => &o.name, selected => v.content.org_unit_id == Some(o.id) })
        .collect();
    let trust_levels: Vec<Value> = [TrustLevel::Normal, TrustLevel::Substanziell, TrustLevel::Hoch]
        .iter()
        .map(|t| context! { value => t.as_str(), label => t.label(), selected => v.content.trust_level == t.as_str() })
        .collect();
    let modules: Vec<Value> = v
        .content
        .modules()
        .iter()
        .map(|(m, text)| {
            let key = if *m == TextModule::Procedure { "procedure" } else { m.key() };
            let error = v.errors.iter().find(|e| e.field == m.key()).map(|e| e.message.clone());
            context! { key, heading => m.heading(), text => *text, error }
        })
        .collect();
    let field_error = |f: &str| v.errors.iter().find(|e| e.field == f).map(|e| e.message.clone());
    let title = v.leistung.map_or_else(|| "Neue Leistung".to_owned(), |l| format!("{} bearbeiten", l.name));
    let ctx = context! {
        title, authority => context! { name => &v.authority.name, slug => v.authority.slug.as_str() },
        leistung => v.leistung.map(|l| context! { id => l.id, slug => l.slug.as_str(), published => l.published, revision => l.revision }),
        c => &v.content, keywords => v.content.keywords.join(", "), slug => v.slug, version => v.version, form_revision => v.revision,
        errors => v.errors.iter().map(|e| context! { field => e.field, message => &e.message }).collect::<Vec<_>>(),
        name_error => field_error("name"), leika_error => field_error("leika"), url_error => field_error("online_url"),
        slug_error => field_error("slug"), summary_error => field_error("summary"), unit_error => field_error("org_unit_id"),
        org_units, trust_levels, modules, notice => v.notice, conflict => v.conflict, has_draft => v.has_draft,
        linked => v.library.get_attr("linked").is_ok_and(|l| l.is_true()), library => v.library,
        ..base(state, Some(staff), path)
    };
    let mut r = (status, render_page(state, "verwaltung/leistung_form.html", ctx)?).into_response();
    r.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(r)
}

#[derive(Debug, Deserialize)]
pub struct Notice {
    hinweis: Option<String>,
}

fn notice_text(code: Option<&str>) -> Option<String> {
    match code? {
        "gespeichert" => Some(
            "Der Entwurf wurde gespeichert. Bürgerinnen und Bürger sehen weiterhin die veröffentlichte Fassung.".into(),
        ),
        "veroeffentlicht" => {
            Some("Die Leistung wurde veröffentlicht. Sie ist jetzt im Portal und in der Suche zu finden.".into())
        }
        "zurueckgezogen" => Some("Die Leistung wurde zurückgezogen und ist im Portal nicht mehr zu sehen.".into()),
        "verworfen" => Some("Der Entwurf wurde verworfen.".into()),
        "uebernommen" => Some(
            "Die Leistung wurde aus der Verbund-Bibliothek übernommen. Ergänzen Sie die zuständige Stelle, prüfen Sie Gebühren und Online-Link und veröffentlichen Sie sie dann.".into(),
        ),
        "schon-uebernommen" => Some("Ihre Behörde verwendet diesen Bibliothekseintrag bereits: hier ist die Leistung.".into()),
        "angeboten" => Some("Die Leistung ist jetzt in der Verbund-Bibliothek. Jede Veröffentlichung aktualisiert den Eintrag.".into()),
        "bibliothek-zurueckgezogen" => Some(
            "Die Leistung wurde aus der Verbund-Bibliothek zurückgezogen. Behörden, die sie schon verwenden, behalten ihren Stand.".into(),
        ),
        "aenderungen-uebernommen" => {
            Some("Die Änderungen aus der Verbund-Bibliothek wurden übernommen; Ihre eigenen Angaben sind erhalten.".into())
        }
        "geloest" => Some("Die Verknüpfung ist gelöst. Sie pflegen den ganzen Text jetzt selbst.".into()),
        "bibliothek-unveraendert" => Some("Es gab nichts zu ändern.".into()),
        "wiederhergestellt" => Some(
            "Die ältere Fassung wurde als Entwurf übernommen. Prüfen Sie sie und veröffentlichen Sie sie dann.".into(),
        ),
        "wiederherstellen-konflikt" => Some("Jemand anderes hat den Entwurf gerade gespeichert; die ältere Fassung wurde nicht übernommen. Bitte prüfen Sie den Entwurf und versuchen Sie es erneut.".into()),
        _ => None,
    }
}

pub async fn new_form(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let a = staff.content_authority(&state, &slug)?;
    let content = LeistungContent { trust_level: "normal".into(), ..LeistungContent::default() };
    let v = FormView {
        authority: &a,
        leistung: None,
        content,
        slug: String::new(),
        version: 0,
        revision: 0,
        errors: vec![],
        notice: None,
        conflict: None,
        has_draft: false,
        library: Value::UNDEFINED,
    };
    render_form(&state, &staff, v, StatusCode::OK, uri.path())
}

pub async fn create(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path(slug): Path<String>,
    Csrf(Form(f)): Csrf<Form<EditForm>>,
) -> Result<Response, AppError> {
    let a = staff.content_authority(&state, &slug)?;
    let content = f.content();
    let mut errors = content.validate();
    check_unit(&state, &staff, &a, &content, &mut errors).await?;
    let wanted =
        if f.slug.trim().is_empty() { Slug::from_title(&content.name).to_string() } else { f.slug.trim().to_owned() };
    let parsed = Slug::parse(&wanted);
    if let Err(e) = &parsed {
        errors.insert(0, FieldError { field: "slug", message: e.0.clone() });
    } else if state.store.leistung(a.id, &wanted).await?.is_some() {
        errors.insert(
            0,
            FieldError {
                field: "slug",
                message: format!(
                    "Der Kurzname „{wanted}“ wird für eine andere Leistung dieser Behörde schon verwendet."
                ),
            },
        );
    }
    match parsed {
        Ok(s) if errors.is_empty() => {
            let mut tx = state.store.begin().await?;
            let id = tx.create_leistung(a.id, &s, &content, Some(staff.user.id)).await?;
            tx.commit().await?;
            Ok(Redirect::to(&format!("/verwaltung/behoerden/{}/leistungen/{id}?hinweis=gespeichert", a.slug))
                .into_response())
        }
        _ => {
            let v = FormView {
                authority: &a,
                leistung: None,
                content,
                slug: wanted,
                version: 0,
                revision: 0,
                errors,
                notice: None,
                conflict: None,
                has_draft: false,
                library: Value::UNDEFINED,
            };
            render_form(&state, &staff, v, StatusCode::UNPROCESSABLE_ENTITY, uri.path())
        }
    }
}

fn unit_error() -> FieldError {
    FieldError {
        field: "org_unit_id",
        message:
            "Sie dürfen nur Leistungen Ihrer eigenen Stelle bearbeiten. Bitte wählen Sie diese als zuständige Stelle."
                .into(),
    }
}

/// The chosen org unit must be one of this authority's (an id of another authority
/// would show its name and contacts on this authority's page) and within the
/// editor's grant.
async fn check_unit(
    state: &AppState,
    staff: &StaffContext,
    a: &Authority,
    content: &LeistungContent,
    errors: &mut Vec<FieldError>,
) -> Result<(), AppError> {
    if let Some(unit) = content.org_unit_id
        && !state.store.org_units(a.id).await?.iter().any(|o| o.id == unit)
    {
        errors.insert(
            0,
            FieldError {
                field: "org_unit_id",
                message: "Diese Stelle gehört nicht zu Ihrer Behörde. Bitte wählen Sie eine Stelle aus der Liste."
                    .into(),
            },
        );
    } else if !staff.perms.can_edit_in_unit(a.id, content.org_unit_id) {
        errors.insert(0, unit_error());
    }
    Ok(())
}

async fn load(
    state: &AppState,
    a: &Authority,
    id: i64,
) -> Result<(Leistung, Option<amtsweg_store::editing::DraftRow>), AppError> {
    let l = state.store.leistung_by_id(a.id, id).await?.ok_or(AppError::NotFound)?;
    let draft = state.store.draft(a.id, id).await?;
    Ok((l, draft))
}

pub async fn edit_form(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path((slug, id)): Path<(String, i64)>,
    Query(n): Query<Notice>,
) -> Result<Response, AppError> {
    let a = staff.content_authority(&state, &slug)?;
    let (l, draft) = load(&state, &a, id).await?;
    staff.require_unit(&l)?;
    let library = super::bibliothek::editor_section(&state, &a, id, l.published).await?;
    let (content, version) = match &draft {
        Some(d) => (d.content()?, d.version),
        None => (LeistungContent::of(&l), 0),
    };
    let v = FormView {
        authority: &a,
        leistung: Some(&l),
        content,
        slug: l.slug.to_string(),
        version,
        revision: l.revision,
        errors: vec![],
        notice: notice_text(n.hinweis.as_deref()),
        conflict: None,
        has_draft: draft.is_some(),
        library,
    };
    render_form(&state, &staff, v, StatusCode::OK, uri.path())
}

pub async fn edit_submit(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path((slug, id)): Path<(String, i64)>,
    Csrf(Form(f)): Csrf<Form<EditForm>>,
) -> Result<Response, AppError> {
    let a = staff.content_authority(&state, &slug)?;
    let (l, draft) = load(&state, &a, id).await?;
    staff.require_unit(&l)?;
    let library = super::bibliothek::editor_section(&state, &a, id, l.published).await?;
    let here = format!("/verwaltung/behoerden/{}/leistungen/{id}", a.slug);
    let by = Some(staff.user.id);
    if f.aktion == "verwerfen" {
        let mut tx = state.store.begin().await?;
        tx.discard_draft(a.id, id, by).await?;
        tx.commit().await?;
        return Ok(Redirect::to(&format!("{here}?hinweis=verworfen")).into_response());
    }
    let content = f.content();
    let mut errors = content.validate();
    check_unit(&state, &staff, &a, &content, &mut errors).await?;
    let view = |content, errors, conflict| FormView {
        authority: &a,
        leistung: Some(&l),
        content,
        slug: l.slug.to_string(),
        version: f.version,
        revision: f.revision,
        errors,
        notice: None,
        conflict,
        has_draft: draft.is_some(),
        library: library.clone(),
    };
    if !errors.is_empty() {
        return render_form(&state, &staff, view(content, errors, None), StatusCode::UNPROCESSABLE_ENTITY, uri.path());
    }
    let mut tx = state.store.begin().await?;
    let published_moved = f.version == 0 && tx.leistung_revision(a.id, id).await? != Some(f.revision);
    let saved = if published_moved {
        Saved::Conflict { current_version: 0 }
    } else {
        tx.save_draft(a.id, id, f.version, &content, by).await?
    };
    let outcome = match (saved, f.aktion.as_str()) {
        (Saved::Ok(v), "veroeffentlichen") => tx.publish_draft(a.id, id, v, by).await?,
        (other, _) => other,
    };
    if let Saved::Conflict { .. } = outcome {
        drop(tx);
        let msg = "Während Sie bearbeitet haben, hat jemand anderes diese Leistung gespeichert. Ihre Eingaben sind unten erhalten, aber noch nicht gespeichert. \
                   Öffnen Sie die Leistung in einem neuen Fenster, um den neuen Stand zu sehen, übertragen Sie Ihre Änderungen und speichern Sie erneut."
            .to_owned();
        return render_form(&state, &staff, view(content, vec![], Some(msg)), StatusCode::CONFLICT, uri.path());
    }
    tx.commit().await?;
    let next = match f.aktion.as_str() {
        "veroeffentlichen" => {
            // Make the change visible at once on this node (others follow by polling).
            crate::sync::refresh(&state).await?;
            format!("{here}?hinweis=veroeffentlicht")
        }
        "vorschau" => format!("{here}/vorschau"),
        _ => format!("{here}?hinweis=gespeichert"),
    };
    Ok(Redirect::to(&next).into_response())
}

pub async fn withdraw(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id)): Path<(String, i64)>,
    Csrf(Form(_)): Csrf<Form<NoFields>>,
) -> Result<Response, AppError> {
    let a = staff.content_authority(&state, &slug)?;
    staff.require_unit(&load(&state, &a, id).await?.0)?;
    let mut tx = state.store.begin().await?;
    tx.set_published_audited(a.id, id, false, Some(staff.user.id)).await?;
    tx.commit().await?;
    crate::sync::refresh(&state).await?;
    Ok(Redirect::to(&format!("/verwaltung/behoerden/{}/leistungen/{id}?hinweis=zurueckgezogen", a.slug))
        .into_response())
}

pub async fn preview(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path((slug, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let a = staff.content_authority(&state, &slug)?;
    let (l, draft) = load(&state, &a, id).await?;
    // An editor limited to one org unit sees other units' drafts no more than edits them.
    staff.require_unit(&l)?;
    let content = match &draft {
        Some(d) => d.content()?,
        None => LeistungContent::of(&l),
    };
    let modules: Vec<Value> = content
        .modules()
        .iter()
        .filter(|(_, t)| !t.trim().is_empty())
        .map(|(m, t)| context! { key => m.key(), heading => m.heading(), html => Value::from_safe_string(amtsweg_portal::markdown::render(t)) })
        .collect();
    let ctx = context! {
        name => &content.name, summary => &content.summary, modules,
        trust_label => TrustLevel::parse(&content.trust_level).map(TrustLevel::label).unwrap_or("–"),
        edit_url => format!("/verwaltung/behoerden/{}/leistungen/{id}", a.slug), authority_name => &a.name,
        ..base(&state, Some(&staff), uri.path())
    };
    Ok(render_page(&state, "verwaltung/vorschau.html", ctx)?.into_response())
}
pub(super) use crate::render::diff_lines;

/// The names people see for the staff accounts `ids` that changed content of the
/// authority: the display name of an account with a role in this authority (or in
/// the whole Verbund); an account of another authority is not named.
pub(crate) async fn editor_names(
    state: &AppState,
    authority_id: i64,
    ids: Vec<i64>,
) -> Result<std::collections::HashMap<i64, String>, AppError> {
    let mut out = std::collections::HashMap::new();
    for id in ids {
        if out.contains_key(&id) {
            continue;
        }
        let name = match state.store.staff_by_id(id).await? {
            Some(u) => {
                let grants = state.store.grants_of(u.id).await?;
                if grants.iter().any(|g| g.authority_id.is_none_or(|a| a == authority_id)) {
                    u.display_name
                } else {
                    "ein Konto einer anderen Behörde".to_owned()
                }
            }
            None => "ein gelöschtes Konto".to_owned(),
        };
        out.insert(id, name);
    }
    Ok(out)
}

/// A short value as the history shows it.
fn shown(s: &str) -> String {
    if s.trim().is_empty() { "(leer)".to_owned() } else { format!("„{}“", s.trim()) }
}

/// What changed from `before` to `now`, field by field: short fields with their old
/// and new value, long texts as a line diff.
fn content_changes(
    before: &LeistungContent,
    now: &LeistungContent,
    units: &[(i64, String)],
) -> (Vec<Value>, Vec<Value>) {
    let unit = |id: Option<i64>| {
        id.and_then(|id| units.iter().find(|(u, _)| *u == id)).map_or_else(String::new, |(_, n)| n.clone())
    };
    let trust = |t: &str| TrustLevel::parse(t).map(TrustLevel::label).unwrap_or(t).to_owned();
    let short = [
        ("Name", before.name.clone(), now.name.clone()),
        ("LeiKa-Schlüssel", before.leika.clone(), now.leika.clone()),
        ("Vertrauensniveau", trust(&before.trust_level), trust(&now.trust_level)),
        ("Zuständige Stelle", unit(before.org_unit_id), unit(now.org_unit_id)),
        ("Online-Antrag (Adresse)", before.online_url.clone(), now.online_url.clone()),
        ("Suchbegriffe", before.keywords.join(", "), now.keywords.join(", ")),
    ];
    let fields = short
        .into_iter()
        .filter(|(_, old, new)| old.trim() != new.trim())
        .map(|(heading, old, new)| context! { heading, before => shown(&old), after => shown(&new) })
        .collect();
    let mut texts = Vec::new();
    for ((m, new_text), (_, old_text)) in now.modules().iter().zip(before.modules().iter()) {
        if new_text.trim_end() != old_text.trim_end() {
            // Both end with a line break, so an added last line does not mark the one before as changed.
            let (old, new) = (format!("{}\n", old_text.trim_end()), format!("{}\n", new_text.trim_end()));
            let old = if old_text.trim().is_empty() { String::new() } else { old };
            let new = if new_text.trim().is_empty() { String::new() } else { new };
            texts.push(context! { heading => m.heading(), lines => diff_lines(&old, &new) });
        }
    }
    (fields, texts)
}

pub async fn history(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path((slug, id)): Path<(String, i64)>,
) -> Result<Response, AppError> {
    let a = staff.content_authority(&state, &slug)?;
    let (l, _) = load(&state, &a, id).await?;
    staff.require_unit(&l)?;
    let revisions = state.store.revisions(a.id, id).await?;
    let names = editor_names(&state, a.id, revisions.iter().filter_map(|r| r.published_by).collect()).await?;
    let units: Vec<(i64, String)> = state.store.org_units(a.id).await?.into_iter().map(|o| (o.id, o.name)).collect();
    let mut items = Vec::new();
    for (i, r) in revisions.iter().enumerate() {
        let now = r.content()?;
        // Revisions are newest first: the one after this is the one it replaced.
        let (fields, texts, known) = match revisions.get(i + 1) {
            Some(prev) => {
                let (f, t) = content_changes(&prev.content()?, &now, &units);
                (f, t, true)
            }
            None => (Vec::new(), Vec::new(), false),
        };
        items.push(context! {
            revision => r.revision, when => amtsweg_portal::time::when(r.published_at),
            by => r.published_by.and_then(|b| names.get(&b).cloned()), fields, texts, known,
            first => r.revision == 1,
        });
    }
    let ctx = context! {
        name => &l.name, items, authority => context! { slug => a.slug.as_str(), name => &a.name },
        back => format!("/verwaltung/behoerden/{}/leistungen/{id}", a.slug),
        list => format!("/verwaltung/behoerden/{}/leistungen/", a.slug), list_label => format!("Leistungen von {}", a.name),
        restore_base => format!("/verwaltung/behoerden/{}/leistungen/{id}/versionen", a.slug),
        ..base(&state, Some(&staff), uri.path())
    };
    Ok(render_page(&state, "verwaltung/versionen.html", ctx)?.into_response())
}

pub async fn restore(
    State(state): State<AppState>,
    staff: StaffContext,
    Path((slug, id, revision)): Path<(String, i64, i64)>,
    Csrf(Form(_)): Csrf<Form<NoFields>>,
) -> Result<Response, AppError> {
    let a = staff.content_authority(&state, &slug)?;
    let (l, draft) = load(&state, &a, id).await?;
    staff.require_unit(&l)?;
    let rev = state
        .store
        .revisions(a.id, id)
        .await?
        .into_iter()
        .find(|r| r.revision == revision)
        .ok_or(AppError::NotFound)?;
    let expected = draft.map_or(0, |d| d.version);
    let mut tx = state.store.begin().await?;
    // A save in between wins; the editor is told instead of being told it worked.
    let notice = match tx.save_draft(a.id, id, expected, &rev.content()?, Some(staff.user.id)).await? {
        Saved::Ok(_) => "wiederhergestellt",
        Saved::Conflict { .. } => "wiederherstellen-konflikt",
    };
    tx.commit().await?;
    Ok(Redirect::to(&format!("/verwaltung/behoerden/{}/leistungen/{id}?hinweis={notice}", a.slug)).into_response())
}
