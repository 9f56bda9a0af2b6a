//! Security headers, nonces, templates and the report endpoint through an
//! axum router.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use palisade::client::TrustedProxyLayer;
use palisade::headers::{ContentSecurityPolicy, CspNonce, CspReportEndpoint, SecurityHeadersLayer};
use std::net::SocketAddr;
use std::time::Duration;
use tower::ServiceExt;

async fn nonce_page(nonce: CspNonce) -> Html<String> {
    Html(format!(r#"<script nonce="{nonce}">ok()</script>"#))
}

async fn no_script() -> Html<&'static str> {
    Html("<p>static</p>")
}

async fn send(app: &Router, req: Request<Body>) -> Response<Body> {
    app.clone().oneshot(req).await.unwrap()
}

fn get_req(uri: &str) -> Request<Body> {
    Request::builder().uri(uri).body(Body::empty()).unwrap()
}

async fn text(res: Response<Body>) -> String {
    String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

fn csp(res: &Response<Body>) -> String {
    res.headers()["content-security-policy"].to_str().unwrap().to_owned()
}

/// The nonce inside a policy's `'nonce-…'` source.
fn nonce_in(policy: &str) -> Option<String> {
    let start = policy.find("'nonce-")? + "'nonce-".len();
    Some(policy[start..].split('\'').next()?.to_owned())
}

fn app() -> Router {
    Router::new().route("/nonce", get(nonce_page)).route("/static", get(no_script)).layer(SecurityHeadersLayer::new())
}

#[tokio::test]
async fn the_nonce_in_the_header_is_the_one_in_the_body_and_changes_every_response() {
    let app = app();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let res = send(&app, get_req("/nonce")).await;
        let header_nonce = nonce_in(&csp(&res)).expect("a used nonce is in the policy");
        let body = text(res).await;
        assert_eq!(body, format!(r#"<script nonce="{header_nonce}">ok()</script>"#));
        assert!(header_nonce.len() >= 22, "at least 128 bits: {header_nonce}");
        assert!(!seen.contains(&header_nonce), "nonce repeated");
        seen.push(header_nonce);
    }
}

#[tokio::test]
async fn pages_that_use_no_nonce_allow_no_script() {
    let res = send(&app(), get_req("/static")).await;
    let policy = csp(&res);
    assert!(policy.contains("script-src 'none'"), "{policy}");
    assert!(nonce_in(&policy).is_none());
    for (name, value) in [
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
        ("x-xss-protection", "0"),
    ] {
        assert_eq!(res.headers()[name], value, "{name}");
    }
    assert!(!res.headers().contains_key("strict-transport-security"));
}

#[tokio::test]
async fn the_extractor_without_the_layer_is_a_500_not_a_panic() {
    let app = Router::new().route("/nonce", get(nonce_page));
    assert_eq!(send(&app, get_req("/nonce")).await.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn hsts_follows_the_trusted_proxy_verdict() {
    let app = Router::new()
        .route("/static", get(no_script))
        .layer(SecurityHeadersLayer::new())
        .layer(TrustedProxyLayer::trusting(["10.0.0.0/8"]).unwrap());
    let from = |peer: &str, proto: &str| {
        let mut req = Request::builder().uri("/static").header("x-forwarded-proto", proto).body(Body::empty()).unwrap();
        req.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        req
    };
    let proxied = send(&app, from("10.0.0.5:4000", "https")).await;
    assert_eq!(proxied.headers()["strict-transport-security"], "max-age=63072000; includeSubDomains");
    let spoofed = send(&app, from("198.51.100.9:4000", "https")).await;
    assert!(!spoofed.headers().contains_key("strict-transport-security"), "a client cannot claim HTTPS");
    let plain = send(&app, from("10.0.0.5:4000", "http")).await;
    assert!(!plain.headers().contains_key("strict-transport-security"));
}

#[cfg(feature = "minijinja")]
#[tokio::test]
async fn templates_get_the_nonce_and_sri_tags_with_it() {
    use palisade::sri::SriAssets;
    use std::sync::Arc;
    let assets = SriAssets::new().add_bytes("/static/app.js", b"console.log('hi')").unwrap();
    let mut env = minijinja::Environment::new();
    assets.add_to_environment(&mut env);
    env.add_template(
        "page.html",
        r#"<script nonce="{{ csp_nonce() }}">inline()</script>{{ sri_script("/static/app.js") }}"#,
    )
    .unwrap();
    let env = Arc::new(env);
    let page = move |nonce: CspNonce| {
        let env = env.clone();
        async move {
            let ctx = minijinja::context! { ..nonce.template_functions() };
            Html(env.get_template("page.html").unwrap().render(ctx).unwrap())
        }
    };
    let app = Router::new().route("/", get(page)).layer(SecurityHeadersLayer::new());
    let res = send(&app, get_req("/")).await;
    let nonce = nonce_in(&csp(&res)).unwrap();
    let body = text(res).await;
    let integrity = assets.integrity("/static/app.js").unwrap();
    assert_eq!(
        body,
        format!(
            r#"<script nonce="{nonce}">inline()</script><script src="/static/app.js" integrity="{integrity}" nonce="{nonce}"></script>"#
        )
    );
}

#[tokio::test]
async fn report_only_mode_through_a_router() {
    let layer = SecurityHeadersLayer::builder()
        .content_security_policy(ContentSecurityPolicy::strict().report_uri("/csp-report"))
        .csp_mode(palisade::headers::CspMode::ReportOnly)
        .build()
        .unwrap();
    let app = Router::new().route("/nonce", get(nonce_page)).layer(layer);
    let res = send(&app, get_req("/nonce")).await;
    assert!(!res.headers().contains_key("content-security-policy"));
    let policy = res.headers()["content-security-policy-report-only"].to_str().unwrap().to_owned();
    assert_eq!(nonce_in(&policy).unwrap(), text(res).await.split('"').nth(1).unwrap());
}

fn report(peer: &str, body: String) -> Request<Body> {
    let mut req = Request::builder()
        .method("POST")
        .uri("/csp-report")
        .header("content-type", "application/csp-report")
        .body(Body::from(body))
        .unwrap();
    req.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    req
}

#[tokio::test]
async fn the_report_endpoint_limits_size_and_rate_per_client() {
    let endpoint =
        CspReportEndpoint::builder().max_body_bytes(2048).rate_limit(2, Duration::from_secs(60)).build().unwrap();
    let app = Router::new().route_service("/csp-report", endpoint).layer(TrustedProxyLayer::no_proxies());
    let small = r#"{"csp-report":{"document-uri":"http://127.0.0.1/","effective-directive":"script-src-elem","blocked-uri":"inline"}}"#;
    assert_eq!(send(&app, report("192.0.2.1:1", small.into())).await.status(), StatusCode::NO_CONTENT);
    let big = format!(r#"{{"csp-report":{{"blocked-uri":"{}"}}}}"#, "x".repeat(4096));
    assert_eq!(send(&app, report("192.0.2.1:1", big)).await.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(send(&app, report("192.0.2.1:1", small.into())).await.status(), StatusCode::TOO_MANY_REQUESTS);
    // The peer address is the client: another address has its own budget.
    assert_eq!(send(&app, report("192.0.2.2:1", small.into())).await.status(), StatusCode::NO_CONTENT);
}
