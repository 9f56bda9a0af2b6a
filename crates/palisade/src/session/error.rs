use crate::cookie::CookieError;
use crate::store::StoreError;

/// Why a session operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The store failed or timed out. Answered with `503`: the request is not
    /// served as if the user were anonymous (fail closed).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A value could not be serialized or deserialized as the asked-for type.
    #[error("session value (de)serialization failed: {0}")]
    Value(#[from] serde_json::Error),
    /// Session keys are 1–256 bytes without control characters, `"` or `\`
    /// (stores use them in JSON paths).
    #[error("invalid session key")]
    InvalidKey,
    /// User ids are 1–256 bytes.
    #[error("invalid user id (1 to 256 bytes)")]
    InvalidUserId,
    /// Listing or revoking a user's sessions needs server-side sessions: a
    /// cookie session has no record a server could find or delete.
    #[error("cookie sessions cannot be listed or revoked: use server-side sessions")]
    NotServerSide,
    /// A cookie session grew past what a cookie can hold.
    #[error("session cookie too large: {0}")]
    Cookie(#[from] CookieError),
    /// The handler asked for a `Session` but no `SessionLayer` runs.
    #[error("no session layer: add `SessionLayer` around this route")]
    MissingLayer,
}

impl SessionError {
    /// The HTTP status this error maps to.
    pub fn status(&self) -> http::StatusCode {
        match self {
            SessionError::Store(_) => http::StatusCode::SERVICE_UNAVAILABLE,
            _ => http::StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short public message (no internals).
    pub fn public_message(&self) -> &'static str {
        match self {
            SessionError::Store(_) => "Session store unavailable, please retry shortly.",
            // The fix is in the log (the extractor logs which layer to add);
            // the client only learns that it is the server's fault.
            SessionError::MissingLayer => "Internal server error.",
            _ => "Session error.",
        }
    }
}
