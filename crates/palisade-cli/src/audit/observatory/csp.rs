//! The Observatory's `content-security-policy` test: the policy from the
//! header and `<meta>` tags, parsed and merged its way, then judged in a
//! fixed order from worst to best.

use super::{test, Page, TestResult};
use crate::audit::fetch::Session;
use crate::js;
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

struct Parsed {
    directives: CspData,
    duplicate_report: bool,
}

/// A source as the merge tracks it: which policy it came from, and
/// whether it survives.
#[derive(Clone)]
struct Entry {
    source: String,
    policy: usize,
    keep: bool,
}

/// Several policies (header values first, then metas) merged the
/// Observatory's way, step for step, because its grade depends on the
/// details: each directive's sources are sorted in English collation
/// order; within one policy a source that starts with the one sorted
/// before it is dropped (`https://a.com/x` after `https://a.com`); across
/// policies a source is kept when the one sorted before it, from another
/// policy, matches it path-wise. A directive only in the first policy
/// keeps its sources; one whose sources all go becomes `'none'`. A policy
/// shorter than 6 characters, a repeated directive (other than
/// `report-uri` / `report-to`) or a malformed `%` escape in a compared
/// path is `Err`: the Observatory calls the header invalid.
fn parse(policies: &[String]) -> Result<Parsed, ()> {
    let cleaned: Vec<String> = policies
        .iter()
        .map(|p| js::trim(&p.chars().filter(|c| *c != '\r' && *c != '\n').collect::<String>()).to_owned())
        .collect();
    if cleaned.iter().any(|p| p.is_empty() || js::len(p) < 6) {
        return Err(());
    }
    let mut csp: Vec<(String, Vec<Entry>)> = Vec::new();
    let mut duplicate_report = false;
    for (index, policy) in cleaned.iter().enumerate() {
        let mut seen: Vec<String> = Vec::new();
        for piece in policy.split(';') {
            let tokens = js::split_whitespace(piece);
            let Some((first, values)) = tokens.split_first() else { continue };
            if first.is_empty() {
                continue;
            }
            let directive = first.to_lowercase();
            if seen.contains(&directive) {
                if directive == "report-uri" || directive == "report-to" {
                    duplicate_report = true;
                } else {
                    return Err(());
                }
            } else {
                seen.push(directive.clone());
            }
            let keep = index == 0;
            let mut entries: Vec<Entry> =
                values.iter().map(|v| Entry { source: js::trim(v).to_lowercase(), policy: index, keep }).collect();
            if values.is_empty() && directive.ends_with("-src") {
                entries.push(Entry { source: "'none'".to_owned(), policy: index, keep });
            }
            let slot = match csp.iter().position(|(d, _)| *d == directive) {
                Some(at) => at,
                None => {
                    csp.push((directive.clone(), Vec::new()));
                    csp.len() - 1
                }
            };
            let mut combined = if index == 0 { entries } else { [std::mem::take(&mut csp[slot].1), entries].concat() };
            combined.sort_by(|a, b| js::collate_en(&a.source, &b.source));
            for i in 1..combined.len() {
                let (prev_source, prev_policy) = (combined[i - 1].source.clone(), combined[i - 1].policy);
                let entry = &mut combined[i];
                if entry.policy == prev_policy && entry.source.starts_with(&prev_source) {
                    entry.keep = false;
                }
                if entry.policy != prev_policy && path_part_match(&prev_source, &entry.source)? {
                    entry.keep = true;
                }
            }
            combined.retain(|e| e.keep);
            // After the first policy, what it kept must be matched again
            // by each later one (the Observatory never unmarks a source a
            // later policy matched, so a third policy cannot drop it).
            if index == 0 && cleaned.len() > 1 {
                for entry in &mut combined {
                    entry.keep = false;
                }
            }
            csp[slot].1 = combined;
        }
    }
    let directives = csp
        .into_iter()
        .map(|(directive, entries)| {
            let mut sources: Vec<String> = Vec::new();
            for entry in entries {
                if !sources.contains(&entry.source) {
                    sources.push(entry.source);
                }
            }
            if sources.is_empty() {
                sources.push("'none'".to_owned());
            }
            (directive, sources)
        })
        .collect();
    Ok(Parsed { directives, duplicate_report })
}

/// The Observatory's path comparison of two sources split at `/`: `a`
/// ending in `/` matches what lies under it, otherwise the same number
/// of parts; each part percent-decoded (`Err` when that fails, as
/// `decodeURIComponent` throws).
fn path_part_match(a: &str, b: &str) -> Result<bool, ()> {
    if a.is_empty() || (a == "/" && b.is_empty()) {
        return Ok(true);
    }
    let exact = !a.ends_with('/');
    let mut parts_a: Vec<&str> = a.split('/').collect();
    let parts_b: Vec<&str> = b.split('/').collect();
    if parts_a.len() > parts_b.len() || (exact && parts_a.len() != parts_b.len()) {
        return Ok(false);
    }
    if !exact {
        parts_a.pop();
    }
    for (x, y) in parts_a.iter().zip(&parts_b) {
        if js::decode_uri_component(x)? != js::decode_uri_component(y)? {
            return Ok(false);
        }
    }
    Ok(true)
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
