//! "Remember me", "your devices" and "change password" over plain HTTP.

mod support;

use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{Response, StatusCode};
use support::http::{cookie_value, location, session_set_cookie, Browserless, PASSWORD};

const REMEMBER: &str = "__Host-remember";
const NEW_PASSWORD: &str = "a brand new passphrase";

fn remember_set_cookie(res: &Response) -> Option<String> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with(&format!("{REMEMBER}=")))
}

/// The key in the first "sign out this device" form of a devices page.
fn first_revoke_key(html: &str) -> String {
    let marker = "name=\"key\" value=\"";
    let start = html.find(marker).expect("a revoke form") + marker.len();
    html[start..start + 64].to_owned()
}

async fn login(b: &Browserless, password: &str, remember: bool) -> Response {
    let mut form = vec![("username", "nora"), ("password", password)];
    if remember {
        form.push(("remember", "on"));
    }
    b.post("/login", &form, None).await
}

#[tokio::test]
async fn remember_me_signs_a_returning_browser_in_with_a_rotated_token() {
    let b = Browserless::new().await;
    b.register("nora").await;
    let res = login(&b, PASSWORD, true).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let set = remember_set_cookie(&res).expect("the remember me box sets a remember-me cookie");
    for part in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=2592000"] {
        assert!(set.contains(part), "{set} lacks {part}");
    }
    assert!(remember_set_cookie(&login(&b, PASSWORD, false).await).is_none(), "unticked: no token");

    // Only the remember-me cookie: signed in, with a new session and token.
    let token = cookie_value(&set);
    let res = b.client.get(b.app.url("/account")).header(COOKIE, format!("{REMEMBER}={token}")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(session_set_cookie(&res).is_some(), "a new session");
    let rotated = remember_set_cookie(&res).expect("a rotated token");
    assert_ne!(cookie_value(&rotated), token);
    assert!(res.text().await.unwrap().contains("nora"));
}

#[tokio::test]
async fn password_change_needs_the_current_password_and_signs_out_other_devices() {
    let b = Browserless::new().await;
    let laptop = b.register("nora").await;
    let res = login(&b, PASSWORD, true).await;
    let phone = cookie_value(&session_set_cookie(&res).expect("phone session"));
    let phone_token = cookie_value(&remember_set_cookie(&res).expect("phone token"));

    let page = b.get("/sessions", Some(&laptop)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert_eq!(html.matches("<tr class=\"session").count(), 2, "{html}");
    assert_eq!(html.matches("(this device)").count(), 1);
    assert_eq!(html.matches("<tr class=\"token").count(), 1, "the phone is remembered");

    let wrong = [("current_password", "not my password"), ("new_password", NEW_PASSWORD)];
    let res = b.post("/password", &wrong, Some(&laptop)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(b.get("/account", Some(&phone)).await.status(), StatusCode::OK, "nothing changed");

    let right = [("current_password", PASSWORD), ("new_password", NEW_PASSWORD)];
    let res = b.post("/password", &right, Some(&laptop)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let laptop = cookie_value(&session_set_cookie(&res).expect("a new session id after a password change"));
    assert!(res.text().await.unwrap().contains("1 other session(s)"));

    // The phone is out, and its remember-me token cannot bring it back.
    let res = b.get("/account", Some(&phone)).await;
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, "/login?next=/account"));
    let res =
        b.client.get(b.app.url("/account")).header(COOKIE, format!("{REMEMBER}={phone_token}")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(b.get("/account", Some(&laptop)).await.status(), StatusCode::OK);

    assert_eq!(login(&b, PASSWORD, false).await.status(), StatusCode::UNAUTHORIZED, "old password");
    assert_eq!(login(&b, NEW_PASSWORD, false).await.status(), StatusCode::SEE_OTHER, "new password");
}

#[tokio::test]
async fn a_device_can_be_revoked_only_by_its_own_user() {
    let b = Browserless::new().await;
    let nora = b.register("nora").await;
    let phone = cookie_value(&session_set_cookie(&login(&b, PASSWORD, false).await).unwrap());
    let mallory = b.register("mallory").await;
    // Mallory learns the key of one of Nora's sessions (it is no cookie).
    let key = first_revoke_key(&b.get("/sessions", Some(&nora)).await.text().await.unwrap());

    let res = b.post("/sessions/revoke", &[("key", &key)], Some(&mallory)).await;
    assert_eq!(location(&res), "/sessions?done=unknown");
    assert_eq!(b.get("/account", Some(&phone)).await.status(), StatusCode::OK);

    let res = b.post("/sessions/revoke", &[("key", &key)], Some(&nora)).await;
    assert_eq!(location(&res), "/sessions?done=revoked");
    assert_eq!(b.get("/account", Some(&phone)).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(b.get("/account", Some(&nora)).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_stolen_remember_me_cookie_cannot_sign_the_owner_out_of_their_devices() {
    let b = Browserless::new().await;
    let laptop = b.register("nora").await;
    let res = login(&b, PASSWORD, true).await;
    let phone_token = cookie_value(&remember_set_cookie(&res).expect("phone token"));
    // A thief with a copy of the phone's remember-me cookie only.
    let res =
        b.client.get(b.app.url("/sessions")).header(COOKIE, format!("{REMEMBER}={phone_token}")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "signed in by the remember-me cookie, not fresh");
    let thief = cookie_value(&session_set_cookie(&res).expect("a new session for the thief"));
    let key = first_revoke_key(&res.text().await.unwrap());

    for (path, form) in [("/sessions/others", vec![]), ("/sessions/revoke", vec![("key", key.as_str())])] {
        let res = b.post(path, &form, Some(&thief)).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&res), "/login?next=/sessions&reauth=1", "{path}: the password first");
        assert_eq!(b.get("/account", Some(&laptop)).await.status(), StatusCode::OK, "{path}: the owner is still in");
    }
    // With the password entered again, the same click works.
    let res = b.post("/sessions/others", &[], Some(&laptop)).await;
    assert_eq!(location(&res), "/sessions?done=others");
    assert_eq!(b.get("/account", Some(&thief)).await.status(), StatusCode::SEE_OTHER, "the thief is out");
}

/// The demo caps concurrent sessions per user (`MAX_SESSIONS_PER_USER`):
/// one sign-in too many signs out the oldest device, and the devices page
/// says how many of how many are in use.
#[tokio::test]
async fn signing_in_on_one_device_too_many_signs_out_the_oldest() {
    let cap = palisade_demo::MAX_SESSIONS_PER_USER;
    let b = Browserless::new().await;
    let first = b.register("nora").await;
    // Sign-in times are whole seconds: the first device must be the oldest.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let mut newest = String::new();
    for _ in 1..cap {
        newest = cookie_value(&session_set_cookie(&login(&b, PASSWORD, false).await).expect("a session"));
    }
    assert_eq!(b.get("/account", Some(&first)).await.status(), StatusCode::OK, "at the cap, nobody is out");
    let html = b.get("/sessions", Some(&newest)).await.text().await.unwrap();
    assert!(html.contains(&format!("{cap} of {cap}")), "{html}");

    let last = cookie_value(&session_set_cookie(&login(&b, PASSWORD, false).await).expect("a session"));
    assert_eq!(b.get("/account", Some(&first)).await.status(), StatusCode::SEE_OTHER, "the oldest is out");
    assert_eq!(b.get("/account", Some(&newest)).await.status(), StatusCode::OK);
    let html = b.get("/sessions", Some(&last)).await.text().await.unwrap();
    assert_eq!(html.matches("<tr class=\"session").count(), cap, "{html}");
}

/// A password reset by an admin straight in the database (not through
/// `/password`): every session and remember-me cookie of the user ends on
/// its next request (the session keeps a seal of the password hash).
#[tokio::test]
async fn a_password_changed_in_the_database_signs_the_user_out_everywhere() {
    let b = Browserless::new().await;
    let nora = b.register("nora").await;
    let remembered = login(&b, PASSWORD, true).await;
    let remember = remember_set_cookie(&remembered).expect("remember-me cookie");
    let kept = b.register("kept").await;
    assert_eq!(b.get("/account", Some(&nora)).await.status(), StatusCode::OK);

    let db = b.app.data_dir().join(palisade_demo::DATABASE_FILE);
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display())).await.expect("open the demo database");
    let reset = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$0000000000000000000000000000000000000000000";
    sqlx::query("UPDATE demo_users SET password_hash = ?1 WHERE username = 'nora'")
        .bind(reset)
        .execute(&pool)
        .await
        .expect("admin reset");

    assert_eq!(b.get("/account", Some(&nora)).await.status(), StatusCode::SEE_OTHER, "session ended");
    // The remember-me cookie alone (a browser restart, or a thief's copy).
    let res = b
        .client
        .get(b.app.url("/account"))
        .header(COOKIE, format!("{REMEMBER}={}", cookie_value(&remember)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "the remember-me token from before the reset is dead");
    assert_eq!(b.get("/account", Some(&kept)).await.status(), StatusCode::OK, "other users untouched");
}
