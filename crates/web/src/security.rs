//! Layers every response passes through: request ids, tracing, security headers,
//! body limits, panic safety, host-based tenant resolution and friendly error pages.

use crate::AppState;
use crate::error::ErrorPage;
use crate::render::{base_context, render_page};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};
use tower_http::trace::TraceLayer;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// No inline script or style anywhere: every page works with this policy.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// [`CSP`] with `form-action` widened to `origins` (`scheme://host[:port]` each), for
/// pages whose forms continue, after redirects, on another host of this installation
/// (the sign-in hand-over between the central and a member host) or at an ID provider:
/// Chromium applies `form-action` to every redirect after a form is sent. Anything
/// that is not a plain origin is left out. `None` only if the header cannot be built.
#[must_use]
pub fn csp_with_form_targets(origins: &[String]) -> Option<HeaderValue> {
    let plain = |o: &&String| {
        let rest = o.strip_prefix("https://").or_else(|| o.strip_prefix("http://"));
        rest.is_some_and(|r| {
            !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
    };
    let mut extra: Vec<&str> = origins.iter().filter(plain).map(String::as_str).collect();
    extra.sort_unstable();
    extra.dedup();
    if extra.is_empty() {
        return Some(HeaderValue::from_static(CSP));
    }
    HeaderValue::from_str(&CSP.replace("form-action 'self'", &format!("form-action 'self' {}", extra.join(" ")))).ok()
}

/// Sets [`csp_with_form_targets`] on a response.
#[must_use]
pub fn allow_form_targets(mut r: Response, origins: &[String]) -> Response {
    if let Some(v) = csp_with_form_targets(origins) {
        r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    r
}

fn static_header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
}

pub fn layers(routes: Router, state: AppState) -> Router {
    let inner = ServiceBuilder::new()
        .layer(from_fn_with_state(state.clone(), error_pages))
        .layer(from_fn_with_state(state.clone(), crate::tenant::resolve_host))
        .layer(CatchPanicLayer::new())
        // Inside the error pages, so a timeout is explained in German (408 / 400).
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, state.config.connections.request()))
        .layer(from_fn_with_state(state.clone(), limit_body))
        .layer(RequestBodyTimeoutLayer::new(state.config.connections.body()))
        .service(
            routes
                .layer(from_fn_with_state(state.clone(), crate::page_cache::middleware))
                // `limit_body` sets the limit per route; axum's own default would cap uploads at 2 MiB.
                .layer(axum::extract::DefaultBodyLimit::disable()),
        );
    let hsts = (state.config.hsts_max_age > 0)
        .then(|| HeaderValue::from_str(&format!("max-age={}; includeSubDomains", state.config.hsts_max_age)).ok())
        .flatten();
    let mut app = Router::new()
        .fallback_service(inner)
        // A handler may send its own policy (the page that posts to BundID must allow
        // that one form target); everything else gets the strict default.
        .layer(SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)))
        .layer(static_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // A page whose address holds a key (the status link of a receipt) sends none.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(static_header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(static_header(HeaderName::from_static("cross-origin-opener-policy"), "same-origin"))
        .layer(static_header(
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), interest-cohort=()",
        ));
    if let Some(v) = hsts {
        app = app.layer(SetResponseHeaderLayer::overriding(header::STRICT_TRANSPORT_SECURITY, v));
    }
    app.layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req.extensions().get::<RequestId>().and_then(|r| r.header_value().to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, RequestIds::new()))
        .layer(axum::middleware::map_request(drop_unsafe_request_id))
}

/// Whether a client's `X-Request-Id` may be kept: a short token of safe characters.
/// Anything else — 60 KB, spaces, quotes, line breaks that would forge fields of the
/// text log — is never echoed, shown or logged.
fn safe_request_id(v: &HeaderValue) -> bool {
    let b = v.as_bytes();
    !b.is_empty() && b.len() <= 64 && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

/// Drops an unsafe (or repeated) client request id, so [`RequestIds`] makes a new one.
async fn drop_unsafe_request_id(mut req: Request) -> Request {
    let ids = req.headers().get_all(&REQUEST_ID);
    let mut values = ids.iter();
    let keep = values.next().is_some_and(safe_request_id) && values.next().is_none();
    if !keep {
        req.headers_mut().remove(&REQUEST_ID);
    }
    req
}

fn problem_title(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        404 => (
            "Seite nicht gefunden",
            "Diese Seite gibt es nicht (mehr). Vielleicht finden Sie über die Suche oder die Liste der Leistungen, was Sie suchen.",
        ),
        403 => (
            "Kein Zugriff",
            "Für diese Seite oder Aktion fehlt Ihnen die Berechtigung, oder die Anfrage kam nicht von einem Formular dieser Seite. Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.",
        ),
        405 => ("Aktion nicht möglich", "Diese Seite kann so nicht aufgerufen werden."),
        408 => ("Zeitüberschreitung", "Die Anfrage hat zu lange gedauert. Bitte versuchen Sie es noch einmal."),
        413 => ("Anfrage zu groß", "Die gesendeten Daten sind zu groß. Bitte senden Sie weniger oder kleinere Daten."),
        429 => (
            "Zu viele Anfragen",
            "Zu viele Anfragen in kurzer Zeit. Bitte warten Sie einen Moment und versuchen Sie es dann erneut.",
        ),
        400..=499 => {
            ("Anfrage fehlerhaft", "Die Anfrage konnte nicht verarbeitet werden. Bitte prüfen Sie die Adresse.")
        }
        503 => (
            "Vorübergehend nicht möglich",
            "Das ist gerade vorübergehend nicht möglich. Bitte versuchen Sie es in einigen Minuten noch einmal.",
        ),
        _ => (
            "Ein Fehler ist aufgetreten",
            "Leider ist bei uns ein Fehler aufgetreten. Ihre Daten sind nicht verloren; bitte versuchen Sie es in einigen Minuten noch einmal.",
        ),
    }
}

/// Replaces bare error responses (from handlers, routing, limits or panics) with an
/// error page in German, or a JSON problem detail under `/api/`, carrying the request id.
async fn error_pages(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let request_id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let place_cookie = req.headers().get(header::COOKIE).cloned();
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let content_type = resp.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let deliberate = content_type.starts_with("text/html") || content_type.contains("json");
    if resp.extensions().get::<ErrorPage>().is_none() && deliberate {
        return resp;
    }
    let allow = resp.headers().get(header::ALLOW).cloned();
    // 429 and 503 say when to come back (`limits`).
    let retry_after = resp.headers().get(header::RETRY_AFTER).cloned();
    let detail = resp.extensions().get::<ErrorPage>().and_then(|e| e.0.clone());
    let (title, generic) = problem_title(status);
    let message = detail.as_deref().unwrap_or(generic);
    let mut out = if path.starts_with("/api/") || path == "/healthz" {
        let body = serde_json::json!({
            "type": "about:blank", "title": title, "status": status.as_u16(), "detail": message, "request_id": request_id,
        });
        (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
    } else {
        let catalogue = state.catalogue();
        let mut headers = axum::http::HeaderMap::new();
        if let Some(c) = place_cookie {
            headers.insert(header::COOKIE, c);
        }
        let base = base_context(&state, &catalogue, None, &headers, &path, Vec::new());
        let ctx = context! { title, message, request_id, show_portals => status == StatusCode::NOT_FOUND, ..base };
        match render_page(&state, "error.html", ctx) {
            Ok(html) => (status, html).into_response(),
            Err(_) => (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{title}. {message}"))
                .into_response(),
        }
    };
    if let Some(a) = allow {
        out.headers_mut().insert(header::ALLOW, a);
    }
    if let Some(r) = retry_after {
        out.headers_mut().insert(header::RETRY_AFTER, r);
    }
    out
}

/// Paths that accept file uploads (Postfach replies, steps of applications, claims
/// with their notices) get
/// `upload_limit`; everything else `body_limit`.
const UPLOAD_PATHS: &[&str] =
    &["/konto/postfach/", "/verwaltung/antraege/", "/api/v1/antraege/", "/api/v1/forderungen"];

/// Back-office uploads under an authority's path: bank statements (camt.053, up to
/// 20 MB) and claims files.
const UPLOAD_SUFFIXES: &[&str] = &["/zahlungen/kontoauszuege", "/zahlungen/forderungen"];

/// Caps the request body: a declared length over the limit is refused at once (413),
/// and a body that turns out longer while streaming fails when it crosses the limit,
/// so nothing beyond the limit is ever buffered.
async fn limit_body(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let limit = if UPLOAD_PATHS.iter().any(|p| path.starts_with(p))
        || (path.starts_with("/o/") && path.contains("/antrag/"))
        || (path.starts_with("/verwaltung/behoerden/") && UPLOAD_SUFFIXES.iter().any(|s| path.ends_with(s)))
    {
        state.config.upload_limit
    } else {
        state.config.body_limit
    };
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let (parts, body) = req.into_parts();
    let body = axum::body::Body::new(http_body_util::Limited::new(body, limit));
    next.run(Request::from_parts(parts, body)).await
}

/// Request ids `<process prefix>-<counter>`: unique per process start and cheap, unlike
/// a random UUID per request (a system call each).
#[derive(Clone)]
struct RequestIds {
    prefix: std::sync::Arc<str>,
    next: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl RequestIds {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let prefix = format!("{:x}{:x}", nanos & 0xffff_ffff_ffff, std::process::id());
        Self { prefix: prefix.into(), next: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(1)) }
    }
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n}", self.prefix)).ok().map(RequestId::new)
    }
}

#[cfg(test)]
mod tests {
    use super::{CSP, csp_with_form_targets};

    #[test]
    fn only_short_safe_request_ids_are_kept() {
        use axum::http::HeaderValue;
        let ok = |s: &str| super::safe_request_id(&HeaderValue::from_str(s).unwrap());
        assert!(ok("abc-123_X.y"));
        assert!(ok(&"a".repeat(64)));
        assert!(!ok(&"a".repeat(65)));
        assert!(!ok(""));
        for bad in ["a b", "a\"b", "x request_id=forged", "a;b", "a/b", "ä"] {
            assert!(HeaderValue::from_str(bad).is_err() || !ok(bad), "{bad}");
        }
    }

    #[test]
    fn form_targets_widen_only_form_action_and_only_with_plain_origins() {
        let csp = |o: &[&str]| {
            let v: Vec<String> = o.iter().map(|s| (*s).to_owned()).collect();
            csp_with_form_targets(&v).unwrap().to_str().unwrap().to_owned()
        };
        assert_eq!(csp(&[]), CSP);
        let one = csp(&["http://moorbrueck.localhost:8080"]);
        assert!(one.contains("form-action 'self' http://moorbrueck.localhost:8080; frame-ancestors 'none'"), "{one}");
        assert!(one.starts_with("default-src 'self'; script-src 'self';"), "nothing else changes: {one}");
        // Anything that could add a directive or a wildcard is left out.
        for evil in ["http://a.example; script-src *", "*", "javascript:x", "https://", "http://a b"] {
            assert_eq!(csp(&[evil]), CSP, "{evil}");
        }
        assert_eq!(csp(&["https://id.example", "https://id.example"]), csp(&["https://id.example"]));
    }
}
