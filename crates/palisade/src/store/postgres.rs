//! Sessions in PostgreSQL, shared by every instance of an application.
//!
//! One table, `palisade_sessions`, created by the crate's migrations
//! (`migrations/postgres`) when the store connects. Every [`Store`] method is
//! a single SQL statement, so one round trip; changes are applied inside
//! PostgreSQL with the jsonb operators `-` and `||`, so concurrent requests on
//! one session never overwrite each other's keys.
//!
//! ```no_run
//! use palisade::store::PostgresStore;
//! # async fn run() -> Result<(), palisade::store::StoreError> {
//! // Runs the migrations (under sqlx's advisory lock: instances may start together).
//! let store = PostgresStore::connect("postgres://app@db.internal/app").await?;
//! // Deletes expired sessions every 10 minutes until the store is dropped.
//! let _sweeper = store.spawn_sweeper(std::time::Duration::from_secs(600));
//! # Ok(()) }
//! ```
//!
//! To keep the table (and sqlx's `_sqlx_migrations` history) apart from the
//! application's own, give the store a schema of its own:
//! `PostgresStore::connect_with(options.options([("search_path", "palisade")]))`.

use super::attempts::{self, AttemptStore, Backoff, Sql, Taken};
use super::{Applied, Change, Data, Record, SessionInfo, Store, StoreError, StoreKey, UnixTime};
use async_trait::async_trait;
use sqlx::migrate::MigrateError;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Row};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Connections per store (sqlx's default): enough for a busy instance, and
/// `max_connections` on the server is shared by every instance.
const MAX_CONNECTIONS: u32 = 10;

/// How long a call waits for a connection, including reconnecting to a
/// server that refuses connections. The session layer's own (shorter)
/// timeout answers the request first; this bounds [`PostgresStore::connect`].
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// A pooled connection idle for longer than this is pinged before use, so a
/// server restart during a quiet period costs one extra round trip, not a 503.
const PING_WHEN_IDLE_FOR: Duration = Duration::from_secs(60);

/// Sessions in a PostgreSQL table.
///
/// Clones share one connection pool. Rows are keyed by [`StoreKey`] (the
/// SHA-256 of the session id), never by the id.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    health: Arc<Health>,
}

/// When a call last failed for a reason other than the server's answer (a
/// dropped connection, a refused connect): every connection released before
/// then may have been cut by the same outage and is pinged before reuse.
///
/// sqlx's default is to ping on *every* acquire, which doubles the round
/// trips of every call; this pings only when there is a reason to.
struct Health {
    epoch: Instant,
    /// Nanoseconds since `epoch` of the last failure, plus one; 0 = never.
    last_failure: AtomicU64,
}

impl Health {
    fn new() -> Self {
        Self { epoch: Instant::now(), last_failure: AtomicU64::new(0) }
    }

    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX - 1) + 1
    }

    fn record_failure(&self) {
        self.last_failure.fetch_max(self.nanos(Instant::now()), Ordering::Relaxed);
    }

    /// Whether a connection that went idle `idle_for` ago needs a ping.
    fn suspect(&self, idle_for: Duration) -> bool {
        if idle_for >= PING_WHEN_IDLE_FOR {
            return true;
        }
        let failure = self.last_failure.load(Ordering::Relaxed);
        let released = Instant::now().checked_sub(idle_for).unwrap_or(self.epoch);
        failure != 0 && self.nanos(released) <= failure
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host/db`,
    /// any sqlx PostgreSQL URL) and runs the migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(PgConnectOptions::from_str(url).map_err(StoreError::unavailable)?).await
    }

    /// Connects with explicit options (TLS, schema via `search_path`, …) and
    /// runs the migrations.
    ///
    /// The pool does not ping a connection before each call (that would be a
    /// second round trip every time); it pings only connections idle for a
    /// minute or released before the last connection failure, so after an
    /// outage the next call gets a live connection without a restart.
    pub async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        let health = Arc::new(Health::new());
        let check = health.clone();
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(false)
            .before_acquire(move |conn, meta| {
                let suspect = check.suspect(meta.idle_for);
                Box::pin(async move {
                    if suspect {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await
            .map_err(StoreError::unavailable)?;
        Self::start(pool, health).await
    }

    /// Uses an existing pool (e.g. the application's own database) and runs
    /// the migrations on it. The pool's own liveness checks apply (sqlx's
    /// default pings before every acquire: a second round trip per call).
    pub async fn from_pool(pool: PgPool) -> Result<Self, StoreError> {
        Self::start(pool, Arc::new(Health::new())).await
    }

    async fn start(pool: PgPool, health: Arc<Health>) -> Result<Self, StoreError> {
        migrate(&pool).await.map_err(StoreError::unavailable)?;
        Ok(Self { inner: Arc::new(Inner { pool, health }) })
    }

    /// The connection pool (shared with any application tables).
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// Spawns a task that deletes expired sessions every `every` (wall clock,
    /// first run immediately), logging failures with `tracing::warn!`.
    ///
    /// The task holds only a weak reference: it ends by itself once every
    /// clone of this store is dropped (or the pool is closed). Intervals
    /// shorter than 10 ms are raised to 10 ms. Several instances may sweep
    /// the same table: the `DELETE` is idempotent.
    ///
    /// # Panics
    ///
    /// When called outside a Tokio runtime (as `tokio::spawn` does).
    pub fn spawn_sweeper(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        super::sweeper::spawn(Arc::downgrade(&self.inner), every, "postgres", |inner: Arc<Inner>| {
            (!inner.pool.is_closed()).then(|| PostgresStore { inner })
        })
    }

    /// Maps a failed statement to a [`StoreError`], remembering connection
    /// failures for the pool's liveness check.
    fn error(&self, err: sqlx::Error) -> StoreError {
        match &err {
            sqlx::Error::Database(db) => match db.code().as_deref() {
                // `apply` sets `data` to NULL when it is not an object (see APPLY_SQL).
                Some("23502") => corrupt("data is not a JSON object"),
                // jsonb and text cannot hold U+0000: the data cannot be stored,
                // and retrying will not help.
                Some("22P05") | Some("22021") => {
                    StoreError::Corrupt("session data holds a NUL character, which PostgreSQL cannot store".into())
                }
                _ => StoreError::unavailable(err),
            },
            _ => {
                self.inner.health.record_failure();
                StoreError::unavailable(err)
            }
        }
    }
}

async fn migrate(pool: &PgPool) -> Result<(), MigrateError> {
    let mut migrator = sqlx::migrate!("./migrations/postgres");
    // The application may keep its own migrations in the same schema (and the
    // same `_sqlx_migrations` table): theirs are not ours to complain about.
    // sqlx holds `pg_advisory_lock` (one per database) while it migrates, so
    // instances starting together apply each migration once.
    migrator.set_ignore_missing(true);
    migrator.run(pool).await
}

impl std::fmt::Debug for PostgresStore {
    /// Pool statistics only: no URL, no password, no data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pool = &self.inner.pool;
        f.debug_struct("PostgresStore")
            .field("connections", &pool.size())
            .field("idle", &pool.num_idle())
            .field("closed", &pool.is_closed())
            .finish()
    }
}

impl PostgresStore {
    /// One session by key through `sql` ([`LOAD_SQL`] or
    /// [`LOAD_FOR_REQUEST_SQL`]).
    async fn load_with(&self, sql: &'static str, key: &StoreKey, now: UnixTime) -> Result<Option<Record>, StoreError> {
        let row = sqlx::query(sql)
            .bind(key.as_bytes().as_slice())
            .bind(now)
            .fetch_optional(self.pool())
            .await
            .map_err(|e| self.error(e))?;
        row.as_ref().map(decode_record).transpose()
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("postgres session row: {what}"))
}

fn encode_json(value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|_| StoreError::Corrupt("session data cannot be encoded as JSON".into()))
}

/// Decodes a row without trusting it: any unexpected content is `Corrupt`
/// (with a short reason, never the content), never a panic.
fn decode_record(row: &PgRow) -> Result<Record, StoreError> {
    let data: String = row.try_get("data").map_err(|_| corrupt("data is not text"))?;
    let data: Data = serde_json::from_str(&data).map_err(|_| corrupt("data is not a JSON object"))?;
    Ok(Record {
        data,
        created_at: int(row, "created_at")?,
        last_seen: int(row, "last_seen")?,
        expires_at: int(row, "expires_at")?,
        deadline: int(row, "deadline")?,
        user_id: text(row, "user_id")?,
        ip: text(row, "ip")?,
        user_agent: text(row, "user_agent")?,
    })
}

fn int(row: &PgRow, column: &str) -> Result<i64, StoreError> {
    row.try_get(column).map_err(|_| corrupt("timestamp is not a bigint"))
}

fn text(row: &PgRow, column: &str) -> Result<Option<String>, StoreError> {
    row.try_get(column).map_err(|_| corrupt("text column is not text"))
}

fn decode_info(row: &PgRow) -> Result<SessionInfo, StoreError> {
    let key: Vec<u8> = row.try_get("key").map_err(|_| corrupt("key is not bytea"))?;
    let key: [u8; 32] = key.try_into().map_err(|_| corrupt("key is not 32 bytes"))?;
    Ok(SessionInfo {
        key: StoreKey::from_bytes(key),
        created_at: int(row, "created_at")?,
        last_seen: int(row, "last_seen")?,
        expires_at: int(row, "expires_at")?,
        ip: text(row, "ip")?,
        user_agent: text(row, "user_agent")?,
        current: false,
    })
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Binds a whole record, in the column order of `CREATE_SQL` and `ROTATE_SQL`
/// (`data, created_at, last_seen, expires_at, deadline, user_id, ip, user_agent`).
fn bind_record<'q>(query: PgQuery<'q>, record: &'q Record) -> Result<PgQuery<'q>, StoreError> {
    Ok(query
        .bind(encode_json(&record.data)?)
        .bind(record.created_at)
        .bind(record.last_seen)
        .bind(record.expires_at)
        .bind(record.deadline)
        .bind(record.user_id.as_deref())
        .bind(record.ip.as_deref())
        .bind(record.user_agent.as_deref()))
}

// Every statement is fixed text (user data only ever travels as a bind
// parameter), so each is prepared once per connection and reused.

/// One live record by key, with the columns `$client` gives for the
/// client's address and user agent.
macro_rules! load_sql {
    ($client:literal) => {
        concat!(
            "SELECT data::text AS data, created_at, last_seen, expires_at, deadline, user_id, ",
            $client,
            " FROM palisade_sessions WHERE key = $1 AND expires_at > $2"
        )
    };
}

const LOAD_SQL: &str = load_sql!("ip, user_agent");

/// [`LOAD_SQL`] for the request path (`load_for_request`): the client's
/// address and user agent are not sent (NULL in their place).
const LOAD_FOR_REQUEST_SQL: &str = load_sql!("NULL::text AS ip, NULL::text AS user_agent");

/// A plain `INSERT`: a key collision is an error, never an overwrite of
/// someone else's session.
const CREATE_SQL: &str = "INSERT INTO palisade_sessions \
     (key, data, created_at, last_seen, expires_at, deadline, user_id, ip, user_agent) \
     VALUES ($1, $2::jsonb, $3, $4, $5, $6, $7, $8, $9)";

/// `$1` keys to remove (`text[]`), `$2` the keys to set as one JSON object.
/// `-` drops the keys and `||` replaces top-level keys (JSON `null` included)
/// inside PostgreSQL, on the row version the `UPDATE` locked: at READ
/// COMMITTED a concurrent `UPDATE` of the same row makes this one wait and
/// then re-evaluate on the committed row, so no change is lost. A `data` that
/// is not an object becomes NULL, which the `NOT NULL` constraint refuses
/// (reported as `Corrupt`) instead of `||` silently turning it into an array.
const APPLY_SQL: &str = "UPDATE palisade_sessions \
     SET data = CASE WHEN jsonb_typeof(data) = 'object' THEN (data - $1::text[]) || $2::jsonb END, \
     last_seen = $3, expires_at = $4 WHERE key = $5 AND expires_at > $6";

/// A touch leaves `data` alone, so a large (TOASTed) value is not rewritten.
const TOUCH_SQL: &str =
    "UPDATE palisade_sessions SET last_seen = $1, expires_at = $2 WHERE key = $3 AND expires_at > $4";

/// Delete the live old row and insert the new one, in one statement (so one
/// implicit transaction: both or neither). The `INSERT` reads the `DELETE`'s
/// `RETURNING` rows, not the table, so it inserts exactly when this statement
/// deleted the old row. At READ COMMITTED, a concurrent `apply` or `delete`
/// of the old row holds its row lock until it commits; the `DELETE` waits,
/// then re-checks the row: still live → deleted here (and a later `apply` to
/// the old key finds nothing: `Missing`); deleted meanwhile → nothing deleted,
/// nothing inserted, `Missing`. Two rotations of one old key: only one wins.
/// A key collision on `new` fails the whole statement: the old row stays.
const ROTATE_SQL: &str = "WITH old AS (\
     DELETE FROM palisade_sessions WHERE key = $1 AND expires_at > $2 RETURNING 1) \
     INSERT INTO palisade_sessions \
     (key, data, created_at, last_seen, expires_at, deadline, user_id, ip, user_agent) \
     SELECT $3, $4::jsonb, $5, $6, $7, $8, $9, $10, $11 WHERE EXISTS (SELECT 1 FROM old)";

const DELETE_SQL: &str = "DELETE FROM palisade_sessions WHERE key = $1";

/// Expired sessions, and the throttle's expired counters with them (one
/// statement; the count returned is the sessions').
const SWEEP_SQL: &str = "WITH attempts AS (DELETE FROM palisade_attempts WHERE expires_at <= $1) \
     DELETE FROM palisade_sessions WHERE expires_at <= $1";

const REFUND_SQL: &str = "UPDATE palisade_attempts SET count = GREATEST(count - 1, 0) WHERE key = $1";

const FORGIVE_SQL: &str = "DELETE FROM palisade_attempts WHERE key = $1";

const SESSIONS_OF_SQL: &str = "SELECT key, created_at, last_seen, expires_at, ip, user_agent \
     FROM palisade_sessions WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at, key";

/// `IS DISTINCT FROM` so that no `keep` (NULL) deletes them all.
const REVOKE_USER_SQL: &str = "DELETE FROM palisade_sessions WHERE user_id = $1 AND key IS DISTINCT FROM $2";

#[async_trait]
impl Store for PostgresStore {
    async fn load(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>, StoreError> {
        self.load_with(LOAD_SQL, key, now).await
    }

    async fn load_for_request(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>, StoreError> {
        self.load_with(LOAD_FOR_REQUEST_SQL, key, now).await
    }

    async fn create(&self, key: &StoreKey, record: &Record) -> Result<(), StoreError> {
        bind_record(sqlx::query(CREATE_SQL).bind(key.as_bytes().as_slice()), record)?
            .execute(self.pool())
            .await
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    /// One conditional `UPDATE`, never an upsert: when the row is gone
    /// (logout, revocation, rotation, expiry) nothing is written, so a slow
    /// request cannot resurrect the session.
    async fn apply(&self, key: &StoreKey, change: &Change, now: UnixTime) -> Result<Applied, StoreError> {
        let query = if change.is_touch() {
            sqlx::query(TOUCH_SQL).bind(change.last_seen).bind(change.expires_at)
        } else {
            // Later entries for the same key win, as `Change::set` promises.
            let set: Data = change.set.iter().cloned().collect();
            sqlx::query(APPLY_SQL)
                .bind(change.remove.as_slice())
                .bind(encode_json(&set)?)
                .bind(change.last_seen)
                .bind(change.expires_at)
        };
        let result =
            query.bind(key.as_bytes().as_slice()).bind(now).execute(self.pool()).await.map_err(|e| self.error(e))?;
        Ok(Applied::from_rows_affected(result.rows_affected()))
    }

    async fn rotate(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        record: &Record,
        now: UnixTime,
    ) -> Result<Applied, StoreError> {
        let query = sqlx::query(ROTATE_SQL).bind(old.as_bytes().as_slice()).bind(now).bind(new.as_bytes().as_slice());
        let result = bind_record(query, record)?.execute(self.pool()).await.map_err(|e| self.error(e))?;
        Ok(Applied::from_rows_affected(result.rows_affected()))
    }

    async fn delete(&self, key: &StoreKey) -> Result<(), StoreError> {
        sqlx::query(DELETE_SQL)
            .bind(key.as_bytes().as_slice())
            .execute(self.pool())
            .await
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    async fn sweep(&self, now: UnixTime) -> Result<u64, StoreError> {
        let result = sqlx::query(SWEEP_SQL).bind(now).execute(self.pool()).await.map_err(|e| self.error(e))?;
        Ok(result.rows_affected())
    }

    async fn sessions_of(&self, user_id: &str, now: UnixTime) -> Result<Vec<SessionInfo>, StoreError> {
        let rows = sqlx::query(SESSIONS_OF_SQL)
            .bind(user_id)
            .bind(now)
            .fetch_all(self.pool())
            .await
            .map_err(|e| self.error(e))?;
        rows.iter().map(decode_info).collect()
    }

    async fn revoke_user(&self, user_id: &str, keep: Option<&StoreKey>) -> Result<u64, StoreError> {
        let result = sqlx::query(REVOKE_USER_SQL)
            .bind(user_id)
            .bind(keep.map(|k| k.as_bytes().as_slice()))
            .execute(self.pool())
            .await
            .map_err(|e| self.error(e))?;
        Ok(result.rows_affected())
    }
}

#[async_trait]
impl AttemptStore for PostgresStore {
    async fn take(&self, key: &StoreKey, now: UnixTime, backoff: &Backoff) -> Result<Taken, StoreError> {
        let mut query = sqlx::query_as(Sql::Postgres.take_sql()).bind(key.as_bytes().as_slice()).bind(now);
        for param in backoff.sql_params() {
            query = query.bind(param);
        }
        let (count, not_before, allowed): (i64, i64, bool) =
            query.fetch_one(self.pool()).await.map_err(|e| self.error(e))?;
        Ok(attempts::taken(count, not_before, allowed))
    }

    async fn refund(&self, key: &StoreKey) -> Result<(), StoreError> {
        sqlx::query(REFUND_SQL)
            .bind(key.as_bytes().as_slice())
            .execute(self.pool())
            .await
            .map_err(|e| self.error(e))?;
        Ok(())
    }

    async fn forgive(&self, key: &StoreKey) -> Result<(), StoreError> {
        sqlx::query(FORGIVE_SQL)
            .bind(key.as_bytes().as_slice())
            .execute(self.pool())
            .await
            .map_err(|e| self.error(e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_suspects_connections_released_before_the_last_failure() {
        let health = Health::new();
        assert!(!health.suspect(Duration::ZERO), "no failure yet");
        assert!(!health.suspect(Duration::from_secs(1)));
        assert!(health.suspect(PING_WHEN_IDLE_FOR), "idle for long");
        std::thread::sleep(Duration::from_millis(5));
        health.record_failure();
        assert!(health.suspect(Duration::from_millis(3)), "released before the failure");
        std::thread::sleep(Duration::from_millis(5));
        assert!(!health.suspect(Duration::from_millis(1)), "released after the failure");
    }

    #[test]
    fn statements_are_fixed_text_with_every_value_bound() {
        let statements =
            [LOAD_SQL, CREATE_SQL, APPLY_SQL, TOUCH_SQL, ROTATE_SQL, DELETE_SQL, SWEEP_SQL, SESSIONS_OF_SQL];
        for sql in statements.into_iter().chain([REFUND_SQL, FORGIVE_SQL, Sql::Postgres.take_sql()]) {
            assert!(sql.contains("$1"), "{sql}");
            assert!(!sql.contains(';'), "one statement: {sql}");
        }
        assert!(!APPLY_SQL.contains("INSERT") && !APPLY_SQL.contains("ON CONFLICT"), "never an upsert");
    }
}
