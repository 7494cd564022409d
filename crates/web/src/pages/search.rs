//! `/suche` (HTML, no JavaScript needed) and `/api/v1/suche` (JSON for autocomplete).

use crate::AppState;
use crate::error::AppError;
use crate::render::{Crumb, base_context, render_page, request_path};
use amtsweg_domain::{LeikaKey, Place};
use amtsweg_portal::catalogue::Catalogue;
use amtsweg_search::{DocKind, Hit};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
pub struct SearchParams {
    #[serde(default)]
    q: String,
}

/// Longest query we echo back; longer input is still searched by its first words.
const ECHO_CHARS: usize = 200;

#[derive(Serialize)]
struct HitView {
    title: String,
    url: String,
    kind: DocKind,
    kind_label: &'static str,
    authority_name: String,
    snippet: Option<Value>,
    summary: String,
    responsible: bool,
    responsible_name: Option<String>,
    responsible_url: Option<String>,
}

/// Marks each service hit with the authority responsible for `place` and, when the
/// place is known, keeps only the responsible offer among several of one LeiKa key.
fn decorate(c: &Catalogue, hits: Vec<Hit>, place: Option<&Place>) -> Vec<HitView> {
    let responsible_of = |h: &Hit| {
        let place = place?;
        let key = LeikaKey::parse(&h.leika).ok()?;
        c.responsible(&key, place).map(|a| (a, key))
    };
    let mut out: Vec<HitView> = Vec::new();
    let mut seen_leika: Vec<String> = Vec::new();
    for h in hits.iter().filter(|h| c.shows(&h.key)) {
        let mut view = HitView {
            title: h.title.clone(),
            url: h.url.clone(),
            kind: h.kind,
            kind_label: h.kind.label(),
            authority_name: h.authority_name.clone(),
            snippet: (!h.snippet_html.is_empty()).then(|| Value::from_safe_string(h.snippet_html.clone())),
            summary: h.summary.clone(),
            responsible: false,
            responsible_name: None,
            responsible_url: None,
        };
        if h.kind == DocKind::Leistung
            && let Some((resp, key)) = responsible_of(h)
        {
            if seen_leika.contains(&h.leika) {
                continue;
            }
            // Prefer showing the responsible authority's own entry.
            if resp.id != h.authority_id {
                if let Some(own) = c.leistung_by_leika(resp.id, &key) {
                    view.title.clone_from(&own.name);
                    view.url = format!("/o/{}/leistungen/{}", resp.slug, own.slug);
                    view.authority_name.clone_from(&resp.name);
                    view.summary.clone_from(&own.summary);
                    view.responsible = true;
                } else {
                    view.responsible_name = Some(resp.name.clone());
                    view.responsible_url = Some(format!("/o/{}/", resp.slug));
                }
            } else {
                view.responsible = true;
            }
            seen_leika.push(h.leika.clone());
        }
        out.push(view);
    }
    out
}

pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    Query(p): Query<SearchParams>,
) -> Result<Response, AppError> {
    let c = state.catalogue();
    let place = crate::place::current(&headers, &c);
    let raw = p.q.trim();
    let results = state.search.search(raw, 30)?;
    let message = if raw.chars().count() > ECHO_CHARS {
        Some("Ihre Eingabe war sehr lang. Wir haben nach den ersten Wörtern gesucht.")
    } else if !raw.is_empty() && results.understood.is_empty() {
        Some("Bitte geben Sie einen Suchbegriff aus Buchstaben oder Ziffern ein.")
    } else {
        None
    };
    let hits = decorate(&c, results.hits, place);
    let suggestions = ["Personalausweis", "Meldebescheinigung", "Gewerbe anmelden", "Kfz-Zulassung", "Hundesteuer"];
    let query: String = raw.chars().filter(|ch| !ch.is_control()).take(ECHO_CHARS).collect();
    let crumbs = vec![Crumb::link("Startseite", "/"), Crumb::here("Suche")];
    let base = base_context(&state, &c, None, &headers, &request_path(&uri), crumbs);
    let ctx = context! {
        query, understood => results.understood, total => hits.len(), hits, message, suggestions, ..base
    };
    Ok(render_page(&state, "search.html", ctx)?.into_response())
}

#[derive(Serialize)]
pub struct ApiHit {
    title: String,
    url: String,
    kind: DocKind,
    authority: String,
    responsible: bool,
}

#[derive(Serialize)]
pub struct ApiResults {
    query: String,
    understood: String,
    total: usize,
    hits: Vec<ApiHit>,
}

pub async fn api(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<SearchParams>,
) -> Result<Json<ApiResults>, AppError> {
    let c = state.catalogue();
    let place = crate::place::current(&headers, &c);
    let mut results = state.search.search(&p.q, 20)?;
    if place.is_none() {
        // Each destination once: one suggestion per service, not one per authority.
        amtsweg_portal::search_docs::suggestions_without_place(&c, &mut results);
    }
    let understood = results.understood.clone();
    let mut targets = std::collections::HashSet::new();
    let hits: Vec<ApiHit> = decorate(&c, results.hits, place)
        .into_iter()
        .filter(|h| targets.insert(h.url.clone()))
        .take(10)
        .map(|h| ApiHit {
            title: h.title,
            url: h.url,
            kind: h.kind,
            authority: h.authority_name,
            responsible: h.responsible,
        })
        .collect();
    Ok(Json(ApiResults { query: p.q.chars().take(ECHO_CHARS).collect(), understood, total: hits.len(), hits }))
}
