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

/// The `palisade decode` arguments that check `case`'s signature with
/// `secrets` (the first the current key, the rest fallbacks).
fn verify_args(case: &Value, secrets: &[&str]) -> Vec<String> {
    let cookie = case["cookie"].as_str().unwrap();
    let verify = &case["verify"];
    let input = match verify["cookie_name"].as_str() {
        Some(name) => format!("{name}={cookie}"),
        None => cookie.to_owned(),
    };
    let mut args = vec!["decode".to_owned(), "--format".into(), "json".into(), input];
    for secret in secrets {
        args.extend(["--secret".to_owned(), (*secret).to_owned()]);
    }
    if let Some(salt) = verify["salt"].as_str() {
        args.extend(["--salt".to_owned(), salt.to_owned()]);
    }
    args
}

fn run_verify(case: &Value, secrets: &[&str]) -> (Option<i32>, Value, String) {
    let args = verify_args(case, secrets);
    let out = palisade(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    for secret in secrets {
        assert!(!stdout.contains(secret) && !stderr.contains(secret), "a secret was printed: {stdout} {stderr}");
    }
    let decoded = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout} {stderr}"));
    (out.status.code(), decoded, stderr)
}

#[test]
fn with_the_secret_a_cookie_verifies_exactly_when_the_library_accepts_it() {
    for case in oracle_cookies() {
        let name = case["name"].as_str().unwrap();
        let verify = &case["verify"];
        let secret = verify["secret"].as_str().unwrap();
        let mut secrets = vec![secret];
        secrets.extend(verify["fallback"].as_str());
        let (code, decoded, stderr) = run_verify(&case, &secrets);
        let check = &decoded["signature_check"];
        if verify["accepted"] == true {
            assert_eq!(code, Some(0), "{name}: {decoded} {stderr}");
            assert_eq!(check["valid"], true, "{name}: {decoded}");
            assert_eq!(check["expired"], false, "{name}: {decoded}");
            assert_eq!(check["secret"], secrets.len(), "{name}: the key that signed it: {decoded}");
        } else {
            assert_eq!(code, Some(1), "{name}: the library refuses it, so must palisade: {decoded} {stderr}");
            let refused = check["valid"] == false || check["expired"] == true;
            assert!(refused, "{name}: {decoded}");
        }
    }
}

#[test]
fn a_wrong_secret_a_forged_payload_or_a_changed_signature_does_not_verify() {
    for case in oracle_cookies().into_iter().filter(|c| c["verify"]["accepted"] == true) {
        let name = case["name"].as_str().unwrap().to_owned();
        let secret = case["verify"]["secret"].as_str().unwrap().to_owned();

        let (code, decoded, _) = run_verify(&case, &["not-the-secret"]);
        assert_eq!(code, Some(1), "{name}: {decoded}");
        assert_eq!(decoded["signature_check"]["valid"], false, "{name}: {decoded}");

        // The signature is the last part; its first character carries six
        // full bits, so changing it changes the digest.
        let cookie = case["cookie"].as_str().unwrap();
        let sep = if case["kind"].as_str().unwrap().starts_with("django") { ':' } else { '.' };
        let (head, signature) = cookie.rsplit_once(sep).unwrap();
        let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
        let changed = format!("{head}{sep}{flipped}{}", &signature[1..]);
        let mut tampered = case.clone();
        tampered["cookie"] = Value::String(changed);
        let (code, decoded, _) = run_verify(&tampered, &[&secret]);
        assert_eq!(code, Some(1), "{name}: {decoded}");
        assert_eq!(decoded["signature_check"]["valid"], false, "{name}: {decoded}");
    }

    // The attack the signature stops: a visitor rewrites the user id and
    // keeps the old signature.
    let cases = oracle_cookies();
    let flask = cases.iter().find(|c| c["name"] == "flask-unicode").unwrap();
    let cookie = flask["cookie"].as_str().unwrap();
    let (_, rest) = cookie.split_once('.').unwrap();
    use base64::Engine;
    let forged_payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"_user_id":"1"}"#);
    let mut forged = flask.clone();
    forged["cookie"] = Value::String(format!("{forged_payload}.{rest}"));
    let (code, decoded, _) = run_verify(&forged, &[flask["verify"]["secret"].as_str().unwrap()]);
    assert_eq!(code, Some(1), "{decoded}");
    assert_eq!(decoded["data"]["_user_id"], "1", "the forged data is still shown: {decoded}");
    assert_eq!(decoded["signature_check"]["valid"], false, "{decoded}");
}

#[test]
fn the_human_report_names_the_key_that_signed_and_an_expired_cookie() {
    let cases = oracle_cookies();
    let rotated = cases.iter().find(|c| c["name"] == "flask-fallback-key").unwrap();
    let args = [
        "decode",
        rotated["cookie"].as_str().unwrap(),
        "--secret",
        "the-new-x",
        "--secret",
        rotated["verify"]["fallback"].as_str().unwrap(),
    ];
    let out = palisade(&args);
    let report = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert!(report.contains("Signature: valid, signed with secret 2 (a fallback)"), "{report}");
    assert!(!report.contains("oracle-secret"), "{report}");

    let expired = cases.iter().find(|c| c["name"] == "flask-expired").unwrap();
    let out = palisade(&[
        "decode",
        expired["cookie"].as_str().unwrap(),
        "--secret",
        expired["verify"]["secret"].as_str().unwrap(),
    ]);
    let report = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(report.contains("expired"), "{report}");
    assert!(report.contains("PERMANENT_SESSION_LIFETIME"), "{report}");
    // --max-age raises the limit as the application's setting would.
    let out = palisade(&[
        "decode",
        expired["cookie"].as_str().unwrap(),
        "--max-age",
        "5000000",
        "--secret",
        expired["verify"]["secret"].as_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));

    // A Django signed cookie without its name cannot be checked: the name is in the salt.
    let plan = cases.iter().find(|c| c["name"] == "django-signed-cookie").unwrap();
    let out = palisade(&["decode", plan["cookie"].as_str().unwrap(), "--secret", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NAME=VALUE"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn secrets_can_come_from_a_file_so_they_stay_out_of_shell_history() {
    let cases = oracle_cookies();
    let rotated = cases.iter().find(|c| c["name"] == "flask-fallback-key").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secrets");
    let (current, fallback) =
        (rotated["verify"]["secret"].as_str().unwrap(), rotated["verify"]["fallback"].as_str().unwrap());
    std::fs::write(&file, format!("{current}\n\n{fallback}\r\n")).unwrap();
    let out = palisade(&[
        "decode",
        "--format",
        "json",
        rotated["cookie"].as_str().unwrap(),
        "--secret-file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let decoded: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(decoded["signature_check"]["secret"], 2, "{decoded}");
    let missing = palisade(&["decode", rotated["cookie"].as_str().unwrap(), "--secret-file", "/nonexistent/secrets"]);
    assert_eq!(missing.status.code(), Some(2));
}
