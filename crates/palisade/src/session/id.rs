use crate::store::StoreKey;
use std::fmt;
use zeroize::Zeroizing;

/// Length of a session id: 256 bits from the OS CSPRNG (OWASP asks for at
/// least 64 bits of entropy; 256 makes guessing hopeless for any number of
/// live sessions and matches the hash that files it).
pub(crate) const SESSION_ID_LEN: usize = 32;

/// A session id. Never printed, zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SessionId(Zeroizing<[u8; SESSION_ID_LEN]>);

impl SessionId {
    pub(crate) fn generate() -> Self {
        Self(crate::random::bytes::<SESSION_ID_LEN>())
    }

    pub(crate) fn from_slice(bytes: &[u8]) -> Option<Self> {
        let array: [u8; SESSION_ID_LEN] = bytes.try_into().ok()?;
        Some(Self(Zeroizing::new(array)))
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_slice()
    }

    pub(crate) fn store_key(&self) -> StoreKey {
        StoreKey::from_session_id(self.as_bytes())
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(<redacted>)")
    }
}
