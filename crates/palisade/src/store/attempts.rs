//! Attempt counters for [`throttle`](crate::throttle): how many password
//! guesses (or registrations) a client made, and until when it must wait.
//!
//! They live in the same backends as sessions so that several app instances
//! share them: an attacker who spreads guesses over the instances behind a
//! load balancer meets one counter, not one per process.
//!
//! # The one operation: [`AttemptStore::take`]
//!
//! `take` is a *check and count* done atomically in the backend (one lock,
//! one SQL upsert, one Lua script). A check followed by a separate count
//! would let an attacker send a hundred guesses in parallel that all pass
//! the check before any of them is counted; here the hundredth finds the
//! ninety-nine before it. Every attempt is counted *before* the password is
//! checked (pessimistically, as a failure); a success then takes it back
//! ([`AttemptStore::forgive`], [`AttemptStore::refund`]).
//!
//! [`Counter::take`] is the reference every backend implements: the SQL
//! statements and the Lua script spell out the same steps, and the test in
//! `tests/throttle_stores.rs` runs all four backends against it.

use super::{StoreError, StoreKey, UnixTime};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Longest delay a [`Backoff`] may ask for (a day): a counter can never
/// turn into a lockout longer than that.
pub const MAX_DELAY: Duration = Duration::from_secs(86_400);

/// Exponential backoff: the first `free` attempts in a window pass at once,
/// then attempt `free + k` makes the next one wait `base · 2^k`, capped at
/// `max`. The counter is forgotten `window` after the last counted attempt.
///
/// There is no hard lockout: after the wait, one more attempt is always let
/// through (OWASP's Authentication cheat sheet: a lockout is itself a denial
/// of service an attacker can aim at a user).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    free: u32,
    base: u32,
    max: u32,
    window: u32,
}

impl Backoff {
    /// `free` attempts without delay, then `base`, `2·base`, `4·base`, … up
    /// to `max`; counters forgotten `window` after the last attempt. Times
    /// are whole seconds: `base` is raised to at least 1 s, `max` to at least
    /// `base` and lowered to [`MAX_DELAY`], `window` raised to at least `max`.
    pub fn new(free: u32, base: Duration, max: Duration, window: Duration) -> Self {
        let secs = |d: Duration| u32::try_from(d.as_secs()).unwrap_or(u32::MAX);
        let cap = secs(MAX_DELAY);
        let base = secs(base).clamp(1, cap);
        let max = secs(max).clamp(base, cap);
        let window = secs(window).max(max);
        Self { free, base, max, window }
    }

    /// Attempts allowed without any delay.
    pub fn free(&self) -> u32 {
        self.free
    }

    /// The first delay, in seconds.
    pub fn base_secs(&self) -> u32 {
        self.base
    }

    /// The longest delay, in seconds.
    pub fn max_secs(&self) -> u32 {
        self.max
    }

    /// How long a counter is kept after its last counted attempt, in seconds.
    pub fn window_secs(&self) -> u32 {
        self.window
    }

    /// Parameters 3–6 of the SQL upsert: free, base, max, window.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn sql_params(&self) -> [i64; 4] {
        [self.free, self.base, self.max, self.window].map(i64::from)
    }

    /// The wait after the `count`-th counted attempt, in seconds.
    pub fn delay_after(&self, count: u64) -> i64 {
        if count < u64::from(self.free) {
            return 0;
        }
        let doublings = (count - u64::from(self.free)).min(40) as u32;
        (i64::from(self.base) << doublings).min(i64::from(self.max))
    }
}

/// What [`AttemptStore::take`] decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Taken {
    /// The attempt may go ahead; it is the `count`-th in the window, and the
    /// next one may not start before `next_at`.
    Allowed { count: u64, next_at: UnixTime },
    /// Too soon: nothing was counted; try again at `retry_at`.
    Blocked { retry_at: UnixTime },
}

/// One counter as every backend keeps it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counter {
    /// Attempts counted in the current window.
    pub count: u64,
    /// No attempt may start before this instant.
    pub not_before: UnixTime,
    /// The counter is forgotten at this instant.
    pub expires_at: UnixTime,
}

impl Counter {
    /// The reference semantics of [`AttemptStore::take`] on one counter
    /// (`None`: no counter yet). Returns the new counter and the verdict.
    pub fn take(current: Option<Counter>, now: UnixTime, backoff: &Backoff) -> (Counter, Taken) {
        let live = current.filter(|c| c.expires_at > now);
        if let Some(c) = live.filter(|c| c.not_before > now) {
            return (c, Taken::Blocked { retry_at: c.not_before });
        }
        let count = live.map_or(0, |c| c.count).saturating_add(1);
        let delay = backoff.delay_after(count);
        let next = Counter {
            count,
            not_before: now + delay,
            // `window` is at least `max`, so it outlasts every wait.
            expires_at: now + i64::from(backoff.window),
        };
        (next, Taken::Allowed { count, next_at: next.not_before })
    }
}

/// Where attempt counters live. Implemented by every session store
/// ([`MemoryStore`](super::MemoryStore), [`SqliteStore`](super::SqliteStore),
/// `PostgresStore`, `RedisStore`); each method is one round trip.
///
/// Keys are [`StoreKey`]s: SHA-256 digests the throttle computes from the
/// account and network, so a store holds no user names or addresses in
/// clear and no caller input reaches a Redis key or SQL text.
#[async_trait]
pub trait AttemptStore: Send + Sync + 'static {
    /// Atomically: when the counter is live and `now` is before its
    /// `not_before`, returns [`Taken::Blocked`] and changes nothing;
    /// otherwise counts one attempt exactly as [`Counter::take`] does.
    async fn take(&self, key: &StoreKey, now: UnixTime, backoff: &Backoff) -> Result<Taken, StoreError>;

    /// Takes one counted attempt back (never below zero), leaving the wait
    /// as it is: a success on a shared network is not held against it.
    async fn refund(&self, key: &StoreKey) -> Result<(), StoreError>;

    /// Forgets the counter (a correct password for this account).
    async fn forgive(&self, key: &StoreKey) -> Result<(), StoreError>;

    /// See [`Store::never_waits`](super::Store::never_waits).
    fn never_waits(&self) -> bool {
        false
    }
}

/// The SQL dialects of the two SQL backends.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
#[derive(Clone, Copy)]
pub(crate) enum Sql {
    #[cfg(feature = "sqlite")]
    Sqlite,
    #[cfg(feature = "postgres")]
    Postgres,
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
impl Sql {
    /// [`Counter::take`] as one upsert. Parameters: 1 key, 2 now, 3 free,
    /// 4 base, 5 max, 6 window (all integers). In `DO UPDATE SET`, every
    /// expression sees the row as it was before the statement, so "live",
    /// "blocked" and the new count are spelled out where they are used. The
    /// row is locked for the statement (PostgreSQL's row lock, SQLite's one
    /// writer): two concurrent takes are counted one after the other.
    /// `RETURNING` gives the row as written, `allowed` the verdict.
    /// [`take_statement`](Self::take_statement), built once per dialect.
    pub(crate) fn take_sql(self) -> &'static str {
        use std::sync::OnceLock;
        let cell = match self {
            #[cfg(feature = "sqlite")]
            Sql::Sqlite => {
                static SQLITE: OnceLock<String> = OnceLock::new();
                &SQLITE
            }
            #[cfg(feature = "postgres")]
            Sql::Postgres => {
                static POSTGRES: OnceLock<String> = OnceLock::new();
                &POSTGRES
            }
        };
        cell.get_or_init(|| self.take_statement())
    }

    fn take_statement(self) -> String {
        let (p, least, yes, no): (fn(u8) -> String, &str, &str, &str) = match self {
            #[cfg(feature = "sqlite")]
            Sql::Sqlite => (|n| format!("?{n}"), "min", "1", "0"),
            #[cfg(feature = "postgres")]
            Sql::Postgres => (|n| format!("${n}"), "LEAST", "true", "false"),
        };
        let (now, free, base, max, window) = (p(2), p(3), p(4), p(5), p(6));
        let delay = |n: &str| {
            let shifted = match self {
                #[cfg(feature = "sqlite")]
                Sql::Sqlite => format!("({base} << {least}({n} - {free}, 40))"),
                #[cfg(feature = "postgres")]
                Sql::Postgres => format!("({base}::bigint << ({least}({n} - {free}, 40))::int)"),
            };
            format!("(CASE WHEN {n} < {free} THEN 0 ELSE {least}({max}, {shifted}) END)")
        };
        let t = "palisade_attempts";
        let blocked = format!("({t}.expires_at > {now} AND {t}.not_before > {now})");
        let count = format!("(CASE WHEN {t}.expires_at > {now} THEN {t}.count + 1 ELSE 1 END)");
        format!(
            "INSERT INTO {t} (key, count, not_before, expires_at, allowed) \
             VALUES ({key}, 1, {now} + {first}, {now} + {window}, {yes}) \
             ON CONFLICT (key) DO UPDATE SET \
             count = CASE WHEN {blocked} THEN {t}.count ELSE {count} END, \
             not_before = CASE WHEN {blocked} THEN {t}.not_before ELSE {now} + {next} END, \
             expires_at = CASE WHEN {blocked} THEN {t}.expires_at ELSE {now} + {window} END, \
             allowed = CASE WHEN {blocked} THEN {no} ELSE {yes} END \
             RETURNING count, not_before, allowed",
            key = p(1),
            first = delay("1"),
            next = delay(&count),
        )
    }
}

/// Reads the `RETURNING count, not_before, allowed` of [`Sql::take_sql`].
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn taken(count: i64, not_before: UnixTime, allowed: bool) -> Taken {
    if allowed {
        Taken::Allowed { count: u64::try_from(count).unwrap_or(0), next_at: not_before }
    } else {
        Taken::Blocked { retry_at: not_before }
    }
}

/// Default bound on the counters a [`MemoryStore`](super::MemoryStore) holds.
pub const DEFAULT_MAX_COUNTERS: usize = 100_000;

/// The counters of a [`MemoryStore`](super::MemoryStore): a map under a lock,
/// bounded so that a flood of made-up user names cannot grow the process.
#[derive(Debug, Default)]
pub(crate) struct MemoryCounters {
    counters: Mutex<HashMap<StoreKey, Counter>>,
}

impl MemoryCounters {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<StoreKey, Counter>> {
        // Every mutation is one infallible map operation: a poisoned lock
        // still guards a consistent map.
        self.counters.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// When full, expired counters are dropped first; if none is, the call
    /// fails ([`StoreError::Full`], a 503 for the login) rather than evict a
    /// live counter, which would hand an attacker a fresh budget of guesses.
    pub(crate) fn take(
        &self,
        key: &StoreKey,
        now: UnixTime,
        backoff: &Backoff,
        max: usize,
    ) -> Result<Taken, StoreError> {
        let mut counters = self.lock();
        if !counters.contains_key(key) && counters.len() >= max {
            counters.retain(|_, c| c.expires_at > now);
            if counters.len() >= max {
                tracing::warn!(counters = counters.len(), "attempt counters full: refusing the attempt (fail closed)");
                return Err(StoreError::Full(counters.len()));
            }
        }
        let (next, taken) = Counter::take(counters.get(key).copied(), now, backoff);
        counters.insert(*key, next);
        Ok(taken)
    }

    pub(crate) fn refund(&self, key: &StoreKey) {
        if let Some(c) = self.lock().get_mut(key) {
            c.count = c.count.saturating_sub(1);
        }
    }

    pub(crate) fn forgive(&self, key: &StoreKey) {
        self.lock().remove(key);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backoff() -> Backoff {
        Backoff::new(3, Duration::from_secs(2), Duration::from_secs(60), Duration::from_secs(600))
    }

    #[test]
    fn delays_double_from_the_first_attempt_past_the_free_ones_up_to_the_cap() {
        let b = backoff();
        let delays: Vec<i64> = (1..=10).map(|n| b.delay_after(n)).collect();
        assert_eq!(delays, [0, 0, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(b.delay_after(u64::MAX), 60);
    }

    #[test]
    fn settings_are_clamped_to_whole_sane_seconds() {
        let b = Backoff::new(0, Duration::ZERO, Duration::ZERO, Duration::ZERO);
        assert_eq!((b.base_secs(), b.max_secs(), b.window_secs()), (1, 1, 1));
        let b = Backoff::new(1, Duration::from_secs(10), Duration::from_secs(10 << 20), Duration::from_secs(5));
        assert_eq!(b.max_secs(), 86_400);
        assert_eq!(b.window_secs(), 86_400);
    }

    #[test]
    fn a_blocked_attempt_changes_nothing_and_an_expired_counter_starts_over() {
        let b = backoff();
        let mut c = None;
        for n in 1..=3 {
            let (next, taken) = Counter::take(c, 100, &b);
            assert!(matches!(taken, Taken::Allowed { count, .. } if count == n), "{taken:?}");
            c = Some(next);
        }
        // The third attempt (the first past the free ones) set a 2 s wait.
        let (same, taken) = Counter::take(c, 101, &b);
        assert_eq!(taken, Taken::Blocked { retry_at: 102 });
        assert_eq!(Some(same), c);
        let (next, taken) = Counter::take(c, 102, &b);
        assert_eq!(taken, Taken::Allowed { count: 4, next_at: 106 });
        let (fresh, taken) = Counter::take(Some(next), next.expires_at, &b);
        assert_eq!(taken, Taken::Allowed { count: 1, next_at: next.expires_at });
        assert_eq!(fresh.count, 1);
    }

    #[test]
    fn memory_counters_are_bounded_and_fail_closed_when_full_of_live_ones() {
        let counters = MemoryCounters::default();
        let b = backoff();
        for n in 0..4u8 {
            assert!(counters.take(&StoreKey::from_session_id(&[n]), 0, &b, 4).is_ok());
        }
        let other = StoreKey::from_session_id(b"new");
        assert!(matches!(counters.take(&other, 1, &b, 4), Err(StoreError::Full(4))));
        // Once they expired, room is made.
        assert!(counters.take(&other, 1_000, &b, 4).is_ok());
        assert_eq!(counters.len(), 1);
    }
}
