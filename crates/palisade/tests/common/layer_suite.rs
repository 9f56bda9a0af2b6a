//! The session layer over a real store: round trips per request, no lost
//! updates, no resurrection, and the user index — the same assertions for
//! every store.
//!
//! ```ignore
//! #[macro_use]
//! #[path = "common/layer_suite.rs"]
//! mod layer_suite;
//! layer_suite!(async { palisade::store::MemoryStore::new() });
//! ```
//!
//! `$make` is an async expression producing a fresh, empty store
//! (`impl Store + Clone`), evaluated once per test. Each call of the store
//! is counted with `CountingStore`; every call is one round trip to the
//! backend (the store's own tests show that), so the counts are round trips.

#[macro_export]
macro_rules! layer_suite {
    ($make:expr) => {
        mod layer {
            #![allow(unused_imports)]
            use super::*;
            use axum::body::Body;
            use axum::extract::Path;
            use axum::routing::{get, post};
            use axum::Router;
            use http::{header, Request, Response, StatusCode};
            use http_body_util::BodyExt;
            use palisade::clock::ManualClock;
            use palisade::keys::KeyRing;
            use palisade::session::{Session, SessionError, SessionLayer};
            use palisade::store::{CallCounts, CountingStore, Store};
            use std::sync::Arc;
            use std::time::Duration;
            use tower::ServiceExt;

            const COOKIE: &str = "__Host-session";

            async fn untouched() -> &'static str {
                "ok"
            }

            async fn read(session: Session) -> Result<String, SessionError> {
                Ok(session.get::<String>("user").await?.unwrap_or_else(|| "anonymous".into()))
            }

            async fn set(
                session: Session,
                Path((key, value)): Path<(String, String)>,
            ) -> Result<&'static str, SessionError> {
                session.insert(&key, value).await?;
                Ok("set")
            }

            async fn login(session: Session, Path(user): Path<String>) -> Result<&'static str, SessionError> {
                session.set_user_id(&user).await?;
                session.insert("user", user).await?;
                Ok("logged in")
            }

            async fn logout(session: Session) -> Result<&'static str, SessionError> {
                session.flush().await?;
                Ok("logged out")
            }

            async fn devices(session: Session) -> Result<String, SessionError> {
                let list = session.sessions_of_user().await?;
                Ok(list.iter().map(|s| if s.current { "current" } else { "other" }).collect::<Vec<_>>().join(","))
            }

            async fn revoke_others(session: Session) -> Result<String, SessionError> {
                Ok(session.revoke_other_sessions().await?.to_string())
            }

            struct App<S> {
                router: Router,
                layer: SessionLayer,
                store: CountingStore<S>,
                clock: ManualClock,
            }

            fn routes() -> Router {
                Router::new()
                    .route("/untouched", get(untouched))
                    .route("/read", get(read))
                    .route("/set/{key}/{value}", post(set))
                    .route("/login/{user}", post(login))
                    .route("/logout", post(logout))
                    .route("/devices", get(devices))
                    .route("/revoke-others", post(revoke_others))
            }

            async fn app() -> App<impl Store + Clone> {
                let store = CountingStore::new($make.await);
                // Real time: stores with server-side TTLs (Redis) expire by it.
                let clock = ManualClock::new(palisade::clock::unix_now());
                let layer =
                    SessionLayer::server_side(store.clone(), KeyRing::generate()).clock(clock.clone()).build().unwrap();
                let router = routes().layer(layer.clone());
                App { router, layer, store, clock }
            }

            async fn send(app: &Router, method: &str, uri: &str, cookie: Option<&str>) -> Response<Body> {
                let mut req = Request::builder().method(method).uri(uri).header(header::USER_AGENT, "suite/1.0");
                if let Some(cookie) = cookie {
                    req = req.header(header::COOKIE, format!("{COOKIE}={cookie}"));
                }
                app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap()
            }

            async fn text(res: Response<Body>) -> String {
                String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
            }

            fn cookie_of(res: &Response<Body>) -> Option<String> {
                let header = res.headers().get(header::SET_COOKIE)?.to_str().ok()?;
                let value = header.split(';').next()?.strip_prefix(&format!("{COOKIE}="))?;
                (!value.is_empty()).then(|| value.to_owned())
            }

            /// Runs one request and returns the store calls it made.
            async fn counted<S: Store + Clone>(
                app: &App<S>,
                method: &str,
                uri: &str,
                cookie: Option<&str>,
            ) -> (Response<Body>, CallCounts) {
                let before = app.store.counts();
                let res = send(&app.router, method, uri, cookie).await;
                let after = app.store.counts();
                let diff = CallCounts {
                    load: after.load - before.load,
                    create: after.create - before.create,
                    apply: after.apply - before.apply,
                    rotate: after.rotate - before.rotate,
                    delete: after.delete - before.delete,
                    sweep: after.sweep - before.sweep,
                    user_index: after.user_index - before.user_index,
                };
                (res, diff)
            }

            fn only(load: u64, create: u64, apply: u64, rotate: u64, delete: u64) -> CallCounts {
                CallCounts { load, create, apply, rotate, delete, ..CallCounts::default() }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn round_trips_per_request_are_zero_one_or_two() {
                let app = app().await;
                let (res, calls) = counted(&app, "POST", "/set/cart/1", None).await;
                assert_eq!(calls, only(0, 1, 0, 0, 0), "a new session: one create");
                let cookie = cookie_of(&res).expect("a session cookie");

                let (res, calls) = counted(&app, "GET", "/untouched", Some(&cookie)).await;
                assert_eq!(calls, CallCounts::default(), "untouched: no store call");
                assert!(res.headers().get(header::SET_COOKIE).is_none());

                let (res, calls) = counted(&app, "GET", "/read", Some(&cookie)).await;
                assert_eq!(calls, only(1, 0, 0, 0, 0), "read-only: one load, no write");
                assert!(res.headers().get(header::SET_COOKIE).is_none(), "read-only: no Set-Cookie");

                let (_, calls) = counted(&app, "POST", "/set/cart/2", Some(&cookie)).await;
                assert_eq!(calls, only(1, 0, 1, 0, 0), "change: one load, one apply");

                for _ in 0..5 {
                    app.clock.advance(Duration::from_secs(10));
                    let (_, calls) = counted(&app, "GET", "/read", Some(&cookie)).await;
                    assert_eq!(calls, only(1, 0, 0, 0, 0), "reads within the touch interval never write");
                }
                app.clock.advance(Duration::from_secs(11));
                let (res, calls) = counted(&app, "GET", "/read", Some(&cookie)).await;
                assert_eq!(calls, only(1, 0, 1, 0, 0), "one throttled last-seen touch after 61 s");
                assert!(res.headers().get(header::SET_COOKIE).is_none());

                let (res, calls) = counted(&app, "POST", "/login/alice", Some(&cookie)).await;
                assert_eq!(calls, only(1, 0, 0, 1, 0), "login: one load, one rotate");
                let cookie = cookie_of(&res).expect("a new cookie at login");

                let (_, calls) = counted(&app, "POST", "/logout", Some(&cookie)).await;
                assert_eq!(calls, only(1, 0, 0, 0, 1), "logout: one load, one delete");
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn fifty_concurrent_requests_setting_different_keys_keep_all_fifty() {
                let app = app().await;
                let cookie = cookie_of(&send(&app.router, "POST", "/set/start/0", None).await).unwrap();
                let tasks: Vec<_> = (0..50)
                    .map(|n| {
                        let (router, cookie) = (app.router.clone(), cookie.clone());
                        tokio::spawn(async move {
                            let res = send(&router, "POST", &format!("/set/k{n}/v{n}"), Some(&cookie)).await;
                            assert_eq!(res.status(), StatusCode::OK);
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
                let key = palisade::store::StoreKey::from_session_id(&session_id_of(&cookie));
                let record =
                    app.store.load(&key, palisade::clock::Clock::now(&app.clock)).await.unwrap().expect("the session");
                for n in 0..50 {
                    assert_eq!(record.data.get(&format!("k{n}")), Some(&serde_json::json!(format!("v{n}"))), "k{n}");
                }
                assert_eq!(record.data.len(), 51);
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_request_racing_a_logout_does_not_bring_the_session_back() {
                let app = app().await;
                let cookie = cookie_of(&send(&app.router, "POST", "/login/bob", None).await).unwrap();
                let loaded = Arc::new(tokio::sync::Notify::new());
                let release = Arc::new(tokio::sync::Notify::new());
                let (l, r) = (loaded.clone(), release.clone());
                let slow = move |session: Session| async move {
                    let _: Option<String> = session.get("user").await?;
                    l.notify_one();
                    r.notified().await;
                    session.insert("late", "write").await?;
                    Ok::<_, SessionError>("done")
                };
                let slow_router = routes().route("/slow", post(slow)).layer(app.layer.clone());
                let c = cookie.clone();
                let racing = tokio::spawn(async move { send(&slow_router, "POST", "/slow", Some(&c)).await });
                loaded.notified().await;
                let res = send(&app.router, "POST", "/logout", Some(&cookie)).await;
                assert_eq!(res.status(), StatusCode::OK);
                release.notify_one();
                let res = racing.await.unwrap();
                assert_eq!(res.status(), StatusCode::OK);
                let key = palisade::store::StoreKey::from_session_id(&session_id_of(&cookie));
                assert_eq!(
                    app.store.load(&key, palisade::clock::Clock::now(&app.clock)).await.unwrap(),
                    None,
                    "not resurrected"
                );
                assert_eq!(text(send(&app.router, "GET", "/read", Some(&cookie)).await).await, "anonymous");
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn a_user_sees_their_devices_and_can_log_out_the_others() {
                let app = app().await;
                let user = format!("carol-{}", palisade::clock::unix_now());
                let phone = cookie_of(&send(&app.router, "POST", &format!("/login/{user}"), None).await).unwrap();
                let laptop = cookie_of(&send(&app.router, "POST", &format!("/login/{user}"), None).await).unwrap();
                let other = cookie_of(&send(&app.router, "POST", "/login/someone-else", None).await).unwrap();
                let listed = text(send(&app.router, "GET", "/devices", Some(&laptop)).await).await;
                let mut kinds: Vec<&str> = listed.split(',').collect();
                kinds.sort();
                assert_eq!(kinds, ["current", "other"]);
                assert_eq!(text(send(&app.router, "POST", "/revoke-others", Some(&laptop)).await).await, "1");
                assert_eq!(text(send(&app.router, "GET", "/read", Some(&phone)).await).await, "anonymous");
                assert_eq!(text(send(&app.router, "GET", "/read", Some(&laptop)).await).await, user);
                assert_eq!(text(send(&app.router, "GET", "/read", Some(&other)).await).await, "someone-else");
                assert_eq!(text(send(&app.router, "GET", "/devices", Some(&laptop)).await).await, "current");
            }

            /// The session id inside a signed id cookie (header 13 bytes, id 32).
            fn session_id_of(cookie: &str) -> Vec<u8> {
                use base64::Engine;
                let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cookie).unwrap();
                raw[13..45].to_vec()
            }
        }
    };
}
