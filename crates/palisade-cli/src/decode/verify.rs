//! `palisade decode --secret`: does the cookie's signature hold, and would
//! the framework still accept it?
//!
//! Each framework derives its signing key from the secret in its own way;
//! this module repeats each derivation exactly (checked in
//! `tests/decode_oracles.rs` against cookies the real libraries make):
//!
//! - Flask (itsdangerous `URLSafeTimedSerializer`, `key_derivation="hmac"`):
//!   key = HMAC-SHA1(secret, salt `cookie-session`), tag = HMAC-SHA1(key,
//!   `payload.timestamp`); checked by the library's `palisade::flask`, so
//!   the CLI and a Rust service reading Flask's logins agree.
//! - Starlette (itsdangerous `TimestampSigner`, `django-concat`):
//!   key = SHA1(`itsdangerous.Signer` ‖ `signer` ‖ secret), tag = HMAC-SHA1(key, `payload.timestamp`).
//! - Django `signing` (`salted_hmac`): key = H(salt ‖ `signer` ‖ secret),
//!   tag = HMAC-H(key, `value:timestamp`), H SHA-256 by default; a signed
//!   cookie's salt covers its name, and its secret is prefixed with
//!   `django.http.cookies`.
//! - JWT: HS256/384/512, HMAC over `header.payload` with the secret itself.
//!
//! Why it matters: a tool that says "valid" is how an operator finds that a
//! cookie was signed with a leaked or default key (the attack: anyone with
//! the key forges a session for any user), or that a rotation left an old
//! key accepting cookies. Tags are compared with `subtle`'s `ct_eq`, in
//! constant time; secrets live in zeroized buffers and are never printed.

use super::{Decoded, Kind};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// A secret given on the command line. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(Zeroizing::new(bytes))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// How the application checks its cookies, where the format leaves a choice.
#[derive(Debug, Default)]
pub struct Options {
    /// The salt the application signs with, if not the framework's default
    /// (Django: the `salt` of `set_signed_cookie` or `signing.dumps`).
    pub salt: Option<String>,
    /// The age limit the application applies, if not the framework's default.
    pub max_age: Option<u64>,
    /// Now, in seconds since the epoch.
    pub now: u64,
}

/// The outcome of checking a signature with the secrets given.
#[derive(Debug, Serialize)]
pub struct SignatureCheck {
    /// Some secret produced this exact signature.
    pub valid: bool,
    /// Which secret (1 = the first `--secret`, the current key; more are fallbacks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<usize>,
    /// The salt the signature matched with, or the salts tried.
    pub salts: Vec<String>,
    /// The cookie is older than the age limit (or a JWT past its `exp`).
    pub expired: bool,
    /// Seconds since it was signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<u64>,
    /// The age limit applied, and where it comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age_source: Option<String>,
    /// Why the check says what it says, when that is not obvious.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl SignatureCheck {
    /// The framework would accept the cookie.
    pub fn accepted(&self) -> bool {
        self.valid && !self.expired
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(
        "a Django signed cookie's signature covers the cookie's name: paste it as NAME=VALUE (and give \
         set_signed_cookie's salt with --salt)"
    )]
    NeedsCookieName,
    #[error("a JWT signed with {0} is checked with a public key, not a shared secret; only HS256/384/512 are checked")]
    AsymmetricJwt(String),
}

/// The four digests the frameworks sign with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hash {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    /// H(parts…), for key derivations that hash rather than HMAC.
    fn digest(self, parts: &[&[u8]]) -> Zeroizing<Vec<u8>> {
        fn run<D: Digest>(parts: &[&[u8]]) -> Zeroizing<Vec<u8>> {
            let mut hasher = D::new();
            for part in parts {
                hasher.update(part);
            }
            Zeroizing::new(hasher.finalize().to_vec())
        }
        match self {
            Hash::Sha1 => run::<Sha1>(parts),
            Hash::Sha256 => run::<Sha256>(parts),
            Hash::Sha384 => run::<Sha384>(parts),
            Hash::Sha512 => run::<Sha512>(parts),
        }
    }

    /// HMAC-H(key, message), for key derivation.
    fn mac(self, key: &[u8], message: &[u8]) -> Zeroizing<Vec<u8>> {
        fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[u8]) -> Zeroizing<Vec<u8>> {
            let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
            mac.update(message);
            Zeroizing::new(mac.finalize().into_bytes().to_vec())
        }
        match self {
            Hash::Sha1 => run::<Hmac<Sha1>>(key, message),
            Hash::Sha256 => run::<Hmac<Sha256>>(key, message),
            Hash::Sha384 => run::<Hmac<Sha384>>(key, message),
            Hash::Sha512 => run::<Hmac<Sha512>>(key, message),
        }
    }

    /// HMAC-H(key, message) == tag, compared in constant time (a
    /// byte-by-byte compare that stops early lets an attacker who can time
    /// responses find a valid tag one byte at a time).
    fn verify(self, key: &[u8], message: &[u8], tag: &[u8]) -> bool {
        bool::from(self.mac(key, message).as_slice().ct_eq(tag))
    }

    /// Django's algorithm, told by the tag's length (its `Signer` takes any
    /// hashlib name; SHA-256 is the default, SHA-1 before Django 3.1).
    fn by_tag_length(length: usize) -> Hash {
        match length {
            20 => Hash::Sha1,
            48 => Hash::Sha384,
            64 => Hash::Sha512,
            _ => Hash::Sha256,
        }
    }
}

/// A salt to try, with the age limit the framework applies to what it signs.
struct Candidate {
    salt: String,
    max_age: Option<(u64, &'static str)>,
}

const DAY: u64 = 86_400;

/// Checks `decoded`'s signature with each of `secrets` in turn.
pub fn verify(decoded: &Decoded, secrets: &[Secret], options: &Options) -> Result<SignatureCheck, VerifyError> {
    match decoded.kind {
        Kind::Jwt => return verify_jwt(decoded, secrets, options),
        Kind::Flask => return Ok(verify_flask(decoded, secrets, options)),
        _ => {}
    }
    let signed = &decoded.signed;
    let tag = URL_SAFE_NO_PAD.decode(&signed.signature).unwrap_or_default();
    let candidates = candidates(decoded, options)?;
    let mut found = None;
    'search: for candidate in &candidates {
        for (index, secret) in secrets.iter().enumerate() {
            if check_one(decoded.kind, &candidate.salt, &secret.0, signed, &tag) {
                found = Some((index + 1, candidate));
                break 'search;
            }
        }
    }
    let age = decoded.signed_at.map(|at| options.now.saturating_sub(at));
    let Some((secret, candidate)) = found else {
        return Ok(SignatureCheck {
            valid: false,
            secret: None,
            salts: candidates.into_iter().map(|c| c.salt).collect(),
            expired: false,
            age_seconds: age,
            max_age_seconds: None,
            max_age_source: None,
            note: Some(
                "no secret given makes this signature: the data was changed (forged), or it was signed with \
                 another key or salt"
                    .to_owned(),
            ),
        });
    };
    let limit = match options.max_age {
        Some(max_age) => Some((max_age, "--max-age")),
        None => candidate.max_age,
    };
    // itsdangerous refuses a timestamp in the future ("signature age is
    // negative"); Django only checks the upper bound.
    let from_future = decoded.kind == Kind::Starlette && decoded.signed_at.is_some_and(|at| at > options.now);
    let too_old = matches!((age, limit), (Some(age), Some((max, _))) if age > max);
    Ok(SignatureCheck {
        valid: true,
        secret: Some(secret),
        salts: vec![candidate.salt.clone()],
        expired: too_old || from_future,
        age_seconds: age,
        max_age_seconds: limit.map(|(max, _)| max),
        max_age_source: limit.map(|(_, source)| source.to_owned()),
        note: from_future.then(|| "signed in the future: itsdangerous refuses it (a clock is wrong)".to_owned()),
    })
}

/// The salts to try for `decoded`, most likely first.
fn candidates(decoded: &Decoded, options: &Options) -> Result<Vec<Candidate>, VerifyError> {
    let given = options.salt.clone();
    let one =
        |default: &str, max_age| vec![Candidate { salt: given.clone().unwrap_or_else(|| default.to_owned()), max_age }];
    Ok(match decoded.kind {
        Kind::Starlette => {
            one("itsdangerous.Signer", Some((14 * DAY, "Starlette SessionMiddleware's max_age, 14 days by default")))
        }
        Kind::DjangoSession => match given {
            Some(salt) => vec![Candidate { salt, max_age: None }],
            None => vec![
                Candidate {
                    salt: "django.contrib.sessions.backends.signed_cookies".to_owned(),
                    max_age: Some((14 * DAY, "Django's SESSION_COOKIE_AGE, 2 weeks by default")),
                },
                Candidate { salt: "django.core.signing".to_owned(), max_age: None },
            ],
        },
        Kind::DjangoSignedCookie => {
            let name = decoded.cookie_name.as_deref().ok_or(VerifyError::NeedsCookieName)?;
            let salt = given.unwrap_or_default();
            // Django 5.2.x signs with the v2 salt (the salt's length first,
            // so ("ab", "c") and ("a", "bc") differ) and still accepts the
            // older name + salt (SIGNED_COOKIE_LEGACY_SALT_FALLBACK).
            vec![
                Candidate {
                    salt: format!("django.http.cookies.v2:{}:{salt}{name}", salt.chars().count()),
                    max_age: None,
                },
                Candidate { salt: format!("{name}{salt}"), max_age: None },
            ]
        }
        // Checked by `verify_flask` and `verify_jwt`.
        Kind::Flask | Kind::Jwt => Vec::new(),
    })
}

/// Whether `secret` and `salt` make `tag` over the signed message.
fn check_one(kind: Kind, salt: &str, secret: &[u8], signed: &Signed, tag: &[u8]) -> bool {
    let message = signed.message.as_bytes();
    match kind {
        Kind::Starlette => {
            let key = Hash::Sha1.digest(&[salt.as_bytes(), b"signer", secret]);
            Hash::Sha1.verify(&key, message, tag)
        }
        Kind::DjangoSession | Kind::DjangoSignedCookie => {
            let hash = Hash::by_tag_length(tag.len());
            let key = if kind == Kind::DjangoSignedCookie {
                // get_cookie_signer: the key is `django.http.cookies` + SECRET_KEY.
                hash.digest(&[salt.as_bytes(), b"signer", b"django.http.cookies", secret])
            } else {
                hash.digest(&[salt.as_bytes(), b"signer", secret])
            };
            hash.verify(&key, message, tag)
        }
        Kind::Flask | Kind::Jwt => false,
    }
}

/// A Flask session checked as Flask checks it, by `palisade::flask`.
fn verify_flask(decoded: &Decoded, secrets: &[Secret], options: &Options) -> SignatureCheck {
    use palisade::flask::{FlaskApp, FlaskCookieError, FlaskKeys, SignedWith};
    use std::time::Duration;
    let salt = options.salt.clone().unwrap_or_else(|| "cookie-session".to_owned());
    let (max_age, source) = match options.max_age {
        Some(max_age) => (max_age, "--max-age"),
        None => (31 * DAY, "Flask's PERMANENT_SESSION_LIFETIME, 31 days by default"),
    };
    let age = decoded.signed_at.map(|at| options.now.saturating_sub(at));
    let mut check = SignatureCheck {
        valid: false,
        secret: None,
        salts: vec![salt.clone()],
        expired: false,
        age_seconds: age,
        max_age_seconds: None,
        max_age_source: None,
        note: None,
    };
    let Some((first, rest)) = secrets.split_first() else {
        return check;
    };
    // The CLI's secrets are bytes; for the session signature a Python
    // `str` key is its UTF-8 bytes, so both read the same.
    let keys = rest.iter().fold(FlaskKeys::from_bytes(&first.0), |keys, secret| keys.with_fallback(&*secret.0));
    let now = i64::try_from(options.now).unwrap_or(i64::MAX);
    let flask = FlaskApp::new(keys)
        .session_salt(salt)
        .session_lifetime(Duration::from_secs(max_age))
        .clock(palisade::clock::ManualClock::new(now));
    let cookie = format!("{}.{}", decoded.signed.message, decoded.signed.signature);
    let Some(signed_with) = flask.signed_with(&cookie) else {
        check.note = Some(
            "no secret given makes this signature: the data was changed (forged), or it was signed with another \
             key or salt"
                .to_owned(),
        );
        return check;
    };
    check.valid = true;
    check.secret = Some(match signed_with {
        SignedWith::Current => 1,
        SignedWith::Fallback(index) => index + 2,
    });
    check.max_age_seconds = Some(max_age);
    check.max_age_source = Some(source.to_owned());
    match flask.read_session(&cookie) {
        Ok(_) => {}
        Err(FlaskCookieError::Expired { .. }) => check.expired = true,
        Err(FlaskCookieError::FromTheFuture { .. }) => {
            check.expired = true;
            check.note = Some("signed in the future: itsdangerous refuses it (a clock is wrong)".to_owned());
        }
        Err(other) => check.note = Some(format!("the signature holds, but Flask refuses the session: {other}")),
    }
    check
}

fn verify_jwt(decoded: &Decoded, secrets: &[Secret], options: &Options) -> Result<SignatureCheck, VerifyError> {
    let alg = decoded.signature.as_str();
    let hash = match alg {
        "HS256" => Some(Hash::Sha256),
        "HS384" => Some(Hash::Sha384),
        "HS512" => Some(Hash::Sha512),
        _ if alg.eq_ignore_ascii_case("none") => None,
        _ => return Err(VerifyError::AsymmetricJwt(alg.to_owned())),
    };
    let tag = URL_SAFE_NO_PAD.decode(&decoded.signed.signature).unwrap_or_default();
    let secret = hash.and_then(|hash| {
        secrets.iter().position(|s| hash.verify(&s.0, decoded.signed.message.as_bytes(), &tag)).map(|i| i + 1)
    });
    let claim = |name: &str| decoded.data.get(name).and_then(Value::as_u64);
    let age = claim("iat").map(|iat| options.now.saturating_sub(iat));
    let past_exp = claim("exp").is_some_and(|exp| options.now >= exp);
    let too_old = matches!((age, options.max_age), (Some(age), Some(max)) if age > max);
    let note = match (hash, claim("exp")) {
        (None, _) => Some("alg \"none\": there is no signature, so no secret can make it valid".to_owned()),
        (_, Some(exp)) if past_exp => Some(format!("past its \"exp\" claim ({})", super::parts::utc(exp))),
        _ => None,
    };
    Ok(SignatureCheck {
        valid: secret.is_some(),
        secret,
        salts: Vec::new(),
        expired: secret.is_some() && (past_exp || too_old),
        age_seconds: age,
        max_age_seconds: options.max_age,
        max_age_source: options.max_age.map(|_| "--max-age".to_owned()),
        note,
    })
}

/// What the signature covers and the signature itself, as the cookie holds them.
#[derive(Debug, Default)]
pub struct Signed {
    /// Everything before the last separator: what the MAC is over.
    pub message: String,
    /// The signature, base64url.
    pub signature: String,
}

impl Signed {
    /// Splits `value` at its last `separator`.
    pub fn split(value: &str, separator: char) -> Signed {
        match value.rsplit_once(separator) {
            Some((message, signature)) => Signed { message: message.to_owned(), signature: signature.to_owned() },
            None => Signed::default(),
        }
    }
}

/// The report lines for a check.
pub fn human(check: &SignatureCheck) -> String {
    let mut out = String::new();
    match check.secret {
        Some(n) if check.valid => {
            let which = if n == 1 { "the current key" } else { "a fallback" };
            out.push_str(&format!("Signature: valid, signed with secret {n} ({which})"));
            if let Some(salt) = check.salts.first() {
                out.push_str(&format!(", salt {salt:?}"));
            }
            out.push_str(".\n");
        }
        _ => {
            out.push_str("Signature: INVALID with every secret given");
            if !check.salts.is_empty() {
                out.push_str(&format!(", salts tried: {:?}", check.salts));
            }
            out.push_str(".\n");
        }
    }
    if let Some(age) = check.age_seconds {
        out.push_str(&format!("Age: {}", duration(age)));
        match (check.max_age_seconds, &check.max_age_source) {
            (Some(max), Some(source)) if check.expired => {
                out.push_str(&format!(
                    "; expired: older than {} ({source}; --max-age gives your application's limit)",
                    duration(max)
                ));
            }
            (Some(max), Some(source)) => out.push_str(&format!("; accepted until {} old ({source})", duration(max))),
            _ => {}
        }
        out.push_str(".\n");
    } else if check.expired {
        out.push_str("Expired.\n");
    }
    if let Some(note) = &check.note {
        out.push_str(&format!("Note: {note}.\n"));
    }
    out
}

/// `seconds` as a person reads it.
fn duration(seconds: u64) -> String {
    match seconds {
        s if s >= 2 * DAY => format!("{} days", s / DAY),
        s if s >= 7_200 => format!("{} hours", s / 3_600),
        s if s >= 120 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_redacted_in_debug() {
        let secret = Secret::new(b"hunter2-hunter2".to_vec());
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(59), "59 seconds");
        assert_eq!(duration(3 * 60), "3 minutes");
        assert_eq!(duration(5 * 3600), "5 hours");
        assert_eq!(duration(40 * DAY + 7), "40 days");
    }
}
