//! Django's `TimestampSigner`: `value:timestamp:signature`, the timestamp
//! in base62, the signature base64url HMAC (SHA-256 since Django 3.1).
//! `signing.dumps` (the `signed_cookies` session backend) makes the value
//! base64url JSON, with a leading `.` when zlib made it shorter;
//! `set_signed_cookie` leaves the value as it is.

use super::verify::Signed;
use super::{json, parts, Decoded, Kind};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;

pub(super) fn decode(value: &str) -> Option<Decoded> {
    let mut it = value.rsplitn(3, ':');
    let (signature, timestamp, payload) = (it.next()?, it.next()?, it.next()?);
    if !parts::is_signature(signature) {
        return None;
    }
    let signed_at = parts::base62_timestamp(timestamp)?;
    let algorithm = match signature.len() {
        27 => "HMAC-SHA1 (Django before 3.1)",
        43 => "HMAC-SHA256 (Django signing)",
        _ => "HMAC-SHA512 (Django signing)",
    };
    let (kind, compressed, data) = match dumps_payload(payload) {
        Some((compressed, data)) => (Kind::DjangoSession, compressed, data),
        None => (Kind::DjangoSignedCookie, false, Value::String(payload.to_owned())),
    };
    Some(Decoded {
        kind,
        compressed,
        signed_at: Some(signed_at),
        signature: algorithm.to_owned(),
        header: None,
        data,
        warnings: Vec::new(),
        cookie_name: None,
        signed: Signed::split(value, ':'),
        signature_check: None,
    })
}

/// The JSON inside a `signing.dumps` value, if `payload` is one.
fn dumps_payload(payload: &str) -> Option<(bool, Value)> {
    let (compressed, b64) = match payload.strip_prefix('.') {
        Some(rest) => (true, rest),
        None => (false, payload),
    };
    let raw = URL_SAFE_NO_PAD.decode(b64).ok()?;
    let raw = if compressed { parts::inflate(&raw)? } else { raw };
    let data = json(&raw)?;
    // A bare number or string that happens to be base64 is not worth
    // claiming as `dumps` output; sessions and objects are objects.
    matches!(data, Value::Object(_) | Value::Array(_)).then_some((compressed, data))
}
