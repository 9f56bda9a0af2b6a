//! The `SecurityHeadersLayer`: its builder, service and response future.

use super::csp::{ContentSecurityPolicy, CspError};
use super::nonce::CspNonce;
use super::values::{
    CrossOriginOpenerPolicy, CrossOriginResourcePolicy, FrameOptions, Hsts, PermissionsPolicy, ReferrerPolicy,
    XssProtection,
};
use crate::client::RequestScheme;
use http::header::{
    CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_REPORT_ONLY, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS, X_XSS_PROTECTION,
};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

const COOP: HeaderName = HeaderName::from_static("cross-origin-opener-policy");
const CORP: HeaderName = HeaderName::from_static("cross-origin-resource-policy");
const PERMISSIONS_POLICY: HeaderName = HeaderName::from_static("permissions-policy");

/// A header configuration the builder refuses.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeadersConfigError {
    #[error("Content-Security-Policy: {0}")]
    Csp(#[from] CspError),
    #[error(
        "a report-only policy blocks nothing, and without report-uri or report-to nobody learns what it would \
         block; add ContentSecurityPolicy::report_uri(\"/csp-report\")"
    )]
    ReportOnlyWithoutDestination,
    #[error("HSTS preload needs includeSubDomains and a max-age of at least one year")]
    HstsPreload,
    #[error("Permissions-Policy feature {0:?} is not a feature name (lowercase letters, digits and -)")]
    PermissionsFeature(String),
    #[error("header value for {name} is not valid: {reason}")]
    InvalidHeader { name: String, reason: String },
}

/// Whether the policy is enforced or only reported.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CspMode {
    /// `Content-Security-Policy`: violations are blocked (and reported).
    #[default]
    Enforce,
    /// `Content-Security-Policy-Report-Only`: violations are only reported,
    /// for rolling a new policy out without breaking pages.
    ReportOnly,
}

/// Configures a [`SecurityHeadersLayer`]; every header starts at its secure
/// default. [`build`](Self::build) checks everything once, at startup.
#[derive(Clone, Debug)]
pub struct SecurityHeadersBuilder {
    csp: Option<ContentSecurityPolicy>,
    /// The app chose the policy (or none), rather than keeping the default.
    csp_chosen: bool,
    csp_mode: CspMode,
    hsts: Option<Hsts>,
    frame_options: Option<FrameOptions>,
    nosniff: bool,
    referrer_policy: Option<ReferrerPolicy>,
    coop: Option<CrossOriginOpenerPolicy>,
    corp: Option<CrossOriginResourcePolicy>,
    permissions_policy: Option<PermissionsPolicy>,
    xss_protection: Option<XssProtection>,
    extra: Vec<(HeaderName, HeaderValue)>,
    removed: Vec<HeaderName>,
    handler_wins: bool,
}

impl Default for SecurityHeadersBuilder {
    fn default() -> Self {
        Self {
            csp: Some(ContentSecurityPolicy::strict()),
            csp_chosen: false,
            csp_mode: CspMode::Enforce,
            hsts: Some(Hsts::default()),
            frame_options: Some(FrameOptions::Deny),
            nosniff: true,
            referrer_policy: Some(ReferrerPolicy::StrictOriginWhenCrossOrigin),
            coop: Some(CrossOriginOpenerPolicy::SameOrigin),
            corp: Some(CrossOriginResourcePolicy::SameOrigin),
            permissions_policy: Some(PermissionsPolicy::deny_powerful_features()),
            xss_protection: Some(XssProtection::Disabled),
            extra: Vec::new(),
            removed: Vec::new(),
            handler_wins: true,
        }
    }
}

impl SecurityHeadersBuilder {
    /// The policy (default [`ContentSecurityPolicy::strict`]).
    pub fn content_security_policy(mut self, policy: ContentSecurityPolicy) -> Self {
        self.csp = Some(policy);
        self.csp_chosen = true;
        self
    }

    /// No Content-Security-Policy at all.
    pub fn no_content_security_policy(mut self) -> Self {
        self.csp = None;
        self.csp_chosen = true;
        self
    }

    /// Sends violation reports to `path` unless the policy already names
    /// a destination: the stack serves a report route, and a policy the
    /// app chose itself must not leave a violation (an injection attempt)
    /// reported nowhere. The default policy gets the route as well.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))] // used by the stack
    pub(crate) fn with_reports_to(mut self, path: &str) -> Self {
        if !self.csp_chosen {
            self.csp = Some(ContentSecurityPolicy::strict());
        }
        self.csp =
            self.csp.map(
                |policy| {
                    if policy.has_report_destination() {
                        policy
                    } else {
                        policy.report_uri(path.to_owned())
                    }
                },
            );
        self
    }

    /// Enforce (default) or only report the policy.
    pub fn csp_mode(mut self, mode: CspMode) -> Self {
        self.csp_mode = mode;
        self
    }

    /// HSTS settings; sent on HTTPS responses only.
    pub fn hsts(mut self, hsts: Hsts) -> Self {
        self.hsts = Some(hsts);
        self
    }

    pub fn no_hsts(mut self) -> Self {
        self.hsts = None;
        self
    }

    pub fn frame_options(mut self, value: FrameOptions) -> Self {
        self.frame_options = Some(value);
        self
    }

    pub fn referrer_policy(mut self, value: ReferrerPolicy) -> Self {
        self.referrer_policy = Some(value);
        self
    }

    pub fn cross_origin_opener_policy(mut self, value: CrossOriginOpenerPolicy) -> Self {
        self.coop = Some(value);
        self
    }

    pub fn cross_origin_resource_policy(mut self, value: CrossOriginResourcePolicy) -> Self {
        self.corp = Some(value);
        self
    }

    pub fn permissions_policy(mut self, value: PermissionsPolicy) -> Self {
        self.permissions_policy = Some(value);
        self
    }

    /// `X-XSS-Protection` (default `0`, see [`XssProtection`]).
    pub fn xss_protection(mut self, value: XssProtection) -> Self {
        self.xss_protection = Some(value);
        self
    }

    /// One more header on every response, e.g. `Cache-Control: no-store`
    /// (the handler's own value still wins unless
    /// [`override_handler_headers`](Self::override_handler_headers)).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.removed.retain(|n| *n != name);
        self.extra.retain(|(n, _)| *n != name);
        self.extra.push((name, value));
        self
    }

    /// Never send `name` (any of the defaults, by header name).
    pub fn without(mut self, name: HeaderName) -> Self {
        self.extra.retain(|(n, _)| *n != name);
        self.removed.push(name);
        self
    }

    /// Our values replace headers the handler set. By default a header the
    /// handler already set is left alone: it knows its response best (a
    /// page that must be framed by a partner, a download with its own CSP).
    pub fn override_handler_headers(mut self) -> Self {
        self.handler_wins = false;
        self
    }

    /// Checks the configuration and builds the layer.
    pub fn build(self) -> Result<SecurityHeadersLayer, HeadersConfigError> {
        if self.csp.as_ref().is_some_and(ContentSecurityPolicy::allows_inline_scripts) {
            // Django's `check --deploy` spirit: allowed (a migration may need
            // it for a while), never silently.
            tracing::warn!(
                "the Content-Security-Policy lets inline scripts run ('unsafe-inline' without a nonce or hash, or \
                 no script-src/default-src), so it does not stop XSS; use ContentSecurityPolicy::strict() and \
                 {{{{ csp_nonce() }}}} on the page's own scripts"
            );
        }
        let mut fixed: Vec<(HeaderName, HeaderValue)> = Vec::new();
        if let Some(v) = self.frame_options {
            fixed.push((X_FRAME_OPTIONS, v.value()));
        }
        if self.nosniff {
            // `nosniff`: the browser trusts our Content-Type and never
            // guesses that a text or image upload is HTML or script.
            fixed.push((X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")));
        }
        if let Some(v) = self.referrer_policy {
            fixed.push((REFERRER_POLICY, v.value()));
        }
        if let Some(v) = self.coop {
            fixed.push((COOP, v.value()));
        }
        if let Some(v) = self.corp {
            fixed.push((CORP, v.value()));
        }
        if let Some(policy) = &self.permissions_policy {
            policy.validate()?;
            fixed.push((PERMISSIONS_POLICY, header_value(&PERMISSIONS_POLICY, policy.render())?));
        }
        if let Some(v) = self.xss_protection {
            fixed.push((X_XSS_PROTECTION, v.value()));
        }
        for (name, value) in self.extra {
            fixed.retain(|(n, _)| *n != name);
            fixed.push((name, value));
        }
        let csp_name = match self.csp_mode {
            CspMode::Enforce => CONTENT_SECURITY_POLICY,
            CspMode::ReportOnly => CONTENT_SECURITY_POLICY_REPORT_ONLY,
        };
        let removed = |name: &HeaderName| self.removed.contains(name);
        fixed.retain(|(n, _)| !removed(n));
        let csp = match self.csp.filter(|_| !removed(&csp_name)) {
            Some(policy) => {
                policy.validate()?;
                if self.csp_mode == CspMode::ReportOnly && !policy.has_report_destination() {
                    return Err(HeadersConfigError::ReportOnlyWithoutDestination);
                }
                let unused = header_value(&csp_name, policy.render(None))?;
                Some(Csp { name: csp_name, policy, unused })
            }
            None => None,
        };
        let hsts = match self.hsts.filter(|_| !removed(&STRICT_TRANSPORT_SECURITY)) {
            Some(hsts) => {
                hsts.validate()?;
                Some(hsts.value())
            }
            None => None,
        };
        Ok(SecurityHeadersLayer { shared: Arc::new(Shared { csp, hsts, fixed, handler_wins: self.handler_wins }) })
    }
}

fn header_value(name: &HeaderName, text: String) -> Result<HeaderValue, HeadersConfigError> {
    HeaderValue::try_from(text)
        .map_err(|err| HeadersConfigError::InvalidHeader { name: name.to_string(), reason: err.to_string() })
}

struct Csp {
    name: HeaderName,
    policy: ContentSecurityPolicy,
    /// The header for responses whose nonce nobody asked for.
    unused: HeaderValue,
}

struct Shared {
    csp: Option<Csp>,
    hsts: Option<HeaderValue>,
    fixed: Vec<(HeaderName, HeaderValue)>,
    handler_wins: bool,
}

/// Sets the security headers on every response, and gives each request a
/// fresh [`CspNonce`].
///
/// A response counts as HTTPS — and gets `Strict-Transport-Security` —
/// when [`RequestScheme::of`] says so: the
/// [`TrustedProxyLayer`](crate::client::TrustedProxyLayer)'s verdict (put
/// it outside this layer), else an `https` URI scheme. Browsers ignore HSTS
/// received over plain HTTP anyway; not sending it there keeps the header
/// honest and the tests meaningful.
#[derive(Clone)]
pub struct SecurityHeadersLayer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SecurityHeadersLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.shared.fixed.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("SecurityHeadersLayer")
            .field("csp", &self.shared.csp.as_ref().map(|c| (c.name.as_str(), &c.unused)))
            .field("hsts", &self.shared.hsts)
            .field("headers", &names)
            .field("handler_wins", &self.shared.handler_wins)
            .finish()
    }
}

impl Default for SecurityHeadersLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl SecurityHeadersLayer {
    /// Every default (see the [module docs](super)).
    pub fn new() -> Self {
        match Self::builder().build() {
            Ok(layer) => layer,
            // The defaults are constants; `defaults_build` tests them.
            Err(err) => unreachable!("the default security headers are valid: {err}"),
        }
    }

    pub fn builder() -> SecurityHeadersBuilder {
        SecurityHeadersBuilder::default()
    }
}

impl<S> Layer<S> for SecurityHeadersLayer {
    type Service = SecurityHeadersService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SecurityHeadersService { inner, shared: self.shared.clone() }
    }
}

/// The service made by [`SecurityHeadersLayer`].
#[derive(Clone)]
pub struct SecurityHeadersService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> std::fmt::Debug for SecurityHeadersService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurityHeadersService").finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SecurityHeadersService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let https = RequestScheme::of(&req).is_https();
        let nonce = self.shared.csp.as_ref().filter(|c| c.policy.uses_nonce()).map(|_| CspNonce::generate());
        if let Some(nonce) = &nonce {
            req.extensions_mut().insert(nonce.clone());
        }
        ResponseFuture { inner: self.inner.call(req), shared: self.shared.clone(), nonce, https }
    }
}

pin_project! {
    /// Response future of [`SecurityHeadersService`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        shared: Arc<Shared>,
        nonce: Option<CspNonce>,
        https: bool,
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").field("https", &self.https).finish_non_exhaustive()
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = ready!(this.inner.poll(cx))?;
        apply(this.shared, this.nonce.as_ref(), *this.https, response.headers_mut());
        Poll::Ready(Ok(response))
    }
}

fn apply(shared: &Shared, nonce: Option<&CspNonce>, https: bool, headers: &mut HeaderMap) {
    let mut set = |name: &HeaderName, value: HeaderValue| {
        if !(shared.handler_wins && headers.contains_key(name)) {
            headers.insert(name.clone(), value);
        }
    };
    for (name, value) in &shared.fixed {
        set(name, value.clone());
    }
    if let (true, Some(hsts)) = (https, &shared.hsts) {
        set(&STRICT_TRANSPORT_SECURITY, hsts.clone());
    }
    if let Some(csp) = &shared.csp {
        let value = match nonce.filter(|n| n.is_used()) {
            // Base64url nonce and a policy validated at startup: always a valid value.
            Some(nonce) => HeaderValue::try_from(csp.policy.render(Some(nonce.as_str()))).unwrap_or(csp.unused.clone()),
            None => csp.unused.clone(),
        };
        set(&csp.name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use tower::{service_fn, ServiceExt};

    type Handler = fn(Request<()>) -> Response<String>;

    async fn call(layer: &SecurityHeadersLayer, req: Request<()>, handler: Handler) -> Response<String> {
        let svc = layer.layer(service_fn(move |req| async move { Ok::<_, Infallible>(handler(req)) }));
        svc.oneshot(req).await.unwrap()
    }

    fn plain(_: Request<()>) -> Response<String> {
        Response::new("hi".into())
    }

    fn uses_nonce(req: Request<()>) -> Response<String> {
        Response::new(CspNonce::of_request(&req).unwrap().to_string())
    }

    fn get(h: &HeaderMap, name: &str) -> Option<String> {
        h.get(name).map(|v| v.to_str().unwrap().to_owned())
    }

    #[tokio::test]
    async fn every_default_header_is_set() {
        let res = call(&SecurityHeadersLayer::new(), Request::new(()), plain).await;
        let h = res.headers();
        assert_eq!(get(h, "x-frame-options").as_deref(), Some("DENY"));
        assert_eq!(get(h, "x-content-type-options").as_deref(), Some("nosniff"));
        assert_eq!(get(h, "referrer-policy").as_deref(), Some("strict-origin-when-cross-origin"));
        assert_eq!(get(h, "cross-origin-opener-policy").as_deref(), Some("same-origin"));
        assert_eq!(get(h, "cross-origin-resource-policy").as_deref(), Some("same-origin"));
        assert_eq!(get(h, "x-xss-protection").as_deref(), Some("0"));
        assert!(get(h, "permissions-policy").unwrap().contains("camera=()"));
        assert_eq!(
            get(h, "content-security-policy").as_deref(),
            Some(
                "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
                 form-action 'self'"
            )
        );
        assert_eq!(get(h, "strict-transport-security"), None, "plain HTTP gets no HSTS");
    }

    #[tokio::test]
    async fn hsts_only_on_https() {
        let mut req = Request::new(());
        req.extensions_mut().insert(RequestScheme::Https);
        let res = call(&SecurityHeadersLayer::new(), req, plain).await;
        assert_eq!(
            get(res.headers(), "strict-transport-security").as_deref(),
            Some("max-age=63072000; includeSubDomains")
        );
        let absolute = Request::builder().uri("https://example.com/").body(()).unwrap();
        assert!(call(&SecurityHeadersLayer::new(), absolute, plain)
            .await
            .headers()
            .contains_key("strict-transport-security"));
        let mut http = Request::builder().uri("https://example.com/").body(()).unwrap();
        http.extensions_mut().insert(RequestScheme::Http); // the proxy layer's verdict wins
        assert!(!call(&SecurityHeadersLayer::new(), http, plain)
            .await
            .headers()
            .contains_key("strict-transport-security"));
    }

    #[tokio::test]
    async fn used_nonce_is_in_the_policy_and_fresh_per_response() {
        let layer = SecurityHeadersLayer::new();
        let a = call(&layer, Request::new(()), uses_nonce).await;
        let b = call(&layer, Request::new(()), uses_nonce).await;
        let csp_a = get(a.headers(), "content-security-policy").unwrap();
        let csp_b = get(b.headers(), "content-security-policy").unwrap();
        assert!(csp_a.contains(&format!("script-src 'nonce-{}' 'strict-dynamic'", a.body())), "{csp_a}");
        assert!(csp_b.contains(&format!("'nonce-{}'", b.body())), "{csp_b}");
        assert_ne!(a.body(), b.body());
    }

    #[tokio::test]
    async fn handler_headers_win_unless_overridden() {
        fn framed(_: Request<()>) -> Response<String> {
            let mut res = Response::new(String::new());
            res.headers_mut().insert("x-frame-options", HeaderValue::from_static("SAMEORIGIN"));
            res.headers_mut().insert("content-security-policy", HeaderValue::from_static("default-src 'none'"));
            res
        }
        let res = call(&SecurityHeadersLayer::new(), Request::new(()), framed).await;
        assert_eq!(get(res.headers(), "x-frame-options").as_deref(), Some("SAMEORIGIN"));
        assert_eq!(get(res.headers(), "content-security-policy").as_deref(), Some("default-src 'none'"));
        let strict = SecurityHeadersLayer::builder().override_handler_headers().build().unwrap();
        let res = call(&strict, Request::new(()), framed).await;
        assert_eq!(get(res.headers(), "x-frame-options").as_deref(), Some("DENY"));
        assert!(get(res.headers(), "content-security-policy").unwrap().starts_with("default-src 'self'"));
    }

    #[tokio::test]
    async fn every_header_can_be_changed_or_removed() {
        let layer = SecurityHeadersLayer::builder()
            .frame_options(FrameOptions::SameOrigin)
            .referrer_policy(ReferrerPolicy::NoReferrer)
            .cross_origin_opener_policy(CrossOriginOpenerPolicy::SameOriginAllowPopups)
            .cross_origin_resource_policy(CrossOriginResourcePolicy::CrossOrigin)
            .xss_protection(XssProtection::Block)
            .permissions_policy(PermissionsPolicy::empty().allow_self("geolocation"))
            .header(http::header::CACHE_CONTROL, HeaderValue::from_static("no-store"))
            .without(X_CONTENT_TYPE_OPTIONS)
            .no_hsts()
            .no_content_security_policy()
            .build()
            .unwrap();
        let mut req = Request::new(());
        req.extensions_mut().insert(RequestScheme::Https);
        let res = call(&layer, req, plain).await;
        let h = res.headers();
        assert_eq!(get(h, "x-frame-options").as_deref(), Some("SAMEORIGIN"));
        assert_eq!(get(h, "referrer-policy").as_deref(), Some("no-referrer"));
        assert_eq!(get(h, "cross-origin-opener-policy").as_deref(), Some("same-origin-allow-popups"));
        assert_eq!(get(h, "cross-origin-resource-policy").as_deref(), Some("cross-origin"));
        assert_eq!(get(h, "x-xss-protection").as_deref(), Some("1; mode=block"));
        assert_eq!(get(h, "permissions-policy").as_deref(), Some("geolocation=(self)"));
        assert_eq!(get(h, "cache-control").as_deref(), Some("no-store"));
        for gone in ["x-content-type-options", "strict-transport-security", "content-security-policy"] {
            assert!(!h.contains_key(gone), "{gone}");
        }
    }

    #[tokio::test]
    async fn report_only_mode_uses_the_report_only_header() {
        let layer = SecurityHeadersLayer::builder()
            .content_security_policy(ContentSecurityPolicy::strict().report_uri("/csp-report"))
            .csp_mode(CspMode::ReportOnly)
            .build()
            .unwrap();
        let res = call(&layer, Request::new(()), uses_nonce).await;
        assert!(!res.headers().contains_key("content-security-policy"));
        let value = get(res.headers(), "content-security-policy-report-only").unwrap();
        assert!(value.contains(&format!("'nonce-{}'", res.body())) && value.ends_with("report-uri /csp-report"));
    }

    #[test]
    fn builder_refuses_bad_configurations() {
        use super::super::csp::{Directive, Source};
        let err = SecurityHeadersLayer::builder().csp_mode(CspMode::ReportOnly).build().unwrap_err();
        assert_eq!(err, HeadersConfigError::ReportOnlyWithoutDestination);
        let bad = ContentSecurityPolicy::strict().with(Directive::ImgSrc, []);
        assert_eq!(
            SecurityHeadersLayer::builder().content_security_policy(bad).build().unwrap_err(),
            HeadersConfigError::Csp(CspError::Empty(Directive::ImgSrc))
        );
        let nonce_in_frames = ContentSecurityPolicy::strict().with(Directive::FrameAncestors, [Source::Nonce]);
        assert!(matches!(
            SecurityHeadersLayer::builder().content_security_policy(nonce_in_frames).build(),
            Err(HeadersConfigError::Csp(CspError::NotAllowedIn { .. }))
        ));
        assert_eq!(
            SecurityHeadersLayer::builder()
                .hsts(Hsts::max_age(std::time::Duration::from_secs(5)).preload())
                .build()
                .unwrap_err(),
            HeadersConfigError::HstsPreload
        );
        assert!(matches!(
            SecurityHeadersLayer::builder().permissions_policy(PermissionsPolicy::empty().deny("x=(*)")).build(),
            Err(HeadersConfigError::PermissionsFeature(_))
        ));
    }

    #[test]
    fn defaults_build_and_debug_shows_config() {
        let text = format!("{:?}", SecurityHeadersLayer::new());
        assert!(text.contains("x-frame-options") && text.contains("script-src 'none'"), "{text}");
    }
}
