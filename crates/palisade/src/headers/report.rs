//! An endpoint for CSP violation reports (`report-uri` and the Reporting
//! API), bounded in body size, rate per client and memory.

use crate::clock::{Clock, SystemClock};
use futures_util::future::BoxFuture;
use http::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::Value;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tower_service::Service;

/// Longest text kept from any one report field in the log line.
const MAX_FIELD_CHARS: usize = 200;
/// At most this many reports of one (batched) request are logged.
const MAX_REPORTS_PER_REQUEST: usize = 20;

/// A report-endpoint configuration the builder refuses.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReportConfigError {
    #[error("the report body limit must be between 1 KiB and 1 MiB, not {0} bytes")]
    BodyLimit(usize),
    #[error("the rate limit must allow at least one report per window, and the window must be at least a second")]
    RateLimit,
    #[error("the number of tracked clients must be between 1 and 1,000,000 (it bounds the memory used)")]
    TrackedClients,
}

/// Configures a [`CspReportEndpoint`].
#[derive(Debug)]
pub struct CspReportEndpointBuilder {
    max_body_bytes: usize,
    per_client: u32,
    window: Duration,
    max_clients: usize,
    clock: Arc<dyn Clock>,
}

impl CspReportEndpointBuilder {
    /// Largest report body read (default 32 KiB: a browser's batch of
    /// reports is a few KiB). Larger bodies get `413`, unread.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Reports accepted per client per window (default 60 per minute);
    /// more get `429`. Stops one client from filling the logs.
    pub fn rate_limit(mut self, reports: u32, per: Duration) -> Self {
        self.per_client = reports;
        self.window = per;
        self
    }

    /// How many clients are counted separately (default 10,000); past
    /// that, the rest share one budget. This bounds the limiter's memory
    /// whatever the number of addresses sending.
    pub fn max_tracked_clients(mut self, clients: usize) -> Self {
        self.max_clients = clients;
        self
    }

    /// The time source (tests use a `ManualClock`).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    pub fn build(self) -> Result<CspReportEndpoint, ReportConfigError> {
        if !(1024..=1024 * 1024).contains(&self.max_body_bytes) {
            return Err(ReportConfigError::BodyLimit(self.max_body_bytes));
        }
        if self.per_client == 0 || self.window < Duration::from_secs(1) {
            return Err(ReportConfigError::RateLimit);
        }
        if !(1..=1_000_000).contains(&self.max_clients) {
            return Err(ReportConfigError::TrackedClients);
        }
        let window = i64::try_from(self.window.as_secs()).unwrap_or(i64::MAX);
        let limiter = Limiter {
            per_client: self.per_client,
            window,
            max_clients: self.max_clients,
            clock: self.clock,
            state: Mutex::new(Window { start: i64::MIN, counts: HashMap::new(), overflow: 0 }),
        };
        Ok(CspReportEndpoint { shared: Arc::new(Shared { max_body_bytes: self.max_body_bytes, limiter }) })
    }
}

struct Shared {
    max_body_bytes: usize,
    limiter: Limiter,
}

/// A tower service that receives CSP violation reports and logs each with
/// `tracing` (target `palisade::csp`), then answers `204`.
///
/// Accepts `application/csp-report` (`report-uri`), `application/reports+json`
/// (Reporting API, `report-to`) and `application/json`, by `POST` only.
/// The endpoint is unauthenticated by nature — anyone can post to it — so
/// everything is bounded: body size, reports logged per request, field
/// length in the log, reports per client per minute, and the number of
/// clients tracked.
///
/// ```
/// use axum::Router;
/// use palisade::headers::CspReportEndpoint;
/// let app: Router = Router::new().route_service("/csp-report", CspReportEndpoint::new());
/// ```
#[derive(Clone)]
pub struct CspReportEndpoint {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for CspReportEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let l = &self.shared.limiter;
        f.debug_struct("CspReportEndpoint")
            .field("max_body_bytes", &self.shared.max_body_bytes)
            .field("per_client", &l.per_client)
            .field("window_secs", &l.window)
            .field("max_clients", &l.max_clients)
            .finish()
    }
}

impl Default for CspReportEndpoint {
    fn default() -> Self {
        Self::new()
    }
}

impl CspReportEndpoint {
    /// The defaults (32 KiB, 60 reports per client per minute, 10,000 clients).
    pub fn new() -> Self {
        match Self::builder().build() {
            Ok(endpoint) => endpoint,
            Err(err) => unreachable!("the default report endpoint is valid: {err}"),
        }
    }

    pub fn builder() -> CspReportEndpointBuilder {
        CspReportEndpointBuilder {
            max_body_bytes: 32 * 1024,
            per_client: 60,
            window: Duration::from_secs(60),
            max_clients: 10_000,
            clock: Arc::new(SystemClock),
        }
    }
}

impl<B> Service<Request<B>> for CspReportEndpoint
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<String>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let shared = self.shared.clone();
        Box::pin(async move { Ok(receive(&shared, req).await.unwrap_or_else(|status| answer(status, ""))) })
    }
}

fn answer(status: StatusCode, body: &'static str) -> Response<String> {
    let mut res = Response::new(body.to_owned());
    *res.status_mut() = status;
    res
}

async fn receive<B>(shared: &Shared, req: Request<B>) -> Result<Response<String>, StatusCode>
where
    B: http_body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if req.method() != Method::POST {
        let mut res = answer(StatusCode::METHOD_NOT_ALLOWED, "");
        res.headers_mut().insert(ALLOW, http::HeaderValue::from_static("POST"));
        return Ok(res);
    }
    let client = crate::client::client_ip(&req);
    if !shared.limiter.allow(ClientKey::of(client)) {
        tracing::debug!(target: "palisade::csp", client = ?client, "CSP report rate-limited");
        let mut res = answer(StatusCode::TOO_MANY_REQUESTS, "");
        res.headers_mut().insert(RETRY_AFTER, http::HeaderValue::from(shared.limiter.window));
        return Ok(res);
    }
    let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if !matches!(essence.as_str(), "application/csp-report" | "application/reports+json" | "application/json") {
        return Err(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
    let declared = req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > shared.max_body_bytes as u64) {
        return Err(StatusCode::PAYLOAD_TOO_LARGE);
    }
    let body = match Limited::new(req.into_body(), shared.max_body_bytes).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => return Err(StatusCode::PAYLOAD_TOO_LARGE),
        Err(_) => return Err(StatusCode::BAD_REQUEST),
    };
    let json: Value = serde_json::from_slice(&body).map_err(|_| StatusCode::BAD_REQUEST)?;
    let reports = violations(&json);
    if reports.is_empty() {
        return Err(StatusCode::BAD_REQUEST);
    }
    for report in reports.iter().take(MAX_REPORTS_PER_REQUEST) {
        // `?` (Debug) escapes control characters: a report cannot forge log lines.
        tracing::warn!(
            target: "palisade::csp",
            client = ?client,
            document = ?report.document,
            directive = ?report.directive,
            blocked = ?report.blocked,
            disposition = ?report.disposition,
            "Content-Security-Policy violation"
        );
    }
    Ok(answer(StatusCode::NO_CONTENT, ""))
}

/// The fields of one report worth a log line.
#[derive(Debug, PartialEq, Eq)]
struct Violation {
    document: String,
    directive: String,
    blocked: String,
    disposition: String,
}

/// `{"csp-report": {...}}` (report-uri) or `[{"type": "csp-violation",
/// "body": {...}}, ...]` (Reporting API).
fn violations(json: &Value) -> Vec<Violation> {
    let field = |obj: &Value, names: &[&str]| -> String {
        let text = names.iter().find_map(|n| obj.get(*n).and_then(Value::as_str)).unwrap_or("");
        text.chars().take(MAX_FIELD_CHARS).collect()
    };
    let legacy = |r: &Value| Violation {
        document: field(r, &["document-uri"]),
        directive: field(r, &["effective-directive", "violated-directive"]),
        blocked: field(r, &["blocked-uri"]),
        disposition: field(r, &["disposition"]),
    };
    let modern = |r: &Value| Violation {
        document: field(r, &["documentURL"]),
        directive: field(r, &["effectiveDirective"]),
        blocked: field(r, &["blockedURL"]),
        disposition: field(r, &["disposition"]),
    };
    if let Some(report) = json.get("csp-report").filter(|r| r.is_object()) {
        return vec![legacy(report)];
    }
    let Some(items) = json.as_array() else { return Vec::new() };
    items
        .iter()
        .filter(|item| item.get("type").and_then(Value::as_str) == Some("csp-violation"))
        .filter_map(|item| item.get("body").filter(|b| b.is_object()))
        .take(MAX_REPORTS_PER_REQUEST)
        .map(modern)
        .collect()
}

/// Who a rate-limit budget belongs to. IPv6 clients are counted per /64:
/// one host usually holds a whole /64, and counting single addresses would
/// let it fill the table from its own prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum ClientKey {
    V4(u32),
    V6Prefix(u64),
    Unknown,
}

impl ClientKey {
    fn of(ip: Option<IpAddr>) -> Self {
        match ip.map(|ip| ip.to_canonical()) {
            Some(IpAddr::V4(v4)) => Self::V4(u32::from(v4)),
            Some(IpAddr::V6(v6)) => Self::V6Prefix((u128::from(v6) >> 64) as u64),
            None => Self::Unknown,
        }
    }
}

/// Fixed-window counters with a bounded table.
struct Limiter {
    per_client: u32,
    window: i64,
    max_clients: usize,
    clock: Arc<dyn Clock>,
    state: Mutex<Window>,
}

struct Window {
    start: i64,
    counts: HashMap<ClientKey, u32>,
    /// The shared budget of clients that found the table full.
    overflow: u32,
}

impl Limiter {
    fn allow(&self, key: ClientKey) -> bool {
        let now = self.clock.now();
        let mut w = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if now < w.start || now.saturating_sub(w.start) >= self.window {
            // A new window forgets every client: memory never outlives a window.
            w.counts = HashMap::new();
            w.overflow = 0;
            w.start = now;
        }
        let tracked = w.counts.contains_key(&key) || w.counts.len() < self.max_clients;
        let count = if tracked { w.counts.entry(key).or_insert(0) } else { &mut w.overflow };
        if *count >= self.per_client {
            return false;
        }
        *count += 1;
        true
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.state.lock().unwrap().counts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientIp;
    use crate::clock::ManualClock;
    use tower::ServiceExt;

    const LEGACY: &str = r#"{"csp-report":{"document-uri":"https://example.com/page","violated-directive":"script-src-elem","effective-directive":"script-src-elem","blocked-uri":"inline","disposition":"enforce"}}"#;

    fn post(body: &str, content_type: &str, ip: &str) -> Request<String> {
        let mut req = Request::builder()
            .method("POST")
            .uri("/csp-report")
            .header("content-type", content_type)
            .body(body.to_owned())
            .unwrap();
        req.extensions_mut().insert(ClientIp(ip.parse().unwrap()));
        req
    }

    async fn status(endpoint: &CspReportEndpoint, req: Request<String>) -> StatusCode {
        endpoint.clone().oneshot(req).await.unwrap().status()
    }

    #[test]
    fn both_report_formats_are_understood() {
        let legacy: Value = serde_json::from_str(LEGACY).unwrap();
        assert_eq!(
            violations(&legacy),
            [Violation {
                document: "https://example.com/page".into(),
                directive: "script-src-elem".into(),
                blocked: "inline".into(),
                disposition: "enforce".into()
            }]
        );
        let modern: Value = serde_json::from_str(
            r#"[{"type":"csp-violation","body":{"documentURL":"https://e.com/","effectiveDirective":"img-src","blockedURL":"https://x/y.png","disposition":"report"}},{"type":"deprecation","body":{}}]"#,
        )
        .unwrap();
        let v = violations(&modern);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].directive, "img-src");
        let long: Value = serde_json::json!({"csp-report": {"blocked-uri": "x".repeat(5000)}});
        assert_eq!(violations(&long)[0].blocked.len(), MAX_FIELD_CHARS);
    }

    #[tokio::test]
    async fn a_report_is_accepted_and_other_requests_refused() {
        let endpoint = CspReportEndpoint::new();
        assert_eq!(
            status(&endpoint, post(LEGACY, "application/csp-report", "192.0.2.1")).await,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            status(&endpoint, post(LEGACY, "text/plain", "192.0.2.1")).await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
        assert_eq!(
            status(&endpoint, post("{not json", "application/json", "192.0.2.1")).await,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(status(&endpoint, post("{}", "application/json", "192.0.2.1")).await, StatusCode::BAD_REQUEST);
        let get = Request::builder().uri("/csp-report").body(String::new()).unwrap();
        assert_eq!(status(&endpoint, get).await, StatusCode::METHOD_NOT_ALLOWED);
    }

    #[tokio::test]
    async fn oversized_bodies_get_413_with_or_without_content_length() {
        let endpoint = CspReportEndpoint::builder().max_body_bytes(1024).build().unwrap();
        let big = format!(r#"{{"csp-report":{{"blocked-uri":"{}"}}}}"#, "x".repeat(2000));
        let mut declared = post(&big, "application/csp-report", "192.0.2.1");
        declared.headers_mut().insert(CONTENT_LENGTH, big.len().into());
        assert_eq!(status(&endpoint, declared).await, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            status(&endpoint, post(&big, "application/csp-report", "192.0.2.1")).await,
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }

    #[tokio::test]
    async fn each_client_is_rate_limited_per_window() {
        let clock = ManualClock::new(1_000);
        let endpoint =
            CspReportEndpoint::builder().rate_limit(3, Duration::from_secs(60)).clock(clock.clone()).build().unwrap();
        for _ in 0..3 {
            assert_eq!(
                status(&endpoint, post(LEGACY, "application/csp-report", "192.0.2.1")).await,
                StatusCode::NO_CONTENT
            );
        }
        let res = endpoint.clone().oneshot(post(LEGACY, "application/csp-report", "192.0.2.1")).await.unwrap();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers()[RETRY_AFTER], "60");
        // Another client has its own budget; the first gets a new one next window.
        assert_eq!(
            status(&endpoint, post(LEGACY, "application/csp-report", "192.0.2.2")).await,
            StatusCode::NO_CONTENT
        );
        clock.advance(Duration::from_secs(60));
        assert_eq!(
            status(&endpoint, post(LEGACY, "application/csp-report", "192.0.2.1")).await,
            StatusCode::NO_CONTENT
        );
    }

    #[test]
    fn the_limiter_table_is_bounded_and_overflow_shares_one_budget() {
        let endpoint = CspReportEndpoint::builder()
            .rate_limit(2, Duration::from_secs(60))
            .max_tracked_clients(100)
            .clock(ManualClock::new(0))
            .build()
            .unwrap();
        let limiter = &endpoint.shared.limiter;
        for i in 0..100u32 {
            assert!(limiter.allow(ClientKey::V4(i)));
        }
        assert_eq!(limiter.tracked(), 100);
        // Thousands more addresses: the table does not grow, and together
        // they get one client's budget.
        let allowed = (100..5_000u32).filter(|i| limiter.allow(ClientKey::V4(*i))).count();
        assert_eq!(limiter.tracked(), 100);
        assert_eq!(allowed, 2);
        // Tracked clients keep their own budget.
        assert!(limiter.allow(ClientKey::V4(7)));
        assert!(!limiter.allow(ClientKey::V4(7)));
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        let a = ClientKey::of(Some("2001:db8:1:2::1".parse().unwrap()));
        let b = ClientKey::of(Some("2001:db8:1:2:ffff::9".parse().unwrap()));
        let c = ClientKey::of(Some("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            ClientKey::of(Some("::ffff:192.0.2.1".parse().unwrap())),
            ClientKey::of(Some("192.0.2.1".parse().unwrap()))
        );
    }

    #[test]
    fn bad_limits_are_refused() {
        assert_eq!(
            CspReportEndpoint::builder().max_body_bytes(10).build().unwrap_err(),
            ReportConfigError::BodyLimit(10)
        );
        assert_eq!(
            CspReportEndpoint::builder().rate_limit(0, Duration::from_secs(60)).build().unwrap_err(),
            ReportConfigError::RateLimit
        );
        assert_eq!(
            CspReportEndpoint::builder().max_tracked_clients(0).build().unwrap_err(),
            ReportConfigError::TrackedClients
        );
    }
}
