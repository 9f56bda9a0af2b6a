//! Flask-Session (0.8) server-side sessions in Redis, read-only (feature
//! `flask-session`).
//!
//! Flask-Session keeps the session under `<SESSION_KEY_PREFIX><sid>`
//! (`session:` by default) as MessagePack (msgspec; or JSON with
//! `SESSION_SERIALIZATION_FORMAT = "json"`), and the cookie holds the sid,
//! or with `SESSION_USE_SIGNER` the sid signed by itsdangerous (salt
//! `flask-session`, the current `SECRET_KEY` only). Reading follows
//! Flask-Session's `open_session`; Flask-Login's rules then apply to the
//! session's keys as to a cookie session.
//!
//! Never read: pickled sessions. Flask-Session 0.8 still falls back to
//! `pickle.loads` for data written by versions before 0.7, and unpickling
//! data from a store runs code (the attack: whoever can write to Redis
//! takes over the app); such a session is refused here.

use super::keys::FlaskKeys;
use super::session::FlaskSession;
use super::signing::{self, SignedWith};
use super::value::FlaskValue;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The largest stored session read. The value is fetched with `GETRANGE`
/// up to one byte past it, so a huge value (a bug, or an attacker with
/// write access to Redis) costs at most this much memory per request.
pub const MAX_STORED_SESSION: usize = 1024 * 1024;

/// Nesting deeper than this in a stored session is refused, not recursed into.
const MAX_DEPTH: usize = 64;

/// Why a Flask-Session session could not be read. Flask starts an empty
/// session in the first three cases; [`Unavailable`](Self::Unavailable)
/// is an outage, which is never served as "signed out".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoredSessionError {
    /// With `SESSION_USE_SIGNER`: the cookie's sid signature does not hold.
    #[error("the Flask-Session cookie's signature does not hold")]
    BadSignature,
    /// No such session in Redis: never made, logged out, or expired.
    #[error("no Flask-Session session under this id")]
    NotFound,
    /// Stored, but not a session Palisade reads (pickle, or malformed).
    #[error("the stored Flask-Session session is not readable: {0}")]
    Unreadable(&'static str),
    /// Redis did not answer in time, or refused.
    #[error("the Flask-Session store is unavailable")]
    Unavailable,
}

/// Where a Flask app keeps its Flask-Session sessions: a Redis server.
#[derive(Clone)]
pub struct FlaskSessionRedis {
    conn: ConnectionManager,
    key_prefix: String,
    signed_ids: bool,
}

impl std::fmt::Debug for FlaskSessionRedis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlaskSessionRedis")
            .field("key_prefix", &self.key_prefix)
            .field("signed_ids", &self.signed_ids)
            .finish_non_exhaustive()
    }
}

impl FlaskSessionRedis {
    /// Connects to the Redis server at `url` (as `SESSION_REDIS` does),
    /// with Flask-Session's defaults: prefix `session:`, unsigned ids.
    /// Every read is bounded by a 2-second response timeout.
    pub async fn connect(url: &str) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2);
        let conn = ConnectionManager::new_with_config(client, config).await?;
        Ok(FlaskSessionRedis { conn, key_prefix: "session:".to_owned(), signed_ids: false })
    }

    /// `SESSION_KEY_PREFIX`.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// `SESSION_USE_SIGNER = True`: the cookie holds the sid signed with
    /// `SECRET_KEY`.
    pub fn signed_ids(mut self, yes: bool) -> Self {
        self.signed_ids = yes;
        self
    }

    /// Flask-Session's `open_session` for the cookie value `cookie`.
    pub(crate) async fn read(&self, keys: &FlaskKeys, cookie: &str) -> Result<FlaskSession, StoredSessionError> {
        let sid = if self.signed_ids {
            // Flask-Session's Signer takes `app.secret_key` alone: no fallbacks.
            match signing::unsign(keys, b"flask-session", cookie) {
                Some((sid, SignedWith::Current)) => sid,
                _ => return Err(StoredSessionError::BadSignature),
            }
        } else {
            cookie
        };
        let key = format!("{}{sid}", self.key_prefix);
        let mut getrange = redis::cmd("GETRANGE");
        getrange.arg(&key).arg(0).arg(MAX_STORED_SESSION);
        let bytes: Vec<u8> = getrange.query_async(&mut self.conn.clone()).await.map_err(|err| {
            tracing::error!(error = %err, "Flask-Session store unavailable");
            StoredSessionError::Unavailable
        })?;
        if bytes.is_empty() {
            return Err(StoredSessionError::NotFound);
        }
        if bytes.len() > MAX_STORED_SESSION {
            return Err(StoredSessionError::Unreadable("larger than MAX_STORED_SESSION"));
        }
        decode(&bytes).map(FlaskSession::stored)
    }
}

/// msgspec's MessagePack, else its JSON (Flask-Session tries both); never pickle.
fn decode(bytes: &[u8]) -> Result<BTreeMap<String, FlaskValue>, StoredSessionError> {
    let mut reader = bytes;
    if let Ok(value) = rmpv::decode::read_value_with_max_depth(&mut reader, MAX_DEPTH) {
        if reader.is_empty() {
            return match from_msgpack(value)? {
                FlaskValue::Dict(map) => Ok(map),
                _ => Err(StoredSessionError::Unreadable("not a dict")),
            };
        }
    }
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(serde_json::Value::Object(map)) => Ok(map.into_iter().map(|(k, v)| (k, from_json(v))).collect()),
        Ok(_) => Err(StoredSessionError::Unreadable("not a dict")),
        // A pickle starts with its PROTO opcode, 0x80 (which alone is an
        // empty MessagePack map, read above).
        Err(_) if bytes.first() == Some(&0x80) => {
            Err(StoredSessionError::Unreadable("a pickle (Flask-Session before 0.7), never unpickled"))
        }
        Err(_) => Err(StoredSessionError::Unreadable("neither MessagePack nor JSON")),
    }
}

/// A msgspec value: a tuple comes back as a list, a UUID or markup as a
/// string, bytes as bytes, a datetime as the timestamp extension.
fn from_msgpack(value: rmpv::Value) -> Result<FlaskValue, StoredSessionError> {
    use rmpv::Value;
    Ok(match value {
        Value::Nil => FlaskValue::Null,
        Value::Boolean(b) => FlaskValue::Bool(b),
        Value::Integer(n) => match (n.as_i64(), n.as_u64()) {
            (Some(n), _) => FlaskValue::Number(n.into()),
            (None, Some(n)) => FlaskValue::Number(n.into()),
            _ => return Err(StoredSessionError::Unreadable("an integer out of range")),
        },
        Value::F32(x) => float(f64::from(x))?,
        Value::F64(x) => float(x)?,
        Value::String(text) => {
            FlaskValue::String(text.into_str().ok_or(StoredSessionError::Unreadable("a string that is not UTF-8"))?)
        }
        Value::Binary(bytes) => FlaskValue::Bytes(bytes),
        Value::Array(items) => FlaskValue::List(items.into_iter().map(from_msgpack).collect::<Result<_, _>>()?),
        Value::Map(entries) => {
            let mut map = BTreeMap::new();
            for (key, value) in entries {
                let Value::String(key) = key else {
                    return Err(StoredSessionError::Unreadable("a dict key that is not a string"));
                };
                let key = key.into_str().ok_or(StoredSessionError::Unreadable("a key that is not UTF-8"))?;
                map.insert(key, from_msgpack(value)?);
            }
            FlaskValue::Dict(map)
        }
        Value::Ext(-1, data) => FlaskValue::DateTime(timestamp(&data)?),
        Value::Ext(..) => return Err(StoredSessionError::Unreadable("a MessagePack extension msgspec does not write")),
    })
}

fn float(x: f64) -> Result<FlaskValue, StoredSessionError> {
    serde_json::Number::from_f64(x).map(FlaskValue::Number).ok_or(StoredSessionError::Unreadable("NaN or infinity"))
}

/// The MessagePack timestamp extension (type -1) in its three sizes.
fn timestamp(data: &[u8]) -> Result<SystemTime, StoredSessionError> {
    let bad = StoredSessionError::Unreadable("a malformed timestamp");
    let (seconds, nanos): (i64, u32) = match data.len() {
        4 => (i64::from(u32::from_be_bytes(data.try_into().map_err(|_| bad.clone())?)), 0),
        8 => {
            let word = u64::from_be_bytes(data.try_into().map_err(|_| bad.clone())?);
            ((word & 0x3_ffff_ffff) as i64, (word >> 34) as u32)
        }
        12 => (
            i64::from_be_bytes(data[4..].try_into().map_err(|_| bad.clone())?),
            u32::from_be_bytes(data[..4].try_into().map_err(|_| bad.clone())?),
        ),
        _ => return Err(bad),
    };
    if nanos >= 1_000_000_000 {
        return Err(bad);
    }
    let offset = Duration::new(seconds.unsigned_abs(), if seconds >= 0 { nanos } else { 0 });
    let at = if seconds >= 0 { UNIX_EPOCH.checked_add(offset) } else { UNIX_EPOCH.checked_sub(offset) };
    at.ok_or(bad)
}

/// msgspec's JSON: plain values (no Flask tags).
fn from_json(value: serde_json::Value) -> FlaskValue {
    use serde_json::Value;
    match value {
        Value::Null => FlaskValue::Null,
        Value::Bool(b) => FlaskValue::Bool(b),
        Value::Number(n) => FlaskValue::Number(n),
        Value::String(s) => FlaskValue::String(s),
        Value::Array(items) => FlaskValue::List(items.into_iter().map(from_json).collect()),
        Value::Object(map) => FlaskValue::Dict(map.into_iter().map(|(k, v)| (k, from_json(v))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msgpack_json_and_pickle_are_told_apart() {
        // {"a": [1, b"\x00"], "t": <timestamp 1_800_000_000>}
        let mut packed = vec![0x82, 0xa1, b'a', 0x92, 0x01, 0xc4, 0x01, 0x00, 0xa1, b't', 0xd6, 0xff];
        packed.extend_from_slice(&1_800_000_000u32.to_be_bytes());
        let map = decode(&packed).unwrap();
        assert_eq!(map["a"], FlaskValue::List(vec![FlaskValue::Number(1.into()), FlaskValue::Bytes(vec![0])]));
        assert_eq!(map["t"], FlaskValue::DateTime(UNIX_EPOCH + Duration::from_secs(1_800_000_000)));
        assert_eq!(decode(b"{\"_user_id\":\"7\"}").unwrap()["_user_id"], FlaskValue::String("7".into()));
        assert_eq!(decode(&[0x80]).unwrap(), BTreeMap::new(), "an empty msgpack map");
        let pickle = b"\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s.";
        assert!(matches!(decode(pickle), Err(StoredSessionError::Unreadable(_))));
        assert!(matches!(decode(&[0x91, 0x01]), Err(StoredSessionError::Unreadable("not a dict"))));
        let deep: Vec<u8> = std::iter::repeat_n(0x91, 10_000).chain([0x01]).collect();
        assert!(decode(&deep).is_err(), "nesting is bounded");
    }

    #[test]
    fn timestamps_in_all_three_sizes() {
        assert_eq!(timestamp(&5u32.to_be_bytes()).unwrap(), UNIX_EPOCH + Duration::from_secs(5));
        let word: u64 = (7u64 << 34) | 5;
        assert_eq!(timestamp(&word.to_be_bytes()).unwrap(), UNIX_EPOCH + Duration::new(5, 7));
        let mut twelve = 9u32.to_be_bytes().to_vec();
        twelve.extend_from_slice(&6i64.to_be_bytes());
        assert_eq!(timestamp(&twelve).unwrap(), UNIX_EPOCH + Duration::new(6, 9));
        assert!(timestamp(&[1, 2, 3]).is_err());
    }
}
