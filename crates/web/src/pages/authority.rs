//! Pages of one authority under `/o/<slug>/`.

use super::verbund::{AzEntry, az_groups};
use crate::AppState;
use crate::error::AppError;
use crate::render::{Crumb, base_context, open_state_view, render_page, request_path};
use amtsweg_domain::Authority;
use amtsweg_portal::catalogue::Catalogue;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};
use std::sync::Arc;

fn tenant(c: &Catalogue, slug: &str) -> Result<Authority, AppError> {
    c.authority_by_slug(slug).cloned().ok_or(AppError::NotFound)
}

fn home_crumb(a: &Authority) -> Crumb {
    Crumb::link(a.name.clone(), format!("/o/{}/", a.slug))
}

fn hours_view(
    c: &Catalogue,
    a: &Authority,
    location_id: Option<i64>,
) -> (Option<Value>, Vec<(String, String)>, Option<Value>) {
    let Some(loc) = location_id.and_then(|id| c.location(a.id, id)) else {
        return (None, Vec::new(), None);
    };
    let hours = loc.hours();
    let week = hours.describe_week().into_iter().map(|(d, t)| (d.to_owned(), t)).collect();
    (Some(Value::from_serialize(loc)), week, open_state_view(&hours))
}

pub async fn start(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let c = state.catalogue();
    let a = tenant(&c, &slug)?;
    let leistungen: Vec<_> =
        c.leistungen_of(a.id).map(|l| context! { slug => l.slug.as_str(), name => &l.name }).collect();
    let (main_location, hours, open_state) = hours_view(&c, &a, a.main_location_id);
    let parent =
        a.parent_id.and_then(|p| c.authority(p)).map(|p| context! { slug => p.slug.as_str(), name => &p.name });
    let children: Vec<_> = c.children(a.id).map(|x| context! { slug => x.slug.as_str(), name => &x.name }).collect();
    let base = base_context(&state, &c, Some(&a), &headers, &request_path(&uri), Vec::new());
    let ctx = context! {
        leistungen, org_units => c.org_units_of(a.id), main_location, hours, open_state, parent, children, ..base
    };
    Ok(render_page(&state, "authority_start.html", ctx)?.into_response())
}

pub async fn leistungen_az(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let c = state.catalogue();
    let a = tenant(&c, &slug)?;
    let entries: Vec<AzEntry> = c
        .leistungen_of(a.id)
        .map(|l| AzEntry {
            name: l.name.clone(),
            url: format!("/o/{}/leistungen/{}", a.slug, l.slug),
            note: String::new(),
        })
        .collect();
    let total = entries.len();
    let (letters, groups) = az_groups(entries);
    let crumbs = vec![home_crumb(&a), Crumb::here("Leistungen A–Z")];
    let base = base_context(&state, &c, Some(&a), &headers, &request_path(&uri), crumbs);
    let ctx = context! { heading => format!("Leistungen von A bis Z – {}", a.name), total, letters, groups, ..base };
    Ok(render_page(&state, "leistungen_az.html", ctx)?.into_response())
}

/// Who is responsible for this service at the citizen's place, relative to this page.
fn responsibility(c: &Arc<Catalogue>, a: &Authority, l: &amtsweg_domain::Leistung, headers: &HeaderMap) -> Value {
    let Some(place) = crate::place::current(headers, c) else {
        return context! { kind => "unknown" };
    };
    match c.responsible(&l.leika, place) {
        Some(r) if r.id == a.id => context! { kind => "this" },
        Some(r) => {
            let url = c.leistung_by_leika(r.id, &l.leika).map(|x| format!("/o/{}/leistungen/{}", r.slug, x.slug));
            context! { kind => "other", authority => context! { name => &r.name, slug => r.slug.as_str() }, url }
        }
        None => context! { kind => "none" },
    }
}

pub async fn leistung(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((slug, leistung)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let c = state.catalogue();
    let a = tenant(&c, &slug)?;
    let l = c.leistung(a.id, &leistung).ok_or(AppError::NotFound)?;
    let modules: Vec<Value> = c
        .modules_html(l.id)
        .iter()
        .map(|(m, html)| {
            context! { key => m.key(), heading => m.heading(), html => Value::from_safe_string(html.clone()) }
        })
        .collect();
    let org_unit = l.org_unit_id.and_then(|id| c.org_unit(a.id, id));
    let (location, hours, open_state) = hours_view(&c, &a, org_unit.and_then(|o| o.location_id).or(a.main_location_id));
    let crumbs = vec![
        home_crumb(&a),
        Crumb::link("Leistungen A–Z", format!("/o/{}/leistungen/", a.slug)),
        Crumb::here(l.name.clone()),
    ];
    let base = base_context(&state, &c, Some(&a), &headers, &request_path(&uri), crumbs);
    let ctx = context! {
        leistung => l,
        modules,
        org_unit,
        contacts => c.contacts_of_leistung(l),
        location, hours, open_state,
        responsibility => responsibility(&c, &a, l, &headers),
        appointment => crate::termine::links::for_service_page(&state, &a, &l.leika, &headers).await?,
        // The trust level a citizen needs is the form's: the form enforces it.
        forms => c.forms_of_leistung(l.id).map(|f| {
            let level = amtsweg_domain::TrustLevel::parse(&f.form.trust_level).unwrap_or(amtsweg_domain::TrustLevel::Normal);
            context! {
                title => &f.form.title, url => format!("/o/{}/antrag/{}/", a.slug, f.slug),
                trust_label => level.label(),
                trust_how => amtsweg_domain::konto::how_to_reach(level),
                anonymous => level == amtsweg_domain::TrustLevel::Normal,
            }
        }).collect::<Vec<_>>(),
        ..base
    };
    Ok(render_page(&state, "leistung.html", ctx)?.into_response())
}

pub async fn org_units(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let c = state.catalogue();
    let a = tenant(&c, &slug)?;
    let crumbs = vec![home_crumb(&a), Crumb::here("Ämter und Einrichtungen")];
    let base = base_context(&state, &c, Some(&a), &headers, &request_path(&uri), crumbs);
    let ctx = context! { org_units => c.org_units_of(a.id), ..base };
    Ok(render_page(&state, "org_units.html", ctx)?.into_response())
}

pub async fn org_unit(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((slug, unit)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let c = state.catalogue();
    let a = tenant(&c, &slug)?;
    let o = c.org_units_of(a.id).iter().find(|o| o.slug == unit).ok_or(AppError::NotFound)?;
    let leistungen: Vec<_> = c
        .leistungen_of(a.id)
        .filter(|l| l.org_unit_id == Some(o.id))
        .map(|l| context! { slug => l.slug.as_str(), name => &l.name })
        .collect();
    let contacts: Vec<_> = c.contacts_of(a.id).iter().filter(|x| x.org_unit_id == Some(o.id)).collect();
    let (location, hours, open_state) = hours_view(&c, &a, o.location_id);
    let crumbs = vec![
        home_crumb(&a),
        Crumb::link("Ämter und Einrichtungen", format!("/o/{}/organisation/", a.slug)),
        Crumb::here(o.name.clone()),
    ];
    let base = base_context(&state, &c, Some(&a), &headers, &request_path(&uri), crumbs);
    let ctx = context! { org_unit => o, leistungen, contacts, location, hours, open_state, ..base };
    Ok(render_page(&state, "org_unit.html", ctx)?.into_response())
}

pub async fn contacts(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let c = state.catalogue();
    let a = tenant(&c, &slug)?;
    let crumbs = vec![home_crumb(&a), Crumb::here("Ansprechpartner")];
    let base = base_context(&state, &c, Some(&a), &headers, &request_path(&uri), crumbs);
    let ctx = context! { contacts => c.contacts_of(a.id), ..base };
    Ok(render_page(&state, "contacts.html", ctx)?.into_response())
}

pub async fn contact(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((slug, contact)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let c = state.catalogue();
    let a = tenant(&c, &slug)?;
    let ct = c.contacts_of(a.id).iter().find(|x| x.slug == contact).ok_or(AppError::NotFound)?;
    let org_unit = ct.org_unit_id.and_then(|id| c.org_unit(a.id, id));
    let leistungen: Vec<_> = c
        .leistungen_of(a.id)
        .filter(|l| c.contacts_of_leistung(l).iter().any(|x| x.id == ct.id))
        .map(|l| context! { slug => l.slug.as_str(), name => &l.name })
        .collect();
    let crumbs = vec![
        home_crumb(&a),
        Crumb::link("Ansprechpartner", format!("/o/{}/kontakte/", a.slug)),
        Crumb::here(ct.name.clone()),
    ];
    let base = base_context(&state, &c, Some(&a), &headers, &request_path(&uri), crumbs);
    let ctx = context! { contact => ct, org_unit, leistungen, ..base };
    Ok(render_page(&state, "contact.html", ctx)?.into_response())
}

/// `/o/<slug>/seiten/<kind>`: Leichte Sprache, Gebärdensprache, Barrierefreiheit,
/// Impressum, Datenschutz — the authority's own text or the filled-in template.
pub async fn plain_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path((slug, kind)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let c = state.catalogue();
    let a = tenant(&c, &slug)?;
    let kind = amtsweg_domain::pages::PageKind::parse(&kind).ok_or(AppError::NotFound)?;
    let (title, body, video_url, _) = c.page(&a, kind);
    let crumbs = vec![home_crumb(&a), Crumb::here(title.clone())];
    let base = base_context(&state, &c, Some(&a), &headers, &request_path(&uri), crumbs);
    let video = (video_url.starts_with("https://")).then_some(video_url);
    let ctx =
        context! { title, body => Value::from_safe_string(amtsweg_portal::markdown::render(&body)), video, ..base };
    Ok(render_page(&state, "page.html", ctx)?.into_response())
}
