//! `palisade-bench`: the servers and tools behind `bench/run` (issue 7).
//!
//! ```text
//! palisade-bench serve <system> [--addr 127.0.0.1:18080] [options]
//! palisade-bench fill  <system> --sessions 100000,1000000 [options]
//! palisade-bench systems
//! ```

use palisade_bench::options::{self, Command, Options};
use palisade_bench::{apps, fill};
use std::process::ExitCode;

fn main() -> ExitCode {
    let command = match options::parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("palisade-bench: {message}\n\n{}", options::USAGE);
            return ExitCode::from(2);
        }
    };
    // One worker per core the process may run on: `bench/run` pins the
    // server to one core with `taskset`, so every system gets one worker.
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("palisade-bench: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match command {
            Command::Systems => {
                for system in apps::System::ALL {
                    let note = if system.is_built() { "" } else { "  (not built: enable its cargo feature)" };
                    println!("{}{note}", system.name());
                }
                Ok(())
            }
            Command::Serve(system, options) => serve(system, &options).await,
            Command::Fill(system, options, checkpoints) => fill::run(system, &options, &checkpoints).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("palisade-bench: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(system: apps::System, options: &Options) -> Result<(), apps::BoxError> {
    let app = apps::build(system, options).await?;
    let listener = tokio::net::TcpListener::bind(&options.addr).await?;
    eprintln!("palisade-bench: {} listening on http://{}", system.name(), listener.local_addr()?);
    let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(shutdown_signal()).await?;
    Ok(())
}

/// `bench/run` stops servers with SIGTERM; Ctrl-C works by hand.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
