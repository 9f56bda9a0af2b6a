//! The cases of Go's `net/http` `CrossOriginProtection` tests
//! (`src/net/http/csrf_test.go`), re-created as a table of inputs and
//! expected outcomes for Palisade's origin check.
//!
//! Each case runs twice: in [`Checks::OriginOnly`] mode (Go's model: no
//! tokens) and in the default mode with a valid token attached (the token
//! never overrides an origin decision). Where Palisade deliberately decides
//! otherwise than Go, `differs` says why.

mod csrf_support;

use csrf_support::{post_req, App};
use http::{Request, StatusCode};
use palisade::csrf::{Checks, CsrfConfigError, CsrfLayer, CsrfLayerBuilder};

const OK: u16 = 200;
const NO: u16 = 403;

struct Case {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    host: &'static str,
    sec_fetch_site: Option<&'static str>,
    origin: Option<&'static str>,
    expected: u16,
    /// Why Palisade's outcome differs from Go's, when it does.
    differs: Option<&'static str>,
}

const fn case(
    name: &'static str,
    method: &'static str,
    sec_fetch_site: Option<&'static str>,
    origin: Option<&'static str>,
    expected: u16,
) -> Case {
    Case { name, method, path: "/", host: "example.com", sec_fetch_site, origin, expected, differs: None }
}

/// Go's `TestCrossOriginProtectionSecFetchSite`: a request to https://example.com/.
const SEC_FETCH_SITE: &[Case] = &[
    case("same-origin allowed", "POST", Some("same-origin"), None, OK),
    case("none allowed", "POST", Some("none"), None, OK),
    case("cross-site blocked", "POST", Some("cross-site"), None, NO),
    case("same-site blocked", "POST", Some("same-site"), None, NO),
    case("no header with no origin", "POST", None, None, OK),
    case("no header with matching origin", "POST", None, Some("https://example.com"), OK),
    case("no header with mismatched origin", "POST", None, Some("https://attacker.example"), NO),
    case("no header with null origin", "POST", None, Some("null"), NO),
    case("GET allowed", "GET", Some("cross-site"), None, OK),
    case("HEAD allowed", "HEAD", Some("cross-site"), None, OK),
    case("OPTIONS allowed", "OPTIONS", Some("cross-site"), None, OK),
    case("PUT blocked", "PUT", Some("cross-site"), None, NO),
];

/// Go's `TestCrossOriginProtectionTrustedOriginBypass`, trusting https://trusted.example.
const TRUSTED_ORIGIN: &[Case] = &[
    case("trusted origin without sec-fetch-site", "POST", None, Some("https://trusted.example"), OK),
    case("trusted origin with cross-site", "POST", Some("cross-site"), Some("https://trusted.example"), OK),
    case("untrusted origin without sec-fetch-site", "POST", None, Some("https://attacker.example"), NO),
    case("untrusted origin with cross-site", "POST", Some("cross-site"), Some("https://attacker.example"), NO),
];

const fn path_case(
    name: &'static str,
    path: &'static str,
    sec_fetch_site: Option<&'static str>,
    expected: u16,
    differs: Option<&'static str>,
) -> Case {
    Case {
        name,
        method: "POST",
        path,
        host: "example.com",
        sec_fetch_site,
        origin: Some("https://attacker.example"),
        expected,
        differs,
    }
}

const EXACT_ONLY: &str = "Palisade exempts exact paths only: no prefix patterns, no path cleaning, no wildcards";

/// Go's `TestCrossOriginProtectionPatternBypass`. Go's bypass patterns are
/// ServeMux patterns (`/bypass/` is a prefix, `/only/{foo}` a wildcard);
/// Palisade's `exempt("/bypass/")` is one exact path, so requests Go lets
/// through by pattern are refused here.
const PATH_BYPASS: &[Case] = &[
    path_case("bypass path without sec-fetch-site", "/bypass/", None, OK, None),
    path_case("bypass path with cross-site", "/bypass/", Some("cross-site"), OK, None),
    path_case("non-bypass path without sec-fetch-site", "/api/", None, NO, None),
    path_case("non-bypass path with cross-site", "/api/", Some("cross-site"), NO, None),
    path_case("redirect to bypass path without ..", "/foo/../bypass/bar", None, NO, Some(EXACT_ONLY)),
    path_case("redirect to bypass path with trailing slash", "/bypass", None, NO, Some(EXACT_ONLY)),
    path_case("redirect to non-bypass path with ..", "/foo/../api/bar", None, NO, None),
    path_case("redirect to non-bypass path with trailing slash", "/api", None, NO, None),
    path_case("wildcard bypass", "/only/123", None, NO, Some(EXACT_ONLY)),
    path_case("non-wildcard", "/only/123/foo", None, NO, None),
];

/// Go's `TestCrossOriginProtectionServer`: a plain-HTTP test server on
/// 127.0.0.1, trusting https://trusted.example and bypassing /bypass/.
const SERVER: &[Case] = &[
    Case {
        host: "127.0.0.1:8080",
        ..case("cross-site", "POST", Some("cross-site"), Some("https://attacker.example"), NO)
    },
    Case { host: "127.0.0.1:8080", ..case("same-origin", "POST", Some("same-origin"), None, OK) },
    Case { host: "127.0.0.1:8080", ..case("origin matches host", "POST", None, Some("http://127.0.0.1:8080"), OK) },
    Case { host: "127.0.0.1:8080", ..case("trusted origin", "POST", None, Some("https://trusted.example"), OK) },
    Case { host: "127.0.0.1:8080", ..case("untrusted origin", "POST", None, Some("https://attacker.example"), NO) },
    Case {
        host: "127.0.0.1:8080",
        path: "/bypass/",
        ..case("bypass path", "POST", None, Some("https://attacker.example"), OK)
    },
];

fn configured(builder: CsrfLayerBuilder) -> CsrfLayerBuilder {
    builder.trusted_origin("https://trusted.example").exempt("/bypass/")
}

async fn run(table: &[Case], plain_http: bool) {
    let mut checked = 0;
    for mode in ["origin only", "origin and token, valid token"] {
        let mut builder = configured(CsrfLayer::builder());
        if plain_http {
            builder = builder.served_over_plain_http();
        }
        if mode == "origin only" {
            builder = builder.checks(Checks::OriginOnly);
        }
        let app = App::new(builder);
        let client = app.client();
        let token = client.token().await;
        for c in table {
            let mut req = Request::builder().method(c.method).uri(c.path).header("host", c.host);
            if let Some(site) = c.sec_fetch_site {
                req = req.header("sec-fetch-site", site);
            }
            if let Some(origin) = c.origin {
                req = req.header("origin", origin);
            }
            req = req.header("x-csrf-token", &token);
            let reply = client.send(req, "body").await;
            assert_eq!(
                reply.status.as_u16(),
                c.expected,
                "[{mode}] {}: {}{}",
                c.name,
                reply.text(),
                c.differs.map(|d| format!(" (differs from Go: {d})")).unwrap_or_default()
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 2 * table.len());
}

#[tokio::test]
async fn sec_fetch_site_cases() {
    run(SEC_FETCH_SITE, false).await;
}

#[tokio::test]
async fn trusted_origin_cases() {
    run(TRUSTED_ORIGIN, false).await;
}

#[tokio::test]
async fn path_bypass_cases() {
    run(PATH_BYPASS, false).await;
}

#[tokio::test]
async fn server_cases() {
    run(SERVER, true).await;
}

#[tokio::test]
async fn without_headers_the_default_mode_wants_a_token() {
    // Go lets "no header with no origin" through (no tokens in Go); by
    // default Palisade then asks for the token.
    let client = App::new(CsrfLayer::builder()).client();
    let reply = client.send(post_req("/"), "body").await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}

/// Go's `TestCrossOriginProtectionAddTrustedOriginErrors`: which trusted
/// origins are accepted at configuration time.
#[test]
fn trusted_origin_validation_cases() {
    let cases: &[(&str, &str, bool)] = &[
        ("valid origin", "https://example.com", true),
        ("valid origin with port", "https://example.com:8080", true),
        ("http origin", "http://example.com", true),
        ("missing scheme", "example.com", false),
        ("missing host", "https://", false),
        ("trailing slash", "https://example.com/", false),
        ("with path", "https://example.com/path", false),
        ("with query", "https://example.com?query=value", false),
        ("with fragment", "https://example.com#fragment", false),
        ("invalid url", "https://ex ample.com", false),
        ("empty string", "", false),
        ("null", "null", false),
    ];
    for (name, origin, ok) in cases {
        let built = CsrfLayer::builder().trusted_origin(*origin).build();
        match (built, ok) {
            (Ok(_), true) => {}
            (Err(CsrfConfigError::InvalidTrustedOrigin { origin: refused }), false) => assert_eq!(&refused, origin),
            (other, _) => panic!("{name}: {origin:?} gave {other:?}"),
        }
    }
}
