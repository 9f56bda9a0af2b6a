//! Drives `examples/spa.rs` as its page's script does: the JSON API with
//! a double-submit cookie read before each request and sent back in
//! `X-CSRF-Token`, across login and logout.

#[path = "common/browser.rs"]
mod browser;
#[path = "../examples/spa.rs"]
mod spa;

use axum::body::Body;
use browser::{split, Browser};
use http::{header, Request, StatusCode};
use palisade::csrf::DOUBLE_SUBMIT_COOKIE;
use palisade::keys::KeyRing;

/// What the page's `api()` function sends: JSON, the cookie echoed in the
/// header, and the `Sec-Fetch-Site` a browser adds to a same-origin fetch.
async fn api(browser: &mut Browser, app: &axum::Router, method: &str, path: &str, body: &str) -> (StatusCode, String) {
    let echo = browser.jar.get(DOUBLE_SUBMIT_COOKIE).cloned().unwrap_or_default();
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("x-csrf-token", echo)
        .header("sec-fetch-site", "same-origin")
        .header(header::CONTENT_TYPE, "application/json");
    let (res, text) = split(browser.send(app, req, Body::from(body.to_owned())).await).await;
    (res.status(), text)
}

#[tokio::test]
async fn the_page_logs_in_keeps_todos_and_logs_out_through_the_api() {
    let app = spa::app(KeyRing::generate()).unwrap();
    let mut browser = Browser::default();

    // The page: one script, allowed by the response's nonce.
    let (res, page) = browser.get(&app, "/").await;
    let csp = res.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    let start = page.find(r#"<script nonce=""#).unwrap() + r#"<script nonce=""#.len();
    let nonce = &page[start..start + page[start..].find('"').unwrap()];
    assert!(csp.contains(&format!("'nonce-{nonce}'")), "{csp}");

    // Its first call sets the cookie the script reads: not HttpOnly, __Host-.
    let res = browser.send(&app, Request::get("/api/csrf"), Body::empty()).await;
    let set =
        res.headers().get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect::<Vec<_>>();
    let cookie = set.iter().find(|s| s.starts_with(DOUBLE_SUBMIT_COOKIE)).expect("the double-submit cookie");
    assert!(cookie.contains("Secure") && !cookie.contains("HttpOnly"), "{cookie}");

    assert_eq!(api(&mut browser, &app, "GET", "/api/me", "").await.0, StatusCode::UNAUTHORIZED, "an API gets 401");
    let wrong = r#"{"username":"alice","password":"nope"}"#;
    assert_eq!(api(&mut browser, &app, "POST", "/api/login", wrong).await.0, StatusCode::UNAUTHORIZED);
    let right = r#"{"username":"alice","password":"correct horse battery staple"}"#;
    assert_eq!(api(&mut browser, &app, "POST", "/api/login", right).await.0, StatusCode::OK);
    assert_eq!(api(&mut browser, &app, "GET", "/api/me", "").await, (StatusCode::OK, r#"{"user":"alice"}"#.to_owned()));

    // The login response re-issued the cookie for the new session: the
    // script's next write goes through.
    let (status, body) = api(&mut browser, &app, "POST", "/api/todos", r#"{"text":"<b>milk</b>"}"#).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(api(&mut browser, &app, "GET", "/api/todos", "").await.1, r#"{"todos":["<b>milk</b>"]}"#);

    assert_eq!(api(&mut browser, &app, "POST", "/api/logout", "").await.0, StatusCode::NO_CONTENT);
    assert_eq!(api(&mut browser, &app, "GET", "/api/todos", "").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(api(&mut browser, &app, "POST", "/api/login", right).await.0, StatusCode::OK, "and in again");
}

#[tokio::test]
async fn a_write_without_the_echo_or_from_another_site_is_refused() {
    let app = spa::app(KeyRing::generate()).unwrap();
    let mut browser = Browser::default();
    browser.send(&app, Request::get("/api/csrf"), Body::empty()).await;
    let right = r#"{"username":"alice","password":"correct horse battery staple"}"#;
    assert_eq!(api(&mut browser, &app, "POST", "/api/login", right).await.0, StatusCode::OK);

    // A cross-site page can make the browser send the cookie, not read it.
    let req = Request::post("/api/todos").header(header::CONTENT_TYPE, "application/json");
    let res = browser.send(&app, req, Body::from(r#"{"text":"x"}"#)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "no header");
    let echo = browser.jar[DOUBLE_SUBMIT_COOKIE].clone();
    let req = Request::post("/api/todos")
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-csrf-token", echo)
        .header("sec-fetch-site", "cross-site");
    assert_eq!(browser.send(&app, req, Body::from(r#"{"text":"x"}"#)).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(api(&mut browser, &app, "GET", "/api/todos", "").await.1, r#"{"todos":[]}"#, "nothing was written");
}
