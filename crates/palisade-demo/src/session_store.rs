//! Where the demo keeps sessions: SQLite in the data directory (default),
//! PostgreSQL, Redis or a Redis Cluster. Users always stay in SQLite; only
//! sessions move, which is how several app instances share logins. The
//! login throttle's counters live in the same store, so the instances share
//! those too: guesses spread over them meet one counter.

use palisade::keys::KeyRing;
use palisade::session::{SessionLayer, SessionLayerBuilder};
use palisade::store::{AttemptStore, PostgresStore, RedisStore, SqliteStore, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How often SQL stores delete expired sessions (Redis expires them itself).
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// The session store chosen with `--store` / `PALISADE_STORE`.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum StoreChoice {
    /// The users database in the data directory.
    #[default]
    Sqlite,
    /// A `postgres://…` URL.
    Postgres(String),
    /// A `redis://…` (or `rediss://…`) URL.
    Redis(String),
    /// Redis Cluster seed nodes.
    RedisCluster(Vec<String>),
}

/// A `--store` value the demo cannot use.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreChoiceError {
    #[error("unknown session store {0:?}: use `sqlite`, a postgres:// URL, a redis:// URL, or redis:// URLs separated by commas with --store-cluster")]
    Unknown(String),
    #[error("--store-cluster needs one or more redis:// URLs separated by commas")]
    ClusterNeedsRedis,
}

impl StoreChoice {
    /// Reads a `--store` value; `cluster` is `--store-cluster`.
    pub fn parse(value: &str, cluster: bool) -> Result<Self, StoreChoiceError> {
        let value = value.trim();
        let is_redis = |url: &str| url.starts_with("redis://") || url.starts_with("rediss://");
        if cluster {
            let nodes: Vec<String> =
                value.split(',').map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned).collect();
            if nodes.is_empty() || !nodes.iter().all(|n| is_redis(n)) {
                return Err(StoreChoiceError::ClusterNeedsRedis);
            }
            return Ok(Self::RedisCluster(nodes));
        }
        match value {
            "sqlite" => Ok(Self::Sqlite),
            url if url.starts_with("postgres://") || url.starts_with("postgresql://") => Ok(Self::Postgres(url.into())),
            url if is_redis(url) => Ok(Self::Redis(url.into())),
            // The value may be a URL with a password: never echo it whole.
            other => Err(StoreChoiceError::Unknown(redact(other))),
        }
    }

    /// Opens the store: the session layer builder over it, the same store
    /// for the throttle's counters, and the sweeper task of SQL stores.
    /// `sqlite` reuses the users database.
    pub(crate) async fn open(&self, sqlite: &SqliteStore, keys: KeyRing) -> Result<OpenedStore, StoreError> {
        Ok(match self {
            Self::Sqlite => OpenedStore::new(sqlite.clone(), keys, Some(sqlite.spawn_sweeper(SWEEP_INTERVAL))),
            Self::Postgres(url) => {
                let store = PostgresStore::connect(url).await?;
                let sweeper = store.spawn_sweeper(SWEEP_INTERVAL);
                OpenedStore::new(store, keys, Some(sweeper))
            }
            Self::Redis(url) => OpenedStore::new(RedisStore::connect(url).await?, keys, None),
            Self::RedisCluster(nodes) => OpenedStore::new(RedisStore::connect_cluster(nodes).await?, keys, None),
        })
    }
}

/// What [`StoreChoice::open`] gives the app.
pub(crate) struct OpenedStore {
    pub(crate) sessions: SessionLayerBuilder,
    pub(crate) attempts: Arc<dyn AttemptStore>,
    pub(crate) sweeper: Option<JoinHandle<()>>,
}

impl OpenedStore {
    fn new<S>(store: S, keys: KeyRing, sweeper: Option<JoinHandle<()>>) -> Self
    where
        S: palisade::store::Store + AttemptStore + Clone,
    {
        Self { attempts: Arc::new(store.clone()), sessions: SessionLayer::server_side(store, keys), sweeper }
    }
}

impl std::fmt::Debug for StoreChoice {
    /// URLs may carry passwords: only their scheme and host are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite => f.write_str("Sqlite"),
            Self::Postgres(url) => write!(f, "Postgres({})", redact(url)),
            Self::Redis(url) => write!(f, "Redis({})", redact(url)),
            Self::RedisCluster(nodes) => {
                let shown: Vec<String> = nodes.iter().map(|n| redact(n)).collect();
                write!(f, "RedisCluster({})", shown.join(","))
            }
        }
    }
}

/// `scheme://host:port` of a URL, without user, password, path or query.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return "<not a URL>".into() };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_choices_parse() {
        assert_eq!(StoreChoice::parse("sqlite", false), Ok(StoreChoice::Sqlite));
        assert_eq!(
            StoreChoice::parse("postgres://u@db/x", false),
            Ok(StoreChoice::Postgres("postgres://u@db/x".into()))
        );
        assert_eq!(StoreChoice::parse("redis://r:6379", false), Ok(StoreChoice::Redis("redis://r:6379".into())));
        assert_eq!(
            StoreChoice::parse("redis://a:1, redis://b:2,", true),
            Ok(StoreChoice::RedisCluster(vec!["redis://a:1".into(), "redis://b:2".into()]))
        );
        assert_eq!(StoreChoice::parse("postgres://x", true), Err(StoreChoiceError::ClusterNeedsRedis));
        assert_eq!(StoreChoice::parse("", true), Err(StoreChoiceError::ClusterNeedsRedis));
        assert!(matches!(StoreChoice::parse("mysql://x", false), Err(StoreChoiceError::Unknown(_))));
    }

    #[test]
    fn store_urls_never_show_passwords() {
        let choice = StoreChoice::parse("redis://user:hunter2@cache:6379/0", false).unwrap();
        assert_eq!(format!("{choice:?}"), "Redis(redis://cache:6379)");
        let err = StoreChoice::parse("mongodb://admin:hunter2@db/x", false).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let choice = StoreChoice::parse("postgres://u:hunter2@db:5432/app?sslmode=require", false).unwrap();
        assert_eq!(format!("{choice:?}"), "Postgres(postgres://db:5432)");
    }
}
