//! The tower layer: checks state-changing requests, then lets the handler
//! render tokens and stores a new secret only if one was rendered.

use super::body::{self, BodyError};
use super::config::{Checks, TokenKind};
use super::origin::{self, Evidence, OriginPolicy, Scheme};
use super::state::RequestCsrf;
use super::{RejectReason, HEADER_NAMES};
use crate::body::{RequestBody, ResponseBody};
use crate::client::RequestScheme;
use crate::cookie::CookieAttributes;
use crate::session::Session;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::header::{CACHE_CONTROL, VARY};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

/// Configuration shared by every request.
pub(crate) struct Shared {
    pub(crate) checks: Checks,
    pub(crate) kind: TokenKind,
    pub(crate) origin: OriginPolicy,
    pub(crate) exempt: BTreeSet<String>,
    pub(crate) max_body_bytes: usize,
    pub(crate) logout_path: Option<String>,
    /// The cookies' attributes, made once: the double-submit cookie and the
    /// anonymous secret's, each with and without `Secure` (see
    /// `double_submit::attributes` and `anonymous_attributes`).
    pub(crate) cookies: CsrfCookies,
}

pub(crate) struct CsrfCookies {
    pub(crate) double_submit: CookieAttributes,
    pub(crate) double_submit_plain: CookieAttributes,
    pub(crate) anonymous_secure: CookieAttributes,
    pub(crate) anonymous_plain: CookieAttributes,
}

impl CsrfCookies {
    pub(crate) fn new() -> Self {
        Self {
            double_submit: super::double_submit::attributes(true),
            double_submit_plain: super::double_submit::attributes(false),
            anonymous_secure: super::double_submit::anonymous_attributes(true),
            anonymous_plain: super::double_submit::anonymous_attributes(false),
        }
    }
}

/// Refuses cross-site state-changing requests and gives handlers a
/// [`CsrfToken`](super::CsrfToken). Build it with [`CsrfLayer::builder`] or
/// [`CsrfLayer::double_submit`].
#[derive(Clone)]
pub struct CsrfLayer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for CsrfLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tokens = match self.shared.kind {
            TokenKind::Session => "session",
            TokenKind::DoubleSubmit(_) => "double-submit cookie",
        };
        f.debug_struct("CsrfLayer")
            .field("checks", &self.shared.checks)
            .field("tokens", &tokens)
            .field("exempt", &self.shared.exempt)
            .field("max_body_bytes", &self.shared.max_body_bytes)
            .finish_non_exhaustive()
    }
}

impl CsrfLayer {
    pub(crate) fn from_shared(shared: Shared) -> Self {
        Self { shared: Arc::new(shared) }
    }
}

impl<S> Layer<S> for CsrfLayer {
    type Service = CsrfService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CsrfService { inner, shared: self.shared.clone() }
    }
}

/// The service made by [`CsrfLayer`].
#[derive(Clone)]
pub struct CsrfService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> std::fmt::Debug for CsrfService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsrfService").finish_non_exhaustive()
    }
}

/// GET, HEAD, OPTIONS and TRACE must not change state (RFC 9110 §9.2.1), so
/// a forged one gains the attacker nothing; every other method is checked,
/// including unknown ones.
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CsrfService<S>
where
    S: Service<Request<RequestBody<ReqBody>>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: http_body::Body<Data = Bytes> + Send + 'static,
    ReqBody::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    ResBody: Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let session = req.extensions().get::<Session>().cloned();
        let ctx = Arc::new(RequestCsrf::new(self.shared.clone(), session, req.headers()));
        req.extensions_mut().insert(ctx.clone());
        let exempt = self.shared.exempt.contains(req.uri().path());
        let handshake = !exempt && origin::is_websocket_handshake(req.method(), req.headers());
        let checked = !exempt && (handshake || !is_safe(req.method()));
        // The clone that was made ready is the one we call (tower's rule).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let req = if handshake {
                if !websocket_origin_allowed(&ctx, &req) {
                    tracing::warn!(
                        path = req.uri().path(),
                        "CSRF check failed: WebSocket handshake from another origin"
                    );
                    return Ok(rejection(RejectReason::CrossOrigin));
                }
                req.map(RequestBody::inner)
            } else if checked {
                let (method, path) = (req.method().clone(), req.uri().path().to_owned());
                match verify(&ctx, req).await {
                    Ok(req) => req,
                    Err(reason) => {
                        // Never the token: only why, and where.
                        tracing::warn!(reason = reason.as_str(), %method, %path, "CSRF check failed");
                        return Ok(rejection(reason));
                    }
                }
            } else {
                req.map(RequestBody::inner)
            };
            let mut response = inner.call(req).await?;
            if checked {
                add_vary(response.headers_mut());
            }
            ctx.finish(response.headers_mut()).await;
            Ok(response.map(ResponseBody::inner))
        })
    }
}

/// The Origin check of a WebSocket handshake: on in every [`Checks`](super::Checks)
/// mode, since no token can protect a handshake.
fn websocket_origin_allowed<B>(ctx: &RequestCsrf, req: &Request<B>) -> bool {
    origin::check_websocket(req.headers(), req.uri(), &ctx.shared().origin, request_scheme(req))
}

/// The scheme the trusted-proxy layer decided, if it ran.
fn request_scheme<B>(req: &Request<B>) -> Option<Scheme> {
    req.extensions().get::<RequestScheme>().map(|scheme| match scheme {
        RequestScheme::Http => Scheme::Http,
        RequestScheme::Https => Scheme::Https,
    })
}

/// Runs the configured checks; on success gives back the request with its
/// body intact.
async fn verify<B>(ctx: &RequestCsrf, req: Request<B>) -> Result<Request<RequestBody<B>>, RejectReason>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let shared = ctx.shared();
    let scheme = request_scheme(&req);
    let evidence = if shared.checks.origin() {
        origin::check(req.headers(), req.uri(), &shared.origin, scheme).map_err(|()| RejectReason::CrossOrigin)?
    } else {
        Evidence::Unknown
    };
    if !shared.checks.token() {
        return Ok(req.map(RequestBody::inner));
    }
    // See `CsrfLayerBuilder::logout_path`: logout must work from a stale tab.
    if evidence == Evidence::SameOrigin && shared.logout_path.as_deref() == Some(req.uri().path()) {
        return Ok(req.map(RequestBody::inner));
    }
    let header_token = HEADER_NAMES
        .iter()
        .find_map(|name| req.headers().get(*name))
        // A header that is not visible ASCII is a bad token, not a missing one.
        .map(|value| value.to_str().unwrap_or("!").to_owned());
    let (req, token) = match header_token {
        Some(token) => (req.map(RequestBody::inner), Some(token)),
        None => match body::form_kind(req.headers()) {
            Some(kind) => {
                let (parts, body) = req.into_parts();
                // Refuse an announced oversized body before reading a byte.
                let announced = parts
                    .headers
                    .get(http::header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                if announced.is_some_and(|n| n > shared.max_body_bytes as u64) {
                    return Err(RejectReason::BodyTooLarge);
                }
                let bytes = body::buffer(body, shared.max_body_bytes).await.map_err(|err| match err {
                    BodyError::TooLarge => RejectReason::BodyTooLarge,
                    BodyError::Unreadable => RejectReason::UnreadableBody,
                })?;
                let token = body::token_field(&kind, &bytes).await;
                (Request::from_parts(parts, RequestBody::bytes(bytes)), token)
            }
            None => (req.map(RequestBody::inner), None),
        },
    };
    let token = token.filter(|t| !t.is_empty()).ok_or(RejectReason::MissingToken)?;
    ctx.verify(&token).await?;
    Ok(req)
}

/// The response to a refused request: a short reason, never cached.
fn rejection<B>(reason: RejectReason) -> Response<ResponseBody<B>> {
    let mut res = Response::new(ResponseBody::text(reason.message()));
    *res.status_mut() = reason.status();
    let headers = res.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let content_type =
        if reason == RejectReason::SessionExpired { "text/html; charset=utf-8" } else { "text/plain; charset=utf-8" };
    headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    add_vary(headers);
    res
}

/// The outcome depended on `Origin` and `Sec-Fetch-Site`: a shared cache
/// must not replay a same-origin answer to a cross-site request or the
/// reverse. Appended, so the app's own `Vary` values survive.
fn add_vary(headers: &mut http::HeaderMap) {
    headers.append(VARY, HeaderValue::from_static("Origin, Sec-Fetch-Site"));
}

impl RejectReason {
    pub(crate) fn status(self) -> StatusCode {
        match self {
            RejectReason::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            RejectReason::UnreadableBody => StatusCode::BAD_REQUEST,
            RejectReason::MisconfiguredNoSession => StatusCode::INTERNAL_SERVER_ERROR,
            RejectReason::SessionUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::FORBIDDEN,
        }
    }
}
