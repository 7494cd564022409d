//! Rendering pages: the context every page shares (the authority's look, the
//! Verbund's portals, the citizen's place, breadcrumbs), rendering a template, and
//! German time for templates. Every area renders through here, so no area imports
//! another one to show a page.

use crate::AppState;
use amtsweg_domain::{Authority, OpenState, OpeningHours};
use amtsweg_portal::catalogue::Catalogue;
use axum::http::HeaderMap;
use axum::response::Html;
use minijinja::Value;
use serde::Serialize;

/// The cookie that keeps the citizen's chosen place (a place id, a preference).
pub const PLACE_COOKIE: &str = "amtsweg_ort";

/// The place stored in the request's cookie, if it still exists.
#[must_use]
pub fn current_place<'c>(headers: &HeaderMap, catalogue: &'c Catalogue) -> Option<&'c amtsweg_domain::Place> {
    crate::session::cookie_value(headers, PLACE_COOKIE)
        .and_then(|v| v.parse::<i64>().ok())
        .and_then(|id| catalogue.place(id))
}

/// A line diff of two texts for the revision pages (`kind`: "del", "ins", "same").
#[must_use]
pub fn diff_lines(old: &str, new: &str) -> Vec<Value> {
    similar::TextDiff::from_lines(old, new)
        .iter_all_changes()
        .map(|c| {
            let kind = match c.tag() {
                similar::ChangeTag::Delete => "del",
                similar::ChangeTag::Insert => "ins",
                similar::ChangeTag::Equal => "same",
            };
            minijinja::context! { kind, text => c.value().trim_end_matches('\n') }
        })
        .collect()
}

/// The address of an authority's logo, if it has one.
#[must_use]
pub fn logo_url(a: &Authority) -> Option<String> {
    let file = a.logo_key.rsplit('/').next().filter(|f| !f.is_empty())?;
    Some(format!("/o/{}/logo/{file}", a.slug))
}

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
            logo_url: logo_url(a),
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
    let place = current_place(headers, catalogue);
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
