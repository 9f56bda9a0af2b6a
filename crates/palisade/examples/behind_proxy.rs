//! An app behind a TLS-terminating reverse proxy (nginx, a load balancer):
//! forwarding headers are believed only from the proxy's addresses, so the
//! app sees the real client address and `https`, and everything that
//! depends on them (secure cookies, HSTS, the CSRF origin check, session
//! binding, logs) works as if the app terminated TLS itself.
//!
//! The proxy must set, not append to, `X-Forwarded-Proto` (nginx):
//!
//! ```text
//! proxy_set_header X-Forwarded-For   $proxy_add_x_forwarded_for;
//! proxy_set_header X-Forwarded-Proto $scheme;
//! ```
//!
//! ```sh
//! PALISADE_SECRET_KEY=$(openssl rand -base64 32) PALISADE_TRUSTED_PROXIES=127.0.0.1 \
//!     cargo run -p palisade --example behind_proxy
//! ```
//!
//! `tests/example_behind_proxy.rs` drives it.

use axum::routing::get;
use axum::Router;
use palisade::client::{ClientIp, RequestScheme, TrustedProxyLayer};
use palisade::keys::KeyRing;
use palisade::store::MemoryStore;
use palisade::Stack;

/// The app, trusting the proxies in `proxies` (addresses or CIDR ranges,
/// comma-separated, as in `PALISADE_TRUSTED_PROXIES`).
pub fn app(keys: KeyRing, proxies: &str) -> Result<Router, Box<dyn std::error::Error>> {
    let proxies = TrustedProxyLayer::from_list(proxies)?;
    let stack = Stack::server_side(MemoryStore::new(), keys).trusted_proxies(proxies).build()?;
    Ok(stack.wrap(Router::new().route("/whoami", get(whoami))))
}

/// What the app believes about the client.
async fn whoami(ClientIp(ip): ClientIp, scheme: RequestScheme) -> String {
    format!("{ip} {}", if scheme.is_https() { "https" } else { "http" })
}

#[allow(dead_code)] // the tests use `app` only
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proxies = std::env::var("PALISADE_TRUSTED_PROXIES").unwrap_or_default();
    let app = app(KeyRing::from_env()?, &proxies)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await?;
    Ok(())
}
