//! The one way a module built on top of sessions (sign-in) takes part in a
//! request: a [`SessionHook`] installed on
//! the layer at build time. The session knows nothing of users, binding or
//! remember-me; it calls the hook
//! - when a live session **with a user** is found for the request's cookie
//!   (the hook may strip values or have the session destroyed: a binding
//!   mismatch);
//! - when **no** live session is found (the hook may sign the browser in:
//!   remember-me), before the first use of the session returns, so every
//!   handler, extractor and layer sees the same session whatever order they
//!   run in;
//!
//! and the hook may ask for cookies on the response ([`HookContext::set_cookie`]).

use super::error::SessionError;
use super::layer::{Backend, Shared};
use crate::client::ClientSnapshot;
use crate::cookie::CookieAttributes;
use crate::keys::{KeyRing, Purpose, PurposeKeys};
use crate::store::{Data, Store, StoreError, StoreKey, UnixTime};
use async_trait::async_trait;
use http::HeaderValue;
use std::any::Any;
use std::future::Future;
use std::sync::{Arc, Mutex};

/// What the layer is being built with, for a hook to check its settings
/// against and derive its keys from.
pub(crate) struct BuildInfo<'a> {
    pub(crate) keys: &'a KeyRing,
    pub(crate) development_mode: bool,
    pub(crate) server_side: bool,
}

/// Makes the hook when the layer is built (its keys, its checks).
pub(crate) type HookFactory =
    Box<dyn FnOnce(&BuildInfo<'_>) -> Result<Arc<dyn SessionHook>, super::SessionConfigError> + Send>;

/// A live session found for the request, as the hook sees it.
pub(crate) struct FoundSession<'a> {
    pub(crate) key: Option<StoreKey>,
    pub(crate) user_id: Option<&'a str>,
    pub(crate) data: &'a Data,
    /// Keys the hook removes (applied by the session as ordinary removals).
    pub(crate) remove: Vec<String>,
}

/// The hook's verdict on a found session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Found {
    Keep,
    /// Delete the session's record; the request goes on as anonymous and
    /// the session cookie is removed.
    Destroy,
}

/// A sign-in decided while loading: the session gets a new id, `user_id`
/// and these values.
#[derive(Debug)]
pub(crate) struct SignIn {
    pub(crate) user_id: String,
    pub(crate) set: Vec<(String, serde_json::Value)>,
}

#[async_trait]
pub(crate) trait SessionHook: Send + Sync + 'static {
    /// For the hook's owner to find its own state again (`Session::hook`).
    fn as_any(&self) -> &dyn Any;

    /// False when [`on_found`](Self::on_found) would always keep the
    /// session: the layer then skips it (and the context it needs).
    fn checks_found(&self) -> bool {
        true
    }

    /// A live session with a user was found (not called for routes exempt
    /// from checks).
    async fn on_found(&self, ctx: &HookContext, found: &mut FoundSession<'_>) -> Result<Found, StoreError>;

    /// False when [`on_anonymous`](Self::on_anonymous) would never sign in.
    fn signs_in_anonymous(&self) -> bool {
        true
    }

    /// No live session was found.
    async fn on_anonymous(&self, ctx: &HookContext) -> Result<Option<SignIn>, StoreError>;
}

/// What a hook (and the modules on top of sessions) may use: the store, the
/// clock, the client, the request's cookies, keys, and cookies to set.
/// Owned, so it needs no lock on the session while it is used.
pub(crate) struct HookContext {
    pub(crate) shared: Arc<Shared>,
    client: ClientSnapshot,
    cookie_headers: Vec<HeaderValue>,
    cookies_out: Mutex<Vec<(String, HeaderValue)>>,
}

impl HookContext {
    pub(crate) fn new(shared: Arc<Shared>, client: ClientSnapshot, cookie_headers: Vec<HeaderValue>) -> Self {
        Self { shared, client, cookie_headers, cookies_out: Mutex::new(Vec::new()) }
    }

    pub(crate) fn now(&self) -> UnixTime {
        self.shared.clock.now()
    }

    pub(crate) fn client(&self) -> &ClientSnapshot {
        &self.client
    }

    /// The store of server-side sessions.
    pub(crate) fn store(&self) -> Result<&dyn Store, SessionError> {
        match &self.shared.backend {
            Backend::Store(store) => Ok(store.as_ref()),
            Backend::Cookie => Err(SessionError::NotServerSide),
        }
    }

    /// A store call bounded by the layer's timeout.
    pub(crate) async fn timed<T>(&self, call: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        self.shared.timed(call).await
    }

    /// The sub-keys of `purpose`, derived from the layer's key ring once.
    pub(crate) fn purpose_keys(&self, purpose: Purpose) -> &PurposeKeys {
        self.shared.purpose_keys(purpose)
    }

    /// The request's values of the cookie `attributes` names (a few at most).
    pub(crate) fn request_cookies<'a>(&'a self, attributes: &'a CookieAttributes) -> impl Iterator<Item = &'a str> {
        attributes.find_in_values(&self.cookie_headers)
    }

    /// A `Set-Cookie` for the response; a later one for the same `name`
    /// replaces it (a removal, then a new value: the new value is sent).
    pub(crate) fn set_cookie(&self, name: &str, header: HeaderValue) {
        let mut out = self.cookies_out.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        super::handle::queue_cookie(&mut out, name.to_owned(), header);
    }

    pub(crate) fn take_cookies(&self) -> Vec<(String, HeaderValue)> {
        std::mem::take(&mut *self.cookies_out.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}

/// What the modules on top of sessions use of a [`Session`](super::Session)
/// (crate-internal: the public API stays `get`/`insert`/`rotate_id`/…).
impl super::Session {
    pub(crate) fn now(&self) -> UnixTime {
        self.shared.clock.now()
    }

    /// The hook installed on the layer, as its owner's type.
    pub(crate) fn hook<T: 'static>(&self) -> Option<&T> {
        self.shared.hook.as_deref()?.as_any().downcast_ref()
    }

    /// The store of server-side sessions.
    pub(crate) fn store(&self) -> Result<Arc<dyn Store>, SessionError> {
        match &self.shared.backend {
            Backend::Store(store) => Ok(store.clone()),
            Backend::Cookie => Err(SessionError::NotServerSide),
        }
    }

    /// A store call bounded by the layer's timeout.
    pub(crate) async fn timed<T>(&self, call: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        self.shared.timed(call).await
    }

    pub(crate) async fn client(&self) -> ClientSnapshot {
        self.cell.state.lock().await.client.clone()
    }

    /// The sub-keys of `purpose`, derived from the layer's key ring once.
    pub(crate) fn purpose_keys(&self, purpose: Purpose) -> &PurposeKeys {
        self.shared.purpose_keys(purpose)
    }

    /// The session cookie is `Secure` (false only in development mode):
    /// cookies set alongside it follow.
    pub(crate) fn cookie_is_secure(&self) -> bool {
        self.shared.attributes.secure
    }

    /// A context for store work outside the session's lock; give it back
    /// with [`adopt`](Self::adopt) so the cookies it set are sent.
    pub(crate) async fn context(&self) -> HookContext {
        let state = self.cell.state.lock().await;
        HookContext::new(self.shared.clone(), state.client.clone(), state.cookie_headers.clone())
    }

    /// Queues the cookies `ctx` set for the response.
    pub(crate) async fn adopt(&self, ctx: HookContext) {
        let cookies = ctx.take_cookies();
        if !cookies.is_empty() {
            let mut state = self.cell.state.lock().await;
            for (name, header) in cookies {
                super::handle::queue_cookie(&mut state.response_cookies, name, header);
            }
        }
    }

    /// A header the response must carry (appended after the handler).
    pub(crate) async fn add_response_header(&self, name: http::HeaderName, value: HeaderValue) {
        self.cell.state.lock().await.response_headers.push((name, value));
    }

    /// True when the request carried a session cookie that named no live
    /// session (expired, logged out, revoked): a form on a page rendered
    /// for it is stale, not forged.
    pub(crate) async fn cookie_was_stale(&self) -> Result<bool, SessionError> {
        self.with_loaded(|l| Ok(l.had_cookie && !l.existing)).await
    }

    /// True when the session has a stored record, or gets one at the end
    /// of this request (values set, or a new id).
    pub(crate) async fn holds_data(&self) -> Result<bool, SessionError> {
        self.with_loaded(|l| Ok((l.existing && !l.flushed) || l.rotated || !l.data.is_empty())).await
    }

    /// The hook's checks of a found session do not run for this request
    /// (`SkipBindingLayer`).
    pub(crate) async fn skip_checks(&self) {
        self.cell.state.lock().await.checks_exempt = true;
    }
}
