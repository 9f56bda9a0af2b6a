//! Every cookie value Palisade decodes: the session id cookie (signed),
//! cookie sessions (encrypted), remember-me cookies (encrypted, then the
//! token layout), application cookies (signed and encrypted).
//!
//! Properties: decoding never panics; what decodes was made with our key
//! (the fuzzer cannot forge: any value it builds from noise is refused, so a
//! success is only possible from a corpus value, whose payload is then
//! re-encoded and must decode to itself); a value encoded from the input
//! decodes back, and with any one character changed it does not.

use super::{key_ring, NOW};
use crate::input::{text, Input};
use palisade::cookie::CookieCodec;
use palisade::fuzz_internals::remember_payload_is_token;
use palisade::keys::Purpose;

/// The cookies as the layers name them.
const COOKIES: &[(&str, Purpose, bool)] = &[
    ("__Host-session", Purpose::SessionSigning, false),
    ("__Host-session", Purpose::SessionEncryption, true),
    ("__Host-remember", Purpose::RememberMe, true),
    ("app", Purpose::CookieSigning, false),
    ("app", Purpose::CookieEncryption, true),
];

pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let (name, purpose, encrypted) = COOKIES[usize::from(input.byte()) % COOKIES.len()];
    let flip_at = usize::from(input.byte());
    let value = text(input.rest());
    let ring = key_ring();
    let codec = if encrypted { CookieCodec::encrypted(ring, purpose) } else { CookieCodec::signed(ring, purpose) };

    if let Ok(decoded) = codec.decode(name, &value, NOW) {
        if purpose == Purpose::RememberMe {
            let _ = remember_payload_is_token(&decoded.payload);
        }
        let again = codec.encode(name, &decoded.payload, NOW).expect("a decoded payload fits again");
        assert_eq!(codec.decode(name, &again, NOW).expect("re-encoded").payload, decoded.payload);
        // Bound to its name: the same value is refused under another cookie name.
        assert!(codec.decode("other", &value, NOW).is_err(), "a cookie moved to another name was accepted");
    }

    // Round trip of the input as a payload, and one changed character.
    let payload = value.as_bytes();
    let Ok(encoded) = codec.encode(name, payload, NOW) else { return };
    assert_eq!(codec.decode(name, &encoded, NOW).expect("own value").payload, payload);
    let mut bytes = encoded.into_bytes();
    let at = flip_at % bytes.len();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).expect("base64url is ASCII");
    if let Ok(decoded) = codec.decode(name, &tampered, NOW) {
        // Only a change in the unused low bits of the last base64 character
        // decodes to the same bytes; anything else is a forgery accepted.
        assert_eq!(decoded.payload, payload, "a tampered cookie decoded to other data");
        assert_eq!(at, tampered.len() - 1, "a tampered cookie was accepted");
    }
}
