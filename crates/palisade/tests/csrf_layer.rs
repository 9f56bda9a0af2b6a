//! The CSRF layer end to end through an axum router (session layer outside,
//! CSRF layer inside), one behaviour per test.

mod csrf_support;

use axum::body::{Body, Bytes};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use csrf_support::{default_layer, form, get_req, post_req, App, Client, FORM};
use http::{header, Request, StatusCode};
use palisade::csrf::CsrfTokenRejection;
use palisade::csrf::{Checks, CsrfLayer, DOUBLE_SUBMIT_COOKIE};
use palisade::keys::KeyRing;
use std::sync::Mutex;

const MISSING: &str = "CSRF check failed: missing token\n";
const BAD: &str = "CSRF check failed: bad token\n";
const CROSS: &str = "CSRF check failed: cross-origin request\n";

async fn post_with_header(c: &Client, token: &str, extra: &[(&str, &str)]) -> csrf_support::Reply {
    let mut req = post_req("/submit").header("x-csrf-token", token);
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    c.send(req, "payload").await
}

#[tokio::test]
async fn safe_methods_pass_even_cross_site_and_without_a_token() {
    let app = App::new(default_layer());
    let c = app.client();
    for method in ["GET", "HEAD", "OPTIONS", "TRACE"] {
        let req = Request::builder().method(method).uri("/submit").header("sec-fetch-site", "cross-site");
        let reply = c.send(req, Body::empty()).await;
        assert_eq!(reply.status, StatusCode::OK, "{method}");
        assert!(!reply.vary().iter().any(|v| v.contains("Origin")), "{method}: unchecked, no Vary: Origin");
    }
    for method in ["POST", "PUT", "PATCH", "DELETE", "PURGE"] {
        let req = Request::builder().method(method).uri("/submit");
        let reply = c.send(req, Body::empty()).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{method} is checked");
        assert_eq!(reply.text(), MISSING);
    }
}

#[tokio::test]
async fn origin_check_cases_with_a_valid_token() {
    let app = App::new(default_layer());
    let c = app.client();
    let token = c.token().await;
    type Headers = &'static [(&'static str, &'static str)];
    let cases: &[(&str, Headers, StatusCode)] = &[
        ("Sec-Fetch-Site same-origin", &[("sec-fetch-site", "same-origin")], StatusCode::OK),
        ("Sec-Fetch-Site none (typed URL, bookmark)", &[("sec-fetch-site", "none")], StatusCode::OK),
        ("Sec-Fetch-Site same-site", &[("sec-fetch-site", "same-site")], StatusCode::FORBIDDEN),
        ("Sec-Fetch-Site cross-site", &[("sec-fetch-site", "cross-site")], StatusCode::FORBIDDEN),
        ("Origin equal to own origin", &[("origin", "https://example.com")], StatusCode::OK),
        ("Origin with default port spelled out", &[("origin", "https://example.com:443")], StatusCode::OK),
        ("Origin differs by scheme", &[("origin", "http://example.com")], StatusCode::FORBIDDEN),
        ("Origin differs by host", &[("origin", "https://evil.example")], StatusCode::FORBIDDEN),
        ("Origin suffix trick", &[("origin", "https://example.com.evil.example")], StatusCode::FORBIDDEN),
        ("Origin differs by port", &[("origin", "https://example.com:8443")], StatusCode::FORBIDDEN),
        ("Origin: null", &[("origin", "null")], StatusCode::FORBIDDEN),
        ("no origin headers: the token decides", &[], StatusCode::OK),
    ];
    for (name, headers, expected) in cases {
        let reply = post_with_header(&c, &token, headers).await;
        assert_eq!(reply.status, *expected, "{name}");
        if *expected == StatusCode::FORBIDDEN {
            assert_eq!(reply.text(), CROSS, "{name}");
        }
    }
}

#[tokio::test]
async fn origin_check_runs_before_the_token_and_no_headers_need_a_token() {
    let app = App::new(default_layer());
    let c = app.client();
    let reply = c.send(post_req("/submit").header("sec-fetch-site", "cross-site"), "x").await;
    assert_eq!(reply.text(), CROSS, "cross-origin is reported before a missing token");
    let reply = c.send(post_req("/submit"), "x").await;
    assert_eq!((reply.status, reply.text().as_str()), (StatusCode::FORBIDDEN, MISSING));
}

#[tokio::test]
async fn the_scheme_of_the_own_origin_comes_from_config_not_forwarded_headers() {
    let https = App::new(default_layer()).client();
    let token = https.token().await;
    let spoofed = [("origin", "http://example.com"), ("x-forwarded-proto", "http")];
    assert_eq!(post_with_header(&https, &token, &spoofed).await.status, StatusCode::FORBIDDEN);

    let http = App::new(default_layer().served_over_plain_http()).client();
    let token = http.token().await;
    assert_eq!(post_with_header(&http, &token, &[("origin", "http://example.com")]).await.status, StatusCode::OK);
    assert_eq!(
        post_with_header(&http, &token, &[("origin", "https://example.com")]).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn masked_tokens_differ_per_render_and_all_verify() {
    let app = App::new(default_layer());
    let c = app.client();
    c.token().await; // creates the session and its secret
    let reply = c.send(get_req("/tokens/8"), Body::empty()).await;
    let tokens: Vec<String> = reply.text().lines().map(str::to_owned).collect();
    assert_eq!(tokens.len(), 8);
    let distinct: std::collections::BTreeSet<&String> = tokens.iter().collect();
    assert_eq!(distinct.len(), 8, "a fresh pad per render");
    let again = c.token().await;
    assert!(!tokens.contains(&again), "and per response");
    for token in tokens.iter().chain([&again]) {
        assert_eq!(URL_SAFE_NO_PAD.decode(token).unwrap().len(), 64, "pad || pad XOR secret");
        assert_eq!(post_with_header(&c, token, &[]).await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn a_token_from_another_session_fails() {
    let app = App::new(default_layer());
    let alice = app.client();
    let mallory = app.client();
    let mallorys_token = mallory.token().await;
    alice.token().await; // Alice has a session and a secret of her own
    let reply = post_with_header(&alice, &mallorys_token, &[]).await;
    assert_eq!((reply.status, reply.text().as_str()), (StatusCode::FORBIDDEN, BAD));
    // And a browser without any secret yet refuses every token, with the
    // page a stale form gets (it cannot be told apart from one).
    let fresh = app.client();
    let reply = post_with_header(&fresh, &mallorys_token, &[]).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.text().contains("Your session expired"), "{}", reply.text());
}

#[tokio::test]
async fn truncated_or_non_base64_tokens_are_rejected_cleanly() {
    let app = App::new(default_layer());
    let c = app.client();
    let token = c.token().await;
    let mut flipped = URL_SAFE_NO_PAD.decode(&token).unwrap();
    flipped[40] ^= 1;
    let flipped = URL_SAFE_NO_PAD.encode(flipped);
    let long = "A".repeat(10_000);
    for bad in [
        &token[..token.len() - 1],
        &token[..token.len() / 2],
        "a",
        "not base64 at all!",
        "****************************************************************",
        &format!("{token}{token}"),
        flipped.as_str(),
        long.as_str(),
    ] {
        let reply = post_with_header(&c, bad, &[]).await;
        assert_eq!((reply.status, reply.text().as_str()), (StatusCode::FORBIDDEN, BAD), "{bad:.30}");
        let body = form(&[("csrf_token", bad)]);
        let reply = c.send(post_req("/submit").header(header::CONTENT_TYPE, FORM), body).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "form field {bad:.30}");
    }
    // A header that is not even visible ASCII.
    let value = http::HeaderValue::from_bytes(b"\xff\xfe").unwrap();
    let reply = c.send(post_req("/submit").header("x-csrf-token", value), "x").await;
    assert_eq!(reply.text(), BAD);
    assert_eq!(post_with_header(&c, &token, &[]).await.status, StatusCode::OK, "the real token still works");
}

#[tokio::test]
async fn header_and_form_field_both_work() {
    let app = App::new(default_layer());
    let c = app.client();
    for header_name in ["X-CSRF-Token", "X-CSRFToken"] {
        let token = c.token().await;
        let reply = c.send(post_req("/submit").header(header_name, token), "x").await;
        assert_eq!(reply.status, StatusCode::OK, "{header_name}");
    }
    let token = c.token().await;
    let body = form(&[("title", "hello"), ("csrf_token", &token)]);
    let reply = c.send(post_req("/submit").header(header::CONTENT_TYPE, FORM), body).await;
    assert_eq!(reply.status, StatusCode::OK);
    // A form without the field, and a JSON body (not searched), are refused.
    let reply = c.send(post_req("/submit").header(header::CONTENT_TYPE, FORM), form(&[("title", "x")])).await;
    assert_eq!(reply.text(), MISSING);
    let json = format!(r#"{{"csrf_token":"{token}"}}"#);
    let reply = c.send(post_req("/submit").header(header::CONTENT_TYPE, "application/json"), json).await;
    assert_eq!(reply.text(), MISSING, "only form bodies are searched");
}

fn multipart(boundary: &str, fields: &[(&str, &str)]) -> String {
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"));
    }
    body.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nfile contents\r\n--{boundary}--\r\n"));
    body
}

#[tokio::test]
async fn multipart_forms_work_and_reach_the_handler_unchanged() {
    let app = App::new(default_layer());
    let c = app.client();
    let token = c.token().await;
    let body = multipart("b0undary", &[("title", "hi"), ("csrf_token", &token)]);
    let content_type = "multipart/form-data; boundary=b0undary";
    let reply = c.send(post_req("/submit").header(header::CONTENT_TYPE, content_type), body.clone()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, Bytes::from(body), "the handler saw the same bytes");

    let body = multipart("b0undary", &[("title", "hi")]);
    let reply = c.send(post_req("/submit").header(header::CONTENT_TYPE, content_type), body).await;
    assert_eq!(reply.text(), MISSING);
    let body = multipart("b0undary", &[("csrf_token", "forged")]);
    let reply = c.send(post_req("/submit").header(header::CONTENT_TYPE, content_type), body).await;
    assert_eq!(reply.text(), BAD);
}

#[tokio::test]
async fn the_body_is_passed_on_unchanged() {
    let app = App::new(default_layer());
    let c = app.client();
    let token = c.token().await;
    let body = format!("a=1&csrf_token={token}&b=%E2%9C%93+x&b=2");
    let reply = c.send(post_req("/submit").header(header::CONTENT_TYPE, FORM), body.clone()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, Bytes::from(body));
    // With the header, the body is not touched at all (any size, any type).
    let big = vec![7u8; 200_000];
    let req = post_req("/submit").header("x-csrf-token", &token).header(header::CONTENT_TYPE, FORM);
    let reply = c.send(req, big.clone()).await;
    assert_eq!((reply.status, reply.body.len()), (StatusCode::OK, big.len()));
}

#[tokio::test]
async fn an_oversized_body_gets_413_not_a_panic() {
    let app = App::new(default_layer().max_body_bytes(1024));
    let c = app.client();
    let token = c.token().await;
    let body = form(&[("padding", &"x".repeat(2048)), ("csrf_token", &token)]);
    let reply = c.send(post_req("/submit").header(header::CONTENT_TYPE, FORM), body.clone()).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(reply.text().starts_with("CSRF check failed: body too large"));
    // Without Content-Length (streamed): the limit still holds.
    let chunks: Vec<Result<Bytes, std::io::Error>> =
        body.as_bytes().chunks(100).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    let streamed = Body::from_stream(futures_util::stream::iter(chunks));
    let reply = c.send(post_req("/submit").header(header::CONTENT_TYPE, FORM), streamed).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Within the limit it passes.
    let body = form(&[("padding", "short"), ("csrf_token", &token)]);
    let reply = c.send(post_req("/submit").header(header::CONTENT_TYPE, FORM), body).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn exempt_routes_pass_and_only_exactly_those() {
    let app = App::new(default_layer().exempt("/webhook"));
    let c = app.client();
    let req = post_req("/webhook").header("sec-fetch-site", "cross-site").header("origin", "https://sender.example");
    let reply = c.send(req, "event").await;
    assert_eq!((reply.status, reply.text().as_str()), (StatusCode::OK, "event"));
    let reply = c.send(post_req("/webhook/").header("sec-fetch-site", "cross-site"), "event").await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "a trailing slash is another path");
    let reply = c.send(post_req("/webhooks"), "event").await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn trusted_origins_pass_the_origin_check_but_still_need_the_token() {
    let app = App::new(default_layer().trusted_origin("https://admin.example.com"));
    let c = app.client();
    let token = c.token().await;
    let from_admin = [("sec-fetch-site", "same-site"), ("origin", "https://admin.example.com")];
    assert_eq!(post_with_header(&c, &token, &from_admin).await.status, StatusCode::OK);
    let mut req = post_req("/submit");
    for (k, v) in from_admin {
        req = req.header(k, v);
    }
    assert_eq!(c.send(req, "x").await.text(), MISSING);
    let lookalike = [("sec-fetch-site", "same-site"), ("origin", "https://admin.example.com.evil.example")];
    assert_eq!(post_with_header(&c, &token, &lookalike).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn rejections_are_short_uncached_and_vary_on_origin() {
    let app = App::new(default_layer());
    let c = app.client();
    let reply = c.send(post_req("/submit"), "x").await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(reply.vary(), ["Origin, Sec-Fetch-Site"]);
    // An accepted checked request keeps the handler's own Vary and gains ours.
    let token = c.token().await;
    let reply = post_with_header(&c, &token, &[]).await;
    let vary = reply.vary().join(", ");
    assert!(vary.contains("Accept-Encoding") && vary.contains("Origin, Sec-Fetch-Site"), "{vary}");
}

#[tokio::test]
async fn tokens_are_lazy_no_session_write_unless_one_is_rendered() {
    let app = App::new(default_layer());
    let c = app.client();
    for path in ["/plain", "/token-unused"] {
        let reply = c.send(get_req(path), Body::empty()).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert!(reply.set_cookies().is_empty(), "{path} set a cookie");
        assert_eq!(app.store.counts().writes(), 0, "{path} wrote to the store");
    }
    // A visitor without a session keeps the secret in a signed cookie: no
    // store write at all.
    c.token().await;
    assert_eq!(app.store.counts().writes(), 0, "an anonymous secret costs no store write");
    assert!(c.cookie("__Host-session").is_none());
    let anonymous = c.cookie("__Host-csrf").expect("the signed anonymous secret");
    c.token().await;
    c.send(get_req("/token-unused"), Body::empty()).await;
    assert_eq!(c.cookie("__Host-csrf"), Some(anonymous), "later renders reuse it");
    // A stored session keeps its secret in the session: one write, once.
    c.send(get_req("/visit"), Body::empty()).await;
    let writes = app.store.counts().writes();
    c.token().await;
    assert_eq!(app.store.counts().writes(), writes + 1, "rendering a token stores the secret once");
    c.token().await;
    assert_eq!(app.store.counts().writes(), writes + 1, "later renders reuse the stored secret");
}

#[tokio::test]
async fn the_secret_rotates_with_the_session_id_at_login() {
    let app = App::new(default_layer());
    let c = app.client();
    let before_login = c.token().await;
    assert!(c.cookie("__Host-session").is_none(), "no session before login, only the anonymous secret");
    let reply = post_with_header(&c, &before_login, &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "valid before login");
    let reply = c.send(post_req("/login").header("x-csrf-token", &before_login), Body::empty()).await;
    assert_eq!(reply.status, StatusCode::OK, "login itself is protected and passes");
    assert!(c.cookie("__Host-session").is_some(), "login started the session");
    assert!(c.cookie("__Host-csrf").is_none(), "and removed the anonymous secret");

    // A token learnt before login (login CSRF, a shared computer) is dead now.
    let reply = post_with_header(&c, &before_login, &[]).await;
    assert_eq!((reply.status, reply.text().as_str()), (StatusCode::FORBIDDEN, BAD));
    let after_login = c.token().await;
    assert_eq!(post_with_header(&c, &after_login, &[]).await.status, StatusCode::OK);
}

#[tokio::test]
async fn without_a_session_layer_checks_fail_closed_and_the_extractor_says_what_to_add() {
    let app = App::without_sessions(default_layer());
    let c = app.client();
    // The client gets a plain 500; the fix goes to the log (and the error's
    // own text, which the log line carries).
    let reply = c.send(get_req("/token"), Body::empty()).await;
    assert_eq!((reply.status, reply.text().as_str()), (StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.\n"));
    assert!(CsrfTokenRejection::MissingSessionLayer.to_string().contains("add `SessionLayer`"));
    let reply = c.send(post_req("/submit").header("x-csrf-token", "x"), "x").await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);

    // No CSRF layer at all: a plain 500, no panic.
    let bare = csrf_support::routes();
    let c = Client { router: bare, jar: Mutex::new(Default::default()) };
    let reply = c.send(get_req("/token"), Body::empty()).await;
    assert_eq!((reply.status, reply.text().as_str()), (StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.\n"));
    assert!(CsrfTokenRejection::MissingLayer.to_string().contains("add `CsrfLayer`"));
}

#[tokio::test]
async fn origin_only_mode_needs_no_token_and_token_only_mode_ignores_origins() {
    let origin_only = App::new(default_layer().checks(Checks::OriginOnly)).client();
    let reply = origin_only.send(post_req("/submit").header("sec-fetch-site", "same-origin"), "x").await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = origin_only.send(post_req("/submit").header("sec-fetch-site", "cross-site"), "x").await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);

    let token_only = App::new(default_layer().checks(Checks::TokenOnly)).client();
    let token = token_only.token().await;
    let reply = post_with_header(&token_only, &token, &[("sec-fetch-site", "cross-site")]).await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = token_only.send(post_req("/submit").header("sec-fetch-site", "same-origin"), "x").await;
    assert_eq!(reply.text(), MISSING);
}

/// A WebSocket handshake is a GET, so the safe-method rule would let it
/// through, yet the browser sends the site's cookies with it: a page on
/// evil.example opening `wss://example.com/ws` talks to the app as the
/// signed-in user (cross-site WebSocket hijacking). Browsers always send
/// `Origin` on it (RFC 6455 §4.1), so the layer checks that.
fn websocket(origin: Option<&str>) -> http::request::Builder {
    let mut req = get_req("/ws")
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
    if let Some(origin) = origin {
        req = req.header(header::ORIGIN, origin);
    }
    req
}

#[tokio::test]
async fn a_websocket_handshake_from_another_origin_is_refused() {
    for checks in [Checks::OriginAndToken, Checks::OriginOnly, Checks::TokenOnly] {
        let app = App::new(default_layer().checks(checks).trusted_origin("https://admin.example.com"));
        let c = app.client();
        type Case = (&'static str, Option<&'static str>, StatusCode);
        let cases: &[Case] = &[
            ("own origin", Some("https://example.com"), StatusCode::OK),
            ("own origin, default port", Some("https://example.com:443"), StatusCode::OK),
            ("trusted origin", Some("https://admin.example.com"), StatusCode::OK),
            ("no Origin: not a browser, so no ambient cookies to abuse", None, StatusCode::OK),
            ("another site", Some("https://evil.example"), StatusCode::FORBIDDEN),
            ("suffix trick", Some("https://example.com.evil.example"), StatusCode::FORBIDDEN),
            ("plain-HTTP twin", Some("http://example.com"), StatusCode::FORBIDDEN),
            ("null (sandboxed frame)", Some("null"), StatusCode::FORBIDDEN),
            ("not an origin", Some("https://example.com/path"), StatusCode::FORBIDDEN),
        ];
        for (name, origin, expected) in cases {
            let reply = c.send(websocket(*origin), Body::empty()).await;
            assert_eq!(reply.status, *expected, "{checks:?}: {name}");
            if *expected == StatusCode::FORBIDDEN {
                assert_eq!(reply.text(), CROSS, "{name}");
                assert!(reply.vary().iter().any(|v| v.contains("Origin")), "{name}: the answer depends on Origin");
            }
        }
        // Case and spacing of the upgrade token do not matter (RFC 9110 §7.8).
        let req = get_req("/ws").header(header::UPGRADE, "WebSocket").header(header::ORIGIN, "https://evil.example");
        assert_eq!(c.send(req, Body::empty()).await.status, StatusCode::FORBIDDEN, "{checks:?}");
        // A plain GET from another site is still a safe request.
        let req = get_req("/ws").header(header::ORIGIN, "https://evil.example");
        assert_eq!(c.send(req, Body::empty()).await.status, StatusCode::OK, "{checks:?}");
    }
}

#[tokio::test]
async fn an_exempt_path_accepts_websockets_from_anywhere() {
    let app = App::new(default_layer().exempt("/ws"));
    let reply = app.client().send(websocket(Some("https://evil.example")), Body::empty()).await;
    assert_eq!(reply.status, StatusCode::OK);
}

// ---- double-submit cookies ----

fn double_submit_app() -> App {
    App::new(CsrfLayer::double_submit(&KeyRing::generate()))
}

#[tokio::test]
async fn double_submit_cookie_is_script_readable_host_only_and_lazy() {
    let app = double_submit_app();
    let c = app.client();
    let reply = c.send(get_req("/plain"), Body::empty()).await;
    assert!(reply.set_cookies().is_empty(), "no cookie unless a token is rendered");
    let reply = c.send(get_req("/token"), Body::empty()).await;
    let set = reply.set_cookies().into_iter().find(|s| s.starts_with(DOUBLE_SUBMIT_COOKIE)).expect("cookie set");
    for part in ["Secure", "SameSite=Lax", "Path=/"] {
        assert!(set.contains(part), "{set} lacks {part}");
    }
    assert!(!set.contains("HttpOnly"), "script must read it: {set}");
    assert!(!set.contains("Domain"), "{set}");
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
    // A second render reuses the cookie.
    let reply = c.send(get_req("/token"), Body::empty()).await;
    assert!(reply.set_cookies().is_empty());
}

#[tokio::test]
async fn double_submit_accepts_the_echoed_cookie_or_a_masked_token_only() {
    let app = double_submit_app();
    let c = app.client();
    let masked = c.token().await;
    let cookie = c.cookie(DOUBLE_SUBMIT_COOKIE).unwrap();
    assert_ne!(masked, cookie, "rendered tokens are masked too");
    assert_eq!(post_with_header(&c, &cookie, &[]).await.status, StatusCode::OK, "script echoes the cookie");
    assert_eq!(post_with_header(&c, &masked, &[]).await.status, StatusCode::OK, "a rendered form");
    let body = form(&[("csrf_token", &masked)]);
    let reply = c.send(post_req("/submit").header(header::CONTENT_TYPE, FORM), body).await;
    assert_eq!(reply.status, StatusCode::OK, "form field");
    assert_eq!(c.send(post_req("/submit"), "x").await.text(), MISSING);
    assert_eq!(post_with_header(&c, "forged", &[]).await.text(), BAD);
    assert_eq!(post_with_header(&c, &cookie, &[("sec-fetch-site", "cross-site")]).await.text(), CROSS);
}

#[tokio::test]
async fn double_submit_refuses_a_planted_unsigned_or_foreign_cookie() {
    let app = double_submit_app();
    let c = app.client();
    // An attacker who can plant cookies picks a value and echoes it: the
    // HMAC does not verify.
    let planted = URL_SAFE_NO_PAD.encode([9u8; 64]);
    c.set_cookie(DOUBLE_SUBMIT_COOKIE, &planted);
    assert_eq!(post_with_header(&c, &planted, &[]).await.text(), BAD);
    // A genuine value minted by another server key is refused too.
    let other = App::new(CsrfLayer::double_submit(&KeyRing::generate())).client();
    other.token().await;
    let foreign = other.cookie(DOUBLE_SUBMIT_COOKIE).unwrap();
    c.set_cookie(DOUBLE_SUBMIT_COOKIE, &foreign);
    assert_eq!(post_with_header(&c, &foreign, &[]).await.text(), BAD);
}

#[tokio::test]
async fn double_submit_cookie_is_bound_to_the_session_id() {
    let app = double_submit_app();
    let alice = app.client();
    alice.send(get_req("/visit"), Body::empty()).await; // a stored session
    alice.token().await;
    let cookie = alice.cookie(DOUBLE_SUBMIT_COOKIE).unwrap();
    assert_eq!(post_with_header(&alice, &cookie, &[]).await.status, StatusCode::OK);

    // Mallory's own genuine cookie, planted in Alice's browser, is refused:
    // it is bound to Mallory's session, not Alice's.
    let mallory = app.client();
    mallory.send(get_req("/visit"), Body::empty()).await;
    mallory.token().await;
    let mallorys = mallory.cookie(DOUBLE_SUBMIT_COOKIE).unwrap();
    let victim = app.client();
    victim.set_cookie("__Host-session", &alice.cookie("__Host-session").unwrap());
    victim.set_cookie(DOUBLE_SUBMIT_COOKIE, &mallorys);
    assert_eq!(post_with_header(&victim, &mallorys, &[]).await.text(), BAD);

    // Login rotates the session id, so the pre-login cookie dies with it.
    let reply = alice.send(post_req("/login").header("x-csrf-token", &cookie), Body::empty()).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(post_with_header(&alice, &cookie, &[]).await.text(), BAD);
    alice.token().await; // a new cookie, bound to the new id
    let fresh = alice.cookie(DOUBLE_SUBMIT_COOKIE).unwrap();
    assert_ne!(fresh, cookie);
    assert_eq!(post_with_header(&alice, &fresh, &[]).await.status, StatusCode::OK);
}
