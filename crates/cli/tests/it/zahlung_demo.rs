//! The demo's payments (issue 20, point 7) on both databases and in the real binary:
//! the demo forms ask for payment as promised; the seed is idempotent and follows the
//! simulator's new address at every start; the demo citizen links the printed
//! activation code and sees open, settled and dunned claims with notices marked
//! "Demo"; the Meldebescheinigung is paid through the simulator before it is
//! released, the Hundesteuer invoiced with the town's account and a GiroCode; and
//! only `amtsweg demo` starts the simulator — `amtsweg serve` never does.

use crate::on_each_backend;
use crate::outbound::local_receivers;
use crate::support::TestApp;
use crate::verwaltung::{Jar, enc, get, hidden, post};
use amtsweg::seed_zahlungen::{
    self as z, ACCOUNT, CITIZEN_EMAIL, CITIZEN_PASSWORD, IBAN, INVOICE_NAME, PROVIDER_NAME, TOWN,
};
use amtsweg_forms::FormPayMode;
use amtsweg_handoff::deliver::Connectors;
use amtsweg_handoff::payment::simulator::Simulator;
use amtsweg_store::payments::{AWAITING_PAYMENT, KIND_RECHNUNG, KIND_XBEZAHLDIENSTE};
use amtsweg_store::testing::execute_sql;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const IBAN_PRINTED: &str = "DE02 1203 0000 0000 2020 51";

/// The text of a PDF by `pdftotext`; `None` when poppler-utils is not installed.
pub(crate) fn pdf_text(pdf: &[u8]) -> Option<String> {
    use std::io::Write;
    let mut child = Command::new("pdftotext")
        .args(["-layout", "-", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take().unwrap().write_all(pdf).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "pdftotext refused the PDF");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Inflates every stream of a PDF (Python's zlib) and writes the file with them
/// inflated; `None` when python3 is not installed.
const INFLATE: &str = r#"
import re, sys, zlib
data = open(sys.argv[1], "rb").read()
out = [data]
for m in re.finditer(rb"stream\r?\n", data):
    try:
        out.append(zlib.decompressobj().decompress(data[m.end():]))
    except Exception:
        pass
open(sys.argv[2], "wb").write(b"\n".join(out))
"#;

/// Whether the PDF holds `needle` as a text string (e.g. a figure's alternative
/// text, in PDFDocEncoding or UTF-16, literal or hex), looked for in the PDF with
/// its streams inflated; `None` without python3.
pub(crate) fn pdf_has_text_string(pdf: &[u8], needle: &str) -> Option<bool> {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.pdf"), dir.path().join("out.bin"));
    std::fs::write(&input, pdf).unwrap();
    let status =
        Command::new("python3").arg("-c").arg(INFLATE).arg(&input).arg(&output).stdout(Stdio::null()).status().ok()?;
    assert!(status.success(), "inflating the PDF failed");
    let bytes = std::fs::read(&output).unwrap();
    let utf16: Vec<u8> = needle.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let hex: String = utf16.iter().map(|b| format!("{b:02x}")).collect();
    let text = String::from_utf8_lossy(&bytes).to_lowercase();
    Some(
        bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
            || bytes.windows(utf16.len()).any(|w| w == utf16.as_slice())
            || text.contains(&hex),
    )
}

#[test]
fn the_demo_forms_charge_as_the_issue_says() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/forms");
    for (file, mode, amount) in [
        ("hundesteuer.json", FormPayMode::Rechnung, "jahressteuer"),
        ("meldebescheinigung.json", FormPayMode::Vorab, "gebuehr"),
    ] {
        let form: amtsweg_forms::Form =
            serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap();
        assert!(amtsweg_forms::check(&form).is_empty(), "{file}: {:?}", amtsweg_forms::check(&form));
        let payment = form.payment.as_ref().unwrap_or_else(|| panic!("{file} charges nothing"));
        assert_eq!((payment.mode, payment.amount.as_str()), (mode, amount), "{file}");
        assert!(form.computed.iter().any(|c| c.id == amount), "{file}: the amount is a computed value");
    }
}

/// The demo citizen signed in with the password the demo prints.
async fn demo_citizen(app: &TestApp) -> Jar {
    let mut jar = Jar::default();
    let form = get(app, &mut jar, "/konto/anmelden").await;
    let r = post(
        app,
        &mut jar,
        "/konto/anmelden",
        &format!(
            "csrf={}&email={}&password={}&weiter=%2Fkonto%2F",
            hidden(&form.body, "csrf"),
            enc(CITIZEN_EMAIL),
            enc(CITIZEN_PASSWORD)
        ),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(!r.location().contains("anmelden"), "signed in: {}", r.location());
    jar
}

#[tokio::test]
async fn the_demo_seed_is_idempotent_and_follows_the_simulator() {
    on_each_backend!(|app| {
        let portal = &app.state.portal;
        let town = app.authority_id(TOWN).await;
        let first = z::seed(portal, "http://127.0.0.1:1111").await.unwrap().expect("Moorbrück is there");
        assert!(first.connectors_created && first.citizen_created && !first.linked, "{first:?}");
        assert_eq!(first.claims_created, 4);
        let (code, until) = first.activation.clone().expect("a code while unlinked");
        assert_eq!(code.len(), 14, "{code}");
        assert!(until.contains('.'), "a German date: {until}");
        // Both demo forms can be paid as they ask: no warning in the back office.
        assert_eq!(amtsweg_portal::payments::settings::warnings(portal, town).await.unwrap(), Vec::<String>::new());

        let second = z::seed(portal, "http://127.0.0.1:2222").await.unwrap().unwrap();
        assert!(!second.connectors_created && !second.citizen_created, "{second:?}");
        assert_eq!(second.claims_created, 0);
        assert_ne!(second.activation.as_ref().unwrap().0, code, "a fresh code at every start");
        let connectors = app.store.store.payment_connectors_of(town).await.unwrap();
        assert_eq!(connectors.len(), 2, "{connectors:?}");
        let provider = connectors.iter().find(|c| c.kind == KIND_XBEZAHLDIENSTE).unwrap();
        assert_eq!(provider.name, PROVIDER_NAME);
        assert!(provider.name.contains("Simulation"));
        assert!(!provider.config.contains("127.0.0.1"), "sealed");
        let config = amtsweg_portal::payments::connectors::open_config(portal, provider).await.unwrap();
        assert!(config.contains("http://127.0.0.1:2222") && !config.contains("1111"), "{config}");
        let invoice = connectors.iter().find(|c| c.kind == KIND_RECHNUNG).unwrap();
        assert_eq!(invoice.name, INVOICE_NAME);
        assert!(amtsweg_portal::payments::connectors::open_config(portal, invoice).await.unwrap().contains(IBAN));
        assert_eq!(app.store.store.claims_of(town, 100).await.unwrap().len(), 4);
        // Settings someone saved since are left alone.
        let (settings, version) = amtsweg_portal::payments::settings::load_versioned(portal, town).await.unwrap();
        assert_eq!(version, 1);
        let changed = amtsweg_domain::payment::PaymentSettings { invoice_due_days: 30, ..settings };
        amtsweg_portal::payments::settings::save(portal, "test", town, &changed, 1).await.unwrap().unwrap();
        z::seed(portal, "http://127.0.0.1:3333").await.unwrap().unwrap();
        assert_eq!(amtsweg_portal::payments::settings::load(portal, town).await.unwrap().invoice_due_days, 30);

        // Without Moorbrück (a Verbund of one's own), nothing.
        execute_sql(&app.store.store, "UPDATE authorities SET slug = 'anders' WHERE slug = 'moorbrueck'").await;
        assert_eq!(z::seed(portal, "http://127.0.0.1:4444").await.unwrap(), None);
    });
}

#[tokio::test]
async fn the_demo_citizen_links_the_printed_code_and_sees_claims_with_demo_notices() {
    on_each_backend!(|app| {
        let seeded = z::seed(&app.state.portal, "http://127.0.0.1:1111").await.unwrap().unwrap();
        let (code, _) = seeded.activation.unwrap();
        let mut erika = demo_citizen(app).await;
        let page = get(app, &mut erika, "/konto/finanzen/").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let r = post(
            app,
            &mut erika,
            "/konto/finanzen/verknuepfen",
            &format!("csrf={}&code={}", hidden(&page.body, "csrf"), enc(&code)),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let page = get(app, &mut erika, "/konto/finanzen/").await;
        let year = amtsweg_portal::time::now_local().year();
        for text in [
            format!("Grundsteuer {year}, 1. Rate"),
            format!("Grundsteuer {year}, 2. Rate"),
            format!("Hundesteuer {year} für Bello"),
            format!("Zweitwohnungsteuer {year}"),
            format!("Ihr Konto: {ACCOUNT}"),
            "123,45 €".into(),
            "240,00 €".into(),
        ] {
            assert!(page.body.contains(&text), "{text}: {}", page.body);
        }

        // The dog tax's notice: a PDF that says it is a demo.
        let citizen = app.store.store.citizen_by_email(CITIZEN_EMAIL).await.unwrap().unwrap();
        let claims = app.store.store.claims_of_citizen(citizen.id).await.unwrap();
        let dog = claims.iter().find(|c| c.kind == "Hundesteuer").unwrap();
        assert_eq!((dog.state.as_str(), dog.open_cents), ("open", 9000));
        assert!(claims.iter().any(|c| c.state == "dunning" && c.dunning_level == 1));
        assert!(claims.iter().any(|c| c.state == "settled" && c.open_cents == 0));
        let page = get(app, &mut erika, &format!("/konto/finanzen/{}", dog.id)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains(IBAN_PRINTED), "the town's account to pay by transfer: {}", page.body);
        let doc = page.body.split(&format!("/konto/finanzen/{}/bescheide/", dog.id)).nth(1).expect("a notice");
        let doc = doc.split('"').next().unwrap();
        let r = get(app, &mut erika, &format!("/konto/finanzen/{}/bescheide/{doc}", dog.id)).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.headers["content-type"], "application/pdf");
        let bytes = app.state.portal.store.claim_documents(dog.id).await.unwrap();
        assert_eq!(bytes.len(), 1);
        let (_, pdf) = amtsweg_portal::finanzen::notice_for_citizen(&app.state.portal, citizen.id, dog.id, bytes[0].id)
            .await
            .unwrap()
            .unwrap();
        match pdf_text(&pdf) {
            Some(text) => {
                assert!(text.contains("DEMO – kein echter Bescheid"), "{text}");
                assert!(
                    text.contains(&format!("Hundesteuerbescheid {year}")) && text.contains("Stadt Moorbrück"),
                    "{text}"
                );
            }
            None => eprintln!("SKIPPED the notice's text: pdftotext (poppler-utils) is not installed"),
        }

        // Linked: the next start prints no code.
        let again = z::seed(&app.state.portal, "http://127.0.0.1:2222").await.unwrap().unwrap();
        assert!(again.linked && again.activation.is_none(), "{again:?}");
    });
}

/// Walks a form from its first page, one step per entry of `steps` (the fields of
/// that step, URL-encoded), to the check page; sends it and returns the receipt.
async fn walk(app: &TestApp, jar: &mut Jar, form: &str, steps: &[&str]) -> String {
    let page = get(app, jar, form).await;
    assert_eq!(page.status, 200, "{form}: {} {}", page.status, page.body);
    let first = format!("csrf={}&token={}", hidden(&page.body, "csrf"), hidden(&page.body, "token"));
    let mut r = post(app, jar, form, &format!("{first}&aktion=weiter&{}", steps[0])).await;
    for fields in &steps[1..] {
        assert_eq!(r.status, 303, "{}", r.body);
        let at = r.location().to_owned();
        let page = get(app, jar, &at).await;
        assert_eq!(page.status, 200, "{at}: {}", page.body);
        r = post(app, jar, &at, &format!("csrf={}&aktion=weiter&{fields}", hidden(&page.body, "csrf"))).await;
    }
    assert_eq!(r.status, 303, "{}", r.body);
    let check = r.location().to_owned();
    assert!(check.ends_with("/pruefen"), "{check}");
    let page = get(app, jar, &check).await;
    let draft = check.trim_end_matches("pruefen");
    let r = post(app, jar, &format!("{draft}absenden"), &format!("csrf={}", hidden(&page.body, "csrf"))).await;
    assert_eq!(r.status, 303, "{}", r.body);
    r.location().to_owned()
}

#[tokio::test]
async fn the_demo_meldebescheinigung_is_paid_through_the_simulation_before_release() {
    on_each_backend!(config = local_receivers(Connectors::default()), |app| {
        let sim = Simulator::start("127.0.0.1:0", true).await.unwrap();
        z::seed(&app.state.portal, &sim.base_url).await.unwrap().unwrap();
        let mut erika = demo_citizen(app).await;
        // The form asks for trust level "hoch": as if Erika had signed in with her eID.
        execute_sql(&app.store.store, "UPDATE sessions SET trust_level = 'hoch' WHERE kind = 'citizen'").await;
        let receipt = walk(
            app,
            &mut erika,
            "/o/moorbrueck/antrag/meldebescheinigung/",
            &[
                "f.vorname=Erika&f.familienname=Mustermann&f.geburtsdatum=12.03.1980",
                "f.hauptwohnung.strasse=Lindenweg+4&f.hauptwohnung.plz=29391&f.hauptwohnung.ort=Moorbr%C3%BCck",
                "f.art=einfach&f.zweck=Arbeitgeber",
                "f.zustellung=post",
                "f.versicherung=ja",
            ],
        )
        .await;
        let page = get(app, &mut erika, &receipt).await;
        assert!(
            page.body.contains("Zahlung ausstehend") && page.body.contains("Jetzt 7,50 € online bezahlen"),
            "{}",
            page.body
        );
        let citizen = app.store.store.citizen_by_email(CITIZEN_EMAIL).await.unwrap().unwrap();
        let s = app.store.store.submissions_of_citizen(citizen.id).await.unwrap().remove(0);
        let town = app.authority_id(TOWN).await;
        assert_eq!(app.store.store.submission(town, s.id).await.unwrap().unwrap().status, AWAITING_PAYMENT);

        let r = post(app, &mut erika, &format!("{receipt}/bezahlen"), &format!("csrf={}", hidden(&page.body, "csrf")))
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let pay = r.location().to_owned();
        assert!(pay.starts_with(&sim.base_url), "{pay}");
        // The treasury's booking data of the demo settings went to the provider.
        let request = &sim.requests()[0];
        let booking = &request["items"][0]["bookingData"];
        assert_eq!(booking["haushaltsstelle"], "1.1.2.01.431100", "{request}");
        assert_eq!(booking["objektnummer"], "MB-122-EMA", "{request}");
        assert_eq!(request["grosAmount"].to_string(), "7.5", "{request}");
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let html = client.get(&pay).send().await.unwrap().text().await.unwrap();
        assert!(html.contains("SIMULATION – es fließt kein Geld") && html.contains("Demo von Amtsweg"), "{html}");
        let r = client
            .post(&pay)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("aktion=bezahlen&zahlart=PAYPAL")
            .send()
            .await
            .unwrap();
        let back = r.headers()["location"].to_str().unwrap().to_owned();
        let r = app.get(&back["http://127.0.0.1:8080".len()..]).await;
        assert_eq!(r.location(), format!("{receipt}?zahlung=bezahlt#zahlung"));
        assert_eq!(app.store.store.submission(town, s.id).await.unwrap().unwrap().status, "eingegangen");
        let page = get(app, &mut erika, &receipt).await;
        assert!(page.body.contains("PayPal") && !page.body.contains("Zahlung ausstehend"), "{}", page.body);

        // A claim of the finance account, paid online through the same simulation once
        // the printed code linked it; the booking is in the finance software's feed.
        let code = z::seed(&app.state.portal, &sim.base_url).await.unwrap().unwrap().activation.unwrap().0;
        let page = get(app, &mut erika, "/konto/finanzen/").await;
        let csrf = hidden(&page.body, "csrf");
        let r = post(app, &mut erika, "/konto/finanzen/verknuepfen", &format!("csrf={csrf}&code={}", enc(&code))).await;
        assert_eq!(r.status, 303, "{}", r.body);
        let claims = app.store.store.claims_of_citizen(citizen.id).await.unwrap();
        let dog = claims.iter().find(|c| c.kind == "Hundesteuer").unwrap();
        let page = get(app, &mut erika, &format!("/konto/finanzen/{}", dog.id)).await;
        let r = post(
            app,
            &mut erika,
            &format!("/konto/finanzen/{}/bezahlen", dog.id),
            &format!("csrf={}", hidden(&page.body, "csrf")),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let pay = r.location().to_owned();
        assert!(pay.starts_with(&sim.base_url), "{pay}");
        let r = client
            .post(&pay)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("aktion=bezahlen&zahlart=GIROPAY")
            .send()
            .await
            .unwrap();
        let back = r.headers()["location"].to_str().unwrap().to_owned();
        let r = app.get(&back["http://127.0.0.1:8080".len()..]).await;
        assert_eq!(r.location(), format!("/konto/finanzen/{}?zahlung=bezahlt#zahlung", dog.id));
        let feed = app.store.store.finance_feed(town, 0, 100).await.unwrap();
        assert_eq!(
            feed.iter().map(|f| (f.amount_cents, f.claim_id)).collect::<Vec<_>>(),
            vec![(750, None), (9000, Some(dog.id))]
        );
    });
}

#[tokio::test]
async fn the_demo_hundesteuer_is_invoiced_to_the_town_account_with_a_girocode() {
    on_each_backend!(|app| {
        z::seed(&app.state.portal, "http://127.0.0.1:1111").await.unwrap().unwrap();
        let mut jar = Jar::default();
        let receipt = walk(
            app,
            &mut jar,
            "/o/moorbrueck/antrag/hundesteuer/",
            &[
                "f.name=Erika+Mustermann&f.email=erika%40example.org",
                "g.hunde.anzahl=2&g.hunde.0.rufname=Bello&g.hunde.0.rasse=Mischling&g.hunde.0.seit=01.03.2024&g.hunde.1.rufname=Luna&g.hunde.1.rasse=Dackel&g.hunde.1.seit=01.05.2024",
                "f.versicherung=ja",
            ],
        )
        .await;
        let page = get(app, &mut jar, &receipt).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let year = amtsweg_portal::time::now_local().year();
        assert!(page.body.contains(&format!("HST-{year}-")), "the dog tax's own Kassenzeichen: {}", page.body);
        assert!(page.body.contains("225,00 €") && page.body.contains(IBAN_PRINTED), "{}", page.body);
        assert!(page.body.contains(INVOICE_NAME) && page.body.contains("<title>GiroCode"), "{}", page.body);
        assert!(!page.body.contains("Zahlung ausstehend"), "an invoice does not hold the application");
    });
}

/// A process of the binary, killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the binary with `args` and reads its standard output until a line
/// containing `until` (or 60 seconds).
fn run(args: &[&str], until: &str) -> (Process, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_amtsweg"))
        .args(args)
        .env("AMTSWEG_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 || Instant::now() > deadline {
            break;
        }
        text.push_str(&line);
        if line.contains(until) {
            break;
        }
    }
    (Process(child), text)
}

/// The TCP ports process `pid` listens on (Linux: its socket inodes in /proc).
fn listening_ports(pid: u32) -> BTreeSet<u16> {
    let inodes: BTreeSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| l.to_str()?.strip_prefix("socket:[")?.strip_suffix(']').map(str::to_owned))
        .collect();
    let mut ports = BTreeSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        for row in text.lines().skip(1) {
            let cols: Vec<&str> = row.split_whitespace().collect();
            if cols.len() > 9 && cols[3] == "0A" && inodes.contains(cols[9]) {
                let port = cols[1].rsplit(':').next().unwrap();
                ports.insert(u16::from_str_radix(port, 16).unwrap());
            }
        }
    }
    ports
}

/// The simulator's port from the demo's start message.
fn simulator_port(text: &str) -> u16 {
    let marker = "Bezahldienst der Demo läuft auf http://127.0.0.1:";
    let at = text.find(marker).unwrap_or_else(|| panic!("no simulator address: {text}"));
    let rest = &text[at + marker.len()..];
    rest[..rest.find('/').unwrap()].parse().unwrap()
}

#[test]
fn only_the_demo_binary_runs_the_provider_simulation() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("daten");
    let data_arg = data.to_str().unwrap();
    let port = crate::binary::free_port();
    let port_arg = port.to_string();

    let (demo, text) = run(&["--data-dir", data_arg, "demo", "--port", &port_arg], "Beenden mit");
    assert!(text.contains("SIMULATION") && text.contains("es fließt kein Geld"), "said plainly: {text}");
    assert!(
        text.contains("/o/moorbrueck/antrag/meldebescheinigung/") && text.contains("/o/moorbrueck/antrag/hundesteuer/")
    );
    assert!(text.contains(CITIZEN_EMAIL) && text.contains(CITIZEN_PASSWORD), "{text}");
    let code_line = text.lines().find(|l| l.contains("Aktivierungscode")).unwrap_or_else(|| panic!("no code: {text}"));
    assert!(code_line.contains(ACCOUNT), "{code_line}");
    let sim = simulator_port(&text);
    assert_ne!(sim, port);
    assert_eq!(listening_ports(demo.0.id()), BTreeSet::from([port, sim]), "the portal and the simulation");
    let page = crate::binary::http_get(sim, "/pay/unbekannt", "127.0.0.1");
    assert!(page.starts_with("HTTP/1.1 404") && page.contains("SIMULATION"), "{page}");
    drop(demo);

    // Again: a new simulator address, a new code, nothing stored twice.
    let (demo, again) = run(&["--data-dir", data_arg, "demo", "--port", &port_arg], "Beenden mit");
    let second_line = again.lines().find(|l| l.contains("Aktivierungscode")).unwrap_or_else(|| panic!("{again}"));
    assert_ne!(second_line, code_line, "a fresh code at every start while unlinked");
    let sim_again = simulator_port(&again);
    assert_eq!(listening_ports(demo.0.id()), BTreeSet::from([port, sim_again]));
    drop(demo);

    // `serve` on the same data: the portal alone, no simulation.
    let (serve, text) = run(&["--data-dir", data_arg, "serve", "--listen", &format!("127.0.0.1:{port}")], "läuft auf");
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(!text.contains("SIMULATION") && !text.contains("Aktivierungscode"), "{text}");
    assert_eq!(listening_ports(serve.0.id()), BTreeSet::from([port]), "serve listens on its own port only");
    drop(serve);

    // Two connectors and four claims, however often the demo started.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store =
            amtsweg_store::Store::connect(&format!("sqlite://{}", data.join("amtsweg.db").display())).await.unwrap();
        let town = store.authority_by_slug(TOWN).await.unwrap().unwrap().id;
        assert_eq!(store.payment_connectors_of(town).await.unwrap().len(), 2);
        assert_eq!(store.claims_of(town, 100).await.unwrap().len(), 4);
        store.close().await;
    });
}
