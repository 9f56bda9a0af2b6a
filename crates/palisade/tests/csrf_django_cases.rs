//! The origin and referer cases of Django's `tests/csrf_tests/tests.py`
//! (`CsrfViewMiddleware`), re-created as a table of inputs and expected
//! outcomes, plus its token-format cases.
//!
//! Django's tests attach a valid token to the origin/referer cases, so the
//! origin check alone decides; here too. "Secure" means the app is served
//! over HTTPS (Palisade's default); insecure cases use
//! `served_over_plain_http()`. Where Palisade deliberately decides otherwise,
//! `differs` says why.

mod csrf_support;

use csrf_support::{form, post_req, App, FORM};
use http::{header, HeaderValue, Request, StatusCode};
use palisade::csrf::{CsrfConfigError, CsrfLayer};

const OK: u16 = 200;
const NO: u16 = 403;

#[derive(Clone, Copy)]
struct Case {
    name: &'static str,
    secure: bool,
    host: &'static str,
    origin: Option<&'static str>,
    referer: Option<&'static [u8]>,
    extra: &'static [(&'static str, &'static str)],
    trusted: &'static [&'static str],
    expected: u16,
    differs: Option<&'static str>,
}

const BASE: Case = Case {
    name: "",
    secure: true,
    host: "www.example.com",
    origin: None,
    referer: None,
    extra: &[],
    trusted: &[],
    expected: NO,
    differs: None,
};

const NO_REFERER_NEEDED: &str = "a missing Referer is not a failure: the token decides. Django insists because its \
    CSRF cookie can be planted over plain HTTP; Palisade's secret lives in the server-side session (or an HMAC-bound \
    __Host- cookie), and requiring a Referer breaks Referrer-Policy: no-referrer";
const NO_FORWARDED: &str = "X-Forwarded-Host/-Port are never trusted (any client can send them)";
const NO_COOKIE_DOMAIN: &str = "no CSRF_COOKIE_DOMAIN: Palisade's cookies are __Host- (host-only), so a sibling \
    subdomain is another origin; list it as a trusted origin instead";

const CASES: &[Case] = &[
    // test_https_bad_referer
    Case { name: "https: referer from another site", referer: Some(b"https://www.evil.org/somepage"), ..BASE },
    // test_https_no_referer
    Case { name: "https: no referer", expected: OK, differs: Some(NO_REFERER_NEEDED), ..BASE },
    // test_https_malformed_host
    Case { name: "https: malformed host", host: "@malformed", referer: Some(b"https://www.evil.org/somepage"), ..BASE },
    // test_origin_malformed_host
    Case { name: "origin with a malformed host", host: "@malformed", origin: Some("https://www.evil.org"), ..BASE },
    // test_https_malformed_referer
    Case { name: "https: referer with a doubled scheme", referer: Some(b"http://http://www.example.com/"), ..BASE },
    Case { name: "https: empty referer", referer: Some(b""), ..BASE },
    Case { name: "https: non-ASCII referer", referer: Some("ØBöIß".as_bytes()), ..BASE },
    Case { name: "https: referer without scheme", referer: Some(b"//example.com/"), ..BASE },
    Case { name: "https: referer without host", referer: Some(b"https://"), ..BASE },
    Case { name: "https: unparsable referer", referer: Some(b"https://["), ..BASE },
    // test_https_good_referer, test_https_good_referer_2
    Case { name: "https: good referer", referer: Some(b"https://www.example.com/somepage"), expected: OK, ..BASE },
    Case { name: "https: good referer, no path", referer: Some(b"https://www.example.com"), expected: OK, ..BASE },
    // test_https_good_referer_behind_proxy
    Case {
        name: "https: good referer behind a proxy",
        host: "10.0.0.2",
        referer: Some(b"https://www.example.com/somepage"),
        extra: &[("x-forwarded-host", "www.example.com"), ("x-forwarded-port", "443")],
        differs: Some(NO_FORWARDED),
        ..BASE
    },
    // test_https_good_referer_malformed_host
    Case {
        name: "https: trusted referer, malformed host",
        host: "@malformed",
        referer: Some(b"https://dashboard.example.com/somepage"),
        trusted: &["https://dashboard.example.com"],
        expected: OK,
        ..BASE
    },
    // test_https_csrf_trusted_origin_allowed
    Case {
        name: "https: referer from a trusted origin",
        referer: Some(b"https://dashboard.example.com"),
        trusted: &["https://dashboard.example.com"],
        expected: OK,
        ..BASE
    },
    // test_https_good_referer_matches_cookie_domain(_with_different_port)
    Case {
        name: "https: referer from a cookie-domain sibling",
        host: "www.example.com",
        referer: Some(b"https://foo.example.com/"),
        differs: Some(NO_COOKIE_DOMAIN),
        ..BASE
    },
    Case {
        name: "https: referer from a cookie-domain sibling on another port",
        host: "www.example.com",
        referer: Some(b"https://foo.example.com:4443/"),
        differs: Some(NO_COOKIE_DOMAIN),
        ..BASE
    },
    // test_https_reject_insecure_referer
    Case { name: "https: insecure referer", host: "example.com", referer: Some(b"http://example.com/"), ..BASE },
    // test_bad_origin_bad_domain
    Case { name: "origin from another site", secure: false, origin: Some("https://www.evil.org"), ..BASE },
    // test_bad_origin_null_origin
    Case { name: "null origin", secure: false, origin: Some("null"), ..BASE },
    // test_bad_origin_bad_protocol
    Case { name: "origin with the wrong scheme", origin: Some("http://example.com"), ..BASE },
    // test_bad_origin_csrf_trusted_origin_bad_protocol (wildcards left out: refused by config)
    Case {
        name: "origin matching no trusted origin's scheme",
        origin: Some("http://foo.example.com"),
        trusted: &["http://no-match.com"],
        ..BASE
    },
    // test_bad_origin_cannot_be_parsed
    Case { name: "unparsable origin", secure: false, origin: Some("https://["), ..BASE },
    // test_good_origin_insecure
    Case { name: "good origin, http", secure: false, origin: Some("http://www.example.com"), expected: OK, ..BASE },
    // test_good_origin_secure
    Case { name: "good origin, https", origin: Some("https://www.example.com"), expected: OK, ..BASE },
    // test_good_origin_csrf_trusted_origin_allowed
    Case {
        name: "trusted origin",
        origin: Some("https://dashboard.example.com"),
        trusted: &["https://dashboard.example.com"],
        expected: OK,
        ..BASE
    },
];

#[tokio::test]
async fn origin_and_referer_cases() {
    for c in CASES {
        let mut builder = CsrfLayer::builder();
        if !c.secure {
            builder = builder.served_over_plain_http();
        }
        for origin in c.trusted {
            builder = builder.trusted_origin(*origin);
        }
        let client = App::new(builder).client();
        let token = client.token().await;
        let mut req = Request::builder().method("POST").uri("/post").header(header::HOST, c.host);
        if let Some(origin) = c.origin {
            req = req.header(header::ORIGIN, origin);
        }
        if let Some(referer) = c.referer {
            req = req.header(header::REFERER, HeaderValue::from_bytes(referer).unwrap());
        }
        for (k, v) in c.extra {
            req = req.header(*k, *v);
        }
        let body = form(&[("csrf_token", &token)]);
        let reply = client.send(req.header(header::CONTENT_TYPE, FORM), body).await;
        assert_eq!(
            reply.status.as_u16(),
            c.expected,
            "{}: {}{}",
            c.name,
            reply.text(),
            c.differs.map(|d| format!(" (differs from Django: {d})")).unwrap_or_default()
        );
        if c.expected == NO {
            assert_eq!(reply.text(), "CSRF check failed: cross-origin request\n", "{}", c.name);
        }
    }
}

/// test_https_csrf_wildcard_trusted_origin_allowed and
/// test_good_origin_wildcard_csrf_trusted_origin_allowed: Django accepts
/// `https://*.example.com`; Palisade refuses wildcards at startup (a
/// wildcard also trusts every forgotten or taken-over subdomain).
#[test]
fn wildcard_trusted_origins_are_refused_at_startup() {
    let err = CsrfLayer::builder().trusted_origin("https://*.example.com").build().unwrap_err();
    assert_eq!(err, CsrfConfigError::InvalidTrustedOrigin { origin: "https://*.example.com".into() });
}

/// test_csrf_cookie_bad_or_missing_token (field and header), test_no_csrf_cookie,
/// test_put_and_delete_rejected / _allowed, test_csrf_token_in_header.
#[tokio::test]
async fn token_cases() {
    let client = App::new(CsrfLayer::builder()).client();
    let token = client.token().await;
    let sixty_four_a = "a".repeat(64);
    let sixty_four_stars = "*".repeat(64);
    let sixteen_a = "a".repeat(16);
    // (method, field token, header token, expected body)
    let cases: &[(&str, Option<&str>, Option<&str>, &str)] = &[
        ("POST", None, None, "missing token"),
        ("POST", Some(&sixteen_a), None, "bad token"),
        ("POST", Some(&sixty_four_stars), None, "bad token"),
        ("POST", Some(&sixty_four_a), None, "bad token"),
        ("POST", None, Some(&sixteen_a), "bad token"),
        ("POST", None, Some(&sixty_four_stars), "bad token"),
        ("POST", None, Some(&sixty_four_a), "bad token"),
        ("POST", Some(&token), None, "accepted"),
        ("POST", None, Some(&token), "accepted"),
        ("PUT", None, None, "missing token"),
        ("DELETE", None, None, "missing token"),
        ("PUT", None, Some(&token), "accepted"),
        ("DELETE", None, Some(&token), "accepted"),
    ];
    for (method, field, header_token, expected) in cases {
        let mut req = Request::builder().method(*method).uri("/post").header(header::CONTENT_TYPE, FORM);
        if let Some(t) = header_token {
            req = req.header("x-csrftoken", *t);
        }
        let body = field.map(|t| form(&[("csrf_token", t)])).unwrap_or_default();
        let reply = client.send(req, body).await;
        let outcome = if reply.status == StatusCode::OK {
            "accepted".to_owned()
        } else {
            reply.text().trim().trim_start_matches("CSRF check failed: ").to_owned()
        };
        assert_eq!(&outcome, expected, "{method} field={field:?} header={header_token:?}");
    }
    // test_no_csrf_cookie: a browser without a session (so without a
    // secret) cannot post at all, which stops login CSRF.
    let stranger = App::new(CsrfLayer::builder()).client();
    let reply = stranger.send(post_req("/post").header("x-csrf-token", &token), "").await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}
