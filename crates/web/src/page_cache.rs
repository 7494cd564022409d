//! A cache of rendered public pages for the current catalogue snapshot.
//!
//! Anonymous public pages depend only on the path, the citizen's place, the catalogue
//! snapshot and — through "open now" — the minute. The cache key holds exactly those,
//! and the whole cache is dropped when a new snapshot is swapped in, so a published
//! change is never hidden by it. Requests carrying any cookie other than the place
//! cookie bypass it (sessions will personalise pages).
//!
//! These pages take no query parameters, so a query never enters the key: it is
//! dropped before the page is rendered (a tracking `?utm_…` gets the same page), and
//! `?x=1…8192` cannot fill the cache and evict the real pages.

use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::uri::PathAndQuery;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Mutex;

/// Enough for every page × place combination of a county; when full, start over.
const MAX_ENTRIES: usize = 8192;
/// Pages larger than this are not kept.
const MAX_BODY: usize = 512 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    path: String,
    place: Option<i64>,
    minute: i64,
    watermark: i64,
}

#[derive(Default)]
pub struct PageCache {
    pages: Mutex<HashMap<Key, Bytes>>,
}

impl PageCache {
    pub fn clear(&self) {
        if let Ok(mut p) = self.pages.lock() {
            p.clear();
        }
    }

    fn get(&self, key: &Key) -> Option<Bytes> {
        self.pages.lock().ok()?.get(key).cloned()
    }

    fn put(&self, key: Key, body: Bytes) {
        if let Ok(mut p) = self.pages.lock() {
            if p.len() >= MAX_ENTRIES {
                p.clear();
            }
            p.insert(key, body);
        }
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.pages.lock().map_or(0, |p| p.len())
    }
}

fn cacheable_path(path: &str) -> bool {
    // Applications are never cached: every page carries a citizen's own tokens. The
    // appointment journey carries its state in the query, which this cache drops.
    path == "/"
        || path.starts_with("/leistungen/")
        || (path.starts_with("/o/")
            && !path.ends_with(".css")
            && !path.contains("/antrag/")
            && !path.contains("/termine/"))
}

/// Only the place cookie (or no cookie) may be present for a cached answer.
fn place_only(req: &Request) -> Option<Option<&str>> {
    let mut place = None;
    for v in req.headers().get_all(header::COOKIE) {
        for pair in v.to_str().ok()?.split(';') {
            let (k, val) = pair.trim().split_once('=')?;
            if k == crate::place::COOKIE {
                place = Some(val);
            } else {
                return None;
            }
        }
    }
    Some(place)
}

/// `uri` without its query (scheme and authority kept, if any).
fn without_query(uri: &Uri) -> Option<Uri> {
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::from_str(uri.path()).ok()?);
    Uri::from_parts(parts).ok()
}

fn html(body: Bytes) -> Response {
    let mut r = Response::new(Body::from(body));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    r
}

pub async fn middleware(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if req.method() != Method::GET || !cacheable_path(req.uri().path()) {
        return next.run(req).await;
    }
    let Some(place_cookie) = place_only(&req) else {
        return next.run(req).await;
    };
    let catalogue = state.catalogue();
    let place = place_cookie.and_then(|v| v.parse::<i64>().ok()).filter(|id| catalogue.place(*id).is_some());
    if req.uri().query().is_some() {
        match without_query(req.uri()) {
            Some(uri) => *req.uri_mut() = uri,
            None => return next.run(req).await,
        }
    }
    let key = Key {
        path: req.uri().path().to_owned(),
        place,
        minute: jiff::Timestamp::now().as_second().div_euclid(60),
        watermark: catalogue.watermark,
    };
    drop(catalogue);
    if let Some(body) = state.page_cache.get(&key) {
        return html(body);
    }
    let resp = next.run(req).await;
    let is_html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let no_store = resp
        .headers()
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("no-store") || v.contains("private"));
    if resp.status() != StatusCode::OK || !is_html || no_store || resp.headers().contains_key(header::SET_COOKIE) {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => {
            state.page_cache.put(key, bytes.clone());
            Response::from_parts(parts, Body::from(bytes))
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_pages_are_cached() {
        assert!(cacheable_path("/"));
        assert!(cacheable_path("/o/moorbrueck/leistungen/x"));
        assert!(cacheable_path("/leistungen/"));
        assert!(!cacheable_path("/suche"));
        assert!(!cacheable_path("/ort"));
        assert!(!cacheable_path("/api/v1/suche"));
        assert!(!cacheable_path("/healthz"));
        assert!(!cacheable_path("/o/moorbrueck/theme.css"));
        assert!(!cacheable_path("/o/moorbrueck/antrag/briefwahl/"));
        assert!(!cacheable_path("/o/moorbrueck/antrag/fortsetzen/geheim"));
    }

    #[test]
    fn queries_are_dropped() {
        let u: Uri = "/o/moorbrueck/leistungen/?x=1&utm_source=a".parse().unwrap();
        assert_eq!(without_query(&u).unwrap().to_string(), "/o/moorbrueck/leistungen/");
        let u: Uri = "http://moorbrueck.localhost:8080/?x=1".parse().unwrap();
        assert_eq!(without_query(&u).unwrap().to_string(), "http://moorbrueck.localhost:8080/");
    }
}
