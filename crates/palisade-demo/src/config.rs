//! Command-line and environment configuration.

use crate::DemoConfig;
use clap::Parser;
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
}

impl Args {
    /// The configuration these arguments describe. Reads the secret from
    /// `PALISADE_SECRET_KEY` when it is set; an invalid one is an error
    /// (whose message says how to generate a good one), never a silent
    /// fallback to the generated secret.
    pub fn into_config(self) -> Result<DemoConfig, KeyError> {
        let keys = if std::env::var_os(SECRET_KEY_ENV).is_some() { Some(KeyRing::from_env()?) } else { None };
        Ok(DemoConfig { addr: self.addr, data_dir: self.data_dir, keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let args = Args::try_parse_from(["palisade-demo"]).unwrap();
        assert_eq!(args.addr, crate::DEFAULT_ADDR);
        assert_eq!(args.data_dir, PathBuf::from("./data"));
    }

    #[test]
    fn flags() {
        let args = Args::try_parse_from(["palisade-demo", "--addr", "127.0.0.1:8080", "--data-dir", "/tmp/x"]).unwrap();
        assert_eq!(args.addr.port(), 8080);
        assert_eq!(args.data_dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn secret_is_not_a_flag() {
        assert!(Args::try_parse_from(["palisade-demo", "--secret-key", "x"]).is_err());
    }
}
