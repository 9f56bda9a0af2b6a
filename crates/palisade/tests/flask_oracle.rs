//! `palisade::flask` against the real Flask 3.1 and Flask-Login 0.6 (from
//! PyPI; scripts/test puts them in a virtualenv): `tests/flask/oracle_cases.py`
//! logs users in on a Flask app (with and without remember-me, permanent,
//! compressed, with a fallback key, from several clients) and asks
//! Flask-Login itself who is signed in for each request, tampered, aged,
//! re-keyed and moved ones included. The Rust side must reach the same
//! verdict for every request, and read each session as Flask reads it.

#[path = "common/flask.rs"]
mod flask_support;

use flask_support::{python, typed};
use http::{HeaderMap, HeaderValue};
use palisade::clock::ManualClock;
use palisade::flask::{
    session_identifier, FlaskApp, FlaskCookieError, FlaskKeys, FlaskValue, LoginSource, NotSignedIn, SessionProtection,
};
use serde_json::{json, Value};
use std::process::Command;
use std::time::Duration;

/// The fixed time of the oracle run.
const NOW: i64 = 1_800_000_000;

fn oracle_cases() -> Vec<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/flask/oracle_cases.py");
    let out = Command::new(python()).arg(script).output().expect("the oracle python runs");
    assert!(out.status.success(), "oracle_cases.py failed: {}", String::from_utf8_lossy(&out.stderr));
    let cases: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert!(cases.len() >= 30, "{cases:?}");
    cases
}

/// The Flask app's settings of a case, as a [`FlaskApp`].
fn flask_app(settings: &Value) -> FlaskApp {
    let mut keys = FlaskKeys::new(settings["secret"].as_str().unwrap());
    for old in settings["fallbacks"].as_array().unwrap() {
        keys = keys.with_fallback(old.as_str().unwrap());
    }
    let protection = match settings["protection"].as_str().unwrap() {
        "strong" => SessionProtection::Strong,
        "basic" => SessionProtection::Basic,
        other => panic!("protection {other}"),
    };
    FlaskApp::new(keys)
        .session_protection(protection)
        .session_lifetime(Duration::from_secs(settings["lifetime"].as_u64().unwrap()))
        .clock(ManualClock::new(NOW))
}

/// The request headers a browser sends: the `Cookie` header as the case
/// has it, the user agent as the bytes Werkzeug read as Latin-1.
fn headers(case: &Value) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let cookie = case["cookie_header"].as_str().unwrap();
    if !cookie.is_empty() {
        headers.insert(http::header::COOKIE, HeaderValue::from_str(cookie).unwrap());
    }
    let agent = latin1(case["client"]["user_agent"].as_str().unwrap());
    headers.insert(http::header::USER_AGENT, HeaderValue::from_bytes(&agent).unwrap());
    headers
}

fn latin1(text: &str) -> Vec<u8> {
    text.chars().map(|c| u8::try_from(u32::from(c)).expect("a Latin-1 character")).collect()
}

/// Why Palisade refuses, for the cases where the reason is known.
fn expected_refusal(name: &str) -> Option<NotSignedIn> {
    Some(match name {
        "session, another address" | "session, another browser" | "session and remember cookie, another address" => {
            NotSignedIn::OtherClient
        }
        "session tampered" | "session signed with an unknown key" => {
            NotSignedIn::SessionRefused(FlaskCookieError::BadSignature)
        }
        "session signed 32 days ago" => {
            NotSignedIn::SessionRefused(FlaskCookieError::Expired { age: 32 * 86_400, max_age: 31 * 86_400 })
        }
        "session signed 100 s in the future" => {
            NotSignedIn::SessionRefused(FlaskCookieError::FromTheFuture { ahead: 100 })
        }
        "remember cookie with another user id"
        | "remember cookie signed with a fallback key"
        | "remember cookie signed with an unknown key" => NotSignedIn::RememberCookieRefused,
        "no cookies" | "after logout" => NotSignedIn::Anonymous,
        _ => return None,
    })
}

#[tokio::test]
async fn every_request_is_judged_as_flask_login_judges_it() {
    let mut checked = 0;
    for case in oracle_cases().iter().filter(|case| case["case"] == "login") {
        let name = case["name"].as_str().unwrap();
        let app = flask_app(&case["settings"]);
        let ip = case["client"]["addr"].as_str().unwrap().parse().unwrap();
        let verdict = app.signed_in_from_headers(&headers(case), ip).await;
        let flask = &case["flask"];
        match (&verdict, flask) {
            (Err(refusal), Value::Null) => {
                if let Some(expected) = expected_refusal(name) {
                    assert_eq!(refusal, &expected, "{name}");
                }
            }
            (Ok(login), _) if !flask.is_null() => {
                assert_eq!(json!({"user_id": login.user_id, "fresh": login.fresh}), *flask, "{name}");
                let only_remembered = !case["cookie_header"].as_str().unwrap().contains("session=");
                let source = if only_remembered || name.contains("tampered session") {
                    LoginSource::RememberCookie
                } else {
                    LoginSource::Session
                };
                assert_eq!(login.source, source, "{name}");
            }
            _ => panic!("{name}: Flask says {flask}, Palisade says {verdict:?}"),
        }
        checked += 1;
    }
    assert!(checked >= 30, "{checked}");
}

#[test]
fn every_session_is_read_as_flask_reads_it() {
    let mut checked = 0;
    for case in oracle_cases().iter().filter(|case| case.get("typed").is_some()) {
        let name = case["name"].as_str().unwrap();
        let cookie = case["cookie_header"].as_str().unwrap().strip_prefix("session=").unwrap();
        let session = flask_app(&case["settings"]).read_session(cookie).unwrap_or_else(|err| panic!("{name}: {err}"));
        let data = FlaskValue::Dict(session.data().clone());
        assert_eq!(typed(&data), case["typed"], "{name}");
        assert_eq!(session.compressed(), case["compressed"].as_bool().unwrap(), "{name}");
        assert_eq!(session.signed_at(), NOW, "{name}");
        checked += 1;
    }
    assert_eq!(checked, 3);
}

#[test]
fn the_session_identifier_is_flask_logins() {
    let mut checked = 0;
    for case in oracle_cases().iter().filter(|case| case["case"] == "identifier") {
        let ip = case["addr"].as_str().unwrap().parse().unwrap();
        let agent = case["user_agent"].as_str().map(latin1);
        assert_eq!(session_identifier(ip, agent.as_deref()), case["identifier"].as_str().unwrap(), "{}", case["name"]);
        checked += 1;
    }
    assert_eq!(checked, 5);
}
