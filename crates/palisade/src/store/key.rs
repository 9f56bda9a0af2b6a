use sha2::{Digest, Sha256};
use std::fmt;

/// The key a store files a session under: SHA-256 of the session id.
///
/// Stops session theft from a leaked store: the hash cannot be turned back
/// into the id, and only the id (signed) is accepted in a cookie.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreKey([u8; 32]);

impl StoreKey {
    /// Hashes a raw session id.
    pub fn from_session_id(id: &[u8]) -> Self {
        Self(Sha256::digest(id).into())
    }

    /// Rebuilds a key from its 32 stored bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes to store.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, for stores that key by string (Redis).
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
            s.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
        }
        s
    }
}

impl fmt::Debug for StoreKey {
    /// Shows a short prefix only: enough to correlate log lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreKey({}…)", &self.to_hex()[..8])
    }
}
