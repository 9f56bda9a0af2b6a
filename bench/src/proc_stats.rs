//! The process's resident memory, from `/proc/self/status` (Linux).

/// Resident set size in bytes, or 0 where `/proc` cannot tell.
pub fn rss_bytes() -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else { return 0 };
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// CPU time (user + system) the process has used so far, in microseconds,
/// from `/proc/self/stat` (Linux; 0 where it cannot tell). Divided by the
/// requests served it gives the server's cost per request, a figure that
/// depends less than req/s on how fast the load generator keeps up.
pub fn cpu_time_us() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return 0 };
    // Fields after the parenthesised command name (which may hold spaces):
    // utime and stime are fields 14 and 15 of the line, in clock ticks.
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else { return 0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    // `rest` starts at field 3 (state), so utime (14) is index 11.
    let total_ticks = ticks(11) + ticks(12);
    // Linux reports these in USER_HZ, 100 per second on every mainstream
    // configuration (sysconf would need libc).
    total_ticks * 10_000
}
