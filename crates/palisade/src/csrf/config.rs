//! The CSRF layer's configuration: secure defaults, refused mistakes.

use super::layer::{CsrfLayer, Shared};
use super::origin::{Origin, OriginPolicy, Scheme};
use crate::keys::{KeyRing, Purpose, PurposeKeys};
use std::collections::BTreeSet;

/// Default limit on the request body buffered to find the `csrf_token`
/// field: 64 KiB holds any ordinary form; larger bodies (uploads) should
/// send the token in the `X-CSRF-Token` header, which needs no buffering.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest accepted setting for the buffered body (16 MiB): the buffer is
/// held in memory per request, so a huge limit is a memory-exhaustion risk.
pub const MAX_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Which checks run on state-changing requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Checks {
    /// The default: the origin check, then the token check. Either alone has
    /// gaps (old browsers send no origin headers; a token can leak); both
    /// together need an attacker to beat two unrelated defences.
    OriginAndToken,
    /// Only `Sec-Fetch-Site` / `Origin` / `Referer`, like Go's
    /// `CrossOriginProtection`: no state, no tokens in pages. Requests with
    /// none of these headers (non-browser clients, very old browsers) pass.
    OriginOnly,
    /// Only the token, like Flask-WTF's default.
    TokenOnly,
}

impl Checks {
    pub(crate) fn origin(self) -> bool {
        matches!(self, Checks::OriginAndToken | Checks::OriginOnly)
    }

    pub(crate) fn token(self) -> bool {
        matches!(self, Checks::OriginAndToken | Checks::TokenOnly)
    }
}

/// Where the token's secret lives.
#[derive(Clone)]
pub(crate) enum TokenKind {
    /// A per-session secret in the [`Session`](crate::session::Session).
    Session,
    /// A signed double-submit cookie (no server-side state).
    DoubleSubmit(PurposeKeys),
}

/// A CSRF configuration that would be insecure or cannot work.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CsrfConfigError {
    #[error(
        "trusted origin `{origin}` is not of the form scheme://host[:port] (http or https, no path, no trailing \
         slash, no wildcard, not `null`)"
    )]
    InvalidTrustedOrigin { origin: String },
    #[error("exempt or logout path `{path}` must be an exact path starting with `/`, without `*`, `?` or `#`")]
    InvalidExemptPath { path: String },
    #[error("the body limit must be between 1 byte and {MAX_BODY_LIMIT} bytes, not {limit}")]
    BodyLimitOutOfRange { limit: usize },
    #[error("double-submit cookies are a token check: they need `Checks::OriginAndToken` or `Checks::TokenOnly`")]
    DoubleSubmitWithoutTokenCheck,
}

/// Builds a [`CsrfLayer`]. Every setting has a secure default and
/// [`build`](Self::build) refuses mistakes at startup.
#[must_use]
#[derive(Clone)]
pub struct CsrfLayerBuilder {
    checks: Checks,
    kind: TokenKind,
    trusted: Vec<String>,
    exempt: Vec<String>,
    max_body_bytes: usize,
    scheme: Scheme,
    logout_path: Option<String>,
}

impl std::fmt::Debug for CsrfLayerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            TokenKind::Session => "session",
            TokenKind::DoubleSubmit(_) => "double-submit cookie",
        };
        f.debug_struct("CsrfLayerBuilder")
            .field("checks", &self.checks)
            .field("tokens", &kind)
            .field("trusted_origins", &self.trusted)
            .field("exempt", &self.exempt)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("scheme", &self.scheme)
            .field("logout_path", &self.logout_path)
            .finish()
    }
}

impl CsrfLayer {
    /// Origin check and synchronizer tokens kept in the session: the
    /// default, for server-rendered apps. Install the layer *inside* a
    /// [`SessionLayer`](crate::session::SessionLayer).
    pub fn builder() -> CsrfLayerBuilder {
        CsrfLayerBuilder {
            checks: Checks::OriginAndToken,
            kind: TokenKind::Session,
            trusted: Vec::new(),
            exempt: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            scheme: Scheme::Https,
            logout_path: None,
        }
    }

    /// Origin check and signed double-submit cookies, keyed with the ring's
    /// CSRF sub-key: for APIs and single-page apps. Bound to the session id
    /// when a `SessionLayer` runs outside this layer.
    pub fn double_submit(keys: &KeyRing) -> CsrfLayerBuilder {
        Self::builder().double_submit_with(keys)
    }
}

impl CsrfLayerBuilder {
    /// Switches to signed double-submit cookies keyed from `keys` (the
    /// stack uses the session layer's ring).
    pub(crate) fn double_submit_with(mut self, keys: &KeyRing) -> Self {
        self.kind = TokenKind::DoubleSubmit(keys.derive(Purpose::Csrf));
        self
    }

    /// Which checks run (default [`Checks::OriginAndToken`]).
    pub fn checks(mut self, checks: Checks) -> Self {
        self.checks = checks;
        self
    }

    /// Lets requests from `origin` (exactly `scheme://host[:port]`) pass the
    /// origin check, e.g. a separate admin front end. No wildcards: a pattern
    /// like `https://*.example.com` also trusts every forgotten or hijacked
    /// subdomain. The token check still applies.
    pub fn trusted_origin(mut self, origin: impl Into<String>) -> Self {
        self.trusted.push(origin.into());
        self
    }

    /// Skips every CSRF check for requests to exactly `path` (say a webhook
    /// that authenticates its sender by signature). Named one by one and
    /// matched exactly, so adding a route never exempts it by accident.
    pub fn exempt(mut self, path: impl Into<String>) -> Self {
        self.exempt.push(path.into());
        self
    }

    /// Most bytes of a request body buffered to look for the `csrf_token`
    /// form field (default [`DEFAULT_MAX_BODY_BYTES`]). A larger body on a
    /// request that needs it gets `413`; the header needs no buffering.
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// The app is reached over plain `http://` (local development). Only
    /// used to know the app's own origin when the request URI is relative,
    /// as it is for HTTP/1.1, and no
    /// [`TrustedProxyLayer`](crate::client::TrustedProxyLayer) runs outside
    /// (its [`RequestScheme`](crate::client::RequestScheme) decides when it
    /// does): the default is `https`. `X-Forwarded-Proto` is never read
    /// here, since any client can send it.
    pub fn served_over_plain_http(mut self) -> Self {
        self.scheme = Scheme::Http;
        self
    }

    /// The app's logout route (exact path, e.g. `/logout`). A logout the
    /// browser vouches is same-origin (`Sec-Fetch-Site: same-origin`, or an
    /// `Origin` of this site) passes **without the token**: the token lives
    /// in the session, so a tab left open past the idle timeout could not
    /// log out otherwise, and a remember-me cookie would stay valid for
    /// weeks on a shared computer. Forced logout from another site is still
    /// refused by the origin check, and a request without origin headers
    /// (an old browser) still needs the token.
    pub fn logout_path(mut self, path: impl Into<String>) -> Self {
        self.logout_path = Some(path.into());
        self
    }

    /// Checks the configuration and builds the layer.
    pub fn build(self) -> Result<CsrfLayer, CsrfConfigError> {
        if self.max_body_bytes == 0 || self.max_body_bytes > MAX_BODY_LIMIT {
            return Err(CsrfConfigError::BodyLimitOutOfRange { limit: self.max_body_bytes });
        }
        if matches!(self.kind, TokenKind::DoubleSubmit(_)) && !self.checks.token() {
            return Err(CsrfConfigError::DoubleSubmitWithoutTokenCheck);
        }
        let mut trusted = Vec::new();
        for text in self.trusted {
            match Origin::parse(&text) {
                Some(origin) if !text.contains('*') => trusted.push(origin),
                _ => return Err(CsrfConfigError::InvalidTrustedOrigin { origin: text }),
            }
        }
        let exact = |path: &str| path.starts_with('/') && !path.contains(['*', '?', '#', ' ']) && !path.contains("..");
        let mut exempt = BTreeSet::new();
        for path in self.exempt {
            if !exact(&path) {
                return Err(CsrfConfigError::InvalidExemptPath { path });
            }
            exempt.insert(path);
        }
        if let Some(path) = &self.logout_path {
            if !exact(path) {
                return Err(CsrfConfigError::InvalidExemptPath { path: path.clone() });
            }
        }
        Ok(CsrfLayer::from_shared(Shared {
            checks: self.checks,
            kind: self.kind,
            origin: OriginPolicy { scheme: self.scheme, trusted },
            exempt,
            max_body_bytes: self.max_body_bytes,
            logout_path: self.logout_path,
            cookies: super::layer::CsrfCookies::new(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_build() {
        CsrfLayer::builder().build().unwrap();
        CsrfLayer::double_submit(&KeyRing::generate()).build().unwrap();
    }

    #[test]
    fn wildcard_and_malformed_trusted_origins_are_refused() {
        for bad in ["https://*.example.com", "https://example.com/", "example.com", "null", "", "https://a.example/x"] {
            let err = CsrfLayer::builder().trusted_origin(bad).build().unwrap_err();
            assert_eq!(err, CsrfConfigError::InvalidTrustedOrigin { origin: bad.into() });
        }
        CsrfLayer::builder().trusted_origin("https://admin.example.com:8443").build().unwrap();
    }

    #[test]
    fn exempt_paths_are_exact() {
        for bad in ["webhook", "/hooks/*", "/a?b", "/a/../b", ""] {
            assert!(matches!(CsrfLayer::builder().exempt(bad).build(), Err(CsrfConfigError::InvalidExemptPath { .. })));
        }
    }

    #[test]
    fn body_limit_must_be_sane() {
        assert!(CsrfLayer::builder().max_body_bytes(0).build().is_err());
        assert!(CsrfLayer::builder().max_body_bytes(MAX_BODY_LIMIT + 1).build().is_err());
    }

    #[test]
    fn double_submit_needs_the_token_check() {
        let err = CsrfLayer::double_submit(&KeyRing::generate()).checks(Checks::OriginOnly).build().unwrap_err();
        assert_eq!(err, CsrfConfigError::DoubleSubmitWithoutTokenCheck);
    }
}
