//! SQLite's own cost for the statements of a request (issue 15's SQLite
//! floor): one connection on the calling thread, no store, no threads, no
//! HTTP — the `palisade_sessions` table of the store's migration, WAL,
//! `synchronous = NORMAL`, statements prepared once.
//!
//! Measures, in µs per operation, alternating the kinds within each
//! repetition:
//!
//! - `select`: the store's `load` statement (one row by key);
//! - `update`: the store's `apply` statement (`json_set` of one key, new
//!   `last_seen` and `expires_at`), committed alone;
//! - `update-no-expiry`: the same without `expires_at` in the `SET` list
//!   (its index left alone), committed alone;
//! - `pair`: `select` then `update` with its own commit (a `/counter`
//!   request's store calls without group commit);
//! - `pair-batch-N`: the same with `N` pairs' updates in one transaction
//!   (what group commit shares).
//!
//! ```text
//! cargo run --release --example sqlite_commit -- [reps] [operations]
//! ```

use rusqlite::{params, Connection};
use std::time::Instant;

/// As many as `bench/run` pre-creates (its default `--cookies`).
const SESSIONS: u32 = 256;
const NOW: i64 = 1_800_000_000;
const SCHEMA: &str = include_str!("../../crates/palisade/migrations/sqlite/0001_sessions.sql");
const LOAD: &str = "SELECT data, created_at, last_seen, expires_at, deadline, user_id \
                    FROM palisade_sessions WHERE key = ? AND expires_at > ?";
const UPDATE: &str = "UPDATE palisade_sessions SET data = json_set(data, ?, json(?)), last_seen = ?, \
                      expires_at = ? WHERE key = ? AND expires_at > ?";
const UPDATE_NO_EXPIRY: &str = "UPDATE palisade_sessions SET data = json_set(data, ?, json(?)), \
                                last_seen = ? WHERE key = ? AND expires_at > ?";
const KINDS: [&str; 7] =
    ["select", "update", "update-no-expiry", "pair", "pair-batch-4", "pair-batch-16", "pair-batch-64"];

fn key(i: u32) -> [u8; 32] {
    let mut key = [7u8; 32];
    key[..4].copy_from_slice(&i.to_le_bytes());
    key
}

fn open(path: &std::path::Path) -> Connection {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let conn = Connection::open(path).expect("open");
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).expect("wal");
    assert_eq!(mode, "wal");
    conn.pragma_update(None, "synchronous", "NORMAL").expect("synchronous");
    conn.execute_batch(SCHEMA).expect("schema");
    conn.execute_batch("BEGIN").expect("begin");
    for i in 0..SESSIONS {
        conn.execute(
            "INSERT INTO palisade_sessions (key, data, created_at, last_seen, expires_at, deadline, ip, user_agent) \
             VALUES (?, '{\"n\":1}', ?, ?, ?, ?, '127.0.0.1', 'Mozilla/5.0 (X11; Linux x86_64) bench')",
            params![key(i).as_slice(), NOW, NOW, NOW + 1800, NOW + 8 * 3600],
        )
        .expect("insert");
    }
    conn.execute_batch("COMMIT").expect("commit");
    conn
}

/// Runs `operations` of `kind`; µs per operation.
fn run(conn: &Connection, kind: &str, operations: u32, tick: &mut i64) -> f64 {
    let batch: u32 = kind.strip_prefix("pair-batch-").map_or(1, |n| n.parse().expect("batch size"));
    let started = Instant::now();
    for op in 0..operations {
        let i = (op.wrapping_mul(7919)) % SESSIONS;
        let k = key(i);
        *tick += 1;
        if kind == "select" || kind.starts_with("pair") {
            let mut load = conn.prepare_cached(LOAD).expect("prepare");
            let data: String = load.query_row(params![k.as_slice(), NOW], |r| r.get(0)).expect("row");
            std::hint::black_box(data);
        }
        if batch > 1 && op % batch == 0 {
            conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
        }
        if kind == "update-no-expiry" {
            let mut update = conn.prepare_cached(UPDATE_NO_EXPIRY).expect("prepare");
            update.execute(params!["$.\"n\"", tick.to_string(), NOW + 1, k.as_slice(), NOW]).expect("update");
        } else if kind != "select" {
            let mut update = conn.prepare_cached(UPDATE).expect("prepare");
            let expires = NOW + 1800 + *tick;
            update.execute(params!["$.\"n\"", tick.to_string(), NOW + 1, expires, k.as_slice(), NOW]).expect("update");
        }
        if batch > 1 && (op % batch == batch - 1 || op == operations - 1) {
            conn.execute_batch("COMMIT").expect("commit");
        }
    }
    started.elapsed().as_secs_f64() * 1e6 / f64::from(operations)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let reps: usize = args.next().map_or(5, |n| n.parse().expect("reps"));
    let operations: u32 = args.next().map_or(20_000, |n| n.parse().expect("operations"));
    let dir = std::env::temp_dir().join(format!("palisade-sqlite-commit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let conn = open(&dir.join("sessions.sqlite"));
    let mut tick = 0;
    let mut results: Vec<Vec<f64>> = vec![Vec::new(); KINDS.len()];
    for rep in 1..=reps {
        let line: Vec<String> = KINDS
            .iter()
            .zip(results.iter_mut())
            .map(|(kind, out)| {
                let us = run(&conn, kind, operations, &mut tick);
                out.push(us);
                format!("{kind} {us:.2}")
            })
            .collect();
        println!("rep {rep}: {} (µs/op)", line.join(", "));
    }
    println!("\nµs per operation, median (min–max) over {reps} repetitions of {operations}:");
    for (kind, mut values) in KINDS.iter().zip(results) {
        values.sort_by(f64::total_cmp);
        let median = values[values.len() / 2];
        println!("  {kind:18} {median:7.2} ({:.2}–{:.2})", values[0], values[values.len() - 1]);
    }
    drop(conn);
    let _ = std::fs::remove_dir_all(&dir);
}
