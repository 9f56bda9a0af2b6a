//! The encodings signed cookies are made of: base64 in its two alphabets,
//! bounded zlib, itsdangerous and Django timestamps.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use std::io::Read;

/// The most a compressed payload may inflate to: the library's bound for
/// Flask sessions, for every format. A cookie is at most 4 KiB; a zlib
/// bomb of that size could otherwise inflate to megabytes.
pub const MAX_INFLATED: u64 = palisade::flask::MAX_INFLATED as u64;

/// base64url without padding (itsdangerous, Django, JWT), or the standard
/// alphabet with padding (Starlette's payload), whichever `text` is in.
pub fn base64_any(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok().or_else(|| STANDARD.decode(text).ok())
}

/// zlib-inflates `data`, failing rather than growing past [`MAX_INFLATED`].
pub fn inflate(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut reader = flate2::read::ZlibDecoder::new(data).take(MAX_INFLATED + 1);
    reader.read_to_end(&mut out).ok()?;
    (out.len() as u64 <= MAX_INFLATED).then_some(out)
}

/// An itsdangerous timestamp: base64url of a big-endian integer of
/// seconds since the Unix epoch (leading zero bytes dropped).
pub fn itsdangerous_timestamp(text: &str) -> Option<u64> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    if bytes.is_empty() || bytes.len() > 8 {
        return None;
    }
    Some(bytes.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b)))
}

/// Django's base62 timestamp (`0-9A-Za-z`, most significant first).
pub fn base62_timestamp(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 11 {
        return None;
    }
    text.bytes().try_fold(0u64, |n, b| {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'A'..=b'Z' => b - b'A' + 10,
            b'a'..=b'z' => b - b'a' + 36,
            _ => return None,
        };
        n.checked_mul(62)?.checked_add(u64::from(digit))
    })
}

/// `true` for a plausible signature: base64url, of the length of an
/// HMAC-SHA1 (27), HMAC-SHA256 (43) or HMAC-SHA512 (86) digest.
pub fn is_signature(text: &str) -> bool {
    matches!(text.len(), 27 | 43 | 86) && URL_SAFE_NO_PAD.decode(text).is_ok()
}

/// `seconds` since the epoch as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn utc(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let rem = seconds % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem / 60 % 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_decode() {
        // 1_700_000_000 = 0x6553F100.
        assert_eq!(itsdangerous_timestamp("ZVPxAA"), Some(1_700_000_000));
        assert_eq!(base62_timestamp("10"), Some(62));
        assert_eq!(base62_timestamp("zZ"), Some(61 * 62 + 35));
        assert_eq!(base62_timestamp("a-b"), None);
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
    }

    #[test]
    fn a_zlib_bomb_is_refused_not_inflated() {
        use std::io::Write;
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&vec![b'a'; 10 * 1024 * 1024]).unwrap();
        let bomb = encoder.finish().unwrap();
        assert!(bomb.len() < 16 * 1024, "{}", bomb.len());
        assert_eq!(inflate(&bomb), None);
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(b"{\"a\":1}").unwrap();
        assert_eq!(inflate(&encoder.finish().unwrap()).as_deref(), Some(&b"{\"a\":1}"[..]));
    }
}
