//! Storage: one diesel schema over SQLite (embedded default) and PostgreSQL
//! (several nodes), a connection pool, embedded migrations, and `repo/`,
//! where all SQL lives. Blocking diesel calls run on tokio's blocking pool.

mod checkpointer;
pub mod repo;
pub mod schema;
mod serve_lock;
mod writer;

pub use serve_lock::{ServeLock, ServeLockError};

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{self, ManageConnection, Pool};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
/// Serialises migrations of several nodes starting at once on one PostgreSQL.
const MIGRATION_LOCK_ID: i64 = 0x7265_616c_6d67;
/// How long a SQLite connection waits for a lock another one holds.
const BUSY_TIMEOUT_MS: u32 = 10_000;

/// A connection to either backend; queries written once run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("no database connection available: {0}")]
    Pool(#[from] r2d2::PoolError),
    /// The database refused the first connection (a wrong address, a file that cannot be opened).
    #[error("{0}")]
    Connect(String),
    #[error("database worker failed: {0}")]
    Worker(#[from] tokio::task::JoinError),
    #[error("database writer: {0}")]
    Writer(String),
    #[error("a database call panicked")]
    Panicked,
    #[error("migrations failed: {0}")]
    Migration(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

impl StorageError {
    /// The connection's server went away (PostgreSQL restarted, the backend
    /// was terminated): the connection will never work again.
    pub fn is_connection_lost(&self) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        matches!(
            self,
            Self::Query(Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _
            ))
        )
    }

    /// The database cannot be reached now (PostgreSQL down or restarting,
    /// no connection free within the pool's wait): worth a retry, not a bug.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Pool(_) | Self::Connect(_)) || self.is_connection_lost()
    }

    pub fn is_unique_violation(&self) -> bool {
        matches!(
            self,
            Self::Query(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
        )
    }
}

/// Where the data lives, parsed from `--database-url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if let Some(path) = raw.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite:// URL needs a path, as in sqlite://realmgate.db".into());
            }
            Ok(Self::Sqlite(PathBuf::from(path)))
        } else if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            Ok(Self::Postgres(raw.to_owned()))
        } else {
            Err(format!("database URL must start with sqlite:// or postgres:// (got `{}`)", redact_url(raw)))
        }
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, Self::Sqlite(_))
    }
}

/// The URL without its password (in the user part or, as libpq also
/// takes it, a `password` query parameter), for messages and logs.
pub fn redact_url(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        return "<unparseable URL>".into();
    };
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    // libpq's `password` and `sslpassword` (the client key's passphrase).
    let secret = |name: &str| name.to_ascii_lowercase().contains("password");
    if url.query_pairs().any(|(name, _)| secret(&name)) {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(name, value)| {
                let value = if secret(&name) { "***".into() } else { value.into_owned() };
                (name.into_owned(), value)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

/// `message` (libpq's, which may quote the URL it could not parse) with
/// every password the URL may carry masked: the user part's, however
/// malformed the rest, and any `password=` / `sslpassword=` value.
pub fn scrub_url_secrets(message: &str, raw_url: &str) -> String {
    let mut secrets: Vec<String> = Vec::new();
    if let Some((_, rest)) = raw_url.split_once("://") {
        // The user part ends at the last `@` before the query (a password
        // may hold `/`; masking too much is harmless).
        let before_query = rest.split('?').next().unwrap_or_default();
        if let Some((user_info, _)) = before_query.rsplit_once('@')
            && let Some((_, password)) = user_info.split_once(':')
            && !password.is_empty()
        {
            secrets.push(password.to_owned());
            secrets.push(percent_encoding::percent_decode_str(password).decode_utf8_lossy().into_owned());
        }
    }
    let mut scrubbed = message.to_owned();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        scrubbed = scrubbed.replace(secret.as_str(), "***");
    }
    // `password=value` in a query or a key/value connection string, up to a
    // separator; what libpq quotes back may be either.
    let mut out = String::with_capacity(scrubbed.len());
    let mut rest = scrubbed.as_str();
    while let Some(at) = rest.to_ascii_lowercase().find("password=") {
        let value_start = at + "password=".len();
        out.push_str(&rest[..value_start]);
        let value_len = rest[value_start..].find(['&', ' ', '"', '\'', '\n']).unwrap_or(rest.len() - value_start);
        if value_len > 0 {
            out.push_str("***");
        }
        rest = &rest[value_start + value_len..];
    }
    out.push_str(rest);
    out
}

diesel::define_sql_function! {
    /// SQL `lower()` on a nullable text column. SQLite's own lowers ASCII
    /// only (`É` stayed `É`, so a search for `élodie` missed `Élodie`): each
    /// SQLite connection gets Rust's, Unicode's. PostgreSQL's follows the
    /// database's `LC_CTYPE` (a UTF-8 locale lowers every letter; `C`, ASCII only).
    fn lower(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

/// Why writes stop when the SQLite file is no longer the one opened.
pub(crate) const REPLACED_FILE: &str =
    "the database file was deleted or replaced while the server ran; writes are refused until it is restarted";

/// Opens connections of the backend the URL names, never guessing: a
/// PostgreSQL that is down reports its own error instead of a SQLite fallback.
#[derive(Debug, Clone)]
pub struct Manager {
    url: DatabaseUrl,
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let mut conn =
                    SqliteConnection::establish(&path.to_string_lossy()).map_err(r2d2::Error::ConnectionError)?;
                // busy_timeout first: WAL needs a lock that another connection may hold.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
                ))
                .map_err(r2d2::Error::QueryError)?;
                lower_utils::register_impl(&mut conn, |text: Option<String>| text.map(|t| t.to_lowercase()))
                    .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => PgConnection::establish(url).map(DbConnection::Postgres).map_err(|e| {
                r2d2::Error::ConnectionError(diesel::ConnectionError::BadConnection(scrub_url_secrets(
                    &e.to_string(),
                    url,
                )))
            }),
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1").map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

/// A pooled connection, and whether it lost its server: such a connection
/// is dropped on its way back, not pooled again (r2d2 asks `has_broken`),
/// so the pool opens fresh ones once the database is back.
pub struct Pooled {
    conn: DbConnection,
    lost: bool,
    /// The pool's count of lost connections when this one last answered.
    checked_at_losses: u64,
    losses: Arc<AtomicU64>,
}

impl Pooled {
    /// Runs `f`, noting a lost server.
    fn run<T>(&mut self, f: impl FnOnce(&mut DbConnection) -> Result<T, StorageError>) -> Result<T, StorageError> {
        let result = f(&mut self.conn);
        if result.as_ref().is_err_and(StorageError::is_connection_lost) {
            self.lost = true;
            self.losses.fetch_add(1, Ordering::Relaxed);
        }
        result
    }
}

/// The pool's manager: `Manager`'s connections, wrapped in `Pooled`.
///
/// A connection found lost usually has company (a database restart, a
/// failover, backends terminated): once one is, every other idle connection
/// is tested (`SELECT 1`) before its next use, so the dead ones are
/// replaced without each costing a failed request. Otherwise a checkout
/// costs no round trip.
pub struct PoolManager {
    manager: Manager,
    losses: Arc<AtomicU64>,
}

impl ManageConnection for PoolManager {
    type Connection = Pooled;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Pooled, r2d2::Error> {
        let checked_at_losses = self.losses.load(Ordering::Relaxed);
        let losses = Arc::clone(&self.losses);
        self.manager.connect().map(|conn| Pooled { conn, lost: false, checked_at_losses, losses })
    }

    fn is_valid(&self, pooled: &mut Pooled) -> Result<(), r2d2::Error> {
        let losses = self.losses.load(Ordering::Relaxed);
        if pooled.checked_at_losses != losses {
            self.manager.is_valid(&mut pooled.conn)?;
            pooled.checked_at_losses = losses;
        }
        Ok(())
    }

    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        pooled.lost
    }
}

/// The connection pool and the way onto the blocking threads.
#[derive(Clone)]
pub struct Db {
    pool: Pool<PoolManager>,
    url: DatabaseUrl,
    /// SQLite has one writer at a time: this process's writes go through
    /// one thread (see `writer`), never into SQLite's sleeping busy handler.
    /// PostgreSQL writes run on pooled connections side by side.
    writer: Option<Arc<writer::Writer>>,
    /// On SQLite: the database file opened at start.
    file: Option<FileIdentity>,
}

/// Which file a path names (device and inode): a SQLite file deleted or
/// replaced while the server runs stays open under the old identity, and
/// whatever is written to it would be lost at the next start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileIdentity {
    device: u64,
    inode: u64,
}

impl FileIdentity {
    pub(crate) fn of(path: &std::path::Path) -> Option<Self> {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| Self { device: m.dev(), inode: m.ino() })
    }
}

/// The longest a readiness check waits for a connection.
const READY_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

impl Db {
    /// Opens the pool; fails at once with the backend's own error.
    pub fn connect(url: DatabaseUrl, max_connections: u32) -> Result<Self, StorageError> {
        // OpenSSL initialised by us before libpq can, without its exit-time
        // cleanup: libpq's initialisation registers that cleanup, and when
        // the process exits (after a start-up error, say) while a pool thread
        // is still opening a TLS connection, the thread uses freed OpenSSL
        // state and the process dies with SIGSEGV instead of its exit code
        // (seen in 7 of 60 failed starts). Idempotent.
        openssl::init();
        // Once, directly: a database that refuses (a wrong port, a file that
        // cannot be written) is one clear error at once, not the pool's
        // retries logged for its whole connection timeout.
        Manager { url: url.clone() }.connect().map_err(|e| StorageError::Connect(e.to_string()))?;
        let pool = Pool::builder()
            .max_size(max_connections)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .test_on_check_out(true)
            .build(PoolManager { manager: Manager { url: url.clone() }, losses: Arc::default() })
            .map_err(StorageError::Pool)?;
        // The pool opened (or created) the file: this is the one its
        // connections, and the writer's, keep open.
        let file = match &url {
            DatabaseUrl::Sqlite(path) => FileIdentity::of(path),
            DatabaseUrl::Postgres(_) => None,
        };
        let writer = match &url {
            DatabaseUrl::Sqlite(path) => {
                let opened = file.map(|identity| (path.clone(), identity));
                Some(Arc::new(writer::Writer::start(Manager { url: url.clone() }, opened)?))
            }
            DatabaseUrl::Postgres(_) => None,
        };
        Ok(Self { pool, url, writer, file })
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Runs `f` with a pooled connection on the blocking pool: one trip per use-case.
    pub async fn run<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StorageError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || pool.get()?.run(f)).await?
    }

    /// A few indexed reads on the request's hot path (introspection,
    /// userinfo). On SQLite they run right here when a pooled connection is
    /// idle: such a read takes microseconds, less than the hop to the
    /// blocking pool and back (two thread wake-ups). Otherwise, and always on
    /// PostgreSQL (a network round trip), like `run`.
    pub async fn read_hot<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StorageError> + Send + 'static,
        T: Send + 'static,
    {
        if self.url.is_sqlite()
            && let Some(mut conn) = self.pool.try_get()
        {
            // As on the blocking pool, a panic becomes an error, not a dead worker.
            return std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| conn.run(f)))
                .unwrap_or(Err(StorageError::Panicked));
        }
        self.run(f).await
    }

    /// Like `run`, for work that writes: on SQLite, queued for the one writer
    /// and committed with the writes queued beside it, each in its own
    /// savepoint; `f` must not wait for another write.
    pub async fn write<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StorageError> + Send + 'static,
        T: Send + 'static,
    {
        match &self.writer {
            Some(writer) => writer.run(f).await,
            None => self.run(f).await,
        }
    }

    /// Like `write`, inside one transaction: on SQLite the writer's own
    /// savepoint per job is that transaction (a second one would only add
    /// two statements).
    pub async fn transaction<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StorageError> + Send + 'static,
        T: Send + 'static,
    {
        match &self.writer {
            Some(writer) => writer.run(f).await,
            None => self.run(move |conn| conn.transaction(f)).await,
        }
    }

    /// Like `transaction`, for a short write on a request's hot path: on
    /// SQLite it runs right here when the writer is idle (see
    /// `Writer::run_here`), in a commit of its own; `f` must not wait for
    /// anything but the database.
    pub async fn transaction_hot<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, StorageError> + Send + 'static,
        T: Send + 'static,
    {
        match &self.writer {
            Some(writer) => writer.run_here(f).await,
            None => self.run(move |conn| conn.transaction(f)).await,
        }
    }

    /// At shutdown, on SQLite: the WAL copied into the database file and
    /// emptied, so that the file alone holds everything (a copy of it is a
    /// whole backup) and the next start has no log to replay. SQLite does
    /// that itself when the last connection closes, but the process may exit
    /// before the writer's thread has closed its own: the WAL was left
    /// behind (1–2 MiB) in 2 of 6 stops right after a load.
    pub async fn checkpoint_at_exit(&self) -> Result<(), StorageError> {
        if !self.url.is_sqlite() {
            return Ok(());
        }
        self.run(checkpointer::truncate).await
    }

    /// Applies pending migrations (under an advisory lock on PostgreSQL).
    pub async fn migrate(&self) -> Result<(), StorageError> {
        self.run(run_migrations).await
    }

    /// For readiness: a read of a table (`SELECT 1` would touch no page, so a
    /// damaged file would still answer), and on SQLite the file still there
    /// (open connections keep a deleted file readable).
    pub async fn ping(&self) -> Result<(), StorageError> {
        if let DatabaseUrl::Sqlite(path) = &self.url {
            std::fs::metadata(path).map_err(|e| StorageError::Corrupt(format!("the database file: {e}")))?;
            if FileIdentity::of(path) != self.file {
                return Err(StorageError::Corrupt(REPLACED_FILE.into()));
            }
        }
        // Within a health check's patience (a compose or Kubernetes probe
        // gives up after a few seconds), not the pool's 10 s: a database
        // that is gone is 503 promptly.
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            pool.get_timeout(READY_CHECK_TIMEOUT)?
                .run(|conn| Ok(conn.batch_execute("SELECT count(*) FROM __diesel_schema_migrations")?))
        })
        .await?
    }
}

fn run_migrations(conn: &mut DbConnection) -> Result<(), StorageError> {
    let err = |e: Box<dyn std::error::Error + Send + Sync>| StorageError::Migration(e.to_string());
    match conn {
        DbConnection::Sqlite(c) => {
            c.run_pending_migrations(SQLITE_MIGRATIONS).map_err(err)?;
            warn_of_newer_schema::<diesel::sqlite::Sqlite>(c.applied_migrations().map_err(err)?, SQLITE_MIGRATIONS);
        }
        DbConnection::Postgres(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_ID})"))?;
            let result = c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ()).map_err(err);
            c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_ID})"))?;
            result?;
            warn_of_newer_schema::<diesel::pg::Pg>(c.applied_migrations().map_err(err)?, POSTGRES_MIGRATIONS);
        }
    }
    Ok(())
}

/// A database migrated by a newer realmgate (a downgrade, or an old node
/// beside new ones) is served, as Keycloak serves it, but not silently.
fn warn_of_newer_schema<DB: diesel::backend::Backend>(
    applied: Vec<diesel::migration::MigrationVersion<'static>>,
    known: EmbeddedMigrations,
) {
    let known: Vec<String> = diesel::migration::MigrationSource::<DB>::migrations(&known)
        .map(|migrations| migrations.iter().map(|m| m.name().version().to_string()).collect())
        .unwrap_or_default();
    let unknown: Vec<String> =
        applied.iter().map(ToString::to_string).filter(|version| !known.contains(version)).collect();
    if !unknown.is_empty() {
        tracing::warn!(
            migrations = %unknown.join(", "),
            "the database was migrated by a newer realmgate; this version may misread what that one stores: run the newer one"
        );
    }
}

/// JSON text columns: lists of strings.
pub(crate) fn json_list(text: &str) -> Result<Vec<String>, StorageError> {
    serde_json::from_str(text).map_err(|e| StorageError::Corrupt(format!("bad JSON list `{text}`: {e}")))
}

pub(crate) fn to_json_list<S: AsRef<str>>(items: &[S]) -> String {
    let items: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    serde_json::to_string(&items).expect("a list of strings always serialises")
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_the_backend() {
        assert_eq!(DatabaseUrl::parse("sqlite://rg.db").unwrap(), DatabaseUrl::Sqlite("rg.db".into()));
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/rg.db").unwrap(),
            DatabaseUrl::Sqlite("/var/lib/rg.db".into())
        );
        assert!(DatabaseUrl::parse("postgres://u@h/db").unwrap() != DatabaseUrl::Sqlite("x".into()));
        assert!(DatabaseUrl::parse("mysql://x").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert!(!redact_url("postgres://u:hunter2@h/db").contains("hunter2"));
        let query = redact_url("mysql://root@db/x?sslmode=require&password=hunter2&sslpassword=hunter2");
        assert!(!query.contains("hunter2") && query.contains("sslmode=require"), "{query}");
        let err = DatabaseUrl::parse("postgress://h/db?password=hunter2").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn libpq_messages_lose_the_urls_passwords() {
        // What libpq says of URLs it cannot parse quotes them back.
        let url = "postgres://postgres:Mark Pw75@127.0.0.1:5432/x";
        let said = scrub_url_secrets(r#"unexpected spaces found in "Mark Pw75", use URI encoding"#, url);
        assert_eq!(said, r#"unexpected spaces found in "***", use URI encoding"#);
        let url = "postgres://postgres:Mark%50w76@[::1/x";
        let said = scrub_url_secrets(&format!(r#"invalid IPv6 host address in URI: "{url}""#), url);
        assert!(!said.contains("Mark") && said.contains("[::1/x"), "{said}");
        let said = scrub_url_secrets(r#"invalid URI query parameter: "x password=MarkKV70""#, "postgres://h/x");
        assert_eq!(said, r#"invalid URI query parameter: "x password=***""#);
        let said = scrub_url_secrets("bad sslpassword=abc&Password=def end", "postgres://h/x");
        assert_eq!(said, "bad sslpassword=***&Password=*** end");
        assert_eq!(scrub_url_secrets("connection refused", "postgres://u@h/x"), "connection refused");
        assert_eq!(scrub_url_secrets("bad a/b here", "postgres://u:a/b@h/x"), "bad *** here");
    }

    /// A backend ended by `pg_terminate_backend` is an outage (503, retry),
    /// not a failed query (500); the connection is not pooled again.
    #[tokio::test]
    async fn a_terminated_postgresql_backend_is_a_lost_connection() {
        use diesel::RunQueryDsl;
        let Ok(url) = std::env::var("REALMGATE_TEST_POSTGRES_URL") else {
            assert!(std::env::var_os("REALMGATE_REQUIRE_POSTGRES").is_none(), "PostgreSQL is required");
            return;
        };
        #[derive(diesel::QueryableByName)]
        struct Pid {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            pid: i32,
        }
        let db = Db::connect(DatabaseUrl::Postgres(url.clone()), 1).unwrap();
        let pid = db.run(|conn| Ok(diesel::sql_query("SELECT pg_backend_pid() AS pid").get_result::<Pid>(conn)?)).await;
        let pid = pid.unwrap().pid;
        let mut other = PgConnection::establish(&url).unwrap();
        other.batch_execute(&format!("SELECT pg_terminate_backend({pid})")).unwrap();
        // In a transaction, as every write runs on PostgreSQL.
        let failed = db.transaction(|conn| Ok(diesel::sql_query("SELECT 1 AS pid").get_result::<Pid>(conn)?)).await;
        let error = failed.err().expect("the backend is gone");
        assert!(error.is_unavailable(), "{error:?}");
        let again = db.run(|conn| Ok(diesel::sql_query("SELECT pg_backend_pid() AS pid").get_result::<Pid>(conn)?));
        assert_ne!(again.await.unwrap().pid, pid, "a new connection");
        // Likewise outside one.
        let pid = db.run(|conn| Ok(diesel::sql_query("SELECT pg_backend_pid() AS pid").get_result::<Pid>(conn)?)).await;
        other.batch_execute(&format!("SELECT pg_terminate_backend({})", pid.unwrap().pid)).unwrap();
        let failed = db.run(|conn| Ok(diesel::sql_query("SELECT 1 AS pid").get_result::<Pid>(conn)?)).await;
        let error = failed.err().expect("the backend is gone");
        assert!(error.is_unavailable(), "{error:?}");
    }

    #[test]
    fn both_backends_have_the_same_migrations() {
        let names = |dir: &str| {
            let mut v: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names("migrations/sqlite"), names("migrations/postgres"));
    }
}
