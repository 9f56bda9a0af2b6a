//! # Palisade
//!
//! Secure-by-default sessions and cookies for tower and axum.
//!
//! | module | what it does | the attack it stops |
//! |---|---|---|
//! | [`keys`] | master secrets, per-purpose sub-keys (HKDF), rotation | one leaked sub-key unlocking everything; logging everyone out on rotation |
//! | [`cookie`] | signed or encrypted cookie values bound to name and age | tampering, reading, moving or replaying a cookie |
//! | [`session`] | the session layer and `Session` extractor | fixation, theft from store dumps, lost logouts, cached cookies |
//! | [`store`] | where server-side sessions live | lost updates and resurrected sessions |
//! | [`csrf`] | origin checks, masked session tokens, signed double-submit cookies | cross-site request forgery, login CSRF |
//! | [`headers`] | CSP with a fresh nonce per response, HSTS, framing, sniffing, referrer, COOP/CORP, Permissions-Policy; a violation-report endpoint | XSS, clickjacking, TLS stripping, MIME sniffing, referrer leaks, cross-origin leaks |
//! | [`https`] | plain-HTTP requests redirected to HTTPS before any session is loaded | cookies and pages sent in clear; open redirects through a forged `Host` |
//! | [`redirect`] | safe `next` redirects | open redirects |
//! | [`auth`] | login, logout, `CurrentUser`, fresh logins | session fixation, login CSRF follow-ups, account takeover from a borrowed or stolen session |
//! | [`binding`] | a signed-in session only works from the client that signed in | a stolen session cookie replayed from elsewhere |
//! | [`remember`] | remember-me tokens (split selector/validator, rotated on use) | stolen or replayed remember-me cookies; store dumps yielding cookies |
//! | [`throttle`] | password guesses and registrations counted per account and network, exponential backoff, `429` + `Retry-After` | online password guessing, credential stuffing, lockout as a denial of service |
//! | [`client`] | the client's address and scheme, believing forwarding headers only from trusted proxies | trusting a spoofed `X-Forwarded-For` or `X-Forwarded-Proto` |
//! | [`sri`] | Subresource Integrity values and tags for static assets | a modified script or stylesheet running |
//! | [`attachment`] | user uploads served as downloads with safe type and filename | stored XSS through uploaded HTML/SVG; header injection through filenames |
//! | [`clock`] | the time source (injectable for tests) | — |
//! | `flask` (feature) | who is signed in to a Flask app on the same domain (its cookies verified, never written), and the switch-over to Palisade | forged, expired, re-keyed or moved Flask cookies accepted during a migration; a pickle from a session store run |
//! | [`body`] | the bodies the layers answer with, generic over the app's | layers that do not compose |
//! | [`stack`] | all of the above in one call, in the right order ([`Stack`]) | a layer forgotten or in the wrong order |
//!
//! ## Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `sqlite` | on | [`store::SqliteStore`], the embedded store (one file, no server) |
//! | `axum` | on | axum extractors (`Session`, `CurrentUser`, `CsrfToken`, `CspNonce`, `ClientIp`, …) and [`Stack`] |
//! | `postgres` | off | `store::PostgresStore`, for several app instances on one database |
//! | `redis` | off | `store::RedisStore`, standalone or Redis Cluster, for several app instances |
//! | `flask` | off | `flask::FlaskApp`: read a Flask app's session cookie and Flask-Login's login, for a move from Flask one route at a time |
//! | `flask-session` | off | `flask::FlaskSessionRedis`: the same for Flask-Session's server-side sessions in Redis (read-only) |
//! | `minijinja` | off | `{{ csrf_field() }}`, `{{ csrf_token() }}`, `{{ csp_nonce() }}` and the SRI tag helpers in minijinja templates |
//! | `bench-internals` | off | hidden entry points for the benchmarks in `bench/`; not API, no stability promise |
//! | `fuzz-internals` | off | hidden entry points for the fuzz targets in `fuzz/`; not API, no stability promise |
//!
//! Without `axum`, every layer is still a plain tower layer over `http`
//! types; the handlers reach the session through the request extensions.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use palisade::{keys::KeyRing, session::{Session, SessionLayer}, store::MemoryStore};
//!
//! async fn visits(session: Session) -> Result<String, palisade::session::SessionError> {
//!     let n: u64 = session.get("visits").await?.unwrap_or(0);
//!     session.insert("visits", n + 1).await?;
//!     Ok(format!("visit #{}", n + 1))
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let keys = KeyRing::from_env()?; // PALISADE_SECRET_KEY, base64, >= 32 random bytes
//! let sessions = SessionLayer::server_side(MemoryStore::new(), keys).build()?;
//! let app: Router = Router::new().route("/", get(visits)).layer(sessions);
//! # let _ = app; Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

pub mod attachment;
pub mod auth;
#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub mod bench_internals;
pub mod binding;
pub mod body;
pub mod client;
pub mod clock;
pub mod cookie;
pub mod csrf;
#[cfg(feature = "flask")]
pub mod flask;
#[cfg(feature = "fuzz-internals")]
#[doc(hidden)]
pub mod fuzz_internals;
pub mod headers;
pub mod https;
pub mod keys;
mod random;
pub mod redirect;
pub mod remember;
pub mod session;
pub mod sri;
#[cfg(feature = "axum")]
pub mod stack;
pub mod store;
pub mod throttle;

#[cfg(feature = "axum")]
pub use stack::Stack;
