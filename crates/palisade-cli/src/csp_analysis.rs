//! A policy's weaknesses, found with the checks of Google's CSP Evaluator
//! (npm `csp_evaluator`, its default CSP3 evaluation): the same finding
//! types, severities, directives and values, so a policy that passes
//! there passes here. Written from a specification of its behaviour
//! (tests/csp_evaluator/SPEC.md) and compared with the real package on a
//! corpus of policies (tests/csp_evaluator.rs).
//!
//! Differences, on purpose:
//! - An `IGNORED` finding is reported once, not once per script directive
//!   that falls back to the same list.
//! - `constructor` and `__proto__` are reported as unknown directives
//!   (the evaluator's object lookup loses them).
//! - A source no URL parser accepts (`https://`, a port over 65535) is an
//!   [`Unparsable`] error naming it, where the evaluator throws.
//! - The JSONP / AngularJS / Flash host lists are the evaluator's data,
//!   not ours: give them with `--bypass-lists FILE`; without them a host
//!   in `script-src` gets the "make sure it serves no JSONP" finding.

use serde::{Deserialize, Serialize};

/// How bad a finding is, the evaluator's scale (lower is worse).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    High,
    Syntax,
    Medium,
    MediumMaybe,
    Info,
    None,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::High => "HIGH",
            Severity::Syntax => "SYNTAX",
            Severity::Medium => "MEDIUM",
            Severity::MediumMaybe => "MEDIUM_MAYBE",
            Severity::Info => "INFO",
            Severity::None => "NONE",
        }
    }
}

/// The evaluator's finding types that its default checks produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Kind {
    MissingSemicolon,
    UnknownDirective,
    InvalidKeyword,
    NonceCharset,
    MissingDirectives,
    ScriptUnsafeInline,
    ScriptUnsafeEval,
    PlainUrlSchemes,
    PlainWildcard,
    ScriptAllowlistBypass,
    ObjectAllowlistBypass,
    NonceLength,
    IpSource,
    DeprecatedDirective,
    SrcHttp,
    ScriptUnsafeHashes,
    Ignored,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::MissingSemicolon => "MISSING_SEMICOLON",
            Kind::UnknownDirective => "UNKNOWN_DIRECTIVE",
            Kind::InvalidKeyword => "INVALID_KEYWORD",
            Kind::NonceCharset => "NONCE_CHARSET",
            Kind::MissingDirectives => "MISSING_DIRECTIVES",
            Kind::ScriptUnsafeInline => "SCRIPT_UNSAFE_INLINE",
            Kind::ScriptUnsafeEval => "SCRIPT_UNSAFE_EVAL",
            Kind::PlainUrlSchemes => "PLAIN_URL_SCHEMES",
            Kind::PlainWildcard => "PLAIN_WILDCARD",
            Kind::ScriptAllowlistBypass => "SCRIPT_ALLOWLIST_BYPASS",
            Kind::ObjectAllowlistBypass => "OBJECT_ALLOWLIST_BYPASS",
            Kind::NonceLength => "NONCE_LENGTH",
            Kind::IpSource => "IP_SOURCE",
            Kind::DeprecatedDirective => "DEPRECATED_DIRECTIVE",
            Kind::SrcHttp => "SRC_HTTP",
            Kind::ScriptUnsafeHashes => "SCRIPT_UNSAFE_HASHES",
            Kind::Ignored => "IGNORED",
        }
    }
}

/// One weakness of a policy.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    #[serde(rename = "type")]
    pub kind: Kind,
    pub severity: Severity,
    pub directive: String,
    /// The source expression it is about (`None` for a whole directive).
    pub value: Option<String>,
    pub description: String,
}

/// A source expression no URL parser accepts (the evaluator throws).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("the source {value:?} in {directive} is not a valid host source (browsers ignore it)")]
pub struct Unparsable {
    pub directive: String,
    pub value: String,
}

/// Hosts known to serve JSONP endpoints, AngularJS or Flash files that
/// let an attacker run script through an allowlisted host. The lists are
/// the evaluator's data and are not shipped: `--bypass-lists FILE` reads
/// them (`{"jsonp": ["//host/path", …], "angular": […], "flash": […],
/// "jsonp_needs_eval": ["host", …]}`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct BypassLists {
    #[serde(default)]
    pub jsonp: Vec<String>,
    #[serde(default)]
    pub angular: Vec<String>,
    #[serde(default)]
    pub flash: Vec<String>,
    /// JSONP hosts that only help an attacker when `'unsafe-eval'` is allowed.
    #[serde(default)]
    pub jsonp_needs_eval: Vec<String>,
}

const KEYWORDS: &[&str] = &[
    "'self'",
    "'none'",
    "'unsafe-inline'",
    "'unsafe-eval'",
    "'wasm-eval'",
    "'wasm-unsafe-eval'",
    "'strict-dynamic'",
    "'unsafe-hashed-attributes'",
    "'unsafe-hashes'",
    "'report-sample'",
    "'block'",
    "'allow'",
    "'inline-speculation-rules'",
];

/// The directives the evaluator knows.
const DIRECTIVES: &[&str] = &[
    "child-src",
    "connect-src",
    "default-src",
    "font-src",
    "frame-src",
    "img-src",
    "media-src",
    "object-src",
    "script-src",
    "script-src-attr",
    "script-src-elem",
    "style-src",
    "style-src-attr",
    "style-src-elem",
    "prefetch-src",
    "manifest-src",
    "worker-src",
    "base-uri",
    "plugin-types",
    "sandbox",
    "disown-opener",
    "form-action",
    "frame-ancestors",
    "navigate-to",
    "report-to",
    "report-uri",
    "block-all-mixed-content",
    "upgrade-insecure-requests",
    "reflected-xss",
    "referrer",
    "require-sri-for",
    "trusted-types",
    "require-trusted-types-for",
    "webrtc",
];

/// Directives that fall back to `default-src`.
const FETCH_DIRECTIVES: &[&str] = &[
    "child-src",
    "connect-src",
    "default-src",
    "font-src",
    "frame-src",
    "img-src",
    "manifest-src",
    "media-src",
    "object-src",
    "script-src",
    "script-src-attr",
    "script-src-elem",
    "style-src",
    "style-src-attr",
    "style-src-elem",
    "worker-src",
];

const SCRIPT_DIRECTIVES: [&str; 3] = ["script-src", "script-src-attr", "script-src-elem"];

/// Stands in for `*` while a source is parsed as a URL.
const PLACEHOLDER: &str = "wildcardplaceholder";

/// JavaScript's `\s`: what separates tokens in a policy.
fn is_separator(c: char) -> bool {
    crate::js::is_whitespace(c)
}

/// `https:`, `data:`: a scheme source.
fn is_scheme_source(value: &str) -> bool {
    let Some(scheme) = value.strip_suffix(':') else { return false };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
}

/// `[A-Za-z0-9+/_-]+` and at most two `=`.
fn is_base64ish(text: &str) -> bool {
    let core = text.trim_end_matches('=');
    text.len() - core.len() <= 2
        && !core.is_empty()
        && core.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'_' | b'-'))
}

fn is_valid_nonce(value: &str) -> bool {
    value.strip_prefix("'nonce-").and_then(|v| v.strip_suffix('\'')).is_some_and(is_base64ish)
}

fn is_valid_hash(value: &str) -> bool {
    ["'sha256-", "'sha384-", "'sha512-"]
        .iter()
        .any(|p| value.strip_prefix(p).and_then(|v| v.strip_suffix('\'')).is_some_and(is_base64ish))
}

/// `'nonce-…'` with anything inside (the length and charset checks).
fn nonce_body(value: &str) -> Option<&str> {
    value.strip_prefix("'nonce-").and_then(|v| v.strip_suffix('\'')).filter(|v| !v.is_empty())
}

/// The source without a leading `scheme://` or `//`.
fn scheme_free(value: &str) -> &str {
    let mut rest = value;
    if let Some(at) = value.find("://") {
        let scheme = &value[..at];
        let mut chars = scheme.chars();
        if chars.next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '.' | '-'))
        {
            rest = &value[at + 3..];
        }
    }
    rest.strip_prefix("//").unwrap_or(rest)
}

/// The source read as a URL: `*` stood in for, `:*` dropped.
fn source_url(value: &str) -> Option<reqwest::Url> {
    let text = scheme_free(value).replacen(":*", "", 1).replacen('*', PLACEHOLDER, 1);
    reqwest::Url::parse(&format!("https://{text}")).ok()
}

/// The parsed policy: directives in order (the first of a repeated one
/// wins), values normalised and without repeats.
#[derive(Clone, Debug, Default)]
struct Policy {
    directives: Vec<(String, Vec<String>)>,
}

impl Policy {
    fn parse(text: &str) -> Self {
        let mut policy = Policy::default();
        for piece in text.split(';') {
            let mut tokens = piece.split(is_separator).filter(|t| !t.is_empty());
            let Some(name) = tokens.next() else { continue };
            let name = name.to_lowercase();
            if policy.has(&name) {
                continue;
            }
            let mut values: Vec<String> = Vec::new();
            for token in tokens {
                let lower = token.to_lowercase();
                let value = if KEYWORDS.contains(&lower.as_str()) || is_scheme_source(token) {
                    lower
                } else {
                    token.to_owned()
                };
                if !values.contains(&value) {
                    values.push(value);
                }
            }
            policy.directives.push((name, values));
        }
        policy
    }

    fn has(&self, name: &str) -> bool {
        self.directives.iter().any(|(n, _)| n == name)
    }

    fn values(&self, name: &str) -> &[String] {
        self.directives.iter().find(|(n, _)| n == name).map_or(&[], |(_, v)| v.as_slice())
    }

    fn contains(&self, name: &str, value: &str) -> bool {
        self.values(name).iter().any(|v| v == value)
    }

    /// The directive that governs `name` (its fallback when absent).
    fn effective<'a>(&self, name: &'a str) -> &'a str {
        if self.has(name) {
            return name;
        }
        match name {
            "script-src-attr" | "script-src-elem" if self.has("script-src") => "script-src",
            "style-src-attr" | "style-src-elem" if self.has("style-src") => "style-src",
            _ if FETCH_DIRECTIVES.contains(&name) => "default-src",
            _ => name,
        }
    }

    fn effective_all<'a>(&self, names: &[&'a str]) -> Vec<&'a str> {
        let mut out: Vec<&str> = Vec::new();
        for name in names {
            let e = self.effective(name);
            if !out.contains(&e) {
                out.push(e);
            }
        }
        out
    }

    fn remove(&mut self, name: &str, value: &str) {
        if let Some((_, values)) = self.directives.iter_mut().find(|(n, _)| n == name) {
            values.retain(|v| v != value);
        }
    }
}

struct Findings(Vec<Finding>);

impl Findings {
    fn add(&mut self, kind: Kind, severity: Severity, directive: &str, value: Option<&str>, description: String) {
        let finding =
            Finding { kind, severity, directive: directive.to_owned(), value: value.map(str::to_owned), description };
        if !self.0.contains(&finding) {
            self.0.push(finding);
        }
    }
}

/// Evaluates `policy` (one policy: a header's value, or a `<meta>` one).
pub fn evaluate(policy: &str, lists: Option<&BypassLists>) -> Result<Vec<Finding>, Unparsable> {
    let original = Policy::parse(policy);
    let mut findings = Findings(Vec::new());
    let effective = effective_policy(&original, &mut findings);
    let p = &effective;
    unsafe_inline_and_eval(p, &mut findings);
    plain_schemes_and_wildcards(p, &mut findings);
    missing_directives(p, &mut findings);
    script_allowlist(p, lists, &mut findings)?;
    object_allowlist(p, lists, &mut findings)?;
    ip_sources(p, &mut findings)?;
    nonces(p, &mut findings);
    plain_http(p, &mut findings);
    deprecated(p, &mut findings);
    syntax(p, &mut findings);
    Ok(findings.0)
}

/// What a CSP3 browser enforces: `'unsafe-inline'` does nothing next to a
/// nonce or hash, and `'strict-dynamic'` turns off the allowlist.
fn effective_policy(original: &Policy, findings: &mut Findings) -> Policy {
    let mut effective = original.clone();
    for name in SCRIPT_DIRECTIVES {
        let e = original.effective(name);
        if !original.has(e) {
            continue;
        }
        let has_nonce_or_hash = effective.values(e).iter().any(|v| is_valid_nonce(v) || is_valid_hash(v));
        if has_nonce_or_hash && original.contains(e, "'unsafe-inline'") {
            effective.remove(e, "'unsafe-inline'");
            findings.add(
                Kind::Ignored,
                Severity::None,
                e,
                Some("'unsafe-inline'"),
                "'unsafe-inline' does nothing in browsers that know nonces and hashes (it stays for old ones)".into(),
            );
        }
        if original.contains(e, "'strict-dynamic'") {
            for value in original.values(e) {
                if !value.starts_with('\'') || value == "'self'" || value == "'unsafe-inline'" {
                    effective.remove(e, value);
                    findings.add(
                        Kind::Ignored,
                        Severity::None,
                        e,
                        Some(value),
                        "ignored next to 'strict-dynamic' (only a fallback for browsers without CSP3)".into(),
                    );
                }
            }
        }
    }
    effective
}

fn unsafe_inline_and_eval(p: &Policy, findings: &mut Findings) {
    let directives = p.effective_all(&SCRIPT_DIRECTIVES);
    for e in &directives {
        if p.contains(e, "'unsafe-inline'") {
            findings.add(
                Kind::ScriptUnsafeInline,
                Severity::High,
                e,
                Some("'unsafe-inline'"),
                "'unsafe-inline' lets injected <script> blocks and onclick= handlers run: the policy stops no XSS. \
                 Use a nonce (and 'strict-dynamic') instead"
                    .into(),
            );
        }
        if p.contains(e, "'unsafe-hashes'") {
            findings.add(
                Kind::ScriptUnsafeHashes,
                Severity::MediumMaybe,
                e,
                Some("'unsafe-hashes'"),
                "'unsafe-hashes' lets event-handler attributes whose hash is listed run; move them to script files"
                    .into(),
            );
        }
    }
    for e in &directives {
        if p.contains(e, "'unsafe-eval'") {
            findings.add(
                Kind::ScriptUnsafeEval,
                Severity::MediumMaybe,
                e,
                Some("'unsafe-eval'"),
                "'unsafe-eval' lets eval(), new Function() and string timers run code an attacker put in the DOM"
                    .into(),
            );
        }
    }
}

fn plain_schemes_and_wildcards(p: &Policy, findings: &mut Findings) {
    let directives = p.effective_all(&["script-src", "script-src-attr", "script-src-elem", "object-src", "base-uri"]);
    for e in &directives {
        for value in p.values(e) {
            if matches!(value.as_str(), "data:" | "http:" | "https:") {
                findings.add(
                    Kind::PlainUrlSchemes,
                    Severity::High,
                    e,
                    Some(value),
                    format!(
                        "{value} in {e} allows script from anywhere (any site on {value}): name hosts, or use a nonce"
                    ),
                );
            }
        }
    }
    for e in &directives {
        for value in p.values(e) {
            if scheme_free(value) == "*" {
                findings.add(
                    Kind::PlainWildcard,
                    Severity::High,
                    e,
                    Some(value),
                    format!("{e} allows '*': content from any host"),
                );
            }
        }
    }
}

fn missing_directives(p: &Policy, findings: &mut Findings) {
    let objects = if p.has("object-src") { p.values("object-src") } else { p.values("default-src") };
    if objects.is_empty() {
        findings.add(
            Kind::MissingDirectives,
            Severity::High,
            "object-src",
            None,
            "no object-src: plugins (<object>, <embed>) can be injected and run script; set object-src 'none'".into(),
        );
    }
    if !p.has("script-src") && !p.has("default-src") {
        findings.add(
            Kind::MissingDirectives,
            Severity::High,
            "script-src",
            None,
            "no script-src (nor default-src): the policy does not restrict scripts at all".into(),
        );
    }
    let script = p.values(p.effective("script-src"));
    let nonce = script.iter().any(|v| is_valid_nonce(v));
    let hash_dynamic = script.iter().any(|v| is_valid_hash(v)) && script.iter().any(|v| v == "'strict-dynamic'");
    if !p.has("base-uri") && (nonce || hash_dynamic) {
        findings.add(
            Kind::MissingDirectives,
            Severity::High,
            "base-uri",
            None,
            "no base-uri: an injected <base href> makes the page's nonced relative scripts load from the \
             attacker's host; set base-uri 'none' (or 'self')"
                .into(),
        );
    }
}

/// A source `value` matched against list entries `//host/path`: the
/// first matching entry's host. A `*.` host matches proper subdomains; a
/// path ending in `/` matches entries under it, another path only itself.
fn match_list(value: &str, list: &[String]) -> Option<String> {
    let url = source_url(value)?;
    let host = url.host_str()?;
    let path = url.path();
    let wildcard_parent = host.strip_prefix(PLACEHOLDER).and_then(|rest| rest.strip_prefix('.'));
    list.iter().find_map(|entry| {
        let entry_url = reqwest::Url::parse(&format!("https:{entry}")).ok()?;
        let entry_host = entry_url.host_str()?;
        let host_ok = match wildcard_parent {
            Some(parent) => entry_host.ends_with(&format!(".{parent}")),
            None => entry_host == host,
        };
        let entry_path = entry_url.path();
        let path_ok =
            path == "/" || if path.ends_with('/') { entry_path.starts_with(path) } else { entry_path == path };
        (host_ok && path_ok).then(|| entry_host.to_owned())
    })
}

/// Fails like the evaluator when a source is no valid host.
fn checked_url(directive: &str, value: &str) -> Result<reqwest::Url, Unparsable> {
    source_url(value)
        .filter(|u| u.host_str().is_some_and(|h| !h.is_empty()))
        .ok_or_else(|| Unparsable { directive: directive.to_owned(), value: value.to_owned() })
}

fn script_allowlist(p: &Policy, lists: Option<&BypassLists>, findings: &mut Findings) -> Result<(), Unparsable> {
    for e in p.effective_all(&["script-src", "script-src-elem"]) {
        if p.contains(e, "'none'") {
            continue;
        }
        for value in p.values(e) {
            if value == "'self'" {
                findings.add(
                    Kind::ScriptAllowlistBypass,
                    Severity::MediumMaybe,
                    e,
                    Some(value),
                    "'self' runs any script this site serves: JSONP endpoints, old AngularJS, user uploads".into(),
                );
                continue;
            }
            if value.starts_with('\'') || is_scheme_source(value) || !value.contains('.') {
                continue;
            }
            checked_url(e, value)?;
            let Some(lists) = lists else {
                findings.add(
                    Kind::ScriptAllowlistBypass,
                    Severity::MediumMaybe,
                    e,
                    Some(value),
                    "an allowlisted host: make sure it serves no JSONP or AngularJS (not checked: no --bypass-lists)"
                        .into(),
                );
                continue;
            };
            let angular = match_list(value, &lists.angular);
            let jsonp = match_list(value, &lists.jsonp)
                .filter(|host| !lists.jsonp_needs_eval.contains(host) || p.contains(e, "'unsafe-eval'"));
            match (angular, jsonp) {
                (None, None) => findings.add(
                    Kind::ScriptAllowlistBypass,
                    Severity::MediumMaybe,
                    e,
                    Some(value),
                    "no known bypass on this host; make sure it serves no JSONP or AngularJS".into(),
                ),
                (angular, jsonp) => {
                    let what = match (angular.is_some(), jsonp.is_some()) {
                        (true, true) => "JSONP endpoints and AngularJS",
                        (true, false) => "AngularJS",
                        _ => "JSONP endpoints",
                    };
                    let host = angular.or(jsonp).unwrap_or_default();
                    findings.add(
                        Kind::ScriptAllowlistBypass,
                        Severity::High,
                        e,
                        Some(value),
                        format!("{host} serves {what}: an attacker runs any script through it; use a nonce"),
                    );
                }
            }
        }
    }
    Ok(())
}

fn object_allowlist(p: &Policy, lists: Option<&BypassLists>, findings: &mut Findings) -> Result<(), Unparsable> {
    let e = p.effective("object-src");
    if p.has("plugin-types") && !p.contains("plugin-types", "application/x-shockwave-flash") {
        return Ok(());
    }
    if p.contains(e, "'none'") {
        return Ok(());
    }
    for value in p.values(e) {
        checked_url(e, value)?;
        let flash = lists.and_then(|l| match_list(value, &l.flash));
        match flash {
            Some(host) => findings.add(
                Kind::ObjectAllowlistBypass,
                Severity::High,
                e,
                Some(value),
                format!("{host} serves Flash files that run script on your page; set object-src 'none'"),
            ),
            None if e == "object-src" => findings.add(
                Kind::ObjectAllowlistBypass,
                Severity::MediumMaybe,
                e,
                Some(value),
                "plugins are allowed from here; object-src 'none' is almost always right".into(),
            ),
            None => {}
        }
    }
    Ok(())
}

fn ip_sources(p: &Policy, findings: &mut Findings) -> Result<(), Unparsable> {
    for (directive, values) in &p.directives {
        for value in values {
            let url = checked_url(directive, value)?;
            match url.host() {
                Some(url::Host::Ipv4(ip)) if ip == std::net::Ipv4Addr::LOCALHOST => findings.add(
                    Kind::IpSource,
                    Severity::Info,
                    directive,
                    Some(value),
                    format!("{directive} allows localhost: remove it in production"),
                ),
                Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => findings.add(
                    Kind::IpSource,
                    Severity::Info,
                    directive,
                    Some(value),
                    format!(
                        "{directive} names an IP address ({}); browsers match it only for pages loaded by that address",
                        url.host_str().unwrap_or_default()
                    ),
                ),
                _ => {}
            }
        }
    }
    Ok(())
}

fn nonces(p: &Policy, findings: &mut Findings) {
    for (directive, values) in &p.directives {
        for value in values {
            let Some(body) = nonce_body(value) else { continue };
            if body.encode_utf16().count() < 8 {
                findings.add(
                    Kind::NonceLength,
                    Severity::Medium,
                    directive,
                    Some(value),
                    "a nonce this short can be guessed: use at least 16 random bytes, new for every response".into(),
                );
            }
            if !is_valid_nonce(value) {
                findings.add(
                    Kind::NonceCharset,
                    Severity::Info,
                    directive,
                    Some(value),
                    "a nonce should be base64 (A-Z a-z 0-9 + / _ - and = padding)".into(),
                );
            }
        }
    }
}

fn plain_http(p: &Policy, findings: &mut Findings) {
    for (directive, values) in &p.directives {
        for value in values.iter().filter(|v| v.starts_with("http://")) {
            let description = if directive == "report-uri" {
                "violation reports sent over plain HTTP can be read and dropped on the way: use https://"
            } else {
                "content over plain HTTP can be replaced on the way: use https://"
            };
            findings.add(Kind::SrcHttp, Severity::Medium, directive, Some(value), description.into());
        }
    }
}

fn deprecated(p: &Policy, findings: &mut Findings) {
    let deprecated = [
        ("reflected-xss", "reflected-xss was dropped in CSP2; browsers ignore it"),
        ("referrer", "referrer was dropped in CSP2; send a Referrer-Policy header"),
        ("disown-opener", "disown-opener was dropped; send Cross-Origin-Opener-Policy: same-origin"),
        ("prefetch-src", "prefetch-src is deprecated in CSP3 and may stop working"),
    ];
    for (name, description) in deprecated {
        if p.has(name) {
            findings.add(Kind::DeprecatedDirective, Severity::Info, name, None, description.into());
        }
    }
}

fn syntax(p: &Policy, findings: &mut Findings) {
    for (directive, _) in &p.directives {
        if !DIRECTIVES.contains(&directive.as_str()) {
            let description = if directive.ends_with(':') {
                "directive names have no colon: browsers ignore this one".to_owned()
            } else {
                format!("{directive:?} is not a CSP directive: browsers ignore it")
            };
            findings.add(Kind::UnknownDirective, Severity::Syntax, directive, None, description);
        }
    }
    for (directive, values) in &p.directives {
        for value in values.iter().filter(|v| DIRECTIVES.contains(&v.as_str())) {
            findings.add(
                Kind::MissingSemicolon,
                Severity::Syntax,
                directive,
                Some(value),
                format!("{value:?} is a directive: a ';' is missing before it, so it counts as a host here"),
            );
        }
    }
    for (directive, values) in &p.directives {
        for value in values {
            let bare = KEYWORDS.iter().any(|k| k.trim_matches('\'') == value)
                || ["nonce-", "sha256-", "sha384-", "sha512-"].iter().any(|p| value.starts_with(p));
            let description = if bare {
                format!("{value} needs single quotes ('{value}'): without them it is a host name")
            } else if !value.starts_with('\'') {
                continue;
            } else {
                let valid = match directive.as_str() {
                    "require-trusted-types-for" => value == "'script'",
                    "trusted-types" => value == "'allow-duplicates'" || value == "'none'",
                    _ => KEYWORDS.contains(&value.as_str()) || is_valid_hash(value) || is_valid_nonce(value),
                };
                if valid {
                    continue;
                }
                format!("{value} is not a CSP keyword: browsers ignore it")
            };
            findings.add(Kind::InvalidKeyword, Severity::Syntax, directive, Some(value), description);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(policy: &str) -> Vec<(&'static str, String, Option<String>)> {
        let mut out: Vec<_> =
            evaluate(policy, None).unwrap().into_iter().map(|f| (f.kind.as_str(), f.directive, f.value)).collect();
        out.sort();
        out
    }

    #[test]
    fn palisades_default_policy_has_no_findings() {
        let policy = "default-src 'self'; script-src 'nonce-AAAAAAAAAAAAAAAAAAAAAA' 'strict-dynamic'; \
                      object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";
        assert!(kinds(policy).is_empty(), "{:?}", kinds(policy));
    }

    #[test]
    fn unsafe_inline_without_a_nonce_and_a_missing_object_src() {
        let found = kinds("script-src 'self' 'unsafe-inline'");
        assert!(found.contains(&("SCRIPT_UNSAFE_INLINE", "script-src".into(), Some("'unsafe-inline'".into()))));
        assert!(found.contains(&("MISSING_DIRECTIVES", "object-src".into(), None)));
        let nonced = kinds("script-src 'unsafe-inline' 'nonce-rAnd0m123'; object-src 'none'; base-uri 'none'");
        assert_eq!(nonced, [("IGNORED", "script-src".into(), Some("'unsafe-inline'".into()))]);
    }

    #[test]
    fn an_unparsable_source_is_an_error_and_keywords_are_normalised() {
        let err = evaluate("script-src https://; object-src 'none'", None).unwrap_err();
        assert_eq!(err.value, "https://");
        assert_eq!(kinds("Script-Src 'SELF'; object-src 'none'"), kinds("script-src 'self'; object-src 'none'"));
    }
}
