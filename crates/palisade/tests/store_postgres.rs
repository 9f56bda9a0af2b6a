//! The store and layer conformance suites against `PostgresStore` on a real
//! server, plus what only PostgreSQL has: concurrent migrations, corrupt
//! rows, one round trip per call (counted on the wire), and the server going
//! away or stalling (through a TCP proxy the test controls).
//!
//! Needs PostgreSQL: `PALISADE_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`. Every test gets a schema of its
//! own (`palisade_test_<unix time>_…`, selected with `search_path`); schemas
//! older than an hour are dropped by the next run.
#![cfg(feature = "postgres")]

#[macro_use]
#[path = "common/attempt_suite.rs"]
mod attempt_suite;

#[macro_use]
#[path = "common/store_suite.rs"]
mod store_suite;

#[macro_use]
#[path = "common/layer_suite.rs"]
mod layer_suite;

use palisade::store::{Applied, Change, PostgresStore, Record, Store, StoreError, StoreKey};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use sqlx::{ConnectOptions, Connection, Executor};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
const SCHEMA_PREFIX: &str = "palisade_test_";

fn base_options() -> PgConnectOptions {
    let url = std::env::var("PALISADE_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    PgConnectOptions::from_str(&url).expect("PALISADE_TEST_POSTGRES_URL is not a valid postgres:// URL")
}

/// A direct connection for setting up; fails the test (never skips it) with
/// a message saying how to get a server.
async fn admin() -> PgConnection {
    let options = base_options();
    match options.connect().await {
        Ok(conn) => conn,
        Err(err) => panic!(
            "PostgreSQL is not reachable at {}:{} ({err}). These tests need a real server: \
             `apt-get install postgresql && service postgresql start` (trust auth for 127.0.0.1, \
             a database `test`), or set PALISADE_TEST_POSTGRES_URL=postgres://user@host:port/db.",
            options.get_host(),
            options.get_port()
        ),
    }
}

/// A new, empty schema no other test (or test run) uses.
async fn fresh_schema() -> String {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    static CLEANED: AtomicBool = AtomicBool::new(false);
    let mut conn = admin().await;
    if !CLEANED.swap(true, Ordering::Relaxed) {
        drop_old_schemas(&mut conn).await;
    }
    let name = format!(
        "{SCHEMA_PREFIX}{}_{}_{}",
        palisade::clock::unix_now(),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    );
    conn.execute(format!("CREATE SCHEMA {name}").as_str()).await.expect("create a test schema");
    conn.close().await.ok();
    name
}

/// Drops the schemas of runs an hour old or more (their time is in the name).
async fn drop_old_schemas(conn: &mut PgConnection) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT nspname::text FROM pg_namespace WHERE starts_with(nspname, $1)")
            .bind(SCHEMA_PREFIX)
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default();
    let cutoff = palisade::clock::unix_now() - 3_600;
    for name in names {
        let created = name[SCHEMA_PREFIX.len()..].split('_').next().and_then(|t| t.parse::<i64>().ok());
        if created.is_some_and(|t| t < cutoff) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            let _ = conn.execute(format!("DROP SCHEMA IF EXISTS {name} CASCADE").as_str()).await;
        }
    }
}

fn options_in(schema: &str) -> PgConnectOptions {
    base_options().options([("search_path", schema)])
}

async fn store_in(schema: &str) -> PostgresStore {
    PostgresStore::connect_with(options_in(schema)).await.expect("connect the store")
}

async fn fresh_store() -> PostgresStore {
    store_in(&fresh_schema().await).await
}

store_suite!(fresh_store());
attempt_suite!(fresh_store());
layer_suite!(fresh_store());

fn now() -> i64 {
    palisade::clock::unix_now()
}

fn record(data: serde_json::Value, expires_at: i64) -> Record {
    let serde_json::Value::Object(data) = data else { panic!("object expected") };
    Record { data, created_at: 1, last_seen: 1, expires_at, ..Record::default() }
}

fn set_change(pairs: serde_json::Value) -> Change {
    let serde_json::Value::Object(map) = pairs else { panic!("object expected") };
    Change { set: map.into_iter().collect(), remove: vec![], last_seen: 2, expires_at: now() + 60 }
}

async fn row_count(store: &PostgresStore) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM palisade_sessions").fetch_one(store.pool()).await.unwrap()
}

#[tokio::test]
async fn load_for_request_leaves_the_client_out_and_load_keeps_it() {
    let store = fresh_store().await;
    let key = StoreKey::from_session_id(b"client-left-out");
    let mut rec = record(serde_json::json!({"n": 1}), now() + 60);
    rec.user_id = Some("alice".into());
    rec.ip = Some("203.0.113.7".into());
    rec.user_agent = Some("Mozilla/5.0".into());
    store.create(&key, &rec).await.unwrap();
    let expected = Record { ip: None, user_agent: None, ..rec.clone() };
    assert_eq!(store.load_for_request(&key, now()).await.unwrap(), Some(expected));
    assert_eq!(store.load(&key, now()).await.unwrap(), Some(rec));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_twice_and_concurrently_without_harm() {
    let schema = fresh_schema().await;
    // Four instances starting at once (sqlx serialises them with an advisory lock).
    let stores = futures_util::future::join_all((0..4).map(|_| PostgresStore::connect_with(options_in(&schema)))).await;
    let stores: Vec<PostgresStore> = stores.into_iter().map(|s| s.expect("concurrent connect")).collect();
    let key = StoreKey::from_session_id(b"kept across connects");
    stores[0].create(&key, &record(json!({"user": "alice"}), now() + 3_600)).await.unwrap();
    // Migrated again: on the same pool, and a later instance.
    let again = PostgresStore::from_pool(stores[1].pool().clone()).await.unwrap();
    let later = store_in(&schema).await;
    for store in stores.iter().chain([&again, &later]) {
        let got = store.load(&key, now()).await.unwrap().expect("record survives re-migration");
        assert_eq!(got.data.get("user"), Some(&json!("alice")));
    }
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(later.pool())
        .await
        .unwrap();
    assert_eq!(applied, 2, "each migration (sessions, attempt counters) was applied once");
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'palisade_sessions' \
         ORDER BY indexname",
    )
    .fetch_all(later.pool())
    .await
    .unwrap();
    assert!(indexes.iter().any(|d| d.contains("(expires_at)")), "{indexes:?}");
    assert!(indexes.iter().any(|d| d.contains("(user_id) WHERE (user_id IS NOT NULL)")), "{indexes:?}");
}

#[tokio::test]
async fn from_pool_shares_the_database_with_application_tables() {
    let app = fresh_store().await;
    let pool = app.pool().clone();
    sqlx::query("CREATE TABLE users (id bigserial PRIMARY KEY, name text NOT NULL)").execute(&pool).await.unwrap();
    let store = PostgresStore::from_pool(pool.clone()).await.unwrap();
    store.create(&StoreKey::from_session_id(b"s"), &record(json!({"user_id": 1}), now() + 60)).await.unwrap();
    sqlx::query("INSERT INTO users (name) VALUES ('alice')").execute(&pool).await.unwrap();
    assert_eq!(row_count(&store).await, 1);
}

#[tokio::test]
async fn the_table_refuses_rows_that_are_not_sessions() {
    let store = fresh_store().await;
    for (what, key, data) in [("array data", vec![7u8; 32], "[1]"), ("short key", vec![7u8; 3], "{}")] {
        let result = sqlx::query(
            "INSERT INTO palisade_sessions (key, data, created_at, last_seen, expires_at, deadline) \
             VALUES ($1, $2::jsonb, 1, 1, 2, 3)",
        )
        .bind(key)
        .bind(data)
        .execute(store.pool())
        .await;
        assert!(result.is_err(), "{what} accepted");
    }
}

#[tokio::test]
async fn a_corrupt_row_is_reported_as_corrupt_not_a_panic() {
    let schema = fresh_schema().await;
    let store = store_in(&schema).await;
    // Simulate a table edited by hand: without the constraints.
    sqlx::query(
        "ALTER TABLE palisade_sessions DROP CONSTRAINT palisade_sessions_data_is_object, \
         DROP CONSTRAINT palisade_sessions_key_is_sha256",
    )
    .execute(store.pool())
    .await
    .unwrap();
    let cases: &[(&str, &str)] = &[
        ("array", "[\"secret-token\"]"),
        ("string", "\"secret-token\""),
        ("number", "42"),
        ("null literal", "null"),
        ("deep", &format!("{}{}", "[".repeat(200), "]".repeat(200))),
    ];
    for (name, data) in cases {
        let key = StoreKey::from_session_id(name.as_bytes());
        sqlx::query(
            "INSERT INTO palisade_sessions (key, data, created_at, last_seen, expires_at, deadline, user_id) \
             VALUES ($1, $2::jsonb, 1, 1, $3, 0, 'u')",
        )
        .bind(key.as_bytes().as_slice())
        .bind(data)
        .bind(now() + 3_600)
        .execute(store.pool())
        .await
        .unwrap();
        match store.load(&key, now()).await {
            Err(StoreError::Corrupt(reason)) => assert!(!reason.contains("secret"), "{name}: leaks: {reason}"),
            other => panic!("{name}: expected Corrupt, got {other:?}"),
        }
        // A change to it is refused too (not turned into an array by `||`).
        match store.apply(&key, &set_change(json!({"x": 1})), now()).await {
            Err(StoreError::Corrupt(reason)) => assert!(!reason.contains("secret"), "{name}: leaks: {reason}"),
            other => panic!("{name}: apply: expected Corrupt, got {other:?}"),
        }
        let stored: String = sqlx::query_scalar("SELECT data::text FROM palisade_sessions WHERE key = $1")
            .bind(key.as_bytes().as_slice())
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(stored.replace(' ', ""), data.replace(' ', ""), "{name}: row unchanged");
    }

    // A key that is not 32 bytes, seen through the user index.
    sqlx::query(
        "INSERT INTO palisade_sessions (key, data, created_at, last_seen, expires_at, deadline, user_id) \
         VALUES ('\\x0102'::bytea, '{}', 1, 1, $1, 0, 'short-key-user')",
    )
    .bind(now() + 3_600)
    .execute(store.pool())
    .await
    .unwrap();
    assert!(matches!(store.sessions_of("short-key-user", now()).await, Err(StoreError::Corrupt(_))));

    // A timestamp column of the wrong type (a new pool: statements prepared
    // before the change fail with "cached plan must not change result type").
    sqlx::query("ALTER TABLE palisade_sessions ALTER COLUMN created_at TYPE text").execute(store.pool()).await.unwrap();
    let store = store_in(&schema).await;
    let key = StoreKey::from_session_id(b"good row, bad schema");
    sqlx::query(
        "INSERT INTO palisade_sessions (key, data, created_at, last_seen, expires_at, deadline) \
         VALUES ($1, '{}', 'yesterday', 1, $2, 0)",
    )
    .bind(key.as_bytes().as_slice())
    .bind(now() + 3_600)
    .execute(store.pool())
    .await
    .unwrap();
    assert!(matches!(store.load(&key, now()).await, Err(StoreError::Corrupt(_))));
}

#[tokio::test]
async fn the_stored_key_is_the_sha256_of_the_session_id() {
    let store = fresh_store().await;
    let id = b"raw-session-id-0123456789abcdef0123456789";
    store.create(&StoreKey::from_session_id(id), &record(json!({"user": "alice"}), now() + 60)).await.unwrap();
    let stored: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT key FROM palisade_sessions").fetch_all(store.pool()).await.unwrap();
    assert_eq!(stored, vec![Sha256::digest(id).to_vec()]);
    let id_anywhere: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM palisade_sessions WHERE position($1 in key) > 0 OR position($2 in data::text) > 0",
    )
    .bind(id.as_slice())
    .bind(std::str::from_utf8(id).unwrap())
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(id_anywhere, 0, "the raw id is stored nowhere");
}

#[tokio::test]
async fn json_null_values_and_unicode_keys_round_trip() {
    let store = fresh_store().await;
    let key = StoreKey::from_session_id(b"s");
    let created = json!({"ключ": null, "🔑": "v", "日本語": {"inner": null}, "": 0});
    store.create(&key, &record(created, now() + 60)).await.unwrap();
    let change = set_change(json!({"null_value": null, "ключ": "now set", "🔑": null, "emoji 🎉": [null]}));
    assert_eq!(store.apply(&key, &change, now()).await.unwrap(), Applied::Done);
    let got = store.load(&key, now()).await.unwrap().expect("record");
    assert_eq!(
        serde_json::Value::Object(got.data),
        json!({"ключ": "now set", "🔑": null, "日本語": {"inner": null}, "": 0, "null_value": null, "emoji 🎉": [null]})
    );
    // Removing a key whose value is null removes it (null is a value, not absence).
    let remove = Change { set: vec![], remove: vec!["🔑".into()], last_seen: 3, expires_at: now() + 60 };
    assert_eq!(store.apply(&key, &remove, now()).await.unwrap(), Applied::Done);
    assert!(!store.load(&key, now()).await.unwrap().unwrap().data.contains_key("🔑"));
}

#[tokio::test]
async fn a_nul_character_postgres_cannot_store_is_an_error_not_a_panic() {
    let store = fresh_store().await;
    let key = StoreKey::from_session_id(b"s");
    store.create(&key, &record(json!({"a": 1}), now() + 60)).await.unwrap();
    let change = set_change(json!({"b": "nul\u{0}inside"}));
    assert!(matches!(store.apply(&key, &change, now()).await, Err(StoreError::Corrupt(_))));
    let with_nul = Record { user_agent: Some("agent\0".into()), ..record(json!({}), now() + 60) };
    assert!(matches!(store.create(&StoreKey::from_session_id(b"t"), &with_nul).await, Err(StoreError::Corrupt(_))));
    assert_eq!(store.load(&key, now()).await.unwrap(), Some(record(json!({"a": 1}), now() + 60)), "unchanged");
}

#[tokio::test]
async fn apply_to_no_row_is_missing_and_writes_nothing() {
    let store = fresh_store().await;
    let key = StoreKey::from_session_id(b"never created");
    assert_eq!(store.apply(&key, &set_change(json!({"x": 1})), now()).await.unwrap(), Applied::Missing);
    let touch = Change { last_seen: 5, expires_at: now() + 60, ..Change::default() };
    assert_eq!(store.apply(&key, &touch, now()).await.unwrap(), Applied::Missing);
    assert_eq!(row_count(&store).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_rotations_of_one_session_mint_exactly_one() {
    let store = fresh_store().await;
    let old = StoreKey::from_session_id(b"anonymous");
    store.create(&old, &record(json!({"cart": 1}), now() + 60)).await.unwrap();
    let tasks: Vec<_> = (0..20u8)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let new = StoreKey::from_session_id(&[b'n', n]);
                store.rotate(&old, &new, &record(json!({"user": n}), now() + 60), now()).await.unwrap()
            })
        })
        .collect();
    let mut done = 0;
    for task in tasks {
        if task.await.unwrap() == Applied::Done {
            done += 1;
        }
    }
    assert_eq!(done, 1, "one login wins, the others find the old session gone");
    assert_eq!(row_count(&store).await, 1);
    assert_eq!(store.load(&old, now()).await.unwrap(), None);
}

#[tokio::test]
async fn rotate_onto_an_existing_key_fails_and_keeps_the_old_session() {
    let store = fresh_store().await;
    let (old, taken) = (StoreKey::from_session_id(b"old"), StoreKey::from_session_id(b"taken"));
    store.create(&old, &record(json!({"who": "old"}), now() + 60)).await.unwrap();
    store.create(&taken, &record(json!({"who": "someone else"}), now() + 60)).await.unwrap();
    assert!(store.rotate(&old, &taken, &record(json!({"who": "mallory"}), now() + 60), now()).await.is_err());
    assert_eq!(store.load(&old, now()).await.unwrap().unwrap().data.get("who"), Some(&json!("old")));
    assert_eq!(store.load(&taken, now()).await.unwrap().unwrap().data.get("who"), Some(&json!("someone else")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweeper_removes_expired_rows_and_stops_when_the_store_is_dropped() {
    let store = fresh_store().await;
    let live = StoreKey::from_session_id(b"live");
    store.create(&live, &record(json!({}), now() + 3_600)).await.unwrap();
    for n in 0..5u8 {
        store.create(&StoreKey::from_session_id(&[n]), &record(json!({}), now() - 10)).await.unwrap();
    }
    let sweeper = store.spawn_sweeper(Duration::from_millis(20));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while row_count(&store).await != 1 {
        assert!(tokio::time::Instant::now() < deadline, "sweeper did not remove the expired rows");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(store.load(&live, now()).await.unwrap().is_some(), "live session kept");
    drop(store);
    tokio::time::timeout(Duration::from_secs(5), sweeper)
        .await
        .expect("sweeper stops after the store is dropped")
        .expect("sweeper did not panic");
}

#[tokio::test]
async fn debug_shows_no_url_password_or_data() {
    let schema = fresh_schema().await;
    let options = options_in(&schema).password("hunter2-password");
    let store = PostgresStore::connect_with(options).await.unwrap();
    store.create(&StoreKey::from_session_id(b"s"), &record(json!({"token": "tok-secret"}), now() + 60)).await.unwrap();
    let shown = format!("{store:?}");
    for secret in ["hunter2", "tok-secret", "127.0.0.1", "postgres", &schema] {
        assert!(!shown.contains(secret), "{shown} shows {secret}");
    }
}

#[path = "common/pg_proxy.rs"]
mod proxy;
use proxy::Proxy;

/// A store that reaches the server through `proxy`, in a fresh schema.
async fn store_via(proxy: &Proxy) -> PostgresStore {
    let options = options_in(&fresh_schema().await).host("127.0.0.1").port(proxy.port()).ssl_mode(PgSslMode::Disable);
    PostgresStore::connect_with(options).await.expect("connect through the proxy")
}

/// Waits until every pooled connection is back and idle (sqlx returns a
/// connection from a spawned task, after a liveness `Sync` of its own).
async fn settle(store: &PostgresStore) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while store.pool().num_idle() != store.pool().size() as usize {
        assert!(tokio::time::Instant::now() < deadline, "the pool did not settle");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
}

/// One call of each kind, by name (see `every_call_is_one_statement_in_one_round_trip`).
async fn call(s: &PostgresStore, name: &str) {
    let (a, b) = (StoreKey::from_session_id(b"a"), StoreKey::from_session_id(b"b"));
    let alice = Record { user_id: Some("alice".into()), ..record(json!({"n": 1}), now() + 60) };
    let change = set_change(json!({"x": 1}));
    let touch = Change { last_seen: 9, expires_at: now() + 90, ..Change::default() };
    match name {
        "create" => s.create(&a, &alice).await.unwrap(),
        "load" => assert!(s.load(&a, now()).await.unwrap().is_some()),
        "apply" => assert_eq!(s.apply(&a, &change, now()).await.unwrap(), Applied::Done),
        "touch" => assert_eq!(s.apply(&a, &touch, now()).await.unwrap(), Applied::Done),
        "apply missing" => assert_eq!(s.apply(&b, &change, now()).await.unwrap(), Applied::Missing),
        "sessions_of" => assert_eq!(s.sessions_of("alice", now()).await.unwrap().len(), 1),
        "rotate" => assert_eq!(s.rotate(&a, &b, &alice, now()).await.unwrap(), Applied::Done),
        "rotate missing" => assert_eq!(s.rotate(&a, &b, &alice, now()).await.unwrap(), Applied::Missing),
        "revoke_user" => assert_eq!(s.revoke_user("alice", Some(&a)).await.unwrap(), 1),
        "delete" => s.delete(&a).await.unwrap(),
        "sweep" => assert_eq!(s.sweep(now()).await.unwrap(), 0),
        other => unreachable!("{other}"),
    }
}

/// Every trait call is one statement and one round trip, counted on the wire:
/// the proxy lets exactly one `Sync` (the point where the client waits for
/// the server) through per call, and records the protocol messages sent.
/// (After the call has returned, sqlx's pool sends one more bare `Sync` from
/// a spawned task to check the connection before re-pooling it: a round trip
/// off the request's path, held back here until the call is counted.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_is_one_statement_in_one_round_trip() {
    let proxy = Proxy::start().await;
    let store = store_via(&proxy).await;
    // In an order where each call finds what it needs, round after round.
    let calls = [
        "create",
        "load",
        "apply",
        "touch",
        "apply missing",
        "sessions_of",
        "rotate",
        "rotate missing",
        "revoke_user",
        "delete",
        "sweep",
    ];

    // Warm-up rounds prepare each statement on every pooled connection (sqlx:
    // one extra round trip the first time a connection sees a statement),
    // until a whole round prepares nothing.
    for round in 0.. {
        assert!(round < 10, "statements are still being prepared after {round} rounds");
        let before = proxy.counts();
        for name in calls {
            call(&store, name).await;
            settle(&store).await;
        }
        if proxy.counts().since(&before).parse == 0 {
            break;
        }
    }
    // The next round is what every later call costs.
    for name in calls {
        settle(&store).await;
        let before = proxy.counts();
        proxy.allow_round_trips(Some(1));
        tokio::time::timeout(Duration::from_secs(5), call(&store, name))
            .await
            .unwrap_or_else(|_| panic!("{name}: needed more than one round trip"));
        let sent = proxy.counts().since(&before);
        proxy.allow_round_trips(None);
        assert_eq!(
            (sent.execute, sent.bind, sent.parse, sent.simple_query, sent.sync),
            (1, 1, 0, 0, 1),
            "{name}: one statement (Bind + Execute) and one Sync, nothing prepared: {sent:?}"
        );
    }
}

/// A tiny router with the session layer in front of `store`.
fn app(store: PostgresStore, timeout: Duration) -> axum::Router {
    use axum::routing::{get, post};
    use palisade::session::{Session, SessionError, SessionLayer};
    async fn read(session: Session) -> Result<String, SessionError> {
        Ok(session.get::<String>("user").await?.unwrap_or_else(|| "anonymous".into()))
    }
    async fn login(session: Session) -> Result<&'static str, SessionError> {
        session.insert("user", "alice").await?;
        Ok("logged in")
    }
    let layer =
        SessionLayer::server_side(store, palisade::keys::KeyRing::generate()).store_timeout(timeout).build().unwrap();
    axum::Router::new()
        .route("/untouched", get(|| async { "ok" }))
        .route("/read", get(read))
        .route("/login", post(login))
        .layer(layer)
}

async fn send(app: &axum::Router, method: &str, uri: &str, cookie: Option<&str>) -> (http::StatusCode, String) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut req = http::Request::builder().method(method).uri(uri);
    if let Some(cookie) = cookie {
        req = req.header(http::header::COOKIE, cookie);
    }
    let res = app.clone().oneshot(req.body(axum::body::Body::empty()).unwrap()).await.unwrap();
    let status = res.status();
    let set_cookie = res.headers().get(http::header::SET_COOKIE).map(|v| v.to_str().unwrap().to_owned());
    let body = String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    (status, set_cookie.filter(|_| status.is_success() && method == "POST").unwrap_or(body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_going_away_gives_503_and_coming_back_needs_no_restart() {
    use http::StatusCode;
    let mut proxy = Proxy::start().await;
    let store = store_via(&proxy).await;
    let app = app(store.clone(), Duration::from_millis(500));
    let (status, set_cookie) = send(&app, "POST", "/login", None).await;
    assert_eq!(status, StatusCode::OK);
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    // Concurrent requests open several connections: after the outage, the
    // pool still holds some the outage cut, which must not reach a request.
    let reads = (0..8).map(|_| send(&app, "GET", "/read", Some(&cookie)));
    for read in futures_util::future::join_all(reads).await {
        assert_eq!(read, (StatusCode::OK, "alice".into()));
    }
    settle(&store).await;
    assert!(store.pool().num_idle() >= 4, "connections pooled: {}", store.pool().num_idle());

    proxy.stop().await;
    let (status, body) = send(&app, "GET", "/read", Some(&cookie)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "needs the session: 503, not anonymous ({body})");
    assert!(!body.contains("anonymous"));
    assert_eq!(send(&app, "GET", "/untouched", Some(&cookie)).await, (StatusCode::OK, "ok".into()));
    assert_eq!(send(&app, "POST", "/login", None).await.0, StatusCode::SERVICE_UNAVAILABLE, "no session minted");
    assert!(store.pool().num_idle() >= 2, "cut connections still pooled: {}", store.pool().num_idle());

    proxy.restart().await;
    assert_eq!(send(&app, "GET", "/read", Some(&cookie)).await, (StatusCode::OK, "alice".into()), "next request");
    assert_eq!(send(&app, "POST", "/login", None).await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_server_gives_503_at_the_store_timeout_not_a_hang() {
    use http::StatusCode;
    let proxy = Proxy::start().await;
    let app = app(store_via(&proxy).await, Duration::from_millis(300));
    let (status, set_cookie) = send(&app, "POST", "/login", None).await;
    assert_eq!(status, StatusCode::OK);
    let cookie = set_cookie.split(';').next().unwrap().to_owned();

    proxy.stall(true);
    let started = std::time::Instant::now();
    let (status, _) = tokio::time::timeout(Duration::from_secs(10), send(&app, "GET", "/read", Some(&cookie)))
        .await
        .expect("the request hung on a stalled store");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    assert_eq!(send(&app, "GET", "/untouched", Some(&cookie)).await, (StatusCode::OK, "ok".into()));

    proxy.stall(false);
    assert_eq!(send(&app, "GET", "/read", Some(&cookie)).await, (StatusCode::OK, "alice".into()));
}
