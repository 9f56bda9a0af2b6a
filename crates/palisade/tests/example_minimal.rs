//! Drives `examples/minimal.rs` (the README's setup) through the whole
//! stack: a login form with a CSRF token and no session yet, login, a page
//! for the signed-in user with its security headers, logout.

#[path = "../examples/minimal.rs"]
mod minimal;

use axum::body::Body;
use http::{header, Request, Response, StatusCode};
use http_body_util::BodyExt;
use palisade::keys::KeyRing;
use std::collections::BTreeMap;
use tower::ServiceExt;

/// A cookie jar and a same-origin form poster.
#[derive(Default)]
struct Browser {
    jar: BTreeMap<String, String>,
}

impl Browser {
    async fn send(&mut self, app: &axum::Router, req: http::request::Builder, body: Body) -> Response<Body> {
        let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let req = if cookies.is_empty() { req } else { req.header(header::COOKIE, cookies.join("; ")) };
        // What `into_make_service_with_connect_info` in `main` adds.
        let req = req.extension(axum::extract::ConnectInfo(std::net::SocketAddr::from(([127, 0, 0, 1], 50000))));
        let res = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
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
        res
    }

    async fn get(&mut self, app: &axum::Router, path: &str) -> (Response<()>, String) {
        let res = self.send(app, Request::get(path), Body::empty()).await;
        split(res).await
    }

    async fn post(&mut self, app: &axum::Router, path: &str, form: &str) -> (Response<()>, String) {
        let req = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("sec-fetch-site", "same-origin");
        let res = self.send(app, req, Body::from(form.to_owned())).await;
        split(res).await
    }
}

async fn split(res: Response<Body>) -> (Response<()>, String) {
    let (parts, body) = res.into_parts();
    let text = String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap();
    (Response::from_parts(parts, ()), text)
}

fn token_in(html: &str) -> String {
    let marker = r#"name="csrf_token" value=""#;
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn the_minimal_example_signs_in_and_out_behind_the_whole_stack() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("sessions.db").display());
    let app = minimal::app(KeyRing::generate(), &url).await.unwrap();
    let mut browser = Browser::default();

    let (res, page) = browser.get(&app, "/login").await;
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("script-src 'none'") && csp.contains("report-uri /csp-report"), "{csp}");
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    assert!(!browser.jar.contains_key("__Host-session"), "no session for a login form");
    let token = token_in(&page);

    let (res, _) = browser.post(&app, "/login", "username=alice&password=wrong").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "no token: refused before the handler");
    let form = format!("username=alice&password=wrong&csrf_token={token}");
    assert_eq!(browser.post(&app, "/login", &form).await.0.status(), StatusCode::UNAUTHORIZED);
    let form = format!("username=alice&password=correct+horse+battery+staple&csrf_token={token}");
    let (res, _) = browser.post(&app, "/login", &form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(browser.jar.contains_key("__Host-session"));

    let (res, page) = browser.get(&app, "/").await;
    assert!(page.contains("Hello alice."), "{page}");
    assert_eq!(res.headers()[header::CACHE_CONTROL], "private", "a page of this user's: no shared cache keeps it");
    let (res, _) = browser.post(&app, "/logout", &format!("csrf_token={}", token_in(&page))).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["clear-site-data"], "\"cookies\"");
    assert!(browser.get(&app, "/").await.1.contains("Log in"));
}

/// The README's setup is the example's, line for line (so it compiles).
#[test]
fn the_readme_snippet_is_taken_from_the_example() {
    let readme = include_str!("../../../README.md");
    let example = include_str!("../examples/minimal.rs");
    let start = readme.find("```rust\n").expect("a rust block in the README") + "```rust\n".len();
    let block = &readme[start..start + readme[start..].find("```").unwrap()];
    let lines: Vec<&str> = block.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 5, "{block}");
    for line in lines {
        assert!(example.contains(line), "README line not in examples/minimal.rs: {line:?}");
    }
}
