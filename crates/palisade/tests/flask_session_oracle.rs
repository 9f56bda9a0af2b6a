//! `palisade::flask` with Flask-Session against the real thing: the real
//! Flask-Session 0.8 keeps sessions in the real Redis (`PALISADE_TEST_REDIS_URL`,
//! under a key prefix of this run's own), `tests/flask/session_cases.py` logs
//! users in with plain and signed session ids, stored as MessagePack (the
//! default) and as JSON, and asks Flask-Login who is
//! signed in; the Rust side reads the same Redis keys and must agree.

#[path = "common/redis.rs"]
mod redis_support;

#[path = "common/flask.rs"]
mod flask_support;

use flask_support::{python, typed};
use http::{HeaderMap, HeaderValue};
use palisade::flask::{FlaskApp, FlaskKeys, FlaskSessionRedis, FlaskValue, NotSignedIn, StoredSessionError};
use serde_json::{json, Value};
use std::process::Command;

const CURRENT: &str = concat!("flask-current-key-", "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkk");

/// Deletes the run's keys however the test ends.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let client = redis::Client::open(redis_support::redis_url()).unwrap();
        let mut conn = client.get_connection().unwrap();
        let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{}*", self.0)).query(&mut conn).unwrap_or_default();
        if !keys.is_empty() {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query(&mut conn);
        }
    }
}

#[tokio::test]
async fn every_flask_session_login_is_judged_as_flask_login_judges_it() {
    let prefix = redis_support::unique_prefix();
    let _cleanup = Cleanup(prefix.clone());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/flask/session_cases.py");
    let out = Command::new(python())
        .arg(script)
        .env("REDIS_URL", redis_support::redis_url())
        .env("KEY_PREFIX", &prefix)
        .output()
        .expect("the oracle python runs");
    assert!(out.status.success(), "session_cases.py failed: {}", String::from_utf8_lossy(&out.stderr));
    let cases: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(cases.len(), 18, "{cases:?}");

    let store = FlaskSessionRedis::connect(&redis_support::redis_url())
        .await
        .unwrap_or_else(|err| {
            panic!("Redis at {}: {err}; {}", redis_support::redis_url(), redis_support::HOW_TO_GET_REDIS)
        })
        .key_prefix(prefix.clone());
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let signed = case["settings"]["signed"].as_bool().unwrap();
        let flask = FlaskApp::new(FlaskKeys::new(CURRENT)).server_side(store.clone().signed_ids(signed));
        let mut headers = HeaderMap::new();
        headers.insert(http::header::COOKIE, HeaderValue::from_str(case["cookie_header"].as_str().unwrap()).unwrap());
        let agent = case["client"]["user_agent"].as_str().unwrap();
        headers.insert(http::header::USER_AGENT, HeaderValue::from_str(agent).unwrap());
        let ip = case["client"]["addr"].as_str().unwrap().parse().unwrap();
        let verdict = flask.signed_in_from_headers(&headers, ip).await;
        match (&verdict, &case["flask"]) {
            (Err(reason), Value::Null) => {
                let expected = if signed && name.ends_with("unknown id") {
                    NotSignedIn::StoredSessionRefused(StoredSessionError::BadSignature)
                } else {
                    NotSignedIn::StoredSessionRefused(StoredSessionError::NotFound)
                };
                assert_eq!(reason, &expected, "{name}");
            }
            (Ok(login), expected) if !expected.is_null() => {
                assert_eq!(json!({"user_id": login.user_id, "fresh": login.fresh}), *expected, "{name}");
            }
            (_, expected) => panic!("{name}: Flask says {expected}, Palisade says {verdict:?}"),
        }
        if let Some(typed_session) = case.get("typed") {
            let cookie = case["cookie_header"].as_str().unwrap().strip_prefix("session=").unwrap();
            let request = palisade::flask::FlaskRequest {
                session_cookie: Some(cookie),
                remember_cookie: None,
                client_ip: ip,
                user_agent: Some(agent.as_bytes()),
            };
            assert!(flask.signed_in(&request).await.is_ok(), "{name}");
            let stored = read_typed(&flask, cookie).await;
            assert_eq!(stored, *typed_session, "{name}");
        }
    }
}

#[tokio::test]
async fn a_dead_flask_session_store_is_an_outage_not_a_sign_out() {
    // A server that was listening and is gone.
    let mut server = redis_support::RedisServer::start();
    let store = FlaskSessionRedis::connect(&server.url()).await.unwrap();
    server.kill();
    let flask = FlaskApp::new(FlaskKeys::new(CURRENT)).server_side(store);
    let mut headers = HeaderMap::new();
    headers.insert(http::header::COOKIE, HeaderValue::from_static("session=abc; remember_token=42|00"));
    let verdict = flask.signed_in_from_headers(&headers, "127.0.0.1".parse().unwrap()).await;
    assert_eq!(verdict, Err(NotSignedIn::StoreUnavailable));
}

/// The stored session in the oracle's typed form, through the public API.
async fn read_typed(flask: &FlaskApp, cookie: &str) -> Value {
    let session = flask.open_session(cookie).await.unwrap();
    typed(&FlaskValue::Dict(session.data().clone()))
}
