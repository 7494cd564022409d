//! Reliability of the submission path and the hand-off under crashes and broken
//! receivers, on SQLite and PostgreSQL, with the real binary (issue 6, item 7):
//!
//! * the server is killed with SIGKILL 20 times while eight browsers submit
//!   applications (some with a PDF attached): every acknowledged receipt exists exactly
//!   once with its attachment byte for byte, and every delivery reaches a counting
//!   webhook receiver with exactly one effect;
//! * a receiver that is down, answers 500 or 429, hangs, or takes the request and then
//!   resets the connection gets everything with one effect each once it recovers, while
//!   another authority's deliveries keep flowing and a restart in the middle of the
//!   retries loses nothing.
//!
//! The receiver is a raw TCP server, not axum: "take the request, then reset the
//! connection" needs control below HTTP. It counts effects the way a real back office
//! must: once per `Idempotency-Key`.

use crate::support::EXCLUSIVE;
use crate::verwaltung::{enc, hidden};
use amtsweg_store::Store;
use amtsweg_store::casework::InboxFilter;
use amtsweg_store::handoff::{NewConnector, ReconciliationRow};
use amtsweg_store::submissions::SubmissionRow;
use amtsweg_store::testing::{TestStore, both};
use amtsweg_web::crypto::Keyring;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const BRIEFWAHL: &str = "/o/moorbrueck/antrag/briefwahl/";
const OSTERFEUER: &str = "/o/moorbrueck/antrag/osterfeuer/";
/// Created by [`setup`]: the demo has no form of another authority at trust level
/// "normal" (the Samtgemeinde's Gewerbeanmeldung needs an eID).
const BRIEFWAHL_HEIDELAND: &str = "/o/sg-heideland/antrag/briefwahl/";
/// Shared secret of the test webhooks.
const SECRET: &str = "zuverlaessigkeit-0123456789abcdefghij";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A small xorshift generator: the kill timing varies per run, the seed is printed.
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
        eprintln!("random seed {seed}");
        Self(seed)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    openssl::sha::sha256(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Polls `check` until it holds; panics with `what` after `limit`.
async fn eventually(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------
// The server process

/// `amtsweg serve` as a child process; killed (SIGKILL) on drop.
struct Server {
    child: Option<Child>,
    config: PathBuf,
    log: PathBuf,
    port: u16,
}

impl Server {
    async fn start(s: &Setup) -> Self {
        let mut server = Self { child: None, config: s.config.clone(), log: s.log.clone(), port: s.port };
        server.spawn().await;
        server
    }

    async fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_amtsweg"))
            .args(["serve", "--config", self.config.to_str().unwrap()])
            .env("AMTSWEG_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let child = self.child.insert(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).await.is_err() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the server ended ({status}):\n{}", std::fs::read_to_string(&self.log).unwrap_or_default());
            }
            assert!(Instant::now() < deadline, "the server did not start listening");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL (what `Child::kill` sends on Unix): no shutdown code runs.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            eprintln!("server log (last lines):\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
        }
    }
}

/// A seeded database with webhook connectors, and the server's configuration.
struct Setup {
    t: TestStore,
    /// The data directory for PostgreSQL (uploaded files); SQLite uses the store's.
    _objects: Option<tempfile::TempDir>,
    config: PathBuf,
    log: PathBuf,
    port: u16,
    moorbrueck: i64,
    heideland: i64,
    /// Authority id → its webhook connector.
    connectors: HashMap<i64, i64>,
}

impl Setup {
    fn store(&self) -> &Store {
        &self.t.store
    }

    /// The `Idempotency-Key` the worker sends for a submission of `authority`.
    fn key(&self, authority: i64, submission: i64) -> String {
        format!("amtsweg-{authority}-{submission}-{}", self.connectors[&authority])
    }

    async fn submission(&self, token: &str) -> SubmissionRow {
        self.store().submission_by_token(token).await.unwrap().unwrap_or_else(|| panic!("no submission {token}"))
    }

    async fn deliveries(&self, authority: i64) -> Vec<ReconciliationRow> {
        self.store().reconciliation(authority, 0, i64::MAX).await.unwrap()
    }

    async fn all_delivered(&self, authority: i64) -> bool {
        self.deliveries(authority).await.iter().all(|r| r.status.as_deref() == Some("delivered"))
    }
}

/// Seeds the demo Verbund into `t`, adds a Briefwahl form for the Samtgemeinde
/// Heideland and a webhook connector per `(authority slug, receiver port)`, and
/// writes the server's configuration (with `handoff`, the `[handoff]` table).
async fn setup(t: TestStore, receivers: &[(&str, u16)], handoff: &str) -> Setup {
    let store = t.store.clone();
    amtsweg::seed::apply(&store, &amtsweg::seed::parse(amtsweg::seed::DEMO).unwrap()).await.unwrap();
    let id = async |slug: &str| store.authority_by_slug(slug).await.unwrap().unwrap().id;
    let (moorbrueck, heideland) = (id("moorbrueck").await, id("sg-heideland").await);

    let leistung = store.leistung(heideland, "briefwahl").await.unwrap().unwrap();
    let form: amtsweg_forms::Form = serde_json::from_str(include_str!("../../demo/forms/briefwahl.json")).unwrap();
    let mut tx = store.begin().await.unwrap();
    let slug = amtsweg_domain::Slug::parse("briefwahl").unwrap();
    let form_id = tx.create_form(heideland, &slug, Some(leistung.id), &form, None).await.unwrap();
    tx.publish_form(heideland, form_id, 1, None).await.unwrap();
    tx.commit().await.unwrap();

    // The connector settings are sealed as the portal seals them, with the master key
    // the server is given below.
    let master = Keyring::new_master_key();
    let keyring = Keyring::from_base64(&master).unwrap();
    let mut connectors = HashMap::new();
    for (slug, port) in receivers {
        let authority = id(slug).await;
        let json = serde_json::json!({ "url": format!("http://127.0.0.1:{port}/eingang"), "secret": SECRET });
        let sealed = keyring
            .seal(&store, &format!("authority:{authority}"), "connector:config", json.to_string().as_bytes())
            .await
            .unwrap();
        let mut tx = store.begin().await.unwrap();
        let c = tx
            .insert_connector(&NewConnector {
                authority_id: authority,
                form_id: None,
                kind: "webhook",
                name: "Fachverfahren (Test)",
                config: &sealed,
            })
            .await
            .unwrap();
        tx.commit().await.unwrap();
        connectors.insert(authority, c);
    }

    let objects = t.dir.is_none().then(|| tempfile::tempdir().unwrap());
    let data = t.dir.as_ref().or(objects.as_ref()).unwrap().path().to_owned();
    let port = free_port();
    let mut cfg = format!("data_dir = {:?}\nlisten = \"127.0.0.1:{port}\"\n", data.to_str().unwrap());
    if let Some(url) = t.postgres_url() {
        cfg.push_str(&format!("database_url = {url:?}\n"));
    }
    cfg.push_str(&format!(
        "[web]\nmaster_key = {master:?}\npublic_base_url = \"http://127.0.0.1:{port}\"\n\
         [mail]\ntransport = \"none\"\n[handoff]\n{handoff}\n"
    ));
    let config = data.join("amtsweg-test.toml");
    std::fs::write(&config, cfg).unwrap();
    let log = data.join("server.log");
    Setup { t, _objects: objects, config, log, port, moorbrueck, heideland, connectors }
}

// ---------------------------------------------------------------------------------
// A browser without JavaScript, over real HTTP

/// One browser: its own cookies (`__Host-` cookies are `Secure`, which no client
/// stores over plain HTTP, so they are carried by hand).
struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: Vec<(String, String)>,
}

struct Page {
    status: u16,
    location: String,
    body: String,
}

impl Browser {
    fn new(port: u16) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            // A connection to a killed server must not be reused.
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        Self { http, base: format!("http://127.0.0.1:{port}"), cookies: Vec::new() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Result<Page, reqwest::Error> {
        let req = if self.cookies.is_empty() { req } else { req.header("cookie", self.cookie_header()) };
        let resp = req.send().await?;
        for v in resp.headers().get_all("set-cookie") {
            let Some((k, v)) = v.to_str().ok().and_then(|v| v.split(';').next()).and_then(|kv| kv.split_once('='))
            else {
                continue;
            };
            self.cookies.retain(|(n, _)| n != k);
            if !v.is_empty() {
                self.cookies.push((k.to_owned(), v.to_owned()));
            }
        }
        let status = resp.status().as_u16();
        let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        Ok(Page { status, location, body: resp.text().await? })
    }

    async fn get(&mut self, path: &str) -> Result<Page, reqwest::Error> {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    async fn post(&mut self, path: &str, body: String) -> Result<Page, reqwest::Error> {
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("origin", &self.base)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(req).await
    }

    async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        (field, file_name, bytes): (&str, &str, &[u8]),
    ) -> Result<Page, reqwest::Error> {
        let boundary = "----amtsweg-reliability";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\n\
                 Content-Type: application/pdf\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("origin", &self.base)
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body);
        self.send(req).await
    }
}

// ---------------------------------------------------------------------------------
// Application journeys

/// An acknowledged submission: the final POST was answered with a redirect to the
/// receipt.
struct Ack {
    token: String,
    receipt_url: String,
    cookie: String,
    /// The number the receipt page showed (None when the page could not be fetched
    /// before the next crash; it is fetched again at the end).
    number: Option<String>,
}

/// What the browsers did.
#[derive(Default)]
struct Load {
    /// Form token → the attachment uploaded under it (None: none).
    started: HashMap<String, Option<Vec<u8>>>,
    acks: Vec<Ack>,
    /// Journeys cut off by a crash before their final POST was acknowledged.
    abandoned: u32,
    /// Final POSTs that met a crash and were sent again with the same form token.
    resent: u32,
    /// Answers no crash explains (wrong status codes); must stay empty.
    problems: Vec<String>,
}

/// Why a journey ended without a receipt.
enum Cut {
    /// The server was not there when the journey began (it is being restarted).
    Down,
    /// The connection failed mid-journey (the server was killed).
    Crash,
    /// An answer no crash explains.
    Problem(String),
}

fn want(step: &str, r: Result<Page, reqwest::Error>, status: u16) -> Result<Page, Cut> {
    match r {
        Ok(p) if p.status == status => Ok(p),
        Ok(p) => {
            // The error summary if there is one, else the start of the page.
            let at = p.body.find("error-summary").unwrap_or(0);
            let excerpt: String = p.body[at..].chars().take(400).collect();
            Err(Cut::Problem(format!("{step}: HTTP {} (expected {status}) {} {excerpt}", p.status, p.location)))
        }
        Err(_) => Err(Cut::Crash),
    }
}

/// The first page of a form and its hidden fields as a request body.
async fn first_page(b: &mut Browser, form: &str) -> Result<String, Cut> {
    let page = match b.get(form).await {
        Err(_) => return Err(Cut::Down),
        r => want("start", r, 200)?,
    };
    Ok(format!("csrf={}&token={}", enc(&hidden(&page.body, "csrf")), enc(&hidden(&page.body, "token"))))
}

/// The draft's URL (`…/<token>/`) and token from the redirect after the first step.
fn draft_of(location: &str, step: &str) -> (String, String) {
    let draft = location.strip_suffix(step).unwrap_or_else(|| panic!("{location} ends with {step}")).to_owned();
    let token = draft.trim_end_matches('/').rsplit('/').next().unwrap().to_owned();
    (draft, token)
}

/// A Briefwahl application of `form` (Moorbrück's or Heideland's) up to its receipt.
async fn briefwahl(b: &mut Browser, form: &str, who: &str, resend: bool, load: &Mutex<Load>) -> Result<Ack, Cut> {
    let first = first_page(b, form).await?;
    let body = format!(
        "{first}&aktion=weiter&f.vorname={}&f.familienname=Zuverl%C3%A4ssig&f.geburtsdatum=12.03.1980\
         &f.strasse=Am+Markt+1&f.plz=29391&f.ort=Moorbr%C3%BCck",
        enc(who)
    );
    let r = want("person", b.post(form, body).await, 303)?;
    let (draft, token) = draft_of(&r.location, "versand");
    load.lock().unwrap().started.insert(token.clone(), None);
    let csrf = enc(&hidden(&want("versand", b.get(&r.location).await, 200)?.body, "csrf"));
    let body = format!("csrf={csrf}&aktion=weiter&f.versand=wohnung&f.email={}", enc(&format!("{who}@example.org")));
    want("versand", b.post(&r.location, body).await, 303)?;
    let body = format!("csrf={csrf}&aktion=weiter&f.versicherung=ja");
    want("erklaerung", b.post(&format!("{draft}erklaerung"), body).await, 303)?;
    finish(b, &draft, &csrf, token, resend, load).await
}

/// An Osterfeuer notice with `pdf` as the site plan, up to its receipt.
async fn osterfeuer(b: &mut Browser, who: &str, pdf: Vec<u8>, resend: bool, load: &Mutex<Load>) -> Result<Ack, Cut> {
    let first = first_page(b, OSTERFEUER).await?;
    let body = format!("{first}&aktion=weiter&f.name={}&f.telefon=05191+1&f.email=feuer%40example.org", enc(who));
    let r = want("person", b.post(OSTERFEUER, body).await, 303)?;
    let (draft, token) = draft_of(&r.location, "feuer");
    let csrf = hidden(&want("feuer", b.get(&r.location).await, 200)?.body, "csrf");
    // Known before the upload: a crash during it may still leave the file behind.
    load.lock().unwrap().started.insert(token.clone(), Some(pdf.clone()));
    let fields = [
        ("csrf", csrf.as_str()),
        ("aktion", "weiter"),
        ("f.datum", "24.12.2099"),
        ("f.ort", "Wiese hinter der Mühle"),
        ("f.art", "privat"),
        ("g.brandwache.anzahl", "1"),
        ("g.brandwache.0.name", "Ida Wache"),
        ("g.brandwache.0.telefon", "0151 1"),
    ];
    let r = b.post_multipart(&r.location, &fields, ("f.lageplan", &format!("lageplan-{who}.pdf"), &pdf)).await;
    want("feuer", r, 303)?;
    let csrf = enc(&csrf);
    let body = format!("csrf={csrf}&aktion=weiter&f.versicherung=ja");
    want("erklaerung", b.post(&format!("{draft}erklaerung"), body).await, 303)?;
    finish(b, &draft, &csrf, token, resend, load).await
}

/// The final POST. After a crash a citizen sends it again (reload) — unless `resend`
/// is false: then they gave up, and whatever the server stored stays unacknowledged.
async fn finish(
    b: &mut Browser,
    draft: &str,
    csrf: &str,
    token: String,
    resend: bool,
    load: &Mutex<Load>,
) -> Result<Ack, Cut> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut crashed = false;
    let location = loop {
        match b.post(&format!("{draft}absenden"), format!("csrf={csrf}")).await {
            Ok(p) if p.status == 303 && p.location.contains("/eingang/") => break p.location,
            Ok(p) => {
                let excerpt: String = p.body.chars().take(300).collect();
                return Err(Cut::Problem(format!("absenden: HTTP {} {} {excerpt}", p.status, p.location)));
            }
            Err(_) if resend && Instant::now() < deadline => {
                crashed = true;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(_) if resend => return Err(Cut::Problem(format!("absenden {token}: no answer within a minute"))),
            Err(_) => return Err(Cut::Crash),
        }
    };
    if crashed {
        load.lock().unwrap().resent += 1;
    }
    let number = match b.get(&location).await {
        Ok(p) if p.status == 200 => receipt_number_in(&p.body),
        _ => None,
    };
    Ok(Ack { token, receipt_url: location, cookie: b.cookie_header(), number })
}

/// `MOO-2026-000123` on a receipt page.
fn receipt_number_in(body: &str) -> Option<String> {
    body.match_indices("MOO-").map(|(i, _)| &body[i..]).find_map(|s| {
        let candidate = s.get(..15)?;
        let b = candidate.as_bytes();
        (b[8] == b'-' && b[4..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit)).then(|| candidate.to_owned())
    })
}

/// A number in letters (name fields take no digits): 0 → "a", 27 → "bb".
fn letters(mut n: u32) -> String {
    let mut out = String::new();
    loop {
        out.push(char::from(b'a' + (n % 26) as u8));
        n /= 26;
        if n == 0 {
            return out;
        }
    }
}

/// A PDF of a few KB, different for every call, with every byte value in it.
fn unique_pdf(who: &str) -> Vec<u8> {
    let mut pdf = format!("%PDF-1.4\n% Lageplan {who} {}\n", amtsweg_web::session::random_token()).into_bytes();
    let n = 2048 + (amtsweg_store::now_ms() % 4096) as usize;
    pdf.extend((0..n).map(|i| (i % 256) as u8));
    pdf.extend_from_slice(b"\n%%EOF\n");
    pdf
}

/// One application that must go through (no crash expected); its form token.
async fn submit(port: u16, form: &str, who: &str, pdf: Option<Vec<u8>>) -> String {
    let load = Mutex::new(Load::default());
    let mut b = Browser::new(port);
    let r = match pdf {
        Some(pdf) => osterfeuer(&mut b, who, pdf, true, &load).await,
        None => briefwahl(&mut b, form, who, true, &load).await,
    };
    match r {
        Ok(ack) => ack.token,
        Err(Cut::Down | Cut::Crash) => panic!("{form}: the server did not answer"),
        Err(Cut::Problem(p)) => panic!("{form}: {p}"),
    }
}

// ---------------------------------------------------------------------------------
// The counting receiver

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Mode {
    /// 200 at once.
    Ok,
    /// 500 at once, no effect.
    Fail500,
    /// 429 with `Retry-After: 1`, no effect.
    TooMany,
    /// Takes effect, answers 200 only after 4 s (the sender gave up after 3 s).
    Slow,
    /// Takes effect, then resets the connection without an answer.
    Reset,
}

#[derive(Default)]
struct Seen {
    /// Idempotency key → the mode each request for it met.
    requests: HashMap<String, Vec<Mode>>,
    /// Idempotency key → the body of the request that took effect (one per key: the
    /// receiver deduplicates as a back office must).
    effects: HashMap<String, serde_json::Value>,
    /// Requests for a key that had already taken effect (answered, no second effect).
    repeats: u32,
    /// Requests without a key or with a wrong signature.
    bad: Vec<String>,
}

impl Seen {
    fn count(&self, mode: Mode) -> usize {
        self.requests.values().flatten().filter(|m| **m == mode).count()
    }
}

struct Receiver {
    port: u16,
    mode: Arc<Mutex<Mode>>,
    seen: Arc<Mutex<Seen>>,
    accept: Option<tokio::task::JoinHandle<()>>,
}

impl Receiver {
    /// A receiver on `port`, not yet listening (the port is closed: "down").
    fn new(port: u16) -> Self {
        Self { port, mode: Arc::new(Mutex::new(Mode::Ok)), seen: Arc::default(), accept: None }
    }

    async fn listen(&mut self) {
        if self.accept.is_some() {
            return;
        }
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        let (mode, seen) = (self.mode.clone(), self.seen.clone());
        self.accept = Some(tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                tokio::spawn(answer(stream, mode.clone(), seen.clone()));
            }
        }));
    }

    /// Closes the port: connections are refused.
    async fn close(&mut self) {
        if let Some(task) = self.accept.take() {
            task.abort();
            let _ = task.await;
        }
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap()
    }

    /// (requests, effects, requests for keys that had taken effect already)
    fn stats(&self) -> (usize, usize, u32) {
        let seen = self.seen();
        (seen.requests.values().map(Vec::len).sum(), seen.effects.len(), seen.repeats)
    }
}

/// Reads one HTTP request: (head, body).
async fn read_request(s: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 64 * 1024 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let len: usize = header(&head, "content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = buf.split_off(head_end);
    while body.len() < len {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((head, body))
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// Checks `t=<secs>,v1=<hex>` against the body.
fn signature_ok(sig: &str, body: &[u8]) -> bool {
    let Some((t, _)) = sig.strip_prefix("t=").and_then(|r| r.split_once(',')) else { return false };
    t.parse().ok().and_then(|t| amtsweg_handoff::deliver::signature(SECRET, t, body).ok()).is_some_and(|s| s == sig)
}

async fn answer(mut s: TcpStream, mode: Arc<Mutex<Mode>>, seen: Arc<Mutex<Seen>>) {
    let Some((head, body)) = read_request(&mut s).await else { return };
    let mode = *mode.lock().unwrap();
    let key = header(&head, "idempotency-key").unwrap_or_default().to_owned();
    {
        let mut seen = seen.lock().unwrap();
        if key.is_empty() || !header(&head, "x-amtsweg-signature").is_some_and(|sig| signature_ok(sig, &body)) {
            seen.bad.push(head.clone());
        }
        seen.requests.entry(key.clone()).or_default().push(mode);
        if matches!(mode, Mode::Ok | Mode::Slow | Mode::Reset) {
            match seen.effects.entry(key) {
                std::collections::hash_map::Entry::Occupied(_) => seen.repeats += 1,
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(serde_json::from_slice(&body).unwrap_or_default());
                }
            }
        }
    }
    let reply = |status: &str, extra: &str| {
        format!("HTTP/1.1 {status}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n")
    };
    let reply = match mode {
        Mode::Ok => reply("200 OK", ""),
        Mode::Fail500 => reply("500 Internal Server Error", ""),
        Mode::TooMany => reply("429 Too Many Requests", "Retry-After: 1\r\n"),
        Mode::Slow => {
            tokio::time::sleep(Duration::from_secs(4)).await;
            reply("200 OK", "")
        }
        Mode::Reset => {
            // RST instead of FIN: the sender sees "connection reset", not an answer.
            let _ = s.set_zero_linger();
            return;
        }
    };
    let _ = s.write_all(reply.as_bytes()).await;
    let _ = s.shutdown().await;
}

// ---------------------------------------------------------------------------------
// Checks shared by both tests

/// Every submission of `authority` has exactly one delivery, delivered, and took
/// effect exactly once at `receiver`, which saw nothing else; files given in
/// `expected_files` (form token → bytes) arrive byte for byte.
async fn check_one_effect_each(
    s: &Setup,
    authority: i64,
    receiver: &Receiver,
    expected_files: &HashMap<String, Option<Vec<u8>>>,
) -> Vec<SubmissionRow> {
    let subs = s
        .store()
        .inbox(&InboxFilter { authority_ids: vec![authority], limit: 1_000_000, ..InboxFilter::default() })
        .await
        .unwrap();
    let mut per_submission: BTreeMap<i64, Vec<ReconciliationRow>> = BTreeMap::new();
    for r in s.deliveries(authority).await {
        per_submission.entry(r.submission_id).or_default().push(r);
    }
    assert_eq!(per_submission.len(), subs.len());
    for (id, rows) in &per_submission {
        assert_eq!(rows.len(), 1, "one delivery per submission and connector: {id}");
        assert_eq!(rows[0].connector_id, Some(s.connectors[&authority]));
        assert_eq!(rows[0].status.as_deref(), Some("delivered"), "{id}: {:?}", rows[0].last_error);
    }

    let downloads = {
        let seen = receiver.seen();
        assert!(seen.bad.is_empty(), "requests without key or with a wrong signature: {:?}", seen.bad);
        let keys: HashSet<String> = subs.iter().map(|x| s.key(authority, x.id)).collect();
        let effected: HashSet<String> = seen.effects.keys().cloned().collect();
        assert_eq!(effected, keys, "exactly the stored submissions took effect at the receiver");
        // The receiver counts once per key; one effect per *submission* also needs the key
        // to be stable across attempts and restarts.
        let mut effects_per_submission: HashMap<i64, u32> = HashMap::new();
        for body in seen.effects.values() {
            *effects_per_submission.entry(body["id"].as_i64().unwrap()).or_default() += 1;
        }
        let mut downloads = Vec::new();
        for x in &subs {
            assert_eq!(effects_per_submission.get(&x.id), Some(&1), "one effect for submission {}", x.id);
            let body = &seen.effects[&s.key(authority, x.id)];
            assert_eq!(body["receipt_number"], x.receipt_number.as_str());
            let files = body["files"].as_array().unwrap();
            match expected_files.get(&x.form_token).cloned().flatten() {
                Some(bytes) => {
                    assert_eq!(files.len(), 1, "{}: {body}", x.receipt_number);
                    assert_eq!(files[0]["sha256"], sha256_hex(&bytes));
                    assert_eq!(files[0]["size"], bytes.len());
                    downloads.push((files[0]["url"].as_str().unwrap().to_owned(), bytes));
                }
                None => assert!(files.is_empty(), "{}: {body}", x.receipt_number),
            }
        }
        downloads
    };
    // The signed links in the webhook give back the very bytes uploaded.
    let http = reqwest::Client::new();
    for (url, bytes) in downloads {
        let resp = http.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{url}");
        assert!(resp.bytes().await.unwrap() == bytes, "attachment byte-identical: {url}");
    }
    subs
}

// ---------------------------------------------------------------------------------
// (a) kill -9 during a submission load

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_submission_load_loses_nothing_and_stores_nothing_twice() {
    // Heavy load and timing: not beside the browser run or deadline tests.
    let _exclusive = EXCLUSIVE.lock().await;
    for t in both().await {
        let backend = t.name;
        let started = Instant::now();
        let receiver_port = free_port();
        let mut receiver = Receiver::new(receiver_port);
        receiver.listen().await;
        let s = setup(
            t,
            &[("moorbrueck", receiver_port)],
            "retry_base_ms = 50\nretry_cap_seconds = 1\nmax_attempts = 1000\nrequest_timeout_seconds = 1\npoll_ms = 50",
        )
        .await;
        let mut server = Server::start(&s).await;

        let load = Arc::new(Mutex::new(Load::default()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut clients = tokio::task::JoinSet::new();
        for c in 0..8u32 {
            let (load, stop, port) = (load.clone(), stop.clone(), s.port);
            clients.spawn(async move {
                let mut n = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    let who = format!("{}x{}", letters(c), letters(n));
                    // Every fourth citizen gives up when the final POST fails.
                    let resend = !n.is_multiple_of(4);
                    let mut b = Browser::new(port);
                    let r = if (c + n).is_multiple_of(3) {
                        osterfeuer(&mut b, &who, unique_pdf(&who), resend, &load).await
                    } else {
                        briefwahl(&mut b, BRIEFWAHL, &who, resend, &load).await
                    };
                    {
                        let mut l = load.lock().unwrap();
                        match r {
                            Ok(ack) => l.acks.push(ack),
                            Err(Cut::Down) => {}
                            Err(Cut::Crash) => l.abandoned += 1,
                            Err(Cut::Problem(p)) => l.problems.push(p),
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            });
        }

        let mut rng = Rng::new();
        // 20 kills at least; on a slow moment of the machine more, until the load is
        // big enough to mean something (checked below).
        for kills in 1..=60 {
            tokio::time::sleep(Duration::from_millis(150 + rng.below(450))).await;
            server.restart().await;
            if kills >= 20 && load.lock().unwrap().acks.len() >= 30 {
                break;
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        while let Some(r) = clients.join_next().await {
            r.unwrap();
        }
        let load = std::mem::take(&mut *load.lock().unwrap());
        let load_done = started.elapsed();
        assert!(load.problems.is_empty(), "{backend}: {:#?}", load.problems);

        let moorbrueck = s.moorbrueck;
        eventually("every delivery delivered", Duration::from_secs(60), async || s.all_delivered(moorbrueck).await)
            .await;

        // Every acknowledged receipt exists exactly once, under its number.
        let subs = check_one_effect_each(&s, moorbrueck, &receiver, &load.started).await;
        let by_token: HashMap<&str, &SubmissionRow> = subs.iter().map(|x| (x.form_token.as_str(), x)).collect();
        assert_eq!(by_token.len(), subs.len(), "{backend}: one submission per form token");
        let numbers: HashSet<&str> = subs.iter().map(|x| x.receipt_number.as_str()).collect();
        assert_eq!(numbers.len(), subs.len(), "{backend}: receipt numbers are unique");
        // About 70 on two cores with a debug build.
        assert!(load.acks.len() >= 30, "{backend}: the load was too small to mean much: {}", load.acks.len());
        for ack in &load.acks {
            let x = by_token.get(ack.token.as_str()).unwrap_or_else(|| panic!("{backend}: {} lost", ack.token));
            if let Some(n) = &ack.number {
                assert_eq!(&x.receipt_number, n, "{backend}: the receipt shown is the one stored");
            }
            // The receipt is still there for the citizen after all the crashes.
            let mut b = Browser::new(s.port);
            b.cookies =
                ack.cookie.split("; ").filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.into(), v.into())).collect();
            let page = b.get(&ack.receipt_url).await.unwrap();
            assert_eq!(page.status, 200, "{backend}: {}", ack.receipt_url);
            assert_eq!(receipt_number_in(&page.body).as_deref(), Some(x.receipt_number.as_str()));
        }
        // Nothing stored that no browser sent, and attachments stored exactly once.
        for x in &subs {
            let file = load.started.get(&x.form_token).unwrap_or_else(|| panic!("{backend}: unknown submission"));
            let files = s.store().submission_files(x.id).await.unwrap();
            match file {
                Some(bytes) => {
                    assert_eq!(files.len(), 1, "{backend}: {}", x.receipt_number);
                    assert_eq!(files[0].sha256, sha256_hex(bytes));
                    assert_eq!(files[0].size, bytes.len() as i64);
                }
                None => assert!(files.is_empty(), "{backend}: {}", x.receipt_number),
            }
        }
        // One confirmation e-mail per submission (it is queued in the same commit).
        let mails = s.store().outbox_entries(1_000_000).await.unwrap();
        for x in &subs {
            let n = mails
                .iter()
                .filter(|m| m.payload.contains(&format!("Eingangsbestätigung {}", x.receipt_number)))
                .count();
            assert_eq!(n, 1, "{backend}: confirmations of {}", x.receipt_number);
        }
        let mut sorted: Vec<&str> = numbers.into_iter().collect();
        sorted.sort_unstable();
        let (requests, effects, repeats) = receiver.stats();
        eprintln!(
            "{backend}: 20 kills in {load_done:?}; {} stored, {} acknowledged ({} after resending the final POST), \
             {} journeys cut off; {} webhook requests for {} effects ({} repeats recognised by key); \
             receipt numbers {}..{}; total {:?}",
            subs.len(),
            load.acks.len(),
            load.resent,
            load.abandoned,
            requests,
            effects,
            repeats,
            sorted.first().unwrap_or(&""),
            sorted.last().unwrap_or(&""),
            started.elapsed()
        );
        drop(server);
        receiver.close().await;
        s.t.cleanup().await;
    }
}

// ---------------------------------------------------------------------------------
// (b) broken receivers

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_receivers_recover_with_one_effect_each() {
    // Asserts how quickly the other authority's deliveries arrive.
    let _exclusive = EXCLUSIVE.lock().await;
    for t in both().await {
        let backend = t.name;
        let started = Instant::now();
        let (port_a, port_b) = (free_port(), free_port());
        // Moorbrück's receiver starts down; Heideland's always works.
        let mut broken = Receiver::new(port_a);
        let mut healthy = Receiver::new(port_b);
        healthy.listen().await;
        let s = setup(
            t,
            &[("moorbrueck", port_a), ("sg-heideland", port_b)],
            // Request timeout 3 s (lease 9 s); many attempts, so nothing is parked as dead.
            "retry_base_ms = 50\nretry_cap_seconds = 1\nmax_attempts = 10000\nrequest_timeout_seconds = 3\npoll_ms = 50",
        )
        .await;
        let (moorbrueck, heideland) = (s.moorbrueck, s.heideland);
        let mut server = Server::start(&s).await;
        let mut files = HashMap::new();

        let first = submit(s.port, BRIEFWAHL, "Erste", None).await;
        let first_key = s.key(moorbrueck, s.submission(&first).await.id);
        for (i, mode) in [None, Some(Mode::Fail500), Some(Mode::TooMany), Some(Mode::Slow), Some(Mode::Reset)]
            .into_iter()
            .enumerate()
        {
            let phase = mode.map_or_else(|| "down".to_owned(), |m| format!("{m:?}"));
            match mode {
                None => broken.close().await,
                Some(m) => {
                    broken.set(m);
                    broken.listen().await;
                }
            }
            // New applications for both authorities while Moorbrück's receiver is broken.
            let pdf = (i == 1).then(|| unique_pdf("phase"));
            let token = submit(s.port, BRIEFWAHL, &format!("Moor{}", letters(i as u32)), pdf.clone()).await;
            files.insert(token, pdf);
            // Moorbrück's first delivery meets this failure (again).
            match mode {
                None => {
                    eventually("attempts against the closed port", Duration::from_secs(10), async || {
                        let d = s.store().deliveries_of(moorbrueck, s.submission(&first).await.id).await.unwrap();
                        d[0].attempts >= 2 && d[0].last_error.contains("nicht erreichbar")
                    })
                    .await;
                }
                Some(m) => {
                    eventually(&format!("{phase}: first delivery retried"), Duration::from_secs(15), async || {
                        broken.seen().requests.get(&first_key).is_some_and(|r| r.contains(&m))
                    })
                    .await;
                }
            }
            // While a request to Moorbrück's receiver hangs, Heideland's deliveries flow:
            // submitted right after a hanging request began, delivered long before it
            // times out.
            if mode == Some(Mode::Slow) {
                let before = broken.seen().count(Mode::Slow);
                eventually("a request hangs", Duration::from_secs(10), async || {
                    broken.seen().count(Mode::Slow) > before
                })
                .await;
            }
            submit(s.port, BRIEFWAHL_HEIDELAND, &format!("Heide{}", letters(i as u32)), None).await;
            let submitted = Instant::now();
            eventually(&format!("{phase}: Heideland delivered"), Duration::from_secs(10), async || {
                s.all_delivered(heideland).await
            })
            .await;
            let latency = submitted.elapsed();
            eprintln!("{backend}: {phase}: Heideland delivered {latency:?} after its submission");
            assert!(
                latency < Duration::from_millis(1500),
                "{backend}: {phase}: another authority's delivery waited {latency:?} for Moorbrück's broken receiver"
            );
            let pending = s.deliveries(moorbrueck).await;
            assert!(pending.iter().all(|r| r.status.as_deref() == Some("pending")), "{backend}: {phase}: {pending:#?}");
            // A restart (kill -9) in the middle of the retries.
            if matches!(mode, Some(Mode::TooMany | Mode::Reset)) {
                server.restart().await;
            }
        }
        broken.set(Mode::Ok);
        broken.listen().await;
        eventually("everything delivered after the recovery", Duration::from_secs(60), async || {
            s.all_delivered(moorbrueck).await && s.all_delivered(heideland).await
        })
        .await;

        let mb = check_one_effect_each(&s, moorbrueck, &broken, &files).await;
        let sg = check_one_effect_each(&s, heideland, &healthy, &HashMap::new()).await;
        assert_eq!((mb.len(), sg.len()), (6, 5));
        let modes: HashSet<Mode> = broken.seen().requests[&first_key].iter().copied().collect();
        assert_eq!(modes.len(), 5, "{backend}: the first delivery met every failure: {modes:?}");
        let (requests, effects, repeats) = broken.stats();
        assert!(repeats > 0, "{backend}: deliveries that took effect and failed were sent again");
        for x in &mb {
            let d = s.store().deliveries_of(moorbrueck, x.id).await.unwrap();
            assert!(d[0].attempts > 1 && d[0].last_error.is_empty(), "{backend}: {d:?}");
        }
        eprintln!(
            "{backend}: {} requests to the broken receiver for {} effects ({} repeats recognised by key); {:?}",
            requests,
            effects,
            repeats,
            started.elapsed()
        );
        drop(server);
        broken.close().await;
        healthy.close().await;
        s.t.cleanup().await;
    }
}
