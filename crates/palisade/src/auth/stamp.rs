//! Sessions tied to the password (Django's session auth hash).
//!
//! **The attack.** A password is changed outside the app's own "change
//! password" page — an admin tool, a reset flow, a support script, a second
//! app on the same user table — so [`password_changed`](super::password_changed)
//! never runs. Every session (and remember-me cookie) the old password
//! opened, the thief's included, would live on.
//!
//! **The defence.** The app says what a user's *credential stamp* is: any
//! bytes that change with the password (the password hash itself, a
//! `password_changed_at`, a security version). At sign-in the session keeps
//! an HMAC of it (keyed by the ring's `CredentialStamp` sub-key, so a store
//! dump holds neither the stamp nor anything forgeable); on every request of
//! a signed-in session the stamp is loaded again and compared in constant
//! time. A different stamp, or a user who no longer exists, ends the session
//! and its remember-me token on that request. A remember-me token carries the
//! stamp of its sign-in too, so an old "remember me" cookie cannot sign the
//! thief back in. A loader failure is a `503` (fail closed).
//!
//! The price is one lookup per request of a signed-in session, the one a
//! typical app makes anyway to load its user. Switching the check on ends the
//! sessions signed in before (they carry no stamp), once.

use crate::keys::{KeyId, PurposeKeys};
use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::Arc;

/// A stamp loader's failure (the user database is down): fail closed.
pub type StampError = Box<dyn std::error::Error + Send + Sync>;

/// Where the current credential stamp of a user comes from.
///
/// ```
/// use palisade::auth::{CredentialStamp, StampError};
/// struct Users; // the app's user table
/// #[async_trait::async_trait]
/// impl CredentialStamp for Users {
///     async fn stamp(&self, user_id: &str) -> Result<Option<Vec<u8>>, StampError> {
///         // e.g. SELECT password_hash FROM users WHERE id = $1
///         Ok((user_id == "42").then(|| b"$argon2id$v=19$...".to_vec()))
///     }
/// }
/// ```
#[async_trait]
pub trait CredentialStamp: Send + Sync + 'static {
    /// Bytes that change whenever the user's password changes; `None` when
    /// the user does not exist (any session of theirs is ended).
    async fn stamp(&self, user_id: &str) -> Result<Option<Vec<u8>>, StampError>;
}

/// The configured loader (a newtype so that `AuthConfig` stays `Debug`).
#[derive(Clone)]
pub(crate) struct StampLoader(pub(crate) Arc<dyn CredentialStamp>);

impl std::fmt::Debug for StampLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CredentialStamp(..)")
    }
}

fn mac(key: &[u8; 32], user_id: &str, stamp: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(&(user_id.len() as u64).to_be_bytes());
    mac.update(user_id.as_bytes());
    mac.update(stamp);
    mac
}

/// `<key id hex>.<HMAC-SHA256 base64url>` under the primary key.
pub(crate) fn seal(keys: &PurposeKeys, user_id: &str, stamp: &[u8]) -> String {
    let key = keys.primary();
    let tag = mac(key.expose(), user_id, stamp).finalize().into_bytes();
    let id = key.id();
    let id: String = id.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("{id}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// True when `sealed` is the seal of this user's `stamp` under the primary
/// key or a fallback (a key rotation does not end every session).
/// Constant time in the tag (`Mac::verify_slice`).
pub(crate) fn verify(keys: &PurposeKeys, user_id: &str, stamp: &[u8], sealed: &str) -> bool {
    let Some((id, tag)) = sealed.split_once('.') else { return false };
    let Some(id) = parse_key_id(id) else { return false };
    let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else { return false };
    let Some((key, _)) = keys.find(id) else { return false };
    mac(key.expose(), user_id, stamp).verify_slice(&tag).is_ok()
}

fn parse_key_id(hex: &str) -> Option<KeyId> {
    if hex.len() != 8 || !hex.is_ascii() {
        return None;
    }
    let mut bytes = [0u8; 4];
    for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(KeyId(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyRing, Purpose};

    #[test]
    fn a_seal_verifies_only_for_its_user_and_stamp_and_survives_rotation() {
        let old_secret = KeyRing::generate_secret_base64();
        let old = KeyRing::from_base64(&old_secret).unwrap();
        let keys = old.derive(Purpose::CredentialStamp);
        let sealed = seal(&keys, "42", b"hash-1");
        assert!(verify(&keys, "42", b"hash-1", &sealed));
        assert!(!verify(&keys, "42", b"hash-2", &sealed), "password changed");
        assert!(!verify(&keys, "4", b"2hash-1", &sealed), "no ambiguity between user and stamp");
        assert!(!verify(&keys, "43", b"hash-1", &sealed));
        for bad in ["", ".", "zz.aa", &sealed.replace('.', ""), &format!("{sealed}A")] {
            assert!(!verify(&keys, "42", b"hash-1", bad), "{bad}");
        }
        let rotated = KeyRing::from_base64(&KeyRing::generate_secret_base64())
            .unwrap()
            .with_fallback_base64(&old_secret)
            .unwrap();
        assert!(verify(&rotated.derive(Purpose::CredentialStamp), "42", b"hash-1", &sealed), "old key still verifies");
        let other = KeyRing::from_base64(&KeyRing::generate_secret_base64()).unwrap();
        assert!(!verify(&other.derive(Purpose::CredentialStamp), "42", b"hash-1", &sealed));
    }
}
