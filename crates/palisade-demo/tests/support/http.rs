//! A client without redirects or cookie store: cookies are handled by hand
//! so every `Set-Cookie` can be inspected.

use super::{spawn_app, TestApp};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, Response, StatusCode};

pub const COOKIE_NAME: &str = "__Host-session";
pub const PASSWORD: &str = "correct horse battery staple";

pub const CSRF_COOKIE: &str = "__Host-csrf";

pub struct Browserless {
    /// Shared by the clients of one test that play different people.
    pub app: std::sync::Arc<TestApp>,
    pub client: Client,
    /// The signed cookie that holds the CSRF secret of pages shown without a
    /// session (the login form): kept like a browser would, and sent along.
    csrf_cookie: std::sync::Mutex<Option<String>>,
}

impl Browserless {
    pub async fn new() -> Self {
        Self::with(spawn_app().await)
    }

    pub fn with(app: TestApp) -> Self {
        let client = Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Self { app: std::sync::Arc::new(app), client, csrf_cookie: std::sync::Mutex::new(None) }
    }

    /// Another client of the same app, arriving through the trusted proxy
    /// on loopback from `client_ip` (sent as `X-Forwarded-For`; the app
    /// must trust `127.0.0.1`), with a cookie jar of its own.
    pub fn arriving_from(&self, client_ip: &str) -> Self {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", client_ip.parse().expect("an address"));
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .expect("client");
        Self { app: self.app.clone(), client, csrf_cookie: std::sync::Mutex::new(None) }
    }

    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Response {
        let mut req = self.client.get(self.app.url(path));
        if let Some(header) = self.cookie_header(cookie) {
            req = req.header(COOKIE, header);
        }
        self.keep_csrf_cookie(req.send().await.expect("GET"))
    }

    /// The `Cookie` header for the session cookie `session` (if any) and the
    /// anonymous CSRF cookie (if one was set).
    pub fn cookie_header(&self, session: Option<&str>) -> Option<String> {
        let csrf = self.csrf_cookie.lock().unwrap().clone().map(|v| format!("{CSRF_COOKIE}={v}"));
        let session = session.map(|v| format!("{COOKIE_NAME}={v}"));
        let pairs: Vec<String> = session.into_iter().chain(csrf).collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    /// Stores (or forgets) the anonymous CSRF cookie a response sets.
    fn keep_csrf_cookie(&self, res: Response) -> Response {
        for set in res.headers().get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
            if let Some(rest) = set.strip_prefix(&format!("{CSRF_COOKIE}=")) {
                let value = rest.split(';').next().unwrap_or_default();
                let removed = value.is_empty() || attributes(set).iter().any(|a| a.eq_ignore_ascii_case("Max-Age=0"));
                *self.csrf_cookie.lock().unwrap() = (!removed).then(|| value.to_owned());
            }
        }
        res
    }

    /// Posts `form` as a browser would from one of the demo's pages: with
    /// the CSRF token of a freshly loaded form, and the session cookie that
    /// page left (the one given, or a new one if the page started a session).
    pub async fn post(&self, path: &str, form: &[(&str, &str)], cookie: Option<&str>) -> Response {
        let (token, cookie) = self.form_token(cookie).await;
        let mut fields = form.to_vec();
        fields.push(("csrf_token", &token));
        self.post_without_token(path, &fields, cookie.as_deref()).await
    }

    /// Posts `form` exactly as given: no CSRF token is added.
    pub async fn post_without_token(&self, path: &str, form: &[(&str, &str)], cookie: Option<&str>) -> Response {
        let mut req = self.client.post(self.app.url(path)).form(form);
        if let Some(header) = self.cookie_header(cookie) {
            req = req.header(COOKIE, header);
        }
        self.keep_csrf_cookie(req.send().await.expect("POST"))
    }

    /// Loads the login form and returns its CSRF token, and the session
    /// cookie to send it with: `cookie` itself, or one the page set (none
    /// for an anonymous visitor: the secret is in the anonymous CSRF cookie,
    /// which this client keeps and sends).
    pub async fn form_token(&self, cookie: Option<&str>) -> (String, Option<String>) {
        let res = self.get("/login", cookie).await;
        assert_eq!(res.status(), StatusCode::OK, "GET /login");
        let set = session_set_cookie(&res).map(|c| cookie_value(&c));
        let body = res.text().await.expect("login page");
        let token = csrf_field_value(&body).expect("the login form carries a CSRF token");
        (token, set.or_else(|| cookie.map(str::to_owned)))
    }

    /// Registers `username` and returns the session cookie's value.
    pub async fn register(&self, username: &str) -> String {
        let res = self.post("/register", &[("username", username), ("password", PASSWORD)], None).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "register {username}");
        cookie_value(&session_set_cookie(&res).expect("register sets the session cookie"))
    }
}

/// The value of the first `<input type="hidden" name="csrf_token">` in `html`.
pub fn csrf_field_value(html: &str) -> Option<String> {
    let marker = r#"<input type="hidden" name="csrf_token" value=""#;
    let start = html.find(marker)? + marker.len();
    let len = html[start..].find('"')?;
    Some(html[start..start + len].to_owned())
}

/// The content of `<meta name="csrf-token" content="…">` in `html`.
pub fn csrf_meta_value(html: &str) -> Option<String> {
    let marker = r#"<meta name="csrf-token" content=""#;
    let start = html.find(marker)? + marker.len();
    let len = html[start..].find('"')?;
    Some(html[start..start + len].to_owned())
}

/// The `Set-Cookie` header for the session cookie, if any (exactly one).
pub fn session_set_cookie(res: &Response) -> Option<String> {
    let all: Vec<String> = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().expect("ASCII Set-Cookie").to_owned())
        .filter(|v| v.starts_with(&format!("{COOKIE_NAME}=")))
        .collect();
    assert!(all.len() <= 1, "several session cookies set: {all:?}");
    all.into_iter().next()
}

pub fn cookie_value(set_cookie: &str) -> String {
    let pair = set_cookie.split(';').next().unwrap_or_default();
    pair.split_once('=').map(|(_, v)| v.to_owned()).unwrap_or_default()
}

/// The attributes after the name=value pair, trimmed.
pub fn attributes(set_cookie: &str) -> Vec<String> {
    set_cookie.split(';').skip(1).map(|a| a.trim().to_owned()).collect()
}

pub fn location(res: &Response) -> &str {
    res.headers().get(LOCATION).expect("Location header").to_str().expect("ASCII Location")
}

pub fn assert_secure_session_cookie(set_cookie: &str) {
    let attrs = attributes(set_cookie);
    for wanted in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(attrs.iter().any(|a| a.eq_ignore_ascii_case(wanted)), "{set_cookie:?} lacks {wanted}");
    }
    for banned in ["domain", "max-age", "expires"] {
        assert!(!attrs.iter().any(|a| a.to_ascii_lowercase().starts_with(banned)), "{set_cookie:?} has {banned}");
    }
    assert!(cookie_value(set_cookie).len() >= 43, "a 256-bit id and a signature: {set_cookie:?}");
}
