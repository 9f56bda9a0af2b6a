//! Drives `examples/forms.rs`: minijinja pages with CSRF fields and a CSP
//! nonce, a login that keeps only a safe `next`, a signed-in form.

#[path = "common/browser.rs"]
mod browser;
#[path = "../examples/forms.rs"]
mod forms;

use browser::{token_in, Browser};
use http::{header, StatusCode};
use palisade::keys::KeyRing;

fn location(res: &http::Response<()>) -> &str {
    res.headers()[header::LOCATION].to_str().unwrap()
}

/// The nonce the page's script carries, and the one the policy allows.
fn nonces(res: &http::Response<()>, page: &str) -> (String, String) {
    let marker = r#"<script nonce=""#;
    let start = page.find(marker).expect("an inline script") + marker.len();
    let in_page = page[start..start + page[start..].find('"').unwrap()].to_owned();
    let csp = res.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    let start = csp.find("'nonce-").expect("a nonce in the policy") + "'nonce-".len();
    (in_page, csp[start..start + csp[start..].find('\'').unwrap()].to_owned())
}

#[tokio::test]
async fn a_visitor_logs_in_through_next_and_keeps_notes() {
    let app = forms::app(KeyRing::generate()).unwrap();
    let mut browser = Browser::default();

    // A signed-in page sends an anonymous visitor to the login page, with `next`.
    let (res, _) = browser.get(&app, "/notes").await;
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, "/login?next=/notes"));
    let (res, page) = browser.get(&app, "/login?next=/notes").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(page.contains(r#"name="next" value="&#x2f;notes""#), "{page}"); // HTML-escaped
    assert!(!browser.jar.contains_key("__Host-session"), "no session record for a login form");
    let token = token_in(&page);
    let (res, _) = browser.post(&app, "/notes", "note=hi").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "no CSRF token: refused before the handler");
    let (res, _) = browser.post(&app, "/notes", &format!("note=hi&csrf_token={token}")).await;
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, "/login"), "a post is not replayed by next");

    let (res, page) =
        browser.post(&app, "/login", &format!("username=alice&password=nope&next=/notes&csrf_token={token}")).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(page.contains("Invalid username or password.") && page.contains(r#"value="alice""#), "{page}");
    let form =
        format!("username=alice&password=correct+horse+battery+staple&next=/notes&csrf_token={}", token_in(&page));
    let (res, _) = browser.post(&app, "/login", &form).await;
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, "/notes"));

    // The page's one inline script runs: its nonce is the policy's.
    let (res, page) = browser.get(&app, "/notes").await;
    assert!(page.contains("alice's notes") || page.contains("alice&#x27;s notes"), "{page}");
    let (in_page, in_policy) = nonces(&res, &page);
    assert_eq!(in_page, in_policy);
    let csp = res.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(!csp.contains("unsafe-inline"), "{csp}");

    // A note is stored in the session and shown escaped, never as markup.
    let form = format!("note=%3Cscript%3Ealert(1)%3C%2Fscript%3E&csrf_token={}", token_in(&page));
    assert_eq!(browser.post(&app, "/notes", &form).await.0.status(), StatusCode::SEE_OTHER);
    let (res, page) = browser.get(&app, "/notes").await;
    assert!(page.contains("<li>&lt;script&gt;alert(1)&lt;&#x2f;script&gt;</li>"), "{page}");
    let (next_nonce, _) = nonces(&res, &page);
    assert_ne!(next_nonce, in_page, "a fresh nonce per response");

    let (res, _) = browser.post(&app, "/logout", &format!("csrf_token={}", token_in(&page))).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(browser.get(&app, "/").await.1.contains("you will be asked to log in"));
    assert_eq!(browser.get(&app, "/notes").await.0.status(), StatusCode::SEE_OTHER, "the session is gone");
}

#[tokio::test]
async fn a_next_off_the_site_is_dropped_from_the_form_and_ignored_at_login() {
    let app = forms::app(KeyRing::generate()).unwrap();
    let mut browser = Browser::default();
    for next in ["//evil.example/", "https://evil.example/", "@evil.example"] {
        let (_, page) = browser.get(&app, &format!("/login?next={next}")).await;
        assert!(!page.contains("evil.example"), "{next}: {page}");
    }
    let (_, page) = browser.get(&app, "/login").await;
    let form = format!(
        "username=alice&password=correct+horse+battery+staple&next=%2F%2Fevil.example%2F&csrf_token={}",
        token_in(&page)
    );
    let (res, _) = browser.post(&app, "/login", &form).await;
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, "/"), "a posted next is checked again");
}
