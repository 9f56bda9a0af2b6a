//! `palisade audit` when a site cannot be scanned, or the command is used
//! wrongly: a clear message and exit code 2, never a hang or a panic.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn audit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palisade")).arg("audit").args(args).output().unwrap()
}

#[test]
fn a_site_that_never_answers_times_out_with_a_clear_error() {
    // Accepts connections, never says a word.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in listener.incoming().take(8) {
            open.push(stream);
        }
        std::thread::sleep(Duration::from_secs(5));
    });
    let started = Instant::now();
    let out = audit(&["--timeout", "1", &format!("127.0.0.1:{port}")]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("no answer within 1 s"), "{stdout}");
    assert!(started.elapsed() < Duration::from_secs(30), "bounded by --timeout");
    drop(held);
}

#[test]
fn a_site_that_is_down_is_an_error_and_json_says_so() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = audit(&["--format", "json", &format!("127.0.0.1:{port}")]);
    assert_eq!(out.status.code(), Some(2));
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(reports[0]["error"].as_str().unwrap().contains("down"), "{reports:#}");
}

#[test]
fn bad_credentials_and_gates_are_refused_without_repeating_the_secret() {
    let out = audit(&["--header", "Authorization Bearer s3cret-token", "127.0.0.1"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--header") && !stderr.contains("s3cret"), "{stderr}");
    let out = audit(&["--cookie", "session", "127.0.0.1"]);
    assert_eq!(out.status.code(), Some(2));
    let out = audit(&["--min-grade", "Z", "127.0.0.1"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a grade"));
    assert_eq!(audit(&[]).status.code(), Some(2), "no URL");
}
