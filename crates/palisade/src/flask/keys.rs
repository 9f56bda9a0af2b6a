//! The Flask app's `SECRET_KEY` and `SECRET_KEY_FALLBACKS`.
//!
//! They are the Flask app's, not Palisade's: whoever holds them can sign a
//! Flask session for any user, so they are given to this module on their
//! own (never derived from or mixed with Palisade's [`KeyRing`]), used
//! only to verify, kept in zeroized memory, and never shown by `Debug`.
//!
//! [`KeyRing`]: crate::keys::KeyRing

use zeroize::Zeroizing;

/// The Flask app's secret keys: the current one and the fallbacks it still
/// accepts, in the order of its `SECRET_KEY_FALLBACKS`.
#[derive(Clone)]
pub struct FlaskKeys {
    current: Zeroizing<Vec<u8>>,
    /// `SECRET_KEY` as Flask-Login's remember cookie uses it; `None` when
    /// Python could not encode it that way (and no remember cookie exists).
    remember: Option<Zeroizing<Vec<u8>>>,
    fallbacks: Vec<Zeroizing<Vec<u8>>>,
}

impl FlaskKeys {
    /// A `SECRET_KEY` that is a Python `str` (the usual case). Sessions are
    /// signed with its UTF-8 bytes (itsdangerous's `want_bytes`),
    /// remember cookies with its Latin-1 bytes (Flask-Login's `_secret_key`):
    /// the two differ for a key with non-ASCII characters.
    pub fn new(secret_key: &str) -> Self {
        let latin1: Option<Vec<u8>> = secret_key.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect();
        FlaskKeys {
            current: Zeroizing::new(secret_key.as_bytes().to_vec()),
            remember: latin1.map(Zeroizing::new),
            fallbacks: Vec::new(),
        }
    }

    /// A `SECRET_KEY` that is Python `bytes` (e.g. `os.urandom(32)`): both
    /// the session and the remember cookie are signed with these bytes.
    pub fn from_bytes(secret_key: &[u8]) -> Self {
        FlaskKeys {
            current: Zeroizing::new(secret_key.to_vec()),
            remember: Some(Zeroizing::new(secret_key.to_vec())),
            fallbacks: Vec::new(),
        }
    }

    /// Adds the next entry of `SECRET_KEY_FALLBACKS` (Flask 3.1): sessions
    /// signed with it are still accepted. Flask-Login's remember cookie
    /// never is: it only checks `SECRET_KEY`.
    pub fn with_fallback(mut self, old_key: impl AsRef<[u8]>) -> Self {
        self.fallbacks.push(Zeroizing::new(old_key.as_ref().to_vec()));
        self
    }

    /// The key Flask-Login's remember cookie is signed with.
    pub(crate) fn remember_key(&self) -> Option<&[u8]> {
        self.remember.as_deref().map(Vec::as_slice)
    }

    /// Every key, in the order itsdangerous tries them: the current one,
    /// then the fallbacks from the last listed to the first.
    pub(crate) fn newest_first(&self) -> impl Iterator<Item = (&[u8], super::SignedWith)> {
        let current = std::iter::once((self.current.as_slice(), super::SignedWith::Current));
        let fallbacks = self
            .fallbacks
            .iter()
            .enumerate()
            .rev()
            .map(|(index, key)| (key.as_slice(), super::SignedWith::Fallback(index)));
        current.chain(fallbacks)
    }
}

impl std::fmt::Debug for FlaskKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlaskKeys").field("fallbacks", &self.fallbacks.len()).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_str_key_signs_remember_cookies_with_its_latin1_bytes() {
        assert_eq!(FlaskKeys::new("abc").remember_key(), Some(&b"abc"[..]));
        assert_eq!(FlaskKeys::new("é").remember_key(), Some(&[0xE9][..]));
        assert_eq!(FlaskKeys::new("é").newest_first().next().unwrap().0, "é".as_bytes());
        assert_eq!(FlaskKeys::new("€").remember_key(), None, "Python cannot encode it as Latin-1");
        assert_eq!(FlaskKeys::from_bytes(&[0xFF, 0]).remember_key(), Some(&[0xFF, 0][..]));
    }

    #[test]
    fn debug_never_shows_a_key() {
        let keys = FlaskKeys::new("hunter2-secret").with_fallback("old-secret-9");
        let shown = format!("{keys:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("old-secret"), "{shown}");
        assert!(shown.contains("fallbacks: 1"), "{shown}");
    }
}
