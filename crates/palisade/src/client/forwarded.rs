//! Reading `X-Forwarded-For` / `X-Forwarded-Proto` and `Forwarded`
//! (RFC 7239), right to left, within fixed bounds.
//!
//! Every proxy appends what it saw to the right of what it received, so only
//! the right-most entries were written by proxies we trust; everything to the
//! left of the first untrusted address was written by the client and is
//! never read. Parsing is lazy from the right and stops at the first entry
//! that does not parse, so a client can pad these headers with anything
//! without moving the result.

use super::RequestScheme;
use http::HeaderMap;
use std::net::{IpAddr, SocketAddr};

/// At most this many bytes of a forwarding header are read (from the right).
/// Real chains are a few dozen bytes; anything past this is not believed.
pub(crate) const MAX_HEADER_BYTES: usize = 4096;
/// At most this many hops are walked.
pub(crate) const MAX_HOPS: usize = 32;

/// One entry of a forwarding header, as the proxy that wrote it saw its peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Hop {
    /// `None`: the entry did not parse (or was `unknown`, or obfuscated).
    pub(crate) ip: Option<IpAddr>,
    pub(crate) proto: Option<RequestScheme>,
}

/// The values of every `name` header, joined by commas, split into entries
/// and returned right to left — at most [`MAX_HOPS`] entries and
/// [`MAX_HEADER_BYTES`] bytes. An entry that crosses the byte budget, or
/// comes from a header value that is not visible ASCII, is returned as
/// `None` and ends the list.
fn entries_right_to_left<'a>(headers: &'a HeaderMap, name: &str) -> Vec<Option<&'a str>> {
    let mut out = Vec::new();
    let mut budget = MAX_HEADER_BYTES;
    for value in headers.get_all(name).iter().rev() {
        let Ok(text) = value.to_str() else {
            out.push(None);
            return out;
        };
        for entry in text.rsplit(',') {
            if out.len() == MAX_HOPS {
                return out;
            }
            let Some(rest) = budget.checked_sub(entry.len() + 1) else {
                out.push(None);
                return out;
            };
            budget = rest;
            out.push(Some(entry.trim()));
        }
    }
    out
}

/// An address as `X-Forwarded-For` writes it: `1.2.3.4`, `1.2.3.4:80`,
/// `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:80`.
pub(crate) fn parse_address(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(sock) = text.parse::<SocketAddr>() {
        return Some(sock.ip().to_canonical());
    }
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    inner.parse::<std::net::Ipv6Addr>().ok().map(|ip| IpAddr::V6(ip).to_canonical())
}

fn parse_scheme(text: &str) -> Option<RequestScheme> {
    match text.trim() {
        s if s.eq_ignore_ascii_case("https") => Some(RequestScheme::Https),
        s if s.eq_ignore_ascii_case("http") => Some(RequestScheme::Http),
        _ => None,
    }
}

/// Hops from `X-Forwarded-For`, right to left, each with the
/// `X-Forwarded-Proto` value at the same position from the right; a single
/// `X-Forwarded-Proto` value (proxies that overwrite it) applies to every
/// hop. Any other count of proto values is ignored.
pub(crate) fn x_forwarded(headers: &HeaderMap) -> Vec<Hop> {
    let protos = entries_right_to_left(headers, "x-forwarded-proto");
    let proto_at = |i: usize| -> Option<RequestScheme> {
        match protos.as_slice() {
            [only] => only.and_then(parse_scheme),
            many => many.get(i).copied().flatten().and_then(parse_scheme),
        }
    };
    let mut hops = Vec::new();
    for (i, entry) in entries_right_to_left(headers, "x-forwarded-for").into_iter().enumerate() {
        let ip = entry.and_then(parse_address);
        hops.push(Hop { ip, proto: proto_at(i) });
        if ip.is_none() {
            break;
        }
    }
    hops
}

/// The scheme `X-Forwarded-Proto` gives when there is no `X-Forwarded-For`
/// (a proxy that only sets the scheme): believed only if it is one value.
pub(crate) fn lone_proto(headers: &HeaderMap) -> Option<RequestScheme> {
    match entries_right_to_left(headers, "x-forwarded-proto").as_slice() {
        [only] => only.and_then(parse_scheme),
        _ => None,
    }
}

/// Hops from `Forwarded` (RFC 7239), right to left: `for=` and `proto=` of
/// each element.
///
/// Elements are split on commas without regard to quotes: no value a proxy
/// writes for `for` or `proto` contains one, and an element broken by a
/// quoted comma fails the strict pair parsing below, which ends the walk.
pub(crate) fn forwarded(headers: &HeaderMap) -> Vec<Hop> {
    let mut hops = Vec::new();
    for entry in entries_right_to_left(headers, "forwarded") {
        let hop = entry.and_then(parse_element).unwrap_or(Hop { ip: None, proto: None });
        hops.push(hop);
        if hop.ip.is_none() {
            break;
        }
    }
    hops
}

/// `for=192.0.2.60;proto=https;by=203.0.113.43`. `None` if a pair is
/// malformed or a parameter repeats (RFC 7239 §4).
fn parse_element(element: &str) -> Option<Hop> {
    let (mut ip, mut proto, mut seen_for) = (None, None, false);
    for pair in element.split(';') {
        let (name, value) = pair.trim().split_once('=')?;
        let value = unquote(value.trim())?;
        let name = name.trim();
        if name.eq_ignore_ascii_case("for") {
            if seen_for {
                return None;
            }
            seen_for = true;
            ip = parse_node(value);
        } else if name.eq_ignore_ascii_case("proto") {
            if proto.is_some() {
                return None;
            }
            proto = Some(parse_scheme(value)?);
        } else if name.is_empty() || !name.bytes().all(is_token_byte) {
            return None;
        }
    }
    Some(Hop { ip, proto })
}

/// A token, or a quoted-string without escapes (none of the values we read
/// need them).
fn unquote(value: &str) -> Option<&str> {
    if let Some(inner) = value.strip_prefix('"') {
        let inner = inner.strip_suffix('"')?;
        return (!inner.contains(['"', '\\'])).then_some(inner);
    }
    (!value.is_empty() && value.bytes().all(|b| is_token_byte(b) || b == b'[' || b == b']' || b == b':'))
        .then_some(value)
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 7239 §6 node: `192.0.2.43`, `192.0.2.43:47011`, `[2001:db8::17]`,
/// `[2001:db8::17]:4711`. `unknown` and obfuscated (`_hidden`) names give
/// `None`: no address to believe.
fn parse_node(node: &str) -> Option<IpAddr> {
    if node.starts_with('_') || node.eq_ignore_ascii_case("unknown") {
        return None;
    }
    if let Some(rest) = node.strip_prefix('[') {
        let (addr, after) = rest.split_once(']')?;
        let port_ok = after.is_empty() || after.strip_prefix(':').is_some_and(is_node_port);
        return port_ok.then(|| addr.parse::<std::net::Ipv6Addr>().ok().map(|ip| IpAddr::V6(ip).to_canonical()))?;
    }
    let (addr, port) = match node.split_once(':') {
        Some((addr, port)) => (addr, Some(port)),
        None => (node, None),
    };
    if !port.is_none_or(is_node_port) {
        return None;
    }
    addr.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

fn is_node_port(port: &str) -> bool {
    match port.strip_prefix('_') {
        Some(obfuscated) => {
            !obfuscated.is_empty()
                && obfuscated.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
        }
        None => port.parse::<u16>().is_ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers
                .append(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn x_forwarded_for_accepts_every_address_form() {
        for (text, want) in [
            ("203.0.113.7", "203.0.113.7"),
            ("203.0.113.7:4711", "203.0.113.7"),
            ("2001:db8::1", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("[2001:db8::1]:443", "2001:db8::1"),
            ("::ffff:198.51.100.1", "198.51.100.1"),
        ] {
            assert_eq!(parse_address(text), ip(want), "{text}");
        }
        for bad in ["", "unknown", "1.2.3", "1.2.3.4.5", "[1.2.3.4]", "example.com", "1.2.3.4:99999", "[::1"] {
            assert_eq!(parse_address(bad), None, "{bad}");
        }
    }

    #[test]
    fn x_forwarded_hops_are_right_to_left_with_aligned_protos() {
        let headers = map(&[("x-forwarded-for", "198.51.100.9, 10.0.0.2"), ("x-forwarded-proto", "https, http")]);
        let hops = x_forwarded(&headers);
        assert_eq!(hops[0], Hop { ip: ip("10.0.0.2"), proto: Some(RequestScheme::Http) });
        assert_eq!(hops[1], Hop { ip: ip("198.51.100.9"), proto: Some(RequestScheme::Https) });
        // Several header lines count as one list, in order.
        let split = map(&[("x-forwarded-for", "198.51.100.9"), ("x-forwarded-for", "10.0.0.2")]);
        assert_eq!(x_forwarded(&split).iter().map(|h| h.ip).collect::<Vec<_>>(), [ip("10.0.0.2"), ip("198.51.100.9")]);
    }

    #[test]
    fn a_single_proto_applies_to_every_hop() {
        let headers = map(&[("x-forwarded-for", "198.51.100.9, 10.0.0.2"), ("x-forwarded-proto", "https")]);
        assert!(x_forwarded(&headers).iter().all(|h| h.proto == Some(RequestScheme::Https)));
        assert_eq!(lone_proto(&headers), Some(RequestScheme::Https));
        assert_eq!(lone_proto(&map(&[("x-forwarded-proto", "https, http")])), None);
        assert_eq!(lone_proto(&map(&[("x-forwarded-proto", "gopher")])), None);
    }

    #[test]
    fn parsing_stops_at_the_first_bad_entry_from_the_right() {
        let headers = map(&[("x-forwarded-for", "1.1.1.1, garbage, 10.0.0.2")]);
        let hops = x_forwarded(&headers);
        assert_eq!(hops.len(), 2);
        assert_eq!(hops[1].ip, None);
    }

    #[test]
    fn forwarded_with_quoted_ipv6_ports_and_case() {
        let headers = map(&[(
            "forwarded",
            "for=192.0.2.60;proto=http;by=203.0.113.43, For=\"[2001:db8:cafe::17]:4711\";PROTO=https",
        )]);
        let hops = forwarded(&headers);
        assert_eq!(hops[0], Hop { ip: ip("2001:db8:cafe::17"), proto: Some(RequestScheme::Https) });
        assert_eq!(hops[1], Hop { ip: ip("192.0.2.60"), proto: Some(RequestScheme::Http) });
        let v4_port = map(&[("forwarded", "for=\"192.0.2.43:47011\"")]);
        assert_eq!(forwarded(&v4_port)[0].ip, ip("192.0.2.43"));
    }

    #[test]
    fn forwarded_malformed_elements_end_the_walk() {
        for bad in [
            "for=unknown",
            "for=_hidden",
            "for=\"[2001:db8::1\"",
            "for=192.0.2.1;for=192.0.2.2",
            "for=\"192.0.2.1",
            "for=192.0.2.1;proto=gopher",
            "for",
            "for=\"a\\\"b\"",
            "for=[2001:db8::1]:99999",
            "for=\"x, for=10.0.0.1\"",
        ] {
            let hops = forwarded(&map(&[("forwarded", bad)]));
            assert_eq!(hops.last().map(|h| h.ip), Some(None), "{bad}: {hops:?}");
        }
    }

    #[test]
    fn oversized_headers_are_read_only_from_the_right() {
        let padding = "9.9.9.9, ".repeat(1200); // ~10 KB
        let headers = map(&[("x-forwarded-for", &format!("{padding}203.0.113.5"))]);
        let hops = x_forwarded(&headers);
        assert_eq!(hops[0].ip, ip("203.0.113.5"));
        assert!(hops.len() <= MAX_HOPS);
        let long_entry = map(&[("x-forwarded-for", &"1".repeat(10_000))]);
        assert_eq!(x_forwarded(&long_entry), [Hop { ip: None, proto: None }]);
    }

    #[test]
    fn non_ascii_header_values_are_not_read() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_bytes(b"1.2.3.4\xff").unwrap());
        assert_eq!(x_forwarded(&headers), [Hop { ip: None, proto: None }]);
    }
}
