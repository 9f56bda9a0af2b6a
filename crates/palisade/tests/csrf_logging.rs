//! A CSRF rejection is logged with its reason, method and path, and never
//! with a token. In its own test binary: the log capture is a thread-scoped
//! subscriber, and tracing caches per-callsite interest globally, so tests
//! running in parallel threads could otherwise hide the event from it.

mod csrf_support;

#[path = "common/log_capture.rs"]
mod log_capture;

use csrf_support::{default_layer, post_req, App};
use log_capture::Captured;

#[tokio::test]
async fn a_rejection_logs_reason_method_and_path_but_never_the_token() {
    let captured = Captured::default();
    let _guard = captured.install();

    let app = App::new(default_layer());
    let c = app.client();
    let token = c.token().await;
    let other = app.client().token().await; // valid elsewhere, bad here
    let reply = c.send(post_req("/submit?x=1").header("x-csrf-token", &other), "x").await;
    assert_eq!(reply.text(), "CSRF check failed: bad token\n");
    let log = captured.text();
    assert!(log.contains("WARN"), "{log}");
    assert!(log.contains("CSRF check failed"), "{log}");
    assert!(log.contains("bad token") && log.contains("POST") && log.contains("/submit"), "{log}");
    assert!(!log.contains(&other) && !log.contains(&token), "a token was logged: {log}");
}

/// A newcomer serving plain HTTP without saying so: a same-origin post from
/// a browser without fetch metadata carries `Origin: http://…`, the layer
/// expects `https://…` (the secure default), and the 403's log must name
/// the setting that fixes it rather than only "cross-origin".
#[tokio::test]
async fn an_origin_that_differs_only_in_scheme_logs_the_plain_http_setting() {
    let captured = Captured::default();
    let _guard = captured.install();

    let app = App::new(default_layer());
    let c = app.client();
    let token = c.token().await;
    let req = post_req("/submit")
        .header("host", "192.168.1.20:3000")
        .header("origin", "http://192.168.1.20:3000")
        .header("x-csrf-token", &token);
    let reply = c.send(req, "x").await;
    assert_eq!(reply.text(), "CSRF check failed: cross-origin request\n", "the client learns nothing more");
    let log = captured.text();
    assert!(log.contains("cross-origin request"), "{log}");
    assert!(log.contains("served_over_plain_http"), "the log names the fix: {log}");
    assert!(log.contains("plain_http_development_mode"), "and the stack's switch: {log}");

    // A real cross-site origin gets no such hint.
    let captured = Captured::default();
    let _guard = captured.install();
    let req = post_req("/submit")
        .header("host", "192.168.1.20:3000")
        .header("origin", "http://evil.example")
        .header("x-csrf-token", &token);
    assert_eq!(c.send(req, "x").await.text(), "CSRF check failed: cross-origin request\n");
    assert!(!captured.text().contains("served_over_plain_http"), "{}", captured.text());
}
