//! Which services can be booked where, for the "Termin vereinbaren" links on service
//! pages and the receipt page. Those pages are among the most requested and are
//! rendered close to a bare handler, so they must not read the calendars each time:
//! the set of (authority, LeiKa key) pairs is kept here and read again from the store
//! at most every few seconds (a calendar saved in the back office shows its link
//! within that time).

use crate::AppState;
use crate::error::AppError;
use amtsweg_portal::appointments::view::parse_calendar;
use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How long a read of the calendars is used.
const FRESH_FOR: Duration = Duration::from_secs(3);

type Pairs = Arc<HashSet<(i64, String)>>;

/// The bookable (authority id, LeiKa key) pairs of the active calendars.
#[derive(Default)]
pub struct Bookable {
    cached: RwLock<Option<(Instant, Pairs)>>,
}

impl Bookable {
    async fn pairs(&self, state: &AppState) -> Result<Pairs, AppError> {
        if let Ok(guard) = self.cached.read()
            && let Some((at, pairs)) = guard.as_ref()
            && at.elapsed() < FRESH_FOR
        {
            return Ok(Arc::clone(pairs));
        }
        let mut set = HashSet::new();
        for row in state.store.all_appointment_calendars().await? {
            // A calendar that does not parse offers nothing (the portal logs it).
            if let Ok(cal) = parse_calendar(&row)
                && cal.active
            {
                set.extend(cal.services.into_iter().map(|s| (row.authority_id, s.leika)));
            }
        }
        let pairs = Arc::new(set);
        if let Ok(mut guard) = self.cached.write() {
            *guard = Some((Instant::now(), Arc::clone(&pairs)));
        }
        Ok(pairs)
    }
}

/// The booking page for `leika` at the authority, when one of its calendars offers it.
///
/// # Errors
/// Store errors.
pub(crate) async fn booking_url(state: &AppState, authority_id: i64, leika: &str) -> Result<Option<String>, AppError> {
    if !state.bookable.pairs(state).await?.contains(&(authority_id, leika.to_owned())) {
        return Ok(None);
    }
    let Some(a) = state.catalogue().authority(authority_id).map(|a| a.slug.to_string()) else { return Ok(None) };
    let mut s = form_urlencoded::Serializer::new(String::new());
    s.append_pair("leistung", leika);
    Ok(Some(format!("{}?{}", super::start_url(&a), s.finish())))
}

/// The "Termin vereinbaren" link of a service page of `authority`: to its own booking,
/// or — when the citizen's place belongs to another authority — to that authority's
/// booking (routed like "Online beantragen"). `None` when nobody responsible books
/// this service online.
///
/// # Errors
/// Store errors.
pub(crate) async fn for_service_page(
    state: &AppState,
    authority: &amtsweg_domain::Authority,
    leika: &amtsweg_domain::LeikaKey,
    headers: &axum::http::HeaderMap,
) -> Result<Option<minijinja::Value>, AppError> {
    let c = state.catalogue();
    let responsible =
        crate::place::current(headers, &c).and_then(|p| c.responsible(leika, p)).map(|r| (r.id, r.name.clone()));
    let (id, name) = responsible.unwrap_or_else(|| (authority.id, authority.name.clone()));
    let url = booking_url(state, id, leika.as_str()).await?;
    Ok(url.map(|url| minijinja::context! { url, authority => name, elsewhere => id != authority.id }))
}
