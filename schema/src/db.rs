//! Connection pools for both backends and the two macros that run backend-generic
//! diesel code on whichever one is configured.
//!
//! Every query is written once, inside [`with_conn!`] or [`write_tx!`]; the macro
//! expands it once per backend, so each backend gets the full diesel DSL
//! (upserts, `RETURNING`, `immediate_transaction` on SQLite) without a lowest
//! common denominator.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PoolError, State};
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub use diesel::r2d2::PooledConnection;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// How long a writer waits for SQLite's write lock: the connections' busy
/// timeout, and the longest wait at [`SqlitePool::write_turn`].
const SQLITE_BUSY: Duration = Duration::from_secs(5);

/// `PRAGMA busy_timeout` of [`SQLITE_BUSY`].
fn busy_timeout_pragma() -> String {
    format!("PRAGMA busy_timeout = {};", SQLITE_BUSY.as_millis())
}

/// A pool of SQLite connections, and the turn its writers wait for.
///
/// SQLite lets one transaction write at a time. A connection that finds the
/// write lock taken polls for it, sleeping 1, 2, 5, 10 ms and longer between
/// tries (its busy handler), so whoever tries at the right moment goes
/// first: under a burst of uploads the server slept about 500 times a
/// second, and one upload in a hundred took 0.3–0.5 s (BENCHMARKS §4). The
/// writers of this process instead wait their turn on a mutex, which wakes
/// the next one as the last lets go; the busy timeout stays for any other
/// writer of the file.
#[derive(Clone)]
pub struct SqlitePool {
    pool: Pool<ConnectionManager<SqliteConnection>>,
    writers: Arc<parking_lot::Mutex<()>>,
    /// The longest wait for a turn.
    turn_wait: Duration,
    /// Writers that waited [`SqlitePool::turn_wait`] and went on without it.
    turns_timed_out: Arc<AtomicU64>,
}

/// This process's turn to write to a SQLite database (see [`SqlitePool`]).
pub type WriteTurn<'a> = parking_lot::MutexGuard<'a, ()>;

impl SqlitePool {
    fn new(pool: Pool<ConnectionManager<SqliteConnection>>) -> SqlitePool {
        SqlitePool {
            pool,
            writers: Arc::new(parking_lot::Mutex::new(())),
            turn_wait: SQLITE_BUSY,
            turns_timed_out: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A connection from the pool.
    pub fn get(&self) -> Result<PooledConnection<ConnectionManager<SqliteConnection>>, PoolError> {
        self.pool.get()
    }

    /// The pool's connections now.
    pub fn state(&self) -> State {
        self.pool.state()
    }

    /// The most connections the pool may open.
    pub fn max_size(&self) -> u32 {
        self.pool.max_size()
    }

    /// Waits until no other writer of this process holds its turn, for as
    /// long as the busy timeout; `None` when that passed, and the write is
    /// left to SQLite's own lock (as it would be without the turn). Taken
    /// before the connection, so that a writer waiting its turn holds none
    /// of the pool's connections.
    pub fn write_turn(&self) -> Option<WriteTurn<'_>> {
        let turn = self.writers.try_lock_for(self.turn_wait);
        if turn.is_none() {
            self.turns_timed_out.fetch_add(1, Ordering::Relaxed);
        }
        turn
    }

    /// How many writers went on without their turn so far: each waited the
    /// whole busy timeout behind a write that long.
    pub fn turns_timed_out(&self) -> u64 {
        self.turns_timed_out.load(Ordering::Relaxed)
    }

    /// Whether a writer of this process holds its turn now.
    #[cfg(test)]
    fn writing(&self) -> bool {
        self.writers.is_locked()
    }
}

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
        conn.batch_execute(&format!(
            "{} PRAGMA synchronous = NORMAL; \
             PRAGMA foreign_keys = ON; PRAGMA mmap_size = 268435456;",
            busy_timeout_pragma()
        ))
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
                    first.batch_execute(&format!(
                        "{} PRAGMA journal_mode = WAL;",
                        busy_timeout_pragma()
                    ))?;
                }
                let pool = Pool::builder()
                    .max_size(max_size)
                    .connection_timeout(Duration::from_secs(10))
                    .connection_customizer(Box::new(SqlitePragmas))
                    .build(ConnectionManager::<SqliteConnection>::new(path))?;
                Ok(Db::Sqlite(SqlitePool::new(pool)))
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

    /// Writers that waited their whole turn and went on without it (SQLite;
    /// always 0 on PostgreSQL, whose writers wait on row locks).
    pub fn write_turns_timed_out(&self) -> u64 {
        match self {
            Db::Sqlite(pool) => pool.turns_timed_out(),
            Db::Pg(_) => 0,
        }
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

/// Runs `$body` in a write transaction: on SQLite, once this process's other
/// writers are done ([`SqlitePool::write_turn`]), `BEGIN IMMEDIATE`, so that
/// two writers queue instead of failing on lock upgrade; a plain transaction
/// on PostgreSQL. The body returns `Result<T, E>` with
/// `E: From<diesel::result::Error>`; an `Err` rolls back.
#[macro_export]
macro_rules! write_tx {
    ($db:expr, |$conn:ident| $body:expr) => {{
        match $db {
            $crate::db::Db::Sqlite(pool) => {
                let _turn = pool.write_turn();
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

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::prelude::*;
    use diesel::sql_types::BigInt;

    #[derive(QueryableByName)]
    struct Tally {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    fn sqlite(dir: &tempfile::TempDir) -> (Db, SqlitePool) {
        let url = format!("sqlite://{}", dir.path().join("turns.db").display());
        let db = Db::connect(&url, 8).expect("a SQLite database");
        let Db::Sqlite(pool) = db.clone() else {
            panic!("a SQLite URL opens SQLite")
        };
        let mut conn = pool.get().expect("a connection");
        conn.batch_execute("CREATE TABLE tally (n BIGINT NOT NULL); INSERT INTO tally VALUES (0);")
            .expect("the table");
        (db, pool)
    }

    /// One read-then-write transaction, which loses a count if two overlap.
    fn count_one(db: &Db, pool: &SqlitePool) -> Result<bool, DbError> {
        write_tx!(db, |conn| {
            let held = pool.writing();
            let seen: Tally = diesel::sql_query("SELECT n FROM tally").get_result(conn)?;
            diesel::sql_query("UPDATE tally SET n = ?")
                .bind::<BigInt, _>(seen.n + 1)
                .execute(conn)?;
            Ok::<bool, DbError>(held)
        })
    }

    #[test]
    fn writers_of_one_process_write_in_turn_and_lose_nothing() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let (db, pool) = sqlite(&dir);
        let writers: Vec<_> = (0..8)
            .map(|_| {
                let (db, pool) = (db.clone(), pool.clone());
                std::thread::spawn(move || {
                    (0..25)
                        .map(|_| count_one(&db, &pool))
                        .collect::<Result<Vec<bool>, DbError>>()
                })
            })
            .collect();
        for writer in writers {
            let turns = writer
                .join()
                .expect("no panic")
                .expect("every write commits");
            assert!(turns.iter().all(|held| *held), "each wrote in its turn");
        }
        let mut conn = pool.get().expect("a connection");
        let total: Tally = diesel::sql_query("SELECT n FROM tally")
            .get_result(&mut conn)
            .expect("the tally");
        assert_eq!(total.n, 200);
        assert!(!pool.writing(), "every turn was given back");
        assert_eq!(db.write_turns_timed_out(), 0);
    }

    #[test]
    fn a_writer_waits_for_the_turn_and_not_past_its_wait() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let (_, pool) = sqlite(&dir);
        let wait = Duration::from_millis(300);
        let pool = SqlitePool {
            turn_wait: wait,
            ..pool
        };
        let db = Db::Sqlite(pool.clone());
        // A turn never given back (as a write inside another write would
        // hold it): the writer waits for it, then goes on without it and
        // leaves the write to SQLite's own lock, which is free.
        let stuck = pool.write_turn().expect("the first turn");
        let writer = {
            let (db, pool) = (db.clone(), pool.clone());
            std::thread::spawn(move || {
                let started = std::time::Instant::now();
                count_one(&db, &pool).map(|_| started.elapsed())
            })
        };
        let waited = writer.join().expect("no panic").expect("it commits");
        assert!(waited >= wait, "it waited {waited:?} for the turn");
        assert_eq!(db.write_turns_timed_out(), 1);
        drop(stuck);
        let mut conn = pool.get().expect("a connection");
        let total: Tally = diesel::sql_query("SELECT n FROM tally")
            .get_result(&mut conn)
            .expect("the tally");
        assert_eq!(total.n, 1);
    }
}
