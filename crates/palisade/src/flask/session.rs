//! Flask's default session cookie, read exactly as Flask 3.1 reads it.
//!
//! `SecureCookieSessionInterface` signs with itsdangerous's
//! `URLSafeTimedSerializer`: salt `cookie-session`, key HMAC-SHA1(secret,
//! salt), value `payload.timestamp.signature`, where the payload is
//! base64url of compact tagged JSON, zlib-compressed with a leading `.`
//! when that is shorter. Reading follows itsdangerous's order: signature
//! (with each key), then the timestamp against `PERMANENT_SESSION_LIFETIME`,
//! then the payload.

use super::keys::FlaskKeys;
use super::signing::{self, SignedWith};
use super::value::{self, FlaskValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::collections::BTreeMap;
use std::io::Read;

/// Flask's salt for the session cookie.
pub(crate) const SALT: &[u8] = b"cookie-session";

/// The longest cookie value read. Browsers keep at most 4096 bytes per
/// cookie; anything longer did not come from one, and is refused before
/// any HMAC is computed (a request full of huge cookies costs little).
pub const MAX_COOKIE_LEN: usize = 8 * 1024;

/// The most a compressed payload may inflate to. zlib reaches about
/// 1000:1, so a 4 KiB cookie could otherwise inflate to megabytes (a "zip
/// bomb"); Flask's own sessions are a few times their cookie at most.
pub const MAX_INFLATED: usize = 256 * 1024;

/// Why a Flask session cookie is refused. Flask then starts an empty
/// session, so the visitor is not signed in; nothing here holds the
/// cookie's content or a key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FlaskCookieError {
    #[error("the cookie is longer than {MAX_COOKIE_LEN} bytes")]
    TooLong,
    #[error("not a Flask session cookie (payload.timestamp.signature)")]
    Malformed,
    /// Changed since it was signed, or signed with a key not given.
    #[error("no Flask key makes its signature: it was changed, or signed with another key")]
    BadSignature,
    #[error("its timestamp is not one itsdangerous writes")]
    BadTimestamp,
    /// Older than `PERMANENT_SESSION_LIFETIME`, which Flask applies to
    /// every session cookie (permanent or not).
    #[error("signed {age} s ago, past the session lifetime of {max_age} s")]
    Expired { age: u64, max_age: u64 },
    /// itsdangerous refuses a negative age.
    #[error("signed {ahead} s in the future: a clock is wrong")]
    FromTheFuture { ahead: u64 },
    #[error("its payload inflates past {MAX_INFLATED} bytes")]
    TooLarge,
    /// Signed with a valid key but not readable as a Flask session.
    #[error("its payload is not a Flask session: {0}")]
    BadPayload(&'static str),
}

/// A Flask session whose signature and age have been checked.
#[derive(Clone, Debug, PartialEq)]
pub struct FlaskSession {
    data: BTreeMap<String, FlaskValue>,
    signed_at: i64,
    signed_with: SignedWith,
    compressed: bool,
}

impl FlaskSession {
    /// The empty session Flask starts when there is no valid cookie.
    pub(crate) fn empty() -> Self {
        FlaskSession { data: BTreeMap::new(), signed_at: 0, signed_with: SignedWith::Current, compressed: false }
    }

    /// A Flask-Session session read from its store (no cookie signature or
    /// timestamp of its own: the store's expiry is its age limit).
    #[cfg(feature = "flask-session")]
    pub(crate) fn stored(data: BTreeMap<String, FlaskValue>) -> Self {
        FlaskSession { data, signed_at: 0, signed_with: SignedWith::Current, compressed: false }
    }

    /// `session[key]`.
    pub fn get(&self, key: &str) -> Option<&FlaskValue> {
        self.data.get(key)
    }

    /// Everything in the session.
    pub fn data(&self) -> &BTreeMap<String, FlaskValue> {
        &self.data
    }

    /// `session.permanent` (the `_permanent` key).
    pub fn permanent(&self) -> bool {
        self.get("_permanent").and_then(FlaskValue::as_bool).unwrap_or(false)
    }

    /// When Flask last wrote the cookie, in seconds since the epoch (0 for
    /// a Flask-Session session, whose cookie holds only its id).
    pub fn signed_at(&self) -> i64 {
        self.signed_at
    }

    /// Which key signed it.
    pub fn signed_with(&self) -> SignedWith {
        self.signed_with
    }

    /// The payload was zlib-compressed.
    pub fn compressed(&self) -> bool {
        self.compressed
    }

    /// `bool(session)`: the session holds anything.
    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

/// Verifies and reads `cookie` (the `session` cookie's value) with `keys`
/// and `salt`, at `now`, accepting it up to `max_age` seconds after it was signed.
pub(crate) fn read(
    keys: &FlaskKeys,
    salt: &[u8],
    cookie: &str,
    now: i64,
    max_age: u64,
) -> Result<FlaskSession, FlaskCookieError> {
    if cookie.len() > MAX_COOKIE_LEN {
        return Err(FlaskCookieError::TooLong);
    }
    if cookie.bytes().filter(|&b| b == b'.').count() < 2 {
        return Err(FlaskCookieError::Malformed);
    }
    let (signed, signed_with) = signing::unsign(keys, salt, cookie).ok_or(FlaskCookieError::BadSignature)?;
    let (payload, timestamp) = signed.rsplit_once('.').ok_or(FlaskCookieError::Malformed)?;
    let signed_at = signing::timestamp(timestamp).ok_or(FlaskCookieError::BadTimestamp)?;
    let age = now - signed_at;
    if age < 0 {
        return Err(FlaskCookieError::FromTheFuture { ahead: age.unsigned_abs() });
    }
    if age as u64 > max_age {
        return Err(FlaskCookieError::Expired { age: age as u64, max_age });
    }
    let (data, compressed) = read_payload(payload)?;
    Ok(FlaskSession { data, signed_at, signed_with, compressed })
}

/// A Flask session cookie taken apart without any key: what anyone who
/// sees the cookie can read. Nothing in it is checked; never decide
/// anything on it (that is [`FlaskApp::read_session`]'s job). It exists for
/// `palisade decode`, which shows that a signed cookie is not a secret one.
///
/// [`FlaskApp::read_session`]: super::FlaskApp::read_session
#[derive(Debug)]
pub struct UnverifiedCookie<'a> {
    payload: &'a str,
    signed_at: i64,
}

impl<'a> UnverifiedCookie<'a> {
    /// Splits `cookie` into payload, timestamp and signature.
    pub fn parse(cookie: &'a str) -> Result<Self, FlaskCookieError> {
        if cookie.len() > MAX_COOKIE_LEN {
            return Err(FlaskCookieError::TooLong);
        }
        let mut parts = cookie.rsplitn(3, '.');
        let (signature, timestamp, payload) = match (parts.next(), parts.next(), parts.next()) {
            (Some(signature), Some(timestamp), Some(payload)) => (signature, timestamp, payload),
            _ => return Err(FlaskCookieError::Malformed),
        };
        if URL_SAFE_NO_PAD.decode(signature).map(|tag| tag.len()) != Ok(20) {
            return Err(FlaskCookieError::Malformed);
        }
        let signed_at = signing::timestamp(timestamp).ok_or(FlaskCookieError::BadTimestamp)?;
        Ok(UnverifiedCookie { payload, signed_at })
    }

    /// The timestamp it claims.
    pub fn signed_at(&self) -> i64 {
        self.signed_at
    }

    /// The payload is zlib-compressed.
    pub fn compressed(&self) -> bool {
        self.payload.starts_with('.')
    }

    /// The session data it holds, unverified.
    pub fn data_anyone_can_read(&self) -> Result<BTreeMap<String, FlaskValue>, FlaskCookieError> {
        read_payload(self.payload).map(|(data, _)| data)
    }
}

/// itsdangerous's `URLSafeSerializerMixin.load_payload`, then Flask's
/// `TaggedJSONSerializer.loads`: the session dict, and whether it was compressed.
fn read_payload(payload: &str) -> Result<(BTreeMap<String, FlaskValue>, bool), FlaskCookieError> {
    let (compressed, base64) = match payload.strip_prefix('.') {
        Some(rest) => (true, rest),
        None => (false, payload),
    };
    let bytes = URL_SAFE_NO_PAD.decode(base64).map_err(|_| FlaskCookieError::BadPayload("not base64url"))?;
    let json = if compressed { inflate(&bytes)? } else { bytes };
    // serde_json stops at 128 levels of nesting, so a deep payload is an
    // error, not a stack overflow.
    let parsed: serde_json::Value =
        serde_json::from_slice(&json).map_err(|_| FlaskCookieError::BadPayload("not JSON"))?;
    match value::untag(parsed).map_err(|err| FlaskCookieError::BadPayload(err.reason()))? {
        FlaskValue::Dict(data) => Ok((data, compressed)),
        _ => Err(FlaskCookieError::BadPayload("not a dict")),
    }
}

/// zlib-inflates `data`, refusing rather than growing past [`MAX_INFLATED`].
fn inflate(data: &[u8]) -> Result<Vec<u8>, FlaskCookieError> {
    let mut out = Vec::new();
    let mut reader = flate2::read::ZlibDecoder::new(data).take(MAX_INFLATED as u64 + 1);
    reader.read_to_end(&mut out).map_err(|_| FlaskCookieError::BadPayload("not zlib"))?;
    if out.len() > MAX_INFLATED {
        return Err(FlaskCookieError::TooLarge);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flask::signing::tests::sign;
    use std::io::Write;

    const NOW: i64 = 1_800_000_000;

    /// A cookie as Flask writes `json` at `at` with `secret`.
    fn cookie(secret: &str, json: &str, at: i64, compress: bool) -> String {
        let payload = if compress {
            let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(json.as_bytes()).unwrap();
            format!(".{}", URL_SAFE_NO_PAD.encode(encoder.finish().unwrap()))
        } else {
            URL_SAFE_NO_PAD.encode(json)
        };
        let bytes = at.to_be_bytes();
        let first = bytes.iter().position(|&b| b != 0).unwrap_or(7);
        sign(secret.as_bytes(), SALT, &format!("{payload}.{}", URL_SAFE_NO_PAD.encode(&bytes[first..])))
    }

    #[test]
    fn a_valid_cookie_is_read_and_its_age_checked() {
        let keys = FlaskKeys::new("k");
        let value = cookie("k", r#"{"_user_id":"7","_permanent":true}"#, NOW - 10, false);
        let session = read(&keys, SALT, &value, NOW, 60).unwrap();
        assert_eq!(session.get("_user_id").and_then(FlaskValue::as_str), Some("7"));
        assert!(session.permanent() && !session.compressed());
        assert_eq!(session.signed_at(), NOW - 10);
        assert_eq!(read(&keys, SALT, &value, NOW + 51, 60), Err(FlaskCookieError::Expired { age: 61, max_age: 60 }));
        assert_eq!(read(&keys, SALT, &value, NOW - 11, 60), Err(FlaskCookieError::FromTheFuture { ahead: 1 }));
        assert_eq!(read(&FlaskKeys::new("other"), SALT, &value, NOW, 60), Err(FlaskCookieError::BadSignature));
        let compressed = cookie("k", r#"{"a":1}"#, NOW, true);
        assert!(read(&keys, SALT, &compressed, NOW, 60).unwrap().compressed());
    }

    #[test]
    fn a_zlib_bomb_signed_with_the_key_is_refused_not_inflated() {
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(b"{\"a\":\"").unwrap();
        encoder.write_all(&vec![b'a'; 4 * 1024 * 1024]).unwrap();
        let bomb = encoder.finish().unwrap();
        let payload = format!(".{}", URL_SAFE_NO_PAD.encode(&bomb));
        let value = sign(b"k", SALT, &format!("{payload}.{}", URL_SAFE_NO_PAD.encode(&NOW.to_be_bytes()[3..])));
        assert!(value.len() < MAX_COOKIE_LEN, "{}", value.len());
        assert_eq!(read(&FlaskKeys::new("k"), SALT, &value, NOW, 60), Err(FlaskCookieError::TooLarge));
    }

    #[test]
    fn junk_is_refused_with_a_reason_and_never_panics() {
        let keys = FlaskKeys::new("k");
        for junk in ["", ".", "..", "a.b.c", "é.é.é", &"a".repeat(MAX_COOKIE_LEN + 1)] {
            assert!(read(&keys, SALT, junk, NOW, 60).is_err(), "{junk:?}");
            assert!(UnverifiedCookie::parse(junk).and_then(|c| c.data_anyone_can_read()).is_err(), "{junk:?}");
        }
        let not_a_dict = cookie("k", "[1,2]", NOW, false);
        assert_eq!(read(&keys, SALT, &not_a_dict, NOW, 60), Err(FlaskCookieError::BadPayload("not a dict")));
        let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
        let deep = cookie("k", &format!("{{\"a\":{deep}}}"), NOW, true);
        assert_eq!(read(&keys, SALT, &deep, NOW, 60), Err(FlaskCookieError::BadPayload("not JSON")));
    }
}
