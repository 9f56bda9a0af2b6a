use super::codec::{CookieError, MAX_COOKIE_BYTES};
use http::HeaderValue;
use std::time::Duration;

/// The `SameSite` attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SameSite {
    /// Sent on same-site requests only.
    Strict,
    /// Also sent on top-level cross-site navigations (links), not on
    /// cross-site POSTs, images or frames. The default: it stops most CSRF
    /// without logging out users who follow a link to the site.
    Lax,
    /// Sent everywhere; requires `Secure`.
    None,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
            SameSite::None => "None",
        }
    }
}

/// How many same-named cookies of one request are looked at. Browsers send
/// more than one only when cookies of the same name were set for different
/// paths or domains; a request stuffed with many validly signed values must
/// not turn into as many decryptions or store reads.
pub const MAX_COOKIE_CANDIDATES: usize = 3;

/// A cookie configuration that cannot be used safely.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CookieConfigError {
    #[error("cookie `{name}`: Secure=false is only allowed in development mode (call `.insecure_development_mode()`)")]
    InsecureOutsideDevelopment { name: String },
    #[error("cookie `{name}`: SameSite=None requires Secure (browsers reject it otherwise)")]
    SameSiteNoneWithoutSecure { name: String },
    #[error("cookie `{name}`: the __Host- prefix requires Secure, Path=/ and no Domain")]
    HostPrefixViolated { name: String },
    #[error("cookie `{name}`: the __Secure- prefix requires Secure")]
    SecurePrefixViolated { name: String },
    #[error(
        "cookie `{name}`: write the prefix exactly `__Host-` or `__Secure-`: current browsers match prefixes \
         in any case and enforce their rules, older ones only the exact spelling and then enforce nothing"
    )]
    PrefixCase { name: String },
    #[error("cookie name `{name}` is empty or has characters not allowed in a cookie name")]
    InvalidName { name: String },
    #[error("cookie `{name}`: Path must start with `/` and Path and Domain may not hold `;` or control characters")]
    InvalidPathOrDomain { name: String },
}

/// The attributes of a cookie Palisade sets.
///
/// Defaults, each stopping an attack:
/// - `__Host-` name prefix: the browser refuses the cookie unless it is
///   `Secure`, `Path=/` and has no `Domain`, so a sibling subdomain or a
///   plain-HTTP man in the middle cannot plant (toss) a cookie of that name.
/// - `Secure`: never sent over plain HTTP, where anyone on the path reads it.
/// - `HttpOnly`: invisible to `document.cookie`, so an XSS cannot steal it.
/// - `SameSite=Lax`: not sent on cross-site POSTs (CSRF).
/// - `Path=/`, no `Domain`: the cookie goes to this host only, not to
///   subdomains that may be less trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CookieAttributes {
    pub name: String,
    pub secure: bool,
    pub http_only: bool,
    pub same_site: SameSite,
    pub path: String,
    pub domain: Option<String>,
}

impl CookieAttributes {
    /// Secure defaults for a cookie called `name` (give it the `__Host-` prefix).
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
            path: "/".into(),
            domain: None,
        }
    }

    /// Refuses contradictory or insecure settings at startup.
    pub fn validate(&self, development_mode: bool) -> Result<(), CookieConfigError> {
        let name = self.name.clone();
        let valid_char = |c: char| c.is_ascii_graphic() && !"()<>@,;:\\\"/[]?={}".contains(c);
        if self.name.is_empty() || !self.name.chars().all(valid_char) {
            return Err(CookieConfigError::InvalidName { name });
        }
        if !self.secure && !development_mode {
            return Err(CookieConfigError::InsecureOutsideDevelopment { name });
        }
        if self.same_site == SameSite::None && !self.secure {
            return Err(CookieConfigError::SameSiteNoneWithoutSecure { name });
        }
        // RFC 6265bis: browsers compare prefixes case-insensitively, so
        // `__HOST-x` gets the `__Host-` rules in Chromium and Firefox but none
        // in older browsers: a spelling that means two things is refused.
        for prefix in ["__Host-", "__Secure-"] {
            let head = self.name.get(..prefix.len());
            if head.is_some_and(|h| h.eq_ignore_ascii_case(prefix) && h != prefix) {
                return Err(CookieConfigError::PrefixCase { name });
            }
        }
        if self.name.starts_with("__Host-") && (!self.secure || self.path != "/" || self.domain.is_some()) {
            return Err(CookieConfigError::HostPrefixViolated { name });
        }
        if self.name.starts_with("__Secure-") && !self.secure {
            return Err(CookieConfigError::SecurePrefixViolated { name });
        }
        // A `;` would smuggle extra attributes into every Set-Cookie header.
        let attribute_safe = |v: &str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic() && b != b';');
        if !self.path.starts_with('/')
            || !attribute_safe(&self.path)
            || self.domain.as_deref().is_some_and(|d| !attribute_safe(d))
        {
            return Err(CookieConfigError::InvalidPathOrDomain { name });
        }
        Ok(())
    }

    /// A `Set-Cookie` header carrying `value`. `max_age: None` makes a
    /// browser-session cookie. Refuses (and logs) a header over 4096 bytes
    /// rather than let the browser drop it silently.
    pub fn set_cookie(&self, value: &str, max_age: Option<Duration>) -> Result<HeaderValue, CookieError> {
        self.set_cookie_with(value.len(), max_age, |out| {
            out.push_str(value);
            Ok(())
        })
    }

    /// [`set_cookie`](Self::set_cookie) with the value written straight
    /// into the header by `write_value` (no intermediate string). The
    /// header is `name=value; HttpOnly; SameSite=…; Secure; Path=…;
    /// Domain=…; Max-Age=…`, attributes as configured.
    pub(crate) fn set_cookie_with(
        &self,
        value_len: usize,
        max_age: Option<Duration>,
        write_value: impl FnOnce(&mut String) -> Result<(), CookieError>,
    ) -> Result<HeaderValue, CookieError> {
        use std::fmt::Write as _;
        let mut header = String::with_capacity(self.name.len() + value_len + 80);
        header.push_str(&self.name);
        header.push('=');
        write_value(&mut header)?;
        if self.http_only {
            header.push_str("; HttpOnly");
        }
        header.push_str("; SameSite=");
        header.push_str(self.same_site.as_str());
        if self.secure {
            header.push_str("; Secure");
        }
        header.push_str("; Path=");
        header.push_str(&self.path);
        if let Some(domain) = &self.domain {
            header.push_str("; Domain=");
            header.push_str(domain);
        }
        if let Some(age) = max_age {
            let _ = write!(header, "; Max-Age={}", age.as_secs());
        }
        if header.len() > MAX_COOKIE_BYTES {
            tracing::error!(cookie = %self.name, bytes = header.len(), "Set-Cookie too large; not sent");
            return Err(CookieError::TooLarge);
        }
        // Takes the string's buffer as is (no copy); still checks every byte.
        HeaderValue::from_maybe_shared(bytes::Bytes::from(header)).map_err(|_| CookieError::Malformed)
    }

    /// A `Set-Cookie` header that deletes the cookie (empty, `Max-Age=0`).
    pub fn removal(&self) -> HeaderValue {
        self.set_cookie("", Some(Duration::ZERO)).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
    }

    /// The values of the cookies called `self.name` in a request's `Cookie`
    /// headers, in order, at most [`MAX_COOKIE_CANDIDATES`] of them.
    pub fn find_in<'a>(&'a self, headers: &'a http::HeaderMap) -> impl Iterator<Item = &'a str> + 'a {
        self.find_in_values(headers.get_all(http::header::COOKIE).iter())
    }

    /// [`find_in`](Self::find_in) over `Cookie` header values kept from a request.
    pub(crate) fn find_in_values<'a>(
        &'a self,
        cookie_headers: impl IntoIterator<Item = &'a HeaderValue> + 'a,
    ) -> impl Iterator<Item = &'a str> + 'a {
        cookie_headers
            .into_iter()
            .filter_map(|h| h.to_str().ok())
            .flat_map(|h| h.split(';'))
            .filter_map(move |pair| {
                let (name, value) = pair.trim().split_once('=')?;
                (name.trim() == self.name).then(|| value.trim().trim_matches('"'))
            })
            .take(MAX_COOKIE_CANDIDATES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_host_prefixed_secure_httponly_lax() {
        let attrs = CookieAttributes::new("__Host-session");
        attrs.validate(false).unwrap();
        let header = attrs.set_cookie("v", None).unwrap();
        let header = header.to_str().unwrap();
        for part in ["__Host-session=v", "Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(header.contains(part), "{header} lacks {part}");
        }
        assert!(!header.contains("Domain"));
    }

    #[test]
    fn insecure_cookie_needs_development_mode() {
        let mut attrs = CookieAttributes::new("session");
        attrs.secure = false;
        assert!(matches!(attrs.validate(false), Err(CookieConfigError::InsecureOutsideDevelopment { .. })));
        attrs.validate(true).unwrap();
    }

    #[test]
    fn samesite_none_requires_secure() {
        let mut attrs = CookieAttributes::new("session");
        attrs.secure = false;
        attrs.same_site = SameSite::None;
        assert!(matches!(attrs.validate(true), Err(CookieConfigError::SameSiteNoneWithoutSecure { .. })));
    }

    #[test]
    fn host_prefix_refuses_a_domain() {
        let mut attrs = CookieAttributes::new("__Host-session");
        attrs.domain = Some("example.com".into());
        assert!(matches!(attrs.validate(false), Err(CookieConfigError::HostPrefixViolated { .. })));
    }

    #[test]
    fn prefixes_in_another_case_are_refused_with_the_spelling_to_use() {
        for name in ["__HOST-session", "__host-session", "__SECURE-id", "__secure-id"] {
            let err = CookieAttributes::new(name).validate(false).unwrap_err();
            assert_eq!(err, CookieConfigError::PrefixCase { name: name.into() });
            assert!(err.to_string().contains("exactly `__Host-` or `__Secure-`"));
        }
        // Not a prefix at all: no rule.
        CookieAttributes::new("__Hosting").validate(false).unwrap();
    }

    #[test]
    fn renders_every_configured_attribute() {
        let mut attrs = CookieAttributes::new("__Secure-id");
        attrs.same_site = SameSite::Strict;
        attrs.path = "/app".into();
        attrs.domain = Some("example.com".into());
        attrs.validate(false).unwrap();
        let header = attrs.set_cookie("v1", Some(Duration::from_secs(3600))).unwrap();
        assert_eq!(
            header.to_str().unwrap(),
            "__Secure-id=v1; HttpOnly; SameSite=Strict; Secure; Path=/app; Domain=example.com; Max-Age=3600"
        );
        let removal = CookieAttributes::new("__Host-session").removal();
        assert_eq!(removal.to_str().unwrap(), "__Host-session=; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=0");
    }

    #[test]
    fn refuses_attribute_injection_through_path_or_domain() {
        for (path, domain) in [("/a; Domain=evil.example", None), ("app", None), ("/", Some("x.example; Secure"))] {
            let mut attrs = CookieAttributes::new("__Secure-id");
            attrs.path = path.into();
            attrs.domain = domain.map(str::to_owned);
            assert!(
                matches!(attrs.validate(false), Err(CookieConfigError::InvalidPathOrDomain { .. })),
                "{path} {domain:?}"
            );
        }
    }

    #[test]
    fn oversized_set_cookie_is_refused() {
        let attrs = CookieAttributes::new("__Host-session");
        let big = "a".repeat(MAX_COOKIE_BYTES);
        assert_eq!(attrs.set_cookie(&big, None), Err(CookieError::TooLarge));
    }

    #[test]
    fn looks_at_no_more_than_a_few_cookies_of_its_name() {
        let attrs = CookieAttributes::new("c");
        let mut headers = http::HeaderMap::new();
        headers.append(http::header::COOKIE, "c=1; c=2; c=3; c=4; c=5".parse().unwrap());
        assert_eq!(attrs.find_in(&headers).collect::<Vec<_>>(), ["1", "2", "3"]);
    }

    #[test]
    fn finds_every_cookie_of_its_name() {
        let attrs = CookieAttributes::new("__Host-session");
        let mut headers = http::HeaderMap::new();
        headers.append(http::header::COOKIE, "a=1; __Host-session=x".parse().unwrap());
        headers.append(http::header::COOKIE, "__Host-session=y".parse().unwrap());
        assert_eq!(attrs.find_in(&headers).collect::<Vec<_>>(), ["x", "y"]);
    }
}
