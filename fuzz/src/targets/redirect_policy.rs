//! `RedirectPolicy`, differentially against the WHATWG URL parser (the
//! `url` crate, what browsers do with a `Location` header).
//!
//! Property: every target `same_origin()` accepts, resolved against
//! `https://site.example/a/b`, stays on `https://site.example`; with
//! `allow_host("cdn.example")` it may also go to `cdn.example`, and with
//! `require_https` never to plain HTTP. A target is text from a query
//! string or form field: any string.

use crate::input::{text, Input};
use palisade::redirect::RedirectPolicy;
use url::Url;

const BASE: &str = "https://site.example/a/b";

pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let options = input.byte();
    let target = text(input.rest());
    let base = Url::parse(BASE).expect("the base parses");

    let mut policy = RedirectPolicy::same_origin();
    let mut hosts = vec!["site.example"];
    if options & 1 != 0 {
        policy = policy.allow_host("cdn.example");
        hosts.push("cdn.example");
    }
    if options & 2 != 0 {
        policy = policy.allow_path_relative(true);
    }
    let https_only = options & 4 != 0;
    if https_only {
        policy = policy.require_https(true);
    }
    assert_eq!(policy.next_or(Some(&target), "/fallback") == target, policy.is_allowed(&target));
    if !policy.is_allowed(&target) {
        return;
    }
    // A target the browser cannot resolve goes nowhere: not an escape.
    let Ok(resolved) = base.join(&target) else { return };
    let host = resolved.host_str().unwrap_or("");
    assert!(hosts.contains(&host), "{target:?} was allowed and leads to {resolved}");
    assert!(matches!(resolved.scheme(), "https" | "http"), "{target:?} leads to scheme {}", resolved.scheme());
    if https_only || host == "site.example" && !target.contains(':') {
        assert_eq!(resolved.scheme(), "https", "{target:?} downgrades to {resolved}");
    }
    assert!(resolved.port().is_none(), "{target:?} changes the port: {resolved}");
    assert!(resolved.username().is_empty() && resolved.password().is_none(), "{target:?} carries credentials");
}
