//! Serving the demo over HTTPS itself: certificates from files, or a
//! self-signed one made at startup for local development; and a plain-HTTP
//! listener that only redirects to HTTPS.

use crate::{DemoConfig, DemoError};
use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use axum::http::StatusCode;
use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use palisade::https::{HttpsRedirectError, HttpsRedirectLayer};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How long requests in flight may take to finish at shutdown.
const GRACE: Duration = Duration::from_secs(10);

/// Where the demo's TLS certificate comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TlsChoice {
    /// Plain HTTP (the default: fine on loopback, where Chromium accepts
    /// `Secure` cookies; anywhere else, put a TLS proxy in front).
    #[default]
    Off,
    /// PEM certificate chain and private key files.
    Files { cert: PathBuf, key: PathBuf },
    /// A certificate for `localhost`, `127.0.0.1` and `::1`, generated at
    /// every start and kept in memory only. Browsers warn about it: for
    /// development, never production.
    SelfSigned,
}

impl TlsChoice {
    pub fn is_on(&self) -> bool {
        *self != Self::Off
    }
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    #[error("cannot load the TLS certificate {cert} or key {key}: {source}")]
    Files { cert: PathBuf, key: PathBuf, source: std::io::Error },
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("cannot build the TLS configuration: {0}")]
    Config(std::io::Error),
}

/// The names the self-signed certificate is valid for.
pub const SELF_SIGNED_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The rustls configuration for `choice` (`None` for [`TlsChoice::Off`]).
pub async fn rustls_config(choice: &TlsChoice) -> Result<Option<RustlsConfig>, TlsError> {
    // Both ring and aws-lc-rs may be compiled in; pick one explicitly, once.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match choice {
        TlsChoice::Off => Ok(None),
        TlsChoice::Files { cert, key } => RustlsConfig::from_pem_file(cert, key)
            .await
            .map(Some)
            .map_err(|source| TlsError::Files { cert: cert.clone(), key: key.clone(), source }),
        TlsChoice::SelfSigned => {
            let (cert, key) = self_signed()?;
            RustlsConfig::from_pem(cert.into_bytes(), key.into_bytes()).await.map(Some).map_err(TlsError::Config)
        }
    }
}

/// A fresh self-signed certificate and key, PEM.
pub fn self_signed() -> Result<(String, String), TlsError> {
    let names: Vec<String> = SELF_SIGNED_NAMES.iter().map(|n| (*n).to_owned()).collect();
    let certified = rcgen::generate_simple_self_signed(names)?;
    Ok((certified.cert.pem(), certified.signing_key.serialize_pem()))
}

/// Serves `app` over HTTPS on `config.addr` — and, if configured, the
/// redirect-only HTTP listener — until `shutdown` completes.
pub(crate) async fn serve_https(
    config: &DemoConfig,
    rustls: RustlsConfig,
    app: IntoMakeServiceWithConnectInfo<Router, SocketAddr>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), DemoError> {
    let bind = |addr: SocketAddr| move |source| DemoError::Bind { addr, source };
    let listener = std::net::TcpListener::bind(config.addr).map_err(bind(config.addr))?;
    listener.set_nonblocking(true).map_err(DemoError::Serve)?;
    let addr = listener.local_addr().map_err(DemoError::Serve)?;
    let redirect = match config.http_redirect_addr {
        Some(http_addr) => {
            let layer = https_redirect(&DemoConfig { addr, ..config.clone() })?;
            let listener = tokio::net::TcpListener::bind(http_addr).await.map_err(bind(http_addr))?;
            let local = listener.local_addr().map_err(DemoError::Serve)?;
            tracing::info!("redirecting http://{local} to https://{addr}");
            Some(tokio::spawn(async move {
                if let Err(err) = axum::serve(listener, redirect_app(layer)).await {
                    tracing::error!(error = %err, "the HTTP redirect listener stopped");
                }
            }))
        }
        None => None,
    };
    let handle = axum_server::Handle::new();
    let stopper = handle.clone();
    let stop: JoinHandle<()> = tokio::spawn(async move {
        shutdown.await;
        stopper.graceful_shutdown(Some(GRACE));
    });
    tracing::info!("Palisade demo listening on https://{addr}");
    let served =
        axum_server::from_tcp_rustls(listener, rustls).map_err(DemoError::Serve)?.handle(handle).serve(app).await;
    stop.abort();
    if let Some(redirect) = redirect {
        redirect.abort();
    }
    served.map_err(DemoError::Serve)
}

/// An app that answers every request with the redirect layer's 308 (or
/// 400 for a host not served here); the inner 404 is never reached on a
/// plain-HTTP listener.
pub(crate) fn redirect_app(layer: HttpsRedirectLayer) -> Router {
    Router::new().fallback(|| async { StatusCode::NOT_FOUND }).layer(layer)
}

/// Redirects plain HTTP to HTTPS on `config.addr`'s port, for the hosts in
/// `config.hosts` only (a forged `Host` gets 400, never a redirect to it).
pub(crate) fn https_redirect(config: &DemoConfig) -> Result<HttpsRedirectLayer, HttpsRedirectError> {
    HttpsRedirectLayer::for_hosts(&config.hosts)?.https_port(config.addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_redirect_builds_for_the_configured_hosts() {
        let config = DemoConfig::new("d").with_addr("127.0.0.1:3443".parse().unwrap());
        https_redirect(&config).unwrap();
    }
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    #[tokio::test]
    async fn the_redirect_listener_only_redirects() {
        let layer = HttpsRedirectLayer::for_hosts(["localhost"]).unwrap().https_port(3443).unwrap();
        let req = Request::builder().uri("/account?x=1").header("host", "localhost:3080").body(Body::empty()).unwrap();
        let res = redirect_app(layer.clone()).oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(res.headers()["location"], "https://localhost:3443/account?x=1");
        let forged = Request::builder().uri("/").header("host", "evil.example").body(Body::empty()).unwrap();
        assert_eq!(redirect_app(layer).oneshot(forged).await.unwrap().status(), StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn a_self_signed_certificate_loads() {
        let (cert, key) = self_signed().unwrap();
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(key.contains("PRIVATE KEY"));
        assert!(rustls_config(&TlsChoice::SelfSigned).await.unwrap().is_some());
        assert!(rustls_config(&TlsChoice::Off).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn missing_files_are_an_error_naming_them() {
        let choice = TlsChoice::Files { cert: "/nonexistent/c.pem".into(), key: "/nonexistent/k.pem".into() };
        let err = rustls_config(&choice).await.unwrap_err().to_string();
        assert!(err.contains("/nonexistent/c.pem"), "{err}");
    }
}
