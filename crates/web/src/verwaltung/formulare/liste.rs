//! The list of an authority's forms and the creation of a new, empty form
//! (Antragsformular) for one of the services (Leistungen) this person may edit. The
//! imports in `import` create forms the same way and show their problems on this
//! page, so the list, the service choice and the short name (Kurzname) live here.

use super::{Msg, authority_ctx, msg, page};
use crate::AppState;
use crate::csrf::Csrf;
use crate::error::AppError;
use crate::verwaltung::{StaffContext, base};
use amtsweg_domain::{Authority, Leistung, Slug};
use amtsweg_forms::{Form, Step};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};

/// The services a form of this person may belong to.
pub(super) async fn services_for(
    state: &AppState,
    staff: &StaffContext,
    a: &Authority,
) -> Result<Vec<Leistung>, AppError> {
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
    pub(super) csrf: String,
    pub(super) title: String,
    pub(super) kurzname: String,
    pub(super) leistung: String,
    pub(super) json: String,
}

#[derive(Default)]
pub(super) struct ListView {
    pub(super) errors: Vec<Msg>,
    /// Which of the three forms was sent ("neu", "json", "xdf"), and what was typed.
    pub(super) source: &'static str,
    pub(super) typed: ListForm,
    pub(super) report: Option<Value>,
}

pub(super) async fn render_list(
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
pub(super) fn chosen_service(
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
pub(super) async fn short_name(
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

pub(super) async fn create(
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
    Path(slug): Path<String>,
    Csrf(axum::Form(f)): Csrf<axum::Form<ListForm>>,
) -> Result<Response, AppError> {
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
        appointment: None,
        payment: None,
    };
    let id = create(&state, &staff, &a, &slug, service, &form).await?;
    Ok(Redirect::to(&format!("/verwaltung/behoerden/{}/formulare/{id}?hinweis=angelegt", a.slug)).into_response())
}
