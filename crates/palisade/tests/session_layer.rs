//! The session layer end to end through an axum router, with a counting
//! store and a manual clock.

use axum::body::Body;
use axum::extract::Path;
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::{header, Request, Response, StatusCode};
use http_body_util::BodyExt;
use palisade::clock::ManualClock;
use palisade::keys::KeyRing;
use palisade::session::{Session, SessionError, SessionLayer};
use palisade::store::{CountingStore, MemoryStore, Store, StoreKey};
use std::time::Duration;
use tower::ServiceExt;

const START: i64 = 1_700_000_000;
const COOKIE: &str = "__Host-session";

async fn untouched() -> &'static str {
    "ok"
}

async fn read(session: Session) -> Result<String, SessionError> {
    let user: Option<String> = session.get("user").await?;
    Ok(user.unwrap_or_else(|| "anonymous".into()))
}

async fn set(session: Session, Path((key, value)): Path<(String, String)>) -> Result<&'static str, SessionError> {
    session.insert(&key, value).await?;
    Ok("set")
}

async fn login(session: Session) -> Result<&'static str, SessionError> {
    session.rotate_id().await?;
    session.insert("user", "alice").await?;
    Ok("logged in")
}

async fn logout(session: Session) -> Result<&'static str, SessionError> {
    session.flush().await?;
    Ok("logged out")
}

fn routes() -> Router {
    Router::new()
        .route("/untouched", get(untouched))
        .route("/read", get(read))
        .route("/set/{key}/{value}", post(set))
        .route("/login", post(login))
        .route("/logout", post(logout))
}

struct Harness {
    app: Router,
    store: CountingStore<MemoryStore>,
    clock: ManualClock,
}

impl Harness {
    fn new() -> Self {
        Self::with_keys(KeyRing::generate())
    }

    fn with_keys(keys: KeyRing) -> Self {
        Self::with_store(keys, CountingStore::new(MemoryStore::new()))
    }

    fn with_store(keys: KeyRing, store: CountingStore<MemoryStore>) -> Self {
        let clock = ManualClock::new(START);
        let layer = SessionLayer::server_side(store.clone(), keys).clock(clock.clone()).build().unwrap();
        Self { app: routes().layer(layer), store, clock }
    }

    async fn send(&self, method: &str, uri: &str, cookie: Option<&str>) -> Response<Body> {
        send(&self.app, method, uri, cookie).await
    }
}

async fn send(app: &Router, method: &str, uri: &str, cookie: Option<&str>) -> Response<Body> {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(cookie) = cookie {
        req = req.header(header::COOKIE, format!("{COOKIE}={cookie}"));
    }
    app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap()
}

async fn text(res: Response<Body>) -> String {
    String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

fn set_cookie(res: &Response<Body>) -> Option<String> {
    res.headers().get(header::SET_COOKIE).map(|v| v.to_str().unwrap().to_owned())
}

/// The cookie value from a `Set-Cookie` header.
fn cookie_value(res: &Response<Body>) -> String {
    let header = set_cookie(res).expect("a Set-Cookie header");
    let pair = header.split(';').next().unwrap();
    pair.strip_prefix(&format!("{COOKIE}=")).unwrap().to_owned()
}

/// The store key of the id inside a signed id cookie (header 13 bytes, id 32).
fn store_key_of(cookie: &str) -> StoreKey {
    let raw = URL_SAFE_NO_PAD.decode(cookie).unwrap();
    StoreKey::from_session_id(&raw[13..45])
}

#[tokio::test]
async fn a_handler_that_never_touches_the_session_costs_no_store_call_and_no_cookie() {
    let h = Harness::new();
    let cookie = cookie_value(&h.send("POST", "/set/user/bob", None).await);
    let before = h.store.counts();
    let res = h.send("GET", "/untouched", Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(h.store.counts(), before, "no store call at all");
    assert!(set_cookie(&res).is_none());
    assert!(res.headers().get(header::VARY).is_none());
}

#[tokio::test]
async fn anonymous_reads_create_no_session() {
    let h = Harness::new();
    let res = h.send("GET", "/read", None).await;
    assert!(set_cookie(&res).is_none());
    assert_eq!(res.headers().get(header::VARY).unwrap(), "Cookie");
    assert_eq!(text(res).await, "anonymous");
    assert_eq!(h.store.counts().total(), 0);
    assert!(h.store.inner().is_empty());
}

#[tokio::test]
async fn writing_creates_a_session_with_secure_cookie_flags() {
    let h = Harness::new();
    let res = h.send("POST", "/set/user/bob", None).await;
    let header = set_cookie(&res).unwrap();
    for flag in ["__Host-session=", "Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(header.contains(flag), "{header} lacks {flag}");
    }
    assert!(!header.contains("Domain"));
    assert_eq!(res.headers().get(header::CACHE_CONTROL).unwrap(), "no-store");
    assert_eq!(h.store.counts().create, 1);
    assert_eq!(text(h.send("GET", "/read", Some(&cookie_value(&res))).await).await, "bob");
}

#[tokio::test]
async fn a_read_costs_one_store_read_and_no_write_or_cookie() {
    let h = Harness::new();
    let cookie = cookie_value(&h.send("POST", "/set/user/bob", None).await);
    let before = h.store.counts();
    let res = h.send("GET", "/read", Some(&cookie)).await;
    let after = h.store.counts();
    assert_eq!(after.load - before.load, 1);
    assert_eq!(after.writes(), before.writes());
    assert!(set_cookie(&res).is_none());
    assert_eq!(res.headers().get(header::VARY).unwrap(), "Cookie");
}

#[tokio::test]
async fn a_change_costs_one_read_and_one_write() {
    let h = Harness::new();
    let cookie = cookie_value(&h.send("POST", "/set/user/bob", None).await);
    let before = h.store.counts();
    let res = h.send("POST", "/set/theme/dark", Some(&cookie)).await;
    let after = h.store.counts();
    assert_eq!((after.load - before.load, after.apply - before.apply, after.total() - before.total()), (1, 1, 2));
    assert!(set_cookie(&res).is_none(), "same id: no new cookie");
}

#[tokio::test]
async fn rotate_id_changes_the_id_keeps_the_data_and_removes_the_old_record() {
    let h = Harness::new();
    let before_login = cookie_value(&h.send("POST", "/set/cart/3-apples", None).await);
    let res = h.send("POST", "/login", Some(&before_login)).await;
    let after_login = cookie_value(&res);
    assert_ne!(store_key_of(&before_login), store_key_of(&after_login));
    let now = START;
    assert!(h.store.inner().load(&store_key_of(&before_login), now).await.unwrap().is_none());
    let record = h.store.inner().load(&store_key_of(&after_login), now).await.unwrap().unwrap();
    assert_eq!(record.data["cart"], "3-apples");
    assert_eq!(record.data["user"], "alice");
    // The pre-login id (which an attacker may have planted) is worthless now.
    assert_eq!(text(h.send("GET", "/read", Some(&before_login)).await).await, "anonymous");
}

#[tokio::test]
async fn after_flush_the_replayed_old_cookie_gets_an_empty_session() {
    let h = Harness::new();
    let cookie = cookie_value(&h.send("POST", "/login", None).await);
    assert_eq!(text(h.send("GET", "/read", Some(&cookie)).await).await, "alice");
    let res = h.send("POST", "/logout", Some(&cookie)).await;
    let removal = set_cookie(&res).unwrap();
    assert!(removal.contains("Max-Age=0"), "{removal}");
    assert!(h.store.inner().is_empty(), "the record is deleted");
    assert_eq!(text(h.send("GET", "/read", Some(&cookie)).await).await, "anonymous");
}

#[tokio::test]
async fn a_well_signed_but_unknown_id_is_never_adopted() {
    let keys = KeyRing::generate();
    let elsewhere = Harness::with_keys(keys.clone());
    let foreign = cookie_value(&elsewhere.send("POST", "/set/user/mallory", None).await);
    let h = Harness::with_keys(keys);
    assert_eq!(text(h.send("GET", "/read", Some(&foreign)).await).await, "anonymous");
    let issued = cookie_value(&h.send("POST", "/set/user/victim", Some(&foreign)).await);
    assert_ne!(store_key_of(&issued), store_key_of(&foreign), "the client gets a fresh id");
}

#[tokio::test]
async fn tampered_cookies_mean_an_empty_session_not_an_error() {
    let h = Harness::new();
    let cookie = cookie_value(&h.send("POST", "/set/user/bob", None).await);
    let mut raw = URL_SAFE_NO_PAD.decode(&cookie).unwrap();
    raw[20] ^= 1;
    let tampered = URL_SAFE_NO_PAD.encode(raw);
    let res = h.send("GET", "/read", Some(&tampered)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(text(res).await, "anonymous");
    let res = h.send("GET", "/read", Some(&"x".repeat(10_000))).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn idle_sessions_expire_on_the_server() {
    let h = Harness::new();
    let cookie = cookie_value(&h.send("POST", "/login", None).await);
    h.clock.advance(Duration::from_secs(29 * 60));
    assert_eq!(text(h.send("GET", "/read", Some(&cookie)).await).await, "alice");
    // That read refreshed last-seen (more than a minute had passed).
    h.clock.advance(Duration::from_secs(29 * 60));
    assert_eq!(text(h.send("GET", "/read", Some(&cookie)).await).await, "alice");
    h.clock.advance(Duration::from_secs(30 * 60));
    assert_eq!(text(h.send("GET", "/read", Some(&cookie)).await).await, "anonymous");
}

#[tokio::test]
async fn busy_sessions_still_end_at_the_absolute_timeout() {
    let h = Harness::new();
    let cookie = cookie_value(&h.send("POST", "/login", None).await);
    for _ in 0..(8 * 60 / 20 - 1) {
        h.clock.advance(Duration::from_secs(20 * 60));
        assert_eq!(text(h.send("GET", "/read", Some(&cookie)).await).await, "alice");
    }
    h.clock.advance(Duration::from_secs(20 * 60));
    assert_eq!(text(h.send("GET", "/read", Some(&cookie)).await).await, "anonymous");
}

#[tokio::test]
async fn last_seen_refresh_is_throttled() {
    let h = Harness::new();
    let cookie = cookie_value(&h.send("POST", "/login", None).await);
    let before = h.store.counts();
    for _ in 0..5 {
        h.clock.advance(Duration::from_secs(10));
        h.send("GET", "/read", Some(&cookie)).await;
    }
    assert_eq!(h.store.counts().writes(), before.writes(), "no write within the touch interval");
    h.clock.advance(Duration::from_secs(15));
    let res = h.send("GET", "/read", Some(&cookie)).await;
    assert_eq!(h.store.counts().apply - before.apply, 1, "one touch after 65 s");
    assert!(set_cookie(&res).is_none(), "a touch needs no new cookie");
}

#[tokio::test]
async fn a_cookie_signed_with_a_fallback_key_is_reissued_under_the_primary() {
    let old = KeyRing::generate_secret_base64();
    let new = KeyRing::generate_secret_base64();
    let store = CountingStore::new(MemoryStore::new());
    let before = Harness::with_store(KeyRing::from_base64(&old).unwrap(), store.clone());
    let cookie = cookie_value(&before.send("POST", "/login", None).await);
    let rotated_keys = KeyRing::from_base64(&new).unwrap().with_fallback_base64(&old).unwrap();
    let after = Harness::with_store(rotated_keys, store.clone());
    let res = after.send("GET", "/read", Some(&cookie)).await;
    let reissued = cookie_value(&res);
    assert_eq!(text(res).await, "alice", "nobody is logged out by a key rotation");
    assert_eq!(store_key_of(&reissued), store_key_of(&cookie), "same session id");
    assert_ne!(reissued, cookie);
    // Once the old secret is removed, old cookies die but re-issued ones live.
    let only_new = Harness::with_store(KeyRing::from_base64(&new).unwrap(), store);
    assert_eq!(text(only_new.send("GET", "/read", Some(&cookie)).await).await, "anonymous");
    assert_eq!(text(only_new.send("GET", "/read", Some(&reissued)).await).await, "alice");
}

#[tokio::test]
async fn a_session_without_a_layer_is_a_clear_500() {
    let res = send(&routes(), "GET", "/read", None).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    // A plain 500 for the client; the log line names the layer to add.
    assert_eq!(text(res).await, "Internal server error.");
    assert!(SessionError::MissingLayer.to_string().contains("add `SessionLayer`"));
}

#[tokio::test]
async fn a_handler_cannot_serve_an_anonymous_page_when_the_store_fails() {
    use async_trait::async_trait;
    use palisade::store::{Applied, Change, Record, StoreError, UnixTime};

    #[derive(Clone)]
    struct DeadStore;
    #[async_trait]
    impl Store for DeadStore {
        async fn load(&self, _: &StoreKey, _: UnixTime) -> Result<Option<Record>, StoreError> {
            Err(StoreError::Unavailable("connection refused".into()))
        }
        async fn create(&self, _: &StoreKey, _: &Record) -> Result<(), StoreError> {
            Err(StoreError::Unavailable("connection refused".into()))
        }
        async fn apply(&self, _: &StoreKey, _: &Change, _: UnixTime) -> Result<Applied, StoreError> {
            Err(StoreError::Unavailable("connection refused".into()))
        }
        async fn rotate(&self, _: &StoreKey, _: &StoreKey, _: &Record, _: UnixTime) -> Result<Applied, StoreError> {
            Err(StoreError::Unavailable("connection refused".into()))
        }
        async fn delete(&self, _: &StoreKey) -> Result<(), StoreError> {
            Err(StoreError::Unavailable("connection refused".into()))
        }
        async fn sweep(&self, _: UnixTime) -> Result<u64, StoreError> {
            Ok(0)
        }
        async fn sessions_of(&self, _: &str, _: UnixTime) -> Result<Vec<palisade::store::SessionInfo>, StoreError> {
            Err(StoreError::Unavailable("connection refused".into()))
        }
        async fn revoke_user(&self, _: &str, _: Option<&StoreKey>) -> Result<u64, StoreError> {
            Err(StoreError::Unavailable("connection refused".into()))
        }
    }

    async fn swallowing(session: Session) -> String {
        // A careless handler that treats a store error as "not logged in".
        session.get::<String>("user").await.ok().flatten().unwrap_or_else(|| "anonymous".into())
    }

    let keys = KeyRing::generate();
    let live = Harness::with_keys(keys.clone());
    let cookie = cookie_value(&live.send("POST", "/login", None).await);
    let layer = SessionLayer::server_side(DeadStore, keys).clock(live.clock.clone()).build().unwrap();
    let app = routes().route("/swallow", get(swallowing)).layer(layer);
    for path in ["/read", "/swallow"] {
        let res = send(&app, "GET", path, Some(&cookie)).await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert!(set_cookie(&res).is_none());
    }
    // Routes that do not use the session keep working.
    assert_eq!(send(&app, "GET", "/untouched", Some(&cookie)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_request_racing_a_logout_does_not_resurrect_the_session() {
    use std::sync::Arc;
    use tokio::sync::Notify;

    let keys = KeyRing::generate();
    let h = Harness::with_keys(keys.clone());
    let cookie = cookie_value(&h.send("POST", "/login", None).await);
    let loaded = Arc::new(Notify::new());
    let logged_out = Arc::new(Notify::new());
    let (l, o) = (loaded.clone(), logged_out.clone());
    // Reads the session, waits until another request logged out, then writes.
    let slow = move |session: Session| async move {
        let _: Option<String> = session.get("user").await?;
        l.notify_one();
        o.notified().await;
        session.insert("late", "write").await?;
        Ok::<_, SessionError>("done")
    };
    let slow_app = routes()
        .route("/slow", post(slow))
        .layer(SessionLayer::server_side(h.store.clone(), keys).clock(h.clock.clone()).build().unwrap());
    let c = cookie.clone();
    let racing = tokio::spawn(async move { send(&slow_app, "POST", "/slow", Some(&c)).await });
    loaded.notified().await;
    h.send("POST", "/logout", Some(&cookie)).await;
    logged_out.notify_one();
    let res = racing.await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // The browser's cookie is left alone (the logout's response cleared it;
    // had the other request been a login, it would be the new one).
    assert!(set_cookie(&res).is_none(), "no cookie change from the request that lost the race");
    assert!(h.store.inner().is_empty(), "the logged-out session was not written back");
}
