//! Remember-me: a long-lived cookie that signs a returning browser in again
//! after its session ended, with theft detection.
//!
//! Turn it on with [`AuthConfig::remember_me`](crate::auth::AuthConfig::remember_me)
//! and ask for it per login with [`LoginOptions::remember`](crate::auth::LoginOptions::remember).
//! A browser without a live session that presents the cookie is then signed
//! in when its session is first loaded (by any handler, extractor or layer),
//! with a **new session that is not fresh** (sensitive actions ask for the
//! password again).
//!
//! ```
//! use palisade::{auth::AuthConfig, keys::KeyRing, remember::RememberMe, session::SessionLayer, store::MemoryStore};
//! use std::time::Duration;
//! let layer = SessionLayer::server_side(MemoryStore::new(), KeyRing::generate())
//!     .auth(AuthConfig::new().remember_me(RememberMe::new().max_age(Duration::from_secs(14 * 86_400))))
//!     .build()?;
//! # let _ = layer; Ok::<(), palisade::session::SessionConfigError>(())
//! ```
//!
//! The signed-in user's tokens are listed by
//! [`auth::remembered_browsers`](crate::auth::remembered_browsers) and revoked one
//! by one by [`auth::revoke`](crate::auth::revoke).
//!
//! # Design (split token, after Barry Jaspan's "improved persistent login cookie")
//! The cookie holds a **selector** and a **validator**, 32 bytes each from
//! the OS CSPRNG, signed with the key ring's remember-me key (name- and
//! age-bound, like every Palisade cookie). The store keeps, through the
//! ordinary [`Store`](crate::store::Store) trait (so every backend works):
//! - record **A**, filed under a hash of the selector: the device label,
//!   the user (namespaced, so the store's user index lists a user's tokens
//!   apart from their sessions), the hash of the previous validator and when
//!   it was replaced;
//! - record **B**, filed under a hash of A's key + SHA-256(validator): its
//!   existence means "this validator is current". A keeps that hash too
//!   (`cur`), so B is found, and deleted, whenever A is: at logout, at a
//!   revocation and when a binding mismatch destroys the session. B records
//!   are also in the user index under a name of their own, so "revoke
//!   everything of this user" takes them with the A records.
//!
//! A store dump holds no validator (only hashes) and no selector (only a
//! hash of it), so it yields no usable cookie.
//!
//! On use, B is replaced by a new validator's B in one atomic
//! [`Store::rotate`](crate::store::Store::rotate) and the browser gets the
//! new cookie. A cookie whose selector is known but whose validator is not
//! current was copied and used elsewhere (the thief or the victim used it
//! first): **all** the user's tokens and sessions are revoked and a warning
//! logged.
//!
//! # Parallel requests: the grace period
//! A browser that comes back sends several requests at once (the page, its
//! scripts, a fetch), all with the same cookie. One rotates the token; the
//! others then present the validator that was current a moment ago. Spring
//! Security's persistent-token design takes that for theft and logs the
//! user out. Palisade accepts the **previous** validator for
//! [a grace period](DEFAULT_GRACE) after its rotation: those requests are
//! signed in (each with its own session) without rotating again. A stale
//! validator older than that is still treated as theft.
//!
//! # A lost response
//! The response that carried the rotated cookie can be lost (an aborted
//! navigation, a proxy timeout, a 503 after the rotation). The browser then
//! still holds the previous validator; if nothing re-sent the new one, its
//! next use after the grace period would look like theft and sign the user
//! out everywhere. So each next validator is **derived** from the one before
//! (HMAC-SHA256 under the remember-me key, domain-separated), and a request
//! in the grace period sends the browser the current validator again. Only
//! the holder of a validator within its grace period (the browser, or a
//! thief who copied it in that minute, who is signed in anyway) can compute
//! its successor; the store holds hashes only, so a dump still yields
//! nothing, and the first validator of each token comes from the OS CSPRNG.
//!
//! The token lives [`max_age`](RememberMe::max_age) from the password entry
//! that issued it; using it does not extend it, so a stolen copy is not
//! kept alive forever by the thief.

use crate::binding::UserAgentSummary;
use crate::cookie::{CookieAttributes, CookieCodec, CookieError, SameSite};
use crate::keys::{KeyRing, Purpose, SubKey};
use crate::session::hook::HookContext;
use crate::session::SessionError;
use crate::store::{Applied, Change, Data, Record, SessionInfo, StoreError, StoreKey, UnixTime};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::time::Duration;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// The remember-me cookie's default name (`__Host-`: Secure, Path=/, no Domain).
pub const DEFAULT_COOKIE_NAME: &str = "__Host-remember";

/// Default token lifetime: 30 days from the password entry (the common
/// "remember me for 30 days"; Flask-Login's default is 365).
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(30 * 86_400);

/// Default grace period for the previous validator: 60 seconds. Long
/// enough for the requests of one page load that were sent before the
/// browser stored the rotated cookie (they may queue behind the six
/// connections per host of HTTP/1.1 on a slow mobile link); short enough
/// that a thief needs a copy of the cookie taken within the last minute.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(60);

/// Remember-me settings.
#[derive(Clone, Debug)]
#[must_use]
pub struct RememberMe {
    pub(crate) attributes: CookieAttributes,
    pub(crate) max_age: Duration,
    pub(crate) grace: Duration,
}

impl Default for RememberMe {
    fn default() -> Self {
        Self { attributes: CookieAttributes::new(DEFAULT_COOKIE_NAME), max_age: DEFAULT_MAX_AGE, grace: DEFAULT_GRACE }
    }
}

impl RememberMe {
    /// The defaults: `__Host-remember; Secure; HttpOnly; SameSite=Lax;
    /// Path=/`, 30 days, 60-second grace.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cookie name (default [`DEFAULT_COOKIE_NAME`]).
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.attributes.name = name.into();
        self
    }

    /// `Secure` (default on; off needs the session layer's
    /// `insecure_development_mode` and a name without `__Host-`).
    pub fn secure(mut self, secure: bool) -> Self {
        self.attributes.secure = secure;
        self
    }

    /// `SameSite` (default `Lax`).
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.attributes.same_site = same_site;
        self
    }

    /// Token lifetime from the password entry (default [`DEFAULT_MAX_AGE`]).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// How long the previous validator stays acceptable after a rotation
    /// (default [`DEFAULT_GRACE`], at most 5 minutes).
    pub fn grace_period(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }
}

/// The user index name of `user`'s tokens. User ids cannot hold control
/// characters ([`Session::set_user_id`]), so no real user is called this.
pub(crate) fn namespaced(user: &str) -> String {
    format!("\u{1}remember\u{1}{user}")
}

/// The user index name of `user`'s current validators (B records).
fn validators_of(user: &str) -> String {
    format!("\u{1}remember-validator\u{1}{user}")
}

fn user_of(namespaced_user: &str) -> Option<&str> {
    namespaced_user.strip_prefix("\u{1}remember\u{1}").filter(|u| !u.is_empty())
}

/// Keys of record A.
const LABEL: &str = "label";
const PREVIOUS: &str = "prev";
const ROTATED_AT: &str = "rotated_at";
/// SHA-256 of the current validator (base64url): where B is.
const CURRENT: &str = "cur";
/// Record A: the credential-stamp seal of the sign-in that issued the token.
const STAMP: &str = "stamp";

const TOKEN_PART: usize = 32;

/// A selector and a validator. Never printed, zeroized on drop.
struct Token {
    selector: Zeroizing<[u8; TOKEN_PART]>,
    validator: Zeroizing<[u8; TOKEN_PART]>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Whether a decrypted remember-me payload has the token layout (for the fuzz targets).
#[cfg(feature = "fuzz-internals")]
pub(crate) fn payload_is_token(payload: &[u8]) -> bool {
    Token::from_payload(payload).is_some()
}

impl Token {
    fn generate() -> Self {
        Self { selector: crate::random::bytes(), validator: crate::random::bytes() }
    }

    /// Same selector, the next validator: HMAC-SHA256 of this one under
    /// the remember-me key (see "A lost response" in the module docs).
    fn rotated(&self, key: &SubKey) -> Self {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.expose())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"palisade/v1/remember-next-validator\0");
        mac.update(self.selector.as_slice());
        mac.update(self.validator.as_slice());
        let next: [u8; TOKEN_PART] = mac.finalize().into_bytes().into();
        Self { selector: self.selector.clone(), validator: Zeroizing::new(next) }
    }

    fn from_payload(payload: &[u8]) -> Option<Self> {
        if payload.len() != 2 * TOKEN_PART {
            return None;
        }
        let (s, v) = payload.split_at(TOKEN_PART);
        Some(Self { selector: Zeroizing::new(s.try_into().ok()?), validator: Zeroizing::new(v.try_into().ok()?) })
    }

    fn payload(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(2 * TOKEN_PART));
        out.extend_from_slice(self.selector.as_slice());
        out.extend_from_slice(self.validator.as_slice());
        out
    }

    /// Where record A lives.
    fn a_key(&self) -> StoreKey {
        let mut input = Zeroizing::new(b"palisade.remember.selector:".to_vec());
        input.extend_from_slice(self.selector.as_slice());
        StoreKey::from_session_id(&input)
    }

    fn validator_hash(&self) -> [u8; 32] {
        Sha256::digest(self.validator.as_slice()).into()
    }

    /// Where record B of this validator lives.
    fn b_key(&self) -> StoreKey {
        b_key(&self.a_key(), &self.validator_hash())
    }
}

/// Where record B of the validator hashing to `validator_hash` lives.
fn b_key(a_key: &StoreKey, validator_hash: &[u8; 32]) -> StoreKey {
    let mut input = b"palisade.remember.validator:".to_vec();
    input.extend_from_slice(a_key.as_bytes());
    input.extend_from_slice(validator_hash);
    StoreKey::from_session_id(&input)
}

/// B's key as record A names it (its `cur`), when A says.
fn current_b_key(a_key: &StoreKey, a: &Data) -> Option<StoreKey> {
    let hash = a.get(CURRENT)?.as_str().and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())?;
    Some(b_key(a_key, &hash.try_into().ok()?))
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Remember-me as the sign-in hook runs it: the settings and the codec of
/// the cookie (signed with the ring's remember-me key, name- and age-bound).
pub(crate) struct Remembering {
    pub(crate) settings: RememberMe,
    codec: CookieCodec,
}

impl std::fmt::Debug for Remembering {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remembering").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Remembering {
    pub(crate) fn new(settings: RememberMe, keys: &KeyRing) -> Self {
        let codec = CookieCodec::signed(keys, Purpose::RememberMe).max_age(settings.max_age);
        Self { settings, codec }
    }

    /// Issues a token for `user` and queues its cookie; returns record A's key.
    /// `stamp`: the seal of the user's credential stamp, checked again when
    /// the token is used (a token from before a password change is dead).
    pub(crate) async fn issue(
        &self,
        ctx: &HookContext,
        user: &str,
        stamp: Option<&str>,
    ) -> Result<StoreKey, SessionError> {
        let store = ctx.store()?;
        let now = ctx.now();
        let expires_at = now.saturating_add(secs(self.settings.max_age));
        let client = ctx.client();
        let token = Token::generate();
        let label = client.user_agent_string().map(|ua| UserAgentSummary::parse(&ua).to_string());
        let mut data = Data::new();
        data.insert(LABEL.into(), label.unwrap_or_else(|| "Unknown browser".into()).into());
        data.insert(CURRENT.into(), URL_SAFE_NO_PAD.encode(token.validator_hash()).into());
        if let Some(stamp) = stamp {
            data.insert(STAMP.into(), stamp.into());
        }
        let a = Record {
            data,
            created_at: now,
            last_seen: now,
            expires_at,
            deadline: expires_at,
            user_id: Some(namespaced(user)),
            ip: client.ip_string(),
            user_agent: client.user_agent_string(),
        };
        // B first: if A's write fails, a lone B is worthless (A is looked up first).
        ctx.timed(store.create(&token.b_key(), &validity(user, now, expires_at))).await?;
        ctx.timed(store.create(&token.a_key(), &a)).await?;
        self.set_cookie(ctx, &token, now, expires_at)?;
        Ok(token.a_key())
    }

    fn set_cookie(
        &self,
        ctx: &HookContext,
        token: &Token,
        now: UnixTime,
        expires_at: UnixTime,
    ) -> Result<(), CookieError> {
        let name = &self.settings.attributes.name;
        let value = self.codec.encode(name, &token.payload(), now)?;
        let left = Duration::from_secs(u64::try_from(expires_at.saturating_sub(now)).unwrap_or(0));
        ctx.set_cookie(name, self.settings.attributes.set_cookie(&value, Some(left))?);
        Ok(())
    }

    /// Queues the removal of the remember-me cookie.
    pub(crate) fn remove_cookie(&self, ctx: &HookContext) {
        ctx.set_cookie(&self.settings.attributes.name, self.settings.attributes.removal());
    }

    /// The tokens in the request's cookies whose signature, name and age verify.
    fn presented(&self, ctx: &HookContext) -> (bool, Vec<Token>) {
        let now = ctx.now();
        let mut any = false;
        let tokens = ctx
            .request_cookies(&self.settings.attributes)
            .inspect(|_| any = true)
            .filter_map(|value| {
                let decoded = self.codec.decode(&self.settings.attributes.name, value, now).ok()?;
                Token::from_payload(&Zeroizing::new(decoded.payload))
            })
            .collect();
        (any, tokens)
    }

    /// Reads the request's remember-me cookie and decides. Called by the
    /// session layer's hook when no live session was found: one store read
    /// when the cookie names no live token, three or four round trips on a
    /// sign-in.
    pub(crate) async fn use_cookie(&self, ctx: &HookContext) -> Result<Used, StoreError> {
        let (any, tokens) = self.presented(ctx);
        if !any {
            return Ok(Used::Nothing);
        }
        let Some(token) = tokens.into_iter().next() else {
            tracing::debug!("remember-me cookie refused (bad signature, expired or malformed); removing it");
            self.remove_cookie(ctx);
            return Ok(Used::Nothing);
        };
        let Ok(store) = ctx.store() else { return Ok(Used::Nothing) }; // refused at build: needs a store
        let now = ctx.now();
        let a_key = token.a_key();
        let Some(a) = ctx.timed(store.load(&a_key, now)).await? else {
            tracing::debug!("remember-me token unknown, expired or revoked; removing the cookie");
            self.remove_cookie(ctx);
            return Ok(Used::Nothing);
        };
        let Some(user) = a.user_id.as_deref().and_then(user_of).map(str::to_owned) else {
            self.remove_cookie(ctx);
            return Ok(Used::Nothing);
        };
        let hash = token.validator_hash();
        let rotation_key = ctx.purpose_keys(Purpose::RememberMe).primary();
        if ctx.timed(store.load(&token.b_key(), now)).await?.is_some() {
            let next = token.rotated(rotation_key);
            // A first, then B: a request that finds B gone (it lost the race)
            // and reads A again is then sure to see this rotation.
            let change = Change {
                set: vec![
                    (PREVIOUS.into(), URL_SAFE_NO_PAD.encode(hash).into()),
                    (ROTATED_AT.into(), now.into()),
                    (CURRENT.into(), URL_SAFE_NO_PAD.encode(next.validator_hash()).into()),
                ],
                remove: Vec::new(),
                last_seen: now,
                expires_at: a.expires_at,
            };
            if ctx.timed(store.apply(&a_key, &change, now)).await? == Applied::Missing {
                self.remove_cookie(ctx);
                return Ok(Used::Nothing); // revoked meanwhile
            }
            let b = validity(&user, now, a.expires_at);
            if ctx.timed(store.rotate(&token.b_key(), &next.b_key(), &b, now)).await? == Applied::Done {
                self.set_or_log(ctx, &next, now, a.expires_at);
                tracing::debug!(token = ?a_key, "remember-me token used and rotated");
                return Ok(Used::SignIn { user, token: a_key, stamp: stamp_of(&a.data) });
            }
            // Another request rotated it between our two reads: fall through.
        }
        // B is gone: the validator is not current. Read A again (see above).
        let Some(a) = ctx.timed(store.load(&a_key, now)).await? else {
            self.remove_cookie(ctx);
            return Ok(Used::Nothing);
        };
        if within_grace(&a.data, &hash, now, self.settings.grace) {
            // A parallel request of the same browser, or the retry after a
            // lost response: signed in, and sent the current validator
            // again, so a lost rotation never turns into a theft alarm later.
            // (Its successor is derived; if the key changed in between, the
            // winner's response is the only one with the cookie.)
            let next = token.rotated(rotation_key);
            if current_b_key(&a_key, &a.data) == Some(next.b_key()) {
                self.set_or_log(ctx, &next, now, a.expires_at);
            }
            tracing::debug!(token = ?a_key, "remember-me token used within the grace period of its rotation");
            return Ok(Used::SignIn { user, token: a_key, stamp: stamp_of(&a.data) });
        }
        tracing::warn!(
            user = %user,
            token = ?a_key,
            "remember-me cookie replayed with a stale validator: possible cookie theft; \
             revoking every session and remember-me token of the user"
        );
        let sessions = ctx.timed(store.revoke_user(&user, None)).await?;
        let tokens = ctx.timed(store.revoke_user(&namespaced(&user), None)).await?;
        ctx.timed(store.revoke_user(&validators_of(&user), None)).await?;
        tracing::warn!(sessions, tokens, "revoked after remember-me theft detection");
        self.remove_cookie(ctx);
        Ok(Used::Nothing)
    }

    /// A cookie that cannot be encoded (it always fits) is logged, and the
    /// sign-in goes on: the browser keeps its previous cookie.
    fn set_or_log(&self, ctx: &HookContext, token: &Token, now: UnixTime, expires_at: UnixTime) {
        if let Err(err) = self.set_cookie(ctx, token, now, expires_at) {
            tracing::error!(error = %err, "remember-me cookie could not be set");
        }
    }

    /// Deletes the token(s) named by the request's remember-me cookie and
    /// queues the cookie's removal (logout; login without "remember me", so
    /// an earlier user's token on this browser cannot sign them back in).
    pub(crate) async fn forget_presented(&self, ctx: &HookContext) -> Result<(), SessionError> {
        let (any, tokens) = self.presented(ctx);
        for token in tokens {
            revoke_token(ctx, &token.a_key()).await?;
        }
        if any {
            self.remove_cookie(ctx);
        }
        Ok(())
    }
}

/// Record B: its existence, its expiry, and whose it is (for revoke-all).
fn validity(user: &str, now: UnixTime, expires_at: UnixTime) -> Record {
    Record {
        created_at: now,
        last_seen: now,
        expires_at,
        deadline: expires_at,
        user_id: Some(validators_of(user)),
        ..Record::default()
    }
}

/// What a presented remember-me cookie led to.
#[derive(Debug)]
pub(crate) enum Used {
    /// Valid: sign `user` in; the token's record A is `token`, `stamp` the
    /// credential-stamp seal it was issued with.
    SignIn { user: String, token: StoreKey, stamp: Option<String> },
    /// No usable cookie (none, invalid, unknown, revoked, theft handled).
    Nothing,
}

fn stamp_of(a: &Data) -> Option<String> {
    a.get(STAMP).and_then(|v| v.as_str()).map(str::to_owned)
}

/// True when `hash` is the validator replaced less than `grace` ago.
fn within_grace(a: &Data, hash: &[u8; 32], now: UnixTime, grace: Duration) -> bool {
    let previous = a.get(PREVIOUS).and_then(|v| v.as_str()).and_then(|s| URL_SAFE_NO_PAD.decode(s).ok());
    let rotated_at = a.get(ROTATED_AT).and_then(serde_json::Value::as_i64);
    let (Some(previous), Some(rotated_at)) = (previous, rotated_at) else { return false };
    let same: bool = previous.as_slice().ct_eq(hash.as_slice()).into();
    same && now >= rotated_at && now - rotated_at <= secs(grace)
}

/// Deletes one token: record A and its current validator's record B.
pub(crate) async fn revoke_token(ctx: &HookContext, a_key: &StoreKey) -> Result<(), StoreError> {
    let Ok(store) = ctx.store() else { return Ok(()) }; // cookie sessions have no tokens
    if let Some(a) = ctx.timed(store.load(a_key, ctx.now())).await? {
        if let Some(b) = current_b_key(a_key, &a.data) {
            ctx.timed(store.delete(&b)).await?;
        }
    }
    ctx.timed(store.delete(a_key)).await
}

/// Every live token of `user` ("remembered browsers"), oldest first, none
/// marked current (the caller knows which one its session holds).
pub(crate) async fn tokens_of(ctx: &HookContext, user: &str) -> Result<Vec<SessionInfo>, SessionError> {
    Ok(ctx.timed(ctx.store()?.sessions_of(&namespaced(user), ctx.now())).await?)
}

/// Revokes every remember-me token of `user` (both records), except `keep`.
pub(crate) async fn revoke_all(ctx: &HookContext, user: &str, keep: Option<&StoreKey>) -> Result<u64, SessionError> {
    let store = ctx.store()?;
    let keep_b = match keep {
        Some(a_key) => ctx.timed(store.load(a_key, ctx.now())).await?.and_then(|a| current_b_key(a_key, &a.data)),
        None => None,
    };
    let tokens = ctx.timed(store.revoke_user(&namespaced(user), keep)).await?;
    ctx.timed(store.revoke_user(&validators_of(user), keep_b.as_ref())).await?;
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_never_printed() {
        let a = Token::generate();
        let b = Token::generate();
        assert_ne!(a.payload().as_slice(), b.payload().as_slice());
        assert_eq!(format!("{a:?}"), "Token(<redacted>)");
        let again = Token::from_payload(&a.payload()).unwrap();
        assert_eq!(again.a_key(), a.a_key());
        assert_eq!(again.b_key(), a.b_key());
        assert!(Token::from_payload(&[0; 63]).is_none());
    }

    #[test]
    fn rotation_keeps_the_selector_and_derives_the_next_validator_under_the_key() {
        let keys = crate::keys::KeyRing::generate().derive(crate::keys::Purpose::RememberMe);
        let a = Token::generate();
        let next = a.rotated(keys.primary());
        assert_eq!(a.a_key(), next.a_key());
        assert_ne!(a.b_key(), next.b_key());
        assert_eq!(a.rotated(keys.primary()).b_key(), next.b_key(), "the same successor every time");
        assert_ne!(next.rotated(keys.primary()).b_key(), next.b_key());
        let other = crate::keys::KeyRing::generate().derive(crate::keys::Purpose::RememberMe);
        assert_ne!(a.rotated(other.primary()).b_key(), next.b_key(), "no successor without the key");
    }

    #[test]
    fn grace_accepts_only_the_previous_validator_briefly() {
        let token = Token::generate();
        let mut data = Data::new();
        data.insert(PREVIOUS.into(), URL_SAFE_NO_PAD.encode(token.validator_hash()).into());
        data.insert(ROTATED_AT.into(), 1_000.into());
        let grace = Duration::from_secs(60);
        assert!(within_grace(&data, &token.validator_hash(), 1_030, grace));
        assert!(!within_grace(&data, &token.validator_hash(), 1_061, grace));
        assert!(!within_grace(&data, &Token::generate().validator_hash(), 1_010, grace));
        assert!(!within_grace(&Data::new(), &token.validator_hash(), 1_010, grace));
    }

    #[test]
    fn the_namespace_cannot_be_a_real_user_id() {
        assert_eq!(user_of(&namespaced("alice")), Some("alice"));
        assert_eq!(user_of("alice"), None);
        assert!(namespaced("alice").chars().any(char::is_control));
    }
}
