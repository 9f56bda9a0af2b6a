//! The Observatory's `redirection` test: where `http://HOST/` leads.

use super::{test, TestResult};
use crate::audit::fetch::Session;

const PASSES: &[&str] =
    &["redirection-not-needed-no-http", "redirection-all-redirects-preloaded", "redirection-to-https"];

/// `http`: the plain-HTTP session, if it got an answer. (No HSTS preload
/// list is shipped, so `redirection-all-redirects-preloaded` never comes up.)
pub fn evaluate(http: Option<&Session>) -> TestResult {
    let result = match http {
        None => "redirection-not-needed-no-http",
        Some(session) if !session.verified => "redirection-invalid-cert",
        Some(session) => {
            let route = &session.route;
            let scheme = |i: usize| route[i].url.scheme();
            if route.len() == 1 {
                "redirection-missing"
            } else if scheme(route.len() - 1) != "https" {
                "redirection-not-to-https"
            } else if scheme(1) == "http" {
                "redirection-not-to-https-on-initial-redirection"
            } else if scheme(0) == "http" && scheme(1) == "https" && route[0].url.host_str() != route[1].url.host_str()
            {
                "redirection-off-host-from-http"
            } else {
                "redirection-to-https"
            }
        }
    };
    test("redirection", "redirection-to-https", result, PASSES)
}
