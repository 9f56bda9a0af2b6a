//! Drives one system in-process (no TCP) and counts heap allocations per
//! request: the "counting allocations on the hot path" tool of issue 7, and
//! a steady loop to run under `perf` or `valgrind --tool=callgrind`.
//!
//! ```text
//! cargo run --release --example drive -- <system> <route> [requests] [new]
//! ```
//!
//! With `new`, every request comes without a cookie (a new visitor);
//! otherwise it carries the cookie `/login` gave and follows the cookies
//! the responses set, as a browser would.

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
    let usage = "usage: drive <system> <route> [requests] [new]";
    let system = args.next().and_then(|name| System::from_name(&name)).expect(usage);
    let route = args.next().expect(usage);
    let requests: u64 = args.next().map(|n| n.parse().expect(usage)).unwrap_or(100_000);
    let new_visitor = args.next().as_deref() == Some("new");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let app = apps::build(system, &Options::default()).await.expect("system builds");
        let cookie = if new_visitor { None } else { apps::login_cookie(&app).await };
        // Measures the request alone: building it is not counted.
        let mut counted = 0;
        let mut cookie = cookie;
        for _ in 0..requests {
            let req = apps::request(&route, cookie.as_deref());
            let before = ALLOCATIONS.load(Ordering::Relaxed);
            let response = app.clone().oneshot(req).await.expect("infallible");
            let after = ALLOCATIONS.load(Ordering::Relaxed);
            counted += after - before;
            assert!(response.status().is_success(), "{}", response.status());
            // A cookie session's value changes on every write: follow it,
            // as a browser would.
            if let Some(set) = apps::cookie_pair(&response).filter(|_| !new_visitor) {
                cookie = Some(apps::merge_cookies(cookie.as_deref(), &set));
            }
            drop(response);
        }
        println!(
            "{} {route}{}: {requests} requests, {:.1} allocations per request (response dropped outside the count)",
            system.name(),
            if new_visitor { " (new visitor)" } else { "" },
            counted as f64 / requests as f64
        );
    });
}
