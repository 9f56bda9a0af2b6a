use std::time::Duration;

/// Why a store call failed. The session layer answers `503` for all of them
/// (fail closed: never serve the request as if the user were anonymous).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend could not be reached or refused the call.
    #[error("session store unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The call did not finish within the configured timeout.
    #[error("session store call timed out after {0:?}")]
    Timeout(Duration),
    /// A stored record could not be decoded.
    #[error("session record is corrupt: {0}")]
    Corrupt(String),
    /// The store is full and could not make room.
    #[error("session store is full ({0} sessions)")]
    Full(usize),
}

impl StoreError {
    /// Wraps any backend error as [`StoreError::Unavailable`].
    pub fn unavailable(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Unavailable(Box::new(err))
    }
}
