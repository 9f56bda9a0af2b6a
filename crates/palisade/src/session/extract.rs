use super::{Session, SessionError};
use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::request::Parts;

/// `Session` as a handler argument. Without a `SessionLayer` the handler is
/// not called: the rejection is a 500 that names the missing layer.
impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = SessionError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Session>().cloned().ok_or_else(|| {
            tracing::error!("a handler asked for Session but no SessionLayer is installed");
            SessionError::MissingLayer
        })
    }
}

impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        let mut res = (self.status(), self.public_message()).into_response();
        res.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
        res
    }
}
