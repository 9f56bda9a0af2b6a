//! Where the parts meet: sign-in, logout, expiry, remember-me, binding and
//! CSRF through the real layer stack (session layer outside the CSRF
//! layer), with a `ManualClock`. Each test is one scenario that once went
//! wrong; the name says what must hold.

#[path = "auth_support/mod.rs"]
mod auth_support;

use auth_support::*;
use axum::body::Body;
use axum::extract::Path;
use axum::routing::{get, post};
use axum::Router;
use http::StatusCode;
use palisade::auth::{self, AuthConfig, AuthError, LoginOptions};
use palisade::csrf::CsrfLayer;
use palisade::remember::RememberMe;
use palisade::session::Session;
use palisade::store::MemoryStore;
use std::sync::Arc;
use tokio::sync::Barrier;

const IP: &str = "203.0.113.7";

fn remember() -> AuthConfig {
    AuthConfig::new().remember_me(RememberMe::new())
}

fn stack(auth: AuthConfig) -> App<MemoryStore> {
    App::with_csrf(MemoryStore::new(), auth, CsrfLayer::builder().logout_path("/logout"), Router::new())
}

/// Deletes the records that expired (idle sessions left behind).
async fn sweep(app: &App<MemoryStore>) {
    let now = palisade::clock::Clock::now(&app.clock);
    palisade::store::Store::sweep(app.store.inner(), now).await.unwrap();
}

/// A page with a form, then its token.
async fn token(browser: &Browser, app: &App<MemoryStore>) -> String {
    let (status, token) = browser.get(&app.app, "/form").await;
    assert_eq!(status, StatusCode::OK, "{token}");
    token
}

async fn submit(browser: &Browser, app: &App<MemoryStore>, uri: &str, token: &str) -> (StatusCode, String) {
    let res = browser.submit(&app.app, uri, token).await;
    (res.status(), text(res).await)
}

/// Signs `user` in through the login form.
async fn log_in(browser: &Browser, app: &App<MemoryStore>, uri: &str) {
    let token = token(browser, app).await;
    assert_eq!(submit(browser, app, uri, &token).await.0, StatusCode::OK);
}

// 1. Login keeps the previous user's data.

#[tokio::test]
async fn signing_in_as_b_over_a_session_of_a_keeps_nothing_of_a() {
    let app = stack(AuthConfig::new());
    let browser = Browser::new(IP, CHROME);
    log_in(&browser, &app, "/login/alice").await;
    let token = token(&browser, &app).await;
    assert_eq!(submit(&browser, &app, "/set/mfa_ok/yes", &token).await.0, StatusCode::OK);
    let alice_session = browser.cookie(SESSION).unwrap();
    log_in(&browser, &app, "/login/bob").await;
    assert_ne!(browser.cookie(SESSION).unwrap(), alice_session, "a new id");
    assert_eq!(browser.get(&app.app, "/me").await.1, "user=bob fresh=true");
    assert_eq!(browser.get(&app.app, "/get/mfa_ok").await.1, "none", "alice's MFA flag must not carry over to bob");
}

#[tokio::test]
async fn an_anonymous_cart_and_the_same_users_data_survive_login_with_a_new_id() {
    let app = stack(AuthConfig::new());
    let browser = Browser::new(IP, CHROME);
    let token = token(&browser, &app).await;
    assert_eq!(submit(&browser, &app, "/set/cart/3-apples", &token).await.0, StatusCode::OK);
    let anonymous = browser.cookie(SESSION).unwrap();
    log_in(&browser, &app, "/login/alice").await;
    let signed_in = browser.cookie(SESSION).unwrap();
    assert_ne!(signed_in, anonymous);
    assert_eq!(browser.get(&app.app, "/get/cart").await.1, "3-apples");
    log_in(&browser, &app, "/login/alice").await;
    assert_ne!(browser.cookie(SESSION).unwrap(), signed_in, "a new id at every login");
    assert_eq!(browser.get(&app.app, "/get/cart").await.1, "3-apples", "same user: data kept");
}

// 2. The idle timeout kills every open form, logout included.

#[tokio::test]
async fn a_tab_left_open_past_the_idle_timeout_still_logs_out_and_ends_remember_me() {
    let app = stack(remember());
    let browser = Browser::new(IP, CHROME);
    log_in(&browser, &app, "/login-remember/alice").await;
    let logout_form = token(&browser, &app).await;
    assert!(!app.store.inner().is_empty());
    app.advance(31 * 60);
    let res = browser.submit(&app.app, "/logout", &logout_form).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", text(res).await);
    assert!(browser.cookie(REMEMBER).is_none(), "remember-me cookie removed");
    assert!(browser.cookie(SESSION).is_none(), "session cookie removed");
    sweep(&app).await;
    assert!(app.store.inner().is_empty(), "no token record left behind");
    // A copy of the remember-me cookie taken before is dead too.
    assert_eq!(browser.get(&app.app, "/maybe").await.1, "anonymous");
}

#[tokio::test]
async fn logout_without_a_token_is_still_refused_cross_site() {
    let app = stack(AuthConfig::new());
    let browser = Browser::new(IP, CHROME);
    log_in(&browser, &app, "/login/alice").await;
    let headers = [("sec-fetch-site", "cross-site")];
    let res = browser.send_unstored(&app.app, "POST", "/logout", &headers, Body::empty()).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(browser.get(&app.app, "/me").await.1, "user=alice fresh=true");
}

#[tokio::test]
async fn a_stale_form_after_expiry_gets_a_page_saying_the_session_expired() {
    let app = stack(AuthConfig::new());
    let browser = Browser::new(IP, CHROME);
    log_in(&browser, &app, "/login/alice").await;
    let form = token(&browser, &app).await;
    app.advance(31 * 60);
    let (status, body) = submit(&browser, &app, "/set/note/hello", &form).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("session expired"), "a clear page, not a bare 403: {body}");
}

#[tokio::test]
async fn a_login_page_left_open_for_hours_still_logs_in() {
    let app = stack(AuthConfig::new());
    let browser = Browser::new(IP, CHROME);
    let form = token(&browser, &app).await;
    app.advance(9 * 3600);
    assert_eq!(submit(&browser, &app, "/login/alice", &form).await.0, StatusCode::OK);
    assert_eq!(browser.get(&app.app, "/me").await.1, "user=alice fresh=true");
}

// 3. Anonymous visitors write to the store.

#[tokio::test]
async fn a_hundred_thousand_cookieless_login_pages_write_nothing_to_the_store() {
    let app = stack(AuthConfig::new());
    let before = app.store.inner().len();
    for _ in 0..100_000 {
        let browser = Browser::new(IP, CHROME);
        let (status, token) = browser.get(&app.app, "/form").await;
        assert_eq!(status, StatusCode::OK);
        assert!(!token.is_empty());
    }
    assert_eq!(app.store.inner().len(), before);
    let counts = app.store.counts();
    assert_eq!((counts.create, counts.apply, counts.rotate), (0, 0, 0), "{counts:?}");
}

#[tokio::test]
async fn the_anonymous_token_verifies_and_login_moves_csrf_into_the_session() {
    let app = stack(AuthConfig::new());
    let browser = Browser::new(IP, CHROME);
    let form = token(&browser, &app).await;
    assert!(browser.cookie(SESSION).is_none(), "no session for a visitor who only saw a form");
    assert_eq!(submit(&browser, &app, "/login/alice", &form).await.0, StatusCode::OK);
    // The pre-login secret is dead: a token an attacker learned before login
    // (a shared computer) is worthless after it.
    let (status, _) = submit(&browser, &app, "/set/role/admin", &form).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let fresh = token(&browser, &app).await;
    assert_eq!(submit(&browser, &app, "/set/role/admin", &fresh).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_full_memory_store_never_evicts_a_signed_in_session_while_anonymous_ones_exist() {
    let store = MemoryStore::builder().max_sessions(20).build();
    let app = App::with_csrf(store, AuthConfig::new(), CsrfLayer::builder(), Router::new());
    let users: Vec<Browser> = (0..5).map(|_| Browser::new(IP, CHROME)).collect();
    for (i, user) in users.iter().enumerate() {
        log_in(user, &app, &format!("/login/user{i}")).await;
    }
    // Later anonymous sessions (a cart each) expire later than the sign-ins.
    app.advance(60);
    for _ in 0..100 {
        let visitor = Browser::new(IP, CHROME);
        let form = token(&visitor, &app).await;
        assert_eq!(submit(&visitor, &app, "/set/cart/1", &form).await.0, StatusCode::OK);
    }
    for (i, user) in users.iter().enumerate() {
        assert_eq!(user.get(&app.app, "/me").await.1, format!("user=user{i} fresh=true"));
    }
}

// 4. Remember-me: one lost response is later taken for theft.

#[tokio::test]
async fn a_lost_remember_me_rotation_is_not_later_taken_for_theft() {
    let app = stack(remember());
    let browser = Browser::new(IP, CHROME);
    log_in(&browser, &app, "/login-remember/alice").await;
    let other_device = Browser::new("198.51.100.9", FIREFOX);
    log_in(&other_device, &app, "/login-remember/alice").await;
    browser.forget(SESSION);
    app.advance(3 * 3600);
    // The rotation's response is lost: the browser keeps the old validator.
    let lost = browser.send_unstored(&app.app, "GET", "/me", &[], Body::empty()).await;
    assert_eq!(text(lost).await, "user=alice fresh=false");
    app.advance(5);
    // The retry, within the grace period, must carry a usable cookie again.
    let old = browser.cookie(REMEMBER).unwrap();
    assert_eq!(browser.get(&app.app, "/me").await.1, "user=alice fresh=false");
    assert_ne!(browser.cookie(REMEMBER).unwrap(), old, "the grace path re-sent the current validator");
    // Much later, in a new browser session: still signed in, no theft alarm.
    browser.forget(SESSION);
    app.advance(3600);
    assert_eq!(browser.get(&app.app, "/me").await.1, "user=alice fresh=false");
    assert_eq!(other_device.get(&app.app, "/me").await.1, "user=alice fresh=false", "nothing was revoked");
}

#[tokio::test]
async fn logout_and_revocation_leave_no_remember_me_record_behind() {
    let app = stack(remember());
    let browser = Browser::new(IP, CHROME);
    log_in(&browser, &app, "/login-remember/alice").await;
    // Used once: a rotation leaves one current validator record.
    browser.forget(SESSION);
    app.advance(3600);
    assert_eq!(browser.get(&app.app, "/me").await.1, "user=alice fresh=false");
    let form = token(&browser, &app).await;
    assert_eq!(submit(&browser, &app, "/logout", &form).await.0, StatusCode::OK);
    sweep(&app).await;
    assert!(app.store.inner().is_empty(), "{} records left after logout", app.store.inner().len());

    // Theft: every record of the user goes, validators included.
    log_in(&browser, &app, "/login-remember/alice").await;
    let thief = browser.copy_to(IP, CHROME);
    thief.forget(SESSION);
    browser.forget(SESSION);
    app.advance(3600);
    assert_eq!(thief.get(&app.app, "/me").await.1, "user=alice fresh=false");
    app.advance(120);
    assert_eq!(browser.get(&app.app, "/maybe").await.1, "anonymous", "stale validator: theft");
    sweep(&app).await;
    assert!(app.store.inner().is_empty(), "{} records left after theft", app.store.inner().len());
}

#[tokio::test]
async fn a_session_destroyed_by_binding_takes_both_remember_me_records_with_it() {
    let app = stack(remember());
    let browser = Browser::new(IP, CHROME);
    log_in(&browser, &app, "/login-remember/alice").await;
    let thief = browser.copy_to(IP, FIREFOX);
    assert_eq!(thief.get(&app.app, "/maybe").await.1, "anonymous");
    assert!(app.store.inner().is_empty(), "{} records left", app.store.inner().len());
}

// 5. A page rendered right after login carries tokens that verify.

#[tokio::test]
async fn a_form_rendered_in_the_login_request_carries_a_token_that_verifies() {
    let app = stack(AuthConfig::new());
    let browser = Browser::new(IP, CHROME);
    let form = token(&browser, &app).await;
    let (status, rendered) = submit(&browser, &app, "/login-render/alice", &form).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(submit(&browser, &app, "/set/x/1", &rendered).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_form_rendered_after_a_password_change_or_reauth_carries_a_token_that_verifies() {
    let app = stack(AuthConfig::new());
    let browser = Browser::new(IP, CHROME);
    log_in(&browser, &app, "/login/alice").await;
    let form = token(&browser, &app).await;
    let (status, rendered) = submit(&browser, &app, "/password-render", &form).await;
    assert_eq!(status, StatusCode::OK, "{rendered}");
    let (status, rendered) = submit(&browser, &app, "/reauth-render", &rendered).await;
    assert_eq!(status, StatusCode::OK, "{rendered}");
    let res = browser.submit(&app.app, "/logout", &rendered).await;
    assert_eq!(res.status(), StatusCode::OK);
}

// 6. A double-clicked login logs the user out.

/// Both requests load the session before either saves it.
fn racing_routes(barrier: Arc<Barrier>) -> Router {
    let login_barrier = barrier.clone();
    Router::new()
        .route(
            "/race/login/{user}",
            post(move |session: Session, Path(user): Path<String>| {
                let barrier = login_barrier.clone();
                async move {
                    session.user_id().await?;
                    barrier.wait().await;
                    auth::login(&session, &user, LoginOptions::new()).await?;
                    Ok::<_, AuthError>("logged in")
                }
            }),
        )
        .route(
            "/race/touch",
            get(move |session: Session| {
                let barrier = barrier.clone();
                async move {
                    session.user_id().await?;
                    barrier.wait().await;
                    session.insert("seen", true).await?;
                    Ok::<_, AuthError>("touched")
                }
            }),
        )
}

#[tokio::test]
async fn a_double_clicked_login_leaves_the_user_signed_in() {
    let barrier = Arc::new(Barrier::new(2));
    let app = App::with_csrf(MemoryStore::new(), AuthConfig::new(), CsrfLayer::builder(), racing_routes(barrier));
    let browser = Browser::new(IP, CHROME);
    log_in(&browser, &app, "/login/alice").await;
    let form = token(&browser, &app).await;
    let (a, b) = tokio::join!(
        browser.submit(&app.app, "/race/login/alice", &form),
        browser.submit(&app.app, "/race/login/alice", &form)
    );
    assert_eq!((a.status(), b.status()), (StatusCode::OK, StatusCode::OK));
    assert!(browser.cookie(SESSION).is_some(), "the loser deleted the winner's cookie");
    assert_eq!(browser.get(&app.app, "/me").await.1, "user=alice fresh=true");
}

#[tokio::test]
async fn a_request_racing_a_login_does_not_delete_the_new_cookie() {
    let barrier = Arc::new(Barrier::new(2));
    let app = App::with_csrf(MemoryStore::new(), AuthConfig::new(), CsrfLayer::builder(), racing_routes(barrier));
    let browser = Browser::new(IP, CHROME);
    log_in(&browser, &app, "/login/alice").await;
    let form = token(&browser, &app).await;
    // The touch waits at the barrier first, so the login (arriving second)
    // rotates and answers before the touch saves to the rotated-away record.
    let (touch, login) = tokio::join!(
        browser.send(&app.app, "GET", "/race/touch"),
        browser.submit(&app.app, "/race/login/alice", &form)
    );
    assert_eq!((login.status(), touch.status()), (StatusCode::OK, StatusCode::OK));
    assert_eq!(browser.get(&app.app, "/me").await.1, "user=alice fresh=true");
}

// 7. User-agent binding is too strict.

const CHROME_121: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36";
const CHROME_ANDROID: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) \
                              Chrome/120.0.6099.144 Mobile Safari/537.36";
const CHROME_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

#[tokio::test]
async fn a_browser_update_asks_for_the_password_instead_of_ending_the_session() {
    let app = stack(remember());
    let browser = Browser::new(IP, CHROME);
    log_in(&browser, &app, "/login-remember/alice").await;
    let updated = browser.copy_to(IP, CHROME_121);
    assert_eq!(updated.get(&app.app, "/me").await.1, "user=alice fresh=false");
    assert!(updated.cookie(REMEMBER).is_some(), "remember-me kept");
}

#[tokio::test]
async fn request_desktop_site_keeps_the_session() {
    let app = stack(AuthConfig::new());
    let phone = Browser::new(IP, CHROME_ANDROID);
    log_in(&phone, &app, "/login/alice").await;
    let desktop_mode = phone.copy_to(IP, CHROME);
    assert_eq!(desktop_mode.get(&app.app, "/me").await.1, "user=alice fresh=false");
}

#[tokio::test]
async fn another_browser_family_or_operating_system_still_ends_the_session() {
    for other in [FIREFOX, CHROME_WINDOWS] {
        let app = stack(AuthConfig::new());
        let browser = Browser::new(IP, CHROME);
        log_in(&browser, &app, "/login/alice").await;
        let thief = browser.copy_to(IP, other);
        assert_eq!(thief.get(&app.app, "/maybe").await.1, "anonymous", "{other}");
        assert_eq!(browser.get(&app.app, "/maybe").await.1, "anonymous", "destroyed for the owner too");
    }
}

// Also: re-authentication is a privilege change; caching; Clear-Site-Data.

#[tokio::test]
async fn re_entering_the_password_gives_a_new_session_id() {
    let app = stack(AuthConfig::new());
    let browser = Browser::new(IP, CHROME);
    log_in(&browser, &app, "/login/alice").await;
    let before = browser.cookie(SESSION).unwrap();
    let form = token(&browser, &app).await;
    assert_eq!(submit(&browser, &app, "/reauth-render", &form).await.0, StatusCode::OK);
    assert_ne!(browser.cookie(SESSION).unwrap(), before);
    assert_eq!(browser.get(&app.app, "/me").await.1, "user=alice fresh=true");
}

#[tokio::test]
async fn a_page_that_read_the_session_is_private_to_the_browser() {
    let app = stack(AuthConfig::new());
    let browser = Browser::new(IP, CHROME);
    log_in(&browser, &app, "/login/alice").await;
    let res = browser.send(&app.app, "GET", "/me").await;
    assert!(set_cookies(&res).is_empty());
    let cache = res.headers().get(http::header::CACHE_CONTROL).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(cache.as_deref(), Some("private"));
}

#[tokio::test]
async fn logout_asks_the_browser_to_clear_the_sites_cookies() {
    let app = stack(AuthConfig::new());
    let browser = Browser::new(IP, CHROME);
    log_in(&browser, &app, "/login/alice").await;
    let form = token(&browser, &app).await;
    let res = browser.submit(&app.app, "/logout", &form).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers().get("clear-site-data").map(|v| v.to_str().unwrap()), Some("\"cookies\""));
    // Sibling subdomains with sessions of their own: the app turns it off.
    let app = stack(AuthConfig::new().clear_site_data_at_logout(false));
    log_in(&browser, &app, "/login/alice").await;
    let form = token(&browser, &app).await;
    let res = browser.submit(&app.app, "/logout", &form).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().get("clear-site-data").is_none());
}

// Structure: remember-me sign-in happens when the session loads.

#[tokio::test]
async fn a_remembered_browser_gets_a_working_token_whatever_the_extractor_order() {
    let app = stack(remember());
    let browser = Browser::new(IP, CHROME);
    log_in(&browser, &app, "/login-remember/alice").await;
    browser.forget(SESSION);
    app.advance(3600);
    let (status, page) = browser.get(&app.app, "/form-then-user").await;
    assert_eq!(status, StatusCode::OK);
    let (token, user) = page.split_once('\n').unwrap();
    assert_eq!(user, "alice", "signed in by the remember-me cookie");
    assert_eq!(submit(&browser, &app, "/set/x/1", token).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_remembered_browser_is_signed_in_by_any_use_of_the_session() {
    let app = stack(remember());
    let browser = Browser::new(IP, CHROME);
    log_in(&browser, &app, "/login-remember/alice").await;
    browser.forget(SESSION);
    app.advance(3600);
    // A handler that only reads a value, never asks for the user.
    assert_eq!(browser.get(&app.app, "/get/cart").await.1, "none");
    assert!(browser.cookie(SESSION).is_some(), "the sign-in started a session");
    assert_eq!(browser.get(&app.app, "/me").await.1, "user=alice fresh=false");
}

#[tokio::test]
async fn sign_in_without_auth_settings_says_how_to_add_them() {
    use palisade::keys::KeyRing;
    use palisade::session::SessionLayer;
    let layer = SessionLayer::server_side(MemoryStore::new(), KeyRing::generate()).build().unwrap();
    let app = auth_support::routes().layer(layer);
    let browser = Browser::new(IP, CHROME);
    let (status, body) = browser.post(&app, "/login/alice").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(browser.get(&app, "/maybe").await.0, StatusCode::INTERNAL_SERVER_ERROR);
    let err = AuthError::NotConfigured.to_string();
    assert!(err.contains(".auth(AuthConfig::new())"), "{err}");
}

// 9. Configuration that cannot work is refused at startup.

#[test]
fn a_touch_interval_not_shorter_than_the_idle_timeout_is_refused() {
    use palisade::keys::KeyRing;
    use palisade::session::{Expiry, SessionConfigError, SessionLayer};
    use std::time::Duration;
    let expiry = Expiry {
        idle: Duration::from_secs(60),
        absolute: Duration::from_secs(3600),
        touch_interval: Duration::from_secs(60),
    };
    let err = SessionLayer::server_side(MemoryStore::new(), KeyRing::generate()).expiry(expiry).build().unwrap_err();
    assert_eq!(err, SessionConfigError::TouchNotShorterThanIdle { touch_secs: 60, idle_secs: 60 });
    assert!(err.to_string().contains("lower Expiry::touch_interval"), "{err}");
    let ok = Expiry { touch_interval: Duration::from_secs(59), ..expiry };
    SessionLayer::server_side(MemoryStore::new(), KeyRing::generate()).expiry(ok).build().unwrap();
}

#[test]
fn a_cookie_prefix_in_another_case_is_refused() {
    use palisade::keys::KeyRing;
    use palisade::session::SessionLayer;
    let err = SessionLayer::server_side(MemoryStore::new(), KeyRing::generate())
        .cookie_name("__HOST-session")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("exactly `__Host-`"), "{err}");
    let remember = AuthConfig::new().remember_me(RememberMe::new().cookie_name("__secure-remember"));
    let err = SessionLayer::server_side(MemoryStore::new(), KeyRing::generate()).auth(remember).build().unwrap_err();
    let palisade::session::SessionConfigError::Extension(inner) = &err else { panic!("{err:?}") };
    assert!(inner.downcast_ref::<palisade::auth::AuthConfigError>().is_some(), "{err:?}");
}

#[tokio::test]
async fn in_development_mode_the_anonymous_csrf_cookie_works_over_plain_http() {
    use palisade::keys::KeyRing;
    use palisade::session::SessionLayer;
    let sessions = SessionLayer::server_side(MemoryStore::new(), KeyRing::generate())
        .cookie_name("session")
        .secure(false)
        .insecure_development_mode()
        .auth(AuthConfig::new())
        .build()
        .unwrap();
    let app =
        auth_support::routes().layer(CsrfLayer::builder().served_over_plain_http().build().unwrap()).layer(sessions);
    let browser = Browser::new(IP, CHROME);
    let res = browser.send(&app, "GET", "/form").await;
    let cookie = set_cookies(&res).into_iter().find(|c| c.starts_with("csrf=")).expect("a plain csrf cookie");
    assert!(!cookie.contains("Secure"), "{cookie}");
    let form = text(res).await;
    assert_eq!(browser.submit(&app, "/login/alice", &form).await.status(), StatusCode::OK);
    assert_eq!(browser.get(&app, "/me").await.1, "user=alice fresh=true");
}

// 12. Single-page apps: the double-submit cookie across login and logout.

/// A single-page app reads the `__Host-csrf` cookie before each request
/// and echoes it. The cookie is bound to the session id, which login
/// rotates and logout ends: the response that changed the id must carry a
/// cookie bound to the new one, or the app's next request is refused.
#[tokio::test]
async fn a_single_page_apps_double_submit_cookie_follows_login_and_logout() {
    let csrf = CsrfLayer::double_submit(&palisade::keys::KeyRing::generate()).logout_path("/logout");
    let app = App::with_csrf(MemoryStore::new(), AuthConfig::new(), csrf, Router::new());
    let browser = Browser::new(IP, CHROME);
    token(&browser, &app).await; // the page asks for a token once
    let echo = || browser.cookie(palisade::csrf::DOUBLE_SUBMIT_COOKIE).expect("a double-submit cookie");

    assert_eq!(submit(&browser, &app, "/login/alice", &echo()).await.0, StatusCode::OK);
    assert_eq!(submit(&browser, &app, "/set/k/v", &echo()).await, (StatusCode::OK, "set".to_owned()), "after login");
    let alices = echo();
    assert_eq!(submit(&browser, &app, "/login/bob", &echo()).await.0, StatusCode::OK);
    assert_eq!(submit(&browser, &app, "/set/k/w", &echo()).await.0, StatusCode::OK, "after signing in as another user");
    assert_ne!(echo(), alices, "bob's session has its own cookie");
    assert_eq!(submit(&browser, &app, "/logout", &echo()).await.0, StatusCode::OK);
    assert_eq!(submit(&browser, &app, "/set/k/x", &echo()).await.0, StatusCode::OK, "after logout");

    // The old cookie is dead with its session: a copy of alice's is refused.
    let thief = Browser::new(IP, CHROME);
    thief.jar.lock().unwrap().insert(palisade::csrf::DOUBLE_SUBMIT_COOKIE.to_owned(), alices.clone());
    assert_eq!(submit(&thief, &app, "/set/k/y", &alices).await.0, StatusCode::FORBIDDEN);
}
