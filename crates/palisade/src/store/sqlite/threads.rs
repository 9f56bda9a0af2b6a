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

use crate::store::StoreError;
use rusqlite::Connection;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

enum Message {
    Run(Job),
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

impl Worker {
    /// Moves `conn` to a new thread called `name`.
    pub(super) fn spawn(name: &str, mut conn: Connection) -> Result<Self, StoreError> {
        let (messages, inbox) = mpsc::channel::<Message>();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                while let Ok(message) = inbox.recv() {
                    match message {
                        Message::Run(job) => {
                            if catch_unwind(AssertUnwindSafe(|| job(&mut conn))).is_err() {
                                tracing::error!("sqlite store: a call panicked; the connection goes on");
                            }
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
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let _ = answer.send(f(conn));
        });
        self.messages.send(Message::Run(job)).map_err(|_| StoreError::unavailable(Closed))?;
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
