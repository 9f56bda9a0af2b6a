//! `palisade::Stack`: the order of the layers, its switches and the
//! plain-HTTP development mode.

use axum::body::Body;
use axum::routing::{get, post};
use axum::Router;
use http::{header, Request, StatusCode};
use palisade::csrf::CsrfToken;
use palisade::https::HttpsRedirectLayer;
use palisade::keys::KeyRing;
use palisade::session::Session;
use palisade::stack::{StackError, DEV_MODE_HEADER};
use palisade::store::MemoryStore;
use palisade::Stack;
use tower::ServiceExt;

fn routes() -> Router {
    Router::new().route("/form", get(|csrf: CsrfToken| async move { csrf.masked() })).route(
        "/set",
        post(|session: Session| async move {
            session.insert("x", 1).await?;
            Ok::<_, palisade::session::SessionError>("set")
        }),
    )
}

async fn get_form(app: &Router) -> http::Response<Body> {
    app.clone().oneshot(Request::get("/form").body(Body::empty()).unwrap()).await.unwrap()
}

#[tokio::test]
async fn the_default_stack_sets_headers_and_refuses_cross_site_posts() {
    let app = Stack::server_side(MemoryStore::new(), KeyRing::generate()).build().unwrap().wrap(routes());
    let res = get_form(&app).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("report-uri /csp-report"));
    assert!(res.headers().get(DEV_MODE_HEADER).is_none());
    let cookie = res.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("__Host-csrf=") && cookie.contains("Secure"), "{cookie}");
    let forged = Request::post("/set").header("sec-fetch-site", "cross-site").body(Body::empty()).unwrap();
    assert_eq!(app.clone().oneshot(forged).await.unwrap().status(), StatusCode::FORBIDDEN);
    // The report route sits outside sessions and CSRF: a cookieless,
    // tokenless browser report is taken.
    let report = Request::post("/csp-report")
        .header(header::CONTENT_TYPE, "application/csp-report")
        .body(Body::from(r#"{"csp-report":{"violated-directive":"script-src"}}"#))
        .unwrap();
    assert_eq!(app.clone().oneshot(report).await.unwrap().status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn parts_can_be_switched_off() {
    let stack = Stack::server_side(MemoryStore::new(), KeyRing::generate())
        .without_csrf()
        .without_security_headers()
        .csp_reports(None)
        .build()
        .unwrap();
    let app = stack.wrap(routes());
    let set = Request::post("/set").header("sec-fetch-site", "cross-site").body(Body::empty()).unwrap();
    assert_eq!(app.clone().oneshot(set).await.unwrap().status(), StatusCode::OK, "no CSRF layer");
    let report = Request::post("/csp-report").body(Body::empty()).unwrap();
    assert_eq!(app.clone().oneshot(report).await.unwrap().status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn plain_http_development_mode_drops_secure_and_says_so_on_every_response() {
    let stack = Stack::server_side(MemoryStore::new(), KeyRing::generate()).plain_http_development_mode();
    let app = stack.build().unwrap().wrap(routes());
    let res = get_form(&app).await;
    assert_eq!(res.headers()[DEV_MODE_HEADER], "plain-http");
    let cookie = res.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("csrf=") && !cookie.contains("Secure"), "{cookie}");
    // HTTP origins pass the origin check.
    let token = http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes();
    let post = Request::post("/set")
        .header(header::HOST, "dev.example:8080")
        .header(header::ORIGIN, "http://dev.example:8080")
        .header(header::COOKIE, cookie.split(';').next().unwrap())
        .header("x-csrf-token", std::str::from_utf8(&token).unwrap())
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(post).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookies: Vec<&str> = res.headers().get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap()).collect();
    let session = cookies.iter().find(|c| c.starts_with("session=")).expect("the session cookie");
    assert!(!session.contains("Secure"), "{session}");
    assert!(
        cookies.iter().any(|c| c.starts_with("csrf=;")),
        "the anonymous secret moved into the session: {cookies:?}"
    );
}

/// A single-page app in development mode: its double-submit cookie must be
/// one a plain-HTTP browser keeps (no `Secure`, so no `__Host-`), or every
/// `fetch()` post fails the CSRF check.
#[tokio::test]
async fn development_mode_also_drops_secure_from_the_double_submit_cookie() {
    let stack = Stack::server_side(MemoryStore::new(), KeyRing::generate())
        .double_submit_csrf()
        .plain_http_development_mode()
        .build()
        .unwrap();
    let app = stack.wrap(routes());
    let res = get_form(&app).await;
    let cookie = res.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("csrf=") && !cookie.contains("Secure"), "{cookie}");
    assert!(!cookie.contains("HttpOnly"), "the page's script reads it: {cookie}");
    let value = cookie.split(';').next().unwrap().strip_prefix("csrf=").unwrap().to_owned();
    let post = Request::post("/set")
        .header(header::HOST, "dev.example:8080")
        .header(header::ORIGIN, "http://dev.example:8080")
        .header(header::COOKIE, format!("csrf={value}"))
        .header("x-csrf-token", &value)
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.clone().oneshot(post).await.unwrap().status(), StatusCode::OK);
}

/// The development header is what makes the mode impossible to miss; it
/// must not depend on the security-headers layer being on.
#[tokio::test]
async fn development_mode_says_so_even_without_the_security_headers() {
    let stack = Stack::server_side(MemoryStore::new(), KeyRing::generate())
        .without_security_headers()
        .plain_http_development_mode()
        .build()
        .unwrap();
    let app = stack.wrap(routes());
    assert_eq!(get_form(&app).await.headers()[DEV_MODE_HEADER], "plain-http");
    let missing = app.clone().oneshot(Request::get("/nowhere").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(missing.headers()[DEV_MODE_HEADER], "plain-http", "on every response");
}

/// A policy of the app's own still reports to the stack's report route
/// (served either way): a violation must not go nowhere.
#[tokio::test]
async fn a_custom_policy_reports_to_the_stacks_report_route() {
    use palisade::headers::{ContentSecurityPolicy, Directive, Source};
    let policy = ContentSecurityPolicy::strict().with(Directive::DefaultSrc, [Source::None]);
    let stack = Stack::server_side(MemoryStore::new(), KeyRing::generate())
        .security_headers(|headers| headers.content_security_policy(policy))
        .build()
        .unwrap();
    let res = get_form(&stack.wrap(routes())).await;
    let csp = res.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("report-uri /csp-report"), "{csp}");

    // A policy that names its own report target keeps it.
    let own = ContentSecurityPolicy::strict().report_uri("https://reports.example/csp");
    let stack = Stack::server_side(MemoryStore::new(), KeyRing::generate())
        .security_headers(|headers| headers.content_security_policy(own))
        .build()
        .unwrap();
    let res = get_form(&stack.wrap(routes())).await;
    let csp = res.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    assert!(csp.contains("report-uri https://reports.example/csp") && !csp.contains("/csp-report"), "{csp}");
}

#[test]
fn development_mode_and_an_https_redirect_are_refused_together() {
    let err = Stack::server_side(MemoryStore::new(), KeyRing::generate())
        .plain_http_development_mode()
        .https_redirect(HttpsRedirectLayer::for_hosts(["example.com"]).unwrap())
        .build()
        .unwrap_err();
    assert!(matches!(err, StackError::DevelopmentModeWithHttpsRedirect), "{err}");
    assert!(err.to_string().contains("drop"), "{err}");
}

#[tokio::test]
async fn a_missing_layer_is_a_plain_500_for_the_client() {
    // CsrfToken without CsrfLayer, Session without SessionLayer.
    let app = Router::new()
        .route("/form", get(|csrf: CsrfToken| async move { csrf.masked() }))
        .route("/session", get(|_session: Session| async { "never" }));
    for path in ["/form", "/session"] {
        let res = app.clone().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        let body = http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes();
        assert_eq!(
            std::str::from_utf8(&body).unwrap().trim(),
            "Internal server error.",
            "{path}: the fix is logged, not sent"
        );
    }
}

#[test]
fn a_missing_secret_key_says_how_to_make_one_even_through_question_mark_in_main() {
    let err = palisade::keys::KeyError::Missing { var: "PALISADE_SECRET_KEY" };
    let shown = format!("{err:?}"); // what `fn main() -> Result<(), E>` prints
    assert_eq!(shown, err.to_string());
    assert!(shown.contains("PALISADE_SECRET_KEY") && shown.contains("openssl rand -base64 32"), "{shown}");
}

/// One call gives a template `csrf_field()`, `csrf_token()` and
/// `csp_nonce()`; the nonce used lands in the response's policy.
#[cfg(feature = "minijinja")]
#[tokio::test]
async fn page_functions_give_a_template_csrf_fields_and_the_csp_nonce() {
    use palisade::headers::CspNonce;
    async fn page(csrf: CsrfToken, nonce: CspNonce) -> axum::response::Html<String> {
        let mut env = minijinja::Environment::new();
        env.add_template("p", r#"<script nonce="{{ csp_nonce() }}"></script>{{ csrf_field() }}"#).unwrap();
        axum::response::Html(env.get_template("p").unwrap().render(csrf.page_functions(&nonce)).unwrap())
    }
    let app = Stack::server_side(MemoryStore::new(), KeyRing::generate())
        .build()
        .unwrap()
        .wrap(routes().route("/page", get(page)));
    let res = app.clone().oneshot(Request::get("/page").body(Body::empty()).unwrap()).await.unwrap();
    let csp = res.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    let body = http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes();
    let html = std::str::from_utf8(&body).unwrap();
    let nonce = html.split("nonce=\"").nth(1).unwrap().split('"').next().unwrap();
    assert!(csp.contains(&format!("'nonce-{nonce}'")), "{csp} / {html}");
    assert!(html.contains(r#"<input type="hidden" name="csrf_token" value=""#), "{html}");
}

/// A sign-in route behind the stack (same-origin form post).
fn login_routes() -> Router {
    Router::new().route(
        "/login",
        post(|session: Session| async move {
            palisade::auth::login(&session, "alice", palisade::auth::LoginOptions::new()).await?;
            Ok::<_, palisade::auth::AuthError>("signed in")
        }),
    )
}

fn login_request(peer: Option<std::net::SocketAddr>) -> Request<Body> {
    let mut req = Request::post("/login").header("sec-fetch-site", "same-origin");
    if let Some(peer) = peer {
        req = req.extension(axum::extract::ConnectInfo(peer));
    }
    req.body(Body::empty()).unwrap()
}

/// Served with plain `axum::serve(listener, app)`, a request carries no
/// peer address: binding by IP (on by default) would silently compare
/// nothing. The sign-in is refused instead, with the fix in the log.
#[tokio::test]
async fn a_sign_in_without_any_client_address_is_refused_not_left_unbound() {
    // CSRF off: these tests are about the client address, not tokens.
    let app = Stack::server_side(MemoryStore::new(), KeyRing::generate())
        .without_csrf()
        .build()
        .unwrap()
        .wrap(login_routes());
    let res = app.clone().oneshot(login_request(None)).await.unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(res.headers().get(header::SET_COOKIE).is_none(), "no session was started");

    let res = app.clone().oneshot(login_request(Some("203.0.113.7:4000".parse().unwrap()))).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "with the peer address the same stack signs in");

    // Without IP binding, no address is needed.
    let auth = palisade::auth::AuthConfig::new().binding(palisade::binding::Binding::default().ignoring_ip());
    let app = Stack::server_side(MemoryStore::new(), KeyRing::generate())
        .auth(auth)
        .without_csrf()
        .build()
        .unwrap()
        .wrap(login_routes());
    assert_eq!(app.oneshot(login_request(None)).await.unwrap().status(), StatusCode::OK);
}

/// Declared at startup: a server without client addresses and binding by
/// IP cannot both be, and the error says what to change.
#[test]
fn binding_by_ip_on_a_server_without_client_addresses_is_a_startup_error() {
    let err = Stack::server_side(MemoryStore::new(), KeyRing::generate()).without_client_address().build().unwrap_err();
    assert!(matches!(err, StackError::IpBindingWithoutClientAddress), "{err}");
    assert!(err.to_string().contains("ignoring_ip()"), "{err}");
    let auth = palisade::auth::AuthConfig::new().binding(palisade::binding::Binding::default().ignoring_ip());
    Stack::server_side(MemoryStore::new(), KeyRing::generate()).without_client_address().auth(auth).build().unwrap();
}

/// `Stack::into_make_service` over a real socket: the peer address
/// arrives, so the default IP binding works.
#[tokio::test]
async fn into_make_service_gives_the_stack_the_peer_address() {
    let stack = Stack::server_side(MemoryStore::new(), KeyRing::generate()).without_csrf().build().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(std::future::IntoFuture::into_future(axum::serve(
        listener,
        stack.into_make_service(login_routes()),
    )));
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = format!(
        "POST /login HTTP/1.1\r\nHost: {addr}\r\nSec-Fetch-Site: same-origin\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("signed in"), "{response}");
    server.abort();
}
