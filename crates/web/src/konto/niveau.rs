//! The step-up page (`/konto/vertrauensniveau`): a service needs a higher trust level
//! than this sign-in has. It offers the ID providers that can reach the level; when
//! none is configured that can, it says so plainly and offers the ways that remain —
//! applying in person at the responsible office (address, opening hours), contacting
//! it, and the service's page. Its links never lead back to the form (which would
//! send the citizen here again).

use super::{CitizenContext, base, safe_next};
use crate::AppState;
use crate::error::AppError;
use crate::render::render_page;
use amtsweg_domain::TrustLevel;
use amtsweg_domain::konto::how_to_reach;
use amtsweg_portal::catalogue::Catalogue;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct TrustQuery {
    benoetigt: Option<String>,
    weiter: Option<String>,
}

/// The form a path of the application journey (`/o/<slug>/antrag/<form>/…`) belongs
/// to — also inside a hand-over to a member host (`/konto/sso/start?…&weiter=…`).
fn journey_of(next: &str) -> Option<(String, String)> {
    let inner;
    let path = if let Some(query) = next.strip_prefix("/konto/sso/start?") {
        inner = serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .ok()?
            .into_iter()
            .find(|(k, _)| k == "weiter")
            .map(|(_, v)| v)?;
        inner.as_str()
    } else {
        next
    };
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let mut parts = path.strip_prefix("/o/")?.split('/');
    let slug = parts.next().filter(|s| !s.is_empty())?;
    (parts.next() == Some("antrag")).then_some(())?;
    let form = parts.next().filter(|s| !s.is_empty())?;
    Some((slug.to_owned(), form.to_owned()))
}

/// The service of that form, with what a citizen needs to apply another way: the
/// responsible office, its address and opening hours, contacts, the service page.
fn service_view(c: &Catalogue, slug: &str, form_slug: &str) -> Option<Value> {
    let authority = c.authority_by_slug(slug)?;
    let form = c.form(authority.id, form_slug)?;
    let id = form.leistung_id?;
    let l = c.leistungen_of(authority.id).find(|l| l.id == id).or_else(|| {
        // A form adopted from the library: the adopter's own service with that key.
        let own = c.leistungen.iter().find(|l| l.id == id)?;
        c.leistung_by_leika(authority.id, &own.leika)
    })?;
    let org_unit = l.org_unit_id.and_then(|o| c.org_unit(authority.id, o));
    let location =
        org_unit.and_then(|o| o.location_id).or(authority.main_location_id).and_then(|id| c.location(authority.id, id));
    let hours: Vec<(String, String)> = location
        .map(|loc| loc.hours().describe_week().into_iter().map(|(d, t)| (d.to_owned(), t)).collect())
        .unwrap_or_default();
    let contacts: Vec<Value> = c
        .contacts_of_leistung(l)
        .into_iter()
        .map(|x| context! { name => &x.name, role => &x.role, phone => &x.phone, email => &x.email, room => &x.room })
        .collect();
    Some(context! {
        name => &l.name,
        url => format!("/o/{}/leistungen/{}", authority.slug, l.slug),
        authority => &authority.name,
        org_unit => org_unit.map(|o| context! { name => &o.name, phone => &o.phone, email => &o.email }),
        location => location.map(|x| context! {
            name => &x.name, street => &x.street, plz => &x.plz, city => &x.city, accessibility => &x.accessibility,
        }),
        hours,
        contacts,
    })
}

/// The origins of the OpenID Connect providers: a form that starts a sign-in there
/// (step-up, linking) is answered with a redirect to the provider.
pub(crate) fn provider_origins(state: &AppState) -> Vec<String> {
    state
        .config
        .oidc
        .iter()
        .filter_map(|p| {
            let (scheme, rest) = p.issuer.split_once("://")?;
            Some(format!("{scheme}://{}", rest.split('/').next().unwrap_or_default()))
        })
        .collect()
}

/// Explains which trust level a service needs and how to reach it — or, when no
/// configured ID provider can, which other ways to the service remain.
pub async fn page(
    State(state): State<AppState>,
    me: CitizenContext,
    headers: HeaderMap,
    Query(q): Query<TrustQuery>,
) -> Result<Response, AppError> {
    let needed = q.benoetigt.as_deref().and_then(|l| TrustLevel::parse(l).ok()).unwrap_or(TrustLevel::Substanziell);
    let next = safe_next(q.weiter.as_deref());
    let enough = amtsweg_domain::konto::satisfies(me.trust, needed);
    let providers = super::offers(&state, needed, &next);
    // Step-up happens on the central host, where the providers answer; afterwards
    // the citizen comes back here. Without a provider there is nothing to do there.
    if !enough
        && !providers.is_empty()
        && let Some(r) = super::sso::via_central(&state, &headers, &next, |via| {
            format!("/konto/vertrauensniveau?benoetigt={}&weiter={}", needed.as_str(), crate::urls::urlencode(via))
        })
    {
        return Ok(r);
    }
    let c = state.catalogue();
    let service = journey_of(&next).and_then(|(slug, form)| service_view(&c, &slug, &form));
    let ctx = context! {
        needed => needed.label(), needed_key => needed.as_str(), how => how_to_reach(needed), enough,
        weiter => &next, providers, service,
        ..base(&state, Some(&me), "/konto/vertrauensniveau")
    };
    let mut r = render_page(&state, "konto/vertrauensniveau.html", ctx)?.into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let mut targets = provider_origins(&state);
    targets.extend(super::sso::form_targets(&state, &next));
    Ok(crate::security::allow_form_targets(r, &targets))
}

#[cfg(test)]
mod tests {
    use super::journey_of;

    #[test]
    fn the_form_behind_a_way_back_is_found() {
        let f = |p| journey_of(p);
        assert_eq!(
            f("/o/moorbrueck/antrag/meldebescheinigung/"),
            Some(("moorbrueck".into(), "meldebescheinigung".into()))
        );
        assert_eq!(f("/o/moorbrueck/antrag/x/abc/pruefen?y=1"), Some(("moorbrueck".into(), "x".into())));
        assert_eq!(
            f("/konto/sso/start?host=moorbrueck.localhost%3A8080&bind=b&weiter=%2Fo%2Fmoorbrueck%2Fantrag%2Fmb%2F"),
            Some(("moorbrueck".into(), "mb".into()))
        );
        assert_eq!(f("/o/moorbrueck/leistungen/x"), None);
        assert_eq!(f("/"), None);
        assert_eq!(f("/o//antrag/x/"), None);
    }
}
