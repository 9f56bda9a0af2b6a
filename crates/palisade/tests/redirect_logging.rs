//! An empty `next` (the usual empty hidden field) is no target and logs
//! nothing; a rejected one logs its length and reason, never its text. In
//! its own test binary: the capture is a thread-scoped subscriber and
//! tracing caches callsite interest globally.

#[path = "common/log_capture.rs"]
mod log_capture;

use log_capture::Captured;
use palisade::redirect::RedirectPolicy;

#[test]
fn an_empty_next_logs_nothing_and_a_rejected_one_logs_no_text() {
    let captured = Captured::default();
    let _guard = captured.install();
    let policy = RedirectPolicy::same_origin();

    assert_eq!(policy.next_or(Some(""), "/account"), "/account");
    assert!(captured.text().is_empty(), "an empty next field is not worth a warning");

    assert_eq!(policy.next_or(Some("https://evil.example/phish"), "/account"), "/account");
    let log = captured.text();
    assert!(log.contains("rejected redirect target") && !log.contains("evil.example"), "{log}");
}
