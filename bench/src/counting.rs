//! Counts the calls tower-sessions makes to its store, like Palisade's
//! `CountingStore` does for Palisade's: one call is one round trip for the
//! Redis store, so both sides report store calls per request the same way.

use crate::apps::StatsFn;
use async_trait::async_trait;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tower_sessions::session::{Id, Record};
use tower_sessions::{session_store, SessionStore};

#[derive(Debug, Default)]
struct Counts {
    create: AtomicU64,
    save: AtomicU64,
    load: AtomicU64,
    delete: AtomicU64,
}

/// A tower-sessions store that counts the calls passed to `inner`.
#[derive(Debug, Clone)]
pub struct CountingSessionStore<S> {
    inner: S,
    counts: Arc<Counts>,
}

impl<S> CountingSessionStore<S> {
    pub fn new(inner: S) -> Self {
        Self { inner, counts: Arc::default() }
    }

    pub fn stats_fn(&self) -> StatsFn {
        let counts = self.counts.clone();
        Arc::new(move || {
            let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
            let (create, save, load, delete) =
                (get(&counts.create), get(&counts.save), get(&counts.load), get(&counts.delete));
            serde_json::json!({
                "total": create + save + load + delete,
                "writes": create + save + delete,
                "load": load,
                "create": create,
                "save": save,
                "delete": delete,
                "sessions": null,
            })
        })
    }
}

#[async_trait]
impl<S: SessionStore + Clone> SessionStore for CountingSessionStore<S> {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.counts.create.fetch_add(1, Ordering::Relaxed);
        self.inner.create(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.counts.save.fetch_add(1, Ordering::Relaxed);
        self.inner.save(record).await
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        self.counts.load.fetch_add(1, Ordering::Relaxed);
        self.inner.load(id).await
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.counts.delete.fetch_add(1, Ordering::Relaxed);
        self.inner.delete(id).await
    }
}
