//! Brute-force protection in the demo, over HTTP: login, the current-password
//! check of `/password`, registration, and the bounded hashing queue. Clients
//! arrive through a trusted proxy on loopback with an `X-Forwarded-For` of
//! their own, so one test can play an attacker's network and the owner's.

mod support;

use palisade::client::TrustedProxyLayer;
use palisade::keys::KeyRing;
use palisade_demo::DemoConfig;
use reqwest::header::RETRY_AFTER;
use reqwest::StatusCode;
use support::http::{session_set_cookie, Browserless, PASSWORD};
use support::spawn_with;

/// One test at a time: the backoff after the free guesses is 1 s on the
/// wall clock, and the login flood (48 concurrent Argon2 hashes on 2
/// cores) run beside a timing test could stretch the gap between two of
/// its requests past that second (seen in CI: a 6th guess let through
/// with 401 instead of 429).
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const ATTACKER: &str = "203.0.113.7";
const OWNER: &str = "198.51.100.20";

/// The demo behind a proxy on loopback, with a fresh data directory.
async fn behind_proxy() -> (Browserless, tempfile::TempDir) {
    let temp = tempfile::tempdir().expect("temp dir");
    let keys = KeyRing::from_base64(&KeyRing::generate_secret_base64()).expect("generated secret is valid");
    let mut config = DemoConfig::new(temp.path().join("data")).with_keys(keys);
    config.trusted_proxies = TrustedProxyLayer::trusting(["127.0.0.1"]).expect("loopback proxy");
    (Browserless::with(spawn_with(config).await), temp)
}

async fn login(b: &Browserless, username: &str, password: &str) -> reqwest::Response {
    b.post("/login", &[("username", username), ("password", password)], None).await
}

fn retry_after(res: &reqwest::Response) -> u64 {
    res.headers().get(RETRY_AFTER).expect("Retry-After").to_str().unwrap().parse().expect("seconds")
}

#[tokio::test]
async fn guessing_one_account_is_throttled_and_the_owner_still_signs_in_from_home() {
    let _serial = SERIAL.lock().await;
    let (app, _temp) = behind_proxy().await;
    app.arriving_from(OWNER).register("victim").await;
    let attacker = app.arriving_from(ATTACKER);
    for n in 1..=5 {
        let res = login(&attacker, "victim", &format!("guess number {n}")).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "guess {n} is checked");
    }
    let res = login(&attacker, "Victim", "guess number 6").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS, "case does not buy a new budget");
    assert!((1..=2).contains(&retry_after(&res)), "{}", retry_after(&res));
    assert_eq!(res.headers()["cache-control"], "no-store");
    let page = res.text().await.unwrap();
    assert!(page.contains("Too many attempts"), "{page}");
    assert!(page.contains("name=\"username\" type=\"text\" value=\"Victim\""), "the form is kept: {page}");
    // Even the right password waits: a throttled request checks nothing.
    let res = login(&attacker, "victim", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);

    let owner = app.arriving_from(OWNER);
    let res = login(&owner, "victim", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "the owner's network is not locked out");
    assert!(session_set_cookie(&res).is_some());
}

#[tokio::test]
async fn the_current_password_check_shares_the_login_counters() {
    let _serial = SERIAL.lock().await;
    let (app, _temp) = behind_proxy().await;
    let thief = app.arriving_from(ATTACKER);
    // A session on the attacker's network (as a stolen, bound session would be).
    let session = thief.register("nora").await;
    let change = |current: String| {
        let thief = &thief;
        let session = session.clone();
        async move {
            let form = [("current_password", current.as_str()), ("new_password", "a brand new passphrase")];
            thief.post("/password", &form, Some(&session)).await
        }
    };
    for n in 1..=5 {
        assert_eq!(change(format!("wrong guess {n}")).await.status(), StatusCode::UNAUTHORIZED);
    }
    let res = change("wrong guess 6".into()).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&res) >= 1);
    assert!(res.text().await.unwrap().contains("Too many attempts"));
    // The login form on that network is throttled for nora too.
    assert_eq!(login(&thief, "nora", "another guess").await.status(), StatusCode::TOO_MANY_REQUESTS);
    // nora herself, from home, signs in.
    assert_eq!(login(&app.arriving_from(OWNER), "nora", PASSWORD).await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn registrations_from_one_network_are_limited() {
    let _serial = SERIAL.lock().await;
    let (app, _temp) = behind_proxy().await;
    let bot = app.arriving_from(ATTACKER);
    for n in 0..10 {
        bot.register(&format!("bot{n}")).await;
    }
    let res = bot.post("/register", &[("username", "bot10"), ("password", PASSWORD)], None).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&res) >= 59, "{}", retry_after(&res));
    assert!(session_set_cookie(&res).is_none(), "nothing was created");
    app.arriving_from(OWNER).register("human").await;
}

/// Logins from 300 networks at once (no throttle applies): the hashing
/// queue overflows, the excess gets a fast 503 with `Retry-After`, and a
/// signed-in user's pages are served all along.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_gets_fast_503s_and_signed_in_users_are_still_served() {
    let _serial = SERIAL.lock().await;
    let (app, _temp) = behind_proxy().await;
    let session = app.arriving_from(OWNER).register("steady").await;
    let reader = app.arriving_from(OWNER);
    let mut clients = Vec::new();
    for n in 0..300u32 {
        let client = app.arriving_from(&format!("10.{}.{}.{}", n >> 16, (n >> 8) & 255, n & 255));
        // Each flooder loads its form first, so the flood is only the POSTs.
        let (token, _) = client.form_token(None).await;
        clients.push((client, token));
    }
    let flood: Vec<_> = clients
        .into_iter()
        .map(|(client, token)| {
            tokio::spawn(async move {
                let form = [("username", "steady"), ("password", "not the password"), ("csrf_token", &token)];
                let res = client.post_without_token("/login", &form, None).await;
                let retry = res.headers().get(RETRY_AFTER).map(|v| v.to_str().unwrap().to_owned());
                (res.status(), retry)
            })
        })
        .collect();
    let mut served_during_flood = 0;
    while flood.iter().any(|t| !t.is_finished()) {
        let res = reader.get("/account", Some(&session)).await;
        assert_eq!(res.status(), StatusCode::OK, "a signed-in user is served during the flood");
        served_during_flood += 1;
    }
    let (mut busy, mut checked) = (0, 0);
    for task in flood {
        match task.await.unwrap() {
            (StatusCode::SERVICE_UNAVAILABLE, Some(retry)) => {
                assert_eq!(retry, "1");
                busy += 1;
            }
            (StatusCode::UNAUTHORIZED, _) => checked += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    println!("flood of 300 logins: {checked} checked, {busy} refused with 503; /account served {served_during_flood} times meanwhile");
    assert!(busy > 0, "the queue is bounded");
    assert!(checked > 0, "admitted checks complete");
    assert!(served_during_flood > 0);
    let res = login(&app.arriving_from("192.0.2.1"), "steady", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "served normally after the flood");
}
