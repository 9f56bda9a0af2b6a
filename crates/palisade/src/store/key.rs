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

/// A string that is not the 64 hex digits of a store key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a store key is 64 hex digits")]
pub struct ParseStoreKeyError;

impl std::str::FromStr for StoreKey {
    type Err = ParseStoreKeyError;

    /// Reads the 64 lower- or upper-case hex digits of [`to_hex`](Self::to_hex)
    /// (a key a "your devices" form sent back).
    fn from_str(hex: &str) -> Result<Self, Self::Err> {
        let bytes = hex.as_bytes();
        if bytes.len() != 64 {
            return Err(ParseStoreKeyError);
        }
        let mut key = [0u8; 32];
        for (slot, pair) in key.iter_mut().zip(bytes.chunks_exact(2)) {
            let digit = |b: u8| char::from(b).to_digit(16).ok_or(ParseStoreKeyError);
            *slot = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).map_err(|_| ParseStoreKeyError)?;
        }
        Ok(Self(key))
    }
}

impl fmt::Debug for StoreKey {
    /// Shows a short prefix only: enough to correlate log lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreKey({}…)", &self.to_hex()[..8])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_hex_in_either_case() {
        let key = StoreKey::from_session_id(b"x");
        assert_eq!(key.to_hex().parse(), Ok(key));
        assert_eq!(key.to_hex().to_uppercase().parse(), Ok(key));
        for bad in ["00", &"zz".repeat(32), &"é".repeat(32), &format!("{}0", key.to_hex())] {
            assert_eq!(bad.parse::<StoreKey>(), Err(ParseStoreKeyError), "{bad}");
        }
    }
}
