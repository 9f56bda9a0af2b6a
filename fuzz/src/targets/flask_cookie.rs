//! A Flask app's cookies as `palisade::flask` reads them: the session
//! cookie (signature, timestamp, bounded zlib, tagged JSON) and the
//! `Cookie` header scanned the way Werkzeug scans it.
//!
//! Properties: nothing panics; a cookie the verified reader accepts reads
//! back exactly what the unverified reader (`palisade decode`'s) shows, so
//! the two never disagree on what a session holds (the corpus holds
//! genuine cookies made by the real Flask with `SECRET_KEY`, so the
//! fuzzer mutates from accepted ones).

use crate::input::{text, Input};
use crate::targets::NOW;
use http::{HeaderMap, HeaderValue};
use palisade::clock::ManualClock;
use palisade::flask::{FlaskApp, FlaskKeys, FlaskRequest, UnverifiedCookie};

/// The key the corpus's genuine cookies were made with (by the real Flask).
pub const SECRET_KEY: &str = "palisade-fuzz-flask-secret-key";

pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let selector = input.byte();
    let rest = input.rest();
    let flask = FlaskApp::new(FlaskKeys::new(SECRET_KEY).with_fallback("an-older-key")).clock(ManualClock::new(NOW));
    if selector % 2 == 0 {
        session_cookie(&flask, &text(rest));
    } else {
        cookie_header(&flask, rest);
    }
}

fn session_cookie(flask: &FlaskApp, cookie: &str) {
    let verified = flask.read_session(cookie);
    let unverified = UnverifiedCookie::parse(cookie).and_then(|c| c.data_anyone_can_read());
    if let Ok(session) = &verified {
        assert_eq!(Ok(session.data()), unverified.as_ref(), "the verified and unverified readers disagree");
        let _ = palisade::flask::FlaskValue::Dict(session.data().clone()).to_display_json();
    }
}

fn cookie_header(flask: &FlaskApp, bytes: &[u8]) {
    let mut headers = HeaderMap::new();
    for piece in bytes.split(|&b| b == 0) {
        if let Ok(value) = HeaderValue::from_bytes(piece) {
            headers.append(http::header::COOKIE, value);
        }
    }
    let ip = "192.0.2.1".parse().unwrap();
    let _ = futures_executor::block_on(flask.signed_in_from_headers(&headers, ip));
    // With no cookie at all, nobody is signed in.
    let nobody = FlaskRequest { session_cookie: None, remember_cookie: None, client_ip: ip, user_agent: None };
    assert!(futures_executor::block_on(flask.signed_in(&nobody)).is_err());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The corpus's `session-*` seeds are cookies the real Flask made with
    /// `SECRET_KEY` at `NOW`: accepted, so the fuzzer starts from sessions
    /// the verified reader reads.
    #[test]
    fn the_session_seeds_are_genuine() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/flask_cookie");
        let flask = FlaskApp::new(FlaskKeys::new(SECRET_KEY)).clock(ManualClock::new(NOW));
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().unwrap().to_string_lossy().starts_with("session-") {
                let data = std::fs::read(&path).unwrap();
                let cookie = std::str::from_utf8(&data[1..]).unwrap();
                assert!(flask.read_session(cookie).is_ok(), "{}", path.display());
                seen += 1;
            }
        }
        assert!(seen >= 4, "{seen}");
    }
}
