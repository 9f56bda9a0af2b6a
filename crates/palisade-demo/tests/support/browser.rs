//! Driving the demo in a real headless Chromium over WebDriver.
//!
//! Needs `/usr/bin/chromium` and `chromedriver` (Debian: `chromium` and
//! `chromium-driver`); `scripts/test` installs them. Without them a browser
//! test fails, never skips.

use serde_json::Value;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use thirtyfour::common::command::Command as WebDriverCommand;
use thirtyfour::prelude::*;

use super::http::COOKIE_NAME;

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const INSTALL_HINT: &str =
    "run `scripts/test` (it installs what is missing) or `apt-get install chromium chromium-driver`";
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// A `chromedriver` process, killed when the test ends (also on panic).
pub struct ChromeDriver {
    child: Child,
    pub url: String,
}

impl ChromeDriver {
    pub async fn start(binary: &Path) -> Self {
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

pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| candidate.is_file())
}

/// Waits until the browser shows `path` (and `query`, if given).
pub async fn wait_for_page(driver: &WebDriver, path: &str, query: Option<&str>) {
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

pub async fn text_of(driver: &WebDriver, id: &str) -> String {
    driver.find(By::Id(id)).await.unwrap_or_else(|e| panic!("#{id}: {e}")).text().await.expect("text")
}

pub async fn fill_and_submit(driver: &WebDriver, username: &str, password: &str) {
    driver.find(By::Id("username")).await.expect("#username").send_keys(username).await.expect("type username");
    driver.find(By::Id("password")).await.expect("#password").send_keys(password).await.expect("type password");
    driver.find(By::Id("submit")).await.expect("#submit").click().await.expect("click submit");
}

/// The browser's cookie jar as WebDriver reports it, raw (thirtyfour's
/// `Cookie` type has no `httpOnly` field).
pub async fn cookie_jar(driver: &WebDriver) -> Vec<Value> {
    let res = driver.cmd(WebDriverCommand::GetAllCookies).await.expect("get cookies");
    match res.value_json().expect("cookie list") {
        Value::Array(cookies) => cookies,
        other => panic!("unexpected cookie list {other}"),
    }
}

pub async fn session_cookie(driver: &WebDriver) -> Option<Value> {
    cookie_jar(driver).await.into_iter().find(|c| c["name"] == COOKIE_NAME)
}

/// Starts chromedriver and a headless Chromium with a fresh profile, runs
/// `check` with the driver, then ends the browser session cleanly (also
/// when a check panics: the panic is re-raised afterwards).
pub async fn with_chromium<F, Fut>(check: F)
where
    F: FnOnce(WebDriver) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    assert!(Path::new(CHROMIUM).is_file(), "{CHROMIUM} is missing; {INSTALL_HINT}");
    let chromedriver =
        find_on_path("chromedriver").unwrap_or_else(|| panic!("chromedriver is not on PATH; {INSTALL_HINT}"));
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
    let outcome = tokio::spawn(check(driver.clone())).await;
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
