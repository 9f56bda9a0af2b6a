//! What is the floor of the SQLite store (issue 15)?
//!
//! Runs the store calls of one request — `/counter`: `load` then `apply`
//! setting one key; `/read`: `load` — from 64 concurrent tasks on a
//! two-worker Tokio runtime (as the served bench does), no HTTP, against the
//! same database file, two ways in alternation:
//!
//! - `store`: Palisade's own [`SqliteStore`] as it is (rusqlite connections
//!   on dedicated threads, one writer and four readers; the writes of the
//!   request path share commits when several wait: group commit);
//! - `plain`: the same SQL statements through `rusqlite` on dedicated
//!   threads (one writer, four readers, WAL, `synchronous = NORMAL`), one
//!   job, one reply channel and one commit per store call, statements
//!   cached: the store as it was before group commit (and, before
//!   2026-12-03, the measure that replaced sqlx's driver with rusqlite).
//!
//! Both decode the row into a [`Record`] the same way. Prints each
//! repetition's operations per second and the paired ratio, then the median
//! and min–max of the ratios.
//!
//! ```text
//! cargo run --release --example sqlite_floor -- [counter|read] [reps] [seconds]
//! ```

use palisade::store::{Change, Record, SqliteStore, Store, StoreKey};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

const SESSIONS: usize = 10_000;
const TASKS: usize = 64;
const READERS: usize = 4;
const NOW: i64 = 1_800_000_000;

type Job = Box<dyn FnOnce(&mut rusqlite::Connection) + Send>;

/// The same statements on dedicated threads: one writer, `READERS` readers.
struct Threads {
    writer: mpsc::Sender<Job>,
    readers: Vec<mpsc::Sender<Job>>,
    next_reader: AtomicUsize,
}

impl Threads {
    fn open(path: &std::path::Path) -> Self {
        let spawn = |path: std::path::PathBuf| {
            let (tx, rx) = mpsc::channel::<Job>();
            std::thread::spawn(move || {
                let mut conn = rusqlite::Connection::open(path).expect("open");
                conn.pragma_update(None, "journal_mode", "WAL").expect("wal");
                conn.pragma_update(None, "synchronous", "NORMAL").expect("synchronous");
                conn.busy_timeout(Duration::from_secs(5)).expect("busy timeout");
                conn.set_prepared_statement_cache_capacity(16);
                while let Ok(job) = rx.recv() {
                    job(&mut conn);
                }
            });
            tx
        };
        Self {
            writer: spawn(path.to_owned()),
            readers: (0..READERS).map(|_| spawn(path.to_owned())).collect(),
            next_reader: AtomicUsize::new(0),
        }
    }

    async fn run<T: Send + 'static>(
        sender: &mpsc::Sender<Job>,
        f: impl FnOnce(&mut rusqlite::Connection) -> T + Send + 'static,
    ) -> T {
        let (tx, rx) = tokio::sync::oneshot::channel();
        sender
            .send(Box::new(move |conn| {
                let _ = tx.send(f(conn));
            }))
            .expect("thread alive");
        rx.await.expect("thread answered")
    }

    async fn load(&self, key: StoreKey, now: i64) -> Option<Record> {
        let reader = &self.readers[self.next_reader.fetch_add(1, Ordering::Relaxed) % READERS];
        Self::run(reader, move |conn| {
            let mut statement = conn
                .prepare_cached(
                    "SELECT data, created_at, last_seen, expires_at, deadline, user_id, ip, user_agent \
                     FROM palisade_sessions WHERE key = ? AND expires_at > ?",
                )
                .expect("prepare");
            let mut rows = statement.query(rusqlite::params![key.as_bytes().as_slice(), now]).expect("query");
            let row = rows.next().expect("step")?;
            let data: String = row.get(0).expect("data");
            Some(Record {
                data: serde_json::from_str(&data).expect("json"),
                created_at: row.get(1).expect("created_at"),
                last_seen: row.get(2).expect("last_seen"),
                expires_at: row.get(3).expect("expires_at"),
                deadline: row.get(4).expect("deadline"),
                user_id: row.get(5).expect("user_id"),
                ip: row.get(6).expect("ip"),
                user_agent: row.get(7).expect("user_agent"),
            })
        })
        .await
    }

    /// The statement `SqliteStore::apply` makes for a change of one key.
    async fn apply(&self, key: StoreKey, change: Change, now: i64) -> usize {
        Self::run(&self.writer, move |conn| {
            let (name, value) = &change.set[0];
            let mut statement = conn
                .prepare_cached(
                    "UPDATE palisade_sessions SET data = json_set(data, ?, json(?)), last_seen = ?, expires_at = ? \
                     WHERE key = ? AND expires_at > ?",
                )
                .expect("prepare");
            statement
                .execute(rusqlite::params![
                    format!("$.\"{name}\""),
                    serde_json::to_string(value).expect("json"),
                    change.last_seen,
                    change.expires_at,
                    key.as_bytes().as_slice(),
                    now
                ])
                .expect("update")
        })
        .await
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Route {
    Counter,
    Read,
}

enum Backend {
    Store(SqliteStore),
    Plain(Arc<Threads>),
}

impl Backend {
    async fn request(&self, key: StoreKey, route: Route) {
        let record = match self {
            Backend::Store(store) => store.load(&key, NOW).await.expect("load"),
            Backend::Plain(threads) => threads.load(key, NOW).await,
        };
        let record = record.expect("session exists");
        if route == Route::Read {
            return;
        }
        let counter = record.data.get("counter").and_then(|v| v.as_i64()).unwrap_or(0) + 1;
        let change = Change {
            set: vec![("counter".to_owned(), counter.into())],
            remove: Vec::new(),
            last_seen: NOW,
            expires_at: NOW + 3600,
        };
        match self {
            Backend::Store(store) => {
                let _ = store.apply(&key, &change, NOW).await.expect("apply");
            }
            Backend::Plain(threads) => {
                threads.apply(key, change, NOW).await;
            }
        }
    }
}

/// Operations per second of `TASKS` tasks calling `backend` for `duration`.
async fn measure(backend: Arc<Backend>, keys: Arc<Vec<StoreKey>>, route: Route, duration: Duration) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let (backend, keys, stop, done) = (backend.clone(), keys.clone(), stop.clone(), done.clone());
            tokio::spawn(async move {
                let mut i = task * 7919;
                while !stop.load(Ordering::Relaxed) {
                    backend.request(keys[i % keys.len()], route).await;
                    done.fetch_add(1, Ordering::Relaxed);
                    i += 104_729;
                }
            })
        })
        .collect();
    let start = Instant::now();
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let counted = done.load(Ordering::Relaxed);
    let elapsed = start.elapsed();
    for task in tasks {
        task.await.expect("task");
    }
    counted as f64 / elapsed.as_secs_f64()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let route = match args.next().as_deref() {
        Some("read") => Route::Read,
        Some("counter") | None => Route::Counter,
        Some(other) => panic!("route is counter or read, not {other}"),
    };
    let reps: usize = args.next().map(|n| n.parse().expect("reps")).unwrap_or(5);
    let seconds: u64 = args.next().map(|n| n.parse().expect("seconds")).unwrap_or(3);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(async move {
        let dir = std::env::temp_dir().join(format!("palisade-sqlite-floor-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("sessions.db");
        let store = SqliteStore::connect(&format!("sqlite://{}?mode=rwc", path.display())).await.expect("connect");
        let keys: Vec<StoreKey> = (0..SESSIONS as u32)
            .map(|i| {
                let mut bytes = [0u8; 32];
                bytes[..4].copy_from_slice(&i.to_be_bytes());
                StoreKey::from_bytes(bytes)
            })
            .collect();
        for key in &keys {
            let mut data = palisade::store::Data::new();
            data.insert("counter".to_owned(), 0.into());
            let record = Record {
                data,
                created_at: NOW,
                last_seen: NOW,
                expires_at: NOW + 3600,
                deadline: NOW + 86_400,
                user_id: None,
                ip: Some("127.0.0.1".to_owned()),
                user_agent: Some(palisade_bench::apps::USER_AGENT.to_owned()),
            };
            store.create(key, &record).await.expect("create");
        }
        let keys = Arc::new(keys);
        let store_calls = Arc::new(Backend::Store(store));
        let plain = Arc::new(Backend::Plain(Arc::new(Threads::open(&path))));
        let duration = Duration::from_secs(seconds);
        // Warm both (connections opened, statements prepared, pages cached).
        measure(store_calls.clone(), keys.clone(), route, Duration::from_millis(500)).await;
        measure(plain.clone(), keys.clone(), route, Duration::from_millis(500)).await;
        let mut ratios = Vec::new();
        for rep in 0..reps {
            // Alternate which goes first, so a drift in the machine's speed
            // does not favour one.
            let (a, b) = if rep % 2 == 0 {
                let a = measure(store_calls.clone(), keys.clone(), route, duration).await;
                (a, measure(plain.clone(), keys.clone(), route, duration).await)
            } else {
                let b = measure(plain.clone(), keys.clone(), route, duration).await;
                (measure(store_calls.clone(), keys.clone(), route, duration).await, b)
            };
            println!("rep {rep}: store {a:.0}/s, plain {b:.0}/s, store/plain {:.2}x", a / b);
            ratios.push(a / b);
        }
        ratios.sort_by(f64::total_cmp);
        let median = ratios[ratios.len() / 2];
        println!(
            "store/plain, {} store calls: median {median:.2}x ({:.2}-{:.2})",
            if route == Route::Counter { "/counter" } else { "/read" },
            ratios[0],
            ratios[ratios.len() - 1]
        );
        let _ = std::fs::remove_dir_all(&dir);
    });
}
