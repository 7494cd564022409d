//! Public pages and the JSON endpoints, with the context every page shares.

mod authority;
mod misc;
mod search;
mod verbund;

pub use misc::add_slash;

use crate::AppState;
use amtsweg_portal::catalogue::Catalogue;
use amtsweg_domain::{Authority, OpenState, OpeningHours};
use axum::Router;
use axum::http::HeaderMap;
use axum::response::Html;
use axum::routing::get;
use minijinja::Value;
use serde::Serialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(verbund::start))
        .route("/leistungen/", get(verbund::leistungen_az))
        .route("/leistungen", get(misc::add_slash))
        .route("/leistungen/{slug}", get(verbund::leistung))
        .route("/suche", get(search::page))
        .route("/api/v1/suche", get(search::api))
        .route("/ort", get(crate::place::handler))
        .route("/healthz", get(misc::healthz))
        .route("/static/{file}", get(misc::static_file))
        .route("/o/{slug}", get(misc::add_slash))
        .route("/o/{slug}/", get(authority::start))
        .route("/o/{slug}/theme.css", get(misc::theme_css))
        .route("/o/{slug}/leistungen", get(misc::add_slash))
        .route("/o/{slug}/leistungen/", get(authority::leistungen_az))
        .route("/o/{slug}/leistungen/{leistung}", get(authority::leistung))
        .route("/o/{slug}/organisation", get(misc::add_slash))
        .route("/o/{slug}/organisation/", get(authority::org_units))
        .route("/o/{slug}/organisation/{unit}", get(authority::org_unit))
        .route("/o/{slug}/kontakte", get(misc::add_slash))
        .route("/o/{slug}/kontakte/", get(authority::contacts))
        .route("/o/{slug}/kontakte/{contact}", get(authority::contact))
        .route("/o/{slug}/seiten/{kind}", get(authority::plain_page))
        .route("/o/{slug}/logo/{file}", get(crate::verwaltung::darstellung::serve_logo))
        .fallback(misc::not_found)
}

/// How an authority appears in templates.
#[derive(Debug, Serialize)]
pub struct TenantView<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub short_name: &'a str,
    pub kind_label: &'static str,
    pub street: &'a str,
    pub plz: &'a str,
    pub city: &'a str,
    pub phone: &'a str,
    pub email: &'a str,
    pub intro: &'a str,
    pub logo_url: Option<String>,
    pub footer_links: &'a [amtsweg_domain::theme::FooterLink],
}

impl<'a> From<&'a Authority> for TenantView<'a> {
    fn from(a: &'a Authority) -> Self {
        let label = a.kind.label();
        let short = a.name.strip_prefix(label).map_or(a.name.as_str(), str::trim_start);
        Self {
            slug: a.slug.as_str(),
            name: &a.name,
            short_name: short,
            kind_label: label,
            street: &a.street,
            plz: &a.plz,
            city: &a.city,
            phone: &a.phone,
            email: &a.email,
            intro: &a.intro,
            logo_url: crate::verwaltung::darstellung::logo_url(a),
            footer_links: &a.footer_links,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Crumb {
    pub label: String,
    pub url: Option<String>,
}

impl Crumb {
    pub fn link(label: impl Into<String>, url: impl Into<String>) -> Self {
        Self { label: label.into(), url: Some(url.into()) }
    }
    pub fn here(label: impl Into<String>) -> Self {
        Self { label: label.into(), url: None }
    }
}

#[derive(Serialize)]
struct PortalLink<'a> {
    slug: &'a str,
    name: &'a str,
}

/// The context every page template gets.
pub fn base_context(
    state: &AppState,
    catalogue: &Catalogue,
    tenant: Option<&Authority>,
    headers: &HeaderMap,
    path: &str,
    breadcrumbs: Vec<Crumb>,
) -> Value {
    let _ = state;
    let place = crate::place::current(headers, catalogue);
    let portals: Vec<PortalLink<'_>> =
        catalogue.authorities.iter().map(|a| PortalLink { slug: a.slug.as_str(), name: &a.name }).collect();
    let legal_owner = tenant.or_else(|| catalogue.root());
    let legal_links: Vec<Value> = legal_owner
        .map(|a| {
            amtsweg_domain::pages::PageKind::ALL
                .iter()
                .map(
                    |k| minijinja::context! { url => format!("/o/{}/seiten/{}", a.slug, k.slug()), label => k.label() },
                )
                .collect()
        })
        .unwrap_or_default();
    minijinja::context! {
        legal_links,
        verbund_name => &catalogue.verbund_name,
        site_name => tenant.map_or(catalogue.verbund_name.as_str(), |t| t.name.as_str()),
        tenant => tenant.map(TenantView::from),
        home => tenant.map_or_else(|| "/".to_owned(), |t| format!("/o/{}/", t.slug)),
        place => place.map(|p| minijinja::context! { id => p.id, name => &p.name }),
        path,
        portals,
        breadcrumbs,
    }
}

/// Renders a template into an HTML response body.
///
/// # Errors
/// When the template fails to render.
pub fn render_page(state: &AppState, name: &str, ctx: Value) -> Result<Html<String>, minijinja::Error> {
    state.templates.render(name, ctx).map(Html)
}

pub use amtsweg_portal::time::{berlin, now_local};

/// "Jetzt geöffnet bis 12:30 Uhr" and friends, for templates.
pub fn open_state_view(hours: &OpeningHours) -> Option<Value> {
    if hours.is_empty() {
        return None;
    }
    let (css, text) = match hours.state_at(now_local()) {
        OpenState::OpenUntil(t) => ("open", format!("Jetzt geöffnet bis {} Uhr", t.strftime("%H:%M"))),
        OpenState::OpensLaterToday(t) => {
            ("closed", format!("Jetzt geschlossen – öffnet heute um {} Uhr", t.strftime("%H:%M")))
        }
        OpenState::ClosedToday => ("closed", "Heute geschlossen".to_owned()),
    };
    Some(minijinja::context! { css, text })
}

/// The path of the request as the citizen sees it (for "back" links).
pub fn request_path(uri: &axum::http::Uri) -> String {
    uri.path_and_query().map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned())
}
