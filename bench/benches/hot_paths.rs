//! Micro-benchmarks of Palisade's hot paths (issue 7):
//!
//! - `cookie/{encode,decode}/{signed,encrypted}/{100,1024}`: the cookie codec
//!   with 100-byte and 1 KiB payloads;
//! - `session_id/verify`: what a server-side request pays before its store
//!   read (decode the signed 32-byte id, hash it into the store key);
//! - `redirect/*`: `RedirectPolicy` on typical and hostile targets;
//! - `csp/render/*`, `headers/*`: CSP header rendering, and one request
//!   through `SecurityHeadersLayer` with and without a nonce (generation,
//!   rendering, the headers);
//! - `layer/*`: one request through a whole router in-process (no TCP), per
//!   system, so the session machinery's own cost shows without loopback.
//!
//! - `csrf/{mask,unmask,verify,verify_wrong}`: the synchronizer token, through
//!   `palisade::bench_internals` (the layer's own code, reachable only with
//!   the `bench-internals` feature);
//! - `csp_nonce/generate`: a nonce, as made for every response.
//!
//! `cargo bench --bench hot_paths [-- FILTER]`.

use axum::body::Body;
use axum::routing::get;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use http::{header, Request};
use palisade::cookie::CookieCodec;
use palisade::headers::{ContentSecurityPolicy, CspNonce, SecurityHeadersLayer};
use palisade::keys::{KeyRing, Purpose};
use palisade::redirect::RedirectPolicy;
use palisade::session::DEFAULT_COOKIE_NAME;
use palisade::store::StoreKey;
use palisade_bench::apps::{self, System};
use palisade_bench::options::Options;
use std::hint::black_box;
use tower::ServiceExt;

const NOW: i64 = 1_700_000_000;
const PAYLOAD_SIZES: [usize; 2] = [100, 1024];

fn codecs() -> [(&'static str, CookieCodec); 2] {
    let ring = KeyRing::generate();
    [
        ("signed", CookieCodec::signed(&ring, Purpose::CookieSigning)),
        ("encrypted", CookieCodec::encrypted(&ring, Purpose::CookieEncryption)),
    ]
}

fn cookie_codec(c: &mut Criterion) {
    for (kind, codec) in codecs() {
        let mut encode = c.benchmark_group(format!("cookie/encode/{kind}"));
        for size in PAYLOAD_SIZES {
            let payload = vec![b'x'; size];
            encode.throughput(Throughput::Bytes(size as u64));
            encode.bench_with_input(BenchmarkId::from_parameter(size), &payload, |b, payload| {
                b.iter(|| codec.encode(black_box("__Host-prefs"), black_box(payload), NOW))
            });
        }
        encode.finish();
        let mut decode = c.benchmark_group(format!("cookie/decode/{kind}"));
        for size in PAYLOAD_SIZES {
            let value = codec.encode("__Host-prefs", &vec![b'x'; size], NOW).expect("encodes");
            decode.throughput(Throughput::Bytes(size as u64));
            decode.bench_with_input(BenchmarkId::from_parameter(size), &value, |b, value| {
                b.iter(|| codec.decode(black_box("__Host-prefs"), black_box(value), NOW + 5))
            });
        }
        decode.finish();
    }
}

fn session_id(c: &mut Criterion) {
    // The same codec and name the session layer uses for server-side ids.
    let codec = CookieCodec::signed(&KeyRing::generate(), Purpose::SessionSigning);
    let id = [7u8; 32];
    let value = codec.encode(DEFAULT_COOKIE_NAME, &id, NOW).expect("encodes");
    c.bench_function("session_id/verify", |b| {
        b.iter(|| {
            let decoded = codec.decode(DEFAULT_COOKIE_NAME, black_box(&value), NOW + 5).expect("verifies");
            StoreKey::from_session_id(&decoded.payload)
        })
    });
    let mut tampered = value.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ascii");
    c.bench_function("session_id/reject_tampered", |b| {
        b.iter(|| codec.decode(DEFAULT_COOKIE_NAME, black_box(&tampered), NOW + 5).is_err())
    });
}

fn csrf_and_nonce(c: &mut Criterion) {
    use palisade::bench_internals::{csp_nonce, csrf_unmask, CsrfSecret};
    let secret = CsrfSecret::generate();
    let token = secret.mask();
    let other = CsrfSecret::generate().mask();
    c.bench_function("csrf/mask", |b| b.iter(|| black_box(&secret).mask()));
    c.bench_function("csrf/unmask", |b| b.iter(|| csrf_unmask(black_box(&token))));
    c.bench_function("csrf/verify", |b| b.iter(|| black_box(&secret).verifies(black_box(&token))));
    c.bench_function("csrf/verify_wrong", |b| b.iter(|| black_box(&secret).verifies(black_box(&other))));
    c.bench_function("csp_nonce/generate", |b| b.iter(csp_nonce));
}

fn redirect(c: &mut Criterion) {
    let policy = RedirectPolicy::same_origin().allow_host("accounts.example.com");
    let long = format!("/search?q={}", "a".repeat(2000));
    let targets = [
        ("path", "/account?tab=security"),
        ("relative", "account/settings"),
        ("allowed_host", "https://accounts.example.com/login"),
        ("scheme_relative_evil", "//evil.example/phish"),
        ("backslash_evil", "/\\evil.example"),
        ("control_chars_evil", "\t/\n/evil.example"),
        ("long_path", long.as_str()),
    ];
    let mut group = c.benchmark_group("redirect/is_allowed");
    for (name, target) in targets {
        group.bench_with_input(BenchmarkId::from_parameter(name), target, |b, target| {
            b.iter(|| policy.is_allowed(black_box(target)))
        });
    }
    group.finish();
}

fn security_headers(c: &mut Criterion) {
    let policy = ContentSecurityPolicy::strict();
    let nonce = "3q2-7wAAAAAAAAAAAAAAAA";
    c.bench_function("csp/render/strict_with_nonce", |b| b.iter(|| policy.render(Some(black_box(nonce)))));
    c.bench_function("csp/render/strict_without_nonce", |b| b.iter(|| policy.render(black_box(None))));

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let app = axum::Router::new()
        .route("/nonce", get(|nonce: CspNonce| async move { nonce.as_str().to_owned() }))
        .route("/plain", get(|| async { "ok" }))
        .layer(SecurityHeadersLayer::new());
    let mut group = c.benchmark_group("headers/layer");
    for route in ["/nonce", "/plain"] {
        group.bench_function(&route[1..], |b| {
            b.to_async(&runtime).iter(|| {
                let request = Request::get(route).body(Body::empty()).expect("request");
                app.clone().oneshot(request)
            })
        });
    }
    group.finish();
}

/// One request through each system's router, in-process: the session
/// layer, the handler and the store, without hyper or TCP.
fn layer(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let systems = [
        System::Bare,
        System::PalisadeCookie,
        System::PalisadeMemory,
        System::TowerSessionsMemory,
        System::TowerCookiesSigned,
    ];
    for route in ["/counter", "/read", "/none"] {
        let mut group = c.benchmark_group(format!("layer{route}"));
        for system in systems {
            let (app, cookie) = runtime.block_on(async {
                let app = apps::build(system, &Options::default()).await.expect("builds");
                let cookie = apps::login_cookie(&app).await;
                (app, cookie)
            });
            group.bench_function(system.name(), |b| {
                b.to_async(&runtime).iter(|| {
                    let mut request = Request::get(route);
                    if let Some(cookie) = &cookie {
                        request = request.header(header::COOKIE, cookie);
                    }
                    let request = request.body(Body::empty()).expect("request");
                    app.clone().oneshot(request)
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, cookie_codec, session_id, csrf_and_nonce, redirect, security_headers, layer);
criterion_main!(benches);
