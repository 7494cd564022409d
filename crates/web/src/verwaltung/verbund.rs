//! Tenant administration: the Verbund administrator adds member authorities (their
//! look is in `darstellung`).

use super::{StaffContext, base};
use crate::AppState;
use crate::csrf::Csrf;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::authority::{parse_host, within};
use amtsweg_domain::leistung::FieldError;
use amtsweg_domain::{Ags, Ars, AuthorityKind, Slug};
use amtsweg_store::NewAuthority;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
pub struct Notice {
    hinweis: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    staff: StaffContext,
    Query(n): Query<Notice>,
) -> Result<Response, AppError> {
    staff.require_verbund_admin()?;
    let c = state.catalogue();
    let rows: Vec<Value> = c
        .authorities
        .iter()
        .map(|a| {
            let parent = a.parent_id.and_then(|p| c.authority(p)).map(|p| p.name.clone());
            context! { name => &a.name, slug => a.slug.as_str(), kind => a.kind.label(), ars => a.ars.as_str(), parent, hosts => a.hosts.join(", ") }
        })
        .collect();
    let notice = (n.hinweis.as_deref() == Some("angelegt"))
        .then_some("Die Behörde wurde angelegt. Ihr Portal ist sofort erreichbar.");
    let ctx = context! { rows, notice, ..base(&state, Some(&staff), "/verwaltung/verbund/behoerden/") };
    Ok(render_page(&state, "verwaltung/behoerden.html", ctx)?.into_response())
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct AuthorityForm {
    #[serde(skip_serializing)]
    csrf: String,
    name: String,
    kind: String,
    parent: String,
    ags: String,
    ars: String,
    slug: String,
    hosts: String,
    street: String,
    plz: String,
    city: String,
    phone: String,
    email: String,
    primary_color: String,
}

fn render_new(
    state: &AppState,
    staff: &StaffContext,
    f: &AuthorityForm,
    errors: &[FieldError],
    status: StatusCode,
) -> Result<Response, AppError> {
    let c = state.catalogue();
    let parents: Vec<Value> = c
        .authorities
        .iter()
        .filter(|a| matches!(a.kind, AuthorityKind::Landkreis | AuthorityKind::Samtgemeinde))
        .map(|a| context! { slug => a.slug.as_str(), name => &a.name, selected => f.parent == a.slug.as_str() })
        .collect();
    let kinds: Vec<Value> =
        [AuthorityKind::Stadt, AuthorityKind::Gemeinde, AuthorityKind::Samtgemeinde, AuthorityKind::Landkreis]
            .iter()
            .map(|k| context! { value => k.as_str(), label => k.label(), selected => f.kind == k.as_str() })
            .collect();
    let err = |field: &str| errors.iter().find(|e| e.field == field).map(|e| e.message.clone());
    let field_errors: std::collections::BTreeMap<&str, Option<String>> =
        ["name", "kind", "parent", "ags", "ars", "slug", "hosts", "primary_color"]
            .iter()
            .map(|f| (*f, err(f)))
            .collect();
    let ctx = context! {
        f => f, parents, kinds, errors => errors.iter().map(|e| context! { field => e.field, message => &e.message }).collect::<Vec<_>>(),
        fe => field_errors, ..base(state, Some(staff), "/verwaltung/verbund/behoerden/neu")
    };
    Ok((status, render_page(state, "verwaltung/behoerde_neu.html", ctx)?).into_response())
}

pub async fn new_form(State(state): State<AppState>, staff: StaffContext) -> Result<Response, AppError> {
    staff.require_verbund_admin()?;
    let f = AuthorityForm {
        kind: "gemeinde".into(),
        primary_color: crate::theme::DEFAULT_PRIMARY.into(),
        ..AuthorityForm::default()
    };
    render_new(&state, &staff, &f, &[], StatusCode::OK)
}

/// Checks the colour: `#rrggbb` with contrast ≥ 4.5:1 against white text.
pub(super) fn check_color(color: &str) -> Option<String> {
    match crate::theme::contrast(color, "#ffffff") {
        None => Some("Bitte geben Sie die Farbe als #rrggbb an, zum Beispiel #1d4f91.".into()),
        Some(c) if c < 4.5 => Some(format!(
            "Weiße Schrift auf dieser Farbe hat nur einen Kontrast von {c:.1}:1; nötig sind mindestens 4,5:1. Bitte wählen Sie eine dunklere Farbe."
        )),
        Some(_) => None,
    }
}

pub async fn create(
    State(state): State<AppState>,
    staff: StaffContext,
    Csrf(Form(f)): Csrf<Form<AuthorityForm>>,
) -> Result<Response, AppError> {
    staff.require_verbund_admin()?;
    let c = state.catalogue();
    let mut errors = Vec::new();
    let mut err = |field: &'static str, message: String| errors.push(FieldError { field, message });
    if f.name.trim().is_empty() {
        err("name", "Bitte geben Sie den Namen der Behörde ein.".into());
    }
    let kind = AuthorityKind::parse(&f.kind).map_err(|e| err("kind", e.0)).ok();
    let parent = c.authority_by_slug(f.parent.trim()).cloned();
    if parent.is_none() {
        err("parent", "Bitte wählen Sie die übergeordnete Behörde (Landkreis oder Samtgemeinde).".into());
    }
    let ars = Ars::parse(&f.ars).map_err(|e| err("ars", e.0)).ok();
    let ags = if f.ags.trim().is_empty() {
        if kind.is_some_and(|k| k != AuthorityKind::Samtgemeinde) {
            err("ags", "Bitte geben Sie den Amtlichen Gemeindeschlüssel (8 Ziffern) an.".into());
        }
        None
    } else {
        Ags::parse(&f.ags).map_err(|e| err("ags", e.0)).ok()
    };
    if let (Some(ags), Some(ars)) = (&ags, &ars)
        && !ags.matches(ars)
    {
        err("ags", format!("AGS {} und ARS {} bezeichnen nicht dieselbe Gemeinde.", ags.as_str(), ars.as_str()));
    }
    if let (Some(p), Some(ars)) = (&parent, &ars)
        && !within(p, ars)
    {
        err("ars", format!("Der Regionalschlüssel {} liegt nicht im Gebiet von {}.", ars.as_str(), p.name));
    }
    if let Some(ars) = &ars
        && c.authorities.iter().any(|a| &a.ars == ars)
    {
        err("ars", format!("Es gibt bereits eine Behörde mit dem Regionalschlüssel {}.", ars.as_str()));
    }
    let slug_text =
        if f.slug.trim().is_empty() { Slug::from_title(&f.name).to_string() } else { f.slug.trim().to_owned() };
    let slug = Slug::parse(&slug_text).map_err(|e| err("slug", e.0)).ok();
    if slug.as_ref().is_some_and(|s| c.authority_by_slug(s.as_str()).is_some()) {
        err("slug", format!("Der Kurzname „{slug_text}“ ist schon vergeben."));
    }
    let mut hosts = Vec::new();
    for h in f.hosts.split([',', '\n', ' ']).map(str::trim).filter(|h| !h.is_empty()) {
        match parse_host(h) {
            Ok(h) if c.authority_by_host(&h).is_some() || state.config.verbund_hosts.contains(&h) => {
                err("hosts", format!("Der Hostname {h} wird schon verwendet."));
            }
            Ok(h) => hosts.push(h),
            Err(e) => err("hosts", e.0),
        }
    }
    if let Some(m) = check_color(f.primary_color.trim()) {
        err("primary_color", m);
    }
    drop(c);
    let (Some(kind), Some(parent), Some(ars), Some(slug)) = (kind, parent, ars, slug) else {
        return render_new(&state, &staff, &f, &errors, StatusCode::UNPROCESSABLE_ENTITY);
    };
    if !errors.is_empty() {
        return render_new(&state, &staff, &f, &errors, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let mut tx = state.store.begin().await?;
    for h in &hosts {
        if tx.host_taken(h).await? {
            drop(tx);
            let e = [FieldError { field: "hosts", message: format!("Der Hostname {h} wird schon verwendet.") }];
            return render_new(&state, &staff, &f, &e, StatusCode::UNPROCESSABLE_ENTITY);
        }
    }
    let id = tx
        .insert_authority(&NewAuthority {
            slug,
            name: f.name.trim().to_owned(),
            kind,
            ags,
            ars,
            parent_id: Some(parent.id),
            hosts,
            street: f.street.trim().to_owned(),
            plz: f.plz.trim().to_owned(),
            city: f.city.trim().to_owned(),
            phone: f.phone.trim().to_owned(),
            email: f.email.trim().to_owned(),
            website: String::new(),
            intro: String::new(),
            primary_color: f.primary_color.trim().to_owned(),
        })
        .await?;
    tx.append_audit(&amtsweg_domain::audit::AuditEntry {
        at: amtsweg_store::now_ms(),
        actor: staff.actor(),
        authority_id: Some(id),
        action: "authority.create".into(),
        target: format!("authority:{id}"),
        outcome: "success".into(),
    })
    .await?;
    tx.commit().await?;
    crate::sync::refresh(&state).await?;
    Ok(Redirect::to("/verwaltung/verbund/behoerden/?hinweis=angelegt").into_response())
}
