//! A small app and cookie-keeping client for the CSRF tests: a real axum
//! router with the session layer outside the CSRF layer, driven with
//! `tower::ServiceExt::oneshot`.
#![allow(dead_code)] // each test binary uses a different part

use axum::body::{Body, Bytes};
use axum::response::IntoResponse;
use axum::routing::{any, get, post};
use axum::Router;
use http::{header, HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use palisade::csrf::{CsrfLayer, CsrfLayerBuilder, CsrfToken};
use palisade::keys::KeyRing;
use palisade::session::{Session, SessionLayer};
use palisade::store::{CountingStore, MemoryStore};
use std::collections::BTreeMap;
use std::sync::Mutex;
use tower::ServiceExt;

pub const HOST: &str = "example.com";

/// Renders `n` masked tokens, one per line.
async fn tokens(token: CsrfToken, axum::extract::Path(n): axum::extract::Path<usize>) -> String {
    (0..n).map(|_| token.masked()).collect::<Vec<_>>().join("\n")
}

async fn token(token: CsrfToken) -> String {
    token.masked()
}

/// Takes a token but never renders it.
async fn token_unused(_token: CsrfToken) -> &'static str {
    "no form here"
}

async fn plain() -> &'static str {
    "plain"
}

/// Echoes the body it received, byte for byte, with a `Vary` of its own.
async fn echo(body: Bytes) -> impl IntoResponse {
    ([(header::VARY, "Accept-Encoding")], body)
}

async fn login(session: Session) -> Result<&'static str, palisade::session::SessionError> {
    session.rotate_id().await?;
    session.insert("user", "alice").await?;
    Ok("logged in")
}

/// A GET that starts a stored session (test-only shortcut).
async fn visit(session: Session) -> Result<&'static str, palisade::session::SessionError> {
    session.insert("visited", true).await?;
    Ok("visited")
}

pub fn routes() -> Router {
    Router::new()
        .route("/token", get(token))
        .route("/tokens/{n}", get(tokens))
        .route("/token-unused", get(token_unused))
        .route("/plain", get(plain))
        .route("/ws", get(plain))
        .route("/visit", get(visit))
        .route("/submit", any(echo))
        .route("/webhook", post(echo))
        .route("/bypass/", post(echo))
        .route("/login", post(login))
        .fallback(any(echo))
}

/// The app under test and its session store.
pub struct App {
    pub router: Router,
    pub store: CountingStore<MemoryStore>,
}

impl App {
    pub fn new(csrf: CsrfLayerBuilder) -> Self {
        Self::with_keys(csrf, KeyRing::generate())
    }

    pub fn with_keys(csrf: CsrfLayerBuilder, keys: KeyRing) -> Self {
        let store = CountingStore::new(MemoryStore::new());
        let sessions = SessionLayer::server_side(store.clone(), keys).build().unwrap();
        let router = routes().layer(csrf.build().unwrap()).layer(sessions);
        Self { router, store }
    }

    /// The CSRF layer without any session layer (misconfiguration).
    pub fn without_sessions(csrf: CsrfLayerBuilder) -> Self {
        let store = CountingStore::new(MemoryStore::new());
        Self { router: routes().layer(csrf.build().unwrap()), store }
    }

    pub fn client(&self) -> Client {
        Client { router: self.router.clone(), jar: Mutex::new(BTreeMap::new()) }
    }
}

/// What came back.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect()
    }

    pub fn vary(&self) -> Vec<String> {
        self.headers.get_all(header::VARY).iter().map(|v| v.to_str().unwrap().to_owned()).collect()
    }
}

/// A browser-like client: keeps the cookies the app sets.
pub struct Client {
    pub router: Router,
    pub jar: Mutex<BTreeMap<String, String>>,
}

impl Client {
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.lock().unwrap().get(name).cloned()
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        self.jar.lock().unwrap().insert(name.to_owned(), value.to_owned());
    }

    /// Sends `req` (a `Host: example.com` is added unless given) with the
    /// jar's cookies, and keeps what `Set-Cookie` says.
    pub async fn send(&self, req: http::request::Builder, body: impl Into<Body>) -> Reply {
        let mut req = req.body(body.into()).unwrap();
        if !req.headers().contains_key(header::HOST) {
            req.headers_mut().insert(header::HOST, HOST.parse().unwrap());
        }
        let cookies: Vec<String> = self.jar.lock().unwrap().iter().map(|(k, v)| format!("{k}={v}")).collect();
        if !cookies.is_empty() {
            req.headers_mut().insert(header::COOKIE, cookies.join("; ").parse().unwrap());
        }
        let res = self.router.clone().oneshot(req).await.unwrap();
        let (parts, body) = res.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        let reply = Reply { status: parts.status, headers: parts.headers, body };
        for set in reply.set_cookies() {
            let pair = set.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let mut jar = self.jar.lock().unwrap();
            if set.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
        reply
    }

    /// A freshly rendered token for this client's session.
    pub async fn token(&self) -> String {
        let reply = self.send(get_req("/token"), Body::empty()).await;
        assert_eq!(reply.status, StatusCode::OK);
        reply.text()
    }
}

pub fn get_req(uri: &str) -> http::request::Builder {
    Request::builder().method("GET").uri(uri)
}

pub fn post_req(uri: &str) -> http::request::Builder {
    Request::builder().method("POST").uri(uri)
}

/// A urlencoded form body.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&format!("{}={}", encode(k), encode(v)));
    }
    out
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub const FORM: &str = "application/x-www-form-urlencoded";

/// A `CsrfLayer` builder for tests.
pub fn default_layer() -> CsrfLayerBuilder {
    CsrfLayer::builder()
}
