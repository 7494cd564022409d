//! `amtsweg`: the one binary of the portal. See `amtsweg --help`.

use amtsweg::{bench, config, seed, server};

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
    /// Benchmarks that print a human summary and a final JSON line.
    Bench {
        #[command(subcommand)]
        which: bench::Which,
    },
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
    }
}
