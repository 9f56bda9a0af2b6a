//! itsdangerous's timestamped signatures: `payload.timestamp.signature`.
//!
//! Flask's session: the payload is base64url JSON in Flask's tagged form,
//! compact, with a leading `.` when zlib made it shorter; read by the
//! library's `palisade::flask`, the same code a Rust service uses to read
//! Flask's logins. Starlette's session: the payload is standard base64
//! (with `=` padding) of `json.dumps`, whose separators have spaces.

use super::verify::Signed;
use super::{json, parts, Decoded, Kind};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use palisade::flask::{FlaskValue, UnverifiedCookie};

pub(super) fn decode(value: &str) -> Option<Decoded> {
    let mut it = value.rsplitn(3, '.');
    let (signature, timestamp, payload) = (it.next()?, it.next()?, it.next()?);
    if !parts::is_signature(signature) {
        return None;
    }
    let signed_at = parts::itsdangerous_timestamp(timestamp)?;
    let (compressed, payload) = match payload.strip_prefix('.') {
        Some(rest) => (true, rest),
        None => (false, payload),
    };
    let url_safe = URL_SAFE_NO_PAD.decode(payload).ok();
    let raw = match &url_safe {
        Some(bytes) => bytes.clone(),
        None => parts::base64_any(payload)?,
    };
    let raw = if compressed { parts::inflate(&raw)? } else { raw };
    let data = json(&raw)?;
    // Starlette's base64 is the standard alphabet, padded, over
    // `json.dumps` (", " and ": " separators); Flask's never is.
    let starlette = !compressed && (url_safe.is_none() || payload.ends_with('=') || has_spaced_separators(&raw));
    let mut warnings = Vec::new();
    let (kind, data) = if starlette {
        (Kind::Starlette, data)
    } else {
        // What Flask reads back, shown as plain JSON; the raw JSON (with a
        // warning) where Flask could not read it back.
        match UnverifiedCookie::parse(value).and_then(|cookie| cookie.data_anyone_can_read()) {
            Ok(session) => (Kind::Flask, FlaskValue::Dict(session).to_display_json()),
            Err(err) => {
                warnings.push(format!("Flask would not read this session back ({err}); shown as raw JSON"));
                (Kind::Flask, data)
            }
        }
    };
    Some(Decoded {
        kind,
        compressed,
        signed_at: Some(signed_at),
        signature: "HMAC-SHA1 (itsdangerous)".to_owned(),
        header: None,
        data,
        warnings,
        cookie_name: None,
        signed: Signed::split(value, '.'),
        signature_check: None,
    })
}

/// `json.dumps` output (`{"a": 1, "b": 2}`), as opposed to Flask's compact form.
fn has_spaced_separators(raw: &[u8]) -> bool {
    raw.windows(3).any(|w| w == b"\": " || w == b", \"")
}
