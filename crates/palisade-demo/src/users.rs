//! Users in SQLite, passwords hashed with Argon2id.
//!
//! - Hashes are PHC strings (`$argon2id$v=19$m=…`) with a fresh random salt
//!   each; parameters are the `argon2` crate's defaults (OWASP's minimum:
//!   19 MiB, 2 passes), read back from each hash when verifying.
//! - A login for an unknown username still runs one verification, against
//!   [`DUMMY_HASH`], so the response time does not tell which usernames exist.
//! - Hashing runs on dedicated threads, one per core, with a short queue
//!   behind them ([`HASH_QUEUE_PER_CORE`]): under a
//!   flood of logins the excess gets [`UsersError::Busy`] (a fast `503`)
//!   instead of waiting, so neither the async workers nor memory (19 MiB per
//!   hash) run out, and signed-in users, who need no hashing, are served.
//! - Every query is parameterized.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sqlx::SqlitePool;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

/// An Argon2id hash (default parameters) of a password nobody knows,
/// verified against when the username does not exist.
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$4ai/4R+8+a1fTD5COysQGA$v08mCdRbkFzJACD3J+2lKUW9Z0SmY9sZtj8jf/p3nBA";

/// Hashes that may wait for a core, per core. Past that, a request is
/// refused at once: a queue that grows without bound is a slow-motion
/// outage (each waiter holds a connection and its password in memory).
pub const HASH_QUEUE_PER_CORE: usize = 4;

/// Argon2 computations (hashes and verifications) this process has run.
static ARGON2_RUNS: AtomicU64 = AtomicU64::new(0);

/// How many Argon2 hashes and verifications this process has computed (for
/// the throttling tests and the soak report: what a flood of guesses cost).
pub fn argon2_runs() -> u64 {
    ARGON2_RUNS.load(Ordering::Relaxed)
}

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
    /// A hashing thread died (a panic in the hash): the request fails.
    #[error("password hashing thread failed")]
    HasherGone,
    /// Every core is hashing and the queue behind them is full.
    #[error("too many password checks in progress")]
    Busy,
}

/// The users table.
#[derive(Clone, Debug)]
pub struct Users {
    pool: SqlitePool,
    hashers: Arc<Hashers>,
    /// One permit per hash that may run or wait: taken without waiting.
    admitted: Arc<Semaphore>,
}

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads, one per core, fed through a channel; they end when
/// the last `Users` clone is dropped.
///
/// Why not tokio's blocking pool: it grows to hundreds of threads under a
/// burst, glibc gives each thread its own malloc arena, and every arena
/// kept the 19 MiB of the last Argon2 hash it served. The soak run measured
/// about 470 MiB RSS per instance that way; with a fixed set of threads at
/// most `cores` such buffers exist.
#[derive(Debug)]
struct Hashers {
    jobs: Mutex<std::sync::mpsc::Sender<Job>>,
}

impl Hashers {
    fn start(threads: usize) -> Self {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new().name(format!("argon2-{n}")).spawn(move || loop {
                // The lock is held only while waiting for the next job.
                let job = queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).recv();
                match job {
                    Ok(job) => job(),
                    Err(_) => break, // every sender dropped
                }
            });
            if let Err(err) = spawned {
                tracing::error!(error = %err, "could not start a password hashing thread");
            }
        }
        Self { jobs: Mutex::new(jobs) }
    }

    async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, UsersError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(f());
        });
        let sent = self.jobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).send(job);
        sent.map_err(|_| UsersError::HasherGone)?;
        result.await.map_err(|_| UsersError::HasherGone)
    }
}

impl Users {
    /// Opens the database file at `path` (the session store's: WAL mode,
    /// made by `SqliteStore::open`) and creates the table if it is missing.
    pub async fn open(path: &std::path::Path) -> Result<Self, UsersError> {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .busy_timeout(std::time::Duration::from_secs(5));
        Self::new(sqlx::sqlite::SqlitePoolOptions::new().max_connections(4).connect_with(options).await?).await
    }

    /// Creates the `demo_users` table if it is missing.
    pub async fn new(pool: SqlitePool) -> Result<Self, UsersError> {
        sqlx::query(CREATE_TABLE).execute(&pool).await?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self {
            pool,
            hashers: Arc::new(Hashers::start(cores)),
            admitted: Arc::new(Semaphore::new(cores * (1 + HASH_QUEUE_PER_CORE))),
        })
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

    /// Runs CPU- and memory-heavy hashing off the async workers, bounded:
    /// refused at once ([`UsersError::Busy`]) when the queue is full.
    async fn blocking<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, UsersError> {
        let Ok(_admitted) = self.admitted.try_acquire() else {
            tracing::warn!("password hashing queue full: refusing the request (503)");
            return Err(UsersError::Busy);
        };
        ARGON2_RUNS.fetch_add(1, Ordering::Relaxed);
        self.hashers.run(f).await
    }
}

/// Sessions are tied to the password hash (`AuthConfig::credential_stamp`):
/// a password changed in the database by anything else (an admin's
/// `UPDATE`, a reset script) ends the user's sessions on their next request.
#[async_trait::async_trait]
impl palisade::auth::CredentialStamp for Users {
    async fn stamp(&self, user_id: &str) -> Result<Option<Vec<u8>>, palisade::auth::StampError> {
        let Ok(id) = user_id.parse::<i64>() else { return Ok(None) };
        let hash: Option<String> = sqlx::query_scalar("SELECT password_hash FROM demo_users WHERE id = ?1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(hash.map(String::into_bytes))
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

    /// A flood larger than the queue: the excess is refused at once, what
    /// was admitted completes, and the next request is served normally.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_flood_of_password_checks_is_bounded_and_the_excess_refused_at_once() {
        let users = users().await;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let flood = cores * (1 + HASH_QUEUE_PER_CORE) * 4;
        let tasks: Vec<_> = (0..flood)
            .map(|_| {
                let users = users.clone();
                tokio::spawn(async move { users.verify("nobody", "not the password!").await })
            })
            .collect();
        let (mut done, mut busy) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(None) => done += 1,
                Err(UsersError::Busy) => busy += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(busy > 0, "{flood} checks at once must overflow the queue");
        assert!(done >= cores, "the admitted checks complete ({done} of {flood})");
        assert_eq!(users.verify("nobody", "not the password!").await.unwrap(), None, "served again afterwards");
    }

    #[tokio::test]
    async fn usernames_are_data_not_sql() {
        let users = users().await;
        users.register("x'); DROP TABLE demo_users; --", "a long enough password").await.unwrap();
        assert!(users.verify("x'); DROP TABLE demo_users; --", "a long enough password").await.unwrap().is_some());
    }
}
