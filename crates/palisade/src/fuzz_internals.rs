//! Entry points for the fuzz targets (`fuzz/`) into crate-private parsers:
//! the CSRF form-field reader, the double-submit cookie check, the masked
//! token decoder, the remember-me token layout and the XChaCha20-Poly1305
//! composition.
//!
//! Not API: hidden from the documentation, compiled only with the
//! `fuzz-internals` cargo feature, no stability promise. Each item calls
//! the very code the layers run on hostile input; nothing here is a copy.

use crate::csrf::{body, double_submit, token};
use crate::keys::{KeyRing, Purpose, PurposeKeys};
use bytes::Bytes;

/// The `csrf_token` field the CSRF layer reads from a form body sent with
/// `content_type` (urlencoded or multipart); `None` for other types.
pub async fn csrf_token_field(content_type: &str, body: &[u8]) -> Option<String> {
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_str(content_type).ok()?);
    let kind = body::form_kind(&headers)?;
    body::token_field(&kind, &Bytes::copy_from_slice(body)).await
}

/// The masked-token decoder: `Some(len)` of the secret inside when the
/// token has the shape of a masking of a 32-byte secret.
pub fn csrf_unmask(token: &str) -> Option<usize> {
    token::unmask(token, token::SECRET_LEN).map(|secret| secret.len())
}

/// A signed double-submit cookie's checks, under one key ring and binding.
#[derive(Debug)]
pub struct DoubleSubmit {
    keys: PurposeKeys,
    binding: Option<[u8; 32]>,
}

impl DoubleSubmit {
    /// The CSRF sub-keys of `ring`, for a visitor whose session binding is `binding`.
    pub fn new(ring: &KeyRing, binding: Option<[u8; 32]>) -> Self {
        Self { keys: ring.derive(Purpose::Csrf), binding }
    }

    /// A genuine cookie value, as the layer mints it.
    pub fn mint(&self) -> String {
        double_submit::mint(&self.keys, &self.binding)
    }

    /// The layer's check that a cookie value was minted here for this binding.
    pub fn is_genuine(&self, value: &str) -> bool {
        double_submit::is_genuine(&self.keys, &self.binding, value)
    }

    /// The random part of a cookie value of the right shape.
    pub fn random_part_len(value: &str) -> Option<usize> {
        double_submit::random_part(value).map(|part| part.len())
    }

    /// The layer's check that a submitted token echoes the cookie.
    pub fn echoes(cookie: &str, submitted: &str) -> bool {
        double_submit::echoes(cookie, submitted)
    }
}

/// Whether a decrypted remember-me payload has the token layout.
pub fn remember_payload_is_token(payload: &[u8]) -> bool {
    crate::remember::payload_is_token(payload)
}

/// XChaCha20-Poly1305 seal: ciphertext ‖ tag, as the cookie codec writes it.
pub fn xchacha_seal(key: &[u8; 32], nonce: &[u8; 24], aad: &[u8], plaintext: &[u8]) -> Option<Vec<u8>> {
    let mut out = plaintext.to_vec();
    let tag = crate::cookie::xchacha::seal(key, nonce, aad, &mut out).ok()?;
    out.extend_from_slice(&tag);
    Some(out)
}

/// XChaCha20-Poly1305 open of ciphertext ‖ tag; `None` when forged.
pub fn xchacha_open(key: &[u8; 32], nonce: &[u8; 24], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    let mut buf = sealed.to_vec();
    let len = crate::cookie::xchacha::open(key, nonce, aad, &mut buf).ok()?;
    buf.truncate(len);
    Some(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_entry_points_run_the_real_checks() {
        let field = csrf_token_field("application/x-www-form-urlencoded", b"a=1&csrf_token=t%2B").await;
        assert_eq!(field.as_deref(), Some("t+"));
        assert_eq!(csrf_token_field("text/plain", b"csrf_token=t").await, None);
        let ring = KeyRing::generate();
        let check = DoubleSubmit::new(&ring, Some([7; 32]));
        let cookie = check.mint();
        assert!(check.is_genuine(&cookie));
        assert!(!DoubleSubmit::new(&ring, None).is_genuine(&cookie), "bound to the session");
        assert!(DoubleSubmit::echoes(&cookie, &cookie));
        assert_eq!(DoubleSubmit::random_part_len(&cookie), Some(32));
        assert!(remember_payload_is_token(&[0; 64]) != remember_payload_is_token(&[0; 63]));
        let sealed = xchacha_seal(&[1; 32], &[2; 24], b"aad", b"hello").unwrap();
        assert_eq!(xchacha_open(&[1; 32], &[2; 24], b"aad", &sealed).as_deref(), Some(&b"hello"[..]));
        assert_eq!(xchacha_open(&[1; 32], &[2; 24], b"other", &sealed), None);
    }
}
