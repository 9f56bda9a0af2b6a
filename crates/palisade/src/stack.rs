//! The whole stack in one call: sessions, sign-in, CSRF, security headers
//! with CSP nonces, the HTTPS redirect, trusted proxies and the CSP report
//! endpoint, in the order that makes each of them work.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use palisade::{keys::KeyRing, store::SqliteStore, Stack};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = SqliteStore::connect("sqlite://data/sessions.db?mode=rwc").await?;
//! let stack = Stack::server_side(store, KeyRing::from_env()?).build()?;
//! let app = stack.wrap(Router::new().route("/", get(|| async { "hello" })));
//! # let _ = app; Ok(()) }
//! ```
//!
//! The order, outermost first, and why (a wrong order shows up only at
//! request time, so the stack does it):
//!
//! | layer | why there |
//! |---|---|
//! | `TrustedProxyLayer` | everything below needs the real client address and scheme |
//! | `SecurityHeadersLayer` | every response gets the headers, redirects and errors included |
//! | `HttpsRedirectLayer` | plain HTTP is answered before any session is loaded or cookie set |
//! | the CSP report route | outside sessions and CSRF: browsers post reports without cookies or tokens |
//! | `SessionLayer` (+ sign-in) | the session exists before CSRF looks for its secret |
//! | `CsrfLayer` | inside sessions, around every handler |

use crate::auth::AuthConfig;
use crate::client::TrustedProxyLayer;
use crate::csrf::{CsrfConfigError, CsrfLayer, CsrfLayerBuilder};
use crate::headers::{CspReportEndpoint, HeadersConfigError, SecurityHeadersBuilder, SecurityHeadersLayer};
use crate::https::HttpsRedirectLayer;
use crate::keys::KeyRing;
use crate::session::{SessionConfigError, SessionLayer, SessionLayerBuilder};
use crate::store::Store;
use axum::Router;
use http::{HeaderName, HeaderValue};

/// Where the stack answers CSP violation reports by default.
pub const DEFAULT_CSP_REPORT_PATH: &str = "/csp-report";

/// The header every response carries in plain-HTTP development mode, so it
/// is seen at once if such a build ever reaches production.
pub const DEV_MODE_HEADER: &str = "x-palisade-dev-mode";

/// A stack configuration that would be insecure or cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StackError {
    #[error("sessions: {0}")]
    Session(#[from] SessionConfigError),
    #[error("CSRF: {0}")]
    Csrf(#[from] CsrfConfigError),
    #[error("security headers: {0}")]
    Headers(#[from] HeadersConfigError),
    #[error("CSP reports: {0}")]
    Report(#[from] crate::headers::ReportConfigError),
    #[error(
        "plain-HTTP development mode and an HTTPS redirect contradict each other: drop \
         Stack::plain_http_development_mode or Stack::https_redirect"
    )]
    DevelopmentModeWithHttpsRedirect,
    #[error(
        "session binding compares the client's IP address, but this server has no client address \
         (Stack::without_client_address): switch IP binding off with \
         AuthConfig::binding(Binding::default().ignoring_ip()), or serve with \
         Stack::into_make_service"
    )]
    IpBindingWithoutClientAddress,
}

/// The configured stack; [`wrap`](Self::wrap) puts it around a router.
#[derive(Clone, Debug)]
pub struct Stack {
    proxies: TrustedProxyLayer,
    headers: Option<SecurityHeadersLayer>,
    https: Option<HttpsRedirectLayer>,
    report: Option<(String, CspReportEndpoint)>,
    sessions: SessionLayer,
    csrf: Option<CsrfLayer>,
    /// The plain-HTTP development mode is on: every response says so.
    development: bool,
}

/// Builds a [`Stack`]; every part has Palisade's secure default and can be
/// configured or switched off.
#[must_use]
pub struct StackBuilder {
    sessions: SessionLayerBuilder,
    auth: AuthConfig,
    csrf: Option<CsrfLayerBuilder>,
    logout_path: Option<String>,
    headers: Option<SecurityHeadersBuilder>,
    report_path: Option<String>,
    https: Option<HttpsRedirectLayer>,
    proxies: TrustedProxyLayer,
    development: bool,
    client_address: bool,
    double_submit: bool,
}

impl std::fmt::Debug for StackBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackBuilder")
            .field("sessions", &self.sessions)
            .field("csrf", &self.csrf)
            .field("logout_path", &self.logout_path)
            .field("report_path", &self.report_path)
            .field("proxies", &self.proxies)
            .field("development", &self.development)
            .field("client_address", &self.client_address)
            .field("double_submit", &self.double_submit)
            .finish_non_exhaustive()
    }
}

impl Stack {
    /// Server-side sessions in `store` (SQLite, PostgreSQL, Redis, memory),
    /// signed with `keys`, and everything else on its defaults: sign-in with
    /// binding, CSRF (origin check and tokens; logout at `/logout` works
    /// without a live session), a strict nonce-based CSP with reports to
    /// [`DEFAULT_CSP_REPORT_PATH`], no trusted proxies, no HTTPS redirect
    /// (add [`https_redirect`](StackBuilder::https_redirect) when the app
    /// serves plain HTTP itself).
    pub fn server_side(store: impl Store, keys: KeyRing) -> StackBuilder {
        Self::from_sessions(SessionLayer::server_side(store, keys))
    }

    /// Like [`server_side`](Self::server_side), over a session layer builder
    /// made elsewhere (a store chosen at run time, settings of its own).
    pub fn from_sessions(sessions: SessionLayerBuilder) -> StackBuilder {
        StackBuilder {
            sessions,
            auth: AuthConfig::new(),
            csrf: Some(CsrfLayer::builder()),
            logout_path: Some("/logout".to_owned()),
            headers: Some(SecurityHeadersLayer::builder()),
            report_path: Some(DEFAULT_CSP_REPORT_PATH.to_owned()),
            https: None,
            proxies: TrustedProxyLayer::no_proxies(),
            development: false,
            client_address: true,
            double_submit: false,
        }
    }

    /// Puts the stack around `router`, in the order of the [module docs](self).
    pub fn wrap(&self, router: Router) -> Router {
        let mut app = router;
        if let Some(csrf) = &self.csrf {
            app = app.layer(csrf.clone());
        }
        app = app.layer(self.sessions.clone());
        if let Some((path, endpoint)) = &self.report {
            app = app.route_service(path, endpoint.clone());
        }
        if let Some(https) = &self.https {
            app = app.layer(https.clone());
        }
        if let Some(headers) = &self.headers {
            app = app.layer(headers.clone());
        }
        app = app.layer(self.proxies.clone());
        if self.development {
            // Outermost: on every response, a redirect or a rejection from
            // any layer included.
            app = app.layer(axum::middleware::map_response(mark_development));
        }
        app
    }

    /// [`wrap`](Self::wrap), made into the service `axum::serve` takes,
    /// with each connection's peer address (`ConnectInfo<SocketAddr>`):
    /// the client address that session binding, the devices list and the
    /// trusted-proxy layer need.
    ///
    /// ```no_run
    /// # async fn run(stack: palisade::Stack, routes: axum::Router) -> std::io::Result<()> {
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    /// axum::serve(listener, stack.into_make_service(routes)).await
    /// # }
    /// ```
    pub fn into_make_service(
        &self,
        router: Router,
    ) -> axum::extract::connect_info::IntoMakeServiceWithConnectInfo<Router, std::net::SocketAddr> {
        self.wrap(router).into_make_service_with_connect_info::<std::net::SocketAddr>()
    }
}

/// Adds [`DEV_MODE_HEADER`] to a response of the plain-HTTP development mode.
async fn mark_development<B>(mut response: http::Response<B>) -> http::Response<B> {
    response.headers_mut().insert(HeaderName::from_static(DEV_MODE_HEADER), HeaderValue::from_static("plain-http"));
    response
}

impl StackBuilder {
    /// Sign-in settings (default [`AuthConfig::new`]).
    pub fn auth(mut self, auth: AuthConfig) -> Self {
        self.auth = auth;
        self
    }

    /// Changes session settings (timeouts, cookie name, clock, …).
    pub fn sessions(mut self, configure: impl FnOnce(SessionLayerBuilder) -> SessionLayerBuilder) -> Self {
        self.sessions = configure(self.sessions);
        self
    }

    /// Changes CSRF settings (trusted origins, exempt paths, double-submit
    /// cookies, …).
    pub fn csrf(mut self, configure: impl FnOnce(CsrfLayerBuilder) -> CsrfLayerBuilder) -> Self {
        self.csrf = Some(configure(self.csrf.unwrap_or_else(CsrfLayer::builder)));
        self
    }

    /// CSRF tokens in a signed double-submit cookie (`__Host-csrf`, readable
    /// by the page's script, bound to the session id and re-issued when
    /// login or logout changes it) instead of tokens kept in the session:
    /// for single-page apps that read the cookie and send it back in
    /// `X-CSRF-Token`. Keyed from the session layer's key ring.
    pub fn double_submit_csrf(mut self) -> Self {
        self.double_submit = true;
        self
    }

    /// No CSRF layer: only for apps with no cookie-authenticated unsafe
    /// requests (an API authenticated by a header token).
    pub fn without_csrf(mut self) -> Self {
        self.csrf = None;
        self
    }

    /// The logout route, which CSRF lets through for a same-origin request
    /// without a live session (default `/logout`; `None`: no such route).
    pub fn logout_path(mut self, path: Option<&str>) -> Self {
        self.logout_path = path.map(str::to_owned);
        self
    }

    /// Changes the security headers (CSP, HSTS, framing, …). A policy set
    /// here replaces the default one; unless it names its own `report-uri`
    /// or `report-to`, the stack adds `report-uri` with its report route.
    pub fn security_headers(
        mut self,
        configure: impl FnOnce(SecurityHeadersBuilder) -> SecurityHeadersBuilder,
    ) -> Self {
        self.headers = Some(configure(self.headers.unwrap_or_else(SecurityHeadersLayer::builder)));
        self
    }

    /// No security headers layer (a proxy in front sets them).
    pub fn without_security_headers(mut self) -> Self {
        self.headers = None;
        self
    }

    /// Where CSP violation reports go (default [`DEFAULT_CSP_REPORT_PATH`];
    /// `None`: no report endpoint and no `report-uri`).
    pub fn csp_reports(mut self, path: Option<&str>) -> Self {
        self.report_path = path.map(str::to_owned);
        self
    }

    /// Redirects plain HTTP to HTTPS (for apps that serve both themselves).
    pub fn https_redirect(mut self, redirect: HttpsRedirectLayer) -> Self {
        self.https = Some(redirect);
        self
    }

    /// Which proxies' forwarding headers to believe, and the listener's
    /// scheme (default: none, plain HTTP).
    pub fn trusted_proxies(mut self, proxies: TrustedProxyLayer) -> Self {
        self.proxies = proxies;
        self
    }

    /// Plain HTTP on a host other than localhost, for development only:
    /// cookies without `Secure` (and so without `__Host-`), HTTP origins for
    /// the CSRF check. Logged as a warning when built, and every response
    /// carries [`DEV_MODE_HEADER`], so it is noticed if it ever ships.
    /// Browsers accept `Secure` cookies on `http://localhost` and
    /// `http://127.0.0.1`: local development does not need this.
    pub fn plain_http_development_mode(mut self) -> Self {
        self.development = true;
        self
    }

    /// The server cannot tell who the client is (a Unix socket, an adapter
    /// without peer addresses): binding by IP is then refused at build,
    /// instead of being silently off. By default the stack expects the
    /// peer address from [`Stack::into_make_service`] (or the trusted-proxy
    /// layer), and a sign-in whose request has none is refused
    /// ([`AuthError::ClientAddressUnknown`](crate::auth::AuthError::ClientAddressUnknown)).
    pub fn without_client_address(mut self) -> Self {
        self.client_address = false;
        self
    }

    /// Checks every part and builds the stack.
    pub fn build(self) -> Result<Stack, StackError> {
        if self.development && self.https.is_some() {
            return Err(StackError::DevelopmentModeWithHttpsRedirect);
        }
        if !self.client_address && self.auth.binding.compares_ip() {
            return Err(StackError::IpBindingWithoutClientAddress);
        }
        let double_submit_keys = self.double_submit.then(|| self.sessions.key_ring().clone());
        let (sessions, auth) = if self.development {
            tracing::warn!(
                "Palisade plain-HTTP development mode: cookies without Secure, HTTP origins; never use this in production"
            );
            (self.sessions.plain_http_development(), self.auth.plain_http_development())
        } else {
            (self.sessions, self.auth)
        };
        let sessions = sessions.auth(auth).build()?;
        let csrf = match self.csrf {
            Some(builder) => {
                let builder = match &self.logout_path {
                    Some(path) => builder.logout_path(path.clone()),
                    None => builder,
                };
                let builder = if self.development { builder.served_over_plain_http() } else { builder };
                let builder = match &double_submit_keys {
                    Some(keys) => builder.double_submit_with(keys),
                    None => builder,
                };
                Some(builder.build()?)
            }
            None => None,
        };
        let report = match &self.report_path {
            Some(path) => Some((path.clone(), CspReportEndpoint::builder().build()?)),
            None => None,
        };
        let headers = match self.headers {
            Some(builder) => {
                let builder = match &self.report_path {
                    Some(path) => builder.with_reports_to(path),
                    None => builder,
                };
                Some(builder.build()?)
            }
            None => None,
        };
        Ok(Stack {
            proxies: self.proxies,
            headers,
            https: self.https,
            report,
            sessions,
            csrf,
            development: self.development,
        })
    }
}
