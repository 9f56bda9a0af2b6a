//! `fill`: memory per session. Drives `/login` through the system's router
//! in-process (no TCP, so nothing but the sessions grows), and at each
//! checkpoint prints one JSON line with the process's RSS and, for the
//! Redis systems, Redis's `used_memory`, each with its delta from before the
//! first session.

use crate::apps::{self, BoxError, System};
use crate::options::Options;
use crate::proc_stats::rss_bytes;
use futures_util::stream::{self, StreamExt};
use http::StatusCode;
use tower::ServiceExt;
use tower_sessions_redis_store::fred::prelude::{ClientLike, Config, Pool};
use tower_sessions_redis_store::fred::types::InfoKind;

pub async fn run(system: System, options: &Options, checkpoints: &[usize]) -> Result<(), BoxError> {
    let mut options = options.clone();
    if system == System::PalisadeMemory && options.max_sessions.is_none() {
        // Measure the cost of a session, not the eviction: room for all.
        options.max_sessions = checkpoints.last().map(|n| n + 1);
    }
    let app = apps::build(system, &options).await?;
    let redis = match system {
        System::PalisadeRedis | System::TowerSessionsRedis => Some(redis_client(&options.redis_url).await?),
        _ => None,
    };
    // One request first, so lazily built parts are not counted per session.
    call(&app, "/none").await?;
    let rss_before = rss_bytes();
    let redis_before = match &redis {
        Some(client) => Some(used_memory(client).await?),
        None => None,
    };
    let mut done = 0usize;
    for &target in checkpoints {
        let results: Vec<Result<(), BoxError>> = stream::iter(done..target)
            .map(|_| call(&app, "/login"))
            .buffer_unordered(options.concurrency)
            .collect()
            .await;
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
        done = target;
        let rss = rss_bytes();
        let mut line = serde_json::json!({
            "system": system.name(),
            "sessions": done,
            "rss_bytes": rss,
            "rss_bytes_per_session": rss.saturating_sub(rss_before) as f64 / done as f64,
        });
        if let (Some(client), Some(before)) = (&redis, redis_before) {
            let used = used_memory(client).await?;
            line["redis_used_memory"] = used.into();
            line["redis_bytes_per_session"] = (used.saturating_sub(before) as f64 / done as f64).into();
        }
        println!("{line}");
    }
    Ok(())
}

async fn call(app: &axum::Router, path: &str) -> Result<(), BoxError> {
    // As a browser's request arrives: a user agent and a peer address
    // (Palisade keeps both with the session, for the devices list).
    let response = app.clone().oneshot(apps::request(path, None)).await?;
    if response.status() != StatusCode::OK {
        return Err(format!("{path} answered {}", response.status()).into());
    }
    Ok(())
}

async fn redis_client(url: &str) -> Result<Pool, BoxError> {
    let pool = Pool::new(Config::from_url(url)?, None, None, None, 1)?;
    pool.init().await?;
    Ok(pool)
}

async fn used_memory(client: &Pool) -> Result<u64, BoxError> {
    let info: String = client.next().info(Some(InfoKind::Memory)).await?;
    info.lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| "no used_memory in INFO memory".into())
}
