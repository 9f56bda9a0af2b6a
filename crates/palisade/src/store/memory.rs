//! A bounded in-memory store, for tests, development and single-process apps.

use super::attempts::{AttemptStore, Backoff, MemoryCounters, Taken, DEFAULT_MAX_COUNTERS};
use super::{Applied, Change, Data, Record, SessionInfo, Store, StoreError, StoreKey, UnixTime};
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap, HashSet};
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

/// A record as the store keeps it: about a third of the memory of a
/// [`Record`], in two allocations (the record and its text). The data is
/// compact JSON (a `serde_json::Map` costs a B-tree node of ~600 bytes even
/// for one key) and the strings sit one after another in one boxed buffer,
/// so that a session costs one heap block for its text where it cost four
/// (data, user id, address, user agent): fewer blocks to allocate when a
/// flood of new visitors arrives and to free when it evicts, and no
/// allocator overhead per string. A memory store's bound is a count of
/// sessions: the smaller each one, the more sessions fit in the same memory
/// before a flood of new visitors starts evicting.
struct Stored {
    /// The data, then the user id, the address and the user agent.
    text: Box<str>,
    /// Where the user id, the address and the user agent start in `text`
    /// (each runs to the next one's start; the data is everything before).
    ends: [u32; 3],
    /// Which of the user id, the address and the user agent are present
    /// (bits 0, 1 and 2): an empty string and an absent one differ.
    present: u8,
    created_at: UnixTime,
    last_seen: UnixTime,
    expires_at: UnixTime,
    deadline: UnixTime,
    /// Its place in the expiry index among records expiring the same second.
    seq: u64,
}

const USER: u8 = 1;
const IP: u8 = 2;
const USER_AGENT: u8 = 4;

impl Stored {
    fn new(record: &Record) -> Result<Self, StoreError> {
        let mut stored = Self {
            text: Box::from(""),
            ends: [0; 3],
            present: 0,
            created_at: record.created_at,
            last_seen: record.last_seen,
            expires_at: record.expires_at,
            deadline: record.deadline,
            seq: 0,
        };
        let parts = [record.user_id.as_deref(), record.ip.as_deref(), record.user_agent.as_deref()];
        stored.set_text(&encode(&record.data)?, parts)?;
        Ok(stored)
    }

    /// Lays `data` and the optional strings out in one buffer.
    fn set_text(&mut self, data: &str, parts: [Option<&str>; 3]) -> Result<(), StoreError> {
        let len = data.len() + parts.iter().flatten().map(|p| p.len()).sum::<usize>();
        if u32::try_from(len).is_err() {
            return Err(StoreError::Corrupt("memory session record larger than 4 GiB".into()));
        }
        let mut text = String::with_capacity(len);
        text.push_str(data);
        let mut ends = [0u32; 3];
        let mut present = 0;
        for ((end, part), bit) in ends.iter_mut().zip(parts).zip([USER, IP, USER_AGENT]) {
            // Checked above: every offset fits in a u32.
            *end = text.len() as u32;
            if let Some(part) = part {
                text.push_str(part);
                present |= bit;
            }
        }
        self.text = text.into_boxed_str();
        self.ends = ends;
        self.present = present;
        Ok(())
    }

    fn part(&self, n: usize, bit: u8) -> Option<&str> {
        let start = self.ends[n] as usize;
        let end = self.ends.get(n + 1).map_or(self.text.len(), |&e| e as usize);
        (self.present & bit != 0).then(|| &self.text[start..end])
    }

    fn data_text(&self) -> &str {
        &self.text[..self.ends[0] as usize]
    }

    fn user_id(&self) -> Option<&str> {
        self.part(0, USER)
    }

    fn ip(&self) -> Option<&str> {
        self.part(1, IP)
    }

    fn user_agent(&self) -> Option<&str> {
        self.part(2, USER_AGENT)
    }

    fn data(&self) -> Result<Data, StoreError> {
        serde_json::from_str(self.data_text())
            .map_err(|_| StoreError::Corrupt("memory session record: data is not a JSON object".into()))
    }

    /// Replaces the data, keeping the strings after it.
    fn set_data(&mut self, data: &Data) -> Result<(), StoreError> {
        let data = encode(data)?;
        let old_start = self.ends[0] as usize;
        let rest = &self.text[old_start..];
        if u32::try_from(data.len() + rest.len()).is_err() {
            return Err(StoreError::Corrupt("memory session record larger than 4 GiB".into()));
        }
        let mut text = String::with_capacity(data.len() + rest.len());
        text.push_str(&data);
        text.push_str(rest);
        // The strings after the data move by the change in its length;
        // checked above: every offset fits in a u32.
        for end in &mut self.ends {
            *end = (*end as usize - old_start + data.len()) as u32;
        }
        self.text = text.into_boxed_str();
        Ok(())
    }

    fn record(&self) -> Result<Record, StoreError> {
        let string = |s: Option<&str>| s.map(String::from);
        Ok(Record { ip: string(self.ip()), user_agent: string(self.user_agent()), ..self.record_for_request()? })
    }

    /// The record without the client's address and user agent.
    fn record_for_request(&self) -> Result<Record, StoreError> {
        Ok(Record {
            data: self.data()?,
            created_at: self.created_at,
            last_seen: self.last_seen,
            expires_at: self.expires_at,
            deadline: self.deadline,
            user_id: self.user_id().map(String::from),
            ip: None,
            user_agent: None,
        })
    }

    fn info(&self, key: StoreKey) -> SessionInfo {
        SessionInfo {
            key,
            created_at: self.created_at,
            last_seen: self.last_seen,
            expires_at: self.expires_at,
            ip: self.ip().map(String::from),
            user_agent: self.user_agent().map(String::from),
            current: false,
        }
    }
}

fn encode(data: &Data) -> Result<String, StoreError> {
    serde_json::to_string(data).map_err(|_| StoreError::Corrupt("session data cannot be encoded as JSON".into()))
}

/// Records by expiry, then by when they were stored: `(expires_at, seq)`.
///
/// The second half of the key is a counter, not the store key: comparing
/// two integers is cheaper than comparing two 32-byte keys, and new
/// records (the latest expiry, the highest counter) go to the right edge
/// of the tree, whose nodes stay in cache, where random store keys sent
/// each insert to a random leaf among those expiring the same second. It
/// took a third of the time of storing a new session in a full store.
type ExpiryIndex = BTreeMap<(UnixTime, u64), StoreKey>;

#[derive(Default)]
struct Inner {
    records: HashMap<StoreKey, Stored>,
    /// The records with a user, by expiry.
    signed_in_by_expiry: ExpiryIndex,
    /// The records without a user, by expiry: evicted first. Every record
    /// is in exactly one of the two indexes.
    anonymous_by_expiry: ExpiryIndex,
    /// The next record's `seq`.
    next_seq: u64,
    /// User id → that user's session keys; kept exact by `insert`/`remove`.
    by_user: HashMap<String, HashSet<StoreKey>>,
}

impl Inner {
    fn insert(&mut self, key: StoreKey, mut record: Stored) {
        self.remove(&key);
        record.seq = self.next_seq;
        self.next_seq += 1;
        match record.user_id() {
            Some(user) => {
                self.signed_in_by_expiry.insert((record.expires_at, record.seq), key);
                self.by_user.entry(user.to_string()).or_default().insert(key);
            }
            None => {
                self.anonymous_by_expiry.insert((record.expires_at, record.seq), key);
            }
        }
        self.records.insert(key, record);
    }

    fn remove(&mut self, key: &StoreKey) -> Option<Stored> {
        let old = self.records.remove(key)?;
        self.by_expiry_mut(old.user_id().is_none()).remove(&(old.expires_at, old.seq));
        if let Some(user) = old.user_id() {
            if let Some(keys) = self.by_user.get_mut(user) {
                keys.remove(key);
                if keys.is_empty() {
                    self.by_user.remove(user);
                }
            }
        }
        Some(old)
    }

    fn by_expiry_mut(&mut self, anonymous: bool) -> &mut ExpiryIndex {
        if anonymous {
            &mut self.anonymous_by_expiry
        } else {
            &mut self.signed_in_by_expiry
        }
    }

    /// The record that expires first, of either kind.
    fn first_to_expire(&self) -> Option<(UnixTime, StoreKey)> {
        let first =
            |index: &ExpiryIndex| index.first_key_value().map(|(&(expires_at, seq), &key)| (expires_at, seq, key));
        let found = match (first(&self.anonymous_by_expiry), first(&self.signed_in_by_expiry)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        found.map(|(expires_at, _, key)| (expires_at, key))
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
            let first =
                self.anonymous_by_expiry.first_key_value().or_else(|| self.signed_in_by_expiry.first_key_value());
            let Some((_, &key)) = first else {
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

    async fn load_for_request(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>, StoreError> {
        self.lock().live_mut(key, now).map(|r| r.record_for_request()).transpose()
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
            record.set_data(&data)?;
        }
        record.last_seen = change.last_seen;
        let old_expiry = std::mem::replace(&mut record.expires_at, change.expires_at);
        if old_expiry != change.expires_at {
            let anonymous = record.user_id().is_none();
            let seq = record.seq;
            let by_expiry = inner.by_expiry_mut(anonymous);
            by_expiry.remove(&(old_expiry, seq));
            by_expiry.insert((change.expires_at, seq), *key);
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

    #[test]
    fn a_stored_record_gives_back_every_string_present_absent_or_empty() {
        let values = [None, Some(String::new()), Some("ü-1".to_owned()), Some("Mozilla/5.0 (X11)".to_owned())];
        for user_id in &values {
            for ip in &values {
                for user_agent in &values {
                    let mut record = Record {
                        user_id: user_id.clone(),
                        ip: ip.clone(),
                        user_agent: user_agent.clone(),
                        created_at: 1,
                        last_seen: 2,
                        expires_at: 3,
                        deadline: 4,
                        ..Default::default()
                    };
                    record.data.insert("k".into(), "v".into());
                    let mut stored = Stored::new(&record).unwrap();
                    assert_eq!(stored.record().unwrap(), record);
                    // New data keeps the strings after it.
                    record.data.insert("n".into(), 7.into());
                    stored.set_data(&record.data).unwrap();
                    assert_eq!(stored.record().unwrap(), record);
                }
            }
        }
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
