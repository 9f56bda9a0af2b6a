//! `palisade csp`: policies given on the command line or as JSON, checked
//! with [`crate::csp_analysis`].

use crate::cli::{CspArgs, Format};
use crate::csp_analysis::{self, BypassLists, Finding};
use serde_json::{json, Value};
use std::io::Read;

#[derive(Debug, thiserror::Error)]
pub enum CspCommandError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path} is not what was expected ({what}): {source}")]
    Json { path: String, what: &'static str, source: serde_json::Error },
    #[error("give at least one policy (or --from-json FILE)")]
    NoPolicy,
}

fn read(path: &str) -> Result<String, CspCommandError> {
    let read_error = |source| CspCommandError::Read { path: path.to_owned(), source };
    if path == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(read_error)?;
        Ok(text)
    } else {
        std::fs::read_to_string(path).map_err(read_error)
    }
}

/// Reads `--bypass-lists`.
pub fn load_bypass_lists(path: &str) -> Result<BypassLists, CspCommandError> {
    serde_json::from_str(&read(path)?).map_err(|source| CspCommandError::Json {
        path: path.to_owned(),
        what: "{\"jsonp\": [...], \"angular\": [...], \"flash\": [...]}",
        source,
    })
}

pub fn run(args: &CspArgs) -> Result<Vec<String>, CspCommandError> {
    let mut policies = args.policies.clone();
    if let Some(path) = &args.from_json {
        let listed: Vec<String> = serde_json::from_str(&read(path)?).map_err(|source| CspCommandError::Json {
            path: path.clone(),
            what: "a JSON array of policy strings",
            source,
        })?;
        policies.extend(listed);
    }
    if policies.is_empty() {
        return Err(CspCommandError::NoPolicy);
    }
    let lists = args.bypass_lists.as_deref().map(load_bypass_lists).transpose()?;
    let results: Vec<(String, Result<Vec<Finding>, csp_analysis::Unparsable>)> =
        policies.into_iter().map(|p| (p.clone(), csp_analysis::evaluate(&p, lists.as_ref()))).collect();
    Ok(match args.format {
        Format::Json => {
            let reports: Vec<Value> = results
                .iter()
                .map(|(policy, result)| match result {
                    Ok(findings) => json!({ "policy": policy, "findings": findings }),
                    Err(err) => json!({ "policy": policy, "findings": null, "error": err.to_string() }),
                })
                .collect();
            vec![serde_json::to_string_pretty(&reports).unwrap_or_default()]
        }
        Format::Human => results.iter().map(|(policy, result)| human(policy, result)).collect(),
    })
}

/// Worst first; `IGNORED` notes last.
pub fn human(policy: &str, result: &Result<Vec<Finding>, csp_analysis::Unparsable>) -> String {
    let mut out = format!("{policy}\n");
    match result {
        Err(err) => out.push_str(&format!("  SYNTAX        {err}\n")),
        Ok(findings) if findings.is_empty() => out.push_str("  no findings\n"),
        Ok(findings) => {
            let mut sorted: Vec<&Finding> = findings.iter().collect();
            sorted.sort_by_key(|f| f.severity);
            for f in sorted {
                let subject = match &f.value {
                    Some(value) => format!("{} {value}", f.directive),
                    None => f.directive.clone(),
                };
                out.push_str(&format!(
                    "  {:<13} {subject}: {} ({})\n",
                    f.severity.as_str(),
                    f.description,
                    f.kind.as_str()
                ));
            }
        }
    }
    out
}
