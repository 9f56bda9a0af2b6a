//! Peer: tower-sessions with its defaults (cookie `id`, Secure, HttpOnly,
//! SameSite=Strict, no idle timeout, records kept two weeks).

use super::{BoxError, StatsFn, COUNTER};
use crate::counting::CountingSessionStore;
use crate::options::Options;
use axum::{http::StatusCode, routing::get, Router};
use tower_sessions::{MemoryStore, Session, SessionManagerLayer, SessionStore};
use tower_sessions_redis_store::fred::prelude::{ClientLike, Config, Pool};
use tower_sessions_redis_store::RedisStore;

type Answer = Result<String, StatusCode>;

fn failed(_: tower_sessions::session::Error) -> StatusCode {
    StatusCode::INTERNAL_SERVER_ERROR
}

async fn counter(session: Session) -> Answer {
    let n: u64 = session.get(COUNTER).await.map_err(failed)?.unwrap_or(0);
    session.insert(COUNTER, n + 1).await.map_err(failed)?;
    Ok((n + 1).to_string())
}

async fn read(session: Session) -> Answer {
    let n: u64 = session.get(COUNTER).await.map_err(failed)?.unwrap_or(0);
    Ok(n.to_string())
}

async fn login(session: Session) -> Answer {
    session.insert(COUNTER, 0u64).await.map_err(failed)?;
    Ok(0u64.to_string())
}

fn with_store<S: SessionStore + Clone>(store: S) -> (Router, Option<StatsFn>) {
    let counting = CountingSessionStore::new(store);
    let stats = counting.stats_fn();
    let router = Router::new()
        .route("/counter", get(counter))
        .route("/read", get(read))
        .route("/none", get(|| async { "ok" }))
        .route("/login", get(login))
        .layer(SessionManagerLayer::new(counting));
    (router, Some(stats))
}

pub fn memory() -> (Router, Option<StatsFn>) {
    with_store(MemoryStore::default())
}

/// `tower-sessions-sqlx-store` on a SQLite file in WAL mode with
/// `synchronous = NORMAL` and a 5 s busy timeout, as Palisade opens its own
/// (tower-sessions takes the pool it is given; sqlx's default would be
/// `FULL`, an `fsync` per write): what differs is the store's code and its
/// pool (8 connections, the sqlx default size for an app's pool).
pub async fn sqlite(options: &Options) -> Result<(Router, Option<StatsFn>), BoxError> {
    use tower_sessions_sqlx_store::sqlx::sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
    };
    let connect = format!("sqlite://{}?mode=rwc", options.sqlite_path)
        .parse::<SqliteConnectOptions>()?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(std::time::Duration::from_secs(5));
    let pool = SqlitePoolOptions::new().max_connections(8).connect_with(connect).await?;
    let store = tower_sessions_sqlx_store::SqliteStore::new(pool);
    store.migrate().await?;
    Ok(with_store(store))
}

/// `tower-sessions-sqlx-store` on PostgreSQL, a pool of 10 as Palisade's.
pub async fn postgres(options: &Options) -> Result<(Router, Option<StatsFn>), BoxError> {
    use tower_sessions_sqlx_store::sqlx::postgres::PgPoolOptions;
    let pool = PgPoolOptions::new().max_connections(10).connect(&options.postgres_url).await?;
    let store = tower_sessions_sqlx_store::PostgresStore::new(pool);
    store.migrate().await?;
    Ok(with_store(store))
}

pub async fn redis(options: &Options) -> Result<(Router, Option<StatsFn>), BoxError> {
    let pool = Pool::new(Config::from_url(&options.redis_url)?, None, None, None, options.redis_pool)?;
    pool.init().await?;
    Ok(with_store(RedisStore::new(pool)))
}
