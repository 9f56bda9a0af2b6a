//! Drives `examples/behind_proxy.rs`: the proxy's forwarding headers are
//! believed, a client's own are not, and the secure parts follow.

#[path = "../examples/behind_proxy.rs"]
mod behind_proxy;

use axum::body::Body;
use axum::extract::ConnectInfo;
use http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use palisade::keys::KeyRing;
use std::net::SocketAddr;
use tower::ServiceExt;

async fn whoami(app: &axum::Router, peer: &str, headers: &[(&str, &str)]) -> (StatusCode, String, http::HeaderMap) {
    let mut req = Request::get("/whoami");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let mut req = req.body(Body::empty()).unwrap();
    req.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    let res = app.clone().oneshot(req).await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    let body = String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    (status, body, headers)
}

#[tokio::test]
async fn the_proxy_is_believed_and_a_client_is_not() {
    let app = behind_proxy::app(KeyRing::generate(), "10.0.0.0/8").unwrap();
    let via_proxy = [("x-forwarded-for", "6.6.6.6, 203.0.113.9"), ("x-forwarded-proto", "https")];
    let (status, body, headers) = whoami(&app, "10.0.0.2:40000", &via_proxy).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "203.0.113.9 https", "the address the proxy saw, not the client's forged one");
    assert!(headers.contains_key(header::STRICT_TRANSPORT_SECURITY), "HSTS on HTTPS");

    // The same headers straight from a client are ignored.
    let (_, body, headers) = whoami(&app, "198.51.100.7:40000", &via_proxy).await;
    assert_eq!(body, "198.51.100.7 http");
    assert!(!headers.contains_key(header::STRICT_TRANSPORT_SECURITY), "no HSTS on plain HTTP");
}

#[test]
fn a_proxy_list_that_trusts_everyone_is_refused() {
    let err = behind_proxy::app(KeyRing::generate(), "0.0.0.0/0").unwrap_err();
    assert!(err.to_string().contains("trusts every address"), "{err}");
}
