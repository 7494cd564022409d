//! `amtsweg`: the one binary of the portal. See `amtsweg --help`.

use amtsweg::{bench, config, seed, seed_termine, server, staff};
use amtsweg_domain::staff::Role;

use anyhow::Context;
use clap::{Parser, Subcommand};
use config::Config;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "amtsweg", version, about = "Service portal for a county and its municipalities (Portalverbund)")]
struct Cli {
    /// TOML configuration file (values there are overridden by AMTSWEG_* variables and flags).
    #[arg(long, global = true, env = "AMTSWEG_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory holding the SQLite database (default ./amtsweg-data).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Use PostgreSQL instead of SQLite, e.g. postgres://user@host/amtsweg.
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Migrate, seed the demo Verbund "Landkreis Heidekamp" when empty, and serve it.
    Demo {
        /// Port on 127.0.0.1.
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
    /// Serve the portal (applies pending migrations first).
    Serve {
        /// Listen address, e.g. 0.0.0.0:8080 (default from the configuration).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load a Verbund from a seed file (TOML, same format as the demo) into an empty database.
    Seed {
        /// The seed file; without it, the demo Verbund.
        file: Option<PathBuf>,
    },
    /// Staff accounts.
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        action: AuditCommand,
    },
    /// Import form definitions.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// The citizens' Postfach.
    Postfach {
        #[command(subcommand)]
        action: PostfachCommand,
    },
    /// Keys for encryption at rest.
    Keys {
        #[command(subcommand)]
        action: KeysCommand,
    },
    /// Fees and payments: bank statements.
    Payments {
        #[command(subcommand)]
        action: PaymentsCommand,
    },
    /// Benchmarks that print a human summary and a final JSON line.
    Bench {
        #[command(subcommand)]
        which: bench::Which,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an administrator: of the whole Verbund, or with --authority of one authority.
    /// The second factor is set up at the first sign-in.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Slug of the authority (omit for a Verbund administrator).
        #[arg(long)]
        authority: Option<String>,
        /// Read the password from the first line of standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Print the current second-factor code for a Base32 secret (for demos and tests).
    TotpCode { secret: String },
    /// Disable a staff account (offboarding): all its sessions end at once and nobody
    /// can sign in to it; only a new invitation opens it again. The last administrator
    /// of an authority is refused.
    Disable { email: String },
}

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// A FIM XDatenfelder schema (xdf2, xdf3) as a form draft of an authority; prints a
    /// report of everything that could not be carried over. Exit code 1 when refused.
    Xdf {
        file: PathBuf,
        /// Only check and report; store nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the report (and with --dry-run the form) as JSON.
        #[arg(long)]
        json: bool,
        /// Slug of the authority that receives the form (not needed with --dry-run).
        #[arg(long)]
        authority: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum PostfachCommand {
    /// Send a message from an authority to a citizen's Postfach; the citizen gets an
    /// e-mail notice without the content.
    Send {
        /// E-mail address of the citizen account.
        #[arg(long)]
        to: String,
        /// Slug of the sending authority.
        #[arg(long)]
        authority: String,
        #[arg(long)]
        subject: String,
        /// The message text.
        #[arg(long)]
        text: String,
        /// Sender shown to the citizen (default: the authority's name).
        #[arg(long)]
        sender: Option<String>,
        /// A file to attach (PDF, PNG, JPEG); repeatable.
        #[arg(long = "attach")]
        attachments: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Rotate the master key: every data key is re-wrapped with a new master key in
    /// one transaction. Stop the servers first. With the key in `data_dir/master.key`
    /// the file is replaced (the old one is kept as master.key.previous for restoring
    /// older backups); a configured key is printed for you to put into the configuration.
    RotateMaster {
        /// Read the new key (base64 of 32 bytes) from standard input instead of generating one.
        #[arg(long)]
        new_key_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
enum PaymentsCommand {
    /// Read a bank statement (camt.053, versions 001.02 and 001.08) of one of the
    /// authority's invoice accounts: credits naming an open invoice or claim with the
    /// right amount are booked, the rest is listed for the back office. A statement
    /// read before changes nothing. Exit code 1 when the file is refused.
    ImportCamt {
        file: PathBuf,
        /// Slug of the authority whose account the statement is of.
        #[arg(long)]
        authority: String,
        /// Only check and report; store nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the (keyed) hash chain and compare it with the newest signed
    /// checkpoint; exit code 1 when an entry was changed or removed, or the newest
    /// entries were cut off.
    Verify,
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("AMTSWEG_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tantivy=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

// mimalloc instead of glibc's malloc: a request allocates and frees many small
// values (headers, form fields, template values); with glibc's allocator that was a
// sixth of the CPU on the submission path, and its arenas keep memory longer.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut cfg = Config::load(cli.config.as_deref())?;
    if let Some(d) = cli.data_dir {
        cfg.data_dir = d;
    }
    if let Some(u) = cli.database_url {
        cfg.database_url = Some(u);
    }
    if !matches!(cli.command, Command::Bench { .. }) {
        init_logging(&cfg.log_format);
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the runtime")?;
    rt.block_on(run(cli.command, cfg))
}

async fn run(command: Command, mut cfg: Config) -> anyhow::Result<()> {
    match command {
        Command::Demo { port } => {
            cfg.listen = format!("127.0.0.1:{port}");
            cfg.web.public_base_url = format!("http://127.0.0.1:{port}");
            if cfg.mail.transport == "none" {
                // The demo has no mail server: show mails in the log instead.
                cfg.mail.transport = "log".into();
            }
            // The demo's receivers (webhook or DMS simulators, test providers) run on this
            // machine: unless configured otherwise, the demo may reach the loopback
            // interface over plain HTTP, and xdomea packages go to a folder in the data
            // directory. `serve` allows none of this by default.
            if cfg.outbound == amtsweg_handoff::outbound::OutboundConfig::default() {
                cfg.outbound.allow_cidrs = vec!["127.0.0.0/8".into(), "::1/128".into()];
                cfg.outbound.http_hosts = vec!["127.0.0.1".into(), "localhost".into(), "[::1]".into()];
            }
            if cfg.handoff.xdomea.base_dir.is_none() {
                let dir = cfg.data_dir.join("xdomea");
                std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
                cfg.handoff.xdomea.base_dir = Some(dir);
            }
            let store = server::open_store(&cfg).await?;
            let demo = seed::parse(seed::DEMO)?;
            match seed::apply(&store, &demo).await? {
                seed::SeedOutcome::Seeded { authorities, leistungen } => {
                    println!("Demo-Verbund angelegt: {authorities} Behörden, {leistungen} Leistungen.");
                }
                seed::SeedOutcome::AlreadyFilled => {
                    println!("Datenbank enthält bereits Daten; es wird nichts neu angelegt.")
                }
            }
            if staff::seed_demo(&store).await? {
                println!("Demo-Mitarbeiterkonten angelegt.");
            }
            if seed_termine::seed(&store).await? {
                println!(
                    "Online-Termine angelegt: /o/{}/termine/ und /o/{}/termine/",
                    seed_termine::COUNTY,
                    seed_termine::TOWN
                );
            }
            if let Some(file) = seed::blaue_karte_file() {
                match seed::import_published_form(&store, &file).await {
                    Ok(path) => println!("FIM-Formular Blaue Karte EU (aus XDatenfelder importiert): {path}"),
                    Err(e) => eprintln!("Blaue Karte EU nicht importiert: {e:#}"),
                }
            }
            server::serve(store, cfg, true).await
        }
        Command::Serve { listen } => {
            if let Some(l) = listen {
                cfg.listen = l;
            }
            let store = server::open_store(&cfg).await?;
            server::serve(store, cfg, false).await
        }
        Command::Migrate => {
            let store = server::open_store(&cfg).await?;
            println!("Datenbank ist auf dem aktuellen Stand ({:?}).", store.backend());
            store.close().await;
            Ok(())
        }
        Command::Seed { file } => {
            let text = match &file {
                Some(f) => std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?,
                None => seed::DEMO.to_owned(),
            };
            let parsed = seed::parse(&text)?;
            let store = server::open_store(&cfg).await?;
            let outcome = seed::apply(&store, &parsed).await?;
            store.close().await;
            match outcome {
                seed::SeedOutcome::Seeded { authorities, leistungen } => {
                    println!("Angelegt: {authorities} Behörden, {leistungen} Leistungen.");
                }
                seed::SeedOutcome::AlreadyFilled => {
                    println!("Datenbank enthält bereits Behörden; nichts angelegt.")
                }
            }
            Ok(())
        }
        Command::Bench { which } => bench::run(which).await,
        Command::User { action: UserCommand::TotpCode { secret } } => {
            let code = amtsweg_web::current_totp_code(&secret)
                .ok_or_else(|| anyhow::anyhow!("kein gültiger Base32-Schlüssel"))?;
            println!("{code}");
            Ok(())
        }
        Command::User { action: UserCommand::Disable { email } } => {
            let store = server::open_store(&cfg).await?;
            let result = staff::disable(&store, &email).await;
            store.close().await;
            let ended = result?;
            println!("Konto {email} deaktiviert; {ended} Sitzung(en) beendet.");
            println!("Zurück kommt die Person nur mit einer neuen Einladung.");
            Ok(())
        }
        Command::User { action: UserCommand::CreateAdmin { email, name, authority, password_stdin } } => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).context("cannot read the password from standard input")?;
                line.trim_end_matches(['\r', '\n']).to_owned()
            } else {
                amtsweg_web::session::random_token()
            };
            let role = if authority.is_some() { Role::AuthorityAdmin } else { Role::VerbundAdmin };
            let store = server::open_store(&cfg).await?;
            let result = staff::create(
                &store,
                &staff::NewAccount {
                    email: &email,
                    name: &name,
                    password: &password,
                    role,
                    authority: authority.as_deref(),
                    org_unit: None,
                    totp_secret: None,
                },
            )
            .await;
            store.close().await;
            let id = result?;
            println!("Konto {id} angelegt: {email} ({}).", role.label());
            if !password_stdin {
                println!("Vorläufiges Passwort: {password}");
            }
            println!("Bei der ersten Anmeldung unter /verwaltung/anmelden wird der zweite Faktor eingerichtet.");
            Ok(())
        }
        Command::Import { what: ImportCommand::Xdf { file, dry_run, json, authority } } => {
            let xml = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let imported = match amtsweg_xdf::import(&xml) {
                Ok(i) => i,
                Err(e) => {
                    eprintln!("Import abgelehnt: {e}");
                    std::process::exit(1);
                }
            };
            let r = &imported.report;
            let mut stored = None;
            if !dry_run {
                let slug = authority
                    .as_deref()
                    .ok_or_else(|| anyhow::anyhow!("--authority fehlt (oder --dry-run angeben)"))?;
                let store = server::open_store(&cfg).await?;
                let result = async {
                    let a = store
                        .authority_by_slug(slug)
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("unbekannte Behörde „{slug}“"))?;
                    let form_slug = amtsweg_domain::Slug::from_title(&imported.form.id);
                    if store.form_by_slug(a.id, form_slug.as_str()).await?.is_some() {
                        anyhow::bail!("{} hat bereits ein Formular „{form_slug}“", a.name);
                    }
                    let mut tx = store.begin().await?;
                    let id = tx.create_form(a.id, &form_slug, None, &imported.form, None).await?;
                    tx.commit().await?;
                    anyhow::Ok((id, form_slug))
                }
                .await;
                store.close().await;
                stored = Some(result?);
            }
            if json {
                let out = serde_json::json!({
                    "report": r,
                    "form": if dry_run { serde_json::to_value(&imported.form)? } else { serde_json::Value::Null },
                    "stored_form_id": stored.as_ref().map(|(id, _)| *id),
                });
                println!("{out}");
            } else {
                println!("{} {} (Version {}): „{}“", r.standard, r.id, r.version, r.title);
                println!("{} Datenfelder, {} Datenfeldgruppen übernommen.", r.fields, r.groups);
                if r.not_supported.is_empty() {
                    println!("Alles übernommen.");
                } else {
                    println!("Nicht übernommen ({}):", r.not_supported.len());
                    for m in &r.not_supported {
                        println!("  - {m}");
                    }
                }
                match &stored {
                    Some((id, slug)) => println!("Als Entwurf gespeichert: Formular {id} („{slug}“)."),
                    None => println!("Probelauf: nichts gespeichert."),
                }
            }
            Ok(())
        }
        Command::Postfach { action: PostfachCommand::Send { to, authority, subject, text, sender, attachments } } => {
            let mut files = Vec::new();
            for path in &attachments {
                let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                files.push((name, bytes));
            }
            let store = server::open_store(&cfg).await?;
            let result = async {
                let a = store
                    .authority_by_slug(&authority)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("unbekannte Behörde „{authority}“"))?;
                let citizen = store
                    .citizen_by_email(&to)
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("kein Bürgerkonto mit der Adresse {to}"))?;
                let portal = server::web_config(&cfg)?.open_portal(store.clone(), amtsweg::printer()).await?;
                let delivery = amtsweg_portal::postfach::Delivery {
                    citizen_id: citizen.id,
                    authority_id: a.id,
                    sender: sender.unwrap_or_else(|| a.name.clone()),
                    subject,
                    body: text,
                    attachments: files,
                };
                let (thread, _) = amtsweg_portal::postfach::deliver(&portal, &delivery).await?;
                anyhow::Ok(thread)
            }
            .await;
            store.close().await;
            let thread = result?;
            println!("Nachricht zugestellt (Unterhaltung {thread}); die Benachrichtigung liegt im E-Mail-Ausgang.");
            Ok(())
        }
        Command::Keys { action: KeysCommand::RotateMaster { new_key_stdin } } => {
            let new_key = if new_key_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                line.trim().to_owned()
            } else {
                amtsweg_portal::Keyring::new_master_key()
            };
            server::rotate_master_key(&cfg, &new_key).await
        }
        Command::Payments { action: PaymentsCommand::ImportCamt { file, authority, dry_run } } => {
            match amtsweg::payments_cmd::import_camt(&cfg, &file, &authority, dry_run).await? {
                Ok(report) => print!("{}", amtsweg::payments_cmd::render(&report)),
                Err(refused) => {
                    eprintln!("Kontoauszug abgelehnt: {refused}");
                    std::process::exit(1);
                }
            }
            Ok(())
        }
        Command::Audit { action: AuditCommand::Verify } => {
            if !amtsweg::audit_cmd::verify(&cfg).await? {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}
