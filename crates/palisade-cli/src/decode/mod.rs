//! `palisade decode`: what a signed cookie lets anyone read.
//!
//! Flask's default session, Starlette's `SessionMiddleware`, Django's
//! `signed_cookies` sessions and `set_signed_cookie`, and JWTs are signed,
//! not encrypted. The signature stops a visitor from changing the data; it
//! does not stop anyone who sees the cookie (the visitor, a proxy log, a
//! browser extension, an XSS payload) from reading it. This module decodes
//! them without any secret, to show exactly that.

mod django;
mod itsdangerous;
mod jwt;
mod parts;
mod verify;

pub use verify::{Options as VerifyOptions, Secret, SignatureCheck, VerifyError};

use serde::Serialize;
use serde_json::Value;

/// The framework a cookie's format belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Flask's `session` (itsdangerous `URLSafeTimedSerializer`, tagged JSON).
    Flask,
    /// Starlette's `SessionMiddleware` (itsdangerous `TimestampSigner` over base64 JSON).
    Starlette,
    /// `django.core.signing.dumps`: the `signed_cookies` session backend.
    DjangoSession,
    /// `HttpResponse.set_signed_cookie`: a plain value with a timestamp and signature.
    DjangoSignedCookie,
    /// A JSON Web Token (JWS compact form).
    Jwt,
}

impl Kind {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Kind::Flask => "Flask session cookie (itsdangerous URLSafeTimedSerializer)",
            Kind::Starlette => "Starlette session cookie (itsdangerous TimestampSigner)",
            Kind::DjangoSession => "Django signed data (django.core.signing.dumps; the signed_cookies session backend)",
            Kind::DjangoSignedCookie => "Django signed cookie (HttpResponse.set_signed_cookie)",
            Kind::Jwt => "JSON Web Token",
        }
    }

    /// What to change, per framework.
    fn fix(self) -> &'static str {
        match self {
            Kind::Flask => {
                "Keep session data on the server (Flask-Session with SESSION_TYPE = \"redis\" or \"sqlalchemy\"), \
                 or store only an id in the cookie. In Rust, Palisade's server-side sessions keep the data in a \
                 store and its cookie sessions are encrypted (XChaCha20-Poly1305)."
            }
            Kind::Starlette => {
                "Keep session data on the server (a server-side session backend such as starsessions), or store \
                 only an id in the cookie. In Rust, Palisade's server-side sessions keep the data in a store and \
                 its cookie sessions are encrypted."
            }
            Kind::DjangoSession => {
                "Use a server-side session engine: SESSION_ENGINE = \"django.contrib.sessions.backends.db\" (or \
                 cache / cached_db) instead of signed_cookies. In Rust, Palisade's server-side sessions."
            }
            Kind::DjangoSignedCookie => {
                "Signed cookies are for values the visitor may read; keep anything private in the session, \
                 on the server."
            }
            Kind::Jwt => {
                "Put nothing private in JWT claims (use an opaque id, or JWE if the token must carry data), keep \
                 lifetimes short, and for browser sessions prefer a server-side session cookie."
            }
        }
    }
}

/// What a cookie reveals.
#[derive(Debug, Serialize)]
pub struct Decoded {
    pub kind: Kind,
    /// The payload was zlib-compressed (a leading `.`).
    pub compressed: bool,
    /// When it was signed (seconds since the epoch), from its timestamp.
    pub signed_at: Option<u64>,
    /// The signature's scheme; never checked here (that needs the secret).
    pub signature: String,
    /// JWT only: the header (`alg`, `kid`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<Value>,
    /// What anyone who sees the cookie can read.
    pub data: Value,
    /// Worth knowing besides the data (e.g. `alg: none`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The name pasted in front of the value (`name=value`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookie_name: Option<String>,
    /// What the signature covers; never shown.
    #[serde(skip)]
    signed: verify::Signed,
    /// With `--secret`: whether the signature holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature_check: Option<SignatureCheck>,
}

impl Decoded {
    /// Checks the signature with `secrets` (the current key first, then
    /// fallbacks) and keeps the outcome in `signature_check`.
    pub fn verify(&mut self, secrets: &[Secret], options: &VerifyOptions) -> Result<&SignatureCheck, VerifyError> {
        let check = verify::verify(self, secrets, options)?;
        Ok(self.signature_check.insert(check))
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "not a cookie format this command reads (Flask, Starlette, Django signing, JWT); if it is encrypted \
     (Palisade's, Rails', ASP.NET's), that is good news: nothing in it can be read without the key"
)]
pub struct Unrecognized;

/// Decodes `input`: a cookie value, optionally with its `name=` and quotes.
pub fn decode(input: &str) -> Result<Decoded, Unrecognized> {
    let value = unquote(input.trim());
    // The name first: a Django signed cookie's value may be anything, so
    // `plan=premium:…` would otherwise be read as a value `plan=premium`.
    let named = without_name(value).and_then(|(name, value)| {
        let mut decoded = detect(value)?;
        decoded.cookie_name = Some(name.to_owned());
        Some(decoded)
    });
    named.or_else(|| detect(value)).ok_or(Unrecognized)
}

fn detect(value: &str) -> Option<Decoded> {
    jwt::decode(value).or_else(|| itsdangerous::decode(value)).or_else(|| django::decode(value))
}

/// `name=value` → (`name`, `value`) (a pasted `Cookie` or `Set-Cookie` pair).
fn without_name(text: &str) -> Option<(&str, &str)> {
    let (name, value) = text.split_once('=')?;
    let value = value.split(';').next().unwrap_or(value);
    let is_token =
        !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    (is_token && !value.is_empty()).then(|| (name, unquote(value.trim())))
}

/// Python's `SimpleCookie` wraps some values in double quotes.
fn unquote(text: &str) -> &str {
    text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text)
}

/// The secrets in `path` (`-`: standard input), one per line; blank lines
/// are skipped. The error names the file, never its content.
pub fn read_secret_file(path: &str) -> Result<Vec<Secret>, String> {
    use std::io::Read;
    let mut text = zeroize::Zeroizing::new(String::new());
    let read = if path == "-" {
        std::io::stdin().read_to_string(&mut text)
    } else {
        std::fs::File::open(path).and_then(|mut file| file.read_to_string(&mut text))
    };
    read.map_err(|err| format!("cannot read the secrets in {path}: {err}"))?;
    Ok(text
        .lines()
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .filter(|line| !line.is_empty())
        .map(|line| Secret::new(line.as_bytes().to_vec()))
        .collect())
}

/// The report a person reads.
pub fn human(decoded: &Decoded) -> String {
    let mut out = String::new();
    out.push_str(decoded.kind.describe());
    if decoded.compressed {
        out.push_str(", zlib-compressed");
    }
    out.push('\n');
    if let Some(at) = decoded.signed_at {
        out.push_str(&format!("Signed at {}.\n", parts::utc(at)));
    }
    match &decoded.signature_check {
        Some(check) => {
            out.push_str(&format!("Signed with {}.\n", decoded.signature));
            out.push_str(&verify::human(check));
        }
        None => out.push_str(&format!("Signature: {}, not checked (--secret checks it).\n", decoded.signature)),
    }
    if let Some(header) = &decoded.header {
        out.push_str(&format!("Header: {}\n", serde_json::to_string(header).unwrap_or_default()));
    }
    out.push_str("Anyone who sees this cookie can read:\n");
    out.push_str(&serde_json::to_string_pretty(&decoded.data).unwrap_or_default());
    out.push('\n');
    for warning in &decoded.warnings {
        out.push_str(&format!("Warning: {warning}\n"));
    }
    out.push_str(&format!(
        "Signed is not secret: the signature stops changes, not reading. Fix: {}\n",
        decoded.kind.fix()
    ));
    out
}

/// Parses `bytes` as JSON, the payload of every format here.
fn json(bytes: &[u8]) -> Option<Value> {
    serde_json::from_slice(bytes).ok()
}
