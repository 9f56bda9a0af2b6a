//! Flask-Login (0.6): who the Flask app believes is signed in.
//!
//! Flask-Login keeps `_user_id`, `_fresh` and `_id` in the Flask session.
//! `_id` is the session-protection identifier: SHA-512 over the client's
//! address and user agent when the user logged in. With protection
//! `"strong"`, a session that arrives from another address or browser is
//! emptied (the attack it stops: a session cookie stolen from one machine
//! and replayed from another); with `"basic"`, or for a permanent session,
//! it is only marked not fresh. Without a session login, Flask-Login reads
//! the `remember_token` cookie: `user_id|hex(HMAC-SHA512(SECRET_KEY,
//! user_id))`, which logs the user in as not fresh.
//!
//! This module repeats that decision step by step (checked against the
//! real Flask-Login in `tests/flask_oracle.rs`). One difference by design:
//! the address is the one Palisade trusts ([`ClientIp`], set by the
//! trusted-proxy layer), where Flask-Login takes the first
//! `X-Forwarded-For` entry as given. Where the two agree (a proxy that
//! sets the header), so do the verdicts; where a client forged the header,
//! the identifier does not match and Palisade refuses the session.
//!
//! [`ClientIp`]: crate::client::ClientIp

use super::keys::FlaskKeys;
use super::session::{FlaskCookieError, FlaskSession};
use super::value::FlaskValue;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha512};
use std::net::IpAddr;
use subtle::ConstantTimeEq;

/// Flask-Login's `SESSION_PROTECTION`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SessionProtection {
    /// `None`: the identifier is not checked.
    Off,
    /// `"basic"` (Flask-Login's default): a session from another client
    /// stays signed in, but is no longer fresh.
    Basic,
    /// `"strong"`: a session from another client is signed out (unless it
    /// is permanent, which Flask-Login treats as `"basic"`). Palisade's
    /// default: a moved session is the attack the identifier is for.
    #[default]
    Strong,
}

/// The user the Flask app would see as signed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlaskLogin {
    /// What Flask-Login would hand its `user_loader`. The user may since
    /// have been deleted or disabled: look them up, and treat an unknown
    /// id as signed out, as Flask-Login does when the loader returns `None`.
    pub user_id: String,
    /// `login_fresh()`: the user typed their password in this session (not
    /// restored from the remember cookie, not a moved session under basic
    /// protection). Ask for the password again before anything sensitive
    /// when it is `false`.
    pub fresh: bool,
    /// Where the login came from.
    pub source: LoginSource,
}

/// Which cookie the login was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginSource {
    /// The Flask session's `_user_id`.
    Session,
    /// Flask-Login's `remember_token` cookie.
    RememberCookie,
}

/// Why nobody is signed in to the Flask app.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotSignedIn {
    /// No login in the session and no remember cookie: a visitor, or
    /// signed out.
    #[error("not signed in to the Flask app")]
    Anonymous,
    /// The session cookie was refused, and no remember cookie stood in.
    #[error("the Flask session cookie was refused: {0}")]
    SessionRefused(FlaskCookieError),
    /// The Flask-Session session was refused or not found, and no
    /// remember cookie stood in.
    #[cfg(feature = "flask-session")]
    #[error("the Flask-Session session was refused: {0}")]
    StoredSessionRefused(super::StoredSessionError),
    /// The Flask-Session store did not answer: not known, so not served
    /// as signed out (a `503`).
    #[cfg(feature = "flask-session")]
    #[error("the Flask-Session store is unavailable")]
    StoreUnavailable,
    /// Strong session protection: the session was made for another
    /// address or browser.
    #[error("the Flask session was made for another client (strong session protection)")]
    OtherClient,
    /// The remember cookie is not `user_id|signature` with the current key.
    #[error("the Flask-Login remember cookie was refused: changed, or signed with another key")]
    RememberCookieRefused,
}

/// What a request brings for Flask-Login.
#[derive(Clone, Copy, Debug)]
pub struct FlaskRequest<'a> {
    /// The Flask session cookie's value, if the request has one.
    pub session_cookie: Option<&'a str>,
    /// The remember cookie's value (after Werkzeug's unquoting), if any.
    pub remember_cookie: Option<&'a str>,
    /// The client's address, as Palisade trusts it.
    pub client_ip: IpAddr,
    /// The `User-Agent` header's bytes, if any.
    pub user_agent: Option<&'a [u8]>,
}

/// Flask-Login's `_load_user`, from the session already read (`session`:
/// what the session cookie gave, or why it was refused, which is the
/// answer if the remember cookie does not stand in).
pub(crate) fn signed_in(
    keys: &FlaskKeys,
    protection: SessionProtection,
    request: &FlaskRequest<'_>,
    session: Result<FlaskSession, NotSignedIn>,
) -> Result<FlaskLogin, NotSignedIn> {
    // Flask starts an empty session when the cookie is refused.
    let (session, refused) = match session {
        Ok(session) => (session, None),
        Err(err) => (FlaskSession::empty(), Some(err)),
    };
    let mut fresh = session.get("_fresh") == Some(&FlaskValue::Bool(true));
    if protection != SessionProtection::Off && !session.is_empty() {
        let identifier = session_identifier(request.client_ip, request.user_agent);
        let matches = session.get("_id").and_then(FlaskValue::as_str).is_some_and(|id| {
            // Not a secret (anyone who can read the cookie sees it), but
            // compared like one: nothing is learned from timing.
            bool::from(id.as_bytes().ct_eq(identifier.as_bytes()))
        });
        if !matches {
            if protection == SessionProtection::Strong && !session.permanent() {
                tracing::info!("Flask session refused: made for another client (strong session protection)");
                return Err(NotSignedIn::OtherClient);
            }
            fresh = false;
        }
    }
    match session.get("_user_id") {
        None | Some(FlaskValue::Null) => {}
        Some(FlaskValue::String(id)) => {
            return Ok(FlaskLogin { user_id: id.clone(), fresh, source: LoginSource::Session });
        }
        Some(FlaskValue::Number(id)) => {
            return Ok(FlaskLogin { user_id: id.to_string(), fresh, source: LoginSource::Session });
        }
        Some(_) => {
            tracing::warn!("Flask session's _user_id is neither a string nor a number; not signed in");
            return Err(NotSignedIn::Anonymous);
        }
    }
    let cleared = session.get("_remember").and_then(FlaskValue::as_str) == Some("clear");
    match request.remember_cookie {
        Some(cookie) if !cleared => match remembered_user(keys, cookie) {
            Some(user_id) => Ok(FlaskLogin { user_id, fresh: false, source: LoginSource::RememberCookie }),
            None => {
                tracing::info!("Flask-Login remember cookie refused: bad signature");
                Err(NotSignedIn::RememberCookieRefused)
            }
        },
        _ => match refused {
            Some(err) => {
                tracing::info!(reason = %err, "Flask session refused");
                Err(err)
            }
            None => Err(NotSignedIn::Anonymous),
        },
    }
}

/// Flask-Login's `decode_cookie`: the user id, if `cookie` is
/// `user_id|hex(HMAC-SHA512(SECRET_KEY, user_id))`. Only the current key
/// counts (Flask-Login ignores `SECRET_KEY_FALLBACKS`). The token never
/// expires by itself: the cookie's `Expires` is the browser's business, so
/// a stolen one works until `SECRET_KEY` changes.
fn remembered_user(keys: &FlaskKeys, cookie: &str) -> Option<String> {
    let (user_id, digest) = cookie.rsplit_once('|')?;
    let key = keys.remember_key()?;
    let mut mac = Hmac::<Sha512>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(user_id.as_bytes());
    let expected = hex(&mac.finalize().into_bytes());
    // `hmac.compare_digest` on the hex strings, in constant time.
    bool::from(expected.as_bytes().ct_eq(digest.as_bytes())).then(|| user_id.to_owned())
}

/// Flask-Login's `_create_identifier`: SHA-512, in hex, of
/// `f"{address}|{user_agent}"`, where both are Python `bytes` (so their
/// `repr`, `b'…'`, is what is hashed) or `None`. Werkzeug reads header
/// bytes as Latin-1 and Flask-Login encodes them as UTF-8 again.
pub fn session_identifier(client_ip: IpAddr, user_agent: Option<&[u8]>) -> String {
    let address = python_bytes_repr(client_ip.to_string().as_bytes());
    let agent = match user_agent {
        Some(raw) => {
            let utf8: String = raw.iter().map(|&b| char::from(b)).collect();
            python_bytes_repr(utf8.as_bytes())
        }
        None => "None".to_owned(),
    };
    hex(&Sha512::digest(format!("{address}|{agent}").as_bytes()))
}

/// Python's `repr(bytes)`: `b'…'` (or `b"…"` when only that avoids an
/// escape), printable ASCII as itself, `\t \n \r \\` and the quote escaped,
/// every other byte as `\xNN`.
fn python_bytes_repr(bytes: &[u8]) -> String {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') { b'"' } else { b'\'' };
    let mut out = String::with_capacity(bytes.len() + 3);
    out.push('b');
    out.push(char::from(quote));
    for &b in bytes {
        match b {
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\\' => out.push_str("\\\\"),
            _ if b == quote => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push(char::from(quote));
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_shown_as_python_shows_them() {
        assert_eq!(python_bytes_repr(b"127.0.0.1"), "b'127.0.0.1'");
        assert_eq!(python_bytes_repr(b"it's"), "b\"it's\"");
        assert_eq!(python_bytes_repr(b"'\""), "b'\\'\"'");
        assert_eq!(python_bytes_repr(b"a\tb\\\x00\xc3\xa9\x7f"), "b'a\\tb\\\\\\x00\\xc3\\xa9\\x7f'");
    }

    #[test]
    fn a_remember_cookie_needs_the_current_keys_signature() {
        let keys = FlaskKeys::new("k");
        let mut mac = Hmac::<Sha512>::new_from_slice(b"k").unwrap();
        mac.update(b"42");
        let cookie = format!("42|{}", hex(&mac.finalize().into_bytes()));
        assert_eq!(remembered_user(&keys, &cookie).as_deref(), Some("42"));
        assert_eq!(remembered_user(&keys, &cookie.replacen("42", "43", 1)), None);
        assert_eq!(remembered_user(&keys, &cookie.to_uppercase()), None, "Python compares the hex as text");
        assert_eq!(remembered_user(&FlaskKeys::new("other").with_fallback("k"), &cookie), None);
        assert_eq!(remembered_user(&keys, "42"), None);
    }
}
