//! Who is on the other end: the client's address and scheme as the app
//! should believe them.
//!
//! ```
//! use axum::{routing::get, Router};
//! use palisade::client::{ClientIp, TrustedProxyLayer};
//!
//! async fn whoami(ClientIp(ip): ClientIp) -> String {
//!     format!("you are {ip}")
//! }
//!
//! # fn main() -> Result<(), palisade::client::ProxyConfigError> {
//! // X-Forwarded-For is believed only from the load balancers' subnet.
//! let proxies = TrustedProxyLayer::trusting(["10.0.0.0/8"])?;
//! let app: Router = Router::new().route("/", get(whoami)).layer(proxies);
//! // serve with `app.into_make_service_with_connect_info::<std::net::SocketAddr>()`
//! # let _ = app; Ok(()) }
//! ```
//!
//! [`TrustedProxyLayer`] decides both once per request and puts them in the
//! request extensions: [`ClientIp`] and [`RequestScheme`]. The session layer
//! records the client's address and user agent when a session is created or
//! its id rotated (login), so a person can recognise their sessions on a
//! "your devices" page; the security-headers and HTTPS-redirect layers read
//! the scheme.

mod forwarded;
mod proxy;

pub use proxy::{ForwardingHeader, ProxyConfigError, TrustedProxyLayer, TrustedProxyService};

use http::Request;
use std::net::IpAddr;

/// The client's IP address, as established by [`TrustedProxyLayer`].
///
/// Without that layer, Palisade uses the socket's peer address (axum's
/// `ConnectInfo<SocketAddr>`) and never reads `X-Forwarded-For` itself:
/// anyone can send that header, so believing it unchecked lets a client
/// claim any address.
///
/// Also an axum extractor (feature `axum`): the layer's value, else the
/// peer address; if neither is known the request is refused with a 500
/// that names the missing piece.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

/// The scheme the client used to reach us (through any trusted proxies).
///
/// Set by [`TrustedProxyLayer`]; [`RequestScheme::of`] falls back to the
/// request URI's scheme (present on HTTP/2 and absolute-form requests) and
/// otherwise answers `Http`: a response is treated as HTTPS only when
/// something we trust says so.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RequestScheme {
    #[default]
    Http,
    Https,
}

impl RequestScheme {
    /// The scheme of `req`: the layer's verdict, else the URI's scheme,
    /// else `Http`.
    pub fn of<B>(req: &Request<B>) -> Self {
        if let Some(scheme) = req.extensions().get::<RequestScheme>() {
            return *scheme;
        }
        match req.uri().scheme() {
            Some(s) if *s == http::uri::Scheme::HTTPS => Self::Https,
            _ => Self::Http,
        }
    }

    pub fn is_https(self) -> bool {
        self == Self::Https
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }
}

/// Longest `User-Agent` kept with a session: enough to recognise a browser,
/// too short to make the store a dumping ground.
pub const MAX_USER_AGENT_LEN: usize = 512;

/// What a session records about the client that created it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ClientSnapshot {
    pub(crate) ip: Option<IpAddr>,
    pub(crate) user_agent: Option<http::HeaderValue>,
}

impl ClientSnapshot {
    pub(crate) fn of<B>(req: &Request<B>) -> Self {
        Self { ip: client_ip(req), user_agent: req.headers().get(http::header::USER_AGENT).cloned() }
    }

    pub(crate) fn ip_string(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_string())
    }

    /// The user agent as given, made valid UTF-8 and cut to
    /// [`MAX_USER_AGENT_LEN`] bytes on a character boundary.
    pub(crate) fn user_agent_string(&self) -> Option<String> {
        let raw = String::from_utf8_lossy(self.user_agent.as_ref()?.as_bytes());
        let mut end = raw.len().min(MAX_USER_AGENT_LEN);
        while !raw.is_char_boundary(end) {
            end -= 1;
        }
        Some(raw[..end].to_owned())
    }
}

/// The client's address: the trusted-proxy layer's, else the socket peer's.
pub(crate) fn client_ip<B>(req: &Request<B>) -> Option<IpAddr> {
    client_ip_in(req.extensions())
}

/// [`client_ip`] from a request's extensions.
pub(crate) fn client_ip_in(extensions: &http::Extensions) -> Option<IpAddr> {
    if let Some(ClientIp(ip)) = extensions.get::<ClientIp>() {
        return Some(*ip);
    }
    peer_ip(extensions)
}

/// The socket's peer address, from axum's `ConnectInfo<SocketAddr>`.
fn peer_ip(extensions: &http::Extensions) -> Option<IpAddr> {
    #[cfg(feature = "axum")]
    if let Some(info) = extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>() {
        return Some(info.0.ip());
    }
    let _ = extensions;
    None
}

#[cfg(feature = "axum")]
mod extract {
    use super::{ClientIp, RequestScheme};
    use axum::extract::FromRequestParts;
    use axum::response::{IntoResponse, Response};
    use http::request::Parts;
    use http::StatusCode;

    /// [`ClientIp`] could not be extracted: neither [`super::TrustedProxyLayer`]
    /// nor axum's connect info is there.
    #[derive(Debug, thiserror::Error)]
    #[error(
        "the client's address is unknown: add palisade::client::TrustedProxyLayer, or serve with \
         into_make_service_with_connect_info::<SocketAddr>()"
    )]
    pub struct ClientIpRejection;

    impl IntoResponse for ClientIpRejection {
        fn into_response(self) -> Response {
            tracing::error!("{self}");
            (StatusCode::INTERNAL_SERVER_ERROR, "Internal server error.\n").into_response()
        }
    }

    impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
        type Rejection = ClientIpRejection;

        async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
            if let Some(ip) = parts.extensions.get::<ClientIp>() {
                return Ok(*ip);
            }
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| ClientIp(info.0.ip().to_canonical()))
                .ok_or(ClientIpRejection)
        }
    }

    impl<S: Send + Sync> FromRequestParts<S> for RequestScheme {
        type Rejection = std::convert::Infallible;

        async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
            Ok(parts.extensions.get::<RequestScheme>().copied().unwrap_or(match parts.uri.scheme() {
                Some(s) if *s == http::uri::Scheme::HTTPS => RequestScheme::Https,
                _ => RequestScheme::Http,
            }))
        }
    }
}

#[cfg(feature = "axum")]
pub use extract::ClientIpRejection;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_user_agent_is_cut_on_a_char_boundary() {
        let long = "é".repeat(400); // 800 bytes
        let req = Request::builder().header("user-agent", long.as_str()).body(()).unwrap();
        let ua = ClientSnapshot::of(&req).user_agent_string().unwrap();
        assert!(ua.len() <= MAX_USER_AGENT_LEN && ua.len() >= MAX_USER_AGENT_LEN - 1);
        assert!(ua.chars().all(|c| c == 'é'));
    }

    #[test]
    fn client_ip_prefers_the_trusted_extension() {
        let mut req = Request::new(());
        assert_eq!(ClientSnapshot::of(&req).ip, None);
        req.extensions_mut().insert(ClientIp("203.0.113.9".parse().unwrap()));
        assert_eq!(ClientSnapshot::of(&req).ip_string().as_deref(), Some("203.0.113.9"));
    }
}
