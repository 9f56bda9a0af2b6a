//! Palisade's XChaCha20-Poly1305 (ring's ChaCha20-Poly1305 under an
//! HChaCha20 subkey) against RustCrypto's `chacha20poly1305` on random
//! keys, nonces, associated data and messages.
//!
//! Properties: the same ciphertext and tag byte for byte; both open it;
//! both refuse it with one bit flipped or under other associated data; on
//! arbitrary bytes as a ciphertext, both agree (both refuse).

use crate::input::Input;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::XChaCha20Poly1305;
use palisade::fuzz_internals::{xchacha_open, xchacha_seal};

pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let key = input.array::<32>();
    let nonce = input.array::<24>();
    let flip = input.array::<2>();
    let aad = input.short().to_vec();
    let message = input.rest();
    let theirs = XChaCha20Poly1305::new((&key).into());

    let ours = xchacha_seal(&key, &nonce, &aad, message).expect("any message fits");
    let reference = theirs.encrypt((&nonce).into(), Payload { msg: message, aad: &aad }).expect("seals");
    assert_eq!(ours, reference, "the ciphertexts differ");
    assert_eq!(xchacha_open(&key, &nonce, &aad, &ours).as_deref(), Some(message));

    let mut tampered = ours.clone();
    let at = usize::from(u16::from_le_bytes(flip)) % tampered.len();
    tampered[at] ^= 1 << (flip[0] % 8);
    assert_eq!(xchacha_open(&key, &nonce, &aad, &tampered), None, "a flipped bit was accepted");
    assert!(theirs.decrypt((&nonce).into(), Payload { msg: &tampered, aad: &aad }).is_err());
    let mut other_aad = aad.clone();
    other_aad.push(0);
    assert_eq!(xchacha_open(&key, &nonce, &other_aad, &ours), None, "other associated data was accepted");

    // The message itself taken as a ciphertext: both must say the same.
    let ours_open = xchacha_open(&key, &nonce, &aad, message);
    let theirs_open = theirs.decrypt((&nonce).into(), Payload { msg: message, aad: &aad }).ok();
    assert_eq!(ours_open, theirs_open);
}
