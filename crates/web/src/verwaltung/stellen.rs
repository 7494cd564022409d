//! Editing an authority's org units (Ämter) and contact persons.

use super::{StaffContext, base, require_staff};
use crate::AppState;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::audit::AuditEntry;
use amtsweg_domain::{Authority, Slug};
use amtsweg_store::{NewContact, NewOrgUnit};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};

pub async fn list(
    State(state): State<AppState>,
    staff: StaffContext,
    uri: Uri,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let a = staff.content_authority(&state, &slug)?;
    let units: Vec<Value> =
        state.store.org_units(a.id).await?.iter().map(|o| context! { id => o.id, name => &o.name }).collect();
    let contacts: Vec<Value> = state
        .store
        .contacts(a.id)
        .await?
        .iter()
        .map(|c| context! { id => c.id, name => &c.name, role => &c.role })
        .collect();
    let ctx = context! { authority => context! { name => &a.name, slug => a.slug.as_str() }, units, contacts, ..base(&state, Some(&staff), uri.path()) };
    Ok(render_page(&state, "verwaltung/stellen.html", ctx)?.into_response())
}

#[derive(Debug, Deserialize)]
pub struct Notice {
    gespeichert: Option<String>,
}

/// One form for both kinds; unused fields stay empty.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct EntryForm {
    #[serde(skip_serializing)]
    csrf: String,
    version: i64,
    name: String,
    description: String,
    role: String,
    room: String,
    phone: String,
    email: String,
    /// Location (org unit) or org unit (contact) id; empty = none.
    link: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    OrgUnit,
    Contact,
}

impl Kind {
    fn path(self) -> &'static str {
        match self {
            Self::OrgUnit => "stellen",
            Self::Contact => "kontakte",
        }
    }
}

struct View<'a> {
    kind: Kind,
    authority: &'a Authority,
    id: Option<i64>,
    form: &'a EntryForm,
    error: Option<String>,
    conflict: bool,
    saved: bool,
}

fn render(state: &AppState, staff: &StaffContext, v: &View<'_>) -> Result<Response, AppError> {
    let c = state.catalogue();
    let options: Vec<Value> = match v.kind {
        Kind::OrgUnit => c
            .locations_of(v.authority.id)
            .iter()
            .map(|l| context! { id => l.id.to_string(), name => &l.name })
            .collect(),
        Kind::Contact => c
            .org_units_of(v.authority.id)
            .iter()
            .map(|o| context! { id => o.id.to_string(), name => &o.name })
            .collect(),
    };
    let status = if v.conflict {
        StatusCode::CONFLICT
    } else if v.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let ctx = context! {
        authority => context! { name => &v.authority.name, slug => v.authority.slug.as_str() },
        contact => v.kind == Kind::Contact, path => v.kind.path(), id => v.id, f => v.form, options,
        error => &v.error, conflict => v.conflict, saved => v.saved, ..base(state, Some(staff), "/verwaltung/stelle")
    };
    Ok((status, render_page(state, "verwaltung/stelle.html", ctx)?).into_response())
}

async fn show(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    slug: &str,
    kind: Kind,
    id: Option<i64>,
    saved: bool,
) -> Result<Response, AppError> {
    let staff = match require_staff(state, headers, uri).await {
        Ok(s) => s,
        Err(r) => return Ok(r),
    };
    let a = staff.content_authority(state, slug)?;
    let form = match (kind, id) {
        (Kind::OrgUnit, None) => {
            staff.authority_wide(state, slug)?;
            EntryForm::default()
        }
        (Kind::Contact, None) => EntryForm::default(),
        (Kind::OrgUnit, Some(id)) => {
            staff.require_unit_of(a.id, Some(id))?;
            let o = state.store.org_units(a.id).await?.into_iter().find(|o| o.id == id).ok_or(AppError::NotFound)?;
            EntryForm {
                version: o.updated_at,
                name: o.name,
                description: o.description,
                phone: o.phone,
                email: o.email,
                link: o.location_id.map(|l| l.to_string()).unwrap_or_default(),
                ..EntryForm::default()
            }
        }
        (Kind::Contact, Some(id)) => {
            let ct = state.store.contacts(a.id).await?.into_iter().find(|x| x.id == id).ok_or(AppError::NotFound)?;
            staff.require_unit_of(a.id, ct.org_unit_id)?;
            EntryForm {
                version: ct.updated_at,
                name: ct.name,
                role: ct.role,
                room: ct.room,
                phone: ct.phone,
                email: ct.email,
                link: ct.org_unit_id.map(|l| l.to_string()).unwrap_or_default(),
                ..EntryForm::default()
            }
        }
    };
    render(state, &staff, &View { kind, authority: &a, id, form: &form, error: None, conflict: false, saved })
}

async fn save(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    slug: &str,
    kind: Kind,
    id: Option<i64>,
    f: EntryForm,
) -> Result<Response, AppError> {
    let staff = match require_staff(state, headers, uri).await {
        Ok(s) => s,
        Err(r) => return Ok(r),
    };
    staff.check_form(headers, &f.csrf)?;
    let a = staff.content_authority(state, slug)?;
    // Org-unit scoped editors: only their own unit and its contacts; new units
    // need a grant for the whole authority.
    match (kind, id) {
        (Kind::OrgUnit, None) => {
            staff.authority_wide(state, slug)?;
        }
        (Kind::OrgUnit, Some(id)) => {
            state.store.org_unit_by_id(a.id, id).await?.ok_or(AppError::NotFound)?;
            staff.require_unit_of(a.id, Some(id))?;
        }
        (Kind::Contact, Some(id)) => {
            let contacts = state.store.contacts(a.id).await?;
            let old = contacts.iter().find(|c| c.id == id).ok_or(AppError::NotFound)?;
            staff.require_unit_of(a.id, old.org_unit_id)?;
        }
        (Kind::Contact, None) => {}
    }
    let c = state.catalogue();
    // The linked location or org unit must belong to the same authority.
    let link: Option<i64> = f.link.trim().parse().ok();
    let link_ok = link.is_none_or(|l| match kind {
        Kind::OrgUnit => c.location(a.id, l).is_some(),
        Kind::Contact => c.org_unit(a.id, l).is_some(),
    });
    drop(c);
    let email = f.email.trim();
    let error = if f.name.trim().is_empty() {
        Some("Bitte geben Sie einen Namen ein.".to_owned())
    } else if !(email.is_empty() || (email.contains('@') && !email.contains(char::is_whitespace))) {
        Some("Die E-Mail-Adresse ist nicht gültig.".to_owned())
    } else if !link_ok {
        Some("Bitte wählen Sie einen Eintrag aus der Liste.".to_owned())
    } else if kind == Kind::Contact && !staff.perms.can_edit_in_unit(a.id, link) {
        Some("Sie dürfen nur Ansprechpartner Ihrer eigenen Stelle anlegen. Bitte wählen Sie diese aus.".to_owned())
    } else {
        None
    };
    if error.is_some() {
        return render(
            state,
            &staff,
            &View { kind, authority: &a, id, form: &f, error, conflict: false, saved: false },
        );
    }
    let slug_for = |name: &str| format!("{}-{}", Slug::from_title(name), amtsweg_store::now_ms() % 100_000);
    let mut tx = state.store.begin().await?;
    let (ok, saved_id) = match (kind, id) {
        (Kind::OrgUnit, _) => {
            let o = NewOrgUnit {
                slug: slug_for(&f.name),
                name: f.name.trim().to_owned(),
                description: f.description.trim().to_owned(),
                location_id: link,
                phone: f.phone.trim().to_owned(),
                email: email.to_owned(),
            };
            match id {
                Some(id) => (tx.update_org_unit(a.id, id, f.version, &o).await?, id),
                None => (true, tx.insert_org_unit(a.id, &o).await?),
            }
        }
        (Kind::Contact, _) => {
            let ct = NewContact {
                slug: slug_for(&f.name),
                name: f.name.trim().to_owned(),
                role: f.role.trim().to_owned(),
                org_unit_id: link,
                phone: f.phone.trim().to_owned(),
                email: email.to_owned(),
                room: f.room.trim().to_owned(),
            };
            match id {
                Some(id) => (tx.update_contact(a.id, id, f.version, &ct).await?, id),
                None => (true, tx.insert_contact(a.id, &ct).await?),
            }
        }
    };
    if !ok {
        drop(tx);
        return render(
            state,
            &staff,
            &View { kind, authority: &a, id, form: &f, error: None, conflict: true, saved: false },
        );
    }
    tx.append_audit(&AuditEntry {
        at: amtsweg_store::now_ms(),
        actor: format!("staff:{}", staff.user.id),
        authority_id: Some(a.id),
        action: format!("{}.save", if kind == Kind::OrgUnit { "org_unit" } else { "contact" }),
        target: format!("{}:{saved_id}", if kind == Kind::OrgUnit { "org_unit" } else { "contact" }),
        outcome: "success".into(),
    })
    .await?;
    tx.commit().await?;
    crate::sync::refresh(state).await?;
    Ok(Redirect::to(&format!("/verwaltung/behoerden/{}/{}/{saved_id}?gespeichert=1", a.slug, kind.path()))
        .into_response())
}

pub async fn unit_new(
    State(s): State<AppState>,
    h: HeaderMap,
    u: Uri,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    show(&s, &h, &u, &slug, Kind::OrgUnit, None, false).await
}
pub async fn unit_create(
    State(s): State<AppState>,
    h: HeaderMap,
    u: Uri,
    Path(slug): Path<String>,
    Form(f): Form<EntryForm>,
) -> Result<Response, AppError> {
    save(&s, &h, &u, &slug, Kind::OrgUnit, None, f).await
}
pub async fn unit_edit(
    State(s): State<AppState>,
    h: HeaderMap,
    u: Uri,
    Path((slug, id)): Path<(String, i64)>,
    Query(n): Query<Notice>,
) -> Result<Response, AppError> {
    show(&s, &h, &u, &slug, Kind::OrgUnit, Some(id), n.gespeichert.is_some()).await
}
pub async fn unit_update(
    State(s): State<AppState>,
    h: HeaderMap,
    u: Uri,
    Path((slug, id)): Path<(String, i64)>,
    Form(f): Form<EntryForm>,
) -> Result<Response, AppError> {
    save(&s, &h, &u, &slug, Kind::OrgUnit, Some(id), f).await
}
pub async fn contact_new(
    State(s): State<AppState>,
    h: HeaderMap,
    u: Uri,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    show(&s, &h, &u, &slug, Kind::Contact, None, false).await
}
pub async fn contact_create(
    State(s): State<AppState>,
    h: HeaderMap,
    u: Uri,
    Path(slug): Path<String>,
    Form(f): Form<EntryForm>,
) -> Result<Response, AppError> {
    save(&s, &h, &u, &slug, Kind::Contact, None, f).await
}
pub async fn contact_edit(
    State(s): State<AppState>,
    h: HeaderMap,
    u: Uri,
    Path((slug, id)): Path<(String, i64)>,
    Query(n): Query<Notice>,
) -> Result<Response, AppError> {
    show(&s, &h, &u, &slug, Kind::Contact, Some(id), n.gespeichert.is_some()).await
}
pub async fn contact_update(
    State(s): State<AppState>,
    h: HeaderMap,
    u: Uri,
    Path((slug, id)): Path<(String, i64)>,
    Form(f): Form<EntryForm>,
) -> Result<Response, AppError> {
    save(&s, &h, &u, &slug, Kind::Contact, Some(id), f).await
}
