//! The store and layer suites against a standalone Redis
//! (`PALISADE_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`), each test
//! under a key prefix of its own; then what only Redis has, on private
//! `redis-server` processes: commands per request counted by the server,
//! a server killed and restarted mid-test, a paused server, stored layout.

#[macro_use]
#[path = "common/attempt_suite.rs"]
mod attempt_suite;

#[macro_use]
#[path = "common/store_suite.rs"]
mod store_suite;

#[macro_use]
#[path = "common/layer_suite.rs"]
mod layer_suite;

#[path = "common/redis.rs"]
mod redis_common;

use axum::body::Body;
use axum::routing::{get, post};
use axum::Router;
use http::{header, Request, Response, StatusCode};
use palisade::clock::ManualClock;
use palisade::keys::KeyRing;
use palisade::session::{Session, SessionError, SessionLayer};
use palisade::store::{Applied, Change, Record, RedisStore, Store, StoreError, StoreKey};
use redis_common::{standalone_store, unique_prefix, RedisServer};
use serde_json::json;
use std::time::{Duration, Instant};
use tower::ServiceExt;

store_suite!(standalone_store());
attempt_suite!(standalone_store());
layer_suite!(standalone_store());

const NOW: i64 = 1_700_000_000;
const HOUR: i64 = 3_600;

fn record(data: serde_json::Value, expires_at: i64) -> Record {
    let serde_json::Value::Object(data) = data else { panic!("object expected") };
    Record { data, created_at: NOW - 10, last_seen: NOW - 5, expires_at, deadline: NOW + 8 * HOUR, ..Record::default() }
}

/// A plain connection for looking at what the store wrote.
fn raw(url: &str) -> redis::Connection {
    redis::Client::open(url).unwrap().get_connection().unwrap()
}

fn hash_key(store: &RedisStore, key: &StoreKey) -> String {
    format!("{}s:{}", store.key_prefix(), key.to_hex())
}

#[tokio::test]
async fn the_stored_key_is_the_sha256_hex_of_the_id_and_the_id_is_stored_nowhere() {
    let store = standalone_store().await;
    let id = b"raw-session-id-0123456789abcdef0123456789";
    let key = StoreKey::from_session_id(id);
    store.create(&key, &record(json!({"user": "alice"}), NOW + HOUR)).await.unwrap();
    let mut conn = raw(&redis_common::redis_url());
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{}*", store.inner.key_prefix())).query(&mut conn).unwrap();
    assert_eq!(keys, vec![hash_key(&store.inner, &key)]);
    let fields: Vec<(String, String)> = redis::cmd("HGETALL").arg(&keys[0]).query(&mut conn).unwrap();
    let id = std::str::from_utf8(id).unwrap();
    assert!(fields.iter().all(|(f, v)| !f.contains(id) && !v.contains(id)), "{fields:?}");
    assert!(fields.contains(&("d:user".into(), "\"alice\"".into())), "{fields:?}");
}

#[tokio::test]
async fn a_browser_user_agent_keeps_the_session_hash_a_compact_listpack() {
    // One value over Redis's `hash-max-listpack-value` (64 bytes by default)
    // turns the whole hash into a hash table, twice the memory.
    let store = standalone_store().await;
    let key = StoreKey::from_session_id(b"listpack");
    let user_agent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) \
                      Version/18.1 Safari/605.1.15 — ünïcödé at a piece boundary"
        .to_owned();
    assert!(user_agent.len() > 128);
    let mut rec = record(json!({"n": 1}), NOW + HOUR);
    rec.user_agent = Some(user_agent.clone());
    rec.user_id = Some("alice".into());
    rec.ip = Some("2001:db8::1".into());
    store.create(&key, &rec).await.unwrap();
    let mut conn = raw(&redis_common::redis_url());
    let encoding: String =
        redis::cmd("OBJECT").arg("ENCODING").arg(hash_key(&store.inner, &key)).query(&mut conn).unwrap();
    assert_eq!(encoding, "listpack");
    let loaded = store.load(&key, NOW).await.unwrap().unwrap();
    assert_eq!(loaded.user_agent.as_deref(), Some(user_agent.as_str()));
    let listed = store.sessions_of("alice", NOW).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].user_agent.as_deref(), Some(user_agent.as_str()));
}

#[tokio::test]
async fn ttls_count_from_the_callers_clock_not_redis_clock() {
    let store = standalone_store().await;
    let key = StoreKey::from_session_id(b"ttl");
    // NOW is years in the past: an absolute EXPIREAT would delete at once.
    let mut rec = record(json!({}), NOW + HOUR);
    rec.user_id = Some("tina".into());
    store.create(&key, &rec).await.unwrap();
    let mut conn = raw(&redis_common::redis_url());
    let ttl: i64 = redis::cmd("TTL").arg(hash_key(&store.inner, &key)).query(&mut conn).unwrap();
    assert!((HOUR + 5..=HOUR + 5 + 60).contains(&ttl), "session TTL {ttl}");
    let index = store.inner.key_prefix().to_owned() + "u:";
    let indexes: Vec<String> = redis::cmd("KEYS").arg(format!("{index}*")).query(&mut conn).unwrap();
    assert_eq!(indexes.len(), 1);
    let index_ttl: i64 = redis::cmd("TTL").arg(&indexes[0]).query(&mut conn).unwrap();
    assert!(index_ttl >= 8 * HOUR + 5, "the index outlives the session's deadline: {index_ttl}");

    let touch = Change { set: vec![], remove: vec![], last_seen: NOW, expires_at: NOW + 10 };
    assert_eq!(store.apply(&key, &touch, NOW).await.unwrap(), Applied::Done);
    let ttl: i64 = redis::cmd("TTL").arg(hash_key(&store.inner, &key)).query(&mut conn).unwrap();
    assert!((10..=70).contains(&ttl), "TTL reset from the new expiry: {ttl}");
    // A later, shorter-lived login never shortens the index.
    let mut short = record(json!({}), NOW + 10);
    short.user_id = Some("tina".into());
    short.deadline = NOW + 20;
    store.create(&StoreKey::from_session_id(b"ttl2"), &short).await.unwrap();
    let after: i64 = redis::cmd("TTL").arg(&indexes[0]).query(&mut conn).unwrap();
    assert!(after >= index_ttl - 5, "index TTL shortened from {index_ttl} to {after}");
}

#[tokio::test]
async fn bad_hash_content_is_corrupt_never_a_panic_and_never_quoted() {
    let store = standalone_store().await;
    let mut conn = raw(&redis_common::redis_url());
    let live = (NOW + HOUR).to_string();
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("no expiry", vec![("c", "1"), ("d:k", "1")]),
        ("text expiry", vec![("e", "secret-tomorrow")]),
        ("bad json", vec![("c", "1"), ("l", "1"), ("e", &live), ("x", "1"), ("d:k", "{\"secret")]),
        ("no created", vec![("l", "1"), ("e", &live), ("x", "1")]),
    ];
    for (name, fields) in cases {
        let key = StoreKey::from_session_id(name.as_bytes());
        let _: () = redis::cmd("HSET").arg(hash_key(&store.inner, &key)).arg(&fields).query(&mut conn).unwrap();
        match store.load(&key, NOW).await {
            Err(StoreError::Corrupt(reason)) => assert!(!reason.contains("secret"), "{name}: {reason}"),
            other => panic!("{name}: expected Corrupt, got {other:?}"),
        }
    }
    // Not a hash at all.
    let key = StoreKey::from_session_id(b"string");
    let _: () = redis::cmd("SET").arg(hash_key(&store.inner, &key)).arg("secret").query(&mut conn).unwrap();
    assert!(matches!(store.load(&key, NOW).await, Err(StoreError::Corrupt(_))));
    // A write to a record whose expiry cannot be read writes nothing.
    let key = StoreKey::from_session_id(b"text expiry");
    let change = Change { set: vec![("x".into(), json!(1))], remove: vec![], last_seen: NOW, expires_at: NOW + 9 };
    assert_eq!(store.apply(&key, &change, NOW).await.unwrap(), Applied::Missing);
    // Junk in a user index is skipped and pruned.
    let index = format!("{}u:{}", store.inner.key_prefix(), {
        use sha2::{Digest, Sha256};
        StoreKey::from_bytes(Sha256::digest(b"uma").into()).to_hex()
    });
    let _: () = redis::cmd("ZADD").arg(&index).arg(NOW + HOUR).arg("not-a-key").query(&mut conn).unwrap();
    assert!(store.sessions_of("uma", NOW).await.unwrap().is_empty());
    let left: i64 = redis::cmd("ZCARD").arg(&index).query(&mut conn).unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn create_never_overwrites_an_existing_session() {
    let store = standalone_store().await;
    let key = StoreKey::from_session_id(b"s");
    store.create(&key, &record(json!({"user": "alice"}), NOW + HOUR)).await.unwrap();
    assert!(store.create(&key, &record(json!({"user": "mallory"}), NOW + HOUR)).await.is_err());
    let other = StoreKey::from_session_id(b"o");
    store.create(&other, &record(json!({}), NOW + HOUR)).await.unwrap();
    assert!(store.rotate(&other, &key, &record(json!({"user": "mallory"}), NOW + HOUR), NOW).await.is_err());
    let got = store.load(&key, NOW).await.unwrap().unwrap();
    assert_eq!(got.data.get("user"), Some(&json!("alice")));
    assert!(store.load(&other, NOW).await.unwrap().is_some(), "a refused rotation deletes nothing");
}

#[tokio::test]
async fn connect_refuses_bad_prefixes_and_reports_an_unreachable_server_as_unavailable() {
    for prefix in ["a{b}", "with space", ""] {
        let result = RedisStore::builder().key_prefix(prefix).connect(&redis_common::redis_url()).await;
        assert_eq!(result.is_err(), !prefix.is_empty(), "{prefix:?}");
    }
    let port = redis_common::free_port();
    let result = RedisStore::connect(&format!("redis://127.0.0.1:{port}")).await;
    assert!(matches!(result, Err(StoreError::Unavailable(_))), "{result:?}");
}

#[tokio::test]
async fn debug_shows_no_address_or_password() {
    let server = RedisServer::start();
    server.cli(&["CONFIG", "SET", "requirepass", "hunter2"]).unwrap();
    let url = format!("redis://:hunter2@127.0.0.1:{}", server.port);
    let store = RedisStore::builder().key_prefix(unique_prefix()).connect(&url).await.unwrap();
    let shown = format!("{store:?} {:?}", RedisStore::builder());
    assert!(shown.starts_with("RedisStore"), "{shown}");
    assert!(!shown.contains("hunter2") && !shown.contains(&server.port.to_string()), "{shown}");
}

// ---------------------------------------------------------------------------
// Through the session layer, on a private server.

async fn read(session: Session) -> Result<String, SessionError> {
    Ok(session.get::<String>("v").await?.unwrap_or_else(|| "anonymous".into()))
}

async fn write(session: Session) -> Result<&'static str, SessionError> {
    session.insert("v", "written").await?;
    Ok("set")
}

fn app(store: RedisStore, clock: ManualClock, timeout: Duration) -> Router {
    let layer =
        SessionLayer::server_side(store, KeyRing::generate()).clock(clock).store_timeout(timeout).build().unwrap();
    Router::new()
        .route("/untouched", get(|| async { "ok" }))
        .route("/read", get(read))
        .route("/write", post(write))
        .layer(layer)
}

async fn send(app: &Router, method: &str, uri: &str, cookie: Option<&str>) -> Response<Body> {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(cookie) = cookie {
        req = req.header(header::COOKIE, cookie);
    }
    app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap()
}

fn cookie_of(res: &Response<Body>) -> String {
    let header = res.headers().get(header::SET_COOKIE).expect("Set-Cookie").to_str().unwrap();
    header.split(';').next().unwrap().to_owned()
}

async fn body(res: Response<Body>) -> String {
    use http_body_util::BodyExt;
    String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

/// Commands the scripts run inside Redis: `INFO commandstats` counts them
/// too, but they are no round trips.
const INSIDE_SCRIPTS: &[&str] = &["hget", "hset", "hdel", "expire", "exists", "del", "zadd", "zremrangebyscore", "ttl"];

/// (command, calls) pairs, sorted by command.
type Calls = Vec<(String, u64)>;

/// Commands clients sent since the last reset, and those scripts ran.
fn sent_since_reset(server: &RedisServer) -> (Calls, Calls) {
    let (inside, sent): (Vec<_>, Vec<_>) = server
        .command_calls()
        .into_iter()
        .filter(|(name, _)| !name.starts_with("config") && name != "info")
        .partition(|(name, _)| INSIDE_SCRIPTS.contains(&name.as_str()));
    (sent, inside)
}

fn reset(server: &RedisServer) {
    server.cli(&["CONFIG", "RESETSTAT"]).expect("CONFIG RESETSTAT");
}

fn calls(list: &[(&str, u64)]) -> Calls {
    list.iter().map(|(n, c)| (n.to_string(), *c)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_commands_per_request_counted_by_the_server() {
    let server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.unwrap();
    let clock = ManualClock::new(palisade::clock::unix_now());
    let app = app(store, clock.clone(), Duration::from_secs(2));
    let cookie = cookie_of(&send(&app, "POST", "/write", None).await);

    reset(&server);
    assert_eq!(send(&app, "GET", "/untouched", Some(&cookie)).await.status(), StatusCode::OK);
    let (sent, _) = sent_since_reset(&server);
    println!("untouched: {sent:?}");
    assert_eq!(sent, calls(&[]), "a request that does not touch the session: no command");

    reset(&server);
    assert_eq!(body(send(&app, "GET", "/read", Some(&cookie)).await).await, "written");
    let (sent, inside) = sent_since_reset(&server);
    println!("read: {sent:?} (inside scripts: {inside:?})");
    assert_eq!(sent, calls(&[("hgetall", 1)]), "read-only: one HGETALL");
    assert!(inside.is_empty());

    reset(&server);
    assert_eq!(send(&app, "POST", "/write", Some(&cookie)).await.status(), StatusCode::OK);
    let (sent, inside) = sent_since_reset(&server);
    println!("change: {sent:?} (inside the script: {inside:?})");
    assert_eq!(sent, calls(&[("evalsha", 1), ("hgetall", 1)]), "a change: one HGETALL, one EVALSHA");
    assert_eq!(inside, calls(&[("expire", 1), ("hget", 1), ("hset", 1)]));

    reset(&server);
    for _ in 0..5 {
        clock.advance(Duration::from_secs(10));
        assert_eq!(body(send(&app, "GET", "/read", Some(&cookie)).await).await, "written");
    }
    let (sent, _) = sent_since_reset(&server);
    println!("five reads within 60 s: {sent:?}");
    assert_eq!(sent, calls(&[("hgetall", 5)]), "reads within the touch interval never write");

    reset(&server);
    clock.advance(Duration::from_secs(11));
    assert_eq!(body(send(&app, "GET", "/read", Some(&cookie)).await).await, "written");
    let (sent, _) = sent_since_reset(&server);
    println!("read after 61 s: {sent:?}");
    assert_eq!(sent, calls(&[("evalsha", 1), ("hgetall", 1)]), "one throttled last-seen touch");
}

/// Counts `ERROR` events (the session layer logs store failures so).
#[derive(Default, Clone)]
struct ErrorCounter(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl tracing::Subscriber for ErrorCounter {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if *event.metadata().level() == tracing::Level::ERROR {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

impl ErrorCounter {
    fn count(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

// One thread: the error counter is this thread's default subscriber.
#[tokio::test(flavor = "current_thread")]
async fn redis_down_gives_503_then_recovers_without_a_new_store_and_a_paused_server_times_out() {
    let errors = ErrorCounter::default();
    let _guard = tracing::dispatcher::set_default(&tracing::Dispatch::new(errors.clone()));
    let mut server = RedisServer::start();
    let store = RedisStore::connect(&server.url()).await.unwrap();
    let timeout = Duration::from_secs(1);
    let app = app(store, ManualClock::new(palisade::clock::unix_now()), timeout);
    let cookie = cookie_of(&send(&app, "POST", "/write", None).await);
    server.cli(&["SAVE"]).expect("SAVE: the session survives the restart");

    server.kill();
    assert_eq!(send(&app, "GET", "/untouched", Some(&cookie)).await.status(), StatusCode::OK, "no session needed");
    for (method, uri) in [("GET", "/read"), ("POST", "/write"), ("GET", "/read")] {
        let started = Instant::now();
        let res = send(&app, method, uri, Some(&cookie)).await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "{method} {uri} with Redis down");
        assert!(started.elapsed() < timeout + Duration::from_millis(1_500), "{:?}", started.elapsed());
    }
    let res = send(&app, "POST", "/write", None).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "a new session cannot be stored either");
    assert!(res.headers().get(header::SET_COOKIE).is_none(), "no cookie for a session that was not stored");
    assert!(errors.count() >= 4, "each failure is logged as an error ({})", errors.count());

    server.restart();
    assert_eq!(body(send(&app, "GET", "/read", Some(&cookie)).await).await, "written", "reconnected");
    // The restarted server lost its scripts: the first write reloads them.
    assert_eq!(send(&app, "POST", "/write", Some(&cookie)).await.status(), StatusCode::OK);
    let fresh = cookie_of(&send(&app, "POST", "/write", None).await);
    assert_eq!(body(send(&app, "GET", "/read", Some(&fresh)).await).await, "written");

    // A server that stops answering: 503 after the layer's timeout, no hang.
    server.cli(&["CLIENT", "PAUSE", "4000", "ALL"]).expect("CLIENT PAUSE");
    let started = Instant::now();
    let res = send(&app, "GET", "/read", Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let waited = started.elapsed();
    assert!(
        waited >= timeout - Duration::from_millis(100) && waited < timeout + Duration::from_millis(1_500),
        "{waited:?}"
    );
    assert_eq!(send(&app, "GET", "/untouched", Some(&cookie)).await.status(), StatusCode::OK);
    // Paused too, this returns once the pause is over.
    server.cli(&["CLIENT", "UNPAUSE"]).expect("CLIENT UNPAUSE");
    assert_eq!(body(send(&app, "GET", "/read", Some(&cookie)).await).await, "written", "works again");
}
