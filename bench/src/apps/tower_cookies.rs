//! Peer: tower-cookies signed cookies. The counter itself is the cookie
//! value, signed (HMAC-SHA256) but readable by the client. Attributes set
//! to match Palisade's (Secure, HttpOnly, SameSite=Lax, Path=/).

use super::COUNTER;
use axum::{extract::State, routing::get, Router};
use std::sync::Arc;
use tower_cookies::cookie::SameSite;
use tower_cookies::{CookieManagerLayer, Cookies, Key};

type SharedKey = State<Arc<Key>>;

fn current(cookies: &Cookies, key: &Key) -> u64 {
    cookies.signed(key).get(COUNTER).and_then(|c| c.value().parse().ok()).unwrap_or(0)
}

fn set(cookies: &Cookies, key: &Key, n: u64) {
    let cookie = tower_cookies::Cookie::build((COUNTER, n.to_string()))
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Lax)
        .build();
    cookies.signed(key).add(cookie);
}

async fn counter(State(key): SharedKey, cookies: Cookies) -> String {
    let n = current(&cookies, &key);
    set(&cookies, &key, n + 1);
    (n + 1).to_string()
}

async fn read(State(key): SharedKey, cookies: Cookies) -> String {
    current(&cookies, &key).to_string()
}

async fn login(State(key): SharedKey, cookies: Cookies) -> String {
    set(&cookies, &key, 0);
    0u64.to_string()
}

pub fn routes() -> Router {
    Router::new()
        .route("/counter", get(counter))
        .route("/read", get(read))
        .route("/none", get(|| async { "ok" }))
        .route("/login", get(login))
        .layer(CookieManagerLayer::new())
        .with_state(Arc::new(Key::generate()))
}
