//! Palisade with its defaults: `__Host-session`, Secure, HttpOnly,
//! SameSite=Lax, 30 min idle / 8 h absolute timeouts, hashed ids.

use super::{BoxError, StatsFn, COUNTER};
use crate::options::Options;
use axum::{routing::get, Router};
use palisade::keys::KeyRing;
use palisade::session::{Session, SessionError, SessionLayer};
use palisade::store::{CountingStore, MemoryStore, SqliteStore, Store};
use std::sync::Arc;
use std::time::Duration;

async fn counter(session: Session) -> Result<String, SessionError> {
    let n: u64 = session.get(COUNTER).await?.unwrap_or(0);
    session.insert(COUNTER, n + 1).await?;
    Ok((n + 1).to_string())
}

async fn read(session: Session) -> Result<String, SessionError> {
    let n: u64 = session.get(COUNTER).await?.unwrap_or(0);
    Ok(n.to_string())
}

async fn login(session: Session) -> Result<String, SessionError> {
    session.insert(COUNTER, 0u64).await?;
    Ok(0u64.to_string())
}

fn routes(layer: SessionLayer) -> Router {
    Router::new()
        .route("/counter", get(counter))
        .route("/read", get(read))
        .route("/none", get(|| async { "ok" }))
        .route("/login", get(login))
        .layer(layer)
}

/// Encrypted cookie sessions (the default cookie mode).
pub fn cookie_sessions() -> Result<Router, BoxError> {
    Ok(routes(SessionLayer::cookie_only(KeyRing::generate()).build()?))
}

/// Server-side sessions in `store`, wrapped in a `CountingStore` whose
/// counts `/stats` reports (an atomic increment per call: negligible).
fn server_side<S: Store + Clone>(
    store: S,
    len: Option<fn(&S) -> usize>,
) -> Result<(Router, Option<StatsFn>), BoxError> {
    let counting = CountingStore::new(store);
    let layer = SessionLayer::server_side(counting.clone(), KeyRing::generate()).build()?;
    let stats: StatsFn = Arc::new(move || {
        let c = counting.counts();
        serde_json::json!({
            "total": c.total(),
            "writes": c.writes(),
            "load": c.load,
            "create": c.create,
            "apply": c.apply,
            "rotate": c.rotate,
            "delete": c.delete,
            "sessions": len.map(|len| len(counting.inner())),
        })
    });
    Ok((routes(layer), Some(stats)))
}

pub fn memory(options: &Options) -> Result<(Router, Option<StatsFn>), BoxError> {
    let store = match options.max_sessions {
        Some(max) => MemoryStore::builder().max_sessions(max).build(),
        None => MemoryStore::new(),
    };
    server_side(store, Some(MemoryStore::len))
}

pub async fn sqlite(options: &Options) -> Result<(Router, Option<StatsFn>), BoxError> {
    let store = SqliteStore::connect(&format!("sqlite://{}?mode=rwc", options.sqlite_path)).await?;
    store.spawn_sweeper(Duration::from_secs(60));
    server_side(store, None)
}

#[cfg(feature = "postgres")]
pub async fn postgres(options: &Options) -> Result<(Router, Option<StatsFn>), BoxError> {
    let store = palisade::store::PostgresStore::connect(&options.postgres_url).await?;
    store.spawn_sweeper(Duration::from_secs(60));
    server_side(store, None)
}

#[cfg(not(feature = "postgres"))]
pub async fn postgres(_: &Options) -> Result<(Router, Option<StatsFn>), BoxError> {
    Err("palisade-postgres is not built: build palisade-bench with `--features postgres`".into())
}

#[cfg(feature = "redis")]
pub async fn redis(options: &Options) -> Result<(Router, Option<StatsFn>), BoxError> {
    let store = palisade::store::RedisStore::connect(&options.redis_url).await?;
    server_side(store, None)
}

#[cfg(not(feature = "redis"))]
pub async fn redis(_: &Options) -> Result<(Router, Option<StatsFn>), BoxError> {
    Err("palisade-redis is not built: build palisade-bench with `--features redis`".into())
}
