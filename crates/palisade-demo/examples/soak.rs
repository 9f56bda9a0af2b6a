//! The soak test with faults (issue 14): several demo instances on one
//! session store under a mixed load, the store killed and restarted twice
//! and stalled once, and at the end the checks that matter:
//!
//! - **5xx only inside outage windows** (an outage, plus a few seconds of
//!   recovery): outside them every request is answered normally;
//! - **no logout undone**: every session and remember-me cookie whose logout
//!   was acknowledged stays dead, checked again after each fault and at the
//!   end;
//! - **no lost writes**: every note counter increment acknowledged with 200
//!   is still in its session at the end;
//! - **memory flat**: each instance's RSS at the start, middle and end;
//! - **p99 outside outages**.
//!
//! Run through `scripts/soak` (builds in release, starts everything):
//! `scripts/soak --minutes 10 --store redis`. Not part of the test suite.

use clap::{Parser, ValueEnum};
use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, StatusCode};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum StoreKind {
    Redis,
    Postgres,
}

#[derive(Parser, Debug)]
#[command(about = "Soak test of the Palisade demo with store faults")]
struct Args {
    /// Length of the load, in minutes (the faults are placed in proportion).
    #[arg(long, default_value_t = 10.0)]
    minutes: f64,
    #[arg(long, value_enum, default_value_t = StoreKind::Redis)]
    store: StoreKind,
    /// Demo instances sharing the store.
    #[arg(long, default_value_t = 3)]
    instances: usize,
    /// Concurrent virtual users.
    #[arg(long, default_value_t = 48)]
    users: usize,
    /// The `palisade-demo` binary (release).
    #[arg(long)]
    demo: PathBuf,
    /// Where the report (Markdown) is written.
    #[arg(long)]
    report: PathBuf,
    /// Working directory (store data, demo data, logs); a temp dir if absent.
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

/// Seconds of recovery counted into an outage window after the store is back.
const RECOVERY: Duration = Duration::from_secs(5);
/// How long the store stays down when killed, and how long a stall lasts.
const DOWN_FOR: Duration = Duration::from_secs(5);
const PASSWORD: &str = "soak test passphrase 1";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn run(cmd: &mut Command) {
    let status = cmd.status().unwrap_or_else(|err| panic!("{cmd:?}: {err}"));
    assert!(status.success(), "{cmd:?} failed: {status}");
}

/// The store under test, as processes this driver owns.
enum StoreProc {
    Redis { port: u16, dir: PathBuf, child: Option<Child> },
    Postgres { port: u16, dir: PathBuf, child: Option<Child> },
}

impl StoreProc {
    fn start(kind: StoreKind, work: &Path) -> Self {
        let dir = work.join("store");
        std::fs::create_dir_all(&dir).expect("store dir");
        let mut store = match kind {
            StoreKind::Redis => StoreProc::Redis { port: free_port(), dir, child: None },
            StoreKind::Postgres => {
                // PostgreSQL refuses to run as root: its own cluster, as `postgres`.
                run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir));
                run(Command::new("runuser")
                    .args(["-u", "postgres", "--", &pg_bin("initdb")])
                    .args(["-D", dir.to_str().unwrap(), "-U", "postgres", "--auth=trust", "-E", "UTF8"])
                    .stdout(Stdio::null()));
                StoreProc::Postgres { port: free_port(), dir, child: None }
            }
        };
        store.spawn();
        store
    }

    fn url(&self) -> String {
        match self {
            StoreProc::Redis { port, .. } => format!("redis://127.0.0.1:{port}"),
            StoreProc::Postgres { port, .. } => format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            StoreProc::Redis { .. } => "Redis",
            StoreProc::Postgres { .. } => "PostgreSQL",
        }
    }

    fn spawn(&mut self) {
        match self {
            // Every acknowledged write on disk before the reply (appendfsync
            // always): a kill -9 loses nothing acknowledged, as a production
            // Redis holding sessions should be configured.
            StoreProc::Redis { port, dir, child } => {
                let log = std::fs::File::create(dir.join("redis.log")).expect("log");
                *child = Some(
                    Command::new("redis-server")
                        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
                        .args(["--appendonly", "yes", "--appendfsync", "always"])
                        .arg("--dir")
                        .arg(&*dir)
                        .stdout(log)
                        .stderr(Stdio::null())
                        .spawn()
                        .expect("redis-server on PATH"),
                );
            }
            StoreProc::Postgres { port, dir, child } => {
                let log = std::fs::File::create(dir.join("../postgres.log")).expect("log");
                let (uid, gid) = postgres_ids();
                // Started as the `postgres` user directly (no wrapper
                // process): the child is the postmaster itself.
                *child = Some(
                    Command::new(pg_bin("postgres"))
                        .uid(uid)
                        .gid(gid)
                        .arg("-D")
                        .arg(&*dir)
                        .args([
                            "-p",
                            &port.to_string(),
                            "-k",
                            dir.to_str().unwrap(),
                            "-c",
                            "listen_addresses=127.0.0.1",
                        ])
                        .stdout(Stdio::null())
                        .stderr(log)
                        .spawn()
                        .expect("postgres"),
                );
            }
        }
        self.wait_ready();
    }

    fn port(&self) -> u16 {
        match self {
            StoreProc::Redis { port, .. } | StoreProc::Postgres { port, .. } => *port,
        }
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let ready = match self {
                StoreProc::Redis { port, .. } => Command::new("redis-cli")
                    .args(["-p", &port.to_string(), "ping"])
                    .output()
                    .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("PONG")),
                StoreProc::Postgres { port, .. } => Command::new(pg_bin("pg_isready"))
                    .args(["-h", "127.0.0.1", "-U", "postgres", "-p", &port.to_string()])
                    .stdout(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success()),
            };
            if ready {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{} did not start on port {}", self.name(), self.port());
    }

    /// A crash: Redis `SIGKILL`; PostgreSQL `pg_ctl stop -m immediate`
    /// (every backend killed, no checkpoint: crash recovery at restart).
    fn kill(&mut self) {
        match self {
            StoreProc::Redis { child, .. } => {
                if let Some(mut c) = child.take() {
                    let _ = c.kill();
                    let _ = c.wait();
                }
            }
            StoreProc::Postgres { dir, child, .. } => {
                run(Command::new("runuser")
                    .args(["-u", "postgres", "--", &pg_bin("pg_ctl"), "stop", "-m", "immediate", "-D"])
                    .arg(&*dir)
                    .stdout(Stdio::null()));
                if let Some(mut c) = child.take() {
                    let _ = c.wait();
                }
            }
        }
    }

    /// The server stops answering for `DOWN_FOR` without closing anything:
    /// Redis `CLIENT PAUSE … ALL`; PostgreSQL `SIGSTOP` of every process.
    fn stall(&self) {
        match self {
            StoreProc::Redis { port, .. } => {
                let ms = DOWN_FOR.as_millis().to_string();
                run(Command::new("redis-cli")
                    .args(["-p", &port.to_string(), "CLIENT", "PAUSE", &ms, "ALL"])
                    .stdout(Stdio::null()));
                std::thread::sleep(DOWN_FOR);
            }
            StoreProc::Postgres { child, .. } => {
                let Some(postmaster) = child.as_ref().map(Child::id) else { return };
                let pids = postgres_pids(postmaster);
                // A process that exited meanwhile makes `kill` fail for it
                // only: the status is not checked, and CONT always follows.
                let _ = Command::new("kill").arg("-STOP").args(&pids).status();
                std::thread::sleep(DOWN_FOR);
                let _ = Command::new("kill").arg("-CONT").args(&pids).status();
            }
        }
    }

    fn stop(&mut self) {
        self.kill();
    }
}

fn pg_bin(name: &str) -> String {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL server binaries in /usr/lib/postgresql (apt-get install postgresql)")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    versions.sort();
    let bin = versions.last().expect("a PostgreSQL version").join("bin").join(name);
    bin.to_string_lossy().into_owned()
}

/// The uid and gid of the `postgres` user.
fn postgres_ids() -> (u32, u32) {
    let id = |flag: &str| {
        let out = Command::new("id").args([flag, "postgres"]).output().expect("id");
        String::from_utf8_lossy(&out.stdout).trim().parse().expect("a `postgres` user (apt-get install postgresql)")
    };
    (id("-u"), id("-g"))
}

/// The postmaster and its children (the backends).
fn postgres_pids(postmaster: u32) -> Vec<String> {
    let main = postmaster.to_string();
    let children = Command::new("pgrep").args(["-P", &main]).output().expect("pgrep");
    let mut pids = vec![main];
    pids.extend(String::from_utf8_lossy(&children.stdout).split_whitespace().map(str::to_owned));
    pids
}

struct Demo {
    child: Child,
    base: String,
}

impl Demo {
    fn start(args: &Args, work: &Path, store_url: &str, secret: &str, n: usize) -> Self {
        let port = free_port();
        let log = std::fs::File::create(work.join(format!("demo-{n}.log"))).expect("log");
        let child = Command::new(&args.demo)
            .args(["--addr", &format!("127.0.0.1:{port}"), "--store", store_url, "--trusted-proxies", "127.0.0.1"])
            .arg("--data-dir")
            .arg(work.join("demo-data"))
            .env("PALISADE_SECRET_KEY", secret)
            .env("RUST_LOG", "warn")
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("the demo binary");
        Demo { child, base: format!("http://127.0.0.1:{port}") }
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }
}

/// One request's outcome.
#[derive(Clone, Copy)]
struct Sample {
    at: Duration,
    latency: Duration,
    /// HTTP status, or 0 for a transport error.
    status: u16,
    /// A `503` from the bounded Argon2 queue (load shedding by design).
    shed: bool,
}

#[derive(Default)]
struct Shared {
    samples: Mutex<Vec<Sample>>,
    /// Outage windows, from fault start to the store's return plus RECOVERY.
    outages: Mutex<Vec<(Duration, Duration, &'static str)>>,
    /// Cookie jars whose logout was acknowledged.
    logged_out: Mutex<Vec<(Jar, String)>>,
    undone: Mutex<Vec<String>>,
    /// Acknowledged writes missing from their session.
    lost: Mutex<Vec<String>>,
    /// Sessions found signed out without a logout (not a failure by itself:
    /// listed for the reader).
    notes: Mutex<Vec<String>>,
    counts: Mutex<BTreeMap<&'static str, u64>>,
}

impl Shared {
    fn count(&self, what: &'static str) {
        *self.counts.lock().unwrap().entry(what).or_default() += 1;
    }
}

type Jar = BTreeMap<String, String>;

/// A virtual user: an account, a client address, a cookie jar.
struct User {
    name: String,
    ip: String,
    jar: Jar,
    token: Option<String>,
    /// Note counter: last value acknowledged with 200, last value sent.
    acked: u64,
    sent: u64,
    signed_in: bool,
    remembered: bool,
    /// The user's last failed request (path, seconds): what explains a
    /// sign-out nobody asked for.
    last_failure: Option<(String, f64)>,
    /// The session cookie the note counter belongs to.
    session: Option<String>,
}

struct Driver {
    client: Client,
    bases: Vec<String>,
    started: Instant,
    shared: Arc<Shared>,
    next: std::sync::atomic::AtomicUsize,
}

struct Reply {
    status: StatusCode,
    location: String,
    body: String,
}

impl Driver {
    fn base(&self) -> &str {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        &self.bases[n % self.bases.len()]
    }

    /// Sends with the jar's cookies and the user's address; keeps what the
    /// response sets when `keep` (a replayed old jar is not updated).
    async fn send(
        &self,
        ip: &str,
        jar: &mut Jar,
        keep: bool,
        path: &str,
        form: Option<&[(&str, &str)]>,
    ) -> Option<Reply> {
        let url = format!("{}{path}", self.base());
        let mut req = match form {
            Some(form) => self.client.post(url).form(form),
            None => self.client.get(url),
        };
        req = req.header("x-forwarded-for", ip);
        if !jar.is_empty() {
            let cookies: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req = req.header(COOKIE, cookies.join("; "));
        }
        let sent = Instant::now();
        let result = req.send().await;
        let latency = sent.elapsed();
        let at = sent.duration_since(self.started);
        let res = match result {
            Ok(res) => res,
            Err(_) => {
                self.shared.samples.lock().unwrap().push(Sample { at, latency, status: 0, shed: false });
                return None;
            }
        };
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.text().await.unwrap_or_default();
        let shed = status == StatusCode::SERVICE_UNAVAILABLE && body.starts_with("The server is busy");
        let sample = Sample { at, latency: sent.elapsed(), status: status.as_u16(), shed };
        self.shared.samples.lock().unwrap().push(sample);
        if keep {
            update_jar(jar, &headers);
        }
        let location = headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        Some(Reply { status, location, body })
    }

    /// [`send`](Self::send) for a user's own request, remembering failures.
    async fn act(&self, user: &mut User, path: &str, form: Option<&[(&str, &str)]>) -> Option<Reply> {
        let ip = user.ip.clone();
        let reply = self.send(&ip, &mut user.jar, true, path, form).await;
        if reply.as_ref().is_none_or(|r| r.status.is_server_error()) {
            user.last_failure = Some((path.to_owned(), self.started.elapsed().as_secs_f64()));
        }
        // A new session: its note starts empty. Sign-ins make one on
        // purpose; any other replacement of a live session is listed.
        let now = session_cookie(&user.jar);
        if now != user.session {
            let expected = matches!(path, "/login" | "/register" | "/logout") || user.session.is_none();
            if !expected {
                let at = self.started.elapsed().as_secs_f64();
                let why = user.last_failure.as_ref().map_or("none".to_owned(), |(p, t)| format!("{p} at {t:.1} s"));
                let line =
                    format!("{}: session replaced during {path} at {at:.1} s (last failed request: {why})", user.name);
                self.shared.notes.lock().unwrap().push(line);
            }
            user.session = now;
            (user.acked, user.sent) = (0, 0);
        }
        reply
    }

    /// A page's CSRF token (`name="csrf_token" value="…"`).
    async fn token(&self, user: &mut User, path: &str) -> Option<String> {
        let reply = self.act(user, path, None).await?;
        (reply.status == StatusCode::OK).then(|| csrf_field(&reply.body)).flatten()
    }

    async fn register(&self, user: &mut User) {
        let Some(token) = self.token(user, "/register").await else { return };
        let name = user.name.clone();
        let form = [("username", name.as_str()), ("password", PASSWORD), ("csrf_token", token.as_str())];
        if let Some(reply) = self.act(user, "/register", Some(&form)).await {
            if reply.status == StatusCode::SEE_OTHER {
                self.shared.count("registrations");
                self.signed_in(user, false);
            } else if reply.body.contains("Username taken") {
                user.name.push('x'); // a registration whose response was lost
            }
        }
    }

    fn signed_in(&self, user: &mut User, remembered: bool) {
        user.signed_in = true;
        user.remembered = remembered;
        user.token = None;
        (user.acked, user.sent) = (0, 0); // a new session: a new note
    }

    async fn login(&self, user: &mut User, remember: bool) {
        let Some(token) = self.token(user, "/login").await else { return };
        let name = user.name.clone();
        let mut form = vec![("username", name.as_str()), ("password", PASSWORD), ("csrf_token", token.as_str())];
        if remember {
            form.push(("remember", "on"));
        }
        if let Some(reply) = self.act(user, "/login", Some(&form)).await {
            if reply.status == StatusCode::SEE_OTHER {
                self.shared.count("logins");
                self.signed_in(user, remember);
            }
        }
    }

    async fn read(&self, user: &mut User) {
        let Some(reply) = self.act(user, "/account", None).await else { return };
        match reply.status {
            StatusCode::OK => {
                self.shared.count("reads");
                user.token = csrf_field(&reply.body);
            }
            // Signed out under us: only the session cap (10 devices) or an
            // expiry may do that, neither of which this load reaches.
            StatusCode::SEE_OTHER if reply.location.starts_with("/login") => {
                self.shared.count("reads signed out");
                let at = self.started.elapsed().as_secs_f64();
                let why = user.last_failure.as_ref().map_or("none".to_owned(), |(p, t)| format!("{p} at {t:.1} s"));
                let line =
                    format!("{}: signed out without a logout at {at:.1} s (last failed request: {why})", user.name);
                self.shared.notes.lock().unwrap().push(line);
                user.signed_in = false;
            }
            _ => {}
        }
    }

    async fn write(&self, user: &mut User) {
        let Some(token) = user.token.clone() else { return self.read(user).await };
        let value = user.sent + 1;
        user.sent = value;
        let note = format!("n={value}");
        let form = [("note", note.as_str()), ("csrf_token", token.as_str())];
        if let Some(reply) = self.act(user, "/account/note", Some(&form)).await {
            if reply.status == StatusCode::OK {
                self.shared.count("writes acknowledged");
                user.acked = value;
            }
        }
    }

    /// Before a session is left (logout, browser restart): every write
    /// acknowledged in it is there.
    async fn check_before_leaving(&self, user: &mut User) {
        if user.acked == 0 {
            return;
        }
        if let Some(reply) = self.act(user, "/account", None).await {
            if reply.status == StatusCode::OK {
                self.check_note(user, &reply.body);
                user.token = csrf_field(&reply.body);
            }
        }
    }

    async fn logout(&self, user: &mut User) {
        self.check_before_leaving(user).await;
        let Some(token) = user.token.clone() else { return self.read(user).await };
        let before = user.jar.clone();
        let ip = user.ip.clone();
        let form = [("csrf_token", token.as_str())];
        if let Some(reply) = self.act(user, "/logout", Some(&form)).await {
            if reply.status == StatusCode::SEE_OTHER {
                self.shared.count("logouts acknowledged");
                self.shared.logged_out.lock().unwrap().push((before, ip));
                user.signed_in = false;
                user.token = None;
            }
        }
    }

    /// A browser restart: the session cookie is gone, the remember-me
    /// cookie signs the browser in again.
    async fn remember_return(&self, user: &mut User) {
        if user.signed_in {
            self.check_before_leaving(user).await;
        }
        user.jar.retain(|name, _| !name.ends_with("session"));
        // The driver left that session itself (already checked).
        user.session = None;
        (user.acked, user.sent) = (0, 0);
        if let Some(reply) = self.act(user, "/account", None).await {
            if reply.status == StatusCode::OK {
                self.shared.count("remember-me returns");
                self.signed_in(user, true);
                user.token = csrf_field(&reply.body);
            } else if reply.status == StatusCode::SEE_OTHER {
                user.signed_in = false;
            }
        }
    }

    /// Compares a session's stored note with what was acknowledged in it.
    fn check_note(&self, user: &User, html: &str) {
        let stored = stored_note(html);
        self.shared.count("sessions checked for lost writes");
        if stored < user.acked || stored > user.sent {
            let line = format!("{}: note n={stored}, acknowledged {}, sent {}", user.name, user.acked, user.sent);
            self.shared.lost.lock().unwrap().push(line);
        }
    }

    /// Replays a jar whose logout was acknowledged: it must not be signed in.
    async fn check_logged_out(&self, jar: &Jar, ip: &str) -> bool {
        let mut jar = jar.clone();
        match self.send(ip, &mut jar, false, "/account", None).await {
            Some(reply) if reply.status == StatusCode::OK => {
                self.shared.undone.lock().unwrap().push(format!("{ip}: signed in again after logout"));
                false
            }
            _ => true,
        }
    }
}

fn session_cookie(jar: &Jar) -> Option<String> {
    jar.iter().find(|(name, _)| name.ends_with("session")).map(|(_, value)| value.clone())
}

fn csrf_field(html: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

fn update_jar(jar: &mut Jar, headers: &HeaderMap) {
    for set in headers.get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
        let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
        let Some((name, value)) = pair.split_once('=') else { continue };
        if value.is_empty() || attributes.contains("Max-Age=0") {
            jar.remove(name);
        } else {
            jar.insert(name.to_owned(), value.to_owned());
        }
    }
}

/// The note an `/account` page shows: `n=<k>`.
fn stored_note(html: &str) -> u64 {
    html.split("id=\"account-note\">n=")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0)
}

/// xorshift64*: load shaping only, never security.
struct Dice(u64);

impl Dice {
    fn roll(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % 100
    }
}

async fn virtual_user(driver: Arc<Driver>, n: usize, stop: Arc<AtomicBool>) -> User {
    let mut user = User {
        name: format!("soak{n}u{}", driver.started.elapsed().as_nanos() % 1_000_000),
        ip: format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255),
        jar: Jar::new(),
        token: None,
        acked: 0,
        sent: 0,
        signed_in: false,
        remembered: false,
        last_failure: None,
        session: None,
    };
    let mut dice = Dice(0x9e37_79b9_7f4a_7c15 ^ (n as u64 + 1).wrapping_mul(0xbf58_476d_1ce4_e5b9));
    let mut registered = false;
    // Users arrive over the first seconds, not all in one instant.
    tokio::time::sleep(Duration::from_millis(100 * n as u64)).await;
    while !stop.load(Ordering::Relaxed) {
        if !registered {
            driver.register(&mut user).await;
            registered = user.signed_in;
            continue;
        }
        if !user.signed_in {
            if user.remembered && user.jar.keys().any(|k| k.contains("remember")) {
                driver.remember_return(&mut user).await;
            } else {
                let remember = dice.roll() < 40;
                driver.login(&mut user, remember).await;
            }
            continue;
        }
        match dice.roll() {
            0..=54 => driver.read(&mut user).await,
            55..=89 => driver.write(&mut user).await,
            90..=93 if user.remembered => driver.remember_return(&mut user).await,
            90..=95 => driver.logout(&mut user).await,
            _ => {
                // Replay one of the logged-out jars.
                let replay = {
                    let list = driver.shared.logged_out.lock().unwrap();
                    (!list.is_empty()).then(|| list[dice.roll() as usize * list.len() / 100].clone())
                };
                if let Some((jar, ip)) = replay {
                    driver.check_logged_out(&jar, &ip).await;
                }
            }
        }
    }
    user
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let temp;
    let work = match &args.work_dir {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::tempdir().expect("temp dir");
            temp.path().to_path_buf()
        }
    };
    std::fs::create_dir_all(&work).expect("work dir");
    // World-readable so that `postgres` can enter it.
    let _ = Command::new("chmod").arg("755").arg(&work).status();
    let mut store = StoreProc::start(args.store, &work);
    let secret = palisade::keys::KeyRing::generate_secret_base64();
    let demos: Vec<Demo> = (0..args.instances).map(|n| Demo::start(&args, &work, &store.url(), &secret, n)).collect();
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .pool_max_idle_per_host(args.users)
        .build()
        .expect("client");
    for demo in &demos {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if client.get(format!("{}/login", demo.base)).send().await.is_ok_and(|r| r.status() == StatusCode::OK) {
                break;
            }
            assert!(Instant::now() < deadline, "a demo instance did not start: see {}", work.display());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let total = Duration::from_secs_f64(args.minutes * 60.0);
    let driver = Arc::new(Driver {
        client,
        bases: demos.iter().map(|d| d.base.clone()).collect(),
        started: Instant::now(),
        shared: Arc::default(),
        next: Default::default(),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let users: Vec<_> = (0..args.users).map(|n| tokio::spawn(virtual_user(driver.clone(), n, stop.clone()))).collect();
    eprintln!("soak: {} instances on {}, {} users, {:.1} min", args.instances, store.name(), args.users, args.minutes);

    // The fault schedule: kill at 20 %, stall at 45 %, kill at 70 %; RSS at
    // 5 % (after warm-up), 50 % and the end.
    let mut rss = Vec::new();
    let faults = [(0.05, "rss"), (0.20, "kill"), (0.45, "stall"), (0.50, "rss"), (0.70, "kill")];
    for (at, what) in faults {
        let when = total.mul_f64(at);
        tokio::time::sleep(when.saturating_sub(driver.started.elapsed())).await;
        let from = driver.started.elapsed();
        match what {
            "rss" => rss.push(demos.iter().map(Demo::rss_kib).collect::<Vec<_>>()),
            "kill" => {
                eprintln!("soak: {:?} killing {}", from, store.name());
                store.kill();
                tokio::time::sleep(DOWN_FOR).await;
                store.spawn();
                eprintln!("soak: {:?} {} back", driver.started.elapsed(), store.name());
            }
            _ => {
                eprintln!("soak: {:?} stalling {}", from, store.name());
                tokio::task::block_in_place(|| store.stall());
            }
        }
        if what != "rss" {
            let to = driver.started.elapsed() + RECOVERY;
            driver.shared.outages.lock().unwrap().push((
                from,
                to,
                if what == "kill" { "kill and restart" } else { "stall" },
            ));
        }
    }
    tokio::time::sleep(total.saturating_sub(driver.started.elapsed())).await;
    rss.push(demos.iter().map(Demo::rss_kib).collect());
    stop.store(true, Ordering::Relaxed);
    let mut finished = Vec::new();
    for user in users {
        finished.push(user.await.expect("virtual user"));
    }
    let elapsed = driver.started.elapsed();

    // Final checks, with the store healthy and no load: every acknowledged
    // write is in its session; every acknowledged logout stays done.
    let mut gone = Vec::new();
    for user in finished.iter_mut().filter(|u| u.signed_in && u.acked > 0) {
        let ip = user.ip.clone();
        let Some(reply) = driver.send(&ip, &mut user.jar, true, "/account", None).await else { continue };
        if reply.status == StatusCode::OK {
            driver.check_note(user, &reply.body);
        } else {
            gone.push(format!("{}: session gone at the end ({})", user.name, reply.status));
        }
    }
    driver.shared.lost.lock().unwrap().extend(gone);
    let logged_out = driver.shared.logged_out.lock().unwrap().clone();
    for (jar, ip) in &logged_out {
        driver.check_logged_out(jar, ip).await;
    }
    let lost = driver.shared.lost.lock().unwrap().clone();
    let checked_sessions = driver.shared.counts.lock().unwrap().get("sessions checked for lost writes").copied();
    let checked_sessions = checked_sessions.unwrap_or(0) as usize;
    let report = report(&args, &store, &driver, elapsed, &rss, &lost, checked_sessions, logged_out.len());
    print!("{report}");
    std::fs::write(&args.report, &report).expect("write the report");
    for mut demo in demos {
        let _ = demo.child.kill();
        let _ = demo.child.wait();
    }
    store.stop();
    let failed = report.contains("**FAIL**");
    std::process::exit(i32::from(failed));
}

#[allow(clippy::too_many_arguments)]
fn report(
    args: &Args,
    store: &StoreProc,
    driver: &Driver,
    elapsed: Duration,
    rss: &[Vec<u64>],
    lost: &[String],
    checked_sessions: usize,
    logouts: usize,
) -> String {
    let samples = driver.shared.samples.lock().unwrap();
    let outages = driver.shared.outages.lock().unwrap();
    // In flight at any moment of a window: a request sent just before the
    // store died may well fail.
    let in_outage = |s: &Sample| outages.iter().any(|(from, to, _)| s.at <= *to && s.at + s.latency >= *from);
    let failed = |s: &Sample| (s.status == 0 || s.status >= 500) && !s.shed;
    let shed = samples.iter().filter(|s| s.shed).count();
    let outside_failures: Vec<&Sample> = samples.iter().filter(|s| failed(s) && !in_outage(s)).collect();
    let inside_failures = samples.iter().filter(|s| failed(s) && in_outage(s)).count();
    let mut normal: Vec<Duration> = samples.iter().filter(|s| !in_outage(s) && !failed(s)).map(|s| s.latency).collect();
    normal.sort();
    let undone = driver.shared.undone.lock().unwrap();
    let verdict = |ok: bool| if ok { "pass" } else { "**FAIL**" };
    let mut out = String::new();
    let _ = writeln!(out, "## Soak run: {} demo instances on {}\n", args.instances, store.name());
    let _ = writeln!(
        out,
        "{:.1} min, {} virtual users (each its own client address), date {}\n",
        elapsed.as_secs_f64() / 60.0,
        args.users,
        chrono_free_date()
    );
    let _ = writeln!(out, "| check | result | verdict |\n|---|---|---|");
    let _ = writeln!(
        out,
        "| requests served | {} ({:.0} req/s) | |",
        samples.len(),
        samples.len() as f64 / elapsed.as_secs_f64()
    );
    let _ = writeln!(out, "| 503 from the full Argon2 queue (load shedding, by design) | {shed} | |");
    let _ = writeln!(out, "| 5xx / transport errors inside outage windows | {inside_failures} | expected |");
    let _ = writeln!(
        out,
        "| 5xx / transport errors outside outage windows | {} | {} |",
        outside_failures.len(),
        verdict(outside_failures.is_empty())
    );
    let _ = writeln!(
        out,
        "| logouts undone (of {logouts} acknowledged, each replayed during the run and at the end) | {} | {} |",
        undone.len(),
        verdict(undone.is_empty())
    );
    let _ = writeln!(
        out,
        "| acknowledged writes lost (sessions checked: before each logout and at the end, {checked_sessions}) | {} | {} |",
        lost.len(),
        verdict(lost.is_empty())
    );
    let _ = writeln!(
        out,
        "| latency outside outages: p50 / p99 / max | {:.1} / {:.1} / {:.1} ms | |",
        ms(percentile(&normal, 0.50)),
        ms(percentile(&normal, 0.99)),
        ms(normal.last().copied().unwrap_or_default())
    );
    let rss_row = |i: usize| rss.iter().map(|r| format!("{:.1}", r[i] as f64 / 1024.0)).collect::<Vec<_>>().join(" / ");
    for i in 0..args.instances {
        let _ = writeln!(out, "| RSS of instance {i}: start / middle / end | {} MiB | |", rss_row(i));
    }
    let _ = writeln!(out, "\nFaults (window = fault until the store is back + {} s):\n", RECOVERY.as_secs());
    for (from, to, what) in outages.iter() {
        let _ = writeln!(out, "- {what}: {:.1} s – {:.1} s", from.as_secs_f64(), to.as_secs_f64());
    }
    let counts = driver.shared.counts.lock().unwrap();
    let _ = writeln!(out, "\nOperations acknowledged:\n");
    for (what, n) in counts.iter() {
        let _ = writeln!(out, "- {what}: {n}");
    }
    let mut by_second: BTreeMap<(u64, u16), usize> = BTreeMap::new();
    for s in &outside_failures {
        *by_second.entry((s.at.as_secs(), s.status)).or_default() += 1;
    }
    for ((second, status), n) in by_second.iter().take(20) {
        let _ = writeln!(out, "- failures outside outages: {n} × status {status} in second {second}");
    }
    for line in lost.iter().chain(undone.iter()).take(20) {
        let _ = writeln!(out, "- {line}");
    }
    for line in driver.shared.notes.lock().unwrap().iter().take(20) {
        let _ = writeln!(out, "- note: {line}");
    }
    out
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn chrono_free_date() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

impl Drop for StoreProc {
    fn drop(&mut self) {
        if let StoreProc::Redis { child: Some(c), .. } = self {
            let _ = c.kill();
        }
    }
}
