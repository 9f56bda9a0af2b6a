//! `palisade csp` against Google's CSP Evaluator (npm `csp_evaluator`
//! 1.1.8, installed by scripts/test) on tests/csp_evaluator/policies.json:
//! every policy gets the same findings (type, severity, directive, value),
//! or both refuse it. The JSONP/AngularJS/Flash lists are read from the
//! installed package at test time and given to palisade with
//! `--bypass-lists` (the repository holds no copy).
//!
//! Documented differences (their quirks, see SPEC.md §9): palisade reports
//! an IGNORED finding once, not once per script directive; it reports
//! `constructor` and `__proto__` as unknown directives, which the
//! evaluator loses.

use serde_json::Value;
use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/csp_evaluator");

fn evaluator_dir() -> String {
    std::env::var("PALISADE_CSP_EVALUATOR").unwrap_or_else(|_| {
        panic!("PALISADE_CSP_EVALUATOR is not set: run `scripts/test` (scripts/observatory.sh installs csp_evaluator from npm)")
    })
}

fn node(args: &[&str], stdin: &[u8]) -> Value {
    let mut child = Command::new("node")
        .arg(format!("{DIR}/evaluate.mjs"))
        .arg(evaluator_dir())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs (scripts/test installs Node.js)");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "evaluate.mjs failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

type Key = (String, String, String, Option<String>);

/// The findings as a set of (type, severity, directive, value).
fn keys(findings: &Value) -> BTreeSet<Key> {
    findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["type"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
                f["directive"].as_str().unwrap().to_owned(),
                f["value"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[test]
fn palisade_and_csp_evaluator_agree_on_every_policy() {
    let policies_path = format!("{DIR}/policies.json");
    let policies = std::fs::read(&policies_path).unwrap();
    let count = serde_json::from_slice::<Vec<String>>(&policies).unwrap().len();
    assert!(count >= 80, "the corpus has {count} policies");
    compare(&policies_path, count);
}

/// Policies put together at random (a fixed seed) from directives and
/// sources that exercise every check: what a hand-written corpus misses.
#[test]
fn palisade_and_csp_evaluator_agree_on_random_policies() {
    const DIRECTIVES: &[&str] = &[
        "default-src",
        "script-src",
        "script-src-elem",
        "script-src-attr",
        "object-src",
        "base-uri",
        "style-src",
        "img-src",
        "connect-src",
        "report-uri",
        "plugin-types",
        "trusted-types",
        "require-trusted-types-for",
        "frame-ancestors",
        "Script-Src",
        "foo-src",
        "script-src:",
        "referrer",
        "prefetch-src",
        "sandbox",
    ];
    const SOURCES: &[&str] = &[
        "'self'",
        "'none'",
        "'unsafe-inline'",
        "'unsafe-eval'",
        "'strict-dynamic'",
        "'unsafe-hashes'",
        "'report-sample'",
        "'wasm-unsafe-eval'",
        "'nonce-rAnd0m123'",
        "'nonce-abc'",
        "'nonce-ab$cdefgh'",
        "'nonce-'",
        "'sha256-RFWPLDbv2BY+rCkDzsE+0fr8ylGr2R2faWMhq4lfEQc='",
        "'sha1-abc'",
        "self",
        "none",
        "unsafe-inline",
        "nonce-abcdefgh",
        "'SELF'",
        "'bogus'",
        "https:",
        "http:",
        "data:",
        "blob:",
        "*",
        "https://*",
        "*.example.com",
        "https://*.google.com",
        "https://www.google.com",
        "ajax.googleapis.com",
        "https://cdnjs.cloudflare.com/ajax/libs/",
        "https://vk.com/swf/",
        "http://example.com",
        "example.com",
        "127.0.0.1",
        "10.0.0.1",
        "[::1]",
        "localhost",
        "2130706433",
        "object-src",
        "script-src",
        "application/x-shockwave-flash",
        "application/pdf",
        "'script'",
        "'allow-duplicates'",
        "/csp-report",
        "https://www.googletagmanager.com",
        "https://a.example/path/",
        "wss://www.google.com",
        "https://",
        "999.1.1.1",
    ];
    let mut state: u64 = 0x5eed_cafe_f00d_0001;
    let mut next = |n: usize| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((state >> 33) as usize) % n
    };
    let policies: Vec<String> = (0..600)
        .map(|_| {
            let directives: Vec<String> = (0..1 + next(4))
                .map(|_| {
                    let mut words = vec![DIRECTIVES[next(DIRECTIVES.len())].to_owned()];
                    words.extend((0..next(5)).map(|_| SOURCES[next(SOURCES.len())].to_owned()));
                    words.join(" ")
                })
                .collect();
            directives.join("; ")
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("random.json");
    std::fs::write(&path, serde_json::to_vec(&policies).unwrap()).unwrap();
    compare(path.to_str().unwrap(), policies.len());
}

fn compare(policies_path: &str, count: usize) {
    let policies = std::fs::read(policies_path).unwrap();
    let theirs = node(&[], &policies);
    let lists = node(&["--bypass-lists"], b"");
    let dir = tempfile::tempdir().unwrap();
    let lists_path = dir.path().join("lists.json");
    std::fs::write(&lists_path, serde_json::to_vec(&lists).unwrap()).unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["csp", "--format", "json", "--from-json", policies_path, "--bypass-lists"])
        .arg(&lists_path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ours: Value = serde_json::from_slice(&out.stdout).unwrap();

    let mut diffs = Vec::new();
    let (mut agreed, mut refused) = (0, 0);
    for (i, (theirs, ours)) in theirs.as_array().unwrap().iter().zip(ours.as_array().unwrap()).enumerate() {
        let policy = theirs["policy"].as_str().unwrap();
        assert_eq!(ours["policy"], theirs["policy"]);
        match (theirs["findings"].is_null(), ours["findings"].is_null()) {
            (true, true) => {
                refused += 1;
                continue;
            }
            (true, false) => {
                diffs
                    .push(format!("[{i}] {policy:?}: the evaluator throws ({}), palisade accepts it", theirs["error"]));
                continue;
            }
            (false, true) => {
                diffs
                    .push(format!("[{i}] {policy:?}: palisade refuses it ({}), the evaluator does not", ours["error"]));
                continue;
            }
            (false, false) => {}
        }
        let their_keys = keys(&theirs["findings"]);
        let mut our_keys = keys(&ours["findings"]);
        // Their bug: an object lookup that sees inherited properties.
        for lost in ["constructor", "__proto__"] {
            if policy.split(';').any(|d| d.split_whitespace().next() == Some(lost)) {
                let key = ("UNKNOWN_DIRECTIVE".to_owned(), "SYNTAX".to_owned(), lost.to_owned(), None);
                assert!(our_keys.remove(&key), "[{i}] palisade reports {lost} as an unknown directive");
            }
        }
        if their_keys == our_keys {
            agreed += 1;
        } else {
            let only_theirs: Vec<_> = their_keys.difference(&our_keys).collect();
            let only_ours: Vec<_> = our_keys.difference(&their_keys).collect();
            diffs.push(format!(
                "[{i}] {policy:?}\n    only the evaluator: {only_theirs:?}\n    only palisade: {only_ours:?}"
            ));
        }
    }
    println!("{count} policies: {agreed} with the same findings, {refused} refused by both");
    assert!(diffs.is_empty(), "{} differences:\n{}", diffs.len(), diffs.join("\n"));
    assert_eq!(agreed + refused, count);
}
