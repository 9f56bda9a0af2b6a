//! Users in SQLite, passwords hashed with Argon2id.
//!
//! - Hashes are PHC strings (`$argon2id$v=19$m=…`) with a fresh random salt
//!   each; parameters are the `argon2` crate's defaults (OWASP's minimum:
//!   19 MiB, 2 passes), read back from each hash when verifying.
//! - A login for an unknown username still runs one verification, against
//!   [`DUMMY_HASH`], so the response time does not tell which usernames exist.
//! - Hashing runs on the blocking thread pool, at most a few at a time, so a
//!   burst of logins can neither stall the async workers nor exhaust memory.
//! - Every query is parameterized.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sqlx::SqlitePool;
use std::sync::Arc;
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

/// An Argon2id hash (default parameters) of a password nobody knows,
/// verified against when the username does not exist.
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$4ai/4R+8+a1fTD5COysQGA$v08mCdRbkFzJACD3J+2lKUW9Z0SmY9sZtj8jf/p3nBA";

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS demo_users (
    id INTEGER PRIMARY KEY,
    username TEXT UNIQUE NOT NULL COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
)";

/// A registered user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    /// Unix seconds.
    pub created_at: i64,
}

/// Why a user operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UsersError {
    /// Registration with a username that exists (compared without case).
    #[error("username taken")]
    UsernameTaken,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("password hashing failed: {0}")]
    Hash(argon2::password_hash::Error),
    #[error("password hashing task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// The users table.
#[derive(Clone, Debug)]
pub struct Users {
    pool: SqlitePool,
    hashing: Arc<Semaphore>,
}

impl Users {
    /// Creates the `demo_users` table if it is missing.
    pub async fn new(pool: SqlitePool) -> Result<Self, UsersError> {
        sqlx::query(CREATE_TABLE).execute(&pool).await?;
        let parallel = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self { pool, hashing: Arc::new(Semaphore::new(parallel * 2)) })
    }

    /// Stores a new user. The caller validated `username` and `password`.
    pub async fn register(&self, username: &str, password: &str) -> Result<User, UsersError> {
        let password = Zeroizing::new(password.to_owned());
        let hash = self.blocking(move || hash_password(&password)).await??;
        let created_at = palisade::clock::unix_now();
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO demo_users (username, password_hash, created_at) VALUES (?1, ?2, ?3) RETURNING id",
        )
        .bind(username)
        .bind(&hash)
        .bind(created_at)
        .fetch_one(&self.pool)
        .await;
        match inserted {
            Ok(id) => Ok(User { id, username: username.to_owned(), created_at }),
            Err(sqlx::Error::Database(err)) if err.is_unique_violation() => Err(UsersError::UsernameTaken),
            Err(err) => Err(err.into()),
        }
    }

    /// The user with these credentials, or `None`. Takes the same time
    /// whether or not the username exists.
    pub async fn verify(&self, username: &str, password: &str) -> Result<Option<User>, UsersError> {
        let row: Option<(i64, String, String, i64)> =
            sqlx::query_as("SELECT id, username, password_hash, created_at FROM demo_users WHERE username = ?1")
                .bind(username)
                .fetch_optional(&self.pool)
                .await?;
        let (hash, user) = match row {
            Some((id, username, hash, created_at)) => (hash, Some(User { id, username, created_at })),
            None => (DUMMY_HASH.to_owned(), None),
        };
        let password = Zeroizing::new(password.to_owned());
        let matches = self.blocking(move || verify_password(&password, &hash)).await??;
        Ok(if matches { user } else { None })
    }

    /// The user with this id (None when it was deleted).
    pub async fn find(&self, id: i64) -> Result<Option<User>, UsersError> {
        let row: Option<(i64, String, i64)> =
            sqlx::query_as("SELECT id, username, created_at FROM demo_users WHERE id = ?1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(id, username, created_at)| User { id, username, created_at }))
    }

    /// True when `password` is the current password of user `id` (false
    /// for an unknown id, after the same amount of hashing work).
    pub async fn check_password(&self, id: i64, password: &str) -> Result<bool, UsersError> {
        let hash: Option<String> = sqlx::query_scalar("SELECT password_hash FROM demo_users WHERE id = ?1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let password = Zeroizing::new(password.to_owned());
        let matches = self.blocking(move || verify_password(&password, &hash)).await??;
        Ok(known && matches)
    }

    /// Replaces the password of user `id` (a new Argon2id hash, new salt).
    /// The caller validated `password` and checked the old one.
    pub async fn change_password(&self, id: i64, password: &str) -> Result<(), UsersError> {
        let password = Zeroizing::new(password.to_owned());
        let hash = self.blocking(move || hash_password(&password)).await??;
        sqlx::query("UPDATE demo_users SET password_hash = ?1 WHERE id = ?2")
            .bind(&hash)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Runs CPU- and memory-heavy hashing off the async workers, bounded.
    async fn blocking<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, UsersError> {
        // The semaphore is never closed; should it be, hashing goes on unbounded.
        let _permit = self.hashing.acquire().await.ok();
        Ok(tokio::task::spawn_blocking(f).await?)
    }
}

/// A PHC-format Argon2id hash with a fresh random salt.
fn hash_password(password: &str) -> Result<String, UsersError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(UsersError::Hash)
}

/// Constant-time comparison (inside the `argon2` crate), with the
/// parameters stored in the hash.
fn verify_password(password: &str, hash: &str) -> Result<bool, UsersError> {
    let parsed = PasswordHash::new(hash).map_err(UsersError::Hash)?;
    match Argon2::default().verify_password(password.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(err) => Err(UsersError::Hash(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::{Algorithm, Params, Version};

    #[test]
    fn dummy_hash_costs_as_much_as_a_real_one() {
        let dummy = PasswordHash::new(DUMMY_HASH).unwrap();
        let real_text = hash_password("correct horse battery").unwrap();
        let real = PasswordHash::new(&real_text).unwrap();
        assert_eq!(dummy.algorithm, Algorithm::Argon2id.ident());
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, Some(Version::V0x13.into()));
        let cost = |p: &Params| (p.m_cost(), p.t_cost(), p.p_cost());
        let (dummy, real) = (Params::try_from(&dummy).unwrap(), Params::try_from(&real).unwrap());
        assert_eq!(cost(&dummy), cost(&real));
        assert_eq!(cost(&real), cost(&Params::default()));
        assert_eq!(dummy.output_len(), real.output_len());
    }

    #[test]
    fn hashes_are_salted_phc_strings_that_verify() {
        let a = hash_password("correct horse battery").unwrap();
        let b = hash_password("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$v=19$"), "{a}");
        assert_ne!(a, b, "each hash gets its own salt");
        assert!(verify_password("correct horse battery", &a).unwrap());
        assert!(!verify_password("correct horse battery!", &a).unwrap());
        assert!(!verify_password("anything", DUMMY_HASH).unwrap());
    }

    async fn users() -> Users {
        let pool = SqlitePool::connect("sqlite::memory:").await.unwrap();
        Users::new(pool).await.unwrap()
    }

    #[tokio::test]
    async fn register_verify_and_case_insensitive_uniqueness() {
        let users = users().await;
        let alice = users.register("Alice", "a long enough password").await.unwrap();
        assert_eq!(users.verify("alice", "a long enough password").await.unwrap(), Some(alice.clone()));
        assert_eq!(users.verify("Alice", "wrong password here").await.unwrap(), None);
        assert_eq!(users.verify("nobody", "a long enough password").await.unwrap(), None);
        assert!(matches!(users.register("ALICE", "another long password").await, Err(UsersError::UsernameTaken)));
        assert_eq!(users.find(alice.id).await.unwrap(), Some(alice.clone()));
        assert_eq!(users.find(alice.id + 1).await.unwrap(), None);
    }

    /// Unknown usernames cost a full Argon2 verification too (user
    /// enumeration by timing). Without the dummy hash they would answer in
    /// about a millisecond instead of tens or hundreds.
    #[tokio::test]
    async fn unknown_usernames_take_as_long_as_known_ones() {
        let users = users().await;
        users.register("known", "a long enough password").await.unwrap();
        let mut known = Vec::new();
        let mut unknown = Vec::new();
        for _ in 0..3 {
            let start = std::time::Instant::now();
            assert_eq!(users.verify("known", "not the password!").await.unwrap(), None);
            known.push(start.elapsed());
            let start = std::time::Instant::now();
            assert_eq!(users.verify("unknown", "not the password!").await.unwrap(), None);
            unknown.push(start.elapsed());
        }
        known.sort();
        unknown.sort();
        let (known, unknown) = (known[1], unknown[1]);
        assert!(unknown * 4 > known, "unknown user took {unknown:?}, known user {known:?}");
    }

    #[tokio::test]
    async fn usernames_are_data_not_sql() {
        let users = users().await;
        users.register("x'); DROP TABLE demo_users; --", "a long enough password").await.unwrap();
        assert!(users.verify("x'); DROP TABLE demo_users; --", "a long enough password").await.unwrap().is_some());
    }
}
