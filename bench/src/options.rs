//! Command-line arguments (hand-rolled: a handful of flags, no parser crate).

use crate::apps::System;

pub const USAGE: &str = "\
usage:
  palisade-bench serve <system> [options]      serve the bench routes
  palisade-bench fill <system> --sessions N[,N...] [options]
                                               create sessions in-process, print memory per session
  palisade-bench systems                       list the systems

options:
  --addr HOST:PORT        listen address (default 127.0.0.1:18080)
  --redis-url URL         Redis for the *-redis systems (default redis://127.0.0.1:6379)
  --postgres-url URL      PostgreSQL for palisade-postgres (default postgres://postgres@127.0.0.1:5432/palisade_bench)
  --sqlite-path PATH      database file for palisade-sqlite (default bench-sessions.db)
  --max-sessions N        bound of Palisade's memory store (default: the library's default)
  --redis-pool N          connections of tower-sessions' Redis store (fred pool; default 6, as its README)
  --concurrency N         fill: requests in flight (default 64)";

/// Settings shared by `serve` and `fill`.
#[derive(Clone, Debug)]
pub struct Options {
    pub addr: String,
    pub redis_url: String,
    pub postgres_url: String,
    pub sqlite_path: String,
    pub max_sessions: Option<usize>,
    pub redis_pool: usize,
    pub concurrency: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            addr: "127.0.0.1:18080".into(),
            redis_url: "redis://127.0.0.1:6379".into(),
            postgres_url: "postgres://postgres@127.0.0.1:5432/palisade_bench".into(),
            sqlite_path: "bench-sessions.db".into(),
            max_sessions: None,
            redis_pool: 6,
            concurrency: 64,
        }
    }
}

#[derive(Debug)]
pub enum Command {
    Systems,
    Serve(System, Options),
    Fill(System, Options, Vec<usize>),
}

pub fn parse(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let verb = args.next().ok_or("missing command")?;
    if verb == "systems" {
        return Ok(Command::Systems);
    }
    if verb != "serve" && verb != "fill" {
        return Err(format!("unknown command `{verb}`"));
    }
    let name = args.next().ok_or("missing system")?;
    let system = System::from_name(&name).ok_or_else(|| format!("unknown system `{name}`"))?;
    let mut options = Options::default();
    let mut checkpoints = Vec::new();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--addr" => options.addr = value,
            "--redis-url" => options.redis_url = value,
            "--postgres-url" => options.postgres_url = value,
            "--sqlite-path" => options.sqlite_path = value,
            "--max-sessions" => options.max_sessions = Some(number(&flag, &value)?),
            "--redis-pool" => options.redis_pool = number(&flag, &value)?.max(1),
            "--concurrency" => options.concurrency = number(&flag, &value)?.max(1),
            "--sessions" => {
                checkpoints = value.split(',').map(|n| number(&flag, n)).collect::<Result<_, _>>()?;
                checkpoints.sort_unstable();
            }
            _ => return Err(format!("unknown option `{flag}`")),
        }
    }
    if verb == "serve" {
        return Ok(Command::Serve(system, options));
    }
    if checkpoints.is_empty() {
        return Err("fill needs --sessions".into());
    }
    Ok(Command::Fill(system, options, checkpoints))
}

fn number(flag: &str, value: &str) -> Result<usize, String> {
    value.trim().replace('_', "").parse().map_err(|_| format!("{flag}: `{value}` is not a number"))
}
