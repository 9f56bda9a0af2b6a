//! A bounded in-memory store, for tests, development and single-process apps.

use super::attempts::{AttemptStore, Backoff, MemoryCounters, Taken, DEFAULT_MAX_COUNTERS};
use super::{Applied, Change, Data, Record, SessionInfo, Store, StoreError, StoreKey, UnixTime};
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

/// A record as the store keeps it: about half the memory of a [`Record`].
/// The data is compact JSON in one allocation (a `serde_json::Map` costs a
/// B-tree node of ~600 bytes even for one key) and the strings are boxed to
/// their length. A memory store's bound is a count of sessions: the smaller
/// each one, the more sessions fit in the same memory before a flood of new
/// visitors starts evicting.
struct Stored {
    data: Box<str>,
    created_at: UnixTime,
    last_seen: UnixTime,
    expires_at: UnixTime,
    deadline: UnixTime,
    user_id: Option<Box<str>>,
    ip: Option<Box<str>>,
    user_agent: Option<Box<str>>,
}

impl Stored {
    fn new(record: &Record) -> Result<Self, StoreError> {
        let boxed = |s: &Option<String>| s.as_deref().map(Box::from);
        Ok(Self {
            data: encode(&record.data)?,
            created_at: record.created_at,
            last_seen: record.last_seen,
            expires_at: record.expires_at,
            deadline: record.deadline,
            user_id: boxed(&record.user_id),
            ip: boxed(&record.ip),
            user_agent: boxed(&record.user_agent),
        })
    }

    fn data(&self) -> Result<Data, StoreError> {
        serde_json::from_str(&self.data)
            .map_err(|_| StoreError::Corrupt("memory session record: data is not a JSON object".into()))
    }

    fn record(&self) -> Result<Record, StoreError> {
        let string = |s: &Option<Box<str>>| s.as_deref().map(String::from);
        Ok(Record {
            data: self.data()?,
            created_at: self.created_at,
            last_seen: self.last_seen,
            expires_at: self.expires_at,
            deadline: self.deadline,
            user_id: string(&self.user_id),
            ip: string(&self.ip),
            user_agent: string(&self.user_agent),
        })
    }

    fn info(&self, key: StoreKey) -> SessionInfo {
        SessionInfo {
            key,
            created_at: self.created_at,
            last_seen: self.last_seen,
            expires_at: self.expires_at,
            ip: self.ip.as_deref().map(String::from),
            user_agent: self.user_agent.as_deref().map(String::from),
            current: false,
        }
    }
}

fn encode(data: &Data) -> Result<Box<str>, StoreError> {
    serde_json::to_string(data)
        .map(String::into_boxed_str)
        .map_err(|_| StoreError::Corrupt("session data cannot be encoded as JSON".into()))
}

#[derive(Default)]
struct Inner {
    records: HashMap<StoreKey, Stored>,
    /// The records with a user, by expiry.
    signed_in_by_expiry: BTreeSet<(UnixTime, StoreKey)>,
    /// The records without a user, by expiry: evicted first. Every record
    /// is in exactly one of the two sets.
    anonymous_by_expiry: BTreeSet<(UnixTime, StoreKey)>,
    /// User id → that user's session keys; kept exact by `insert`/`remove`.
    by_user: HashMap<String, HashSet<StoreKey>>,
}

impl Inner {
    fn insert(&mut self, key: StoreKey, record: Stored) {
        self.remove(&key);
        match &record.user_id {
            Some(user) => {
                self.signed_in_by_expiry.insert((record.expires_at, key));
                self.by_user.entry(user.to_string()).or_default().insert(key);
            }
            None => {
                self.anonymous_by_expiry.insert((record.expires_at, key));
            }
        }
        self.records.insert(key, record);
    }

    fn remove(&mut self, key: &StoreKey) -> Option<Stored> {
        let old = self.records.remove(key)?;
        self.by_expiry_mut(old.user_id.is_none()).remove(&(old.expires_at, *key));
        if let Some(user) = old.user_id.as_deref() {
            if let Some(keys) = self.by_user.get_mut(user) {
                keys.remove(key);
                if keys.is_empty() {
                    self.by_user.remove(user);
                }
            }
        }
        Some(old)
    }

    fn by_expiry_mut(&mut self, anonymous: bool) -> &mut BTreeSet<(UnixTime, StoreKey)> {
        if anonymous {
            &mut self.anonymous_by_expiry
        } else {
            &mut self.signed_in_by_expiry
        }
    }

    /// The record that expires first, of either kind.
    fn first_to_expire(&self) -> Option<(UnixTime, StoreKey)> {
        match (self.anonymous_by_expiry.first(), self.signed_in_by_expiry.first()) {
            (Some(a), Some(b)) => Some(*a.min(b)),
            (a, b) => a.or(b).copied(),
        }
    }

    fn live_mut(&mut self, key: &StoreKey, now: UnixTime) -> Option<&mut Stored> {
        self.records.get_mut(key).filter(|r| r.expires_at > now)
    }

    fn sweep(&mut self, now: UnixTime) -> u64 {
        let mut removed = 0;
        while let Some((expires_at, key)) = self.first_to_expire() {
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
            let Some(&(_, key)) = self.anonymous_by_expiry.first().or_else(|| self.signed_in_by_expiry.first()) else {
                break;
            };
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
        self.lock().live_mut(key, now).map(|r| r.record()).transpose()
    }

    async fn create(&self, key: &StoreKey, record: &Record) -> Result<(), StoreError> {
        let stored = Stored::new(record)?; // encoded before the lock is taken
        let mut inner = self.lock();
        inner.make_room(self.max_sessions, record.last_seen);
        inner.insert(*key, stored);
        Ok(())
    }

    async fn apply(&self, key: &StoreKey, change: &Change, now: UnixTime) -> Result<Applied, StoreError> {
        let mut inner = self.lock();
        let Some(record) = inner.live_mut(key, now) else {
            return Ok(Applied::Missing);
        };
        if !change.is_touch() {
            let mut data = record.data()?;
            for (k, v) in &change.set {
                match data.get_mut(k) {
                    Some(slot) => slot.clone_from(v),
                    None => {
                        data.insert(k.clone(), v.clone());
                    }
                }
            }
            for k in &change.remove {
                data.remove(k);
            }
            record.data = encode(&data)?;
        }
        record.last_seen = change.last_seen;
        let old_expiry = std::mem::replace(&mut record.expires_at, change.expires_at);
        if old_expiry != change.expires_at {
            let anonymous = record.user_id.is_none();
            let by_expiry = inner.by_expiry_mut(anonymous);
            by_expiry.remove(&(old_expiry, *key));
            by_expiry.insert((change.expires_at, *key));
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
        let stored = Stored::new(record)?;
        let mut inner = self.lock();
        if inner.live_mut(old, now).is_none() {
            return Ok(Applied::Missing);
        }
        inner.remove(old);
        inner.insert(*new, stored);
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
            .filter_map(|key| inner.records.get(key).filter(|r| r.expires_at > now).map(|r| r.info(*key)))
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
