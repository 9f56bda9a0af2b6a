//! `Throttle` scenarios on the real counters with a `ManualClock`: a
//! guessing loop, the owner on another network, credential stuffing,
//! parallel guesses, a store outage.

use async_trait::async_trait;
use palisade::clock::ManualClock;
use palisade::store::{AttemptStore, Backoff, MemoryStore, StoreError, StoreKey, Taken, UnixTime};
use palisade::throttle::{Throttle, ThrottleError};
use std::net::IpAddr;
use std::time::Duration;

const START: i64 = 1_700_000_000;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn throttle(clock: &ManualClock) -> Throttle {
    Throttle::new(MemoryStore::new()).clock(clock.clone())
}

/// `guesses` wrong passwords at `account` from `client`, one every
/// `every`: how many reached the password check.
async fn guessing_loop(throttle: &Throttle, clock: &ManualClock, client: IpAddr, guesses: u32, every: Duration) -> u32 {
    let mut checked = 0;
    for _ in 0..guesses {
        match throttle.password_guess("alice", client).await {
            Ok(guess) => {
                checked += 1;
                drop(guess); // a wrong password
            }
            Err(ThrottleError::Throttled { retry_after }) => assert!(retry_after >= Duration::from_secs(1)),
            Err(other) => panic!("unexpected {other}"),
        }
        clock.advance(every);
    }
    checked
}

/// The figure the closing note and `Backoff::password_per_account` quote:
/// 10,000 guesses, one per second (2.8 hours), from one network.
#[tokio::test]
async fn ten_thousand_guesses_one_per_second_reach_the_password_check_24_times() {
    let clock = ManualClock::new(START);
    let throttle = throttle(&clock);
    let checked = guessing_loop(&throttle, &clock, ip("203.0.113.7"), 10_000, Duration::from_secs(1)).await;
    // 5 free, then waits of 1, 2, 4, … 512 s (9 more), then one every
    // 15 min for the remaining ~2.5 hours (10 more).
    assert_eq!(checked, 24);
}

#[tokio::test]
async fn ten_thousand_guesses_at_once_reach_the_password_check_5_times() {
    let clock = ManualClock::new(START);
    let throttle = throttle(&clock);
    let checked = guessing_loop(&throttle, &clock, ip("203.0.113.7"), 10_000, Duration::ZERO).await;
    assert_eq!(checked, 5);
}

#[tokio::test]
async fn the_owner_signs_in_from_their_own_network_while_an_attacker_is_throttled() {
    let clock = ManualClock::new(START);
    let throttle = throttle(&clock);
    let attacker = ip("203.0.113.7");
    guessing_loop(&throttle, &clock, attacker, 50, Duration::ZERO).await;
    assert!(matches!(throttle.password_guess("alice", attacker).await, Err(ThrottleError::Throttled { .. })));
    // Another network: the owner's login goes through at once, every time.
    for _ in 0..3 {
        let guess = throttle.password_guess("Alice", ip("198.51.100.20")).await.expect("the owner is never locked out");
        guess.succeeded().await;
    }
    // An IPv6 owner too, and the attacker hopping inside its own /64 gains nothing.
    assert!(throttle.password_guess("alice", ip("2001:db8:aa:bb::1")).await.is_ok());
    let v6_attacker = |n: u16| IpAddr::from([0x2001, 0xdb8, 0xcc, 0xdd, n, 0, 0, 1]);
    let mut checked = 0;
    for n in 0..50 {
        if throttle.password_guess("alice", v6_attacker(n)).await.is_ok() {
            checked += 1;
        }
    }
    assert_eq!(checked, 5, "one /64 is one network");
}

#[tokio::test]
async fn a_throttled_guess_is_not_counted_and_the_wait_ends() {
    let clock = ManualClock::new(START);
    let throttle = throttle(&clock);
    let client = ip("203.0.113.7");
    guessing_loop(&throttle, &clock, client, 5, Duration::ZERO).await;
    let Err(ThrottleError::Throttled { retry_after }) = throttle.password_guess("alice", client).await else {
        panic!("the sixth guess must wait");
    };
    assert_eq!(retry_after, Duration::from_secs(1));
    clock.advance(retry_after);
    assert!(throttle.password_guess("alice", client).await.is_ok(), "one more guess after the wait");
    // That sixth counted guess doubled the wait; the refusals did not count.
    let Err(ThrottleError::Throttled { retry_after }) = throttle.password_guess("alice", client).await else {
        panic!("must wait again");
    };
    assert_eq!(retry_after, Duration::from_secs(2));
}

#[tokio::test]
async fn a_correct_password_forgives_the_account_but_a_network_cannot_launder_its_guesses() {
    let clock = ManualClock::new(START);
    let throttle = throttle(&clock);
    let client = ip("203.0.113.7");
    guessing_loop(&throttle, &clock, client, 4, Duration::ZERO).await;
    throttle.password_guess("alice", client).await.unwrap().succeeded().await;
    // Alice's failures are forgotten: five free guesses again.
    assert_eq!(guessing_loop(&throttle, &clock, client, 5, Duration::ZERO).await, 5);

    // An attacker with an account of its own cannot reset its guesses at
    // "bob" by signing in as itself between them.
    let mut checked = 0;
    for _ in 0..20 {
        if let Ok(guess) = throttle.password_guess("bob", client).await {
            checked += 1;
            drop(guess);
        }
        throttle.password_guess("mallory", client).await.unwrap().succeeded().await;
    }
    assert_eq!(checked, 5);
}

#[tokio::test]
async fn a_guess_that_was_never_checked_is_taken_back() {
    let clock = ManualClock::new(START);
    let throttle = throttle(&clock);
    let client = ip("203.0.113.7");
    for _ in 0..50 {
        throttle.password_guess("alice", client).await.expect("never held against her").not_checked().await;
    }
    assert_eq!(guessing_loop(&throttle, &clock, client, 50, Duration::ZERO).await, 5);
}

#[tokio::test]
async fn credential_stuffing_from_one_network_is_slowed_down_and_others_are_not() {
    let clock = ManualClock::new(START);
    let throttle = throttle(&clock);
    let stuffer = ip("203.0.113.7");
    let mut checked = 0;
    for n in 0..1_000 {
        if throttle.password_guess(&format!("user{n}"), stuffer).await.is_ok() {
            checked += 1;
        }
    }
    assert_eq!(checked, 100, "the network budget: 100 wrong passwords");
    assert!(throttle.password_guess("someone-new", stuffer).await.is_err());
    assert!(throttle.password_guess("someone-new", ip("198.51.100.20")).await.is_ok());
}

#[tokio::test]
async fn correct_passwords_from_a_shared_network_are_refunded() {
    let clock = ManualClock::new(START);
    let throttle = throttle(&clock);
    let office = ip("203.0.113.7");
    // 500 colleagues sign in through one NAT within a minute.
    for n in 0..500 {
        let guess = throttle.password_guess(&format!("colleague{n}"), office).await.expect("never throttled");
        guess.succeeded().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_parallel_guesses_reach_the_password_check_5_times() {
    let clock = ManualClock::new(START);
    let throttle = throttle(&clock);
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let throttle = throttle.clone();
            tokio::spawn(async move { throttle.password_guess("alice", ip("203.0.113.7")).await.is_ok() })
        })
        .collect();
    let mut checked = 0;
    for task in tasks {
        checked += u32::from(task.await.unwrap());
    }
    assert_eq!(checked, 5);
}

#[tokio::test]
async fn registrations_are_counted_per_network_successful_or_not() {
    let clock = ManualClock::new(START);
    let throttle = throttle(&clock);
    let client = ip("203.0.113.7");
    let backoff = Backoff::registrations();
    for _ in 0..10 {
        throttle.attempt("register", client, &backoff).await.expect("ten free");
    }
    let Err(err) = throttle.attempt("register", client, &backoff).await else { panic!("the eleventh waits") };
    assert_eq!(err.retry_after(), Duration::from_secs(60));
    // Registering does not spend the login budget.
    assert!(throttle.password_guess("alice", client).await.is_ok());
    assert!(throttle.attempt("register", ip("198.51.100.20"), &backoff).await.is_ok());
}

/// A store that is down, or hangs.
#[derive(Clone, Copy)]
enum Broken {
    Down,
    Hung,
}

#[async_trait]
impl AttemptStore for Broken {
    async fn take(&self, _: &StoreKey, _: UnixTime, _: &Backoff) -> Result<Taken, StoreError> {
        match self {
            Broken::Down => Err(StoreError::unavailable(std::io::Error::other("connection refused"))),
            Broken::Hung => std::future::pending().await,
        }
    }
    async fn refund(&self, _: &StoreKey) -> Result<(), StoreError> {
        Ok(())
    }
    async fn forgive(&self, _: &StoreKey) -> Result<(), StoreError> {
        Ok(())
    }
}

#[tokio::test]
async fn a_store_outage_fails_closed_with_503_and_a_hung_store_times_out() {
    for broken in [Broken::Down, Broken::Hung] {
        let throttle = Throttle::new(broken).timeout(Duration::from_millis(50));
        let err = throttle.password_guess("alice", ip("203.0.113.7")).await.unwrap_err();
        assert!(matches!(err, ThrottleError::Unavailable(_)), "{err}");
        assert_eq!(err.status(), http::StatusCode::SERVICE_UNAVAILABLE);
        assert!(!err.public_message().contains("refused"), "no internals in the page");
    }
}

#[tokio::test]
async fn the_rejection_is_a_429_with_retry_after_and_no_store() {
    use axum::response::IntoResponse;
    let err = ThrottleError::Throttled { retry_after: Duration::from_secs(4) };
    let res = err.into_response();
    assert_eq!(res.status(), http::StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()[http::header::RETRY_AFTER], "4");
    assert_eq!(res.headers()[http::header::CACHE_CONTROL], "no-store");
}
