//! `palisade-demo`: the demo web app. See `--help`.
#![forbid(unsafe_code)]

use clap::Parser;
use palisade_demo::Args;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();

    let config = match Args::parse().into_config() {
        Ok(config) => config,
        Err(err) => {
            // A bad secret's message says how to generate a valid one.
            eprintln!("palisade-demo: {err}");
            return ExitCode::FAILURE;
        }
    };
    match palisade_demo::serve(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("palisade-demo: {err}");
            ExitCode::FAILURE
        }
    }
}
