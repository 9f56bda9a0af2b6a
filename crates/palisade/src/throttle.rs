//! Brute-force protection: password guesses limited per account and per
//! client network, with exponential backoff and `429` + `Retry-After`.
//!
//! # The attacks, and what stops each
//!
//! | attack | defence |
//! |---|---|
//! | guessing one account's password from one network | the **account × network** counter: 5 free guesses, then 1 s, 2 s, 4 s … up to 15 min between guesses |
//! | credential stuffing: many accounts, one network | the **network** counter: 100 wrong passwords an hour, then the same backoff (a correct password is refunded, so an office behind one NAT is not held back by its own logins) |
//! | locking a user out by failing on purpose | no hard lockout, and no counter for the account alone: guesses from the attacker's network never slow the owner's network (OWASP Authentication cheat sheet) |
//! | a hundred guesses sent in parallel | the check and the count are one atomic step in the store ([`AttemptStore::take`]): the hundredth request sees the ninety-nine before it |
//! | spreading guesses over app instances | the counters live in the session store (SQLite, PostgreSQL, Redis), shared by every instance |
//! | burning the server's CPU on Argon2 | a throttled request is refused **before** the password is checked: the caller runs the hash only with a [`PasswordGuess`] in hand |
//! | a store outage turning the throttle off | fail closed: [`ThrottleError::Unavailable`] is a `503` for the login only, the rest of the app is unaffected |
//!
//! The network is the client address from the trusted-proxy logic
//! ([`ClientIp`](crate::client::ClientIp)), never `X-Forwarded-For` as sent:
//! an IPv4 address, or an IPv6 /64 (what one household or host is given, so
//! cycling through the addresses of one's own /64 gains nothing).
//!
//! Counters are kept under a SHA-256 of the account and network, so a store
//! dump lists no user names or addresses in clear; account names are
//! compared trimmed and lower-cased (`Alice` and `alice ` share one budget).
//!
//! ```no_run
//! use palisade::store::MemoryStore;
//! use palisade::throttle::{Throttle, ThrottleError};
//! # async fn check(password_ok: impl Fn() -> bool) -> Result<(), ThrottleError> {
//! let throttle = Throttle::new(MemoryStore::new());
//! let client: std::net::IpAddr = "203.0.113.7".parse().unwrap();
//! // Before hashing anything: Err(Throttled { retry_after }) is a 429.
//! let guess = throttle.password_guess("alice", client).await?;
//! if password_ok() {
//!     guess.succeeded().await; // forgets this account's failures from here
//! } // dropped without `succeeded`: counted as a wrong password
//! # Ok(()) }
//! ```

use crate::clock::{Clock, SystemClock};
use crate::store::{StoreError, StoreKey, UnixTime};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

pub use crate::store::attempts::{AttemptStore, Backoff, Taken};

/// How long one counter call may take unless [`Throttle::timeout`] says
/// otherwise (the session layer's default too).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// `Retry-After` of a `503` (counters unreachable).
const UNAVAILABLE_RETRY_AFTER: Duration = Duration::from_secs(5);

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3_600);

impl Backoff {
    /// Guesses at one account from one network: 5 free, then 1 s doubling
    /// to 15 min; forgotten a day after the last one (or at a correct
    /// password). 10,000 guesses at one second each reach the password
    /// check 24 times (see `tests/throttle.rs`).
    pub fn password_per_account() -> Self {
        Backoff::new(5, Duration::from_secs(1), 15 * MINUTE, 24 * HOUR)
    }

    /// Wrong passwords from one network, whatever the account: 100 free,
    /// then 1 s doubling to 5 min; forgotten an hour after the last one.
    pub fn password_per_network() -> Self {
        Backoff::new(100, Duration::from_secs(1), 5 * MINUTE, HOUR)
    }

    /// Registrations from one network: 10 free, then 1 min doubling to an
    /// hour; forgotten a day after the last one.
    pub fn registrations() -> Self {
        Backoff::new(10, MINUTE, HOUR, 24 * HOUR)
    }
}

/// Why an attempt may not go ahead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ThrottleError {
    /// Too many attempts: wait `retry_after`. Nothing was counted.
    #[error("too many attempts: try again in {} s", retry_after.as_secs())]
    Throttled { retry_after: Duration },
    /// The counters could not be read or written: fail closed.
    #[error("attempt counters unavailable: {0}")]
    Unavailable(#[source] StoreError),
}

impl ThrottleError {
    /// `429 Too Many Requests` or `503 Service Unavailable`.
    pub fn status(&self) -> http::StatusCode {
        match self {
            Self::Throttled { .. } => http::StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => http::StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// What `Retry-After` says: the wait, in whole seconds rounded up.
    pub fn retry_after(&self) -> Duration {
        match self {
            Self::Throttled { retry_after } => *retry_after,
            Self::Unavailable(_) => UNAVAILABLE_RETRY_AFTER,
        }
    }

    /// A short text for the page (no internals).
    pub fn public_message(&self) -> String {
        match self {
            Self::Throttled { retry_after } => {
                format!("Too many attempts. Try again in {} seconds.", retry_after.as_secs().max(1))
            }
            Self::Unavailable(_) => "Signing in is unavailable right now. Try again shortly.".to_owned(),
        }
    }

    /// The `Retry-After` header value.
    pub fn retry_after_header(&self) -> http::HeaderValue {
        http::HeaderValue::from(self.retry_after().as_secs().max(1))
    }
}

#[cfg(feature = "axum")]
impl axum::response::IntoResponse for ThrottleError {
    /// The status, `Retry-After`, `Cache-Control: no-store` and a plain text.
    fn into_response(self) -> axum::response::Response {
        let headers = [(http::header::RETRY_AFTER, self.retry_after_header())];
        let mut res = (self.status(), headers, format!("{}\n", self.public_message())).into_response();
        res.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
        res
    }
}

/// Counts attempts in an [`AttemptStore`] and says when one must wait.
/// Clones share the store.
#[derive(Clone)]
pub struct Throttle {
    store: Arc<dyn AttemptStore>,
    clock: Arc<dyn Clock>,
    per_account: Backoff,
    per_network: Backoff,
    timeout: Duration,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle")
            .field("per_account", &self.per_account)
            .field("per_network", &self.per_network)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A password check the throttle let through. Counted as a wrong password
/// unless [`succeeded`](Self::succeeded) is called.
#[derive(Debug)]
#[must_use = "a guess is counted as wrong unless `succeeded` is called"]
pub struct PasswordGuess {
    throttle: Throttle,
    account: StoreKey,
    network: StoreKey,
}

impl PasswordGuess {
    /// The password was right: this account's failures from this network
    /// are forgotten and the network's count is refunded. A store failure
    /// here is logged, not returned: the login itself stands, and the
    /// worst outcome is a counter that stays higher than it should.
    pub async fn succeeded(self) {
        let throttle = &self.throttle;
        if let Err(err) = throttle.call(throttle.store.forgive(&self.account)).await {
            tracing::warn!(error = %err, "throttle: could not reset the account counter after a correct password");
        }
        if let Err(err) = throttle.call(throttle.store.refund(&self.network)).await {
            tracing::warn!(error = %err, "throttle: could not refund the network counter after a correct password");
        }
    }
}

impl PasswordGuess {
    /// The password was never checked (the hashing queue was full, the user
    /// database failed): the guess is taken back from both counters, so a
    /// server under load does not hold its own refusals against a user.
    pub async fn not_checked(self) {
        let throttle = &self.throttle;
        for key in [&self.account, &self.network] {
            if let Err(err) = throttle.call(throttle.store.refund(key)).await {
                tracing::warn!(error = %err, "throttle: could not refund a guess that was never checked");
            }
        }
    }
}

impl Throttle {
    /// A throttle over `store`, with the default backoffs
    /// ([`Backoff::password_per_account`], [`Backoff::password_per_network`]).
    pub fn new(store: impl AttemptStore) -> Self {
        Self::from_arc(Arc::new(store))
    }

    /// A throttle over a shared store.
    pub fn from_arc(store: Arc<dyn AttemptStore>) -> Self {
        Self {
            store,
            clock: Arc::new(SystemClock),
            per_account: Backoff::password_per_account(),
            per_network: Backoff::password_per_network(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The time source (a [`ManualClock`](crate::clock::ManualClock) in tests).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Backoff for guesses at one account from one network.
    pub fn per_account(mut self, backoff: Backoff) -> Self {
        self.per_account = backoff;
        self
    }

    /// Backoff for wrong passwords from one network.
    pub fn per_network(mut self, backoff: Backoff) -> Self {
        self.per_network = backoff;
        self
    }

    /// Bound on each counter call (default [`DEFAULT_TIMEOUT`]): a hung
    /// store gives a `503`, not a hung login.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Asks to check one password for `account` from `client`. Call it
    /// before any hashing; run the check only on `Ok`.
    ///
    /// The network counter is taken first: a network over its budget is
    /// refused whatever the account. Then the account × network counter;
    /// when that one refuses, the network's count is refunded (the guess
    /// never reached a password check).
    pub async fn password_guess(&self, account: &str, client: IpAddr) -> Result<PasswordGuess, ThrottleError> {
        let network = network_of(client);
        let network_key = counter_key("password/network", "", &network);
        let account_key = counter_key("password/account", &normalize_account(account), &network);
        self.take(&network_key, &self.per_network, "password/network", &network).await?;
        if let Err(err) = self.take(&account_key, &self.per_account, "password/account", &network).await {
            if let Err(refund) = self.call(self.store.refund(&network_key)).await {
                tracing::warn!(error = %refund, "throttle: could not refund the network counter");
            }
            return Err(err);
        }
        Ok(PasswordGuess { throttle: self.clone(), account: account_key, network: network_key })
    }

    /// Counts one `action` (e.g. `"register"`) from `client`'s network under
    /// `backoff`; every attempt counts, successful or not.
    pub async fn attempt(&self, action: &str, client: IpAddr, backoff: &Backoff) -> Result<(), ThrottleError> {
        let network = network_of(client);
        let key = counter_key(&format!("action/{action}"), "", &network);
        self.take(&key, backoff, action, &network).await
    }

    async fn take(&self, key: &StoreKey, backoff: &Backoff, what: &str, network: &str) -> Result<(), ThrottleError> {
        let now = self.clock.now();
        match self.call(self.store.take(key, now, backoff)).await {
            Ok(Taken::Allowed { count, .. }) => {
                tracing::debug!(counter = what, count, "throttle: attempt allowed");
                Ok(())
            }
            Ok(Taken::Blocked { retry_at }) => {
                let retry_after = retry_after(retry_at, now);
                tracing::warn!(
                    counter = what,
                    network,
                    retry_after_s = retry_after.as_secs(),
                    "throttle: attempt refused"
                );
                Err(ThrottleError::Throttled { retry_after })
            }
            Err(err) => {
                tracing::error!(counter = what, error = %err, "throttle: counters unavailable, refusing the attempt");
                Err(ThrottleError::Unavailable(err))
            }
        }
    }

    async fn call<T>(&self, call: impl std::future::Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        if self.store.never_waits() {
            return call.await;
        }
        tokio::time::timeout(self.timeout, call).await.unwrap_or(Err(StoreError::Timeout(self.timeout)))
    }
}

fn retry_after(retry_at: UnixTime, now: UnixTime) -> Duration {
    Duration::from_secs(u64::try_from(retry_at.saturating_sub(now)).unwrap_or(0).max(1))
}

/// The client's network as counted: an IPv4 address (IPv4-mapped IPv6 too),
/// or an IPv6 /64.
pub fn network_of(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

fn normalize_account(account: &str) -> String {
    account.trim().to_lowercase()
}

/// SHA-256 over the counter's kind, account and network, each
/// length-prefixed so that no two different triples share a key.
fn counter_key(kind: &str, account: &str, network: &str) -> StoreKey {
    let mut hash = Sha256::new();
    hash.update(b"palisade/throttle/v1");
    for part in [kind, account, network] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    StoreKey::from_bytes(hash.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_ipv4_addresses_and_ipv6_slash_64s() {
        let net = |s: &str| network_of(s.parse().unwrap());
        assert_eq!(net("203.0.113.7"), "203.0.113.7");
        assert_eq!(net("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(net("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(net("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
        assert_ne!(net("2001:db8:1:3::1"), net("2001:db8:1:2::1"));
    }

    #[test]
    fn keys_separate_kinds_accounts_and_networks_without_ambiguity() {
        let a = counter_key("password/account", "ab", "c");
        assert_ne!(a, counter_key("password/account", "a", "bc"));
        assert_ne!(a, counter_key("password/network", "ab", "c"));
        assert_eq!(normalize_account("  Alice "), "alice");
    }

    #[test]
    fn errors_map_to_429_and_503_with_a_retry_after_of_at_least_one_second() {
        let throttled = ThrottleError::Throttled { retry_after: Duration::from_secs(8) };
        assert_eq!(throttled.status(), http::StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(throttled.retry_after_header(), "8");
        let down = ThrottleError::Unavailable(StoreError::Timeout(Duration::from_secs(2)));
        assert_eq!(down.status(), http::StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry_after(100, 100), Duration::from_secs(1));
        assert_eq!(retry_after(90, 100), Duration::from_secs(1));
    }
}
