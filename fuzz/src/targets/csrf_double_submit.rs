//! The signed double-submit cookie (`__Host-csrf`) and the token echoed
//! in a header or form.
//!
//! Properties: never panics; no value built from the input is genuine
//! unless it is one we minted (an unkeyed fuzzer cannot forge a MAC); a
//! genuine cookie is bound to its session (refused for another binding);
//! the echo check is symmetric in the obvious case (a cookie echoes itself).

use super::key_ring;
use crate::input::{text, Input};
use palisade::fuzz_internals::DoubleSubmit;

pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let binding = input.array::<32>();
    let cookie = text(input.short());
    let submitted = text(input.rest());
    let ring = key_ring();
    let bound = DoubleSubmit::new(ring, Some(binding));
    let anonymous = DoubleSubmit::new(ring, None);

    // The corpus may hold genuine values; noise never is.
    let genuine = bound.is_genuine(&cookie);
    let _ = anonymous.is_genuine(&cookie);
    let _ = DoubleSubmit::random_part_len(&cookie);
    let _ = DoubleSubmit::echoes(&cookie, &submitted);
    if genuine {
        assert!(!DoubleSubmit::new(ring, Some(flip(binding))).is_genuine(&cookie), "accepted for another session");
    }

    let minted = bound.mint();
    assert!(bound.is_genuine(&minted));
    assert!(!anonymous.is_genuine(&minted), "a session-bound cookie accepted without the session");
    assert!(DoubleSubmit::echoes(&minted, &minted));
    // Anything appended to a genuine value breaks it, but for the padding
    // and whitespace the token reader tolerates.
    let joined = format!("{minted}{submitted}");
    if bound.is_genuine(&joined) {
        assert_eq!(joined.trim().trim_end_matches('='), minted, "an extended cookie was accepted");
    }
}

fn flip(mut binding: [u8; 32]) -> [u8; 32] {
    binding[0] ^= 1;
    binding
}
