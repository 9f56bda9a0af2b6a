//! The systems under test: one axum router each, with the same routes and
//! the same handler bodies, so only the session machinery differs.

mod bare;
mod palisade;
mod stack;
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
    /// Peer: tower-cookies private cookies (AES-256-GCM).
    TowerCookiesPrivate,
    /// Peer: tower-sessions with `tower-sessions-sqlx-store` on a SQLite file.
    TowerSessionsSqlite,
    /// Peer: tower-sessions with `tower-sessions-sqlx-store` on PostgreSQL.
    TowerSessionsPostgres,
    /// The full stack page on Palisade's `Stack` (memory store).
    PalisadeStack,
    /// The full stack page on tower-sessions + axum-login + axum_csrf + tower-http.
    PeersStack,
    /// The full stack page with no session, sign-in or CSRF: the ceiling.
    BareStack,
}

impl System {
    pub const ALL: [System; 15] = [
        System::Bare,
        System::PalisadeCookie,
        System::PalisadeMemory,
        System::PalisadeSqlite,
        System::PalisadePostgres,
        System::PalisadeRedis,
        System::TowerSessionsMemory,
        System::TowerSessionsRedis,
        System::TowerCookiesSigned,
        System::TowerCookiesPrivate,
        System::TowerSessionsSqlite,
        System::TowerSessionsPostgres,
        System::PalisadeStack,
        System::PeersStack,
        System::BareStack,
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
            System::TowerCookiesPrivate => "tower-cookies-private",
            System::TowerSessionsSqlite => "tower-sessions-sqlite",
            System::TowerSessionsPostgres => "tower-sessions-postgres",
            System::PalisadeStack => "palisade-stack",
            System::PeersStack => "peers-stack",
            System::BareStack => "bare-stack",
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
        System::TowerCookiesSigned => (tower_cookies::routes(false), None),
        System::TowerCookiesPrivate => (tower_cookies::routes(true), None),
        System::TowerSessionsSqlite => tower_sessions::sqlite(options).await?,
        System::TowerSessionsPostgres => tower_sessions::postgres(options).await?,
        System::PalisadeStack => (stack::palisade_stack::routes()?, None),
        System::PeersStack => (stack::peers_stack::routes(), None),
        System::BareStack => (stack::bare_stack::routes(), None),
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

/// The `User-Agent` every bench request carries (wrk's script and the
/// in-process drivers): Palisade binds a signed-in session to it.
pub const USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0";

/// The `name=value` parts of a response's `Set-Cookie` headers joined by
/// `; `, as a browser would send them back; `None` when it sets none.
pub fn cookie_pair<B>(response: &http::Response<B>) -> Option<String> {
    let pairs: Vec<&str> = response
        .headers()
        .get_all(http::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok()?.split(';').next())
        .collect();
    (!pairs.is_empty()).then(|| pairs.join("; "))
}

/// `cookie` (a request's `Cookie` value) with the `name=value` pairs in
/// `set` replacing those of the same name, as a browser's jar would.
pub fn merge_cookies(cookie: Option<&str>, set: &str) -> String {
    let mut pairs: Vec<&str> = cookie.map(|c| c.split("; ").collect()).unwrap_or_default();
    for new in set.split("; ") {
        let name = new.split('=').next().unwrap_or(new);
        pairs.retain(|old| old.split('=').next() != Some(name));
        pairs.push(new);
    }
    pairs.join("; ")
}

/// A GET of `path` as the bench's clients send it: the bench user agent and
/// the peer address axum's `ConnectInfo` gives a served request.
pub fn request(path: &str, cookie: Option<&str>) -> http::Request<axum::body::Body> {
    let mut request = http::Request::get(path).header(http::header::USER_AGENT, USER_AGENT);
    if let Some(cookie) = cookie {
        request = request.header(http::header::COOKIE, cookie);
    }
    let mut request = request.body(axum::body::Body::empty()).expect("a valid request");
    let peer = std::net::SocketAddr::from(([127, 0, 0, 1], 40000));
    request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
    request
}

/// The session cookie(s) `/login` gives (in-process, no TCP), if the system
/// sets any.
pub async fn login_cookie(app: &Router) -> Option<String> {
    use tower::ServiceExt;
    let response = app.clone().oneshot(request("/login", None)).await.expect("axum routers are infallible");
    cookie_pair(&response)
}
