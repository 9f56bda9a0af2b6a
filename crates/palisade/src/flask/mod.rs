//! Reading a Flask app's sessions and logins from Rust, for a move from
//! Flask one route at a time (feature `flask`).
//!
//! While Flask keeps serving most routes and keeps issuing the login, an
//! axum service behind the same domain can tell who is signed in:
//!
//! ```
//! use palisade::flask::{FlaskApp, FlaskKeys, FlaskRequest};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // The Flask app's SECRET_KEY (and SECRET_KEY_FALLBACKS), read-only here.
//! let flask = FlaskApp::new(FlaskKeys::new("the Flask SECRET_KEY").with_fallback("the old one"));
//! let request = FlaskRequest {
//!     session_cookie: Some("eyJfdXNlcl9pZCI6IjQyIn0.Z0xyAA.not-a-valid-signature-at-all"),
//!     remember_cookie: None,
//!     client_ip: "203.0.113.7".parse().unwrap(),
//!     user_agent: Some(b"Mozilla/5.0"),
//! };
//! // A forged session (anyone can write `{"_user_id": "42"}`) is refused.
//! assert!(flask.signed_in(&request).await.is_err());
//! # }
//! ```
//!
//! What is read, exactly as Flask 3.1 and Flask-Login 0.6 read it:
//! - the session cookie ([`FlaskApp::read_session`]): itsdangerous's
//!   signature with `SECRET_KEY` or a fallback, the age limit of
//!   `PERMANENT_SESSION_LIFETIME`, zlib (bounded: a zip bomb is refused
//!   after [`MAX_INFLATED`] bytes), Flask's tagged JSON ([`FlaskValue`]);
//! - Flask-Login's login ([`FlaskApp::signed_in`]): `_user_id`, `_fresh`,
//!   the session-protection identifier `_id`, and the `remember_token`
//!   cookie (see the `login` module's notes);
//! - with feature `flask-session`, Flask-Session 0.8's server-side sessions
//!   in Redis ([`FlaskApp::server_side`]), read-only.
//!
//! Nothing here writes a Flask cookie or accepts a session Flask would
//! refuse: the Flask secret only verifies. Where Flask would answer "not
//! signed in", so does this, with the reason as a [`NotSignedIn`], logged
//! (never with the cookie or a key).

#[cfg(feature = "axum")]
mod extract;
mod keys;
mod login;
#[cfg(feature = "flask-session")]
mod server_side;
mod session;
mod signing;
mod value;

#[cfg(feature = "axum")]
pub use extract::{require_login, FlaskRejection, FlaskUser};
pub use keys::FlaskKeys;
pub use login::{session_identifier, FlaskLogin, FlaskRequest, LoginSource, NotSignedIn, SessionProtection};
#[cfg(feature = "flask-session")]
pub use server_side::{FlaskSessionRedis, StoredSessionError, MAX_STORED_SESSION};
pub use session::{FlaskCookieError, FlaskSession, UnverifiedCookie, MAX_COOKIE_LEN, MAX_INFLATED};
pub use signing::SignedWith;
pub use value::{FlaskValue, TagError};

use crate::clock::{Clock, SystemClock};
use http::{HeaderMap, HeaderValue};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// The Flask app whose sessions are read: its keys and the settings that
/// change how its cookies are read. Cheap to clone.
#[derive(Clone, Debug)]
pub struct FlaskApp {
    keys: Arc<FlaskKeys>,
    salt: Vec<u8>,
    session_cookie: CookieScope,
    remember_cookie: CookieScope,
    #[cfg(feature = "axum")]
    login_url: Option<String>,
    lifetime: u64,
    protection: SessionProtection,
    clock: Arc<dyn Clock>,
    #[cfg(feature = "flask-session")]
    server_side: Option<FlaskSessionRedis>,
}

impl FlaskApp {
    /// Flask's defaults: cookies `session` and `remember_token`, a session
    /// lifetime of 31 days, and strong session protection.
    pub fn new(keys: FlaskKeys) -> Self {
        FlaskApp {
            keys: Arc::new(keys),
            salt: session::SALT.to_vec(),
            session_cookie: CookieScope::named("session"),
            remember_cookie: CookieScope::named("remember_token"),
            #[cfg(feature = "axum")]
            login_url: None,
            lifetime: 31 * 24 * 3600,
            protection: SessionProtection::Strong,
            clock: Arc::new(SystemClock),
            #[cfg(feature = "flask-session")]
            server_side: None,
        }
    }

    /// The app keeps its sessions server-side with Flask-Session in Redis
    /// (`SESSION_TYPE = "redis"`): the session cookie holds a session id,
    /// read in `store` (feature `flask-session`).
    #[cfg(feature = "flask-session")]
    pub fn server_side(mut self, store: FlaskSessionRedis) -> Self {
        self.server_side = Some(store);
        self
    }

    /// `SESSION_COOKIE_NAME`.
    pub fn session_cookie_name(mut self, name: impl Into<String>) -> Self {
        self.session_cookie.name = name.into();
        self
    }

    /// `SESSION_COOKIE_DOMAIN` and `SESSION_COOKIE_PATH`, for removing the
    /// cookie at the switch-over ([`removal_cookies`](Self::removal_cookies)):
    /// a browser only drops a cookie whose removal names the same domain
    /// and path. Default: no domain, path `/`.
    pub fn session_cookie_scope(mut self, domain: Option<&str>, path: &str) -> Self {
        self.session_cookie.domain = domain.map(str::to_owned);
        self.session_cookie.path = path.to_owned();
        self
    }

    /// `REMEMBER_COOKIE_DOMAIN` and `REMEMBER_COOKIE_PATH` (as
    /// [`session_cookie_scope`](Self::session_cookie_scope)).
    pub fn remember_cookie_scope(mut self, domain: Option<&str>, path: &str) -> Self {
        self.remember_cookie.domain = domain.map(str::to_owned);
        self.remember_cookie.path = path.to_owned();
        self
    }

    /// Flask-Login's `login_view` as a URL: a browser without a Flask login
    /// that asks a [`FlaskUser`] route for a page is sent there (`303`,
    /// with `?next=` the page it asked for) instead of getting `401`.
    #[cfg(feature = "axum")]
    pub fn login_url(mut self, url: impl Into<String>) -> Self {
        self.login_url = Some(url.into());
        self
    }

    /// The salt of an app whose `SecureCookieSessionInterface` subclass
    /// changes it (`cookie-session` otherwise).
    pub fn session_salt(mut self, salt: impl Into<Vec<u8>>) -> Self {
        self.salt = salt.into();
        self
    }

    /// `REMEMBER_COOKIE_NAME`.
    pub fn remember_cookie_name(mut self, name: impl Into<String>) -> Self {
        self.remember_cookie.name = name.into();
        self
    }

    /// `PERMANENT_SESSION_LIFETIME`: Flask refuses any session cookie
    /// signed longer ago, permanent or not.
    pub fn session_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime.as_secs();
        self
    }

    /// Flask-Login's `SESSION_PROTECTION`. Strong by default, whatever the
    /// Flask app uses: with `"basic"` there, a session moved to another
    /// client stays signed in to Flask but is refused here.
    pub fn session_protection(mut self, protection: SessionProtection) -> Self {
        self.protection = protection;
        self
    }

    /// The time source for the age limit (a `ManualClock` in tests).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Verifies and reads a session cookie's value.
    pub fn read_session(&self, cookie: &str) -> Result<FlaskSession, FlaskCookieError> {
        session::read(&self.keys, &self.salt, cookie, self.clock.now(), self.lifetime)
    }

    /// Which key made `cookie`'s signature, whatever its age or content
    /// (for watching a key rotation: once no cookie says
    /// [`SignedWith::Fallback`], the old key can go). Not a reason to trust
    /// the cookie: [`read_session`](Self::read_session) is.
    pub fn signed_with(&self, cookie: &str) -> Option<SignedWith> {
        if cookie.len() > MAX_COOKIE_LEN {
            return None;
        }
        signing::unsign(&self.keys, &self.salt, cookie).map(|(_, signed_with)| signed_with)
    }

    /// Who Flask-Login would see as signed in for `request`.
    pub async fn signed_in(&self, request: &FlaskRequest<'_>) -> Result<FlaskLogin, NotSignedIn> {
        let session = match request.session_cookie {
            // Flask: no cookie, or an empty one, is a new empty session.
            None | Some("") => Ok(FlaskSession::empty()),
            Some(cookie) => self.open_session(cookie).await,
        };
        #[cfg(feature = "flask-session")]
        if let Err(NotSignedIn::StoreUnavailable) = session {
            // Unknown is not "signed out": never answered as anonymous.
            return Err(NotSignedIn::StoreUnavailable);
        }
        login::signed_in(&self.keys, self.protection, request, session)
    }

    /// The session the session cookie's value `cookie` stands for: read
    /// from the cookie, or with [`server_side`](Self::server_side) from
    /// the store; verified either way.
    pub async fn open_session(&self, cookie: &str) -> Result<FlaskSession, NotSignedIn> {
        #[cfg(feature = "flask-session")]
        if let Some(store) = &self.server_side {
            return store.read(&self.keys, cookie).await.map_err(|err| match err {
                StoredSessionError::Unavailable => NotSignedIn::StoreUnavailable,
                other => NotSignedIn::StoredSessionRefused(other),
            });
        }
        self.read_session(cookie).map_err(NotSignedIn::SessionRefused)
    }

    /// [`signed_in`](Self::signed_in) for a request's headers (its
    /// `Cookie` and `User-Agent`) from `client_ip`.
    pub async fn signed_in_from_headers(
        &self,
        headers: &HeaderMap,
        client_ip: IpAddr,
    ) -> Result<FlaskLogin, NotSignedIn> {
        let cookies = cookie_header_text(headers);
        let session_cookie = request_cookie(&cookies, &self.session_cookie.name);
        let remember_cookie = request_cookie(&cookies, &self.remember_cookie.name);
        let request = FlaskRequest {
            session_cookie: session_cookie.as_deref(),
            remember_cookie: remember_cookie.as_deref(),
            client_ip,
            user_agent: headers.get(http::header::USER_AGENT).map(|value| value.as_bytes()),
        };
        self.signed_in(&request).await
    }

    /// The two `Set-Cookie` values that remove the Flask session and
    /// remember cookies from the browser, for the switch-over
    /// ([`take_over`]). The only cookies this module ever writes, and only
    /// to delete them.
    pub fn removal_cookies(&self) -> [HeaderValue; 2] {
        [self.session_cookie.removal(), self.remember_cookie.removal()]
    }
}

/// The switch-over: the browser's Flask login becomes a Palisade login on
/// `session`, through [`auth::login`](crate::auth::login): a new session
/// id, Palisade's binding to this client and its expiry rules. Never
/// fresh: the password was typed into the Flask app, maybe weeks ago, so
/// a Flask cookie stolen and carried over cannot change the password or
/// e-mail without the password (the attack: a session thief promoting
/// themselves to a fresh login). Send [`FlaskApp::removal_cookies`] with
/// the response, so the browser stops presenting the Flask login.
pub async fn take_over(session: &crate::session::Session, login: &FlaskLogin) -> Result<(), crate::auth::AuthError> {
    crate::auth::login(session, &login.user_id, crate::auth::LoginOptions::new().fresh(false)).await?;
    tracing::info!(source = ?login.source, "Flask login taken over by a Palisade session");
    Ok(())
}

/// A Flask cookie's name and where it is set.
#[derive(Clone, Debug)]
struct CookieScope {
    name: String,
    domain: Option<String>,
    path: String,
}

impl CookieScope {
    fn named(name: &str) -> Self {
        CookieScope { name: name.to_owned(), domain: None, path: "/".to_owned() }
    }

    /// `name=; Max-Age=0` with the same domain and path, as Werkzeug's
    /// `delete_cookie` writes it.
    fn removal(&self) -> HeaderValue {
        let mut header =
            format!("{}=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path={}", self.name, self.path);
        if let Some(domain) = &self.domain {
            header.push_str("; Domain=");
            header.push_str(domain);
        }
        HeaderValue::from_str(&header).unwrap_or_else(|_| {
            tracing::error!("a Flask cookie name, domain or path that cannot be in a header; not removed");
            HeaderValue::from_static("invalid=; Max-Age=0")
        })
    }
}

/// The request's `Cookie` headers as one text, the way WSGI hands them to
/// Werkzeug: the bytes read as Latin-1, several headers joined with `; `.
fn cookie_header_text(headers: &HeaderMap) -> String {
    let mut text = String::new();
    for value in headers.get_all(http::header::COOKIE) {
        if !text.is_empty() {
            text.push_str("; ");
        }
        text.extend(value.as_bytes().iter().map(|&b| char::from(b)));
    }
    text
}

/// The first cookie called `name` in `cookies`, as Werkzeug's
/// `parse_cookie` reads it: `key=value` pairs separated by `;`, a pair
/// that does not parse skipped up to the next `;`, and a value in double
/// quotes with its backslash escapes undone (`\"`, `\\`, `\ooo` octal for a
/// byte) and then read as UTF-8.
fn request_cookie(cookies: &str, name: &str) -> Option<String> {
    werkzeug_cookies(cookies).find(|(key, _)| *key == name).map(|(_, value)| werkzeug_unquote(value))
}

/// The `(key, raw value)` pairs of a `Cookie` header, by Werkzeug's
/// `_cookie_re`: `[ \t]*` key `[^ \t=";]+`, optionally `=` and a value
/// that is either quoted (`"…"` with backslash escapes) or a token
/// `[^ \t";]*`, then `[ \t]*` and `;` or the end.
fn werkzeug_cookies(header: &str) -> impl Iterator<Item = (&str, &str)> {
    let mut pos = 0;
    std::iter::from_fn(move || loop {
        if pos > header.len() {
            return None;
        }
        match cookie_pair(&header[pos..]) {
            Some((key, value, used)) => {
                pos += used;
                return Some((key, value));
            }
            None => match header[pos..].find(';') {
                Some(at) => pos += at + 1,
                None => return None,
            },
        }
    })
}

/// One `key[=value]` at the start of `text`, and how much of `text` it used
/// (with the `;` after it).
fn cookie_pair(text: &str) -> Option<(&str, &str, usize)> {
    let blank = |c: char| c == ' ' || c == '\t';
    let start = text.len() - text.trim_start_matches(blank).len();
    let key_len = text[start..].find(|c: char| blank(c) || "=\";".contains(c)).unwrap_or(text.len() - start);
    if key_len == 0 {
        return None;
    }
    let key = &text[start..start + key_len];
    let after_key = start + key_len;
    let mut value = "";
    let mut end = after_key;
    let rest = text[after_key..].trim_start_matches(blank);
    if let Some(after_eq) = rest.strip_prefix('=') {
        let value_text = after_eq.trim_start_matches(blank);
        let value_start = text.len() - value_text.len();
        let value_len = if value_text.starts_with('"') {
            quoted_len(value_text)
        } else {
            Some(value_text.find(|c: char| blank(c) || c == '"' || c == ';').unwrap_or(value_text.len()))
        };
        if let Some(len) = value_len {
            let candidate_end = value_start + len;
            if ends_pair(&text[candidate_end..]) {
                value = &text[value_start..candidate_end];
                end = candidate_end;
            }
        }
    }
    let tail = &text[end..];
    if !ends_pair(tail) {
        return None;
    }
    let tail = tail.trim_start_matches(blank);
    let used = text.len() - tail.len() + usize::from(tail.starts_with(';'));
    Some((key, value, used.max(1)))
}

/// `[ \t]*` then `;` or the end.
fn ends_pair(text: &str) -> bool {
    let rest = text.trim_start_matches([' ', '\t']);
    rest.is_empty() || rest.starts_with(';')
}

/// The length of the quoted string at the start of `text` (`"…"`, a
/// backslash escaping any one character), if it is closed.
fn quoted_len(text: &str) -> Option<usize> {
    let mut chars = text.char_indices().skip(1);
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some(at + 1),
            '\\' => {
                chars.next()?;
            }
            _ => {}
        }
    }
    None
}

/// Werkzeug's unquoting of a cookie value: `"…"` loses its quotes and its
/// escapes, the rest is kept as it is.
fn werkzeug_unquote(value: &str) -> String {
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return value.to_owned();
    };
    // The Latin-1 text back to UTF-8 bytes, as Python's `str.encode()`.
    let bytes = inner.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            let octal = bytes
                .get(i + 1..i + 4)
                .filter(|d| matches!(d[0], b'0'..=b'3') && d[1..].iter().all(|b| matches!(b, b'0'..=b'7')));
            match octal {
                Some(d) => {
                    out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                    i += 4;
                }
                None => {
                    // `\\.`: the next character, whole (it may be several bytes).
                    let next = inner[i + 1..].chars().next().map_or(1, char::len_utf8);
                    out.extend_from_slice(&bytes[i + 1..i + 1 + next]);
                    i += 1 + next;
                }
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_as_werkzeug_reads_them() {
        let mut headers = HeaderMap::new();
        headers.append(http::header::COOKIE, "a=1; remember_token=\"a b\\054c\\\"\\303\\251|x\"".parse().unwrap());
        headers.append(http::header::COOKIE, "session=first".parse().unwrap());
        headers.append(http::header::COOKIE, "session=second".parse().unwrap());
        let cookies = cookie_header_text(&headers);
        assert_eq!(request_cookie(&cookies, "remember_token").as_deref(), Some("a b,c\"é|x"));
        assert_eq!(request_cookie(&cookies, "session").as_deref(), Some("first"));
        assert_eq!(request_cookie(&cookies, "missing"), None);
    }

    #[test]
    fn a_pair_werkzeug_cannot_parse_is_skipped_to_the_next_semicolon() {
        let pairs: Vec<_> = werkzeug_cookies("a=1 2; b=\"x;y\"; c=\"open; d; =e; f = 3 ;g").collect();
        assert_eq!(pairs, [("b", "\"x;y\""), ("d", ""), ("f", "3"), ("g", "")]);
        assert_eq!(werkzeug_cookies("").count(), 0);
        assert_eq!(werkzeug_cookies(";;;").count(), 0);
    }
}
