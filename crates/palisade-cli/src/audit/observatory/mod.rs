//! Grading as the MDN HTTP Observatory (algorithm version 4) grades: the
//! same ten tests, the same result names and score modifiers, the same
//! extra-credit rule and grade bands, so `palisade audit` and the
//! Observatory never disagree about a site. Written from its documented
//! behaviour and checked against the real package on a corpus of local
//! sites (tests/audit_observatory.rs).

mod cookies;
mod csp;
mod headers;
mod html;
mod redirection;
mod sri;

use super::fetch::Snapshot;
use serde::Serialize;

pub use cookies::is_session_name;
pub use csp::CspData;
pub use html::Page;

/// One test's outcome.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestResult {
    #[serde(skip)]
    pub name: &'static str,
    pub expectation: &'static str,
    pub pass: bool,
    pub result: &'static str,
    pub score_modifier: i32,
}

/// The grade of a scan.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Grade {
    pub grade: &'static str,
    pub score: i32,
    pub tests_passed: usize,
    pub tests_failed: usize,
    #[serde(skip)]
    pub tests: Vec<TestResult>,
}

/// Every result name and its score modifier.
const SCORE_TABLE: &[(&str, i32)] = &[
    ("csp-implemented-with-no-unsafe-default-src-none", 10),
    ("csp-implemented-with-no-unsafe", 5),
    ("csp-implemented-with-unsafe-inline-in-style-src-only", 0),
    ("csp-implemented-but-duplicate-directives", 0),
    ("csp-implemented-with-insecure-scheme-in-passive-content-only", -10),
    ("csp-implemented-with-unsafe-eval", -10),
    ("csp-implemented-with-unsafe-inline", -20),
    ("csp-implemented-with-insecure-scheme", -20),
    ("csp-header-invalid", -25),
    ("csp-not-implemented", -25),
    ("csp-not-implemented-but-reporting-enabled", -25),
    ("cookies-secure-with-httponly-sessions-and-samesite", 5),
    ("cookies-secure-with-httponly-sessions", 0),
    ("cookies-not-found", 0),
    ("cookies-without-secure-flag-but-protected-by-hsts", -5),
    ("cookies-session-without-secure-flag-but-protected-by-hsts", -10),
    ("cookies-without-secure-flag", -20),
    ("cookies-samesite-flag-invalid", -20),
    ("cookies-anticsrf-without-samesite-flag", -20),
    ("cookies-session-without-httponly-flag", -30),
    ("cookies-session-without-secure-flag", -40),
    ("cross-origin-resource-sharing-not-implemented", 0),
    ("cross-origin-resource-sharing-implemented-with-public-access", 0),
    ("cross-origin-resource-sharing-implemented-with-restricted-access", 0),
    ("cross-origin-resource-sharing-implemented-with-universal-access", -50),
    ("redirection-all-redirects-preloaded", 0),
    ("redirection-to-https", 0),
    ("redirection-not-needed-no-http", 0),
    ("redirection-off-host-from-http", -5),
    ("redirection-not-to-https-on-initial-redirection", -10),
    ("redirection-not-to-https", -20),
    ("redirection-missing", -20),
    ("redirection-invalid-cert", -20),
    ("referrer-policy-private", 5),
    ("referrer-policy-not-implemented", 0),
    ("referrer-policy-unsafe", -5),
    ("referrer-policy-header-invalid", -5),
    ("hsts-preloaded", 5),
    ("hsts-implemented-max-age-at-least-six-months", 0),
    ("hsts-implemented-max-age-less-than-six-months", -10),
    ("hsts-not-implemented", -20),
    ("hsts-header-invalid", -20),
    ("hsts-not-implemented-no-https", -20),
    ("hsts-invalid-cert", -20),
    ("sri-implemented-and-all-scripts-loaded-securely", 5),
    ("sri-implemented-and-external-scripts-loaded-securely", 5),
    ("sri-not-implemented-response-not-html", 0),
    ("sri-not-implemented-but-no-scripts-loaded", 0),
    ("sri-not-implemented-but-all-scripts-loaded-from-secure-origin", 0),
    ("sri-not-implemented-but-external-scripts-loaded-securely", -5),
    ("sri-implemented-but-external-scripts-not-loaded-securely", -20),
    ("sri-not-implemented-and-external-scripts-not-loaded-securely", -50),
    ("html-not-parseable", -20),
    ("x-content-type-options-nosniff", 0),
    ("x-content-type-options-not-implemented", -5),
    ("x-content-type-options-header-invalid", -5),
    ("x-frame-options-implemented-via-csp", 5),
    ("x-frame-options-sameorigin-or-deny", 0),
    ("x-frame-options-allow-from-origin", 0),
    ("x-frame-options-not-implemented", -20),
    ("x-frame-options-header-invalid", -20),
    ("corp-implemented-with-same-site", 10),
    ("corp-implemented-with-same-origin", 10),
    ("corp-implemented-with-cross-origin", 0),
    ("corp-not-implemented", 0),
    ("corp-header-invalid", -5),
];

fn modifier(result: &str) -> i32 {
    SCORE_TABLE.iter().find(|(name, _)| *name == result).map_or(0, |(_, m)| *m)
}

fn test(name: &'static str, expectation: &'static str, result: &'static str, passes: &[&str]) -> TestResult {
    TestResult { name, expectation, pass: passes.contains(&result), result, score_modifier: modifier(result) }
}

/// Runs the ten tests on `snapshot` and grades it.
pub fn grade(snapshot: &Snapshot) -> Grade {
    let chosen = snapshot.chosen().expect("a scan that reached grading has a response");
    let page = Page::read(chosen);
    let csp = csp::evaluate(chosen, &page, snapshot.chosen_is_https());
    let hsts = headers::hsts(snapshot.https.as_ref());
    let tests = vec![
        csp.result.clone(),
        cookies::evaluate(chosen, hsts.pass),
        headers::cors(snapshot.cors.as_ref()),
        redirection::evaluate(snapshot.http.as_ref()),
        headers::referrer(&chosen.headers, &page),
        hsts,
        sri::evaluate(&page, &snapshot.host, snapshot.chosen_is_https()),
        headers::x_content_type_options(&chosen.headers),
        headers::x_frame_options(&chosen.headers, csp.data.as_ref()),
        headers::corp(&chosen.headers),
    ];
    score(tests)
}

/// The Observatory's curve: bonuses count only while the penalties add up
/// to at most −10; the score is floored at 0 but not capped at 100.
fn score(tests: Vec<TestResult>) -> Grade {
    let all: i32 = tests.iter().map(|t| t.score_modifier).sum();
    let penalties: i32 = tests.iter().map(|t| t.score_modifier.min(0)).sum();
    let uncurved = 100 + penalties;
    let score = if uncurved >= 90 { 100 + all } else { uncurved }.max(0);
    let passed = tests.iter().filter(|t| t.pass).count();
    Grade { grade: letter(score), score, tests_passed: passed, tests_failed: tests.len() - passed, tests }
}

fn letter(score: i32) -> &'static str {
    match (score - score % 5).min(100) {
        100.. => "A+",
        90..=99 => "A",
        85..=89 => "A-",
        80..=84 => "B+",
        70..=79 => "B",
        65..=69 => "B-",
        60..=64 => "C+",
        50..=59 => "C",
        45..=49 => "C-",
        40..=44 => "D+",
        30..=39 => "D",
        25..=29 => "D-",
        _ => "F",
    }
}

/// `onlyIfWorse`: `new` replaces `old` when it comes later in `order`
/// (best to worst), or when `old` is not in it.
fn only_if_worse(new: &'static str, old: Option<&'static str>, order: &[&str]) -> Option<&'static str> {
    let Some(old) = old else { return Some(new) };
    let rank = |r: &str| order.iter().position(|o| *o == r);
    match (rank(new), rank(old)) {
        (_, None) => Some(new),
        (Some(n), Some(o)) if n > o => Some(new),
        _ => Some(old),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(modifier: i32) -> TestResult {
        TestResult { name: "t", expectation: "e", pass: modifier >= 0, result: "r", score_modifier: modifier }
    }

    #[test]
    fn the_curve_and_the_bands() {
        assert_eq!(score(vec![result(10), result(5), result(5), result(5), result(10)]).score, 135);
        assert_eq!(score(vec![result(10), result(5), result(5), result(5), result(10)]).grade, "A+");
        assert_eq!(score(vec![result(-10), result(5)]).score, 95, "a −10 still gets the bonus");
        assert_eq!(score(vec![result(-15), result(5)]).score, 85, "beyond −10 no bonus");
        assert_eq!(score(vec![result(-40), result(-25), result(-20), result(-20), result(5)]).score, 0);
        assert_eq!(letter(65), "B-");
        assert_eq!(letter(24), "F");
    }
}
