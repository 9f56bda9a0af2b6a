//! Response security headers, and refusal of cross-site form posts.
//!
//! Palisade has no CSRF tokens yet; until it does, the demo relies on
//! `SameSite=Lax` (the browser does not send the session cookie on
//! cross-site POSTs) and, as a second line, refuses any state-changing
//! request that the browser marks as coming from another origin
//! (`Sec-Fetch-Site`, `Origin`). This also stops login CSRF, which
//! `SameSite` cannot (the attacker's login form needs no cookie).

use axum::extract::Request;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, HOST, ORIGIN, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// No scripts at all; styles only from `/style.css`; forms only post here.
const CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds security headers to every response. Pages show per-user data, so
/// anything that did not choose a caching policy is `no-store`.
pub(crate) async fn security_headers(mut res: Response) -> Response {
    let headers = res.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// Refuses unsafe methods (POST, …) that a browser sent from another origin.
/// Requests without these headers (curl, old browsers) pass: they carry no
/// ambient credentials an attacker could borrow.
pub(crate) async fn same_origin_writes(req: Request, next: Next) -> Response {
    if !req.method().is_safe() {
        if let Err(reason) = check_same_origin(req.headers()) {
            tracing::warn!(method = %req.method(), path = %req.uri().path(), reason, "refused a cross-origin request");
            return (StatusCode::FORBIDDEN, [(CACHE_CONTROL, "no-store")], "Cross-origin request refused.\n")
                .into_response();
        }
    }
    next.run(req).await
}

fn check_same_origin(headers: &HeaderMap) -> Result<(), &'static str> {
    if let Some(site) = headers.get("sec-fetch-site") {
        if !matches!(site.as_bytes(), b"same-origin" | b"none") {
            return Err("Sec-Fetch-Site is not same-origin");
        }
    }
    if let Some(origin) = headers.get(ORIGIN) {
        let origin = origin.to_str().map_err(|_| "unreadable Origin")?;
        let host = headers.get(HOST).and_then(|h| h.to_str().ok()).ok_or("Origin without a Host")?;
        let authority = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
        if !authority.is_some_and(|a| a.eq_ignore_ascii_case(host)) {
            return Err("Origin does not match Host");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (k.parse().unwrap(), HeaderValue::from_static(v))).collect()
    }

    #[test]
    fn same_origin_and_headerless_requests_pass() {
        assert!(check_same_origin(&headers(&[])).is_ok());
        assert!(check_same_origin(&headers(&[("host", "127.0.0.1:3000")])).is_ok());
        let browser =
            [("host", "127.0.0.1:3000"), ("origin", "http://127.0.0.1:3000"), ("sec-fetch-site", "same-origin")];
        assert!(check_same_origin(&headers(&browser)).is_ok());
        assert!(check_same_origin(&headers(&[("host", "example.com"), ("origin", "https://example.com")])).is_ok());
    }

    #[test]
    fn cross_origin_requests_are_refused() {
        for bad in [
            vec![("host", "127.0.0.1:3000"), ("origin", "https://evil.example")],
            vec![("host", "127.0.0.1:3000"), ("origin", "http://127.0.0.1:3001")],
            vec![("host", "127.0.0.1:3000"), ("origin", "null")],
            vec![("host", "example.com"), ("origin", "http://example.com.evil.example")],
            vec![("origin", "http://127.0.0.1:3000")],
            vec![("sec-fetch-site", "cross-site")],
            vec![("sec-fetch-site", "same-site")],
        ] {
            assert!(check_same_origin(&headers(&bad)).is_err(), "{bad:?}");
        }
    }
}
