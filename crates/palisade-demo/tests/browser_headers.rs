//! Security headers in a real headless Chromium:
//!
//! - on the demo's pages, the inline script with the response's nonce runs
//!   and the one without it does not; the script loaded with an SRI hash
//!   runs;
//! - a page on another local origin (another port) cannot frame the demo,
//!   while it can frame a page without the headers (the control);
//! - a script whose bytes do not match the integrity value written by
//!   `palisade::sri` does not run, while its matching twin does.
//!
//! The framing and SRI pages come from a second small server in this test.
//! Needs Chromium and chromedriver like `tests/browser.rs`.

mod support;

use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use palisade::sri::SriAssets;
use std::time::Instant;
use support::browser::{text_of, with_chromium, TIMEOUT};
use thirtyfour::prelude::*;

const GOOD_JS: &str = r#"document.getElementById("good").textContent = "good ran";"#;
const ORIGINAL_JS: &str = r#"document.getElementById("bad").textContent = "original";"#;
/// Served instead of `ORIGINAL_JS`, whose hash the page carries.
const TAMPERED_JS: &str = r#"document.getElementById("bad").textContent = "tampered ran";"#;

/// Two listeners of a small app (two origins: ports `a` and `b`): port `a`
/// serves the framing and SRI pages, port `b` the frameable control page.
async fn spawn_other_origins(demo: String) -> (String, String) {
    let a = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let b = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let (a_url, b_url) = (format!("http://{}", a.local_addr().unwrap()), format!("http://{}", b.local_addr().unwrap()));
    let assets = SriAssets::new()
        .add_bytes("/good.js", GOOD_JS.as_bytes())
        .unwrap()
        .add_bytes("/bad.js", ORIGINAL_JS.as_bytes())
        .unwrap();
    let sri_page = format!(
        r#"<!doctype html><p id="good">good did not run</p><p id="bad">bad did not run</p>{}{}"#,
        assets.script_tag("/bad.js", None).unwrap(),
        assets.script_tag("/good.js", None).unwrap()
    );
    let frame_page = format!(
        r#"<!doctype html><iframe id="demo" src="{demo}/"></iframe><iframe id="control" src="{b_url}/frameable"></iframe>"#
    );
    let js = |body: &'static str| move || async move { ([(CONTENT_TYPE, "text/javascript")], body).into_response() };
    let app = Router::new()
        .route("/sri", get(move || async move { Html(sri_page) }))
        .route("/good.js", get(js(GOOD_JS)))
        .route("/bad.js", get(js(TAMPERED_JS)))
        .route("/frame", get(move || async move { Html(frame_page) }))
        .route("/frameable", get(|| async { Html(r#"<!doctype html><p id="frameable">framed fine</p>"#) }));
    let other = app.clone();
    tokio::spawn(async move { axum::serve(a, app).await.expect("serve a") });
    tokio::spawn(async move { axum::serve(b, other).await.expect("serve b") });
    (a_url, b_url)
}

/// Waits until `#id` shows `want`, failing with what it shows instead.
async fn wait_for_text(driver: &WebDriver, id: &str, want: &str) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let now = text_of(driver, id).await;
        if now == want {
            return;
        }
        assert!(Instant::now() < deadline, "#{id} shows {now:?}, expected {want:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonces_framing_and_sri_in_chromium() {
    let app = support::spawn_app().await;
    let (other, _) = spawn_other_origins(app.base.clone()).await;
    let demo = app.base.clone();
    with_chromium(move |driver| async move {
        nonce_checks(&driver, &demo).await;
        framing_checks(&driver, &other).await;
        sri_checks(&driver, &other).await;
    })
    .await;
}

async fn nonce_checks(driver: &WebDriver, demo: &str) {
    driver.goto(format!("{demo}/")).await.expect("open home");
    wait_for_text(driver, "script-status", "scripts run").await;
    wait_for_text(driver, "sri-status", "demo.js ran (SRI hash matched)").await;
    // By now the page has run every script it will; the un-nonced one never did.
    assert_eq!(text_of(driver, "unnonced-status").await, "it was blocked");
    // And the same holds on the next page, with its own nonce.
    driver.goto(format!("{demo}/login")).await.expect("open login");
    wait_for_text(driver, "script-status", "scripts run").await;
}

async fn framing_checks(driver: &WebDriver, other: &str) {
    driver.goto(format!("{other}/frame")).await.expect("open the framing page");
    // The control: a page without the headers loads in a cross-origin frame.
    let deadline = Instant::now() + TIMEOUT;
    loop {
        driver.enter_default_frame().await.expect("top frame");
        driver.find(By::Id("control")).await.expect("#control").enter_frame().await.expect("enter control");
        if driver.find(By::Id("frameable")).await.is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "the control frame never loaded");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The demo's frame stays empty of the demo: the browser refused it
    // (frame-ancestors 'none', X-Frame-Options: DENY). The top document is
    // complete only once every frame has loaded (or failed to).
    driver.enter_default_frame().await.expect("top frame");
    let deadline = Instant::now() + TIMEOUT;
    while driver.execute("return document.readyState;", Vec::new()).await.expect("readyState").json() != "complete" {
        assert!(Instant::now() < deadline, "the framing page never finished loading");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    driver.find(By::Id("demo")).await.expect("#demo").enter_frame().await.expect("enter demo frame");
    let source = driver.source().await.unwrap_or_default();
    assert!(!source.contains("Palisade demo"), "the demo rendered inside another origin's frame: {source}");
    assert!(driver.find(By::Id("script-status")).await.is_err(), "the demo's page is in the frame");
    driver.enter_default_frame().await.expect("top frame");
}

async fn sri_checks(driver: &WebDriver, other: &str) {
    driver.goto(format!("{other}/sri")).await.expect("open the SRI page");
    wait_for_text(driver, "good", "good ran").await;
    // Classic scripts run in document order and bad.js comes first: once
    // good.js has run, bad.js was fetched and refused.
    assert_eq!(text_of(driver, "bad").await, "bad did not run");
}
