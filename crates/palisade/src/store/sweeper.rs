//! The background sweep shared by the SQL stores (they have no server-side
//! TTL, so expired rows stay until something deletes them).

use super::Store;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Shortest interval a sweeper accepts: a zero interval would spin.
const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// Spawns a task that calls [`Store::sweep`] every `every` (first run
/// immediately), logging failures with `tracing::warn!` and going on.
///
/// The task holds only `weak`: on each tick `revive` turns it back into a
/// store, or returns `None` (e.g. the pool was closed) to end the task. So a
/// sweeper never keeps a dropped store, and its connections, alive.
pub(crate) fn spawn<T, S>(
    weak: Weak<T>,
    every: Duration,
    backend: &'static str,
    revive: impl Fn(Arc<T>) -> Option<S> + Send + 'static,
) -> tokio::task::JoinHandle<()>
where
    T: Send + Sync + 'static,
    S: Store,
{
    let every = every.max(MIN_INTERVAL);
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let Some(store) = weak.upgrade().and_then(&revive) else { break };
            match store.sweep(crate::clock::unix_now()).await {
                Ok(0) => {}
                Ok(removed) => tracing::debug!(removed, backend, "session store: swept expired sessions"),
                Err(error) => tracing::warn!(%error, backend, "session store: sweep failed"),
            }
        }
    })
}
