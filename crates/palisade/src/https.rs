//! Sends plain-HTTP requests to the same URL on HTTPS.
//!
//! ```
//! use axum::{routing::get, Router};
//! use palisade::https::HttpsRedirectLayer;
//!
//! # fn main() -> Result<(), palisade::https::HttpsRedirectError> {
//! // http://example.com/a?b → 308 https://example.com/a?b
//! let redirect = HttpsRedirectLayer::for_hosts(["example.com", "www.example.com"])?;
//! let app: Router = Router::new().route("/", get(|| async { "over TLS" })).layer(redirect);
//! # let _ = app; Ok(()) }
//! ```
//!
//! Whether a request is already HTTPS is [`RequestScheme::of`]'s answer:
//! behind a TLS-terminating proxy, put
//! [`TrustedProxyLayer`](crate::client::TrustedProxyLayer) outside this
//! layer so `X-Forwarded-Proto` is believed (from the proxy only).
//!
//! **Order**: this layer must sit *outside* the session layer. It answers
//! plain-HTTP requests itself, so no session is loaded and no
//! `Set-Cookie` can ride on the redirect — a session cookie sent over
//! plain HTTP could be read by anyone on the network.
//!
//! **Status**: `308 Permanent Redirect` for every method. Like `301` it is
//! permanent and cacheable, but it keeps the method and body, where `301`
//! turns a POST into a GET and silently drops the form; every current
//! browser follows it. One rule, no surprises.
//!
//! **Host**: the redirect's host never comes unchecked from the request.
//! A forged `Host` header would otherwise yield a redirect to the
//! attacker's site, which a shared cache could store and serve to everyone
//! (web cache poisoning). Either name the hosts you serve
//! ([`for_hosts`](HttpsRedirectLayer::for_hosts), anything else gets `400`)
//! or always redirect to one canonical host
//! ([`to_host`](HttpsRedirectLayer::to_host)).

use crate::body::ResponseBody;
use crate::client::RequestScheme;
use http::header::{CACHE_CONTROL, HOST, LOCATION};
use http::uri::Authority;
use http::{HeaderValue, Request, Response, StatusCode};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

/// An HTTPS redirect configuration the layer refuses.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpsRedirectError {
    #[error(
        "no host given: the redirect needs the hosts it serves, or a forged Host header makes it an open redirect"
    )]
    NoHosts,
    #[error("{0:?} is not a host name or IP address (no scheme, path, port or user info)")]
    InvalidHost(String),
    #[error("the HTTPS port must not be 0")]
    InvalidPort,
}

#[derive(Clone)]
enum Hosts {
    /// Redirect to this host whatever the request said.
    Canonical(String),
    /// The request's host, if it is one of these.
    Allowed(Vec<String>),
}

struct Shared {
    hosts: Hosts,
    https_port: u16,
}

/// Redirects plain-HTTP requests to HTTPS; see the [module docs](self).
#[derive(Clone)]
pub struct HttpsRedirectLayer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for HttpsRedirectLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("HttpsRedirectLayer");
        match &self.shared.hosts {
            Hosts::Canonical(host) => d.field("to_host", host),
            Hosts::Allowed(hosts) => d.field("for_hosts", hosts),
        };
        d.field("https_port", &self.shared.https_port).finish()
    }
}

impl HttpsRedirectLayer {
    /// Redirects to the request's host when it is one of `hosts` (ports in
    /// the `Host` header are ignored); any other host gets `400`.
    pub fn for_hosts<I, T>(hosts: I) -> Result<Self, HttpsRedirectError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        let hosts = hosts.into_iter().map(|h| normalize_host(h.as_ref())).collect::<Result<Vec<_>, _>>()?;
        if hosts.is_empty() {
            return Err(HttpsRedirectError::NoHosts);
        }
        Ok(Self::from_parts(Hosts::Allowed(hosts), 443))
    }

    /// Always redirects to `host`, whatever the request's `Host` says.
    pub fn to_host(host: &str) -> Result<Self, HttpsRedirectError> {
        Ok(Self::from_parts(Hosts::Canonical(normalize_host(host)?), 443))
    }

    /// The port HTTPS is served on (default 443, left out of the URL).
    pub fn https_port(self, port: u16) -> Result<Self, HttpsRedirectError> {
        if port == 0 {
            return Err(HttpsRedirectError::InvalidPort);
        }
        Ok(Self::from_parts(self.shared.hosts.clone(), port))
    }

    fn from_parts(hosts: Hosts, https_port: u16) -> Self {
        Self { shared: Arc::new(Shared { hosts, https_port }) }
    }
}

/// A host as configured or as sent: lowercase, no trailing dot, IPv6 in
/// brackets; no port, user info, path or anything else.
fn normalize_host(text: &str) -> Result<String, HttpsRedirectError> {
    let bad = || HttpsRedirectError::InvalidHost(text.to_owned());
    if let Ok(v6) = text.parse::<std::net::Ipv6Addr>() {
        return Ok(format!("[{v6}]"));
    }
    let authority: Authority = text.parse().map_err(|_| bad())?;
    if authority.port().is_some() || authority.as_str().contains('@') || authority.host().is_empty() {
        return Err(bad());
    }
    host_of(&authority).ok_or_else(bad)
}

/// The host part of an authority, normalised; `None` if it is not a DNS
/// name or IP literal.
fn host_of(authority: &Authority) -> Option<String> {
    if authority.as_str().contains('@') {
        return None;
    }
    let host = authority.host().trim_end_matches('.').to_ascii_lowercase();
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6.parse::<std::net::Ipv6Addr>().ok().map(|ip| format!("[{ip}]"));
    }
    let dns = !host.is_empty()
        && host.len() <= 253
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    dns.then_some(host)
}

impl<S> Layer<S> for HttpsRedirectLayer {
    type Service = HttpsRedirectService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HttpsRedirectService { inner, shared: self.shared.clone() }
    }
}

/// The service made by [`HttpsRedirectLayer`].
#[derive(Clone)]
pub struct HttpsRedirectService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> std::fmt::Debug for HttpsRedirectService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpsRedirectService").finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for HttpsRedirectService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if RequestScheme::of(&req).is_https() {
            return ResponseFuture { kind: Kind::Inner { future: self.inner.call(req) } };
        }
        ResponseFuture { kind: Kind::Answer { response: Some(redirect(&self.shared, &req)) } }
    }
}

/// The `308` to HTTPS, or `400` for a host we do not serve.
fn redirect<B, R>(shared: &Shared, req: &Request<B>) -> Response<ResponseBody<R>> {
    let requested = requested_host(req);
    let host = match &shared.hosts {
        Hosts::Canonical(host) => Some(host.clone()),
        Hosts::Allowed(allowed) => requested.filter(|h| allowed.contains(h)),
    };
    let Some(host) = host else {
        tracing::info!(host = ?req.headers().get(HOST), "HTTPS redirect refused: host not served here");
        return plain(StatusCode::BAD_REQUEST, "Unknown host.\n");
    };
    let path = req.uri().path_and_query().map_or("/", |pq| pq.as_str());
    let path = if path.starts_with('/') { path } else { "/" };
    let location = match shared.https_port {
        443 => format!("https://{host}{path}"),
        port => format!("https://{host}:{port}{path}"),
    };
    let Ok(location) = HeaderValue::try_from(location) else {
        return plain(StatusCode::BAD_REQUEST, "Bad request.\n");
    };
    let mut res = Response::new(ResponseBody::text(""));
    *res.status_mut() = StatusCode::PERMANENT_REDIRECT;
    res.headers_mut().insert(LOCATION, location);
    res
}

fn plain<R>(status: StatusCode, text: &'static str) -> Response<ResponseBody<R>> {
    let mut res = Response::new(ResponseBody::text(text));
    *res.status_mut() = status;
    res.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    res
}

/// The host the client asked for: the URI's authority (HTTP/2,
/// absolute-form), else the `Host` header; normalised, port dropped.
fn requested_host<B>(req: &Request<B>) -> Option<String> {
    if let Some(authority) = req.uri().authority() {
        return host_of(authority);
    }
    let header = req.headers().get(HOST)?.to_str().ok()?;
    host_of(&header.parse::<Authority>().ok()?)
}

pin_project! {
    /// Response future of [`HttpsRedirectService`].
    pub struct ResponseFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Inner { #[pin] future: F },
        Answer { response: Option<Response<ResponseBody<B>>> },
    }
}

impl<F, B> std::fmt::Debug for ResponseFuture<F, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => future.poll(cx).map_ok(|res| res.map(ResponseBody::inner)),
            KindProj::Answer { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => unreachable!("ResponseFuture polled after completion"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use tower::{service_fn, ServiceExt};

    /// The layer around an app that answers "app" with a session cookie;
    /// the response with its body read.
    async fn call(layer: &HttpsRedirectLayer, req: Request<()>) -> Response<String> {
        use http_body_util::{BodyExt, Full};
        let svc = layer.layer(service_fn(|_req: Request<()>| async {
            let mut res = Response::new(Full::new(bytes::Bytes::from_static(b"app")));
            res.headers_mut().insert("set-cookie", HeaderValue::from_static("__Host-session=x; Secure"));
            Ok::<_, Infallible>(res)
        }));
        let (parts, body) = svc.oneshot(req).await.unwrap().into_parts();
        let bytes = body.collect().await.unwrap_or_else(|never| match never {}).to_bytes();
        Response::from_parts(parts, String::from_utf8(bytes.to_vec()).unwrap())
    }

    fn req(method: &str, uri: &str, host: Option<&str>) -> Request<()> {
        let mut b = Request::builder().method(method).uri(uri);
        if let Some(host) = host {
            b = b.header("host", host);
        }
        b.body(()).unwrap()
    }

    #[tokio::test]
    async fn plain_http_gets_308_to_the_same_url_with_no_cookie() {
        let layer = HttpsRedirectLayer::for_hosts(["example.com"]).unwrap();
        for method in ["GET", "HEAD", "POST", "DELETE"] {
            let res = call(&layer, req(method, "/a/b?c=1&d=%20", Some("Example.COM:80"))).await;
            assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT, "{method}");
            assert_eq!(res.headers()[LOCATION], "https://example.com/a/b?c=1&d=%20");
            assert!(!res.headers().contains_key("set-cookie"), "the app (and its session) never ran");
        }
    }

    #[tokio::test]
    async fn https_requests_reach_the_app() {
        let layer = HttpsRedirectLayer::for_hosts(["example.com"]).unwrap();
        let mut r = req("GET", "/", Some("example.com"));
        r.extensions_mut().insert(RequestScheme::Https);
        assert_eq!(call(&layer, r).await.body(), "app");
    }

    #[tokio::test]
    async fn forged_or_missing_hosts_are_refused() {
        let layer = HttpsRedirectLayer::for_hosts(["example.com"]).unwrap();
        for host in [
            Some("evil.example"),
            Some("example.com.evil.example"),
            Some("user@example.com"),
            Some("exa mple.com"),
            None,
        ] {
            let res = call(&layer, req("GET", "/", host)).await;
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{host:?}");
            assert!(!res.headers().contains_key(LOCATION));
        }
        // Absolute-form request with a foreign authority.
        let res = call(&layer, req("GET", "http://evil.example/", Some("example.com"))).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn canonical_host_ignores_the_host_header_and_port_is_kept() {
        let layer = HttpsRedirectLayer::to_host("www.example.com").unwrap().https_port(8443).unwrap();
        let res = call(&layer, req("GET", "/x?y", Some("evil.example"))).await;
        assert_eq!(res.headers()[LOCATION], "https://www.example.com:8443/x?y");
        let v6 = HttpsRedirectLayer::for_hosts(["::1"]).unwrap().https_port(3443).unwrap();
        let res = call(&v6, req("GET", "/", Some("[::1]:3080"))).await;
        assert_eq!(res.headers()[LOCATION], "https://[::1]:3443/");
    }

    #[test]
    fn bad_configurations_are_refused() {
        assert_eq!(HttpsRedirectLayer::for_hosts(Vec::<String>::new()).unwrap_err(), HttpsRedirectError::NoHosts);
        for bad in ["https://example.com", "example.com:443", "user@example.com", "", "exa mple.com", "/path"] {
            assert!(HttpsRedirectLayer::to_host(bad).is_err(), "{bad}");
        }
        assert_eq!(
            HttpsRedirectLayer::to_host("a.example").unwrap().https_port(0).unwrap_err(),
            HttpsRedirectError::InvalidPort
        );
    }
}
