//! The Observatory's one-header tests: CORS (from the preflight),
//! Referrer-Policy, HSTS, X-Content-Type-Options, X-Frame-Options and
//! Cross-Origin-Resource-Policy.

use super::{test, CspData, Page, TestResult};
use crate::audit::fetch::{Headers, Session};

/// The first `n` characters, trimmed and lower-cased, as the Observatory reads values.
fn value(headers: &Headers, name: &str, n: usize) -> Option<String> {
    headers.get(name).map(|v| v.chars().take(n).collect::<String>().trim().to_lowercase())
}

/// [`value`], with an empty header counted as none (these two tests ask
/// `if (header)`, and an empty string is false).
fn value_if_set(headers: &Headers, name: &str, n: usize) -> Option<String> {
    headers.get(name).filter(|v| !v.is_empty()).and(value(headers, name, n))
}

pub fn cors(preflight: Option<&Headers>) -> TestResult {
    const NAME: &str = "cross-origin-resource-sharing";
    const EXPECTATION: &str = "cross-origin-resource-sharing-not-implemented";
    const PASSES: &[&str] = &[
        "cross-origin-resource-sharing-not-implemented",
        "cross-origin-resource-sharing-implemented-with-public-access",
        "cross-origin-resource-sharing-implemented-with-restricted-access",
    ];
    let allowed = preflight.and_then(|h| value(h, "access-control-allow-origin", 256)).filter(|v| !v.is_empty());
    let result = match allowed.as_deref() {
        None => "cross-origin-resource-sharing-not-implemented",
        Some("*") => "cross-origin-resource-sharing-implemented-with-public-access",
        // The Observatory would call an echo of its Origin with credentials
        // "universal access", but reads the Origin from a field that is
        // never set, so it never does: agree with it here, and report the
        // reflection among the findings beyond it.
        Some(_) => "cross-origin-resource-sharing-implemented-with-restricted-access",
    };
    test(NAME, EXPECTATION, result, PASSES)
}

pub fn referrer(headers: &Headers, page: &Page) -> TestResult {
    const NAME: &str = "referrer-policy";
    const EXPECTATION: &str = "referrer-policy-private";
    const PASSES: &[&str] = &["referrer-policy-private", "referrer-policy-not-implemented"];
    let mut values: Vec<&str> = headers.get("referrer-policy").into_iter().collect();
    values.extend(page.meta_referrer.as_deref());
    if values.is_empty() {
        return test(NAME, EXPECTATION, "referrer-policy-not-implemented", PASSES);
    }
    const PRIVATE: &[&str] = &["no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"];
    const UNSAFE: &[&str] = &["origin", "origin-when-cross-origin", "unsafe-url", "no-referrer-when-downgrade"];
    let joined = values.join(", ");
    let last_valid = joined
        .split(',')
        .map(|t| t.trim().to_lowercase())
        .rfind(|t| PRIVATE.contains(&t.as_str()) || UNSAFE.contains(&t.as_str()));
    let result = match last_valid {
        Some(t) if PRIVATE.contains(&t.as_str()) => "referrer-policy-private",
        Some(_) => "referrer-policy-unsafe",
        None => "referrer-policy-header-invalid",
    };
    test(NAME, EXPECTATION, result, PASSES)
}

/// Six months, the Observatory's floor for `max-age`.
const SIX_MONTHS: i64 = 15_552_000;

/// JavaScript's `parseInt(text, 10)`: leading digits after optional
/// whitespace and sign; `None` for NaN.
fn parse_int(text: &str) -> Option<i64> {
    let text = text.trim_start();
    let (sign, digits) = match text.as_bytes().first() {
        Some(b'-') => (-1, &text[1..]),
        Some(b'+') => (1, &text[1..]),
        _ => (1, text),
    };
    let end = digits.bytes().position(|b| !b.is_ascii_digit()).unwrap_or(digits.len());
    if end == 0 {
        return None;
    }
    Some(sign * digits[..end].parse::<i64>().unwrap_or(i64::MAX))
}

pub fn hsts(https: Option<&Session>) -> TestResult {
    const NAME: &str = "strict-transport-security";
    const EXPECTATION: &str = "hsts-implemented-max-age-at-least-six-months";
    const PASSES: &[&str] = &["hsts-implemented-max-age-at-least-six-months", "hsts-preloaded"];
    let result = match https {
        None => "hsts-not-implemented-no-https",
        Some(session) if !session.verified => "hsts-invalid-cert",
        Some(session) => match session.headers.get("strict-transport-security") {
            None => "hsts-not-implemented",
            Some(raw) => {
                let raw: String = raw.chars().take(1024).collect();
                let mut max_age: Option<Option<i64>> = None;
                for part in raw.split(';').map(|p| p.trim().to_lowercase()) {
                    if let Some(rest) = part.strip_prefix("max-age=") {
                        max_age = Some(parse_int(rest));
                    }
                }
                match max_age {
                    _ if raw.contains(',') => "hsts-header-invalid",
                    None => "hsts-header-invalid",
                    // NaN compares false with everything: the Observatory passes it.
                    Some(Some(age)) if age < SIX_MONTHS => "hsts-implemented-max-age-less-than-six-months",
                    Some(_) => "hsts-implemented-max-age-at-least-six-months",
                }
            }
        },
    };
    test(NAME, EXPECTATION, result, PASSES)
}

pub fn x_content_type_options(headers: &Headers) -> TestResult {
    const PASSES: &[&str] = &["x-content-type-options-nosniff"];
    let result = match value_if_set(headers, "x-content-type-options", 256).as_deref() {
        None => "x-content-type-options-not-implemented",
        Some("nosniff") => "x-content-type-options-nosniff",
        Some(_) => "x-content-type-options-header-invalid",
    };
    test("x-content-type-options", "x-content-type-options-nosniff", result, PASSES)
}

pub fn x_frame_options(headers: &Headers, csp: Option<&CspData>) -> TestResult {
    const PASSES: &[&str] = &[
        "x-frame-options-sameorigin-or-deny",
        "x-frame-options-allow-from-origin",
        "x-frame-options-implemented-via-csp",
    ];
    let result = if csp.is_some_and(|data| data.contains_key("frame-ancestors")) {
        "x-frame-options-implemented-via-csp"
    } else {
        match value_if_set(headers, "x-frame-options", 1024).as_deref() {
            None => "x-frame-options-not-implemented",
            Some("deny" | "sameorigin") => "x-frame-options-sameorigin-or-deny",
            Some(v) if v.starts_with("allow-from") => "x-frame-options-allow-from-origin",
            Some(_) => "x-frame-options-header-invalid",
        }
    };
    test("x-frame-options", "x-frame-options-sameorigin-or-deny", result, PASSES)
}

pub fn corp(headers: &Headers) -> TestResult {
    const PASSES: &[&str] = &[
        "corp-not-implemented",
        "corp-implemented-with-same-site",
        "corp-implemented-with-same-origin",
        "corp-implemented-with-cross-origin",
    ];
    let result = match value(headers, "cross-origin-resource-policy", 256).as_deref() {
        None | Some("") => "corp-not-implemented",
        Some("same-site") => "corp-implemented-with-same-site",
        Some("same-origin") => "corp-implemented-with-same-origin",
        Some("cross-origin") => "corp-implemented-with-cross-origin",
        Some(_) => "corp-header-invalid",
    };
    test("cross-origin-resource-policy", "corp-implemented-with-same-site", result, PASSES)
}

#[cfg(test)]
mod tests {
    use super::parse_int;

    #[test]
    fn parse_int_is_javascripts() {
        assert_eq!(parse_int("31536000"), Some(31_536_000));
        assert_eq!(parse_int("31536000junk"), Some(31_536_000));
        assert_eq!(parse_int("-5"), Some(-5));
        assert_eq!(parse_int("abc"), None);
        assert_eq!(parse_int(""), None);
        assert_eq!(parse_int("\"31536000\""), None);
    }
}
