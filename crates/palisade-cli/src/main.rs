//! `palisade`: audit helpers for web apps' cookies and headers.
//!
//! Exit codes: 0 done, 1 a finding the command was asked to fail on, 2 the
//! command could not run.
#![forbid(unsafe_code)]

mod audit;
mod cli;
mod csp_analysis;
mod csp_command;
mod decode;
mod fetch;
mod js;
mod keygen;
mod sri;

use clap::Parser;
use cli::{Cli, Command, Format};
use std::io::Write;
use std::process::ExitCode;

/// A finding the command was asked to fail on (`--min-grade`, …).
const EXIT_BELOW_THRESHOLD: u8 = 1;
/// The command could not run (bad input, unreadable file or site).
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => return fail(&format!("cannot start the async runtime: {err}")),
    };
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Audit(args) => {
            if args.targets.is_empty() && args.urls.is_none() {
                return fail("give at least one URL (or --urls FILE)");
            }
            match audit::run(&args).await {
                Ok((lines, outcome)) => {
                    let printed = print_lines(&lines);
                    match outcome {
                        audit::Outcome::Pass => printed,
                        audit::Outcome::BelowThreshold => ExitCode::from(EXIT_BELOW_THRESHOLD),
                        audit::Outcome::ScanError => ExitCode::from(EXIT_ERROR),
                    }
                }
                Err(err) => fail(&err.to_string()),
            }
        }
        Command::Csp(args) => match csp_command::run(&args) {
            Ok(lines) => print_lines(&lines),
            Err(err) => fail(&err.to_string()),
        },
        Command::Sri(args) => match sri::run(&args).await {
            Ok(lines) => print_lines(&lines),
            Err(err) => fail(&err.to_string()),
        },
        Command::Keygen(args) => match keygen::generate(&args) {
            Ok(key) => print_lines(&[key.as_str()]),
            Err(err) => fail(&err.to_string()),
        },
        Command::Decode(args) => decode_command(&args),
    }
}

/// `palisade decode`: exit 0 when decoded (and, with --secret, accepted),
/// 1 when a secret was given and the signature fails or the cookie expired.
fn decode_command(args: &cli::DecodeArgs) -> ExitCode {
    let mut decoded = match decode::decode(&args.cookie) {
        Ok(decoded) => decoded,
        Err(err) => return fail(&err.to_string()),
    };
    let mut secrets = args.secret.clone();
    if let Some(file) = &args.secret_file {
        match decode::read_secret_file(file) {
            Ok(more) => secrets.extend(more),
            Err(err) => return fail(&err),
        }
    }
    let mut accepted = true;
    if !secrets.is_empty() {
        let options = decode::VerifyOptions { salt: args.salt.clone(), max_age: args.max_age, now: unix_now() };
        match decoded.verify(&secrets, &options) {
            Ok(check) => accepted = check.accepted(),
            Err(err) => return fail(&err.to_string()),
        }
    }
    let printed = match args.format {
        Format::Human => print_lines(&[decode::human(&decoded).trim_end()]),
        Format::Json => match serde_json::to_string_pretty(&decoded) {
            Ok(json) => print_lines(&[json]),
            Err(err) => fail(&format!("cannot write JSON: {err}")),
        },
    };
    if printed == ExitCode::SUCCESS && !accepted {
        return ExitCode::from(EXIT_BELOW_THRESHOLD);
    }
    printed
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn print_lines<S: AsRef<str>>(lines: &[S]) -> ExitCode {
    let mut out = std::io::stdout().lock();
    for line in lines {
        if writeln!(out, "{}", line.as_ref()).is_err() {
            return ExitCode::from(EXIT_ERROR); // stdout closed: nothing more to say
        }
    }
    ExitCode::SUCCESS
}

fn fail(message: &str) -> ExitCode {
    eprintln!("palisade: {message}");
    ExitCode::from(EXIT_ERROR)
}
