//! How a session sits in Redis: key names and hash fields.
//!
//! ```text
//! {prefix}s:{hex StoreKey}      hash, TTL from expires_at (+ grace)
//!     c  created_at    l  last_seen    e  expires_at    x  deadline
//!     u  user_id       ip client ip    ua ua1 … ua7 user agent, 64 bytes a field
//!                      (optional ones absent when None)
//!     d:<key>          one field per session key, its JSON value
//! {prefix}u:{hex SHA-256(user_id)}   sorted set: session hex keys scored by deadline
//! ```
//!
//! Data keys live in fields of their own (`d:` + key), so a change sets and
//! deletes single fields (`HSET`/`HDEL`): two requests changing different
//! keys never overwrite each other (no lost updates), and no data key can
//! ever collide with a metadata field, whatever characters it holds.
//! User ids are hashed into the index key so that `{`, `}`, `*` or spaces in
//! an id can neither pick a cluster slot (hash tags) nor act as a `SCAN`
//! pattern.

use crate::store::{Change, Data, Record, SessionInfo, StoreError, StoreKey, UnixTime};
use redis::Value;
use sha2::{Digest, Sha256};

const CREATED: &str = "c";
const LAST_SEEN: &str = "l";
const EXPIRES: &str = "e";
const DEADLINE: &str = "x";
const USER: &str = "u";
const IP: &str = "ip";
const USER_AGENT: &str = "ua";
const DATA: &str = "d:";

/// The user agent is kept in pieces of at most this many bytes (`ua`,
/// `ua1`, `ua2`, …): Redis keeps a small hash as one compact listpack only
/// while every value is at most `hash-max-listpack-value` bytes (64 by
/// default); one longer value — and a browser's user agent usually is —
/// turns the whole hash into a hash table, which took a session from about
/// 300 to 665 bytes of Redis memory.
const USER_AGENT_PIECE: usize = 64;

/// Pieces of the longest user agent a session records
/// ([`MAX_USER_AGENT_LEN`](crate::client::MAX_USER_AGENT_LEN) bytes).
const USER_AGENT_PIECES: usize = crate::client::MAX_USER_AGENT_LEN.div_ceil(USER_AGENT_PIECE);

/// The field of the `n`th piece of the user agent.
fn user_agent_field(n: usize) -> String {
    if n == 0 {
        USER_AGENT.to_owned()
    } else {
        format!("{USER_AGENT}{n}")
    }
}

/// The fields `sessions_of` reads of each session (`HMGET`), in the order
/// [`decode_listing`] expects: the user agent's pieces last.
pub(super) fn listing_fields() -> Vec<String> {
    let fixed = [CREATED, LAST_SEEN, EXPIRES, USER, IP].map(String::from);
    fixed.into_iter().chain((0..USER_AGENT_PIECES).map(user_agent_field)).collect()
}

/// Which piece of the user agent `field` holds, if it holds one.
fn user_agent_piece(field: &[u8]) -> Option<usize> {
    let rest = field.strip_prefix(USER_AGENT.as_bytes())?;
    if rest.is_empty() {
        return Some(0);
    }
    let n: usize = std::str::from_utf8(rest).ok()?.parse().ok()?;
    (n > 0 && rest[0] != b'0').then_some(n)
}

/// Command arguments, each a byte string.
pub(super) type Args = Vec<Vec<u8>>;

/// A hash as read back: (field, value) pairs.
pub(super) type Fields = Vec<(Vec<u8>, Vec<u8>)>;

/// Redis keeps a record this long past its `expires_at`. Expiry itself is
/// exact (every read and conditional write checks `e > now`); the grace only
/// delays the cleanup, so `sweep` and a clock a little behind Redis's still
/// see a just-expired record as expired rather than unknown.
pub(super) const TTL_GRACE: i64 = 60;

/// Longest TTL set (10 years): larger values overflow Redis's millisecond
/// expiry and are refused.
const MAX_TTL: i64 = 10 * 365 * 24 * 3_600;

/// Longest accepted key prefix.
pub(super) const MAX_PREFIX_LEN: usize = 64;

/// A TTL for something that must live until `until`, counted on the
/// caller's clock (`now`), never as an absolute `EXPIREAT`: app servers'
/// clocks are not Redis's clock, and tests run on clocks far in the past.
pub(super) fn ttl(until: UnixTime, now: UnixTime) -> i64 {
    until.saturating_sub(now).clamp(0, MAX_TTL) + TTL_GRACE
}

/// Key names under one prefix.
#[derive(Clone, Debug)]
pub(super) struct Keys {
    prefix: String,
}

impl Keys {
    /// Checks the prefix: printable ASCII without `{`/`}` (a hash tag would
    /// pin every session to one cluster slot) and at most 64 bytes.
    pub(super) fn new(prefix: &str) -> Result<Self, &'static str> {
        if prefix.len() > MAX_PREFIX_LEN {
            return Err("is longer than 64 bytes");
        }
        if !prefix.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("must be printable ASCII without spaces");
        }
        if prefix.contains(['{', '}']) {
            return Err("must not contain `{` or `}` (a Redis Cluster hash tag)");
        }
        Ok(Self { prefix: prefix.to_owned() })
    }

    pub(super) fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(super) fn session(&self, key: &StoreKey) -> String {
        format!("{}s:{}", self.prefix, key.to_hex())
    }

    /// A throttle counter (its key is already a digest).
    pub(super) fn attempts(&self, key: &StoreKey) -> String {
        format!("{}t:{}", self.prefix, key.to_hex())
    }

    pub(super) fn user(&self, user_id: &str) -> String {
        format!("{}u:{}", self.prefix, StoreKey::from_bytes(Sha256::digest(user_id.as_bytes()).into()).to_hex())
    }

    /// The `SCAN MATCH` pattern of every session hash (glob characters of the
    /// prefix escaped).
    pub(super) fn session_pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.prefix.len() + 4);
        for c in self.prefix.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push_str("s:*");
        pattern
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("redis session hash: {what}"))
}

fn json(value: &serde_json::Value) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|_| StoreError::Corrupt("session value cannot be encoded as JSON".into()))
}

fn data_field(key: &str) -> Vec<u8> {
    let mut field = Vec::with_capacity(DATA.len() + key.len());
    field.extend_from_slice(DATA.as_bytes());
    field.extend_from_slice(key.as_bytes());
    field
}

/// A whole record as flat field/value pairs for `HSET`.
pub(super) fn encode_record(record: &Record) -> Result<Args, StoreError> {
    let mut out = Vec::with_capacity(2 * (record.data.len() + 7));
    for (field, value) in [
        (CREATED, record.created_at),
        (LAST_SEEN, record.last_seen),
        (EXPIRES, record.expires_at),
        (DEADLINE, record.deadline),
    ] {
        out.push(field.as_bytes().to_vec());
        out.push(value.to_string().into_bytes());
    }
    for (field, value) in [(USER, &record.user_id), (IP, &record.ip)] {
        if let Some(value) = value {
            out.push(field.as_bytes().to_vec());
            out.push(value.as_bytes().to_vec());
        }
    }
    if let Some(user_agent) = &record.user_agent {
        for (n, piece) in user_agent.as_bytes().chunks(USER_AGENT_PIECE).enumerate() {
            out.push(user_agent_field(n).into_bytes());
            out.push(piece.to_vec());
        }
    }
    for (key, value) in &record.data {
        out.push(data_field(key));
        out.push(json(value)?);
    }
    Ok(out)
}

/// A change as (fields to delete, field/value pairs to set).
pub(super) fn encode_change(change: &Change) -> Result<(Args, Args), StoreError> {
    let removed = change.remove.iter().map(|key| data_field(key)).collect();
    let mut set = Vec::with_capacity(2 * (change.set.len() + 2));
    set.push(LAST_SEEN.as_bytes().to_vec());
    set.push(change.last_seen.to_string().into_bytes());
    set.push(EXPIRES.as_bytes().to_vec());
    set.push(change.expires_at.to_string().into_bytes());
    for (key, value) in &change.set {
        set.push(data_field(key));
        set.push(json(value)?);
    }
    Ok((removed, set))
}

/// The bytes of one reply element, `None` for nil.
fn bytes(value: Value) -> Result<Option<Vec<u8>>, StoreError> {
    match value {
        Value::Nil => Ok(None),
        Value::BulkString(b) => Ok(Some(b)),
        Value::SimpleString(s) => Ok(Some(s.into_bytes())),
        Value::Int(n) => Ok(Some(n.to_string().into_bytes())),
        _ => Err(corrupt("unexpected reply type")),
    }
}

/// `HGETALL`'s reply as field/value pairs (a flat array in RESP2, a map in
/// RESP3).
pub(super) fn pairs(value: Value) -> Result<Fields, StoreError> {
    let entries: Vec<(Value, Value)> = match value {
        Value::Nil => Vec::new(),
        Value::Map(entries) => entries,
        Value::Array(items) => {
            if items.len() % 2 != 0 {
                return Err(corrupt("odd number of hash elements"));
            }
            let mut items = items.into_iter();
            let mut entries = Vec::with_capacity(items.len() / 2);
            while let (Some(field), Some(value)) = (items.next(), items.next()) {
                entries.push((field, value));
            }
            entries
        }
        _ => return Err(corrupt("reply is not a hash")),
    };
    entries
        .into_iter()
        .map(|(field, value)| match (bytes(field)?, bytes(value)?) {
            (Some(field), Some(value)) => Ok((field, value)),
            _ => Err(corrupt("nil field or value")),
        })
        .collect()
}

fn int(raw: Option<&[u8]>, what: &str) -> Result<UnixTime, StoreError> {
    raw.and_then(|raw| std::str::from_utf8(raw).ok())
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| corrupt(&format!("{what} is missing or not an integer")))
}

fn text(raw: Option<Vec<u8>>) -> Result<Option<String>, StoreError> {
    raw.map(|raw| String::from_utf8(raw).map_err(|_| corrupt("text field is not UTF-8"))).transpose()
}

/// Decodes a session hash without trusting it: anything unexpected is
/// `Corrupt` with a short reason (never the content), never a panic. An
/// empty hash (unknown key) or one with `e <= now` is `None`. Fields this
/// version does not know are ignored, so a newer version can add some.
pub(super) fn decode_record(raw: Fields, now: UnixTime) -> Result<Option<Record>, StoreError> {
    decode_record_keeping(raw, now, true)
}

/// [`decode_record`] without the client's address and user agent (left
/// `None`): the request path's read, which uses neither (`Store::load_for_request`).
/// Saves joining and copying the user agent's pieces on every request.
pub(super) fn decode_record_for_request(raw: Fields, now: UnixTime) -> Result<Option<Record>, StoreError> {
    decode_record_keeping(raw, now, false)
}

fn decode_record_keeping(raw: Fields, now: UnixTime, client: bool) -> Result<Option<Record>, StoreError> {
    if raw.is_empty() {
        return Ok(None);
    }
    let field = |name: &str| raw.iter().find(|(f, _)| f == name.as_bytes()).map(|(_, v)| v.as_slice());
    let expires_at = int(field(EXPIRES), "expires_at")?;
    if expires_at <= now {
        return Ok(None);
    }
    let mut record = Record {
        created_at: int(field(CREATED), "created_at")?,
        last_seen: int(field(LAST_SEEN), "last_seen")?,
        expires_at,
        deadline: int(field(DEADLINE), "deadline")?,
        ..Record::default()
    };
    let mut data = Data::new();
    let mut user_agent: Vec<(usize, Vec<u8>)> = Vec::new();
    for (name, value) in raw {
        if let Some(n) = user_agent_piece(&name) {
            if client {
                user_agent.push((n, value));
            }
            continue;
        }
        match name.as_slice() {
            b"u" => record.user_id = text(Some(value))?,
            b"ip" if client => record.ip = text(Some(value))?,
            b"ip" => {}
            name => {
                if let Some(key) = name.strip_prefix(DATA.as_bytes()) {
                    let key = String::from_utf8(key.to_vec()).map_err(|_| corrupt("data key is not UTF-8"))?;
                    let value = serde_json::from_slice(&value).map_err(|_| corrupt("data value is not JSON"))?;
                    data.insert(key, value);
                }
            }
        }
    }
    record.data = data;
    user_agent.sort_unstable_by_key(|(n, _)| *n);
    record.user_agent = join_pieces(user_agent.into_iter().map(|(_, piece)| piece))?;
    Ok(Some(record))
}

/// The user agent from its pieces in order (`None` when there are none).
fn join_pieces(pieces: impl Iterator<Item = Vec<u8>>) -> Result<Option<String>, StoreError> {
    let mut joined: Option<Vec<u8>> = None;
    for piece in pieces {
        joined.get_or_insert_with(Vec::new).extend_from_slice(&piece);
    }
    text(joined)
}

/// One session of a user listing from its [`listing_fields`] reply; `None`
/// when the session is gone, dead, or belongs to someone else (the caller
/// then drops it from the index).
pub(super) fn decode_listing(
    key: StoreKey,
    reply: Value,
    user_id: &str,
    now: UnixTime,
) -> Result<Option<SessionInfo>, StoreError> {
    let Value::Array(fields) = reply else { return Err(corrupt("unexpected HMGET reply")) };
    let mut fields = fields.into_iter().map(bytes).collect::<Result<Vec<_>, _>>()?.into_iter();
    let mut next = || fields.next().flatten();
    let (created, last_seen, expires) = (next(), next(), next());
    let (user, ip) = (text(next())?, text(next())?);
    let user_agent = join_pieces(std::iter::from_fn(next))?;
    let Some(expires) = expires else { return Ok(None) };
    let expires_at = int(Some(&expires), "expires_at")?;
    if expires_at <= now || user.as_deref() != Some(user_id) {
        return Ok(None);
    }
    Ok(Some(SessionInfo {
        key,
        created_at: int(created.as_deref(), "created_at")?,
        last_seen: int(last_seen.as_deref(), "last_seen")?,
        expires_at,
        ip,
        user_agent,
        current: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn as_pairs(flat: Args) -> Fields {
        flat.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect()
    }

    #[test]
    fn store_redis_record_round_trips_through_its_fields() {
        let mut data = Data::new();
        data.insert("e".into(), json!("not the expiry"));
        data.insert("d:x".into(), json!({"nested": [1, null]}));
        let record = Record {
            data,
            created_at: 1,
            last_seen: 2,
            expires_at: 100,
            deadline: 200,
            user_id: Some("{alice}".into()),
            ip: None,
            user_agent: Some("ua".into()),
        };
        let raw = as_pairs(encode_record(&record).unwrap());
        assert_eq!(decode_record(raw.clone(), 99).unwrap(), Some(record));
        assert_eq!(decode_record(raw, 100).unwrap(), None, "dead at expires_at");
        assert_eq!(decode_record(Vec::new(), 0).unwrap(), None);
    }

    #[test]
    fn store_redis_request_decode_leaves_the_client_out_and_keeps_the_rest() {
        let long_agent = "Mozilla/5.0 ".repeat(20); // several 64-byte pieces
        let record = Record {
            data: [("n".to_owned(), json!(5))].into_iter().collect(),
            created_at: 1,
            last_seen: 2,
            expires_at: 100,
            deadline: 200,
            user_id: Some("alice".into()),
            ip: Some("203.0.113.7".into()),
            user_agent: Some(long_agent),
        };
        let raw = as_pairs(encode_record(&record).unwrap());
        let expected = Record { ip: None, user_agent: None, ..record.clone() };
        assert_eq!(decode_record_for_request(raw.clone(), 99).unwrap(), Some(expected));
        assert_eq!(decode_record(raw.clone(), 99).unwrap(), Some(record), "the full decode keeps both");
        assert_eq!(decode_record_for_request(raw, 100).unwrap(), None, "dead at expires_at");
    }

    #[test]
    fn store_redis_bad_hash_content_is_corrupt_without_leaking_it() {
        let good = |f: &str, v: &str| (f.as_bytes().to_vec(), v.as_bytes().to_vec());
        let base = vec![good("c", "1"), good("l", "1"), good("e", "100"), good("x", "1")];
        let cases: Vec<Fields> = vec![
            vec![good("c", "1")],
            vec![good("e", "secret-soon")],
            [base.clone(), vec![good("d:k", "{secret")]].concat(),
            [base.clone(), vec![(b"d:\xff".to_vec(), b"1".to_vec())]].concat(),
            [base.clone(), vec![(b"u".to_vec(), b"\xffsecret".to_vec())]].concat(),
            vec![good("c", "x"), good("l", "1"), good("e", "100"), good("x", "1")],
        ];
        for raw in cases {
            match decode_record(raw, 0) {
                Err(StoreError::Corrupt(reason)) => assert!(!reason.contains("secret"), "{reason}"),
                other => panic!("expected Corrupt, got {other:?}"),
            }
        }
    }

    #[test]
    fn store_redis_listing_drops_gone_dead_and_foreign_sessions() {
        let key = StoreKey::from_session_id(b"k");
        let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let reply = |e: Value, u: Value| Value::Array(vec![bulk("1"), bulk("2"), e, u, Value::Nil, bulk("ua")]);
        let info = decode_listing(key, reply(bulk("100"), bulk("amy")), "amy", 99).unwrap().expect("live");
        assert_eq!((info.created_at, info.last_seen, info.expires_at), (1, 2, 100));
        assert_eq!((info.ip, info.user_agent.as_deref()), (None, Some("ua")));
        assert_eq!(decode_listing(key, reply(Value::Nil, Value::Nil), "amy", 99).unwrap(), None, "gone");
        assert_eq!(decode_listing(key, reply(bulk("100"), bulk("amy")), "amy", 100).unwrap(), None, "dead");
        assert_eq!(decode_listing(key, reply(bulk("100"), bulk("bob")), "amy", 99).unwrap(), None, "not hers");
        assert!(matches!(decode_listing(key, bulk("x"), "amy", 0), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn store_redis_prefix_is_checked_and_escaped_in_patterns() {
        assert!(Keys::new("app:{tag}:").is_err());
        assert!(Keys::new("a b").is_err());
        assert!(Keys::new(&"p".repeat(65)).is_err());
        let keys = Keys::new("a*b?[c]\\:").unwrap();
        assert_eq!(keys.session_pattern(), "a\\*b\\?\\[c\\]\\\\:s:*");
        let keys = Keys::new("palisade:").unwrap();
        let user = keys.user("{ivan} *");
        assert!(user.starts_with("palisade:u:") && !user.contains(['{', '}', '*', ' ']), "{user}");
        assert_ne!(keys.user("ivan"), keys.user("ivan*"));
    }

    #[test]
    fn store_redis_ttls_are_relative_and_bounded() {
        assert_eq!(ttl(1_000, 990), 10 + TTL_GRACE);
        assert_eq!(ttl(0, 1_000), TTL_GRACE, "already expired: kept for the grace only");
        assert_eq!(ttl(i64::MAX, i64::MIN), MAX_TTL + TTL_GRACE);
    }
}
