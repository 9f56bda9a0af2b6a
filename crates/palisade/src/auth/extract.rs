use super::{reserved, AuthConfig, AuthError};
use crate::redirect::RedirectPolicy;
use crate::session::{Session, SessionError};
use crate::store::UnixTime;
use axum::extract::{FromRequestParts, OptionalFromRequestParts, OriginalUri};
use axum::response::{IntoResponse, Response};
use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, LOCATION};
use http::request::Parts;
use http::{HeaderValue, Method, StatusCode};
use std::time::Duration;

/// The signed-in user, as a handler argument.
///
/// - `CurrentUser`: an anonymous browser is sent (`303`) to the login path
///   with `?next=` set to the page it asked for (only a same-origin path,
///   checked by [`RedirectPolicy`]: no open redirect through `next`); an API
///   request gets `401`.
/// - `Option<CurrentUser>`: `None` for anonymous requests (pages that show
///   a "sign in" link).
///
/// A browser without a live session that presents a remember-me cookie was
/// signed in when the session was first loaded (a new session, not fresh),
/// whoever loaded it first: extractors and layers may come in any order.
#[derive(Clone)]
pub struct CurrentUser {
    id: String,
    login_at: Option<UnixTime>,
    fresh_at: Option<UnixTime>,
    session: Session,
    /// Where `require_fresh` sends the user, and whether to answer 401.
    target: Target,
}

impl std::fmt::Debug for CurrentUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurrentUser")
            .field("id", &self.id)
            .field("login_at", &self.login_at)
            .field("fresh_at", &self.fresh_at)
            .finish_non_exhaustive()
    }
}

impl CurrentUser {
    /// The user id given to [`login`](super::login).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// When this session was signed in (by password or remember-me).
    pub fn login_at(&self) -> Option<UnixTime> {
        self.login_at
    }

    /// When the user last entered their password in this session; `None`
    /// after a remember-me sign-in or a basic binding mismatch.
    pub fn fresh_at(&self) -> Option<UnixTime> {
        self.fresh_at
    }

    /// True when the password was entered within `within`.
    pub fn is_fresh(&self, within: Duration) -> bool {
        let within = i64::try_from(within.as_secs()).unwrap_or(i64::MAX);
        let now = self.session.now();
        self.fresh_at.is_some_and(|at| now >= at && now - at <= within)
    }

    /// For sensitive actions (change password or e-mail, delete the
    /// account): unless the password was entered within `within`, a
    /// rejection that sends the browser to the login page (with `next` and
    /// `reauth=1`) or answers `401` to an API client. Stops a thief with a
    /// stolen or remembered session, or a passer-by at an unlocked computer,
    /// from taking over the account. Flask-Login's `fresh_login_required`.
    pub fn require_fresh(&self, within: Duration) -> Result<(), AuthRejection> {
        if self.is_fresh(within) {
            return Ok(());
        }
        Err(AuthRejection::NotFresh { api: self.target.api, location: self.target.location(true) })
    }

    /// The session (to read or write values, or sign out).
    pub fn session(&self) -> &Session {
        &self.session
    }
}

/// Why a [`CurrentUser`] could not be given, as a response.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthRejection {
    /// Nobody is signed in: `303` to `location`, or `401` for an API.
    LoginRequired { api: bool, location: String },
    /// The password was not entered recently enough: `303` to `location`
    /// (the login page with `reauth=1`), or `401` for an API.
    NotFresh { api: bool, location: String },
    /// The session or the store failed (`503` when the store is down:
    /// never served as anonymous).
    Failed(AuthError),
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        let (api, location, code) = match self {
            Self::Failed(err) => return err.into_response(),
            Self::LoginRequired { api, location } => (api, location, "login_required"),
            Self::NotFresh { api, location } => (api, location, "reauthentication_required"),
        };
        let mut res = if api {
            let mut res = (StatusCode::UNAUTHORIZED, format!("{{\"error\":\"{code}\"}}\n")).into_response();
            res.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            res
        } else {
            let mut res = StatusCode::SEE_OTHER.into_response();
            match HeaderValue::from_str(&location) {
                Ok(value) => res.headers_mut().insert(LOCATION, value),
                Err(_) => res.headers_mut().insert(LOCATION, HeaderValue::from_static("/")),
            };
            res
        };
        res.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        res
    }
}

/// Where a rejection sends the browser.
#[derive(Clone, Debug)]
struct Target {
    api: bool,
    login_path: String,
    /// The page asked for, when it is safe to come back to.
    next: Option<String>,
}

impl Target {
    fn of(parts: &Parts, config: &AuthConfig) -> Self {
        let uri = parts.extensions.get::<OriginalUri>().map_or(&parts.uri, |original| &original.0);
        let accept = parts.headers.get_all(ACCEPT).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(",");
        let api =
            config.is_api_path(uri.path()) || (accept.contains("application/json") && !accept.contains("text/html"));
        // Only a page the browser can GET again; never echo what a browser
        // could read as another host (`//evil.example` as a request path).
        let next = (parts.method == Method::GET || parts.method == Method::HEAD)
            .then(|| uri.path_and_query().map(|pq| pq.as_str()))
            .flatten()
            .filter(|target| RedirectPolicy::same_origin().is_allowed(target) && target.starts_with('/'))
            .map(str::to_owned);
        Self { api, login_path: config.login_path.clone(), next }
    }

    fn location(&self, reauth: bool) -> String {
        let mut params = Vec::new();
        if let Some(next) = &self.next {
            params.push(format!("next={}", encode_query_value(next)));
        }
        if reauth {
            params.push("reauth=1".to_owned());
        }
        if params.is_empty() {
            return self.login_path.clone();
        }
        let sep = if self.login_path.contains('?') { '&' } else { '?' };
        format!("{}{sep}{}", self.login_path, params.join("&"))
    }
}

/// Percent-encodes a query value, keeping only RFC 3986 unreserved
/// characters and `/` as they are (`/account` stays readable; `&`, `=`,
/// `#`, `+`, `%` and everything else are encoded, so `next` cannot add
/// parameters or a fragment to the login URL).
fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The signed-in user of the request, signing a remembered browser in.
async fn current(parts: &Parts) -> Result<(Option<CurrentUser>, Target), AuthRejection> {
    let Some(session) = parts.extensions.get::<Session>().cloned() else {
        tracing::error!("a handler asked for CurrentUser but no SessionLayer is installed");
        return Err(AuthRejection::Failed(SessionError::MissingLayer.into()));
    };
    let config = &super::hook(&session).map_err(AuthRejection::Failed)?.config;
    let found = async {
        let Some(id) = session.user_id().await? else { return Ok::<_, AuthError>(None) };
        let login_at = session.get::<UnixTime>(reserved::LOGIN_AT).await?;
        let fresh_at = session.get::<UnixTime>(reserved::FRESH_AT).await?;
        Ok(Some((id, login_at, fresh_at)))
    }
    .await
    .map_err(AuthRejection::Failed)?;
    let target = Target::of(parts, config);
    let user = found.map(|(id, login_at, fresh_at)| CurrentUser {
        id,
        login_at,
        fresh_at,
        session: session.clone(),
        target: target.clone(),
    });
    Ok((user, target))
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match current(parts).await? {
            (Some(user), _) => Ok(user),
            (None, target) => Err(AuthRejection::LoginRequired { api: target.api, location: target.location(false) }),
        }
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for CurrentUser {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(current(parts).await?.0)
    }
}
