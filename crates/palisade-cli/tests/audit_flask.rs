//! `palisade audit` on a real Flask app (tests/oracles/flask_site.py, Flask
//! from PyPI in the virtualenv scripts/test makes), served on ports 80 and
//! 443 of its own loopback address: the grade agrees with the MDN HTTP
//! Observatory, and the checks beyond it find what the app does wrong
//! (its signed session readable, set over plain HTTP, CORS that echoes
//! any Origin with credentials, a stale integrity value, mixed content, a
//! version banner). The SARIF output passes Microsoft's SARIF validator
//! and the JUnit output reads with junitparser.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run `scripts/test` (it makes the Python virtualenv, installs the Observatory and \
             the SARIF validator with npm, and makes a test CA)"
        )
    })
}

const IP: &str = "127.0.0.90";

struct FlaskSite(Child);

impl FlaskSite {
    fn start() -> Self {
        let mut child = Command::new(env("PALISADE_ORACLE_PYTHON"))
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracles/flask_site.py"))
            .args([IP, &env("PALISADE_TEST_LEAF_CERT"), &env("PALISADE_TEST_LEAF_KEY")])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the virtualenv's python runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "flask_site.py did not start on {IP}:80/443 (binding them needs root)");
        FlaskSite(child)
    }
}

impl Drop for FlaskSite {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn palisade(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["audit", "--ca-file", &env("PALISADE_TEST_CA")])
        .args(args)
        .arg(IP)
        .output()
        .unwrap()
}

fn findings<'a>(report: &'a Value, id: &str) -> Vec<&'a Value> {
    report["findings"].as_array().unwrap().iter().filter(|f| f["id"] == id).collect()
}

#[test]
fn a_default_flask_app_is_graded_as_the_observatory_grades_it_and_its_readable_session_is_shown() {
    let _site = FlaskSite::start();
    let out = palisade(&["--format", "json"]);
    let reports: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ours = &reports[0];

    let theirs: Value = serde_json::from_slice(
        &Command::new("node")
            .arg(env("PALISADE_OBSERVATORY_SCAN"))
            .arg(IP)
            .env("NODE_EXTRA_CA_CERTS", env("PALISADE_TEST_CA"))
            .output()
            .unwrap()
            .stdout,
    )
    .expect("the Observatory prints JSON");
    assert_eq!(ours["scan"]["grade"], theirs["scan"]["grade"], "{ours:#}");
    assert_eq!(ours["scan"]["score"], theirs["scan"]["score"]);
    for (name, test) in theirs["tests"].as_object().unwrap() {
        assert_eq!(ours["tests"][name]["result"], test["result"], "{name}");
    }
    assert_eq!(ours["tests"]["cookies"]["result"], "cookies-session-without-secure-flag");

    // Beyond the Observatory.
    let readable = findings(ours, "cookie-readable-signed");
    assert_eq!(readable.len(), 1, "{ours:#}");
    assert_eq!(readable[0]["subject"], "session");
    assert_eq!(readable[0]["data"]["email"], "alice@example.com", "what anyone can read");
    assert_eq!(readable[0]["data"]["user_id"], 42);
    assert!(readable[0]["fix"]["flask"].as_str().unwrap().contains("Flask-Session"));
    assert_eq!(findings(ours, "cookie-session-over-http")[0]["level"], "high");
    assert_eq!(findings(ours, "cookie-without-host-prefix").len(), 1);
    let cors = findings(ours, "cors-reflects-origin");
    assert!(cors.iter().any(|f| f["subject"] == "Origin: null" && f["level"] == "high"), "{cors:#?}");
    assert!(cors.iter().any(|f| f["subject"] == format!("Origin: https://{IP}.evil.example")));
    let stale = findings(ours, "sri-integrity-mismatch");
    assert_eq!(stale.len(), 1, "only the stale stylesheet, not the script: {stale:#?}");
    assert_eq!(stale[0]["subject"], format!("https://{IP}/static/app.css"));
    assert_eq!(findings(ours, "sri-stylesheet-without-integrity")[0]["subject"], "https://cdn.example/theme.css");
    assert_eq!(findings(ours, "mixed-content")[0]["subject"], format!("http://{IP}/pixel.png"));
    assert!(findings(ours, "version-banner")[0]["subject"].as_str().unwrap().starts_with("server: Werkzeug/"));
    assert!(findings(ours, "csp-missing-directives").is_empty(), "no CSP at all: the Observatory test says so");

    // Gates: a finding id works like a result name.
    let gated = palisade(&["--format", "json", "--fail-on", "cookie-readable-signed"]);
    assert_eq!(gated.status.code(), Some(1));
    assert_eq!(palisade(&["--format", "json", "--fail-on", "hsts-preloaded"]).status.code(), Some(0));
    assert_eq!(palisade(&["--min-grade", "B"]).status.code(), Some(1));

    // Human output names the fix per framework.
    let human = String::from_utf8(palisade(&[]).stdout).unwrap();
    assert!(human.contains("SESSION_COOKIE_SECURE = True"), "{human}");
    assert!(human.contains("readable: {"), "{human}");

    // SARIF: Microsoft's validator finds no error.
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("audit.sarif");
    std::fs::write(&sarif, palisade(&["--format", "sarif"]).stdout).unwrap();
    let validated = Command::new(env("PALISADE_SARIF_MULTITOOL"))
        .arg("validate")
        .arg(&sarif)
        .arg("--output")
        .arg(dir.path().join("validation.sarif"))
        .output()
        .expect("the SARIF multitool runs");
    let text = String::from_utf8_lossy(&validated.stdout).into_owned() + &String::from_utf8_lossy(&validated.stderr);
    assert!(validated.status.success() && !text.contains(": error "), "{text}");
    let log: Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().any(|r| r["ruleId"] == "cookies-session-without-secure-flag" && r["level"] == "error"));
    assert!(results.iter().any(|r| r["ruleId"] == "cookie-readable-signed"));

    // JUnit: junitparser reads it, with a failed case per failing test.
    let junit = dir.path().join("audit.xml");
    std::fs::write(&junit, palisade(&["--format", "junit"]).stdout).unwrap();
    let script = "import sys, junitparser\n\
                  xml = junitparser.JUnitXml.fromfile(sys.argv[1])\n\
                  for suite in xml:\n\
                  \x20   for case in suite:\n\
                  \x20       print(case.classname, case.name, 'failed' if not case.is_passed else 'passed')\n";
    let parsed = Command::new(env("PALISADE_ORACLE_PYTHON")).args(["-c", script]).arg(&junit).output().unwrap();
    let cases = String::from_utf8(parsed.stdout).unwrap();
    assert!(parsed.status.success(), "{}", String::from_utf8_lossy(&parsed.stderr));
    assert!(cases.contains(&format!("{IP}.observatory cookies failed")), "{cases}");
    assert!(cases.contains(&format!("{IP}.observatory cross-origin-resource-sharing passed")), "{cases}");
    assert!(cases.contains(&format!("{IP}.cookie-readable-signed session failed")), "{cases}");
}
