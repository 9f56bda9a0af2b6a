//! Command-line and environment configuration.

use crate::session_store::{StoreChoice, StoreChoiceError};
use crate::tls::TlsChoice;
use crate::DemoConfig;
use clap::Parser;
use palisade::client::{ProxyConfigError, TrustedProxyLayer};
use palisade::keys::{KeyError, KeyRing, SECRET_KEY_ENV};
use std::net::SocketAddr;
use std::path::PathBuf;

/// The demo's command line. The secret is deliberately not a flag (command
/// lines are visible to every local user in `ps`): it comes from
/// `PALISADE_SECRET_KEY` or from the data directory.
#[derive(Debug, Parser)]
#[command(
    name = "palisade-demo",
    version,
    about = "Palisade demo: register, log in, see your account, log out",
    after_help = "Secret key: PALISADE_SECRET_KEY (base64, at least 32 random bytes; older keys in \
                  PALISADE_SECRET_KEY_FALLBACKS). Without it, <DATA_DIR>/secret_key is used, and generated \
                  on first start.\nLogging: RUST_LOG (default `info`)."
)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "PALISADE_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Directory for the SQLite database and the generated secret (created if missing).
    #[arg(long, env = "PALISADE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Where sessions live: `sqlite` (the data directory's database), a
    /// `postgres://…` URL, a `redis://…` URL, or (with --store-cluster)
    /// Redis Cluster nodes as comma-separated `redis://…` URLs. Users always
    /// stay in SQLite.
    #[arg(long, env = "PALISADE_STORE", default_value = "sqlite", hide_env_values = true)]
    pub store: String,
    /// Read --store as a list of Redis Cluster nodes.
    #[arg(long, env = "PALISADE_STORE_CLUSTER")]
    pub store_cluster: bool,
    /// Serve HTTPS with this PEM certificate chain (needs --tls-key).
    #[arg(long, env = "PALISADE_TLS_CERT", requires = "tls_key", conflicts_with = "tls_self_signed")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key for --tls-cert.
    #[arg(long, env = "PALISADE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve HTTPS with a certificate for localhost generated at startup
    /// (development only: browsers warn about it).
    #[arg(long, env = "PALISADE_TLS_SELF_SIGNED")]
    pub tls_self_signed: bool,
    /// With HTTPS: also listen here on plain HTTP, only to redirect (308)
    /// to the HTTPS address.
    #[arg(long, env = "PALISADE_HTTP_REDIRECT_ADDR")]
    pub http_redirect_addr: Option<SocketAddr>,
    /// Host names the HTTPS redirect may send browsers to (comma-separated);
    /// a request for any other Host gets 400, so a forged Host header cannot
    /// turn the redirect into one to another site.
    #[arg(long, env = "PALISADE_HOSTS", default_value = "localhost,127.0.0.1,::1", value_delimiter = ',')]
    pub hosts: Vec<String>,
    /// Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are
    /// believed: IP addresses or CIDR ranges, comma-separated. Default: none
    /// (the socket's peer is the client).
    #[arg(long, env = "PALISADE_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// A file holding a Flask app's SECRET_KEY (its first line): the
    /// /from-flask page then shows who is signed in to that Flask app on
    /// this host (its session cookie and Flask-Login's remember cookie,
    /// verified, never written). Kept apart from PALISADE_SECRET_KEY.
    #[arg(long, env = "PALISADE_FLASK_SECRET_FILE")]
    pub flask_secret_file: Option<PathBuf>,
    /// The Flask app's login page, linked from /from-flask.
    #[arg(long, env = "PALISADE_FLASK_LOGIN_URL", requires = "flask_secret_file")]
    pub flask_login_url: Option<String>,
}

/// Configuration the demo refuses at startup.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("PALISADE_SECRET_KEY: {0}")]
    Key(#[from] KeyError),
    #[error("--store: {0}")]
    Store(#[from] StoreChoiceError),
    #[error("--trusted-proxies: {0}")]
    Proxies(#[from] ProxyConfigError),
    #[error("--http-redirect-addr redirects to HTTPS: it needs --tls-cert/--tls-key or --tls-self-signed")]
    RedirectWithoutTls,
    #[error("--flask-secret-file {path}: {reason}")]
    FlaskSecret { path: PathBuf, reason: String },
}

impl Args {
    /// The configuration these arguments describe. Reads the secret from
    /// `PALISADE_SECRET_KEY` when it is set; an invalid one is an error
    /// (whose message says how to generate a good one), never a silent
    /// fallback to the generated secret.
    pub fn into_config(self) -> Result<DemoConfig, ConfigError> {
        let keys = if std::env::var_os(SECRET_KEY_ENV).is_some() { Some(KeyRing::from_env()?) } else { None };
        let store = StoreChoice::parse(&self.store, self.store_cluster)?;
        let tls = match (self.tls_cert, self.tls_key, self.tls_self_signed) {
            (Some(cert), Some(key), _) => TlsChoice::Files { cert, key },
            (_, _, true) => TlsChoice::SelfSigned,
            _ => TlsChoice::Off,
        };
        if self.http_redirect_addr.is_some() && !tls.is_on() {
            return Err(ConfigError::RedirectWithoutTls);
        }
        let trusted_proxies = TrustedProxyLayer::from_list(&self.trusted_proxies)?;
        let flask = match &self.flask_secret_file {
            Some(path) => Some(crate::FlaskBridge { keys: read_flask_secret(path)?, login_url: self.flask_login_url }),
            None => None,
        };
        Ok(DemoConfig {
            addr: self.addr,
            data_dir: self.data_dir,
            keys,
            store,
            tls,
            http_redirect_addr: self.http_redirect_addr,
            hosts: self.hosts,
            trusted_proxies,
            flask,
        })
    }
}

/// The Flask `SECRET_KEY` in `path` (its first line, as a Python `str`).
/// The error names the file, never its content.
fn read_flask_secret(path: &std::path::Path) -> Result<palisade::flask::FlaskKeys, ConfigError> {
    let fail = |reason: String| ConfigError::FlaskSecret { path: path.to_owned(), reason };
    let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|err| fail(err.to_string()))?);
    let key = text.lines().next().unwrap_or_default();
    if key.is_empty() {
        return Err(fail("the first line is empty".to_owned()));
    }
    Ok(palisade::flask::FlaskKeys::new(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let args = Args::try_parse_from(["palisade-demo"]).unwrap();
        assert_eq!(args.addr, crate::DEFAULT_ADDR);
        assert_eq!(args.data_dir, PathBuf::from("./data"));
        assert_eq!(args.store, "sqlite");
        assert!(!args.store_cluster);
    }

    #[test]
    fn store_flags() {
        let args =
            Args::try_parse_from(["palisade-demo", "--store", "redis://a:1,redis://b:2", "--store-cluster"]).unwrap();
        assert_eq!(
            StoreChoice::parse(&args.store, args.store_cluster).unwrap(),
            StoreChoice::RedisCluster(vec!["redis://a:1".into(), "redis://b:2".into()])
        );
    }

    #[test]
    fn flags() {
        let args = Args::try_parse_from(["palisade-demo", "--addr", "127.0.0.1:8080", "--data-dir", "/tmp/x"]).unwrap();
        assert_eq!(args.addr.port(), 8080);
        assert_eq!(args.data_dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn tls_redirect_and_proxy_flags() {
        let parse = |args: &[&str]| Args::try_parse_from([&["palisade-demo"], args].concat());
        let config = parse(&["--tls-cert", "c.pem", "--tls-key", "k.pem"]).unwrap().into_config().unwrap();
        assert_eq!(config.tls, TlsChoice::Files { cert: "c.pem".into(), key: "k.pem".into() });
        let config = parse(&["--tls-self-signed", "--http-redirect-addr", "127.0.0.1:3080"]).unwrap();
        let config = config.into_config().unwrap();
        assert_eq!(config.tls, TlsChoice::SelfSigned);
        assert_eq!(config.http_redirect_addr, Some("127.0.0.1:3080".parse().unwrap()));
        assert_eq!(config.hosts, ["localhost", "127.0.0.1", "::1"]);
        assert!(parse(&["--tls-cert", "c.pem"]).is_err(), "a certificate needs its key");
        assert!(parse(&["--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-self-signed"]).is_err());
        let no_tls = parse(&["--http-redirect-addr", "127.0.0.1:3080"]).unwrap().into_config();
        assert!(matches!(no_tls, Err(ConfigError::RedirectWithoutTls)));
        assert!(parse(&["--trusted-proxies", "10.0.0.0/8,192.168.1.1"]).unwrap().into_config().is_ok());
        let everyone = parse(&["--trusted-proxies", "0.0.0.0/0"]).unwrap().into_config();
        assert!(matches!(everyone, Err(ConfigError::Proxies(_))));
        assert_eq!(parse(&[]).unwrap().into_config().unwrap().tls, TlsChoice::Off);
    }

    #[test]
    fn secret_is_not_a_flag() {
        assert!(Args::try_parse_from(["palisade-demo", "--secret-key", "x"]).is_err());
    }
}
