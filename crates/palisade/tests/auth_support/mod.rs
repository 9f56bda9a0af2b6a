//! An app using `palisade::auth` and a tiny cookie-jar "browser" that sends
//! requests to it through `tower::ServiceExt::oneshot`, from a chosen IP
//! address and user agent, with a counting store and a manual clock.
#![allow(dead_code)]

use axum::body::Body;
use axum::extract::Path;
use axum::routing::{get, post};
use axum::Router;
use http::{header, Request, Response, StatusCode};
use http_body_util::BodyExt;
use palisade::auth::{self, AuthConfig, AuthError, AuthRejection, CurrentUser, LoginOptions};
use palisade::binding::SkipBindingLayer;
use palisade::client::ClientIp;
use palisade::clock::ManualClock;
use palisade::csrf::{CsrfLayerBuilder, CsrfToken};
use palisade::keys::KeyRing;
use palisade::session::{Session, SessionLayer};
use palisade::store::{CountingStore, Store};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower::ServiceExt;

pub const START: i64 = 1_700_000_000;
pub const SESSION: &str = "__Host-session";
pub const REMEMBER: &str = "__Host-remember";
pub const CHROME: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
pub const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
pub const FRESH_WINDOW: Duration = Duration::from_secs(600);

async fn login(session: Session, Path(user): Path<String>) -> Result<&'static str, AuthError> {
    auth::login(&session, &user, LoginOptions::new()).await?;
    Ok("logged in")
}

async fn login_remember(session: Session, Path(user): Path<String>) -> Result<&'static str, AuthError> {
    auth::login(&session, &user, LoginOptions::new().remember(true)).await?;
    Ok("logged in")
}

async fn me(user: CurrentUser) -> String {
    format!("user={} fresh={}", user.id(), user.is_fresh(FRESH_WINDOW))
}

async fn maybe(user: Option<CurrentUser>) -> String {
    user.map_or_else(|| "anonymous".to_owned(), |u| format!("user={}", u.id()))
}

async fn sensitive(user: CurrentUser) -> Result<&'static str, AuthRejection> {
    user.require_fresh(FRESH_WINDOW)?;
    Ok("done")
}

async fn reauth(session: Session) -> Result<&'static str, AuthError> {
    auth::mark_fresh(&session).await?;
    Ok("fresh again")
}

async fn logout(session: Session) -> Result<&'static str, AuthError> {
    auth::logout(&session).await?;
    Ok("bye")
}

async fn password(user: CurrentUser) -> Result<String, AuthError> {
    let revoked = auth::password_changed(user.session()).await?;
    Ok(format!("sessions={} tokens={}", revoked.sessions, revoked.remember_tokens))
}

async fn others(user: CurrentUser) -> Result<String, AuthError> {
    let revoked = auth::log_out_other_devices(user.session()).await?;
    Ok(format!("sessions={} tokens={}", revoked.sessions, revoked.remember_tokens))
}

/// `session <hex> [current]` and `token <hex> [current]` lines.
async fn devices(user: CurrentUser) -> Result<String, AuthError> {
    let mut out = String::new();
    for s in user.session().sessions_of_user().await? {
        out.push_str(&format!("session {}{}\n", s.key.to_hex(), if s.current { " current" } else { "" }));
    }
    for t in palisade::auth::remembered_browsers(user.session()).await? {
        out.push_str(&format!("token {}{}\n", t.key.to_hex(), if t.current { " current" } else { "" }));
    }
    Ok(out)
}

async fn revoke(user: CurrentUser, Path(key): Path<String>) -> Result<String, AuthError> {
    Ok(format!("revoked={}", auth::revoke(user.session(), &key).await?))
}

/// Sets a session value (an app's own key: `mfa_ok`, `role`, a cart).
async fn set_value(session: Session, Path((key, value)): Path<(String, String)>) -> Result<&'static str, AuthError> {
    session.insert(&key, value).await?;
    Ok("set")
}

async fn get_value(session: Session, Path(key): Path<String>) -> Result<String, AuthError> {
    Ok(session.get::<String>(&key).await?.unwrap_or_else(|| "none".into()))
}

/// A page with a form: the body is one masked CSRF token.
async fn form(csrf: CsrfToken) -> String {
    csrf.masked()
}

/// A page with a form that takes its token *before* asking who is signed
/// in: the order must not matter.
async fn form_then_user(csrf: CsrfToken, user: Option<CurrentUser>) -> String {
    format!("{}\n{}", csrf.masked(), user.map_or_else(|| "anonymous".to_owned(), |u| u.id().to_owned()))
}

/// Signs in, then renders a page with a form in the same request.
async fn login_then_render(session: Session, csrf: CsrfToken, Path(user): Path<String>) -> Result<String, AuthError> {
    auth::login(&session, &user, LoginOptions::new()).await?;
    Ok(csrf.masked())
}

/// Changes the password, then renders the page again with its forms.
async fn password_then_render(user: CurrentUser, csrf: CsrfToken) -> Result<String, AuthError> {
    auth::password_changed(user.session()).await?;
    Ok(csrf.masked())
}

/// Re-enters the password, then renders the page again with its forms.
async fn reauth_then_render(session: Session, csrf: CsrfToken) -> Result<String, AuthError> {
    auth::mark_fresh(&session).await?;
    Ok(csrf.masked())
}

async fn untouched() -> &'static str {
    "ok"
}

pub fn routes() -> Router {
    Router::new()
        .route("/login/{user}", post(login))
        .route("/login-remember/{user}", post(login_remember))
        .route("/me", get(me))
        .route("/api/me", get(me))
        .route("/maybe", get(maybe))
        .route("/sensitive", post(sensitive))
        .route("/reauth", post(reauth))
        .route("/logout", post(logout))
        .route("/password", post(password))
        .route("/others", post(others))
        .route("/devices", get(devices))
        .route("/revoke/{key}", post(revoke))
        .route("/untouched", get(untouched))
        .route("/set/{key}/{value}", post(set_value))
        .route("/get/{key}", get(get_value))
        .route("/form", get(form))
        .route("/form-then-user", get(form_then_user))
        .route("/login-render/{user}", post(login_then_render))
        .route("/password-render", post(password_then_render))
        .route("/reauth-render", post(reauth_then_render))
        .route("/unbound/me", get(me).route_layer(SkipBindingLayer))
        .fallback(me)
}

pub struct App<S> {
    pub app: Router,
    pub store: CountingStore<S>,
    pub clock: ManualClock,
}

impl<S: Store + Clone> App<S> {
    pub fn new(store: S, auth: AuthConfig) -> Self {
        Self::build(store, auth, |routes| routes)
    }

    /// The app inside a `CsrfLayer` (inside the session layer), as a real
    /// stack is built; `extra` routes are merged in.
    pub fn with_csrf(store: S, auth: AuthConfig, csrf: CsrfLayerBuilder, extra: Router) -> Self {
        let csrf = csrf.build().expect("valid CSRF config");
        Self::build(store, auth, |routes| routes.merge(extra).layer(csrf))
    }

    fn build(store: S, auth: AuthConfig, wrap: impl FnOnce(Router) -> Router) -> Self {
        let clock = ManualClock::new(START);
        let store = CountingStore::new(store);
        let layer = SessionLayer::server_side(store.clone(), KeyRing::generate())
            .clock(clock.clone())
            .auth(auth)
            .build()
            .expect("valid session config");
        Self { app: wrap(routes()).layer(layer), store, clock }
    }

    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }
}

/// A browser: a cookie jar, an address and a user agent.
#[derive(Clone)]
pub struct Browser {
    pub jar: Arc<Mutex<BTreeMap<String, String>>>,
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub accept: Option<String>,
}

impl Browser {
    pub fn new(ip: &str, user_agent: &str) -> Self {
        Self {
            jar: Arc::default(),
            ip: Some(ip.parse().expect("an IP address")),
            user_agent: Some(user_agent.to_owned()),
            accept: Some("text/html,application/xhtml+xml,*/*;q=0.8".into()),
        }
    }

    /// Same cookies, another address or agent (a thief with a copy).
    pub fn copy_to(&self, ip: &str, user_agent: &str) -> Self {
        let copy = Self::new(ip, user_agent);
        *copy.jar.lock().unwrap() = self.jar.lock().unwrap().clone();
        copy
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.lock().unwrap().get(name).cloned()
    }

    pub fn forget(&self, name: &str) {
        self.jar.lock().unwrap().remove(name);
    }

    pub async fn send(&self, app: &Router, method: &str, uri: &str) -> Response<Body> {
        let res = self.send_unstored(app, method, uri, &[], Body::empty()).await;
        self.store_cookies(&res);
        res
    }

    /// A same-origin form post (`Sec-Fetch-Site: same-origin`) carrying
    /// `token` in the `csrf_token` field.
    pub async fn submit(&self, app: &Router, uri: &str, token: &str) -> Response<Body> {
        let res = self.submit_unstored(app, uri, token).await;
        self.store_cookies(&res);
        res
    }

    /// [`submit`](Self::submit) whose response never reaches the browser
    /// (an aborted navigation, a proxy timeout): its cookies are lost.
    pub async fn submit_unstored(&self, app: &Router, uri: &str, token: &str) -> Response<Body> {
        let headers =
            [(header::CONTENT_TYPE.as_str(), "application/x-www-form-urlencoded"), ("sec-fetch-site", "same-origin")];
        self.send_unstored(app, "POST", uri, &headers, Body::from(format!("csrf_token={token}"))).await
    }

    /// A request whose response cookies are not stored.
    pub async fn send_unstored(
        &self,
        app: &Router,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: Body,
    ) -> Response<Body> {
        let mut req = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let cookies: Vec<String> = self.jar.lock().unwrap().iter().map(|(k, v)| format!("{k}={v}")).collect();
        if !cookies.is_empty() {
            req = req.header(header::COOKIE, cookies.join("; "));
        }
        if let Some(ua) = &self.user_agent {
            req = req.header(header::USER_AGENT, ua);
        }
        if let Some(accept) = &self.accept {
            req = req.header(header::ACCEPT, accept);
        }
        let mut req = req.body(body).unwrap();
        if let Some(ip) = self.ip {
            req.extensions_mut().insert(ClientIp(ip));
        }
        app.clone().oneshot(req).await.unwrap()
    }

    pub fn store_cookies(&self, res: &Response<Body>) {
        let mut jar = self.jar.lock().unwrap();
        for header in res.headers().get_all(header::SET_COOKIE) {
            let header = header.to_str().unwrap();
            let (pair, attributes) = header.split_once(';').unwrap_or((header, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attributes.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    /// GET `uri` and return status and body.
    pub async fn get(&self, app: &Router, uri: &str) -> (StatusCode, String) {
        let res = self.send(app, "GET", uri).await;
        (res.status(), text(res).await)
    }

    pub async fn post(&self, app: &Router, uri: &str) -> (StatusCode, String) {
        let res = self.send(app, "POST", uri).await;
        (res.status(), text(res).await)
    }
}

pub async fn text(res: Response<Body>) -> String {
    String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

pub fn set_cookies(res: &Response<Body>) -> Vec<String> {
    res.headers().get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect()
}
