//! The demo over real HTTP, with cookies handled by hand so every
//! `Set-Cookie` can be inspected: no redirects followed, no cookie store.
//! Each test runs its own app on a free port with a fresh data directory.

mod support;

use palisade_demo::DemoConfig;
use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, ORIGIN, SET_COOKIE};
use reqwest::StatusCode;
use std::os::unix::fs::PermissionsExt;
use support::http::{
    assert_secure_session_cookie, attributes, cookie_value, csrf_meta_value, location, session_set_cookie, Browserless,
    COOKIE_NAME, PASSWORD,
};
use support::spawn_with;

#[tokio::test]
async fn register_login_account_logout_and_a_dead_cookie() {
    let t = Browserless::new().await;

    // Anonymous browsing creates no session; the home page's login form
    // sets only its CSRF cookie.
    let home = t.get("/", None).await;
    assert_eq!(home.status(), StatusCode::OK);
    assert!(session_set_cookie(&home).is_none(), "lazy sessions: anonymous pages start no session");
    let set: Vec<_> = home.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    assert!(set.len() == 1 && set[0].starts_with("__Host-csrf="), "{set:?}");
    assert!(home.text().await.unwrap().contains("You are not logged in"));
    let not_found = t.get("/no/such/page", None).await;
    assert!(not_found.headers().get(SET_COOKIE).is_none(), "a page without a form sets no cookie at all");

    // Register: logged in straight away, with a secure cookie.
    let res = t.post("/register", &[("username", "alice"), ("password", PASSWORD)], None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/account");
    let set_cookie = session_set_cookie(&res).expect("register sets the session cookie");
    assert_secure_session_cookie(&set_cookie);
    let registered = cookie_value(&set_cookie);

    let account = t.get("/account", Some(&registered)).await;
    assert_eq!(account.status(), StatusCode::OK);
    assert!(account.text().await.unwrap().contains(r#"<strong id="account-user">alice</strong>"#));
    let home = t.get("/", Some(&registered)).await;
    assert!(home.text().await.unwrap().contains("You are logged in as <strong>alice</strong>"));

    // Logging in again from that session gives a new id; the old one dies
    // (session fixation: an id known before login is worthless after it).
    let res = t.post("/login", &[("username", "alice"), ("password", PASSWORD)], Some(&registered)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/account");
    let set_cookie = session_set_cookie(&res).expect("login sets the session cookie");
    assert_secure_session_cookie(&set_cookie);
    let logged_in = cookie_value(&set_cookie);
    assert_ne!(logged_in, registered, "login must rotate the session id");
    let stale = t.get("/account", Some(&registered)).await;
    assert_eq!(stale.status(), StatusCode::SEE_OTHER, "the pre-login id must be dead");
    assert_eq!(location(&stale), "/login?next=/account");

    let account = t.get("/account", Some(&logged_in)).await;
    assert_eq!(account.status(), StatusCode::OK);
    assert!(account.headers()[CACHE_CONTROL].to_str().unwrap().contains("no-store"));
    let body = account.text().await.unwrap();
    assert!(body.contains(r#"<strong id="account-user">alice</strong>"#), "{body}");
    assert!(body.contains(" UTC</td>"), "session times are shown as UTC date-times: {body}");

    // Logout expires the cookie in the browser and kills the session on the server.
    let res = t.post("/logout", &[], Some(&logged_in)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/");
    let removal = session_set_cookie(&res).expect("logout expires the cookie");
    assert_eq!(cookie_value(&removal), "");
    assert!(attributes(&removal).iter().any(|a| a.eq_ignore_ascii_case("Max-Age=0")), "{removal}");

    // A copy of the old cookie replayed after logout is worthless.
    let replay = t.get("/account", Some(&logged_in)).await;
    assert_eq!(replay.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&replay), "/login?next=/account");
    let home = t.get("/", Some(&logged_in)).await;
    assert!(home.text().await.unwrap().contains("You are not logged in"));
}

#[tokio::test]
async fn switching_users_starts_a_new_session() {
    let t = Browserless::new().await;
    let judy = t.register("judy").await;
    // Registering someone else from Judy's browser logs Judy out of it.
    let res = t.post("/register", &[("username", "mallory"), ("password", PASSWORD)], Some(&judy)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let mallory = cookie_value(&session_set_cookie(&res).expect("a new session cookie"));
    assert_ne!(mallory, judy);
    assert_eq!(location(&t.get("/account", Some(&judy)).await), "/login?next=/account");
    let body = t.get("/account", Some(&mallory)).await.text().await.unwrap();
    assert!(body.contains(r#"<strong id="account-user">mallory</strong>"#), "{body}");
}

#[tokio::test]
async fn login_from_a_fresh_browser_issues_a_cookie() {
    let t = Browserless::new().await;
    t.register("bob").await;
    let res = t.post("/login", &[("username", "BOB"), ("password", PASSWORD)], None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "usernames are case-insensitive");
    let cookie = cookie_value(&session_set_cookie(&res).expect("login sets the session cookie"));
    let body = t.get("/account", Some(&cookie)).await.text().await.unwrap();
    assert!(body.contains(r#"<strong id="account-user">bob</strong>"#), "{body}");
}

#[tokio::test]
async fn next_only_redirects_within_the_site() {
    let t = Browserless::new().await;
    t.register("carol").await;
    let creds = [("username", "carol"), ("password", PASSWORD)];
    for (path, expected) in [
        ("/login?next=//evil.example", "/account"),
        ("/login?next=https://evil.example/", "/account"),
        ("/login?next=%2F%5Cevil.example", "/account"),
        ("/login?next=javascript:alert(1)", "/account"),
        ("/login?next=/account?tab=1", "/account?tab=1"),
        ("/login?next=%2Faccount%3Ftab%3D1", "/account?tab=1"),
        ("/login", "/account"),
    ] {
        let res = t.post(path, &creds, None).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&res), expected, "{path}");
        assert!(session_set_cookie(&res).is_some(), "{path}: login issues a cookie");
    }
    // The login page's hidden field takes `next` along, and wins over the query.
    let form = [("username", "carol"), ("password", PASSWORD), ("next", "/account?tab=2")];
    let res = t.post("/login?next=/", &form, None).await;
    assert_eq!(location(&res), "/account?tab=2");
    let form = [("username", "carol"), ("password", PASSWORD), ("next", "https://evil.example")];
    assert_eq!(location(&t.post("/login", &form, None).await), "/account");
}

#[tokio::test]
async fn login_page_keeps_only_a_safe_next() {
    let t = Browserless::new().await;
    let body = t.get("/login?next=/account", None).await.text().await.unwrap();
    // minijinja's HTML escaping writes `/` as `&#x2f;`; the browser reads it back as `/`.
    assert!(body.contains(r#"<input type="hidden" name="next" value="&#x2f;account">"#), "{body}");
    let body = t.get("/login?next=https://evil.example/", None).await.text().await.unwrap();
    assert!(!body.contains("evil.example"), "{body}");
    assert!(!body.contains(r#"name="next""#), "{body}");
}

#[tokio::test]
async fn validation_errors_rerender_the_form_with_the_username_but_never_the_password() {
    let t = Browserless::new().await;
    let res = t.post("/register", &[("username", "dave.ok"), ("password", "tooshort-x")], None).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(session_set_cookie(&res).is_none(), "a failed registration creates no session");
    let body = res.text().await.unwrap();
    assert!(body.contains(r#"value="dave.ok""#), "{body}");
    assert!(!body.contains("tooshort-x"), "the password must never be echoed: {body}");
    assert!(body.contains("Passwords are 12 to 1024 characters long."), "{body}");

    let res = t.post("/register", &[("username", "9lives"), ("password", PASSWORD)], None).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(body.contains(r#"value="9lives""#) && !body.contains(PASSWORD), "{body}");
    assert!(body.contains("Start with a letter"), "{body}");

    // Typed input is escaped, never interpreted as markup.
    let res = t.post("/register", &[("username", r#""><script>alert(1)</script>"#), ("password", "x")], None).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(!body.contains("<script>alert(1)</script>"), "{body}");
    assert!(body.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"), "{body}");

    // Missing fields are a validation error too, not a bare extractor rejection.
    let res = t.post("/login", &[], None).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("Enter your username"));
}

#[tokio::test]
async fn duplicate_usernames_are_refused_whatever_their_case() {
    let t = Browserless::new().await;
    t.register("erin").await;
    let res = t.post("/register", &[("username", "Erin"), ("password", "another long password")], None).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(session_set_cookie(&res).is_none());
    let body = res.text().await.unwrap();
    assert!(body.to_lowercase().contains("username taken"), "{body}");
    assert!(body.contains(r#"value="Erin""#) && !body.contains("another long password"), "{body}");
}

#[tokio::test]
async fn wrong_credentials_get_a_generic_401() {
    let t = Browserless::new().await;
    t.register("frank").await;
    for (username, password) in [("frank", "not the right password"), ("nobody", PASSWORD)] {
        let res = t.post("/login", &[("username", username), ("password", password)], None).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{username}");
        assert!(session_set_cookie(&res).is_none(), "{username}: a failed login creates no session");
        let body = res.text().await.unwrap();
        assert!(body.contains("Invalid username or password."), "{body}");
        assert!(body.contains(&format!(r#"value="{username}""#)) && !body.contains(password), "{body}");
    }
}

#[tokio::test]
async fn account_needs_a_login_and_unknown_pages_are_404() {
    let t = Browserless::new().await;
    let res = t.get("/account", None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login?next=/account");
    assert!(res.headers().get(SET_COOKIE).is_none());
    // A forged cookie is just no session.
    let res = t.get("/account", Some("forged.value")).await;
    assert_eq!(location(&res), "/login?next=/account");

    let res = t.get("/no/such/page", None).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.text().await.unwrap().contains("Page not found"));
}

#[tokio::test]
async fn pages_carry_security_headers_and_cross_origin_posts_are_refused() {
    let t = Browserless::new().await;
    let res = t.get("/", None).await;
    let csp = res.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("style-src 'self'") && csp.contains("report-uri /csp-report"), "{csp}");
    assert!(csp.contains("script-src 'nonce-") && csp.contains("'strict-dynamic'"), "{csp}");
    assert!(csp.contains("script-src") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");

    t.register("grace").await;
    let (token, cookie) = t.form_token(None).await;
    assert!(cookie.is_none(), "the login form starts no session");
    let cookies = t.cookie_header(None).expect("the anonymous CSRF cookie");
    let creds = [("username", "grace"), ("password", PASSWORD), ("csrf_token", token.as_str())];
    let post = |origin: &str| {
        t.client.post(t.app.url("/login")).header(ORIGIN, origin).header(COOKIE, cookies.as_str()).form(&creds).send()
    };
    // Even with a valid token (say, leaked), another origin is refused.
    let res = post("https://evil.example").await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "login CSRF from another origin");
    assert!(session_set_cookie(&res).is_none());
    assert_eq!(res.text().await.unwrap(), "CSRF check failed: cross-origin request\n");
    let res = post(&t.app.base).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "same-origin form posts with the token pass");
}

#[tokio::test]
async fn posts_without_a_valid_token_are_refused_and_change_nothing() {
    let t = Browserless::new().await;
    let alice = t.register("alice").await;
    let creds = [("username", "alice"), ("password", PASSWORD)];

    // Login CSRF: an attacker's form cannot log the victim in (no token).
    let res = t.post_without_token("/login", &creds, None).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(session_set_cookie(&res).is_none());
    assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
    assert_eq!(res.text().await.unwrap(), "CSRF check failed: missing token\n");

    // A forged logout leaves the session alive.
    let res = t.post_without_token("/logout", &[], Some(&alice)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(t.get("/account", Some(&alice)).await.status(), StatusCode::OK, "still logged in");

    // A token from another visitor's session is worthless here.
    let (mallorys, _) = t.form_token(None).await;
    let res = t.post_without_token("/logout", &[("csrf_token", &mallorys)], Some(&alice)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(res.text().await.unwrap(), "CSRF check failed: bad token\n");
    assert_eq!(t.get("/account", Some(&alice)).await.status(), StatusCode::OK, "still logged in");
}

#[tokio::test]
async fn every_page_masks_the_token_afresh_and_a_pre_login_token_dies_at_login() {
    let t = Browserless::new().await;
    t.register("paul").await;
    let (first, cookie) = t.form_token(None).await;
    assert!(cookie.is_none(), "an anonymous login form costs no session");
    let (second, same) = t.form_token(None).await;
    assert_ne!(first, second, "masked afresh on every page (BREACH)");
    assert!(same.is_none(), "no session for the second page either");

    let creds = [("username", "paul"), ("password", PASSWORD), ("csrf_token", first.as_str())];
    let res = t.post_without_token("/login", &creds, None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "either masking verifies");
    let logged_in = cookie_value(&session_set_cookie(&res).unwrap());
    // The secret rotated with the session id: the pre-login token is dead.
    let res = t.post_without_token("/logout", &[("csrf_token", &second)], Some(&logged_in)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = t.post("/logout", &[], Some(&logged_in)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "a token rendered after login works");
}

#[tokio::test]
async fn the_csrf_demo_changes_the_note_with_a_header_token_only() {
    let t = Browserless::new().await;
    let cookie = t.register("quinn").await;
    let page = t.get("/csrf-demo", Some(&cookie)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let token = csrf_meta_value(&html).expect("meta csrf-token");
    assert!(html.contains(r#"src="/static/csrf.js""#), "the page loads the script: {html}");

    let note = |header: Option<&str>, text: &str| {
        let mut req = t
            .client
            .post(t.app.url("/account/note"))
            .header(COOKIE, format!("{COOKIE_NAME}={cookie}"))
            .form(&[("note", text)]);
        if let Some(token) = header {
            req = req.header("x-csrf-token", token);
        }
        req.send()
    };
    let res = note(None, "forged").await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = note(Some(&token), "hello from fetch").await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "Saved: hello from fetch");
    let account = t.get("/account", Some(&cookie)).await.text().await.unwrap();
    assert!(account.contains(r#"<strong id="account-note">hello from fetch</strong>"#), "{account}");

    let script = t.get("/static/csrf.js", None).await;
    assert_eq!(script.headers()[CONTENT_TYPE], "text/javascript; charset=utf-8");
    assert!(script.text().await.unwrap().contains("X-CSRF-Token"));
    // Anonymous visitors are sent to log in first.
    assert_eq!(location(&t.get("/csrf-demo", None).await), "/login?next=/csrf-demo");
}

#[tokio::test]
async fn a_generated_secret_is_private_and_keeps_sessions_across_restarts() {
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("nested").join("data");
    let first = Browserless::with(spawn_with(DemoConfig::new(&data_dir)).await);

    let secret = data_dir.join(palisade_demo::secret::SECRET_FILE);
    let mode = std::fs::metadata(&secret).expect("secret file created").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "secret file mode is {:o}", mode & 0o777);
    let dir_mode = std::fs::metadata(&data_dir).unwrap().permissions().mode();
    assert_eq!(dir_mode & 0o077, 0, "data dir mode is {:o}", dir_mode & 0o777);
    let key = std::fs::read_to_string(&secret).unwrap();
    let cookie = first.register("heidi").await;

    // A second instance on the same data directory reuses the secret (and
    // the database), so the session is still valid.
    let second = Browserless::with(spawn_with(DemoConfig::new(&data_dir)).await);
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), key, "the secret must not be regenerated");
    let res = second.get("/account", Some(&cookie)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("heidi"));
}
