//! The store conformance suite against `SqliteStore` (a file database and an
//! in-memory one), plus what only SQLite has: migrations, the sweeper task,
//! corrupt rows and the stored key.
#![cfg(feature = "sqlite")]

#[macro_use]
#[path = "common/attempt_suite.rs"]
mod attempt_suite;

#[macro_use]
#[path = "common/store_suite.rs"]
mod store_suite;

use palisade::store::{Applied, Change, Record, SqliteStore, Store, StoreError, StoreKey};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// A path for a database no other test (or test run) uses.
fn temp_db_path() -> PathBuf {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    static CLEANUP: std::sync::Once = std::sync::Once::new();
    // Databases of earlier runs (an hour old or more) are deleted once per run.
    CLEANUP.call_once(|| remove_old_entries(&std::env::temp_dir().join("palisade-store-tests")));
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    std::env::temp_dir().join("palisade-store-tests").join(format!(
        "{}-{}-{nanos}.db",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ))
}

fn remove_old_entries(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(3_600));
        if old {
            let path = entry.path();
            let _ = if path.is_dir() { std::fs::remove_dir_all(path) } else { std::fs::remove_file(path) };
        }
    }
}

fn url(path: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

async fn fresh_file_store() -> SqliteStore {
    SqliteStore::connect(&url(&temp_db_path())).await.expect("connect to a fresh file database")
}

/// A store on a new file, and a connection of the test's own to the file.
async fn store_and_file() -> (SqliteStore, rusqlite::Connection) {
    let path = temp_db_path();
    let store = SqliteStore::open(&path).await.expect("open a fresh file database");
    let conn = rusqlite::Connection::open(&path).expect("the test's own connection");
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    (store, conn)
}

mod file_db {
    use super::*;
    store_suite!(fresh_file_store());
    attempt_suite!(fresh_file_store());
}

mod in_memory {
    store_suite!(async { palisade::store::SqliteStore::connect("sqlite::memory:").await.expect("connect") });
}

fn now() -> i64 {
    palisade::clock::unix_now()
}

fn record(data: serde_json::Value, expires_at: i64) -> Record {
    let serde_json::Value::Object(data) = data else { panic!("object expected") };
    Record { data, created_at: 1, last_seen: 1, expires_at, ..Record::default() }
}

fn row_count(conn: &rusqlite::Connection) -> i64 {
    conn.query_row("SELECT count(*) FROM palisade_sessions", [], |r| r.get(0)).unwrap()
}

#[tokio::test]
async fn connect_creates_the_directory_and_file_and_uses_wal() {
    let dir = temp_db_path().with_extension("dir");
    let path = dir.join("nested").join("sessions.db");
    assert!(!path.exists());
    let _store = SqliteStore::connect(&url(&path)).await.unwrap();
    assert!(path.exists(), "database file created");
    // WAL mode is a property of the file (the store's connection settings
    // are checked in the store's unit tests).
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    let index: i64 = conn
        .query_row(
            "SELECT count(*) FROM pragma_index_info('palisade_sessions_expires_at') WHERE name = 'expires_at'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(index, 1, "index on expires_at");
}

/// Several app instances (here: stores) starting together on a new file:
/// each one migrates, none fails (found by the soak run, where two of three
/// demo instances died with `UNIQUE constraint failed: _sqlx_migrations`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_starting_together_on_a_new_file_all_start() {
    for _ in 0..5 {
        let path = temp_db_path();
        let starts: Vec<_> = (0..6)
            .map(|_| {
                let url = url(&path);
                tokio::spawn(async move { SqliteStore::connect(&url).await.map(|_| ()) })
            })
            .collect();
        for start in starts {
            start.await.unwrap().expect("every instance starts");
        }
    }
}

#[tokio::test]
async fn migrations_are_idempotent() {
    let path = temp_db_path();
    let key = StoreKey::from_session_id(b"kept across connects");
    let first = SqliteStore::connect(&url(&path)).await.unwrap();
    first.create(&key, &record(json!({"user": "alice"}), now() + 3_600)).await.unwrap();
    // A second store on the same file, then a third after the first closed.
    let second = SqliteStore::open(&path).await.unwrap();
    first.close().await;
    let third = SqliteStore::open(&path).await.unwrap();
    for store in [&second, &third] {
        let got = store.load(&key, now()).await.unwrap().expect("record survives re-migration");
        assert_eq!(got.data.get("user"), Some(&json!("alice")));
    }
    let conn = rusqlite::Connection::open(&path).unwrap();
    let recorded: Vec<i64> = conn
        .prepare("SELECT migrations FROM palisade_schema")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(recorded, [2], "sessions, attempt counters: recorded once");
}

#[tokio::test]
async fn the_database_file_is_shared_with_application_tables() {
    let path = temp_db_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    // The application's own connection made the file and its table first.
    let app = rusqlite::Connection::open(&path).unwrap();
    app.busy_timeout(Duration::from_secs(5)).unwrap();
    app.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        .unwrap();
    let store = SqliteStore::open(&path).await.unwrap();
    store.create(&StoreKey::from_session_id(b"s"), &record(json!({"user_id": 1}), now() + 60)).await.unwrap();
    app.execute("INSERT INTO users (name) VALUES ('alice')", []).unwrap();
    assert_eq!(row_count(&app), 1);
    let users: i64 = app.query_row("SELECT count(*) FROM users", [], |r| r.get(0)).unwrap();
    assert_eq!(users, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweeper_removes_expired_rows_and_stops_when_the_store_is_dropped() {
    let (store, conn) = store_and_file().await;
    let clone = store.clone();
    let live = StoreKey::from_session_id(b"live");
    store.create(&live, &record(json!({}), now() + 3_600)).await.unwrap();
    for n in 0..5u8 {
        store.create(&StoreKey::from_session_id(&[n]), &record(json!({}), now() - 10)).await.unwrap();
    }
    assert_eq!(row_count(&conn), 6);

    let sweeper = store.spawn_sweeper(Duration::from_millis(20));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while row_count(&conn) != 1 {
        assert!(tokio::time::Instant::now() < deadline, "sweeper did not remove the expired rows");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(store.load(&live, now()).await.unwrap().is_some(), "live session kept");

    // It keeps running while a clone is alive.
    drop(store);
    clone.create(&StoreKey::from_session_id(b"later"), &record(json!({}), now() - 1)).await.unwrap();
    while row_count(&conn) != 1 {
        assert!(tokio::time::Instant::now() < deadline, "sweeper stopped while a clone was alive");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!sweeper.is_finished());

    // And ends by itself once the last clone is gone.
    drop(clone);
    tokio::time::timeout(Duration::from_secs(5), sweeper)
        .await
        .expect("sweeper stops after the store is dropped")
        .expect("sweeper did not panic");
}

#[tokio::test]
async fn sweeper_survives_errors_and_stops_when_the_store_is_closed() {
    let (store, conn) = store_and_file().await;
    conn.execute("DROP TABLE palisade_sessions", []).unwrap();
    let sweeper = store.spawn_sweeper(Duration::from_millis(10));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!sweeper.is_finished(), "a failing sweep is logged, not fatal");
    store.close().await;
    tokio::time::timeout(Duration::from_secs(5), sweeper).await.expect("stops on a closed store").unwrap();
    assert!(matches!(store.sweep(0).await, Err(StoreError::Unavailable(_))));
}

#[tokio::test]
async fn a_corrupt_row_is_reported_as_corrupt_not_a_panic() {
    let (store, conn) = store_and_file().await;
    let cases: &[(&str, &str)] = &[
        ("not json", "'secret-token-not-json'"),
        ("truncated", "'{\"user\": \"secret-token'"),
        ("array", "'[\"secret-token\"]'"),
        ("string", "'\"secret-token\"'"),
        ("number", "42"),
        ("null literal", "'null'"),
        ("blob", "X'00FF736563726574'"),
        ("deep", "'[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]'"),
    ];
    for (name, data_sql) in cases {
        let key = StoreKey::from_session_id(name.as_bytes());
        conn.execute(
            &format!(
                "INSERT INTO palisade_sessions (key, data, created_at, last_seen, expires_at, deadline) VALUES (?, {data_sql}, 1, 1, ?, 0)"
            ),
            rusqlite::params![key.as_bytes().as_slice(), now() + 3_600],
        )
        .unwrap();
        match store.load(&key, now()).await {
            Err(StoreError::Corrupt(reason)) => {
                assert!(!reason.contains("secret"), "{name}: reason leaks the data: {reason}");
            }
            other => panic!("{name}: expected Corrupt, got {other:?}"),
        }
    }

    // A timestamp that is not an integer.
    let key = StoreKey::from_session_id(b"bad time");
    conn.execute(
        "INSERT INTO palisade_sessions (key, data, created_at, last_seen, expires_at, deadline) VALUES (?, '{}', 'yesterday', 1, ?, 0)",
        rusqlite::params![key.as_bytes().as_slice(), now() + 3_600],
    )
    .unwrap();
    assert!(matches!(store.load(&key, now()).await, Err(StoreError::Corrupt(_))));

    // Writing into data that is not JSON fails as Corrupt too.
    let key = StoreKey::from_session_id(b"not json");
    let change = Change { set: vec![("x".into(), json!(1))], remove: vec![], last_seen: 1, expires_at: now() + 60 };
    match store.apply(&key, &change, now()).await {
        Err(StoreError::Corrupt(reason)) => assert!(!reason.contains("secret"), "{reason}"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[tokio::test]
async fn the_stored_key_is_the_sha256_of_the_session_id() {
    let (store, conn) = store_and_file().await;
    let id = b"raw-session-id-0123456789abcdef0123456789";
    store.create(&StoreKey::from_session_id(id), &record(json!({"user": "alice"}), now() + 60)).await.unwrap();
    let stored: Vec<Vec<u8>> = conn
        .prepare("SELECT key FROM palisade_sessions")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].as_slice(), id.as_slice());
    assert_eq!(stored[0].as_slice(), Sha256::digest(id).as_slice());
    let id_anywhere: i64 = conn
        .query_row(
            "SELECT count(*) FROM palisade_sessions WHERE instr(key, ?) > 0 OR instr(data, ?) > 0",
            rusqlite::params![id.as_slice(), std::str::from_utf8(id).unwrap()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(id_anywhere, 0, "the raw id is stored nowhere");
}

#[tokio::test]
async fn apply_refuses_keys_that_would_break_a_json_path_and_writes_nothing() {
    let store = fresh_file_store().await;
    let key = StoreKey::from_session_id(b"s");
    store.create(&key, &record(json!({"a": 1}), now() + 60)).await.unwrap();
    for bad in ["a\"b", "\"", "a\\b", "tab\there", "nul\0"] {
        let set = Change { set: vec![(bad.into(), json!(2))], remove: vec![], last_seen: 5, expires_at: now() + 99 };
        assert!(matches!(store.apply(&key, &set, now()).await, Err(StoreError::Corrupt(_))), "set {bad:?}");
        let remove = Change { set: vec![], remove: vec![bad.into()], last_seen: 5, expires_at: now() + 99 };
        assert!(matches!(store.apply(&key, &remove, now()).await, Err(StoreError::Corrupt(_))), "remove {bad:?}");
    }
    assert_eq!(store.load(&key, now()).await.unwrap(), Some(record(json!({"a": 1}), now() + 60)));
}

#[tokio::test]
async fn apply_keeps_stored_keys_that_need_escaping() {
    // `create` takes any key (it writes the whole object); later key-by-key
    // changes to other keys must keep them intact.
    let store = fresh_file_store().await;
    let key = StoreKey::from_session_id(b"s");
    let odd = json!({"quote\"d": 1, "back\\slash": 2, "new\nline": 3, "plain": 4});
    store.create(&key, &record(odd, now() + 60)).await.unwrap();
    let change = Change {
        set: vec![("added".into(), json!(5))],
        remove: vec!["plain".into()],
        last_seen: 1,
        expires_at: now() + 60,
    };
    assert_eq!(store.apply(&key, &change, now()).await.unwrap(), Applied::Done);
    let got = store.load(&key, now()).await.unwrap().unwrap();
    assert_eq!(
        serde_json::Value::Object(got.data),
        json!({"quote\"d": 1, "back\\slash": 2, "new\nline": 3, "added": 5})
    );
}

#[tokio::test]
async fn create_never_overwrites_an_existing_session() {
    let store = fresh_file_store().await;
    let key = StoreKey::from_session_id(b"s");
    store.create(&key, &record(json!({"user": "alice"}), now() + 60)).await.unwrap();
    assert!(store.create(&key, &record(json!({"user": "mallory"}), now() + 60)).await.is_err());
    let got = store.load(&key, now()).await.unwrap().unwrap();
    assert_eq!(got.data.get("user"), Some(&json!("alice")));
}

#[tokio::test]
async fn debug_shows_no_location_or_data() {
    let path = temp_db_path();
    let store = SqliteStore::connect(&url(&path)).await.unwrap();
    store.create(&StoreKey::from_session_id(b"s"), &record(json!({"token": "hunter2"}), now() + 60)).await.unwrap();
    let shown = format!("{store:?}");
    assert!(!shown.contains("hunter2") && !shown.contains("palisade-store-tests"), "{shown}");
}

#[macro_use]
#[path = "common/layer_suite.rs"]
mod layer_suite;

layer_suite!(fresh_file_store());
