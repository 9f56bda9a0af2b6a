//! `palisade sri` against OpenSSL: `openssl dgst -<algo> -binary FILE |
//! openssl base64 -A` is what the SRI guides tell people to run, so every
//! value must match it, for files and for URLs.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

fn openssl_integrity(algo: &str, bytes: &[u8]) -> String {
    let mut dgst = Command::new("openssl")
        .args(["dgst", &format!("-{algo}"), "-binary"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl is installed (scripts/test installs it: apt-get install openssl)");
    dgst.stdin.take().unwrap().write_all(bytes).unwrap();
    let digest = dgst.wait_with_output().unwrap().stdout;
    let mut b64 =
        Command::new("openssl").args(["base64", "-A"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    b64.stdin.take().unwrap().write_all(&digest).unwrap();
    let text = String::from_utf8(b64.wait_with_output().unwrap().stdout).unwrap();
    format!("{algo}-{}", text.trim())
}

fn palisade(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_palisade")).args(args).output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn file_hashes_match_openssl_for_every_algorithm() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, bytes) in [
        ("empty.js", Vec::new()),
        ("app.js", b"console.log('hello');\n".to_vec()),
        ("binary.css", (0..=255u8).cycle().take(100_000).collect()),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        files.push((path.to_str().unwrap().to_owned(), bytes));
    }
    let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    let mut args = vec!["sri", "--algo", "sha256,sha384,sha512"];
    args.extend(&paths);
    let (code, out, err) = palisade(&args);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), files.len());
    for (line, (path, bytes)) in lines.iter().zip(&files) {
        let expected = ["sha256", "sha384", "sha512"].map(|a| openssl_integrity(a, bytes)).join(" ");
        assert_eq!(*line, format!("{expected}  {path}"));
    }
    // The default is sha384, the guides' choice.
    let (_, out, _) = palisade(&["sri", paths[1]]);
    assert_eq!(out.trim(), format!("{}  {}", openssl_integrity("sha384", &files[1].1), paths[1]));
}

/// A one-shot HTTP server on loopback serving `body` as `content_type`.
fn serve_once(body: &'static [u8], content_type: &'static str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = stream.read(&mut buf);
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
    });
    format!("http://{addr}/lib")
}

#[test]
fn a_url_is_fetched_hashed_and_tagged_by_its_content_type() {
    const JS: &[u8] = b"export const x = 1;\n";
    let url = serve_once(JS, "text/javascript; charset=utf-8");
    let (code, out, err) = palisade(&["sri", "--html", &url]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.trim(),
        format!(
            r#"<script src="{url}" integrity="{}" crossorigin="anonymous"></script>"#,
            openssl_integrity("sha384", JS)
        )
    );

    const CSS: &[u8] = b"body{color:red}";
    let url = serve_once(CSS, "text/css");
    let (_, out, _) = palisade(&["sri", "--html", "--algo", "sha512", &url]);
    let expected = format!(
        r#"<link rel="stylesheet" href="{url}" integrity="{}" crossorigin="anonymous">"#,
        openssl_integrity("sha512", CSS)
    );
    assert_eq!(out.trim(), expected);
}

#[test]
fn unreadable_inputs_are_errors_with_exit_code_2() {
    let (code, _, err) = palisade(&["sri", "/nonexistent/app.js"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/app.js"), "{err}");
    let url = serve_once(b"x", "text/plain");
    let (code, _, err) = palisade(&["sri", "--html", &url]);
    assert_eq!(code, 2);
    assert!(err.contains("script or a stylesheet"), "{err}");
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (code, _, err) = palisade(&["sri", &format!("http://{dead}/gone.js")]);
    assert_eq!(code, 2, "{err}");
}
