//! The HTTPS redirect in front of a session layer, with trusted proxies,
//! through an axum router: the documented layer order.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::routing::get;
use axum::Router;
use http::{header, Request, Response, StatusCode};
use palisade::client::{ClientIp, RequestScheme, TrustedProxyLayer};
use palisade::headers::SecurityHeadersLayer;
use palisade::https::HttpsRedirectLayer;
use palisade::keys::KeyRing;
use palisade::session::{Session, SessionError, SessionLayer};
use palisade::store::{CountingStore, MemoryStore};
use std::net::SocketAddr;
use tower::ServiceExt;

async fn login(session: Session) -> Result<&'static str, SessionError> {
    session.insert("user", "alice").await?;
    Ok("logged in")
}

async fn whoami(ClientIp(ip): ClientIp, scheme: RequestScheme) -> String {
    format!("{ip} {}", scheme.as_str())
}

/// Outermost first: proxies, headers, redirect, session, routes.
fn app(store: CountingStore<MemoryStore>) -> Router {
    let sessions = SessionLayer::server_side(store, KeyRing::generate()).build().unwrap();
    Router::new()
        .route("/login", get(login))
        .route("/whoami", get(whoami))
        .layer(sessions)
        .layer(HttpsRedirectLayer::for_hosts(["app.example"]).unwrap())
        .layer(SecurityHeadersLayer::new())
        .layer(TrustedProxyLayer::trusting(["10.0.0.0/8"]).unwrap())
}

fn request(uri: &str, peer: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder().uri(uri).header(header::HOST, "app.example");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let mut req = builder.body(Body::empty()).unwrap();
    req.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    req
}

async fn send(app: &Router, req: Request<Body>) -> Response<Body> {
    app.clone().oneshot(req).await.unwrap()
}

#[tokio::test]
async fn plain_http_is_redirected_before_the_session_is_touched() {
    let store = CountingStore::new(MemoryStore::new());
    let app = app(store.clone());
    let res = send(&app, request("/login?next=%2Faccount", "198.51.100.7:5000", &[])).await;
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(res.headers()[header::LOCATION], "https://app.example/login?next=%2Faccount");
    assert!(!res.headers().contains_key(header::SET_COOKIE), "no cookie over plain HTTP");
    assert_eq!(store.counts().total(), 0, "no session was loaded or stored");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff", "the redirect still carries the headers");
    assert!(!res.headers().contains_key("strict-transport-security"));
}

#[tokio::test]
async fn https_through_a_trusted_proxy_reaches_the_app_with_hsts() {
    let store = CountingStore::new(MemoryStore::new());
    let app = app(store.clone());
    let via_proxy = [("x-forwarded-for", "6.6.6.6, 203.0.113.9"), ("x-forwarded-proto", "https")];
    let res = send(&app, request("/login", "10.0.0.2:5000", &via_proxy)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().contains_key(header::SET_COOKIE));
    assert!(res.headers().contains_key("strict-transport-security"));
    let res = send(&app, request("/whoami", "10.0.0.2:5000", &via_proxy)).await;
    let body = http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes();
    assert_eq!(&body[..], b"203.0.113.9 https");
}

#[tokio::test]
async fn a_client_claiming_https_is_still_redirected() {
    let app = app(CountingStore::new(MemoryStore::new()));
    let forged = [("x-forwarded-proto", "https"), ("forwarded", "for=1.2.3.4;proto=https")];
    let res = send(&app, request("/login", "198.51.100.7:5000", &forged)).await;
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
}

#[tokio::test]
async fn a_forged_host_gets_400_not_a_redirect_elsewhere() {
    let app = app(CountingStore::new(MemoryStore::new()));
    let mut req = request("/login", "198.51.100.7:5000", &[]);
    req.headers_mut().insert(header::HOST, "evil.example".parse().unwrap());
    let res = send(&app, req).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(!res.headers().contains_key(header::LOCATION));
}
