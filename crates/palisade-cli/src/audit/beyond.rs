//! The checks the Observatory does not make: what its grade misses about
//! cookies (prefixes, lifetimes, `Domain`, size, clear-text sessions,
//! caching, signed data anyone can read), CORS that trusts hostile
//! origins, integrity values that no longer match, mixed content, version
//! banners, a redirect that leaves the host, and CSP Evaluator's findings
//! on the policy. Each finding says what to change ([`super::fixes`]).

use super::fetch::{Session, Snapshot};
use super::fixes::{self, Fix};
use super::jar::StoredCookie;
use super::observatory::{is_session_name, Page};
use super::probe::Probes;
use crate::csp_analysis::{self, BypassLists, Severity as CspSeverity};
use serde::Serialize;
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    High,
    Medium,
    Low,
    Info,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::High => "high",
            Level::Medium => "medium",
            Level::Low => "low",
            Level::Info => "info",
        }
    }
}

/// One thing to change.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// Stable name, for `--fail-on` (`cookie-readable-signed`, `csp-script-unsafe-inline`, …).
    pub id: String,
    pub level: Level,
    /// The cookie, header, URL or CSP source it is about.
    pub subject: String,
    /// What is wrong, and what an attacker does with it.
    pub message: String,
    pub fix: Fix,
    /// What a readable cookie reveals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

fn finding(id: &str, level: Level, subject: impl Into<String>, message: impl Into<String>) -> Finding {
    Finding {
        id: id.to_owned(),
        level,
        subject: subject.into(),
        message: message.into(),
        fix: fixes::for_id(id),
        data: None,
    }
}

/// Browsers ignore a `Set-Cookie` larger than this (name and value; RFC 6265bis).
const COOKIE_LIMIT: usize = 4096;
/// Longer than a working day for a cookie that logs someone in.
const SESSION_LIFETIME_LIMIT: i64 = 24 * 3600;

pub fn check(snapshot: &Snapshot, page: &Page, probes: &Probes, lists: Option<&BypassLists>) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(chosen) = snapshot.chosen() else { return out };
    cookies(snapshot, chosen, &mut out);
    cors(probes, &mut out);
    integrity(page, probes, &mut out);
    mixed_content(chosen, page, &mut out);
    banners(chosen, &mut out);
    redirect_host(snapshot, &mut out);
    csp(chosen, page, lists, &mut out);
    out.sort_by_key(|f| f.level);
    out
}

fn cookies(snapshot: &Snapshot, chosen: &Session, out: &mut Vec<Finding>) {
    for cookie in chosen.jar.cookies() {
        cookie_attributes(cookie, out);
        if let Ok(decoded) = crate::decode::decode(&cookie.value) {
            let mut f = finding(
                "cookie-readable-signed",
                if is_session_name(&cookie.name) { Level::Medium } else { Level::Low },
                &cookie.name,
                format!(
                    "{}: signed, not encrypted; anyone who sees the cookie (the visitor, a proxy log, an XSS \
                     payload) reads the data shown. `palisade decode` shows it in full.",
                    decoded.kind.describe()
                ),
            );
            f.data = Some(decoded.data.clone());
            out.push(f);
        }
    }
    // Every response along both chains, plain HTTP included.
    let hops = [&snapshot.http, &snapshot.https].into_iter().flatten().flat_map(|s| &s.route);
    for hop in hops {
        for set_cookie in &hop.set_cookies {
            let name = set_cookie.split('=').next().unwrap_or("").trim().to_owned();
            if set_cookie.len() > COOKIE_LIMIT {
                out.push(finding(
                    "cookie-too-large",
                    Level::Medium,
                    &name,
                    format!(
                        "Set-Cookie from {} is {} bytes: browsers drop cookies over {COOKIE_LIMIT} bytes, so the \
                         session silently does not stick",
                        hop.url,
                        set_cookie.len()
                    ),
                ));
            }
            if hop.url.scheme() == "http" && is_session_name(&name) {
                out.push(finding(
                    "cookie-session-over-http",
                    Level::High,
                    &name,
                    format!(
                        "{} sets a session cookie over plain HTTP: anyone on the network reads it and logs in \
                         as the visitor (even when it is marked Secure, the response itself was readable)",
                        hop.url
                    ),
                ));
            }
            let cache = hop.cache_control.as_deref().unwrap_or("").to_ascii_lowercase();
            let private = ["no-store", "private", "no-cache"].iter().any(|d| cache.contains(d));
            if !private && !name.is_empty() && !out.iter().any(|f| f.id == "cookie-cacheable" && f.subject == name) {
                out.push(finding(
                    "cookie-cacheable",
                    Level::Low,
                    &name,
                    format!(
                        "{} sets a cookie without Cache-Control: private or no-store{}: a shared cache (CDN, \
                         proxy) may store the response and hand this visitor's cookie to the next",
                        hop.url,
                        if hop.vary.as_deref().unwrap_or("").to_ascii_lowercase().contains("cookie") {
                            ""
                        } else {
                            " (and without Vary: Cookie)"
                        }
                    ),
                ));
            }
        }
    }
}

fn cookie_attributes(cookie: &StoredCookie, out: &mut Vec<Finding>) {
    let session = is_session_name(&cookie.name);
    let prefixed = cookie.name.starts_with("__Host-") || cookie.name.starts_with("__Secure-");
    if session && !prefixed {
        let qualifies = cookie.secure && cookie.host_only && cookie.path == "/";
        out.push(finding(
            "cookie-without-host-prefix",
            Level::Low,
            &cookie.name,
            if qualifies {
                "a session cookie without the __Host- prefix: a subdomain or a plain-HTTP page (a network \
                 attacker) can plant one of the same name and fix the visitor's session; with the prefix the \
                 browser only accepts it Secure, host-only and for /"
                    .to_owned()
            } else {
                "a session cookie without the __Host- prefix (it would also need Secure, no Domain and Path=/): \
                 a subdomain or a network attacker can overwrite it (session fixation)"
                    .to_owned()
            },
        ));
    }
    if let Some(age) = cookie.max_age.filter(|age| session && *age > SESSION_LIFETIME_LIMIT) {
        out.push(finding(
            "cookie-session-long-lived",
            Level::Medium,
            &cookie.name,
            format!(
                "a session cookie kept for {} days: a stolen or shared computer stays logged in that long; keep \
                 the session short and give long logins their own revocable remember-me token",
                age / 86400
            ),
        ));
    }
    if !cookie.host_only {
        out.push(finding(
            "cookie-domain-scope",
            if session { Level::Medium } else { Level::Low },
            &cookie.name,
            format!(
                "Domain={} sends the cookie to every subdomain: one compromised or user-controlled subdomain \
                 reads it (and can overwrite it)",
                cookie.domain
            ),
        ));
    }
}

fn cors(probes: &Probes, out: &mut Vec<Finding>) {
    for answer in &probes.cors {
        let reflected = answer.allow_origin.as_deref() == Some(answer.origin.as_str());
        if !reflected {
            continue;
        }
        let (level, what) = if answer.allow_credentials {
            (Level::High, "with Access-Control-Allow-Credentials: true: that page reads this site's responses as the signed-in visitor")
        } else {
            (Level::Medium, "without credentials: it reads what the site serves to anyone (and intranet-only content)")
        };
        out.push(finding(
            "cors-reflects-origin",
            level,
            format!("Origin: {}", answer.origin),
            format!("the site answers Access-Control-Allow-Origin: {} to {}, {what}", answer.origin, answer.trick),
        ));
    }
}

fn integrity(page: &Page, probes: &Probes, out: &mut Vec<Finding>) {
    for sheet in page.stylesheets.iter().filter(|s| s.integrity.is_none()) {
        let Some(src) = &sheet.src else { continue };
        if src.starts_with("http://") || src.starts_with("https://") || src.starts_with("//") {
            out.push(finding(
                "sri-stylesheet-without-integrity",
                Level::Low,
                src,
                "a stylesheet from another host without integrity: whoever controls that host restyles the page \
                 (fake login forms, CSS that leaks attribute values)",
            ));
        }
    }
    for check in &probes.integrity {
        match &check.matches {
            Ok(true) => {}
            Ok(false) => out.push(finding(
                "sri-integrity-mismatch",
                Level::High,
                &check.url,
                format!(
                    "integrity=\"{}\" does not match the file served now: browsers refuse to run it (the page is \
                     broken), or the file was changed",
                    check.integrity
                ),
            )),
            Err(why) => out.push(finding(
                "sri-integrity-unchecked",
                Level::Info,
                &check.url,
                format!("could not fetch it to check its integrity value: {why}"),
            )),
        }
    }
}

fn mixed_content(chosen: &Session, page: &Page, out: &mut Vec<Finding>) {
    if chosen.final_url().scheme() != "https" {
        return;
    }
    for (element, url) in &page.references {
        if url.len() >= 7 && url[..7].eq_ignore_ascii_case("http://") {
            let active = matches!(element.as_str(), "script" | "link" | "iframe" | "embed" | "object" | "form");
            out.push(finding(
                "mixed-content",
                if active { Level::High } else { Level::Low },
                url,
                format!(
                    "<{element}> on an HTTPS page loads (or posts to) plain HTTP: a network attacker {}",
                    if active { "replaces it with their own code, or reads the form" } else { "sees or swaps it" }
                ),
            ));
        }
    }
}

fn banners(chosen: &Session, out: &mut Vec<Finding>) {
    for header in ["server", "x-powered-by", "x-aspnet-version", "x-aspnetmvc-version"] {
        let Some(value) = chosen.headers.get(header) else { continue };
        if value.chars().any(|c| c.is_ascii_digit()) || header != "server" {
            out.push(finding(
                "version-banner",
                Level::Info,
                format!("{header}: {value}"),
                "the response names its software and version: scanners pick sites with known vulnerable versions",
            ));
        }
    }
}

fn redirect_host(snapshot: &Snapshot, out: &mut Vec<Finding>) {
    let Some(http) = &snapshot.http else { return };
    let (Some(first), Some(second)) = (http.route.first(), http.route.get(1)) else { return };
    if second.url.scheme() == "https" && second.url.host_str() != first.url.host_str() {
        out.push(finding(
            "redirect-leaves-host",
            Level::Medium,
            format!("{} -> {}", first.url, second.url),
            "the plain-HTTP page redirects straight to another host: this host never gets to set HSTS, so every \
             first visit stays open to an SSL-stripping attacker; redirect to https on the same host first",
        ));
    }
}

fn csp(chosen: &Session, page: &Page, lists: Option<&BypassLists>, out: &mut Vec<Finding>) {
    let header = chosen.headers.get("content-security-policy");
    let policies = header.into_iter().flat_map(|h| h.split(',')).chain(page.meta_csp.iter().map(String::as_str));
    for policy in policies.map(str::trim).filter(|p| !p.is_empty()) {
        match csp_analysis::evaluate(policy, lists) {
            Err(err) => out.push(finding("csp-unparsable-source", Level::Low, &err.value, err.to_string())),
            Ok(findings) => {
                for f in findings.into_iter().filter(|f| f.severity != CspSeverity::None) {
                    let level = match f.severity {
                        CspSeverity::High => Level::High,
                        CspSeverity::Medium => Level::Medium,
                        CspSeverity::Syntax | CspSeverity::MediumMaybe => Level::Low,
                        _ => Level::Info,
                    };
                    let id = format!("csp-{}", f.kind.as_str().to_ascii_lowercase().replace('_', "-"));
                    let subject = match &f.value {
                        Some(value) => format!("{} {value}", f.directive),
                        None => f.directive.clone(),
                    };
                    out.push(finding(&id, level, subject, f.description));
                }
            }
        }
    }
}
