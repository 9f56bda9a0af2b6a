//! The demo serving HTTPS itself (`--tls-self-signed`) with a plain-HTTP
//! listener that only redirects (`--http-redirect-addr`).

use palisade::keys::KeyRing;
use palisade_demo::{DemoConfig, TlsChoice};
use reqwest::header::{LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_https_sends_hsts_and_the_http_listener_only_redirects() {
    let temp = tempfile::tempdir().expect("temp dir");
    let keys = KeyRing::from_base64(&KeyRing::generate_secret_base64()).expect("key");
    let (https, http) = (free_addr(), free_addr());
    let mut config = DemoConfig::new(temp.path().join("data")).with_keys(keys).with_addr(https);
    config.tls = TlsChoice::SelfSigned;
    config.http_redirect_addr = Some(http);
    tokio::spawn(async move { palisade_demo::serve(config).await.expect("serve") });

    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true) // the certificate is self-signed
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs(20);
    let home = loop {
        match client.get(format!("https://127.0.0.1:{}/", https.port())).send().await {
            Ok(res) => break res,
            Err(err) => assert!(Instant::now() < deadline, "HTTPS never answered: {err}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(home.status(), StatusCode::OK);
    assert_eq!(home.headers()["strict-transport-security"], "max-age=63072000; includeSubDomains");
    assert!(home.headers()["content-security-policy"].to_str().unwrap().contains("'nonce-"));

    let redirect = client.get(format!("http://127.0.0.1:{}/account?tab=1", http.port())).send().await.expect("GET");
    assert_eq!(redirect.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(redirect.headers()[LOCATION], format!("https://127.0.0.1:{}/account?tab=1", https.port()));
    assert!(redirect.headers().get(SET_COOKIE).is_none());
    assert!(redirect.headers().get("strict-transport-security").is_none());

    let forged = client
        .get(format!("http://127.0.0.1:{}/", http.port()))
        .header("host", "evil.example")
        .send()
        .await
        .expect("GET");
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);

    // The CSRF origin check takes the scheme the trusted-proxy layer decided
    // (here the TLS listener's), not a guess from the loopback address: a
    // same-origin HTTPS form post passes it (and fails on the password).
    let origin = format!("https://127.0.0.1:{}", https.port());
    let page = client.get(format!("{origin}/login")).send().await.expect("GET /login");
    let cookie = page
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-csrf="))
        .expect("the anonymous CSRF cookie");
    let html = page.text().await.unwrap();
    let marker = r#"name="csrf_token" value=""#;
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    let token = &html[start..start + html[start..].find('"').unwrap()];
    let login = client
        .post(format!("{origin}/login"))
        .header("origin", &origin)
        .header("cookie", &cookie)
        .form(&[("username", "nobody"), ("password", "not the password at all"), ("csrf_token", token)])
        .send()
        .await
        .expect("POST /login");
    assert_eq!(login.status(), StatusCode::UNAUTHORIZED, "past the CSRF check: {}", login.text().await.unwrap());
}
