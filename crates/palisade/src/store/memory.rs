//! A bounded in-memory store, for tests, development and single-process apps.

use super::attempts::{AttemptStore, Backoff, MemoryCounters, Taken, DEFAULT_MAX_COUNTERS};
use super::{Applied, Change, Record, SessionInfo, Store, StoreError, StoreKey, UnixTime};
use async_trait::async_trait;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

/// Default bound on the number of sessions held.
pub const DEFAULT_MAX_SESSIONS: usize = 100_000;

/// Sessions in process memory, bounded in count and expired by time.
///
/// The bound stops a memory-exhaustion attack: a flood of new visitors (each
/// one a new session) cannot grow the process without limit. When full, the
/// store first drops expired records, then the **anonymous** records (no
/// user) closest to expiry, and only when none is left the signed-in records
/// closest to expiry: a flood of anonymous sessions, which anyone can make,
/// never evicts a signed-in user.
/// Sessions are lost on restart and are not shared between processes.
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
    max_sessions: usize,
    /// The [`throttle`](crate::throttle) counters, under their own lock.
    attempts: Arc<MemoryCounters>,
    max_counters: usize,
}

#[derive(Default)]
struct Inner {
    records: HashMap<StoreKey, Record>,
    by_expiry: BTreeSet<(UnixTime, StoreKey)>,
    /// The records without a user, by expiry: evicted first.
    anonymous_by_expiry: BTreeSet<(UnixTime, StoreKey)>,
    /// User id → that user's session keys; kept exact by `insert`/`remove`.
    by_user: HashMap<String, HashSet<StoreKey>>,
}

impl Inner {
    fn insert(&mut self, key: StoreKey, record: Record) {
        self.remove(&key);
        self.by_expiry.insert((record.expires_at, key));
        match &record.user_id {
            Some(user) => {
                self.by_user.entry(user.clone()).or_default().insert(key);
            }
            None => {
                self.anonymous_by_expiry.insert((record.expires_at, key));
            }
        }
        self.records.insert(key, record);
    }

    fn remove(&mut self, key: &StoreKey) -> Option<Record> {
        let old = self.records.remove(key)?;
        self.by_expiry.remove(&(old.expires_at, *key));
        if old.user_id.is_none() {
            self.anonymous_by_expiry.remove(&(old.expires_at, *key));
        }
        if let Some(user) = &old.user_id {
            if let Some(keys) = self.by_user.get_mut(user) {
                keys.remove(key);
                if keys.is_empty() {
                    self.by_user.remove(user);
                }
            }
        }
        Some(old)
    }

    fn live_mut(&mut self, key: &StoreKey, now: UnixTime) -> Option<&mut Record> {
        self.records.get_mut(key).filter(|r| r.expires_at > now)
    }

    fn sweep(&mut self, now: UnixTime) -> u64 {
        let mut removed = 0;
        while let Some(&(expires_at, key)) = self.by_expiry.first() {
            if expires_at > now {
                break;
            }
            self.remove(&key);
            removed += 1;
        }
        removed
    }

    /// Makes room for one more record: expired ones first, then the ones
    /// that would expire soonest.
    fn make_room(&mut self, max: usize, now: UnixTime) {
        if self.records.len() < max {
            return;
        }
        self.sweep(now);
        while self.records.len() >= max {
            let Some(&(_, key)) = self.anonymous_by_expiry.first().or_else(|| self.by_expiry.first()) else { break };
            self.remove(&key);
            tracing::debug!("memory session store full: evicted the session closest to expiry (anonymous first)");
        }
    }
}

impl MemoryStore {
    /// A store bounded to [`DEFAULT_MAX_SESSIONS`].
    pub fn new() -> Self {
        Self::builder().build()
    }

    pub fn builder() -> MemoryStoreBuilder {
        MemoryStoreBuilder { max_sessions: DEFAULT_MAX_SESSIONS, max_counters: DEFAULT_MAX_COUNTERS }
    }

    /// Number of records held (live or not yet swept).
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied change
        // (every mutation is a few infallible map operations), so a poisoned
        // lock is still consistent.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").field("max_sessions", &self.max_sessions).field("len", &self.len()).finish()
    }
}

/// Builds a [`MemoryStore`].
#[derive(Debug, Clone)]
pub struct MemoryStoreBuilder {
    max_sessions: usize,
    max_counters: usize,
}

impl MemoryStoreBuilder {
    /// Upper bound on sessions held (default [`DEFAULT_MAX_SESSIONS`], at least 1).
    pub fn max_sessions(mut self, max: usize) -> Self {
        self.max_sessions = max.max(1);
        self
    }

    /// Upper bound on [`throttle`](crate::throttle) counters held (default
    /// [`DEFAULT_MAX_COUNTERS`], at least 1). When every one is live, a new
    /// counter is refused and the throttle fails closed (503).
    pub fn max_counters(mut self, max: usize) -> Self {
        self.max_counters = max.max(1);
        self
    }

    pub fn build(self) -> MemoryStore {
        MemoryStore {
            inner: Arc::default(),
            max_sessions: self.max_sessions,
            attempts: Arc::default(),
            max_counters: self.max_counters,
        }
    }
}

#[async_trait]
impl Store for MemoryStore {
    /// Every call is a few map operations under a lock held only for them.
    fn never_waits(&self) -> bool {
        true
    }

    async fn load(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>, StoreError> {
        Ok(self.lock().live_mut(key, now).map(|r| r.clone()))
    }

    async fn create(&self, key: &StoreKey, record: &Record) -> Result<(), StoreError> {
        let mut inner = self.lock();
        inner.make_room(self.max_sessions, record.last_seen);
        inner.insert(*key, record.clone());
        Ok(())
    }

    async fn apply(&self, key: &StoreKey, change: &Change, now: UnixTime) -> Result<Applied, StoreError> {
        let mut inner = self.lock();
        let Some(record) = inner.live_mut(key, now) else {
            return Ok(Applied::Missing);
        };
        for (k, v) in &change.set {
            match record.data.get_mut(k) {
                Some(slot) => slot.clone_from(v),
                None => {
                    record.data.insert(k.clone(), v.clone());
                }
            }
        }
        for k in &change.remove {
            record.data.remove(k);
        }
        record.last_seen = change.last_seen;
        let old_expiry = std::mem::replace(&mut record.expires_at, change.expires_at);
        if old_expiry != change.expires_at {
            let anonymous = record.user_id.is_none();
            inner.by_expiry.remove(&(old_expiry, *key));
            inner.by_expiry.insert((change.expires_at, *key));
            if anonymous {
                inner.anonymous_by_expiry.remove(&(old_expiry, *key));
                inner.anonymous_by_expiry.insert((change.expires_at, *key));
            }
        }
        Ok(Applied::Done)
    }

    async fn rotate(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        record: &Record,
        now: UnixTime,
    ) -> Result<Applied, StoreError> {
        let mut inner = self.lock();
        if inner.live_mut(old, now).is_none() {
            return Ok(Applied::Missing);
        }
        inner.remove(old);
        inner.insert(*new, record.clone());
        Ok(Applied::Done)
    }

    async fn delete(&self, key: &StoreKey) -> Result<(), StoreError> {
        self.lock().remove(key);
        Ok(())
    }

    async fn sweep(&self, now: UnixTime) -> Result<u64, StoreError> {
        Ok(self.lock().sweep(now))
    }

    async fn sessions_of(&self, user_id: &str, now: UnixTime) -> Result<Vec<SessionInfo>, StoreError> {
        let inner = self.lock();
        let mut found: Vec<SessionInfo> = inner
            .by_user
            .get(user_id)
            .into_iter()
            .flatten()
            .filter_map(|key| inner.records.get(key).filter(|r| r.expires_at > now).map(|r| SessionInfo::of(*key, r)))
            .collect();
        found.sort_by_key(|info| (info.created_at, info.key));
        Ok(found)
    }

    async fn revoke_user(&self, user_id: &str, keep: Option<&StoreKey>) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let keys: Vec<StoreKey> =
            inner.by_user.get(user_id).into_iter().flatten().filter(|key| Some(*key) != keep).copied().collect();
        for key in &keys {
            inner.remove(key);
        }
        Ok(keys.len() as u64)
    }
}

#[async_trait]
impl AttemptStore for MemoryStore {
    async fn take(&self, key: &StoreKey, now: UnixTime, backoff: &Backoff) -> Result<Taken, StoreError> {
        self.attempts.take(key, now, backoff, self.max_counters)
    }

    async fn refund(&self, key: &StoreKey) -> Result<(), StoreError> {
        self.attempts.refund(key);
        Ok(())
    }

    async fn forgive(&self, key: &StoreKey) -> Result<(), StoreError> {
        self.attempts.forgive(key);
        Ok(())
    }

    fn never_waits(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(expires_at: UnixTime) -> Record {
        Record { expires_at, ..Default::default() }
    }

    fn key(n: u8) -> StoreKey {
        StoreKey::from_session_id(&[n])
    }

    #[tokio::test]
    async fn stays_within_its_bound_under_a_flood() {
        let store = MemoryStore::builder().max_sessions(100).build();
        for n in 0..=255u8 {
            store.create(&key(n), &record(1_000 + i64::from(n))).await.unwrap();
        }
        assert_eq!(store.len(), 100);
        // The newest (latest-expiring) sessions survive.
        assert!(store.load(&key(255), 0).await.unwrap().is_some());
        assert!(store.load(&key(0), 0).await.unwrap().is_none());
    }

    #[test]
    fn needs_no_timeout_and_a_counting_wrapper_says_so_too() {
        assert!(Store::never_waits(&MemoryStore::new()));
        assert!(crate::store::CountingStore::new(MemoryStore::new()).never_waits());
    }

    #[tokio::test]
    async fn apply_updates_an_existing_key_in_place_and_adds_new_ones() {
        let store = MemoryStore::new();
        store.create(&key(1), &record(1_000)).await.unwrap();
        for n in [1, 2] {
            let change = Change {
                set: vec![("n".into(), n.into()), (format!("k{n}"), true.into())],
                remove: vec![],
                last_seen: 10,
                expires_at: 1_000,
            };
            assert_eq!(store.apply(&key(1), &change, 0).await.unwrap(), Applied::Done);
        }
        let data = store.load(&key(1), 0).await.unwrap().unwrap().data;
        assert_eq!(serde_json::Value::Object(data), serde_json::json!({"n": 2, "k1": true, "k2": true}));
    }

    #[tokio::test]
    async fn sweep_removes_only_expired_records() {
        let store = MemoryStore::new();
        store.create(&key(1), &record(10)).await.unwrap();
        store.create(&key(2), &record(20)).await.unwrap();
        assert_eq!(store.sweep(15).await.unwrap(), 1);
        assert_eq!(store.len(), 1);
    }
}
