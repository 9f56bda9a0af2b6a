//! Session binding through the session layer: the same cookie replayed from
//! another network or browser, in each mode.

#[path = "auth_support/mod.rs"]
mod auth_support;

use auth_support::*;
use http::{header, StatusCode};
use palisade::auth::AuthConfig;
use palisade::binding::{Binding, IpMatch, Mode, UserAgentMatch};
use palisade::remember::RememberMe;
use palisade::store::MemoryStore;

fn app(binding: Binding) -> App<MemoryStore> {
    App::new(MemoryStore::new(), AuthConfig::new().binding(binding).remember_me(RememberMe::new()))
}

async fn signed_in(app: &App<MemoryStore>, ip: &str, ua: &str) -> Browser {
    let browser = Browser::new(ip, ua);
    assert_eq!(browser.post(&app.app, "/login-remember/alice").await.0, StatusCode::OK);
    browser
}

#[tokio::test]
async fn strong_refuses_the_cookie_from_another_network_and_destroys_the_session() {
    let app = app(Binding::strong());
    let victim = signed_in(&app, "203.0.113.7", CHROME).await;
    let thief = victim.copy_to("198.51.100.9", CHROME);
    thief.forget(REMEMBER);

    let res = thief.send(&app.app, "GET", "/me").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers().get(header::LOCATION).unwrap(), "/login?next=/me");
    assert!(thief.cookie(SESSION).is_none(), "the refused cookie is removed");
    // Destroyed, not just refused: the store record is gone, so the victim
    // is signed out too (one of the two holders is a thief).
    assert_eq!(victim.get(&app.app, "/maybe").await, (StatusCode::OK, "anonymous".into()));
}

#[tokio::test]
async fn strong_destroys_the_record_and_the_remember_token() {
    let app = app(Binding::strong());
    let victim = signed_in(&app, "203.0.113.7", CHROME).await;
    let thief = victim.copy_to("198.51.100.9", CHROME);
    let deletes = app.store.counts().delete;
    assert_eq!(thief.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.store.counts().delete, deletes + 3, "the session record and both records of its token");
    assert!(thief.cookie(REMEMBER).is_none(), "the thief's remember-me cookie is dead and removed");

    // The victim's session and remember-me token are both gone.
    assert_eq!(victim.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER);
    assert!(victim.cookie(REMEMBER).is_none());
}

#[tokio::test]
async fn strong_refuses_another_user_agent_on_the_same_address() {
    let app = app(Binding::strong());
    let victim = signed_in(&app, "203.0.113.7", CHROME).await;
    let thief = victim.copy_to("203.0.113.7", FIREFOX);
    thief.forget(REMEMBER);
    assert_eq!(thief.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(victim.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_move_inside_the_network_prefix_is_accepted() {
    let app = app(Binding::strong());
    let phone = signed_in(&app, "203.0.113.7", CHROME).await;
    let moved = phone.copy_to("203.0.113.201", CHROME);
    assert_eq!(moved.get(&app.app, "/me").await, (StatusCode::OK, "user=alice fresh=true".into()));

    let v6 = signed_in(&app, "2001:db8:0:1::1", CHROME).await;
    let rotated_privacy_address = v6.copy_to("2001:db8:0:1:abcd:ef01:2345:6789", CHROME);
    assert_eq!(rotated_privacy_address.get(&app.app, "/me").await.0, StatusCode::OK);
    let other_64 = v6.copy_to("2001:db8:0:2::1", CHROME);
    other_64.forget(REMEMBER);
    assert_eq!(other_64.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn exact_ip_refuses_even_a_neighbour() {
    let app = app(Binding::strong().ip(Mode::Strong, IpMatch::Exact));
    let victim = signed_in(&app, "203.0.113.7", CHROME).await;
    let neighbour = victim.copy_to("203.0.113.8", CHROME);
    neighbour.forget(REMEMBER);
    assert_eq!(neighbour.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn basic_marks_the_session_not_fresh_for_everyone_holding_it() {
    let app = app(Binding::basic());
    let victim = signed_in(&app, "203.0.113.7", CHROME).await;
    let thief = victim.copy_to("198.51.100.9", FIREFOX);
    assert_eq!(thief.get(&app.app, "/me").await, (StatusCode::OK, "user=alice fresh=false".into()));
    let res = thief.send(&app.app, "POST", "/sensitive").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "sensitive actions need the password again");
    // The flag is stored: the original browser must re-enter its password too.
    assert_eq!(victim.get(&app.app, "/me").await.1, "user=alice fresh=false");
    // Re-entering the password binds the session to the client that did it.
    assert_eq!(victim.post(&app.app, "/reauth").await.0, StatusCode::OK);
    assert_eq!(victim.post(&app.app, "/sensitive").await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_default_ends_the_session_for_another_browser_but_not_for_another_network() {
    let app = app(Binding::default());
    let phone = signed_in(&app, "203.0.113.7", CHROME).await;
    let on_mobile_data = phone.copy_to("198.51.100.9", CHROME);
    assert_eq!(on_mobile_data.get(&app.app, "/me").await, (StatusCode::OK, "user=alice fresh=false".into()));
    let other_browser = phone.copy_to("203.0.113.7", FIREFOX);
    other_browser.forget(REMEMBER);
    assert_eq!(other_browser.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn browser_major_matching_tolerates_a_minor_agent_change() {
    let binding = Binding::strong().user_agent(Mode::Strong, UserAgentMatch::BrowserMajor);
    let app = app(binding);
    let browser = signed_in(&app, "203.0.113.7", CHROME).await;
    let patched = browser.copy_to("203.0.113.7", &CHROME.replace("120.0.0.0", "120.0.6099.71"));
    assert_eq!(patched.get(&app.app, "/me").await.0, StatusCode::OK);
    // A new major version is the same browser updated: kept, not fresh.
    let upgraded = browser.copy_to("203.0.113.7", &CHROME.replace("120.0.0.0", "121.0.0.0"));
    upgraded.forget(REMEMBER);
    assert_eq!(upgraded.get(&app.app, "/me").await, (StatusCode::OK, "user=alice fresh=false".into()));
    // Another browser family is another browser: destroyed.
    let other = browser.copy_to("203.0.113.7", FIREFOX);
    other.forget(REMEMBER);
    assert_eq!(other.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn off_compares_nothing() {
    let app = app(Binding::off());
    let victim = signed_in(&app, "203.0.113.7", CHROME).await;
    let elsewhere = victim.copy_to("198.51.100.9", FIREFOX);
    assert_eq!(elsewhere.get(&app.app, "/me").await, (StatusCode::OK, "user=alice fresh=true".into()));
}

#[tokio::test]
async fn a_route_can_opt_out_of_binding() {
    let app = app(Binding::strong());
    let victim = signed_in(&app, "203.0.113.7", CHROME).await;
    let elsewhere = victim.copy_to("198.51.100.9", FIREFOX);
    assert_eq!(elsewhere.get(&app.app, "/unbound/me").await, (StatusCode::OK, "user=alice fresh=true".into()));
    // Everywhere else the check still runs.
    assert_eq!(elsewhere.send(&app.app, "GET", "/me").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_untouched_handler_never_checks_so_never_calls_the_store() {
    let app = app(Binding::strong());
    let victim = signed_in(&app, "203.0.113.7", CHROME).await;
    let thief = victim.copy_to("198.51.100.9", FIREFOX);
    let before = app.store.counts();
    assert_eq!(thief.send(&app.app, "GET", "/untouched").await.status(), StatusCode::OK);
    assert_eq!(app.store.counts(), before);
    // And the victim's session is still alive: nothing was checked.
    assert_eq!(victim.get(&app.app, "/me").await.0, StatusCode::OK);
}
