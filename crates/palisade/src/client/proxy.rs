//! The trusted-proxy layer: decides the client's address and scheme once per
//! request, believing forwarding headers only from configured proxies.

use super::forwarded::{self, Hop};
use super::{ClientIp, RequestScheme};
use http::Request;
use ipnet::IpNet;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

/// Which forwarding header the trusted proxies write.
///
/// Only one is read. A proxy that appends to `X-Forwarded-For` usually
/// passes a client's `Forwarded` header through untouched (and the other
/// way round); believing both would let a client smuggle in the one the
/// proxy does not rewrite.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ForwardingHeader {
    /// `X-Forwarded-For` and `X-Forwarded-Proto` (nginx, HAProxy, most
    /// cloud load balancers). The default.
    #[default]
    XForwardedFor,
    /// `Forwarded` (RFC 7239).
    Forwarded,
}

/// A trusted-proxy configuration the layer refuses.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyConfigError {
    #[error("{0:?} is not an IP address or CIDR range (write e.g. 10.0.0.0/8, 192.168.1.10 or fd00::/8)")]
    Invalid(String),
    #[error("{given} has bits set past its prefix length; did you mean {network}?")]
    HostBits { given: String, network: String },
    #[error("{0} trusts every address, so anyone could set X-Forwarded-For; list your proxies' addresses instead")]
    TrustsEveryone(String),
}

/// Puts the client's [`ClientIp`] and [`RequestScheme`] in every request's
/// extensions.
///
/// The socket's peer address comes from axum's `ConnectInfo<SocketAddr>`
/// (serve with `into_make_service_with_connect_info::<SocketAddr>()`).
/// Only when that peer is inside one of the trusted ranges are forwarding
/// headers read: right to left, each address that is itself a trusted proxy
/// is skipped, and the first other one is the client. Anyone can send these
/// headers, so believing them from an untrusted peer lets a client claim
/// any address (and dodge rate limits or IP allow-lists) or claim HTTPS.
///
/// Without trusted proxies (the default), the client is the peer and the
/// scheme is the connection's: [`RequestScheme::Http`] unless the request
/// URI carries a scheme (HTTP/2) or the listener was declared HTTPS with
/// [`connection_scheme`](Self::connection_scheme).
#[derive(Clone)]
pub struct TrustedProxyLayer {
    shared: Arc<Shared>,
}

struct Shared {
    proxies: Vec<IpNet>,
    header: ForwardingHeader,
    connection: RequestScheme,
    /// `X-Forwarded-Proto` is believed (the proxies set it).
    proto: bool,
    /// A trusted proxy sent `X-Forwarded-For` without `X-Forwarded-Proto`.
    proto_missing_seen: AtomicBool,
    /// No proxy is trusted, yet a request carried forwarding headers.
    forwarding_ignored_seen: AtomicBool,
}

impl std::fmt::Debug for TrustedProxyLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustedProxyLayer")
            .field("proxies", &self.shared.proxies)
            .field("header", &self.shared.header)
            .field("connection", &self.shared.connection)
            .field("forwarded_proto", &self.shared.proto)
            .finish()
    }
}

impl Default for TrustedProxyLayer {
    fn default() -> Self {
        Self::no_proxies()
    }
}

impl TrustedProxyLayer {
    /// Trusts no proxy: the client is the socket's peer.
    pub fn no_proxies() -> Self {
        Self::from_parts(Vec::new(), ForwardingHeader::default(), RequestScheme::Http)
    }

    /// Trusts proxies in these ranges (`10.0.0.0/8`) or at these addresses
    /// (`192.168.1.10`). Refuses ranges with host bits set (a typo) and
    /// `/0` (trusting everyone).
    pub fn trusting<I, T>(proxies: I) -> Result<Self, ProxyConfigError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        let nets = proxies.into_iter().map(|p| parse_proxy(p.as_ref())).collect::<Result<Vec<_>, _>>()?;
        Ok(Self::from_parts(nets, ForwardingHeader::default(), RequestScheme::Http))
    }

    /// Like [`trusting`](Self::trusting), from a comma- or space-separated
    /// list (an environment variable); an empty list trusts no proxy.
    pub fn from_list(list: &str) -> Result<Self, ProxyConfigError> {
        Self::trusting(list.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()))
    }

    /// Read `Forwarded` (RFC 7239) instead of `X-Forwarded-For`/`-Proto`.
    pub fn reading(self, header: ForwardingHeader) -> Self {
        self.rebuilt(self.shared.proxies.clone(), header, self.shared.connection)
    }

    /// The scheme of the listener this app is served on: `Https` when the
    /// app terminates TLS itself. Default `Http`.
    pub fn connection_scheme(self, scheme: RequestScheme) -> Self {
        self.rebuilt(self.shared.proxies.clone(), self.shared.header, scheme)
    }

    /// A copy with other settings, keeping whether `X-Forwarded-Proto` is
    /// believed.
    fn rebuilt(&self, proxies: Vec<IpNet>, header: ForwardingHeader, connection: RequestScheme) -> Self {
        let mut layer = Self::from_parts(proxies, header, connection);
        if let Some(shared) = Arc::get_mut(&mut layer.shared) {
            shared.proto = self.shared.proto;
        }
        layer
    }

    /// The proxies do **not** set `X-Forwarded-Proto` (TLS does not end at
    /// them, or they only append `X-Forwarded-For`): the header is ignored
    /// and the scheme is the connection's.
    ///
    /// A proxy that appends `X-Forwarded-For` but leaves `X-Forwarded-Proto`
    /// alone passes the **client's** header through, so a client could claim
    /// HTTPS. With nginx, set it in every `location` that proxies:
    ///
    /// ```text
    /// proxy_set_header X-Forwarded-For   $proxy_add_x_forwarded_for;
    /// proxy_set_header X-Forwarded-Proto $scheme;   # overwrites the client's
    /// ```
    ///
    /// (HAProxy: `http-request set-header X-Forwarded-Proto https if { ssl_fc }`.)
    /// Without that line, call this. The layer also watches for the mistake:
    /// see [`proxy_omits_forwarded_proto`](Self::proxy_omits_forwarded_proto).
    pub fn ignoring_forwarded_proto(self) -> Self {
        let mut layer = Self::from_parts(self.shared.proxies.clone(), self.shared.header, self.shared.connection);
        if let Some(shared) = Arc::get_mut(&mut layer.shared) {
            shared.proto = false;
        }
        layer
    }

    /// The check for a proxy that appends `X-Forwarded-For` but does not
    /// set `X-Forwarded-Proto` (see
    /// [`ignoring_forwarded_proto`](Self::ignoring_forwarded_proto)): true
    /// once a trusted proxy sent the first without the second, while the
    /// layer believes `X-Forwarded-Proto`. Logged once as a warning too; a
    /// health check or a deploy smoke test can assert it stays false.
    pub fn proxy_omits_forwarded_proto(&self) -> bool {
        self.shared.proto_missing_seen.load(Ordering::Relaxed)
    }

    /// The check for an unconfigured proxy: true once a request carried
    /// `X-Forwarded-For` or `Forwarded` while no proxy is trusted (also
    /// logged once as a warning, with the setting to add).
    pub fn saw_forwarding_headers_without_trusted_proxies(&self) -> bool {
        self.shared.forwarding_ignored_seen.load(Ordering::Relaxed)
    }

    fn from_parts(proxies: Vec<IpNet>, header: ForwardingHeader, connection: RequestScheme) -> Self {
        let shared = Shared {
            proxies,
            header,
            connection,
            proto: true,
            proto_missing_seen: AtomicBool::new(false),
            forwarding_ignored_seen: AtomicBool::new(false),
        };
        Self { shared: Arc::new(shared) }
    }

    /// The client's address and scheme for a request from `peer` (`None`:
    /// unknown peer, never trusted).
    pub fn resolve<B>(&self, peer: Option<IpAddr>, req: &Request<B>) -> (Option<IpAddr>, RequestScheme) {
        self.shared.resolve(peer, req)
    }
}

impl Shared {
    fn trusts(&self, ip: IpAddr) -> bool {
        self.proxies.iter().any(|net| net.contains(&ip))
    }

    fn resolve<B>(&self, peer: Option<IpAddr>, req: &Request<B>) -> (Option<IpAddr>, RequestScheme) {
        let connection = req
            .uri()
            .scheme()
            .map(|s| if *s == http::uri::Scheme::HTTPS { RequestScheme::Https } else { RequestScheme::Http })
            .unwrap_or(self.connection);
        let peer = peer.map(|ip| ip.to_canonical());
        let Some(peer_ip) = peer.filter(|ip| self.trusts(*ip)) else {
            if self.proxies.is_empty() {
                self.watch_untrusted_forwarding(req.headers());
            }
            return (peer, connection);
        };
        let headers = req.headers();
        let hops = match self.header {
            ForwardingHeader::XForwardedFor => forwarded::x_forwarded(headers),
            ForwardingHeader::Forwarded => forwarded::forwarded(headers),
        };
        if self.header == ForwardingHeader::XForwardedFor {
            self.watch_proto(headers);
        }
        let first_scheme = match self.header {
            ForwardingHeader::XForwardedFor if self.proto => forwarded::lone_proto(headers),
            _ => None,
        };
        let (ip, scheme) = walk(&hops, (peer_ip, first_scheme), |ip| self.trusts(ip));
        let scheme = if self.header == ForwardingHeader::XForwardedFor && !self.proto { None } else { scheme };
        (Some(ip), scheme.unwrap_or(connection))
    }

    /// Forwarding headers while no proxy is trusted: either the app runs
    /// behind a proxy that was not configured (every client then has the
    /// proxy's address: rate limits, binding and logs see one client) or a
    /// client is trying to spoof its address (ignored, as it should be).
    fn watch_untrusted_forwarding(&self, headers: &http::HeaderMap) {
        let forwarded = headers.contains_key("x-forwarded-for") || headers.contains_key(http::header::FORWARDED);
        if forwarded && !self.forwarding_ignored_seen.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "a request carried X-Forwarded-For or Forwarded but no proxy is trusted, so they were ignored; \
                 behind a reverse proxy, list it with TrustedProxyLayer::trusting([\"10.0.0.0/8\"]) (its addresses), \
                 or the app sees every client as the proxy"
            );
        }
    }

    /// A trusted proxy that appends `X-Forwarded-For` without setting
    /// `X-Forwarded-Proto` would pass a client's `X-Forwarded-Proto` through.
    fn watch_proto(&self, headers: &http::HeaderMap) {
        let misconfigured =
            self.proto && headers.contains_key("x-forwarded-for") && !headers.contains_key("x-forwarded-proto");
        if misconfigured && !self.proto_missing_seen.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "a trusted proxy sent X-Forwarded-For without X-Forwarded-Proto: a client's own X-Forwarded-Proto \
                 would pass through it and be believed; set it in the proxy (nginx: `proxy_set_header \
                 X-Forwarded-Proto $scheme;`) or call TrustedProxyLayer::ignoring_forwarded_proto"
            );
        }
    }
}

/// Right to left: each hop written by a trusted proxy is believed; the first
/// untrusted address is the client. A hop that did not parse ends the walk
/// at the last address we could believe (never at anything to its left).
fn walk(
    hops: &[Hop],
    start: (IpAddr, Option<RequestScheme>),
    trusted: impl Fn(IpAddr) -> bool,
) -> (IpAddr, Option<RequestScheme>) {
    let mut best = start;
    for hop in hops {
        let Some(ip) = hop.ip else { break };
        best = (ip, hop.proto.or(best.1));
        if !trusted(ip) {
            break;
        }
    }
    best
}

fn parse_proxy(text: &str) -> Result<IpNet, ProxyConfigError> {
    let text = text.trim();
    let net = match text.parse::<IpNet>() {
        Ok(net) => net,
        Err(_) => text.parse::<IpAddr>().map(IpNet::from).map_err(|_| ProxyConfigError::Invalid(text.to_owned()))?,
    };
    if net.prefix_len() == 0 {
        return Err(ProxyConfigError::TrustsEveryone(text.to_owned()));
    }
    if net.trunc() != net {
        return Err(ProxyConfigError::HostBits { given: text.to_owned(), network: net.trunc().to_string() });
    }
    Ok(net)
}

impl<S> Layer<S> for TrustedProxyLayer {
    type Service = TrustedProxyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TrustedProxyService { inner, layer: self.clone() }
    }
}

/// The service made by [`TrustedProxyLayer`].
#[derive(Clone)]
pub struct TrustedProxyService<S> {
    inner: S,
    layer: TrustedProxyLayer,
}

impl<S> std::fmt::Debug for TrustedProxyService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustedProxyService").field("layer", &self.layer).finish_non_exhaustive()
    }
}

impl<S, B> Service<Request<B>> for TrustedProxyService<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let (ip, scheme) = self.layer.resolve(super::peer_ip(req.extensions()), &req);
        if let Some(ip) = ip {
            req.extensions_mut().insert(ClientIp(ip));
        }
        req.extensions_mut().insert(scheme);
        self.inner.call(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(pairs: &[(&str, &str)]) -> Request<()> {
        let mut builder = Request::builder().uri("/");
        for (name, value) in pairs {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn layer() -> TrustedProxyLayer {
        TrustedProxyLayer::trusting(["10.0.0.0/8", "fd00::/8"]).unwrap()
    }

    #[test]
    fn spoofed_forwarded_for_from_an_untrusted_peer_is_ignored() {
        let r = req(&[("x-forwarded-for", "1.2.3.4"), ("x-forwarded-proto", "https"), ("forwarded", "for=1.2.3.4")]);
        assert_eq!(layer().resolve(Some(ip("198.51.100.7")), &r), (Some(ip("198.51.100.7")), RequestScheme::Http));
        assert_eq!(layer().resolve(None, &r), (None, RequestScheme::Http));
        assert_eq!(TrustedProxyLayer::no_proxies().resolve(Some(ip("10.0.0.1")), &r).0, Some(ip("10.0.0.1")));
    }

    #[test]
    fn a_chain_through_trusted_proxies_is_resolved_right_to_left() {
        // The client forged the left-most entry; two of our proxies appended.
        let r = req(&[("x-forwarded-for", "6.6.6.6, 203.0.113.9, 10.0.0.3"), ("x-forwarded-proto", "https")]);
        assert_eq!(layer().resolve(Some(ip("10.0.0.2")), &r), (Some(ip("203.0.113.9")), RequestScheme::Https));
    }

    #[test]
    fn all_trusted_chain_gives_the_left_most_address() {
        let r = req(&[("x-forwarded-for", "10.9.9.9, 10.0.0.3")]);
        assert_eq!(layer().resolve(Some(ip("10.0.0.2")), &r).0, Some(ip("10.9.9.9")));
    }

    #[test]
    fn client_appended_proto_is_not_believed() {
        // The client sent `X-Forwarded-Proto: https`; the proxy appended what it saw.
        let r = req(&[("x-forwarded-for", "203.0.113.9"), ("x-forwarded-proto", "https, http")]);
        assert_eq!(layer().resolve(Some(ip("10.0.0.2")), &r).1, RequestScheme::Http);
    }

    #[test]
    fn a_proxy_that_appends_for_but_not_proto_is_noticed_and_proto_can_be_ignored() {
        let layer = layer();
        let fine = req(&[("x-forwarded-for", "203.0.113.9"), ("x-forwarded-proto", "https")]);
        assert_eq!(layer.resolve(Some(ip("10.0.0.2")), &fine).1, RequestScheme::Https);
        assert!(!layer.proxy_omits_forwarded_proto());
        let omitted = req(&[("x-forwarded-for", "203.0.113.9")]);
        layer.resolve(Some(ip("10.0.0.2")), &omitted);
        assert!(layer.proxy_omits_forwarded_proto(), "the check trips");
        // Declared: the client's header is never believed.
        let ignoring = TrustedProxyLayer::trusting(["10.0.0.0/8"]).unwrap().ignoring_forwarded_proto();
        let claimed = req(&[("x-forwarded-for", "203.0.113.9"), ("x-forwarded-proto", "https")]);
        assert_eq!(ignoring.resolve(Some(ip("10.0.0.2")), &claimed), (Some(ip("203.0.113.9")), RequestScheme::Http));
        assert_eq!(
            ignoring.resolve(Some(ip("10.0.0.2")), &req(&[("x-forwarded-proto", "https")])).1,
            RequestScheme::Http
        );
        let kept = ignoring.connection_scheme(RequestScheme::Https);
        assert_eq!(kept.resolve(Some(ip("10.0.0.2")), &claimed).1, RequestScheme::Https, "the listener's scheme");
        assert!(!kept.proxy_omits_forwarded_proto());
        assert!(format!("{kept:?}").contains("forwarded_proto: false"));
    }

    #[test]
    fn forwarding_headers_without_trusted_proxies_are_ignored_and_noticed() {
        let layer = TrustedProxyLayer::no_proxies();
        let plain = req(&[]);
        layer.resolve(Some(ip("198.51.100.7")), &plain);
        assert!(!layer.saw_forwarding_headers_without_trusted_proxies());
        let forwarded = req(&[("x-forwarded-for", "1.2.3.4"), ("x-forwarded-proto", "https")]);
        assert_eq!(layer.resolve(Some(ip("10.0.0.2")), &forwarded), (Some(ip("10.0.0.2")), RequestScheme::Http));
        assert!(layer.saw_forwarding_headers_without_trusted_proxies());
        // With proxies configured, an untrusted peer's headers are an attempt, not a misconfiguration.
        let configured = super::tests::layer();
        configured.resolve(Some(ip("198.51.100.7")), &forwarded);
        assert!(!configured.saw_forwarding_headers_without_trusted_proxies());
    }

    #[test]
    fn proto_only_proxies_are_believed() {
        let r = req(&[("x-forwarded-proto", "https")]);
        assert_eq!(layer().resolve(Some(ip("10.0.0.2")), &r), (Some(ip("10.0.0.2")), RequestScheme::Https));
    }

    #[test]
    fn garbage_from_a_trusted_proxy_falls_back_to_the_last_believable_hop() {
        let r = req(&[("x-forwarded-for", "203.0.113.9, garbage, 10.0.0.3")]);
        assert_eq!(layer().resolve(Some(ip("10.0.0.2")), &r).0, Some(ip("10.0.0.3")));
        let r = req(&[("x-forwarded-for", "nonsense")]);
        assert_eq!(layer().resolve(Some(ip("10.0.0.2")), &r).0, Some(ip("10.0.0.2")));
    }

    #[test]
    fn ten_kilobytes_of_padding_do_not_move_the_client() {
        let padded = format!("{}203.0.113.9", "10.1.1.1, ".repeat(1000));
        let r = req(&[("x-forwarded-for", &padded)]);
        // Only the right-most MAX_HOPS entries are walked; all trusted → the last one read.
        let (client, _) = layer().resolve(Some(ip("10.0.0.2")), &r);
        assert_eq!(client, Some(ip("203.0.113.9")));
        let all_trusted = "10.1.1.1, ".repeat(1000) + "10.1.1.2";
        let (client, _) = layer().resolve(Some(ip("10.0.0.2")), &req(&[("x-forwarded-for", &all_trusted)]));
        assert!(client.is_some_and(|c| layer().shared.trusts(c)), "never an address past the bounds: {client:?}");
    }

    #[test]
    fn rfc7239_forwarded_with_quoted_ipv6_and_ports() {
        let l = layer().reading(ForwardingHeader::Forwarded);
        let r = req(&[
            ("forwarded", "for=\"[2001:db8:cafe::17]:4711\";proto=https, for=\"[fd00::5]:80\";proto=http"),
            ("x-forwarded-for", "6.6.6.6"),
        ]);
        assert_eq!(l.resolve(Some(ip("10.0.0.2")), &r), (Some(ip("2001:db8:cafe::17")), RequestScheme::Https));
    }

    #[test]
    fn ipv4_mapped_peers_are_matched_as_ipv4() {
        let r = req(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(layer().resolve(Some(ip("::ffff:10.0.0.2")), &r).0, Some(ip("203.0.113.9")));
    }

    #[test]
    fn connection_scheme_and_uri_scheme() {
        let https = TrustedProxyLayer::no_proxies().connection_scheme(RequestScheme::Https);
        assert_eq!(https.resolve(Some(ip("1.2.3.4")), &req(&[])).1, RequestScheme::Https);
        let absolute = Request::builder().uri("https://example.com/").body(()).unwrap();
        assert_eq!(TrustedProxyLayer::no_proxies().resolve(None, &absolute).1, RequestScheme::Https);
    }

    #[test]
    fn bad_proxy_lists_are_refused() {
        assert!(matches!(TrustedProxyLayer::from_list("10.0.0.0/8, nonsense"), Err(ProxyConfigError::Invalid(_))));
        assert!(matches!(TrustedProxyLayer::trusting(["0.0.0.0/0"]), Err(ProxyConfigError::TrustsEveryone(_))));
        assert!(matches!(TrustedProxyLayer::trusting(["::/0"]), Err(ProxyConfigError::TrustsEveryone(_))));
        assert_eq!(
            TrustedProxyLayer::trusting(["10.0.0.1/8"]).unwrap_err(),
            ProxyConfigError::HostBits { given: "10.0.0.1/8".into(), network: "10.0.0.0/8".into() }
        );
        let ok = TrustedProxyLayer::from_list(" 10.0.0.0/8,192.168.1.10  fd00::/8 ").unwrap();
        assert_eq!(ok.shared.proxies.len(), 3);
        assert!(TrustedProxyLayer::from_list("").unwrap().shared.proxies.is_empty());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_forwarding_headers_never_panic_and_never_leave_the_trusted_walk(
            xff in "[ -~]{0,300}", proto in "[ -~]{0,40}", fwd in "[ -~]{0,300}",
        ) {
            let mut r = Request::new(());
            for (name, value) in [("x-forwarded-for", &xff), ("x-forwarded-proto", &proto), ("forwarded", &fwd)] {
                if let Ok(v) = http::HeaderValue::from_str(value) {
                    r.headers_mut().insert(name, v);
                }
            }
            let untrusted = layer().resolve(Some(ip("198.51.100.7")), &r);
            proptest::prop_assert_eq!(untrusted, (Some(ip("198.51.100.7")), RequestScheme::Http));
            let _ = layer().resolve(Some(ip("10.0.0.2")), &r);
            let _ = layer().reading(ForwardingHeader::Forwarded).resolve(Some(ip("10.0.0.2")), &r);
        }
    }
}
