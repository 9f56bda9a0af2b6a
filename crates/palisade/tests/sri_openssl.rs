//! SRI values checked against an independent implementation:
//! `openssl dgst -sha384 -binary FILE | openssl base64 -A`.

use palisade::headers::HashAlgorithm;
use palisade::sri::{Integrity, SriAssets};
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sri/app.js")
}

/// The base64 digest openssl computes for `file`.
fn openssl_digest(algorithm: &str, file: &std::path::Path) -> String {
    let hint = "openssl is needed for this test: apt-get install openssl";
    let digest = Command::new("openssl")
        .args(["dgst", &format!("-{algorithm}"), "-binary"])
        .arg(file)
        .stdout(Stdio::piped())
        .output()
        .unwrap_or_else(|e| panic!("cannot run openssl ({e}); {hint}"));
    assert!(digest.status.success(), "openssl dgst failed: {}; {hint}", String::from_utf8_lossy(&digest.stderr));
    let mut base64 = Command::new("openssl")
        .args(["base64", "-A"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run openssl ({e}); {hint}"));
    std::io::Write::write_all(&mut base64.stdin.take().unwrap(), &digest.stdout).unwrap();
    let out = base64.wait_with_output().unwrap();
    assert!(out.status.success(), "openssl base64 failed; {hint}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn integrity_of_the_fixture_matches_openssl_for_every_algorithm() {
    let file = fixture();
    for (algorithm, name) in
        [(HashAlgorithm::Sha384, "sha384"), (HashAlgorithm::Sha256, "sha256"), (HashAlgorithm::Sha512, "sha512")]
    {
        let expected = openssl_digest(name, &file);
        assert!(expected.len() > 40, "openssl gave {expected:?}");
        let from_file = Integrity::of_file(algorithm, &file).unwrap();
        assert_eq!(from_file.to_string(), format!("{name}-{expected}"));
        let from_bytes = Integrity::of_bytes(algorithm, &std::fs::read(&file).unwrap());
        assert_eq!(from_bytes, from_file);
    }
}

#[test]
fn the_asset_table_holds_the_openssl_value() {
    let file = fixture();
    let assets = SriAssets::new().add_dir("/static", file.parent().unwrap()).unwrap();
    let expected = format!("sha384-{}", openssl_digest("sha384", &file));
    assert_eq!(assets.integrity("/static/app.js").unwrap().to_string(), expected);
    assert!(assets.script_tag("/static/app.js", None).unwrap().contains(&format!("integrity=\"{expected}\"")));
}
