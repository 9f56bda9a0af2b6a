//! Sessions: a tower layer and a [`Session`] handle for handlers.
//!
//! Two modes behind one API:
//! - **server-side** ([`SessionLayer::server_side`]): the cookie holds only a
//!   signed 256-bit random id; the data lives in a [`Store`](crate::store::Store),
//!   filed under the SHA-256 of the id. [`Session::flush`] deletes the record,
//!   so a copied cookie is dead after logout.
//! - **cookie** ([`SessionLayer::cookie_only`]): all data in the cookie,
//!   encrypted (XChaCha20-Poly1305) by default. Such a session **cannot be
//!   revoked before it expires**: a copy of the cookie stays valid until its
//!   idle or absolute timeout. Use server-side sessions where logout must
//!   really end the session everywhere.
//!
//! Vocabulary (used everywhere in Palisade):
//! - [`Session::rotate_id`]: new id, same data. Call at login: stops session
//!   fixation (an attacker who planted an id before login gains nothing).
//! - [`Session::flush`]: delete data and id, expire the cookie. Call at logout.
//!
//! The session is **lazy**: a request whose handler never touches it costs no
//! store call and sends no cookie. A session that was only read costs one
//! store read and no write, except a throttled "last seen" refresh.
//!
//! ```no_run
//! use axum::{routing::post, Router};
//! use palisade::{keys::KeyRing, session::{Session, SessionError, SessionLayer}, store::MemoryStore};
//!
//! async fn login(session: Session) -> Result<&'static str, SessionError> {
//!     // ... check the password first ...
//!     session.rotate_id().await?;
//!     session.insert("user_id", 42).await?;
//!     Ok("welcome")
//! }
//!
//! async fn logout(session: Session) -> Result<&'static str, SessionError> {
//!     session.flush().await?;
//!     Ok("bye")
//! }
//!
//! # fn app() -> Result<Router, Box<dyn std::error::Error>> {
//! let layer = SessionLayer::server_side(MemoryStore::new(), KeyRing::generate()).build()?;
//! Ok(Router::new().route("/login", post(login)).route("/logout", post(logout)).layer(layer))
//! # }
//! ```

mod config;
mod error;
#[cfg(feature = "axum")]
mod extract;
mod handle;
pub(crate) mod hook;
mod id;
mod layer;

pub use config::{Expiry, ExtensionConfigError, SessionConfigError, SessionLayerBuilder, DEFAULT_COOKIE_NAME};
pub use error::SessionError;
pub use handle::{Session, SessionMeta, ID_BOUND_PREFIX};
pub use layer::{SessionLayer, SessionService};
