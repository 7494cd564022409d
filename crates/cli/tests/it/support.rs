//! Test helpers: a seeded app per backend and a small request API.

use amtsweg::seed;
use amtsweg_store::testing::{TestStore, both};
use amtsweg_web::{AppState, WebConfig, router};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use tower::ServiceExt;

pub struct TestApp {
    pub state: AppState,
    pub app: Router,
    pub store: TestStore,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
    /// All `name=value` pairs this reply sets (for a simple cookie jar).
    pub fn cookies(&self) -> Vec<(String, String)> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    pub fn cookie(&self) -> String {
        self.headers
            .get(header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .unwrap_or_default()
            .to_owned()
    }
}

/// The demo Verbund on every available backend.
pub async fn apps() -> Vec<TestApp> {
    apps_with(WebConfig::default()).await
}

/// The demo Verbund on every available backend, with this web configuration.
pub async fn apps_with(config: WebConfig) -> Vec<TestApp> {
    // AMTSWEG_TEST_LOG=warn (or any filter) shows the server's log lines in a test.
    if let Ok(filter) = std::env::var("AMTSWEG_TEST_LOG") {
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    }
    let mut out = Vec::new();
    for t in both().await {
        seed::apply(&t.store, &seed::parse(seed::DEMO).unwrap()).await.unwrap();
        amtsweg::staff::seed_demo(&t.store).await.unwrap();
        let state = AppState::new(t.store.clone(), config.clone(), amtsweg::printer()).await.unwrap();
        out.push(TestApp { app: router(state.clone()), state, store: t });
    }
    out
}

impl TestApp {
    /// The id of a demo authority.
    pub async fn authority_id(&self, slug: &str) -> i64 {
        self.store.store.authority_by_slug(slug).await.unwrap().unwrap().id
    }

    /// The id of a demo org unit by its name.
    pub async fn org_unit_id(&self, authority: &str, name: &str) -> i64 {
        let a = self.authority_id(authority).await;
        self.store.store.org_units(a).await.unwrap().into_iter().find(|o| o.name == name).unwrap().id
    }

    pub async fn request(&self, req: Request<Body>) -> Reply {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), 8 * 1024 * 1024).await.unwrap();
        Reply { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.get_with(path, "127.0.0.1:8080", None).await
    }

    pub async fn get_with(&self, path: &str, host: &str, cookie: Option<&str>) -> Reply {
        let mut b = Request::get(path).header(header::HOST, host);
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        self.request(b.body(Body::empty()).unwrap()).await
    }

    /// POSTs a form as a browser on this host would (with `Origin`).
    pub async fn post_form(&self, path: &str, body: &str, cookie: &str) -> Reply {
        self.post_form_with(path, body, cookie, Some("http://localhost")).await
    }

    pub async fn post_form_with(&self, path: &str, body: &str, cookie: &str, origin: Option<&str>) -> Reply {
        let mut b = Request::post(path)
            .header(header::HOST, "localhost")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, cookie);
        if let Some(o) = origin {
            b = b.header(header::ORIGIN, o);
        }
        self.request(b.body(Body::from(body.to_owned())).unwrap()).await
    }

    /// POSTs `multipart/form-data` as a browser would: text fields, then one file.
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
        cookie: &str,
    ) -> Reply {
        let boundary = "----amtsweg-test-boundary";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        let (field, file_name, bytes) = file;
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let req = Request::post(path)
            .header(header::HOST, "localhost")
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
            .header(header::COOKIE, cookie)
            .header(header::ORIGIN, "http://localhost")
            .body(Body::from(body))
            .unwrap();
        self.request(req).await
    }

    pub fn name(&self) -> &'static str {
        self.store.name
    }

    pub async fn cleanup(self) {
        self.store.cleanup().await;
    }
}

/// Runs `f` against the demo Verbund on each backend.
#[macro_export]
macro_rules! on_each_backend {
    (config = $config:expr, |$app:ident| $body:block) => {
        for $app in $crate::support::apps_with($config).await {
            eprintln!("backend: {}", $app.name());
            {
                let $app = &$app;
                $body
            }
            $app.cleanup().await;
        }
    };
    (|$app:ident| $body:block) => {
        for $app in $crate::support::apps().await {
            eprintln!("backend: {}", $app.name());
            {
                let $app = &$app;
                $body
            }
            $app.cleanup().await;
        }
    };
}

/// Held by tests that must not overlap: the browser run (Chromium takes both cores)
/// and the tests that assert a deadline ("within a second").
pub static EXCLUSIVE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The browser test folder when Chromium and `npm ci` in tests/browser are there.
/// Otherwise the calling test is skipped with a message naming `what`; with CI=true
/// missing parts fail it.
pub fn browser_tools(what: &str) -> Option<std::path::PathBuf> {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    let chromium = std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let ready = dir.join("node_modules/playwright-core").is_dir()
        && dir.join("node_modules/axe-core").is_dir()
        && std::path::Path::new(&chromium).exists();
    if ready {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "browser tests need `npm ci` in tests/browser and {chromium} (CI=true)"
    );
    eprintln!("SKIPPED {what}: run `npm ci` in tests/browser and install chromium");
    None
}
