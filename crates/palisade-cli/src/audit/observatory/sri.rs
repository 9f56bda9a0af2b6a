//! The Observatory's `subresource-integrity` test: every `<script src>`
//! of an HTML page, judged by where it comes from, over which scheme, and
//! whether it carries `integrity`.

use super::{only_if_worse, test, Page, TestResult};

const PASSES: &[&str] = &[
    "sri-implemented-and-all-scripts-loaded-securely",
    "sri-implemented-and-external-scripts-loaded-securely",
    "sri-not-implemented-response-not-html",
    "sri-not-implemented-but-no-scripts-loaded",
    "sri-not-implemented-but-all-scripts-loaded-from-secure-origin",
];
/// Best to worst.
const ORDER: &[&str] = &[
    "sri-implemented-and-all-scripts-loaded-securely",
    "sri-implemented-and-external-scripts-loaded-securely",
    "sri-implemented-but-external-scripts-not-loaded-securely",
    "sri-not-implemented-but-external-scripts-loaded-securely",
    "sri-not-implemented-and-external-scripts-not-loaded-securely",
    "sri-not-implemented-response-not-html",
];

/// The registrable domain as the Observatory's tldts computes it: by the
/// ICANN part of the public suffix list (private suffixes such as
/// `github.io` do not count), with an unlisted top-level label as a
/// suffix of its own (`intranet.test`); `None` for IP addresses and
/// single labels, which then all count as one site.
fn registrable(host: &str) -> Option<String> {
    let host = host.split(':').next().unwrap_or(host).trim_matches(['[', ']']).to_ascii_lowercase();
    if host.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    let mut probe = host.clone();
    let suffix = loop {
        let suffix = psl::suffix(probe.as_bytes())?;
        let text = std::str::from_utf8(suffix.as_bytes()).ok()?.to_owned();
        match (suffix.typ(), text.split_once('.')) {
            (Some(psl::Type::Private), Some((_, shorter))) => probe = shorter.to_owned(),
            _ => break text,
        }
    };
    let rest = host.strip_suffix(&suffix)?.strip_suffix('.')?;
    let label = rest.rsplit('.').next().filter(|l| !l.is_empty())?;
    Some(format!("{label}.{suffix}"))
}

pub fn evaluate(page: &Page, target: &str, https: bool) -> TestResult {
    let done =
        |result| test("subresource-integrity", "sri-implemented-and-external-scripts-loaded-securely", result, PASSES);
    if !page.is_html {
        return done("sri-not-implemented-response-not-html");
    }
    let target_domain = registrable(target);
    let mut result: Option<&'static str> = None;
    let mut foreign_seen = false;
    for script in &page.scripts {
        let Some(src) = script.src.as_deref() else { continue };
        let lower = src.to_ascii_lowercase();
        // `^//[^/]`: `//` alone is a relative URL.
        let protocol_relative = lower.starts_with("//") && lower[2..].chars().next().is_some_and(|c| c != '/');
        let full = lower.starts_with("http://") || lower.starts_with("https://");
        let relative_origin = !protocol_relative && !full;
        let same_site = if full {
            let host = reqwest::Url::parse(src).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
            registrable(&host) == target_domain
        } else {
            true
        };
        let secure_origin = relative_origin || (same_site && !protocol_relative);
        let secure_scheme = (full && lower.starts_with("https://")) || (relative_origin && https);
        let integrity = script.integrity.is_some();
        if !secure_origin {
            foreign_seen = true;
            let finding = match (integrity, secure_scheme) {
                (true, false) => Some("sri-implemented-but-external-scripts-not-loaded-securely"),
                (false, true) => Some("sri-not-implemented-but-external-scripts-loaded-securely"),
                (false, false) => Some("sri-not-implemented-and-external-scripts-not-loaded-securely"),
                (true, true) => None,
            };
            if let Some(finding) = finding {
                result = only_if_worse(finding, result, ORDER);
            }
        } else if integrity && secure_scheme && result.is_none() {
            result = Some("sri-implemented-and-all-scripts-loaded-securely");
        }
    }
    if page.scripts.is_empty() {
        return done("sri-not-implemented-but-no-scripts-loaded");
    }
    done(result.unwrap_or(if foreign_seen {
        "sri-implemented-and-external-scripts-loaded-securely"
    } else {
        "sri-not-implemented-but-all-scripts-loaded-from-secure-origin"
    }))
}
