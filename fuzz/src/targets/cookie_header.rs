//! The `Cookie` header scan every layer runs to find its cookie.
//!
//! Properties: at most `MAX_COOKIE_CANDIDATES` values per name however
//! many cookies are sent (bounded work); a value never contains `;` (one
//! cookie cannot smuggle another's pair).

use crate::input::Input;
use http::{HeaderMap, HeaderValue};
use palisade::cookie::{CookieAttributes, MAX_COOKIE_CANDIDATES};

pub fn run(data: &[u8]) {
    let input = Input::new(data);
    let mut headers = HeaderMap::new();
    // Several Cookie headers (HTTP/2 sends one per cookie), split at NUL.
    for piece in input.rest().split(|&b| b == 0) {
        if let Ok(value) = HeaderValue::from_bytes(piece) {
            headers.append(http::header::COOKIE, value);
        }
    }
    for name in ["__Host-session", "__Host-csrf", "__Host-remember", "csrf", ""] {
        let attributes = CookieAttributes::new(name);
        let found: Vec<&str> = attributes.find_in(&headers).collect();
        assert!(found.len() <= MAX_COOKIE_CANDIDATES, "{} candidates", found.len());
        for value in found {
            assert!(!value.contains(';'), "a value holds another cookie: {value:?}");
        }
    }
}
