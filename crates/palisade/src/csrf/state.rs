//! Per-request CSRF state, shared by the layer and the `CsrfToken` extractor.
//!
//! Where the secret of a synchronizer token lives (the default,
//! [`TokenKind::Session`]):
//! - **a stored session** (signed in, or anything else kept in it): in the
//!   session, under [`SESSION_KEY`], the only secret such a session accepts;
//! - **no session** (a visitor who only looks at the login form): in a signed
//!   cookie ([`double_submit::anonymous_attributes`]), as Django's CSRF
//!   cookie does, so anonymous visitors cost no store write. A flood of
//!   cookieless `GET /login` then cannot grow the store or make a bounded
//!   store evict signed-in users. A login form left open for hours still
//!   works: no session had to stay alive for it.
//!
//! Login gives the session a new id and a new secret (the anonymous one is
//! removed): a token an attacker learned before the login is dead after it.
//! A token rendered after a rotation in the same request (a page shown
//! right after `auth::login` or `password_changed`) is masked from a new
//! secret, stored with the rotated session, so it verifies.

use super::config::TokenKind;
use super::double_submit::{self, Binding};
use super::layer::Shared;
use super::token::{mask_bytes, Secret};
use super::{RejectReason, SESSION_KEY};
use crate::cookie::CookieAttributes;
use crate::keys::{Purpose, PurposeKeys};
use crate::session::{Session, SessionError};
use http::header::{CACHE_CONTROL, SET_COOKIE};
use http::{HeaderMap, HeaderValue};
use std::sync::{Arc, Mutex, MutexGuard};
use zeroize::Zeroizing;

/// The token value this request masks when it renders a token.
enum Value {
    Secret(Secret),
    /// A double-submit cookie value (base64url text) and its bytes.
    Cookie {
        text: Zeroizing<String>,
        raw: Zeroizing<Vec<u8>>,
    },
}

#[derive(Default)]
struct Slot {
    value: Option<Value>,
    /// Made during this request: it must be stored (session or anonymous
    /// cookie) or sent (double-submit cookie) if, and only if, a token was
    /// rendered.
    fresh: bool,
    renders: usize,
    /// The session's generation when `value` was chosen: a rotation or
    /// flush since then makes it stale.
    generation: u64,
    /// A token of this request verified (the session was looked at).
    verified: bool,
}

/// Put in the request extensions by the layer.
pub(crate) struct RequestCsrf {
    shared: Arc<Shared>,
    session: Option<Session>,
    /// The request's `__Host-csrf` values: double-submit cookies, or (session
    /// tokens) an anonymous visitor's signed secret.
    cookies: Vec<String>,
    /// The CSRF cookies are `Secure` (the session cookie is).
    anonymous_secure: bool,
    slot: Mutex<Slot>,
}

impl RequestCsrf {
    pub(crate) fn new(shared: Arc<Shared>, session: Option<Session>, headers: &HeaderMap) -> Self {
        let anonymous_secure = session.as_ref().is_none_or(Session::cookie_is_secure);
        let attributes = match shared.kind {
            TokenKind::Session if anonymous_secure => &shared.cookies.anonymous_secure,
            TokenKind::Session => &shared.cookies.anonymous_plain,
            TokenKind::DoubleSubmit(_) if anonymous_secure => &shared.cookies.double_submit,
            TokenKind::DoubleSubmit(_) => &shared.cookies.double_submit_plain,
        };
        let cookies = attributes.find_in(headers).map(str::to_owned).collect();
        Self { shared, session, cookies, anonymous_secure, slot: Mutex::new(Slot::default()) }
    }

    /// The cookie that holds an anonymous visitor's secret (session tokens).
    fn anonymous(&self) -> &CookieAttributes {
        if self.anonymous_secure {
            &self.shared.cookies.anonymous_secure
        } else {
            &self.shared.cookies.anonymous_plain
        }
    }

    /// The double-submit cookie, `Secure` when the session cookie is.
    fn double_submit_cookie(&self) -> &CookieAttributes {
        if self.anonymous_secure {
            &self.shared.cookies.double_submit
        } else {
            &self.shared.cookies.double_submit_plain
        }
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    fn slot(&self) -> MutexGuard<'_, Slot> {
        // A panic elsewhere while holding this lock leaves plain data behind;
        // carrying on with it is safe.
        self.slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn session(&self) -> Result<&Session, RejectReason> {
        self.session.as_ref().ok_or_else(|| {
            tracing::error!("CsrfLayer keeps its secret in the session: add SessionLayer outside CsrfLayer");
            RejectReason::MisconfiguredNoSession
        })
    }

    fn generation(&self) -> u64 {
        self.session.as_ref().map_or(0, Session::generation)
    }

    async fn stored_secret(&self) -> Result<Option<Secret>, RejectReason> {
        let stored: Option<serde_json::Value> = self.session()?.get(SESSION_KEY).await.map_err(session_failure)?;
        // Anything malformed under our key is treated as no secret at all.
        Ok(stored.as_ref().and_then(serde_json::Value::as_str).and_then(Secret::from_stored))
    }

    /// True when the session has (or is getting) a stored record: then the
    /// secret lives in it. Apps that sign in with plain `rotate_id` (no
    /// `auth::login`) count, so a secret from before their login can never
    /// survive it either.
    async fn in_session(&self) -> Result<bool, RejectReason> {
        self.session()?.holds_data().await.map_err(session_failure)
    }

    /// An anonymous visitor's secret, from the first genuine signed cookie.
    fn anonymous_secret(&self, session: &Session) -> Option<Secret> {
        let keys = session.purpose_keys(Purpose::Csrf);
        self.cookies
            .iter()
            .find(|c| double_submit::is_genuine(keys, &None, c))
            .and_then(|c| double_submit::random_part(c))
            .and_then(|random| Secret::from_bytes(&random))
    }

    /// The secret this request's tokens are checked against, if there is one.
    async fn current_secret(&self) -> Result<Option<Secret>, RejectReason> {
        if let Some(secret) = self.stored_secret().await? {
            return Ok(Some(secret));
        }
        if self.in_session().await? {
            return Ok(None); // a stored session accepts its own secret only
        }
        Ok(self.anonymous_secret(self.session()?))
    }

    /// The binding of the session the request came with (what the
    /// browser's double-submit cookie was minted for).
    async fn binding(&self) -> Result<Binding, RejectReason> {
        match &self.session {
            Some(session) => session.csrf_binding().await.map_err(session_failure),
            None => Ok(None),
        }
    }

    /// The binding the session will have when this request is saved (a
    /// login, a logout or a first write changes it).
    async fn binding_when_saved(&self) -> Result<Binding, RejectReason> {
        match &self.session {
            Some(session) => session.csrf_binding_when_saved().await.map_err(session_failure),
            None => Ok(None),
        }
    }

    fn keep(&self, value: Value, fresh: bool) {
        let generation = self.generation();
        let mut slot = self.slot();
        if slot.value.is_none() {
            slot.value = Some(value);
            slot.fresh = fresh;
            slot.generation = generation;
        }
    }

    /// Checks a submitted token against this request's session or cookie.
    pub(crate) async fn verify(&self, token: &str) -> Result<(), RejectReason> {
        match &self.shared.kind {
            TokenKind::Session => {
                let Some(secret) = self.current_secret().await? else {
                    // No session and no anonymous secret: nothing to check
                    // against. The page outlived its session (or its
                    // browser session): stale rather than forged, and the
                    // user is told so.
                    return Err(if self.in_session().await? {
                        RejectReason::BadToken
                    } else {
                        RejectReason::SessionExpired
                    });
                };
                if !secret.verifies(token) {
                    let stale = self.session()?.cookie_was_stale().await.map_err(session_failure)?;
                    return Err(if stale { RejectReason::SessionExpired } else { RejectReason::BadToken });
                }
                self.keep(Value::Secret(secret), false);
            }
            TokenKind::DoubleSubmit(keys) => {
                let binding = self.binding().await?;
                let cookie = self
                    .cookies
                    .iter()
                    .find(|c| double_submit::is_genuine(keys, &binding, c) && double_submit::echoes(c, token))
                    .ok_or(RejectReason::BadToken)?;
                self.keep(cookie_value(cookie.clone()), false);
            }
        }
        self.slot().verified = true;
        Ok(())
    }

    /// Finds (or makes, without storing yet) the value tokens are masked
    /// from. Reads the session but never writes it.
    pub(crate) async fn resolve(&self) -> Result<(), RejectReason> {
        if self.slot().value.is_some() {
            return Ok(());
        }
        match &self.shared.kind {
            TokenKind::Session => match self.current_secret().await? {
                Some(secret) => self.keep(Value::Secret(secret), false),
                None => self.keep(Value::Secret(Secret::generate()), true),
            },
            TokenKind::DoubleSubmit(keys) => {
                let binding = self.binding_when_saved().await?;
                match self.cookies.iter().find(|c| double_submit::is_genuine(keys, &binding, c)) {
                    Some(cookie) => self.keep(cookie_value(cookie.clone()), false),
                    None => self.keep(cookie_value(double_submit::mint(keys, &binding)), true),
                }
            }
        }
        Ok(())
    }

    /// A freshly masked token; `None` only if [`resolve`](Self::resolve)
    /// never ran (the extractor always runs it).
    ///
    /// When the session was rotated or flushed since the value was chosen
    /// (the handler called `auth::login`), that value died with the old id:
    /// a new secret is made, to be stored with the new session at the end
    /// of the request, so tokens rendered now verify on the next click.
    pub(crate) fn masked(&self) -> Option<String> {
        let generation = self.generation();
        let mut slot = self.slot();
        let stale = slot.generation != generation && matches!(self.shared.kind, TokenKind::Session);
        if stale && slot.value.is_some() {
            slot.value = Some(Value::Secret(Secret::generate()));
            slot.fresh = true;
            slot.generation = generation;
        }
        let token = match slot.value.as_ref()? {
            Value::Secret(secret) => secret.mask(),
            Value::Cookie { raw, .. } => mask_bytes(raw),
        };
        slot.renders += 1;
        Some(token)
    }

    /// After the handler: a value made in this request is stored (session,
    /// or an anonymous visitor's cookie) or set as a double-submit cookie
    /// only if a token was rendered, so pages without forms cost nothing.
    pub(crate) async fn finish(&self, headers: &mut HeaderMap) {
        if let TokenKind::DoubleSubmit(keys) = &self.shared.kind {
            return self.finish_double_submit(keys, headers).await;
        }
        let (secret, fresh) = {
            let slot = self.slot();
            if slot.renders == 0 && !slot.verified {
                return;
            }
            let secret = match &slot.value {
                Some(Value::Secret(secret)) if slot.renders > 0 => Some(secret.clone()),
                _ => None,
            };
            (secret, slot.fresh)
        };
        match secret.filter(|_| fresh) {
            Some(secret) => self.keep_secret(secret, headers).await,
            None => self.drop_anonymous_cookie_if_signed_in(headers).await,
        }
    }

    /// The double-submit cookie follows the session: a request that signed
    /// in, out or started a record changed the session id the cookie is
    /// bound to, so its response carries one bound to the new id (Django's
    /// `rotate_token` at login). A single-page app reads the cookie before
    /// each request and goes on working; a value known before login is
    /// dead after it.
    async fn finish_double_submit(&self, keys: &PurposeKeys, headers: &mut HeaderMap) {
        let (current, fresh, rendered, looked, rotated) = {
            let slot = self.slot();
            let current = match &slot.value {
                Some(Value::Cookie { text, .. }) => Some(text.clone()),
                _ => self.cookies.first().map(|c| Zeroizing::new(c.clone())),
            };
            let rotated = slot.generation != self.generation();
            (current, slot.fresh, slot.renders > 0, slot.renders > 0 || slot.verified, rotated)
        };
        // Untouched by this request, and no cookie of the browser's that a
        // login or logout could have left behind: nothing to send.
        let held_a_cookie = !self.cookies.is_empty();
        if !(looked || (rotated && held_a_cookie)) {
            return;
        }
        let Ok(binding) = self.binding_when_saved().await else { return };
        match current.filter(|c| double_submit::is_genuine(keys, &binding, c)) {
            Some(cookie) if fresh && rendered => {
                set_cookie(headers, self.double_submit_cookie().set_cookie(&cookie, None));
            }
            Some(_) => {} // the browser holds it already
            None => {
                let cookie = double_submit::mint(keys, &binding);
                set_cookie(headers, self.double_submit_cookie().set_cookie(&cookie, None));
            }
        }
    }

    /// Stores a secret made in this request where it belongs.
    async fn keep_secret(&self, secret: Secret, headers: &mut HeaderMap) {
        let Some(session) = &self.session else { return };
        match self.in_session().await {
            Ok(true) => {
                self.store_secret(session, secret.to_stored()).await;
                self.drop_anonymous_cookie(headers);
            }
            Ok(false) => {
                let value = double_submit::sign(session.purpose_keys(Purpose::Csrf), &None, secret.expose());
                set_cookie(headers, self.anonymous().set_cookie(&value, None));
            }
            Err(_) => {} // logged by `session_failure`; the session layer answers 503
        }
    }

    async fn store_secret(&self, session: &Session, stored: String) {
        let current: Result<Option<serde_json::Value>, SessionError> = session.get(SESSION_KEY).await;
        match current {
            Ok(None) => {
                if let Err(err) = session.insert(SESSION_KEY, stored).await {
                    tracing::error!(error = %err, "CSRF secret could not be stored in the session");
                }
            }
            Ok(Some(_)) => {}
            Err(err) => tracing::error!(error = %err, "session unreadable while storing the CSRF secret"),
        }
    }

    /// A stored session now (this request logged in): the anonymous
    /// secret's cookie has no use left and is removed.
    async fn drop_anonymous_cookie_if_signed_in(&self, headers: &mut HeaderMap) {
        if !self.cookies.is_empty() && matches!(self.in_session().await, Ok(true)) {
            self.drop_anonymous_cookie(headers);
        }
    }

    fn drop_anonymous_cookie(&self, headers: &mut HeaderMap) {
        if !self.cookies.is_empty() {
            headers.append(SET_COOKIE, self.anonymous().removal());
        }
    }
}

fn set_cookie(headers: &mut HeaderMap, header: Result<HeaderValue, crate::cookie::CookieError>) {
    match header {
        Ok(header) => {
            headers.append(SET_COOKIE, header);
            // A shared cache must never hand this cookie to others.
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        Err(err) => tracing::error!(error = %err, "CSRF cookie could not be set"),
    }
}

fn cookie_value(text: String) -> Value {
    let raw = super::token::decode_token(&text).unwrap_or_default();
    Value::Cookie { text: Zeroizing::new(text), raw }
}

/// The session could not be read: fail closed (the session layer answers
/// 503 for store failures anyway).
fn session_failure(err: SessionError) -> RejectReason {
    tracing::error!(error = %err, "session unreadable during the CSRF check");
    RejectReason::SessionUnavailable
}
