//! CSRF in a real headless Chromium: an attacker page on another port of
//! 127.0.0.1 (cross-origin, but same-site, so the browser *does* send the
//! `SameSite=Lax` session cookie) auto-submits forms to `/logout` and
//! `/account/note` and tries a credentialed `fetch()`. The demo's state must
//! not change and the server must refuse and log each attempt, which proves
//! the CSRF layer stops them, not SameSite. The same actions from the demo's
//! own pages succeed.
//!
//! Needs Chromium and chromedriver like `tests/browser.rs`.

mod support;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{Html, Response};
use axum::routing::get;
use axum::Router;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use support::browser::{fill_and_submit, text_of, wait_for_page, with_chromium, TIMEOUT};
use support::http::{COOKIE_NAME, PASSWORD};
use thirtyfour::prelude::*;
use tracing_subscriber::layer::{Context, SubscriberExt};

/// A request the demo answered, as seen from outside every layer.
#[derive(Clone, Debug)]
struct Hit {
    method: String,
    path: String,
    status: u16,
    /// The browser sent the session cookie along.
    with_session_cookie: bool,
}

#[derive(Clone, Default)]
struct Hits(Arc<Mutex<Vec<Hit>>>);

impl Hits {
    fn all(&self) -> Vec<Hit> {
        self.0.lock().unwrap().clone()
    }

    fn count(&self, method: &str, path: &str, status: u16) -> usize {
        self.all().iter().filter(|h| h.method == method && h.path == path && h.status == status).count()
    }

    /// Waits until `count(method, path, status)` reaches `n`.
    async fn wait_for(&self, method: &str, path: &str, status: u16, n: usize) {
        let deadline = Instant::now() + TIMEOUT;
        while self.count(method, path, status) < n {
            assert!(
                Instant::now() < deadline,
                "no {n}x {method} {path} -> {status} within {TIMEOUT:?}: {:#?}",
                self.all()
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

async fn record(State(hits): State<Hits>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let with_session_cookie = req
        .headers()
        .get_all(axum::http::header::COOKIE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.contains(&format!("{COOKIE_NAME}="))));
    let res = next.run(req).await;
    hits.0.lock().unwrap().push(Hit { method, path, status: res.status().as_u16(), with_session_cookie });
    res
}

/// Every WARN event of the `palisade::csrf` module, as `field=value` text.
#[derive(Clone, Default)]
struct CsrfWarnings(Arc<Mutex<Vec<String>>>);

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        let _ = write!(self.0, "{}={} ", field.name(), value);
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CsrfWarnings {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if *meta.level() == tracing::Level::WARN && meta.target().starts_with("palisade::csrf") {
            let mut fields = Fields(String::new());
            event.record(&mut fields);
            self.0.lock().unwrap().push(fields.0);
        }
    }
}

/// The attacker's site: three pages, each trying one forgery against `demo`.
fn attacker(demo: &str) -> Router {
    let form = |action: &str, fields: &str| {
        Html(format!(
            r#"<!doctype html><title>You won a prize</title>
<form id="f" method="post" action="{demo}{action}">{fields}</form>
<script>document.getElementById("f").submit();</script>"#
        ))
    };
    let logout = form("/logout", "");
    let note = form("/account/note", r#"<input type="hidden" name="note" value="pwned by a form">"#);
    let fetch = Html(format!(
        r#"<!doctype html><title>loading</title>
<script>
fetch("{demo}/account/note", {{
  method: "POST",
  credentials: "include",
  mode: "no-cors",
  body: new URLSearchParams({{ note: "pwned by fetch" }}),
}}).then(() => {{ document.title = "sent"; }}, (err) => {{ document.title = "failed " + err; }});
</script>"#
    ));
    Router::new()
        .route("/logout-attack", get(move || async move { logout }))
        .route("/note-attack", get(move || async move { note }))
        .route("/fetch-attack", get(move || async move { fetch }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_same_site_attacker_page_cannot_forge_requests_in_chromium() {
    let warnings = CsrfWarnings::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(warnings.clone()))
        .expect("the only subscriber of this test binary");

    let hits = Hits::default();
    let recorder = hits.clone();
    let app =
        support::spawn_app_wrapped(move |app| app.layer(axum::middleware::from_fn_with_state(recorder, record))).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind attacker");
    let evil = format!("http://{}", listener.local_addr().unwrap());
    assert_ne!(evil, app.base, "another port: same site, another origin");
    let site = attacker(&app.base);
    tokio::spawn(async move { axum::serve(listener, site).await.expect("serve attacker") });

    let base = app.base.clone();
    with_chromium(move |driver| attack(driver, base, evil, hits, warnings)).await;
}

async fn note_on_account_page(driver: &WebDriver, base: &str) -> String {
    driver.goto(format!("{base}/account")).await.expect("open account");
    wait_for_page(driver, "/account", None).await;
    assert_eq!(text_of(driver, "account-user").await, "wendy", "still logged in");
    text_of(driver, "account-note").await
}

async fn attack(driver: WebDriver, base: String, evil: String, hits: Hits, warnings: CsrfWarnings) {
    // Log in through the demo's own pages.
    driver.goto(format!("{base}/register")).await.expect("open register");
    fill_and_submit(&driver, "wendy", PASSWORD).await;
    wait_for_page(&driver, "/account", None).await;

    // The demo's own page changes the note with fetch() and its token.
    driver.find(By::Id("csrf-demo-link")).await.expect("link to the CSRF demo").click().await.expect("click");
    wait_for_page(&driver, "/csrf-demo", None).await;
    driver.find(By::Id("note-input")).await.expect("#note-input").send_keys("mine").await.expect("type");
    driver.find(By::Id("save-note")).await.expect("#save-note").click().await.expect("click save");
    hits.wait_for("POST", "/account/note", 200, 1).await;
    let deadline = Instant::now() + TIMEOUT;
    while !text_of(&driver, "note-result").await.starts_with("200") {
        assert!(Instant::now() < deadline, "the page's own fetch() did not succeed");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(text_of(&driver, "note").await, "mine");
    assert_eq!(note_on_account_page(&driver, &base).await, "mine");

    // The attacks, each from the attacker's origin.
    driver.goto(format!("{evil}/note-attack")).await.expect("open attacker page");
    hits.wait_for("POST", "/account/note", 403, 1).await;
    wait_for_page(&driver, "/account/note", None).await;
    assert!(driver.source().await.unwrap().contains("CSRF check failed"), "the browser shows the refusal");

    driver.goto(format!("{evil}/logout-attack")).await.expect("open attacker page");
    hits.wait_for("POST", "/logout", 403, 1).await;

    driver.goto(format!("{evil}/fetch-attack")).await.expect("open attacker page");
    hits.wait_for("POST", "/account/note", 403, 2).await;
    // The fetch settles either way: "sent", or "failed" because the demo's
    // `Cross-Origin-Resource-Policy: same-origin` makes the browser drop even
    // the opaque response. The request itself reached the server (the 403 above).
    let deadline = Instant::now() + TIMEOUT;
    while driver.title().await.expect("title") == "loading" {
        assert!(Instant::now() < deadline, "the attacker's fetch() did not complete");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // SameSite=Lax let the cookie through on every forgery (same site)...
    let forged: Vec<Hit> = hits.all().into_iter().filter(|h| h.status == 403).collect();
    assert_eq!(forged.len(), 3, "{forged:#?}");
    assert!(forged.iter().all(|h| h.with_session_cookie), "the browser sent the session cookie: {forged:#?}");
    // ...and the CSRF layer refused each one, and said so in the log.
    let logged = warnings.0.lock().unwrap().clone();
    let refusals: Vec<&String> =
        logged.iter().filter(|w| w.contains("reason=cross-origin request") && w.contains("method=POST")).collect();
    assert_eq!(refusals.len(), 3, "{logged:#?}");
    assert!(refusals.iter().any(|w| w.contains("path=/logout")), "{logged:#?}");
    assert_eq!(refusals.iter().filter(|w| w.contains("path=/account/note")).count(), 2, "{logged:#?}");

    // Nothing changed: still logged in, note unchanged.
    assert_eq!(note_on_account_page(&driver, &base).await, "mine");

    // The demo's own logout button still works.
    driver.find(By::Id("logout-main")).await.expect("logout button").click().await.expect("click logout");
    wait_for_page(&driver, "/", None).await;
    assert!(driver.source().await.unwrap().contains("You are not logged in"));
    assert_eq!(hits.count("POST", "/logout", 303), 1);
}
