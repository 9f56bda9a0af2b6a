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
//! | [`redirect`] | safe `next` redirects | open redirects |
//! | [`client`] | the client's address and user agent as recorded with a session | trusting a spoofed `X-Forwarded-For` |
//! | [`clock`] | the time source (injectable for tests) | — |
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

pub mod client;
pub mod clock;
pub mod cookie;
pub mod keys;
mod random;
pub mod redirect;
pub mod session;
pub mod store;
