//! The systems under test: one axum router each, with the same routes and
//! the same handler bodies, so only the session machinery differs.

mod bare;
mod palisade;
mod tower_cookies;
mod tower_sessions;

use crate::options::Options;
use axum::{routing::get, Json, Router};
use std::sync::Arc;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The session key every handler reads and writes.
pub const COUNTER: &str = "counter";

/// A system under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum System {
    /// No session at all: the ceiling.
    Bare,
    /// Palisade, all data in an encrypted cookie (XChaCha20-Poly1305).
    PalisadeCookie,
    /// Palisade server-side, bounded in-memory store.
    PalisadeMemory,
    /// Palisade server-side, SQLite file (WAL).
    PalisadeSqlite,
    /// Palisade server-side, PostgreSQL (cargo feature `postgres`).
    PalisadePostgres,
    /// Palisade server-side, Redis (cargo feature `redis`).
    PalisadeRedis,
    /// Peer: tower-sessions with its `MemoryStore`.
    TowerSessionsMemory,
    /// Peer: tower-sessions with `tower-sessions-redis-store` (fred).
    TowerSessionsRedis,
    /// Peer: tower-cookies signed cookies (HMAC-SHA256, value readable).
    TowerCookiesSigned,
}

impl System {
    pub const ALL: [System; 9] = [
        System::Bare,
        System::PalisadeCookie,
        System::PalisadeMemory,
        System::PalisadeSqlite,
        System::PalisadePostgres,
        System::PalisadeRedis,
        System::TowerSessionsMemory,
        System::TowerSessionsRedis,
        System::TowerCookiesSigned,
    ];

    pub fn name(self) -> &'static str {
        match self {
            System::Bare => "bare",
            System::PalisadeCookie => "palisade-cookie",
            System::PalisadeMemory => "palisade-memory",
            System::PalisadeSqlite => "palisade-sqlite",
            System::PalisadePostgres => "palisade-postgres",
            System::PalisadeRedis => "palisade-redis",
            System::TowerSessionsMemory => "tower-sessions-memory",
            System::TowerSessionsRedis => "tower-sessions-redis",
            System::TowerCookiesSigned => "tower-cookies-signed",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// False for the Palisade stores whose cargo feature is off.
    pub fn is_built(self) -> bool {
        let feature_off = (self == System::PalisadePostgres && !cfg!(feature = "postgres"))
            || (self == System::PalisadeRedis && !cfg!(feature = "redis"));
        !feature_off
    }
}

/// What `/stats` reports besides the process's RSS: store calls so far (and
/// the number of sessions held, where the store can tell).
pub type StatsFn = Arc<dyn Fn() -> serde_json::Value + Send + Sync>;

/// The router of `system`, `/stats` included.
pub async fn build(system: System, options: &Options) -> Result<Router, BoxError> {
    let (routes, stats): (Router, Option<StatsFn>) = match system {
        System::Bare => (bare::routes(), None),
        System::PalisadeCookie => (palisade::cookie_sessions()?, None),
        System::PalisadeMemory => palisade::memory(options)?,
        System::PalisadeSqlite => palisade::sqlite(options).await?,
        System::PalisadePostgres => palisade::postgres(options).await?,
        System::PalisadeRedis => palisade::redis(options).await?,
        System::TowerSessionsMemory => tower_sessions::memory(),
        System::TowerSessionsRedis => tower_sessions::redis(options).await?,
        System::TowerCookiesSigned => (tower_cookies::routes(), None),
    };
    let name = system.name();
    let stats_route = get(move || {
        let store = stats.as_ref().map(|f| f());
        async move {
            Json(serde_json::json!({
                "system": name,
                "rss_bytes": crate::proc_stats::rss_bytes(),
                "cpu_us": crate::proc_stats::cpu_time_us(),
                "store": store,
            }))
        }
    });
    // Merged after the session layer was applied: `/stats` never touches it.
    Ok(routes.route("/stats", stats_route))
}

/// The `name=value` part of a response's `Set-Cookie`, as a browser would
/// send it back; `None` when the response sets no cookie.
pub fn cookie_pair<B>(response: &http::Response<B>) -> Option<String> {
    let set_cookie = response.headers().get(http::header::SET_COOKIE)?.to_str().ok()?;
    Some(set_cookie.split(';').next()?.to_owned())
}

/// The session cookie `/login` gives (in-process, no TCP), if the system
/// sets one.
pub async fn login_cookie(app: &Router) -> Option<String> {
    use tower::ServiceExt;
    let request = http::Request::get("/login").body(axum::body::Body::empty()).expect("a valid request");
    let response = app.clone().oneshot(request).await.expect("axum routers are infallible");
    cookie_pair(&response)
}
