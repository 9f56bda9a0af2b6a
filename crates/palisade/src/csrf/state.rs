//! Per-request CSRF state, shared by the layer and the `CsrfToken` extractor.

use super::config::TokenKind;
use super::double_submit::{self, Binding};
use super::layer::Shared;
use super::token::{mask_bytes, Secret};
use super::{RejectReason, SESSION_KEY};
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
    /// Made during this request: it must be stored (session) or sent
    /// (cookie) if, and only if, a token was rendered.
    fresh: bool,
    renders: usize,
}

/// Put in the request extensions by the layer.
pub(crate) struct RequestCsrf {
    shared: Arc<Shared>,
    session: Option<Session>,
    cookies: Vec<String>,
    slot: Mutex<Slot>,
}

impl RequestCsrf {
    pub(crate) fn new(shared: Arc<Shared>, session: Option<Session>, headers: &HeaderMap) -> Self {
        let cookies = match shared.kind {
            TokenKind::DoubleSubmit(_) => double_submit::attributes().find_in(headers).map(str::to_owned).collect(),
            TokenKind::Session => Vec::new(),
        };
        Self { shared, session, cookies, slot: Mutex::new(Slot::default()) }
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

    async fn stored_secret(&self) -> Result<Option<Secret>, RejectReason> {
        let stored: Option<serde_json::Value> = self.session()?.get(SESSION_KEY).await.map_err(session_failure)?;
        // Anything malformed under our key is treated as no secret at all.
        Ok(stored.as_ref().and_then(serde_json::Value::as_str).and_then(Secret::from_stored))
    }

    async fn binding(&self) -> Result<Binding, RejectReason> {
        match &self.session {
            Some(session) => session.csrf_binding().await.map_err(session_failure),
            None => Ok(None),
        }
    }

    fn keep(&self, value: Value, fresh: bool) {
        let mut slot = self.slot();
        if slot.value.is_none() {
            slot.value = Some(value);
            slot.fresh = fresh;
        }
    }

    /// Checks a submitted token against this request's session or cookie.
    pub(crate) async fn verify(&self, token: &str) -> Result<(), RejectReason> {
        match &self.shared.kind {
            TokenKind::Session => {
                let secret = self.stored_secret().await?.ok_or(RejectReason::BadToken)?;
                if !secret.verifies(token) {
                    return Err(RejectReason::BadToken);
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
        Ok(())
    }

    /// Finds (or makes, without storing yet) the value tokens are masked
    /// from. Reads the session but never writes it.
    pub(crate) async fn resolve(&self) -> Result<(), RejectReason> {
        if self.slot().value.is_some() {
            return Ok(());
        }
        match &self.shared.kind {
            TokenKind::Session => match self.stored_secret().await? {
                Some(secret) => self.keep(Value::Secret(secret), false),
                None => self.keep(Value::Secret(Secret::generate()), true),
            },
            TokenKind::DoubleSubmit(keys) => {
                let binding = self.binding().await?;
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
    pub(crate) fn masked(&self) -> Option<String> {
        let mut slot = self.slot();
        let token = match slot.value.as_ref()? {
            Value::Secret(secret) => secret.mask(),
            Value::Cookie { raw, .. } => mask_bytes(raw),
        };
        slot.renders += 1;
        Some(token)
    }

    /// After the handler: a value made in this request is stored in the
    /// session (or set as a cookie) only if a token was rendered, so pages
    /// without forms cost no session write and set no cookie.
    pub(crate) async fn finish(&self, headers: &mut HeaderMap) {
        let (stored, fresh, cookie) = {
            let slot = self.slot();
            if slot.renders == 0 {
                return;
            }
            match &slot.value {
                Some(Value::Secret(secret)) => (Some(secret.to_stored()), slot.fresh, None),
                Some(Value::Cookie { text, .. }) => (None, slot.fresh, Some(text.clone())),
                None => return,
            }
        };
        if let Some(stored) = stored {
            self.store_secret(stored, fresh).await;
        }
        if let (Some(cookie), true) = (cookie, fresh) {
            match double_submit::attributes().set_cookie(&cookie, None) {
                Ok(header) => {
                    headers.append(SET_COOKIE, header);
                    // A shared cache must never hand this cookie to others.
                    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                }
                Err(err) => tracing::error!(error = %err, "CSRF cookie could not be set"),
            }
        }
    }

    async fn store_secret(&self, stored: String, fresh: bool) {
        let Some(session) = &self.session else { return };
        let current: Result<Option<serde_json::Value>, SessionError> = session.get(SESSION_KEY).await;
        match current {
            Ok(None) if fresh => {
                if let Err(err) = session.insert(SESSION_KEY, stored).await {
                    tracing::error!(error = %err, "CSRF secret could not be stored in the session");
                }
            }
            Ok(None) => {
                // Re-inserting would undo rotate_id: a secret known before
                // login must not survive it.
                tracing::warn!(
                    "a CSRF token was rendered and then rotate_id or flush dropped its secret in the same request; \
                     that token will not verify: render tokens after redirecting"
                );
            }
            Ok(Some(_)) => {}
            Err(err) => tracing::error!(error = %err, "session unreadable while storing the CSRF secret"),
        }
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
