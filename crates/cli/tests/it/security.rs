//! Security baseline on every response, limits and error handling.

use crate::on_each_backend;
use axum::body::Body;
use axum::http::{Request, header};

fn assert_security_headers(r: &crate::support::Reply, what: &str) {
    let csp =
        r.headers.get(header::CONTENT_SECURITY_POLICY).unwrap_or_else(|| panic!("{what}: no CSP")).to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}");
    assert_eq!(r.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{what}");
    assert!(r.headers.contains_key(header::REFERRER_POLICY), "{what}");
    assert!(r.headers.contains_key("x-request-id"), "{what}: request id");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    on_each_backend!(|app| {
        for path in [
            "/",
            "/o/moorbrueck/",
            "/static/amtsweg.css",
            "/static/nope.css",
            "/healthz",
            "/gibt-es-nicht",
            "/api/v1/suche?q=x",
            "/ort?ort=Hamburg",
        ] {
            let r = app.get(path).await;
            assert_security_headers(&r, path);
        }
        let r = app.get_with("/", "unbekannt.example", None).await;
        assert_security_headers(&r, "unknown host");
        assert!(
            !app.get("/").await.headers.contains_key(header::STRICT_TRANSPORT_SECURITY),
            "no HSTS on plain-HTTP demo"
        );
    });
}

#[tokio::test]
async fn hsts_is_sent_when_configured() {
    let t = amtsweg_store::testing::sqlite().await;
    let cfg = amtsweg_web::WebConfig { hsts_max_age: 31_536_000, ..Default::default() };
    let state = amtsweg_web::AppState::new(t.store.clone(), cfg, amtsweg::printer()).await.unwrap();
    let app = amtsweg_web::router(state);
    let resp = tower::ServiceExt::oneshot(
        app,
        Request::get("/gibt-es-nicht").header("host", "localhost").body(Body::empty()).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(resp.headers()[header::STRICT_TRANSPORT_SECURITY], "max-age=31536000; includeSubDomains");
    t.cleanup().await;
}

#[tokio::test]
async fn oversized_requests_get_413_with_a_page() {
    on_each_backend!(|app| {
        let big = vec![b'x'; 3 * 1024 * 1024];
        let req = Request::post("/suche")
            .header(header::HOST, "localhost")
            .header(header::CONTENT_LENGTH, big.len())
            .body(Body::from(big))
            .unwrap();
        let r = app.request(req).await;
        assert_eq!(r.status, 413);
        assert!(r.body.contains("Anfrage zu groß"));
        assert_security_headers(&r, "413");
    });
}

#[tokio::test]
async fn errors_show_no_internals() {
    on_each_backend!(|app| {
        let r = app.request(Request::delete("/").header(header::HOST, "localhost").body(Body::empty()).unwrap()).await;
        assert_eq!(r.status, 405);
        assert!(r.body.contains("Aktion nicht möglich"));
        let r = app.get("/api/v1/nope").await;
        assert_eq!(r.status, 404);
        assert!(r.headers["content-type"].to_str().unwrap().contains("problem+json"));
        // With the database gone, pages still come from the snapshot and health says so.
        app.store.store.close().await;
        let h = app.get("/healthz").await;
        assert_eq!(h.status, 503);
        assert!(!h.body.to_lowercase().contains("sqlx") && !h.body.contains("SELECT"));
        assert_eq!(app.get("/o/moorbrueck/").await.status, 200);
    });
}
