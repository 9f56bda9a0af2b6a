//! Opening a SQLite database and creating the store's tables.
//!
//! The migrations (`migrations/sqlite/*.sql`, in order) are applied inside
//! one `BEGIN IMMEDIATE` transaction that records how many have run in the
//! table `palisade_schema`. The immediate transaction takes the write lock
//! first, so app instances starting together on a new file migrate one
//! after the other instead of racing (the soak run once saw two of three
//! demo instances die of such a race). Our own table, not `PRAGMA
//! user_version`: an application sharing the file may use that for its own
//! schema. Databases made by earlier versions (through sqlx's migrator) hold
//! the same tables; the migrations are `IF NOT EXISTS`, so they apply
//! cleanly over them.

use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/sqlite/0001_sessions.sql"),
    include_str!("../../../migrations/sqlite/0002_attempts.sql"),
];

/// How long a statement waits for another connection's write lock before
/// failing (the session layer then answers `503`).
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Attempts at opening before giving up (see [`open_file`]).
const OPEN_ATTEMPTS: u32 = 10;

/// A connection to the file at `path` (created if missing, WAL mode), set
/// up as every connection of the store is: see [`configure`]. Switching a
/// new file to WAL needs a moment of exclusive access, and an instance
/// starting beside another can get `SQLITE_BUSY` at once, without the busy
/// timeout: it tries again after a short pause.
pub(super) fn open_file(path: &Path) -> rusqlite::Result<Connection> {
    let mut attempt = 1;
    loop {
        let opened = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .and_then(|conn| {
            conn.busy_timeout(BUSY_TIMEOUT)?;
            let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(mode, "sqlite: the database would not switch to WAL mode");
            }
            configure(&conn)?;
            Ok(conn)
        });
        match opened {
            Err(err) if is_busy(&err) && attempt < OPEN_ATTEMPTS => {
                tracing::debug!(error = %err, attempt, "sqlite database busy while opening; retrying");
                std::thread::sleep(Duration::from_millis(20 * u64::from(attempt)));
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// A private in-memory database (lives as long as its one connection).
pub(super) fn open_memory() -> rusqlite::Result<Connection> {
    let conn = Connection::open_in_memory()?;
    configure(&conn)?;
    Ok(conn)
}

/// Every connection: foreign keys on, the busy timeout, `synchronous =
/// NORMAL` (in WAL mode a commit is not flushed by itself; see the store's
/// docs for what a power loss can lose) and room for the store's prepared
/// statements.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(())
}

/// Applies the migrations this database has not had yet.
pub(super) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS palisade_schema (migrations INTEGER NOT NULL)")?;
    let done: Option<i64> = tx.query_row("SELECT max(migrations) FROM palisade_schema", [], |row| row.get(0))?;
    let done = usize::try_from(done.unwrap_or(0)).unwrap_or(0);
    if done >= MIGRATIONS.len() {
        return Ok(()); // The transaction rolls back: it wrote nothing.
    }
    for sql in &MIGRATIONS[done..] {
        tx.execute_batch(sql)?;
    }
    tx.execute("DELETE FROM palisade_schema", [])?;
    tx.execute("INSERT INTO palisade_schema (migrations) VALUES (?)", [MIGRATIONS.len() as i64])?;
    tx.commit()
}

/// SQLITE_BUSY or SQLITE_LOCKED (extended codes included).
pub(super) fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(err.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_run_once_and_are_recorded() {
        let mut conn = open_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let recorded: i64 = conn.query_row("SELECT migrations FROM palisade_schema", [], |r| r.get(0)).unwrap();
        assert_eq!(recorded, MIGRATIONS.len() as i64);
        let rows: i64 = conn.query_row("SELECT count(*) FROM palisade_schema", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 1);
        for table in ["palisade_sessions", "palisade_attempts"] {
            let found: i64 = conn
                .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", [table], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(found, 1, "{table}");
        }
    }

    #[test]
    fn every_connection_has_foreign_keys_the_busy_timeout_and_synchronous_normal() {
        let dir = tempfile::tempdir().unwrap();
        for conn in [open_memory().unwrap(), open_file(&dir.path().join("s.db")).unwrap()] {
            let pragma = |name: &str| conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get::<_, i64>(0)).unwrap();
            assert_eq!(pragma("foreign_keys"), 1);
            assert_eq!(pragma("busy_timeout"), BUSY_TIMEOUT.as_millis() as i64);
            assert_eq!(pragma("synchronous"), 1, "NORMAL");
        }
    }

    #[test]
    fn a_database_migrated_by_sqlx_before_takes_the_migrations_again() {
        // What sqlx's migrator left: the tables, no palisade_schema.
        let mut conn = open_memory().unwrap();
        for sql in MIGRATIONS {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute("INSERT INTO palisade_attempts VALUES (zeroblob(32), 1, 0, 9, 1)", []).unwrap();
        migrate(&mut conn).unwrap();
        let kept: i64 = conn.query_row("SELECT count(*) FROM palisade_attempts", [], |r| r.get(0)).unwrap();
        assert_eq!(kept, 1, "existing rows survive");
    }
}
