//! Load test for the session stores: creates N sessions, reads them all,
//! changes them all, and reports sessions per second and the space each
//! session takes. Results go to `docs/BENCHMARKS.md`; this is measurement,
//! not a test (nothing is asserted about time).
//!
//! ```text
//! cargo run --release -p palisade --all-features --example store_load -- memory
//! cargo run --release -p palisade --all-features --example store_load -- sqlite 100000
//! cargo run --release -p palisade --all-features --example store_load -- postgres 100000 postgres://postgres@127.0.0.1/test
//! cargo run --release -p palisade --all-features --example store_load -- redis 100000 redis://127.0.0.1:6379
//! ```
//!
//! Each run works in its own namespace (a temporary SQLite file, a
//! PostgreSQL schema, a Redis key prefix) and removes it afterwards.

use palisade::store::{Change, MemoryStore, Record, SqliteStore, Store, StoreKey};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Requests in flight at once, like a busy app server's connection pool.
const CONCURRENCY: usize = 64;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let kind = args.next().unwrap_or_else(|| "memory".into());
    let count: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(100_000);
    let url = args.next();
    let run_id = format!("{}_{}", std::process::id(), palisade::clock::unix_now());
    match kind.as_str() {
        "memory" => {
            let store = MemoryStore::builder().max_sessions(count + 1).build();
            let before = rss_bytes();
            let report = run(Arc::new(store), count).await?;
            let after = rss_bytes();
            report.print(&kind, count, "process RSS", after.saturating_sub(before));
        }
        "sqlite" => {
            let dir = std::env::temp_dir().join(format!("palisade-load-{run_id}"));
            let path = dir.join("sessions.db");
            let store = SqliteStore::connect(&format!("sqlite://{}?mode=rwc", path.display())).await?;
            let report = run(Arc::new(store.clone()), count).await?;
            // Closing checkpoints the WAL into the database file.
            store.close().await;
            let bytes = dir_size(&dir);
            report.print(&kind, count, "database file", bytes);
            std::fs::remove_dir_all(&dir)?;
        }
        #[cfg(feature = "postgres")]
        "postgres" => {
            let url = url.unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into());
            postgres::load(&url, &run_id, count).await?;
        }
        #[cfg(feature = "redis")]
        "redis" => {
            let url = url.unwrap_or_else(|| "redis://127.0.0.1:6379".into());
            redis_load::load(&url, &run_id, count).await?;
        }
        other => return Err(format!("unknown store {other:?}: memory, sqlite, postgres or redis").into()),
    }
    let _ = url;
    Ok(())
}

/// Sessions per second for each phase.
struct Report {
    create: f64,
    read: f64,
    apply: f64,
}

impl Report {
    fn print(&self, kind: &str, count: usize, space_what: &str, space_bytes: u64) {
        let per_session = space_bytes as f64 / count as f64;
        println!(
            "| {kind} | {count} | {:.0} | {:.0} | {:.0} | {per_session:.0} B ({space_what}) |",
            self.create, self.read, self.apply
        );
    }
}

/// A session as a logged-in user's looks: a user id, a CSRF secret, a
/// few small values, the client's address and browser.
fn record(n: usize, now: i64) -> Record {
    let serde_json::Value::Object(data) = json!({
        "user_id": n,
        "username": format!("user{n}"),
        "palisade.id.csrf": "q2Jx3H8Vb1m0cT9sRkYwPzLaNdEeFgHiJjKkLlMmNnO",
        "cart": [1, 2, 3],
    }) else {
        unreachable!("a JSON object literal")
    };
    Record {
        data,
        created_at: now,
        last_seen: now,
        expires_at: now + 1800,
        deadline: now + 8 * 3600,
        user_id: Some(format!("user{n}")),
        ip: Some("203.0.113.7".into()),
        user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0 Safari/537.36".into()),
    }
}

fn key(n: usize) -> StoreKey {
    StoreKey::from_session_id(&(n as u64).to_le_bytes())
}

/// Runs `count` calls of `op`, `CONCURRENCY` at a time; returns calls/s.
async fn phase<F, Fut>(count: usize, op: F) -> Result<f64, Box<dyn std::error::Error>>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), palisade::store::StoreError>> + Send + 'static,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let mut workers = Vec::with_capacity(CONCURRENCY);
    for worker in 0..CONCURRENCY {
        let op = op.clone();
        workers.push(tokio::spawn(async move {
            let mut n = worker;
            while n < count {
                op(n).await?;
                n += CONCURRENCY;
            }
            Ok::<_, palisade::store::StoreError>(())
        }));
    }
    for worker in workers {
        worker.await??;
    }
    Ok(count as f64 / started.elapsed().max(Duration::from_micros(1)).as_secs_f64())
}

async fn run(store: Arc<dyn Store>, count: usize) -> Result<Report, Box<dyn std::error::Error>> {
    let now = palisade::clock::unix_now();
    let s = store.clone();
    let create = phase(count, move |n| {
        let s = s.clone();
        async move { s.create(&key(n), &record(n, now)).await }
    })
    .await?;
    let s = store.clone();
    let read = phase(count, move |n| {
        let s = s.clone();
        async move {
            match s.load(&key(n), now).await? {
                Some(_) => Ok(()),
                None => Err(palisade::store::StoreError::Corrupt(format!("session {n} missing"))),
            }
        }
    })
    .await?;
    let s = store.clone();
    let apply = phase(count, move |n| {
        let s = s.clone();
        async move {
            let change = Change {
                set: vec![("cart".into(), json!([n]))],
                remove: vec![],
                last_seen: now + 60,
                expires_at: now + 1860,
            };
            s.apply(&key(n), &change, now).await.map(|_| ())
        }
    })
    .await?;
    Ok(Report { create, read, apply })
}

/// Resident set size of this process, from `/proc/self/statm`.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

#[cfg(feature = "postgres")]
mod postgres {
    use palisade::store::PostgresStore;
    use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
    use std::str::FromStr;
    use std::sync::Arc;

    /// Runs in a schema of its own, dropped afterwards; space is the
    /// table's total size (heap, TOAST and indexes) after `VACUUM`.
    pub async fn load(url: &str, run_id: &str, count: usize) -> Result<(), Box<dyn std::error::Error>> {
        let schema = format!("palisade_load_{run_id}");
        let admin = PgPoolOptions::new().max_connections(1).connect(url).await?;
        sqlx::query(&format!("CREATE SCHEMA \"{schema}\"")).execute(&admin).await?;
        let options = PgConnectOptions::from_str(url)?.options([("search_path", schema.as_str())]);
        let pool = PgPoolOptions::new().max_connections(16).connect_with(options).await?;
        let store = PostgresStore::from_pool(pool.clone()).await?;
        let report = super::run(Arc::new(store), count).await?;
        sqlx::query("VACUUM palisade_sessions").execute(&pool).await?;
        let bytes: i64 =
            sqlx::query_scalar("SELECT pg_total_relation_size('palisade_sessions')").fetch_one(&pool).await?;
        report.print("postgres", count, "table + indexes", u64::try_from(bytes).unwrap_or(0));
        pool.close().await;
        sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE")).execute(&admin).await?;
        Ok(())
    }
}

#[cfg(feature = "redis")]
mod redis_load {
    use palisade::store::RedisStore;
    use std::sync::Arc;

    /// Runs under a key prefix of its own, deleted afterwards; space is the
    /// growth of the server's `used_memory`.
    pub async fn load(url: &str, run_id: &str, count: usize) -> Result<(), Box<dyn std::error::Error>> {
        let prefix = format!("palisade-load-{run_id}:");
        let client = redis::Client::open(url)?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        let before = used_memory(&mut conn).await?;
        let store = RedisStore::builder().key_prefix(prefix.clone()).connect(url).await?;
        let report = super::run(Arc::new(store), count).await?;
        let after = used_memory(&mut conn).await?;
        report.print("redis", count, "used_memory", after.saturating_sub(before));
        // Clean up: every key under the run's prefix.
        let mut cursor: u64 = 0;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{prefix}*"))
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await?;
            if !keys.is_empty() {
                let _: () = redis::cmd("UNLINK").arg(&keys).query_async(&mut conn).await?;
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
        Ok(())
    }

    async fn used_memory(conn: &mut redis::aio::MultiplexedConnection) -> Result<u64, Box<dyn std::error::Error>> {
        let info: String = redis::cmd("INFO").arg("memory").query_async(conn).await?;
        let value = info
            .lines()
            .find_map(|line| line.strip_prefix("used_memory:"))
            .and_then(|v| v.trim().parse().ok())
            .ok_or("INFO memory has no used_memory")?;
        Ok(value)
    }
}
