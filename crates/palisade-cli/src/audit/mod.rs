//! `palisade audit`: a live site's cookies and headers, graded as the MDN
//! HTTP Observatory grades them, with gates for CI.

mod beyond;
mod fetch;
mod fixes;
mod jar;
mod observatory;
mod probe;
mod report;

use crate::cli::{AuditArgs, AuditFormat};
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
    // The values are credentials: never repeated in the message.
    #[error("a --header is not `Name: value` (its value is not shown here)")]
    BadHeader,
    #[error("a --cookie is not `name=value`, one cookie each (its value is not shown here)")]
    BadCookie,
    #[error("--bypass-lists: {0}")]
    Lists(String),
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

/// A site's scan: its grade, what it was graded on, and the findings
/// beyond the Observatory.
pub struct Scanned {
    pub grade: observatory::Grade,
    pub snapshot: fetch::Snapshot,
    pub findings: Vec<beyond::Finding>,
}

/// One target's outcome, in the order given.
pub struct SiteReport {
    pub target: String,
    pub scanned: Result<Scanned, fetch::ScanError>,
    /// Why the site fails the gates (empty: it passes).
    pub gate: Vec<String>,
}

/// `Name: value` → a header; `name=value` pairs → one `Cookie` value.
fn credentials(args: &AuditArgs) -> Result<fetch::Credentials, AuditError> {
    let headers = args
        .headers
        .iter()
        .map(|h| {
            let (name, value) = h.split_once(':').ok_or(AuditError::BadHeader)?;
            let name = name.trim();
            let valid = reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_ok()
                && reqwest::header::HeaderValue::from_str(value.trim()).is_ok();
            valid.then(|| (name.to_owned(), value.trim().to_owned())).ok_or(AuditError::BadHeader)
        })
        .collect::<Result<Vec<_>, _>>()?;
    for cookie in &args.cookies {
        let valid = cookie.split_once('=').is_some_and(|(n, v)| !n.trim().is_empty() && !v.contains(';'));
        if !valid {
            return Err(AuditError::BadCookie);
        }
    }
    let cookie =
        (!args.cookies.is_empty()).then(|| args.cookies.iter().map(|c| c.trim()).collect::<Vec<_>>().join("; "));
    Ok(fetch::Credentials { headers, cookie, over_http: args.send_credentials_over_http })
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
    let lists = match &args.bypass_lists {
        Some(path) => Some(crate::csp_command::load_bypass_lists(path).map_err(|e| AuditError::Lists(e.to_string()))?),
        None => None,
    };
    let options = fetch::FetchOptions {
        ca_pem,
        timeout: Some(Duration::from_secs(args.timeout)),
        credentials: credentials(args)?,
        insecure: args.insecure,
    };
    let targets = targets.iter().map(|t| parse_target(t)).collect::<Result<Vec<_>, _>>()?;
    let progress = progress_bar(targets.len(), args.format);
    // Bounded concurrency: at most `--concurrency` scans at once.
    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(args.concurrency.max(1)));
    let lists = std::sync::Arc::new(lists);
    let mut tasks = Vec::new();
    for target in targets {
        let (semaphore, options, lists, progress) =
            (semaphore.clone(), options.clone(), lists.clone(), progress.clone());
        let observatory_only = args.observatory_only;
        tasks.push(tokio::spawn(async move {
            let _permit = semaphore.acquire_owned().await.expect("the semaphore is never closed");
            let scanned = scan(&target, &options, (*lists).as_ref(), observatory_only).await;
            progress.inc(1);
            (target.to_string(), scanned)
        }));
    }
    let mut outcome = Outcome::Pass;
    let mut reports = Vec::new();
    for task in tasks {
        let Ok((target, scanned)) = task.await else {
            outcome = Outcome::ScanError;
            continue;
        };
        let gate = match &scanned {
            Ok(scanned) => gate_failures(args, scanned),
            Err(_) => Vec::new(),
        };
        match (&scanned, gate.is_empty()) {
            (Err(_), _) => outcome = Outcome::ScanError,
            (Ok(_), false) if matches!(outcome, Outcome::Pass) => outcome = Outcome::BelowThreshold,
            _ => {}
        }
        reports.push(SiteReport { target, scanned, gate });
    }
    progress.finish_and_clear();
    let lines = match args.format {
        AuditFormat::Human => reports.iter().map(report::human).collect(),
        AuditFormat::Json => vec![report::json(&reports)],
        AuditFormat::Sarif => vec![report::sarif(&reports)],
        AuditFormat::Junit => vec![report::junit(&reports)],
    };
    Ok((lines, outcome))
}

/// On a terminal, for several sites: how many are done.
fn progress_bar(count: usize, format: AuditFormat) -> indicatif::ProgressBar {
    if count < 2 || format != AuditFormat::Human {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(count as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} sites scanned ({elapsed})") {
        bar.set_style(style);
    }
    bar
}

async fn scan(
    target: &Target,
    options: &fetch::FetchOptions,
    lists: Option<&crate::csp_analysis::BypassLists>,
    observatory_only: bool,
) -> Result<Scanned, fetch::ScanError> {
    let snapshot = fetch::scan(target, options).await?;
    let grade = observatory::grade(&snapshot);
    let mut findings = Vec::new();
    if let (Some(chosen), false) = (snapshot.chosen(), observatory_only) {
        let page = observatory::Page::read(chosen);
        let probes = match probe::client(options, chosen.verified) {
            Some(client) => probe::run(&client, chosen, &page, &target.host).await,
            None => probe::Probes::default(),
        };
        findings = beyond::check(&snapshot, &page, &probes, lists);
    }
    Ok(Scanned { grade, snapshot, findings })
}

/// Why `scanned` fails the command's gates (empty when it passes).
fn gate_failures(args: &AuditArgs, scanned: &Scanned) -> Vec<String> {
    let grade = &scanned.grade;
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
        if grade.tests.iter().any(|t| t.result == result) || scanned.findings.iter().any(|f| &f.id == result) {
            failures.push(format!("{result} (--fail-on)"));
        }
    }
    failures
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
