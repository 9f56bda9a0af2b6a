//! Palisade's layers are generic over request and response bodies (like
//! tower-http's): they compose with tower-http's body limit, compression,
//! tracing and timeout layers on either side, and with `axum::serve` over a
//! real socket with `into_make_service_with_connect_info`.

use axum::body::Body;
use axum::routing::{get, post};
use axum::Router;
use http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use palisade::csrf::{CsrfLayer, CsrfToken};
use palisade::keys::KeyRing;
use palisade::session::{Session, SessionLayer};
use palisade::store::MemoryStore;
use palisade::Stack;
use std::time::Duration;
use tower::ServiceExt;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

fn routes() -> Router {
    Router::new().route("/form", get(|csrf: CsrfToken| async move { csrf.masked() })).route(
        "/note",
        post(|session: Session, body: String| async move {
            session.insert("note", &body).await?;
            Ok::<_, palisade::session::SessionError>(body)
        }),
    )
}

/// GET /form, then a same-origin form post with its token and `extra` bytes.
async fn round_trip(app: &Router, extra: usize) -> (StatusCode, String) {
    let res = app.clone().oneshot(Request::get("/form").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookies: Vec<String> = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    let token = String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    let body = format!("csrf_token={token}&pad={}", "x".repeat(extra));
    let req = Request::post("/note")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .header(header::COOKIE, cookies.join("; "))
        .body(Body::from(body))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    (status, String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap())
}

fn sessions() -> SessionLayer {
    SessionLayer::server_side(MemoryStore::new(), KeyRing::generate()).build().unwrap()
}

#[tokio::test]
async fn a_body_limit_outside_the_csrf_layer_compiles_and_limits() {
    let app =
        routes().layer(CsrfLayer::builder().build().unwrap()).layer(RequestBodyLimitLayer::new(4096)).layer(sessions());
    let (status, body) = round_trip(&app, 10).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.starts_with("csrf_token="), "the handler got the form the CSRF layer read: {body}");
    assert_eq!(round_trip(&app, 10_000).await.0, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn tower_http_layers_fit_inside_and_outside_palisade() {
    let inside = routes()
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .layer(CsrfLayer::builder().build().unwrap())
        .layer(sessions());
    assert_eq!(round_trip(&inside, 10).await.0, StatusCode::OK);

    let outside = Stack::server_side(MemoryStore::new(), KeyRing::generate())
        .build()
        .unwrap()
        .wrap(routes())
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(5)))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        .layer(RequestBodyLimitLayer::new(4096));
    assert_eq!(round_trip(&outside, 10).await.0, StatusCode::OK);
    // The layer's own answers (a 403) go through compression too.
    let forged = Request::post("/note").header("sec-fetch-site", "cross-site").body(Body::empty()).unwrap();
    assert_eq!(outside.clone().oneshot(forged).await.unwrap().status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_stack_serves_over_a_real_socket_with_connect_info() {
    let app =
        Stack::server_side(MemoryStore::new(), KeyRing::generate()).build().unwrap().wrap(Router::new().route(
            "/ip",
            get(|palisade::client::ClientIp(ip): palisade::client::ClientIp| async move { ip.to_string() }),
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await.unwrap();
    });
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(b"GET /ip HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("127.0.0.1"), "the client address from ConnectInfo: {answer}");
    server.abort();
}
