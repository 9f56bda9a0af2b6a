//! Signed double-submit cookies, for APIs and single-page apps that keep no
//! CSRF state on the server.
//!
//! The cookie holds `base64url(random || HMAC-SHA256(csrf key, binding ||
//! random))`; a state-changing request must echo the same value (plain, as
//! script read it from the cookie, or masked, as a rendered form carries it)
//! in the `X-CSRF-Token` header or the `csrf_token` field. A cross-site page
//! can make the browser *send* the cookie but can never *read* it, so it
//! cannot echo it.
//!
//! The HMAC is what makes this safe where a plain double-submit cookie is
//! not: an attacker who can plant cookies (a sibling subdomain, a plain-HTTP
//! man in the middle) cannot mint a value that verifies without the server's
//! key, and the binding to the session id stops them from planting their own
//! valid cookie in a victim's browser.

use super::token::{decode_token, unmask};
use crate::cookie::{CookieAttributes, SameSite};
use crate::keys::{PurposeKeys, SubKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::Mac;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The double-submit cookie's name. `__Host-`: the browser only accepts it
/// when Secure, `Path=/` and without `Domain`, so a sibling subdomain or a
/// plain-HTTP man in the middle cannot toss in a cookie of this name.
pub const DOUBLE_SUBMIT_COOKIE: &str = "__Host-csrf";

const RANDOM_LEN: usize = 32;
const MAC_LEN: usize = 32;
/// Decoded length of a cookie value.
pub(crate) const COOKIE_LEN: usize = RANDOM_LEN + MAC_LEN;
/// Keeps the MAC of this purpose apart from any other use of the key.
const LABEL: &[u8] = b"palisade/v1/csrf-double-submit";

/// What the cookie is bound to: a hash of the session id, or nothing for a
/// visitor without a stored session.
pub(crate) type Binding = Option<[u8; 32]>;

/// The cookie's attributes. Deliberately **not HttpOnly**: the whole point
/// is that the app's own script reads the value and echoes it in a header.
/// This gives script nothing it could not get anyway: the value is useless
/// without the browser's own session, and an XSS already runs as the user.
/// Secure and `__Host-` keep it off plain HTTP and away from subdomains;
/// SameSite=Lax keeps it off cross-site subrequests.
///
/// `secure`: the session cookie's `Secure`. Without it (the stack's
/// plain-HTTP development mode) the cookie is a plain `csrf`, which a
/// browser on `http://` keeps; `__Host-` needs `Secure`.
pub(crate) fn attributes(secure: bool) -> CookieAttributes {
    let mut attrs = if secure {
        CookieAttributes::new(DOUBLE_SUBMIT_COOKIE)
    } else {
        let mut plain = CookieAttributes::new("csrf");
        plain.secure = false;
        plain
    };
    attrs.http_only = false;
    attrs.same_site = SameSite::Lax;
    attrs
}

fn mac(key: &SubKey, binding: &Binding, random: &[u8]) -> hmac::Hmac<Sha256> {
    let mut mac = <hmac::Hmac<Sha256> as Mac>::new_from_slice(key.expose())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(LABEL);
    match binding {
        Some(hash) => {
            mac.update(&[1]);
            mac.update(hash);
        }
        None => mac.update(&[0]),
    }
    mac.update(random);
    mac
}

/// A new cookie value bound to `binding`, signed with the primary key.
pub(crate) fn mint(keys: &PurposeKeys, binding: &Binding) -> String {
    // Public in the cookie it goes into: the pooled OS bytes will do.
    sign(keys, binding, crate::random::public_bytes::<RANDOM_LEN>().as_slice())
}

/// The cookie value carrying `random` (32 bytes from the OS CSPRNG).
pub(crate) fn sign(keys: &PurposeKeys, binding: &Binding, random: &[u8]) -> String {
    let tag = mac(keys.primary(), binding, random).finalize().into_bytes();
    let mut raw = Zeroizing::new(Vec::with_capacity(COOKIE_LEN));
    raw.extend_from_slice(random);
    raw.extend_from_slice(&tag);
    URL_SAFE_NO_PAD.encode(raw.as_slice())
}

/// The random part of a genuine cookie value.
pub(crate) fn random_part(value: &str) -> Option<Zeroizing<Vec<u8>>> {
    let raw = decode_token(value)?;
    (raw.len() == COOKIE_LEN).then(|| Zeroizing::new(raw[..RANDOM_LEN].to_vec()))
}

/// The attributes of the cookie that holds an **anonymous** visitor's
/// secret when tokens live in the session (a visitor who only saw the
/// login form has no session, and must not get one: a flood of cookieless
/// requests would write a record each). Same name and signature as the
/// double-submit cookie, but `HttpOnly` (script reads tokens from the page,
/// never this cookie) and without `Max-Age`: a random identifier that
/// outlives the browser session would only help tracking.
///
/// `secure`: the session cookie's `Secure`. A session layer in
/// `insecure_development_mode` (plain HTTP on a host other than localhost)
/// gets a plain `csrf` cookie, which such a browser keeps; `__Host-` needs
/// `Secure`.
pub(crate) fn anonymous_attributes(secure: bool) -> CookieAttributes {
    if secure {
        return CookieAttributes::new(DOUBLE_SUBMIT_COOKIE);
    }
    let mut attrs = CookieAttributes::new("csrf");
    attrs.secure = false;
    attrs
}

/// True when `value` was minted by this server (primary or fallback key)
/// for `binding`. The MAC comparison is constant-time.
pub(crate) fn is_genuine(keys: &PurposeKeys, binding: &Binding, value: &str) -> bool {
    let Some(raw) = decode_token(value) else { return false };
    if raw.len() != COOKIE_LEN {
        return false;
    }
    let (random, tag) = raw.split_at(RANDOM_LEN);
    std::iter::once(keys.primary())
        .chain(keys.fallbacks())
        .any(|key| mac(key, binding, random).verify_slice(tag).is_ok())
}

/// True when the submitted token echoes `cookie`: either the same text
/// (script copied the cookie) or a masking of it (a rendered form).
pub(crate) fn echoes(cookie: &str, submitted: &str) -> bool {
    let Some(cookie) = decode_token(cookie) else { return false };
    let candidate = match decode_token(submitted) {
        Some(raw) if raw.len() == COOKIE_LEN => raw,
        Some(_) => match unmask(submitted, COOKIE_LEN) {
            Some(unmasked) => unmasked,
            None => return false,
        },
        None => return false,
    };
    bool::from(candidate.as_slice().ct_eq(cookie.as_slice()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csrf::token::mask_bytes;
    use crate::keys::{KeyRing, Purpose};

    #[test]
    fn minted_values_verify_for_their_binding_only() {
        let keys = KeyRing::generate().derive(Purpose::Csrf);
        let bound = Some([7u8; 32]);
        let value = mint(&keys, &bound);
        assert!(is_genuine(&keys, &bound, &value));
        assert!(!is_genuine(&keys, &Some([8u8; 32]), &value));
        assert!(!is_genuine(&keys, &None, &value));
        let other = KeyRing::generate().derive(Purpose::Csrf);
        assert!(!is_genuine(&other, &bound, &value));
    }

    #[test]
    fn fallback_keys_still_verify() {
        let old = KeyRing::generate_secret_base64();
        let new = KeyRing::generate_secret_base64();
        let before = KeyRing::from_base64(&old).unwrap().derive(Purpose::Csrf);
        let after = KeyRing::from_base64(&new).unwrap().with_fallback_base64(&old).unwrap().derive(Purpose::Csrf);
        let value = mint(&before, &None);
        assert!(is_genuine(&after, &None, &value));
    }

    #[test]
    fn plain_and_masked_echoes_match_and_nothing_else_does() {
        let keys = KeyRing::generate().derive(Purpose::Csrf);
        let value = mint(&keys, &None);
        let raw = URL_SAFE_NO_PAD.decode(&value).unwrap();
        assert!(echoes(&value, &value));
        assert!(echoes(&value, &mask_bytes(&raw)));
        assert!(!echoes(&value, &mint(&keys, &None)));
        assert!(!echoes(&value, &value[..value.len() - 2]));
        assert!(!echoes(&value, "%%%"));
    }

    #[test]
    fn the_cookie_is_readable_by_script_but_host_only_and_secure() {
        let attrs = attributes(true);
        attrs.validate(false).unwrap();
        let header = attrs.set_cookie("v", None).unwrap();
        let header = header.to_str().unwrap();
        assert!(header.starts_with("__Host-csrf=v"));
        assert!(header.contains("Secure") && header.contains("SameSite=Lax") && header.contains("Path=/"));
        assert!(!header.contains("HttpOnly"));
    }
}
