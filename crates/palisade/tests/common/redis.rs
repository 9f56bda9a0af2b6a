//! Helpers for the Redis store tests: stores under a unique key prefix that
//! delete their keys when dropped, and private `redis-server` processes that
//! are killed whatever happens (a guard with `Drop`).
#![allow(dead_code)]

use async_trait::async_trait;
use palisade::store::{Applied, Change, Record, RedisStore, SessionInfo, Store, StoreError, StoreKey, UnixTime};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const HOW_TO_GET_REDIS: &str = "install it (`apt-get install redis-server`), or point \
     PALISADE_TEST_REDIS_URL at a server; `scripts/test` does both for you";

/// The standalone server under test (`PALISADE_TEST_REDIS_URL`, default the
/// local default port).
pub fn redis_url() -> String {
    std::env::var("PALISADE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The cluster under test (`PALISADE_TEST_REDIS_CLUSTER`, comma-separated).
pub fn cluster_urls() -> Vec<String> {
    let Ok(list) = std::env::var("PALISADE_TEST_REDIS_CLUSTER") else {
        panic!(
            "PALISADE_TEST_REDIS_CLUSTER is not set: run `scripts/test`, which starts a local 3-node Redis \
             Cluster and sets it (or set it yourself to a comma-separated list of cluster node URLs)"
        );
    };
    list.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// A key prefix no other test, test process or run uses.
pub fn unique_prefix() -> String {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("palisade-test:{}-{nanos}-{}:", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed))
}

/// Deletes every key under `prefix` on each of `nodes` (each node directly,
/// so it works on cluster primaries too).
pub fn delete_keys(nodes: &[String], prefix: &str) {
    for url in nodes {
        let Ok(client) = redis::Client::open(url.as_str()) else { continue };
        let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_secs(2)) else { continue };
        let keys: Vec<String> = match redis::cmd("KEYS").arg(format!("{prefix}*")).query(&mut conn) {
            Ok(keys) => keys,
            Err(_) => continue,
        };
        for key in keys {
            let _: redis::RedisResult<i64> = redis::cmd("DEL").arg(&key).query(&mut conn);
        }
    }
}

struct Cleanup {
    nodes: Vec<String>,
    prefix: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        delete_keys(&self.nodes, &self.prefix);
    }
}

/// A [`RedisStore`] that deletes its keys when the last clone is dropped.
#[derive(Clone)]
pub struct TestStore {
    pub inner: RedisStore,
    _cleanup: Arc<Cleanup>,
}

impl TestStore {
    pub fn new(inner: RedisStore, nodes: Vec<String>) -> Self {
        let prefix = inner.key_prefix().to_owned();
        Self { inner, _cleanup: Arc::new(Cleanup { nodes, prefix }) }
    }
}

/// A fresh store on the standalone test server; fails with instructions when
/// there is none.
pub async fn standalone_store() -> TestStore {
    let url = redis_url();
    let store = RedisStore::builder()
        .key_prefix(unique_prefix())
        .connect(&url)
        .await
        .unwrap_or_else(|err| panic!("no Redis at {url} ({err}): {HOW_TO_GET_REDIS}"));
    TestStore::new(store, vec![url])
}

/// A fresh store on the test cluster.
pub async fn cluster_store() -> TestStore {
    let urls = cluster_urls();
    let store = RedisStore::builder()
        .key_prefix(unique_prefix())
        .connect_cluster(&urls)
        .await
        .unwrap_or_else(|err| panic!("no Redis Cluster at {urls:?} ({err}): run `scripts/test`"));
    TestStore::new(store, urls)
}

#[async_trait]
impl Store for TestStore {
    async fn load(&self, key: &StoreKey, now: UnixTime) -> Result<Option<Record>, StoreError> {
        self.inner.load(key, now).await
    }
    async fn create(&self, key: &StoreKey, record: &Record) -> Result<(), StoreError> {
        self.inner.create(key, record).await
    }
    async fn apply(&self, key: &StoreKey, change: &Change, now: UnixTime) -> Result<Applied, StoreError> {
        self.inner.apply(key, change, now).await
    }
    async fn rotate(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        record: &Record,
        now: UnixTime,
    ) -> Result<Applied, StoreError> {
        self.inner.rotate(old, new, record, now).await
    }
    async fn delete(&self, key: &StoreKey) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }
    async fn sweep(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.inner.sweep(now).await
    }
    async fn sessions_of(&self, user_id: &str, now: UnixTime) -> Result<Vec<SessionInfo>, StoreError> {
        self.inner.sessions_of(user_id, now).await
    }
    async fn revoke_user(&self, user_id: &str, keep: Option<&StoreKey>) -> Result<u64, StoreError> {
        self.inner.revoke_user(user_id, keep).await
    }
}

#[async_trait]
impl palisade::store::AttemptStore for TestStore {
    async fn take(
        &self,
        key: &StoreKey,
        now: UnixTime,
        backoff: &palisade::store::Backoff,
    ) -> Result<palisade::store::Taken, StoreError> {
        palisade::store::AttemptStore::take(&self.inner, key, now, backoff).await
    }
    async fn refund(&self, key: &StoreKey) -> Result<(), StoreError> {
        self.inner.refund(key).await
    }
    async fn forgive(&self, key: &StoreKey) -> Result<(), StoreError> {
        self.inner.forgive(key).await
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free local port")
}

/// A private `redis-server` child process on its own port, killed on drop
/// (even when the test panics).
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
    dir: PathBuf,
}

impl RedisServer {
    pub fn start() -> Self {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("palisade-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir for redis-server");
        let mut server = Self { port, child: None, dir };
        server.restart();
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same port and waits until it answers.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot run redis-server ({err}): {HOW_TO_GET_REDIS}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.cli(&["PING"]).is_some_and(|out| out.trim() == "PONG") {
                return;
            }
            assert!(Instant::now() < deadline, "private redis-server on port {} did not start", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server (SIGKILL: no goodbye to clients) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Runs `redis-cli -p PORT args…`; `None` if it failed.
    pub fn cli(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("redis-cli").args(["-p", &self.port.to_string()]).args(args).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `INFO commandstats` as (command, calls) pairs, e.g. ("hgetall", 1).
    pub fn command_calls(&self) -> Vec<(String, u64)> {
        let info = self.cli(&["INFO", "commandstats"]).expect("INFO commandstats");
        let mut calls: Vec<(String, u64)> = info
            .lines()
            .filter_map(|line| {
                let rest = line.strip_prefix("cmdstat_")?;
                let (name, stats) = rest.split_once(':')?;
                let n = stats.split(',').find_map(|kv| kv.strip_prefix("calls="))?.parse().ok()?;
                Some((name.to_owned(), n))
            })
            .collect();
        calls.sort();
        calls
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
