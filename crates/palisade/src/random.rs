//! Randomness, only ever from the operating system's CSPRNG.

use zeroize::Zeroizing;

/// `N` bytes from the OS CSPRNG (`getrandom`).
///
/// Through the C library's `getrandom` (the `getrandom` crate from 0.3 on;
/// 0.2 made the system call itself): with glibc 2.41 or later on Linux 6.11
/// or later the call is answered in the vDSO, without entering the kernel,
/// and is still the kernel's generator, reseeded by it and safe across
/// `fork`. On this project's bench machine (glibc 2.36) it is a system call
/// of about 0.5 µs, one per AEAD nonce and per secret.
///
/// If the OS cannot give randomness the process must not go on issuing
/// predictable session ids or nonces, so this aborts the request's task by
/// panicking — the only panic in the crate, and one that cannot be reached
/// from input.
pub(crate) fn bytes<const N: usize>() -> Zeroizing<[u8; N]> {
    let mut buf = Zeroizing::new([0u8; N]);
    if let Err(err) = getrandom::fill(buf.as_mut_slice()) {
        tracing::error!(%err, "the OS random number generator failed");
        panic!("the OS random number generator failed: {err}");
    }
    buf
}

/// How many bytes [`public_bytes`] fetches from the OS at a time, per thread.
const PUBLIC_POOL_LEN: usize = 512;

/// OS random bytes fetched ahead for [`public_bytes`], per thread.
struct PublicPool {
    buf: Zeroizing<[u8; PUBLIC_POOL_LEN]>,
    /// Bytes at the start of `buf` already handed out (and zeroed).
    used: usize,
}

thread_local! {
    static PUBLIC_POOL: std::cell::RefCell<PublicPool> =
        std::cell::RefCell::new(PublicPool { buf: Zeroizing::new([0; PUBLIC_POOL_LEN]), used: PUBLIC_POOL_LEN });
}

/// `N` bytes from the OS CSPRNG for a value that is **public as soon as it
/// is used** and whose repetition would reveal nothing: a CSP nonce (in the
/// page), the one-time pad of a masked CSRF token (in the token), the
/// random part of a signed double-submit value (in the cookie).
///
/// The bytes are the OS's, fetched [`PUBLIC_POOL_LEN`] at a time per thread
/// (one `getrandom` system call per few pages instead of two per page) and
/// zeroed in the pool once handed out. Never for secrets (session ids,
/// keys, CSRF secrets, remember-me tokens) nor AEAD nonces, which take
/// [`bytes`]: bytes waiting in the pool sit in memory before their use, and
/// a process that forks without `exec` copies the forking thread's pool —
/// harmless for a nonce or a mask used twice, fatal for a key or an AEAD
/// nonce.
pub(crate) fn public_bytes<const N: usize>() -> [u8; N] {
    const { assert!(N <= PUBLIC_POOL_LEN) };
    let mut out = [0u8; N];
    PUBLIC_POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        if PUBLIC_POOL_LEN - pool.used < N {
            let fresh = bytes::<PUBLIC_POOL_LEN>();
            pool.buf.copy_from_slice(fresh.as_slice());
            pool.used = 0;
        }
        let start = pool.used;
        out.copy_from_slice(&pool.buf[start..start + N]);
        pool.buf[start..start + N].fill(0);
        pool.used += N;
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_bytes_are_never_handed_out_twice() {
        // Across several refills of the pool: no 16-byte value repeats, and
        // none is all zeros (a zeroed, already used slot handed out again).
        let mut seen = std::collections::HashSet::new();
        for _ in 0..(4 * PUBLIC_POOL_LEN / 16) {
            let value = public_bytes::<16>();
            assert_ne!(value, [0u8; 16]);
            assert!(seen.insert(value), "a public random value repeated");
        }
    }

    #[test]
    fn public_bytes_refill_when_the_rest_is_too_short() {
        // 512 = 28 × 18 + 8: the 29th draw of 18 bytes needs a refill.
        for _ in 0..100 {
            assert_ne!(public_bytes::<18>(), [0u8; 18]);
        }
    }
}
