//! The Observatory's `content-security-policy` test: the policy from the
//! header and `<meta>` tags, parsed and merged its way, then judged in a
//! fixed order from worst to best.

use super::{test, Page, TestResult};
use crate::audit::fetch::Session;
use std::collections::BTreeMap;

/// Directive → sources, after the merge and the nonce / strict-dynamic edits.
pub type CspData = BTreeMap<String, Vec<String>>;

pub struct CspOutcome {
    pub result: TestResult,
    /// `None` when no policy was found or it did not parse.
    pub data: Option<CspData>,
}

const NAME: &str = "content-security-policy";
const EXPECTATION: &str = "csp-implemented-with-no-unsafe";
const PASSES: &[&str] = &[
    "csp-implemented-with-no-unsafe",
    "csp-implemented-with-no-unsafe-default-src-none",
    "csp-implemented-with-unsafe-inline-in-style-src-only",
    "csp-implemented-with-insecure-scheme-in-passive-content-only",
    "csp-implemented-but-duplicate-directives",
];
/// Sources that let any script (or plugin) in.
const BROAD: &[&str] = &["ftp:", "http:", "https:", "*", "http://*", "http://*.*", "https://*", "https://*.*"];
const UNSAFE: &[&str] = &["'unsafe-inline'", "data:"];

/// One policy's directives in order, with their sources.
type Directives = Vec<(String, Vec<String>)>;

struct Parsed {
    directives: CspData,
    duplicate_report: bool,
}

/// One policy string's directives, or `None` when the Observatory calls it
/// invalid (shorter than 6 characters, or a repeated directive other than
/// `report-uri` / `report-to`).
fn parse_one(text: &str) -> Option<(Directives, bool)> {
    let text: String = text.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    let text = text.trim();
    if text.chars().count() < 6 {
        return None;
    }
    let mut directives: Directives = Vec::new();
    let mut duplicate = false;
    for piece in text.split(';') {
        let mut tokens = piece.split_whitespace();
        let Some(name) = tokens.next() else { continue };
        let name = name.to_lowercase();
        let mut sources: Vec<String> = tokens.map(|t| t.trim().to_lowercase()).collect();
        if sources.is_empty() {
            sources.push("'none'".to_owned());
        }
        if let Some(existing) = directives.iter_mut().find(|(n, _)| *n == name) {
            if name == "report-uri" || name == "report-to" {
                duplicate = true;
                existing.1 = sources;
                continue;
            }
            return None;
        }
        directives.push((name, sources));
    }
    Some((directives, duplicate))
}

/// Sorted, and a source that starts with the one before it dropped
/// (`https://a.com/x` after `https://a.com`, a repeat after itself).
fn dedupe(mut sources: Vec<String>) -> Vec<String> {
    sources.sort();
    let mut out: Vec<String> = Vec::with_capacity(sources.len());
    for source in sources {
        if out.last().is_some_and(|prev| source.starts_with(prev.as_str())) {
            continue;
        }
        out.push(source);
    }
    out
}

/// Several policies (header values first, then metas) merged as the
/// Observatory merges them: a directive only in the first keeps its
/// sources, one in several keeps what they share, one only in a later
/// policy becomes `'none'`.
fn parse(policies: &[String]) -> Result<Parsed, ()> {
    let mut parsed = Vec::new();
    let mut duplicate_report = false;
    for text in policies {
        let (directives, duplicate) = parse_one(text).ok_or(())?;
        duplicate_report |= duplicate;
        parsed.push(directives);
    }
    let mut directives = CspData::new();
    let Some((first, rest)) = parsed.split_first() else { return Ok(Parsed { directives, duplicate_report }) };
    for (name, sources) in first {
        let mut kept = dedupe(sources.clone());
        for later in rest {
            if let Some((_, other)) = later.iter().find(|(n, _)| n == name) {
                kept.retain(|s| other.iter().any(|o| o == s || o.starts_with(s.as_str()) || s.starts_with(o.as_str())));
            }
        }
        directives.insert(name.clone(), if kept.is_empty() { vec!["'none'".to_owned()] } else { kept });
    }
    for later in rest {
        for (name, _) in later {
            directives.entry(name.clone()).or_insert_with(|| vec!["'none'".to_owned()]);
        }
    }
    Ok(Parsed { directives, duplicate_report })
}

fn has_nonce_or_hash(sources: &[String]) -> bool {
    sources.iter().any(|s| ["'sha256-", "'sha384-", "'sha512-", "'nonce-"].iter().any(|p| s.starts_with(p)))
}

fn contains_any(sources: &[String], set: &[&str]) -> bool {
    sources.iter().any(|s| set.contains(&s.as_str()))
}

fn insecure(source: &str) -> bool {
    source.starts_with("http:") || source.starts_with("ftp:")
}

/// Which directive a fetch falls back to: itself, else `default-src`.
fn effective<'a>(data: &'a CspData, name: &'a str) -> Option<&'a str> {
    if data.contains_key(name) {
        Some(name)
    } else if data.contains_key("default-src") {
        Some("default-src")
    } else {
        None
    }
}

pub fn evaluate(session: &Session, page: &Page, https: bool) -> CspOutcome {
    let done = |result, data| CspOutcome { result: test(NAME, EXPECTATION, result, PASSES), data };
    let headers: Vec<String> = session.headers.get("content-security-policy").map(str::to_owned).into_iter().collect();
    let mut all = headers.clone();
    all.extend(page.meta_csp.iter().cloned());
    let Ok(parsed) = parse(&all) else { return done("csp-header-invalid", None) };
    let header_only = parse(&headers).map(|p| p.directives).unwrap_or_default();
    let mut meta_only = parse(&page.meta_csp).map(|p| p.directives).unwrap_or_default();
    for ignored in ["frame-ancestors", "report-uri", "sandbox"] {
        meta_only.remove(ignored);
    }
    if header_only.is_empty() && meta_only.is_empty() {
        let reporting = session.headers.get("content-security-policy-report-only").is_some_and(|v| !v.is_empty());
        let result = if reporting { "csp-not-implemented-but-reporting-enabled" } else { "csp-not-implemented" };
        return done(result, None);
    }
    let mut data = parsed.directives;
    // The edits act on the directive a fetch falls back to (so on
    // default-src itself when script-src is absent), as the Observatory's
    // shared sets do.
    let script_key = effective(&data, "script-src").map(str::to_owned);
    let style_key = effective(&data, "style-src").map(str::to_owned);
    for key in [&script_key, &style_key].into_iter().flatten() {
        let sources = data.get_mut(key).expect("an effective directive exists");
        if has_nonce_or_hash(sources) {
            sources.retain(|s| s != "'unsafe-inline'");
        }
    }
    let star = vec!["*".to_owned()];
    let mut invalid = false;
    if let Some(key) = &script_key {
        let sources = data.get_mut(key).expect("an effective directive exists");
        let strict_dynamic = sources.iter().any(|s| s == "'strict-dynamic'");
        if strict_dynamic && has_nonce_or_hash(sources) {
            sources.retain(|s| !(BROAD.iter().any(|b| s.starts_with(b)) || s == "'self'" || s == "'unsafe-inline'"));
        } else if strict_dynamic {
            invalid = true;
        }
    }
    let get = |key: &Option<String>| key.as_ref().and_then(|k| data.get(k)).unwrap_or(&star).clone();
    let script_src = get(&script_key);
    let style_src = get(&style_key);
    let object_src = get(&effective(&data, "object-src").map(str::to_owned));
    let mut active: Vec<&String> = data
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "img-src" | "media-src" | "script-src"))
        .flat_map(|(_, sources)| sources)
        .collect();
    active.extend(script_src.iter());
    let passive: Vec<&String> = ["img-src", "media-src"]
        .iter()
        .filter_map(|name| effective(&data, name))
        .flat_map(|key| data.get(key).into_iter().flatten())
        .collect();

    let result = if invalid {
        "csp-header-invalid"
    } else if contains_any(&script_src, BROAD) || contains_any(&script_src, UNSAFE) || contains_any(&object_src, BROAD)
    {
        "csp-implemented-with-unsafe-inline"
    } else if https && active.iter().any(|s| insecure(s)) {
        "csp-implemented-with-insecure-scheme"
    } else if script_src.iter().chain(&style_src).any(|s| s == "'unsafe-eval'") {
        "csp-implemented-with-unsafe-eval"
    } else if https && passive.iter().any(|s| insecure(s)) {
        "csp-implemented-with-insecure-scheme-in-passive-content-only"
    } else if contains_any(&style_src, BROAD) || contains_any(&style_src, UNSAFE) {
        "csp-implemented-with-unsafe-inline-in-style-src-only"
    } else if data.get("default-src").is_some_and(|d| d.iter().all(|s| s == "'none'") && !d.is_empty()) {
        "csp-implemented-with-no-unsafe-default-src-none"
    } else {
        "csp-implemented-with-no-unsafe"
    };
    let result = if PASSES.contains(&result) && parsed.duplicate_report {
        "csp-implemented-but-duplicate-directives"
    } else {
        result
    };
    done(result, Some(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(policies: &[&str]) -> CspData {
        parse(&policies.iter().map(|p| p.to_string()).collect::<Vec<_>>()).unwrap().directives
    }

    #[test]
    fn policies_merge_as_the_observatory_merges_them() {
        let data = parsed(&[
            "default-src 'self' https://a.com; script-src 'self'",
            "default-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ]);
        assert_eq!(data["default-src"], ["'self'"]);
        assert_eq!(data["script-src"], ["'self'"]);
        assert_eq!(data["style-src"], ["'none'"]);
        assert_eq!(data["frame-ancestors"], ["'none'"]);
        assert!(parse(&["a b".to_owned()]).is_err(), "shorter than 6 characters");
        assert!(parse(&["img-src a; img-src b".to_owned()]).is_err(), "a repeated directive");
        assert_eq!(parsed(&["report-uri /a; report-uri /b"])["report-uri"], ["/b"]);
        assert_eq!(parsed(&["script-src https://a.com https://a.com/x"])["script-src"], ["https://a.com"]);
    }
}
