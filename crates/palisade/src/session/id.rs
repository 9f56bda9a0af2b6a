use crate::store::StoreKey;
use std::fmt;
use zeroize::Zeroizing;

/// Length of a session id: 256 bits from the OS CSPRNG (OWASP asks for at
/// least 64 bits of entropy; 256 makes guessing hopeless for any number of
/// live sessions and matches the hash that files it).
pub(crate) const SESSION_ID_LEN: usize = 32;

/// A session id and the key its record is filed under. The id is never
/// printed and is zeroized on drop; the key (a hash) is computed once.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SessionId {
    id: Zeroizing<[u8; SESSION_ID_LEN]>,
    key: StoreKey,
}

impl SessionId {
    pub(crate) fn generate() -> Self {
        Self::new(crate::random::bytes::<SESSION_ID_LEN>())
    }

    pub(crate) fn from_slice(bytes: &[u8]) -> Option<Self> {
        let array: [u8; SESSION_ID_LEN] = bytes.try_into().ok()?;
        Some(Self::new(Zeroizing::new(array)))
    }

    fn new(id: Zeroizing<[u8; SESSION_ID_LEN]>) -> Self {
        let key = StoreKey::from_session_id(id.as_slice());
        Self { id, key }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.id.as_slice()
    }

    pub(crate) fn store_key(&self) -> StoreKey {
        self.key
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(<redacted>)")
    }
}
