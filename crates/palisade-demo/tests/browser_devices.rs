//! "Remember me" and "your devices" in real headless Chromium: a browser
//! that lost its session cookie comes back signed in through its
//! remember-me cookie, and a device revoked from another browser profile is
//! signed out on its next request.
//!
//! Needs `/usr/bin/chromium` and `chromedriver` (Debian: `chromium` and
//! `chromium-driver`); `scripts/test` installs them. Without them this test
//! fails, never skips.

mod support;

use support::browser::{
    cookie_jar, fill_and_submit, find_on_path, text_of, wait_for_page, ChromeDriver, CHROMIUM, INSTALL_HINT,
};
use support::http::{COOKIE_NAME, PASSWORD};
use thirtyfour::prelude::*;

const REMEMBER_COOKIE: &str = "__Host-remember";

/// A headless Chromium session with its own fresh profile (own cookie jar).
async fn chromium(driver_url: &str, profile: &std::path::Path) -> WebDriver {
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary(CHROMIUM).expect("binary");
    let profile_arg = format!("--user-data-dir={}", profile.display());
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"] {
        caps.add_arg(arg).expect("arg");
    }
    caps.add_arg(&profile_arg).expect("profile arg");
    WebDriver::new(driver_url, caps).await.expect("start a Chromium session")
}

async fn cookie_value(driver: &WebDriver, name: &str) -> Option<String> {
    cookie_jar(driver)
        .await
        .into_iter()
        .find(|c| c["name"] == name)
        .and_then(|c| c["value"].as_str().map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remember_me_brings_a_browser_back_and_a_revoked_device_is_signed_out() {
    assert!(std::path::Path::new(CHROMIUM).is_file(), "{CHROMIUM} is missing; {INSTALL_HINT}");
    let chromedriver =
        find_on_path("chromedriver").unwrap_or_else(|| panic!("chromedriver is not on PATH; {INSTALL_HINT}"));
    let chromedriver = ChromeDriver::start(&chromedriver).await;
    let app = support::spawn_app().await;
    let (profile_a, profile_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let laptop = chromium(&chromedriver.url, profile_a.path()).await;
    let phone = chromium(&chromedriver.url, profile_b.path()).await;

    let base = app.base.clone();
    let (a, b) = (laptop.clone(), phone.clone());
    // In a task, so that a failed check still lets both sessions end cleanly.
    let outcome = tokio::spawn(async move { browse(a, b, base).await }).await;
    let quit = (laptop.quit().await, phone.quit().await);
    drop(chromedriver);
    if let Err(err) = outcome {
        match err.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(err) => panic!("browser checks did not finish: {err}"),
        }
    }
    quit.0.expect("quit the first Chromium");
    quit.1.expect("quit the second Chromium");
}

async fn browse(laptop: WebDriver, phone: WebDriver, base: String) {
    let url = |path: &str| format!("{base}{path}");

    // Register on the laptop, log out, log in again with "remember me".
    laptop.goto(url("/register")).await.expect("open register");
    fill_and_submit(&laptop, "rita", PASSWORD).await;
    wait_for_page(&laptop, "/account", None).await;
    laptop.find(By::Id("logout")).await.expect("logout").click().await.expect("click logout");
    wait_for_page(&laptop, "/", None).await;
    laptop.goto(url("/login")).await.expect("open login");
    laptop.find(By::Id("remember")).await.expect("#remember").click().await.expect("tick remember me");
    fill_and_submit(&laptop, "rita", PASSWORD).await;
    wait_for_page(&laptop, "/account", None).await;
    let remembered = cookie_value(&laptop, REMEMBER_COOKIE).await.expect("a remember-me cookie");
    let jar = cookie_jar(&laptop).await;
    let cookie = jar.iter().find(|c| c["name"] == REMEMBER_COOKIE).unwrap();
    assert_eq!((cookie["secure"].as_bool(), cookie["httpOnly"].as_bool()), (Some(true), Some(true)), "{cookie}");
    assert!(cookie["expiry"].as_u64().is_some(), "a persistent cookie: {cookie}");

    // "Close the browser": only the session cookie goes. Back signed in.
    laptop.delete_cookie(COOKIE_NAME).await.expect("delete the session cookie");
    assert!(cookie_value(&laptop, COOKIE_NAME).await.is_none());
    laptop.goto(url("/account")).await.expect("open account");
    wait_for_page(&laptop, "/account", None).await;
    assert_eq!(text_of(&laptop, "account-user").await, "rita");
    assert!(cookie_value(&laptop, COOKIE_NAME).await.is_some(), "a new session");
    assert_ne!(cookie_value(&laptop, REMEMBER_COOKIE).await.as_deref(), Some(remembered.as_str()), "rotated");

    // A second browser profile signs in and lists both devices.
    phone.goto(url("/login")).await.expect("open login");
    fill_and_submit(&phone, "rita", PASSWORD).await;
    wait_for_page(&phone, "/account", None).await;
    phone.find(By::Id("devices-link")).await.expect("devices link").click().await.expect("open devices");
    wait_for_page(&phone, "/sessions", None).await;
    // The laptop's first session (whose cookie it lost) lives on until its
    // idle timeout, so three sessions are listed, oldest first.
    let rows = phone.find_all(By::Css("#sessions tr.session")).await.expect("session rows");
    assert_eq!(rows.len(), 3, "the laptop's two sessions and this phone");
    assert_eq!(phone.find_all(By::Css("#sessions tr.current")).await.unwrap().len(), 1, "this device is marked");
    assert_eq!(phone.find_all(By::Css("#remembered tr.token")).await.unwrap().len(), 1, "the laptop is remembered");

    // Sign the laptop's sessions out from the phone, one revoke button at a
    // time. (Which of the two is the live one cannot be told from here: both
    // may have been created within the same second, and rows of the same
    // second are ordered by key.)
    for _ in 0..2 {
        phone.goto(url("/sessions")).await.expect("open devices");
        wait_for_page(&phone, "/sessions", None).await;
        let buttons = phone.find_all(By::Css("#sessions tr.session:not(.current) button.revoke")).await.unwrap();
        let revoke = buttons.last().expect("a revoke button");
        let key = revoke.attr("data-key").await.unwrap().expect("data-key");
        revoke.click().await.expect("click revoke");
        wait_for_page(&phone, "/sessions", Some("done=revoked")).await;
        let still_listed = phone.find_all(By::Css(format!("button[data-key='{key}']"))).await.unwrap();
        assert!(still_listed.is_empty(), "the revoked session is gone");
    }
    assert_eq!(phone.find_all(By::Css("#sessions tr.session")).await.unwrap().len(), 1, "only this phone is left");
    assert!(phone.find_all(By::Css("#remembered tr.token")).await.unwrap().is_empty(), "its token went with it");

    // The laptop's next request: signed out, its remember-me cookie useless.
    laptop.goto(url("/account")).await.expect("open account");
    wait_for_page(&laptop, "/login", Some("next=/account")).await;
    assert!(cookie_value(&laptop, REMEMBER_COOKIE).await.is_none(), "the dead remember-me cookie was removed");
    // The phone is still signed in.
    phone.goto(url("/account")).await.expect("open account");
    wait_for_page(&phone, "/account", None).await;
    assert_eq!(text_of(&phone, "account-user").await, "rita");
}
