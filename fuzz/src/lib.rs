//! The bodies of Palisade's fuzz targets: one module per parser that reads
//! hostile input. Each body takes the fuzzer's bytes, drives the library's
//! real code with them, and panics only when a property fails (a crash is a
//! bug: the library itself must never panic on input).
//!
//! `libfuzzer/` runs them under libFuzzer (`scripts/fuzz`); `tests/corpus.rs`
//! replays `corpus/<target>/` (the seeds, and every crash found, kept as
//! regressions) on every `cargo test`.

#![forbid(unsafe_code)]

mod input;
pub mod targets;

/// A target's body: the fuzzer's bytes in, a panic only on a failed property.
pub type Target = fn(&[u8]);

/// Every target: its name (the directory of its corpus, the libFuzzer
/// binary) and its body.
pub const TARGETS: &[(&str, Target)] = &[
    ("cookie_codec", targets::cookie_codec::run),
    ("cookie_header", targets::cookie_header::run),
    ("csrf_form", targets::csrf_form::run),
    ("csrf_double_submit", targets::csrf_double_submit::run),
    ("redirect_policy", targets::redirect_policy::run),
    ("forwarded", targets::forwarded::run),
    ("csp_source", targets::csp_source::run),
    ("user_agent", targets::user_agent::run),
    ("xchacha", targets::xchacha::run),
    ("flask_cookie", targets::flask_cookie::run),
];
