//! The full stack (issue 15): a page that reads the signed-in user and
//! renders a form with a CSRF token and a script with a CSP nonce, behind
//! every security header.
//!
//! - `palisade-stack`: [`palisade::Stack`] with its defaults (sign-in with
//!   binding, CSRF synchronizer tokens and origin check, security headers
//!   with a nonce-based CSP), sessions in the bounded `MemoryStore`.
//! - `peers-stack`: what a user assembles from the crates people use:
//!   tower-sessions (`MemoryStore`) + axum-login + axum_csrf + tower-http's
//!   `SetResponseHeaderLayer` for the static headers, the CSP with its nonce
//!   set by the handler (tower-http has no nonces).
//! - `bare-stack`: the same page and headers, no session, no sign-in, no
//!   CSRF: the ceiling.
//!
//! `/login` signs a user in (`user-<n>`, a counter) and is how `bench/run`
//! pre-creates the returning visitors' cookies; `/page` is measured.

use super::BoxError;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::{routing::get, Router};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The page every stack system renders.
fn page_html(user: &str, csrf_token: &str, nonce: &str) -> String {
    format!(
        "<!doctype html><html><head><title>Account</title></head><body>\
         <p>Signed in as {user}</p>\
         <form method=\"post\" action=\"/email\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf_token}\">\
         <input name=\"email\"><button>Change e-mail</button></form>\
         <script nonce=\"{nonce}\">document.title = \"Account\";</script>\
         </body></html>"
    )
}

/// The static headers Palisade's `SecurityHeadersLayer` sends by default
/// (HSTS goes on HTTPS responses only; the bench is plain HTTP).
const STATIC_HEADERS: [(&str, &str); 7] = [
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    (
        "permissions-policy",
        "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()",
    ),
    ("x-xss-protection", "0"),
];

/// A CSP like Palisade's strict default, with `nonce`.
fn csp_with_nonce(nonce: &str) -> HeaderValue {
    let policy = format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic'; object-src 'none'; \
         base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    );
    HeaderValue::from_str(&policy).expect("base64 nonce is a valid header value")
}

/// 128 bits from the OS CSPRNG, base64: a nonce as a peer app makes one.
fn fresh_nonce() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("OS CSPRNG");
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Numbers the users `/login` signs in.
#[derive(Clone, Default)]
struct Logins(Arc<AtomicU64>);

impl Logins {
    fn next(&self) -> String {
        format!("user-{}", self.0.fetch_add(1, Ordering::Relaxed))
    }
}

// ------------------------------------------------------------ Palisade

pub mod palisade_stack {
    use super::*;
    use palisade::auth::{self, AuthError, CurrentUser, LoginOptions};
    use palisade::csrf::CsrfToken;
    use palisade::headers::CspNonce;
    use palisade::keys::KeyRing;
    use palisade::session::Session;
    use palisade::store::MemoryStore;
    use palisade::Stack;

    async fn page(user: CurrentUser, token: CsrfToken, nonce: CspNonce) -> Html<String> {
        Html(page_html(user.id(), &token.masked(), nonce.as_str()))
    }

    async fn login(
        axum::extract::State(logins): axum::extract::State<Logins>,
        session: Session,
    ) -> Result<&'static str, AuthError> {
        auth::login(&session, &logins.next(), LoginOptions::new()).await?;
        Ok("signed in")
    }

    pub fn routes() -> Result<Router, BoxError> {
        let stack = Stack::server_side(MemoryStore::new(), KeyRing::generate()).build()?;
        let routes = Router::new().route("/page", get(page)).route("/login", get(login)).with_state(Logins::default());
        Ok(stack.wrap(routes))
    }
}

// ------------------------------------------------------------ peers

pub mod peers_stack {
    use super::*;
    use axum_csrf::{CsrfConfig, CsrfToken};
    use axum_login::{AuthManagerLayerBuilder, AuthUser, AuthnBackend, UserId};
    use std::collections::HashMap;
    use std::sync::RwLock;
    use tower_http::set_header::SetResponseHeaderLayer;
    use tower_sessions::{MemoryStore, SessionManagerLayer};

    #[derive(Clone)]
    pub struct User {
        id: String,
        /// What axum-login keeps in the session to end it when it changes
        /// (a password hash in a real app).
        auth_hash: Vec<u8>,
    }

    impl std::fmt::Debug for User {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("User").field("id", &self.id).finish_non_exhaustive()
        }
    }

    impl AuthUser for User {
        type Id = String;
        fn id(&self) -> String {
            self.id.clone()
        }
        fn session_auth_hash(&self) -> &[u8] {
            &self.auth_hash
        }
    }

    /// Users in memory, as the demo's database would hold them.
    #[derive(Clone, Default)]
    pub struct Users(Arc<RwLock<HashMap<String, User>>>);

    impl AuthnBackend for Users {
        type User = User;
        type Credentials = String;
        type Error = std::convert::Infallible;

        async fn authenticate(&self, id: String) -> Result<Option<User>, Self::Error> {
            let user = User { id: id.clone(), auth_hash: id.as_bytes().repeat(2) };
            self.0.write().expect("users lock").insert(id, user.clone());
            Ok(Some(user))
        }

        async fn get_user(&self, id: &UserId<Self>) -> Result<Option<User>, Self::Error> {
            Ok(self.0.read().expect("users lock").get(id).cloned())
        }
    }

    type AuthSession = axum_login::AuthSession<Users>;

    #[derive(Clone)]
    struct AppState {
        csrf: CsrfConfig,
        logins: Logins,
    }

    impl axum::extract::FromRef<AppState> for CsrfConfig {
        fn from_ref(state: &AppState) -> CsrfConfig {
            state.csrf.clone()
        }
    }

    async fn page(auth: AuthSession, token: CsrfToken) -> Response {
        let Some(user) = auth.user else {
            return (StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response();
        };
        let Ok(csrf) = token.authenticity_token() else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        let nonce = fresh_nonce();
        let html = Html(page_html(&user.id, &csrf, &nonce));
        (token, [(header::CONTENT_SECURITY_POLICY, csp_with_nonce(&nonce))], html).into_response()
    }

    async fn login(
        axum::extract::State(state): axum::extract::State<AppState>,
        mut auth: AuthSession,
        token: CsrfToken,
    ) -> Response {
        let Ok(Some(user)) = auth.authenticate(state.logins.next()).await else {
            return StatusCode::UNAUTHORIZED.into_response();
        };
        if auth.login(&user).await.is_err() {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        (token, "signed in").into_response()
    }

    pub fn routes() -> Router {
        let sessions = SessionManagerLayer::new(MemoryStore::default());
        let auth = AuthManagerLayerBuilder::new(Users::default(), sessions).build();
        let state = AppState { csrf: CsrfConfig::default(), logins: Logins::default() };
        let mut app = Router::new().route("/page", get(page)).route("/login", get(login)).with_state(state).layer(auth);
        for (name, value) in STATIC_HEADERS {
            app = app.layer(SetResponseHeaderLayer::if_not_present(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            ));
        }
        app
    }
}

// ------------------------------------------------------------ bare

pub mod bare_stack {
    use super::*;

    async fn page() -> Response {
        let nonce = fresh_nonce();
        let html = Html(page_html("user-0", "no-token", &nonce));
        let mut response = html.into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_SECURITY_POLICY, csp_with_nonce(&nonce));
        for (name, value) in STATIC_HEADERS {
            headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        response
    }

    pub fn routes() -> Router {
        Router::new().route("/page", get(page)).route("/login", get(|| async { "signed in" }))
    }
}
