//! The per-response CSP nonce and its `CspNonce` extractor.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Random bytes per nonce: 144 bits (CSP asks for at least 128), which
/// encode to 24 base64url characters without padding.
pub const NONCE_BYTES: usize = 18;

struct Inner {
    value: String,
    /// Set once a handler or template asked for the nonce; only then is it
    /// written into the policy.
    used: AtomicBool,
}

/// This response's CSP nonce: put it on the page's own `<script>` tags
/// (`<script nonce="{{ csp_nonce() }}">`) and only they run.
///
/// A fresh value from the OS CSPRNG for every response, so an attacker who
/// saw one page's nonce cannot use it in another. As a handler argument it
/// needs [`SecurityHeadersLayer`](super::SecurityHeadersLayer); asking for
/// it marks it used, which puts it into this response's policy.
#[derive(Clone)]
pub struct CspNonce(Arc<Inner>);

impl std::fmt::Debug for CspNonce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not a long-term secret, but logs are no place to copy it from.
        f.write_str("CspNonce(..)")
    }
}

impl CspNonce {
    pub(crate) fn generate() -> Self {
        // Public in the page it is used in: the pooled OS bytes will do.
        let bytes = crate::random::public_bytes::<NONCE_BYTES>();
        Self(Arc::new(Inner { value: URL_SAFE_NO_PAD.encode(bytes), used: AtomicBool::new(false) }))
    }

    /// The nonce, for a `nonce="…"` attribute. Only base64url characters:
    /// safe in HTML attributes without escaping.
    pub fn as_str(&self) -> &str {
        &self.0.value
    }

    /// The nonce of a request under the layer, for tower services without
    /// axum's extractors; asking marks it used, like the extractor.
    pub fn of_request<B>(req: &http::Request<B>) -> Option<Self> {
        req.extensions().get::<CspNonce>().map(|n| n.mark_used().clone())
    }

    pub(crate) fn mark_used(&self) -> &Self {
        self.0.used.store(true, Ordering::Relaxed);
        self
    }

    pub(crate) fn is_used(&self) -> bool {
        self.0.used.load(Ordering::Relaxed)
    }

    /// A template function to merge into the render context, like the
    /// CSRF helpers: `{{ csp_nonce() }}` renders the nonce.
    ///
    /// ```
    /// # fn demo(nonce: palisade::headers::CspNonce) -> Result<(), minijinja::Error> {
    /// let mut env = minijinja::Environment::new();
    /// env.add_template("page.html", r#"<script nonce="{{ csp_nonce() }}">go()</script>"#)?;
    /// let html = env.get_template("page.html")?.render(minijinja::context! {
    ///     ..nonce.template_functions()
    /// })?;
    /// assert!(html.contains(nonce.as_str()));
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "minijinja")]
    pub fn template_functions(&self) -> minijinja::Value {
        let mut map = std::collections::BTreeMap::new();
        map.insert("csp_nonce", self.template_function());
        minijinja::Value::from(map)
    }

    /// `csp_nonce()` alone (also merged by `CsrfToken::page_functions`).
    #[cfg(feature = "minijinja")]
    pub(crate) fn template_function(&self) -> minijinja::Value {
        let nonce = self.clone();
        minijinja::Value::from_function(move || nonce.mark_used().as_str().to_owned())
    }
}

impl std::fmt::Display for CspNonce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.value)
    }
}

#[cfg(feature = "axum")]
mod extract {
    use super::CspNonce;
    use axum::extract::FromRequestParts;
    use axum::response::{IntoResponse, Response};
    use http::request::Parts;
    use http::StatusCode;

    /// [`CspNonce`] was asked for but no [`SecurityHeadersLayer`](crate::headers::SecurityHeadersLayer)
    /// with a Content-Security-Policy wraps the handler.
    #[derive(Debug, thiserror::Error)]
    #[error(
        "CspNonce needs palisade::headers::SecurityHeadersLayer (with a Content-Security-Policy) around this route"
    )]
    pub struct CspNonceRejection;

    impl IntoResponse for CspNonceRejection {
        fn into_response(self) -> Response {
            tracing::error!("{self}");
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.\n").into_response()
        }
    }

    impl<S: Send + Sync> FromRequestParts<S> for CspNonce {
        type Rejection = CspNonceRejection;

        async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
            let nonce = parts.extensions.get::<CspNonce>().ok_or(CspNonceRejection)?;
            Ok(nonce.mark_used().clone())
        }
    }
}

#[cfg(feature = "axum")]
pub use extract::CspNonceRejection;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_long_fresh_and_attribute_safe() {
        let a = CspNonce::generate();
        let b = CspNonce::generate();
        assert_ne!(a.as_str(), b.as_str());
        assert_eq!(a.as_str().len(), 24);
        assert!(URL_SAFE_NO_PAD.decode(a.as_str()).unwrap().len() * 8 >= 128);
        assert!(a.as_str().bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }

    #[test]
    fn a_nonce_is_unused_until_asked_for_and_never_printed() {
        let n = CspNonce::generate();
        assert!(!n.is_used());
        n.clone().mark_used();
        assert!(n.is_used(), "clones share the flag");
        assert!(!format!("{n:?}").contains(n.as_str()));
    }
}
