//! `amtsweg payments import-camt FILE --authority SLUG [--dry-run]`: reads a bank
//! statement (camt.053) of one of the authority's invoice accounts, books the
//! credits that match exactly and lists the rest for a person in the back office —
//! the same import as the upload under "Zahlungen", for statements fetched by a
//! script (EBICS, a bank's export folder).

use crate::config::Config;
use crate::server;
use amtsweg_portal::casework::Actor;
use amtsweg_portal::reconcile::{self, ImportReport};
use anyhow::Context;
use std::path::Path;

/// What the command found: the report, or why the file was refused.
pub type Outcome = Result<ImportReport, String>;

/// Imports (or with `dry_run` only checks) the file for the authority `slug`.
///
/// # Errors
/// When the file cannot be read, the authority is unknown, or the store fails.
pub async fn import_camt(cfg: &Config, file: &Path, slug: &str, dry_run: bool) -> anyhow::Result<Outcome> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let store = server::open_store(cfg).await?;
    let result = async {
        let a = store.authority_by_slug(slug).await?.ok_or_else(|| anyhow::anyhow!("unbekannte Behörde „{slug}“"))?;
        let portal = server::web_config(cfg)?.open_portal(store.clone(), crate::printer()).await?;
        let actor = Actor { name: "Kontoauszug-Import (Kommandozeile)".into(), audit: "cli:payments".into() };
        let outcome = if dry_run {
            reconcile::check_camt(&portal, a.id, &bytes).await?
        } else {
            reconcile::import_camt(&portal, &actor, a.id, &bytes).await?
        };
        anyhow::Ok(outcome)
    }
    .await;
    store.close().await;
    result
}

/// The report for a terminal, in German: one line per statement and entry, then
/// the summary.
#[must_use]
pub fn render(r: &ImportReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if r.dry_run {
        out.push_str("Probelauf: nichts wird gespeichert.\n");
    }
    for s in &r.statements {
        let _ = write!(out, "Auszug {} (Konto {}, camt.053.{})", s.statement_id, s.account_iban, s.version);
        if s.known {
            out.push_str(": bereits eingelesen, unverändert.\n");
            continue;
        }
        out.push('\n');
        for l in &s.lines {
            let sign = if l.credit { "+" } else { "-" };
            let amount =
                if l.currency == "EUR" { l.amount.german() } else { format!("{} {}", l.amount.decimal(), l.currency) };
            let _ = write!(out, "  {} {sign}{amount}: {}", l.booking_date, l.label());
            if l.released.is_some() {
                out.push_str(" – Antrag freigegeben");
            }
            out.push('\n');
        }
        if s.pending > 0 {
            let _ = writeln!(out, "  {} vorgemerkte Buchung(en) nicht übernommen (noch nicht gebucht).", s.pending);
        }
    }
    out.push_str(&r.summary_de());
    out.push('\n');
    if r.to_resolve() > 0 && !r.dry_run {
        out.push_str("Offene Buchungen klären Sie in der Verwaltung unter „Zahlungen“ → „Abgleich“.\n");
    }
    out
}
