use super::xchacha::{self, NONCE_LEN, TAG_LEN as AEAD_TAG_LEN};
use crate::keys::{KeyId, KeyRing, Purpose, PurposeKeys, SubKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
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
/// Longest cookie name whose associated data is built on the stack.
const STACK_NAME_LEN: usize = 64;
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
        let mut value = String::with_capacity(self.encoded_len(payload.len()));
        self.encode_into(name, payload, now, &mut value)?;
        Ok(value)
    }

    /// Length of the value [`encode`](Self::encode) makes for a payload of
    /// `payload_len` bytes.
    pub(crate) fn encoded_len(&self, payload_len: usize) -> usize {
        let extra = match self.protection {
            Protection::Signed => TAG_LEN,
            Protection::Encrypted => NONCE_LEN + AEAD_TAG_LEN,
        };
        // Unpadded base64: 4 characters per 3 bytes, the last group shortened.
        (HEADER_LEN + payload_len + extra).saturating_mul(4).div_ceil(3)
    }

    /// [`encode`](Self::encode), appending the value to `out` (on error
    /// `out` may hold part of it).
    pub(crate) fn encode_into(
        &self,
        name: &str,
        payload: &[u8],
        now: i64,
        out: &mut String,
    ) -> Result<(), CookieError> {
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
                raw.extend_from_slice(nonce.as_slice());
                let start = raw.len();
                raw.extend_from_slice(payload);
                let tag = with_associated_data(name, &header, |aad| {
                    xchacha::seal(key.expose(), &nonce, aad, &mut raw[start..])
                })
                .map_err(|_| CookieError::TooLarge)?;
                raw.extend_from_slice(&tag);
            }
        }
        let value_len = self.encoded_len(payload.len());
        if name.len() + value_len + 1 > MAX_COOKIE_BYTES {
            tracing::error!(cookie = name, bytes = value_len, "cookie value too large; not sent");
            return Err(CookieError::TooLarge);
        }
        URL_SAFE_NO_PAD.encode_string(&raw, out);
        Ok(())
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
        let mut raw = URL_SAFE_NO_PAD.decode(value).map_err(|_| CookieError::Malformed)?;
        if raw.len() < HEADER_LEN || raw[0] != self.version() {
            return Err(CookieError::Malformed);
        }
        let mut header = [0u8; HEADER_LEN];
        header.copy_from_slice(&raw[..HEADER_LEN]);
        let key_id = KeyId([header[1], header[2], header[3], header[4]]);
        let mut issued = [0u8; 8];
        issued.copy_from_slice(&header[5..13]);
        let issued_at = i64::from_be_bytes(issued);
        let (key, is_primary) = self.keys.find(key_id).ok_or(CookieError::UnknownKey)?;
        // The payload is cut out of `raw` in place: no second buffer.
        let (start, end) = match self.protection {
            Protection::Signed => {
                let split =
                    raw.len().checked_sub(TAG_LEN).filter(|&s| s >= HEADER_LEN).ok_or(CookieError::Malformed)?;
                let (signed, tag) = raw.split_at(split);
                // `verify_slice` compares in constant time: stops a timing
                // attack that guesses the tag byte by byte.
                mac(key, name, &header, &signed[HEADER_LEN..])
                    .verify_slice(tag)
                    .map_err(|_| CookieError::BadSignature)?;
                (HEADER_LEN, split)
            }
            Protection::Encrypted => {
                if raw.len() < HEADER_LEN + NONCE_LEN + AEAD_TAG_LEN {
                    return Err(CookieError::Malformed);
                }
                let mut nonce = [0u8; NONCE_LEN];
                nonce.copy_from_slice(&raw[HEADER_LEN..HEADER_LEN + NONCE_LEN]);
                let start = HEADER_LEN + NONCE_LEN;
                let len = with_associated_data(name, &header, |aad| {
                    xchacha::open(key.expose(), &nonce, aad, &mut raw[start..])
                })
                .map_err(|_| CookieError::BadSignature)?;
                (start, start + len)
            }
        };
        raw.truncate(end);
        raw.drain(..start);
        let payload = raw;
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
fn with_associated_data<R>(name: &str, header: &[u8; HEADER_LEN], f: impl FnOnce(&[u8]) -> R) -> R {
    let prefix = u16::try_from(name.len()).unwrap_or(u16::MAX).to_be_bytes();
    if name.len() <= STACK_NAME_LEN {
        let mut buf = [0u8; 2 + STACK_NAME_LEN + HEADER_LEN];
        let len = 2 + name.len() + HEADER_LEN;
        buf[..2].copy_from_slice(&prefix);
        buf[2..2 + name.len()].copy_from_slice(name.as_bytes());
        buf[2 + name.len()..len].copy_from_slice(header);
        f(&buf[..len])
    } else {
        let mut buf = Vec::with_capacity(2 + name.len() + HEADER_LEN);
        buf.extend_from_slice(&prefix);
        buf.extend_from_slice(name.as_bytes());
        buf.extend_from_slice(header);
        f(&buf)
    }
}

fn mac(key: &SubKey, name: &str, header: &[u8; HEADER_LEN], payload: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.expose())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    with_associated_data(name, header, |aad| mac.update(aad));
    mac.update(payload);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_len_is_the_length_of_the_value() {
        let ring = KeyRing::generate();
        for codec in [
            CookieCodec::signed(&ring, Purpose::CookieSigning),
            CookieCodec::encrypted(&ring, Purpose::CookieEncryption),
        ] {
            for len in 0..200 {
                let value = codec.encode("n", &vec![7u8; len], 1_700_000_000).unwrap();
                assert_eq!(value.len(), codec.encoded_len(len), "{:?} {len}", codec.protection());
            }
        }
    }
}
