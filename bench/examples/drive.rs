//! Drives one system in-process (no TCP) and counts heap allocations per
//! request: the "counting allocations on the hot path" tool of issue 7, and
//! a steady loop to run under `perf` or `valgrind --tool=callgrind`.
//!
//! ```text
//! cargo run --release --example drive -- <system> <route> [requests]
//! ```

use axum::body::Body;
use http::{header, Request};
use palisade_bench::apps::{self, System};
use palisade_bench::options::Options;
use std::alloc::{GlobalAlloc, Layout, System as SystemAlloc};
use std::sync::atomic::{AtomicU64, Ordering};
use tower::ServiceExt;

/// The system allocator, counting calls to `alloc` and `realloc`.
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { SystemAlloc.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { SystemAlloc.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { SystemAlloc.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: drive <system> <route> [requests]";
    let system = args.next().and_then(|name| System::from_name(&name)).expect(usage);
    let route = args.next().expect(usage);
    let requests: u64 = args.next().map(|n| n.parse().expect(usage)).unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let app = apps::build(system, &Options::default()).await.expect("system builds");
        let cookie = apps::login_cookie(&app).await;
        let request = |cookie: &Option<String>| {
            let mut request = Request::get(route.as_str());
            if let Some(cookie) = cookie {
                request = request.header(header::COOKIE, cookie);
            }
            request.body(Body::empty()).expect("request")
        };
        // Measures the request alone: building it is not counted.
        let mut counted = 0;
        let mut cookie = cookie;
        for _ in 0..requests {
            let req = request(&cookie);
            let before = ALLOCATIONS.load(Ordering::Relaxed);
            let response = app.clone().oneshot(req).await.expect("infallible");
            let after = ALLOCATIONS.load(Ordering::Relaxed);
            counted += after - before;
            assert!(response.status().is_success(), "{}", response.status());
            // A cookie session's value changes on every write: follow it,
            // as a browser would.
            if let Some(pair) = apps::cookie_pair(&response) {
                cookie = Some(pair);
            }
            drop(response);
        }
        println!(
            "{} {route}: {requests} requests, {:.1} allocations per request (response dropped outside the count)",
            system.name(),
            counted as f64 / requests as f64
        );
    });
}
