//! `palisade keygen`: secret keys from the OS CSPRNG, in the format each
//! framework expects.
//!
//! A signing key that can be guessed lets anyone mint a session cookie for
//! any user (flask-unsign and badsecrets try word lists of the keys people
//! copy from tutorials). Every byte here comes from the operating system's
//! generator (`getrandom`), never from a seeded PRNG, and the key lives in
//! zeroized buffers until it is printed.

use crate::cli::KeygenArgs;
use std::fmt::Write as _;
use zeroize::Zeroizing;

/// Django's `get_random_secret_key` alphabet (50 characters of lower-case
/// letters, digits and punctuation) and length.
const DJANGO_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*(-_=+)";
const DJANGO_LENGTH: usize = 50;

#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed: {0}")]
pub struct RandomError(getrandom::Error);

/// The key `args` asks for.
pub fn generate(args: &KeygenArgs) -> Result<Zeroizing<String>, RandomError> {
    if args.flask {
        flask_key()
    } else if args.django {
        django_key()
    } else {
        Ok(palisade::keys::KeyRing::generate_secret_base64())
    }
}

/// 32 random bytes as 64 hex digits: what Flask's documentation suggests
/// (`python -c 'import secrets; print(secrets.token_hex())'`).
fn flask_key() -> Result<Zeroizing<String>, RandomError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    getrandom::fill(bytes.as_mut_slice()).map_err(RandomError)?;
    let mut hex = Zeroizing::new(String::with_capacity(64));
    for b in bytes.iter() {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{b:02x}");
    }
    Ok(hex)
}

/// 50 characters drawn uniformly from Django's alphabet. Rejection
/// sampling: a byte of 250 or more is thrown away, so `byte % 50` has no
/// bias toward the first characters (log2(50) ≈ 5.6 bits each, 282 in all).
fn django_key() -> Result<Zeroizing<String>, RandomError> {
    let mut key = Zeroizing::new(String::with_capacity(DJANGO_LENGTH));
    let mut pool = Zeroizing::new([0u8; 64]);
    while key.len() < DJANGO_LENGTH {
        getrandom::fill(pool.as_mut_slice()).map_err(RandomError)?;
        for &b in pool.iter() {
            if key.len() == DJANGO_LENGTH {
                break;
            }
            let limit = (256 / DJANGO_ALPHABET.len() * DJANGO_ALPHABET.len()) as u8; // 250
            if b < limit {
                key.push(DJANGO_ALPHABET[usize::from(b) % DJANGO_ALPHABET.len()] as char);
            }
        }
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(flask: bool, django: bool) -> KeygenArgs {
        KeygenArgs { flask, django }
    }

    #[test]
    fn the_default_key_is_one_palisade_accepts() {
        let key = generate(&args(false, false)).unwrap();
        assert!(palisade::keys::KeyRing::from_base64(&key).is_ok());
    }

    #[test]
    fn flask_keys_are_64_hex_digits_and_differ() {
        let a = generate(&args(true, false)).unwrap();
        let b = generate(&args(true, false)).unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(*a, *b);
    }

    #[test]
    fn django_keys_use_djangos_alphabet_and_length_and_every_character_appears() {
        let mut seen = [false; 256];
        for _ in 0..200 {
            let key = generate(&args(false, true)).unwrap();
            assert_eq!(key.len(), DJANGO_LENGTH);
            for b in key.bytes() {
                assert!(DJANGO_ALPHABET.contains(&b), "{b}");
                seen[usize::from(b)] = true;
            }
        }
        // 10,000 draws: a character never drawn would point at a biased or
        // truncated mapping (the chance for a fair one is below 1e-80).
        assert!(DJANGO_ALPHABET.iter().all(|&c| seen[usize::from(c)]));
    }
}
