//! Peers: tower-cookies signed cookies (HMAC-SHA256, value readable by the
//! client) and private cookies (AES-256-GCM, the like-for-like peer of
//! Palisade's encrypted cookie sessions). The counter itself is the cookie
//! value. Attributes set to match Palisade's (Secure, HttpOnly,
//! SameSite=Lax, Path=/).

use super::COUNTER;
use axum::{extract::State, routing::get, Router};
use std::sync::Arc;
use tower_cookies::cookie::SameSite;
use tower_cookies::{CookieManagerLayer, Cookies, Key};

/// The key, and whether cookies are encrypted (private) or only signed.
struct Jar {
    key: Key,
    private: bool,
}

type SharedKey = State<Arc<Jar>>;

fn current(cookies: &Cookies, jar: &Jar) -> u64 {
    let cookie =
        if jar.private { cookies.private(&jar.key).get(COUNTER) } else { cookies.signed(&jar.key).get(COUNTER) };
    cookie.and_then(|c| c.value().parse().ok()).unwrap_or(0)
}

fn set(cookies: &Cookies, jar: &Jar, n: u64) {
    let cookie = tower_cookies::Cookie::build((COUNTER, n.to_string()))
        .path("/")
        .secure(true)
        .http_only(true)
        .same_site(SameSite::Lax)
        .build();
    if jar.private {
        cookies.private(&jar.key).add(cookie);
    } else {
        cookies.signed(&jar.key).add(cookie);
    }
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

pub fn routes(private: bool) -> Router {
    Router::new()
        .route("/counter", get(counter))
        .route("/read", get(read))
        .route("/none", get(|| async { "ok" }))
        .route("/login", get(login))
        .layer(CookieManagerLayer::new())
        .with_state(Arc::new(Jar { key: Key::generate(), private }))
}
