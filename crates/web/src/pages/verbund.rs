//! Verbund-wide pages: start page, all services A–Z, and the Verbund-level service
//! page that leads to the responsible authority.

use crate::AppState;
use crate::error::AppError;
use crate::render::{Crumb, base_context, render_page, request_path};
use amtsweg_domain::leistung::index_letter;
use amtsweg_domain::{Authority, AuthorityKind, Leistung};
use amtsweg_portal::catalogue::Catalogue;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
struct TreeNode {
    slug: String,
    name: String,
    kind_label: &'static str,
    count: usize,
    children: Vec<TreeNode>,
}

fn tree(c: &Catalogue, parent: Option<i64>) -> Vec<TreeNode> {
    c.authorities
        .iter()
        .filter(|a| a.parent_id == parent)
        .map(|a| TreeNode {
            slug: a.slug.to_string(),
            name: a.name.clone(),
            kind_label: a.kind.label(),
            count: c.leistungen_of(a.id).count(),
            children: tree(c, Some(a.id)),
        })
        .collect()
}

const POPULAR: &[&str] = &[
    "meldebescheinigung",
    "personalausweis",
    "briefwahl",
    "gewerbeanmeldung",
    "kfz-neuzulassung",
    "hundesteuer-anmelden",
    "sperrmuell",
    "kita-anmeldung",
];

pub async fn start(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Result<Response, AppError> {
    let c = state.catalogue();
    let mut popular: Vec<&Leistung> = Vec::new();
    for p in POPULAR {
        if let Some(l) = c.leistungen.iter().find(|l| l.slug.as_str().starts_with(p))
            && !popular.iter().any(|x| x.leika == l.leika)
        {
            popular.push(l);
        }
    }
    let base = base_context(&state, &c, None, &headers, &request_path(&uri), Vec::new());
    let popular: Vec<_> = popular.iter().map(|l| context! { slug => l.slug.as_str(), name => &l.name }).collect();
    let ctx = context! { tree => tree(&c, None), popular, ..base };
    Ok(render_page(&state, "verbund_start.html", ctx)?.into_response())
}

#[derive(Serialize)]
pub struct AzEntry {
    pub name: String,
    pub url: String,
    pub note: String,
}

#[derive(Serialize)]
pub struct LetterLink {
    letter: char,
    present: bool,
}

/// Groups entries under A–Z (and '#'), with navigation for every letter.
pub fn az_groups(entries: Vec<AzEntry>) -> (Vec<LetterLink>, Vec<minijinja::Value>) {
    let mut groups: BTreeMap<char, Vec<AzEntry>> = BTreeMap::new();
    for e in entries {
        groups.entry(index_letter(&e.name)).or_default().push(e);
    }
    let letters = ('A'..='Z').map(|l| LetterLink { letter: l, present: groups.contains_key(&l) }).collect();
    let groups = groups.into_iter().map(|(letter, entries)| context! { letter, entries }).collect();
    (letters, groups)
}

pub async fn leistungen_az(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Result<Response, AppError> {
    let c = state.catalogue();
    // One entry per LeiKa key: the citizen picks the service, routing picks the authority.
    let mut seen = std::collections::HashSet::new();
    let mut entries = Vec::new();
    for l in &c.leistungen {
        if !seen.insert(l.leika.clone()) {
            continue;
        }
        let offers: Vec<&Leistung> = c.leistungen.iter().filter(|x| x.leika == l.leika).collect();
        let note = match offers.as_slice() {
            [one] => c.authority(one.authority_id).map(|a| a.name.clone()).unwrap_or_default(),
            many => format!("bei {} Behörden", many.len()),
        };
        entries.push(AzEntry { name: l.name.clone(), url: format!("/leistungen/{}", l.slug), note });
    }
    let total = entries.len();
    let (letters, groups) = az_groups(entries);
    let crumbs = vec![Crumb::link("Startseite", "/"), Crumb::here("Leistungen A–Z")];
    let base = base_context(&state, &c, None, &headers, &request_path(&uri), crumbs);
    let ctx = context! { heading => "Alle Leistungen von A bis Z", total, letters, groups, ..base };
    Ok(render_page(&state, "leistungen_az.html", ctx)?.into_response())
}

/// Which places an authority is responsible for, in words.
pub fn area_text(c: &Catalogue, a: &Authority) -> String {
    if a.kind == AuthorityKind::Landkreis {
        return format!("alle Orte im {}", a.name);
    }
    let prefix = a.area_prefix();
    let names: Vec<&str> =
        c.places.iter().filter(|p| p.ars.as_str().starts_with(&prefix)).map(|p| p.name.as_str()).collect();
    if names.is_empty() { a.name.clone() } else { names.join(", ") }
}

/// `/leistungen/<slug>`: sends the citizen to the responsible authority's page once
/// the place is known; otherwise asks for the place and lists who offers it.
pub async fn leistung(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let c = state.catalogue();
    let Some(first) = c.leistungen.iter().find(|l| l.slug.as_str() == slug) else {
        return Err(AppError::NotFound);
    };
    let offers: Vec<&Leistung> = c.leistungen.iter().filter(|l| l.leika == first.leika).collect();
    let url_of = |l: &Leistung| c.authority(l.authority_id).map(|a| format!("/o/{}/leistungen/{}", a.slug, l.slug));
    let place = crate::place::current(&headers, &c);
    if let Some(place) = place {
        if let Some(resp) = c.responsible(&first.leika, place) {
            let target = c.leistung_by_leika(resp.id, &first.leika).and_then(url_of);
            return Ok(Redirect::to(&target.unwrap_or_else(|| format!("/o/{}/", resp.slug))).into_response());
        }
    } else if let [only] = offers.as_slice() {
        let covers_all = c.authority(only.authority_id).is_some_and(|a| a.kind == AuthorityKind::Landkreis);
        if covers_all && let Some(u) = url_of(only) {
            return Ok(Redirect::to(&u).into_response());
        }
    }
    // "Termin vereinbaren" next to each authority that books the service online.
    let mut booking = Vec::with_capacity(offers.len());
    for l in &offers {
        booking.push(crate::termine::links::booking_url(&state, l.authority_id, l.leika.as_str()).await?);
    }
    let offers: Vec<_> = offers
        .iter()
        .zip(booking)
        .filter_map(|(l, booking)| {
            let a = c.authority(l.authority_id)?;
            Some(context! { authority => &a.name, url => url_of(l)?, area => area_text(&c, a), booking })
        })
        .collect();
    let crumbs = vec![
        Crumb::link("Startseite", "/"),
        Crumb::link("Leistungen A–Z", "/leistungen/"),
        Crumb::here(first.name.clone()),
    ];
    let base = base_context(&state, &c, None, &headers, &request_path(&uri), crumbs);
    let ctx = context! { name => &first.name, summary => &first.summary, offers, ..base };
    Ok(render_page(&state, "verbund_leistung.html", ctx)?.into_response())
}
