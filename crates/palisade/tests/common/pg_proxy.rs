//! A TCP proxy in front of the shared PostgreSQL server, for tests that need
//! the server to go away (`stop`/`restart` on the same port), to stall
//! (`stall`), or to count what a client sends: it frames the client's
//! protocol messages, counts them by type, and can hold back `Sync`s (each
//! `Sync` or simple `Query` is a point where the client waits for the server:
//! one round trip).
//!
//! Clients must connect with `sslmode=disable` (the proxy reads the protocol).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::AbortHandle;

const UPSTREAM: &str = "127.0.0.1:5432";
const POLL: Duration = Duration::from_millis(1);

/// Client messages forwarded so far, by type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub parse: u64,
    pub bind: u64,
    pub execute: u64,
    pub sync: u64,
    pub simple_query: u64,
}

impl Counts {
    pub fn since(&self, before: &Counts) -> Counts {
        Counts {
            parse: self.parse - before.parse,
            bind: self.bind - before.bind,
            execute: self.execute - before.execute,
            sync: self.sync - before.sync,
            simple_query: self.simple_query - before.simple_query,
        }
    }
}

#[derive(Default)]
struct Shared {
    counts: Mutex<Counts>,
    stalled: Mutex<bool>,
    /// Round trips (Sync / Query) still allowed through; `None`: unlimited.
    budget: Mutex<Option<u64>>,
    tasks: Mutex<Vec<AbortHandle>>,
}

pub struct Proxy {
    addr: SocketAddr,
    upstream: String,
    shared: Arc<Shared>,
}

impl Proxy {
    /// Listens on a free port and forwards to the test server's host and port
    /// (`PALISADE_TEST_POSTGRES_URL`, else 127.0.0.1:5432).
    pub async fn start() -> Self {
        let upstream = std::env::var("PALISADE_TEST_POSTGRES_URL")
            .ok()
            .and_then(|url| url.parse::<sqlx::postgres::PgConnectOptions>().ok())
            .map_or_else(|| UPSTREAM.to_owned(), |o| format!("{}:{}", o.get_host(), o.get_port()));
        let listener = bind("127.0.0.1:0".parse().unwrap()).await;
        let addr = listener.local_addr().unwrap();
        let proxy = Self { addr, upstream, shared: Arc::default() };
        proxy.serve(listener);
        proxy
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn counts(&self) -> Counts {
        *self.shared.counts.lock().unwrap()
    }

    /// Holds every byte in both directions while `stalled` (the server
    /// seems to hang); nothing is lost.
    pub fn stall(&self, stalled: bool) {
        *self.shared.stalled.lock().unwrap() = stalled;
    }

    /// Lets `round_trips` more `Sync`/`Query` messages through, then holds
    /// the next ones; `None` lifts the limit.
    pub fn allow_round_trips(&self, round_trips: Option<u64>) {
        *self.shared.budget.lock().unwrap() = round_trips;
    }

    /// The server goes away: the port stops listening and every open
    /// connection is closed.
    pub async fn stop(&mut self) {
        for task in self.shared.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    /// The server is back, on the same port.
    pub async fn restart(&mut self) {
        let listener = bind(self.addr).await;
        self.serve(listener);
    }

    fn serve(&self, listener: TcpListener) {
        let (shared, upstream) = (self.shared.clone(), self.upstream.clone());
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&upstream).await else { continue };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                let up = tokio::spawn(client_to_server(client_read, server_write, shared.clone()));
                let down = tokio::spawn(copy(server_read, client_write, shared.clone()));
                shared.tasks.lock().unwrap().extend([up.abort_handle(), down.abort_handle()]);
            }
        });
        self.shared.tasks.lock().unwrap().push(accept.abort_handle());
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        for task in self.shared.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

async fn bind(addr: SocketAddr) -> TcpListener {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_reuseaddr(true).unwrap();
    socket.bind(addr).unwrap();
    socket.listen(64).unwrap()
}

async fn wait_while_stalled(shared: &Shared) {
    while *shared.stalled.lock().unwrap() {
        tokio::time::sleep(POLL).await;
    }
}

/// Server → client: bytes as they come.
async fn copy(mut from: impl AsyncReadExt + Unpin, mut to: impl AsyncWriteExt + Unpin, shared: Arc<Shared>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        wait_while_stalled(&shared).await;
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Client → server: message by message, counted and gated.
async fn client_to_server(
    mut from: impl AsyncReadExt + Unpin,
    mut to: impl AsyncWriteExt + Unpin,
    shared: Arc<Shared>,
) {
    // The startup message (and an SSL/GSS request before it) has no type byte.
    let mut untyped = true;
    loop {
        let message = if untyped { read_untyped(&mut from).await } else { read_typed(&mut from).await };
        let Some(message) = message else { return };
        if untyped {
            // 80877103: SSLRequest, 80877104: GSSENCRequest; the startup message follows.
            let code = u32::from_be_bytes([message[4], message[5], message[6], message[7]]);
            untyped = code == 80_877_103 || code == 80_877_104;
        } else {
            let kind = message[0];
            if kind == b'S' || kind == b'Q' {
                wait_for_budget(&shared).await;
            }
            wait_while_stalled(&shared).await;
            let mut counts = shared.counts.lock().unwrap();
            match kind {
                b'P' => counts.parse += 1,
                b'B' => counts.bind += 1,
                b'E' => counts.execute += 1,
                b'S' => counts.sync += 1,
                b'Q' => counts.simple_query += 1,
                _ => {}
            }
        }
        wait_while_stalled(&shared).await;
        if to.write_all(&message).await.is_err() {
            return;
        }
    }
}

async fn wait_for_budget(shared: &Shared) {
    loop {
        {
            let mut budget = shared.budget.lock().unwrap();
            match *budget {
                None => return,
                Some(n) if n > 0 => {
                    *budget = Some(n - 1);
                    return;
                }
                Some(_) => {}
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn read_untyped(from: &mut (impl AsyncReadExt + Unpin)) -> Option<Vec<u8>> {
    let mut header = [0u8; 4];
    from.read_exact(&mut header).await.ok()?;
    let len = usize::try_from(u32::from_be_bytes(header)).ok()?;
    let mut message = header.to_vec();
    message.resize(len.max(8), 0);
    from.read_exact(&mut message[4..]).await.ok()?;
    Some(message)
}

async fn read_typed(from: &mut (impl AsyncReadExt + Unpin)) -> Option<Vec<u8>> {
    let mut header = [0u8; 5];
    from.read_exact(&mut header).await.ok()?;
    let len = usize::try_from(u32::from_be_bytes([header[1], header[2], header[3], header[4]])).ok()?;
    let mut message = header.to_vec();
    message.resize(1 + len.max(4), 0);
    from.read_exact(&mut message[5..]).await.ok()?;
    Some(message)
}
