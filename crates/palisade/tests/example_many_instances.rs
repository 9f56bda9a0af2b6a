//! Runs `examples/many_instances.rs` as two processes on one private
//! `redis-server` and drives them over real sockets: a login on one
//! instance is seen by the other, a write on either by both, a logout on
//! one ends the session everywhere; an instance with another secret key
//! accepts none of their cookies.
//!
//! Each instance is this test binary started again with `--ignored --exact
//! instance_process` (the example's code in a process of its own, without
//! a nested cargo build).

#[path = "../examples/many_instances.rs"]
mod many_instances;
#[path = "common/redis.rs"]
mod redis_common;

use palisade::keys::KeyRing;
use redis_common::RedisServer;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The body of each instance process; started by the scenario below.
#[tokio::test]
#[ignore = "an instance process of a_login_on_one_instance_is_seen_by_the_other; started by that test"]
async fn instance_process() {
    many_instances::serve_from_env().await.expect("the instance serves");
}

/// An instance process, killed on drop (even when the test panics).
struct Instance {
    child: Child,
    addr: SocketAddr,
}

impl Instance {
    fn start(name: &str, secret: &str, redis_url: &str) -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--ignored", "--exact", "instance_process", "--nocapture", "--test-threads=1"])
            .env("PALISADE_SECRET_KEY", secret)
            .env("PALISADE_REDIS_URL", redis_url)
            .env("PALISADE_INSTANCE", name)
            .env("PALISADE_LISTEN", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .spawn()
            .expect("the test binary runs again as an instance");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    // libtest's "test instance_process ... " comes first on the line.
                    if let Some((_, addr)) = line.split_once("listening on ") {
                        break addr.trim().parse().unwrap();
                    }
                }
                other => {
                    let _ = child.kill();
                    panic!("instance {name} stopped before listening: {other:?}");
                }
            }
        };
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, addr }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser, its cookies shared by every instance (as behind one host
/// name), talking raw HTTP/1.1.
#[derive(Default)]
struct Browser {
    jar: BTreeMap<String, String>,
}

struct Reply {
    status: u16,
    body: String,
}

impl Browser {
    async fn request(&mut self, to: &Instance, method: &str, path: &str, form: &str) -> Reply {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        if !self.jar.is_empty() {
            let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            head += &format!("Cookie: {}\r\n", cookies.join("; "));
        }
        if method == "POST" {
            head += "Sec-Fetch-Site: same-origin\r\nContent-Type: application/x-www-form-urlencoded\r\n";
        }
        head += &format!("Content-Length: {}\r\n\r\n{form}", form.len());
        let mut stream = tokio::net::TcpStream::connect(to.addr).await.expect("the instance accepts");
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).await.unwrap();
        let (headers, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let status = headers.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        for line in headers.lines().skip(1) {
            let Some((name, value)) = line.split_once(':') else { continue };
            if !name.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            let value = value.trim();
            let (pair, attributes) = value.split_once(';').unwrap_or((value, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attributes.contains("Max-Age=0") {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_owned(), value.to_owned());
            }
        }
        Reply { status, body: body.to_owned() }
    }

    /// The home page of `to`, and the CSRF token of its forms.
    async fn home(&mut self, to: &Instance) -> (String, String) {
        let reply = self.request(to, "GET", "/", "").await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let marker = r#"name="csrf_token" value=""#;
        let start = reply.body.find(marker).expect("a form") + marker.len();
        let token = reply.body[start..start + reply.body[start..].find('"').unwrap()].to_owned();
        (reply.body, token)
    }
}

#[tokio::test]
async fn a_login_on_one_instance_is_seen_by_the_other() {
    let redis = RedisServer::start();
    let secret = KeyRing::generate_secret_base64();
    let a = Instance::start("a", &secret, &redis.url());
    let b = Instance::start("b", &secret, &redis.url());
    let mut browser = Browser::default();

    // The login form from a, posted to b: the anonymous CSRF cookie is
    // signed with the shared key, so b accepts it.
    let (page, token) = browser.home(&a).await;
    assert!(page.contains("Instance a: not signed in"), "{page}");
    let form = format!("username=alice&password=correct+horse+battery+staple&csrf_token={token}");
    assert_eq!(browser.request(&b, "POST", "/login", &form).await.status, 303);

    // Signed in on a too; writes from either are seen by both.
    let (page, token) = browser.home(&a).await;
    assert!(page.contains("Instance a: signed in as alice; 0 visits"), "{page}");
    assert_eq!(browser.request(&a, "POST", "/visits", &format!("csrf_token={token}")).await.status, 303);
    assert_eq!(browser.request(&b, "POST", "/visits", &format!("csrf_token={token}")).await.status, 303);
    let (page, token) = browser.home(&b).await;
    assert!(page.contains("Instance b: signed in as alice; 2 visits"), "{page}");

    // An instance with another secret sees the same store but trusts none
    // of these cookies: the key is part of what instances must share.
    let stranger = Instance::start("c", &KeyRing::generate_secret_base64(), &redis.url());
    let mut copy = Browser { jar: browser.jar.clone() };
    let (page, _) = copy.home(&stranger).await;
    assert!(page.contains("Instance c: not signed in"), "{page}");

    // Logout on b ends the session on a, and a copy of the cookie is dead.
    let session_cookie = browser.jar.clone();
    assert_eq!(browser.request(&b, "POST", "/logout", &format!("csrf_token={token}")).await.status, 303);
    assert!(browser.home(&a).await.0.contains("Instance a: not signed in"));
    let mut replay = Browser { jar: session_cookie };
    assert!(replay.home(&a).await.0.contains("Instance a: not signed in"), "the record is gone from Redis");
}
