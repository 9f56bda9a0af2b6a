//! The Lua scripts behind the conditional writes.
//!
//! A script runs atomically on the node that owns its keys, so "is the
//! record still alive? then write it" cannot be split by another client's
//! command: that is what stops a slow request from resurrecting a session
//! flushed or revoked meanwhile. Every script only touches the keys it is
//! given in `KEYS` (a requirement of Redis Cluster), and the scripts that take
//! several keys ([`CREATE`] with an index key, [`ROTATE`]) are used on a
//! standalone server only, where slots do not exist.
//!
//! Times are whole seconds from the caller's clock, sent as decimal strings.
//! Lua compares them as doubles: exact for any time below 2^53 s.
//!
//! Shared argument layout of [`CREATE`] and [`ROTATE`]:
//! `ARGV[1]` now, `ARGV[2]` TTL of the session hash, `ARGV[3]` index member
//! (the session's hex key), `ARGV[4]` its score (deadline), `ARGV[5]` TTL of
//! the index, `ARGV[6]` prune-before (members scored below are dead), then
//! the hash's field/value pairs from `ARGV[7]` on.

use redis::Script;
use std::sync::OnceLock;

/// Helpers every script starts with.
const PRELUDE: &str = r#"
-- A record is alive while its `e` (expires_at) is after `now`.
local function live(key, now)
  local e = tonumber(redis.call('HGET', key, 'e'))
  return e ~= nil and e > now
end

-- unpack() of thousands of arguments would overflow Lua's C stack: run
-- `command key args[first..last]` in chunks of `step` (even for pairs).
local function chunked(command, key, first, last, step)
  local i = first
  while i <= last do
    local j = math.min(i + step - 1, last)
    redis.call(command, key, unpack(ARGV, i, j))
    i = j + 1
  end
end

-- Adds a session to a user index; drops members whose deadline is long
-- past; never shortens the index's TTL (it must outlive every member).
local function index_add(key, member, score, ttl, prune_before)
  redis.call('ZADD', key, score, member)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. prune_before)
  if redis.call('TTL', key) < tonumber(ttl) then
    redis.call('EXPIRE', key, ttl)
  end
end

-- Writes a whole new session hash from ARGV[first..] with its TTL.
local function write_hash(key, ttl, first)
  chunked('HSET', key, first, #ARGV, 1000)
  redis.call('EXPIRE', key, ttl)
end
"#;

/// `KEYS[1]` session, `ARGV[1]` now, `ARGV[2]` TTL, `ARGV[3]` number of
/// fields to delete, then those fields, then field/value pairs to set
/// (always including `l` and `e`). Returns 1, or 0 when the record is gone
/// or dead (nothing written: never re-created).
const APPLY_BODY: &str = r#"
if not live(KEYS[1], tonumber(ARGV[1])) then return 0 end
local removed = tonumber(ARGV[3])
if removed > 0 then chunked('HDEL', KEYS[1], 4, 3 + removed, 1000) end
chunked('HSET', KEYS[1], 4 + removed, #ARGV, 1000)
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"#;

/// `KEYS[1]` new session, optional `KEYS[2]` user index (standalone only).
/// Returns 1, or 0 when the key already exists (never overwritten: someone
/// else's session is never replaced).
const CREATE_BODY: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if KEYS[2] then index_add(KEYS[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]) end
write_hash(KEYS[1], ARGV[2], 7)
return 1
"#;

/// `KEYS[1]` old session, `KEYS[2]` new, optional `KEYS[3]` user index
/// (standalone only: one atomic step). Returns 1, 0 when the old record is
/// gone or dead (nothing written), -1 when the new key already exists.
const ROTATE_BODY: &str = r#"
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
if not live(KEYS[1], tonumber(ARGV[1])) then return 0 end
redis.call('DEL', KEYS[1])
if KEYS[3] then index_add(KEYS[3], ARGV[3], ARGV[4], ARGV[5], ARGV[6]) end
write_hash(KEYS[2], ARGV[2], 7)
return 1
"#;

/// `KEYS[1]` session, `ARGV[1]` now: deletes it only if alive. The first
/// step of a rotation on a cluster. Returns 1 if it was alive, else 0.
const TAKE_BODY: &str = r#"
if not live(KEYS[1], tonumber(ARGV[1])) then return 0 end
redis.call('DEL', KEYS[1])
return 1
"#;

/// `KEYS[1]` user index, `ARGV[1]` member, `ARGV[2]` score, `ARGV[3]` TTL,
/// `ARGV[4]` prune-before. The last step of a login on a cluster.
const INDEX_BODY: &str = r#"
index_add(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
return 1
"#;

/// `KEYS[1]` session, `ARGV[1]` now: deletes it if `e <= now`. Returns 1 if
/// deleted. A hash without a readable `e` is left alone (not ours to judge).
const SWEEP_BODY: &str = r#"
local e = tonumber(redis.call('HGET', KEYS[1], 'e'))
if e ~= nil and e <= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"#;

/// `KEYS[1]` attempt counter (a hash: `n` count, `nb` not-before, `e`
/// expires-at), `ARGV[1]` now, `ARGV[2]` free, `ARGV[3]` base, `ARGV[4]`
/// max, `ARGV[5]` window, `ARGV[6]` TTL grace. `Counter::take` in
/// `store/attempts.rs`, step for step: blocked → `{0, n, nb}` and nothing
/// written; otherwise counted → `{1, n, nb}`.
const ATTEMPT_BODY: &str = r#"
local now = tonumber(ARGV[1])
local free, base, max, window = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local c = redis.call('HMGET', KEYS[1], 'n', 'nb', 'e')
local n, nb, e = tonumber(c[1]), tonumber(c[2]), tonumber(c[3])
local live = n ~= nil and nb ~= nil and e ~= nil and e > now
if live and nb > now then
  return {0, n, nb}
end
if not live then n = 0 end
n = n + 1
local delay = 0
if n >= free then delay = math.min(max, base * 2 ^ math.min(n - free, 40)) end
nb = now + delay
redis.call('HSET', KEYS[1], 'n', n, 'nb', nb, 'e', now + window)
redis.call('EXPIRE', KEYS[1], window + tonumber(ARGV[6]))
return {1, n, nb}
"#;

/// `KEYS[1]` attempt counter: one counted attempt taken back, never below 0.
const REFUND_BODY: &str = r#"
local n = tonumber(redis.call('HGET', KEYS[1], 'n'))
if n ~= nil and n > 0 then
  redis.call('HSET', KEYS[1], 'n', n - 1)
end
return 1
"#;

/// One script: its source (for `SCRIPT LOAD` after `NOSCRIPT`, e.g. when
/// the server restarted and lost its script cache) and its SHA-1 (for
/// `EVALSHA`, so a call sends the hash, not the source).
pub(super) struct Lua {
    pub(super) name: &'static str,
    pub(super) code: String,
    pub(super) sha: String,
}

impl Lua {
    fn new(name: &'static str, body: &str) -> Self {
        let code = format!("{PRELUDE}{body}");
        let sha = Script::new(&code).get_hash().to_owned();
        Self { name, code, sha }
    }
}

/// Every script, built once per process.
pub(super) struct Scripts {
    pub(super) apply: Lua,
    pub(super) create: Lua,
    pub(super) rotate: Lua,
    pub(super) take: Lua,
    pub(super) index: Lua,
    pub(super) sweep: Lua,
    pub(super) attempt: Lua,
    pub(super) refund: Lua,
}

impl Scripts {
    pub(super) fn get() -> &'static Scripts {
        static SCRIPTS: OnceLock<Scripts> = OnceLock::new();
        SCRIPTS.get_or_init(|| Scripts {
            apply: Lua::new("apply", APPLY_BODY),
            create: Lua::new("create", CREATE_BODY),
            rotate: Lua::new("rotate", ROTATE_BODY),
            take: Lua::new("take", TAKE_BODY),
            index: Lua::new("index", INDEX_BODY),
            sweep: Lua::new("sweep", SWEEP_BODY),
            attempt: Lua::new("attempt", ATTEMPT_BODY),
            refund: Lua::new("refund", REFUND_BODY),
        })
    }

    pub(super) fn all(&self) -> [&Lua; 8] {
        [&self.apply, &self.create, &self.rotate, &self.take, &self.index, &self.sweep, &self.attempt, &self.refund]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_redis_scripts_have_distinct_hashes() {
        let all = Scripts::get().all();
        for (n, a) in all.iter().enumerate() {
            assert_eq!(a.sha.len(), 40, "{}", a.name);
            for b in &all[n + 1..] {
                assert_ne!(a.sha, b.sha, "{} and {}", a.name, b.name);
            }
        }
    }
}
