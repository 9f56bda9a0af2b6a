//! What the `auth`, `binding` and `remember` modules need from a session:
//! the binding check at load time, the remember-me cookie the response
//! carries, and crate-internal access to the store and clock.

use super::error::SessionError;
use super::handle::{Loaded, Session};
use super::layer::Backend;
use crate::auth::{reserved, AuthConfig};
use crate::binding::{Fingerprint, Verdict};
use crate::client::ClientSnapshot;
use crate::cookie::CookieCodec;
use crate::remember::RememberMe;
use crate::store::{Store, StoreError, UnixTime};
use http::HeaderValue;
use serde::Deserialize as _;
use std::future::Future;
use std::sync::Arc;

/// The remember-me cookie a response must carry.
#[derive(Clone, Debug)]
pub(crate) enum PendingCookie {
    Set(HeaderValue),
    Remove,
}

impl Session {
    pub(crate) fn now(&self) -> UnixTime {
        self.shared.clock.now()
    }

    pub(crate) fn auth_config(&self) -> &AuthConfig {
        &self.shared.auth
    }

    /// Remember-me settings and codec, when remember-me is on.
    pub(crate) fn remember_parts(&self) -> Option<(&RememberMe, &CookieCodec)> {
        Some((self.shared.auth.remember.as_ref()?, self.shared.remember_codec.as_ref()?))
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

    /// Values of every remember-me cookie of the request, not yet verified
    /// (empty unless remember-me is configured).
    pub(crate) async fn remember_candidates(&self) -> Vec<String> {
        let Some(config) = &self.shared.auth.remember else { return Vec::new() };
        let state = self.cell.state.lock().await;
        config.attributes.find_in_values(&state.cookie_headers).map(str::to_owned).collect()
    }

    pub(crate) async fn set_remember_cookie(&self, cookie: PendingCookie) {
        self.cell.state.lock().await.remember_cookie = Some(cookie);
    }

    /// The CSRF sub-keys (an anonymous visitor's signed secret cookie).
    pub(crate) fn csrf_keys(&self) -> &crate::keys::PurposeKeys {
        self.shared.csrf_keys()
    }

    /// The remember-me sub-keys (validator rotation).
    pub(crate) fn remember_keys(&self) -> &crate::keys::PurposeKeys {
        self.shared.remember_keys()
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

    pub(crate) async fn skip_binding(&self) {
        self.cell.state.lock().await.binding_exempt = true;
    }

    /// Compares a just-loaded, signed-in session with the request's client.
    /// Returns `false` when the session was destroyed (strong mismatch):
    /// the request then continues as anonymous.
    pub(super) async fn check_binding(&self, loaded: &mut Loaded, client: &ClientSnapshot) -> Result<bool, StoreError> {
        let policy = &self.shared.auth.binding;
        if policy.is_off() || loaded.user_id.is_none() {
            return Ok(true);
        }
        let Some(fingerprint) = loaded.data.get(reserved::BOUND_TO).and_then(|v| Fingerprint::deserialize(v).ok())
        else {
            return Ok(true); // signed in without `auth::login`: nothing to compare
        };
        match fingerprint.verdict(client, policy) {
            Verdict::Match => Ok(true),
            Verdict::NotFresh { what } => {
                if loaded.data.remove(reserved::FRESH_AT).is_some() {
                    loaded.set.remove(reserved::FRESH_AT);
                    loaded.removed.insert(reserved::FRESH_AT.to_owned());
                    tracing::warn!(
                        mismatch = what,
                        session = ?loaded.id.as_ref().map(|id| id.store_key()),
                        "session used from another client; no longer fresh (password needed for sensitive actions)"
                    );
                }
                Ok(true)
            }
            Verdict::Destroy { what } => {
                tracing::warn!(
                    mismatch = what,
                    session = ?loaded.id.as_ref().map(|id| id.store_key()),
                    "session used from another client: possible cookie theft; session and its remember-me token revoked"
                );
                if let Backend::Store(store) = &self.shared.backend {
                    let token =
                        loaded.data.get(reserved::REMEMBER).and_then(|v| v.as_str()).and_then(|t| t.parse().ok());
                    if let Some(token) = token {
                        crate::remember::revoke_token_in(self, store.as_ref(), &token).await?;
                    }
                    if let Some(id) = &loaded.id {
                        self.shared.timed(store.delete(&id.store_key())).await?;
                    }
                }
                Ok(false)
            }
        }
    }
}
