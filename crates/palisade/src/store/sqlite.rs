//! The embedded default store: sessions in a SQLite table.
//!
//! One table, `palisade_sessions`, created by the crate's migrations
//! (`migrations/sqlite`) when the store connects. Every [`Store`] method is a
//! single SQL statement (`rotate` is one transaction), and changes are applied
//! inside SQLite with `json_set`/`json_remove`, so concurrent requests on one
//! session never overwrite each other's keys.
//!
//! ```no_run
//! use palisade::store::SqliteStore;
//! # async fn run() -> Result<(), palisade::store::StoreError> {
//! // Creates `data/palisade.db` (and `data/`) if missing, runs the migrations.
//! let store = SqliteStore::connect("sqlite://data/palisade.db?mode=rwc").await?;
//! // Deletes expired sessions every 10 minutes until the store is dropped.
//! let _sweeper = store.spawn_sweeper(std::time::Duration::from_secs(600));
//! # Ok(()) }
//! ```

use super::attempts::{self, AttemptStore, Backoff, Sql, Taken};
use super::{Applied, Change, Data, Record, SessionInfo, Store, StoreError, StoreKey, UnixTime};
use async_trait::async_trait;
use sqlx::migrate::MigrateError;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, Sqlite};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// How long a statement waits for another connection's write lock before
/// failing (the session layer then answers `503`).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read connections of a file database: WAL lets readers run beside the
/// one writer.
const READ_CONNECTIONS: u32 = 4;

/// `SQLITE_MAX_FUNCTION_ARG` is 127 in the bundled SQLite: `json_set(data,
/// p1, v1, …)` takes at most 63 pairs and `json_remove(data, p1, …)` 126
/// paths, so larger changes nest several calls (still one statement).
const SET_PAIRS_PER_CALL: usize = 60;
const REMOVE_PATHS_PER_CALL: usize = 120;

/// Sessions in a SQLite database (a file, or memory for tests).
///
/// Clones share one connection pool. Rows are keyed by [`StoreKey`] (the
/// SHA-256 of the session id), never by the id.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// Every write goes through this pool. For a file opened by
    /// [`SqliteStore::connect`] it holds **one** connection: SQLite allows
    /// one writer at a time, and writers queueing here (a fair FIFO) wait
    /// microseconds for their turn, where several connections racing for
    /// the lock would sleep in SQLite's busy handler (1, 2, 5 … 100 ms
    /// steps: a p99 of hundreds of milliseconds under load).
    writes: SqlitePool,
    /// Reads (`load`, `sessions_of`): several connections in parallel.
    reads: SqlitePool,
    /// The writer runs with `synchronous = NORMAL` and the writes that end
    /// a session (logout, revocation, the old id's delete at login) switch
    /// to `FULL` for their commit; false for a pool the application gave
    /// ([`SqliteStore::from_pool`]), whose settings are its own.
    durable_endings: bool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` and runs the
    /// migrations.
    ///
    /// `url` is a sqlx SQLite URL: `sqlite://data/palisade.db?mode=rwc`,
    /// `sqlite:palisade.db` or `sqlite::memory:`. A file database is opened in
    /// WAL mode with a 5 s busy timeout and foreign keys on; its directory is
    /// created if missing. An in-memory database lives only as long as its
    /// connection, so it gets a pool of exactly one connection that is never
    /// recycled (and is lost when the store is dropped).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let in_memory = is_memory_url(url);
        let mut options = SqliteConnectOptions::from_str(url)
            .map_err(StoreError::unavailable)?
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        if in_memory {
            let pool =
                SqlitePoolOptions::new().max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None);
            let pool = open(pool, options).await?;
            return Self::from_pool(pool).await;
        }
        // WAL with `synchronous = NORMAL`: a commit is not flushed to disk
        // by itself (an `fsync` per write capped the store at ~2,000
        // writes/s); the WAL is synced at checkpoints. An application crash
        // loses nothing; a power loss or OS crash can lose the commits since
        // the last sync — session data written in the last moments — and
        // never corrupts the file. The writes that end a session are synced
        // at once (`durable_endings`): a power loss cannot bring back a
        // logged-out or revoked session.
        options =
            options.create_if_missing(true).journal_mode(SqliteJournalMode::Wal).synchronous(SqliteSynchronous::Normal);
        if let Some(dir) = options.get_filename().parent().filter(|dir| !dir.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(dir).await.map_err(StoreError::unavailable)?;
        }
        let writes = open(SqlitePoolOptions::new().max_connections(1), options.clone()).await?;
        migrate(&writes).await.map_err(StoreError::unavailable)?;
        let reads = open(SqlitePoolOptions::new().max_connections(READ_CONNECTIONS), options).await?;
        Ok(Self { inner: Arc::new(Inner { writes, reads, durable_endings: true }) })
    }

    /// Uses an existing pool (e.g. the application's own database) and runs
    /// the migrations on it.
    ///
    /// For an in-memory database, the pool must keep at least one connection
    /// open for the data to survive (see [`SqliteStore::connect`]).
    ///
    /// Reads and writes share this pool, with the pool's own settings
    /// (`synchronous` included): [`SqliteStore::connect`]'s single writer
    /// and durable endings apply to the pools it opens itself.
    pub async fn from_pool(pool: SqlitePool) -> Result<Self, StoreError> {
        migrate(&pool).await.map_err(StoreError::unavailable)?;
        Ok(Self { inner: Arc::new(Inner { writes: pool.clone(), reads: pool, durable_endings: false }) })
    }

    /// The pool the store writes through (shared with any application
    /// tables; for a file opened by [`SqliteStore::connect`], its single
    /// writer connection).
    pub fn pool(&self) -> &SqlitePool {
        &self.inner.writes
    }

    fn reads(&self) -> &SqlitePool {
        &self.inner.reads
    }

    /// The writer, set to sync its next commits to disk when the store has
    /// durable endings (see [`Inner::durable_endings`]); hand it back with
    /// [`end_durably`](Self::end_durably).
    async fn begin_durably(&self) -> Result<PoolConnection<Sqlite>, StoreError> {
        let mut conn = self.pool().acquire().await.map_err(StoreError::unavailable)?;
        if self.inner.durable_endings {
            sqlx::query("PRAGMA synchronous = FULL").execute(&mut *conn).await.map_err(StoreError::unavailable)?;
        }
        Ok(conn)
    }

    /// Sets the writer back to `synchronous = NORMAL`, whatever the
    /// statement did; if even that fails, the connection is closed rather
    /// than kept with a setting other than the store's.
    async fn end_durably(&self, mut conn: PoolConnection<Sqlite>) {
        if !self.inner.durable_endings {
            return;
        }
        if let Err(err) = sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut *conn).await {
            tracing::warn!(error = %err, "sqlite: could not restore synchronous = NORMAL; closing the connection");
            drop(conn.detach());
        }
    }

    /// Spawns a task that deletes expired sessions every `every` (wall clock,
    /// first run immediately), logging failures with `tracing::warn!`.
    ///
    /// The task holds only a weak reference: it ends by itself once every
    /// clone of this store is dropped (or the pool is closed). Intervals
    /// shorter than 10 ms are raised to 10 ms.
    ///
    /// # Panics
    ///
    /// When called outside a Tokio runtime (as `tokio::spawn` does).
    pub fn spawn_sweeper(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        super::sweeper::spawn(Arc::downgrade(&self.inner), every, "sqlite", |inner: Arc<Inner>| {
            (!inner.writes.is_closed()).then(|| SqliteStore { inner })
        })
    }
}

/// Opens a pool. Opening a new file sets WAL mode, which needs a moment of
/// exclusive access: an instance starting beside another one can get
/// SQLITE_BUSY at once, without the busy timeout; it tries again.
async fn open(pool: SqlitePoolOptions, options: SqliteConnectOptions) -> Result<SqlitePool, StoreError> {
    let mut attempt = 1;
    loop {
        match pool.clone().connect_with(options.clone()).await {
            Err(sqlx::Error::Database(err)) if is_busy(err.as_ref()) && attempt < MIGRATE_ATTEMPTS => {
                tracing::debug!(error = %err, attempt, "sqlite database busy while opening; retrying");
                tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
                attempt += 1;
            }
            result => return result.map_err(StoreError::unavailable),
        }
    }
}

/// Attempts at migrating before giving up (see [`migrate`]).
const MIGRATE_ATTEMPTS: u32 = 10;

/// Runs the migrations. sqlx takes no lock across processes on SQLite (it
/// does on PostgreSQL), so instances starting together on a new file race:
/// the loser's bookkeeping insert fails (`UNIQUE constraint failed:
/// _sqlx_migrations.version`) or its write waits out the busy timeout. Our
/// migrations are idempotent (`IF NOT EXISTS`), so a failed attempt is
/// retried after a short pause: it then finds them applied.
async fn migrate(pool: &SqlitePool) -> Result<(), MigrateError> {
    let mut migrator = sqlx::migrate!("./migrations/sqlite");
    // The application may keep its own migrations in the same database (and
    // the same `_sqlx_migrations` table): theirs are not ours to complain about.
    migrator.set_ignore_missing(true);
    let mut attempt = 1;
    loop {
        match migrator.run(pool).await {
            Err(MigrateError::Execute(sqlx::Error::Database(err))) if attempt < MIGRATE_ATTEMPTS => {
                tracing::debug!(error = %err, attempt, "sqlite migrations raced another instance; retrying");
            }
            result => return result,
        }
        tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
        attempt += 1;
    }
}

/// SQLITE_BUSY (5) or SQLITE_LOCKED (6), extended codes included.
fn is_busy(err: &dyn sqlx::error::DatabaseError) -> bool {
    err.code().and_then(|code| code.parse::<i32>().ok()).is_some_and(|code| matches!(code & 0xff, 5 | 6))
}

fn is_memory_url(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

impl std::fmt::Debug for SqliteStore {
    /// Pool statistics only: no URL, no path, no data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (writes, reads) = (&self.inner.writes, &self.inner.reads);
        f.debug_struct("SqliteStore")
            .field("connections", &(writes.size() + reads.size()))
            .field("idle", &(writes.num_idle() + reads.num_idle()))
            .field("closed", &writes.is_closed())
            .finish()
    }
}

/// The JSON path of a top-level session key: `$."key"`.
///
/// The session layer already refuses keys with `"`, `\` or control
/// characters; they are refused again here (defence in depth) because
/// SQLite's quoted path labels have no escapes, and such a key would address
/// the wrong member or make the statement fail.
fn json_path(key: &str) -> Result<String, StoreError> {
    if key.chars().any(|c| c == '"' || c == '\\' || c.is_control()) {
        return Err(StoreError::Corrupt("session key has a character not allowed in a JSON path".into()));
    }
    Ok(format!("$.\"{key}\""))
}

/// The `UPDATE` for one change, and its parameters in order (all text: JSON
/// paths and JSON values). The SQL depends only on the number of keys; no
/// user data is ever part of it.
fn apply_sql(change: &Change) -> Result<(String, Vec<String>), StoreError> {
    let mut expr = String::from("data");
    let mut params = Vec::with_capacity(2 * change.set.len() + change.remove.len());
    for chunk in change.set.chunks(SET_PAIRS_PER_CALL) {
        expr = format!("json_set({expr}{})", ", ?, json(?)".repeat(chunk.len()));
        for (key, value) in chunk {
            params.push(json_path(key)?);
            params.push(
                serde_json::to_string(value)
                    .map_err(|_| StoreError::Corrupt("session value cannot be encoded as JSON".into()))?,
            );
        }
    }
    for chunk in change.remove.chunks(REMOVE_PATHS_PER_CALL) {
        expr = format!("json_remove({expr}{})", ", ?".repeat(chunk.len()));
        for key in chunk {
            params.push(json_path(key)?);
        }
    }
    let sql = format!(
        "UPDATE palisade_sessions SET data = {expr}, last_seen = ?, expires_at = ? WHERE key = ? AND expires_at > ?"
    );
    Ok((sql, params))
}

fn encode_data(data: &Data) -> Result<String, StoreError> {
    serde_json::to_string(data).map_err(|_| StoreError::Corrupt("session data cannot be encoded as JSON".into()))
}

/// Decodes a row without trusting it: any unexpected content is `Corrupt`
/// (with a short reason, never the content), never a panic.
fn decode_record(row: &SqliteRow) -> Result<Record, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("sqlite session row: {what}"));
    let data: String = row.try_get("data").map_err(|_| corrupt("data is not text"))?;
    let data: Data = serde_json::from_str(&data).map_err(|_| corrupt("data is not a JSON object"))?;
    let int = |column: &str| row.try_get::<i64, _>(column).map_err(|_| corrupt("timestamp is not an integer"));
    let text = |column: &str| row.try_get::<Option<String>, _>(column).map_err(|_| corrupt("text column is not text"));
    Ok(Record {
        data,
        created_at: int("created_at")?,
        last_seen: int("last_seen")?,
        expires_at: int("expires_at")?,
        deadline: int("deadline")?,
        user_id: text("user_id")?,
        ip: text("ip")?,
        user_agent: text("user_agent")?,
    })
}

const RECORD_COLUMNS: &str = "data, created_at, last_seen, expires_at, deadline, user_id, ip, user_agent";

const INSERT_SQL: &str = "INSERT INTO palisade_sessions \
     (key, data, created_at, last_seen, expires_at, deadline, user_id, ip, user_agent) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// A plain `INSERT` of a whole record: a key collision is an error, never an
/// overwrite of someone else's session.
async fn insert<'c>(
    executor: impl sqlx::SqliteExecutor<'c>,
    key: &StoreKey,
    record: &Record,
) -> Result<(), StoreError> {
    sqlx::query(INSERT_SQL)
        .bind(key.as_bytes().as_slice())
        .bind(encode_data(&record.data)?)
        .bind(record.created_at)
        .bind(record.last_seen)
        .bind(record.expires_at)
        .bind(record.deadline)
        .bind(record.user_id.as_deref())
        .bind(record.ip.as_deref())
        .bind(record.user_agent.as_deref())
        .execute(executor)
        .await
        .map_err(StoreError::unavailable)?;
    Ok(())
}

/// `rotate` on one connection: one `BEGIN IMMEDIATE` transaction.
async fn rotate_on(
    conn: &mut sqlx::SqliteConnection,
    old: &StoreKey,
    new: &StoreKey,
    record: &Record,
    now: UnixTime,
) -> Result<Applied, StoreError> {
    use sqlx::Connection;
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(StoreError::unavailable)?;
    let deleted = sqlx::query("DELETE FROM palisade_sessions WHERE key = ? AND expires_at > ?")
        .bind(old.as_bytes().as_slice())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::unavailable)?;
    if deleted.rows_affected() == 0 {
        tx.rollback().await.map_err(StoreError::unavailable)?;
        return Ok(Applied::Missing);
    }
    insert(&mut *tx, new, record).await?;
    tx.commit().await.map_err(StoreError::unavailable)?;
    Ok(Applied::Done)
}

/// `json_set`/`json_remove` fail on a `data` column that is not JSON: that
/// is a corrupt row, not an unavailable store.
fn apply_error(err: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &err {
        if db.message().contains("malformed JSON") {
            return StoreError::Corrupt("sqlite session row: data is not valid JSON".into());
        }
    }
    StoreError::unavailable(err)
}

#[async_trait]
impl Store for SqliteStore {
    async fn load(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>, StoreError> {
        let sql = format!("SELECT {RECORD_COLUMNS} FROM palisade_sessions WHERE key = ? AND expires_at > ?");
        let row = sqlx::query(&sql)
            .bind(key.as_bytes().as_slice())
            .bind(now)
            .fetch_optional(self.reads())
            .await
            .map_err(StoreError::unavailable)?;
        row.as_ref().map(decode_record).transpose()
    }

    async fn create(&self, key: &StoreKey, record: &Record) -> Result<(), StoreError> {
        insert(self.pool(), key, record).await
    }

    /// One `UPDATE … WHERE key = ? AND expires_at > ?` that edits the JSON
    /// in place, key by key: concurrent requests setting different keys both
    /// keep their change. Deliberately not an upsert: when the row is gone
    /// (logout, revocation, rotation, expiry) nothing is written, so a slow
    /// request cannot resurrect the session.
    async fn apply(&self, key: &StoreKey, change: &Change, now: UnixTime) -> Result<Applied, StoreError> {
        let result = if change.is_touch() {
            sqlx::query("UPDATE palisade_sessions SET last_seen = ?, expires_at = ? WHERE key = ? AND expires_at > ?")
                .bind(change.last_seen)
                .bind(change.expires_at)
                .bind(key.as_bytes().as_slice())
                .bind(now)
                .execute(self.pool())
                .await
        } else {
            let (sql, params) = apply_sql(change)?;
            let mut query = sqlx::query(&sql);
            for param in params {
                query = query.bind(param);
            }
            query
                .bind(change.last_seen)
                .bind(change.expires_at)
                .bind(key.as_bytes().as_slice())
                .bind(now)
                .execute(self.pool())
                .await
        };
        let result = result.map_err(apply_error)?;
        Ok(Applied::from_rows_affected(result.rows_affected()))
    }

    /// One `BEGIN IMMEDIATE` transaction: delete the live old row, then insert
    /// the new one. If the old row is gone or expired, roll back and insert
    /// nothing (a login racing a logout does not mint a session).
    async fn rotate(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        record: &Record,
        now: UnixTime,
    ) -> Result<Applied, StoreError> {
        let mut conn = self.begin_durably().await?;
        let result = rotate_on(&mut conn, old, new, record, now).await;
        self.end_durably(conn).await;
        result
    }

    async fn delete(&self, key: &StoreKey) -> Result<(), StoreError> {
        let mut conn = self.begin_durably().await?;
        let result = sqlx::query("DELETE FROM palisade_sessions WHERE key = ?")
            .bind(key.as_bytes().as_slice())
            .execute(&mut *conn)
            .await
            .map_err(StoreError::unavailable);
        self.end_durably(conn).await;
        result.map(drop)
    }

    async fn sweep(&self, now: UnixTime) -> Result<u64, StoreError> {
        let result = sqlx::query("DELETE FROM palisade_sessions WHERE expires_at <= ?")
            .bind(now)
            .execute(self.pool())
            .await
            .map_err(StoreError::unavailable)?;
        // The throttle's expired counters go too (not counted: sessions only).
        sqlx::query("DELETE FROM palisade_attempts WHERE expires_at <= ?")
            .bind(now)
            .execute(self.pool())
            .await
            .map_err(StoreError::unavailable)?;
        Ok(result.rows_affected())
    }

    async fn sessions_of(&self, user_id: &str, now: UnixTime) -> Result<Vec<SessionInfo>, StoreError> {
        let sql = format!(
            "SELECT key, {RECORD_COLUMNS} FROM palisade_sessions WHERE user_id = ? AND expires_at > ? \
             ORDER BY created_at, key"
        );
        let rows =
            sqlx::query(&sql).bind(user_id).bind(now).fetch_all(self.reads()).await.map_err(StoreError::unavailable)?;
        rows.iter()
            .map(|row| {
                let key: Vec<u8> = row.try_get("key").map_err(|_| StoreError::Corrupt("sqlite session key".into()))?;
                let key: [u8; 32] =
                    key.try_into().map_err(|_| StoreError::Corrupt("sqlite session key is not 32 bytes".into()))?;
                Ok(SessionInfo::of(StoreKey::from_bytes(key), &decode_record(row)?))
            })
            .collect()
    }

    async fn revoke_user(&self, user_id: &str, keep: Option<&StoreKey>) -> Result<u64, StoreError> {
        // A zero-filled key never exists (keys are SHA-256 outputs of 256-bit ids).
        let keep = keep.map_or([0u8; 32], |k| *k.as_bytes());
        let mut conn = self.begin_durably().await?;
        let result = sqlx::query("DELETE FROM palisade_sessions WHERE user_id = ? AND key != ?")
            .bind(user_id)
            .bind(keep.as_slice())
            .execute(&mut *conn)
            .await
            .map_err(StoreError::unavailable);
        self.end_durably(conn).await;
        Ok(result?.rows_affected())
    }
}

#[async_trait]
impl AttemptStore for SqliteStore {
    async fn take(&self, key: &StoreKey, now: UnixTime, backoff: &Backoff) -> Result<Taken, StoreError> {
        let mut query = sqlx::query_as(Sql::Sqlite.take_sql()).bind(key.as_bytes().as_slice()).bind(now);
        for param in backoff.sql_params() {
            query = query.bind(param);
        }
        let (count, not_before, allowed): (i64, i64, bool) =
            query.fetch_one(self.pool()).await.map_err(StoreError::unavailable)?;
        Ok(attempts::taken(count, not_before, allowed))
    }

    async fn refund(&self, key: &StoreKey) -> Result<(), StoreError> {
        sqlx::query("UPDATE palisade_attempts SET count = max(count - 1, 0) WHERE key = ?")
            .bind(key.as_bytes().as_slice())
            .execute(self.pool())
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }

    async fn forgive(&self, key: &StoreKey) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM palisade_attempts WHERE key = ?")
            .bind(key.as_bytes().as_slice())
            .execute(self.pool())
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(set: &[&str], remove: &[&str]) -> Change {
        Change {
            set: set.iter().map(|k| (k.to_string(), json!(1))).collect(),
            remove: remove.iter().map(|k| k.to_string()).collect(),
            last_seen: 1,
            expires_at: 2,
        }
    }

    #[test]
    fn store_apply_sql_binds_every_key_and_value() {
        let (sql, params) = apply_sql(&change(&["a", "b.c"], &["d"])).unwrap();
        assert_eq!(
            sql,
            "UPDATE palisade_sessions SET data = json_remove(json_set(data, ?, json(?), ?, json(?)), ?), \
             last_seen = ?, expires_at = ? WHERE key = ? AND expires_at > ?"
        );
        assert_eq!(params, ["$.\"a\"", "1", "$.\"b.c\"", "1", "$.\"d\""]);
        assert!(!sql.contains("b.c"));
    }

    #[test]
    fn store_apply_sql_nests_calls_within_sqlite_argument_limit() {
        let keys: Vec<String> = (0..200).map(|n| format!("k{n}")).collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let (sql, params) = apply_sql(&change(&keys, &keys)).unwrap();
        assert_eq!(sql.matches("json_set(").count(), 4); // 60 + 60 + 60 + 20
        assert_eq!(sql.matches("json_remove(").count(), 2); // 120 + 80
        assert_eq!(params.len(), 200 * 2 + 200);
        assert_eq!(sql.matches('?').count(), params.len() + 4);
    }

    #[test]
    fn store_json_path_refuses_quotes_backslashes_and_control_characters() {
        for bad in ["a\"b", "a\\b", "a\nb", "\u{7f}", "\u{0}"] {
            assert!(matches!(json_path(bad), Err(StoreError::Corrupt(_))), "{bad:?}");
            assert!(matches!(apply_sql(&change(&[bad], &[])), Err(StoreError::Corrupt(_))), "{bad:?}");
            assert!(matches!(apply_sql(&change(&[], &[bad])), Err(StoreError::Corrupt(_))), "{bad:?}");
        }
        assert_eq!(json_path("ключ $[0]").unwrap(), "$.\"ключ $[0]\"");
    }

    #[test]
    fn store_memory_urls_are_detected() {
        assert!(is_memory_url("sqlite::memory:"));
        assert!(is_memory_url("sqlite://file:x?mode=memory&cache=shared"));
        assert!(!is_memory_url("sqlite://data/palisade.db?mode=rwc"));
    }

    async fn synchronous(conn: impl sqlx::SqliteExecutor<'_>) -> i64 {
        sqlx::query_scalar("PRAGMA synchronous").fetch_one(conn).await.unwrap()
    }

    #[tokio::test]
    async fn store_file_database_writes_through_one_connection_at_synchronous_normal() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/sessions.db?mode=rwc", dir.path().display());
        let store = SqliteStore::connect(&url).await.unwrap();
        assert_eq!(store.pool().options().get_max_connections(), 1, "one writer: writes queue in the pool");
        assert_eq!(synchronous(store.pool()).await, 1, "NORMAL");
        // The writes that end a session commit at FULL, then set it back.
        let mut conn = store.begin_durably().await.unwrap();
        assert_eq!(synchronous(&mut *conn).await, 2, "FULL while a session ends");
        store.end_durably(conn).await;
        assert_eq!(synchronous(store.pool()).await, 1, "NORMAL again");
        let key = StoreKey::from_session_id(b"id");
        let other = StoreKey::from_session_id(b"other");
        let record = Record { expires_at: i64::MAX, user_id: Some("u".into()), ..Default::default() };
        store.create(&key, &record).await.unwrap();
        assert_eq!(store.rotate(&key, &other, &record, 0).await.unwrap(), Applied::Done);
        assert_eq!(store.revoke_user("u", None).await.unwrap(), 1);
        store.delete(&other).await.unwrap();
        assert_eq!(synchronous(store.pool()).await, 1);
        assert!(store.load(&other, 0).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn store_from_pool_keeps_the_pools_own_synchronous_setting() {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                SqliteConnectOptions::from_str("sqlite::memory:").unwrap().synchronous(SqliteSynchronous::Off),
            )
            .await
            .unwrap();
        let store = SqliteStore::from_pool(pool).await.unwrap();
        let key = StoreKey::from_session_id(b"id");
        store.create(&key, &Record { expires_at: i64::MAX, ..Default::default() }).await.unwrap();
        store.delete(&key).await.unwrap();
        assert_eq!(synchronous(store.pool()).await, 0, "OFF, as the application set it");
    }

    #[tokio::test]
    async fn store_debug_shows_no_data() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let key = StoreKey::from_session_id(b"id");
        let mut data = Data::new();
        data.insert("secret".into(), json!("hunter2"));
        store.create(&key, &Record { data, expires_at: 10, ..Default::default() }).await.unwrap();
        let shown = format!("{store:?}");
        assert!(shown.starts_with("SqliteStore"), "{shown}");
        assert!(!shown.contains("hunter2") && !shown.contains("memory"), "{shown}");
    }
}
