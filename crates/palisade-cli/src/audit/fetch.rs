//! Fetching a site the way the MDN HTTP Observatory does, so that both
//! grade the same responses: `http://HOST/` and `https://HOST/` as two
//! sessions, each following redirects by hand (at most 10) with its own
//! cookie jar; a certificate error retried without verification (and
//! recorded); the https response graded when the https session worked at
//! all; then `robots.txt` and an `OPTIONS` CORS preflight on the chosen
//! session.

use super::jar::CookieJar;
use std::time::Duration;

/// The Observatory's request headers, so servers that vary on them answer
/// both tools alike.
const ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
const USER_AGENT: &str =
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:129.0) Gecko/20100101 Firefox/129.0 Observatory/129.0";
/// The Origin the Observatory's preflight claims.
pub const CORS_ORIGIN: &str = "https://http-observatory.security.mozilla.org";
/// Redirects followed by hand; the 11th response is graded as it is.
const MAX_REDIRECTS: usize = 10;
/// A body larger than this is cut (pages are parsed for meta tags and
/// scripts; the Observatory reads any size, this tool stays bounded).
const MAX_BODY: usize = 32 * 1024 * 1024;

/// A response's headers as a browser-side HTTP stack sees them: names in
/// lower case, repeated headers joined with `", "` (Node's rule, which the
/// Observatory's tests see), except that a repeated header Node keeps
/// only once keeps its first value, and `Set-Cookie` stays a list.
#[derive(Clone, Debug, Default)]
pub struct Headers {
    entries: Vec<(String, String)>,
    pub set_cookies: Vec<String>,
}

/// Headers Node's HTTP parser keeps only the first of.
const FIRST_ONLY: &[&str] = &[
    "age",
    "authorization",
    "content-length",
    "content-type",
    "etag",
    "expires",
    "from",
    "host",
    "if-modified-since",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "proxy-authorization",
    "referer",
    "retry-after",
    "server",
    "user-agent",
];

impl Headers {
    pub fn from_map(map: &reqwest::header::HeaderMap) -> Self {
        let mut headers = Headers::default();
        for (name, value) in map {
            // Latin-1, byte for byte, as Node's HTTP parser reads header
            // values (a UTF-8 no-break space is then two characters).
            let value: String = value.as_bytes().iter().map(|&b| char::from(b)).collect();
            let name = name.as_str();
            if name == "set-cookie" {
                headers.set_cookies.push(value);
            } else if let Some((_, joined)) = headers.entries.iter_mut().find(|(n, _)| n == name) {
                if !FIRST_ONLY.contains(&name) {
                    joined.push_str(", ");
                    joined.push_str(&value);
                }
            } else {
                headers.entries.push((name.to_owned(), value));
            }
        }
        headers
    }

    /// The (joined) value of `name`, lower case.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// One response of a redirect chain.
#[derive(Clone, Debug)]
pub struct Hop {
    pub url: reqwest::Url,
    pub status: u16,
    /// Its `Set-Cookie` headers, as sent.
    pub set_cookies: Vec<String>,
    pub cache_control: Option<String>,
    pub vary: Option<String>,
}

/// A session's final response and how it got there.
#[derive(Debug)]
pub struct Session {
    /// Every response, the final one last.
    pub route: Vec<Hop>,
    pub status: u16,
    pub headers: Headers,
    pub body: Vec<u8>,
    /// `false` when the chain only worked without certificate checks.
    pub verified: bool,
    /// What the certificate check said, when it failed.
    pub certificate_error: Option<String>,
    pub jar: CookieJar,
}

impl Session {
    pub fn final_url(&self) -> &reqwest::Url {
        &self.route.last().expect("a session has at least one response").url
    }
}

/// Everything the graders look at.
#[derive(Debug)]
pub struct Snapshot {
    /// The host as given (`example.com` or `127.0.0.2:8080`).
    pub host: String,
    pub http: Option<Session>,
    pub https: Option<Session>,
    /// Why each session failed, for the report.
    pub http_error: Option<String>,
    pub https_error: Option<String>,
    /// The preflight's response headers, when it answered 2xx.
    pub cors: Option<Headers>,
}

impl Snapshot {
    /// The graded session: https if its transport worked, else http.
    pub fn chosen(&self) -> Option<&Session> {
        self.https.as_ref().or(self.http.as_ref())
    }

    pub fn chosen_is_https(&self) -> bool {
        self.https.is_some()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("{0}: the site seems to be down ({1})")]
    Down(String, String),
    #[error("{host}: the site answered {status}; only 2xx, 3xx, 401 and 403 pages are graded")]
    Status { host: String, status: u16 },
    #[error(
        "{host}: the certificate is not trusted ({why}); browsers refuse the site. Fix the certificate, give its \
         CA with --ca-file, or grade it anyway with --insecure"
    )]
    Certificate { host: String, why: String },
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
}

/// How to reach sites.
#[derive(Clone, Debug, Default)]
pub struct FetchOptions {
    /// Extra trusted roots (PEM), e.g. a test CA.
    pub ca_pem: Option<Vec<u8>>,
    /// Overall time for one session's redirect chain.
    pub timeout: Option<Duration>,
    /// Headers for an authenticated scan (`--header`, `--cookie`).
    pub credentials: Credentials,
    /// Grade a site whose certificate is not trusted (as the Observatory
    /// does) instead of stopping with an error.
    pub insecure: bool,
}

/// What an authenticated scan sends: only to the target's own host, and
/// over plain HTTP only when asked (`--send-credentials-over-http`): a
/// session cookie sent in clear text is one anyone on the network can
/// replay, and a redirect to another host must not receive it.
#[derive(Clone, Default)]
pub struct Credentials {
    pub headers: Vec<(String, String)>,
    /// `name=value` pairs joined with `; `, sent with the jar's cookies.
    pub cookie: Option<String>,
    pub over_http: bool,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: values are secrets (session cookies, bearer tokens).
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Credentials")
            .field("headers", &names)
            .field("cookie", &self.cookie.as_ref().map(|_| "…"))
            .field("over_http", &self.over_http)
            .finish()
    }
}

impl Credentials {
    /// Whether a request to `url` may carry them: the target's host
    /// (any port), over HTTPS unless `over_http`.
    fn allowed(&self, url: &reqwest::Url, host: &str) -> bool {
        let target_host =
            host.rsplit_once(':').filter(|(_, port)| port.parse::<u16>().is_ok()).map_or(host, |(h, _)| h);
        let own_host = url
            .host_str()
            .is_some_and(|h| h.trim_matches(['[', ']']).eq_ignore_ascii_case(target_host.trim_matches(['[', ']'])));
        own_host && (url.scheme() == "https" || self.over_http)
    }

    fn apply(
        &self,
        mut request: reqwest::RequestBuilder,
        url: &reqwest::Url,
        host: &str,
        jar_cookies: Option<String>,
    ) -> reqwest::RequestBuilder {
        let allowed = self.allowed(url, host);
        let own = self.cookie.as_ref().filter(|_| allowed).cloned();
        let cookie = match (jar_cookies, own) {
            (Some(jar), Some(own)) => Some(format!("{jar}; {own}")),
            (jar, own) => jar.or(own),
        };
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        if !allowed {
            return request;
        }
        self.headers.iter().fold(request, |r, (name, value)| r.header(name.as_str(), value.as_str()))
    }
}

pub(super) fn client(options: &FetchOptions, verify: bool) -> Result<reqwest::Client, ScanError> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(9))
        .timeout(Duration::from_secs(9))
        .user_agent(USER_AGENT)
        .danger_accept_invalid_certs(!verify);
    if let Some(pem) = &options.ca_pem {
        for cert in reqwest::Certificate::from_pem_bundle(pem).map_err(|e| ScanError::Client(e.to_string()))? {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build().map_err(|e| ScanError::Client(e.to_string()))
}

/// Scans the target's page over both schemes.
pub async fn scan(target: &super::Target, options: &FetchOptions) -> Result<Snapshot, ScanError> {
    let verifying = client(options, true)?;
    let trusting = client(options, false)?;
    let budget = options.timeout.unwrap_or(Duration::from_secs(10));
    let host = target.host.as_str();
    let http_url = format!("http://{host}{}", target.path);
    let https_url = format!("https://{host}{}", target.path);
    let credentials = (&options.credentials, host);
    let (http, https) = tokio::join!(
        session(&verifying, &trusting, &http_url, budget, credentials),
        session(&verifying, &trusting, &https_url, budget, credentials)
    );
    let (http, http_error) = split(http);
    let (https, https_error) = split(https);
    let mut snapshot = Snapshot { host: host.to_owned(), http, https, http_error, https_error, cors: None };
    let Some(chosen) = snapshot.chosen() else {
        let why = snapshot.https_error.clone().or(snapshot.http_error.clone()).unwrap_or_default();
        return Err(ScanError::Down(host.to_owned(), why));
    };
    if !options.insecure {
        let bad = [&snapshot.https, &snapshot.http].into_iter().flatten().find_map(|s| s.certificate_error.clone());
        if let Some(why) = bad {
            return Err(ScanError::Certificate { host: host.to_owned(), why });
        }
    }
    let status = chosen.status;
    if !((200..400).contains(&status) || status == 401 || status == 403) {
        return Err(ScanError::Status { host: host.to_owned(), status });
    }
    let start = if snapshot.chosen_is_https() { &https_url } else { &http_url };
    let final_url = chosen.final_url().clone();
    let extra = if chosen.verified { &verifying } else { &trusting };
    // Fetched as the Observatory does (a server may count on it); the
    // Observatory does not grade its cookies, and neither does this.
    robots(extra, start).await;
    snapshot.cors = preflight(extra, &final_url).await;
    Ok(snapshot)
}

fn split(result: Result<Session, String>) -> (Option<Session>, Option<String>) {
    match result {
        Ok(session) => (Some(session), None),
        Err(why) => (None, Some(why)),
    }
}

/// One session; a certificate error makes it start over without checks.
async fn session(
    verifying: &reqwest::Client,
    trusting: &reqwest::Client,
    url: &str,
    budget: Duration,
    credentials: (&Credentials, &str),
) -> Result<Session, String> {
    match tokio::time::timeout(budget, follow(verifying, url, credentials)).await {
        Ok(Ok(session)) => Ok(session),
        Ok(Err(FollowError::Http(err))) if is_certificate_error(&err) => {
            let why = error_text(&err);
            match tokio::time::timeout(budget, follow(trusting, url, credentials)).await {
                Ok(Ok(mut session)) => {
                    session.verified = false;
                    session.certificate_error = Some(why);
                    Ok(session)
                }
                Ok(Err(err)) => Err(follow_error_text(&err)),
                Err(_) => Err(format!("no answer within {} s", budget.as_secs())),
            }
        }
        Ok(Err(err)) => Err(follow_error_text(&err)),
        Err(_) => Err(format!("no answer within {} s", budget.as_secs())),
    }
}

/// Why a redirect chain stopped without a final response.
#[derive(Debug)]
enum FollowError {
    Http(reqwest::Error),
    /// A redirect whose `Location` is no URL (the Observatory then has no
    /// response for this scheme at all).
    BadLocation(String),
}

impl From<reqwest::Error> for FollowError {
    fn from(err: reqwest::Error) -> Self {
        FollowError::Http(err)
    }
}

async fn follow(
    client: &reqwest::Client,
    start: &str,
    (credentials, host): (&Credentials, &str),
) -> Result<Session, FollowError> {
    let mut url = reqwest::Url::parse(start).expect("a URL made from a host name");
    let mut jar = CookieJar::default();
    let mut route = Vec::new();
    loop {
        let mut request = client.get(url.clone()).header("accept", ACCEPT).header("connection", "close");
        request = credentials.apply(request, &url, host, jar.header_for(&url));
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers = Headers::from_map(response.headers());
        for cookie in &headers.set_cookies {
            jar.store(&url, cookie);
        }
        route.push(Hop {
            url: url.clone(),
            status,
            set_cookies: headers.set_cookies.clone(),
            cache_control: headers.get("cache-control").map(str::to_owned),
            vary: headers.get("vary").map(str::to_owned),
        });
        let next = match matches!(status, 301 | 302 | 303 | 307 | 308).then(|| headers.get("location")) {
            Some(location) => {
                let location = location.unwrap_or("undefined");
                Some(url.join(location).map_err(|_| FollowError::BadLocation(location.to_owned()))?)
            }
            None => None,
        };
        match next {
            Some(next) if route.len() <= MAX_REDIRECTS => url = next,
            _ => {
                let body = read_body(response).await?;
                return Ok(Session { route, status, headers, body, verified: true, certificate_error: None, jar });
            }
        }
    }
}

async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_BODY.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if room <= chunk.len() {
            break;
        }
    }
    Ok(body)
}

fn is_certificate_error(err: &reqwest::Error) -> bool {
    let text = format!("{err:?}").to_ascii_lowercase();
    text.contains("certificate") || text.contains("invalidcert") || text.contains("unknownissuer")
}

fn follow_error_text(err: &FollowError) -> String {
    match err {
        FollowError::Http(err) => error_text(err),
        FollowError::BadLocation(location) => format!("a redirect to {location:?}, which is no URL"),
    }
}

/// The whole cause chain, which reqwest's `Display` leaves out.
fn error_text(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

async fn robots(client: &reqwest::Client, start: &str) {
    if let Ok(url) = reqwest::Url::parse(start).and_then(|u| u.join("/robots.txt")) {
        let _ = client.get(url).header("accept", "text/plain,*/*;q=0.8").send().await;
    }
}

/// `OPTIONS` on the final URL with the Observatory's Origin; only a 2xx
/// answer (after at most 10 redirects) counts.
async fn preflight(client: &reqwest::Client, url: &reqwest::Url) -> Option<Headers> {
    let mut url = url.clone();
    let mut method = reqwest::Method::OPTIONS;
    for _ in 0..=MAX_REDIRECTS {
        let response = client
            .request(method.clone(), url.clone())
            .header("accept", ACCEPT)
            .header("access-control-request-method", "GET")
            .header("origin", CORS_ORIGIN)
            .send()
            .await
            .ok()?;
        let status = response.status();
        if status.is_redirection() {
            let location = response.headers().get("location")?.to_str().ok()?;
            url = url.join(location).ok()?;
            // A 303 is followed with GET (as Node's follow-redirects does).
            if status == reqwest::StatusCode::SEE_OTHER {
                method = reqwest::Method::GET;
            }
            continue;
        }
        return status.is_success().then(|| Headers::from_map(response.headers()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::Credentials;

    fn url(text: &str) -> reqwest::Url {
        reqwest::Url::parse(text).unwrap()
    }

    #[test]
    fn credentials_go_to_the_target_host_over_https_only() {
        let mut credentials =
            Credentials { headers: vec![("authorization".into(), "Bearer t".into())], cookie: None, over_http: false };
        assert!(credentials.allowed(&url("https://example.com/a"), "example.com"));
        assert!(credentials.allowed(&url("https://example.com:8443/"), "example.com:8443"));
        assert!(!credentials.allowed(&url("http://example.com/"), "example.com"), "never in clear text unless asked");
        assert!(
            !credentials.allowed(&url("https://login.other.example/"), "example.com"),
            "a redirect elsewhere gets none"
        );
        assert!(!credentials.allowed(&url("https://evil-example.com/"), "example.com"));
        credentials.over_http = true;
        assert!(credentials.allowed(&url("http://example.com/"), "example.com"));
        assert!(!format!("{credentials:?}").contains("Bearer"), "Debug shows names only");
    }
}
