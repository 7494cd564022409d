//! Invitations and password resets by e-mail, delivered through the outbox to a real
//! SMTP server (Python aiosmtpd) started by the test.

use crate::on_each_backend;
use crate::support::TestApp;
use crate::verwaltung::{Jar, enc, get, hidden, post, sign_in};
use amtsweg_handoff::mail::{MailConfig, Mailer};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The link in the newest queued e-mail to `to`.
async fn link_for(app: &TestApp, to: &str, path_part: &str) -> String {
    let rows = app.store.store.outbox_entries(50).await.unwrap();
    let mail =
        rows.iter().filter_map(|r| r.email().ok()).find(|m| m.to == to).unwrap_or_else(|| panic!("no mail to {to}"));
    let start = mail.body.find(path_part).unwrap_or_else(|| panic!("no link in {}", mail.body));
    mail.body[start..].split_whitespace().next().unwrap().to_owned()
}

async fn set_password(app: &TestApp, link: &str, pw: &str, pw2: &str) -> crate::support::Reply {
    let mut jar = Jar::default();
    let form = get(app, &mut jar, link).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = hidden(&form.body, "csrf");
    post(app, &mut jar, link, &format!("csrf={csrf}&password={}&password2={}", enc(pw), enc(pw2))).await
}

async fn can_sign_in(app: &TestApp, email: &str, pw: &str) -> bool {
    let mut jar = Jar::default();
    let form = get(app, &mut jar, "/verwaltung/anmelden").await;
    let csrf = hidden(&form.body, "csrf");
    let r =
        post(app, &mut jar, "/verwaltung/anmelden", &format!("email={}&password={}&csrf={csrf}", enc(email), enc(pw)))
            .await;
    r.status == 303
}

#[tokio::test]
async fn an_invitation_leads_to_a_working_account() {
    on_each_backend!(|app| {
        let mut admin = sign_in(app, "admin@moorbrueck.example").await;
        let page = get(app, &mut admin, "/verwaltung/behoerden/moorbrueck/einladen").await;
        let csrf = hidden(&page.body, "csrf");
        let r = post(
            app,
            &mut admin,
            "/verwaltung/behoerden/moorbrueck/einladen",
            &format!("csrf={csrf}&email=neu%40moorbrueck.example&name=Nina+Neu&role=editor"),
        )
        .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let dup = post(
            app,
            &mut admin,
            "/verwaltung/behoerden/moorbrueck/einladen",
            &format!("csrf={csrf}&email=neu%40moorbrueck.example&name=Nina&role=editor"),
        )
        .await;
        assert_eq!(dup.status, 422);
        assert!(!can_sign_in(app, "neu@moorbrueck.example", "!").await, "no sign-in before the invitation is accepted");
        let full = link_for(app, "neu@moorbrueck.example", "http://").await;
        assert!(full.starts_with("http://127.0.0.1:8080/verwaltung/einladung/"), "{full}");
        let link = link_for(app, "neu@moorbrueck.example", "/verwaltung/einladung/").await;
        let path = link.clone();
        let mismatch = set_password(app, &path, "ein-langes-passwort", "ein-anderes-passwort").await;
        assert_eq!(mismatch.status, 422);
        assert!(mismatch.body.contains("stimmen nicht überein"));
        let short = set_password(app, &path, "kurz", "kurz").await;
        assert!(short.body.contains("mindestens 12 Zeichen"));
        let ok = set_password(app, &path, "ein-langes-passwort", "ein-langes-passwort").await;
        assert_eq!(ok.status, 303);
        assert!(can_sign_in(app, "neu@moorbrueck.example", "ein-langes-passwort").await);
        let again = get(app, &mut Jar::default(), &path).await;
        assert_eq!(again.status, 410);
        assert!(again.body.contains("bereits verwendet"));
        let unknown = get(app, &mut Jar::default(), "/verwaltung/einladung/gibt-es-nicht").await;
        assert_eq!(unknown.status, 410);
    });
}

#[tokio::test]
async fn password_reset_without_enumeration() {
    on_each_backend!(|app| {
        let before = app.store.store.outbox_entries(100).await.unwrap().len();
        let mut old_session = sign_in(app, "redaktion@moorbrueck.example").await;
        let mut jar = Jar::default();
        let form = get(app, &mut jar, "/verwaltung/passwort-vergessen").await;
        let csrf = hidden(&form.body, "csrf");
        let a = post(
            app,
            &mut jar,
            "/verwaltung/passwort-vergessen",
            &format!("csrf={csrf}&email=redaktion%40moorbrueck.example"),
        )
        .await;
        let b = post(
            app,
            &mut jar,
            "/verwaltung/passwort-vergessen",
            &format!("csrf={csrf}&email=niemand%40moorbrueck.example"),
        )
        .await;
        assert_eq!(a.status, b.status);
        assert_eq!(a.body.replace(&csrf, ""), b.body.replace(&csrf, ""), "the same page either way");
        assert_eq!(
            app.store.store.outbox_entries(100).await.unwrap().len(),
            before + 1,
            "a mail only for the real account"
        );
        let link = link_for(app, "redaktion@moorbrueck.example", "/verwaltung/passwort-neu/").await;
        let path = link.clone();
        let ok = set_password(app, &path, "ganz-neues-passwort", "ganz-neues-passwort").await;
        assert_eq!(ok.status, 303);
        assert!(can_sign_in(app, "redaktion@moorbrueck.example", "ganz-neues-passwort").await);
        assert!(!can_sign_in(app, "redaktion@moorbrueck.example", amtsweg::staff::DEMO_PASSWORD).await);
        assert_eq!(get(app, &mut old_session, "/verwaltung/").await.status, 303, "old sessions end with the reset");

        // Expired links are refused with a clear message.
        let r = post(
            app,
            &mut jar,
            "/verwaltung/passwort-vergessen",
            &format!("csrf={csrf}&email=sachbearbeitung%40moorbrueck.example"),
        )
        .await;
        assert_eq!(r.status, 200);
        amtsweg_store::testing::execute_sql(
            &app.store.store,
            "UPDATE staff_tokens SET expires_at = 1 WHERE used_at IS NULL",
        )
        .await;
        let link = link_for(app, "sachbearbeitung@moorbrueck.example", "/verwaltung/passwort-neu/").await;
        let path = link.clone();
        let expired = get(app, &mut Jar::default(), &path).await;
        assert_eq!(expired.status, 410);
        assert!(expired.body.contains("abgelaufen"));
    });
}

struct Sink {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_sink() -> Option<Sink> {
    let ok = Command::new("python3").args(["-c", "import aiosmtpd"]).status().is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "aiosmtpd is required with CI=true (pip install aiosmtpd)"
        );
        eprintln!("SKIPPED SMTP test: pip install aiosmtpd");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
        .arg(dir.path().join("maildir"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "SMTP sink did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(Sink { child, dir, port })
}

fn smtp(port: u16) -> Mailer {
    let cfg = MailConfig {
        transport: "smtp".into(),
        smtp_host: "127.0.0.1".into(),
        smtp_port: port,
        tls: "none".into(),
        ..MailConfig::default()
    };
    Mailer::from_config(&cfg).unwrap().unwrap()
}

#[tokio::test]
async fn the_outbox_delivers_over_smtp_and_retries_when_the_server_is_down() {
    let Some(sink) = start_sink() else { return };
    on_each_backend!(|app| {
        let store = &app.store.store;
        let mut tx = store.begin().await.unwrap();
        tx.enqueue_email(&amtsweg_store::outbox::EmailMessage {
            to: "rita@moorbrueck.example".into(),
            subject: "Einladung in die Verwaltung".into(),
            body: "Hallo Rita, bitte folgen Sie dem Link.".into(),
            attachments: Vec::new(),
        })
        .await
        .unwrap();
        tx.commit().await.unwrap();

        // Server down: the attempt is recorded and retried later, nothing is lost.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        assert_eq!(amtsweg_handoff::run_once(store, &smtp(closed)).await.unwrap(), 0);
        let row = store.outbox_entries(1).await.unwrap().remove(0);
        assert_eq!((row.status.as_str(), row.attempts), ("pending", 1));
        assert!(!row.last_error.is_empty());
        amtsweg_store::testing::execute_sql(store, "UPDATE outbox SET next_attempt_at = 0").await;

        assert_eq!(amtsweg_handoff::run_once(store, &smtp(sink.port)).await.unwrap(), 1);
        assert_eq!(store.outbox_entries(1).await.unwrap()[0].status, "done");
        assert_eq!(amtsweg_handoff::run_once(store, &smtp(sink.port)).await.unwrap(), 0, "sent once");
    });
    let new = sink.dir.path().join("maildir").join("new");
    let mails: Vec<String> =
        std::fs::read_dir(&new).unwrap().map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap()).collect();
    assert!(!mails.is_empty());
    assert!(
        mails
            .iter()
            .all(|m| m.contains("To: rita@moorbrueck.example") && m.contains("Subject: Einladung in die Verwaltung"))
    );
}

/// The e-mail connector hands a submission to an office's mailbox: receipt PDF,
/// data and files attached with a stable Message-ID; above the size cap only a link
/// to the back office goes out.
#[tokio::test]
async fn submissions_reach_the_office_mailbox_with_a_size_cap() {
    let Some(sink) = start_sink() else { return };
    use amtsweg_handoff::deliver::{EmailTarget, Links, email_office};
    use amtsweg_handoff::package::{Package, PackageAuthority, PackageFile, PackageForm};
    let package = |file_bytes: usize| Package {
        submission_id: 7,
        receipt_number: "MOO-2026-000007".into(),
        submitted_at_ms: 1_795_000_000_000,
        authority: PackageAuthority {
            id: 1,
            slug: "moorbrueck".into(),
            name: "Stadt Moorbrück".into(),
            ags: None,
            ars: "033580017017".into(),
        },
        form: PackageForm {
            id: 1,
            slug: "osterfeuer".into(),
            version: 1,
            title: "Osterfeuer anzeigen".into(),
            leika: "99106010000000".into(),
            leistung_name: "Osterfeuer".into(),
        },
        data: serde_json::json!({"name": "Erika Mustermann"}),
        data_hash: "ab".repeat(32),
        receipt_pdf: b"%PDF-1.7 Eingangsbestaetigung".to_vec(),
        files: vec![PackageFile {
            id: 1,
            field: "lageplan".into(),
            name: "lageplan.pdf".into(),
            content_type: "application/pdf".into(),
            sha256: String::new(),
            bytes: [b"%PDF-1.4 ".as_slice(), &vec![b'x'; file_bytes]].concat(),
        }],
        idempotency_key: format!("amtsweg-1-7-{file_bytes}"),
        payment: None,
    };
    let links = Links { back_office: "https://portal.example/verwaltung/antraege/7".into(), ..Links::default() };
    let target = EmailTarget { to: "ordnungsamt@moorbrueck.example".into(), max_mb: 1 };
    let mailer = smtp(sink.port);
    email_office(Some(&mailer), &target, &package(1000), &links).await.unwrap();
    email_office(Some(&mailer), &target, &package(1_200_000), &links).await.unwrap();
    let refused = email_office(None, &target, &package(10), &links).await.unwrap_err();
    assert!(refused.permanent && refused.message.contains("kein E-Mail-Versand"));

    let new = sink.dir.path().join("maildir").join("new");
    let mails: Vec<String> =
        std::fs::read_dir(&new).unwrap().map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap()).collect();
    assert_eq!(mails.len(), 2);
    let small = mails.iter().find(|m| m.contains("amtsweg-1-7-1000@amtsweg")).expect("stable Message-ID");
    assert!(small.contains("To: ordnungsamt@moorbrueck.example"));
    assert!(small.contains("MOO-2026-000007.pdf") && small.contains("MOO-2026-000007.json"));
    assert!(small.contains("lageplan.pdf"));
    let big = mails.iter().find(|m| m.contains("amtsweg-1-7-1200000@amtsweg")).unwrap();
    assert!(!big.contains("filename=\"lageplan.pdf\""), "too big: no attachments");
    assert!(big.contains("https://portal.example/verwaltung/antraege/7"), "a link instead");
}
