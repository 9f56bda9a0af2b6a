//! `palisade decode` against cookies made by the real libraries: Flask
//! 3.1, Django 5.2 (`signed_cookies` sessions, `set_signed_cookie`),
//! Starlette's `SessionMiddleware` and PyJWT, from PyPI (scripts/test puts
//! them in a virtualenv). Every cookie must be recognised as what it is,
//! and the data shown must be what the library itself reads back.

use serde_json::Value;
use std::process::Command;

fn python() -> String {
    std::env::var("PALISADE_ORACLE_PYTHON").unwrap_or_else(|_| {
        panic!(
            "PALISADE_ORACLE_PYTHON is not set: run `scripts/test` (it creates target/oracles/venv with \
             crates/palisade-cli/tests/oracles/requirements.txt), or point it at a python with those packages"
        )
    })
}

fn palisade(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_palisade")).args(args).output().expect("the palisade binary runs")
}

fn oracle_cookies() -> Vec<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracles/cookies.py");
    let out = Command::new(python()).arg(script).output().expect("the oracle python runs");
    assert!(out.status.success(), "cookies.py failed: {}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.len() >= 10, "{lines:?}");
    lines
}

#[test]
fn every_cookie_the_libraries_make_is_decoded_to_what_they_read_back() {
    for case in oracle_cookies() {
        let name = case["name"].as_str().unwrap();
        let cookie = case["cookie"].as_str().unwrap();
        let out = palisade(&["decode", "--format", "json", cookie]);
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let decoded: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(decoded["kind"], case["kind"], "{name}: {decoded}");
        assert_eq!(decoded["data"], case["data"], "{name}");
        assert_eq!(decoded["compressed"], case["compressed"], "{name}");
        if case["kind"] != "jwt" {
            assert!(decoded["signed_at"].as_u64().is_some(), "{name}: {decoded}");
        }
    }
}

#[test]
fn a_pasted_name_and_quotes_are_accepted_and_the_report_says_what_to_change() {
    let cases = oracle_cookies();
    let flask = cases.iter().find(|c| c["name"] == "flask-login-like").unwrap();
    let pasted = format!("session=\"{}\"; HttpOnly; Path=/", flask["cookie"].as_str().unwrap());
    let out = palisade(&["decode", &pasted]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = String::from_utf8(out.stdout).unwrap();
    assert!(report.starts_with("Flask session cookie"), "{report}");
    assert!(report.contains("Anyone who sees this cookie can read:"), "{report}");
    assert!(report.contains("\"_user_id\": \"42\""), "{report}");
    assert!(report.contains("SESSION_TYPE"), "the Flask fix is named: {report}");

    let none = cases.iter().find(|c| c["name"] == "jwt-none").unwrap();
    let report = String::from_utf8(palisade(&["decode", none["cookie"].as_str().unwrap()]).stdout).unwrap();
    assert!(report.contains("alg \"none\""), "{report}");
}

#[test]
fn what_is_not_a_readable_cookie_is_an_error_with_exit_code_2() {
    let encrypted = palisade::keys::KeyRing::generate_secret_base64(); // random bytes: nothing to read
    for input in [encrypted.as_str(), "", "a.b.c", "eyJhIjoxfQ.AAAA.short", "x:y:z"] {
        let out = palisade(&["decode", input]);
        assert_eq!(out.status.code(), Some(2), "{input:?}: {}", String::from_utf8_lossy(&out.stdout));
        assert!(String::from_utf8_lossy(&out.stderr).contains("not a cookie format"), "{input:?}");
    }
}
