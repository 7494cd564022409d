//! The files under `/static/`: our own stylesheet, script and favicon, and the KERN UX
//! design system (CSS and the Fira Sans faces it uses), which `build.rs` fetches with
//! `npm ci` as declared in `assets/package-lock.json` — embedded, never copied into
//! the repository.
//!
//! Pages link the files with `?v=<ASSET_VERSION>` (a hash over the lock file and our
//! own files), so those requests may be cached for a year; without the current
//! version a file is cached for an hour only (e.g. links in an operator's old
//! template override).

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// Changes whenever a file under `/static/` may change.
pub const ASSET_VERSION: &str = env!("AMTSWEG_ASSET_VERSION");

macro_rules! kern {
    ($file:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/assets/node_modules/@kern-ux/native/dist/", $file))
    };
}

const CSS: &str = "text/css; charset=utf-8";
const WOFF2: &str = "font/woff2";

/// (name, content type, body).
const FILES: &[(&str, &str, &[u8])] = &[
    ("amtsweg.css", CSS, include_bytes!("../static/amtsweg.css")),
    ("amtsweg.js", "text/javascript; charset=utf-8", include_bytes!("../static/amtsweg.js")),
    ("favicon.svg", "image/svg+xml", include_bytes!("../static/favicon.svg")),
    ("kern.min.css", CSS, kern!("kern.min.css")),
    ("FiraSans-Regular.woff2", WOFF2, kern!("fonts/fira-sans/FiraSans-Regular.woff2")),
    ("FiraSans-Italic.woff2", WOFF2, kern!("fonts/fira-sans/FiraSans-Italic.woff2")),
    ("FiraSans-Medium.woff2", WOFF2, kern!("fonts/fira-sans/FiraSans-Medium.woff2")),
    ("FiraSans-SemiBold.woff2", WOFF2, kern!("fonts/fira-sans/FiraSans-SemiBold.woff2")),
];

const YEAR: &str = "public, max-age=31536000, immutable";
const HOUR: &str = "public, max-age=3600";

/// The response for `/static/<name>?<query>`, `None` for an unknown name.
#[must_use]
pub fn response(name: &str, query: Option<&str>) -> Option<Response> {
    let (_, ty, body) = FILES.iter().find(|(n, _, _)| *n == name)?;
    let versioned = query.is_some_and(|q| q.split('&').any(|p| p.strip_prefix("v=") == Some(ASSET_VERSION)));
    // The fonts are referenced from the stylesheet without a version; their content is
    // pinned by the lock file and a new KERN release keeps the file names' meaning.
    let cache = if versioned || *ty == WOFF2 { YEAR } else { HOUR };
    Some(([(header::CONTENT_TYPE, *ty), (header::CACHE_CONTROL, cache)], *body).into_response())
}
