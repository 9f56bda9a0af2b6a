//! A real Flask app (`tests/flask/app.py`: Flask 3.1, Flask-Login 0.6) and
//! an axum app on loopback share one login over HTTP: a browser signs in on
//! the Flask page, the Rust pages see the user; it signs out in Flask and
//! they no longer do; a Palisade login page takes the login over.
//! Cookies do not depend on the port, so both apps (on two ports of
//! 127.0.0.1) see the same cookies, as two apps behind one domain do.

#[path = "common/flask.rs"]
mod flask_support;

use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use flask_support::python;
use palisade::auth::{AuthConfig, CurrentUser};
use palisade::flask::{self, FlaskApp, FlaskKeys, FlaskUser, LoginSource};
use palisade::keys::KeyRing;
use palisade::session::{Session, SessionLayer};
use palisade::store::MemoryStore;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

const SECRET: &str = "the-flask-apps-secret-key-for-the-live-test";

/// The Flask app, running until dropped.
struct FlaskServer {
    child: Child,
    url: String,
}

impl FlaskServer {
    fn start() -> Self {
        Self::start_with(&[("FLASK_SECRET_KEY", SECRET)])
    }

    /// The app with `env` (its keys, Flask-Session's Redis).
    fn start_with(env: &[(&str, &str)]) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/flask/app.py");
        let mut child = Command::new(python())
            .arg(script)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the Flask app starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().strip_prefix("PORT ").unwrap_or_else(|| panic!("app.py said {line:?}"));
        FlaskServer { child, url: format!("http://127.0.0.1:{port}") }
    }
}

impl Drop for FlaskServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser's cookies for 127.0.0.1 (any port), by name.
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn keep(&mut self, res: &reqwest::Response) {
        for set in res.headers().get_all(reqwest::header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            let attributes = attributes.to_ascii_lowercase();
            if attributes.contains("max-age=0") || attributes.contains("expires=thu, 01 jan 1970") {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn header(&self) -> String {
        self.0.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; ")
    }
}

struct Visitor {
    http: reqwest::Client,
    jar: Jar,
}

impl Visitor {
    fn new() -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("Mozilla/5.0 (the live test)")
            .build()
            .unwrap();
        Visitor { http, jar: Jar::default() }
    }

    async fn get(&mut self, url: &str) -> reqwest::Response {
        let res = self.http.get(url).header("cookie", self.jar.header()).send().await.unwrap();
        self.jar.keep(&res);
        res
    }

    async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let res = self.http.post(url).header("cookie", self.jar.header()).form(form).send().await.unwrap();
        self.jar.keep(&res);
        res
    }

    async fn flask_login(&mut self, flask: &FlaskServer, name: &str, remember: bool) {
        self.flask_login_with(flask, name, if remember { &[("remember", "1")] } else { &[] }).await;
    }

    async fn flask_login_with(&mut self, flask: &FlaskServer, name: &str, extra: &[(&str, &str)]) {
        let password = format!("pw-{name}");
        let mut form = vec![("name", name), ("password", password.as_str())];
        form.extend_from_slice(extra);
        let res = self.post(&format!("{}/login", flask.url), &form).await;
        assert_eq!(res.status(), 302, "Flask's login redirects");
    }

    async fn whoami(&mut self, rust: &str) -> Value {
        self.get(&format!("{rust}/whoami")).await.json().await.unwrap()
    }
}

async fn whoami(user: Option<FlaskUser>) -> Json<Value> {
    Json(match user {
        Some(FlaskUser(login)) => json!({
            "user_id": login.user_id,
            "fresh": login.fresh,
            "remembered": login.source == LoginSource::RememberCookie,
        }),
        None => Value::Null,
    })
}

async fn flask_only(FlaskUser(login): FlaskUser) -> String {
    format!("hello {}", login.user_id)
}

/// Palisade's login page during the move: a Flask login is taken over.
async fn palisade_login(
    session: Session,
    Extension(flask): Extension<FlaskApp>,
    user: Option<FlaskUser>,
) -> Result<Response, palisade::auth::AuthError> {
    let Some(FlaskUser(login)) = user else {
        return Ok("the Palisade login form".into_response());
    };
    flask::take_over(&session, &login).await?;
    let removals = flask.removal_cookies().map(|cookie| (http::header::SET_COOKIE, cookie));
    Ok((AppendHeaders(removals), Redirect::to("/palisade/account")).into_response())
}

async fn palisade_account(user: CurrentUser) -> Json<Value> {
    Json(json!({"user_id": user.id(), "fresh": user.fresh_at().is_some()}))
}

/// The axum app on loopback, reading the Flask app's logins with its
/// `SECRET_KEY`; its base URL.
async fn start_rust(flask: &FlaskServer) -> String {
    start_rust_with(FlaskApp::new(FlaskKeys::new(SECRET)).login_url(format!("{}/login", flask.url))).await
}

async fn start_rust_with(flask_app: FlaskApp) -> String {
    let sessions = SessionLayer::server_side(MemoryStore::new(), KeyRing::generate())
        .insecure_development_mode()
        // Two apps on one domain: Palisade's cookie must not be called `session`.
        .cookie_name("palisade_session")
        .secure(false)
        .auth(AuthConfig::new().login_path("/palisade/login"))
        .build()
        .unwrap();
    // A group of routes behind the layer option: only Flask-signed-in requests pass.
    let guarded = Router::new().route("/guarded", get(|| async { "guarded page" })).route_layer(flask::require_login());
    let app = Router::new()
        .merge(guarded)
        .route("/whoami", get(whoami))
        .route("/flask-only", get(flask_only))
        .route("/palisade/login", get(palisade_login))
        .route("/palisade/account", get(palisade_account))
        .layer(sessions)
        .layer(Extension(flask_app));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
    });
    url
}

#[tokio::test]
async fn a_flask_login_is_seen_by_the_rust_pages_until_flask_logs_out() {
    let flask = FlaskServer::start();
    let rust = start_rust(&flask).await;
    let mut browser = Visitor::new();

    assert_eq!(browser.whoami(&rust).await, Value::Null, "nobody signed in yet");
    let res = browser.get(&format!("{rust}/flask-only")).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], format!("{}/login?next=%2Fflask-only", flask.url));
    let res = browser.get(&format!("{rust}/guarded")).await;
    assert_eq!(res.status(), 303, "require_login() refuses the group");

    browser.flask_login(&flask, "alice", false).await;
    assert!(browser.jar.0.contains_key("session"), "Flask set its session cookie");
    assert_eq!(browser.whoami(&rust).await, json!({"user_id": "alice", "fresh": true, "remembered": false}));
    assert_eq!(browser.get(&format!("{rust}/flask-only")).await.text().await.unwrap(), "hello alice");
    assert_eq!(browser.get(&format!("{rust}/guarded")).await.text().await.unwrap(), "guarded page");

    // The same cookie from another browser (a stolen cookie): strong session
    // protection refuses it, in Flask and here.
    let mut thief = Visitor::new();
    thief.http = reqwest::Client::builder().user_agent("curl/8.5.0").build().unwrap();
    thief.jar.0 = browser.jar.0.clone();
    assert_eq!(thief.whoami(&rust).await, Value::Null);
    let flask_page = thief.get(&format!("{}/", flask.url)).await.text().await.unwrap();
    assert!(flask_page.contains("Not signed in to Flask"), "{flask_page}");

    browser.post(&format!("{}/logout", flask.url), &[]).await;
    assert!(!browser.jar.0.contains_key("session"), "Flask removed its cookie at logout");
    assert_eq!(browser.whoami(&rust).await, Value::Null);
}

#[tokio::test]
async fn a_remembered_flask_login_survives_a_browser_restart_as_not_fresh() {
    let flask = FlaskServer::start();
    let rust = start_rust(&flask).await;
    let mut browser = Visitor::new();
    browser.flask_login(&flask, "bob", true).await;
    assert!(browser.jar.0.contains_key("remember_token"));
    browser.jar.0.remove("session"); // the browser restarted: session cookies are gone
    assert_eq!(browser.whoami(&rust).await, json!({"user_id": "bob", "fresh": false, "remembered": true}));
    let flask_page = browser.get(&format!("{}/", flask.url)).await.text().await.unwrap();
    assert!(flask_page.contains("Signed in to Flask as bob (not fresh)"), "{flask_page}");
}

#[tokio::test]
async fn palisades_login_page_takes_the_flask_login_over_and_removes_the_flask_cookies() {
    let flask = FlaskServer::start();
    let rust = start_rust(&flask).await;
    let mut browser = Visitor::new();
    browser.flask_login(&flask, "carol", true).await;
    assert!(browser.jar.0.contains_key("session") && browser.jar.0.contains_key("remember_token"));

    let res = browser.get(&format!("{rust}/palisade/login")).await;
    assert_eq!(res.status(), 303, "{:?}", res.text().await);
    assert!(!browser.jar.0.contains_key("session"), "the Flask session cookie is removed");
    assert!(!browser.jar.0.contains_key("remember_token"), "and so is its remember cookie");
    let account: Value = browser.get(&format!("{rust}/palisade/account")).await.json().await.unwrap();
    assert_eq!(account, json!({"user_id": "carol", "fresh": false}), "signed in to Palisade, not fresh");
    let flask_page = browser.get(&format!("{}/", flask.url)).await.text().await.unwrap();
    assert!(flask_page.contains("Not signed in to Flask"), "{flask_page}");

    // Without a Flask login, the Palisade login page is the form.
    let mut stranger = Visitor::new();
    let res = stranger.get(&format!("{rust}/palisade/login")).await;
    assert_eq!(res.text().await.unwrap(), "the Palisade login form");
}

#[tokio::test]
async fn a_compressed_session_and_a_session_signed_with_a_fallback_key_are_read() {
    // The Flask app still signs with the old key; the Rust side already has
    // the new one, with the old as a fallback (the order of a rotation).
    let flask = FlaskServer::start_with(&[("FLASK_SECRET_KEY", "the-old-flask-key-before-the-rotation")]);
    let rotated = FlaskKeys::new(SECRET).with_fallback("the-old-flask-key-before-the-rotation");
    let rust = start_rust_with(FlaskApp::new(rotated)).await;
    let without_fallback = start_rust_with(FlaskApp::new(FlaskKeys::new(SECRET))).await;
    let mut browser = Visitor::new();
    browser.flask_login_with(&flask, "dave", &[("big", "1")]).await;
    assert!(browser.jar.0["session"].starts_with('.'), "Flask compressed the session: {:?}", browser.jar.0);
    assert_eq!(browser.whoami(&rust).await, json!({"user_id": "dave", "fresh": true, "remembered": false}));
    assert_eq!(browser.whoami(&without_fallback).await, Value::Null, "re-keyed: refused without the fallback");
}

#[tokio::test]
async fn a_flask_session_login_in_redis_is_seen_until_flask_logs_out() {
    let redis_url = std::env::var("PALISADE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let prefix = format!("palisade-test:flask-live-{}:", std::process::id());
    let flask = FlaskServer::start_with(&[
        ("FLASK_SECRET_KEY", SECRET),
        ("FLASK_SESSION_REDIS", &redis_url),
        ("FLASK_SESSION_PREFIX", &prefix),
    ]);
    let store = flask::FlaskSessionRedis::connect(&redis_url)
        .await
        .unwrap_or_else(|err| {
            panic!("Redis at {redis_url}: {err} (scripts/test starts one; or set PALISADE_TEST_REDIS_URL)")
        })
        .key_prefix(prefix.clone());
    let rust = start_rust_with(FlaskApp::new(FlaskKeys::new(SECRET)).server_side(store)).await;
    let mut browser = Visitor::new();
    browser.flask_login(&flask, "erin", false).await;
    let sid = browser.jar.0["session"].clone();
    assert!(!sid.contains('.'), "the cookie holds a session id, not the session: {sid}");
    assert_eq!(browser.whoami(&rust).await, json!({"user_id": "erin", "fresh": true, "remembered": false}));
    browser.post(&format!("{}/logout", flask.url), &[]).await;
    // The browser may keep the id; the session behind it is gone.
    browser.jar.0.insert("session".to_owned(), sid);
    assert_eq!(browser.whoami(&rust).await, Value::Null);
}
