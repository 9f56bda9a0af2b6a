//! The CSP builder's validation of sources and whole policies.
//!
//! Properties: never panics; a source it accepts renders into a header
//! value that is one policy (no `,`, which would start a second policy;
//! no `;` inside a directive's sources, which would start a directive) and
//! that parses back to the same policy.

use crate::input::{text, Input};
use palisade::headers::{ContentSecurityPolicy, Directive, Source};

pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let whole = input.byte() & 1 == 1;
    let written = text(input.rest());
    if whole {
        if let Ok(policy) = ContentSecurityPolicy::parse(&written) {
            check_rendered(&policy);
        }
        return;
    }
    let Ok(source) = Source::parse(&written) else { return };
    let policy = ContentSecurityPolicy::empty().with(Directive::ScriptSrc, [source]);
    if policy.validate().is_ok() {
        check_rendered(&policy);
    }
}

fn check_rendered(policy: &ContentSecurityPolicy) {
    let nonce = "bm9uY2Utbm9uY2Utbm9uY2U";
    let rendered = policy.render(Some(nonce));
    assert!(http::HeaderValue::from_str(&rendered).is_ok(), "not a header value: {rendered:?}");
    assert!(!rendered.contains(','), "a second policy: {rendered:?}");
    let plain = policy.render(None);
    let again = ContentSecurityPolicy::parse(&plain).unwrap_or_else(|e| panic!("{plain:?} does not parse: {e}"));
    assert_eq!(again.render(None), plain, "rendering is not stable");
}
