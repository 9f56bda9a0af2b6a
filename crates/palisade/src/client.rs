//! Who is on the other end: the client's address as the app should believe it.
//!
//! The session layer records the client's address and user agent when a
//! session is created or its id rotated (login), so a person can recognise
//! their sessions on a "your devices" page.

use http::Request;
use std::net::IpAddr;

/// The client's IP address, as established by a trusted-proxy layer.
///
/// Put it in the request extensions from a layer that knows which proxies
/// to believe. Without it, Palisade uses the socket's peer address (axum's
/// `ConnectInfo<SocketAddr>`) and never reads `X-Forwarded-For` itself:
/// anyone can send that header, so believing it unchecked lets a client
/// claim any address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

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

fn client_ip<B>(req: &Request<B>) -> Option<IpAddr> {
    if let Some(ClientIp(ip)) = req.extensions().get::<ClientIp>() {
        return Some(*ip);
    }
    #[cfg(feature = "axum")]
    if let Some(info) = req.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>() {
        return Some(info.0.ip());
    }
    None
}

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
