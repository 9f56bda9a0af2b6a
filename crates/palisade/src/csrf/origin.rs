//! The origin check: cheap, stateless, and first.
//!
//! Browsers say where a request comes from (`Sec-Fetch-Site`, `Origin`,
//! `Referer`) and page scripts cannot forge these headers. A state-changing
//! request that a browser marks as coming from another origin is refused
//! before any token or body is looked at.

use http::header::{HOST, ORIGIN, REFERER};
use http::{HeaderMap, Uri};

/// `http` or `https`: the only schemes whose origins can be same-origin with
/// a web app.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn parse(text: &str) -> Option<Self> {
        if text.eq_ignore_ascii_case("https") {
            Some(Scheme::Https)
        } else if text.eq_ignore_ascii_case("http") {
            Some(Scheme::Http)
        } else {
            None
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// A web origin: scheme, lower-cased host and port (default ports filled in,
/// so `https://a.example` and `https://a.example:443` are equal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Origin {
    scheme: Scheme,
    host: String,
    port: u16,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}", self.scheme.as_str(), self.host)?;
        if self.port != self.scheme.default_port() {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

impl Origin {
    /// Parses an `Origin` header or a trusted-origin setting: exactly
    /// `scheme://host[:port]`, nothing before or after. `null`, paths,
    /// queries, fragments, user info and wildcards are refused.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (scheme, rest) = text.split_once("://")?;
        let scheme = Scheme::parse(scheme)?;
        Self::from_authority(scheme, rest)
    }

    /// `self` is HTTPS and `other` is the same host over plain HTTP.
    fn is_https_twin_of(&self, other: &Origin) -> bool {
        self.scheme == Scheme::Https && other.scheme == Scheme::Http && self.host == other.host
    }

    /// The origin of a `Referer` URL (`scheme://host[:port]/anything`).
    fn of_url(text: &str) -> Option<Self> {
        let (scheme, rest) = text.split_once("://")?;
        let scheme = Scheme::parse(scheme)?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        Self::from_authority(scheme, &rest[..end])
    }

    /// `host[:port]` as in a `Host` header or an absolute URI's authority.
    fn from_authority(scheme: Scheme, authority: &str) -> Option<Self> {
        let (host, port) = split_host_port(authority)?;
        let port = match port {
            None => scheme.default_port(),
            Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok()?,
            Some(_) => return None,
        };
        Some(Self { scheme, host: host.to_ascii_lowercase(), port })
    }
}

/// Splits `host[:port]`, accepting bracketed IPv6 literals and DNS-style
/// names only. User info (`user@host`) and anything unusual is refused, so
/// an odd `Host` header can never be made to equal an attacker's origin.
fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let close = rest.find(']')?;
        let (v6, after) = (&rest[..close], &rest[close + 1..]);
        if v6.is_empty() || !v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.') {
            return None;
        }
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':')?),
        };
        (&authority[..close + 2], port)
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let name_ok = host.starts_with('[')
        || (!host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')));
    name_ok.then_some((host, port))
}

/// What the origin check needs to know about the app.
#[derive(Clone, Debug)]
pub(crate) struct OriginPolicy {
    /// The scheme of the app's own origin when the request URI does not say
    /// (a relative URI, as HTTP/1.1 servers see): see
    /// [`CsrfLayerBuilder::served_over_plain_http`](super::CsrfLayerBuilder::served_over_plain_http).
    pub(crate) scheme: Scheme,
    /// Origins allowed to post here besides the app's own, exact matches.
    pub(crate) trusted: Vec<Origin>,
}

/// The usual first-day mistake, not an attack: the app is served over plain
/// HTTP while the layer assumes HTTPS (the secure default), so a same-origin
/// post from a browser without fetch metadata looks cross-origin. The client
/// still gets the same short 403 (no configuration hints for an attacker);
/// the log names the settings that fix it.
fn warn_plain_http_origin(own: &Origin, origin: &Origin) {
    tracing::warn!(
        %origin,
        expected = %own,
        "CSRF origin check: the request's Origin is this host over plain HTTP, but the app's origin is taken to be \
         HTTPS; if the app really is served over plain HTTP, call CsrfLayerBuilder::served_over_plain_http() \
         (or StackBuilder::plain_http_development_mode() off localhost, never in production), and behind a \
         TLS-terminating proxy trust it with TrustedProxyLayer so X-Forwarded-Proto is believed"
    );
}

/// The request's own origin: scheme from an absolute request URI, else the
/// one [`TrustedProxyLayer`](crate::client::TrustedProxyLayer) decided
/// (`X-Forwarded-Proto` only from a trusted proxy, never from any client:
/// it would let an attacker choose what "same origin" means), else the
/// configured one; host and port
/// from the URI's authority (HTTP/2) or the `Host` header.
fn own_origin(headers: &HeaderMap, uri: &Uri, policy: &OriginPolicy, scheme: Option<Scheme>) -> Option<Origin> {
    let scheme = uri.scheme_str().and_then(Scheme::parse).or(scheme).unwrap_or(policy.scheme);
    let authority = match uri.authority() {
        Some(a) => a.as_str(),
        None => headers.get(HOST)?.to_str().ok()?,
    };
    Origin::from_authority(scheme, authority)
}

fn header(headers: &HeaderMap, name: impl http::header::AsHeaderName) -> Option<Result<&str, ()>> {
    headers.get(name).map(|v| v.to_str().map_err(|_| ()))
}

/// What the browser's headers say about where a request comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Evidence {
    /// `Sec-Fetch-Site: same-origin`, or an `Origin` (or HTTPS `Referer`)
    /// of this origin or a trusted one: the browser vouches for it.
    SameOrigin,
    /// Nothing says cross-origin, nothing says same-origin (no such
    /// headers, or `Sec-Fetch-Site: none` for a user-typed request).
    Unknown,
}

/// Decides whether an unsafe request may come from where the browser says
/// it comes from. `Ok` means "not cross-origin as far as the headers tell":
/// the token check (if on) still runs. `scheme` is the request's scheme as
/// the trusted-proxy layer decided, when it runs.
pub(crate) fn check(
    headers: &HeaderMap,
    uri: &Uri,
    policy: &OriginPolicy,
    scheme: Option<Scheme>,
) -> Result<Evidence, ()> {
    let origin = header(headers, ORIGIN);
    // A trusted origin may post even from another site (Go's
    // `AddTrustedOrigin`): exact matches only, so no wildcard ever lets a
    // look-alike host in.
    let trusted = |origin: &Origin| policy.trusted.contains(origin);
    let origin_is_trusted = || match origin {
        Some(Ok(text)) => Origin::parse(text).is_some_and(|o| trusted(&o)),
        _ => false,
    };

    // Fetch metadata first: set by the browser itself on every request, it
    // says whether the initiating page was this very origin. `same-site`
    // is refused too: a sibling subdomain or another port is a different
    // origin and may be less trusted (or attacker-controlled).
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.as_bytes() {
            b"same-origin" => Ok(Evidence::SameOrigin),
            b"none" => Ok(Evidence::Unknown),
            _ if origin_is_trusted() => Ok(Evidence::SameOrigin),
            _ => Err(()),
        };
    }

    if let Some(origin) = origin {
        // Older browsers without fetch metadata still send Origin on
        // cross-origin posts. `null` (sandboxed frames, data: URLs, some
        // redirects) is never same-origin: an attacker can produce it at will.
        let Ok(Some(origin)) = origin.map(Origin::parse) else { return Err(()) };
        let own = own_origin(headers, uri, policy, scheme);
        if own.as_ref() == Some(&origin) || trusted(&origin) {
            return Ok(Evidence::SameOrigin);
        }
        if let Some(own) = own.filter(|own| own.is_https_twin_of(&origin)) {
            warn_plain_http_origin(&own, &origin);
        }
        return Err(());
    }

    // No Origin on HTTPS: like Django, a Referer that is present must be an
    // HTTPS page of this origin (or a trusted one). This stops a plain-HTTP
    // page injected by a man in the middle from posting to the HTTPS app. A
    // missing Referer is not a pass either: the token check decides, so the
    // Referer is never the only defence (Referrer-Policy: no-referrer).
    let own = own_origin(headers, uri, policy, scheme);
    let https = own.as_ref().map_or(policy.scheme == Scheme::Https, |o| o.scheme == Scheme::Https);
    if https {
        if let Some(referer) = header(headers, REFERER) {
            let Ok(Some(referer)) = referer.map(Origin::of_url) else { return Err(()) };
            let ok = referer.scheme == Scheme::Https && (own.as_ref() == Some(&referer) || trusted(&referer));
            return if ok { Ok(Evidence::SameOrigin) } else { Err(()) };
        }
    }
    Ok(Evidence::Unknown)
}

/// Whether a WebSocket handshake may come from where its `Origin` says.
///
/// A handshake is a GET (or, over HTTP/2, an extended CONNECT) that the
/// browser sends with the site's cookies, and once open the socket carries
/// whatever the page on the other end writes: a page on another site could
/// act as the signed-in user (cross-site WebSocket hijacking). No token can
/// ride along (the browser API sets no headers), but browsers always send
/// `Origin` on a handshake (RFC 6455 §4.1, fetch's WebSocket rules), so it
/// must be this origin or a trusted one. A handshake without `Origin` does
/// not come from a browser, so it carries no ambient cookies to abuse.
pub(crate) fn check_websocket(headers: &HeaderMap, uri: &Uri, policy: &OriginPolicy, scheme: Option<Scheme>) -> bool {
    let Some(origin) = header(headers, ORIGIN) else { return true };
    let Ok(Some(origin)) = origin.map(Origin::parse) else { return false };
    own_origin(headers, uri, policy, scheme).as_ref() == Some(&origin) || policy.trusted.contains(&origin)
}

/// A WebSocket opening handshake: `Upgrade: websocket` (HTTP/1.1), or a
/// CONNECT carrying `Sec-WebSocket-Version` (HTTP/2's extended CONNECT,
/// RFC 8441).
pub(crate) fn is_websocket_handshake(method: &http::Method, headers: &HeaderMap) -> bool {
    let upgrade = headers.get_all(http::header::UPGRADE).iter().any(|value| {
        value.to_str().is_ok_and(|v| v.split(',').any(|token| token.trim().eq_ignore_ascii_case("websocket")))
    });
    upgrade || (method == http::Method::CONNECT && headers.contains_key("sec-websocket-version"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> OriginPolicy {
        OriginPolicy { scheme: Scheme::Https, trusted: vec![Origin::parse("https://trusted.example").unwrap()] }
    }

    fn run(pairs: &[(&'static str, &'static str)]) -> Result<(), ()> {
        let headers: HeaderMap = pairs.iter().map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap())).collect();
        check(&headers, &Uri::from_static("/submit"), &policy(), None).map(|_| ())
    }

    #[test]
    fn the_trusted_proxy_layers_scheme_decides_the_own_origin() {
        let headers: HeaderMap = [("host", "127.0.0.1:3443"), ("origin", "https://127.0.0.1:3443")]
            .iter()
            .map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap()))
            .collect();
        let plain = OriginPolicy { scheme: Scheme::Http, trusted: Vec::new() };
        let uri = Uri::from_static("/submit");
        assert_eq!(check(&headers, &uri, &plain, None), Err(()), "a guess of http is wrong for TLS");
        assert_eq!(check(&headers, &uri, &plain, Some(Scheme::Https)), Ok(Evidence::SameOrigin));
    }

    #[test]
    fn only_a_browsers_word_counts_as_same_origin_evidence() {
        let headers = |pairs: &[(&str, &str)]| -> HeaderMap {
            pairs.iter().map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap())).collect()
        };
        let uri = Uri::from_static("/submit");
        let same = headers(&[("sec-fetch-site", "same-origin")]);
        assert_eq!(check(&same, &uri, &policy(), None), Ok(Evidence::SameOrigin));
        let typed = headers(&[("sec-fetch-site", "none")]);
        assert_eq!(check(&typed, &uri, &policy(), None), Ok(Evidence::Unknown));
        assert_eq!(check(&HeaderMap::new(), &uri, &policy(), None), Ok(Evidence::Unknown));
    }

    #[test]
    fn origins_normalise_default_ports_and_case() {
        assert_eq!(Origin::parse("HTTPS://Example.COM:443"), Origin::parse("https://example.com"));
        assert_ne!(Origin::parse("http://example.com"), Origin::parse("https://example.com"));
        assert_eq!(Origin::parse("https://[::1]:8443").unwrap().to_string(), "https://[::1]:8443");
    }

    #[test]
    fn origin_parsing_refuses_anything_but_scheme_host_port() {
        for bad in [
            "null",
            "",
            "example.com",
            "https://",
            "https://example.com/",
            "https://example.com/path",
            "https://example.com?q",
            "https://example.com#f",
            "https://user@example.com",
            "https://*.example.com",
            "https://ex ample.com",
            "https://example.com:",
            "https://example.com:99999",
            "https://[",
            "ftp://example.com",
        ] {
            assert!(Origin::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        let host = ("host", "example.com");
        assert!(run(&[host, ("sec-fetch-site", "same-origin")]).is_ok());
        assert!(run(&[host, ("sec-fetch-site", "none")]).is_ok());
        assert!(run(&[host, ("sec-fetch-site", "same-site")]).is_err());
        assert!(run(&[host, ("sec-fetch-site", "cross-site")]).is_err());
        assert!(run(&[host, ("sec-fetch-site", "something-new")]).is_err());
        assert!(run(&[host, ("sec-fetch-site", "cross-site"), ("origin", "https://trusted.example")]).is_ok());
    }

    #[test]
    fn origin_must_match_scheme_host_and_port() {
        let host = ("host", "example.com");
        assert!(run(&[host, ("origin", "https://example.com")]).is_ok());
        assert!(run(&[host, ("origin", "http://example.com")]).is_err());
        assert!(run(&[host, ("origin", "https://example.com:8443")]).is_err());
        assert!(run(&[host, ("origin", "https://evil.example")]).is_err());
        assert!(run(&[host, ("origin", "null")]).is_err());
        assert!(run(&[("host", "@malformed"), ("origin", "https://evil.example")]).is_err());
        assert!(run(&[("host", "@malformed"), ("origin", "https://trusted.example")]).is_ok());
    }

    #[test]
    fn referer_is_checked_on_https_only_when_present() {
        let host = ("host", "example.com");
        assert!(run(&[host]).is_ok(), "no headers: the token check decides");
        assert!(run(&[host, ("referer", "https://example.com/form")]).is_ok());
        assert!(run(&[host, ("referer", "http://example.com/form")]).is_err());
        assert!(run(&[host, ("referer", "https://evil.example/")]).is_err());
        assert!(run(&[host, ("referer", "https://trusted.example/page")]).is_ok());
        assert!(run(&[host, ("referer", "//example.com/")]).is_err());
    }
}
