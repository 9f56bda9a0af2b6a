use super::{Applied, Change, Record, SessionInfo, Store, StoreError, StoreKey, UnixTime};
use async_trait::async_trait;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// How many calls of each kind a [`CountingStore`] has passed on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallCounts {
    pub load: u64,
    pub create: u64,
    pub apply: u64,
    pub rotate: u64,
    pub delete: u64,
    pub sweep: u64,
    /// `sessions_of` and `revoke_user` calls.
    pub user_index: u64,
}

impl CallCounts {
    /// Every call, of any kind.
    pub fn total(&self) -> u64 {
        self.load + self.create + self.apply + self.rotate + self.delete + self.sweep + self.user_index
    }

    /// Calls that write.
    pub fn writes(&self) -> u64 {
        self.create + self.apply + self.rotate + self.delete
    }
}

#[derive(Default)]
struct Counters {
    load: AtomicU64,
    create: AtomicU64,
    apply: AtomicU64,
    rotate: AtomicU64,
    delete: AtomicU64,
    sweep: AtomicU64,
    user_index: AtomicU64,
}

/// Wraps a store and counts the calls made to it: every call is one round
/// trip, so this is how tests and benchmarks check "zero store calls when
/// the handler never touches the session".
#[derive(Clone)]
pub struct CountingStore<S> {
    inner: S,
    counters: Arc<Counters>,
}

impl<S> std::fmt::Debug for CountingStore<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CountingStore").field("counts", &self.counts()).finish()
    }
}

impl<S> CountingStore<S> {
    pub fn new(inner: S) -> Self {
        Self { inner, counters: Arc::default() }
    }

    /// The calls counted so far (by this store and all its clones).
    pub fn counts(&self) -> CallCounts {
        let c = &self.counters;
        CallCounts {
            load: c.load.load(Ordering::Relaxed),
            create: c.create.load(Ordering::Relaxed),
            apply: c.apply.load(Ordering::Relaxed),
            rotate: c.rotate.load(Ordering::Relaxed),
            delete: c.delete.load(Ordering::Relaxed),
            sweep: c.sweep.load(Ordering::Relaxed),
            user_index: c.user_index.load(Ordering::Relaxed),
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

#[async_trait]
impl<S: Store> Store for CountingStore<S> {
    fn never_waits(&self) -> bool {
        self.inner.never_waits()
    }

    async fn load(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>, StoreError> {
        bump(&self.counters.load);
        self.inner.load(key, now).await
    }
    async fn load_for_request(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>, StoreError> {
        bump(&self.counters.load);
        self.inner.load_for_request(key, now).await
    }
    async fn create(&self, key: &StoreKey, record: &Record) -> Result<(), StoreError> {
        bump(&self.counters.create);
        self.inner.create(key, record).await
    }
    async fn apply(&self, key: &StoreKey, change: &Change, now: UnixTime) -> Result<Applied, StoreError> {
        bump(&self.counters.apply);
        self.inner.apply(key, change, now).await
    }
    async fn rotate(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        record: &Record,
        now: UnixTime,
    ) -> Result<Applied, StoreError> {
        bump(&self.counters.rotate);
        self.inner.rotate(old, new, record, now).await
    }
    async fn delete(&self, key: &StoreKey) -> Result<(), StoreError> {
        bump(&self.counters.delete);
        self.inner.delete(key).await
    }
    async fn sweep(&self, now: UnixTime) -> Result<u64, StoreError> {
        bump(&self.counters.sweep);
        self.inner.sweep(now).await
    }
    async fn sessions_of(&self, user_id: &str, now: UnixTime) -> Result<Vec<SessionInfo>, StoreError> {
        bump(&self.counters.user_index);
        self.inner.sessions_of(user_id, now).await
    }
    async fn revoke_user(&self, user_id: &str, keep: Option<&StoreKey>) -> Result<u64, StoreError> {
        bump(&self.counters.user_index);
        self.inner.revoke_user(user_id, keep).await
    }
}
