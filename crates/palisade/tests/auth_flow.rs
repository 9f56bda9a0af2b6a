//! `palisade::auth` end to end: login and logout, `CurrentUser` rejections
//! (safe `next`, 401 for APIs), fresh logins, password change and device
//! revocation, and the lazy session (no store call when untouched).

#[path = "auth_support/mod.rs"]
mod auth_support;

use auth_support::*;
use http::{header, StatusCode};
use palisade::auth::AuthConfig;
use palisade::remember::RememberMe;
use palisade::store::MemoryStore;

fn app() -> App<MemoryStore> {
    App::new(MemoryStore::new(), AuthConfig::new().api_prefix("/api/").remember_me(RememberMe::new()))
}

fn location(res: &http::Response<axum::body::Body>) -> String {
    res.headers().get(header::LOCATION).expect("a Location header").to_str().unwrap().to_owned()
}

#[tokio::test]
async fn login_signs_in_fresh_and_logout_kills_every_copy_of_the_cookie() {
    let app = app();
    let browser = Browser::new("203.0.113.7", CHROME);
    assert_eq!(browser.post(&app.app, "/login/alice").await, (StatusCode::OK, "logged in".into()));
    assert_eq!(browser.get(&app.app, "/me").await, (StatusCode::OK, "user=alice fresh=true".into()));
    let copy = browser.copy_to("203.0.113.7", CHROME);

    assert_eq!(browser.post(&app.app, "/logout").await.0, StatusCode::OK);
    assert!(browser.cookie(SESSION).is_none(), "the session cookie is removed");
    let res = copy.send(&app.app, "GET", "/me").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "a copy of the old cookie is dead");
}

#[tokio::test]
async fn login_gives_a_new_session_id_and_records_the_user() {
    let app = app();
    let browser = Browser::new("203.0.113.7", CHROME);
    browser.post(&app.app, "/login/alice").await;
    let first = browser.cookie(SESSION).unwrap();
    browser.post(&app.app, "/login/bob").await;
    let second = browser.cookie(SESSION).unwrap();
    assert_ne!(first, second, "a change of user is a new id (fixation)");
    assert_eq!(browser.get(&app.app, "/maybe").await.1, "user=bob");
}

#[tokio::test]
async fn anonymous_browsers_are_sent_to_login_with_a_safe_next() {
    let app = app();
    let browser = Browser::new("203.0.113.7", CHROME);
    let res = browser.send(&app.app, "GET", "/me?tab=security&x=%2F%2F").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login?next=/me%3Ftab%3Dsecurity%26x%3D%252F%252F");
    assert_eq!(res.headers().get(header::CACHE_CONTROL).unwrap(), "no-store");

    // A request path a browser would read as another host is never echoed.
    let res = browser.send(&app.app, "GET", "//evil.example/me").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login");
    let res = browser.send(&app.app, "GET", "/\\evil.example").await;
    assert_eq!(location(&res), "/login");

    // A POST cannot be replayed by a redirect: no next.
    let res = browser.send(&app.app, "POST", "/sensitive").await;
    assert_eq!(location(&res), "/login");
}

#[tokio::test]
async fn api_requests_get_401_not_a_redirect() {
    let app = app();
    let mut api = Browser::new("203.0.113.7", CHROME);
    api.accept = Some("application/json".into());
    let res = api.send(&app.app, "GET", "/me").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers().get(header::LOCATION).is_none());
    assert_eq!(text(res).await.trim(), r#"{"error":"login_required"}"#);

    // Under the configured API prefix, whatever the Accept header says.
    let browser = Browser::new("203.0.113.7", CHROME);
    assert_eq!(browser.send(&app.app, "GET", "/api/me").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(browser.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn optional_current_user_is_none_for_anonymous_requests() {
    let app = app();
    let browser = Browser::new("203.0.113.7", CHROME);
    assert_eq!(browser.get(&app.app, "/maybe").await, (StatusCode::OK, "anonymous".into()));
    browser.post(&app.app, "/login/alice").await;
    assert_eq!(browser.get(&app.app, "/maybe").await, (StatusCode::OK, "user=alice".into()));
}

#[tokio::test]
async fn sensitive_actions_need_a_recent_password() {
    let app = app();
    let browser = Browser::new("203.0.113.7", CHROME);
    browser.post(&app.app, "/login/alice").await;
    assert_eq!(browser.post(&app.app, "/sensitive").await, (StatusCode::OK, "done".into()));

    app.advance(601); // past the 10-minute window, well inside the idle timeout
    assert_eq!(browser.get(&app.app, "/me").await.1, "user=alice fresh=false");
    let res = browser.send(&app.app, "POST", "/sensitive").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login?reauth=1");

    let mut api = browser.copy_to("203.0.113.7", CHROME);
    api.accept = Some("application/json".into());
    let res = api.send(&app.app, "POST", "/sensitive").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(text(res).await.trim(), r#"{"error":"reauthentication_required"}"#);

    assert_eq!(browser.post(&app.app, "/reauth").await.0, StatusCode::OK);
    assert_eq!(browser.post(&app.app, "/sensitive").await, (StatusCode::OK, "done".into()));
}

#[tokio::test]
async fn user_ids_with_control_characters_are_refused() {
    let app = app();
    let browser = Browser::new("203.0.113.7", CHROME);
    let (status, _) = browser.post(&app.app, "/login/a%01remember%01b").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(browser.cookie(SESSION).is_none(), "no session was created");
}

#[tokio::test]
async fn an_untouched_handler_costs_no_store_call_even_with_auth_and_remember_cookies() {
    let app = app();
    let browser = Browser::new("203.0.113.7", CHROME);
    browser.post(&app.app, "/login-remember/alice").await;
    assert!(browser.cookie(REMEMBER).is_some());
    // From another client too: binding is checked only when the session loads.
    let thief = browser.copy_to("198.51.100.9", FIREFOX);
    let before = app.store.counts();
    for who in [&browser, &thief] {
        let res = who.send(&app.app, "GET", "/untouched").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(set_cookies(&res).is_empty());
    }
    browser.forget(SESSION);
    assert_eq!(browser.send(&app.app, "GET", "/untouched").await.status(), StatusCode::OK);
    assert_eq!(app.store.counts(), before, "no store call at all");
}

#[tokio::test]
async fn password_change_revokes_other_sessions_and_every_remember_token() {
    let app = app();
    let laptop = Browser::new("203.0.113.7", CHROME);
    let phone = Browser::new("198.51.100.9", FIREFOX);
    laptop.post(&app.app, "/login-remember/alice").await;
    phone.post(&app.app, "/login-remember/alice").await;
    let bob = Browser::new("192.0.2.1", CHROME);
    bob.post(&app.app, "/login/bob").await;
    let old_laptop = laptop.copy_to("203.0.113.7", CHROME);

    assert_eq!(laptop.post(&app.app, "/password").await, (StatusCode::OK, "sessions=1 tokens=2".into()));
    assert_ne!(laptop.cookie(SESSION), old_laptop.cookie(SESSION), "new session id");
    assert_ne!(laptop.cookie(REMEMBER), old_laptop.cookie(REMEMBER), "new remember-me token");
    assert_eq!(laptop.get(&app.app, "/me").await, (StatusCode::OK, "user=alice fresh=true".into()));

    // The phone's session and remember-me token are both dead.
    assert_eq!(phone.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER);
    assert!(phone.cookie(REMEMBER).is_none(), "its dead remember-me cookie was removed");
    // So are the copies of the laptop's old cookies.
    assert_eq!(old_laptop.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER);
    // The new remember-me token works.
    laptop.forget(SESSION);
    assert_eq!(laptop.get(&app.app, "/me").await, (StatusCode::OK, "user=alice fresh=false".into()));
    // Another user is untouched.
    assert_eq!(bob.get(&app.app, "/me").await.1, "user=bob fresh=true");
}

#[tokio::test]
async fn log_out_other_devices_keeps_this_browser_and_its_token() {
    let app = app();
    let laptop = Browser::new("203.0.113.7", CHROME);
    let phone = Browser::new("198.51.100.9", FIREFOX);
    laptop.post(&app.app, "/login-remember/alice").await;
    phone.post(&app.app, "/login-remember/alice").await;
    assert_eq!(laptop.post(&app.app, "/others").await, (StatusCode::OK, "sessions=1 tokens=1".into()));
    assert_eq!(phone.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER);
    laptop.forget(SESSION);
    assert_eq!(laptop.get(&app.app, "/me").await.1, "user=alice fresh=false", "own token kept");
}

#[tokio::test]
async fn a_user_can_revoke_one_of_their_devices_and_nobody_elses() {
    let app = app();
    let laptop = Browser::new("203.0.113.7", CHROME);
    let phone = Browser::new("198.51.100.9", FIREFOX);
    let bob = Browser::new("192.0.2.1", CHROME);
    laptop.post(&app.app, "/login/alice").await;
    app.advance(1); // listings are oldest first
    phone.post(&app.app, "/login-remember/alice").await;
    bob.post(&app.app, "/login/bob").await;

    let listing = laptop.get(&app.app, "/devices").await.1;
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 3, "two sessions and the phone's token: {listing}");
    assert!(lines[0].starts_with("session ") && lines[0].ends_with(" current"));
    let phone_session = lines[1].strip_prefix("session ").unwrap();
    let own = lines[0].split(' ').nth(1).unwrap();
    let bobs = bob.get(&app.app, "/devices").await.1;
    let bob_session = bobs.lines().next().unwrap().split(' ').nth(1).unwrap().to_owned();

    assert_eq!(laptop.post(&app.app, &format!("/revoke/{bob_session}")).await.1, "revoked=false");
    assert_eq!(laptop.post(&app.app, &format!("/revoke/{own}")).await.1, "revoked=false");
    assert_eq!(laptop.post(&app.app, "/revoke/not-hex").await.1, "revoked=false");
    assert_eq!(bob.get(&app.app, "/me").await.0, StatusCode::OK);

    assert_eq!(laptop.post(&app.app, &format!("/revoke/{phone_session}")).await.1, "revoked=true");
    // The phone is out, and its remember-me token went with its session.
    assert_eq!(phone.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(laptop.get(&app.app, "/devices").await.1.lines().count(), 1);
}

#[tokio::test]
async fn remember_me_without_configuration_is_an_error_not_a_silent_no() {
    let app = App::new(MemoryStore::new(), AuthConfig::new());
    let browser = Browser::new("203.0.113.7", CHROME);
    assert_eq!(browser.post(&app.app, "/login-remember/alice").await.0, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(browser.cookie(REMEMBER).is_none());
}

#[test]
fn insecure_auth_settings_are_refused_at_startup() {
    use palisade::keys::KeyRing;
    use palisade::session::SessionLayer;
    let build =
        |auth: AuthConfig| SessionLayer::server_side(MemoryStore::new(), KeyRing::generate()).auth(auth).build();
    assert!(build(AuthConfig::new().login_path("//evil.example/login")).is_err());
    assert!(build(AuthConfig::new().login_path("https://evil.example/login")).is_err());
    assert!(build(AuthConfig::new().remember_me(RememberMe::new().secure(false))).is_err());
    assert!(build(AuthConfig::new().remember_me(RememberMe::new().grace_period(std::time::Duration::from_secs(3600))))
        .is_err());
    let cookie_sessions =
        SessionLayer::cookie_only(KeyRing::generate()).auth(AuthConfig::new().remember_me(RememberMe::new()));
    assert!(cookie_sessions.build().is_err(), "remember-me needs a store");
    assert!(build(AuthConfig::new().login_path("/account/login")).is_ok());
}

/// A cap on concurrent sessions (a licence of "two devices", or limiting
/// what one stolen password can spread to): signing in on one device too
/// many signs out the least recently signed-in one, with its remember-me
/// token, so it cannot come straight back.
#[tokio::test]
async fn a_session_cap_signs_out_the_oldest_session_and_its_token() {
    let app = App::new(MemoryStore::new(), AuthConfig::new().remember_me(RememberMe::new()).max_sessions_per_user(2));
    let laptop = Browser::new("203.0.113.7", CHROME);
    let phone = Browser::new("198.51.100.9", FIREFOX);
    let tablet = Browser::new("192.0.2.10", CHROME);
    let desktop = Browser::new("192.0.2.11", FIREFOX);
    let bob = Browser::new("192.0.2.1", CHROME);
    laptop.post(&app.app, "/login/alice").await;
    app.advance(1);
    phone.post(&app.app, "/login-remember/alice").await;
    app.advance(1);
    bob.post(&app.app, "/login/bob").await;
    assert_eq!(laptop.get(&app.app, "/me").await.0, StatusCode::OK, "at the cap, nobody is out");

    tablet.post(&app.app, "/login/alice").await;
    assert_eq!(laptop.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER, "the oldest is out");
    assert_eq!(phone.get(&app.app, "/me").await.0, StatusCode::OK);
    assert_eq!(bob.get(&app.app, "/me").await.0, StatusCode::OK, "another user's sessions do not count");
    assert_eq!(tablet.get(&app.app, "/devices").await.1.matches("session ").count(), 2);

    // Signing in again in a browser that is signed in takes no slot.
    app.advance(1);
    tablet.post(&app.app, "/login/alice").await;
    assert_eq!(phone.get(&app.app, "/me").await.0, StatusCode::OK);

    app.advance(1);
    desktop.post(&app.app, "/login/alice").await;
    assert_eq!(phone.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER);
    phone.forget(SESSION);
    assert_eq!(
        phone.send(&app.app, "GET", "/me").await.status(),
        StatusCode::SEE_OTHER,
        "its remember-me token went with it"
    );
    assert_eq!(tablet.get(&app.app, "/me").await.0, StatusCode::OK);
    assert_eq!(desktop.get(&app.app, "/me").await.0, StatusCode::OK);
}

#[test]
fn a_session_cap_of_zero_is_refused() {
    let err = palisade::session::SessionLayer::server_side(MemoryStore::new(), palisade::keys::KeyRing::generate())
        .auth(AuthConfig::new().max_sessions_per_user(0))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("at least 1"), "{err}");
}
