//! The embedded default store: sessions in a SQLite table.
//!
//! One table, `palisade_sessions`, created by the crate's migrations
//! (`migrations/sqlite`) when the store opens. Every [`Store`] method is a
//! single SQL statement (`rotate` is one transaction), and changes are applied
//! inside SQLite with `json_set`/`json_remove`, so concurrent requests on one
//! session never overwrite each other's keys.
//!
//! The store keeps its own connections, each on a dedicated thread
//! (`threads`): one writer and four readers for a file, plus four read
//! connections that `load` uses in place on the calling thread when one is
//! free (a primary-key lookup that never waits for the writer).
//!
//! ```no_run
//! use palisade::store::SqliteStore;
//! # async fn run() -> Result<(), palisade::store::StoreError> {
//! // Creates `data/palisade.db` (and `data/`) if missing, runs the migrations.
//! let store = SqliteStore::open("data/palisade.db").await?;
//! // Deletes expired sessions every 10 minutes until the store is dropped.
//! let _sweeper = store.spawn_sweeper(std::time::Duration::from_secs(600));
//! # Ok(()) }
//! ```

mod schema;
mod threads;

use super::attempts::{self, AttemptStore, Backoff, Sql, Taken};
use super::{Applied, Change, Data, Record, SessionInfo, Store, StoreError, StoreKey, UnixTime};
use async_trait::async_trait;
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, Row, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use threads::Worker;

/// Read connections of a file database: WAL lets readers run beside the
/// one writer.
const READ_CONNECTIONS: usize = 4;

/// Read connections a `load` uses in place, on the calling thread.
const IN_PLACE_READERS: usize = 4;

/// `SQLITE_MAX_FUNCTION_ARG` is 127 in the bundled SQLite: `json_set(data,
/// p1, v1, …)` takes at most 63 pairs and `json_remove(data, p1, …)` 126
/// paths, so larger changes nest several calls (still one statement).
const SET_PAIRS_PER_CALL: usize = 60;
const REMOVE_PATHS_PER_CALL: usize = 120;

/// Sessions in a SQLite database (a file, or memory for tests).
///
/// Clones share the connections. Rows are keyed by [`StoreKey`] (the
/// SHA-256 of the session id), never by the id.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// Every write goes through this one connection: SQLite allows one
    /// writer at a time, and writes queueing here (a FIFO channel) wait
    /// microseconds for their turn, where several connections racing for
    /// the lock would sleep in SQLite's busy handler (1, 2, 5 … 100 ms
    /// steps: a p99 of hundreds of milliseconds under load).
    writer: Worker,
    /// Reads (`load`, `sessions_of`), taken in turn; none for an in-memory
    /// database, whose only connection is the writer.
    readers: Vec<Worker>,
    next_reader: AtomicUsize,
    /// Read connections `load` uses in place, on the calling thread: the
    /// request path's one read is a primary-key lookup in a WAL database,
    /// which never waits for the writer and takes microseconds from cached
    /// pages, where handing it to a reader thread and back cost two context
    /// switches (a `/read` was 42.6 µs of CPU through a reader thread, 29.0
    /// in place: `docs/BENCHMARKS.md`). Taken with `try_lock` only: a busy
    /// one is skipped, never waited for, and with none free the read goes
    /// to a reader thread. Their busy timeout is zero, so a lock held in
    /// SQLite (WAL recovery) sends the read to a reader thread, whose busy
    /// handler may wait, instead of sleeping on an async worker. Emptied
    /// (`None`) by [`SqliteStore::close`].
    in_place: Vec<std::sync::Mutex<Option<Connection>>>,
    /// The writes that end a session (logout, revocation, the old id's
    /// delete at login) switch the writer to `synchronous = FULL` for their
    /// commit: a power loss cannot bring back a session that was ended.
    /// False in memory, where there is no disk.
    durable_endings: bool,
    closed: AtomicBool,
}

impl SqliteStore {
    /// Opens (creating if missing, with its directory) the database file at
    /// `path` and runs the migrations.
    ///
    /// The file is used in WAL mode with a 5 s busy timeout, foreign keys on
    /// and `synchronous = NORMAL`: a commit is not flushed to disk by itself
    /// (an `fsync` per write capped the store at ~2,000 writes/s); the WAL
    /// is synced at checkpoints. An application crash loses nothing; a
    /// power loss or OS crash can lose the commits since the last sync —
    /// session data written in the last moments — and never corrupts the
    /// file. The writes that end a session are synced at once: a power loss
    /// cannot bring back a logged-out or revoked session.
    ///
    /// The application may keep its own tables in the same file, through
    /// its own connections (rusqlite, sqlx …): WAL lets them read while the
    /// store writes, and writers wait for each other up to the busy timeout.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_owned();
        // Opening and migrating block (the migration may wait for another
        // instance's write lock): off the async workers.
        let (writer, (readers, in_place)) = tokio::task::spawn_blocking(move || -> Result<_, StoreError> {
            if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(StoreError::unavailable)?;
            }
            let mut writer = schema::open_file(&path).map_err(StoreError::unavailable)?;
            schema::migrate(&mut writer).map_err(StoreError::unavailable)?;
            let open = |_| schema::open_file(&path).map_err(StoreError::unavailable);
            let readers = (0..READ_CONNECTIONS).map(open).collect::<Result<Vec<_>, _>>()?;
            let in_place = (0..IN_PLACE_READERS)
                .map(|n| {
                    let conn = open(n)?;
                    conn.busy_timeout(Duration::ZERO).map_err(StoreError::unavailable)?;
                    Ok(std::sync::Mutex::new(Some(conn)))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            Ok((writer, (readers, in_place)))
        })
        .await
        .map_err(StoreError::unavailable)??;
        let writer = Worker::spawn("palisade-sqlite-writer", writer)?;
        let readers = readers
            .into_iter()
            .map(|conn| Worker::spawn("palisade-sqlite-reader", conn))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::from_workers(writer, readers, in_place, true))
    }

    /// A private in-memory database: one connection, lost when the store
    /// is dropped. For tests and demos.
    pub async fn in_memory() -> Result<Self, StoreError> {
        let mut conn = schema::open_memory().map_err(StoreError::unavailable)?;
        schema::migrate(&mut conn).map_err(StoreError::unavailable)?;
        Ok(Self::from_workers(Worker::spawn("palisade-sqlite", conn)?, Vec::new(), Vec::new(), false))
    }

    /// [`open`](Self::open) or [`in_memory`](Self::in_memory), from a URL
    /// as sqlx writes them: `sqlite://data/palisade.db?mode=rwc`,
    /// `sqlite:palisade.db`, `sqlite::memory:`. The query string is
    /// ignored (a file is always created if missing), except that
    /// `mode=memory` means memory.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        match parse_url(url)? {
            Location::Memory => Self::in_memory().await,
            Location::File(path) => Self::open(path).await,
        }
    }

    fn from_workers(
        writer: Worker,
        readers: Vec<Worker>,
        in_place: Vec<std::sync::Mutex<Option<Connection>>>,
        durable_endings: bool,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                writer,
                readers,
                next_reader: AtomicUsize::new(0),
                in_place,
                durable_endings,
                closed: AtomicBool::new(false),
            }),
        }
    }

    /// Closes every connection once the calls already made are done (for
    /// a file, SQLite then checkpoints the WAL into the database file).
    /// Calls made afterwards, by this store or its clones, fail with
    /// [`StoreError::Unavailable`]; a sweeper ends at its next tick.
    pub async fn close(&self) {
        self.inner.closed.store(true, Ordering::Relaxed);
        for conn in &self.inner.in_place {
            // Waits for a read in progress (microseconds), then closes.
            drop(conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take());
        }
        for worker in self.inner.readers.iter().chain([&self.inner.writer]) {
            worker.close().await;
        }
    }

    /// `load` on a free in-place connection; `None` when none is free (or
    /// SQLite was busy): the caller goes to a reader thread.
    fn load_in_place(
        &self,
        sql: &'static str,
        key: &StoreKey,
        now: UnixTime,
    ) -> Option<Result<Option<Record>, StoreError>> {
        let connections = &self.inner.in_place;
        if connections.is_empty() || self.inner.closed.load(Ordering::Relaxed) {
            return None;
        }
        let start = self.inner.next_reader.fetch_add(1, Ordering::Relaxed);
        for n in 0..connections.len() {
            // A poisoned lock (a panic mid-read) is skipped like a busy one.
            let Ok(guard) = connections[(start + n) % connections.len()].try_lock() else { continue };
            let conn = guard.as_ref()?; // closed
            return match load_on(conn, sql, key, now) {
                Err(StoreError::Unavailable(err)) if is_busy(err.as_ref()) => None,
                found => Some(found),
            };
        }
        None
    }

    /// One record by key through `sql`, in place on a free read connection
    /// when there is one (see `Inner::in_place`), else on a reader thread.
    async fn load_with(&self, sql: &'static str, key: &StoreKey, now: UnixTime) -> Result<Option<Record>, StoreError> {
        let key = *key;
        if let Some(found) = self.load_in_place(sql, &key, now) {
            return found;
        }
        self.reader().run(move |conn| load_on(conn, sql, &key, now)).await
    }

    fn reader(&self) -> &Worker {
        let readers = &self.inner.readers;
        if readers.is_empty() {
            return &self.inner.writer;
        }
        &readers[self.inner.next_reader.fetch_add(1, Ordering::Relaxed) % readers.len()]
    }

    /// Runs `f` on the writer, at `synchronous = FULL` when the store has
    /// durable endings (see [`Inner::durable_endings`]), then sets it back
    /// to `NORMAL` whatever `f` did.
    async fn write_durably<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let durable = self.inner.durable_endings;
        self.inner
            .writer
            .run(move |conn| {
                if durable {
                    conn.pragma_update(None, "synchronous", "FULL").map_err(StoreError::unavailable)?;
                }
                let result = f(conn);
                if durable {
                    if let Err(err) = conn.pragma_update(None, "synchronous", "NORMAL") {
                        // FULL stays: slower, never less safe.
                        tracing::warn!(error = %err, "sqlite: could not restore synchronous = NORMAL");
                    }
                }
                result
            })
            .await
    }

    /// Spawns a task that deletes expired sessions every `every` (wall clock,
    /// first run immediately), logging failures with `tracing::warn!`.
    ///
    /// The task holds only a weak reference: it ends by itself once every
    /// clone of this store is dropped (or the store is closed). Intervals
    /// shorter than 10 ms are raised to 10 ms.
    ///
    /// # Panics
    ///
    /// When called outside a Tokio runtime (as `tokio::spawn` does).
    pub fn spawn_sweeper(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        super::sweeper::spawn(Arc::downgrade(&self.inner), every, "sqlite", |inner: Arc<Inner>| {
            (!inner.closed.load(Ordering::Relaxed)).then(|| SqliteStore { inner })
        })
    }
}

enum Location {
    Memory,
    File(PathBuf),
}

#[derive(Debug, thiserror::Error)]
#[error("not a sqlite URL (sqlite://path/to/file.db, sqlite:file.db or sqlite::memory:)")]
struct BadUrl;

fn parse_url(url: &str) -> Result<Location, StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| StoreError::unavailable(BadUrl))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path == ":memory:" || query.split('&').any(|pair| pair == "mode=memory") {
        return Ok(Location::Memory);
    }
    if path.is_empty() {
        return Err(StoreError::unavailable(BadUrl));
    }
    Ok(Location::File(PathBuf::from(percent_decode(path)?)))
}

/// `%3F` → `?` and so on: how a URL spells a path with `?`, `#` or `%`.
fn percent_decode(path: &str) -> Result<String, StoreError> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = path.get(i + 1..i + 3).ok_or_else(|| StoreError::unavailable(BadUrl))?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| StoreError::unavailable(BadUrl))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| StoreError::unavailable(BadUrl))
}

impl std::fmt::Debug for SqliteStore {
    /// Connection counts only: no path, no data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("connections", &(1 + self.inner.readers.len()))
            .field("closed", &self.inner.closed.load(Ordering::Relaxed))
            .finish()
    }
}

/// The JSON path of a top-level session key: `$."key"`.
///
/// The session layer already refuses keys with `"`, `\\` or control
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

/// Decodes a row (the columns of `record_columns!` from column `first` on) without
/// trusting it: any unexpected content is `Corrupt` (with a short reason,
/// never the content), never a panic.
fn decode_record(row: &Row<'_>, first: usize) -> Result<Record, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("sqlite session row: {what}"));
    let data: String = row.get(first).map_err(|_| corrupt("data is not text"))?;
    let data: Data = serde_json::from_str(&data).map_err(|_| corrupt("data is not a JSON object"))?;
    let int = |n: usize| row.get::<_, i64>(first + n).map_err(|_| corrupt("timestamp is not an integer"));
    let text = |n: usize| row.get::<_, Option<String>>(first + n).map_err(|_| corrupt("text column is not text"));
    Ok(Record {
        data,
        created_at: int(1)?,
        last_seen: int(2)?,
        expires_at: int(3)?,
        deadline: int(4)?,
        user_id: text(5)?,
        ip: text(6)?,
        user_agent: text(7)?,
    })
}

/// The columns [`decode_record`] reads, as a macro so that the statements
/// built from them are constants (no `format!` per request).
macro_rules! record_columns {
    () => {
        record_columns!("ip, user_agent")
    };
    ($client:literal) => {
        concat!("data, created_at, last_seen, expires_at, deadline, user_id, ", $client)
    };
}

/// One live record by key, with the columns `$client` gives for the
/// client's address and user agent.
macro_rules! load_sql {
    ($client:literal) => {
        concat!("SELECT ", record_columns!($client), " FROM palisade_sessions WHERE key = ? AND expires_at > ?")
    };
}

/// A whole record by key (`load`).
const LOAD_SQL: &str = load_sql!("ip, user_agent");

/// The request path's one read (`load_for_request`): [`LOAD_SQL`] with
/// NULL for the client's address and user agent, which it does not use.
const LOAD_FOR_REQUEST_SQL: &str = load_sql!("NULL, NULL");

const INSERT_SQL: &str = "INSERT INTO palisade_sessions \
     (key, data, created_at, last_seen, expires_at, deadline, user_id, ip, user_agent) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// A plain `INSERT` of a whole record: a key collision is an error, never an
/// overwrite of someone else's session.
fn insert(conn: &Connection, key: &StoreKey, record: &Record, data: &str) -> Result<(), StoreError> {
    conn.prepare_cached(INSERT_SQL)
        .and_then(|mut statement| {
            statement.execute(params![
                key.as_bytes().as_slice(),
                data,
                record.created_at,
                record.last_seen,
                record.expires_at,
                record.deadline,
                record.user_id,
                record.ip,
                record.user_agent,
            ])
        })
        .map_err(StoreError::unavailable)?;
    Ok(())
}

/// The record under `key`, if live, through `sql` ([`LOAD_SQL`] or
/// [`LOAD_FOR_REQUEST_SQL`]).
fn load_on(conn: &Connection, sql: &str, key: &StoreKey, now: UnixTime) -> Result<Option<Record>, StoreError> {
    let mut statement = conn.prepare_cached(sql).map_err(StoreError::unavailable)?;
    let mut rows = statement.query(params![key.as_bytes().as_slice(), now]).map_err(StoreError::unavailable)?;
    match rows.next().map_err(StoreError::unavailable)? {
        Some(row) => decode_record(row, 0).map(Some),
        None => Ok(None),
    }
}

/// SQLite's "database is locked/busy", which a connection without a busy
/// timeout returns at once.
fn is_busy(err: &(dyn std::error::Error + 'static)) -> bool {
    matches!(
        err.downcast_ref::<rusqlite::Error>(),
        Some(rusqlite::Error::SqliteFailure(e, _))
            if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// `rotate` in one `BEGIN IMMEDIATE` transaction.
fn rotate_on(
    conn: &mut Connection,
    old: &StoreKey,
    new: &StoreKey,
    record: &Record,
    data: &str,
    now: UnixTime,
) -> Result<Applied, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(StoreError::unavailable)?;
    let deleted = tx
        .prepare_cached("DELETE FROM palisade_sessions WHERE key = ? AND expires_at > ?")
        .and_then(|mut statement| statement.execute(params![old.as_bytes().as_slice(), now]))
        .map_err(StoreError::unavailable)?;
    if deleted == 0 {
        // Dropping the transaction rolls it back.
        return Ok(Applied::Missing);
    }
    insert(&tx, new, record, data)?;
    tx.commit().map_err(StoreError::unavailable)?;
    Ok(Applied::Done)
}

/// `json_set`/`json_remove` fail on a `data` column that is not JSON: that
/// is a corrupt row, not an unavailable store.
fn apply_error(err: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(_, Some(message)) = &err {
        if message.contains("malformed JSON") {
            return StoreError::Corrupt("sqlite session row: data is not valid JSON".into());
        }
    }
    StoreError::unavailable(err)
}

/// A record's columns but its data (sent to the writer's thread as JSON text).
fn without_data(record: &Record) -> Record {
    Record {
        data: Data::new(),
        created_at: record.created_at,
        last_seen: record.last_seen,
        expires_at: record.expires_at,
        deadline: record.deadline,
        user_id: record.user_id.clone(),
        ip: record.ip.clone(),
        user_agent: record.user_agent.clone(),
    }
}

fn key_value(key: &StoreKey) -> Value {
    Value::Blob(key.as_bytes().to_vec())
}

#[async_trait]
impl Store for SqliteStore {
    /// In place on a free read connection when there is one (see
    /// `Inner::in_place`), else on a reader thread.
    async fn load(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>, StoreError> {
        self.load_with(LOAD_SQL, key, now).await
    }

    async fn load_for_request(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>, StoreError> {
        self.load_with(LOAD_FOR_REQUEST_SQL, key, now).await
    }

    async fn create(&self, key: &StoreKey, record: &Record) -> Result<(), StoreError> {
        let (key, data, record) = (*key, encode_data(&record.data)?, without_data(record));
        self.inner.writer.run_batched(move |conn| insert(conn, &key, &record, &data)).await
    }

    /// One `UPDATE … WHERE key = ? AND expires_at > ?` that edits the JSON
    /// in place, key by key: concurrent requests setting different keys both
    /// keep their change. Deliberately not an upsert: when the row is gone
    /// (logout, revocation, rotation, expiry) nothing is written, so a slow
    /// request cannot resurrect the session.
    async fn apply(&self, key: &StoreKey, change: &Change, now: UnixTime) -> Result<Applied, StoreError> {
        let (sql, params) = if change.is_touch() {
            (
                "UPDATE palisade_sessions SET last_seen = ?, expires_at = ? WHERE key = ? AND expires_at > ?"
                    .to_owned(),
                Vec::new(),
            )
        } else {
            apply_sql(change)?
        };
        let mut values: Vec<Value> = params.into_iter().map(Value::Text).collect();
        values.extend([
            Value::Integer(change.last_seen),
            Value::Integer(change.expires_at),
            key_value(key),
            Value::Integer(now),
        ]);
        self.inner
            .writer
            .run_batched(move |conn| {
                let rows = conn
                    .prepare_cached(&sql)
                    .and_then(|mut statement| statement.execute(params_from_iter(values)))
                    .map_err(apply_error)?;
                Ok(Applied::from_rows_affected(rows as u64))
            })
            .await
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
        let (old, new, data, record) = (*old, *new, encode_data(&record.data)?, without_data(record));
        self.write_durably(move |conn| rotate_on(conn, &old, &new, &record, &data, now)).await
    }

    async fn delete(&self, key: &StoreKey) -> Result<(), StoreError> {
        let key = *key;
        self.write_durably(move |conn| {
            conn.prepare_cached("DELETE FROM palisade_sessions WHERE key = ?")
                .and_then(|mut statement| statement.execute([key.as_bytes().as_slice()]))
                .map_err(StoreError::unavailable)
                .map(drop)
        })
        .await
    }

    async fn sweep(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.inner
            .writer
            .run(move |conn| {
                let removed = conn
                    .execute("DELETE FROM palisade_sessions WHERE expires_at <= ?", [now])
                    .map_err(StoreError::unavailable)?;
                // The throttle's expired counters go too (not counted: sessions only).
                conn.execute("DELETE FROM palisade_attempts WHERE expires_at <= ?", [now])
                    .map_err(StoreError::unavailable)?;
                Ok(removed as u64)
            })
            .await
    }

    async fn sessions_of(&self, user_id: &str, now: UnixTime) -> Result<Vec<SessionInfo>, StoreError> {
        let user_id = user_id.to_owned();
        self.reader()
            .run(move |conn| {
                let mut statement = conn
                    .prepare_cached(concat!(
                        "SELECT key, ",
                        record_columns!(),
                        " FROM palisade_sessions WHERE user_id = ? AND expires_at > ? \
                         ORDER BY created_at, key"
                    ))
                    .map_err(StoreError::unavailable)?;
                let mut rows = statement.query(params![user_id, now]).map_err(StoreError::unavailable)?;
                let mut sessions = Vec::new();
                while let Some(row) = rows.next().map_err(StoreError::unavailable)? {
                    let key: Vec<u8> = row.get(0).map_err(|_| StoreError::Corrupt("sqlite session key".into()))?;
                    let key: [u8; 32] =
                        key.try_into().map_err(|_| StoreError::Corrupt("sqlite session key is not 32 bytes".into()))?;
                    sessions.push(SessionInfo::of(StoreKey::from_bytes(key), &decode_record(row, 1)?));
                }
                Ok(sessions)
            })
            .await
    }

    async fn revoke_user(&self, user_id: &str, keep: Option<&StoreKey>) -> Result<u64, StoreError> {
        // A zero-filled key never exists (keys are SHA-256 outputs of 256-bit ids).
        let keep = keep.map_or([0u8; 32], |k| *k.as_bytes());
        let user_id = user_id.to_owned();
        self.write_durably(move |conn| {
            conn.prepare_cached("DELETE FROM palisade_sessions WHERE user_id = ? AND key != ?")
                .and_then(|mut statement| statement.execute(params![user_id, keep.as_slice()]))
                .map(|rows| rows as u64)
                .map_err(StoreError::unavailable)
        })
        .await
    }
}

#[async_trait]
impl AttemptStore for SqliteStore {
    async fn take(&self, key: &StoreKey, now: UnixTime, backoff: &Backoff) -> Result<Taken, StoreError> {
        let mut values = vec![key_value(key), Value::Integer(now)];
        values.extend(backoff.sql_params().map(Value::Integer));
        let (count, not_before, allowed) = self
            .inner
            .writer
            .run(move |conn| {
                conn.prepare_cached(Sql::Sqlite.take_sql())
                    .and_then(|mut statement| {
                        statement.query_row(params_from_iter(values), |row| {
                            Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?, row.get::<_, bool>(2)?))
                        })
                    })
                    .map_err(StoreError::unavailable)
            })
            .await?;
        Ok(attempts::taken(count, not_before, allowed))
    }

    async fn refund(&self, key: &StoreKey) -> Result<(), StoreError> {
        let key = *key;
        self.inner
            .writer
            .run(move |conn| {
                conn.prepare_cached("UPDATE palisade_attempts SET count = max(count - 1, 0) WHERE key = ?")
                    .and_then(|mut statement| statement.execute([key.as_bytes().as_slice()]))
                    .map_err(StoreError::unavailable)
                    .map(drop)
            })
            .await
    }

    async fn forgive(&self, key: &StoreKey) -> Result<(), StoreError> {
        let key = *key;
        self.inner
            .writer
            .run(move |conn| {
                conn.prepare_cached("DELETE FROM palisade_attempts WHERE key = ?")
                    .and_then(|mut statement| statement.execute([key.as_bytes().as_slice()]))
                    .map_err(StoreError::unavailable)
                    .map(drop)
            })
            .await
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
    fn store_urls_name_a_file_or_memory() {
        let file = |url: &str| match parse_url(url) {
            Ok(Location::File(path)) => path,
            _ => panic!("{url}: a file expected"),
        };
        assert_eq!(file("sqlite://data/palisade.db?mode=rwc"), PathBuf::from("data/palisade.db"));
        assert_eq!(file("sqlite:palisade.db"), PathBuf::from("palisade.db"));
        assert_eq!(file("sqlite:///var/lib/app/s.db"), PathBuf::from("/var/lib/app/s.db"));
        assert_eq!(file("sqlite:///tmp/a%3Fb%23c%25d/s.db?mode=rwc"), PathBuf::from("/tmp/a?b#c%d/s.db"));
        for memory in ["sqlite::memory:", "sqlite://file:x?mode=memory&cache=shared"] {
            assert!(matches!(parse_url(memory), Ok(Location::Memory)), "{memory}");
        }
        for bad in ["postgres://x", "data/palisade.db", "sqlite://", "sqlite:?mode=rwc", "sqlite:a%zz", "sqlite:a%2"] {
            assert!(matches!(parse_url(bad), Err(StoreError::Unavailable(_))), "{bad}");
        }
    }

    async fn synchronous(store: &SqliteStore) -> i64 {
        store
            .inner
            .writer
            .run(|conn| Ok(conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap()))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn store_file_database_writes_at_synchronous_normal_and_ends_sessions_at_full() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("sessions.db")).await.unwrap();
        assert_eq!(store.inner.readers.len(), READ_CONNECTIONS);
        assert_eq!(synchronous(&store).await, 1, "NORMAL");
        // The writes that end a session commit at FULL, then set it back.
        let during = store
            .write_durably(|conn| Ok(conn.query_row("PRAGMA synchronous", [], |r| r.get::<_, i64>(0)).unwrap()))
            .await
            .unwrap();
        assert_eq!(during, 2, "FULL while a session ends");
        assert_eq!(synchronous(&store).await, 1, "NORMAL again");
        let failed: Result<(), _> = store.write_durably(|_| Err(StoreError::Corrupt("x".into()))).await;
        assert!(failed.is_err());
        assert_eq!(synchronous(&store).await, 1, "NORMAL after a failed ending too");
        let key = StoreKey::from_session_id(b"id");
        let other = StoreKey::from_session_id(b"other");
        let record = Record { expires_at: i64::MAX, user_id: Some("u".into()), ..Default::default() };
        store.create(&key, &record).await.unwrap();
        assert_eq!(store.rotate(&key, &other, &record, 0).await.unwrap(), Applied::Done);
        assert_eq!(store.revoke_user("u", None).await.unwrap(), 1);
        store.delete(&other).await.unwrap();
        assert_eq!(synchronous(&store).await, 1);
        assert!(store.load(&other, 0).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn store_a_panicking_call_fails_closed_and_the_connection_goes_on() {
        let store = SqliteStore::in_memory().await.unwrap();
        let panicked: Result<(), _> = store.inner.writer.run(|_| panic!("boom")).await;
        assert!(matches!(panicked, Err(StoreError::Unavailable(_))));
        let key = StoreKey::from_session_id(b"id");
        store.create(&key, &Record { expires_at: i64::MAX, ..Default::default() }).await.unwrap();
        assert!(store.load(&key, 0).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn store_load_reads_in_place_while_every_reader_thread_is_busy() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("sessions.db")).await.unwrap();
        let key = StoreKey::from_session_id(b"id");
        store.create(&key, &Record { expires_at: i64::MAX, ..Default::default() }).await.unwrap();
        // Every reader thread held until the load has answered.
        let (release, released) = std::sync::mpsc::channel::<()>();
        let released = Arc::new(std::sync::Mutex::new(released));
        let held: Vec<_> = (0..READ_CONNECTIONS)
            .map(|_| {
                let (store, released) = (store.clone(), released.clone());
                tokio::spawn(async move {
                    store.reader().run(move |_| Ok(released.lock().unwrap().recv().ok())).await.unwrap();
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let loaded = tokio::time::timeout(Duration::from_secs(5), store.load(&key, 0)).await;
        for _ in 0..READ_CONNECTIONS {
            release.send(()).unwrap();
        }
        for task in held {
            task.await.unwrap();
        }
        assert!(loaded.expect("answered without a reader thread").unwrap().is_some());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn store_load_goes_to_a_reader_thread_when_no_in_place_connection_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("sessions.db")).await.unwrap();
        let key = StoreKey::from_session_id(b"id");
        store.create(&key, &Record { expires_at: i64::MAX, ..Default::default() }).await.unwrap();
        let guards: Vec<_> = store.inner.in_place.iter().map(|c| c.lock().unwrap()).collect();
        assert_eq!(guards.len(), IN_PLACE_READERS);
        assert!(store.load_in_place(LOAD_SQL, &key, 0).is_none(), "none free: not read in place");
        assert!(store.load(&key, 0).await.unwrap().is_some(), "read on a reader thread");
        drop(guards);
        assert!(store.load_in_place(LOAD_SQL, &key, 0).expect("read in place").unwrap().is_some());
    }

    #[test]
    fn store_busy_and_locked_send_a_read_to_a_reader_thread_other_errors_do_not() {
        let failure =
            |code| StoreError::unavailable(rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None));
        let busy = |err: StoreError| match err {
            StoreError::Unavailable(err) => is_busy(err.as_ref()),
            _ => unreachable!(),
        };
        assert!(busy(failure(rusqlite::ffi::SQLITE_BUSY)));
        assert!(busy(failure(rusqlite::ffi::SQLITE_LOCKED)));
        assert!(!busy(failure(rusqlite::ffi::SQLITE_CORRUPT)));
        assert!(!busy(StoreError::unavailable(std::io::Error::other("x"))));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn store_calls_after_close_fail_closed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sessions.db");
        let store = SqliteStore::open(&path).await.unwrap();
        let key = StoreKey::from_session_id(b"id");
        store.create(&key, &Record { expires_at: i64::MAX, ..Default::default() }).await.unwrap();
        store.clone().close().await;
        assert!(matches!(store.load(&key, 0).await, Err(StoreError::Unavailable(_))));
        assert!(matches!(store.delete(&key).await, Err(StoreError::Unavailable(_))));
        assert!(!path.with_extension("db-wal").exists(), "the WAL is checkpointed and removed on close");
        let again = SqliteStore::open(&path).await.unwrap();
        assert!(again.load(&key, 0).await.unwrap().is_some(), "nothing lost");
    }

    #[tokio::test]
    async fn store_load_for_request_leaves_the_client_out_and_load_keeps_it() {
        let store = SqliteStore::in_memory().await.unwrap();
        let key = StoreKey::from_session_id(b"id");
        let record = Record {
            data: [("n".to_owned(), json!(1))].into_iter().collect(),
            expires_at: 10,
            user_id: Some("alice".into()),
            ip: Some("203.0.113.7".into()),
            user_agent: Some("Mozilla/5.0".into()),
            ..Default::default()
        };
        store.create(&key, &record).await.unwrap();
        let expected = Record { ip: None, user_agent: None, ..record.clone() };
        assert_eq!(store.load_for_request(&key, 0).await.unwrap(), Some(expected));
        assert_eq!(store.load(&key, 0).await.unwrap(), Some(record));
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
