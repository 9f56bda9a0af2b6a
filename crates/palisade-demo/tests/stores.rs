//! The demo with its sessions in PostgreSQL, Redis and a Redis Cluster
//! (`--store`): the whole login flow works, and two app instances sharing
//! one store share logins — how the demo scales past one machine.
//!
//! Real servers: `PALISADE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), `PALISADE_TEST_REDIS_URL`
//! (default `redis://127.0.0.1:6379`) and `PALISADE_TEST_REDIS_CLUSTER`
//! (set by `scripts/test`, which starts a local 3-node cluster).

mod support;

use palisade::client::TrustedProxyLayer;
use palisade::keys::KeyRing;
use palisade_demo::{DemoConfig, StoreChoice};
use reqwest::StatusCode;
use support::http::{cookie_value, location, session_set_cookie, Browserless, PASSWORD};
use support::spawn_with;

fn postgres() -> StoreChoice {
    let url = std::env::var("PALISADE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    StoreChoice::parse(&url, false).expect("a postgres:// URL")
}

fn redis() -> StoreChoice {
    let url = std::env::var("PALISADE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    StoreChoice::parse(&url, false).expect("a redis:// URL")
}

fn redis_cluster() -> StoreChoice {
    let nodes = std::env::var("PALISADE_TEST_REDIS_CLUSTER").unwrap_or_else(|_| {
        panic!(
            "PALISADE_TEST_REDIS_CLUSTER is not set: run the tests with scripts/test, which starts a local \
             3-node Redis Cluster (needs redis-server and redis-cli: apt-get install redis-server redis-tools)"
        )
    });
    StoreChoice::parse(&nodes, true).expect("redis:// cluster nodes")
}

/// Two instances of the demo (same secret, same users database, one
/// session store) and a client for each.
///
/// The store outlives the test (a shared server), and so do the login
/// throttle's counters in it, registrations per network included: each
/// run's client therefore arrives, through a trusted proxy on loopback,
/// from an address of its own, or the tenth run of the day would be
/// throttled.
async fn two_instances(store: StoreChoice) -> (Browserless, Browserless, tempfile::TempDir) {
    let temp = tempfile::tempdir().expect("temp dir");
    let keys = KeyRing::from_base64(&KeyRing::generate_secret_base64()).expect("generated secret is valid");
    let mut config = DemoConfig::new(temp.path().join("data")).with_keys(keys).with_store(store);
    config.trusted_proxies = TrustedProxyLayer::trusting(["127.0.0.1"]).expect("loopback proxy");
    let first = spawn_with(config.clone()).await;
    let second = spawn_with(config).await;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let client = format!("10.{}.{}.{}", (nanos >> 16) & 255, (nanos >> 8) & 255, nanos & 255);
    let (first, second) = (Browserless::with(first), Browserless::with(second));
    (first.arriving_from(&client), second.arriving_from(&client), temp)
}

async fn login_is_shared_and_logout_is_everywhere(store: StoreChoice) {
    let (a, b, _temp) = two_instances(store).await;
    let username = format!("user{}", palisade::clock::unix_now() % 1_000_000_000);
    let registered = a.register(&username).await;

    // Log in on instance A (the id rotates at login) ...
    let res = a.post("/login", &[("username", &username), ("password", PASSWORD)], Some(&registered)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let cookie = cookie_value(&session_set_cookie(&res).expect("login sets the session cookie"));
    assert_ne!(cookie, registered);

    // ... and instance B knows the session: the store is shared.
    let account = b.get("/account", Some(&cookie)).await;
    assert_eq!(account.status(), StatusCode::OK, "instance B sees the login made on A");
    assert!(account.text().await.unwrap().contains(&username));
    let stale = b.get("/account", Some(&registered)).await;
    assert_eq!(stale.status(), StatusCode::SEE_OTHER, "the pre-login id is dead on every instance");

    // Logout on B ends the session on A as well.
    let res = b.post("/logout", &[], Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let replay = a.get("/account", Some(&cookie)).await;
    assert_eq!(replay.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&replay), "/login?next=/account");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sessions_are_shared_between_instances() {
    login_is_shared_and_logout_is_everywhere(postgres()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_sessions_are_shared_between_instances() {
    login_is_shared_and_logout_is_everywhere(redis()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_sessions_are_shared_between_instances() {
    login_is_shared_and_logout_is_everywhere(redis_cluster()).await;
}
