//! Plain-SQL migrations, one folder per backend, embedded in the binary.
//!
//! Hand-rolled instead of `sqlx::migrate!` so the binary carries its migrations
//! without the sqlx macro crates (compile time on 2 cores) and both backends
//! share one version table.

use crate::db::{Backend, Store};
use crate::{Result, StoreError};

struct Migration {
    version: i64,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sqlite: include_str!("../migrations/sqlite/0001_foundation.sql"),
        postgres: include_str!("../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        sqlite: include_str!("../migrations/sqlite/0002_staff.sql"),
        postgres: include_str!("../migrations/postgres/0002_staff.sql"),
    },
    Migration {
        version: 3,
        sqlite: include_str!("../migrations/sqlite/0003_editing.sql"),
        postgres: include_str!("../migrations/postgres/0003_editing.sql"),
    },
    Migration {
        version: 4,
        sqlite: include_str!("../migrations/sqlite/0004_mail.sql"),
        postgres: include_str!("../migrations/postgres/0004_mail.sql"),
    },
    Migration {
        version: 5,
        sqlite: include_str!("../migrations/sqlite/0005_pages.sql"),
        postgres: include_str!("../migrations/postgres/0005_pages.sql"),
    },
    Migration {
        version: 6,
        sqlite: include_str!("../migrations/sqlite/0006_library_pages_theme.sql"),
        postgres: include_str!("../migrations/postgres/0006_library_pages_theme.sql"),
    },
    Migration {
        version: 7,
        sqlite: include_str!("../migrations/sqlite/0007_konto.sql"),
        postgres: include_str!("../migrations/postgres/0007_konto.sql"),
    },
    Migration {
        version: 8,
        sqlite: include_str!("../migrations/sqlite/0008_auth_requests.sql"),
        postgres: include_str!("../migrations/postgres/0008_auth_requests.sql"),
    },
    Migration {
        version: 9,
        sqlite: include_str!("../migrations/sqlite/0009_data_keys.sql"),
        postgres: include_str!("../migrations/postgres/0009_data_keys.sql"),
    },
    Migration {
        version: 10,
        sqlite: include_str!("../migrations/sqlite/0010_forms.sql"),
        postgres: include_str!("../migrations/postgres/0010_forms.sql"),
    },
    Migration {
        version: 11,
        sqlite: include_str!("../migrations/sqlite/0011_submissions.sql"),
        postgres: include_str!("../migrations/postgres/0011_submissions.sql"),
    },
    Migration {
        version: 12,
        sqlite: include_str!("../migrations/sqlite/0012_casework.sql"),
        postgres: include_str!("../migrations/postgres/0012_casework.sql"),
    },
    Migration {
        version: 13,
        sqlite: include_str!("../migrations/sqlite/0013_outbox_claims.sql"),
        postgres: include_str!("../migrations/postgres/0013_outbox_claims.sql"),
    },
    Migration {
        version: 14,
        sqlite: include_str!("../migrations/sqlite/0014_second_factor_audit_chain.sql"),
        postgres: include_str!("../migrations/postgres/0014_second_factor_audit_chain.sql"),
    },
    Migration {
        version: 15,
        sqlite: include_str!("../migrations/sqlite/0015_abuse_limits.sql"),
        postgres: include_str!("../migrations/postgres/0015_abuse_limits.sql"),
    },
    Migration {
        version: 16,
        sqlite: include_str!("../migrations/sqlite/0016_library_form_pins.sql"),
        postgres: include_str!("../migrations/postgres/0016_library_form_pins.sql"),
    },
    Migration {
        version: 17,
        sqlite: include_str!("../migrations/sqlite/0017_appointments.sql"),
        postgres: include_str!("../migrations/postgres/0017_appointments.sql"),
    },
    Migration {
        version: 18,
        sqlite: include_str!("../migrations/sqlite/0018_payments.sql"),
        postgres: include_str!("../migrations/postgres/0018_payments.sql"),
    },
    Migration {
        version: 19,
        sqlite: include_str!("../migrations/sqlite/0019_claim_sync_watermark.sql"),
        postgres: include_str!("../migrations/postgres/0019_claim_sync_watermark.sql"),
    },
    Migration {
        version: 21,
        sqlite: include_str!("../migrations/sqlite/0021_staff_offboarding.sql"),
        postgres: include_str!("../migrations/postgres/0021_staff_offboarding.sql"),
    },
];

impl Store {
    /// Applies every migration not yet applied, each in its own transaction.
    /// Returns the versions applied now.
    ///
    /// # Errors
    /// When a migration fails (it is rolled back) or the database is newer than this binary.
    pub async fn migrate(&self) -> Result<Vec<i64>> {
        self.exec_script(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .await
        .map_err(|source| StoreError::Migration { version: 0, source })?;
        let applied = self.raw_fetch_i64("SELECT version FROM schema_migrations ORDER BY version").await?;
        if let Some(unknown) = applied.iter().find(|v| !MIGRATIONS.iter().any(|m| m.version == **v)) {
            return Err(StoreError::UnknownMigration(*unknown));
        }
        let mut done = Vec::new();
        for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
            let body = match self.backend() {
                Backend::Sqlite => m.sqlite,
                Backend::Postgres => m.postgres,
            };
            // The version row is written in the same transaction as the schema change.
            let script = format!(
                "{body}\nINSERT INTO schema_migrations (version, applied_at) VALUES ({}, {});",
                m.version,
                crate::now_ms()
            );
            self.exec_script(&script).await.map_err(|source| StoreError::Migration { version: m.version, source })?;
            tracing::info!(version = m.version, "migration applied");
            done.push(m.version);
        }
        Ok(done)
    }
}
