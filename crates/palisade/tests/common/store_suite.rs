//! The conformance suite every [`palisade::store::Store`] runs.
//!
//! ```ignore
//! #[macro_use]
//! #[path = "common/store_suite.rs"]
//! mod store_suite;
//! store_suite!(async { palisade::store::MemoryStore::new() });
//! ```
//!
//! `$make` is an async expression producing a fresh, empty store
//! (`impl Store + Clone`); it is evaluated once per test. The tests land in a
//! module named `suite` at the invocation site, which sees the invoking
//! file's items (`use super::*`).

#[macro_export]
macro_rules! store_suite {
    ($make:expr) => {
        mod suite {
            #![allow(unused_imports)]
            use super::*;
            use palisade::store::{Applied, Change, Data, Record, Store, StoreKey, UnixTime};
            use serde_json::{json, Value};

            const NOW: UnixTime = 1_700_000_000;
            const HOUR: UnixTime = 3_600;

            /// The store key of session id `name`.
            fn key(name: &str) -> StoreKey {
                StoreKey::from_session_id(name.as_bytes())
            }

            fn data(value: Value) -> Data {
                match value {
                    Value::Object(map) => map,
                    other => panic!("test data must be an object, got {other}"),
                }
            }

            fn record(value: Value, expires_at: UnixTime) -> Record {
                Record {
                    data: data(value),
                    created_at: NOW - 10,
                    last_seen: NOW - 5,
                    expires_at,
                    deadline: expires_at.max(NOW) + 8 * HOUR,
                    ..Record::default()
                }
            }

            /// A session of `user`, as a login creates it.
            fn user_record(user: &str, created_at: UnixTime) -> Record {
                Record {
                    data: data(json!({"user": user})),
                    created_at,
                    last_seen: created_at,
                    expires_at: NOW + HOUR,
                    deadline: NOW + 8 * HOUR,
                    user_id: Some(user.to_owned()),
                    ip: Some("203.0.113.7".to_owned()),
                    user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0".to_owned()),
                }
            }

            fn keys_of(infos: &[palisade::store::SessionInfo]) -> Vec<StoreKey> {
                infos.iter().map(|i| i.key).collect()
            }

            fn set(pairs: &[(&str, Value)]) -> Change {
                Change {
                    set: pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
                    remove: Vec::new(),
                    last_seen: NOW,
                    expires_at: NOW + HOUR,
                }
            }

            fn remove(keys: &[&str]) -> Change {
                Change {
                    set: Vec::new(),
                    remove: keys.iter().map(|k| k.to_string()).collect(),
                    last_seen: NOW,
                    expires_at: NOW + HOUR,
                }
            }

            fn touch(last_seen: UnixTime, expires_at: UnixTime) -> Change {
                Change { set: Vec::new(), remove: Vec::new(), last_seen, expires_at }
            }

            async fn make() -> impl Store + Clone {
                $make.await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn create_then_load_returns_the_same_record() {
                let store = make().await;
                let rec = Record {
                    data: data(json!({"user": "alice", "n": 3, "admin": false})),
                    created_at: NOW - 100,
                    last_seen: NOW - 50,
                    expires_at: NOW + HOUR,
                    deadline: NOW + 8 * HOUR,
                    user_id: Some("alice@example.com".into()),
                    ip: Some("2001:db8::1".into()),
                    user_agent: Some("Mozilla/5.0 \"quoted\" ünïcode".into()),
                };
                store.create(&key("a"), &rec).await.unwrap();
                assert_eq!(store.load(&key("a"), NOW).await.unwrap(), Some(rec));
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn load_for_request_is_load_with_the_client_left_out_or_kept() {
                let store = make().await;
                let mut rec = record(json!({"n": 3}), NOW + HOUR);
                rec.user_id = Some("alice@example.com".into());
                rec.ip = Some("2001:db8::1".into());
                rec.user_agent = Some("Mozilla/5.0 (X11)".into());
                store.create(&key("a"), &rec).await.unwrap();
                let mut got = store.load_for_request(&key("a"), NOW).await.unwrap().expect("live record");
                // A store may leave the client out; everything else is the record.
                for (field, full) in [(&mut got.ip, &rec.ip), (&mut got.user_agent, &rec.user_agent)] {
                    assert!(field.is_none() || field == full, "{field:?} is neither absent nor {full:?}");
                    field.clone_from(full);
                }
                assert_eq!(got, rec);
                assert_eq!(store.load_for_request(&key("a"), NOW + HOUR).await.unwrap(), None, "expired");
                assert_eq!(store.load_for_request(&key("unknown"), NOW).await.unwrap(), None);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn create_with_empty_data_round_trips() {
                let store = make().await;
                let rec = record(json!({}), NOW + HOUR);
                store.create(&key("a"), &rec).await.unwrap();
                assert_eq!(store.load(&key("a"), NOW).await.unwrap(), Some(rec));
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn load_of_an_unknown_key_is_none() {
                let store = make().await;
                store.create(&key("known"), &record(json!({"x": 1}), NOW + HOUR)).await.unwrap();
                assert_eq!(store.load(&key("unknown"), NOW).await.unwrap(), None);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn load_of_an_expired_record_is_none() {
                let store = make().await;
                let rec = record(json!({"x": 1}), NOW);
                store.create(&key("a"), &rec).await.unwrap();
                // Alive strictly before `expires_at`, dead at and after it.
                assert_eq!(store.load(&key("a"), NOW - 1).await.unwrap(), Some(rec));
                assert_eq!(store.load(&key("a"), NOW).await.unwrap(), None);
                assert_eq!(store.load(&key("a"), NOW + 1).await.unwrap(), None);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn records_are_isolated_by_key() {
                let store = make().await;
                store.create(&key("a"), &record(json!({"who": "a"}), NOW + HOUR)).await.unwrap();
                store.create(&key("b"), &record(json!({"who": "b"}), NOW + HOUR)).await.unwrap();
                assert_eq!(store.apply(&key("a"), &set(&[("who", json!("changed"))]), NOW).await.unwrap(), Applied::Done);
                store.delete(&key("a")).await.unwrap();
                assert_eq!(store.load(&key("b"), NOW).await.unwrap(), Some(record(json!({"who": "b"}), NOW + HOUR)));
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn apply_sets_and_removes_keys_leaving_others_untouched() {
                let store = make().await;
                store
                    .create(&key("a"), &record(json!({"keep": [1, 2], "drop": "x", "over": 1}), NOW + 10))
                    .await
                    .unwrap();
                let change = Change {
                    set: vec![("over".into(), json!({"v": 2})), ("new".into(), json!("n"))],
                    remove: vec!["drop".into(), "never-there".into()],
                    last_seen: NOW + 1,
                    expires_at: NOW + 2 * HOUR,
                };
                assert_eq!(store.apply(&key("a"), &change, NOW).await.unwrap(), Applied::Done);
                let got = store.load(&key("a"), NOW).await.unwrap().expect("record");
                assert_eq!(Value::Object(got.data), json!({"keep": [1, 2], "over": {"v": 2}, "new": "n"}));
                assert_eq!(got.created_at, NOW - 10, "created_at is not the store's to change");
                assert_eq!(got.last_seen, NOW + 1);
                assert_eq!(got.expires_at, NOW + 2 * HOUR);
                // The new expiry is obeyed: alive past the old one.
                assert!(store.load(&key("a"), NOW + HOUR).await.unwrap().is_some());
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn apply_can_shorten_the_expiry() {
                let store = make().await;
                store.create(&key("a"), &record(json!({"x": 1}), NOW + HOUR)).await.unwrap();
                assert_eq!(store.apply(&key("a"), &touch(NOW, NOW + 10), NOW).await.unwrap(), Applied::Done);
                assert!(store.load(&key("a"), NOW + 9).await.unwrap().is_some());
                assert_eq!(store.load(&key("a"), NOW + 10).await.unwrap(), None);
                assert_eq!(store.sweep(NOW + 10).await.unwrap(), 1);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn apply_touch_changes_only_the_timestamps() {
                let store = make().await;
                let before = record(json!({"user": "alice", "list": [1, {"a": null}]}), NOW + 10);
                store.create(&key("a"), &before).await.unwrap();
                let change = touch(NOW + 3, NOW + HOUR);
                assert!(change.is_touch());
                assert_eq!(store.apply(&key("a"), &change, NOW).await.unwrap(), Applied::Done);
                let after = store.load(&key("a"), NOW).await.unwrap().expect("record");
                assert_eq!(after, Record { last_seen: NOW + 3, expires_at: NOW + HOUR, ..before });
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn nested_json_values_round_trip_exactly() {
                let store = make().await;
                let values = vec![
                    ("object", json!({"a": {"b": [1, 2.5, -3, {"c": null}]}, "empty": {}})),
                    ("array", json!([[], [1], ["two", false], {"k": "v"}])),
                    ("empty_array", json!([])),
                    ("empty_object", json!({})),
                    ("int", json!(42)),
                    ("negative", json!(-7)),
                    ("big", json!(u64::MAX)),
                    ("small", json!(i64::MIN)),
                    ("float", json!(0.1)),
                    ("tiny", json!(1e-300)),
                    ("true", json!(true)),
                    ("false", json!(false)),
                    ("null", Value::Null),
                    ("quotes", json!("she said \"hi\" and left\\ \u{1} \n\t")),
                    ("sql", json!("'); DROP TABLE palisade_sessions; --")),
                    ("json_lookalike", json!("{\"not\": \"an object\"}")),
                    ("number_lookalike", json!("42")),
                    ("unicode", json!("ключ 🔑 日本語 \u{2028}")),
                    ("empty_string", json!("")),
                ];
                let pairs: Vec<(&str, Value)> = values.iter().map(|(k, v)| (*k, v.clone())).collect();
                let expected = Value::Object(values.iter().map(|(k, v)| (k.to_string(), v.clone())).collect());

                // Through `create`…
                store.create(&key("created"), &record(expected.clone(), NOW + HOUR)).await.unwrap();
                let got = store.load(&key("created"), NOW).await.unwrap().expect("record");
                assert_eq!(Value::Object(got.data), expected);

                // …and through `apply`, one key at a time and all at once.
                store.create(&key("applied"), &record(json!({}), NOW + HOUR)).await.unwrap();
                for (k, v) in &pairs {
                    let done = store.apply(&key("applied"), &set(&[(*k, v.clone())]), NOW).await.unwrap();
                    assert_eq!(done, Applied::Done);
                }
                let got = store.load(&key("applied"), NOW).await.unwrap().expect("record");
                assert_eq!(Value::Object(got.data), expected);

                store.create(&key("batch"), &record(json!({}), NOW + HOUR)).await.unwrap();
                assert_eq!(store.apply(&key("batch"), &set(&pairs), NOW).await.unwrap(), Applied::Done);
                let got = store.load(&key("batch"), NOW).await.unwrap().expect("record");
                assert_eq!(Value::Object(got.data), expected);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn apply_with_many_keys_in_one_change_sets_and_removes_them_all() {
                let store = make().await;
                store.create(&key("a"), &record(json!({"keep": true}), NOW + HOUR)).await.unwrap();
                let names: Vec<String> = (0..300).map(|n| format!("key{n}")).collect();
                let pairs: Vec<(&str, Value)> =
                    names.iter().enumerate().map(|(n, k)| (k.as_str(), json!(n))).collect();
                assert_eq!(store.apply(&key("a"), &set(&pairs), NOW).await.unwrap(), Applied::Done);
                let got = store.load(&key("a"), NOW).await.unwrap().expect("record");
                assert_eq!(got.data.len(), 301);
                for (n, k) in names.iter().enumerate() {
                    assert_eq!(got.data.get(k), Some(&json!(n)), "{k}");
                }
                let odd: Vec<&str> = names.iter().skip(1).step_by(2).map(String::as_str).collect();
                assert_eq!(store.apply(&key("a"), &remove(&odd), NOW).await.unwrap(), Applied::Done);
                let got = store.load(&key("a"), NOW).await.unwrap().expect("record");
                assert_eq!(got.data.len(), 151);
                assert!(got.data.contains_key("key0") && !got.data.contains_key("key1"));
                assert!(got.data.contains_key("key298") && !got.data.contains_key("key299"));
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn keys_with_path_like_characters_work() {
                let store = make().await;
                store.create(&key("a"), &record(json!({"user": {"id": "nested"}}), NOW + HOUR)).await.unwrap();
                let odd = [
                    "user.id", "$", "$.user", "a b", "[0]", "a[0]", "*", "'", "#", "..", ".", "ключ", "🔑", "a/b",
                    "-1", "0", "null", "",
                ];
                let pairs: Vec<(&str, Value)> = odd.iter().map(|k| (*k, json!(format!("v:{k}")))).collect();
                assert_eq!(store.apply(&key("a"), &set(&pairs), NOW).await.unwrap(), Applied::Done);
                let got = store.load(&key("a"), NOW).await.unwrap().expect("record");
                for k in odd {
                    assert_eq!(got.data.get(k), Some(&json!(format!("v:{k}"))), "key {k:?}");
                }
                // "user.id" is a key of its own, not a path into "user".
                assert_eq!(got.data.get("user"), Some(&json!({"id": "nested"})));
                assert_eq!(got.data.len(), odd.len() + 1);

                assert_eq!(store.apply(&key("a"), &remove(&odd), NOW).await.unwrap(), Applied::Done);
                let got = store.load(&key("a"), NOW).await.unwrap().expect("record");
                assert_eq!(Value::Object(got.data), json!({"user": {"id": "nested"}}));
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn apply_on_a_missing_record_is_missing_and_creates_nothing() {
                let store = make().await;
                assert_eq!(store.apply(&key("a"), &set(&[("x", json!(1))]), NOW).await.unwrap(), Applied::Missing);
                assert_eq!(store.apply(&key("a"), &touch(NOW, NOW + HOUR), NOW).await.unwrap(), Applied::Missing);
                assert_eq!(store.apply(&key("a"), &remove(&["x"]), NOW).await.unwrap(), Applied::Missing);
                assert_eq!(store.load(&key("a"), NOW).await.unwrap(), None);
                assert_eq!(store.sweep(UnixTime::MAX).await.unwrap(), 0, "nothing was written");
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn apply_on_a_deleted_record_is_missing_and_does_not_resurrect_it() {
                let store = make().await;
                store.create(&key("a"), &record(json!({"user": "alice"}), NOW + HOUR)).await.unwrap();
                store.delete(&key("a")).await.unwrap();
                assert_eq!(
                    store.apply(&key("a"), &set(&[("user", json!("alice"))]), NOW).await.unwrap(),
                    Applied::Missing
                );
                assert_eq!(store.apply(&key("a"), &touch(NOW, NOW + HOUR), NOW).await.unwrap(), Applied::Missing);
                assert_eq!(store.load(&key("a"), NOW).await.unwrap(), None);
                assert_eq!(store.sweep(UnixTime::MAX).await.unwrap(), 0, "nothing was written");
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn apply_on_an_expired_record_is_missing_and_does_not_resurrect_it() {
                let store = make().await;
                let rec = record(json!({"user": "alice"}), NOW);
                store.create(&key("a"), &rec).await.unwrap();
                // A touch that would extend the expiry, at the expiry instant.
                assert_eq!(store.apply(&key("a"), &touch(NOW, NOW + HOUR), NOW).await.unwrap(), Applied::Missing);
                assert_eq!(
                    store.apply(&key("a"), &set(&[("user", json!("mallory"))]), NOW + 1).await.unwrap(),
                    Applied::Missing
                );
                assert_eq!(store.load(&key("a"), NOW).await.unwrap(), None);
                // Nothing was written: seen from before its expiry it is unchanged.
                assert_eq!(store.load(&key("a"), NOW - 1).await.unwrap(), Some(rec));
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_applies_on_one_record_lose_no_update() {
                let store = make().await;
                store.create(&key("a"), &record(json!({"base": true}), NOW + HOUR)).await.unwrap();
                let tasks: Vec<_> = (0..50)
                    .map(|n| {
                        let store = store.clone();
                        tokio::spawn(async move {
                            let k = format!("k{n}");
                            store.apply(&key("a"), &set(&[(k.as_str(), json!(n))]), NOW).await
                        })
                    })
                    .collect();
                for task in tasks {
                    assert_eq!(task.await.unwrap().unwrap(), Applied::Done);
                }
                let got = store.load(&key("a"), NOW).await.unwrap().expect("record");
                assert_eq!(got.data.len(), 51, "keys: {:?}", got.data.keys().collect::<Vec<_>>());
                for n in 0..50 {
                    assert_eq!(got.data.get(&format!("k{n}")), Some(&json!(n)), "k{n} lost");
                }
                assert_eq!(got.data.get("base"), Some(&json!(true)));
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_applies_racing_a_delete_do_not_resurrect_it() {
                let store = make().await;
                store.create(&key("a"), &record(json!({"user": "alice"}), NOW + HOUR)).await.unwrap();
                let tasks: Vec<_> = (0..30)
                    .map(|n| {
                        let store = store.clone();
                        tokio::spawn(async move {
                            if n == 10 {
                                store.delete(&key("a")).await.map(|()| None)
                            } else {
                                let k = format!("k{n}");
                                store.apply(&key("a"), &set(&[(k.as_str(), json!(n))]), NOW).await.map(Some)
                            }
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap().unwrap();
                }
                // Whatever the interleaving, the delete wins for good.
                assert_eq!(store.load(&key("a"), NOW).await.unwrap(), None);
                for n in 0..5 {
                    let k = format!("late{n}");
                    assert_eq!(
                        store.apply(&key("a"), &set(&[(k.as_str(), json!(n))]), NOW).await.unwrap(),
                        Applied::Missing
                    );
                }
                assert_eq!(store.load(&key("a"), NOW).await.unwrap(), None);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn rotate_moves_the_record_to_the_new_key() {
                let store = make().await;
                store.create(&key("old"), &record(json!({"cart": [1, 2]}), NOW + HOUR)).await.unwrap();
                let fresh = Record {
                    data: data(json!({"cart": [1, 2], "user": "alice"})),
                    created_at: NOW,
                    last_seen: NOW,
                    expires_at: NOW + 2 * HOUR,
                    deadline: NOW + 8 * HOUR,
                    user_id: Some("alice".into()),
                    ..Record::default()
                };
                assert_eq!(store.rotate(&key("old"), &key("new"), &fresh, NOW).await.unwrap(), Applied::Done);
                assert_eq!(store.load(&key("old"), NOW).await.unwrap(), None);
                assert_eq!(store.load(&key("new"), NOW).await.unwrap(), Some(fresh));
                // The old key is gone for writes too.
                assert_eq!(store.apply(&key("old"), &touch(NOW, NOW + HOUR), NOW).await.unwrap(), Applied::Missing);
                assert_eq!(store.sweep(UnixTime::MAX).await.unwrap(), 1, "exactly one record left");
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn rotate_of_a_missing_old_key_is_missing_and_creates_nothing() {
                let store = make().await;
                let fresh = record(json!({"user": "alice"}), NOW + HOUR);
                assert_eq!(store.rotate(&key("old"), &key("new"), &fresh, NOW).await.unwrap(), Applied::Missing);
                assert_eq!(store.load(&key("new"), NOW).await.unwrap(), None);
                // Deleted (logged out) before the rotation.
                store.create(&key("old"), &record(json!({}), NOW + HOUR)).await.unwrap();
                store.delete(&key("old")).await.unwrap();
                assert_eq!(store.rotate(&key("old"), &key("new"), &fresh, NOW).await.unwrap(), Applied::Missing);
                assert_eq!(store.load(&key("new"), NOW).await.unwrap(), None);
                assert_eq!(store.sweep(UnixTime::MAX).await.unwrap(), 0, "nothing was written");
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn rotate_of_an_expired_old_key_is_missing_and_creates_nothing() {
                let store = make().await;
                let old = record(json!({"user": "alice"}), NOW);
                store.create(&key("old"), &old).await.unwrap();
                let fresh = record(json!({"user": "alice"}), NOW + HOUR);
                assert_eq!(store.rotate(&key("old"), &key("new"), &fresh, NOW).await.unwrap(), Applied::Missing);
                assert_eq!(store.load(&key("new"), NOW).await.unwrap(), None);
                assert_eq!(store.load(&key("new"), NOW - 1).await.unwrap(), None);
                assert_eq!(store.load(&key("old"), NOW - 1).await.unwrap(), Some(old), "old record unchanged");
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn delete_removes_the_record_and_unknown_keys_are_ok() {
                let store = make().await;
                store.create(&key("a"), &record(json!({"x": 1}), NOW + HOUR)).await.unwrap();
                store.create(&key("b"), &record(json!({"x": 2}), NOW + HOUR)).await.unwrap();
                store.delete(&key("a")).await.unwrap();
                assert_eq!(store.load(&key("a"), NOW).await.unwrap(), None);
                assert!(store.load(&key("b"), NOW).await.unwrap().is_some());
                store.delete(&key("a")).await.unwrap();
                store.delete(&key("never")).await.unwrap();
                assert!(store.load(&key("b"), NOW).await.unwrap().is_some());
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sweep_removes_expired_records_only_and_counts_them() {
                let store = make().await;
                for (name, expires_at) in [("e1", NOW - 100), ("e2", NOW - 1), ("e3", NOW), ("l1", NOW + 1), ("l2", NOW + HOUR)]
                {
                    store.create(&key(name), &record(json!({"name": name}), expires_at)).await.unwrap();
                }
                assert_eq!(store.sweep(NOW).await.unwrap(), 3);
                for name in ["e1", "e2", "e3"] {
                    assert_eq!(store.load(&key(name), NOW - 1000).await.unwrap(), None, "{name} swept");
                }
                for name in ["l1", "l2"] {
                    assert!(store.load(&key(name), NOW).await.unwrap().is_some(), "{name} kept");
                }
                assert_eq!(store.sweep(NOW).await.unwrap(), 0);
                assert_eq!(store.sweep(NOW + HOUR).await.unwrap(), 2);
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sessions_of_lists_the_live_sessions_of_one_user_oldest_first() {
                let store = make().await;
                store.create(&key("b2"), &user_record("bob", NOW - 20)).await.unwrap();
                store.create(&key("b1"), &user_record("bob", NOW - 30)).await.unwrap();
                store.create(&key("c1"), &user_record("carol", NOW - 25)).await.unwrap();
                store.create(&key("anon"), &record(json!({"x": 1}), NOW + HOUR)).await.unwrap();
                let dead = Record { expires_at: NOW, ..user_record("bob", NOW - 40) };
                store.create(&key("b-dead"), &dead).await.unwrap();
                let bob = store.sessions_of("bob", NOW).await.unwrap();
                assert_eq!(keys_of(&bob), vec![key("b1"), key("b2")]);
                let first = &bob[0];
                assert_eq!((first.created_at, first.last_seen, first.expires_at), (NOW - 30, NOW - 30, NOW + HOUR));
                assert_eq!(first.ip.as_deref(), Some("203.0.113.7"));
                assert_eq!(first.user_agent.as_deref(), Some("Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0"));
                assert!(!first.current);
                assert_eq!(keys_of(&store.sessions_of("carol", NOW).await.unwrap()), vec![key("c1")]);
                assert!(store.sessions_of("nobody", NOW).await.unwrap().is_empty());
                assert!(store.sessions_of("", NOW).await.unwrap().is_empty());
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sessions_of_sees_touches_and_forgets_deleted_sessions() {
                let store = make().await;
                store.create(&key("d1"), &user_record("dave", NOW - 10)).await.unwrap();
                store.create(&key("d2"), &user_record("dave", NOW - 5)).await.unwrap();
                assert_eq!(store.apply(&key("d1"), &touch(NOW, NOW + 2 * HOUR), NOW).await.unwrap(), Applied::Done);
                store.delete(&key("d2")).await.unwrap();
                let dave = store.sessions_of("dave", NOW).await.unwrap();
                assert_eq!(keys_of(&dave), vec![key("d1")]);
                assert_eq!((dave[0].last_seen, dave[0].expires_at), (NOW, NOW + 2 * HOUR));
                // Alive past its first expiry because the touch extended it.
                assert_eq!(keys_of(&store.sessions_of("dave", NOW + HOUR + 1).await.unwrap()), vec![key("d1")]);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn revoke_all_deletes_every_session_of_the_user_and_nothing_else() {
                let store = make().await;
                for n in 0..20 {
                    store.create(&key(&format!("e{n}")), &user_record("erin", NOW - 100 + n)).await.unwrap();
                }
                store.create(&key("f"), &user_record("frank", NOW - 10)).await.unwrap();
                store.create(&key("anon"), &record(json!({"x": 1}), NOW + HOUR)).await.unwrap();
                assert_eq!(store.sessions_of("erin", NOW).await.unwrap().len(), 20);
                assert_eq!(store.revoke_user("erin", None).await.unwrap(), 20);
                for n in 0..20 {
                    assert_eq!(store.load(&key(&format!("e{n}")), NOW).await.unwrap(), None);
                }
                assert!(store.sessions_of("erin", NOW).await.unwrap().is_empty());
                assert!(store.load(&key("f"), NOW).await.unwrap().is_some());
                assert!(store.load(&key("anon"), NOW).await.unwrap().is_some());
                assert_eq!(store.revoke_user("erin", None).await.unwrap(), 0);
                assert_eq!(store.revoke_user("nobody", None).await.unwrap(), 0);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn revoke_all_except_keeps_the_current_session() {
                let store = make().await;
                for name in ["g1", "g2", "g3"] {
                    store.create(&key(name), &user_record("grace", NOW - 10)).await.unwrap();
                }
                assert_eq!(store.revoke_user("grace", Some(&key("g2"))).await.unwrap(), 2);
                assert_eq!(keys_of(&store.sessions_of("grace", NOW).await.unwrap()), vec![key("g2")]);
                assert!(store.load(&key("g2"), NOW).await.unwrap().is_some());
                assert_eq!(store.load(&key("g1"), NOW).await.unwrap(), None);
                // A revoked session cannot be written back by a request still running.
                assert_eq!(store.apply(&key("g1"), &set(&[("late", json!(1))]), NOW).await.unwrap(), Applied::Missing);
                assert_eq!(store.load(&key("g1"), NOW).await.unwrap(), None);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn rotate_moves_the_session_in_the_user_index() {
                let store = make().await;
                store.create(&key("anon"), &record(json!({"cart": 1}), NOW + HOUR)).await.unwrap();
                // Login: the anonymous session becomes heidi's under a new key.
                let login = user_record("heidi", NOW);
                assert_eq!(store.rotate(&key("anon"), &key("h1"), &login, NOW).await.unwrap(), Applied::Done);
                assert_eq!(keys_of(&store.sessions_of("heidi", NOW).await.unwrap()), vec![key("h1")]);
                // A second rotation (privilege change) replaces it in the index.
                assert_eq!(store.rotate(&key("h1"), &key("h2"), &login, NOW).await.unwrap(), Applied::Done);
                assert_eq!(keys_of(&store.sessions_of("heidi", NOW).await.unwrap()), vec![key("h2")]);
                assert_eq!(store.revoke_user("heidi", None).await.unwrap(), 1);
                assert_eq!(store.load(&key("h2"), NOW).await.unwrap(), None);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn user_ids_with_odd_characters_are_kept_apart() {
                let store = make().await;
                let users = ["{ivan}", "ivan", "iv:an", "ivan*", "ïvan", "a b", "x\\y"];
                for (n, user) in users.iter().enumerate() {
                    store.create(&key(&format!("odd{n}")), &user_record(user, NOW - 10)).await.unwrap();
                }
                for (n, user) in users.iter().enumerate() {
                    assert_eq!(keys_of(&store.sessions_of(user, NOW).await.unwrap()), vec![key(&format!("odd{n}"))]);
                }
                assert_eq!(store.revoke_user("ivan*", None).await.unwrap(), 1);
                assert_eq!(store.sessions_of("ivan", NOW).await.unwrap().len(), 1);
            }
        }
    };
}
