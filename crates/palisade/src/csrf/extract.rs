//! [`CsrfToken`]: what handlers and templates render into pages.

use super::state::RequestCsrf;
use super::{RejectReason, FIELD_NAME};
use std::sync::Arc;

/// The current request's CSRF token source. Every call to
/// [`masked`](Self::masked) gives a different string, and every one of them
/// verifies.
///
/// Ask for it as a handler argument (axum), or with
/// [`from_extensions`](Self::from_extensions). Taking it reads the session
/// but never writes it; a new secret is kept only if a token is rendered.
/// A token rendered after the handler rotated the session (`auth::login`,
/// `password_changed`) comes from a new secret, kept with the new session.
#[derive(Clone)]
pub struct CsrfToken {
    ctx: Arc<RequestCsrf>,
}

impl std::fmt::Debug for CsrfToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfToken { .. }")
    }
}

/// Why a [`CsrfToken`] could not be had. Says which layer to add; never
/// shows a secret.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CsrfTokenRejection {
    #[error("no CSRF layer: add `CsrfLayer` (inside `SessionLayer`) around this route")]
    MissingLayer,
    #[error("CsrfLayer keeps its secret in the session: add `SessionLayer` outside `CsrfLayer`")]
    MissingSessionLayer,
    #[error("session store unavailable")]
    SessionUnavailable,
}

impl CsrfTokenRejection {
    /// The HTTP status: `500` for a missing layer (a bug to fix), `503` for
    /// a store failure.
    pub fn status(&self) -> http::StatusCode {
        match self {
            CsrfTokenRejection::SessionUnavailable => http::StatusCode::SERVICE_UNAVAILABLE,
            _ => http::StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl CsrfToken {
    /// The token source the [`CsrfLayer`](super::CsrfLayer) put in these
    /// request extensions.
    pub async fn from_extensions(extensions: &http::Extensions) -> Result<Self, CsrfTokenRejection> {
        let Some(ctx) = extensions.get::<Arc<RequestCsrf>>().cloned() else {
            tracing::error!("a handler asked for CsrfToken but no CsrfLayer is installed");
            return Err(CsrfTokenRejection::MissingLayer);
        };
        ctx.resolve().await.map_err(|reason| match reason {
            RejectReason::MisconfiguredNoSession => CsrfTokenRejection::MissingSessionLayer,
            _ => CsrfTokenRejection::SessionUnavailable,
        })?;
        Ok(Self { ctx })
    }

    /// A freshly masked token (URL-safe base64, no escaping needed), for a
    /// `<meta>` tag or a JSON answer that script sends back in
    /// `X-CSRF-Token`.
    pub fn masked(&self) -> String {
        self.ctx.masked().unwrap_or_else(|| {
            // `from_extensions` resolved the value; this cannot happen.
            tracing::error!("CSRF token requested before it was resolved");
            String::new()
        })
    }

    /// `<input type="hidden" name="csrf_token" value="…">` with a fresh token.
    pub fn hidden_field(&self) -> String {
        format!(r#"<input type="hidden" name="{FIELD_NAME}" value="{}">"#, self.masked())
    }
}

#[cfg(feature = "axum")]
mod axum_impls {
    use super::{CsrfToken, CsrfTokenRejection};
    use axum::extract::FromRequestParts;
    use axum::response::{IntoResponse, Response};
    use http::request::Parts;

    /// `CsrfToken` as a handler argument. Without a `CsrfLayer` the handler
    /// is not called: the rejection is a 500 that names the missing layer.
    impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
        type Rejection = CsrfTokenRejection;

        async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
            CsrfToken::from_extensions(&parts.extensions).await
        }
    }

    impl IntoResponse for CsrfTokenRejection {
        fn into_response(self) -> Response {
            // The fix (which layer to add) is logged where the rejection is
            // made; the client gets a plain message.
            let message = if self.status().is_server_error() && self != CsrfTokenRejection::SessionUnavailable {
                "Internal server error.\n"
            } else {
                "Session store unavailable, please retry shortly.\n"
            };
            let mut res = (self.status(), message).into_response();
            res.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
            res
        }
    }
}
