//! The demo's simulated BundID ("Test-BundID – nur Demo", issue 21 point 1) in the
//! real binary, driven like a browser without JavaScript: portal → simulation →
//! portal, every form read from the HTML. Signing in at "hoch" opens the
//! Meldebescheinigung; "normal" does not get past its gate; cancelling is explained;
//! a replayed answer is refused; and `serve` on the same data knows none of it.

use crate::binary::{free_port, start_demo};
use std::collections::BTreeMap;
use std::time::Duration;

/// A browser without JavaScript: cookies by name, no redirects followed.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: BTreeMap<String, String>,
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
            .build()
            .unwrap();
        Self { http, base: format!("http://127.0.0.1:{port}"), cookies: BTreeMap::new() }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", self.base) }
    }

    async fn take(&mut self, r: reqwest::Response) -> Page {
        for c in r.headers().get_all("set-cookie") {
            let pair = c.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            if v.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        let status = r.status().as_u16();
        let location = r.headers().get("location").map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default();
        Page { status, location, body: r.text().await.unwrap() }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn get(&mut self, path: &str) -> Page {
        let r = self.http.get(self.url(path)).header("cookie", self.cookie_header()).send().await.unwrap();
        self.take(r).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body: String = fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&");
        let r = self
            .http
            .post(self.url(path))
            .header("cookie", self.cookie_header())
            .header("origin", &self.base)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        self.take(r).await
    }
}

fn enc(s: &str) -> String {
    crate::verwaltung::enc(s)
}

fn unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&#x27;", "'")
}

/// The value of the (hidden) field `name`.
fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let v = html.split(&marker).nth(1).unwrap_or_else(|| panic!("no {name} in {html}")).split('"').next().unwrap();
    unescape(v)
}

/// The action of the form whose opening tag contains `marker`.
fn form_action(html: &str, marker: &str) -> String {
    let form = html
        .split("<form ")
        .find(|f| f.split('>').next().unwrap().contains(marker))
        .unwrap_or_else(|| panic!("no form with {marker} in {html}"));
    unescape(form.split("action=\"").nth(1).unwrap().split('"').next().unwrap())
}

/// The outcome of one trip through the simulation: the answer the page carried and
/// the portal's reply to it.
struct Trip {
    response: String,
    relay: String,
    acs: String,
    reply: Page,
}

/// From the portal's hand-over page (`start` answered it) through the simulation,
/// choosing `person` at `niveau` (or cancelling), back to the portal's ACS.
async fn through_simulation(b: &mut Browser, start: &str, person: &str, niveau: &str, aktion: &str) -> Trip {
    let hand_over = b.get(start).await;
    assert_eq!(hand_over.status, 200, "{}", hand_over.body);
    assert!(hand_over.body.contains("Test-BundID – nur Demo"), "{}", hand_over.body);
    let sso = form_action(&hand_over.body, "data-autosubmit");
    assert!(sso.ends_with("/demo-bundid/sso"), "{sso}");
    let request = field(&hand_over.body, "SAMLRequest");
    let relay = field(&hand_over.body, "RelayState");
    let choose = b.post(&sso, &[("SAMLRequest", &request), ("RelayState", &relay)]).await;
    assert_eq!(choose.status, 200, "{}", choose.body);
    for text in [
        "Simulation – keine echte BundID, nur für die Demo",
        "<legend>Als wer möchten Sie sich anmelden?</legend>",
        "<legend>Mit welchem Vertrauensniveau?</legend>",
        "Erika Mustermann",
        "Samtgemeinde Heideland",
        "value=\"abbrechen\"",
    ] {
        assert!(choose.body.contains(text), "{text}: {}", choose.body);
    }
    let action = form_action(&choose.body, "method=\"post\" action=\"/demo-bundid/antwort\"");
    let back = b
        .post(
            &action,
            &[
                ("SAMLRequest", &field(&choose.body, "SAMLRequest")),
                ("RelayState", &field(&choose.body, "RelayState")),
                ("person", person),
                ("niveau", niveau),
                ("aktion", aktion),
            ],
        )
        .await;
    assert_eq!(back.status, 200, "{}", back.body);
    assert!(back.body.contains("Weiter zum Portal"), "a button for browsers without JavaScript: {}", back.body);
    let acs = form_action(&back.body, "data-autosubmit");
    assert!(acs.ends_with("/konto/saml/acs"), "{acs}");
    let response = field(&back.body, "SAMLResponse");
    let relay = field(&back.body, "RelayState");
    let reply = b.post(&acs, &[("SAMLResponse", &response), ("RelayState", &relay)]).await;
    Trip { response, relay, acs, reply }
}

const FORM: &str = "/o/moorbrueck/antrag/meldebescheinigung/";

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_signs_in_through_its_test_bundid_and_serve_knows_none_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("daten");
    let port = free_port();
    let (demo, lines) = start_demo(&data, port);
    let text = lines.join("");
    assert!(text.contains("Test-BundID – nur Demo") && text.contains("/demo-bundid/"), "{text}");
    assert!(data.join("demo-bundid/idp_key.pem").exists() && data.join("demo-bundid/sp_cert.pem").exists());

    let mut anon = Browser::new(port);
    let md = anon.get("/konto/saml/metadata").await;
    assert_eq!(md.status, 200, "{}", md.body);
    assert!(md.body.contains("SPSSODescriptor") && md.body.contains("/konto/saml/acs"), "{}", md.body);
    let info = anon.get("/demo-bundid/").await;
    assert_eq!(info.status, 200);
    assert!(info.body.contains("Simulation – keine echte BundID"), "{}", info.body);
    // A request not signed by the demo portal is refused with an explanation.
    let forged = anon.post("/demo-bundid/sso", &[("SAMLRequest", "PGZvbz4="), ("RelayState", "x")]).await;
    assert_eq!(forged.status, 400, "{}", forged.body);

    // Erika at "hoch", starting where a citizen starts: the form sends her to sign in.
    let mut erika = Browser::new(port);
    let gate = erika.get(FORM).await;
    assert_eq!(gate.status, 303, "{}", gate.body);
    let sign_in = erika.get(&gate.location).await;
    let page = unescape(&sign_in.body);
    let start = page
        .split("href=\"/konto/saml/anmelden")
        .nth(1)
        .unwrap_or_else(|| panic!("no Test-BundID button: {page}"))
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    assert!(page.contains("Anmelden mit Test-BundID – nur Demo"), "{page}");
    let trip =
        through_simulation(&mut erika, &format!("/konto/saml/anmelden{start}"), "erika", "hoch", "anmelden").await;
    assert_eq!(trip.reply.status, 303, "{}", trip.reply.body);
    assert_eq!(trip.reply.location, FORM);
    let me = erika.get("/konto/").await;
    assert!(me.body.contains("hoch"), "{}", me.body);
    // Past the trust gate: the form's first step, and on to the second.
    let form = erika.get(FORM).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("name=\"f.vorname\""), "{}", form.body);
    let step = erika
        .post(
            FORM,
            &[
                ("csrf", &field(&form.body, "csrf")),
                ("token", &field(&form.body, "token")),
                ("aktion", "weiter"),
                ("f.vorname", "Erika"),
                ("f.familienname", "Mustermann"),
                ("f.geburtsdatum", "12.03.1980"),
            ],
        )
        .await;
    assert_eq!(step.status, 303, "{}", step.body);
    assert!(step.location.contains("/antrag/meldebescheinigung/"), "{}", step.location);

    // The same answer posted twice: refused the second time.
    let again = erika.post(&trip.acs, &[("SAMLResponse", &trip.response), ("RelayState", &trip.relay)]).await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(again.body.contains("Anmeldung abgelaufen"), "{}", again.body);

    // Ole at "normal" although "hoch" is asked: signed in, but not past the gate.
    let mut ole = Browser::new(port);
    let start = format!("/konto/saml/anmelden?niveau=hoch&weiter={}", enc(FORM));
    let trip = through_simulation(&mut ole, &start, "ole", "normal", "anmelden").await;
    assert_eq!(trip.reply.status, 303, "{}", trip.reply.body);
    assert!(trip.reply.location.starts_with("/konto/vertrauensniveau?benoetigt=hoch"), "{}", trip.reply.location);
    let form = ole.get(FORM).await;
    assert_eq!(form.status, 303, "{}", form.body);
    assert!(form.location.starts_with("/konto/vertrauensniveau"), "{}", form.location);

    // Cancelled: a clear German message, no session.
    let mut gone = Browser::new(port);
    let trip = through_simulation(&mut gone, &start, "erika", "hoch", "abbrechen").await;
    assert_eq!(trip.reply.status, 400, "{}", trip.reply.body);
    assert!(trip.reply.body.contains("Anmeldung abgebrochen"), "{}", trip.reply.body);
    assert_eq!(gone.get(FORM).await.status, 303);
    drop(demo);

    // The keys are made once: a second start reuses them (accounts stay reachable).
    let key = std::fs::read(data.join("demo-bundid/idp_key.pem")).unwrap();
    let (again, _) = start_demo(&data, port);
    assert_eq!(Browser::new(port).get("/demo-bundid/").await.status, 200);
    drop(again);
    assert_eq!(std::fs::read(data.join("demo-bundid/idp_key.pem")).unwrap(), key);

    // `serve` on the same data directory and configuration: no simulation, no SAML.
    let mut serve = std::process::Command::new(env!("CARGO_BIN_EXE_amtsweg"))
        .args(["--data-dir", data.to_str().unwrap(), "serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("AMTSWEG_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut b = Browser::new(port);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while b.http.get(b.url("/healthz")).send().await.is_err() {
        assert!(std::time::Instant::now() < deadline, "serve did not start");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let refused = [
        b.get("/demo-bundid/").await.status,
        b.post("/demo-bundid/sso", &[("SAMLRequest", &trip.response)]).await.status,
        b.post("/demo-bundid/antwort", &[("aktion", "anmelden")]).await.status,
        b.get("/konto/saml/metadata").await.status,
    ];
    let _ = serve.kill();
    let _ = serve.wait();
    assert_eq!(refused, [404; 4]);
}

/// The simulation's pages in headless Chromium with axe-core, without and with
/// JavaScript (tests/browser/demo_bundid.mjs), against the real `amtsweg demo`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_bundid_pages_pass_axe_in_the_browser() {
    let Some(browser_dir) = crate::support::browser_tools("Test-BundID browser checks") else { return };
    let _exclusive = crate::support::EXCLUSIVE.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (demo, _) = start_demo(&dir.path().join("daten"), port);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg("demo_bundid.mjs")
            .arg(format!("http://127.0.0.1:{port}"))
            .current_dir(browser_dir)
            .output()
    })
    .await
    .unwrap()
    .expect("node runs");
    drop(demo);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{}\n{stderr}", String::from_utf8_lossy(&out.stdout));
    assert!(out.status.success(), "browser checks failed:\n{stderr}");
}
