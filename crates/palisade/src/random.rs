//! Randomness, only ever from the operating system's CSPRNG.

use zeroize::Zeroizing;

/// `N` bytes from the OS CSPRNG (`getrandom`).
///
/// If the OS cannot give randomness the process must not go on issuing
/// predictable session ids or nonces, so this aborts the request's task by
/// panicking — the only panic in the crate, and one that cannot be reached
/// from input.
pub(crate) fn bytes<const N: usize>() -> Zeroizing<[u8; N]> {
    let mut buf = Zeroizing::new([0u8; N]);
    if let Err(err) = getrandom::getrandom(buf.as_mut_slice()) {
        tracing::error!(%err, "the OS random number generator failed");
        panic!("the OS random number generator failed: {err}");
    }
    buf
}
