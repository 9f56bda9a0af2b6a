//! SQLite connections on dedicated threads, called from async code.
//!
//! SQLite's calls block, so each connection lives on a thread of its own and
//! takes jobs (closures over the connection) from a channel; the caller
//! awaits the job's answer on a oneshot channel. One job per store call,
//! whatever number of statements it runs, with statements prepared once per
//! connection (`prepare_cached`). Measured against sqlx's SQLite driver,
//! which makes several channel hops per statement, this serves 4.5 times
//! the store calls of a `/counter` request and 6.7 times those of a `/read`
//! (`bench/examples/sqlite_floor.rs`, 2026-12-03).
//!
//! A job that panics is caught on its thread: its caller gets
//! [`StoreError::Unavailable`], and the connection goes on serving others.
//!
//! **Group commit.** The writes of the request path (`create`, `apply`) are
//! queued as *batched* jobs: when several wait, the writer runs up to
//! [`MAX_BATCH`] of them in one `BEGIN IMMEDIATE` … `COMMIT` and answers
//! each caller only after that commit, so one commit's cost is shared and
//! no caller hears "done" for a write that a failed commit threw away.
//! Each job is one statement, whose effects are what they would have been
//! on its own (SQLite undoes a failed statement). Should SQLite roll the
//! whole transaction back under a job (it may on a full disk, an I/O error
//! or a lost lock), the jobs before it in the batch are told their write
//! failed, and the batch goes on in a new transaction. Before gathering a
//! batch the writer yields its core once, so the writes about to be queued
//! by threads ready to run join it. Durable writes
//! (the ones that end a session, at `synchronous = FULL`) and reads are
//! never batched, and the queue's order is kept.

use crate::store::StoreError;
use rusqlite::Connection;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// A batched job: runs its statement and gives back how to answer its
/// caller, called once the transaction it ran in has committed (`true`) or
/// is known lost (`false`).
type BatchedJob = Box<dyn FnOnce(&mut Connection) -> Answer + Send>;
type Answer = Box<dyn FnOnce(bool) + Send>;

/// Most batched jobs run under one commit: bounds how long the first of
/// them waits for the last.
pub(super) const MAX_BATCH: usize = 64;

enum Message {
    Run(Job),
    Batched(BatchedJob),
    /// Close the connection (SQLite checkpoints the WAL when the last
    /// connection of a file closes), then answer.
    Close(oneshot::Sender<()>),
}

/// One connection on its own thread. Dropping every clone of the sender
/// (the store) ends the thread and closes the connection.
pub(super) struct Worker {
    messages: mpsc::Sender<Message>,
}

#[derive(Debug, thiserror::Error)]
#[error("the sqlite store is closed")]
struct Closed;

#[derive(Debug, thiserror::Error)]
#[error("the sqlite store dropped the call (closed meanwhile, or the call panicked: see the log)")]
struct Dropped;

#[derive(Debug, thiserror::Error)]
#[error("the sqlite store's transaction was rolled back or failed to commit: the write was not kept")]
struct Lost;

/// Runs `jobs` under as few commits as SQLite allows (one, unless it rolls
/// a transaction back), answering each caller after its commit.
fn run_batch(conn: &mut Connection, jobs: Vec<BatchedJob>) {
    // One job needs no transaction of its own; without one to be had (the
    // write lock held elsewhere past the busy timeout) each job commits by
    // its statement, as without batching.
    let mut in_transaction = jobs.len() > 1 && conn.execute_batch("BEGIN IMMEDIATE").is_ok();
    let mut pending: Vec<Answer> = Vec::with_capacity(jobs.len());
    for job in jobs {
        let answer = catch_unwind(AssertUnwindSafe(|| job(conn)));
        if in_transaction && conn.is_autocommit() {
            // SQLite rolled the transaction back: nothing in it was kept,
            // this job's statement included.
            tracing::error!(lost = pending.len() + 1, "sqlite store: a transaction was rolled back; its writes failed");
            for answer in pending.drain(..).chain(answer.ok()) {
                answer(false);
            }
            in_transaction = conn.execute_batch("BEGIN IMMEDIATE").is_ok();
            continue;
        }
        match answer {
            Ok(answer) if in_transaction => pending.push(answer),
            Ok(answer) => answer(true),
            Err(_) => tracing::error!("sqlite store: a call panicked; the connection goes on"),
        }
    }
    if !in_transaction {
        return;
    }
    let committed = conn.execute_batch("COMMIT").is_ok();
    if !committed {
        tracing::error!(lost = pending.len(), "sqlite store: a commit failed; its writes failed");
        let _ = conn.execute_batch("ROLLBACK");
    }
    for answer in pending {
        answer(committed);
    }
}

impl Worker {
    /// Moves `conn` to a new thread called `name`.
    pub(super) fn spawn(name: &str, mut conn: Connection) -> Result<Self, StoreError> {
        let (messages, inbox) = mpsc::channel::<Message>();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                // A message taken from the queue while gathering a batch,
                // to be handled right after it.
                let mut held: Option<Message> = None;
                loop {
                    let message = match held.take() {
                        Some(message) => message,
                        None => match inbox.recv() {
                            Ok(message) => message,
                            Err(_) => return,
                        },
                    };
                    match message {
                        Message::Run(job) => {
                            if catch_unwind(AssertUnwindSafe(|| job(&mut conn))).is_err() {
                                tracing::error!("sqlite store: a call panicked; the connection goes on");
                            }
                        }
                        Message::Batched(first) => {
                            // Lets the threads ready to run on this core go
                            // first: async workers part-way through their
                            // requests queue their writes behind this one
                            // instead of waiting for the next commit. Without
                            // it a writer woken on a busy core ran as soon as
                            // the first write came, and committed 3.8 writes
                            // a time on average at 64 connections (see
                            // docs/BENCHMARKS.md for what it changed). With
                            // an idle core, or nothing else ready, it
                            // returns at once: one system call per batch.
                            std::thread::yield_now();
                            let mut jobs = vec![first];
                            while jobs.len() < MAX_BATCH {
                                match inbox.try_recv() {
                                    Ok(Message::Batched(job)) => jobs.push(job),
                                    Ok(other) => {
                                        held = Some(other);
                                        break;
                                    }
                                    Err(_) => break,
                                }
                            }
                            run_batch(&mut conn, jobs);
                        }
                        Message::Close(done) => {
                            drop(conn);
                            let _ = done.send(());
                            return;
                        }
                    }
                }
            })
            .map_err(StoreError::unavailable)?;
        Ok(Self { messages })
    }

    /// Runs `f` on the connection's thread and returns what it returns.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.call(|answer| {
            Message::Run(Box::new(move |conn| {
                let _ = answer.send(f(conn));
            }))
        })
        .await
    }

    /// [`run`](Self::run) for a write of one statement that may share a
    /// commit with the writes queued beside it (see the module's doc): the
    /// answer comes after the commit.
    pub(super) async fn run_batched<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.call(|answer| {
            Message::Batched(Box::new(move |conn| {
                let result = f(conn);
                Box::new(move |committed| {
                    let _ = answer.send(if committed { result } else { Err(StoreError::unavailable(Lost)) });
                })
            }))
        })
        .await
    }

    /// Sends the message `make` builds around the sender of its answer,
    /// and awaits the answer.
    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> Message,
    ) -> Result<T, StoreError> {
        let (answer, answered) = oneshot::channel();
        self.messages.send(make(answer)).map_err(|_| StoreError::unavailable(Closed))?;
        // The answer is dropped unsent only when the job panicked (the
        // thread caught it) or the store closed before running it.
        answered.await.map_err(|_| StoreError::unavailable(Dropped))?
    }

    /// Closes the connection once the jobs queued before are done. Later
    /// calls fail with [`StoreError::Unavailable`].
    pub(super) async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.messages.send(Message::Close(done)).is_ok() {
            let _ = closed.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc as std_mpsc;
    use std::sync::Arc;

    /// A worker on an in-memory database with a table `t(k TEXT PRIMARY KEY)`,
    /// and a way to hold its thread busy until released.
    fn worker() -> Worker {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY)").unwrap();
        Worker::spawn("test-sqlite", conn).unwrap()
    }

    /// Holds the worker's thread until the returned sender is used, so that
    /// the jobs sent meanwhile queue up behind it.
    fn hold(worker: &Worker) -> std_mpsc::Sender<()> {
        let (release, released) = std_mpsc::channel::<()>();
        let job: Job = Box::new(move |_| {
            let _ = released.recv();
        });
        worker.messages.send(Message::Run(job)).unwrap();
        release
    }

    fn insert(k: &'static str) -> impl FnOnce(&mut Connection) -> Result<bool, StoreError> + Send + 'static {
        move |conn| {
            let in_transaction = !conn.is_autocommit();
            conn.execute("INSERT INTO t (k) VALUES (?)", [k]).map_err(StoreError::unavailable)?;
            Ok(in_transaction)
        }
    }

    async fn keys(worker: &Worker) -> Vec<String> {
        worker
            .run(|conn| {
                let mut statement = conn.prepare("SELECT k FROM t ORDER BY k").unwrap();
                let keys = statement.query_map([], |row| row.get(0)).unwrap().map(Result::unwrap).collect();
                Ok(keys)
            })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn queued_writes_share_one_transaction_and_are_answered_after_its_commit() {
        let worker = Arc::new(worker());
        let release = hold(&worker);
        let calls: Vec<_> = ["a", "b", "c", "d"]
            .into_iter()
            .map(|k| {
                let worker = worker.clone();
                tokio::spawn(async move { worker.run_batched(insert(k)).await })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await; // all four queued
        release.send(()).unwrap();
        for call in calls {
            assert!(call.await.unwrap().unwrap(), "each write ran inside the batch's transaction");
        }
        assert_eq!(keys(&worker).await, ["a", "b", "c", "d"], "and the commit kept them all");
        assert!(worker.run(|conn| Ok(conn.is_autocommit())).await.unwrap(), "no transaction left open");
    }

    #[tokio::test]
    async fn a_failing_statement_fails_only_its_own_write() {
        let worker = Arc::new(worker());
        worker.run_batched(insert("a")).await.unwrap();
        let release = hold(&worker);
        let calls: Vec<_> = ["b", "a", "c"] // "a" breaks the primary key
            .into_iter()
            .map(|k| {
                let worker = worker.clone();
                tokio::spawn(async move { worker.run_batched(insert(k)).await })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        release.send(()).unwrap();
        let results: Vec<bool> = futures_join(calls).await.iter().map(Result::is_ok).collect();
        assert_eq!(results, [true, false, true]);
        assert_eq!(keys(&worker).await, ["a", "b", "c"]);
    }

    #[tokio::test]
    async fn a_transaction_rolled_back_under_the_batch_fails_the_writes_it_held_and_the_rest_go_on() {
        let worker = Arc::new(worker());
        let release = hold(&worker);
        let before = {
            let worker = worker.clone();
            tokio::spawn(async move { worker.run_batched(insert("a")).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        // What SQLite does on a full disk or an I/O error: the whole
        // transaction is rolled back under the statement.
        let rollback = {
            let worker = worker.clone();
            tokio::spawn(async move {
                worker
                    .run_batched(|conn| {
                        conn.execute_batch("INSERT INTO t (k) VALUES ('b'); ROLLBACK").map_err(StoreError::unavailable)
                    })
                    .await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let after = {
            let worker = worker.clone();
            tokio::spawn(async move { worker.run_batched(insert("c")).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        release.send(()).unwrap();
        assert!(matches!(before.await.unwrap(), Err(StoreError::Unavailable(_))), "its write was rolled back");
        assert!(matches!(rollback.await.unwrap(), Err(StoreError::Unavailable(_))));
        assert!(after.await.unwrap().unwrap(), "the batch went on in a new transaction");
        assert_eq!(keys(&worker).await, ["c"], "no write answered as failed was kept, none answered as done was lost");
    }

    async fn futures_join(
        calls: Vec<tokio::task::JoinHandle<Result<bool, StoreError>>>,
    ) -> Vec<Result<bool, StoreError>> {
        let mut results = Vec::new();
        for call in calls {
            results.push(call.await.unwrap());
        }
        results
    }
}
