//! A real guessing loop against the demo's login: 10,000 wrong passwords
//! for one account from one network, eight at a time, counting the Argon2
//! computations they cost (`palisade_demo::users::argon2_runs`, process
//! wide: this binary holds this one test so nothing else hashes meanwhile).

mod support;

use palisade::client::TrustedProxyLayer;
use palisade::keys::KeyRing;
use palisade_demo::users::argon2_runs;
use palisade_demo::DemoConfig;
use reqwest::StatusCode;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Instant;
use support::http::{Browserless, PASSWORD};
use support::spawn_with;

const GUESSES: u32 = 10_000;
const PARALLEL: u32 = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_guesses_cost_a_handful_of_argon2_verifications() {
    let temp = tempfile::tempdir().expect("temp dir");
    let keys = KeyRing::from_base64(&KeyRing::generate_secret_base64()).expect("generated secret is valid");
    let mut config = DemoConfig::new(temp.path().join("data")).with_keys(keys);
    config.trusted_proxies = TrustedProxyLayer::trusting(["127.0.0.1"]).expect("loopback proxy");
    let app = Browserless::with(spawn_with(config).await);
    app.arriving_from("198.51.100.20").register("victim").await;

    let attacker = Arc::new(app.arriving_from("203.0.113.7"));
    let (token, _) = attacker.form_token(None).await;
    let before = argon2_runs();
    let started = Instant::now();
    let (refused, wrong) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
    let workers: Vec<_> = (0..PARALLEL)
        .map(|w| {
            let (attacker, token, refused, wrong) = (attacker.clone(), token.clone(), refused.clone(), wrong.clone());
            tokio::spawn(async move {
                for n in (w..GUESSES).step_by(PARALLEL as usize) {
                    let guess = format!("password guess {n}");
                    let form = [("username", "victim"), ("password", guess.as_str()), ("csrf_token", &token)];
                    let res = attacker.post_without_token("/login", &form, None).await;
                    match res.status() {
                        StatusCode::TOO_MANY_REQUESTS => refused.fetch_add(1, Ordering::Relaxed),
                        StatusCode::UNAUTHORIZED => wrong.fetch_add(1, Ordering::Relaxed),
                        other => panic!("guess {n}: unexpected {other}"),
                    };
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("worker");
    }
    let elapsed = started.elapsed();
    let runs = argon2_runs() - before;
    let (refused, wrong) = (refused.load(Ordering::Relaxed), wrong.load(Ordering::Relaxed));
    println!(
        "{GUESSES} guesses in {:.1} s: {wrong} checked (401), {refused} refused (429), {runs} Argon2 verifications",
        elapsed.as_secs_f64()
    );
    assert_eq!(wrong + refused, GUESSES);
    assert_eq!(u64::from(wrong), runs, "every checked guess is one verification, no refused one is");
    // 5 free guesses, then one after 1 s, 2 s, 4 s, …: at most 5 + log2(t) + 1.
    let bound = 5 + (elapsed.as_secs_f64() + 1.0).log2().ceil() as u64 + 1;
    assert!(runs >= 5 && runs <= bound, "{runs} verifications in {elapsed:?} (bound {bound})");

    // The owner, from their network, is not held back.
    let owner = app.arriving_from("198.51.100.20");
    let res = owner.post("/login", &[("username", "victim"), ("password", PASSWORD)], None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}
