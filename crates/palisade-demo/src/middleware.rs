//! Response security headers, and the CSRF layer's configuration.

use crate::DemoConfig;
use axum::http::header::CACHE_CONTROL;
use axum::http::HeaderValue;
use palisade::csrf::{CsrfConfigError, CsrfLayer};
use palisade::headers::{ContentSecurityPolicy, HeadersConfigError, SecurityHeadersLayer};
use palisade::https::{HttpsRedirectError, HttpsRedirectLayer};

/// Where browsers post CSP violation reports.
pub(crate) const CSP_REPORT_PATH: &str = "/csp-report";

/// Palisade's security headers with their defaults: a nonce-based CSP
/// (only the page's own nonced scripts run: `csrf.js` and `demo.js`, loaded
/// with SRI, and the inline status script), violation reports to
/// [`CSP_REPORT_PATH`], and `no-store` for every response that did not
/// choose a caching policy, since pages show per-user data.
pub(crate) fn security_headers() -> Result<SecurityHeadersLayer, HeadersConfigError> {
    SecurityHeadersLayer::builder()
        .content_security_policy(ContentSecurityPolicy::strict().report_uri(CSP_REPORT_PATH))
        .header(CACHE_CONTROL, HeaderValue::from_static("no-store"))
        .build()
}

/// Redirects plain HTTP to HTTPS on `config.addr`'s port, for the hosts in
/// `config.hosts` only.
pub(crate) fn https_redirect(config: &DemoConfig) -> Result<HttpsRedirectLayer, HttpsRedirectError> {
    HttpsRedirectLayer::for_hosts(&config.hosts)?.https_port(config.addr.port())
}

/// The CSRF layer, with Palisade's defaults: the origin check, then a masked
/// token (from the session once signed in, from a signed cookie before) on
/// every state-changing request (every form carries `{{ csrf_field() }}`,
/// script sends `X-CSRF-Token`). This also stops login CSRF, which
/// `SameSite` cannot (the attacker's login form needs no cookie). A
/// same-origin `POST /logout` works without a live session, so a tab left
/// open past the idle timeout still logs out.
///
/// The app's own scheme comes from the `TrustedProxyLayer` outside
/// (`RequestScheme`: the connection's, or a trusted proxy's
/// `X-Forwarded-Proto`), not from a guess at the listen address.
pub(crate) fn csrf() -> Result<CsrfLayer, CsrfConfigError> {
    CsrfLayer::builder().logout_path("/logout").build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_redirect_build_from_the_defaults() {
        let layer = format!("{:?}", security_headers().unwrap());
        assert!(layer.contains("report-uri /csp-report") && layer.contains("cache-control"), "{layer}");
        let config = DemoConfig::new("d").with_addr("127.0.0.1:3443".parse().unwrap());
        https_redirect(&config).unwrap();
    }

    #[test]
    fn csrf_layer_builds() {
        csrf().unwrap();
    }
}
