//! Cookie values that cannot be forged, read, moved or replayed, and cookie
//! attributes that are secure by default.
//!
//! [`CookieCodec`] turns bytes into a cookie value and back:
//! - **signed** (HMAC-SHA256): anyone can read the payload, nobody can change it;
//! - **encrypted** (XChaCha20-Poly1305): nobody can read or change it.
//!
//! The MAC (or the AEAD's associated data) covers the cookie's **name** and
//! its **issue time**, so a value made for one cookie is refused under another
//! name, and a value older than the codec's maximum age is refused by the
//! server whatever the browser's `Max-Age` said.
//!
//! ```
//! use palisade::{cookie::CookieCodec, keys::{KeyRing, Purpose}};
//! let ring = KeyRing::generate();
//! let codec = CookieCodec::encrypted(&ring, Purpose::CookieEncryption);
//! let now = 1_700_000_000;
//! let value = codec.encode("__Host-prefs", b"theme=dark", now)?;
//! let decoded = codec.decode("__Host-prefs", &value, now + 5)?;
//! assert_eq!(decoded.payload, b"theme=dark");
//! assert!(codec.decode("__Host-other", &value, now + 5).is_err());
//! # Ok::<(), palisade::cookie::CookieError>(())
//! ```

mod attributes;
mod codec;
pub(crate) mod xchacha;

pub use attributes::{CookieAttributes, CookieConfigError, SameSite, MAX_COOKIE_CANDIDATES};
pub use codec::{CookieCodec, CookieError, Decoded, Protection, MAX_COOKIE_BYTES};
