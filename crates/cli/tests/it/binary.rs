//! The real binary: `amtsweg demo` on a fresh data directory, twice.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub(crate) struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn start_demo(dir: &std::path::Path, port: u16) -> (Running, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_amtsweg"))
        .args(["--data-dir", dir.to_str().unwrap(), "demo", "--port", &port.to_string()])
        .env("AMTSWEG_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let mut lines = Vec::new();
    let mut reader = BufReader::new(out);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 || Instant::now() > deadline {
            break;
        }
        let done = line.contains("Beenden mit");
        lines.push(line);
        if done {
            break;
        }
    }
    (Running(child), lines)
}

pub(crate) fn http_get(port: u16, path: &str, host: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn demo_seeds_once_serves_and_prints_the_portals() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("daten");
    let port = free_port();
    let (run, lines) = start_demo(&data, port);
    let text = lines.join("");
    assert!(text.contains("Demo-Verbund angelegt: 5 Behörden"), "{text}");
    assert!(text.contains("Demo-Mitarbeiterkonten angelegt"), "{text}");
    for login in [
        "verbund-admin@landkreis-heidekamp.example",
        "admin@moorbrueck.example",
        "redaktion@moorbrueck.example",
        "sachbearbeitung@moorbrueck.example",
    ] {
        assert!(text.contains(login), "demo login {login} printed: {text}");
    }
    assert!(text.contains("Heidekamp-Demo-2026"));
    for slug in ["landkreis-heidekamp", "moorbrueck", "sg-heideland", "birkhusen", "ellerloh"] {
        assert!(text.contains(&format!("http://127.0.0.1:{port}/o/{slug}/")), "{text}");
        assert!(text.contains(&format!("http://{slug}.localhost:{port}/")), "{text}");
    }
    let health = http_get(port, "/healthz", "127.0.0.1");
    assert!(health.starts_with("HTTP/1.1 200") && health.contains("\"status\":\"ok\""), "{health}");
    let tenant = http_get(port, "/", &format!("moorbrueck.localhost:{port}"));
    assert!(tenant.contains("<h1>Stadt Moorbrück</h1>"));
    drop(run);
    assert!(data.join("amtsweg.db").is_file(), "database in the data directory");

    let (run, lines) = start_demo(&data, port);
    let text = lines.join("");
    assert!(text.contains("bereits Daten"), "second run does not seed again: {text}");
    let az = http_get(port, "/leistungen/", "127.0.0.1");
    assert_eq!(az.matches("href=\"/leistungen/meldebescheinigung\"").count(), 1, "nothing stored twice");
    drop(run);
}

#[test]
fn every_subcommand_has_help() {
    for args in [
        &["--help"][..],
        &["demo", "--help"],
        &["serve", "--help"],
        &["migrate", "--help"],
        &["seed", "--help"],
        &["bench", "--help"],
        &["bench", "pages", "--help"],
        &["bench", "search", "--help"],
        &["postfach", "send", "--help"],
        &["keys", "rotate-master", "--help"],
        &["bench", "submit", "--help"],
        &["bench", "startup", "--help"],
        &["import", "xdf", "--help"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_amtsweg")).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage"), "{args:?}");
    }
}

#[test]
fn a_broken_config_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("a.toml");
    std::fs::write(&f, "sync_interval_ms = \"oft\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_amtsweg"))
        .args(["--config", f.to_str().unwrap(), "migrate"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("sync_interval_ms"));
}

#[test]
fn serve_reads_the_config_file_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = dir.path().join("amtsweg.toml");
    let data = dir.path().join("daten");
    std::fs::write(&cfg, format!("data_dir = {:?}\nlisten = \"127.0.0.1:1\"\n", data.to_str().unwrap())).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_amtsweg"))
        .args(["serve", "--config", cfg.to_str().unwrap()])
        // The environment overrides the file.
        .env("AMTSWEG_LISTEN", format!("127.0.0.1:{port}"))
        .env("AMTSWEG_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _run = Running(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let health = http_get(port, "/healthz", "localhost");
    assert!(health.contains("\"status\":\"ok\""), "{health}");
    assert!(data.join("amtsweg.db").is_file(), "data_dir from the file is used");
    // An empty Verbund still answers with a helpful page.
    let start = http_get(port, "/", "localhost");
    assert!(start.starts_with("HTTP/1.1 200"));
}

#[test]
fn create_admin_and_verify_the_audit_log_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let run = |args: &[&str], stdin: &str| {
        use std::io::Write;
        let mut child = Command::new(env!("CARGO_BIN_EXE_amtsweg"))
            .args(["--data-dir", data])
            .args(args)
            .env("AMTSWEG_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run(
        &["user", "create-admin", "--email", "it@kreis.example", "--name", "IT", "--password-stdin"],
        "ein-sehr-langes-passwort\n",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Verbund-Administration"));
    let dup = run(&["user", "create-admin", "--email", "IT@kreis.example", "--name", "IT"], "");
    assert!(!dup.status.success());
    assert!(String::from_utf8_lossy(&dup.stderr).contains("bereits ein Konto"));
    let short =
        run(&["user", "create-admin", "--email", "b@kreis.example", "--name", "B", "--password-stdin"], "kurz\n");
    assert!(String::from_utf8_lossy(&short.stderr).contains("mindestens 12 Zeichen"));
    let unknown =
        run(&["user", "create-admin", "--email", "c@kreis.example", "--name", "C", "--authority", "nirgendwo"], "");
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unbekannte Behörde"));
    let generated = run(&["user", "create-admin", "--email", "d@kreis.example", "--name", "D"], "");
    assert!(String::from_utf8_lossy(&generated.stdout).contains("Vorläufiges Passwort: "));

    let ok = run(&["audit", "verify"], "");
    assert!(ok.status.success());
    assert!(
        String::from_utf8_lossy(&ok.stdout).contains("intakt: 2 Einträge"),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let code = run(&["user", "totp-code", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"], "");
    assert_eq!(String::from_utf8_lossy(&code.stdout).trim().len(), 6);
}

#[tokio::test]
async fn authorities_write_to_a_citizens_postfach_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_owned();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_amtsweg"))
            .args(["--data-dir", &data])
            .args(args)
            .env("AMTSWEG_LOG", "warn")
            .output()
            .unwrap()
    };
    assert!(run(&["seed"]).status.success());
    let store = amtsweg_store::Store::open_sqlite(&dir.path().join("amtsweg.db")).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    let citizen = tx.insert_citizen("post@example.org", "hash").await.unwrap().unwrap();
    tx.mark_email_verified(citizen).await.unwrap();
    tx.commit().await.unwrap();
    let pdf = dir.path().join("Bescheid.pdf");
    std::fs::write(&pdf, b"%PDF-1.7 Bescheid").unwrap();
    let exe = dir.path().join("virus.pdf");
    std::fs::write(&exe, b"MZ\x90\x00").unwrap();
    let base =
        ["postfach", "send", "--to", "post@example.org", "--authority", "moorbrueck", "--subject", "Ihr Bescheid"];
    let bad = run(&[&base[..], &["--text", "Anbei.", "--attach", exe.to_str().unwrap()]].concat());
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("kein PDF-, PNG- oder JPEG-Dokument"));
    let unknown = run(&[
        "postfach",
        "send",
        "--to",
        "niemand@example.org",
        "--authority",
        "moorbrueck",
        "--subject",
        "x",
        "--text",
        "y",
    ]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("kein Bürgerkonto"));
    let ok =
        run(&[&base[..], &["--text", "Guten Tag,\nanbei Ihr Bescheid.", "--attach", pdf.to_str().unwrap()]].concat());
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("Nachricht zugestellt"));
    let threads = store.threads(citizen).await.unwrap();
    assert_eq!(threads.len(), 1);
    let files = store.attachments(citizen, threads[0].id).await.unwrap();
    assert!(files[0].file_name.starts_with("v2:"), "the file name is sealed at rest");
    let stored = std::fs::read(dir.path().join("objects").join(&files[0].object_key)).unwrap();
    assert!(!stored.windows(4).any(|w| w == b"%PDF"), "the file is sealed in the data directory's object store");
    assert!(dir.path().join("master.key").exists(), "a master key was created beside the database");
    let notice = store.outbox_entries(10).await.unwrap();
    assert!(notice.iter().any(|o| o.payload.contains("neue Nachricht") && !o.payload.contains("anbei Ihr Bescheid")));
    store.close().await;
}

#[tokio::test]
async fn xdatenfelder_schemas_import_from_the_command_line() {
    let shared = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/xdatenfelder");
    if !shared.is_dir() {
        eprintln!("SKIPPED: {} is absent", shared.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap().to_owned();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_amtsweg"))
            .args(["--data-dir", &data])
            .args(args)
            .env("AMTSWEG_LOG", "warn")
            .output()
            .unwrap()
    };
    let blaue_karte = shared.join("xdf2/S00000121_BlaueKarteEU.xml");
    let dry = run(&["import", "xdf", blaue_karte.to_str().unwrap(), "--dry-run"]);
    assert!(dry.status.success(), "{}", String::from_utf8_lossy(&dry.stderr));
    let out = String::from_utf8_lossy(&dry.stdout);
    assert!(out.contains("xdf2 S00000121") && out.contains("Datenfelder") && out.contains("Probelauf"), "{out}");
    let json = run(&["import", "xdf", blaue_karte.to_str().unwrap(), "--dry-run", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(v["report"]["fields"].as_u64().unwrap() > 50);
    assert!(v["form"]["steps"].as_array().is_some_and(|s| !s.is_empty()));
    // Refused documents: a message that names the problem and exit code 1.
    let bad = run(&["import", "xdf", shared.join("xdf2/duplicate-required-value.xml").to_str().unwrap(), "--dry-run"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("<name> 2-mal"));
    // Stored as a draft of an authority.
    assert!(run(&["seed"]).status.success());
    let ok = run(&["import", "xdf", blaue_karte.to_str().unwrap(), "--authority", "landkreis-heidekamp"]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("Als Entwurf gespeichert"));
    let again = run(&["import", "xdf", blaue_karte.to_str().unwrap(), "--authority", "landkreis-heidekamp"]);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("bereits ein Formular"));
    let store = amtsweg_store::Store::open_sqlite(&dir.path().join("amtsweg.db")).await.unwrap();
    let county = store.authority_by_slug("landkreis-heidekamp").await.unwrap().unwrap();
    let form = store.form_by_slug(county.id, "s00000121").await.unwrap().expect("stored");
    assert_eq!(form.published_version, 0, "a draft, to be reviewed and published");
    store.close().await;
}

/// `amtsweg keys rotate-master` re-wraps the data keys with a new master key and
/// swaps `master.key`; sealed data opens with the new key only.
#[tokio::test]
async fn the_master_key_rotates_from_the_command_line() {
    use amtsweg_portal::Keyring;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("daten");
    let cfg = dir.path().join("amtsweg.toml");
    std::fs::write(&cfg, format!("data_dir = {:?}\n", data.to_str().unwrap())).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_amtsweg"))
            .args(["--config", cfg.to_str().unwrap()])
            .args(args)
            .env("AMTSWEG_LOG", "warn")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    run(&["seed"]);
    let old_key = Keyring::new_master_key();
    std::fs::write(data.join("master.key"), &old_key).unwrap();
    let store = amtsweg_store::Store::open_sqlite(&data.join("amtsweg.db")).await.unwrap();
    let old = Keyring::from_base64(&old_key).unwrap();
    let sealed = old.seal(&store, "authority:1", "test", b"geheim").await.unwrap();
    old.seal(&store, "verbund", "test", b"auch").await.unwrap();
    store.close().await;

    let said = run(&["keys", "rotate-master"]);
    assert!(said.contains("2 Datenschlüssel"), "{said}");
    let new_key = std::fs::read_to_string(data.join("master.key")).unwrap();
    assert_ne!(new_key.trim(), old_key.trim());
    assert_eq!(std::fs::read_to_string(data.join("master.key.previous")).unwrap(), old_key);
    let store = amtsweg_store::Store::open_sqlite(&data.join("amtsweg.db")).await.unwrap();
    let new = Keyring::from_base64(&new_key).unwrap();
    assert_eq!(new.open(&store, "authority:1", "test", &sealed).await.unwrap(), b"geheim");
    let stale = Keyring::from_base64(&old_key).unwrap();
    assert!(stale.open(&store, "authority:1", "test", &sealed).await.is_err(), "the old master key is useless now");
    store.close().await;

    // A wrong current key changes nothing.
    std::fs::write(data.join("master.key"), Keyring::new_master_key()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_amtsweg"))
        .args(["--config", cfg.to_str().unwrap(), "keys", "rotate-master"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was changed"));
}

/// The submission and start-up benchmarks run end to end (short, debug build): every
/// receipt is found in the store, and the final line is JSON with the figures.
#[test]
fn the_rush_and_startup_benchmarks_run() {
    for args in [
        &["bench", "submit", "--seconds", "1", "--concurrency", "4"][..],
        &["bench", "startup", "--submissions", "3000"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_amtsweg")).args(args).env("AMTSWEG_LOG", "warn").output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{args:?}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        let json: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
        if args[1] == "submit" {
            assert!(json["submissions"].as_u64().unwrap() > 0, "{json}");
            assert_eq!(json["missing_receipts"], 0);
            assert_eq!(json["errors"], 0);
            assert!(json["bare_rps"].as_f64().unwrap() > 0.0);
        } else {
            assert_eq!(json["submissions"], 3000);
            assert_eq!(json["startup_ms"].as_array().unwrap().len(), 3);
        }
    }
}
