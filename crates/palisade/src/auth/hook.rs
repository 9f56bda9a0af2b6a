//! Sign-in's part in loading a session: the [`SessionHook`] that checks the
//! binding of a found session and signs a remembered browser in, installed
//! by [`SessionLayerBuilder::auth`].

use super::{reserved, stamp, AuthConfig, AuthError};
use crate::binding::{Fingerprint, Verdict};
use crate::keys::Purpose;
use crate::remember::{self, Remembering, Used};
use crate::session::hook::{BuildInfo, Found, FoundSession, HookContext, SessionHook, SignIn};
use crate::session::{ExtensionConfigError, SessionConfigError, SessionLayerBuilder};
use crate::store::{StoreError, StoreKey};
use async_trait::async_trait;
use serde::Deserialize as _;
use std::any::Any;
use std::sync::Arc;

/// The sign-in settings a session layer runs with.
#[derive(Debug)]
pub(crate) struct AuthHook {
    pub(crate) config: AuthConfig,
    /// Remember-me, when configured.
    pub(crate) remember: Option<Remembering>,
}

impl SessionLayerBuilder {
    /// Sign-in settings: login path, session binding, remember-me (see
    /// [`AuthConfig`]: binding on, remember-me off by default). Needed by
    /// everything in [`crate::auth`]: without it, `auth::login` answers
    /// [`AuthError::NotConfigured`](super::AuthError::NotConfigured).
    ///
    /// The settings are checked by [`build`](Self::build): a configuration
    /// that cannot work is refused there with an
    /// [`AuthConfigError`](super::AuthConfigError) (through
    /// [`SessionConfigError::Extension`]).
    pub fn auth(self, config: AuthConfig) -> Self {
        self.hook(Box::new(move |info: &BuildInfo<'_>| {
            config
                .validate(info.development_mode, info.server_side)
                .map_err(|err| SessionConfigError::Extension(ExtensionConfigError::new(err)))?;
            let remember = config.remember.clone().map(|settings| Remembering::new(settings, info.keys));
            Ok(Arc::new(AuthHook { config, remember }) as Arc<dyn SessionHook>)
        }))
    }
}

#[async_trait]
impl SessionHook for AuthHook {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn checks_found(&self) -> bool {
        !self.config.binding.is_off() || self.config.stamp.is_some()
    }

    fn signs_in_anonymous(&self) -> bool {
        self.remember.is_some()
    }

    /// Session binding: a signed-in session is compared with the request's
    /// client. A basic mismatch makes it not fresh; a strong one destroys it
    /// and revokes the remember-me token it came with (one of the two users
    /// of the cookie is a thief).
    async fn on_found(&self, ctx: &HookContext, found: &mut FoundSession<'_>) -> Result<Found, StoreError> {
        let Some(user) = found.user_id else { return Ok(Found::Keep) };
        if self.config.stamp.is_some() {
            let sealed = found.data.get(reserved::STAMP).and_then(|v| v.as_str());
            let current = self.current_stamp(ctx, user).await?;
            if !self.stamp_matches(ctx, user, current.as_deref(), sealed) {
                tracing::warn!(
                    session = ?found.key,
                    "credential stamp changed (password changed elsewhere) or user gone: session and its remember-me token ended"
                );
                self.end_with_token(ctx, found.data).await?;
                return Ok(Found::Destroy);
            }
        }
        let policy = &self.config.binding;
        if policy.is_off() {
            return Ok(Found::Keep);
        }
        let Some(fingerprint) = found.data.get(reserved::BOUND_TO).and_then(|v| Fingerprint::deserialize(v).ok())
        else {
            return Ok(Found::Keep); // signed in without `auth::login`: nothing to compare
        };
        match fingerprint.verdict(ctx.client(), policy) {
            Verdict::Match => Ok(Found::Keep),
            Verdict::NotFresh { what } => {
                if found.data.contains_key(reserved::FRESH_AT) {
                    found.remove.push(reserved::FRESH_AT.to_owned());
                    tracing::warn!(
                        mismatch = what,
                        session = ?found.key,
                        "session used from another client; no longer fresh (password needed for sensitive actions)"
                    );
                }
                Ok(Found::Keep)
            }
            Verdict::Destroy { what } => {
                tracing::warn!(
                    mismatch = what,
                    session = ?found.key,
                    "session used from another client: possible cookie theft; session and its remember-me token revoked"
                );
                self.end_with_token(ctx, found.data).await?;
                Ok(Found::Destroy)
            }
        }
    }

    /// Remember-me: a browser without a live session that presents a valid
    /// token is signed in, with a new session that is not fresh.
    async fn on_anonymous(&self, ctx: &HookContext) -> Result<Option<SignIn>, StoreError> {
        let Some(remembering) = &self.remember else { return Ok(None) };
        if self.config.binding.compares_ip() && ctx.client().ip.is_none() {
            // Fail closed, as auth::login does: an unbound session is worth
            // the same to a thief from anywhere.
            tracing::error!("remember-me sign-in refused: {}", super::AuthError::ClientAddressUnknown);
            return Ok(None);
        }
        let Used::SignIn { user, token, stamp: sealed } = remembering.use_cookie(ctx).await? else { return Ok(None) };
        let mut stamp = None;
        if self.config.stamp.is_some() {
            let current = self.current_stamp(ctx, &user).await?;
            if !self.stamp_matches(ctx, &user, current.as_deref(), sealed.as_deref()) {
                tracing::warn!(
                    token = ?token,
                    "remember-me token from before a password change (or of a deleted user) refused and revoked"
                );
                remember::revoke_token(ctx, &token).await?;
                remembering.remove_cookie(ctx);
                return Ok(None);
            }
            stamp = current.map(|current| stamp::seal(ctx.purpose_keys(Purpose::CredentialStamp), &user, &current));
        }
        Ok(Some(self.remembered(ctx, user, &token, stamp)))
    }
}

impl AuthHook {
    /// The session values of a remember-me sign-in: login time, binding to
    /// this client and the token, but no fresh time.
    fn remembered(&self, ctx: &HookContext, user: String, token: &StoreKey, stamp: Option<String>) -> SignIn {
        let fingerprint = Fingerprint::of(ctx.client(), &self.config.binding);
        let mut set = vec![
            (reserved::LOGIN_AT.to_owned(), ctx.now().into()),
            (reserved::BOUND_TO.to_owned(), serde_json::to_value(fingerprint).unwrap_or_default()),
            (reserved::REMEMBER.to_owned(), token.to_hex().into()),
        ];
        if let Some(stamp) = stamp {
            set.push((reserved::STAMP.to_owned(), stamp.into()));
        }
        SignIn { user_id: user, set }
    }

    /// Revokes the remember-me token a session holds and removes the
    /// cookie: the browser cannot sign straight back in.
    async fn end_with_token(&self, ctx: &HookContext, data: &crate::store::Data) -> Result<(), StoreError> {
        let token = data.get(reserved::REMEMBER).and_then(|v| v.as_str()).and_then(|t| t.parse().ok());
        if let Some(token) = token {
            remember::revoke_token(ctx, &token).await?;
        }
        if let Some(remembering) = &self.remember {
            remembering.remove_cookie(ctx); // dead now: the browser drops it
        }
        Ok(())
    }

    /// The user's current credential stamp from the app's loader, bounded
    /// by the layer's timeout; a failure is a store failure (503).
    async fn current_stamp(&self, ctx: &HookContext, user: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(loader) = &self.config.stamp else { return Ok(None) };
        ctx.timed(async { loader.0.stamp(user).await.map_err(StoreError::Unavailable) }).await
    }

    /// True when `sealed` (from the session or token) is the seal of the
    /// user's `current` stamp; false for a user who is gone or no seal.
    fn stamp_matches(&self, ctx: &HookContext, user: &str, current: Option<&[u8]>, sealed: Option<&str>) -> bool {
        let (Some(current), Some(sealed)) = (current, sealed) else { return false };
        stamp::verify(ctx.purpose_keys(Purpose::CredentialStamp), user, current, sealed)
    }

    /// The seal to keep in a new sign-in's session (and token), when the
    /// check is on.
    pub(crate) async fn seal_stamp(&self, ctx: &HookContext, user: &str) -> Result<Option<String>, AuthError> {
        if self.config.stamp.is_none() {
            return Ok(None);
        }
        let current = self.current_stamp(ctx, user).await?.ok_or_else(|| {
            tracing::error!("{}", AuthError::UnknownUser);
            AuthError::UnknownUser
        })?;
        Ok(Some(stamp::seal(ctx.purpose_keys(Purpose::CredentialStamp), user, &current)))
    }
}
