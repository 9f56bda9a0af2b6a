//! CSRF protection: origin checks, masked synchronizer tokens and signed
//! double-submit cookies, in one layer.
//!
//! ```
//! use axum::{response::Html, routing::get, Router};
//! use palisade::csrf::{CsrfLayer, CsrfToken};
//! use palisade::{keys::KeyRing, session::SessionLayer, store::MemoryStore};
//!
//! async fn form(token: CsrfToken) -> Html<String> {
//!     Html(format!(r#"<form method="post">{}<button>Send</button></form>"#, token.hidden_field()))
//! }
//!
//! async fn submit() -> &'static str {
//!     "only reached when the origin and the token check out"
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let csrf = CsrfLayer::builder().exempt("/webhook").build()?;
//! let sessions = SessionLayer::server_side(MemoryStore::new(), KeyRing::generate()).build()?;
//! let app: Router = Router::new()
//!     .route("/", get(form).post(submit))
//!     .layer(csrf) // inside: the session is already attached when it runs
//!     .layer(sessions);
//! # let _ = app; Ok(()) }
//! ```
//!
//! What the layer does with every request:
//!
//! 1. **Exempt paths**, named one by one with
//!    [`exempt`](CsrfLayerBuilder::exempt), pass untouched.
//! 2. **WebSocket handshakes** (`Upgrade: websocket`, or HTTP/2's extended
//!    CONNECT) are GETs the browser sends with the site's cookies, and no
//!    token can ride on them: a page on another site could open a socket as
//!    the signed-in user (cross-site WebSocket hijacking). Their `Origin`,
//!    which browsers always send, must be this origin or a trusted one, in
//!    every [`Checks`] mode; one without `Origin` is not from a browser.
//!    **Other safe methods** (GET, HEAD, OPTIONS, TRACE) pass untouched:
//!    they must not change state, so forging one gains nothing.
//! 3. **Origin check** (stateless, first): `Sec-Fetch-Site: same-origin` or
//!    `none` passes, `same-site` / `cross-site` is refused; without it, an
//!    `Origin` must equal the app's own origin (scheme, host and port);
//!    without either, on HTTPS, a `Referer` that is present must be an HTTPS
//!    page of this origin. [Trusted origins](CsrfLayerBuilder::trusted_origin)
//!    match exactly. With no such header at all, the token decides.
//! 4. **Token check**: the `X-CSRF-Token` or `X-CSRFToken` header, or the
//!    `csrf_token` field of a urlencoded or multipart form (buffered up to
//!    [a limit](CsrfLayerBuilder::max_body_bytes), then passed on unchanged),
//!    must verify in constant time against the session's secret (or the
//!    [signed double-submit cookie](CsrfLayer::double_submit)).
//!
//! A refusal is a `403` with a one-line reason (`missing token`, `bad
//! token`, `cross-origin request`), `Cache-Control: no-store`, and a
//! `tracing` warning with the reason, method and path, never the token.
//! Checked responses carry `Vary: Origin, Sec-Fetch-Site`.
//!
//! Handlers and templates get tokens from [`CsrfToken`]. The secret is made
//! lazily, and only kept when a token is actually rendered: a page without
//! a form costs nothing. A session with a stored record keeps it under
//! [`SESSION_KEY`], which starts with
//! [`ID_BOUND_PREFIX`](crate::session::ID_BOUND_PREFIX), so
//! [`Session::rotate_id`](crate::session::Session::rotate_id) at login drops
//! it: a token an attacker obtained before the victim logged in (login
//! CSRF, a shared computer) is dead afterwards. A visitor without a session
//! (the login form) keeps it in a signed `__Host-csrf` cookie instead, so
//! anonymous traffic writes nothing to the store. A token rendered after a
//! rotation in the same request (a page shown by the login handler) is made
//! from a new secret that is stored with the new session, so it verifies.

pub(crate) mod body;
mod config;
pub(crate) mod double_submit;
mod extract;
mod layer;
mod origin;
mod state;
#[cfg(feature = "minijinja")]
mod template;
pub(crate) mod token;

pub use config::{Checks, CsrfConfigError, CsrfLayerBuilder, DEFAULT_MAX_BODY_BYTES, MAX_BODY_LIMIT};
pub use double_submit::DOUBLE_SUBMIT_COOKIE;
pub use extract::{CsrfToken, CsrfTokenRejection};
pub use layer::{CsrfLayer, CsrfService};

/// The form field a token is read from.
pub const FIELD_NAME: &str = "csrf_token";
/// The header a token is read from (the first of [`HEADER_NAMES`] present wins).
pub const HEADER_NAME: &str = "x-csrf-token";
/// Every header a token is read from: ours, and Flask-WTF's / Django's
/// `X-CSRFToken`, so existing front-end code works unchanged.
pub const HEADER_NAMES: [&str; 2] = [HEADER_NAME, "x-csrftoken"];
/// The session key of the per-session secret. Bound to the session id:
/// dropped by `rotate_id`.
pub const SESSION_KEY: &str = "palisade.id.csrf";

/// What a stale form gets: a page that says what happened and what to do.
const SESSION_EXPIRED_PAGE: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Session expired</title></head><body><h1>Your session expired</h1>\
<p>This page was open too long: your session expired, so the form could not be sent. \
<a href=\"/\">Reload the site</a>, sign in again, and repeat what you were doing.</p></body></html>\n";

/// Why a request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RejectReason {
    CrossOrigin,
    MissingToken,
    BadToken,
    /// A well-formed request from a page whose session (and so its secret)
    /// is gone: a stale tab, not an attack. Answered with a page that says
    /// so, since the user can do something about it.
    SessionExpired,
    BodyTooLarge,
    UnreadableBody,
    MisconfiguredNoSession,
    SessionUnavailable,
}

impl RejectReason {
    /// For logs.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RejectReason::CrossOrigin => "cross-origin request",
            RejectReason::MissingToken => "missing token",
            RejectReason::BadToken => "bad token",
            RejectReason::SessionExpired => "no secret to check the token against (session expired)",
            RejectReason::BodyTooLarge => "body too large to look for the token",
            RejectReason::UnreadableBody => "unreadable body",
            RejectReason::MisconfiguredNoSession => "no session layer",
            RejectReason::SessionUnavailable => "session unavailable",
        }
    }

    /// The response body: short, and the same for everyone.
    pub(crate) fn message(self) -> &'static str {
        match self {
            RejectReason::CrossOrigin => "CSRF check failed: cross-origin request\n",
            RejectReason::MissingToken => "CSRF check failed: missing token\n",
            RejectReason::BadToken => "CSRF check failed: bad token\n",
            RejectReason::SessionExpired => SESSION_EXPIRED_PAGE,
            RejectReason::BodyTooLarge => {
                "CSRF check failed: body too large; send the token in the X-CSRF-Token header\n"
            }
            RejectReason::UnreadableBody => "CSRF check failed: unreadable body\n",
            RejectReason::MisconfiguredNoSession => "Internal server error.\n",
            RejectReason::SessionUnavailable => "Session store unavailable, please retry shortly.\n",
        }
    }
}
