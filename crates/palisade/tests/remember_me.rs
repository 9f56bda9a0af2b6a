//! Remember-me tokens through the session layer: sign-in and rotation,
//! parallel requests within the grace period, theft detection on a stale
//! validator, logout, expiry — on `MemoryStore` and once on `SqliteStore`.

#[path = "auth_support/mod.rs"]
mod auth_support;

use auth_support::*;
use http::StatusCode;
use palisade::auth::AuthConfig;
use palisade::remember::RememberMe;
use palisade::store::{MemoryStore, Store};

fn auth() -> AuthConfig {
    AuthConfig::new().remember_me(RememberMe::new())
}

/// Signed in with "remember me", then the browser was closed (session
/// cookie gone) and the session timed out.
async fn returning<S: Store + Clone>(app: &App<S>) -> Browser {
    let browser = Browser::new("203.0.113.7", CHROME);
    assert_eq!(browser.post(&app.app, "/login-remember/alice").await.0, StatusCode::OK);
    browser.forget(SESSION);
    app.advance(3 * 3600);
    browser
}

#[tokio::test]
async fn the_remember_cookie_has_the_session_cookies_defaults_and_30_days() {
    let app = App::new(MemoryStore::new(), auth());
    let browser = Browser::new("203.0.113.7", CHROME);
    let res = browser.send(&app.app, "POST", "/login-remember/alice").await;
    let cookie = set_cookies(&res).into_iter().find(|c| c.starts_with(REMEMBER)).expect("a remember-me cookie");
    for part in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=2592000"] {
        assert!(cookie.contains(part), "{cookie} lacks {part}");
    }
    assert!(!cookie.contains("Domain"));
}

#[tokio::test]
async fn a_returning_browser_is_signed_in_not_fresh_and_the_token_rotates() {
    let app = App::new(MemoryStore::new(), auth());
    let browser = returning(&app).await;
    let old = browser.cookie(REMEMBER).unwrap();
    assert_eq!(browser.get(&app.app, "/me").await, (StatusCode::OK, "user=alice fresh=false".into()));
    let new = browser.cookie(REMEMBER).unwrap();
    assert_ne!(old, new, "the validator was replaced");
    assert!(browser.cookie(SESSION).is_some(), "a new session");
    // The new session works without the token.
    let before = app.store.counts().rotate;
    assert_eq!(browser.get(&app.app, "/me").await.1, "user=alice fresh=false");
    assert_eq!(app.store.counts().rotate, before, "no rotation while the session lives");
    // Sensitive actions ask for the password.
    assert_eq!(browser.send(&app.app, "POST", "/sensitive").await.status(), StatusCode::SEE_OTHER);
    // The token is listed as this browser's.
    let listing = browser.get(&app.app, "/devices").await.1;
    assert_eq!(listing.lines().filter(|l| l.starts_with("token ") && l.ends_with(" current")).count(), 1, "{listing}");
}

#[tokio::test]
async fn a_request_racing_the_rotation_within_the_grace_period_is_not_theft() {
    let app = App::new(MemoryStore::new(), auth());
    let browser = returning(&app).await;
    // Two requests of one page load, sent with the same cookie.
    let sibling = browser.copy_to("203.0.113.7", CHROME);
    assert_eq!(browser.get(&app.app, "/me").await.0, StatusCode::OK);
    app.advance(5);
    let res = sibling.send(&app.app, "GET", "/me").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        set_cookies(&res).iter().any(|c| c.starts_with(REMEMBER)),
        "the loser re-sends the current validator (in case the winner's response is lost)"
    );
    assert_eq!(text(res).await, "user=alice fresh=false");
    // Nothing was revoked: the winner's new token still works, and so does
    // the loser's copy of it once the winner's is used.
    browser.forget(SESSION);
    assert_eq!(browser.get(&app.app, "/me").await.0, StatusCode::OK);
    sibling.forget(SESSION);
    app.advance(5);
    assert_eq!(sibling.get(&app.app, "/me").await.1, "user=alice fresh=false");
}

#[tokio::test]
async fn truly_parallel_requests_with_one_cookie_are_all_signed_in() {
    let app = App::new(MemoryStore::new(), auth());
    let browser = returning(&app).await;
    let copies: Vec<Browser> = (0..4).map(|_| browser.copy_to("203.0.113.7", CHROME)).collect();
    let results = futures_join(&app, &copies).await;
    assert!(results.iter().all(|s| *s == StatusCode::OK), "{results:?}");
    let fresh_copy = copies.into_iter().find(|c| c.cookie(REMEMBER) != browser.cookie(REMEMBER)).expect("one winner");
    fresh_copy.forget(SESSION);
    assert_eq!(fresh_copy.get(&app.app, "/me").await.0, StatusCode::OK, "the winner's token is live");
}

async fn futures_join(app: &App<MemoryStore>, browsers: &[Browser]) -> Vec<StatusCode> {
    let mut tasks = Vec::new();
    for b in browsers {
        let (b, router) = (b.clone(), app.app.clone());
        tasks.push(tokio::spawn(async move { b.send(&router, "GET", "/me").await.status() }));
    }
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

#[tokio::test]
async fn a_stale_validator_after_the_grace_period_revokes_everything() {
    let app = App::new(MemoryStore::new(), auth());
    let victim = returning(&app).await;
    let stolen = victim.copy_to("198.51.100.9", CHROME); // copied before the victim came back
    assert_eq!(victim.get(&app.app, "/me").await.0, StatusCode::OK);
    let other_device = Browser::new("192.0.2.4", FIREFOX);
    other_device.post(&app.app, "/login-remember/alice").await;
    let bob = Browser::new("192.0.2.5", CHROME);
    bob.post(&app.app, "/login-remember/bob").await;

    app.advance(61);
    let res = stolen.send(&app.app, "GET", "/me").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "no sign-in with a stale validator");
    assert!(stolen.cookie(REMEMBER).is_none());

    // Every session and token of the user is gone, the victim's included.
    assert_eq!(victim.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER);
    assert!(victim.cookie(REMEMBER).is_none());
    other_device.forget(SESSION);
    assert_eq!(other_device.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER);
    // Another user is untouched.
    bob.forget(SESSION);
    assert_eq!(bob.get(&app.app, "/me").await, (StatusCode::OK, "user=bob fresh=false".into()));
}

#[tokio::test]
async fn the_thief_using_the_token_first_is_caught_when_the_victim_returns() {
    let app = App::new(MemoryStore::new(), auth());
    let victim = returning(&app).await;
    let thief = victim.copy_to("198.51.100.9", FIREFOX);
    assert_eq!(thief.get(&app.app, "/me").await.0, StatusCode::OK, "the thief wins the race");
    app.advance(120);
    assert_eq!(victim.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER);
    // The victim's stale validator revoked the thief's session and token.
    assert_eq!(thief.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER);
    thief.forget(SESSION);
    assert_eq!(thief.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn logout_revokes_the_token_and_removes_the_cookie() {
    let app = App::new(MemoryStore::new(), auth());
    let browser = Browser::new("203.0.113.7", CHROME);
    browser.post(&app.app, "/login-remember/alice").await;
    let copy = browser.copy_to("203.0.113.7", CHROME);
    browser.post(&app.app, "/logout").await;
    assert!(browser.cookie(REMEMBER).is_none() && browser.cookie(SESSION).is_none());
    copy.forget(SESSION);
    assert_eq!(copy.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_login_without_remember_me_forgets_an_earlier_users_token() {
    let app = App::new(MemoryStore::new(), auth());
    let shared_pc = Browser::new("203.0.113.7", CHROME);
    shared_pc.post(&app.app, "/login-remember/alice").await;
    let alices = shared_pc.copy_to("203.0.113.7", CHROME);
    shared_pc.post(&app.app, "/login/bob").await;
    assert!(shared_pc.cookie(REMEMBER).is_none());
    shared_pc.post(&app.app, "/logout").await;
    assert_eq!(shared_pc.get(&app.app, "/maybe").await.1, "anonymous", "alice does not come back");
    alices.forget(SESSION);
    assert_eq!(alices.get(&app.app, "/maybe").await.1, "anonymous", "her token was revoked");
}

#[tokio::test]
async fn tampered_or_unknown_cookies_are_removed_and_cost_at_most_one_read() {
    let app = App::new(MemoryStore::new(), auth());
    let browser = Browser::new("203.0.113.7", CHROME);
    browser.jar.lock().unwrap().insert(REMEMBER.into(), "AAAA".into());
    let before = app.store.counts();
    assert_eq!(browser.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.store.counts().total(), before.total(), "a forged cookie never reaches the store");
    assert!(browser.cookie(REMEMBER).is_none());

    // A well-signed cookie whose token was revoked: one read.
    let gone = Browser::new("203.0.113.7", CHROME);
    gone.post(&app.app, "/login-remember/alice").await;
    let copy = gone.copy_to("203.0.113.7", CHROME);
    gone.post(&app.app, "/logout").await;
    copy.forget(SESSION);
    let before = app.store.counts();
    assert_eq!(copy.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.store.counts().total(), before.total() + 1);
    assert!(copy.cookie(REMEMBER).is_none());
}

#[tokio::test]
async fn the_token_expires_30_days_after_the_password_whatever_its_use() {
    let app = App::new(MemoryStore::new(), auth());
    let browser = returning(&app).await;
    for _ in 0..9 {
        assert_eq!(browser.get(&app.app, "/me").await.0, StatusCode::OK);
        browser.forget(SESSION);
        app.advance(3 * 86_400);
    }
    assert_eq!(browser.send(&app.app, "GET", "/me").await.status(), StatusCode::OK, "day 27: still valid");
    browser.forget(SESSION);
    app.advance(4 * 86_400);
    assert_eq!(browser.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER, "day 31: expired");
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn the_whole_flow_works_on_sqlite() {
    let store = palisade::store::SqliteStore::connect("sqlite::memory:").await.unwrap();
    let app = App::new(store, auth());
    let victim = returning(&app).await;
    let sibling = victim.copy_to("203.0.113.7", CHROME);
    let stolen = victim.copy_to("198.51.100.9", CHROME);
    assert_eq!(victim.get(&app.app, "/me").await, (StatusCode::OK, "user=alice fresh=false".into()));
    assert_ne!(victim.cookie(REMEMBER), sibling.cookie(REMEMBER), "rotated");
    app.advance(10);
    assert_eq!(sibling.get(&app.app, "/me").await.0, StatusCode::OK, "within the grace period");
    let listing = victim.get(&app.app, "/devices").await.1;
    assert_eq!(listing.lines().filter(|l| l.starts_with("token ")).count(), 1, "{listing}");
    assert_eq!(listing.lines().filter(|l| l.starts_with("session ")).count(), 2, "{listing}");

    app.advance(120);
    assert_eq!(stolen.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER, "theft");
    assert_eq!(victim.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER, "all revoked");
    assert_eq!(sibling.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER);
}
