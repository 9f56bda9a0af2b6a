//! Master secrets, per-purpose sub-keys and key rotation.
//!
//! A [`KeyRing`] holds one primary secret and any number of fallbacks. Each
//! purpose (session cookie signing, cookie encryption, CSRF, …) gets its own
//! 256-bit sub-key derived with HKDF-SHA256, so a key that leaks from one
//! purpose (say, a CSRF token oracle) cannot forge or decrypt another.
//!
//! Rotation without logging anyone out: put the new secret first and keep the
//! old one as a fallback. New cookies use the primary; cookies made with a
//! fallback still verify and are re-issued under the primary. Removing a
//! secret from the ring invalidates every cookie it made.
//!
//! ```
//! use palisade::keys::{KeyRing, Purpose};
//! let old = KeyRing::generate_secret_base64();
//! let new = KeyRing::generate_secret_base64();
//! let ring = KeyRing::from_base64(&new)?.with_fallback_base64(&old)?;
//! let session_keys = ring.derive(Purpose::SessionSigning);
//! assert_eq!(session_keys.fallbacks().len(), 1);
//! # Ok::<(), palisade::keys::KeyError>(())
//! ```

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use hkdf::Hkdf;
use sha2::Sha256;
use std::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// The environment variable [`KeyRing::from_env`] reads the primary secret from.
pub const SECRET_KEY_ENV: &str = "PALISADE_SECRET_KEY";
/// Comma-separated older secrets that still verify (rotation).
pub const FALLBACK_KEYS_ENV: &str = "PALISADE_SECRET_KEY_FALLBACKS";
/// Minimum length of a master secret in bytes (256 bits).
pub const MIN_SECRET_LEN: usize = 32;

const HOW_TO_GENERATE: &str = "generate one with `openssl rand -base64 32` (or `head -c 32 /dev/urandom | base64`)";

/// Why a secret was refused. Never contains the secret.
///
/// `Debug` prints the same text as `Display`, so `fn main() -> Result<…>`
/// with `KeyRing::from_env()?` shows the user how to make a key, not
/// `Missing { var: … }`.
#[derive(thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    #[error("no secret key configured: set {var}; {HOW_TO_GENERATE}")]
    Missing { var: &'static str },
    #[error("the secret key is not valid base64; {HOW_TO_GENERATE}")]
    NotBase64,
    #[error("the secret key is {len} bytes, at least {MIN_SECRET_LEN} random bytes are required; {HOW_TO_GENERATE}")]
    TooShort { len: usize },
    #[error("the secret key does not look random (too few distinct bytes, or plain text); {HOW_TO_GENERATE}")]
    LowEntropy,
    #[error("two secrets in the key ring are identical or share a key id; remove the duplicate")]
    Duplicate,
    #[error("an app context is a name of 1 to {MAX_APP_CONTEXT_LEN} bytes without NUL, such as \"billing\"")]
    BadAppContext,
}

/// The longest app context [`KeyRing::with_app_context`] takes.
pub const MAX_APP_CONTEXT_LEN: usize = 255;

impl std::fmt::Debug for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// What a sub-key is for. Each purpose derives an unrelated key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Purpose {
    /// MAC of the server-side session id cookie.
    SessionSigning,
    /// AEAD of cookie sessions (all data in the cookie).
    SessionEncryption,
    /// CSRF token secrets and signed double-submit cookies.
    Csrf,
    /// Remember-me cookies.
    RememberMe,
    /// Application cookies signed with [`crate::cookie::CookieCodec`].
    CookieSigning,
    /// Application cookies encrypted with [`crate::cookie::CookieCodec`].
    CookieEncryption,
    /// The HMAC of a user's credential stamp kept in their sessions
    /// ([`crate::auth::CredentialStamp`]).
    CredentialStamp,
}

impl Purpose {
    /// How many purposes there are (the size of a per-purpose cache).
    pub(crate) const COUNT: usize = 7;

    /// A dense index below [`COUNT`](Self::COUNT).
    pub(crate) fn index(self) -> usize {
        match self {
            Purpose::SessionSigning => 0,
            Purpose::SessionEncryption => 1,
            Purpose::Csrf => 2,
            Purpose::RememberMe => 3,
            Purpose::CookieSigning => 4,
            Purpose::CookieEncryption => 5,
            Purpose::CredentialStamp => 6,
        }
    }

    fn info(self) -> &'static [u8] {
        match self {
            Purpose::SessionSigning => b"palisade/v1/session-signing",
            Purpose::SessionEncryption => b"palisade/v1/session-encryption",
            Purpose::Csrf => b"palisade/v1/csrf",
            Purpose::RememberMe => b"palisade/v1/remember-me",
            Purpose::CookieSigning => b"palisade/v1/cookie-signing",
            Purpose::CookieEncryption => b"palisade/v1/cookie-encryption",
            Purpose::CredentialStamp => b"palisade/v1/credential-stamp",
        }
    }
}

/// A short public identifier of a master secret, carried in every cookie so
/// the verifier picks the right key without trying them all.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub(crate) [u8; 4]);

impl KeyId {
    pub fn as_bytes(&self) -> &[u8; 4] {
        &self.0
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({:02x}{:02x}{:02x}{:02x})", self.0[0], self.0[1], self.0[2], self.0[3])
    }
}

/// One master secret. Zeroized on drop; never printed.
#[derive(Zeroize, ZeroizeOnDrop)]
struct MasterSecret {
    bytes: Vec<u8>,
    #[zeroize(skip)]
    id: KeyId,
}

impl MasterSecret {
    fn new(bytes: Vec<u8>) -> Result<Self, KeyError> {
        let bytes = Zeroizing::new(bytes);
        check_secret(&bytes)?;
        let mut id = [0u8; 4];
        hkdf_expand(&bytes, &[b"palisade/v1/key-id"], &mut id);
        Ok(Self { bytes: bytes.to_vec(), id: KeyId(id) })
    }

    fn derive(&self, purpose: Purpose, context: Option<&str>) -> SubKey {
        let mut key = SubKey { id: self.id, bytes: [0u8; 32] };
        match context {
            None => hkdf_expand(&self.bytes, &[purpose.info()], &mut key.bytes),
            Some(app) => hkdf_expand(&self.bytes, &[purpose.info(), b"\0app:", app.as_bytes()], &mut key.bytes),
        }
        key
    }
}

fn hkdf_expand(secret: &[u8], info: &[&[u8]], out: &mut [u8]) {
    let hk = Hkdf::<Sha256>::new(Some(b"palisade key derivation v1"), secret);
    // `expand` only fails for outputs longer than 255 * 32 bytes; ours are <= 32.
    if hk.expand_multi_info(info, out).is_err() {
        unreachable!("HKDF output length is fixed and small");
    }
}

/// Refuses secrets that are short or obviously not random.
///
/// Stops offline brute force of the key from one captured cookie: a
/// passphrase like `changeme` can be guessed from a single signed value.
fn check_secret(bytes: &[u8]) -> Result<(), KeyError> {
    if bytes.len() < MIN_SECRET_LEN {
        return Err(KeyError::TooShort { len: bytes.len() });
    }
    let mut seen = [false; 256];
    for &b in bytes {
        seen[usize::from(b)] = true;
    }
    let distinct = seen.iter().filter(|s| **s).count();
    // 32 random bytes have ~30 distinct values; fewer than 16 is a pattern.
    // All-printable-ASCII has probability (95/256)^32 ≈ 1e-14 for random
    // bytes: it is a password, not a key.
    let all_text = bytes.iter().all(|b| (0x20..0x7f).contains(b));
    if distinct < 16 || all_text {
        return Err(KeyError::LowEntropy);
    }
    Ok(())
}

fn decode_base64(text: &str) -> Result<Vec<u8>, KeyError> {
    let text = text.trim();
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        if let Ok(bytes) = engine.decode(text) {
            return Ok(bytes);
        }
    }
    Err(KeyError::NotBase64)
}

/// A 256-bit key for one purpose, derived from one master secret.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SubKey {
    #[zeroize(skip)]
    id: KeyId,
    bytes: [u8; 32],
}

impl SubKey {
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The raw key, for the MAC or cipher that uses it.
    pub fn expose(&self) -> &[u8; 32] {
        &self.bytes
    }
}

impl fmt::Debug for SubKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubKey").field("id", &self.id).field("bytes", &"<redacted>").finish()
    }
}

/// The sub-keys of one purpose: the primary and the fallbacks, in ring order.
#[derive(Clone, Debug)]
pub struct PurposeKeys {
    primary: SubKey,
    fallbacks: Vec<SubKey>,
}

impl PurposeKeys {
    /// The key new values are made with.
    pub fn primary(&self) -> &SubKey {
        &self.primary
    }

    /// Older keys that still verify.
    pub fn fallbacks(&self) -> &[SubKey] {
        &self.fallbacks
    }

    /// Finds the key with `id`, and whether it is the primary.
    pub fn find(&self, id: KeyId) -> Option<(&SubKey, bool)> {
        if self.primary.id == id {
            return Some((&self.primary, true));
        }
        self.fallbacks.iter().find(|k| k.id == id).map(|k| (k, false))
    }
}

/// One primary master secret and its fallbacks.
#[derive(Clone)]
pub struct KeyRing {
    secrets: std::sync::Arc<Vec<MasterSecret>>,
    /// The application's name in every sub-key's HKDF info; see
    /// [`KeyRing::with_app_context`]. Not secret.
    context: Option<std::sync::Arc<str>>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<KeyId> = self.secrets.iter().map(|s| s.id).collect();
        f.debug_struct("KeyRing").field("key_ids", &ids).field("app_context", &self.context).finish()
    }
}

impl KeyRing {
    /// A ring with one primary secret given as raw bytes.
    pub fn from_bytes(secret: Vec<u8>) -> Result<Self, KeyError> {
        Ok(Self { secrets: std::sync::Arc::new(vec![MasterSecret::new(secret)?]), context: None })
    }

    /// A ring with one primary secret given in base64 (standard or URL-safe).
    pub fn from_base64(secret: &str) -> Result<Self, KeyError> {
        Self::from_bytes(decode_base64(secret)?)
    }

    /// Adds an older secret that still verifies but never signs.
    pub fn with_fallback_base64(self, secret: &str) -> Result<Self, KeyError> {
        self.with_fallback_bytes(decode_base64(secret)?)
    }

    /// Adds an older secret, as raw bytes.
    pub fn with_fallback_bytes(self, secret: Vec<u8>) -> Result<Self, KeyError> {
        let new = MasterSecret::new(secret)?;
        if self.secrets.iter().any(|s| s.id == new.id) {
            return Err(KeyError::Duplicate);
        }
        let mut secrets: Vec<MasterSecret> =
            self.secrets.iter().map(|s| MasterSecret { bytes: s.bytes.clone(), id: s.id }).collect();
        secrets.push(new);
        Ok(Self { secrets: std::sync::Arc::new(secrets), context: self.context })
    }

    /// Derives every sub-key for the application called `app` (its name in
    /// the HKDF info), for the primary secret and every fallback.
    ///
    /// Stops one app's cookies working in another: when two apps are given
    /// the same secret (one `PALISADE_SECRET_KEY` copied into two
    /// deployments, a shared secrets file), without a context a session
    /// cookie from one signs its holder in to the other wherever the user
    /// ids overlap. With different contexts their keys are unrelated.
    /// Every instance of one app must use the same context; setting one on
    /// a running app signs everyone out once (their cookies were made
    /// without it). The name is not secret.
    pub fn with_app_context(mut self, app: &str) -> Result<Self, KeyError> {
        if app.is_empty() || app.len() > MAX_APP_CONTEXT_LEN || app.contains('\0') {
            return Err(KeyError::BadAppContext);
        }
        self.context = Some(app.into());
        Ok(self)
    }

    /// Reads `PALISADE_SECRET_KEY` and, if set, the comma-separated
    /// `PALISADE_SECRET_KEY_FALLBACKS`.
    pub fn from_env() -> Result<Self, KeyError> {
        let primary =
            Zeroizing::new(std::env::var(SECRET_KEY_ENV).map_err(|_| KeyError::Missing { var: SECRET_KEY_ENV })?);
        let mut ring = Self::from_base64(&primary)?;
        if let Ok(fallbacks) = std::env::var(FALLBACK_KEYS_ENV) {
            let fallbacks = Zeroizing::new(fallbacks);
            for secret in fallbacks.split(',').filter(|s| !s.trim().is_empty()) {
                ring = ring.with_fallback_base64(secret)?;
            }
        }
        Ok(ring)
    }

    /// A fresh 256-bit secret from the OS CSPRNG, base64-encoded, for
    /// writing into configuration.
    pub fn generate_secret_base64() -> Zeroizing<String> {
        let bytes = crate::random::bytes::<32>();
        Zeroizing::new(STANDARD.encode(bytes.as_slice()))
    }

    /// A ring with a fresh random primary secret (lost on restart: every
    /// cookie it made dies with the process).
    pub fn generate() -> Self {
        loop {
            // A random 32-byte secret fails `check_secret` with negligible
            // probability; draw again rather than fail.
            if let Ok(ring) = Self::from_bytes(crate::random::bytes::<32>().to_vec()) {
                return ring;
            }
        }
    }

    /// The sub-keys for `purpose`.
    pub fn derive(&self, purpose: Purpose) -> PurposeKeys {
        let mut keys = self.secrets.iter().map(|s| s.derive(purpose, self.context.as_deref()));
        let primary = keys.next().unwrap_or_else(|| unreachable!("a KeyRing always holds a primary secret"));
        PurposeKeys { primary, fallbacks: keys.collect() }
    }

    /// The ids of the secrets, primary first.
    pub fn key_ids(&self) -> Vec<KeyId> {
        self.secrets.iter().map(|s| s.id).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without an app context the sub-keys are exactly what they were before
    /// contexts existed (HKDF-SHA256, salt "palisade key derivation v1",
    /// info = the purpose label): cookies made by older versions stay valid.
    #[test]
    fn without_a_context_the_derivation_is_unchanged() {
        let secret: Vec<u8> = (0u8..32).map(|i| i.wrapping_mul(73).wrapping_add(19)).collect();
        let ring = KeyRing::from_bytes(secret.clone()).unwrap();
        let hk = Hkdf::<Sha256>::new(Some(b"palisade key derivation v1"), &secret);
        let mut expected = [0u8; 32];
        hk.expand(b"palisade/v1/csrf", &mut expected).unwrap();
        assert_eq!(ring.derive(Purpose::Csrf).primary().expose(), &expected);
        let mut with_app = [0u8; 32];
        hk.expand(b"palisade/v1/csrf\0app:billing", &mut with_app).unwrap();
        let billing = ring.with_app_context("billing").unwrap();
        assert_eq!(billing.derive(Purpose::Csrf).primary().expose(), &with_app);
        assert!(format!("{billing:?}").contains("billing"), "the context is not secret: {billing:?}");
    }

    #[test]
    fn refuses_short_secrets() {
        assert_eq!(KeyRing::from_bytes(vec![7; 16]).unwrap_err(), KeyError::TooShort { len: 16 });
    }

    #[test]
    fn refuses_passwords_as_secrets() {
        let text = STANDARD.encode("correct horse battery staple, really long");
        assert_eq!(KeyRing::from_base64(&text).unwrap_err(), KeyError::LowEntropy);
    }

    #[test]
    fn refuses_repetitive_secrets() {
        let pattern: Vec<u8> = (0..64).map(|i| (i % 4) as u8 + 200).collect();
        assert_eq!(KeyRing::from_bytes(pattern).unwrap_err(), KeyError::LowEntropy);
    }

    #[test]
    fn refuses_non_base64() {
        assert_eq!(KeyRing::from_base64("not base64 !!").unwrap_err(), KeyError::NotBase64);
    }

    #[test]
    fn errors_say_how_to_generate_a_secret() {
        assert!(KeyError::TooShort { len: 3 }.to_string().contains("openssl rand -base64 32"));
    }

    #[test]
    fn purposes_get_unrelated_keys() {
        let ring = KeyRing::generate();
        let a = ring.derive(Purpose::SessionSigning);
        let b = ring.derive(Purpose::Csrf);
        assert_ne!(a.primary().expose(), b.primary().expose());
        assert_eq!(a.primary().id(), b.primary().id());
    }

    #[test]
    fn derivation_is_deterministic() {
        let secret = KeyRing::generate_secret_base64();
        let a = KeyRing::from_base64(&secret).unwrap().derive(Purpose::Csrf);
        let b = KeyRing::from_base64(&secret).unwrap().derive(Purpose::Csrf);
        assert_eq!(a.primary().expose(), b.primary().expose());
    }

    #[test]
    fn duplicate_fallback_is_refused() {
        let secret = KeyRing::generate_secret_base64();
        let ring = KeyRing::from_base64(&secret).unwrap();
        assert_eq!(ring.with_fallback_base64(&secret).unwrap_err(), KeyError::Duplicate);
    }

    #[test]
    fn debug_never_shows_key_material() {
        let ring = KeyRing::generate();
        let sub = ring.derive(Purpose::SessionSigning);
        let shown = format!("{ring:?} {sub:?}");
        let hex: String = sub.primary().expose().iter().map(|b| format!("{b:02x}")).collect();
        assert!(!shown.contains(&hex[..16]));
        assert!(shown.contains("redacted"));
    }
}
