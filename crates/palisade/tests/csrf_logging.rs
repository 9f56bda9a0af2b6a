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
