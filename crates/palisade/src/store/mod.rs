//! Where server-side sessions live: one [`Store`] trait, several backends.
//!
//! The session layer never hands a store the session id itself, only a
//! [`StoreKey`] (the SHA-256 of the id). A leaked database dump or a Redis
//! `KEYS *` therefore holds no value an attacker could put in a cookie.
//!
//! Every method is **one round trip** to the backend, and a change is
//! applied key by key ([`Change`]), never as a read-modify-write of the whole
//! record, so two concurrent requests on one session that set different keys
//! both keep their change (no lost updates). [`Store::apply`] never creates a
//! record: a request that finishes after the session was flushed or revoked
//! elsewhere cannot bring it back (no resurrection).
//!
//! ```
//! use palisade::store::{MemoryStore, Store};
//! let store = MemoryStore::builder().max_sessions(10_000).build();
//! # let _ = store;
//! ```

pub mod attempts;
mod counting;
mod error;
mod key;
pub mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sweeper;

use async_trait::async_trait;

#[cfg(feature = "redis")]
pub use self::redis::RedisStore;
pub use attempts::{AttemptStore, Backoff, Taken};
pub use counting::{CallCounts, CountingStore};
pub use error::StoreError;
pub use key::{ParseStoreKeyError, StoreKey};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

/// A session's data: a JSON object, one entry per key.
pub type Data = serde_json::Map<String, serde_json::Value>;

/// Unix time in whole seconds, as every store and the session layer count it.
pub type UnixTime = i64;

/// One session as a store keeps it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record {
    /// The session's values.
    pub data: Data,
    /// When this session id was issued (reset by `rotate_id`, i.e. at login).
    pub created_at: UnixTime,
    /// Last time a request used the session (refreshed, throttled).
    pub last_seen: UnixTime,
    /// After this instant the record is dead: `load` must not return it and the
    /// store may delete it. Computed by the session layer (idle and absolute
    /// timeouts); stores only obey it.
    pub expires_at: UnixTime,
    /// The latest instant `expires_at` can ever reach (`created_at` plus the
    /// absolute timeout). Stores that keep a user index use it to expire the
    /// index no earlier than the last session in it.
    pub deadline: UnixTime,
    /// The user the session belongs to (set at login), for the user index
    /// behind [`Store::sessions_of`] and [`Store::revoke_user`].
    pub user_id: Option<String>,
    /// The client's address when the session was created (from the
    /// trusted-proxy logic, never straight from `X-Forwarded-For`).
    pub ip: Option<String>,
    /// The client's `User-Agent` as given (truncated), shown only to the
    /// session's own user so they can recognise the device.
    pub user_agent: Option<String>,
}

/// What a person needs to recognise one of their sessions ("your devices").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// The store key (SHA-256 of the id): names the session without being
    /// usable as a cookie.
    pub key: StoreKey,
    pub created_at: UnixTime,
    pub last_seen: UnixTime,
    pub expires_at: UnixTime,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// True for the session of the request that asked (set by
    /// [`Session::sessions_of_user`](crate::session::Session::sessions_of_user);
    /// stores return `false`).
    pub current: bool,
}

impl SessionInfo {
    /// The listing entry for a record.
    pub fn of(key: StoreKey, record: &Record) -> Self {
        Self {
            key,
            created_at: record.created_at,
            last_seen: record.last_seen,
            expires_at: record.expires_at,
            ip: record.ip.clone(),
            user_agent: record.user_agent.clone(),
            current: false,
        }
    }
}

/// What one request changed in a session: the keys it set and removed, and
/// the new timestamps. Applied atomically, key by key.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Change {
    /// Keys set to a new value (last write of a key in the request wins).
    pub set: Vec<(String, serde_json::Value)>,
    /// Keys removed. A key is never in both `set` and `remove`.
    pub remove: Vec<String>,
    /// New `last_seen`.
    pub last_seen: UnixTime,
    /// New `expires_at`.
    pub expires_at: UnixTime,
}

impl Change {
    /// True when the change only refreshes the timestamps.
    pub fn is_touch(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }
}

/// Whether a conditional write found its record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Applied {
    /// The record existed (and was not expired); the write took effect.
    Done,
    /// The record was gone (flushed, revoked, rotated or expired): nothing
    /// was written, and nothing was re-created.
    Missing,
}

impl Applied {
    /// The outcome of a conditional SQL write: no row touched means the
    /// record was gone.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn from_rows_affected(rows: u64) -> Self {
        if rows == 0 {
            Applied::Missing
        } else {
            Applied::Done
        }
    }
}

/// A session backend. Implementations must make each method a single round
/// trip (one statement, one pipeline or one script) and must be safe to call
/// concurrently for the same key.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Reads a record. Returns `None` when it is unknown or when
    /// `expires_at <= now`.
    async fn load(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>, StoreError>;

    /// [`load`](Self::load) for the session layer's request path, which
    /// reads neither `ip` nor `user_agent`: a store may leave both `None`
    /// to save copying them on every request (the devices list reads them
    /// through [`sessions_of`](Self::sessions_of)). The default calls `load`.
    async fn load_for_request(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>, StoreError> {
        self.load(key, now).await
    }

    /// Inserts a brand-new record under a freshly generated key.
    async fn create(&self, key: &StoreKey, record: &Record) -> Result<(), StoreError>;

    /// Applies `change` to an existing, unexpired record, key by key, in one
    /// atomic step. Never creates a record: returns [`Applied::Missing`] when
    /// there is none (so a request racing a logout cannot resurrect it).
    async fn apply(&self, key: &StoreKey, change: &Change, now: UnixTime) -> Result<Applied, StoreError>;

    /// Atomically deletes `old` and inserts `record` under `new` (session id
    /// rotation at login). When `old` is already gone or expired, nothing is
    /// written and [`Applied::Missing`] is returned.
    async fn rotate(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        record: &Record,
        now: UnixTime,
    ) -> Result<Applied, StoreError>;

    /// Deletes a record; deleting an unknown key is not an error.
    async fn delete(&self, key: &StoreKey) -> Result<(), StoreError>;

    /// Deletes every record with `expires_at <= now`; returns how many.
    async fn sweep(&self, now: UnixTime) -> Result<u64, StoreError>;

    /// Every live session of `user_id` (`expires_at > now`), oldest first.
    /// Not a hot path: may take more than one round trip.
    async fn sessions_of(&self, user_id: &str, now: UnixTime) -> Result<Vec<SessionInfo>, StoreError>;

    /// Deletes every session of `user_id` except `keep` (if given); returns
    /// how many were deleted. The one revocation call: "log out everywhere"
    /// and password changes pass `None`, "log out my other devices" the
    /// current session. A session created for the user while this runs
    /// may survive (it is a login that happened after the revocation began).
    async fn revoke_user(&self, user_id: &str, keep: Option<&StoreKey>) -> Result<u64, StoreError>;

    /// True for a store whose calls finish without waiting on I/O or on
    /// another process (process memory). The session layer bounds every
    /// call of other stores with its timeout, so that a hung database gives
    /// a 503 instead of a hung request; a call that cannot wait needs no
    /// timer. The default, `false`, is always safe.
    fn never_waits(&self) -> bool {
        false
    }
}
