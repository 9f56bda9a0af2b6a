//! Security headers on every response, with a fresh CSP nonce per response.
//!
//! ```
//! use axum::{response::Html, routing::get, Router};
//! use palisade::headers::{CspNonce, SecurityHeadersLayer};
//!
//! async fn page(nonce: CspNonce) -> Html<String> {
//!     // Only scripts carrying this response's nonce run.
//!     Html(format!(r#"<script nonce="{nonce}">document.title = "ok";</script>"#))
//! }
//!
//! let app: Router = Router::new().route("/", get(page)).layer(SecurityHeadersLayer::new());
//! ```
//!
//! | header | default | the attack it stops |
//! |---|---|---|
//! | `Content-Security-Policy` | `default-src 'self'; script-src 'nonce-…' 'strict-dynamic'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'` | injected scripts (XSS), plugin content, `<base>` hijacking, clickjacking, forms posting elsewhere |
//! | `Strict-Transport-Security` | `max-age=63072000; includeSubDomains`, HTTPS responses only | TLS stripping on the next visits |
//! | `X-Frame-Options` | `DENY` | clickjacking in browsers without `frame-ancestors` |
//! | `X-Content-Type-Options` | `nosniff` | an upload or text response sniffed as HTML or script |
//! | `Referrer-Policy` | `strict-origin-when-cross-origin` | paths and query strings (tokens) leaking to other sites |
//! | `Cross-Origin-Opener-Policy` | `same-origin` | `window.opener` tricks, XS-Leaks, Spectre via shared processes |
//! | `Cross-Origin-Resource-Policy` | `same-origin` | other sites embedding our responses to read them through side channels |
//! | `Permissions-Policy` | camera, microphone, geolocation, payment, USB, … `=()` | an injected script or frame turning on powerful features |
//! | `X-XSS-Protection` | `0` | the old XSS auditor, itself a source of leaks (see [`XssProtection`]) |
//!
//! Every header can be changed or removed with [`SecurityHeadersLayer::builder`];
//! a header the handler set itself wins unless
//! [`override_handler_headers`](SecurityHeadersBuilder::override_handler_headers)
//! is chosen.
//!
//! ## The nonce: in the policy only when the page used it
//!
//! Every request gets a fresh [`CspNonce`] (144 bits from the OS CSPRNG) in
//! its extensions. It is written into the policy only if a handler asked
//! for it (the extractor, or `{{ csp_nonce() }}` in a template); otherwise
//! `script-src` becomes `'none'`. Why not always:
//!
//! - a page with no scripts of its own gets a policy that allows none — the
//!   strictest policy is the default for every response that does not ask;
//! - JSON, files, redirects and error pages carry no nonce, so a cache that
//!   stores them never spreads a nonce that another page could be tricked
//!   into accepting.
//!
//! The nonce must be asked for before the handler returns its response
//! (a streaming body that renders it later is too late for the header).
//!
//! ## When a response is HTTPS
//!
//! `Strict-Transport-Security` goes only on HTTPS responses, as
//! [`RequestScheme::of`](crate::client::RequestScheme::of) decides: the
//! [`TrustedProxyLayer`](crate::client::TrustedProxyLayer)'s verdict (the
//! listener's own scheme, or `X-Forwarded-Proto` from a trusted proxy),
//! else an `https` scheme in the request URI (HTTP/2). Put the proxy layer
//! outside this one.
//!
//! ## Layer order
//!
//! Outermost first: [`TrustedProxyLayer`](crate::client::TrustedProxyLayer),
//! `SecurityHeadersLayer`, [`HttpsRedirectLayer`](crate::https::HttpsRedirectLayer),
//! `SessionLayer`, `CsrfLayer`, the routes. (In axum, the last `.layer()`
//! call is the outermost.)

mod csp;
mod layer;
mod nonce;
mod report;
mod values;

pub use csp::{ContentSecurityPolicy, CspError, Directive, HashAlgorithm, Source};
pub use layer::{
    CspMode, HeadersConfigError, ResponseFuture, SecurityHeadersBuilder, SecurityHeadersLayer, SecurityHeadersService,
};
#[cfg(feature = "axum")]
pub use nonce::CspNonceRejection;
pub use nonce::{CspNonce, NONCE_BYTES};
pub use report::{CspReportEndpoint, CspReportEndpointBuilder, ReportConfigError};
pub use values::{
    CrossOriginOpenerPolicy, CrossOriginResourcePolicy, FrameOptions, Hsts, PermissionsPolicy, ReferrerPolicy,
    XssProtection, DENIED_FEATURES,
};
