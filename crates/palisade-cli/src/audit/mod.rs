//! `palisade audit`: a live site's cookies and headers, graded as the MDN
//! HTTP Observatory grades them, with gates for CI.

mod fetch;
mod jar;
mod observatory;

use crate::cli::{AuditArgs, Format};
use serde_json::{json, Map, Value};
use std::time::Duration;

/// What the command ends with (see the exit codes in `--help`).
pub enum Outcome {
    /// Every site scanned and passed the gates.
    Pass,
    /// A site is below `--min-grade` / `--min-score` or has a `--fail-on` result.
    BelowThreshold,
    /// A site could not be scanned.
    ScanError,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{0:?} is not a URL or host name to audit")]
    BadTarget(String),
    #[error("{0:?} is not a grade (A+, A, A-, B+, … F)")]
    BadGrade(String),
}

/// The grades from best to worst.
const GRADES: &[&str] = &["A+", "A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D+", "D", "D-", "F"];

/// What to scan: a host (with its port, if given: both schemes then go
/// to that port, as the Observatory does) and the path of the page.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub host: String,
    /// `/` unless the URL names a page (the Observatory scans `/` only).
    pub path: String,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path == "/" {
            f.write_str(&self.host)
        } else {
            write!(f, "{}{}", self.host, self.path)
        }
    }
}

/// `https://example.com/login?x` → `example.com` and `/login?x`.
fn parse_target(text: &str) -> Result<Target, AuditError> {
    let bad = || AuditError::BadTarget(text.to_owned());
    let with_scheme = if text.contains("://") { text.to_owned() } else { format!("http://{text}") };
    let url = reqwest::Url::parse(&with_scheme).map_err(|_| bad())?;
    let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(bad)?;
    let host = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let path = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    Ok(Target { host, path })
}

pub async fn run(args: &AuditArgs) -> Result<(Vec<String>, Outcome), AuditError> {
    let mut targets = args.targets.clone();
    if let Some(path) = &args.urls {
        let text = std::fs::read_to_string(path).map_err(|source| AuditError::Read { path: path.clone(), source })?;
        targets.extend(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_owned));
    }
    if let Some(grade) = &args.min_grade {
        if !GRADES.contains(&grade.as_str()) {
            return Err(AuditError::BadGrade(grade.clone()));
        }
    }
    let ca_pem = match &args.ca_file {
        Some(path) => Some(std::fs::read(path).map_err(|source| AuditError::Read { path: path.clone(), source })?),
        None => None,
    };
    let options = fetch::FetchOptions { ca_pem, timeout: Some(Duration::from_secs(args.timeout)) };
    let targets = targets.iter().map(|t| parse_target(t)).collect::<Result<Vec<_>, _>>()?;
    // Bounded concurrency: at most `--concurrency` scans at once.
    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(args.concurrency.max(1)));
    let mut tasks = Vec::new();
    for target in targets {
        let (semaphore, options) = (semaphore.clone(), options.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = semaphore.acquire_owned().await.expect("the semaphore is never closed");
            let scanned = fetch::scan(&target, &options).await;
            (target.to_string(), scanned.map(|snapshot| (observatory::grade(&snapshot), snapshot)))
        }));
    }
    let mut outcome = Outcome::Pass;
    let mut reports = Vec::new();
    let mut lines = Vec::new();
    for task in tasks {
        let Ok((host, scanned)) = task.await else {
            outcome = Outcome::ScanError;
            continue;
        };
        match scanned {
            Ok((grade, snapshot)) => {
                let gate = gate_failures(args, &grade);
                if !gate.is_empty() && matches!(outcome, Outcome::Pass) {
                    outcome = Outcome::BelowThreshold;
                }
                match args.format {
                    Format::Json => reports.push(json_report(&host, &grade, &snapshot)),
                    Format::Human => lines.push(human_report(&host, &grade, &snapshot, &gate)),
                }
            }
            Err(err) => {
                outcome = Outcome::ScanError;
                match args.format {
                    Format::Json => reports.push(json!({ "target": host, "error": err.to_string() })),
                    Format::Human => lines.push(format!("{host}: error: {err}")),
                }
            }
        }
    }
    if matches!(args.format, Format::Json) {
        lines.push(serde_json::to_string_pretty(&Value::Array(reports)).unwrap_or_default());
    }
    Ok((lines, outcome))
}

/// Why `grade` fails the command's gates (empty when it passes).
fn gate_failures(args: &AuditArgs, grade: &observatory::Grade) -> Vec<String> {
    let mut failures = Vec::new();
    if let Some(min) = &args.min_grade {
        let rank = |g: &str| GRADES.iter().position(|x| *x == g).unwrap_or(GRADES.len());
        if rank(grade.grade) > rank(min) {
            failures.push(format!("grade {} is below --min-grade {min}", grade.grade));
        }
    }
    if let Some(min) = args.min_score {
        if grade.score < min {
            failures.push(format!("score {} is below --min-score {min}", grade.score));
        }
    }
    for result in &args.fail_on {
        if grade.tests.iter().any(|t| t.result == result) {
            failures.push(format!("{result} (--fail-on)"));
        }
    }
    failures
}

/// The Observatory's JSON shape (`scan` and `tests`), with the target.
fn json_report(host: &str, grade: &observatory::Grade, snapshot: &fetch::Snapshot) -> Value {
    let mut tests = Map::new();
    for t in &grade.tests {
        tests.insert(t.name.to_owned(), serde_json::to_value(t).unwrap_or_default());
    }
    let status = snapshot.chosen().map(|s| s.status);
    json!({
        "target": host,
        "scan": {
            "algorithmVersion": 4,
            "grade": grade.grade,
            "score": grade.score,
            "statusCode": status,
            "testsFailed": grade.tests_failed,
            "testsPassed": grade.tests_passed,
            "testsQuantity": grade.tests.len(),
        },
        "tests": tests,
    })
}

fn human_report(host: &str, grade: &observatory::Grade, snapshot: &fetch::Snapshot, gate: &[String]) -> String {
    let mut out = format!("{host}: grade {}, score {}\n", grade.grade, grade.score);
    if let Some(session) = snapshot.chosen() {
        let route: Vec<String> = session.route.iter().map(|h| format!("{} {}", h.status, h.url)).collect();
        out.push_str(&format!("  graded: {}\n", route.join(" -> ")));
        if let Some(why) = &session.certificate_error {
            out.push_str(&format!("  certificate not trusted: {why}\n"));
        }
    }
    for t in &grade.tests {
        let mark = if t.pass { "pass" } else { "FAIL" };
        out.push_str(&format!("  {mark} {:>+4}  {:<30} {}\n", t.score_modifier, t.name, t.result));
    }
    for failure in gate {
        out.push_str(&format!("  gate: {failure}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{parse_target, Target};

    fn target(host: &str, path: &str) -> Target {
        Target { host: host.to_owned(), path: path.to_owned() }
    }

    #[test]
    fn targets_are_hosts_with_their_port_if_given_and_a_page() {
        assert_eq!(parse_target("https://Example.com/a?b").unwrap(), target("example.com", "/a?b"));
        assert_eq!(parse_target("127.0.0.2").unwrap(), target("127.0.0.2", "/"));
        assert_eq!(parse_target("http://127.0.0.1:8080/").unwrap(), target("127.0.0.1:8080", "/"));
        assert_eq!(parse_target("example.com/login").unwrap().to_string(), "example.com/login");
        assert_eq!(parse_target("example.com").unwrap().to_string(), "example.com");
        assert!(parse_target("http://").is_err());
    }
}
