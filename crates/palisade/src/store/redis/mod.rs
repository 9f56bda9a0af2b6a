//! Sessions in Redis, standalone or Redis Cluster, for several app instances.
//!
//! ```no_run
//! use palisade::store::RedisStore;
//! # async fn run() -> Result<(), palisade::store::StoreError> {
//! let store = RedisStore::connect("redis://127.0.0.1:6379").await?;
//! // Or a cluster, with a key prefix of its own:
//! let cluster = RedisStore::builder()
//!     .key_prefix("myapp:sessions:")
//!     .connect_cluster(&["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"])
//!     .await?;
//! # let _ = (store, cluster); Ok(()) }
//! ```
//!
//! # Round trips
//!
//! | call | commands | round trips |
//! |---|---|---|
//! | `load` | `HGETALL` | 1 |
//! | `apply` | `EVALSHA` (check alive, `HDEL`/`HSET` the changed fields, reset the TTL) | 1 |
//! | `delete` | `DEL` (the user index is pruned lazily) | 1 |
//! | `create` | standalone: one script (hash + user index); cluster: hash script, then index script | 1 / 2 |
//! | `rotate` | standalone: one script (old, new, index); cluster: take old, create new, index | 1 / 3 |
//! | `sessions_of` | `ZRANGE`, one `HMGET` per session (pipelined), `ZREM` of dead members | 2–3 |
//! | `revoke_user` | `ZRANGE`, `DEL` of the sessions, `ZREM` | 3 |
//! | `sweep` | per node: `SCAN … TYPE hash`, a pipelined delete-if-expired script per key | pages |
//!
//! Records expire in Redis itself (a TTL counted from the caller's clock,
//! plus a minute of grace), so no sweeper is needed; [`Store::sweep`] exists
//! for callers that want expired records gone at once.
//!
//! # Redis Cluster
//!
//! A session hash, the user index and a rotation's old and new keys all
//! live in different slots, so nothing spans two keys on a cluster: every
//! script gets one key. That opens two non-atomic windows, both harmless:
//!
//! - **Rotation** deletes the old record only if it is alive (one script),
//!   and creates the new one only if that succeeded. A logout that lands
//!   before the first step makes the rotation return `Missing` and nothing
//!   is created (no resurrection); one that lands after it finds the old
//!   record already gone, as if the login had come first. If the connection
//!   fails between the steps the user is logged out: fail closed, never in.
//! - **User index.** A session is written first and indexed second. A
//!   `revoke_user` running in between misses the new session: that is a
//!   login that happened while the revocation ran, which the [`Store`]
//!   contract allows to survive. If indexing fails, the call fails, the
//!   session layer answers 503 and the new cookie is never sent: nobody can
//!   use the unindexed session. And because an index member never exists
//!   before its session, `sessions_of` can safely drop members whose session
//!   is gone (lazy pruning) without racing a login.
//!
//! # Why the `redis` crate (redis-rs)
//!
//! Both `redis` and `fred` do the job; `redis` is the one most Rust Redis
//! code already uses, and it covers our three needs directly:
//!
//! - **Server restart**: `ConnectionManager` (standalone) reconnects in the
//!   background after the connection drops, with bounded retries; the calls
//!   made meanwhile fail (the layer answers 503) and later ones succeed
//!   without rebuilding the store. A refused connection is retried once
//!   here, so the first request after the restart already works.
//! - **Cluster**: the async cluster connection keeps one multiplexed
//!   connection per node, routes each command by its key's slot, follows
//!   `MOVED`/`ASK` redirects and refreshes the slot map. Its pipelines must
//!   stay within one slot, which is why batches go out as concurrent
//!   single-slot commands on a cluster.
//! - **Scripts**: calls send `EVALSHA` (the 40-byte hash, not the source).
//!   The scripts are loaded at connect (`SCRIPT LOAD` goes to every cluster
//!   node); on `NOSCRIPT` (restart, failover, `SCRIPT FLUSH`) they are loaded
//!   again and the call repeated, which is safe because a `NOSCRIPT` call did
//!   not run.

mod conn;
mod layout;
mod scripts;

use self::conn::{evalsha, Conn};
use self::layout::{
    decode_listing, decode_record, decode_record_for_request, encode_change, encode_record, pairs, ttl, Args, Keys,
    TTL_GRACE,
};
use self::scripts::Scripts;
use super::attempts::{AttemptStore, Backoff, Taken};
use super::{Applied, Change, Record, SessionInfo, Store, StoreError, StoreKey, UnixTime};
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::{RedisError, Value};
use std::sync::Arc;
use std::time::Duration;

/// The key prefix unless [`RedisStoreBuilder::key_prefix`] says otherwise.
pub const DEFAULT_KEY_PREFIX: &str = "palisade:";

/// How long one command may wait for its reply by default. The session
/// layer's own per-call timeout (2 s by default) usually fires first.
pub const DEFAULT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long opening one connection may take by default.
pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);

/// Reconnect attempts per lost connection (standalone), 50 ms to 1 s apart:
/// short, so that calls made while the server is down fail fast (503)
/// instead of queueing behind a long backoff.
const RECONNECT_RETRIES: usize = 3;

/// Sessions in Redis hashes, one per session, with a sorted set per user.
///
/// Clones share the connection. Keys are `{prefix}s:{hex StoreKey}` (the
/// SHA-256 of the session id, never the id: a `KEYS *` or a dump holds
/// nothing usable as a cookie) and `{prefix}u:{hex SHA-256(user id)}`.
#[derive(Clone)]
pub struct RedisStore {
    conn: Conn,
    keys: Arc<Keys>,
}

impl std::fmt::Debug for RedisStore {
    /// Topology and prefix only: no URL, no password, no data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("topology", &if self.conn.is_cluster() { "cluster" } else { "standalone" })
            .field("key_prefix", &self.keys.prefix())
            .finish()
    }
}

/// Builds a [`RedisStore`].
#[derive(Clone)]
pub struct RedisStoreBuilder {
    prefix: String,
    response_timeout: Duration,
    connection_timeout: Duration,
}

impl std::fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("key_prefix", &self.prefix)
            .field("response_timeout", &self.response_timeout)
            .field("connection_timeout", &self.connection_timeout)
            .finish()
    }
}

/// A setting the store refuses at connect.
#[derive(Debug, thiserror::Error)]
#[error("redis session store: key prefix {0}")]
struct BadPrefix(&'static str);

/// `create` found its brand-new key taken: never overwrite another session.
#[derive(Debug, thiserror::Error)]
#[error("redis session store: a session with this key already exists")]
struct KeyTaken;

/// A cluster node given to [`RedisStore::connect`].
#[derive(Debug, thiserror::Error)]
#[error("redis session store: the server is a Redis Cluster node; use RedisStore::connect_cluster")]
struct ClusterNode;

fn redis_error(err: RedisError) -> StoreError {
    if err.code() == Some("WRONGTYPE") {
        return StoreError::Corrupt("redis session key does not hold a hash".into());
    }
    StoreError::unavailable(err)
}

fn int_reply(value: &Value) -> Result<i64, StoreError> {
    match value {
        Value::Int(n) => Ok(*n),
        _ => Err(StoreError::Corrupt("redis script returned an unexpected reply".into())),
    }
}

fn parse_hex_key(hex: &str) -> Option<StoreKey> {
    if hex.len() != 64 {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(StoreKey::from_bytes(bytes))
}

impl RedisStore {
    /// Connects to a standalone server (`redis://[user:password@]host[:port][/db]`,
    /// or `rediss://` for TLS where the crate was built with it), with the
    /// default settings.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::builder().connect(url).await
    }

    /// Connects to a Redis Cluster through any of its nodes, with the
    /// default settings.
    pub async fn connect_cluster<S: AsRef<str>>(urls: &[S]) -> Result<Self, StoreError> {
        Self::builder().connect_cluster(urls).await
    }

    pub fn builder() -> RedisStoreBuilder {
        RedisStoreBuilder {
            prefix: DEFAULT_KEY_PREFIX.to_owned(),
            response_timeout: DEFAULT_RESPONSE_TIMEOUT,
            connection_timeout: DEFAULT_CONNECTION_TIMEOUT,
        }
    }

    /// The prefix of every key this store writes.
    pub fn key_prefix(&self) -> &str {
        self.keys.prefix()
    }

    /// True when connected to a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        self.conn.is_cluster()
    }

    /// `ARGV` of the create and rotate scripts (see `scripts.rs`).
    fn write_args(&self, key: &StoreKey, record: &Record, now: UnixTime) -> Result<Args, StoreError> {
        let score = record.deadline.max(record.expires_at);
        let mut args = vec![
            now.to_string().into_bytes(),
            ttl(record.expires_at, now).to_string().into_bytes(),
            key.to_hex().into_bytes(),
            score.to_string().into_bytes(),
            ttl(score, now).to_string().into_bytes(),
            now.saturating_sub(TTL_GRACE).to_string().into_bytes(),
        ];
        args.extend(encode_record(record)?);
        Ok(args)
    }

    /// One session's hash, every field (`HGETALL`).
    async fn hgetall(&self, key: &StoreKey) -> Result<layout::Fields, StoreError> {
        let mut cmd = redis::cmd("HGETALL");
        cmd.arg(self.keys.session(key));
        let reply: Value = self.conn.query(&cmd).await.map_err(redis_error)?;
        pairs(reply)
    }

    /// Cluster path of `create` and `rotate`: the session hash first, then
    /// its index entry (see the module docs for why in this order).
    async fn create_then_index(&self, key: &StoreKey, record: &Record, now: UnixTime) -> Result<(), StoreError> {
        let scripts = Scripts::get();
        let args = self.write_args(key, record, now)?;
        let hash = self.keys.session(key);
        let created: Value = self.conn.eval(&scripts.create, &[&hash], &args).await.map_err(redis_error)?;
        if int_reply(&created)? != 1 {
            tracing::warn!(?key, "redis session store: refused to overwrite an existing session");
            return Err(StoreError::unavailable(KeyTaken));
        }
        if let Some(user) = &record.user_id {
            let index = self.keys.user(user);
            let _: Value = self.conn.eval(&scripts.index, &[&index], &args[2..6]).await.map_err(redis_error)?;
        }
        Ok(())
    }

    /// Every member of a user index.
    async fn members(&self, index: &str) -> Result<Vec<String>, StoreError> {
        let mut cmd = redis::cmd("ZRANGE");
        cmd.arg(index).arg(0).arg(-1);
        self.conn.query(&cmd).await.map_err(redis_error)
    }

    /// Best effort: a failed prune only leaves dead members for later.
    async fn prune(&self, index: &str, members: &[String]) {
        if members.is_empty() {
            return;
        }
        let mut cmd = redis::cmd("ZREM");
        cmd.arg(index).arg(members);
        if let Err(error) = self.conn.query::<Value>(&cmd).await {
            tracing::warn!(%error, "redis session store: could not prune a user index");
        }
    }
}

impl RedisStoreBuilder {
    /// Prefix of every key (default `palisade:`): lets several apps share one
    /// Redis. Printable ASCII, no spaces, no `{`/`}`, at most 64 bytes;
    /// checked at connect.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long one command waits for its reply (default 5 s).
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// How long opening a connection may take (default 2 s).
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout;
        self
    }

    fn keys(&self) -> Result<Arc<Keys>, StoreError> {
        Keys::new(&self.prefix).map(Arc::new).map_err(|why| StoreError::unavailable(BadPrefix(why)))
    }

    /// Connects to a standalone server and loads the scripts. Refuses a
    /// cluster node (its keys would be answered with `MOVED`).
    pub async fn connect(self, url: &str) -> Result<RedisStore, StoreError> {
        let keys = self.keys()?;
        let client = redis::Client::open(url).map_err(StoreError::unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(self.response_timeout))
            .set_connection_timeout(Some(self.connection_timeout))
            .set_number_of_retries(RECONNECT_RETRIES)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_secs(1));
        let manager = ConnectionManager::new_with_config(client, config).await.map_err(StoreError::unavailable)?;
        let conn = Conn::Standalone(manager);
        let mut info = redis::cmd("INFO");
        info.arg("cluster");
        let info: String = conn.query(&info).await.map_err(StoreError::unavailable)?;
        if info.contains("cluster_enabled:1") {
            return Err(StoreError::unavailable(ClusterNode));
        }
        conn.load_scripts().await.map_err(StoreError::unavailable)?;
        tracing::debug!("redis session store: connected to a standalone server");
        Ok(RedisStore { conn, keys })
    }

    /// Connects to a Redis Cluster through any of `urls` (the others are
    /// found from the cluster's slot map) and loads the scripts on every node.
    pub async fn connect_cluster<S: AsRef<str>>(self, urls: &[S]) -> Result<RedisStore, StoreError> {
        let keys = self.keys()?;
        let client = ClusterClientBuilder::new(urls.iter().map(AsRef::as_ref))
            .response_timeout(self.response_timeout)
            .connection_timeout(self.connection_timeout)
            .build()
            .map_err(StoreError::unavailable)?;
        let cluster = client.get_async_connection().await.map_err(StoreError::unavailable)?;
        let conn = Conn::Cluster(cluster);
        conn.load_scripts().await.map_err(StoreError::unavailable)?;
        tracing::debug!(nodes = urls.len(), "redis session store: connected to a cluster");
        Ok(RedisStore { conn, keys })
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn load(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>, StoreError> {
        decode_record(self.hgetall(key).await?, now)
    }

    /// The same `HGETALL` (the data keys are fields of their own, so the
    /// hash is read whole), decoded without the client's address and user
    /// agent.
    async fn load_for_request(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>, StoreError> {
        decode_record_for_request(self.hgetall(key).await?, now)
    }

    async fn create(&self, key: &StoreKey, record: &Record) -> Result<(), StoreError> {
        // A new record's `last_seen` is the caller's "now".
        let now = record.last_seen;
        if self.conn.is_cluster() {
            return self.create_then_index(key, record, now).await;
        }
        let hash = self.keys.session(key);
        let index = record.user_id.as_deref().map(|user| self.keys.user(user));
        let keys: Vec<&str> = std::iter::once(hash.as_str()).chain(index.as_deref()).collect();
        let args = self.write_args(key, record, now)?;
        let created: Value = self.conn.eval(&Scripts::get().create, &keys, &args).await.map_err(redis_error)?;
        if int_reply(&created)? != 1 {
            tracing::warn!(?key, "redis session store: refused to overwrite an existing session");
            return Err(StoreError::unavailable(KeyTaken));
        }
        Ok(())
    }

    /// One `EVALSHA`: if the record is alive, `HDEL` the removed keys, `HSET`
    /// the set ones and the timestamps, reset the TTL. Field by field, so
    /// concurrent requests keep each other's keys; never an upsert, so a
    /// request finishing after a logout cannot bring the session back.
    async fn apply(&self, key: &StoreKey, change: &Change, now: UnixTime) -> Result<Applied, StoreError> {
        let (removed, set) = encode_change(change)?;
        let mut args = Vec::with_capacity(3 + removed.len() + set.len());
        args.push(now.to_string().into_bytes());
        args.push(ttl(change.expires_at, now).to_string().into_bytes());
        args.push(removed.len().to_string().into_bytes());
        args.extend(removed);
        args.extend(set);
        let hash = self.keys.session(key);
        let done: Value = self.conn.eval(&Scripts::get().apply, &[&hash], &args).await.map_err(redis_error)?;
        Ok(if int_reply(&done)? == 1 { Applied::Done } else { Applied::Missing })
    }

    async fn rotate(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        record: &Record,
        now: UnixTime,
    ) -> Result<Applied, StoreError> {
        let scripts = Scripts::get();
        let old_hash = self.keys.session(old);
        if self.conn.is_cluster() {
            let taken: Value = self
                .conn
                .eval(&scripts.take, &[&old_hash], &[now.to_string().into_bytes()])
                .await
                .map_err(redis_error)?;
            if int_reply(&taken)? != 1 {
                return Ok(Applied::Missing);
            }
            self.create_then_index(new, record, now).await?;
            return Ok(Applied::Done);
        }
        let new_hash = self.keys.session(new);
        let index = record.user_id.as_deref().map(|user| self.keys.user(user));
        let keys: Vec<&str> = [old_hash.as_str(), new_hash.as_str()].into_iter().chain(index.as_deref()).collect();
        let args = self.write_args(new, record, now)?;
        let done: Value = self.conn.eval(&scripts.rotate, &keys, &args).await.map_err(redis_error)?;
        match int_reply(&done)? {
            1 => Ok(Applied::Done),
            0 => Ok(Applied::Missing),
            _ => {
                tracing::warn!(key = ?new, "redis session store: refused to overwrite an existing session");
                Err(StoreError::unavailable(KeyTaken))
            }
        }
    }

    async fn delete(&self, key: &StoreKey) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.keys.session(key));
        let _: Value = self.conn.query(&cmd).await.map_err(redis_error)?;
        Ok(())
    }

    /// `SCAN`s every node (each cluster primary) for session hashes and
    /// deletes those with `e <= now`, each with an atomic script (a record a
    /// request just extended is kept).
    async fn sweep(&self, now: UnixTime) -> Result<u64, StoreError> {
        let pattern = self.keys.session_pattern();
        let lua = &Scripts::get().sweep;
        let now_arg = [now.to_string().into_bytes()];
        let mut removed = 0u64;
        for node in self.conn.nodes().await.map_err(redis_error)? {
            let mut cursor = 0;
            loop {
                let (next, found) = self.conn.scan(&node, cursor, &pattern).await.map_err(redis_error)?;
                let cmds: Vec<_> = found.iter().map(|hash| evalsha(lua, &[hash], &now_arg)).collect();
                for reply in self.conn.batch_eval(&cmds).await.map_err(redis_error)? {
                    removed += u64::from(int_reply(&reply)? == 1);
                }
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
        Ok(removed)
    }

    /// The index's members, each session's metadata in one pipelined
    /// `HMGET` per session; members whose session is gone, dead or not the
    /// user's are dropped from the index (lazy pruning).
    async fn sessions_of(&self, user_id: &str, now: UnixTime) -> Result<Vec<SessionInfo>, StoreError> {
        let index = self.keys.user(user_id);
        let mut stale = Vec::new();
        let mut listed = Vec::new();
        for member in self.members(&index).await? {
            match parse_hex_key(&member) {
                Some(key) => listed.push((member, key)),
                None => stale.push(member),
            }
        }
        let fields = layout::listing_fields();
        let cmds: Vec<_> = listed
            .iter()
            .map(|(_, key)| {
                let mut cmd = redis::cmd("HMGET");
                cmd.arg(self.keys.session(key)).arg(&fields);
                cmd
            })
            .collect();
        let replies = self.conn.batch(&cmds).await.map_err(redis_error)?;
        let mut found = Vec::new();
        for ((member, key), reply) in listed.into_iter().zip(replies) {
            match decode_listing(key, reply, user_id, now)? {
                Some(info) => found.push(info),
                None => stale.push(member),
            }
        }
        if !stale.is_empty() {
            tracing::debug!(pruned = stale.len(), "redis session store: pruned a user index");
            self.prune(&index, &stale).await;
        }
        found.sort_by_key(|info| (info.created_at, info.key));
        Ok(found)
    }

    /// Deletes the sessions listed in the user's index (one `DEL`; on a
    /// cluster the client splits it per slot) and removes them from it. A
    /// session indexed after the listing (a login during the revocation)
    /// survives, as the trait allows.
    async fn revoke_user(&self, user_id: &str, keep: Option<&StoreKey>) -> Result<u64, StoreError> {
        let index = self.keys.user(user_id);
        let keep = keep.map(StoreKey::to_hex);
        let targets: Vec<String> =
            self.members(&index).await?.into_iter().filter(|m| Some(m) != keep.as_ref()).collect();
        let hashes: Vec<String> =
            targets.iter().filter_map(|m| parse_hex_key(m)).map(|k| self.keys.session(&k)).collect();
        let mut deleted = 0;
        if !hashes.is_empty() {
            let mut cmd = redis::cmd("DEL");
            cmd.arg(&hashes);
            deleted = self.conn.query(&cmd).await.map_err(redis_error)?;
        }
        if !targets.is_empty() {
            let mut cmd = redis::cmd("ZREM");
            cmd.arg(&index).arg(&targets);
            let _: Value = self.conn.query(&cmd).await.map_err(redis_error)?;
        }
        Ok(deleted)
    }
}

#[async_trait]
impl AttemptStore for RedisStore {
    /// One `EVALSHA` on the counter's own key (one slot on a cluster).
    async fn take(&self, key: &StoreKey, now: UnixTime, backoff: &Backoff) -> Result<Taken, StoreError> {
        let args: Vec<Vec<u8>> = [
            now,
            i64::from(backoff.free()),
            i64::from(backoff.base_secs()),
            i64::from(backoff.max_secs()),
            i64::from(backoff.window_secs()),
            TTL_GRACE,
        ]
        .iter()
        .map(|n| n.to_string().into_bytes())
        .collect();
        let counter = self.keys.attempts(key);
        let reply: Value = self.conn.eval(&Scripts::get().attempt, &[&counter], &args).await.map_err(redis_error)?;
        let Value::Array(items) = reply else {
            return Err(StoreError::Corrupt("redis attempt script returned an unexpected reply".into()));
        };
        match items.iter().map(int_reply).collect::<Result<Vec<i64>, _>>()?.as_slice() {
            [1, count, next_at] => Ok(Taken::Allowed { count: u64::try_from(*count).unwrap_or(0), next_at: *next_at }),
            [0, _, retry_at] => Ok(Taken::Blocked { retry_at: *retry_at }),
            _ => Err(StoreError::Corrupt("redis attempt script returned an unexpected reply".into())),
        }
    }

    async fn refund(&self, key: &StoreKey) -> Result<(), StoreError> {
        let counter = self.keys.attempts(key);
        let _: Value = self.conn.eval(&Scripts::get().refund, &[&counter], &[]).await.map_err(redis_error)?;
        Ok(())
    }

    async fn forgive(&self, key: &StoreKey) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.keys.attempts(key));
        let _: Value = self.conn.query(&cmd).await.map_err(redis_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_redis_hex_keys_parse_back_and_junk_is_refused() {
        let key = StoreKey::from_session_id(b"id");
        assert_eq!(parse_hex_key(&key.to_hex()), Some(key));
        for junk in ["", "zz", &"g".repeat(64), &"0".repeat(63), &"é".repeat(32)] {
            assert_eq!(parse_hex_key(junk), None, "{junk:?}");
        }
    }
}
