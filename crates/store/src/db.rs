//! Backend dispatch: the only place that knows whether SQLite or PostgreSQL runs.

use crate::{Result, StoreError};
use sea_query::{PostgresQueryBuilder, QueryStatementWriter, SqliteQueryBuilder, Value, Values};
use sqlx::postgres::{PgArguments, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Arguments, AssertSqlSafe, FromRow};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
enum Pools {
    /// SQLite allows one writer at a time; a dedicated one-connection pool makes
    /// that the single write path instead of letting writers collide on SQLITE_BUSY.
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
        /// Stops the background checkpointer with the last clone of the store.
        checkpointer: std::sync::Arc<Checkpointer>,
    },
    Postgres(PgPool),
}

/// Copies the write-ahead log into the database file in the background, so that the
/// single writer never does it inside a commit: with SQLite's automatic checkpoint
/// the commit that crosses 1,000 log pages also writes those pages into the database
/// and syncs it, and every submission waiting in that group commit waits with it.
/// Durability is the same: each commit is synced in the log either way.
struct Checkpointer {
    task: tokio::task::AbortHandle,
    pool: SqlitePool,
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How often the checkpointer looks at the log; a checkpoint with nothing to copy
/// costs a few microseconds.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

impl Checkpointer {
    fn start(pool: SqlitePool) -> Self {
        let own = pool.clone();
        let task = tokio::spawn(async move {
            let pool = own;
            let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                // PASSIVE never waits for readers or the writer; what it cannot copy
                // now it copies next time.
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
                    tracing::warn!(error = %e, "checkpoint of the SQLite log failed; will try again");
                }
            }
        });
        Self { task: task.abort_handle(), pool }
    }

    /// Stops checkpointing and closes its connection; the last connection to close
    /// folds the log into the database.
    async fn close(&self) {
        self.task.abort();
        self.pool.close().await;
    }
}

/// Read access and the entry to write transactions. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pools: Pools,
    /// The key of the audit chain, set once by the application (see `audit_log.rs`);
    /// shared by every clone, so handles taken before it was set use it too.
    pub(crate) audit_key: std::sync::Arc<std::sync::OnceLock<amtsweg_domain::audit::ChainKey>>,
    /// Counts committed changes of appointment rules and calendars made through this
    /// handle (see [`Store::appointment_settings_generation`]).
    settings_generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// A write transaction. Dropped without [`Tx::commit`] it rolls back.
pub struct Tx {
    inner: TxInner,
    pub(crate) audit_key: Option<amtsweg_domain::audit::ChainKey>,
    settings_generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Whether this transaction wrote appointment settings: its commit moves the
    /// generation on once more.
    settings_touched: bool,
}

enum TxInner {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// A row type that can be read from either backend.
pub trait AnyRow: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}
impl<T> AnyRow for T where T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin {}

// sea-query-binder pins sqlx 0.8 while we use sqlx 0.9, so binding the few value
// kinds our queries use is done here rather than compiling two sqlx versions.
fn sqlite_args(values: Values) -> Result<SqliteArguments> {
    let mut args = SqliteArguments::default();
    for v in values {
        let r = match v {
            Value::Bool(b) => args.add(b),
            Value::Int(i) => args.add(i.map(i64::from)),
            Value::BigInt(i) => args.add(i),
            Value::Unsigned(u) => args.add(u.map(i64::from)),
            Value::BigUnsigned(u) => args.add(u.map(|x| i64::try_from(x).unwrap_or(i64::MAX))),
            Value::Double(d) => args.add(d),
            Value::String(s) => args.add(s),
            Value::Bytes(b) => args.add(b),
            other => {
                return Err(StoreError::Invalid(format!("unsupported bind value {other:?}")));
            }
        };
        r.map_err(|e| StoreError::Invalid(e.to_string()))?;
    }
    Ok(args)
}

fn pg_args(values: Values) -> Result<PgArguments> {
    let mut args = PgArguments::default();
    for v in values {
        let r = match v {
            Value::Bool(b) => args.add(b),
            Value::Int(i) => args.add(i.map(i64::from)),
            Value::BigInt(i) => args.add(i),
            Value::Unsigned(u) => args.add(u.map(i64::from)),
            Value::BigUnsigned(u) => args.add(u.map(|x| i64::try_from(x).unwrap_or(i64::MAX))),
            Value::Double(d) => args.add(d),
            Value::String(s) => args.add(s),
            Value::Bytes(b) => args.add(b),
            other => {
                return Err(StoreError::Invalid(format!("unsupported bind value {other:?}")));
            }
        };
        r.map_err(|e| StoreError::Invalid(e.to_string()))?;
    }
    Ok(args)
}

impl Store {
    /// Opens `sqlite://PATH` or `postgres://…`.
    ///
    /// # Errors
    /// When the URL is of another kind or the database cannot be reached.
    pub async fn connect(url: &str) -> Result<Self> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            Self::open_sqlite(Path::new(path)).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::open_postgres(url).await
        } else {
            Err(StoreError::UnsupportedUrl(url.to_owned()))
        }
    }

    /// Opens (and creates) an SQLite database file in WAL mode with `synchronous=FULL`,
    /// so that a committed write survives a power cut.
    ///
    /// # Errors
    /// When the file cannot be opened.
    pub async fn open_sqlite(path: &Path) -> Result<Self> {
        let opts = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // No ping before handing out a connection: an SQLite connection is a file in
        // this process and cannot have hung up, and each ping is a round trip to the
        // connection's worker thread — one per query, half the store's hand-offs.
        let pool = |size: u32| SqlitePoolOptions::new().max_connections(size).test_before_acquire(false);
        // The writer leaves checkpoints to the checkpointer's connection. Its
        // statement journals (each multi-row insert of a group commit has one) stay in
        // memory instead of spilling into a temporary file; and it keeps more prepared
        // statements, as a group commit's statements come in one shape per batch size
        // (see `padded`), which would otherwise push each other out of the cache and be
        // parsed again.
        let writing =
            opts.clone().pragma("wal_autocheckpoint", "0").pragma("temp_store", "MEMORY").statement_cache_capacity(400);
        let write = pool(1).after_release(crate::space::writer_still_usable).connect_with(writing.clone()).await?;
        let checkpoint = pool(1).connect_with(writing).await?;
        let read = pool(8).connect_with(opts.read_only(true)).await?;
        let checkpointer = std::sync::Arc::new(Checkpointer::start(checkpoint));
        Ok(Self {
            pools: Pools::Sqlite { read, write, checkpointer },
            audit_key: std::sync::Arc::default(),
            settings_generation: std::sync::Arc::default(),
        })
    }

    /// The directory of the SQLite database file (None on PostgreSQL): the health
    /// check looks there for free space.
    #[must_use]
    pub fn local_dir(&self) -> Option<std::path::PathBuf> {
        match &self.pools {
            Pools::Sqlite { write, .. } => write.connect_options().get_filename().parent().map(Path::to_path_buf),
            Pools::Postgres(_) => None,
        }
    }

    /// # Errors
    /// When the server cannot be reached.
    pub async fn open_postgres(url: &str) -> Result<Self> {
        let pool =
            PgPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(10)).connect(url).await?;
        Ok(Self {
            pools: Pools::Postgres(pool),
            audit_key: std::sync::Arc::default(),
            settings_generation: std::sync::Arc::default(),
        })
    }

    #[must_use]
    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// Starts a write transaction.
    ///
    /// # Errors
    /// When no connection can be had.
    pub async fn begin(&self) -> Result<Tx> {
        let inner = match &self.pools {
            Pools::Sqlite { write, .. } => TxInner::Sqlite(write.begin().await?),
            Pools::Postgres(p) => TxInner::Postgres(p.begin().await?),
        };
        Ok(Tx {
            inner,
            audit_key: self.audit_key.get().copied(),
            settings_generation: std::sync::Arc::clone(&self.settings_generation),
            settings_touched: false,
        })
    }

    /// A number that changes whenever appointment rules or calendars were saved
    /// through this store (any clone of it) and when such a save commits. A cache of
    /// those settings is current while the number it was loaded under is; changes
    /// made by other processes (other nodes) are not counted, so such a cache also
    /// needs an age limit.
    #[must_use]
    pub fn appointment_settings_generation(&self) -> u64 {
        self.settings_generation.load(std::sync::atomic::Ordering::Acquire)
    }

    pub(crate) async fn fetch_all<T: AnyRow>(&self, q: &impl QueryStatementWriter) -> Result<Vec<T>> {
        Ok(match &self.pools {
            Pools::Sqlite { read, .. } => {
                let (sql, values) = q.build(SqliteQueryBuilder);
                sqlx::query_as_with(AssertSqlSafe(sql), sqlite_args(values)?).fetch_all(read).await?
            }
            Pools::Postgres(p) => {
                let (sql, values) = q.build(PostgresQueryBuilder);
                sqlx::query_as_with(AssertSqlSafe(sql), pg_args(values)?).fetch_all(p).await?
            }
        })
    }

    pub(crate) async fn fetch_optional<T: AnyRow>(&self, q: &impl QueryStatementWriter) -> Result<Option<T>> {
        Ok(match &self.pools {
            Pools::Sqlite { read, .. } => {
                let (sql, values) = q.build(SqliteQueryBuilder);
                sqlx::query_as_with(AssertSqlSafe(sql), sqlite_args(values)?).fetch_optional(read).await?
            }
            Pools::Postgres(p) => {
                let (sql, values) = q.build(PostgresQueryBuilder);
                sqlx::query_as_with(AssertSqlSafe(sql), pg_args(values)?).fetch_optional(p).await?
            }
        })
    }

    /// Runs a plain SQL script (migrations) outside the query builder.
    pub(crate) async fn raw_fetch_i64(&self, sql: &str) -> Result<Vec<i64>> {
        Ok(match &self.pools {
            Pools::Sqlite { write, .. } => sqlx::query_scalar(AssertSqlSafe(sql.to_owned())).fetch_all(write).await?,
            Pools::Postgres(p) => sqlx::query_scalar(AssertSqlSafe(sql.to_owned())).fetch_all(p).await?,
        })
    }

    /// Lists `(table, column, type, not_null)` of the logical schema, normalised so
    /// that the two backends can be compared (see the schema-equivalence test).
    ///
    /// # Errors
    /// On database errors.
    pub async fn logical_schema(&self) -> Result<Vec<(String, String, String, bool)>> {
        let mut cols: Vec<(String, String, String, bool)> = match &self.pools {
            Pools::Sqlite { read, .. } => {
                sqlx::query_as(
                    "SELECT m.name, p.name, lower(p.type), p.\"notnull\" OR p.pk \
                     FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
                )
                .fetch_all(read)
                .await?
            }
            Pools::Postgres(p) => {
                sqlx::query_as(
                    "SELECT table_name::text, column_name::text, lower(data_type::text), is_nullable = 'NO' \
                     FROM information_schema.columns WHERE table_schema = current_schema()",
                )
                .fetch_all(p)
                .await?
            }
        };
        for c in &mut cols {
            c.2 = match c.2.as_str() {
                "integer" | "bigint" => "integer",
                "text" | "character varying" => "text",
                "boolean" => "boolean",
                "blob" | "bytea" => "bytes",
                other => other,
            }
            .to_owned();
        }
        cols.sort();
        Ok(cols)
    }

    /// Closes all connections (waits for them to be returned).
    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { read, write, checkpointer } => {
                checkpointer.close().await;
                read.close().await;
                write.close().await;
            }
            Pools::Postgres(p) => p.close().await,
        }
    }

    /// Creates (`create`) or drops a PostgreSQL database on this server connection,
    /// for benchmarks and tests that need a throwaway one. The name is checked
    /// (lower-case letters, digits, underscore) because it cannot be a parameter.
    ///
    /// # Errors
    /// A bad name, SQLite, or a database error.
    pub async fn postgres_database(&self, name: &str, create: bool) -> Result<()> {
        let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok || self.backend() != Backend::Postgres {
            return Err(crate::StoreError::Invalid(format!("no PostgreSQL database name: {name}")));
        }
        let sql = if create {
            format!("CREATE DATABASE \"{name}\"")
        } else {
            format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")
        };
        self.exec_untransacted(&sql).await?;
        Ok(())
    }

    /// Runs SQL outside a transaction (for statements such as CREATE DATABASE).
    pub(crate) async fn exec_untransacted(&self, sql: &str) -> std::result::Result<(), sqlx::Error> {
        match &self.pools {
            Pools::Sqlite { write, .. } => {
                sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(write).await.map(|_| ())
            }
            Pools::Postgres(p) => sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(p).await.map(|_| ()),
        }
    }

    pub(crate) async fn exec_script(&self, sql: &str) -> std::result::Result<(), sqlx::Error> {
        match &self.pools {
            Pools::Sqlite { write, .. } => {
                let mut tx = write.begin().await?;
                sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(&mut *tx).await?;
                tx.commit().await
            }
            Pools::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(&mut *tx).await?;
                tx.commit().await
            }
        }
    }
}

impl Tx {
    /// # Errors
    /// When the commit fails; nothing of the transaction is then stored.
    pub async fn commit(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(t) => t.commit().await?,
            TxInner::Postgres(t) => t.commit().await?,
        }
        if self.settings_touched {
            self.settings_generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
        Ok(())
    }

    /// Marks appointment settings as changed: the generation moves on now (a read
    /// running alongside may still see the old row and must not be cached as
    /// current) and again at the commit.
    pub(crate) fn touch_appointment_settings(&mut self) {
        self.settings_touched = true;
        self.settings_generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    pub(crate) async fn execute(&mut self, q: &impl QueryStatementWriter) -> Result<u64> {
        Ok(match &mut self.inner {
            TxInner::Sqlite(t) => {
                let (sql, values) = q.build(SqliteQueryBuilder);
                sqlx::query_with(AssertSqlSafe(sql), sqlite_args(values)?).execute(&mut **t).await?.rows_affected()
            }
            TxInner::Postgres(t) => {
                let (sql, values) = q.build(PostgresQueryBuilder);
                sqlx::query_with(AssertSqlSafe(sql), pg_args(values)?).execute(&mut **t).await?.rows_affected()
            }
        })
    }

    pub(crate) async fn fetch_optional_in_tx<T: AnyRow>(&mut self, q: &impl QueryStatementWriter) -> Result<Option<T>> {
        Ok(match &mut self.inner {
            TxInner::Sqlite(t) => {
                let (sql, values) = q.build(SqliteQueryBuilder);
                sqlx::query_as_with(AssertSqlSafe(sql), sqlite_args(values)?).fetch_optional(&mut **t).await?
            }
            TxInner::Postgres(t) => {
                let (sql, values) = q.build(PostgresQueryBuilder);
                sqlx::query_as_with(AssertSqlSafe(sql), pg_args(values)?).fetch_optional(&mut **t).await?
            }
        })
    }

    pub(crate) async fn fetch_all_in_tx<T: AnyRow>(&mut self, q: &impl QueryStatementWriter) -> Result<Vec<T>> {
        Ok(match &mut self.inner {
            TxInner::Sqlite(t) => {
                let (sql, values) = q.build(SqliteQueryBuilder);
                sqlx::query_as_with(AssertSqlSafe(sql), sqlite_args(values)?).fetch_all(&mut **t).await?
            }
            TxInner::Postgres(t) => {
                let (sql, values) = q.build(PostgresQueryBuilder);
                sqlx::query_as_with(AssertSqlSafe(sql), pg_args(values)?).fetch_all(&mut **t).await?
            }
        })
    }

    /// Serialises writers of the audit hash chain until this transaction ends. SQLite
    /// already has a single writer; PostgreSQL takes a transaction-scoped advisory lock.
    pub(crate) async fn lock_audit_chain(&mut self) -> Result<()> {
        if let TxInner::Postgres(t) = &mut self.inner {
            sqlx::query("SELECT pg_advisory_xact_lock(7315001)").execute(&mut **t).await?;
        }
        Ok(())
    }

    /// Serialises the transactions that take the same `key` in `namespace` (e.g. one
    /// client's holds) until this one ends, so a count read here stays true until the
    /// commit. SQLite already has a single writer; PostgreSQL takes a
    /// transaction-scoped advisory lock on a hash of the key.
    pub(crate) async fn lock_key(&mut self, namespace: i32, key: &str) -> Result<()> {
        if let TxInner::Postgres(t) = &mut self.inner {
            sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
                .bind(namespace)
                .bind(key)
                .execute(&mut **t)
                .await?;
        }
        Ok(())
    }

    /// Runs an INSERT … RETURNING id and gives the new id.
    pub(crate) async fn insert_id(&mut self, q: &impl QueryStatementWriter) -> Result<i64> {
        Ok(match &mut self.inner {
            TxInner::Sqlite(t) => {
                let (sql, values) = q.build(SqliteQueryBuilder);
                sqlx::query_scalar_with(AssertSqlSafe(sql), sqlite_args(values)?).fetch_one(&mut **t).await?
            }
            TxInner::Postgres(t) => {
                let (sql, values) = q.build(PostgresQueryBuilder);
                sqlx::query_scalar_with(AssertSqlSafe(sql), pg_args(values)?).fetch_one(&mut **t).await?
            }
        })
    }
}

/// `items` with its last value repeated up to the next power of two, for `IN (…)`
/// lists of a group commit: a repeated value changes nothing, and the batch sizes
/// of 1 to 256 then make 9 statement texts instead of 256, which each connection
/// prepares once and keeps.
pub(crate) fn padded<T: Copy>(items: &[T]) -> Vec<T> {
    let mut out = items.to_vec();
    if let Some(&last) = items.last() {
        out.resize(items.len().next_power_of_two(), last);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::padded;

    #[test]
    fn in_lists_are_padded_to_a_power_of_two_with_the_last_value() {
        assert_eq!(padded::<i64>(&[]), Vec::<i64>::new());
        assert_eq!(padded(&[7]), vec![7]);
        assert_eq!(padded(&[1, 2, 3]), vec![1, 2, 3, 3]);
        assert_eq!(padded(&["a", "b", "c", "d", "e"]), vec!["a", "b", "c", "d", "e", "e", "e", "e"]);
        assert_eq!(padded(&[0u8; 256]).len(), 256);
    }
}
