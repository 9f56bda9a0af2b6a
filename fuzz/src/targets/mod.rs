//! One module per fuzz target.

pub mod cookie_codec;
pub mod cookie_header;
pub mod csp_source;
pub mod csrf_double_submit;
pub mod csrf_form;
pub mod flask_cookie;
pub mod forwarded;
pub mod redirect_policy;
pub mod user_agent;
pub mod xchacha;

use palisade::keys::KeyRing;

/// The key ring every target uses: fixed, so that the checked-in corpus
/// holds genuine values (the fuzzer mutates from valid cookies, not only
/// from noise).
/// Made once: every execution derives its sub-keys from the same ring.
pub fn key_ring() -> &'static KeyRing {
    static RING: std::sync::OnceLock<KeyRing> = std::sync::OnceLock::new();
    RING.get_or_init(|| {
        // Varied bytes: the key ring refuses secrets that do not look random.
        let secret = (0u8..32).map(|i| i.wrapping_mul(73).wrapping_add(19)).collect();
        KeyRing::from_bytes(secret).expect("a 32-byte secret is a valid key")
    })
}

/// The time every cookie of the corpus was made at, and is read at.
pub const NOW: i64 = 1_800_000_000;
