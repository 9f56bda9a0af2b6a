//! A browser-like cookie jar for one scan session: what a browser (and the
//! Observatory's tough-cookie jar) would keep of the `Set-Cookie` headers
//! along a redirect chain. A cookie the browser would refuse (a `Domain`
//! that does not cover the host or is a public suffix, a `__Secure-` or
//! `__Host-` cookie breaking its prefix's rules) is not kept: it cannot
//! hurt anyone, so it is not graded.

use cookie::{Cookie, SameSite};
use std::net::IpAddr;

/// A kept cookie, with the attributes the graders look at.
#[derive(Clone, Debug)]
pub struct StoredCookie {
    pub name: String,
    pub value: String,
    pub domain: String,
    /// The `Domain` attribute was given (the cookie goes to subdomains too).
    pub host_only: bool,
    pub path: String,
    pub secure: bool,
    pub http_only: bool,
    /// `strict`, `lax` or `none`; `None` when absent or not one of them.
    pub same_site: Option<&'static str>,
    pub max_age: Option<i64>,
}

#[derive(Clone, Debug, Default)]
pub struct CookieJar {
    cookies: Vec<StoredCookie>,
}

impl CookieJar {
    pub fn cookies(&self) -> &[StoredCookie] {
        &self.cookies
    }

    /// Stores what `set_cookie`, received from `url`, leaves in a browser.
    pub fn store(&mut self, url: &reqwest::Url, set_cookie: &str) {
        let Some(host) = url.host_str().map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase()) else { return };
        let Ok(cookie) = Cookie::parse(set_cookie.to_owned()) else { return };
        let name = cookie.name().to_owned();
        if name.is_empty() || name == "heroku-session-affinity" || !set_cookie.contains('=') {
            return;
        }
        let (domain, host_only) = match cookie.domain().map(|d| d.trim_start_matches('.').to_ascii_lowercase()) {
            Some(domain) if !domain.is_empty() => {
                // An IP address as Domain has no registrable domain: the
                // Observatory's jar (tough-cookie) refuses the cookie.
                if !domain_matches(&host, &domain) || is_public_suffix(&domain) || domain.parse::<IpAddr>().is_ok() {
                    return;
                }
                (domain, false)
            }
            _ => (host.clone(), true),
        };
        let path = match cookie.path() {
            Some(p) if p.starts_with('/') => p.to_owned(),
            _ => default_path(url),
        };
        let secure = cookie.secure().unwrap_or(false);
        if name.starts_with("__Secure-") && !secure {
            return;
        }
        if name.starts_with("__Host-") && (!secure || !host_only || path != "/") {
            return;
        }
        let same_site = cookie.same_site().map(|s| match s {
            SameSite::Strict => "strict",
            SameSite::Lax => "lax",
            SameSite::None => "none",
        });
        let stored = StoredCookie {
            value: cookie.value().to_owned(),
            domain,
            host_only,
            path,
            secure,
            http_only: cookie.http_only().unwrap_or(false),
            same_site,
            max_age: cookie.max_age().map(|d| d.whole_seconds()),
            name,
        };
        self.cookies.retain(|c| !(c.name == stored.name && c.domain == stored.domain && c.path == stored.path));
        self.cookies.push(stored);
    }

    /// The `Cookie` header a browser sends to `url`.
    pub fn header_for(&self, url: &reqwest::Url) -> Option<String> {
        let host = url.host_str()?.trim_matches(['[', ']']).to_ascii_lowercase();
        let https = url.scheme() == "https";
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .filter(|c| if c.host_only { c.domain == host } else { domain_matches(&host, &c.domain) })
            .filter(|c| path_matches(url.path(), &c.path) && (https || !c.secure))
            .filter(|c| c.max_age.is_none_or(|age| age > 0))
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }
}

/// RFC 6265 §5.1.3: `host` is `domain` or a subdomain of it (never for
/// IP addresses, which only match themselves).
fn domain_matches(host: &str, domain: &str) -> bool {
    if host == domain {
        return true;
    }
    host.parse::<IpAddr>().is_err() && host.ends_with(domain) && host[..host.len() - domain.len()].ends_with('.')
}

/// A `Domain` of `com` or `co.uk` would set a cookie for every site under it.
fn is_public_suffix(domain: &str) -> bool {
    domain != "localhost" && domain.parse::<IpAddr>().is_err() && psl::suffix_str(domain) == Some(domain)
}

/// RFC 6265 §5.1.4's default path: the request path up to its last `/`.
fn default_path(url: &reqwest::Url) -> String {
    let path = url.path();
    match path.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(i) => path[..i].to_owned(),
    }
}

fn path_matches(request: &str, cookie: &str) -> bool {
    request == cookie
        || (request.starts_with(cookie) && (cookie.ends_with('/') || request[cookie.len()..].starts_with('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> reqwest::Url {
        reqwest::Url::parse(text).unwrap()
    }

    #[test]
    fn a_browser_refuses_what_the_jar_refuses() {
        let mut jar = CookieJar::default();
        let site = url("https://app.example.com/login/form");
        jar.store(&site, "a=1; Domain=other.example");
        jar.store(&site, "b=1; Domain=com");
        jar.store(&site, "__Secure-c=1");
        jar.store(&site, "__Host-d=1; Secure; Domain=example.com");
        jar.store(&site, "__Host-e=1; Secure; Path=/");
        jar.store(&site, "f=1; Domain=.example.com; Path=/; SameSite=Bogus");
        jar.store(&site, "g=1");
        let names: Vec<&str> = jar.cookies().iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["__Host-e", "f", "g"]);
        assert_eq!(jar.cookies()[1].same_site, None, "an invalid SameSite counts as absent");
        assert_eq!(jar.cookies()[2].path, "/login", "the default path");
        assert_eq!(jar.header_for(&url("https://www.example.com/")).as_deref(), Some("f=1"));
        assert_eq!(jar.header_for(&url("http://app.example.com/login/x")).as_deref(), Some("f=1; g=1"));
    }

    #[test]
    fn a_later_cookie_replaces_an_earlier_one_of_the_same_name_domain_and_path() {
        let mut jar = CookieJar::default();
        let site = url("http://127.0.0.2/");
        jar.store(&site, "s=1");
        jar.store(&site, "s=2; HttpOnly");
        jar.store(&site, "t=1; Domain=127.0.0.3");
        assert_eq!(jar.cookies().len(), 1);
        assert!(jar.cookies()[0].http_only);
    }
}
