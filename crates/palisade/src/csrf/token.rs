//! Synchronizer tokens: one secret per session, masked afresh on every render.
//!
//! The page never sees the secret itself. Each render draws a fresh random
//! pad from the OS CSPRNG and hands out `base64url(pad || pad XOR secret)`.
//! Every such token unmasks to the same secret, so all of a session's forms
//! stay valid, yet no two responses carry the same bytes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Length of the per-session secret: 256 bits, as much as a session id.
pub(crate) const SECRET_LEN: usize = 32;
/// Length of a decoded masked token (pad and masked secret).
#[cfg(test)]
pub(crate) const MASKED_LEN: usize = 2 * SECRET_LEN;
/// Longest token text looked at. Anything longer is refused before decoding,
/// so a huge header or field costs no allocation.
pub(crate) const MAX_TOKEN_CHARS: usize = 256;

/// A session's CSRF secret. Zeroized on drop, never printed.
#[derive(Clone)]
pub(crate) struct Secret(Zeroizing<[u8; SECRET_LEN]>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    /// A new secret from the OS CSPRNG: an attacker cannot predict it, so
    /// cannot forge a token for a victim's session.
    pub(crate) fn generate() -> Self {
        Self(crate::random::bytes::<SECRET_LEN>())
    }

    /// How the secret is kept in the session (base64url text).
    pub(crate) fn to_stored(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.as_slice())
    }

    /// Reads a stored secret; anything malformed is treated as absent.
    pub(crate) fn from_stored(text: &str) -> Option<Self> {
        let bytes = Zeroizing::new(URL_SAFE_NO_PAD.decode(text).ok()?);
        let array: [u8; SECRET_LEN] = bytes.as_slice().try_into().ok()?;
        Some(Self(Zeroizing::new(array)))
    }

    /// A secret carried elsewhere (the random part of an anonymous
    /// visitor's signed cookie).
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let array: [u8; SECRET_LEN] = bytes.try_into().ok()?;
        Some(Self(Zeroizing::new(array)))
    }

    /// The raw bytes, to sign into that cookie. Never logged.
    pub(crate) fn expose(&self) -> &[u8; SECRET_LEN] {
        &self.0
    }

    /// A fresh masked token. The random pad changes the bytes on every
    /// response, so compression side channels (BREACH) that need the same
    /// secret bytes in many responses learn nothing.
    pub(crate) fn mask(&self) -> String {
        mask_bytes(self.0.as_slice())
    }

    /// True when `token` is a masking of this secret. Malformed tokens
    /// (wrong length, not base64url) are simply false, never an error page.
    /// The comparison takes the same time wherever the first differing byte
    /// is, so response timing does not leak the secret byte by byte.
    pub(crate) fn verifies(&self, token: &str) -> bool {
        match unmask(token, SECRET_LEN) {
            Some(candidate) => bool::from(candidate.as_slice().ct_eq(self.0.as_slice())),
            None => false,
        }
    }
}

/// `base64url(pad || pad XOR value)` with a fresh pad.
pub(crate) fn mask_bytes(value: &[u8]) -> String {
    let mut out = Zeroizing::new(Vec::with_capacity(2 * value.len()));
    // Pads are drawn 32 bytes at a time from the OS CSPRNG (pooled: a pad
    // is public in the token it masks).
    while out.len() < value.len() {
        let pad = Zeroizing::new(crate::random::public_bytes::<32>());
        let take = (value.len() - out.len()).min(32);
        out.extend_from_slice(&pad[..take]);
    }
    let masked: Vec<u8> = out.iter().zip(value).map(|(p, v)| p ^ v).collect();
    out.extend_from_slice(&masked);
    URL_SAFE_NO_PAD.encode(out.as_slice())
}

/// The value hidden in a masked token of a `len`-byte value, or `None` when
/// the token is not base64url or has the wrong length.
pub(crate) fn unmask(token: &str, len: usize) -> Option<Zeroizing<Vec<u8>>> {
    let raw = decode_token(token)?;
    if raw.len() != 2 * len {
        return None;
    }
    let (pad, masked) = raw.split_at(len);
    Some(Zeroizing::new(pad.iter().zip(masked).map(|(p, m)| p ^ m).collect()))
}

/// Decodes token text (base64url, padding tolerated), refusing oversized input.
pub(crate) fn decode_token(token: &str) -> Option<Zeroizing<Vec<u8>>> {
    let token = token.trim();
    if token.is_empty() || token.len() > MAX_TOKEN_CHARS {
        return None;
    }
    URL_SAFE_NO_PAD.decode(token.trim_end_matches('=')).ok().map(Zeroizing::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_masked_token_verifies_and_none_repeats() {
        let secret = Secret::generate();
        let tokens: Vec<String> = (0..20).map(|_| secret.mask()).collect();
        for token in &tokens {
            assert!(secret.verifies(token));
            assert_eq!(URL_SAFE_NO_PAD.decode(token).unwrap().len(), MASKED_LEN);
        }
        let distinct: std::collections::BTreeSet<&String> = tokens.iter().collect();
        assert_eq!(distinct.len(), tokens.len());
    }

    #[test]
    fn another_secret_does_not_verify() {
        let token = Secret::generate().mask();
        assert!(!Secret::generate().verifies(&token));
    }

    #[test]
    fn malformed_tokens_are_false_not_panics() {
        let secret = Secret::generate();
        let good = secret.mask();
        for bad in [
            "",
            "   ",
            &good[..good.len() - 1],
            &good[..43],
            "!!!!",
            "a",
            &"A".repeat(MAX_TOKEN_CHARS + 1),
            &format!("{good}AAAA"),
            &secret.to_stored(), // the bare secret is not a token
        ] {
            assert!(!secret.verifies(bad), "{bad:?}");
        }
    }

    #[test]
    fn stored_form_round_trips() {
        let secret = Secret::generate();
        let back = Secret::from_stored(&secret.to_stored()).unwrap();
        assert_eq!(back.expose(), secret.expose());
        assert!(Secret::from_stored("short").is_none());
        assert!(Secret::from_stored("not base64 at all!").is_none());
    }

    #[test]
    fn debug_hides_the_secret() {
        let secret = Secret::generate();
        assert!(!format!("{secret:?}").contains(&secret.to_stored()));
    }
}
