//! The Flask bridge in a real headless Chromium: a Flask app (the real
//! Flask and Flask-Login, `crates/palisade/tests/flask/app.py`) and the
//! demo on two ports of 127.0.0.1 share one login. Log in on the Flask
//! page, the demo's `/from-flask` page shows the user; log out in Flask,
//! and it no longer does.
//!
//! Needs Chromium and chromedriver like `tests/browser.rs`, and the Python
//! with Flask and Flask-Login that `scripts/test` makes
//! (`PALISADE_ORACLE_PYTHON`). Without them this test fails, never skips.

mod support;

use palisade::flask::FlaskKeys;
use palisade::keys::KeyRing;
use palisade_demo::{DemoConfig, FlaskBridge};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use support::browser::{text_of, with_chromium};
use thirtyfour::prelude::*;

const FLASK_SECRET: &str = "the-flask-apps-secret-key-for-the-browser-test";

/// The Flask app, stopped when dropped.
struct Flask(Child);

impl Drop for Flask {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_flask() -> (Flask, String) {
    let python = std::env::var("PALISADE_ORACLE_PYTHON").unwrap_or_else(|_| {
        panic!(
            "PALISADE_ORACLE_PYTHON is not set: run `scripts/test` (it creates target/oracles/venv with Flask and \
             Flask-Login), or point it at a python with them"
        )
    });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../palisade/tests/flask/app.py");
    let mut child = Command::new(python)
        .arg(script)
        .env("FLASK_SECRET_KEY", FLASK_SECRET)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the Flask app starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port = line.trim().strip_prefix("PORT ").unwrap_or_else(|| panic!("app.py said {line:?}")).to_owned();
    (Flask(child), format!("http://127.0.0.1:{port}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flask_login_shows_on_the_demo_until_flask_logs_out_in_chromium() {
    let (_flask, flask) = start_flask();
    let temp = tempfile::tempdir().unwrap();
    let bridge = FlaskBridge { keys: FlaskKeys::new(FLASK_SECRET), login_url: Some(format!("{flask}/login")) };
    let config = DemoConfig::new(temp.path().join("data")).with_keys(KeyRing::generate()).with_flask(bridge);
    let demo = support::spawn_with(config).await;
    let base = demo.base.clone();
    with_chromium(move |driver| browse(driver, flask, base)).await;
}

async fn browse(driver: WebDriver, flask: String, demo: String) {
    driver.goto(format!("{demo}/from-flask")).await.unwrap();
    assert!(text_of(&driver, "flask-status").await.starts_with("Not signed in to the Flask app"));
    // The demo links to Flask's login page; log in there, as a person would.
    driver.find(By::Id("flask-login")).await.unwrap().click().await.unwrap();
    wait_for_url(&driver, &format!("{flask}/login")).await;
    driver.find(By::Id("name")).await.unwrap().send_keys("alice").await.unwrap();
    driver.find(By::Id("password")).await.unwrap().send_keys("pw-alice").await.unwrap();
    driver.find(By::Id("submit")).await.unwrap().click().await.unwrap();
    wait_for_url(&driver, &format!("{flask}/")).await;
    assert_eq!(text_of(&driver, "who").await, "Signed in to Flask as alice (fresh)");

    driver.goto(format!("{demo}/from-flask")).await.unwrap();
    assert_eq!(text_of(&driver, "flask-user").await, "alice");
    assert!(text_of(&driver, "flask-status").await.contains("(fresh"), "the password was typed in that session");

    // Log out in Flask: the Rust page no longer sees anyone.
    driver.goto(format!("{flask}/")).await.unwrap();
    driver.find(By::Id("logout")).await.unwrap().click().await.unwrap();
    wait_for_text(&driver, "who", "Not signed in to Flask").await;
    driver.goto(format!("{demo}/from-flask")).await.unwrap();
    assert!(text_of(&driver, "flask-status").await.starts_with("Not signed in to the Flask app"));
}

async fn wait_for_url(driver: &WebDriver, want: &str) {
    for _ in 0..100 {
        let url = driver.current_url().await.unwrap();
        if url.as_str().split('?').next() == Some(want) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("never reached {want}: at {}", driver.current_url().await.unwrap());
}

async fn wait_for_text(driver: &WebDriver, id: &str, want: &str) {
    for _ in 0..100 {
        if let Ok(element) = driver.find(By::Id(id)).await {
            if element.text().await.unwrap_or_default() == want {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("#{id} never said {want:?}");
}
