//! Signing in and out: [`login`], [`logout`], the [`CurrentUser`] extractor,
//! fresh logins, session binding and remember-me in one place.
//!
//! ```no_run
//! use axum::{routing::{get, post}, Router};
//! use palisade::auth::{self, AuthConfig, AuthError, CurrentUser, LoginOptions};
//! use palisade::{keys::KeyRing, remember::RememberMe, session::{Session, SessionLayer}, store::MemoryStore};
//! use std::time::Duration;
//!
//! async fn login(session: Session) -> Result<&'static str, AuthError> {
//!     // ... check the password first ...
//!     auth::login(&session, "42", LoginOptions::new().remember(true)).await?;
//!     Ok("welcome")
//! }
//!
//! async fn account(user: CurrentUser) -> String {
//!     format!("hello {}", user.id()) // anonymous browsers were sent to /login?next=/account
//! }
//!
//! async fn delete_account(user: CurrentUser) -> Result<&'static str, auth::AuthRejection> {
//!     user.require_fresh(Duration::from_secs(600))?; // password entered in the last 10 minutes
//!     Ok("deleted")
//! }
//!
//! async fn logout(session: Session) -> Result<&'static str, AuthError> {
//!     auth::logout(&session).await?;
//!     Ok("bye")
//! }
//!
//! # fn app() -> Result<Router, Box<dyn std::error::Error>> {
//! let sessions = SessionLayer::server_side(MemoryStore::new(), KeyRing::from_env()?)
//!     .auth(AuthConfig::new().login_path("/login").remember_me(RememberMe::new()))
//!     .build()?;
//! Ok(Router::new()
//!     .route("/login", post(login))
//!     .route("/account", get(account))
//!     .route("/account/delete", post(delete_account))
//!     .route("/logout", post(logout))
//!     .layer(sessions))
//! # }
//! ```
//!
//! What [`login`] does, and the attack each step stops:
//! - a new session id ([`Session::set_user_id`]): **session fixation**;
//! - a new CSRF secret (dropped with the old id): a token an attacker
//!   learned before login is worthless after it (**login CSRF** follow-ups);
//! - the absolute timeout restarts: the 8-hour limit counts from the
//!   password entry;
//! - the login time and the **fresh** time (last password entry) are kept,
//!   so sensitive actions can demand a recent password
//!   ([`CurrentUser::require_fresh`]): a borrowed unlocked laptop or a
//!   stolen session cannot change the password or e-mail;
//! - the client's fingerprint is recorded ([`crate::binding`]): a **stolen
//!   session cookie** replayed from elsewhere is refused;
//! - optionally a remember-me token ([`crate::remember`]).

mod config;
#[cfg(feature = "axum")]
mod extract;
mod hook;
mod stamp;

pub use config::{AuthConfig, AuthConfigError};
#[cfg(feature = "axum")]
pub use extract::{AuthRejection, CurrentUser};
pub use stamp::{CredentialStamp, StampError};

use crate::binding::Fingerprint;
use crate::remember;
use crate::session::hook::HookContext;
use crate::session::{Session, SessionError};
use crate::store::{StoreError, StoreKey, UnixTime};
use hook::AuthHook;

/// Session keys the auth module owns. They do not start with
/// [`ID_BOUND_PREFIX`](crate::session::ID_BOUND_PREFIX): they survive an id
/// rotation, and `login` rewrites them anyway.
pub(crate) mod reserved {
    /// When the user signed in (password or remember-me).
    pub(crate) const LOGIN_AT: &str = "palisade.auth.login_at";
    /// When the user last entered their password; absent after a
    /// remember-me sign-in and after a basic binding mismatch.
    pub(crate) const FRESH_AT: &str = "palisade.auth.fresh_at";
    /// The client's [`Fingerprint`](crate::binding::Fingerprint).
    pub(crate) const BOUND_TO: &str = "palisade.auth.bound_to";
    /// Hex store key of the remember-me token this session belongs to.
    pub(crate) const REMEMBER: &str = "palisade.auth.remember";
    /// The seal of the user's credential stamp at sign-in
    /// ([`AuthConfig::credential_stamp`](super::AuthConfig::credential_stamp)).
    pub(crate) const STAMP: &str = "palisade.auth.stamp";
}

/// Why a sign-in operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The session failed (store down: `503`, fail closed).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// `LoginOptions::remember(true)` without
    /// [`AuthConfig::remember_me`] configured.
    #[error("remember-me was asked for but is not configured: add AuthConfig::remember_me")]
    RememberMeDisabled,
    /// The operation needs a signed-in session.
    #[error("no user is signed in on this session")]
    NotSignedIn,
    /// The session layer was built without sign-in settings.
    #[error("sign-in is not configured: build the session layer with .auth(AuthConfig::new())")]
    NotConfigured,
    /// Binding compares the client's IP address, but no address is known:
    /// signing in would leave the session silently unbound.
    #[error(
        "session binding compares the client's IP address, but the request has none: serve with \
         into_make_service_with_connect_info::<SocketAddr>() (or Stack::into_make_service), put \
         palisade::client::TrustedProxyLayer in front, or switch IP binding off with \
         AuthConfig::binding(Binding::default().ignoring_ip())"
    )]
    ClientAddressUnknown,
    /// Signing in a user the [`CredentialStamp`] loader does not know.
    #[error("the credential stamp loader knows no such user: sign in only users that exist")]
    UnknownUser,
}

impl From<StoreError> for AuthError {
    fn from(err: StoreError) -> Self {
        Self::Session(err.into())
    }
}

impl AuthError {
    /// The HTTP status this error maps to (`503` when the store failed).
    pub fn status(&self) -> http::StatusCode {
        match self {
            Self::Session(err) => err.status(),
            Self::NotSignedIn => http::StatusCode::UNAUTHORIZED,
            Self::RememberMeDisabled | Self::NotConfigured | Self::ClientAddressUnknown | Self::UnknownUser => {
                http::StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

#[cfg(feature = "axum")]
impl axum::response::IntoResponse for AuthError {
    fn into_response(self) -> axum::response::Response {
        match self {
            Self::Session(err) => err.into_response(),
            other => {
                // NotConfigured and ClientAddressUnknown were logged where they arose.
                let logged = matches!(other, Self::NotConfigured | Self::ClientAddressUnknown);
                if other.status().is_server_error() && !logged {
                    tracing::error!(error = %other, "sign-in failed");
                }
                let mut res = (other.status(), "Sign-in error.").into_response();
                res.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
                res
            }
        }
    }
}

/// How to sign in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct LoginOptions {
    remember: bool,
    not_fresh: bool,
}

impl LoginOptions {
    /// A plain sign-in: fresh, no remember-me token.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the user just entered their password here (the default).
    /// `false` for a login carried over from elsewhere (another app's
    /// session, a single sign-on): the session is signed in, but
    /// [`CurrentUser::require_fresh`] asks for the password before
    /// anything sensitive.
    pub fn fresh(mut self, yes: bool) -> Self {
        self.not_fresh = !yes;
        self
    }

    /// Also issue a remember-me token (the "remember me" checkbox). Needs
    /// [`AuthConfig::remember_me`].
    pub fn remember(mut self, yes: bool) -> Self {
        self.remember = yes;
        self
    }
}

/// Signs `user_id` in on `session` after their password was checked.
///
/// User ids are 1–256 bytes without control characters. See the
/// [module docs](self) for each step and the attack it stops. Without
/// `remember`, any remember-me cookie the browser still carries (an
/// earlier user's) is revoked and removed, so logging out cannot bring
/// that user back.
pub async fn login(session: &Session, user_id: &str, options: LoginOptions) -> Result<(), AuthError> {
    let hook = hook(session)?;
    if options.remember && hook.remember.is_none() {
        return Err(AuthError::RememberMeDisabled);
    }
    require_client_address(session, hook).await?;
    let ctx = session.context().await;
    let stamp = hook.seal_stamp(&ctx, user_id).await?;
    // The token of whoever used this browser before, and this session's own.
    if let Some(remembering) = &hook.remember {
        remembering.forget_presented(&ctx).await?;
    }
    forget_own_token(session, &ctx).await?;
    // Django's rule: another user's data never carries over (an MFA flag, a
    // role or pending OAuth state of A's would be B's: a privilege
    // escalation); an anonymous session (a cart) or the same user keeps its
    // data, under a new id either way.
    let current = session.user_id().await?;
    if let Some(cap) = hook.config.max_sessions {
        sign_out_beyond_cap(session, &ctx, user_id, current.as_deref() == Some(user_id), cap).await?;
    }
    if current.is_some_and(|current| current != user_id) {
        session.flush().await?;
    }
    session.set_user_id(user_id).await?;
    let now = session.now();
    session.insert(reserved::LOGIN_AT, now).await?;
    if options.not_fresh {
        session.remove::<UnixTime>(reserved::FRESH_AT).await?;
        bind(session, hook).await?;
    } else {
        start_fresh(session, hook, now).await?;
    }
    if let Some(stamp) = &stamp {
        session.insert(reserved::STAMP, stamp).await?;
    }
    if let (true, Some(remembering)) = (options.remember, &hook.remember) {
        let token = remembering.issue(&ctx, user_id, stamp.as_deref()).await?;
        session.insert(reserved::REMEMBER, token.to_hex()).await?;
    }
    session.adopt(ctx).await;
    Ok(())
}

/// Makes room for one more session of `user` under `cap`: ends their oldest
/// sessions (by sign-in time) and the remember-me tokens those hold.
/// `signed_in_here`: this browser's session is already `user`'s, so it
/// keeps its slot and is never the one ended.
async fn sign_out_beyond_cap(
    session: &Session,
    ctx: &HookContext,
    user: &str,
    signed_in_here: bool,
    cap: usize,
) -> Result<(), AuthError> {
    let store = session.store()?;
    // One listing either way: this session's own (current one marked) when
    // it is already the user's, else the store's (nothing marked).
    let mut others = if signed_in_here {
        session.sessions_of_user().await?
    } else {
        session.timed(store.sessions_of(user, session.now())).await?
    };
    others.retain(|info| !info.current);
    others.sort_by_key(|info| info.created_at);
    let excess = (others.len() + 1).saturating_sub(cap);
    for info in others.iter().take(excess) {
        end_session(session, ctx, &store, &info.key).await?;
    }
    if excess > 0 {
        tracing::info!(ended = excess, cap, "session cap reached: signed out the user's oldest sessions");
    }
    Ok(())
}

/// Deletes the session stored under `key` with its remember-me token, so
/// the device cannot sign straight back in.
async fn end_session(
    session: &Session,
    ctx: &HookContext,
    store: &std::sync::Arc<dyn crate::store::Store>,
    key: &StoreKey,
) -> Result<(), AuthError> {
    let record = session.timed(store.load(key, session.now())).await?;
    let token = record.as_ref().and_then(|r| r.data.get(reserved::REMEMBER)).and_then(|v| v.as_str());
    if let Some(token) = token.and_then(|t| t.parse::<StoreKey>().ok()) {
        remember::revoke_token(ctx, &token).await?;
    }
    session.timed(store.delete(key)).await?;
    Ok(())
}

/// Signs out: revokes this browser's remember-me token, deletes the
/// session (a copy of the cookie is dead) and removes both cookies. Works
/// on an expired session too: whatever the browser still presents (a
/// remember-me cookie) is revoked.
///
/// The response also carries `Clear-Site-Data: "cookies"`, so the browser
/// drops every cookie of the site, the app's own included (a shared
/// computer keeps nothing of the user; checked in Chromium by the demo's
/// browser test). Only `"cookies"`: `"storage"` deletes `localStorage`,
/// IndexedDB and service workers, data (drafts, offline copies) an app may
/// want to keep; `"cache"` makes the browser empty the site's HTTP cache
/// before it shows the next page (in Chromium 156 about 50 ms more with a
/// near-empty cache, more with a full one), and per-user pages should be
/// `no-store` anyway. Add those yourself where they fit. Browsers apply
/// the header to secure contexts only (HTTPS, or `http://localhost`), and
/// `"cookies"` clears the cookies of the whole registrable domain, sibling
/// subdomains included: see [`AuthConfig::clear_site_data_at_logout`].
pub async fn logout(session: &Session) -> Result<(), AuthError> {
    let hook = hook(session)?;
    let ctx = session.context().await;
    forget_own_token(session, &ctx).await?;
    if let Some(remembering) = &hook.remember {
        remembering.forget_presented(&ctx).await?;
    }
    session.flush().await?;
    session.adopt(ctx).await;
    if hook.config.clear_site_data {
        let (name, value) =
            (http::HeaderName::from_static("clear-site-data"), http::HeaderValue::from_static("\"cookies\""));
        session.add_response_header(name, value).await;
    }
    Ok(())
}

/// Marks the session fresh after the user entered their password again
/// (Flask-Login's `confirm_login`), and binds it to the current client:
/// the password proves the new network or browser is the user's own.
///
/// The session gets a new id: re-authentication is a privilege change, and
/// an id that leaked while the session was not fresh (the reason it was
/// not) must not become a fresh session (session fixation).
pub async fn mark_fresh(session: &Session) -> Result<(), AuthError> {
    let hook = hook(session)?;
    if session.user_id().await?.is_none() {
        return Err(AuthError::NotSignedIn);
    }
    require_client_address(session, hook).await?;
    session.rotate_id().await?;
    start_fresh(session, hook, session.now()).await
}

/// What a revocation removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Revoked {
    pub sessions: u64,
    pub remember_tokens: u64,
}

/// "Log out my other devices": deletes every other session of the user and
/// every remember-me token except the one this browser holds (otherwise
/// the other devices would sign straight back in with theirs).
pub async fn log_out_other_devices(session: &Session) -> Result<Revoked, AuthError> {
    hook(session)?;
    let user = session.user_id().await?.ok_or(AuthError::NotSignedIn)?;
    let own = own_token(session).await?;
    let sessions = session.revoke_other_sessions().await?;
    let remember_tokens = remember::revoke_all(&session.context().await, &user, own.as_ref()).await?;
    tracing::info!(sessions, remember_tokens, "logged out the user's other devices");
    Ok(Revoked { sessions, remember_tokens })
}

/// Call after the user changed their password (the new hash is saved).
///
/// Revokes every other session and **every** remember-me token, this
/// browser's included, then gives this session a new id and, if it had a
/// token, a new token. Whoever holds a copy of any old cookie — the reason
/// people change passwords — is out. The session becomes fresh and is bound
/// to the current client.
pub async fn password_changed(session: &Session) -> Result<Revoked, AuthError> {
    let hook = hook(session)?;
    let user = session.user_id().await?.ok_or(AuthError::NotSignedIn)?;
    require_client_address(session, hook).await?;
    let had_token = own_token(session).await?.is_some();
    let ctx = session.context().await;
    let sessions = session.revoke_other_sessions().await?;
    let remember_tokens = remember::revoke_all(&ctx, &user, None).await?;
    session.remove::<String>(reserved::REMEMBER).await?;
    session.rotate_id().await?;
    start_fresh(session, hook, session.now()).await?;
    // The new password's stamp: this session lives on, under it.
    let stamp = hook.seal_stamp(&ctx, &user).await?;
    if let Some(stamp) = &stamp {
        session.insert(reserved::STAMP, stamp).await?;
    }
    if let (true, Some(remembering)) = (had_token, &hook.remember) {
        let token = remembering.issue(&ctx, &user, stamp.as_deref()).await?;
        session.insert(reserved::REMEMBER, token.to_hex()).await?;
    }
    session.adopt(ctx).await;
    tracing::info!(sessions, remember_tokens, "password changed: other sessions and remember-me tokens revoked");
    Ok(Revoked { sessions, remember_tokens })
}

/// Revokes one of the signed-in user's other sessions or remember-me tokens,
/// named by the hex of its store key (as listed by
/// [`Session::sessions_of_user`] and [`remembered_browsers`]). A session's own
/// remember-me token goes with it, so the device cannot sign back in.
///
/// Returns `false` (and revokes nothing) when the key is not one of the
/// user's, or is this very session (use [`logout`] for that): a user can
/// only end their own devices. The one way to revoke a single device.
pub async fn revoke(session: &Session, key_hex: &str) -> Result<bool, AuthError> {
    hook(session)?;
    let Ok(key) = key_hex.parse::<StoreKey>() else { return Ok(false) };
    if session.user_id().await?.is_none() {
        return Err(AuthError::NotSignedIn);
    }
    let store = session.store()?;
    let ctx = session.context().await;
    let sessions = session.sessions_of_user().await?;
    if let Some(info) = sessions.iter().find(|s| s.key == key) {
        if info.current {
            return Ok(false);
        }
        end_session(session, &ctx, &store, &key).await?;
        tracing::info!(session = ?key, "revoked one of the user's sessions");
        return Ok(true);
    }
    let tokens = remembered_browsers(session).await?;
    if tokens.iter().any(|t| t.key == key && !t.current) {
        remember::revoke_token(&ctx, &key).await?;
        tracing::info!(token = ?key, "revoked one of the user's remember-me tokens");
        return Ok(true);
    }
    Ok(false)
}

/// The signed-in user's remember-me tokens ("remembered browsers"), oldest
/// first; the one this session was signed in with or issued is marked
/// `current`. Empty for an anonymous session.
///
/// Each is named by its record's [`StoreKey`] (a hash of a hash of the
/// selector: it cannot be turned into a cookie) and can be revoked with
/// [`revoke`].
pub async fn remembered_browsers(session: &Session) -> Result<Vec<crate::store::SessionInfo>, AuthError> {
    let Some(user) = session.user_id().await? else { return Ok(Vec::new()) };
    let current = session.get::<String>(reserved::REMEMBER).await?;
    let mut tokens = remember::tokens_of(&session.context().await, &user).await?;
    for info in &mut tokens {
        info.current = current.as_deref() == Some(info.key.to_hex().as_str());
    }
    Ok(tokens)
}

/// The sign-in settings of the session layer, or an error that says how to
/// install them.
fn hook(session: &Session) -> Result<&AuthHook, AuthError> {
    session.hook::<AuthHook>().ok_or_else(|| {
        tracing::error!("palisade::auth used on a session layer built without SessionLayerBuilder::auth");
        AuthError::NotConfigured
    })
}

/// Refuses to bind a session by IP to a client whose address is unknown.
///
/// Without the check a missing `ConnectInfo` (plain `axum::serve(listener,
/// app)`) or a missing proxy layer switched IP binding off without a word:
/// the fingerprint held no network, so a stolen cookie replayed from
/// anywhere passed. Checked before anything changes, so a refused login
/// leaves the session as it was.
async fn require_client_address(session: &Session, hook: &AuthHook) -> Result<(), AuthError> {
    if hook.config.binding.compares_ip() && session.client().await.ip.is_none() {
        tracing::error!("{}", AuthError::ClientAddressUnknown);
        return Err(AuthError::ClientAddressUnknown);
    }
    Ok(())
}

/// Sets the fresh time and binds the session to the current client.
async fn start_fresh(session: &Session, hook: &AuthHook, now: UnixTime) -> Result<(), AuthError> {
    session.insert(reserved::FRESH_AT, now).await?;
    bind(session, hook).await
}

/// Records the client's fingerprint ([`crate::binding`]).
async fn bind(session: &Session, hook: &AuthHook) -> Result<(), AuthError> {
    let fingerprint = Fingerprint::of(&session.client().await, &hook.config.binding);
    session.insert(reserved::BOUND_TO, fingerprint).await?;
    Ok(())
}

/// The store key of this session's remember-me token, if any.
async fn own_token(session: &Session) -> Result<Option<StoreKey>, AuthError> {
    Ok(session.get::<String>(reserved::REMEMBER).await?.and_then(|hex| hex.parse().ok()))
}

async fn forget_own_token(session: &Session, ctx: &HookContext) -> Result<(), AuthError> {
    if let Some(token) = own_token(session).await? {
        remember::revoke_token(ctx, &token).await?;
        session.remove::<String>(reserved::REMEMBER).await?;
    }
    Ok(())
}
