//! The fake browser the example tests share: a cookie jar, the peer
//! address `into_make_service_with_connect_info` would add, and same-origin
//! form posts (`Sec-Fetch-Site: same-origin`, as a browser sends them).

#![allow(dead_code)] // each test binary uses part of it

use axum::body::Body;
use http::{header, Request, Response};
use http_body_util::BodyExt;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use tower::ServiceExt;

pub struct Browser {
    pub jar: BTreeMap<String, String>,
    pub peer: SocketAddr,
}

impl Default for Browser {
    fn default() -> Self {
        Self { jar: BTreeMap::new(), peer: SocketAddr::from(([127, 0, 0, 1], 50000)) }
    }
}

impl Browser {
    /// Sends `req` with the jar's cookies and keeps the cookies set.
    pub async fn send(&mut self, app: &axum::Router, req: http::request::Builder, body: Body) -> Response<Body> {
        let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let req = if cookies.is_empty() { req } else { req.header(header::COOKIE, cookies.join("; ")) };
        let req = req.extension(axum::extract::ConnectInfo(self.peer));
        let res = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
        self.keep_cookies(&res);
        res
    }

    /// Stores the response's `Set-Cookie`s (an empty value or `Max-Age=0`
    /// removes the cookie).
    pub fn keep_cookies<T>(&mut self, res: &Response<T>) {
        for set in res.headers().get_all(header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attributes.contains("Max-Age=0") {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    pub async fn get(&mut self, app: &axum::Router, path: &str) -> (Response<()>, String) {
        let res = self.send(app, Request::get(path), Body::empty()).await;
        split(res).await
    }

    /// A same-origin urlencoded form post.
    pub async fn post(&mut self, app: &axum::Router, path: &str, form: &str) -> (Response<()>, String) {
        let req = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin");
        let res = self.send(app, req, Body::from(form.to_owned())).await;
        split(res).await
    }
}

/// The response's head and its body as text.
pub async fn split(res: Response<Body>) -> (Response<()>, String) {
    let (parts, body) = res.into_parts();
    let text = String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap();
    (Response::from_parts(parts, ()), text)
}

/// The value of the first `name="csrf_token"` field in `html`.
pub fn token_in(html: &str) -> String {
    let marker = r#"name="csrf_token" value=""#;
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}
