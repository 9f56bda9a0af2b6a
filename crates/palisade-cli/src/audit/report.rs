//! The audit's output: for people (with colour on a terminal), the
//! Observatory's JSON with the findings added, SARIF 2.1.0 for
//! code-scanning dashboards, and JUnit XML for CI test reports.

use super::beyond::Level;
use super::fixes;
use super::{Scanned, SiteReport};
use serde_json::{json, Map, Value};
use std::io::IsTerminal;

/// ANSI colour, only on a terminal and unless `NO_COLOR` is set.
fn paint(code: &str, text: &str) -> String {
    let on = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    if on {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

fn level_colour(level: Level) -> &'static str {
    match level {
        Level::High => "1;31",
        Level::Medium => "33",
        Level::Low => "36",
        Level::Info => "2",
    }
}

pub fn human(report: &SiteReport) -> String {
    let scanned = match &report.scanned {
        Ok(scanned) => scanned,
        Err(err) => return format!("{}: {} {err}\n", report.target, paint("1;31", "error:")),
    };
    let Scanned { grade, snapshot, findings } = scanned;
    let mut out = format!("{}: grade {}, score {}\n", report.target, paint("1", grade.grade), grade.score);
    if let Some(session) = snapshot.chosen() {
        let route: Vec<String> = session.route.iter().map(|h| format!("{} {}", h.status, h.url)).collect();
        out.push_str(&format!("  graded: {}\n", route.join(" -> ")));
        if let Some(why) = &session.certificate_error {
            out.push_str(&format!("  certificate not trusted (graded anyway: --insecure): {why}\n"));
        }
    }
    for t in &grade.tests {
        let mark = if t.pass { paint("32", "pass") } else { paint("1;31", "FAIL") };
        out.push_str(&format!("  {mark} {:>+4}  {:<30} {}\n", t.score_modifier, t.name, t.result));
        if !t.pass {
            push_fix(&mut out, &fixes::for_id(t.name));
        }
    }
    if !findings.is_empty() {
        out.push_str(&format!("  beyond the Observatory: {} findings\n", findings.len()));
    }
    // Each fix once, after the first finding it answers.
    let mut fixed: Vec<&str> = Vec::new();
    for f in findings {
        let level = paint(level_colour(f.level), &format!("{:<6}", f.level.as_str()));
        out.push_str(&format!("  {level} {} [{}]: {}\n", f.subject, f.id, f.message));
        if let Some(data) = &f.data {
            out.push_str(&format!("         readable: {}\n", serde_json::to_string(data).unwrap_or_default()));
        }
        let fix_id = if f.id.starts_with("csp-") { "csp" } else { f.id.as_str() };
        if f.level <= Level::Medium && !fixed.contains(&fix_id) {
            fixed.push(fix_id);
            push_fix(&mut out, &f.fix);
        }
    }
    for failure in &report.gate {
        out.push_str(&format!("  {} {failure}\n", paint("1;31", "gate:")));
    }
    out
}

fn push_fix(out: &mut String, fix: &fixes::Fix) {
    for (name, text) in fix.by_framework() {
        out.push_str(&format!("           {name}: {text}\n"));
    }
}

/// The Observatory's shape (`scan`, `tests`) per site, plus `target`,
/// `findings` and `gate`; `{target, error}` for a site that failed.
pub fn json(reports: &[SiteReport]) -> String {
    let sites: Vec<Value> = reports
        .iter()
        .map(|report| match &report.scanned {
            Err(err) => json!({ "target": report.target, "error": err.to_string() }),
            Ok(Scanned { grade, snapshot, findings }) => {
                let mut tests = Map::new();
                for t in &grade.tests {
                    tests.insert(t.name.to_owned(), serde_json::to_value(t).unwrap_or_default());
                }
                json!({
                    "target": report.target,
                    "scan": {
                        "algorithmVersion": 4,
                        "grade": grade.grade,
                        "score": grade.score,
                        "statusCode": snapshot.chosen().map(|s| s.status),
                        "testsFailed": grade.tests_failed,
                        "testsPassed": grade.tests_passed,
                        "testsQuantity": grade.tests.len(),
                    },
                    "tests": tests,
                    "findings": findings,
                    "gate": report.gate,
                })
            }
        })
        .collect();
    serde_json::to_string_pretty(&Value::Array(sites)).unwrap_or_default()
}

/// The URL a site's results point at.
fn location(report: &SiteReport) -> String {
    match &report.scanned {
        Ok(scanned) => scanned.snapshot.chosen().map(|s| s.final_url().to_string()),
        Err(_) => None,
    }
    .unwrap_or_else(|| format!("https://{}", report.target))
}

fn sarif_level(level: Level) -> &'static str {
    match level {
        Level::High => "error",
        Level::Medium => "warning",
        Level::Low | Level::Info => "note",
    }
}

fn fix_text(fix: &fixes::Fix) -> String {
    fix.by_framework().map(|(name, text)| format!("{name}: {text}")).collect::<Vec<_>>().join("\n")
}

/// SARIF 2.1.0: one rule per failing Observatory result and finding id,
/// one result per occurrence, located at the graded URL.
pub fn sarif(reports: &[SiteReport]) -> String {
    let mut rules: Vec<Value> = Vec::new();
    let mut rule_ids: Vec<String> = Vec::new();
    let mut results = Vec::new();
    let mut add_rule = |id: &str, fix: &fixes::Fix, rules: &mut Vec<Value>| -> usize {
        if let Some(i) = rule_ids.iter().position(|r| r == id) {
            return i;
        }
        rule_ids.push(id.to_owned());
        rules.push(json!({
            "id": id,
            "shortDescription": { "text": id.replace('-', " ") },
            "help": { "text": fix_text(fix) },
        }));
        rules.len() - 1
    };
    for report in reports {
        let uri = location(report);
        let at = json!([{ "physicalLocation": { "artifactLocation": { "uri": uri } } }]);
        match &report.scanned {
            Err(err) => {
                let index = add_rule("scan-error", &fixes::for_id("scan-error"), &mut rules);
                results.push(json!({
                    "ruleId": "scan-error", "ruleIndex": index, "level": "error",
                    "message": { "text": err.to_string() }, "locations": at,
                }));
            }
            Ok(Scanned { grade, findings, .. }) => {
                for t in grade.tests.iter().filter(|t| !t.pass) {
                    let index = add_rule(t.result, &fixes::for_id(t.name), &mut rules);
                    results.push(json!({
                        "ruleId": t.result, "ruleIndex": index,
                        "level": if t.score_modifier <= -20 { "error" } else { "warning" },
                        "message": { "text": format!("{}: {} ({:+} points; grade {}, score {})", t.name, t.result, t.score_modifier, grade.grade, grade.score) },
                        "locations": at,
                    }));
                }
                for f in findings {
                    let index = add_rule(&f.id, &f.fix, &mut rules);
                    results.push(json!({
                        "ruleId": f.id, "ruleIndex": index, "level": sarif_level(f.level),
                        "message": { "text": format!("{}: {}", f.subject, f.message) },
                        "locations": at,
                    }));
                }
            }
        }
    }
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "palisade",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&log).unwrap_or_default()
}

fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 has no way to write most control characters.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: a test suite per site, a test case per Observatory test
/// (failed when the test fails) and per finding of level medium or worse
/// (a failure), lower ones as passed cases with their text.
pub fn junit(reports: &[SiteReport]) -> String {
    let mut suites = String::new();
    let (mut all_tests, mut all_failures, mut all_errors) = (0, 0, 0);
    for report in reports {
        let name = xml(&report.target);
        match &report.scanned {
            Err(err) => {
                all_tests += 1;
                all_errors += 1;
                suites.push_str(&format!(
                    "  <testsuite name=\"{name}\" tests=\"1\" failures=\"0\" errors=\"1\">\n    <testcase classname=\"{name}\" name=\"scan\">\n      <error message=\"{}\"/>\n    </testcase>\n  </testsuite>\n",
                    xml(&err.to_string())
                ));
            }
            Ok(Scanned { grade, findings, .. }) => {
                let mut cases = String::new();
                let mut failures = 0;
                for t in &grade.tests {
                    cases.push_str(&format!(
                        "    <testcase classname=\"{name}.observatory\" name=\"{}\">\n",
                        xml(t.name)
                    ));
                    if !t.pass {
                        failures += 1;
                        cases.push_str(&format!(
                            "      <failure message=\"{} ({:+})\">{}</failure>\n",
                            xml(t.result),
                            t.score_modifier,
                            xml(&fix_text(&fixes::for_id(t.name)))
                        ));
                    }
                    cases.push_str("    </testcase>\n");
                }
                for f in findings {
                    cases.push_str(&format!(
                        "    <testcase classname=\"{name}.{}\" name=\"{}\">\n",
                        xml(&f.id),
                        xml(&f.subject)
                    ));
                    if f.level <= Level::Medium {
                        failures += 1;
                        cases.push_str(&format!(
                            "      <failure message=\"{}: {}\">{}</failure>\n",
                            f.level.as_str(),
                            xml(&f.message),
                            xml(&fix_text(&f.fix))
                        ));
                    } else {
                        cases.push_str(&format!(
                            "      <system-out>{}: {}</system-out>\n",
                            f.level.as_str(),
                            xml(&f.message)
                        ));
                    }
                    cases.push_str("    </testcase>\n");
                }
                let tests = grade.tests.len() + findings.len();
                all_tests += tests;
                all_failures += failures;
                suites.push_str(&format!(
                    "  <testsuite name=\"{name}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">\n    <properties>\n      <property name=\"grade\" value=\"{}\"/>\n      <property name=\"score\" value=\"{}\"/>\n    </properties>\n{cases}  </testsuite>\n",
                    xml(grade.grade),
                    grade.score
                ));
            }
        }
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"palisade audit\" tests=\"{all_tests}\" failures=\"{all_failures}\" errors=\"{all_errors}\">\n{suites}</testsuites>"
    )
}
