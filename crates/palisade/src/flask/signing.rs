//! itsdangerous's signatures, as Flask and Flask-Session configure them:
//! key derivation `hmac` (key = HMAC-SHA1(secret, salt)), digest SHA-1,
//! separator `.`, base64url without padding.

use super::keys::FlaskKeys;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

type HmacSha1 = Hmac<Sha1>;

/// Which of the keys made a signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignedWith {
    /// `SECRET_KEY`.
    Current,
    /// `SECRET_KEY_FALLBACKS[i]`: an old key, still accepted. A cookie
    /// signed with one is due to be re-signed by Flask; once no fallback
    /// shows up any more, the key can leave the list.
    Fallback(usize),
}

/// The part of `signed` before its last `.`, if one of `keys` (with
/// `salt`) made the signature after it. itsdangerous tries the current key
/// first, then the fallbacks newest first; so does this.
pub(crate) fn unsign<'a>(keys: &FlaskKeys, salt: &[u8], signed: &'a str) -> Option<(&'a str, SignedWith)> {
    let (message, signature) = signed.rsplit_once('.')?;
    let tag = URL_SAFE_NO_PAD.decode(signature).ok()?;
    if tag.len() != 20 {
        return None;
    }
    let signed_with = keys.newest_first().find(|(secret, _)| {
        let key = derive_key(secret, salt);
        let mut mac = HmacSha1::new_from_slice(&key[..]).expect("HMAC takes any key length");
        mac.update(message.as_bytes());
        // Constant time: a compare that stops at the first wrong byte lets
        // an attacker who can time responses find a valid tag byte by byte.
        bool::from(mac.finalize().into_bytes().as_slice().ct_eq(&tag))
    })?;
    Some((message, signed_with.1))
}

/// itsdangerous's `key_derivation="hmac"`: HMAC-SHA1(secret, salt).
fn derive_key(secret: &[u8], salt: &[u8]) -> Zeroizing<[u8; 20]> {
    let mut mac = HmacSha1::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(salt);
    Zeroizing::new(mac.finalize().into_bytes().into())
}

/// An itsdangerous timestamp: base64url of a big-endian unsigned integer
/// of seconds since the Unix epoch.
pub(crate) fn timestamp(text: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    if bytes.len() > 7 {
        return None;
    }
    Some(bytes.iter().fold(0i64, |n, &b| (n << 8) | i64::from(b)))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `message.signature` as itsdangerous's `Signer(secret, salt,
    /// key_derivation="hmac").sign(message)` makes it.
    pub(crate) fn sign(secret: &[u8], salt: &[u8], message: &str) -> String {
        let key = derive_key(secret, salt);
        let mut mac = HmacSha1::new_from_slice(&key[..]).unwrap();
        mac.update(message.as_bytes());
        format!("{message}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn the_current_key_and_the_fallbacks_are_told_apart() {
        let keys = FlaskKeys::new("new").with_fallback("oldest").with_fallback("old");
        assert_eq!(unsign(&keys, b"s", &sign(b"new", b"s", "a.b")), Some(("a.b", SignedWith::Current)));
        assert_eq!(unsign(&keys, b"s", &sign(b"old", b"s", "x")), Some(("x", SignedWith::Fallback(1))));
        assert_eq!(unsign(&keys, b"s", &sign(b"oldest", b"s", "x")), Some(("x", SignedWith::Fallback(0))));
        assert_eq!(unsign(&keys, b"other salt", &sign(b"new", b"s", "x")), None);
        assert_eq!(unsign(&keys, b"s", &sign(b"unknown", b"s", "x")), None);
        let mut tampered = sign(b"new", b"s", "x");
        tampered.replace_range(0..1, "y");
        assert_eq!(unsign(&keys, b"s", &tampered), None);
        assert_eq!(unsign(&keys, b"s", "no separator"), None);
    }

    #[test]
    fn timestamps_are_big_endian_seconds() {
        assert_eq!(timestamp("ZVPxAA"), Some(1_700_000_000));
        assert_eq!(timestamp("AQIDBAUGBwg"), None, "more than 7 bytes");
        assert_eq!(timestamp("!!"), None);
    }
}
