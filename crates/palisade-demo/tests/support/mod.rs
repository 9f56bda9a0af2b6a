//! Starting the demo in-process for the integration tests.
#![allow(dead_code)] // each test binary uses a different part

pub mod browser;
pub mod http;

use palisade::keys::KeyRing;
use palisade_demo::{build_app, DemoConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// A running demo on a free loopback port, with its own data directory.
pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub data_dir: PathBuf,
    /// Deleted when the test ends.
    _temp: Option<TempDir>,
}

/// A fresh data directory and an explicit secret (no environment variables).
pub async fn spawn_app() -> TestApp {
    let temp = tempfile::tempdir().expect("temp dir");
    let keys = KeyRing::from_base64(&KeyRing::generate_secret_base64()).expect("generated secret is valid");
    let config = DemoConfig::new(temp.path().join("data")).with_keys(keys);
    let mut app = spawn_with(config).await;
    app._temp = Some(temp);
    app
}

/// Serves `config` on `127.0.0.1:0` until the test's runtime ends.
pub async fn spawn_with(config: DemoConfig) -> TestApp {
    spawn_wrapped(config, |app| app).await
}

/// Like [`spawn_app`], with the app passed through `wrap` first (a test
/// can add an outer layer that observes every request and response).
pub async fn spawn_app_wrapped(wrap: impl FnOnce(axum::Router) -> axum::Router) -> TestApp {
    let temp = tempfile::tempdir().expect("temp dir");
    let keys = KeyRing::from_base64(&KeyRing::generate_secret_base64()).expect("generated secret is valid");
    let config = DemoConfig::new(temp.path().join("data")).with_keys(keys);
    let mut app = spawn_wrapped(config, wrap).await;
    app._temp = Some(temp);
    app
}

async fn spawn_wrapped(config: DemoConfig, wrap: impl FnOnce(axum::Router) -> axum::Router) -> TestApp {
    let app = wrap(build_app(&config).await.expect("build_app"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    // As `palisade_demo::serve` does: with the peer address, which sign-in
    // needs for binding sessions to the client (without it login is refused).
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    TestApp { addr, base: format!("http://{addr}"), data_dir: config.data_dir.clone(), _temp: None }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}
