//! The requests the checks beyond the Observatory need: the page asked for
//! with hostile `Origin`s (does the site hand its responses to any site
//! that asks?), and each subresource that carries `integrity`, fetched to
//! see whether the value still matches.

use super::fetch::{FetchOptions, Session};
use super::observatory::Page;
use std::time::Duration;

/// How a site answered one `Origin`.
#[derive(Clone, Debug)]
pub struct CorsAnswer {
    /// What the probe claimed, e.g. `null` or `https://example.com.evil.example`.
    pub origin: String,
    /// Why an attacker can send it.
    pub trick: &'static str,
    pub allow_origin: Option<String>,
    pub allow_credentials: bool,
}

/// A `<script>` or stylesheet with `integrity`, checked against its bytes.
#[derive(Clone, Debug)]
pub struct IntegrityCheck {
    pub url: String,
    pub integrity: String,
    /// `Ok(true)`: a value matches; `Err`: the file could not be fetched.
    pub matches: Result<bool, String>,
}

#[derive(Clone, Debug, Default)]
pub struct Probes {
    pub cors: Vec<CorsAnswer>,
    pub integrity: Vec<IntegrityCheck>,
}

/// Subresources fetched at most (a page with hundreds is not re-downloaded).
const MAX_SUBRESOURCES: usize = 16;
/// A subresource larger than this is not hashed.
const MAX_SUBRESOURCE: usize = 4 * 1024 * 1024;

/// The origins an attacker can send: `null` (a sandboxed frame, a `data:`
/// page), a host that only ends or starts with the site's name (servers
/// that check with `endswith`/`startswith` or an unanchored regex), and
/// the site itself over plain HTTP (a network attacker can be it).
fn hostile_origins(host: &str) -> Vec<(String, &'static str)> {
    let bare = host.split(':').next().unwrap_or(host);
    vec![
        ("https://evil.example".to_owned(), "any site"),
        ("null".to_owned(), "a sandboxed frame or a data: page (Origin: null)"),
        (format!("https://{bare}.evil.example"), "a host that starts with this one"),
        (format!("https://evil{bare}"), "a host that ends with this one"),
        (format!("http://{host}"), "this site over plain HTTP (any network attacker)"),
    ]
}

pub async fn run(client: &reqwest::Client, session: &Session, page: &Page, host: &str) -> Probes {
    let url = session.final_url().clone();
    let mut probes = Probes::default();
    for (origin, trick) in hostile_origins(host) {
        let response = client.get(url.clone()).header("origin", &origin).timeout(Duration::from_secs(9)).send().await;
        let Ok(response) = response else { continue };
        let headers = response.headers();
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        probes.cors.push(CorsAnswer {
            origin,
            trick,
            allow_origin: text("access-control-allow-origin"),
            allow_credentials: text("access-control-allow-credentials")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")),
        });
    }
    let with_integrity =
        page.scripts.iter().chain(&page.stylesheets).filter_map(|s| Some((s.src.as_ref()?, s.integrity.as_ref()?)));
    for (src, integrity) in with_integrity.take(MAX_SUBRESOURCES) {
        let Ok(resource) = url.join(src) else { continue };
        if !matches!(resource.scheme(), "http" | "https") {
            continue;
        }
        let matches = fetch_bytes(client, &resource).await.map(|bytes| integrity_matches(integrity, &bytes));
        probes.integrity.push(IntegrityCheck { url: resource.to_string(), integrity: integrity.clone(), matches });
    }
    probes
}

async fn fetch_bytes(client: &reqwest::Client, url: &reqwest::Url) -> Result<Vec<u8>, String> {
    let mut response =
        client.get(url.clone()).timeout(Duration::from_secs(9)).send().await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("it answered {}", response.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_SUBRESOURCE {
            return Err(format!("larger than {} MiB, not hashed", MAX_SUBRESOURCE >> 20));
        }
    }
    Ok(body)
}

/// The browser's rule (SRI §3.3.5): of the values with the strongest
/// algorithm given, one must match; unknown algorithms are skipped, and
/// none known means no check.
pub fn integrity_matches(integrity: &str, bytes: &[u8]) -> bool {
    use palisade::sri::{HashAlgorithm, Integrity};
    let parsed: Vec<(HashAlgorithm, &str)> = integrity
        .split_ascii_whitespace()
        .filter_map(|token| {
            let token = token.split('?').next().unwrap_or(token);
            let (algo, digest) = token.split_once('-')?;
            let algo = match algo.to_ascii_lowercase().as_str() {
                "sha256" => HashAlgorithm::Sha256,
                "sha384" => HashAlgorithm::Sha384,
                "sha512" => HashAlgorithm::Sha512,
                _ => return None,
            };
            Some((algo, digest))
        })
        .collect();
    let rank = |a: &HashAlgorithm| match a {
        HashAlgorithm::Sha256 => 0,
        HashAlgorithm::Sha384 => 1,
        _ => 2,
    };
    let Some(strongest) = parsed.iter().map(|(a, _)| rank(a)).max() else { return true };
    parsed
        .iter()
        .filter(|(a, _)| rank(a) == strongest)
        .any(|(algo, digest)| Integrity::of_bytes(*algo, bytes).digest() == *digest)
}

pub fn client(options: &FetchOptions, verified: bool) -> Option<reqwest::Client> {
    super::fetch::client(options, verified).ok()
}

#[cfg(test)]
mod tests {
    use super::integrity_matches;

    #[test]
    fn the_strongest_algorithm_decides() {
        // echo -n 'alert(1)' | openssl dgst -sha256 -binary | base64
        let sha256 = "sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI=";
        assert!(integrity_matches(sha256, b"alert(1)"));
        assert!(!integrity_matches(sha256, b"alert(2)"));
        assert!(!integrity_matches(&format!("{sha256} sha384-wrong"), b"alert(1)"), "sha384 given: it must match");
        assert!(integrity_matches("md5-whatever", b"anything"), "no known algorithm: no check");
    }
}
