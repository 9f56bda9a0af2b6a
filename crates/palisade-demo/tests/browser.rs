//! The demo in a real headless Chromium, driven over WebDriver: the browser
//! must accept the `__Host-` cookie on http://127.0.0.1, hide it from
//! JavaScript, and lose the session at logout.
//!
//! Needs `/usr/bin/chromium` and `chromedriver` (Debian: `chromium` and
//! `chromium-driver`); `scripts/test` installs them. Without them this test
//! fails, never skips.

mod support;

use serde_json::Value;
use support::browser::{cookie_jar, fill_and_submit, session_cookie, text_of, wait_for_page, with_chromium};
use support::http::{COOKIE_NAME, PASSWORD};
use thirtyfour::prelude::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_logout_login_and_logout_in_chromium() {
    let app = support::spawn_app().await;
    let base = app.base.clone();
    with_chromium(move |driver| browse(driver, base)).await;
}

async fn browse(driver: WebDriver, base: String) {
    let url = |path: &str| format!("{base}{path}");

    // Anonymous: no cookie at all.
    driver.goto(url("/")).await.expect("open home");
    assert!(driver.source().await.unwrap().contains("You are not logged in"));
    assert!(session_cookie(&driver).await.is_none(), "lazy sessions: no cookie before login");

    // Register: logged in, on the account page.
    driver.goto(url("/register")).await.expect("open register");
    fill_and_submit(&driver, "ivan", PASSWORD).await;
    wait_for_page(&driver, "/account", None).await;
    assert_eq!(text_of(&driver, "account-user").await, "ivan");
    assert_eq!(text_of(&driver, "nav-user").await, "ivan");

    // Log out with the nav button.
    driver.find(By::Id("logout")).await.expect("logout button").click().await.expect("click logout");
    wait_for_page(&driver, "/", None).await;
    assert!(driver.source().await.unwrap().contains("You are not logged in"));
    assert!(session_cookie(&driver).await.is_none(), "logout removes the cookie from the browser");

    // The account page sends us to the login form, which brings us back.
    driver.goto(url("/account")).await.expect("open account");
    wait_for_page(&driver, "/login", Some("next=/account")).await;
    fill_and_submit(&driver, "ivan", PASSWORD).await;
    wait_for_page(&driver, "/account", None).await;
    assert_eq!(text_of(&driver, "account-user").await, "ivan");
    assert!(text_of(&driver, "session-created").await.ends_with(" UTC"));

    // JavaScript cannot see the session cookie; the browser holds it, with
    // the secure attributes, for this host only.
    let visible = driver.execute("return document.cookie;", Vec::new()).await.expect("run script");
    let visible = visible.json().as_str().expect("document.cookie is a string").to_owned();
    assert!(!visible.contains(COOKIE_NAME), "document.cookie exposes the session: {visible:?}");
    let cookie = session_cookie(&driver).await.expect("the browser keeps the session cookie");
    assert_eq!(cookie["secure"], true, "{cookie}");
    assert_eq!(cookie["httpOnly"], true, "{cookie}");
    assert_eq!(cookie["sameSite"], "Lax", "{cookie}");
    assert_eq!(cookie["path"], "/", "{cookie}");
    assert_eq!(cookie["domain"], "127.0.0.1", "host-only, no Domain attribute: {cookie}");
    assert!(cookie.get("expiry").is_none_or(Value::is_null), "a browser-session cookie: {cookie}");

    // Log out, and the account page is closed again. The logout response's
    // `Clear-Site-Data: "cookies"` also drops the site's other cookies (one
    // set by script stands for an app's own).
    driver.execute("document.cookie = 'theme=dark; path=/; max-age=3600';", Vec::new()).await.expect("set a cookie");
    let names = |jar: Vec<Value>| jar.iter().filter_map(|c| c["name"].as_str().map(str::to_owned)).collect::<Vec<_>>();
    assert!(names(cookie_jar(&driver).await).contains(&"theme".to_owned()));
    driver.find(By::Id("logout")).await.expect("logout button").click().await.expect("click logout");
    wait_for_page(&driver, "/", None).await;
    let left = names(cookie_jar(&driver).await);
    assert!(!left.contains(&"theme".to_owned()), "Clear-Site-Data left cookies behind: {left:?}");
    driver.goto(url("/account")).await.expect("open account");
    wait_for_page(&driver, "/login", Some("next=/account")).await;
    driver.find(By::Id("username")).await.expect("the login form is shown");
    assert!(driver.source().await.unwrap().contains("Not logged in"));
}
