//! The store and layer suites against a 3-node Redis Cluster
//! (`PALISADE_TEST_REDIS_CLUSTER`, comma-separated node URLs; `scripts/test`
//! starts one and sets it), and what only a cluster has: one user's
//! sessions on several nodes, revoked all the same.

#[macro_use]
#[path = "common/attempt_suite.rs"]
mod attempt_suite;

#[macro_use]
#[path = "common/store_suite.rs"]
mod store_suite;

#[macro_use]
#[path = "common/layer_suite.rs"]
mod layer_suite;

#[path = "common/redis.rs"]
mod redis_common;

use palisade::store::{Record, RedisStore, Store, StoreKey};
use redis_common::{cluster_store, cluster_urls};

store_suite!(cluster_store());
attempt_suite!(cluster_store());
layer_suite!(cluster_store());

const NOW: i64 = 1_700_000_000;

/// How many keys under `pattern` each node holds (asked node by node).
fn keys_per_node(pattern: &str) -> Vec<usize> {
    cluster_urls()
        .iter()
        .map(|url| {
            let mut conn = redis::Client::open(url.as_str()).unwrap().get_connection().unwrap();
            let keys: Vec<String> = redis::cmd("KEYS").arg(pattern).query(&mut conn).unwrap();
            keys.len()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_users_sessions_spread_over_nodes_are_listed_and_revoked_everywhere() {
    let store = cluster_store().await;
    assert!(store.inner.is_cluster());
    let user = "{wendy} *";
    for n in 0..30 {
        let record = Record {
            created_at: NOW + n,
            last_seen: NOW + n,
            expires_at: NOW + 3_600,
            deadline: NOW + 8 * 3_600,
            user_id: Some(user.into()),
            ..Record::default()
        };
        store.create(&StoreKey::from_session_id(format!("w{n}").as_bytes()), &record).await.unwrap();
    }
    let sessions = format!("{}s:*", store.inner.key_prefix());
    let spread = keys_per_node(&sessions);
    assert_eq!(spread.iter().sum::<usize>(), 30);
    assert!(spread.iter().filter(|&&n| n > 0).count() >= 2, "sessions on several nodes: {spread:?}");

    assert_eq!(store.sessions_of(user, NOW).await.unwrap().len(), 30);
    // Rotation moves one of them to a key in (most likely) another slot.
    let old = StoreKey::from_session_id(b"w0");
    let moved = StoreKey::from_session_id(b"w0-rotated");
    let record = store.load(&old, NOW).await.unwrap().unwrap();
    assert_eq!(store.rotate(&old, &moved, &record, NOW).await.unwrap(), palisade::store::Applied::Done);
    assert!(store.sessions_of(user, NOW).await.unwrap().iter().any(|s| s.key == moved));

    assert_eq!(store.revoke_user(user, Some(&moved)).await.unwrap(), 29);
    assert_eq!(keys_per_node(&sessions).iter().sum::<usize>(), 1, "only the kept session is left");
    assert_eq!(store.revoke_user(user, None).await.unwrap(), 1);
    assert_eq!(keys_per_node(&sessions), vec![0; spread.len()], "no session left on any node");
    assert!(store.sessions_of(user, NOW).await.unwrap().is_empty());
}

#[tokio::test]
async fn sweep_visits_every_node() {
    let store = cluster_store().await;
    for n in 0..20 {
        let record = Record { expires_at: NOW + n % 2, last_seen: NOW, ..Record::default() };
        store.create(&StoreKey::from_session_id(format!("s{n}").as_bytes()), &record).await.unwrap();
    }
    assert_eq!(store.sweep(NOW).await.unwrap(), 10, "every expired record, wherever it lives");
    assert_eq!(store.sweep(i64::MAX).await.unwrap(), 10);
}

#[tokio::test]
async fn a_cluster_node_is_refused_as_a_standalone_server() {
    let url = &cluster_urls()[0];
    let err = RedisStore::connect(url).await.expect_err("a cluster node is not a standalone server");
    assert!(err.to_string().contains("connect_cluster"), "{err}");
}
