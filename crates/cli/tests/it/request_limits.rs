//! Request-level limits of the real binary (issue 18): a flood of form fields is
//! refused at once while others are served, slow clients are cut off, client request
//! ids and `Host` headers are checked — and, on the router, queries cannot fill the
//! page cache.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const OSTERFEUER: &str = "/o/moorbrueck/antrag/osterfeuer/";

/// `amtsweg demo` on a free port, with its log in a file; killed on drop.
struct Demo {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Demo {
    /// Starts the demo with these extra environment variables (`AMTSWEG_…`).
    async fn start(env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = dir.path().join("server.log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_amtsweg"));
        cmd.args(["--data-dir", dir.path().join("daten").to_str().unwrap(), "demo", "--port", &port.to_string()])
            .env("AMTSWEG_LOG", "info,sqlx=warn,tantivy=warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            // Listening is not enough: the demo seeds first, then serves.
            if let Ok(Some(r)) =
                tokio::time::timeout(Duration::from_secs(5), try_exchange(port, &get("/healthz"))).await
                && r.status == 200
            {
                break;
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the demo ended ({status}):\n{}", std::fs::read_to_string(&log).unwrap_or_default());
            }
            assert!(Instant::now() < deadline, "the demo did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { child, port, log, _dir: dir }
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response read until the server closed the connection.
struct Raw {
    status: u16,
    head: String,
    body: String,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then_some(v.trim())
        })
    }

    fn cookies(&self) -> String {
        self.head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .filter_map(|(_, v)| v.trim().split(';').next())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").into_bytes()
}

/// Sends `request` on a new connection (writing and reading at once, so a refusal
/// is read while the body is still being sent) and reads until the server closes.
async fn exchange(port: u16, request: &[u8]) -> Raw {
    try_exchange(port, request).await.expect("the server accepts connections")
}

/// [`exchange`], or `None` when nothing listens.
async fn try_exchange(port: u16, request: &[u8]) -> Option<Raw> {
    let stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let (mut r, mut w) = stream.into_split();
    let read = async {
        let mut out = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            match r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        out
    };
    // The write half stays open until the answer is read: a half-closed connection
    // ends the request.
    let (_, out) = tokio::join!(async { w.write_all(request).await.is_ok() }, read);
    drop(w);
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Some(Raw { status, head: head.to_owned(), body: body.to_owned() })
}

fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker).unwrap_or_else(|| panic!("no {name} field in {body}")) + marker.len();
    body[start..].split('"').next().unwrap().to_owned()
}

fn post(demo: &Demo, path: &str, cookies: &str, body: &str) -> Vec<u8> {
    let host = demo.host();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\nCookie: {cookies}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body.as_bytes());
    req
}

/// The first page of the Osterfeuer form: its cookies and the fields to send it back.
async fn first_page(demo: &Demo) -> (String, String) {
    let host = demo.host();
    let page = exchange(
        demo.port,
        format!("GET {OSTERFEUER} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let fields = format!("csrf={}&token={}&aktion=weiter", hidden(&page.body, "csrf"), hidden(&page.body, "token"));
    (page.cookies(), fields)
}

/// 100,000 unknown fields, 1.1 MB: what took the server 7 s per request.
fn flood(fields: &str) -> String {
    let mut body = fields.to_owned();
    for i in 0..100_000 {
        body.push_str(&format!("&x{i}=1"));
    }
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_form_fields_is_refused_at_once_while_others_are_served() {
    let demo = Demo::start(&[]).await;
    let mut floods = Vec::new();
    for _ in 0..3 {
        let (cookies, fields) = first_page(&demo).await;
        floods.push(post(&demo, OSTERFEUER, &cookies, &flood(&fields)));
    }
    let port = demo.port;
    let sent: Vec<_> = floods
        .into_iter()
        .map(|req| {
            tokio::spawn(async move {
                let started = Instant::now();
                let r = tokio::time::timeout(Duration::from_secs(60), exchange(port, &req)).await.unwrap();
                (r, started.elapsed())
            })
        })
        .collect();
    // While the floods are on their way, the server keeps answering others at once.
    let mut slowest = Duration::ZERO;
    for _ in 0..5 {
        let started = Instant::now();
        let health = tokio::time::timeout(Duration::from_secs(60), exchange(port, &get("/healthz"))).await.unwrap();
        slowest = slowest.max(started.elapsed());
        assert_eq!(health.status, 200);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for handle in sent {
        let (r, took) = handle.await.unwrap();
        assert_eq!(r.status, 400, "{}", r.head);
        assert!(r.body.contains("Deshalb wurde nichts übernommen"), "a German explanation: {}", r.body);
        assert!(took < Duration::from_millis(500), "refused within milliseconds, took {took:?}");
    }
    assert!(slowest < Duration::from_millis(200), "/healthz answered in {slowest:?} during the floods");
}

#[tokio::test]
async fn a_refused_step_keeps_what_the_citizen_saved() {
    let demo = Demo::start(&[]).await;
    let (cookies, fields) = first_page(&demo).await;
    let first = format!("{fields}&f.name=Sch%C3%BCtzenverein&f.telefon=05191+12345&f.email=feuer%40example.org");
    let r = exchange(demo.port, &post(&demo, OSTERFEUER, &cookies, &first)).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let next = r.header("location").unwrap().to_owned();
    let person = next.rsplit_once('/').map(|(draft, _)| format!("{draft}/person")).unwrap();
    let host = demo.host();
    let page = exchange(
        demo.port,
        format!("GET {person} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookies}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await;
    assert!(page.body.contains("value=\"Schützenverein\""), "{}", page.body);
    let csrf = hidden(&page.body, "csrf");
    // Many inputs, each short: over the count, under the size.
    let mut many = format!("csrf={csrf}&aktion=weiter&f.name=Anders");
    for i in 0..200 {
        many.push_str(&format!("&x{i}=1"));
    }
    for body in [many, flood(&format!("csrf={csrf}&aktion=weiter&f.name=Anders"))] {
        let r = exchange(demo.port, &post(&demo, &person, &cookies, &body)).await;
        assert_eq!(r.status, 400, "{}", r.head);
        assert!(r.body.contains("was Sie vorher gespeichert haben, bleibt erhalten"), "{}", r.body);
    }
    let page = exchange(
        demo.port,
        format!("GET {person} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookies}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await;
    assert!(page.body.contains("value=\"Schützenverein\""), "the saved answer is still there: {}", page.body);
}

/// Waits until the server closes `s` (or `limit` passes); returns the time it took
/// and what was read.
async fn closed_after(s: &mut TcpStream, limit: Duration) -> (Duration, Vec<u8>) {
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), s.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return (started.elapsed(), got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!("still open after {limit:?}; read so far: {}", String::from_utf8_lossy(&got)),
        }
    }
}

#[tokio::test]
async fn slow_clients_are_cut_off() {
    let demo = Demo::start(&[
        ("AMTSWEG_WEB__CONNECTIONS__HEADER_SECONDS", "1"),
        ("AMTSWEG_WEB__CONNECTIONS__BODY_SECONDS", "1"),
        ("AMTSWEG_WEB__CONNECTIONS__IDLE_SECONDS", "3"),
    ])
    .await;
    let limit = Duration::from_secs(6);
    let connect = || TcpStream::connect(("127.0.0.1", demo.port));

    // Nothing at all.
    let mut silent = connect().await.unwrap();
    let (took, _) = closed_after(&mut silent, limit).await;
    assert!(took < Duration::from_millis(2500), "silent connection closed after {took:?}");

    // Half a header line.
    let mut half = connect().await.unwrap();
    half.write_all(b"GET /healthz HT").await.unwrap();
    let (took, _) = closed_after(&mut half, limit).await;
    assert!(took < Duration::from_millis(2500), "half a head closed after {took:?}");

    // A body that stops: answered and closed after the body timeout.
    let (cookies, fields) = first_page(&demo).await;
    let mut partial = connect().await.unwrap();
    let body = format!("{fields}&f.name={}", "x".repeat(5000));
    let request = post(&demo, OSTERFEUER, &cookies, &body);
    // The head and the first part of the body; the rest never comes.
    partial.write_all(&request[..request.len() - body.len() + fields.len()]).await.unwrap();
    let (took, answer) = closed_after(&mut partial, limit).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(took < Duration::from_millis(3000), "partial body closed after {took:?}");
    assert!(answer.starts_with("HTTP/1.1 4"), "the client is told: {answer}");

    // A kept-alive connection may wait longer than a head may take, but not forever.
    let mut idle = BufReader::new(connect().await.unwrap());
    idle.get_mut().write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.unwrap();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        idle.read_line(&mut line).await.unwrap();
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap();
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0u8; length];
    idle.read_exact(&mut body).await.unwrap();
    let (took, _) = closed_after(idle.get_mut(), limit).await;
    assert!(took > Duration::from_millis(2000), "kept alive past the header time, closed after {took:?}");
    assert!(took < Duration::from_millis(4500), "idle connection closed after {took:?}");

    // And the server still serves.
    assert_eq!(exchange(demo.port, &get("/healthz")).await.status, 200);
}

fn with_request_id(path: &str, host: &str, id: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nX-Request-Id: {id}\r\nConnection: close\r\n\r\n").into_bytes()
}

#[tokio::test]
async fn client_request_ids_are_kept_only_when_short_and_plain() {
    let demo = Demo::start(&[]).await;
    let r = exchange(demo.port, &with_request_id("/healthz", "127.0.0.1", "abc-123.X_y")).await;
    assert_eq!(r.header("x-request-id"), Some("abc-123.X_y"), "a plain id is kept");

    let long = "a".repeat(60 * 1024);
    let forged = "x\" request_id=forged user=\"admin";
    for id in [long.as_str(), forged, "zwei worte"] {
        // An unknown host: an error page and a log line inside the request's span.
        let r = exchange(demo.port, &with_request_id("/", "unbekannt.example", id)).await;
        assert_eq!(r.status, 404);
        let echoed = r.header("x-request-id").unwrap();
        assert!(
            echoed != id && echoed.len() <= 64,
            "a new id instead of {}…: {}…",
            &id[..20],
            &echoed[..echoed.len().min(80)]
        );
        assert!(r.body.contains(echoed), "the error page names the new id");
        assert!(!r.body.contains(id), "not shown on the error page");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = demo.log();
    assert!(log.contains("request for an unknown host"), "the log has the lines: {log}");
    assert!(!log.contains("forged") && !log.contains("zwei worte") && !log.contains(&long[..100]), "{log}");
}

#[tokio::test]
async fn host_headers_are_unambiguous_and_plain() {
    let demo = Demo::start(&[]).await;
    let port = demo.port;
    let two = exchange(
        port,
        format!(
            "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: moorbrueck.localhost:{port}\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .await;
    assert_eq!(two.status, 400, "{}", two.head);

    let unknown = exchange(
        port,
        format!("GET / HTTP/1.1\r\nHost: unbekannt.example:{port}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.body.contains("/o/moorbrueck/"), "the 404 lists the portals");
    let mut raw = b"GET / HTTP/1.1\r\nHost: ".to_vec();
    raw.extend_from_slice("moorbrück.localhost".as_bytes());
    raw.extend_from_slice(format!(":{port}\r\nConnection: close\r\n\r\n").as_bytes());
    let non_ascii = exchange(port, &raw).await;
    assert_eq!(non_ascii.status, 404, "treated like an unknown host: {}", non_ascii.head);
    assert!(non_ascii.body.contains("/o/moorbrueck/"), "the same list of portals");
    // Bytes that are no UTF-8 at all, and a Kelvin sign that Unicode lower-cases to `k`.
    for host in [&b"\xff\xfe.example"[..], "\u{212a}reis.localhost".as_bytes()] {
        let mut raw = b"GET / HTTP/1.1\r\nHost: ".to_vec();
        raw.extend_from_slice(host);
        raw.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
        assert_eq!(exchange(port, &raw).await.status, 404);
    }
}

#[tokio::test]
async fn queries_do_not_fill_the_page_cache() {
    let apps = crate::support::apps().await;
    let app = apps.first().unwrap();
    let page = "/o/moorbrueck/leistungen/";
    let plain = app.get(page).await;
    assert_eq!(plain.status, 200);
    let cached = app.state.cached_pages();
    assert!(cached > 0);
    for i in 0..50 {
        let r = app.get(&format!("{page}?x={i}")).await;
        assert_eq!(r.status, 200);
        assert!(r.body.contains("<h1"), "the same page");
    }
    assert_eq!(app.state.cached_pages(), cached, "queries add no entries that could evict the real pages");
    for app in apps {
        app.cleanup().await;
    }
}
