//! Safe `next` redirects: the defence against open redirects.
//!
//! ```
//! use palisade::redirect::RedirectPolicy;
//!
//! // `next` came from the query string or a form field: attacker-controlled.
//! let next: Option<&str> = Some("//evil.example/phish");
//! let target = RedirectPolicy::same_origin().next_or(next, "/");
//! assert_eq!(target, "/");
//!
//! let next = Some("/account?tab=security");
//! assert_eq!(RedirectPolicy::same_origin().next_or(next, "/"), "/account?tab=security");
//! ```
//!
//! A login page that sends the user on to `?next=…` is an *open redirect* when it
//! trusts `next`: `https://your.site/login?next=https://evil.example` then lends your
//! domain's reputation to a phishing page, and can leak tokens that end up in the URL.
//! [`RedirectPolicy`] decides whether a target stays on this site (or on a host you
//! listed) *the way a browser would read it*: browsers follow the WHATWG URL
//! standard, which silently drops tabs and newlines, strips leading and trailing
//! control characters and spaces, treats `\` as `/` for `http(s)` URLs and accepts
//! any number of slashes after `http:`. Anything that a browser could read as
//! "another host" is rejected, and so is anything ambiguous: rejection only costs
//! the user a redirect to your fallback page.
//!
//! What is accepted:
//!
//! * absolute paths on this site: `/account`, `/a/b?x=1#frag`,
//!   `/view/?next=http://evil.example` (the query and fragment may contain anything
//!   printable, they cannot change the host);
//! * only with [`RedirectPolicy::allow_path_relative`] (Django's behaviour):
//!   path-relative references such as `account` or `view/`, and query- or
//!   fragment-only references such as `?page=2`. A browser resolves them against
//!   the current URL, so they stay on the current origin *when used as they are*.
//!   They are refused by default, as Rails 8.1 does
//!   (`action_on_path_relative_redirect = :raise`): a real `next` is always an
//!   absolute path (`/…`), and a path-relative one (`@evil.example`,
//!   `%2F%2Fevil.example`) becomes another host the moment some code glues it to
//!   a scheme and host, or decodes it once more;
//! * `http(s)://host/…` and `//host/…` only when `host` was listed with
//!   [`RedirectPolicy::allow_host`] (and, with [`RedirectPolicy::require_https`],
//!   only `https://host/…`).
//!
//! Use the returned value *as is* as the `Location` header. Never glue it to a
//! scheme and host yourself: `format!("https://{host}{next}")` turns the harmless
//! path-relative `@evil.example` into `https://your.site@evil.example`, a URL whose
//! host is `evil.example` (the reason Rails warns about path-relative redirects).

/// Longest target accepted, in bytes.
///
/// Stops denial-of-service through huge `Location` headers and oversized log or
/// cookie values (the target often round-trips through a cookie or a form).
pub const MAX_TARGET_LEN: usize = 2048;

/// Which targets a redirect may go to. Build one with [`RedirectPolicy::same_origin`].
///
/// The default policy only allows paths on this site; absolute URLs are rejected
/// unless their host was listed with [`RedirectPolicy::allow_host`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedirectPolicy {
    /// Authorities (`host` or `host:port`, lower-cased) allowed in absolute URLs.
    allowed_hosts: Vec<String>,
    /// Absolute URLs must use `https`.
    require_https: bool,
    /// Path-relative, query-only and fragment-only targets are accepted.
    allow_path_relative: bool,
}

impl Default for RedirectPolicy {
    /// Same as [`RedirectPolicy::same_origin`].
    fn default() -> Self {
        Self::same_origin()
    }
}

impl RedirectPolicy {
    /// Only absolute paths on this site (`/account`, `/a?b=1`); no absolute URL,
    /// no scheme-relative `//host` URL, no path-relative `account` or `?page=2`.
    ///
    /// Secure default: an attacker-supplied `next` cannot leave the site.
    pub fn same_origin() -> Self {
        Self { allowed_hosts: Vec::new(), require_https: false, allow_path_relative: false }
    }

    /// Also accept path-relative (`account`, `view/`), query-only (`?page=2`) and
    /// fragment-only (`#top`) targets, as Django's `url_has_allowed_host_and_scheme`
    /// does (default off, as Rails 8.1 raises on them).
    ///
    /// They are safe only when the value goes into `Location` unchanged: glued to
    /// a scheme and host, `@evil.example` becomes `https://your.site@evil.example`
    /// (host `evil.example`), and `%2F%2Fevil.example` becomes `//evil.example`
    /// once something decodes it again.
    pub fn allow_path_relative(mut self, yes: bool) -> Self {
        self.allow_path_relative = yes;
        self
    }

    /// Also allow absolute (`https://host/…`) and scheme-relative (`//host/…`)
    /// URLs whose authority is exactly `host`.
    ///
    /// `host` is a bare host (`accounts.example.com`), optionally with a port
    /// (`example.com:8443`). The comparison is exact apart from ASCII case: no
    /// sub-domain wildcard (stops `example.com.evil.example` and `evil-example.com`),
    /// a different port is a different host, and a user-info part must be listed too
    /// (`http://example.com@evil.example` has the authority `example.com@evil.example`,
    /// which is not `example.com`: this stops the user-info trick). A value containing
    /// `/`, or an empty value, never matches anything.
    pub fn allow_host(mut self, host: impl Into<String>) -> Self {
        let mut host = host.into();
        host.make_ascii_lowercase();
        self.allowed_hosts.push(host);
        self
    }

    /// When `yes`, absolute URLs must be `https://…`; `http://…` and the
    /// scheme-relative `//host/…` (which follows the current page's scheme) are
    /// rejected even for allowed hosts. Paths on this site are unaffected.
    ///
    /// Stops a downgrade to plain HTTP, where a network attacker can read or rewrite
    /// the page the user lands on.
    pub fn require_https(mut self, yes: bool) -> Self {
        self.require_https = yes;
        self
    }

    /// Whether `target` may be used as a redirect target under this policy.
    pub fn is_allowed(&self, target: &str) -> bool {
        self.check(target).is_ok()
    }

    /// Returns `target` when it is allowed, otherwise `fallback`.
    ///
    /// `fallback` is trusted (it comes from your code) and returned unchecked. A
    /// rejected target is logged with `tracing::warn!` with only its length and a
    /// short reason, never its text: the text is attacker-controlled (log injection)
    /// and may carry tokens. A missing target (`None`, or `Some("")` from an empty
    /// hidden field) is the normal case and is not logged.
    pub fn next_or<'a>(&self, target: Option<&'a str>, fallback: &'a str) -> &'a str {
        // An empty `next` (the usual hidden field with nothing in it) is no
        // target at all, not a rejected one: no warning.
        let Some(target) = target.filter(|t| !t.is_empty()) else {
            return fallback;
        };
        match self.check(target) {
            Ok(()) => target,
            Err(reason) => {
                tracing::warn!(
                    target_len = target.len(),
                    reason = reason.as_str(),
                    "rejected redirect target, using the fallback"
                );
                fallback
            }
        }
    }

    /// The decision, with the reason for a rejection.
    fn check(&self, target: &str) -> Result<(), Rejection> {
        let bytes = target.as_bytes();
        let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
            // Nothing to redirect to; a blank `Location` is not a useful answer.
            return Err(Rejection::Empty);
        };
        if bytes.len() > MAX_TARGET_LEN {
            return Err(Rejection::TooLong);
        }
        for &b in bytes {
            // Browsers drop tabs and newlines anywhere (`java\nscript:` runs as
            // `javascript:`) and strip other C0 controls at either end (`\x08//evil`
            // becomes `//evil`); `\r\n` also splits the `Location` header (response
            // splitting) and NUL truncates in some servers. None has a place in a
            // redirect target.
            if b < 0x20 || b == 0x7f {
                return Err(Rejection::ControlCharacter);
            }
            // Non-ASCII is not allowed in a header value (`http::HeaderValue::from_str`
            // refuses it) and look-alikes such as the full-width `／` and `＼` are
            // folded to `/` and `\` by some clients and proxies (Unicode
            // normalisation). Percent-encode such paths instead.
            if !b.is_ascii() {
                return Err(Rejection::NonAscii);
            }
        }
        // Browsers strip leading and trailing spaces (` //evil` becomes `//evil`).
        if first == b' ' || last == b' ' {
            return Err(Rejection::SurroundingSpace);
        }

        if is_slash(first) {
            // Browsers read `\` as `/` in http(s) URLs: `/\evil`, `\\evil` and `\/evil`
            // are all the scheme-relative `//evil` (another host).
            if bytes.get(1).copied().is_some_and(is_slash) {
                return self.check_authority(bytes.get(2..).unwrap_or_default(), None);
            }
            // `/account`: an absolute path, on this origin whatever follows.
            return Ok(());
        }

        // Up to the first `:` a scheme (`javascript:`), after a `/`, `?` or `#` just
        // path, query or fragment data (`path/http:22`, `/v?next=http://evil`).
        match bytes.iter().position(|&b| matches!(b, b':' | b'/' | b'\\' | b'?' | b'#')) {
            Some(colon) if bytes[colon] == b':' => self.check_absolute(&bytes[..colon], &bytes[colon + 1..]),
            // `account`, `view/?x=1`, `?page=2`, `#top`, `@evil.example`: relative to
            // the current URL, so on the current origin as they are, but a host
            // once glued to one (see `allow_path_relative`).
            _ if self.allow_path_relative => Ok(()),
            _ => Err(Rejection::PathRelative),
        }
    }

    /// `scheme:rest`, where `rest` is what follows the first colon.
    fn check_absolute(&self, scheme: &[u8], rest: &[u8]) -> Result<(), Rejection> {
        // `javascript:` and `data:` run script in the context of this site (XSS);
        // `file:`, `ftp:` and custom schemes leave the site or launch other
        // applications. Only http and https are web redirects. A first segment with a
        // colon but no valid scheme (`:x`, `1a:x`) is rejected too: it is ambiguous.
        let https = scheme.eq_ignore_ascii_case(b"https");
        if !https && !scheme.eq_ignore_ascii_case(b"http") {
            return Err(Rejection::Scheme);
        }
        if self.require_https && !https {
            return Err(Rejection::NotHttps);
        }
        match rest {
            [a, b, authority @ ..] if is_slash(*a) && is_slash(*b) => self.check_authority(authority, Some(https)),
            // `https:evil.example` and `http:/evil.example`: browsers supply the
            // missing slashes and go to `evil.example` (unless the page has the same
            // scheme, when it is a path instead): ambiguous, so rejected.
            _ => Err(Rejection::MissingSlashes),
        }
    }

    /// `rest` follows the two slashes of `//…` or `http(s)://…`; `https` is `None`
    /// for a scheme-relative URL.
    fn check_authority(&self, rest: &[u8], https: Option<bool>) -> Result<(), Rejection> {
        // `//host` keeps the current page's scheme, which may be plain http.
        if self.require_https && https.is_none() {
            return Err(Rejection::NotHttps);
        }
        let end = rest.iter().position(|&b| matches!(b, b'/' | b'\\' | b'?' | b'#')).unwrap_or(rest.len());
        let (authority, after) = rest.split_at(end);
        // `///evil` and `http:///evil`: browsers skip any number of slashes and go
        // to `evil`.
        if authority.is_empty() {
            return Err(Rejection::EmptyAuthority);
        }
        // `http://allowed\@evil`: browsers end the host at `\` (`allowed`), other
        // clients read `allowed\` as user-info and go to `evil`. Ambiguous, so
        // rejected.
        if after.first() == Some(&b'\\') {
            return Err(Rejection::BackslashInAuthority);
        }
        let allowed = self.allowed_hosts.iter().any(|host| host.as_bytes().eq_ignore_ascii_case(authority));
        if allowed {
            Ok(())
        } else {
            // Another site (the open redirect itself), including the user-info trick
            // `http://allowed@evil`, ports and look-alike hosts.
            Err(Rejection::HostNotAllowed)
        }
    }
}

/// `/`, or `\` which browsers read as `/` in http(s) URLs.
fn is_slash(b: u8) -> bool {
    b == b'/' || b == b'\\'
}

/// Why a target was rejected; short, fixed strings safe to log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rejection {
    Empty,
    TooLong,
    ControlCharacter,
    NonAscii,
    SurroundingSpace,
    Scheme,
    NotHttps,
    MissingSlashes,
    EmptyAuthority,
    BackslashInAuthority,
    HostNotAllowed,
    PathRelative,
}

impl Rejection {
    fn as_str(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::TooLong => "too long",
            Self::ControlCharacter => "control character",
            Self::NonAscii => "non-ASCII character",
            Self::SurroundingSpace => "leading or trailing space",
            Self::Scheme => "scheme other than http(s)",
            Self::NotHttps => "not https",
            Self::MissingSlashes => "scheme without //",
            Self::EmptyAuthority => "empty host",
            Self::BackslashInAuthority => "backslash in host",
            Self::HostNotAllowed => "host not allowed",
            Self::PathRelative => "path-relative (not starting with /)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same_origin() -> RedirectPolicy {
        RedirectPolicy::same_origin()
    }

    fn with_host() -> RedirectPolicy {
        RedirectPolicy::same_origin().allow_host("accounts.example.com")
    }

    fn reason(policy: &RedirectPolicy, target: &str) -> Option<Rejection> {
        policy.check(target).err()
    }

    #[test]
    fn default_is_same_origin() {
        assert_eq!(RedirectPolicy::default(), RedirectPolicy::same_origin());
    }

    #[test]
    fn accepts_absolute_path() {
        assert!(same_origin().is_allowed("/account"));
    }

    #[test]
    fn accepts_root_path() {
        assert!(same_origin().is_allowed("/"));
    }

    #[test]
    fn accepts_path_with_query_and_fragment() {
        assert!(same_origin().is_allowed("/a/b?x=1#frag"));
    }

    #[test]
    fn accepts_absolute_url_inside_query() {
        assert!(same_origin().is_allowed("/path?next=http://evil.example"));
        assert!(same_origin().is_allowed("/path?next=//evil.example"));
    }

    #[test]
    fn accepts_backslash_inside_query() {
        assert!(same_origin().is_allowed(r"/path?q=\\evil.example"));
    }

    fn django() -> RedirectPolicy {
        same_origin().allow_path_relative(true)
    }

    #[test]
    fn refuses_path_relative_targets_by_default() {
        for target in ["account", "view/", "@evil.example", "%2F%2Fevil.example", "?page=2", "#top", "path/http:22"] {
            assert_eq!(reason(&same_origin(), target), Some(Rejection::PathRelative), "{target}");
        }
    }

    #[test]
    fn accepts_path_relative_target_when_asked() {
        assert!(django().is_allowed("account"));
        assert!(django().is_allowed("view/"));
    }

    #[test]
    fn accepts_colon_after_first_path_segment_when_path_relative_is_on() {
        assert!(django().is_allowed("path/http:2222222222"));
    }

    #[test]
    fn accepts_query_only_target_when_path_relative_is_on() {
        assert!(django().is_allowed("?page=2"));
    }

    #[test]
    fn accepts_fragment_only_target_when_path_relative_is_on() {
        assert!(django().is_allowed("#top"));
    }

    #[test]
    fn accepts_interior_space() {
        assert!(same_origin().is_allowed("/search?q=a b"));
    }

    #[test]
    fn rejects_empty_target() {
        assert_eq!(reason(&same_origin(), ""), Some(Rejection::Empty));
    }

    #[test]
    fn accepts_target_at_length_limit() {
        let target = format!("/{}", "a".repeat(MAX_TARGET_LEN - 1));
        assert!(same_origin().is_allowed(&target));
    }

    #[test]
    fn rejects_target_over_length_limit() {
        let target = format!("/{}", "a".repeat(MAX_TARGET_LEN));
        assert_eq!(reason(&same_origin(), &target), Some(Rejection::TooLong));
    }

    #[test]
    fn rejects_absolute_url_without_allowed_hosts() {
        assert_eq!(reason(&same_origin(), "https://evil.example/"), Some(Rejection::HostNotAllowed));
    }

    #[test]
    fn rejects_absolute_url_to_other_host() {
        assert!(!with_host().is_allowed("https://evil.example/"));
    }

    #[test]
    fn accepts_absolute_url_to_allowed_host() {
        assert!(with_host().is_allowed("https://accounts.example.com/login"));
        assert!(with_host().is_allowed("http://accounts.example.com"));
    }

    #[test]
    fn accepts_allowed_host_followed_by_query() {
        assert!(with_host().is_allowed("https://accounts.example.com?x=1"));
    }

    #[test]
    fn matches_scheme_and_host_case_insensitively() {
        assert!(with_host().is_allowed("HTTPS://Accounts.Example.COM/"));
        let upper = RedirectPolicy::same_origin().allow_host("ACCOUNTS.example.com");
        assert!(upper.is_allowed("https://accounts.example.com/"));
    }

    #[test]
    fn rejects_subdomain_and_suffix_lookalikes() {
        assert!(!with_host().is_allowed("https://accounts.example.com.evil.example/"));
        assert!(!with_host().is_allowed("https://evil.accounts.example.com/"));
        assert!(!with_host().is_allowed("https://accounts.example.co/"));
    }

    #[test]
    fn rejects_other_port_of_allowed_host() {
        assert!(!with_host().is_allowed("https://accounts.example.com:8443/"));
    }

    #[test]
    fn accepts_listed_host_and_port() {
        let policy = RedirectPolicy::same_origin().allow_host("example.com:8443");
        assert!(policy.is_allowed("https://example.com:8443/"));
        assert!(!policy.is_allowed("https://example.com/"));
    }

    #[test]
    fn rejects_userinfo_in_front_of_other_host() {
        assert!(!with_host().is_allowed("https://accounts.example.com@evil.example/"));
    }

    #[test]
    fn rejects_userinfo_in_front_of_allowed_host() {
        assert!(!with_host().is_allowed("https://user:pass@accounts.example.com/"));
    }

    #[test]
    fn rejects_other_host_with_allowed_host_in_query_or_fragment() {
        assert!(!with_host().is_allowed("https://evil.example?@accounts.example.com/"));
        assert!(!with_host().is_allowed("https://evil.example#@accounts.example.com/"));
    }

    #[test]
    fn rejects_scheme_relative_url() {
        assert_eq!(reason(&same_origin(), "//evil.example"), Some(Rejection::HostNotAllowed));
    }

    #[test]
    fn accepts_scheme_relative_url_to_allowed_host() {
        assert!(with_host().is_allowed("//accounts.example.com/login"));
    }

    #[test]
    fn rejects_triple_slash() {
        assert_eq!(reason(&same_origin(), "///evil.example"), Some(Rejection::EmptyAuthority));
        assert_eq!(reason(&with_host(), "https:///evil.example"), Some(Rejection::EmptyAuthority));
    }

    #[test]
    fn rejects_backslash_as_slash() {
        for target in [r"/\evil.example", r"\\evil.example", r"\/evil.example"] {
            assert_eq!(reason(&same_origin(), target), Some(Rejection::HostNotAllowed), "{target:?}");
        }
    }

    #[test]
    fn rejects_backslash_after_scheme() {
        assert!(!same_origin().is_allowed(r"https:\\evil.example"));
        assert!(!same_origin().is_allowed(r"https:/\evil.example"));
    }

    #[test]
    fn rejects_backslash_after_allowed_host() {
        assert_eq!(
            reason(&with_host(), r"https://accounts.example.com\@evil.example"),
            Some(Rejection::BackslashInAuthority)
        );
    }

    #[test]
    fn rejects_javascript_scheme() {
        assert_eq!(reason(&same_origin(), "javascript:alert(1)"), Some(Rejection::Scheme));
        assert!(!same_origin().is_allowed("JaVaScRiPt:alert(1)"));
    }

    #[test]
    fn rejects_data_scheme() {
        assert!(!same_origin().is_allowed("data:text/html,<script>alert(1)</script>"));
    }

    #[test]
    fn rejects_file_scheme() {
        assert!(!same_origin().is_allowed("file:///etc/passwd"));
    }

    #[test]
    fn rejects_ftp_scheme_even_to_allowed_host() {
        assert_eq!(reason(&with_host(), "ftp://accounts.example.com/"), Some(Rejection::Scheme));
    }

    #[test]
    fn rejects_colon_in_first_segment_without_valid_scheme() {
        assert!(!same_origin().is_allowed(":evil"));
        assert!(!same_origin().is_allowed("1a:evil"));
    }

    #[test]
    fn rejects_scheme_without_slashes() {
        assert_eq!(reason(&with_host(), "https:evil.example"), Some(Rejection::MissingSlashes));
        assert_eq!(reason(&with_host(), "http:/evil.example"), Some(Rejection::MissingSlashes));
        assert!(!with_host().is_allowed("https:accounts.example.com"));
    }

    #[test]
    fn rejects_every_c0_control_and_del() {
        for b in (0u8..0x20).chain([0x7f]) {
            let c = char::from(b);
            for target in [format!("{c}/a"), format!("/a{c}b"), format!("/a{c}")] {
                assert_eq!(reason(&same_origin(), &target), Some(Rejection::ControlCharacter), "{target:?}");
            }
        }
    }

    #[test]
    fn rejects_newline_inside_scheme() {
        assert!(!same_origin().is_allowed("java\nscript:alert(1)"));
        assert!(!same_origin().is_allowed("java\tscript:alert(1)"));
    }

    #[test]
    fn rejects_crlf_header_splitting() {
        assert!(!same_origin().is_allowed("/a\r\nSet-Cookie: x=1"));
    }

    #[test]
    fn rejects_leading_space() {
        assert_eq!(reason(&same_origin(), " //evil.example"), Some(Rejection::SurroundingSpace));
        assert!(!same_origin().is_allowed(" /account"));
    }

    #[test]
    fn rejects_trailing_space() {
        assert_eq!(reason(&same_origin(), "/account "), Some(Rejection::SurroundingSpace));
    }

    #[test]
    fn rejects_non_ascii() {
        assert_eq!(reason(&same_origin(), "/\u{ff0f}evil.example"), Some(Rejection::NonAscii));
        assert!(!same_origin().is_allowed("/caf\u{e9}"));
        assert!(!same_origin().is_allowed("\u{a0}//evil.example"));
    }

    #[test]
    fn require_https_accepts_https_url() {
        assert!(with_host().require_https(true).is_allowed("https://accounts.example.com/"));
    }

    #[test]
    fn require_https_rejects_http_url() {
        assert_eq!(reason(&with_host().require_https(true), "http://accounts.example.com/"), Some(Rejection::NotHttps));
    }

    #[test]
    fn require_https_rejects_scheme_relative_url() {
        assert_eq!(reason(&with_host().require_https(true), "//accounts.example.com/"), Some(Rejection::NotHttps));
    }

    #[test]
    fn require_https_still_accepts_paths() {
        let policy = django().require_https(true);
        assert!(policy.is_allowed("/account"));
        assert!(policy.is_allowed("account"));
    }

    #[test]
    fn require_https_can_be_turned_off_again() {
        let policy = with_host().require_https(true).require_https(false);
        assert!(policy.is_allowed("http://accounts.example.com/"));
    }

    #[test]
    fn empty_allowed_host_matches_nothing() {
        let policy = same_origin().allow_host("");
        assert!(!policy.is_allowed("https:///evil.example"));
        assert!(!policy.is_allowed("//"));
    }

    #[test]
    fn next_or_returns_allowed_target() {
        assert_eq!(same_origin().next_or(Some("/account"), "/"), "/account");
    }

    #[test]
    fn next_or_returns_fallback_for_rejected_target() {
        assert_eq!(same_origin().next_or(Some("//evil.example"), "/"), "/");
    }

    #[test]
    fn next_or_returns_fallback_for_none() {
        assert_eq!(same_origin().next_or(None, "/home"), "/home");
    }

    #[test]
    fn next_or_returns_fallback_for_empty_target() {
        assert_eq!(same_origin().next_or(Some(""), "/home"), "/home");
    }

    #[test]
    fn rejection_reasons_are_short() {
        for r in [
            Rejection::Empty,
            Rejection::TooLong,
            Rejection::ControlCharacter,
            Rejection::NonAscii,
            Rejection::SurroundingSpace,
            Rejection::Scheme,
            Rejection::NotHttps,
            Rejection::MissingSlashes,
            Rejection::EmptyAuthority,
            Rejection::BackslashInAuthority,
            Rejection::HostNotAllowed,
        ] {
            assert!(r.as_str().len() <= 32, "{r:?}");
        }
    }
}
