//! Connection pools for both backends and the two macros that run backend-generic
//! diesel code on whichever one is configured.
//!
//! Every query is written once, inside [`with_conn!`] or [`write_tx!`]; the macro
//! expands it once per backend, so each backend gets the full diesel DSL
//! (upserts, `RETURNING`, `immediate_transaction` on SQLite) without a lowest
//! common denominator.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PoolError};
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub use diesel::r2d2::PooledConnection;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// A pool of SQLite connections.
pub type SqlitePool = Pool<ConnectionManager<SqliteConnection>>;
/// A pool of PostgreSQL connections.
pub type PgPool = Pool<ConnectionManager<PgConnection>>;

/// The configured database.
#[derive(Clone)]
pub enum Db {
    Sqlite(SqlitePool),
    Pg(PgPool),
}

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported DATABASE_URL '{0}': expected sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    #[error("database connection pool: {0}")]
    Pool(#[from] PoolError),
    #[error("database query: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("database migration: {0}")]
    Migration(String),
    #[error("database connection: {0}")]
    Connect(#[from] diesel::ConnectionError),
}

/// Lets a store's error type take diesel's errors with `?` inside `with_conn!`
/// and `write_tx!`: the type needs a `From<DbError>` (its storage variant).
#[macro_export]
macro_rules! storage_errors_into {
    ($error:ty) => {
        impl From<diesel::result::Error> for $error {
            fn from(error: diesel::result::Error) -> $error {
                <$error>::from($crate::DbError::from(error))
            }
        }
    };
}

/// Which backend a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Chooses the backend from the URL scheme; SQLite would accept any string,
    /// so the choice is never left to trial connection.
    pub fn of_url(url: &str) -> Result<Backend, DbError> {
        if url.starts_with("sqlite://") || url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(DbError::UnsupportedUrl(url.to_string()))
        }
    }
}

#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        // WAL is the file's, set once in `Db::connect`; these are each
        // connection's own. With `mmap_size` the first 256 MB of the file are
        // read through a shared mapping instead of a `read` and a copy per
        // page into each connection's small cache: a photo check's index
        // search touches hundreds of pages (BENCHMARKS §4). The mapped pages
        // are the kernel's page cache: they count in the server's RSS, not
        // in its own memory (`RssAnon`), and are dropped under pressure.
        conn.batch_execute(
            "PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL; \
             PRAGMA foreign_keys = ON; PRAGMA mmap_size = 268435456;",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

impl Db {
    /// Opens a pool for `url` (`sqlite://PATH` or `postgres://...`).
    pub fn connect(url: &str, max_size: u32) -> Result<Db, DbError> {
        match Backend::of_url(url)? {
            Backend::Sqlite => {
                let path = url
                    .strip_prefix("sqlite://")
                    .or_else(|| url.strip_prefix("sqlite:"))
                    .unwrap_or(url);
                // WAL is kept in the file: switch it on over one connection
                // first, or the pool's connections, opened side by side, meet
                // each other's lock on a new file (r2d2 logs an error and retries).
                {
                    use diesel::Connection;
                    let mut first = SqliteConnection::establish(path)?;
                    first
                        .batch_execute("PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL;")?;
                }
                let pool = Pool::builder()
                    .max_size(max_size)
                    .connection_timeout(Duration::from_secs(10))
                    .connection_customizer(Box::new(SqlitePragmas))
                    .build(ConnectionManager::<SqliteConnection>::new(path))?;
                Ok(Db::Sqlite(pool))
            }
            Backend::Postgres => {
                let pool = Pool::builder()
                    .max_size(max_size)
                    .connection_timeout(Duration::from_secs(10))
                    .build(ConnectionManager::<PgConnection>::new(url))?;
                Ok(Db::Pg(pool))
            }
        }
    }

    /// The backend behind this pool.
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Pg(_) => Backend::Postgres,
        }
    }

    /// Applies every pending embedded migration; returns how many ran.
    pub fn migrate(&self) -> Result<usize, DbError> {
        let ran = match self {
            Db::Sqlite(pool) => pool
                .get()?
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map(|v| v.len()),
            Db::Pg(pool) => pool
                .get()?
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.len()),
        };
        ran.map_err(|e| DbError::Migration(e.to_string()))
    }

    /// The pool's size now: (open connections, idle ones, the most it may open).
    pub fn pool_state(&self) -> (u32, u32, u32) {
        let (state, max) = match self {
            Db::Sqlite(pool) => (pool.state(), pool.max_size()),
            Db::Pg(pool) => (pool.state(), pool.max_size()),
        };
        (state.connections, state.idle_connections, max)
    }

    /// Checks that the database answers.
    pub fn ping(&self) -> Result<(), DbError> {
        match self {
            Db::Sqlite(pool) => pool.get()?.batch_execute("SELECT 1")?,
            Db::Pg(pool) => pool.get()?.batch_execute("SELECT 1")?,
        }
        Ok(())
    }
}

/// Runs `$body` with `$conn` bound to a pooled connection of the configured backend.
/// The body is expanded once per backend. `?` inside must convert from
/// [`DbError`] and `diesel::result::Error`.
#[macro_export]
macro_rules! with_conn {
    ($db:expr, |$conn:ident| $body:expr) => {{
        match $db {
            $crate::db::Db::Sqlite(pool) => {
                let mut guard = pool.get().map_err($crate::db::DbError::from)?;
                let $conn: &mut diesel::SqliteConnection = &mut guard;
                $body
            }
            $crate::db::Db::Pg(pool) => {
                let mut guard = pool.get().map_err($crate::db::DbError::from)?;
                let $conn: &mut diesel::PgConnection = &mut guard;
                $body
            }
        }
    }};
}

/// Runs `$body` in a write transaction: `BEGIN IMMEDIATE` on SQLite, so that two
/// writers queue on the busy timeout instead of failing on lock upgrade; a plain
/// transaction on PostgreSQL. The body returns `Result<T, E>` with
/// `E: From<diesel::result::Error>`; an `Err` rolls back.
#[macro_export]
macro_rules! write_tx {
    ($db:expr, |$conn:ident| $body:expr) => {{
        match $db {
            $crate::db::Db::Sqlite(pool) => {
                let mut guard = pool.get().map_err($crate::db::DbError::from)?;
                let conn: &mut diesel::SqliteConnection = &mut guard;
                conn.immediate_transaction(|$conn| $body)
            }
            $crate::db::Db::Pg(pool) => {
                let mut guard = pool.get().map_err($crate::db::DbError::from)?;
                let conn: &mut diesel::PgConnection = &mut guard;
                diesel::Connection::transaction(conn, |$conn| $body)
            }
        }
    }};
}
