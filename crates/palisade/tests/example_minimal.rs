//! Drives `examples/minimal.rs` (the README's setup) through the whole
//! stack: a login form with a CSRF token and no session yet, login, a page
//! for the signed-in user with its security headers, logout.

#[path = "../examples/minimal.rs"]
mod minimal;

#[path = "common/browser.rs"]
mod browser;

use browser::{token_in, Browser};
use http::{header, StatusCode};
use palisade::keys::KeyRing;

#[tokio::test]
async fn the_minimal_example_signs_in_and_out_behind_the_whole_stack() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("sessions.db").display());
    let app = minimal::app(KeyRing::generate(), &url).await.unwrap();
    let mut browser = Browser::default();

    let (res, page) = browser.get(&app, "/login").await;
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("script-src 'none'") && csp.contains("report-uri /csp-report"), "{csp}");
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    assert!(!browser.jar.contains_key("__Host-session"), "no session for a login form");
    let token = token_in(&page);

    let (res, _) = browser.post(&app, "/login", "username=alice&password=wrong").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "no token: refused before the handler");
    let form = format!("username=alice&password=wrong&csrf_token={token}");
    assert_eq!(browser.post(&app, "/login", &form).await.0.status(), StatusCode::UNAUTHORIZED);
    let form = format!("username=alice&password=correct+horse+battery+staple&csrf_token={token}");
    let (res, _) = browser.post(&app, "/login", &form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(browser.jar.contains_key("__Host-session"));

    let (res, page) = browser.get(&app, "/").await;
    assert!(page.contains("Hello alice."), "{page}");
    assert_eq!(res.headers()[header::CACHE_CONTROL], "private", "a page of this user's: no shared cache keeps it");
    let (res, _) = browser.post(&app, "/logout", &format!("csrf_token={}", token_in(&page))).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["clear-site-data"], "\"cookies\"");
    assert!(browser.get(&app, "/").await.1.contains("Log in"));
}

/// The README's setup is the example's, line for line (so it compiles).
#[test]
fn the_readme_snippet_is_taken_from_the_example() {
    let readme = include_str!("../../../README.md");
    let example = include_str!("../examples/minimal.rs");
    let start = readme.find("```rust\n").expect("a rust block in the README") + "```rust\n".len();
    let block = &readme[start..start + readme[start..].find("```").unwrap()];
    let lines: Vec<&str> = block.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 5, "{block}");
    for line in lines {
        assert!(example.contains(line), "README line not in examples/minimal.rs: {line:?}");
    }
}
