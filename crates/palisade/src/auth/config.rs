use crate::binding::{Binding, BindingConfigError};
use crate::remember::RememberMe;
use std::time::Duration;

/// Sign-in settings, given to the session layer with
/// [`SessionLayerBuilder::auth`](crate::session::SessionLayerBuilder::auth).
///
/// They are installed on the session layer (as its load hook), not in a
/// layer of their own, because the binding check and the remember-me
/// sign-in run when the session is first loaded — possibly by a layer
/// (CSRF) that runs before any other — and the remember-me cookie is written
/// by the session layer with the session cookie. One place, no layer order
/// to get wrong.
///
/// | setting | default | why |
/// |---|---|---|
/// | login path | `/login` | where [`CurrentUser`](super::CurrentUser) sends anonymous browsers |
/// | API requests | `Accept: application/json` (and any [`api_prefix`](Self::api_prefix)) | an API client wants `401`, not a login page |
/// | binding | [`Binding::default`] | see [`crate::binding`] |
/// | remember-me | off | a 30-day credential is the app's decision; see [`RememberMe`] |
/// | `Clear-Site-Data: "cookies"` at logout | on | a shared computer keeps no cookie of the user ([`clear_site_data_at_logout`](Self::clear_site_data_at_logout)) |
#[derive(Clone, Debug)]
#[must_use]
pub struct AuthConfig {
    pub(crate) login_path: String,
    pub(crate) api_prefixes: Vec<String>,
    pub(crate) binding: Binding,
    pub(crate) remember: Option<RememberMe>,
    pub(crate) clear_site_data: bool,
    pub(crate) max_sessions: Option<usize>,
    pub(crate) stamp: Option<super::stamp::StampLoader>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            login_path: "/login".into(),
            api_prefixes: Vec::new(),
            binding: Binding::default(),
            remember: None,
            clear_site_data: true,
            max_sessions: None,
            stamp: None,
        }
    }
}

/// Sign-in settings that cannot work.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthConfigError {
    #[error("login path {0:?} must be a path on this site starting with a single `/` (e.g. /login)")]
    LoginPath(String),
    #[error(transparent)]
    Binding(#[from] BindingConfigError),
    #[error("remember-me needs server-side sessions (SessionLayer::server_side): its tokens live in the store")]
    RememberMeNeedsStore,
    #[error("remember-me lifetime must be at least one hour and at most 400 days (browsers cap Max-Age there)")]
    RememberMeLifetime,
    #[error("remember-me grace period must be at most 5 minutes: longer lets a replayed stale cookie in unnoticed")]
    RememberMeGrace,
    #[error(transparent)]
    RememberMeCookie(#[from] crate::cookie::CookieConfigError),
    #[error("max_sessions_per_user must be at least 1")]
    MaxSessionsZero,
    #[error("max_sessions_per_user needs server-side sessions (SessionLayer::server_side): cookie sessions cannot be listed")]
    MaxSessionsNeedsStore,
}

impl AuthConfig {
    pub fn new() -> Self {
        Self::default()
    }

    /// Where anonymous browsers are sent, with `?next=` (default `/login`).
    pub fn login_path(mut self, path: impl Into<String>) -> Self {
        self.login_path = path.into();
        self
    }

    /// Requests under this path prefix are API requests: `401` instead of a
    /// redirect. Whole path segments: `"/api"` covers `/api` and `/api/…`,
    /// not `/apiary`. Requests that accept `application/json` but not
    /// `text/html` are API requests too.
    pub fn api_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.api_prefixes.push(prefix.into());
        self
    }

    /// The session binding policy (default [`Binding::default`]).
    pub fn binding(mut self, binding: Binding) -> Self {
        self.binding = binding;
        self
    }

    /// Whether [`logout`](super::logout) sends `Clear-Site-Data: "cookies"`
    /// (default on). Browsers then clear the cookies of the whole
    /// registrable domain, sibling subdomains included: turn it off when
    /// other apps on `*.your-domain` keep sessions of their own.
    pub fn clear_site_data_at_logout(mut self, yes: bool) -> Self {
        self.clear_site_data = yes;
        self
    }

    /// At most `n` sessions per user at once (default: no limit). Signing
    /// in beyond it signs out the user's oldest sessions (by sign-in time,
    /// in whole seconds; sessions of the same second in no set order)
    /// and revokes their remember-me tokens, so they cannot come straight
    /// back. Signing in again in a browser that is already signed in as
    /// the user takes no extra slot.
    ///
    /// Limits how far one stolen password or shared account spreads: the
    /// owner signing in pushes the oldest intruder out, and the devices page
    /// lists at most `n`. Server-side sessions only.
    pub fn max_sessions_per_user(mut self, n: usize) -> Self {
        self.max_sessions = Some(n);
        self
    }

    /// Turns remember-me on (default off).
    /// Ties every session to the user's password, as Django's session auth
    /// hash does: a password changed anywhere (an admin tool, a reset flow)
    /// ends the user's other sessions and remember-me tokens on their next
    /// request. `loader` returns bytes that change with the password; see
    /// [`CredentialStamp`](super::CredentialStamp). Costs one `loader` call
    /// per request of a signed-in session.
    pub fn credential_stamp(mut self, loader: impl super::CredentialStamp) -> Self {
        self.stamp = Some(super::stamp::StampLoader(std::sync::Arc::new(loader)));
        self
    }

    pub fn remember_me(mut self, remember: RememberMe) -> Self {
        self.remember = Some(remember);
        self
    }

    pub(crate) fn validate(&self, development_mode: bool, server_side: bool) -> Result<(), AuthConfigError> {
        let path = &self.login_path;
        let ok = path.starts_with('/')
            && !path.starts_with("//")
            && !path.starts_with("/\\")
            && crate::redirect::RedirectPolicy::same_origin().is_allowed(path);
        if !ok {
            return Err(AuthConfigError::LoginPath(path.clone()));
        }
        self.binding.validate()?;
        match self.max_sessions {
            Some(0) => return Err(AuthConfigError::MaxSessionsZero),
            Some(_) if !server_side => return Err(AuthConfigError::MaxSessionsNeedsStore),
            _ => {}
        }
        if let Some(remember) = &self.remember {
            if !server_side {
                return Err(AuthConfigError::RememberMeNeedsStore);
            }
            remember.attributes.validate(development_mode)?;
            if remember.max_age < Duration::from_secs(3600) || remember.max_age > Duration::from_secs(400 * 86_400) {
                return Err(AuthConfigError::RememberMeLifetime);
            }
            if remember.grace > Duration::from_secs(300) {
                return Err(AuthConfigError::RememberMeGrace);
            }
        }
        Ok(())
    }

    /// The remember-me cookie without `Secure` (and its `__Host-` prefix),
    /// for the stack's plain-HTTP development switch.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))] // used by the stack
    pub(crate) fn plain_http_development(mut self) -> Self {
        if let Some(remember) = &mut self.remember {
            remember.attributes.secure = false;
            if let Some(rest) = remember.attributes.name.strip_prefix("__Host-") {
                remember.attributes.name = rest.to_owned();
            }
        }
        self
    }

    /// True when `path` is under one of the API prefixes.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))] // used by the axum extractor
    pub(crate) fn is_api_path(&self, path: &str) -> bool {
        self.api_prefixes.iter().any(|prefix| {
            let prefix = prefix.trim_end_matches('/');
            path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_prefix_covers_whole_path_segments_only() {
        for prefix in ["/api", "/api/"] {
            let config = AuthConfig::new().api_prefix(prefix);
            assert!(config.is_api_path("/api"), "{prefix}");
            assert!(config.is_api_path("/api/me"), "{prefix}");
            assert!(!config.is_api_path("/apiary"), "{prefix}: a page, not the API");
            assert!(!config.is_api_path("/"), "{prefix}");
        }
        assert!(AuthConfig::new().api_prefix("/").is_api_path("/anything"));
    }
}
