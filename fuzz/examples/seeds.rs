//! Writes the seed corpus (`fuzz/corpus/<target>/seed-*`): genuine values
//! made with the targets' fixed key ring, and the hostile shapes each
//! parser is known to face. Run once when a target is added:
//! `cargo run -p palisade-fuzz --example seeds`; the fuzzer's own finds are
//! added beside them with `scripts/fuzz --keep`.

use palisade::cookie::CookieCodec;
use palisade::fuzz_internals::DoubleSubmit;
use palisade::keys::Purpose;
use palisade_fuzz::targets::{key_ring, NOW};
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let ring = key_ring();
    let mut seeds: Vec<(&str, Vec<u8>)> = Vec::new();

    for (selector, purpose, encrypted, payload) in [
        (0u8, Purpose::SessionSigning, false, &[7u8; 32][..]),
        (1, Purpose::SessionEncryption, true, br#"{"user":"42","visits":3}"#),
        (2, Purpose::RememberMe, true, &[9u8; 64][..]),
        (3, Purpose::CookieSigning, false, b"theme=dark"),
        (4, Purpose::CookieEncryption, true, b""),
    ] {
        let name = ["__Host-session", "__Host-session", "__Host-remember", "app", "app"][usize::from(selector)];
        let codec = if encrypted { CookieCodec::encrypted(ring, purpose) } else { CookieCodec::signed(ring, purpose) };
        let value = codec.encode(name, payload, NOW).expect("encodes");
        seeds.push(("cookie_codec", [&[selector, 17][..], value.as_bytes()].concat()));
    }
    seeds.push(("cookie_codec", b"\x00\x00AAAA".to_vec()));

    for header in [
        &b"__Host-session=abc; theme=dark"[..],
        b"a=1; __Host-session=\"quoted\"; __Host-session=second; __Host-session=third; __Host-session=fourth",
        b"__Host-csrf=x\x00csrf=y; =empty-name; novalue; __Host-remember=",
    ] {
        seeds.push(("cookie_header", header.to_vec()));
    }

    let check = DoubleSubmit::new(ring, Some([3; 32]));
    let minted = check.mint();
    seeds.push((
        "csrf_double_submit",
        [&[3u8; 32][..], &[minted.len() as u8], minted.as_bytes(), minted.as_bytes()].concat(),
    ));
    seeds.push(("csrf_double_submit", [&[0u8; 32][..], &[4], b"AAAA", b"AAAA=="].concat()));
    seeds.push(("csrf_double_submit", vec![]));

    for (selector, boundary, body) in [
        (0u8, &b""[..], &b"a=1&csrf_token=abc%2D_&csrf_token=second"[..]),
        (1, b"XyZ", b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\ntok\r\n--XyZ--\r\n"),
        (
            2,
            b"a b",
            b"--a b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\n\x00\xff\r\n--a b--",
        ),
        (3, b"text/plain", b"csrf_token=t"),
    ] {
        seeds.push(("csrf_form", [&[selector, boundary.len() as u8][..], boundary, body].concat()));
    }

    for (options, target) in [
        (0u8, &b"/account?tab=1#top"[..]),
        (1, b"https://cdn.example/x"),
        (2, b"view/page?x=1"),
        (5, b"//cdn.example/x"),
        (0, b"/\\evil.example"),
        (1, b"https://cdn.example@evil.example/"),
        (0, b"/%2F%2Fevil.example"),
        (0, b"\t/\t/evil.example"),
    ] {
        seeds.push(("redirect_policy", [&[options][..], target].concat()));
    }

    for (options, peer, headers) in [
        (0u8, &[10u8, 0, 0, 1][..], &b"\x00203.0.113.7, 10.0.0.2\x00\x01https"[..]),
        (2, &[10, 0, 0, 1], b"\x02for=198.51.100.17;proto=https, for=\"[2001:db8::1]:4711\""),
        (1, &[0u8; 16], b"\x00unknown, ::ffff:192.0.2.1, 1.2.3.4:80\x00\x03 9.9.9.9"),
    ] {
        seeds.push(("forwarded", [&[options][..], peer, headers].concat()));
    }

    for (whole, text) in [
        (0u8, &b"'self'"[..]),
        (0, b"https://cdn.example.com/js/"),
        (0, b"'sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC'"),
        (0, b"*.example.com:8443"),
        (0, b"https:"),
        (1, b"default-src 'none'; script-src 'self' 'nonce-x'; style-src 'self'; report-uri /csp"),
        (1, b"script-src a, b; ;;; object-src"),
    ] {
        seeds.push(("csp_source", [&[whole][..], text].concat()));
    }

    for ua in [
        &b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"[..],
        b"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        b"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:140.0) Gecko/20100101 Firefox/140.0",
        b"curl/8.5.0",
        b"Chrome/99999999999999999999 Firefox/ \x01\x02",
    ] {
        seeds.push(("user_agent", ua.to_vec()));
    }

    for (i, len) in [0usize, 1, 64, 300].into_iter().enumerate() {
        let mut data = vec![i as u8; 32 + 24 + 2];
        data.push(5);
        data.extend_from_slice(b"aad!!");
        data.extend((0..len).map(|n| n as u8));
        seeds.push(("xchacha", data));
    }

    let mut counts = std::collections::BTreeMap::new();
    for (target, data) in seeds {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).expect("corpus directory");
        let n = counts.entry(target).or_insert(0);
        *n += 1;
        std::fs::write(dir.join(format!("seed-{n:02}")), data).expect("seed written");
    }
    for (target, n) in counts {
        println!("{target}: {n} seeds");
    }
}
