//! An empty `next` (the usual empty hidden field) is no target and logs
//! nothing; a rejected one logs its length and reason, never its text. In
//! its own test binary: the capture is a thread-scoped subscriber and
//! tracing caches callsite interest globally.

use palisade::redirect::RedirectPolicy;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn an_empty_next_logs_nothing_and_a_rejected_one_logs_no_text() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let policy = RedirectPolicy::same_origin();

    assert_eq!(policy.next_or(Some(""), "/account"), "/account");
    assert!(captured.0.lock().unwrap().is_empty(), "an empty next field is not worth a warning");

    assert_eq!(policy.next_or(Some("https://evil.example/phish"), "/account"), "/account");
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("rejected redirect target") && !log.contains("evil.example"), "{log}");
}
