//! Wiring: open and migrate the store, build the app, serve (`connections`) until
//! Ctrl-C / SIGTERM.

use crate::config::Config;
use amtsweg_portal::Portal;
use amtsweg_store::Store;
use amtsweg_web::{AppState, router_with, sync};
use anyhow::Context;
use std::time::Duration;

/// Opens the configured database (creating the data directory for SQLite) and migrates it.
///
/// # Errors
/// When the database cannot be opened or migrated.
pub async fn open_store(cfg: &Config) -> anyhow::Result<Store> {
    if cfg.database_url.is_none() {
        std::fs::create_dir_all(&cfg.data_dir)
            .with_context(|| format!("cannot create data directory {}", cfg.data_dir.display()))?;
    }
    let url = cfg.database_url();
    let store = Store::connect(&url).await.with_context(|| format!("cannot open database {}", redact(&url)))?;
    let applied = store.migrate().await.context("database migration failed")?;
    if !applied.is_empty() {
        tracing::info!(?applied, "migrations applied");
    }
    // Once a portal keyed the audit chain, commands append keyed entries too.
    amtsweg_portal::audit_anchor::attach_existing(&store, || crate::audit_cmd::keyring(cfg))
        .await
        .context("cannot open the audit key (is the master key right?)")?;
    Ok(store)
}

/// Hides a password in a database URL for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

pub async fn serve(store: Store, mut cfg: Config, demo: bool) -> anyhow::Result<()> {
    // The demo's simulated BundID, unless a real `[web.saml]` is configured: only
    // this flag (set by `amtsweg demo` alone) mounts it, never the configuration.
    let demo_bundid = if demo && cfg.web.saml.is_none() {
        let dir = cfg.data_dir.join("demo-bundid");
        let (settings, idp) = amtsweg_web::demo_bundid::prepare(&dir, &cfg.web.public_base_url)
            .map_err(|e| anyhow::anyhow!("demo ID provider: {e}"))?;
        cfg.web.saml = Some(settings);
        Some(idp)
    } else {
        None
    };
    let web = web_config(&cfg)?;
    if !web.connectors.fitconnect.is_configured() {
        tracing::warn!(
            "handoff.fitconnect.trust_anchors is empty: FIT-Connect deliveries are refused until trust anchors \
             are configured (or accept_unverified_keys = true for a test environment)"
        );
    }
    // The application first: the workers run on it alone; the web edge wraps it.
    let portal = web.open_portal(store, crate::printer()).await.context("cannot start the portal")?;
    // The demo's payment provider is a simulation on a listener of its own (a real
    // foreign origin for the browser); `serve` never starts it. It lives as long as
    // this function: dropping it stops it.
    let (_simulator, payments) = if demo { start_demo_payments(&portal).await? } else { (None, None) };
    let _workers = spawn_workers(&portal, &cfg)?;
    let checkpoints = crate::audit_cmd::spawn_checkpointer(&portal, &cfg)?;
    let anchored = portal.clone();
    let state = AppState::with_portal(portal, web).context("cannot start the portal")?;
    let _sync = sync::spawn(state.clone(), Duration::from_millis(cfg.sync_interval_ms.max(50)));
    let listener =
        tokio::net::TcpListener::bind(&cfg.listen).await.with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    let catalogue = state.catalogue();
    println!("\n{} läuft auf http://{addr}/", catalogue.verbund_name);
    if demo {
        println!("Portale der Behörden:");
        for a in &catalogue.authorities {
            println!(
                "  {:<32} http://{addr}/o/{}/   oder   http://{}.localhost:{}/",
                a.name,
                a.slug,
                a.slug,
                addr.port()
            );
        }
        println!(
            "Verwaltung: http://{addr}/verwaltung/anmelden — Demo-Konten (Passwort für alle: {}):",
            crate::staff::DEMO_PASSWORD
        );
        for d in crate::staff::DEMO_LOGINS {
            let where_ = match (d.authority, d.org_unit) {
                (Some(a), Some(u)) => format!("{a}, nur {u}"),
                (Some(a), None) => a.to_owned(),
                _ => "alle Behörden".to_owned(),
            };
            match d.totp_secret {
                Some(s) => println!(
                    "  {:<42} {} ({where_}); zweiter Faktor, Schlüssel {s} — aktueller Code: amtsweg user totp-code {s}",
                    d.email,
                    d.role.label()
                ),
                None => println!("  {:<42} {} ({where_})", d.email, d.role.label()),
            }
        }
        if let Some(p) = &payments {
            print_demo_payments(p, &addr.to_string());
        }
        if demo_bundid.is_some() {
            print_demo_bundid(&addr.to_string());
        }
        println!("Beenden mit Strg+C.\n");
    }
    drop(catalogue);
    // Own accept loop for the slow-client limits (`connections`); it hands every
    // request the peer address (`ConnectInfo`), the client of the abuse limits
    // (`amtsweg_web::limits`).
    let limits = state.config.connections;
    let extra = demo_bundid.map(amtsweg_web::demo_bundid::router).unwrap_or_default();
    crate::connections::serve(listener, router_with(state, extra), limits, shutdown_signal()).await;
    // The last signed head of the audit chain, once nothing writes any more.
    checkpoints.abort();
    crate::audit_cmd::final_checkpoint(&anchored, &cfg).await;
    Ok(())
}

/// Starts the demo's XBezahldienste simulator on `127.0.0.1:0` and points the demo's
/// payment connector at it (`seed_zahlungen`).
async fn start_demo_payments(
    portal: &Portal,
) -> anyhow::Result<(Option<amtsweg_handoff::payment::simulator::Simulator>, Option<crate::seed_zahlungen::DemoPayments>)>
{
    let sim = amtsweg_handoff::payment::simulator::Simulator::start("127.0.0.1:0", true)
        .await
        .context("cannot start the payment simulator")?;
    let seeded = crate::seed_zahlungen::seed(portal, &sim.base_url).await.context("demo payments")?;
    Ok((Some(sim), seeded))
}

/// What the demo offers for paying, and where the simulation runs.
fn print_demo_payments(p: &crate::seed_zahlungen::DemoPayments, addr: &str) {
    use crate::seed_zahlungen as z;
    println!("Bezahlen in der Demo (Stadt Moorbrück):");
    println!(
        "  SIMULATION: Der Bezahldienst der Demo läuft auf {}/ – er ist nur nachgebildet, es fließt kein Geld.",
        p.simulator_url
    );
    // The form asks for trust level "hoch": the demo signs in there through its simulated BundID.
    println!(
        "  Meldebescheinigung: Gebühr online vor der Weiterleitung   http://{addr}/o/{}/antrag/meldebescheinigung/ (Vertrauensniveau „hoch“: Anmeldung über die BundID, in der Demo über die Test-BundID)",
        z::TOWN
    );
    println!(
        "  Hundesteuer: Rechnung mit IBAN und GiroCode                http://{addr}/o/{}/antrag/hundesteuer/",
        z::TOWN
    );
    println!(
        "  Bürgerkonto mit Forderungen: {} (Passwort: {})   http://{addr}/konto/finanzen/",
        z::CITIZEN_EMAIL,
        z::CITIZEN_PASSWORD
    );
    match &p.activation {
        Some((code, until)) => println!(
            "  Aktivierungscode für Personenkonto {} (Stadt Moorbrück): {code} – gültig bis {until}; unter „Meine Finanzen“ eingeben",
            z::ACCOUNT
        ),
        None => println!("  Personenkonto {} ist bereits mit einem Bürgerkonto verknüpft.", z::ACCOUNT),
    }
}

/// What the simulated BundID is for, and where it is.
fn print_demo_bundid(addr: &str) {
    use amtsweg_web::demo_bundid::{LABEL, PATH};
    println!("Anmelden mit Vertrauensniveau (SIMULATION, keine echte BundID):");
    println!(
        "  „{LABEL}“ unter http://{addr}{PATH} – Testperson und Vertrauensniveau (normal, substanziell, hoch) wählen; damit lassen sich Meldebescheinigung (hoch), Kita-Anmeldung und Gewerbeanmeldung (substanziell) abschließen."
    );
    println!("  Anmelden: http://{addr}/konto/anmelden → „Anmelden mit {LABEL}“");
}

/// The background work of one node, on the application alone (no web state): the
/// leased outbox (e-mails and hand-off deliveries, one loop), the draft sweeper, the
/// payment worker (asks the providers about open payments, expires unpaid
/// applications) and the finance webhooks. They run until the process ends; the
/// handles let a caller abort them.
fn spawn_workers(portal: &Portal, cfg: &Config) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let mailer = amtsweg_handoff::mail::Mailer::from_config(&cfg.mail).context("invalid [mail] configuration")?;
    if mailer.is_none() {
        tracing::warn!("mail.transport = \"none\": e-mails wait in the outbox until a transport is configured");
    }
    // One worker loop for the leased outbox: e-mails and hand-off deliveries.
    let worker =
        amtsweg_handoff::deliver::Worker::new(portal.store.clone(), portal.clone(), mailer, cfg.handoff.policy())
            .map_err(|e| anyhow::anyhow!("delivery worker: {e}"))?
            .with_connectors(cfg.handoff.connectors(&cfg.outbound)?)
            .map_err(|e| anyhow::anyhow!("delivery worker: {e}"))?
            .spawn(Duration::from_millis(cfg.handoff.poll_ms.max(20)));
    // Expired drafts, the rows the abuse limits no longer count, old e-mail content.
    let drafts = amtsweg_portal::housekeeping::spawn(
        portal.clone(),
        Duration::from_secs(600),
        amtsweg_portal::housekeeping::OutboxRetention::days(cfg.mail.keep_sent_days),
    );
    // XBezahldienste sends no notifications: every open payment is asked about.
    let outbound = cfg.handoff.connectors(&cfg.outbound)?.outbound;
    let payments = amtsweg_portal::payments::worker::spawn(
        portal.clone(),
        amtsweg_handoff::payment::Gateway::new(outbound.clone(), Duration::from_secs(20)),
        Duration::from_secs(2),
    );
    let finance = amtsweg_portal::finanzen::webhook::spawn(portal.clone(), outbound, Duration::from_secs(10));
    Ok(vec![worker, drafts, payments, finance])
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}

/// The web configuration with the defaults that depend on the data directory:
/// uploaded files in `data_dir/objects`, and the master key for encryption at rest
/// from `data_dir/master.key` (created on first start, readable by the owner only)
/// unless one is configured (`web.master_key` / `AMTSWEG_WEB__MASTER_KEY`).
///
/// # Errors
/// When the key file cannot be read or written.
pub fn web_config(cfg: &Config) -> anyhow::Result<amtsweg_web::WebConfig> {
    let mut web = cfg.web.clone();
    web.connectors = cfg.handoff.connectors(&cfg.outbound)?;
    web.mail_from = cfg.mail.from.clone();
    web.objects_dir.get_or_insert_with(|| cfg.data_dir.join("objects"));
    if web.master_key.is_none() {
        let path = cfg.data_dir.join("master.key");
        let key = match std::fs::read_to_string(&path) {
            Ok(k) => k.trim().to_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&cfg.data_dir)
                    .with_context(|| format!("cannot create data directory {}", cfg.data_dir.display()))?;
                let key = amtsweg_portal::Keyring::new_master_key();
                write_private(&path, &key).with_context(|| format!("cannot write {}", path.display()))?;
                tracing::warn!(path = %path.display(), "created a new master key for encryption at rest: back it up with the database");
                key
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        web.master_key = Some(key);
    }
    Ok(web)
}

/// Re-wraps every data key with `new_key` and puts the new key where the old one
/// came from: `data_dir/master.key` is replaced (the old key stays beside it as
/// `master.key.previous`, needed to restore backups made before); a configured key
/// is printed to be changed in the configuration.
///
/// # Errors
/// Invalid key, a data key that does not open with the current key, file errors.
pub async fn rotate_master_key(cfg: &Config, new_key: &str) -> anyhow::Result<()> {
    use amtsweg_portal::keyring::{Keyring, rotate_master};
    let configured = cfg.web.master_key.is_some();
    let web = web_config(cfg)?;
    let old = Keyring::from_base64(web.master_key.as_deref().unwrap_or_default())?;
    let new = Keyring::from_base64(new_key).context("the new master key")?;
    let path = cfg.data_dir.join("master.key");
    let staged = cfg.data_dir.join("master.key.new");
    if !configured {
        // The new key is on disk before the database uses it: a crash in between
        // leaves both keys, never a database whose key is lost.
        let _ = std::fs::remove_file(&staged);
        write_private(&staged, new_key.trim()).with_context(|| format!("cannot write {}", staged.display()))?;
    }
    let store = open_store(cfg).await?;
    let rotated = rotate_master(&store, &old, &new).await;
    store.close().await;
    let n = rotated.context("rotation failed; nothing was changed")?;
    if configured {
        println!(
            "{n} Datenschlüssel neu verpackt. Tragen Sie jetzt den neuen Hauptschlüssel in die Konfiguration ein (web.master_key / AMTSWEG_WEB__MASTER_KEY) und starten Sie die Server neu:\n{}",
            new_key.trim()
        );
    } else {
        let previous = cfg.data_dir.join("master.key.previous");
        std::fs::rename(&path, &previous)
            .with_context(|| format!("cannot keep the old key as {}", previous.display()))?;
        std::fs::rename(&staged, &path).with_context(|| format!("cannot move {} into place", staged.display()))?;
        println!(
            "{n} Datenschlüssel neu verpackt; der neue Hauptschlüssel steht in {}. Der alte liegt in {} – er wird nur für Sicherungen von vor diesem Zeitpunkt gebraucht.",
            path.display(),
            previous.display()
        );
    }
    Ok(())
}

/// Writes a file only its owner can read.
fn write_private(path: &std::path::Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(content.as_bytes())
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(super::redact("postgres://u:geheim@h/db"), "postgres://u:***@h/db");
        assert_eq!(super::redact("sqlite://x.db"), "sqlite://x.db");
    }
}
