//! The conformance suite every [`palisade::store::AttemptStore`] runs: each
//! backend must count exactly as the reference, `Counter::take`.
//!
//! ```ignore
//! #[macro_use]
//! #[path = "common/attempt_suite.rs"]
//! mod attempt_suite;
//! attempt_suite!(async { palisade::store::MemoryStore::new() });
//! ```
//!
//! `$make` is an async expression producing a store (`impl AttemptStore +
//! Clone`), evaluated once per test; keys are random per test, so stores
//! may be shared between tests and runs.

#[macro_export]
macro_rules! attempt_suite {
    ($make:expr) => {
        mod attempt_suite_tests {
            #![allow(unused_imports)]
            use super::*;
            use palisade::store::attempts::Counter;
            use palisade::store::{AttemptStore, Backoff, StoreKey, Taken, UnixTime};
            use std::time::Duration;

            const NOW: UnixTime = 1_700_000_000;

            fn fresh_key() -> StoreKey {
                let mut bytes = [0u8; 32];
                getrandom::fill(&mut bytes).expect("OS randomness");
                StoreKey::from_bytes(bytes)
            }

            fn backoff() -> Backoff {
                Backoff::new(3, Duration::from_secs(2), Duration::from_secs(20), Duration::from_secs(100))
            }

            enum Op {
                Take(UnixTime),
                Refund,
                Forgive,
            }

            /// A script of takes (at offsets from NOW), refunds and a
            /// forgive, crossing the free attempts, the doubling, the cap,
            /// a blocked take, and the window's end.
            fn script() -> Vec<Op> {
                use Op::*;
                let mut ops = vec![Take(0), Take(0), Take(0), Take(1), Take(2), Take(2), Take(6), Take(7)];
                ops.extend([Refund, Take(14), Take(30), Take(31), Take(50), Take(70), Take(90)]);
                ops.extend([Forgive, Take(90), Refund, Refund, Take(91), Take(92), Take(400), Take(401)]);
                ops
            }

            #[tokio::test]
            async fn counts_exactly_as_the_reference() {
                let store = $make.await;
                let key = fresh_key();
                let backoff = backoff();
                let mut reference: Option<Counter> = None;
                for (n, op) in script().into_iter().enumerate() {
                    match op {
                        Op::Take(at) => {
                            let (next, expected) = Counter::take(reference, NOW + at, &backoff);
                            reference = Some(next);
                            let got = store.take(&key, NOW + at, &backoff).await.expect("take");
                            assert_eq!(got, expected, "step {n}: take at +{at}");
                        }
                        Op::Refund => {
                            if let Some(c) = reference.as_mut() {
                                c.count = c.count.saturating_sub(1);
                            }
                            store.refund(&key).await.expect("refund");
                        }
                        Op::Forgive => {
                            reference = None;
                            store.forgive(&key).await.expect("forgive");
                        }
                    }
                }
            }

            #[tokio::test]
            async fn refunding_or_forgiving_an_unknown_counter_is_harmless() {
                let store = $make.await;
                let key = fresh_key();
                store.refund(&key).await.expect("refund");
                store.forgive(&key).await.expect("forgive");
                let taken = store.take(&key, NOW, &backoff()).await.expect("take");
                assert_eq!(taken, Taken::Allowed { count: 1, next_at: NOW });
            }

            #[tokio::test]
            async fn counters_are_independent() {
                let store = $make.await;
                let (a, b) = (fresh_key(), fresh_key());
                for _ in 0..3 {
                    let _ = store.take(&a, NOW, &backoff()).await.expect("take");
                }
                assert!(matches!(store.take(&a, NOW, &backoff()).await.unwrap(), Taken::Blocked { .. }));
                assert_eq!(store.take(&b, NOW, &backoff()).await.unwrap(), Taken::Allowed { count: 1, next_at: NOW });
            }

            /// Fifty parallel takes at one instant: exactly the free ones
            /// pass (check and count are one atomic step).
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn parallel_takes_never_let_more_through_than_the_free_attempts() {
                let store = $make.await;
                let key = fresh_key();
                let tasks: Vec<_> = (0..50)
                    .map(|_| {
                        let store = store.clone();
                        tokio::spawn(async move { store.take(&key, NOW, &backoff()).await.expect("take") })
                    })
                    .collect();
                let mut allowed = 0;
                for task in tasks {
                    if matches!(task.await.expect("task"), Taken::Allowed { .. }) {
                        allowed += 1;
                    }
                }
                assert_eq!(allowed, 3);
            }
        }
    };
}
