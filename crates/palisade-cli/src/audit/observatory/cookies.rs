//! The Observatory's `cookies` test: every cookie the graded session's
//! jar kept along its redirect chain; the worst finding over all of them.

use super::{only_if_worse, test, TestResult};
use crate::audit::fetch::Session;

const NAME: &str = "cookies";
const EXPECTATION: &str = "cookies-secure-with-httponly-sessions";
const PASSES: &[&str] = &[
    "cookies-not-found",
    "cookies-secure-with-httponly-sessions",
    "cookies-secure-with-httponly-sessions-and-samesite",
];
/// Best to worst, as the Observatory ranks them (not by modifier).
const ORDER: &[&str] = &[
    "cookies-without-secure-flag-but-protected-by-hsts",
    "cookies-without-secure-flag",
    "cookies-session-without-secure-flag-but-protected-by-hsts",
    "cookies-samesite-flag-invalid",
    "cookies-anticsrf-without-samesite-flag",
    "cookies-session-without-httponly-flag",
    "cookies-session-without-secure-flag",
];

/// A cookie whose name says it holds a session or a login.
pub fn is_session_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.contains("login") || name.contains("sess")
}

/// `hsts`: the HSTS test passed (at least six months).
pub fn evaluate(session: &Session, hsts: bool) -> TestResult {
    let cookies = session.jar.cookies();
    if cookies.is_empty() {
        return test(NAME, EXPECTATION, "cookies-not-found", PASSES);
    }
    // A `SameSite` attribute on the final response that is not
    // Lax/Strict/None (the jar then ignores it).
    let mut result = session
        .headers
        .set_cookies
        .iter()
        .any(|header| {
            header.split(';').any(|piece| {
                let mut parts = piece.trim().split('=');
                let key = parts.next().unwrap_or("").trim().to_ascii_lowercase();
                let value = parts.next().map(|v| v.trim().to_ascii_lowercase());
                key == "samesite" && !matches!(value.as_deref(), Some("lax" | "strict" | "none"))
            })
        })
        .then_some("cookies-samesite-flag-invalid");
    let mut missing_same_site = false;
    for cookie in cookies {
        let session_like = is_session_name(&cookie.name);
        let csrf = cookie.name.to_ascii_lowercase().contains("csrf");
        if !cookie.secure && cookie.same_site == Some("none") {
            result = only_if_worse("cookies-samesite-flag-invalid", result, ORDER);
        }
        if !cookie.secure {
            let finding =
                if hsts { "cookies-without-secure-flag-but-protected-by-hsts" } else { "cookies-without-secure-flag" };
            result = only_if_worse(finding, result, ORDER);
        }
        if csrf && cookie.same_site.is_none() {
            result = only_if_worse("cookies-anticsrf-without-samesite-flag", result, ORDER);
        }
        if session_like && !cookie.secure {
            let finding = if hsts {
                "cookies-session-without-secure-flag-but-protected-by-hsts"
            } else {
                "cookies-session-without-secure-flag"
            };
            result = only_if_worse(finding, result, ORDER);
        }
        if session_like && !cookie.http_only {
            result = only_if_worse("cookies-session-without-httponly-flag", result, ORDER);
        }
        missing_same_site |= cookie.same_site.is_none();
    }
    let result = result.unwrap_or(if missing_same_site {
        "cookies-secure-with-httponly-sessions"
    } else {
        "cookies-secure-with-httponly-sessions-and-samesite"
    });
    test(NAME, EXPECTATION, result, PASSES)
}
