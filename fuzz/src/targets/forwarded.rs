//! `X-Forwarded-For` / `X-Forwarded-Proto` and `Forwarded` (RFC 7239),
//! through `TrustedProxyLayer::resolve`, as a request from a proxy reaches it.
//!
//! Properties: never panics; with no trusted proxy the client is the peer,
//! whatever the headers say (a spoofed header moves nothing); trusting every
//! address, the client is the peer or an address written in the headers.

use crate::input::{text, Input};
use http::Request;
use palisade::client::{ForwardingHeader, TrustedProxyLayer};
use std::net::IpAddr;

pub fn run(data: &[u8]) {
    let mut input = Input::new(data);
    let options = input.byte();
    let peer: IpAddr =
        if options & 1 == 0 { IpAddr::from(input.array::<4>()) } else { IpAddr::from(input.array::<16>()) };
    let mut request = Request::builder();
    let mut written = String::new();
    // Several header lines, split at NUL; names chosen by a byte.
    for piece in input.rest().split(|&b| b == 0) {
        let (selector, value) = piece.split_first().map_or((0, &[][..]), |(s, v)| (*s, v));
        let name = match selector % 4 {
            0 => "x-forwarded-for",
            1 => "x-forwarded-proto",
            2 => "forwarded",
            _ => "x-real-ip",
        };
        if let Ok(value) = http::HeaderValue::from_bytes(value) {
            written.push_str(&text(value.as_bytes()));
            written.push(' ');
            request = request.header(name, value);
        }
    }
    let Ok(request) = request.body(()) else { return };
    let header = if options & 2 == 0 { ForwardingHeader::XForwardedFor } else { ForwardingHeader::Forwarded };

    let untrusting = TrustedProxyLayer::no_proxies().reading(header);
    let (client, _) = untrusting.resolve(Some(peer), &request);
    // A dual-stack socket reports an IPv4 client as `::ffff:a.b.c.d`; the
    // library gives it as `a.b.c.d` (found by this target: the same client).
    let peer = peer.to_canonical();
    assert_eq!(client, Some(peer), "no proxy is trusted, yet the client moved");

    // Two halves of each family: the library refuses a literal /0.
    let all = TrustedProxyLayer::trusting(["0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1"])
        .expect("valid ranges")
        .reading(header);
    let (client, _scheme) = all.resolve(Some(peer), &request);
    if let Some(client) = client {
        assert!(client == peer || mentions(&written, client), "{client} is neither the peer nor written: {written:?}");
    }
    let _ = all.resolve(None, &request);
}

/// Whether `text` holds an address that parses to `ip`.
fn mentions(text: &str, ip: IpAddr) -> bool {
    text.split(|c: char| !(c.is_ascii_hexdigit() || c == '.' || c == ':'))
        .flat_map(|word| {
            // `1.2.3.4:80` and `[::1]:80` forms: try the word and its prefixes before a colon.
            let mut forms = vec![word];
            forms.extend(word.rsplit_once(':').map(|(head, _)| head));
            forms
        })
        .filter_map(|form| form.parse::<IpAddr>().ok())
        .any(|parsed| parsed == ip || parsed.to_canonical() == ip)
}
