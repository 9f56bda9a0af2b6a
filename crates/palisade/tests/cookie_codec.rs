//! The cookie codec refuses every forged, moved, replayed or stale value.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use palisade::cookie::{CookieCodec, CookieError, MAX_COOKIE_BYTES};
use palisade::keys::{KeyRing, Purpose};
use proptest::prelude::*;
use std::time::Duration;

const NOW: i64 = 1_700_000_000;
const NAME: &str = "__Host-session";

fn codecs(ring: &KeyRing) -> [CookieCodec; 2] {
    [CookieCodec::signed(ring, Purpose::CookieSigning), CookieCodec::encrypted(ring, Purpose::CookieEncryption)]
}

#[test]
fn round_trips_in_both_modes() {
    let ring = KeyRing::generate();
    for codec in codecs(&ring) {
        let value = codec.encode(NAME, b"hello", NOW).unwrap();
        let decoded = codec.decode(NAME, &value, NOW + 1).unwrap();
        assert_eq!(decoded.payload, b"hello");
        assert_eq!(decoded.issued_at, NOW);
        assert!(!decoded.needs_reissue);
    }
}

#[test]
fn encrypted_values_hide_the_payload_and_differ_each_time() {
    let codec = CookieCodec::encrypted(&KeyRing::generate(), Purpose::CookieEncryption);
    let a = codec.encode(NAME, b"secret-user-42", NOW).unwrap();
    let b = codec.encode(NAME, b"secret-user-42", NOW).unwrap();
    assert_ne!(a, b, "a fresh random nonce per value");
    let raw = URL_SAFE_NO_PAD.decode(&a).unwrap();
    assert!(!raw.windows(14).any(|w| w == b"secret-user-42"));
}

#[test]
fn flipping_any_single_byte_invalidates_the_value() {
    let ring = KeyRing::generate();
    for codec in codecs(&ring) {
        let value = codec.encode(NAME, b"{\"user\":1}", NOW).unwrap();
        let raw = URL_SAFE_NO_PAD.decode(&value).unwrap();
        for i in 0..raw.len() {
            for bit in [0x01u8, 0x80] {
                let mut tampered = raw.clone();
                tampered[i] ^= bit;
                let tampered = URL_SAFE_NO_PAD.encode(&tampered);
                assert!(
                    codec.decode(NAME, &tampered, NOW).is_err(),
                    "{:?}: flipping byte {i} (bit {bit:#x}) was accepted",
                    codec.protection()
                );
            }
        }
    }
}

#[test]
fn a_value_moved_to_another_cookie_name_is_refused() {
    let ring = KeyRing::generate();
    for codec in codecs(&ring) {
        let value = codec.encode("__Host-session", b"x", NOW).unwrap();
        assert_eq!(codec.decode("__Host-remember", &value, NOW), Err(CookieError::BadSignature));
    }
}

#[test]
fn an_expired_value_is_refused_even_if_the_browser_sent_it() {
    let ring = KeyRing::generate();
    for codec in codecs(&ring) {
        let codec = codec.max_age(Duration::from_secs(60));
        let value = codec.encode(NAME, b"x", NOW).unwrap();
        assert!(codec.decode(NAME, &value, NOW + 60).is_ok());
        assert_eq!(codec.decode(NAME, &value, NOW + 61), Err(CookieError::Expired));
    }
}

#[test]
fn a_value_from_the_future_is_refused() {
    let codec = CookieCodec::signed(&KeyRing::generate(), Purpose::CookieSigning);
    let value = codec.encode(NAME, b"x", NOW + 3600).unwrap();
    assert_eq!(codec.decode(NAME, &value, NOW), Err(CookieError::IssuedInFuture));
}

#[test]
fn a_fallback_key_verifies_and_asks_for_reissue_under_the_primary() {
    let old_secret = KeyRing::generate_secret_base64();
    let new_secret = KeyRing::generate_secret_base64();
    let old_ring = KeyRing::from_base64(&old_secret).unwrap();
    let rotated = KeyRing::from_base64(&new_secret).unwrap().with_fallback_base64(&old_secret).unwrap();
    for (old, new) in codecs(&old_ring).into_iter().zip(codecs(&rotated)) {
        let value = old.encode(NAME, b"x", NOW).unwrap();
        let decoded = new.decode(NAME, &value, NOW).unwrap();
        assert!(decoded.needs_reissue);
        let reissued = new.encode(NAME, &decoded.payload, NOW).unwrap();
        let again = new.decode(NAME, &reissued, NOW).unwrap();
        assert!(!again.needs_reissue, "the re-issued value carries the primary key id");
        // The old ring no longer knows the primary's key id.
        assert_eq!(old.decode(NAME, &reissued, NOW), Err(CookieError::UnknownKey));
    }
}

#[test]
fn a_removed_key_invalidates_its_values() {
    let old = KeyRing::generate();
    let new = KeyRing::generate();
    for (old, new) in codecs(&old).into_iter().zip(codecs(&new)) {
        let value = old.encode(NAME, b"x", NOW).unwrap();
        assert_eq!(new.decode(NAME, &value, NOW), Err(CookieError::UnknownKey));
    }
}

#[test]
fn signed_and_encrypted_values_are_not_interchangeable() {
    let ring = KeyRing::generate();
    let [signed, encrypted] = codecs(&ring);
    let s = signed.encode(NAME, b"x", NOW).unwrap();
    let e = encrypted.encode(NAME, b"x", NOW).unwrap();
    assert_eq!(encrypted.decode(NAME, &s, NOW), Err(CookieError::Malformed));
    assert_eq!(signed.decode(NAME, &e, NOW), Err(CookieError::Malformed));
}

#[test]
fn purposes_do_not_verify_each_other() {
    let ring = KeyRing::generate();
    let a = CookieCodec::signed(&ring, Purpose::CookieSigning);
    let b = CookieCodec::signed(&ring, Purpose::SessionSigning);
    let value = a.encode(NAME, b"x", NOW).unwrap();
    assert_eq!(b.decode(NAME, &value, NOW), Err(CookieError::BadSignature));
}

#[test]
fn oversized_values_are_refused_at_encode_and_decode() {
    let codec = CookieCodec::encrypted(&KeyRing::generate(), Purpose::CookieEncryption);
    assert_eq!(codec.encode(NAME, &vec![b'a'; MAX_COOKIE_BYTES], NOW), Err(CookieError::TooLarge));
    let huge = "A".repeat(MAX_COOKIE_BYTES + 1);
    assert_eq!(codec.decode(NAME, &huge, NOW), Err(CookieError::TooLarge));
}

#[test]
fn garbage_is_malformed_not_a_panic() {
    let ring = KeyRing::generate();
    for codec in codecs(&ring) {
        for junk in ["", "!!!", "AA", "AQ", "not-base64-$$$", "AQAAAAAAAAAAAAAAAAAAAAAA"] {
            assert!(codec.decode(NAME, junk, NOW).is_err(), "{junk:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes_never_panic_and_never_verify(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let ring = KeyRing::from_bytes((1..=32u8).map(|b| b.wrapping_mul(37)).collect()).unwrap();
        for codec in codecs(&ring) {
            let as_base64 = URL_SAFE_NO_PAD.encode(&bytes);
            prop_assert!(codec.decode(NAME, &as_base64, NOW).is_err());
            let as_text = String::from_utf8_lossy(&bytes);
            prop_assert!(codec.decode(NAME, &as_text, NOW).is_err());
        }
    }

    #[test]
    fn truncations_never_verify(cut in 0usize..200) {
        let ring = KeyRing::generate();
        for codec in codecs(&ring) {
            let value = codec.encode(NAME, b"payload", NOW).unwrap();
            let cut = cut.min(value.len().saturating_sub(1));
            prop_assert!(codec.decode(NAME, &value[..cut], NOW).is_err());
        }
    }
}

/// Two apps given the same secret (one `PALISADE_SECRET_KEY` copied into
/// both deployments) must not accept each other's cookies: a session from
/// the staff wiki would otherwise sign its holder in to billing.
#[test]
fn apps_sharing_a_secret_with_different_contexts_refuse_each_others_cookies() {
    let secret = KeyRing::generate_secret_base64();
    let billing = KeyRing::from_base64(&secret).unwrap().with_app_context("billing").unwrap();
    let wiki = KeyRing::from_base64(&secret).unwrap().with_app_context("wiki").unwrap();
    let billing_again = KeyRing::from_base64(&secret).unwrap().with_app_context("billing").unwrap();
    let plain = KeyRing::from_base64(&secret).unwrap();
    for purpose in [Purpose::SessionSigning, Purpose::SessionEncryption, Purpose::CookieSigning] {
        let encrypted = purpose == Purpose::SessionEncryption;
        let codec = |ring: &KeyRing| {
            if encrypted {
                CookieCodec::encrypted(ring, purpose)
            } else {
                CookieCodec::signed(ring, purpose)
            }
        };
        let value = codec(&billing).encode(NAME, b"user=1", NOW).unwrap();
        assert!(codec(&billing_again).decode(NAME, &value, NOW).is_ok(), "{purpose:?}: same app, another instance");
        assert!(codec(&wiki).decode(NAME, &value, NOW).is_err(), "{purpose:?}: another app");
        assert!(codec(&plain).decode(NAME, &value, NOW).is_err(), "{purpose:?}: an app without a context");
        let from_plain = codec(&plain).encode(NAME, b"user=1", NOW).unwrap();
        assert!(codec(&billing).decode(NAME, &from_plain, NOW).is_err(), "{purpose:?}");
    }
    // A fallback secret gets the same context: rotation keeps working.
    let old = KeyRing::generate_secret_base64();
    let before = KeyRing::from_base64(&old).unwrap().with_app_context("billing").unwrap();
    let after =
        KeyRing::from_base64(&secret).unwrap().with_fallback_base64(&old).unwrap().with_app_context("billing").unwrap();
    let value = CookieCodec::signed(&before, Purpose::CookieSigning).encode(NAME, b"x", NOW).unwrap();
    let decoded = CookieCodec::signed(&after, Purpose::CookieSigning).decode(NAME, &value, NOW).unwrap();
    assert!(decoded.needs_reissue);
}

#[test]
fn an_app_context_must_be_a_short_name() {
    let ring = || KeyRing::generate();
    assert!(ring().with_app_context("").is_err());
    assert!(ring().with_app_context("a\0b").is_err());
    assert!(ring().with_app_context(&"x".repeat(256)).is_err());
    assert!(ring().with_app_context("billing-eu.example/v2").is_ok());
    let err = ring().with_app_context("").unwrap_err().to_string();
    assert!(err.contains("app context"), "{err}");
}
