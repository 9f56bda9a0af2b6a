//! Cookie sessions: all data in an encrypted cookie, no store.

use axum::body::Body;
use axum::extract::Path;
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::{header, Request, Response, StatusCode};
use http_body_util::BodyExt;
use palisade::clock::ManualClock;
use palisade::keys::KeyRing;
use palisade::session::{Session, SessionError, SessionLayer, SessionLayerBuilder};
use std::time::Duration;
use tower::ServiceExt;

const COOKIE: &str = "__Host-session";

async fn read(session: Session) -> Result<String, SessionError> {
    Ok(session.get::<String>("user").await?.unwrap_or_else(|| "anonymous".into()))
}

async fn set(session: Session, Path(value): Path<String>) -> Result<&'static str, SessionError> {
    session.insert("user", value).await?;
    Ok("set")
}

async fn big(session: Session) -> Result<&'static str, SessionError> {
    session.insert("blob", "x".repeat(5000)).await?;
    Ok("stored")
}

async fn logout(session: Session) -> Result<&'static str, SessionError> {
    session.flush().await?;
    Ok("bye")
}

fn app(builder: SessionLayerBuilder, clock: &ManualClock) -> Router {
    Router::new()
        .route("/read", get(read))
        .route("/set/{value}", post(set))
        .route("/big", post(big))
        .route("/logout", post(logout))
        .layer(builder.clock(clock.clone()).build().unwrap())
}

async fn send(app: &Router, method: &str, uri: &str, cookie: Option<&str>) -> Response<Body> {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(cookie) = cookie {
        req = req.header(header::COOKIE, format!("{COOKIE}={cookie}"));
    }
    app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap()
}

async fn text(res: Response<Body>) -> String {
    String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

fn cookie_value(res: &Response<Body>) -> Option<String> {
    let header = res.headers().get(header::SET_COOKIE)?.to_str().unwrap();
    Some(header.split(';').next()?.strip_prefix("__Host-session=")?.to_owned())
}

#[tokio::test]
async fn data_round_trips_and_is_unreadable_in_the_cookie() {
    let clock = ManualClock::new(1_700_000_000);
    let app = app(SessionLayer::cookie_only(KeyRing::generate()), &clock);
    let cookie = cookie_value(&send(&app, "POST", "/set/alice-the-admin", None).await).unwrap();
    let raw = URL_SAFE_NO_PAD.decode(&cookie).unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains("alice-the-admin"));
    assert_eq!(text(send(&app, "GET", "/read", Some(&cookie)).await).await, "alice-the-admin");
}

#[tokio::test]
async fn signed_only_sessions_must_be_asked_for_and_are_readable() {
    let clock = ManualClock::new(1_700_000_000);
    let app = app(SessionLayer::cookie_only(KeyRing::generate()).signed_only(), &clock);
    let cookie = cookie_value(&send(&app, "POST", "/set/visible-value", None).await).unwrap();
    let raw = URL_SAFE_NO_PAD.decode(&cookie).unwrap();
    assert!(String::from_utf8_lossy(&raw).contains("visible-value"));
    assert_eq!(text(send(&app, "GET", "/read", Some(&cookie)).await).await, "visible-value");
}

#[tokio::test]
async fn a_read_sends_no_cookie_until_the_touch_interval_passes() {
    let clock = ManualClock::new(1_700_000_000);
    let app = app(SessionLayer::cookie_only(KeyRing::generate()), &clock);
    let cookie = cookie_value(&send(&app, "POST", "/set/bob", None).await).unwrap();
    clock.advance(Duration::from_secs(30));
    assert!(cookie_value(&send(&app, "GET", "/read", Some(&cookie)).await).is_none());
    clock.advance(Duration::from_secs(31));
    assert!(cookie_value(&send(&app, "GET", "/read", Some(&cookie)).await).is_some());
}

#[tokio::test]
async fn idle_cookie_sessions_expire_on_the_server() {
    let clock = ManualClock::new(1_700_000_000);
    let app = app(SessionLayer::cookie_only(KeyRing::generate()).idle_timeout(Duration::from_secs(600)), &clock);
    let cookie = cookie_value(&send(&app, "POST", "/set/bob", None).await).unwrap();
    clock.advance(Duration::from_secs(601));
    assert_eq!(text(send(&app, "GET", "/read", Some(&cookie)).await).await, "anonymous");
}

#[tokio::test]
async fn flush_expires_the_cookie() {
    let clock = ManualClock::new(1_700_000_000);
    let app = app(SessionLayer::cookie_only(KeyRing::generate()), &clock);
    let cookie = cookie_value(&send(&app, "POST", "/set/bob", None).await).unwrap();
    let res = send(&app, "POST", "/logout", Some(&cookie)).await;
    let header = res.headers().get(header::SET_COOKIE).unwrap().to_str().unwrap();
    assert!(header.contains("Max-Age=0"), "{header}");
}

/// The documented limit of cookie sessions: a copy of the cookie made before
/// logout stays valid until it expires. Server-side sessions do not have it.
#[tokio::test]
async fn cookie_sessions_cannot_be_revoked_before_expiry() {
    let clock = ManualClock::new(1_700_000_000);
    let app = app(SessionLayer::cookie_only(KeyRing::generate()), &clock);
    let copy = cookie_value(&send(&app, "POST", "/set/bob", None).await).unwrap();
    send(&app, "POST", "/logout", Some(&copy)).await;
    assert_eq!(text(send(&app, "GET", "/read", Some(&copy)).await).await, "bob");
}

#[tokio::test]
async fn a_session_too_large_for_a_cookie_is_a_500_not_a_dropped_cookie() {
    let clock = ManualClock::new(1_700_000_000);
    let app = app(SessionLayer::cookie_only(KeyRing::generate()), &clock);
    let res = send(&app, "POST", "/big", None).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(res.headers().get(header::SET_COOKIE).is_none());
}

#[test]
fn insecure_settings_are_refused_at_startup() {
    let err = SessionLayer::cookie_only(KeyRing::generate()).secure(false).build().unwrap_err();
    assert!(err.to_string().contains("development mode"), "{err}");
    let err =
        SessionLayer::cookie_only(KeyRing::generate()).secure(false).insecure_development_mode().build().unwrap_err();
    assert!(err.to_string().contains("__Host-"), "{err}");
    SessionLayer::cookie_only(KeyRing::generate())
        .secure(false)
        .insecure_development_mode()
        .cookie_name("dev-session")
        .build()
        .unwrap();
    let err = SessionLayer::cookie_only(KeyRing::generate())
        .idle_timeout(Duration::from_secs(3600))
        .absolute_timeout(Duration::from_secs(60))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("absolute"), "{err}");
}
