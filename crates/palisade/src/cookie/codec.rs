use crate::keys::{KeyId, KeyRing, Purpose, PurposeKeys, SubKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

/// Browsers keep at most 4096 bytes per cookie (name, value and attributes).
pub const MAX_COOKIE_BYTES: usize = 4096;

const VERSION_SIGNED: u8 = 1;
const VERSION_ENCRYPTED: u8 = 2;
/// version (1) + key id (4) + issued-at (8).
const HEADER_LEN: usize = 13;
const TAG_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const AEAD_TAG_LEN: usize = 16;
/// Clock skew tolerated between app instances for a value's issue time.
const MAX_FUTURE_SKEW_SECS: i64 = 60;

/// How a cookie value is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protection {
    /// HMAC-SHA256: integrity only; the payload is readable by the client.
    Signed,
    /// XChaCha20-Poly1305: confidentiality and integrity.
    ///
    /// Chosen over AES-GCM because its 192-bit nonce can be drawn at random
    /// for practically unlimited messages under one key; AES-GCM's 96-bit
    /// random nonces must stay under ~2^32 messages per key before a nonce
    /// repeats with dangerous probability, and one repeat reveals the
    /// authentication key. It is also constant-time in software, without
    /// AES-NI.
    Encrypted,
}

/// Why a cookie value was refused. Never contains the value or a key.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone, Copy)]
#[non_exhaustive]
pub enum CookieError {
    #[error("cookie value is malformed")]
    Malformed,
    #[error("cookie value has a bad signature (tampered, or made for another cookie name)")]
    BadSignature,
    #[error("cookie value has expired")]
    Expired,
    #[error("cookie value was issued in the future")]
    IssuedInFuture,
    #[error("cookie value was made with a key that is not in the key ring")]
    UnknownKey,
    #[error("cookie is larger than {MAX_COOKIE_BYTES} bytes")]
    TooLarge,
}

/// A verified (and, if encrypted, decrypted) cookie value.
#[derive(Clone, PartialEq, Eq)]
pub struct Decoded {
    pub payload: Vec<u8>,
    /// When the value was made (unix seconds).
    pub issued_at: i64,
    /// True when a fallback key verified it: re-issue it under the primary.
    pub needs_reissue: bool,
}

impl std::fmt::Debug for Decoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoded")
            .field("payload_len", &self.payload.len())
            .field("issued_at", &self.issued_at)
            .field("needs_reissue", &self.needs_reissue)
            .finish()
    }
}

/// Encodes and decodes protected cookie values. Cheap to clone.
#[derive(Clone, Debug)]
pub struct CookieCodec {
    protection: Protection,
    keys: PurposeKeys,
    max_age: Duration,
}

impl CookieCodec {
    /// Signed values, with the sub-keys of `purpose`.
    pub fn signed(ring: &KeyRing, purpose: Purpose) -> Self {
        Self::new(Protection::Signed, ring.derive(purpose))
    }

    /// Encrypted values, with the sub-keys of `purpose`.
    pub fn encrypted(ring: &KeyRing, purpose: Purpose) -> Self {
        Self::new(Protection::Encrypted, ring.derive(purpose))
    }

    fn new(protection: Protection, keys: PurposeKeys) -> Self {
        Self { protection, keys, max_age: Duration::from_secs(14 * 24 * 3600) }
    }

    /// Values older than this are refused (default 14 days).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    pub fn protection(&self) -> Protection {
        self.protection
    }

    /// Protects `payload` for the cookie called `name`, issued at `now`.
    pub fn encode(&self, name: &str, payload: &[u8], now: i64) -> Result<String, CookieError> {
        let key = self.keys.primary();
        let header = header(self.version(), key.id(), now);
        let mut raw = Vec::with_capacity(HEADER_LEN + NONCE_LEN + payload.len() + TAG_LEN);
        raw.extend_from_slice(&header);
        match self.protection {
            Protection::Signed => {
                raw.extend_from_slice(payload);
                let tag = mac(key, name, &header, payload).finalize().into_bytes();
                raw.extend_from_slice(&tag);
            }
            Protection::Encrypted => {
                let nonce = crate::random::bytes::<NONCE_LEN>();
                let aad = associated_data(name, &header);
                let sealed = cipher(key)
                    .encrypt(XNonce::from_slice(nonce.as_slice()), Payload { msg: payload, aad: &aad })
                    .map_err(|_| CookieError::TooLarge)?;
                raw.extend_from_slice(nonce.as_slice());
                raw.extend_from_slice(&sealed);
            }
        }
        let value = URL_SAFE_NO_PAD.encode(&raw);
        if name.len() + value.len() + 1 > MAX_COOKIE_BYTES {
            tracing::error!(cookie = name, bytes = value.len(), "cookie value too large; not sent");
            return Err(CookieError::TooLarge);
        }
        Ok(value)
    }

    /// Verifies (and decrypts) a value found in the cookie called `name`.
    ///
    /// Checks run cheapest-first and the issue time is trusted only after
    /// the MAC has verified it.
    pub fn decode(&self, name: &str, value: &str, now: i64) -> Result<Decoded, CookieError> {
        // Bounds the work an attacker can make us do per request.
        if value.len() > MAX_COOKIE_BYTES {
            return Err(CookieError::TooLarge);
        }
        let raw = URL_SAFE_NO_PAD.decode(value).map_err(|_| CookieError::Malformed)?;
        if raw.len() < HEADER_LEN || raw[0] != self.version() {
            return Err(CookieError::Malformed);
        }
        let (header, rest) = raw.split_at(HEADER_LEN);
        let key_id = KeyId([header[1], header[2], header[3], header[4]]);
        let mut issued = [0u8; 8];
        issued.copy_from_slice(&header[5..13]);
        let issued_at = i64::from_be_bytes(issued);
        let (key, is_primary) = self.keys.find(key_id).ok_or(CookieError::UnknownKey)?;
        let payload = match self.protection {
            Protection::Signed => {
                let split = rest.len().checked_sub(TAG_LEN).ok_or(CookieError::Malformed)?;
                let (payload, tag) = rest.split_at(split);
                // `verify_slice` compares in constant time: stops a timing
                // attack that guesses the tag byte by byte.
                mac(key, name, header, payload).verify_slice(tag).map_err(|_| CookieError::BadSignature)?;
                payload.to_vec()
            }
            Protection::Encrypted => {
                if rest.len() < NONCE_LEN + AEAD_TAG_LEN {
                    return Err(CookieError::Malformed);
                }
                let (nonce, sealed) = rest.split_at(NONCE_LEN);
                let aad = associated_data(name, header);
                cipher(key)
                    .decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad: &aad })
                    .map_err(|_| CookieError::BadSignature)?
            }
        };
        if issued_at > now.saturating_add(MAX_FUTURE_SKEW_SECS) {
            return Err(CookieError::IssuedInFuture);
        }
        let max_age = i64::try_from(self.max_age.as_secs()).unwrap_or(i64::MAX);
        if now.saturating_sub(issued_at) > max_age {
            return Err(CookieError::Expired);
        }
        Ok(Decoded { payload, issued_at, needs_reissue: !is_primary })
    }

    fn version(&self) -> u8 {
        match self.protection {
            Protection::Signed => VERSION_SIGNED,
            Protection::Encrypted => VERSION_ENCRYPTED,
        }
    }
}

fn header(version: u8, key_id: KeyId, issued_at: i64) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0] = version;
    h[1..5].copy_from_slice(key_id.as_bytes());
    h[5..13].copy_from_slice(&issued_at.to_be_bytes());
    h
}

/// Name-and-header binding: a length-prefixed name, so `a`+`bc` and `ab`+`c`
/// can never produce the same input.
fn associated_data(name: &str, header: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(2 + name.len() + header.len());
    aad.extend_from_slice(&u16::try_from(name.len()).unwrap_or(u16::MAX).to_be_bytes());
    aad.extend_from_slice(name.as_bytes());
    aad.extend_from_slice(header);
    aad
}

fn mac(key: &SubKey, name: &str, header: &[u8], payload: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.expose())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(&associated_data(name, header));
    mac.update(payload);
    mac
}

fn cipher(key: &SubKey) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(key.expose().into())
}
