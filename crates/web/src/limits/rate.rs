//! Request rates per client and in total, by class of route: a middleware on every
//! route of the map that answers 429 with `Retry-After` and a German page once a
//! client (or everyone together) sends more than its class allows.
//!
//! Plain GETs of pages are not limited here: they are cheap and mostly come from the
//! page cache. What costs work is: every POST (sign-in and the like most, because of
//! password hashing and mails), search, PDF receipts, CSV exports and files.

use super::{Client, LimitsConfig, RateLimit};
use crate::AppState;
use crate::error::ErrorPage;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What a route costs, for the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Sign-in and everything that hashes a password or sends a mail to a typed address.
    SignIn,
    /// Any other request that changes something.
    Post,
    /// A GET that searches, renders a PDF, exports or reads a file.
    Expensive,
}

/// POST routes that hash a password, check a code, or mail a typed address.
pub const SIGN_IN_PATHS: &[&str] = &[
    "/konto/anmelden",
    "/konto/anmelden/code",
    "/konto/registrieren",
    "/konto/passwort-vergessen",
    "/konto/passwort-neu/{token}",
    "/verwaltung/anmelden",
    "/verwaltung/anmelden/code",
    "/verwaltung/passwort-vergessen",
    "/verwaltung/passwort-neu/{token}",
    "/verwaltung/einladung/{token}",
    "/o/{slug}/antrag/{form}/{token}/gespeichert",
    "/o/{slug}/antrag/fortsetzen/{secret}",
    "/api/v1/token",
    // An activation code of a finance account (its own throttle counts failures).
    "/konto/finanzen/verknuepfen",
];

/// GET routes that search or export, or ask a payment provider (the return page
/// asks it on every load).
const EXPENSIVE_PATHS: &[&str] = &["/suche", "/api/v1/suche", "/ort", "/zahlung/{secret}"];

/// The class of a route (its path pattern as in the route map) for a method;
/// `None` for what is not limited.
#[must_use]
pub fn class_of(path: &str, method: &Method) -> Option<Class> {
    if method == Method::GET || method == Method::HEAD || method == Method::OPTIONS {
        let expensive = EXPENSIVE_PATHS.contains(&path)
            || path.ends_with(".pdf")
            || path.ends_with(".csv")
            || path.ends_with("/json")
            || path.contains("/datei")
            || path.contains("/anhang/")
            || path.ends_with("/nachrichten/{attachment}");
        return expensive.then_some(Class::Expensive);
    }
    Some(if SIGN_IN_PATHS.contains(&path) { Class::SignIn } else { Class::Post })
}

/// After this many checks of a class, clients not seen for a while are forgotten, so
/// the memory a flood of new addresses takes stays bounded.
const SWEEP_EVERY: u64 = 4096;

struct Bucket {
    per_client: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// Requests of clients without a known address (in-process callers).
    unknown: Option<DefaultDirectRateLimiter>,
    global: Option<DefaultDirectRateLimiter>,
    checks: AtomicU64,
}

fn quota(per: Duration, count: u32, burst: u32) -> Option<Quota> {
    let count = NonZeroU32::new(count)?;
    let burst = NonZeroU32::new(burst).unwrap_or(count);
    Quota::with_period(per / count.get()).map(|q| q.allow_burst(burst))
}

impl Bucket {
    fn new(r: RateLimit) -> Self {
        let client = quota(Duration::from_secs(60), r.per_client_per_minute, r.client_burst);
        let global = quota(Duration::from_secs(1), r.global_per_second, r.global_burst);
        Self {
            per_client: client.map(DefaultKeyedRateLimiter::dashmap),
            unknown: client.map(DefaultDirectRateLimiter::direct),
            global: global.map(DefaultDirectRateLimiter::direct),
            checks: AtomicU64::new(0),
        }
    }

    /// `Ok` or how long to wait; whether all clients together are the reason.
    fn check(&self, client: &Client) -> Result<(), (Duration, bool)> {
        let now = DefaultClock::default().now();
        let n = self.checks.fetch_add(1, Ordering::Relaxed);
        if let Some(keyed) = &self.per_client {
            if n % SWEEP_EVERY == SWEEP_EVERY - 1 {
                keyed.retain_recent();
                keyed.shrink_to_fit();
            }
            let verdict = match client.ip() {
                Some(ip) => keyed.check_key(&ip),
                None => self.unknown.as_ref().map_or(Ok(()), DefaultDirectRateLimiter::check),
            };
            verdict.map_err(|not_until| (not_until.wait_time_from(now), false))?;
        }
        if let Some(global) = &self.global {
            global.check().map_err(|not_until| (not_until.wait_time_from(now), true))?;
        }
        Ok(())
    }
}

/// The limiters of one node.
pub struct Rates {
    sign_in: Bucket,
    post: Bucket,
    expensive: Bucket,
}

impl Rates {
    #[must_use]
    pub fn new(c: &LimitsConfig) -> Self {
        Self { sign_in: Bucket::new(c.sign_in), post: Bucket::new(c.post), expensive: Bucket::new(c.expensive) }
    }

    fn bucket(&self, class: Class) -> &Bucket {
        match class {
            Class::SignIn => &self.sign_in,
            Class::Post => &self.post,
            Class::Expensive => &self.expensive,
        }
    }
}

/// 429 with `Retry-After` (whole seconds, at least 1) and a German explanation.
#[must_use]
pub fn too_many(wait: Duration, everyone: bool) -> Response {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let secs = secs.max(1);
    let message = if everyone {
        format!(
            "Zu viele Anfragen: Das Portal ist gerade sehr gefragt. Bitte versuchen Sie es in {secs} Sekunden erneut. Ihre bisherigen Angaben bleiben gespeichert."
        )
    } else {
        format!(
            "Zu viele Anfragen von Ihrem Anschluss in kurzer Zeit. Bitte warten Sie {secs} Sekunden und versuchen Sie es dann erneut. Ihre bisherigen Angaben bleiben gespeichert."
        )
    };
    let mut r = StatusCode::TOO_MANY_REQUESTS.into_response();
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r.extensions_mut().insert(ErrorPage(Some(message)));
    r
}

/// The middleware on every route: classifies the request by its route and method,
/// counts it for its client and for everyone, and refuses it over the limit. The
/// client is left in the request for the handlers (failed sign-ins, quotas).
pub async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let client = Client::of(req.headers(), req.extensions(), &state.config.limits.trusted_proxies);
    let path = req.extensions().get::<MatchedPath>().map_or_else(|| req.uri().path(), MatchedPath::as_str);
    if let Some(class) = class_of(path, req.method())
        && let Err((wait, everyone)) = state.limits.rates.bucket(class).check(&client)
    {
        tracing::info!(?class, everyone, "request rate limit reached");
        return too_many(wait, everyone);
    }
    req.extensions_mut().insert(client);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_post_is_limited_and_sign_in_paths_exist() {
        let routes = crate::routes::all();
        for path in SIGN_IN_PATHS {
            assert!(routes.iter().any(|r| r.path == *path && r.methods.contains(&"POST")), "{path} is no POST route");
        }
        for r in &routes {
            if r.methods.contains(&"POST") {
                assert!(class_of(r.path, &Method::POST).is_some(), "{}", r.path);
            }
        }
        assert_eq!(class_of("/suche", &Method::GET), Some(Class::Expensive));
        assert_eq!(
            class_of("/o/{slug}/antrag/{form}/eingang/{token}/quittung.pdf", &Method::GET),
            Some(Class::Expensive)
        );
        assert_eq!(class_of("/verwaltung/protokoll.csv", &Method::GET), Some(Class::Expensive));
        assert_eq!(class_of("/o/{slug}/", &Method::GET), None);
        assert_eq!(class_of("/konto/anmelden", &Method::POST), Some(Class::SignIn));
        assert_eq!(class_of("/konto/finanzen/verknuepfen", &Method::POST), Some(Class::SignIn));
        assert_eq!(class_of("/zahlung/{secret}", &Method::GET), Some(Class::Expensive));
        assert_eq!(class_of("/o/{slug}/antrag/{form}/", &Method::POST), Some(Class::Post));
    }

    #[test]
    fn a_client_over_its_burst_waits_and_others_do_not() {
        let b = Bucket::new(RateLimit {
            per_client_per_minute: 60,
            client_burst: 3,
            global_per_second: 0,
            global_burst: 0,
        });
        let a = Client::from_ip("203.0.113.1".parse().unwrap());
        let other = Client::from_ip("203.0.113.2".parse().unwrap());
        for _ in 0..3 {
            assert!(b.check(&a).is_ok());
        }
        let (wait, everyone) = b.check(&a).unwrap_err();
        assert!(!everyone && wait <= Duration::from_secs(1), "{wait:?}");
        assert!(b.check(&other).is_ok());
        let r = too_many(wait, false);
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
    }

    #[test]
    fn all_clients_together_have_a_limit_too() {
        let b =
            Bucket::new(RateLimit { per_client_per_minute: 0, client_burst: 0, global_per_second: 1, global_burst: 2 });
        for i in 0..2u8 {
            assert!(b.check(&Client::from_ip(IpAddr::from([198, 51, 100, i]))).is_ok());
        }
        assert!(b.check(&Client::from_ip(IpAddr::from([198, 51, 100, 9]))).unwrap_err().1);
    }

    #[test]
    fn zero_means_no_limit() {
        let b = Bucket::new(RateLimit::default());
        let a = Client::from_ip("203.0.113.1".parse().unwrap());
        for _ in 0..10_000 {
            assert!(b.check(&a).is_ok());
        }
    }
}
