//! The servers and tools behind `bench/run` (issue 7), as a library so the
//! criterion benches can drive the same routers in-process.
//!
//! Every system serves the same routes with the same handler bodies:
//! `/counter` (read, increment, write back), `/read` (read only), `/none`
//! (no session), `/login` (creates a session: how `bench/run` pre-creates
//! cookies) and `/stats` (store calls and RSS, outside the session layer).

pub mod apps;
pub mod counting;
pub mod fill;
pub mod options;
pub mod proc_stats;
