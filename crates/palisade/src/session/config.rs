use super::hook::{BuildInfo, HookFactory};
use super::layer::{Backend, DerivedKeys, SessionLayer, Shared};
use crate::clock::{Clock, SystemClock};
use crate::cookie::{CookieAttributes, CookieCodec, CookieConfigError, SameSite};
use crate::keys::{KeyRing, Purpose};
use crate::store::{Store, UnixTime};
use std::sync::Arc;
use std::time::Duration;

/// The session cookie's default name. `__Host-` makes the browser refuse it
/// unless Secure, Path=/ and host-only; `session` lets scanners recognise it.
pub const DEFAULT_COOKIE_NAME: &str = "__Host-session";

/// Session lifetimes, enforced on the server. Every expiry question is
/// answered here and nowhere else.
///
/// Defaults follow the OWASP Session Management Cheat Sheet
/// (<https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#session-expiration>):
/// - idle timeout **30 minutes** (OWASP: 15–30 minutes for low-risk
///   applications): limits how long an abandoned, logged-in browser is usable;
/// - absolute timeout **8 hours** (OWASP: 4–8 hours, a working day): limits
///   how long a stolen session is usable even while it is kept busy;
/// - "last seen" is refreshed at most once per **60 seconds**, so a stream of
///   read-only requests does not write to the store on every request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expiry {
    pub idle: Duration,
    pub absolute: Duration,
    pub touch_interval: Duration,
}

impl Default for Expiry {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(30 * 60),
            absolute: Duration::from_secs(8 * 3600),
            touch_interval: Duration::from_secs(60),
        }
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl Expiry {
    /// The instant a session created at `created_at` and last used at
    /// `last_seen` dies: whichever timeout comes first.
    pub fn expires_at(&self, created_at: UnixTime, last_seen: UnixTime) -> UnixTime {
        let idle_end = last_seen.saturating_add(secs(self.idle));
        let absolute_end = created_at.saturating_add(secs(self.absolute));
        idle_end.min(absolute_end)
    }

    /// The latest instant a session created at `created_at` can live to.
    pub fn deadline(&self, created_at: UnixTime) -> UnixTime {
        created_at.saturating_add(secs(self.absolute))
    }

    /// True when the session is dead at `now`.
    pub fn is_expired(&self, created_at: UnixTime, last_seen: UnixTime, now: UnixTime) -> bool {
        now >= self.expires_at(created_at, last_seen)
    }

    /// True when "last seen" is old enough to be worth a write.
    pub fn touch_due(&self, last_seen: UnixTime, now: UnixTime) -> bool {
        now.saturating_sub(last_seen) >= secs(self.touch_interval)
    }
}

/// A session configuration that would be insecure or cannot work.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionConfigError {
    #[error(transparent)]
    Cookie(#[from] CookieConfigError),
    #[error("the idle timeout must be at least one second")]
    ZeroIdleTimeout,
    #[error("the absolute timeout must not be shorter than the idle timeout")]
    AbsoluteShorterThanIdle,
    /// A session that is only read would never refresh its last-seen time
    /// before the idle timeout ended it: every user logged out mid-work.
    #[error(
        "the last-seen refresh interval ({touch_secs} s) must be shorter than the idle timeout ({idle_secs} s): \
         otherwise a user who only reads pages is logged out while active; lower Expiry::touch_interval"
    )]
    TouchNotShorterThanIdle { touch_secs: u64, idle_secs: u64 },
    #[error("the store call timeout must be at least one millisecond")]
    ZeroStoreTimeout,
    /// A setting of a module built on the session layer (sign-in's
    /// `AuthConfigError`, given back by [`ExtensionConfigError::downcast_ref`]).
    #[error(transparent)]
    Extension(ExtensionConfigError),
}

/// A configuration error of a module built on the session layer, kept as
/// its own type: [`downcast_ref`](Self::downcast_ref) gives it back.
#[derive(Clone, Debug, thiserror::Error)]
#[error(transparent)]
pub struct ExtensionConfigError(Arc<dyn std::error::Error + Send + Sync>);

impl ExtensionConfigError {
    pub(crate) fn new(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Arc::new(err))
    }

    /// The module's own error, e.g. `AuthConfigError`.
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.0.downcast_ref()
    }
}

impl PartialEq for ExtensionConfigError {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0.to_string() == other.0.to_string()
    }
}

impl Eq for ExtensionConfigError {}

/// Builds a [`SessionLayer`]; every setting has a secure default and
/// [`build`](Self::build) refuses insecure combinations.
#[must_use]
pub struct SessionLayerBuilder {
    backend: Backend,
    keys: KeyRing,
    signed_only: bool,
    attributes: CookieAttributes,
    expiry: Expiry,
    clock: Arc<dyn Clock>,
    store_timeout: Duration,
    persistent_cookie: bool,
    development_mode: bool,
    hook: Option<HookFactory>,
}

impl std::fmt::Debug for SessionLayerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionLayerBuilder")
            .field("cookie", &self.attributes)
            .field("expiry", &self.expiry)
            .field("signed_only", &self.signed_only)
            .finish_non_exhaustive()
    }
}

impl SessionLayer {
    /// Server-side sessions: a signed id in the cookie, the data in `store`.
    pub fn server_side(store: impl Store, keys: KeyRing) -> SessionLayerBuilder {
        SessionLayerBuilder::new(Backend::Store(Arc::new(store)), keys)
    }

    /// Cookie sessions: all data in an encrypted cookie. Cannot be revoked
    /// server-side before expiry.
    pub fn cookie_only(keys: KeyRing) -> SessionLayerBuilder {
        SessionLayerBuilder::new(Backend::Cookie, keys)
    }
}

impl SessionLayerBuilder {
    /// The key ring the session layer signs with (the stack keys CSRF
    /// double-submit cookies from it).
    #[cfg_attr(not(feature = "axum"), allow(dead_code))] // used by the stack
    pub(crate) fn key_ring(&self) -> &KeyRing {
        &self.keys
    }

    fn new(backend: Backend, keys: KeyRing) -> Self {
        Self {
            backend,
            keys,
            signed_only: false,
            attributes: CookieAttributes::new(DEFAULT_COOKIE_NAME),
            expiry: Expiry::default(),
            clock: Arc::new(SystemClock),
            store_timeout: Duration::from_secs(2),
            persistent_cookie: false,
            development_mode: false,
            hook: None,
        }
    }

    /// Cookie name (default [`DEFAULT_COOKIE_NAME`]).
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.attributes.name = name.into();
        self
    }

    /// `SameSite` (default `Lax`: not sent on cross-site POSTs).
    pub fn same_site(mut self, same_site: SameSite) -> Self {
        self.attributes.same_site = same_site;
        self
    }

    /// `Secure` (default on). Turning it off needs
    /// [`insecure_development_mode`](Self::insecure_development_mode) and a
    /// name without the `__Host-` prefix.
    pub fn secure(mut self, secure: bool) -> Self {
        self.attributes.secure = secure;
        self
    }

    /// Allows `Secure=false`, for plain-HTTP development on hosts other than
    /// localhost (browsers accept Secure cookies on `http://localhost` and
    /// `http://127.0.0.1`, so local development rarely needs this).
    pub fn insecure_development_mode(mut self) -> Self {
        self.development_mode = true;
        self
    }

    /// Plain HTTP on a host other than localhost (the stack's development
    /// switch): no `Secure` (so no `__Host-`: the prefix is dropped from the
    /// name), development mode on.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))] // used by the stack
    pub(crate) fn plain_http_development(mut self) -> Self {
        self.attributes.secure = false;
        if let Some(rest) =
            self.attributes.name.strip_prefix("__Host-").or(self.attributes.name.strip_prefix("__Secure-"))
        {
            self.attributes.name = rest.to_owned();
        }
        self.development_mode = true;
        self
    }

    /// Timeouts (default [`Expiry::default`]).
    pub fn expiry(mut self, expiry: Expiry) -> Self {
        self.expiry = expiry;
        self
    }

    /// Idle timeout (default 30 minutes).
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.expiry.idle = idle;
        self
    }

    /// Absolute timeout since the session id was issued (default 8 hours).
    pub fn absolute_timeout(mut self, absolute: Duration) -> Self {
        self.expiry.absolute = absolute;
        self
    }

    /// Cookie sessions only: sign instead of encrypt. The data is then
    /// readable by the client (and anyone who sees the cookie); only ask for
    /// this when every value may be public.
    pub fn signed_only(mut self) -> Self {
        self.signed_only = true;
        self
    }

    /// Give the cookie a `Max-Age` of the absolute timeout, so it survives a
    /// browser restart (default off: OWASP recommends non-persistent session
    /// cookies; the server enforces the timeouts either way).
    pub fn persistent_cookie(mut self, persistent: bool) -> Self {
        self.persistent_cookie = persistent;
        self
    }

    /// Longest a single store call may take before the request gets a 503
    /// (default 2 seconds): a slow store must not hang requests forever.
    pub fn store_timeout(mut self, timeout: Duration) -> Self {
        self.store_timeout = timeout;
        self
    }

    /// Installs the module that takes part in loading sessions (sign-in,
    /// through `SessionLayerBuilder::auth`). One hook per layer: a later
    /// one replaces an earlier one.
    pub(crate) fn hook(mut self, factory: HookFactory) -> Self {
        self.hook = Some(factory);
        self
    }

    /// Time source (default the system clock); tests pass a `ManualClock`.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Checks the configuration and builds the layer.
    pub fn build(self) -> Result<SessionLayer, SessionConfigError> {
        self.attributes.validate(self.development_mode)?;
        if self.expiry.idle.as_secs() == 0 {
            return Err(SessionConfigError::ZeroIdleTimeout);
        }
        if self.expiry.absolute < self.expiry.idle {
            return Err(SessionConfigError::AbsoluteShorterThanIdle);
        }
        if self.expiry.touch_interval >= self.expiry.idle {
            return Err(SessionConfigError::TouchNotShorterThanIdle {
                touch_secs: self.expiry.touch_interval.as_secs(),
                idle_secs: self.expiry.idle.as_secs(),
            });
        }
        if self.store_timeout.is_zero() {
            return Err(SessionConfigError::ZeroStoreTimeout);
        }
        let info = BuildInfo {
            keys: &self.keys,
            development_mode: self.development_mode,
            server_side: matches!(self.backend, Backend::Store(_)),
        };
        let hook = self.hook.map(|factory| factory(&info)).transpose()?;
        let codec = match (&self.backend, self.signed_only) {
            // The id cookie only needs integrity: the id is random and
            // meaningless without the store.
            (Backend::Store(_), _) => CookieCodec::signed(&self.keys, Purpose::SessionSigning),
            (Backend::Cookie, true) => CookieCodec::signed(&self.keys, Purpose::SessionSigning),
            (Backend::Cookie, false) => CookieCodec::encrypted(&self.keys, Purpose::SessionEncryption),
        }
        .max_age(self.expiry.absolute);
        let store_never_waits = match &self.backend {
            Backend::Store(store) => store.never_waits(),
            Backend::Cookie => true,
        };
        Ok(SessionLayer::from_shared(Shared {
            store_never_waits,
            backend: self.backend,
            codec,
            attributes: self.attributes,
            expiry: self.expiry,
            clock: self.clock,
            store_timeout: self.store_timeout,
            persistent_cookie: self.persistent_cookie,
            hook,
            keys: DerivedKeys::new(self.keys),
        }))
    }
}
