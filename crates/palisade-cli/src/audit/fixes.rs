//! What to change for each failing test and finding, in the settings of
//! the frameworks people run: Palisade (Rust), Flask, Django, and nginx
//! in front of any of them.

use serde::Serialize;

/// The change, per framework (`None` where it has nothing to set).
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Fix {
    pub palisade: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flask: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub django: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nginx: Option<&'static str>,
}

impl Fix {
    /// `(framework, change)` for each framework that has one, Palisade first.
    pub fn by_framework(&self) -> impl Iterator<Item = (&'static str, &'static str)> {
        [("Palisade", Some(self.palisade)), ("Flask", self.flask), ("Django", self.django), ("nginx", self.nginx)]
            .into_iter()
            .filter_map(|(name, text)| Some((name, text?)))
    }
}

const fn fix(
    palisade: &'static str,
    flask: Option<&'static str>,
    django: Option<&'static str>,
    nginx: Option<&'static str>,
) -> Fix {
    Fix { palisade, flask, django, nginx }
}

/// The fix for a failing Observatory test (by test name), or for a
/// finding beyond it (by finding id; every `csp-…` finding shares one).
pub fn for_id(id: &str) -> Fix {
    if id.starts_with("csp-") && id != "csp-unparsable-source" {
        return CSP;
    }
    match id {
        "content-security-policy" | "csp-unparsable-source" => CSP,
        "cookies" | "cookie-session-over-http" => fix(
            "Palisade's session cookie is __Host-session: Secure, HttpOnly, SameSite=Lax by default; do not turn \
             them off (SessionLayerBuilder::secure(false) is for plain-HTTP development only), and serve the \
             HTTPS redirect before any session (Stack::https_redirect).",
            Some("SESSION_COOKIE_SECURE = True, SESSION_COOKIE_HTTPONLY = True, SESSION_COOKIE_SAMESITE = \"Lax\", \
                  REMEMBER_COOKIE_SECURE = True (Flask-Login); force HTTPS (Flask-Talisman force_https=True)."),
            Some("SESSION_COOKIE_SECURE = True, CSRF_COOKIE_SECURE = True, SESSION_COOKIE_HTTPONLY = True, \
                  SESSION_COOKIE_SAMESITE = \"Lax\", SECURE_SSL_REDIRECT = True."),
            Some("proxy_cookie_flags ~ secure httponly samesite=lax;  (nginx 1.19.3+, for an app you cannot change)"),
        ),
        "cross-origin-resource-sharing" | "cors-reflects-origin" => fix(
            "Palisade sends no CORS headers. With tower-http's CorsLayer list the origins you trust \
             (AllowOrigin::list([...])); never reflect the request's Origin, and never allow credentials with \
             a wildcard.",
            Some("Flask-CORS: CORS(app, origins=[\"https://app.example\"]), supports_credentials only for those."),
            Some("django-cors-headers: CORS_ALLOWED_ORIGINS = [\"https://app.example\"]; not \
                  CORS_ALLOW_ALL_ORIGINS, not a regex that a suffix like example.evil.net matches."),
            Some("map $http_origin $cors { \"https://app.example\" $http_origin; default \"\"; } then \
                  add_header Access-Control-Allow-Origin $cors always;"),
        ),
        "redirection" | "redirect-leaves-host" => fix(
            "Stack::server_side(..).https_redirect(HttpsRedirectLayer::for_hosts([\"example.com\"])?): plain HTTP \
             gets a 308 to the same host over HTTPS, before any session or cookie.",
            Some("Flask-Talisman: Talisman(app, force_https=True); better, redirect in the proxy."),
            Some("SECURE_SSL_REDIRECT = True (with SECURE_PROXY_SSL_HEADER behind a proxy)."),
            Some("server { listen 80; server_name example.com; return 301 https://example.com$request_uri; }  \
                  (the same host first: its HSTS header must be set before anything else)"),
        ),
        "referrer-policy" => fix(
            "On by default: Referrer-Policy: strict-origin-when-cross-origin (SecurityHeadersBuilder::referrer_policy).",
            Some("Flask-Talisman: referrer_policy=\"strict-origin-when-cross-origin\"."),
            Some("SECURE_REFERRER_POLICY = \"strict-origin-when-cross-origin\" (SecurityMiddleware)."),
            Some("add_header Referrer-Policy strict-origin-when-cross-origin always;"),
        ),
        "strict-transport-security" => fix(
            "On by default over HTTPS (Hsts::default(): two years, includeSubDomains). Behind a TLS proxy, \
             tell Palisade the scheme: TrustedProxyLayer::trusting([\"10.0.0.0/8\"])? reads X-Forwarded-Proto.",
            Some("Flask-Talisman: strict_transport_security=True, strict_transport_security_max_age=63072000."),
            Some("SECURE_HSTS_SECONDS = 63072000, SECURE_HSTS_INCLUDE_SUBDOMAINS = True."),
            Some("add_header Strict-Transport-Security \"max-age=63072000; includeSubDomains\" always;"),
        ),
        "subresource-integrity" | "sri-stylesheet-without-integrity" => fix(
            "palisade::sri::SriAssets renders <script>/<link> tags with integrity and crossorigin; for a CDN file \
             run `palisade sri --html URL` and paste the tag.",
            Some("Add integrity=\"sha384-…\" crossorigin=\"anonymous\" from `palisade sri --html URL` to the tag."),
            Some("Add integrity=\"sha384-…\" crossorigin=\"anonymous\" from `palisade sri --html URL` to the tag."),
            None,
        ),
        "sri-integrity-mismatch" => fix(
            "The file changed (or the value is wrong): browsers refuse to run it. Re-hash the file you ship with \
             `palisade sri FILE` (SriAssets does it at start-up), and pin CDN files to a version.",
            Some("Re-hash with `palisade sri URL`; pin the CDN URL to an exact version."),
            Some("Re-hash with `palisade sri URL`; pin the CDN URL to an exact version."),
            None,
        ),
        "x-content-type-options" => fix(
            "On by default: X-Content-Type-Options: nosniff.",
            Some("Flask-Talisman sends nosniff (content_type_options, on by default)."),
            Some("SECURE_CONTENT_TYPE_NOSNIFF = True (the default, with SecurityMiddleware)."),
            Some("add_header X-Content-Type-Options nosniff always;"),
        ),
        "x-frame-options" => fix(
            "On by default: frame-ancestors 'none' and X-Frame-Options: DENY (SecurityHeadersBuilder::frame_options).",
            Some("Flask-Talisman: frame_options=\"DENY\" (and frame-ancestors in the policy)."),
            Some("X_FRAME_OPTIONS = \"DENY\" with XFrameOptionsMiddleware."),
            Some("add_header X-Frame-Options DENY always;"),
        ),
        "cross-origin-resource-policy" => fix(
            "On by default: Cross-Origin-Resource-Policy: same-origin (cross_origin_resource_policy for assets \
             other sites embed).",
            Some("@app.after_request: response.headers[\"Cross-Origin-Resource-Policy\"] = \"same-origin\"."),
            Some("A middleware setting response[\"Cross-Origin-Resource-Policy\"] = \"same-origin\"."),
            Some("add_header Cross-Origin-Resource-Policy same-origin always;"),
        ),
        "cookie-without-host-prefix" => fix(
            "Palisade's cookies are __Host-session and __Host-csrf by default (SessionLayerBuilder::cookie_name \
             keeps the prefix unless you drop it).",
            Some("SESSION_COOKIE_NAME = \"__Host-session\" (with SESSION_COOKIE_SECURE = True, no \
                  SESSION_COOKIE_DOMAIN, SESSION_COOKIE_PATH = \"/\")."),
            Some("SESSION_COOKIE_NAME = \"__Host-sessionid\", CSRF_COOKIE_NAME = \"__Host-csrftoken\" (Secure, \
                  no Domain, Path /)."),
            None,
        ),
        "cookie-session-long-lived" => fix(
            "Palisade's session cookie ends with the browser unless SessionLayerBuilder::persistent_cookie(true); \
             the server ends the session after idle_timeout (30 min) and absolute_timeout (8 h). Long logins \
             belong in RememberMe, a separate revocable token.",
            Some("PERMANENT_SESSION_LIFETIME = timedelta(hours=8); set session.permanent only where needed; \
                  REMEMBER_COOKIE_DURATION for remember-me."),
            Some("SESSION_COOKIE_AGE = 28800 or SESSION_EXPIRE_AT_BROWSER_CLOSE = True."),
            None,
        ),
        "cookie-domain-scope" => fix(
            "Palisade sets no Domain (host-only cookies); __Host- names make browsers refuse one.",
            Some("SESSION_COOKIE_DOMAIN = None (Flask 2.3+ default); REMEMBER_COOKIE_DOMAIN = None."),
            Some("SESSION_COOKIE_DOMAIN = None and CSRF_COOKIE_DOMAIN = None (the defaults)."),
            Some("proxy_cookie_domain ~.* \"\";  is not supported: remove Domain in the app."),
        ),
        "cookie-too-large" => fix(
            "Keep the data on the server: Stack::server_side with SqliteStore, PostgresStore or RedisStore; the \
             cookie then holds a signed id only.",
            Some("Flask-Session (SESSION_TYPE = \"redis\" or \"sqlalchemy\")."),
            Some("SESSION_ENGINE = \"django.contrib.sessions.backends.db\" (or cache / cached_db)."),
            None,
        ),
        "cookie-cacheable" => fix(
            "Send Cache-Control: no-store on responses that set cookies or show per-user data \
             (.security_headers(|h| h.header(CACHE_CONTROL, HeaderValue::from_static(\"no-store\"))), as the demo \
             does).",
            Some("@app.after_request: if the response sets a cookie, response.cache_control.no_store = True \
                  (Flask adds Vary: Cookie when the session is used)."),
            Some("@never_cache on views that log in or set cookies; patch_vary_headers(response, [\"Cookie\"])."),
            Some("proxy_no_cache $upstream_http_set_cookie; add_header Cache-Control \"private, no-store\" always;"),
        ),
        "cookie-readable-signed" => fix(
            "Palisade's server-side sessions keep data in the store and its cookie sessions are encrypted \
             (XChaCha20-Poly1305): nothing in the cookie can be read.",
            Some("Flask-Session (server-side), or keep only an id in flask.session."),
            Some("SESSION_ENGINE = \"django.contrib.sessions.backends.db\" instead of signed_cookies."),
            None,
        ),
        "mixed-content" => fix(
            "Load everything over https://; ContentSecurityPolicy::upgrade_insecure_requests() upgrades what \
             you miss.",
            Some("Use https:// URLs (url_for(..., _scheme=\"https\", _external=True) behind a proxy with ProxyFix)."),
            Some("Use https:// URLs; SECURE_PROXY_SSL_HEADER so request.build_absolute_uri() says https."),
            Some("add_header Content-Security-Policy \"upgrade-insecure-requests\" always;  (or in your policy)"),
        ),
        "version-banner" => fix(
            "Palisade and axum send no Server or X-Powered-By header; remove the one your proxy adds.",
            Some("Gunicorn: do not put a version in SERVER_SOFTWARE; remove X-Powered-By in the proxy."),
            Some("Django sends none; check the proxy and the app server (uWSGI, Gunicorn)."),
            Some("server_tokens off;  and proxy_hide_header X-Powered-By;"),
        ),
        _ => fix("See the finding's text.", None, None, None),
    }
}

const CSP: Fix = fix(
    "On by default: ContentSecurityPolicy::strict() (a per-response nonce with 'strict-dynamic', object-src \
     'none', base-uri 'none', frame-ancestors 'none'); put the CspNonce extractor's value in each <script \
     nonce=…>. Add hosts to other directives with ContentSecurityPolicy::with, not to script-src.",
    Some("Flask-Talisman: content_security_policy={\"default-src\": \"'self'\", \"object-src\": \"'none'\", \
          \"base-uri\": \"'none'\"}, content_security_policy_nonce_in=[\"script-src\"], and nonce=\"{{ csp_nonce() }}\" \
          on each script."),
    Some("django-csp (or Django 6's SECURE_CSP): script-src with a nonce (CSP.NONCE), object-src 'none', \
          base-uri 'none'; no 'unsafe-inline'."),
    Some("add_header Content-Security-Policy \"default-src 'self'; object-src 'none'; base-uri 'none'; \
          frame-ancestors 'none'\" always;  (nonces need the app)"),
);
