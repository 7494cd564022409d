//! Configuration: built-in defaults, then an optional TOML file, then `AMTSWEG_*`
//! environment variables (nested keys with `__`, e.g. `AMTSWEG_WEB__HSTS_MAX_AGE`),
//! then command-line flags.

use amtsweg_web::WebConfig;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Directory for the SQLite database and other local data.
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL instead of SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// Address and port to listen on.
    pub listen: String,
    /// `text` or `json` log lines.
    pub log_format: String,
    /// How often (milliseconds) a node checks the store for published changes.
    pub sync_interval_ms: u64,
    pub web: WebConfig,
    /// Outgoing e-mail (invitations, password resets, notices).
    pub mail: amtsweg_handoff::mail::MailConfig,
    /// Delivery of submissions to the back office (`[handoff]`).
    pub handoff: HandoffConfig,
    /// Where connectors and sign-in providers may connect to (`[outbound]`).
    pub outbound: amtsweg_handoff::outbound::OutboundConfig,
    /// Signed checkpoints of the audit chain outside the database (`[audit]`).
    pub audit: crate::audit_cmd::AuditConfig,
}

/// How the delivery worker retries.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct HandoffConfig {
    /// First retry after this many milliseconds, doubling per attempt (±20 %).
    pub retry_base_ms: u64,
    /// Longest wait between two attempts, in seconds.
    pub retry_cap_seconds: u64,
    /// After this many failed attempts a delivery is parked as dead.
    pub max_attempts: i64,
    /// Timeout of one request to a receiver, in seconds.
    pub request_timeout_seconds: u64,
    /// How often the worker looks for due deliveries, in milliseconds.
    pub poll_ms: u64,
    /// DMS import folders of the xdomea connector (`[handoff.xdomea]`).
    pub xdomea: amtsweg_handoff::xdomea::XdomeaDirs,
    /// Trust anchors for FIT-Connect destination keys (`[handoff.fitconnect]`).
    pub fitconnect: amtsweg_handoff::fitconnect::TrustConfig,
}

impl Default for HandoffConfig {
    fn default() -> Self {
        Self {
            retry_base_ms: 30_000,
            retry_cap_seconds: 6 * 3600,
            max_attempts: 12,
            request_timeout_seconds: 60,
            poll_ms: 1_000,
            xdomea: amtsweg_handoff::xdomea::XdomeaDirs::default(),
            fitconnect: amtsweg_handoff::fitconnect::TrustConfig::default(),
        }
    }
}

impl HandoffConfig {
    /// The operator's connector settings, compiled: `[outbound]`, `[handoff.xdomea]`,
    /// `[handoff.fitconnect]`.
    ///
    /// # Errors
    /// When a network or a trust anchor file is unusable.
    pub fn connectors(
        &self,
        outbound: &amtsweg_handoff::outbound::OutboundConfig,
    ) -> anyhow::Result<amtsweg_handoff::deliver::Connectors> {
        amtsweg_handoff::deliver::Connectors::load(outbound, &self.xdomea, &self.fitconnect)
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))
    }

    #[must_use]
    pub fn policy(&self) -> amtsweg_handoff::deliver::RetryPolicy {
        use std::time::Duration;
        let timeout = Duration::from_secs(self.request_timeout_seconds.max(1));
        amtsweg_handoff::deliver::RetryPolicy {
            base: Duration::from_millis(self.retry_base_ms.max(10)),
            cap: Duration::from_secs(self.retry_cap_seconds.max(1)),
            max_attempts: self.max_attempts.max(1),
            lease: timeout * 3,
            request_timeout: timeout,
            concurrency: 16,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./amtsweg-data"),
            database_url: None,
            listen: "127.0.0.1:8080".into(),
            log_format: "text".into(),
            sync_interval_ms: 500,
            web: WebConfig::default(),
            mail: amtsweg_handoff::mail::MailConfig::default(),
            handoff: HandoffConfig::default(),
            outbound: amtsweg_handoff::outbound::OutboundConfig::default(),
            audit: crate::audit_cmd::AuditConfig::default(),
        }
    }
}

impl Config {
    /// Loads defaults ← file ← environment.
    ///
    /// # Errors
    /// When the file is missing or a value has the wrong type; the message names the key.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut fig = Figment::from(Serialized::defaults(Self::default()));
        if let Some(f) = file {
            if !f.is_file() {
                anyhow::bail!("configuration file {} not found", f.display());
            }
            fig = fig.merge(Toml::file(f));
        }
        fig = fig.merge(Env::prefixed("AMTSWEG_").split("__").ignore(&["test_pg_url"]));
        fig.extract().map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))
    }

    /// The database to use: the configured URL or SQLite in the data directory.
    #[must_use]
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("amtsweg.db").display()))
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment's Jail API returns its own large error
mod tests {
    use super::*;

    #[test]
    fn file_then_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("a.toml", "listen = \"0.0.0.0:9000\"\n[web]\nhsts_max_age = 60\n")?;
            jail.set_env("AMTSWEG_WEB__HSTS_MAX_AGE", "120");
            let c = Config::load(Some(Path::new("a.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(c.listen, "0.0.0.0:9000");
            assert_eq!(c.web.hsts_max_age, 120);
            assert!(c.database_url().starts_with("sqlite://"));
            Ok(())
        });
    }

    #[test]
    fn group_commit_of_bookings_is_on_unless_switched_off() {
        figment::Jail::expect_with(|jail| {
            assert!(Config::load(None).map_err(|e| e.to_string())?.web.appointments.group_commit);
            jail.create_file("c.toml", "[web.appointments]\ngroup_commit = false\n")?;
            let c = Config::load(Some(Path::new("c.toml"))).map_err(|e| e.to_string())?;
            assert!(!c.web.appointments.group_commit);
            assert!(!c.web.portal_settings().booking_group_commit);
            Ok(())
        });
    }

    #[test]
    fn wrong_types_are_reported() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("b.toml", "sync_interval_ms = \"oft\"\n")?;
            let e = Config::load(Some(Path::new("b.toml"))).unwrap_err().to_string();
            assert!(e.contains("sync_interval_ms"), "{e}");
            Ok(())
        });
    }
}
