//! The demo in a real headless Chromium, driven over WebDriver: the browser
//! must accept the `__Host-` cookie on http://127.0.0.1, hide it from
//! JavaScript, and lose the session at logout.
//!
//! Needs `/usr/bin/chromium` and `chromedriver` (Debian: `chromium` and
//! `chromium-driver`); `scripts/test` installs them. Without them this test
//! fails, never skips.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::http::{COOKIE_NAME, PASSWORD};
use thirtyfour::common::command::Command as WebDriverCommand;
use thirtyfour::prelude::*;

const CHROMIUM: &str = "/usr/bin/chromium";
const INSTALL_HINT: &str =
    "run `scripts/test` (it installs what is missing) or `apt-get install chromium chromium-driver`";
const TIMEOUT: Duration = Duration::from_secs(20);

/// A `chromedriver` process, killed when the test ends (also on panic).
struct ChromeDriver {
    child: Child,
    url: String,
}

impl ChromeDriver {
    async fn start(binary: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}; {INSTALL_HINT}", binary.display()));
        let mut driver = Self { child, url: format!("http://127.0.0.1:{port}") };
        driver.wait_until_ready().await;
        driver
    }

    async fn wait_until_ready(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("chromedriver exited early ({status}); {INSTALL_HINT}");
            }
            if let Ok(res) = client.get(format!("{}/status", self.url)).send().await {
                if res.status().is_success() {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not answer on {} within {TIMEOUT:?}", self.url);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| candidate.is_file())
}

/// Waits until the browser shows `path` (and `query`, if given).
async fn wait_for_page(driver: &WebDriver, path: &str, query: Option<&str>) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let url = driver.current_url().await.expect("current URL");
        if url.path() == path && (query.is_none() || url.query() == query) {
            return;
        }
        assert!(Instant::now() < deadline, "expected {path} {query:?}, the browser is still on {url}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn text_of(driver: &WebDriver, id: &str) -> String {
    driver.find(By::Id(id)).await.unwrap_or_else(|e| panic!("#{id}: {e}")).text().await.expect("text")
}

async fn fill_and_submit(driver: &WebDriver, username: &str, password: &str) {
    driver.find(By::Id("username")).await.expect("#username").send_keys(username).await.expect("type username");
    driver.find(By::Id("password")).await.expect("#password").send_keys(password).await.expect("type password");
    driver.find(By::Id("submit")).await.expect("#submit").click().await.expect("click submit");
}

/// The browser's cookie jar as WebDriver reports it, raw (thirtyfour's
/// `Cookie` type has no `httpOnly` field).
async fn cookie_jar(driver: &WebDriver) -> Vec<Value> {
    let res = driver.cmd(WebDriverCommand::GetAllCookies).await.expect("get cookies");
    match res.value_json().expect("cookie list") {
        Value::Array(cookies) => cookies,
        other => panic!("unexpected cookie list {other}"),
    }
}

async fn session_cookie(driver: &WebDriver) -> Option<Value> {
    cookie_jar(driver).await.into_iter().find(|c| c["name"] == COOKIE_NAME)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_logout_login_and_logout_in_chromium() {
    assert!(Path::new(CHROMIUM).is_file(), "{CHROMIUM} is missing; {INSTALL_HINT}");
    let chromedriver =
        find_on_path("chromedriver").unwrap_or_else(|| panic!("chromedriver is not on PATH; {INSTALL_HINT}"));

    let app = support::spawn_app().await;
    let chromedriver = ChromeDriver::start(&chromedriver).await;
    let profile = tempfile::tempdir().expect("profile dir");
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary(CHROMIUM).expect("binary");
    let profile_arg = format!("--user-data-dir={}", profile.path().display());
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        profile_arg.as_str(),
    ] {
        caps.add_arg(arg).expect("arg");
    }
    let driver = WebDriver::new(chromedriver.url.as_str(), caps).await.expect("start a Chromium session");

    // The checks run in their own task so that a failed one still lets us
    // end the browser session cleanly before chromedriver is killed.
    let outcome = tokio::spawn(browse(driver.clone(), app.base.clone())).await;
    let quit = driver.quit().await;
    drop(chromedriver);
    if let Err(err) = outcome {
        match err.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(err) => panic!("browser checks did not finish: {err}"),
        }
    }
    quit.expect("quit Chromium");
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

    // Log out, and the account page is closed again.
    driver.find(By::Id("logout")).await.expect("logout button").click().await.expect("click logout");
    wait_for_page(&driver, "/", None).await;
    driver.goto(url("/account")).await.expect("open account");
    wait_for_page(&driver, "/login", Some("next=/account")).await;
    driver.find(By::Id("username")).await.expect("the login form is shown");
    assert!(driver.source().await.unwrap().contains("Not logged in"));
}
