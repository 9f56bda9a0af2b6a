//! The demo served over HTTPS (with a certificate from the test CA, and
//! its plain-HTTP listener redirecting) grades A+ and at least 135 in both
//! the MDN HTTP Observatory and `palisade audit`; its login page, which
//! sets the form's `__Host-csrf` cookie, grades the cookie test as passed
//! with the bonus.

use palisade::keys::KeyRing;
use palisade_demo::{DemoConfig, TlsChoice};
use serde_json::Value;
use std::process::Command;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run `scripts/test` (scripts/observatory.sh installs the Observatory and a test CA)")
    })
}

/// The Observatory scans ports 80 and 443 of a bare host: the demo takes
/// both on 127.0.0.1 (the corpus sites use 127.0.0.2 and up).
const HOST: &str = "127.0.0.1";

fn start_demo(data_dir: &std::path::Path) {
    let mut config =
        DemoConfig::new(data_dir).with_keys(KeyRing::generate()).with_addr("127.0.0.1:443".parse().unwrap());
    config.tls =
        TlsChoice::Files { cert: env("PALISADE_TEST_LEAF_CERT").into(), key: env("PALISADE_TEST_LEAF_KEY").into() };
    config.http_redirect_addr = Some("127.0.0.1:80".parse().unwrap());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        if let Err(err) = runtime.block_on(palisade_demo::serve(config)) {
            panic!("the demo did not start on ports 80/443 of {HOST} (binding them needs root): {err}");
        }
    });
    // Up when https answers.
    for _ in 0..100 {
        if std::net::TcpStream::connect((HOST, 443)).is_ok() && std::net::TcpStream::connect((HOST, 80)).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the demo did not start listening on {HOST}:443 and :80");
}

fn observatory() -> Value {
    let out = Command::new("node")
        .arg(env("PALISADE_OBSERVATORY_SCAN"))
        .arg(HOST)
        .env("NODE_EXTRA_CA_CERTS", env("PALISADE_TEST_CA"))
        .output()
        .expect("node runs the Observatory (scripts/test installs Node.js)");
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("the Observatory printed no JSON: {}", String::from_utf8_lossy(&out.stderr)))
}

fn palisade(target: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["audit", "--format", "json", "--ca-file", &env("PALISADE_TEST_CA"), "--min-grade", "A+", target])
        .output()
        .unwrap();
    let reports: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("palisade printed no JSON: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(0), "--min-grade A+ passes: {reports:#}");
    reports[0].clone()
}

#[test]
fn the_demo_over_https_grades_a_plus_in_both_tools() {
    let data = tempfile::tempdir().unwrap();
    start_demo(data.path());

    let theirs = observatory();
    let ours = palisade(HOST);
    for report in [&theirs, &ours] {
        assert_eq!(report["scan"]["grade"], "A+", "{report:#}");
        assert!(report["scan"]["score"].as_i64().unwrap() >= 135, "{report:#}");
        assert_eq!(report["scan"]["testsFailed"], 0, "{report:#}");
    }
    assert_eq!(theirs["scan"]["score"], ours["scan"]["score"]);
    for (name, test) in theirs["tests"].as_object().unwrap() {
        assert_eq!(test["result"], ours["tests"][name]["result"], "{name}");
    }
    assert_eq!(ours["tests"]["content-security-policy"]["result"], "csp-implemented-with-no-unsafe-default-src-none");
    assert_eq!(ours["tests"]["redirection"]["result"], "redirection-to-https");

    // The home page shows a login form too: its CSRF cookie is graded.
    let cookies = &ours["tests"]["cookies"];
    assert_eq!(cookies["result"], "cookies-secure-with-httponly-sessions-and-samesite", "{ours:#}");
    assert_eq!(cookies["scoreModifier"], 5);
    let login = palisade(&format!("https://{HOST}/login"));
    assert_eq!(login["tests"]["cookies"]["result"], "cookies-secure-with-httponly-sessions-and-samesite");
    assert!(login["scan"]["score"].as_i64().unwrap() >= 140, "{login:#}");
}
