//! JavaScript's string rules, where the tools this command must agree with
//! (the Observatory, CSP Evaluator; both Node.js) depend on them: what
//! `\s` and `trim()` call whitespace, `decodeURIComponent`, string length
//! in UTF-16 units, and `Intl.Collator("en")` order.

use std::cmp::Ordering;

/// JavaScript's `\s` (and what `trim()` removes).
pub fn is_whitespace(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}' | '\u{feff}'
    )
}

pub fn trim(text: &str) -> &str {
    text.trim_matches(is_whitespace)
}

/// `text.trim().split(/\s+/)`: an empty string gives one empty token.
pub fn split_whitespace(text: &str) -> Vec<&str> {
    let trimmed = trim(text);
    if trimmed.is_empty() {
        return vec![""];
    }
    trimmed.split(is_whitespace).filter(|t| !t.is_empty()).collect()
}

/// `.length`.
pub fn len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// `decodeURIComponent`: `%XX` escapes decoded, `Err` (a `URIError`)
/// when one is malformed or the bytes are not UTF-8.
pub fn decode_uri_component(text: &str) -> Result<String, ()> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(())?;
            let hex = std::str::from_utf8(hex).map_err(|_| ())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| ())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ())
}

/// Primary weights of ASCII in the CLDR root collation that ICU's "en"
/// uses (alternate = non-ignorable): whitespace, then punctuation and
/// symbols in CLDR's order, then digits, then letters (case is a
/// later-level difference).
const ASCII_ORDER: &str = "\t\n\u{b}\u{c}\r _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789abcdefghijklmnopqrstuvwxyz";

fn weight(c: char) -> u32 {
    let lower = c.to_ascii_lowercase();
    match ASCII_ORDER.find(lower) {
        Some(at) if lower.is_ascii() => at as u32,
        // Beyond ASCII: after it, by code point (the sources compared are
        // lower-cased ASCII in practice).
        _ => 0x100 + c as u32,
    }
}

/// `Intl.Collator("en").compare`, for the ASCII the Observatory sorts:
/// primary weights first, then (for equal ones) case, lower first.
pub fn collate_en(a: &str, b: &str) -> Ordering {
    let primary = a.chars().map(weight).cmp(b.chars().map(weight));
    primary.then_with(|| {
        let case = |s: &str| s.chars().map(|c| c.is_ascii_uppercase()).collect::<Vec<_>>();
        case(a).cmp(&case(b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn javascript_string_rules() {
        assert_eq!(split_whitespace(" a\u{a0}b\u{feff}c "), ["a", "b", "c"]);
        assert_eq!(split_whitespace("  "), [""]);
        assert_eq!(split_whitespace("a\u{85}b"), ["a\u{85}b"], "U+0085 is not JavaScript whitespace");
        assert_eq!(len("😀"), 2);
        assert_eq!(decode_uri_component("a%20b%C3%A9").unwrap(), "a bé");
        assert!(decode_uri_component("%zz").is_err());
        assert!(decode_uri_component("%C3").is_err(), "not UTF-8");
        assert!(decode_uri_component("%4").is_err());
    }

    #[test]
    fn the_english_collation_puts_punctuation_before_digits_before_letters() {
        let mut sources = vec!["https:", "'self'", "http", "*.a.com", "data:", "http:", "1.2.3.4", "_x", "-y"];
        sources.sort_by(|a, b| collate_en(a, b));
        assert_eq!(sources, ["_x", "-y", "'self'", "*.a.com", "1.2.3.4", "data:", "http", "http:", "https:"]);
    }
}
