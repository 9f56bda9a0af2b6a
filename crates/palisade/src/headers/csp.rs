//! A typed Content-Security-Policy: directives and sources are values,
//! checked when the layer is built, rendered once per response.

use std::fmt;
use std::str::FromStr;

/// A policy directive whose value is a source list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Directive {
    DefaultSrc,
    ScriptSrc,
    ScriptSrcElem,
    ScriptSrcAttr,
    StyleSrc,
    StyleSrcElem,
    StyleSrcAttr,
    ImgSrc,
    FontSrc,
    ConnectSrc,
    MediaSrc,
    ObjectSrc,
    FrameSrc,
    ChildSrc,
    WorkerSrc,
    ManifestSrc,
    BaseUri,
    FormAction,
    FrameAncestors,
}

const DIRECTIVES: [(Directive, &str); 19] = [
    (Directive::DefaultSrc, "default-src"),
    (Directive::ScriptSrc, "script-src"),
    (Directive::ScriptSrcElem, "script-src-elem"),
    (Directive::ScriptSrcAttr, "script-src-attr"),
    (Directive::StyleSrc, "style-src"),
    (Directive::StyleSrcElem, "style-src-elem"),
    (Directive::StyleSrcAttr, "style-src-attr"),
    (Directive::ImgSrc, "img-src"),
    (Directive::FontSrc, "font-src"),
    (Directive::ConnectSrc, "connect-src"),
    (Directive::MediaSrc, "media-src"),
    (Directive::ObjectSrc, "object-src"),
    (Directive::FrameSrc, "frame-src"),
    (Directive::ChildSrc, "child-src"),
    (Directive::WorkerSrc, "worker-src"),
    (Directive::ManifestSrc, "manifest-src"),
    (Directive::BaseUri, "base-uri"),
    (Directive::FormAction, "form-action"),
    (Directive::FrameAncestors, "frame-ancestors"),
];

impl Directive {
    pub fn as_str(self) -> &'static str {
        DIRECTIVES.iter().find(|(d, _)| *d == self).map(|(_, name)| *name).unwrap_or("default-src")
    }

    /// Directives where a nonce, a hash or `'strict-dynamic'` mean something.
    fn takes_script_sources(self) -> bool {
        matches!(
            self,
            Self::DefaultSrc
                | Self::ScriptSrc
                | Self::ScriptSrcElem
                | Self::ScriptSrcAttr
                | Self::StyleSrc
                | Self::StyleSrcElem
                | Self::StyleSrcAttr
        )
    }
}

impl FromStr for Directive {
    type Err = CspError;

    fn from_str(s: &str) -> Result<Self, CspError> {
        DIRECTIVES
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(s))
            .map(|(d, _)| *d)
            .ok_or_else(|| CspError::UnknownDirective(s.to_owned()))
    }
}

impl fmt::Display for Directive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A hash algorithm for `'sha256-…'` style sources.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlgorithm {
    fn prefix(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    fn digest_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

/// One entry of a source list.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Source {
    /// `'none'`: nothing; must be alone.
    None,
    /// `'self'`: the page's own origin.
    SelfOrigin,
    /// This response's nonce (`'nonce-…'`), fresh for every response.
    Nonce,
    /// `'strict-dynamic'`: scripts a nonced script loads are trusted too;
    /// host allow-lists and `'self'` are ignored by browsers that know it.
    StrictDynamic,
    UnsafeInline,
    UnsafeEval,
    UnsafeHashes,
    WasmUnsafeEval,
    ReportSample,
    /// `'sha384-<base64>'`: an inline script or style with exactly this hash.
    Hash(HashAlgorithm, String),
    /// `https:`, `data:`, `blob:` …
    Scheme(String),
    /// `https://cdn.example.com`, `*.example.com`, `example.com:8443/js/`.
    Host(String),
}

impl Source {
    /// Parses one source as written in a policy (`'self'`, `https:`,
    /// `https://cdn.example.com`, `'sha256-…'`). `'nonce-…'` written out is
    /// refused: a fixed nonce is no nonce; use [`Source::Nonce`].
    pub fn parse(text: &str) -> Result<Self, CspError> {
        let bad = || CspError::InvalidSource(text.to_owned());
        let lower = text.to_ascii_lowercase();
        let keyword = match lower.as_str() {
            "'none'" => Some(Self::None),
            "'self'" => Some(Self::SelfOrigin),
            "'strict-dynamic'" => Some(Self::StrictDynamic),
            "'unsafe-inline'" => Some(Self::UnsafeInline),
            "'unsafe-eval'" => Some(Self::UnsafeEval),
            "'unsafe-hashes'" => Some(Self::UnsafeHashes),
            "'wasm-unsafe-eval'" => Some(Self::WasmUnsafeEval),
            "'report-sample'" => Some(Self::ReportSample),
            _ => None,
        };
        if let Some(keyword) = keyword {
            return Ok(keyword);
        }
        if lower.starts_with("'nonce-") {
            return Err(CspError::FixedNonce);
        }
        if let Some(inner) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
            let (alg, value) = inner.split_once('-').ok_or_else(bad)?;
            let alg = match alg.to_ascii_lowercase().as_str() {
                "sha256" => HashAlgorithm::Sha256,
                "sha384" => HashAlgorithm::Sha384,
                "sha512" => HashAlgorithm::Sha512,
                _ => return Err(bad()),
            };
            return Self::hash(alg, value);
        }
        if is_scheme_source(text) {
            return Ok(Self::Scheme(lower));
        }
        if is_host_source(text) {
            return Ok(Self::Host(text.to_owned()));
        }
        Err(bad())
    }

    /// `'sha…-<base64>'` from a base64 digest, checked for length.
    pub fn hash(alg: HashAlgorithm, base64_digest: &str) -> Result<Self, CspError> {
        use base64::Engine;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(base64_digest)
            .map_err(|_| CspError::InvalidSource(format!("'{}-{base64_digest}'", alg.prefix())))?;
        if decoded.len() != alg.digest_len() {
            return Err(CspError::InvalidSource(format!("'{}-{base64_digest}'", alg.prefix())));
        }
        Ok(Self::Hash(alg, base64_digest.to_owned()))
    }

    fn write(&self, out: &mut String, nonce: Option<&str>) {
        let text = match self {
            Self::None => "'none'",
            Self::SelfOrigin => "'self'",
            Self::Nonce => {
                if let Some(nonce) = nonce {
                    out.push_str("'nonce-");
                    out.push_str(nonce);
                    out.push('\'');
                }
                return;
            }
            Self::StrictDynamic => "'strict-dynamic'",
            Self::UnsafeInline => "'unsafe-inline'",
            Self::UnsafeEval => "'unsafe-eval'",
            Self::UnsafeHashes => "'unsafe-hashes'",
            Self::WasmUnsafeEval => "'wasm-unsafe-eval'",
            Self::ReportSample => "'report-sample'",
            Self::Hash(alg, digest) => {
                out.push('\'');
                out.push_str(alg.prefix());
                out.push('-');
                out.push_str(digest);
                out.push('\'');
                return;
            }
            Self::Scheme(s) | Self::Host(s) => s,
        };
        out.push_str(text);
    }

    /// Sources that can allow a script or style to run by themselves
    /// (everything but modifiers like `'strict-dynamic'`).
    fn allows_something(&self, nonce_present: bool) -> bool {
        match self {
            Self::Nonce => nonce_present,
            Self::StrictDynamic | Self::ReportSample | Self::UnsafeHashes | Self::None => false,
            _ => true,
        }
    }
}

/// A nonce-based directive on a response whose page used no nonce.
///
/// Next to a nonce, `'unsafe-inline'` and (with `'strict-dynamic'`) host
/// and scheme sources are fallbacks for older browsers: CSP2 browsers ignore
/// `'unsafe-inline'` when a nonce is present, CSP3 browsers ignore hosts and
/// schemes under `'strict-dynamic'`. Without the nonce they would stop being
/// ignored, and a CSP2 browser would run any inline script on the page (an
/// XSS on an error page). So they go with the nonce; only hashes (and the
/// modifiers that go with them) stay, and a directive left with nothing
/// that allows a script is `'none'`.
fn write_without_nonce(out: &mut String, sources: &[Source]) {
    let strict_dynamic = sources.contains(&Source::StrictDynamic);
    let kept: Vec<&Source> = sources
        .iter()
        .filter(|source| match source {
            Source::Nonce | Source::UnsafeInline => false,
            Source::Hash(..) | Source::UnsafeEval | Source::WasmUnsafeEval | Source::ReportSample => true,
            Source::StrictDynamic => true,
            _ => !strict_dynamic,
        })
        .collect();
    if !kept.iter().any(|s| s.allows_something(false)) {
        out.push_str(" 'none'");
        return;
    }
    for source in kept {
        out.push(' ');
        source.write(out, None);
    }
}

/// `scheme:` — RFC 3986 scheme followed by a colon, nothing else.
fn is_scheme_source(text: &str) -> bool {
    let Some(scheme) = text.strip_suffix(':') else { return false };
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
}

/// `[scheme://]host[:port][/path]` with a conservative character set: no
/// quotes, semicolons, commas or whitespace can end up in the header (they
/// would let a configured value smuggle in another directive).
fn is_host_source(text: &str) -> bool {
    let rest = match text.split_once("://") {
        Some((scheme, rest)) if is_scheme_source(&format!("{scheme}:")) => rest,
        Some(_) => return false,
        None => text,
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let host = host.strip_prefix("*.").unwrap_or(host);
    let host_ok = host == "*"
        || (!host.is_empty()
            && host.split('.').all(|l| {
                !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') && !l.starts_with('-')
            }));
    let port_ok =
        port.is_none_or(|p| p == "*" || (!p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())));
    let path_ok = path.bytes().all(|b| b.is_ascii_alphanumeric() || b"/-._~%!$&()*+=@:".contains(&b));
    host_ok && port_ok && path_ok
}

/// Why a policy was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CspError {
    #[error("unknown CSP directive {0:?}")]
    UnknownDirective(String),
    #[error("malformed CSP source {0:?}")]
    InvalidSource(String),
    #[error("a nonce written into the policy is the same for every response; use Source::Nonce")]
    FixedNonce,
    #[error("{0} has an empty source list; write 'none' to allow nothing")]
    Empty(Directive),
    #[error("'none' must be the only source of {0}")]
    NoneWithOthers(Directive),
    #[error("{source_text} means nothing in {directive} (only script and style directives take nonces, hashes, 'unsafe-…' and 'strict-dynamic')")]
    NotAllowedIn { directive: Directive, source_text: String },
    #[error("{0} is given twice")]
    Duplicate(Directive),
    #[error(
        "report-uri {0:?} must be a path (/csp-report) or an https:// URL without spaces, quotes, commas or semicolons"
    )]
    InvalidReportUri(String),
    #[error("report-to group {0:?} must be a token (letters, digits, - and _)")]
    InvalidReportTo(String),
}

/// A Content-Security-Policy.
///
/// [`ContentSecurityPolicy::strict`] is the default: a nonce-based policy
/// (the approach Google's CSP evaluator recommends) that stops injected
/// scripts — the point of CSP — while letting the page's own nonced
/// scripts, and what they load, run:
///
/// `default-src 'self'; script-src 'nonce-…' 'strict-dynamic'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentSecurityPolicy {
    directives: Vec<(Directive, Vec<Source>)>,
    trusted_types: bool,
    upgrade_insecure_requests: bool,
    report_uri: Option<String>,
    report_to: Option<String>,
}

impl Default for ContentSecurityPolicy {
    fn default() -> Self {
        Self::strict()
    }
}

impl ContentSecurityPolicy {
    /// The default policy.
    ///
    /// - `default-src 'self'`: everything else only from this origin.
    /// - `script-src 'nonce-…' 'strict-dynamic'`: injected `<script>` tags
    ///   and inline event handlers do not run (XSS); no host allow-list to
    ///   bypass through a JSONP endpoint or an old library on a CDN.
    /// - `object-src 'none'`: no plugins (Flash-era script execution).
    /// - `base-uri 'none'`: an injected `<base>` cannot re-point relative
    ///   script URLs at the attacker's server.
    /// - `frame-ancestors 'none'`: no framing (clickjacking).
    /// - `form-action 'self'`: an injected form cannot post credentials away.
    pub fn strict() -> Self {
        Self::empty()
            .with(Directive::DefaultSrc, [Source::SelfOrigin])
            .with(Directive::ScriptSrc, [Source::Nonce, Source::StrictDynamic])
            .with(Directive::ObjectSrc, [Source::None])
            .with(Directive::BaseUri, [Source::None])
            .with(Directive::FrameAncestors, [Source::None])
            .with(Directive::FormAction, [Source::SelfOrigin])
    }

    /// A policy with no directives (allows everything until you add some).
    pub fn empty() -> Self {
        Self {
            directives: Vec::new(),
            trusted_types: false,
            upgrade_insecure_requests: false,
            report_uri: None,
            report_to: None,
        }
    }

    /// Sets `directive` to `sources`, replacing what it had.
    pub fn with(mut self, directive: Directive, sources: impl IntoIterator<Item = Source>) -> Self {
        let sources: Vec<Source> = sources.into_iter().collect();
        match self.directives.iter_mut().find(|(d, _)| *d == directive) {
            Some(entry) => entry.1 = sources,
            None => self.directives.push((directive, sources)),
        }
        self
    }

    /// Removes `directive`.
    pub fn without(mut self, directive: Directive) -> Self {
        self.directives.retain(|(d, _)| *d != directive);
        self
    }

    /// `require-trusted-types-for 'script'`: DOM XSS sinks (`innerHTML`,
    /// `eval`, …) refuse plain strings; only Trusted Types pass.
    pub fn require_trusted_types(mut self) -> Self {
        self.trusted_types = true;
        self
    }

    /// `upgrade-insecure-requests`: `http://` subresources are fetched over HTTPS.
    pub fn upgrade_insecure_requests(mut self) -> Self {
        self.upgrade_insecure_requests = true;
        self
    }

    /// `report-uri <uri>`: where browsers POST violation reports.
    pub fn report_uri(mut self, uri: impl Into<String>) -> Self {
        self.report_uri = Some(uri.into());
        self
    }

    /// `report-to <group>`: the Reporting API group (declared with a
    /// `Reporting-Endpoints` header).
    pub fn report_to(mut self, group: impl Into<String>) -> Self {
        self.report_to = Some(group.into());
        self
    }

    /// True when this policy lets inline `<script>` run: the script sources
    /// (`script-src`, else `default-src`) are missing, or allow
    /// `'unsafe-inline'` without a nonce or hash next to it (browsers ignore
    /// `'unsafe-inline'` only then). Such a policy does not stop XSS.
    pub fn allows_inline_scripts(&self) -> bool {
        let Some(sources) = self.sources(Directive::ScriptSrc).or_else(|| self.sources(Directive::DefaultSrc)) else {
            return true;
        };
        let neutralised = sources.iter().any(|s| matches!(s, Source::Nonce | Source::Hash(..)));
        sources.contains(&Source::UnsafeInline) && !neutralised
    }

    /// The sources of `directive`, if set.
    pub fn sources(&self, directive: Directive) -> Option<&[Source]> {
        self.directives.iter().find(|(d, _)| *d == directive).map(|(_, s)| s.as_slice())
    }

    /// Parses a policy string (for moving an existing one over). Unknown
    /// directives, malformed sources and written-out nonces are errors.
    pub fn parse(text: &str) -> Result<Self, CspError> {
        let mut policy = Self::empty();
        let mut seen = Vec::new();
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let mut words = part.split_ascii_whitespace();
            let name = words.next().unwrap_or_default();
            let values: Vec<&str> = words.collect();
            match name.to_ascii_lowercase().as_str() {
                "require-trusted-types-for" if values == ["'script'"] => policy.trusted_types = true,
                "upgrade-insecure-requests" if values.is_empty() => policy.upgrade_insecure_requests = true,
                "report-uri" if values.len() == 1 => policy.report_uri = Some(values[0].to_owned()),
                "report-to" if values.len() == 1 => policy.report_to = Some(values[0].to_owned()),
                _ => {
                    let directive: Directive = name.parse()?;
                    if seen.contains(&directive) {
                        return Err(CspError::Duplicate(directive));
                    }
                    seen.push(directive);
                    let sources = values.into_iter().map(Source::parse).collect::<Result<Vec<_>, _>>()?;
                    policy = policy.with(directive, sources);
                }
            }
        }
        policy.validate()?;
        Ok(policy)
    }

    /// Checks the policy; the layer's builder calls this at startup.
    pub fn validate(&self) -> Result<(), CspError> {
        for (directive, sources) in &self.directives {
            if sources.is_empty() {
                return Err(CspError::Empty(*directive));
            }
            if sources.contains(&Source::None) && sources.len() > 1 {
                return Err(CspError::NoneWithOthers(*directive));
            }
            for source in sources {
                let script_only = matches!(
                    source,
                    Source::Nonce
                        | Source::Hash(..)
                        | Source::StrictDynamic
                        | Source::UnsafeInline
                        | Source::UnsafeEval
                        | Source::UnsafeHashes
                        | Source::WasmUnsafeEval
                        | Source::ReportSample
                );
                if script_only && !directive.takes_script_sources() {
                    let mut source_text = String::new();
                    source.write(&mut source_text, Some("…"));
                    return Err(CspError::NotAllowedIn { directive: *directive, source_text });
                }
            }
        }
        if let Some(uri) = &self.report_uri {
            let path_or_https = uri.starts_with('/') || uri.starts_with("https://");
            let clean = uri.bytes().all(|b| b.is_ascii_graphic() && !b"\"';,".contains(&b));
            if !path_or_https || !clean || uri.starts_with("//") {
                return Err(CspError::InvalidReportUri(uri.clone()));
            }
        }
        if let Some(group) = &self.report_to {
            if group.is_empty() || !group.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return Err(CspError::InvalidReportTo(group.clone()));
            }
        }
        Ok(())
    }

    /// Whether the policy says where to send violation reports.
    pub fn has_report_destination(&self) -> bool {
        self.report_uri.is_some() || self.report_to.is_some()
    }

    /// Whether any directive uses the per-response nonce.
    pub fn uses_nonce(&self) -> bool {
        self.directives.iter().any(|(_, sources)| sources.contains(&Source::Nonce))
    }

    /// The header value. `nonce`: this response's nonce, or `None` when the
    /// page used none — then the nonce source is left out, and a directive
    /// left with nothing that can allow a script becomes `'none'`.
    pub fn render(&self, nonce: Option<&str>) -> String {
        let mut out = String::with_capacity(256);
        for (directive, sources) in &self.directives {
            if !out.is_empty() {
                out.push_str("; ");
            }
            out.push_str(directive.as_str());
            if nonce.is_none() && sources.contains(&Source::Nonce) {
                write_without_nonce(&mut out, sources);
                continue;
            }
            for source in sources {
                out.push(' ');
                source.write(&mut out, nonce);
            }
        }
        let mut extra = |text: &str| {
            if !out.is_empty() {
                out.push_str("; ");
            }
            out.push_str(text);
        };
        if self.trusted_types {
            extra("require-trusted-types-for 'script'");
        }
        if self.upgrade_insecure_requests {
            extra("upgrade-insecure-requests");
        }
        if let Some(uri) = &self.report_uri {
            extra(&format!("report-uri {uri}"));
        }
        if let Some(group) = &self.report_to {
            extra(&format!("report-to {group}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_policy_renders_exactly_the_documented_default() {
        assert_eq!(
            ContentSecurityPolicy::strict().render(Some("abc")),
            "default-src 'self'; script-src 'nonce-abc' 'strict-dynamic'; object-src 'none'; base-uri 'none'; \
             frame-ancestors 'none'; form-action 'self'"
        );
    }

    #[test]
    fn without_a_used_nonce_scripts_are_not_allowed_at_all() {
        assert_eq!(
            ContentSecurityPolicy::strict().render(None),
            "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
             form-action 'self'"
        );
        // A directive with other real sources just drops the nonce.
        let p = ContentSecurityPolicy::empty().with(Directive::StyleSrc, [Source::SelfOrigin, Source::Nonce]);
        assert_eq!(p.render(None), "style-src 'self'");
    }

    #[test]
    fn inline_scripts_are_allowed_only_without_script_sources_or_with_a_bare_unsafe_inline() {
        assert!(!ContentSecurityPolicy::strict().allows_inline_scripts());
        assert!(ContentSecurityPolicy::empty().allows_inline_scripts(), "no script-src, no default-src");
        let bare =
            ContentSecurityPolicy::empty().with(Directive::ScriptSrc, [Source::SelfOrigin, Source::UnsafeInline]);
        assert!(bare.allows_inline_scripts());
        let nonced = ContentSecurityPolicy::empty().with(Directive::ScriptSrc, [Source::Nonce, Source::UnsafeInline]);
        assert!(!nonced.allows_inline_scripts(), "ignored next to a nonce");
        let fallback = ContentSecurityPolicy::empty().with(Directive::DefaultSrc, [Source::UnsafeInline]);
        assert!(fallback.allows_inline_scripts(), "default-src stands in for script-src");
    }

    #[test]
    fn fallbacks_for_older_browsers_leave_with_the_unused_nonce() {
        let https = Source::parse("https:").unwrap();
        let backward_compatible = ContentSecurityPolicy::empty()
            .with(Directive::ScriptSrc, [Source::Nonce, Source::StrictDynamic, Source::UnsafeInline, https.clone()]);
        assert_eq!(
            backward_compatible.render(Some("n")),
            "script-src 'nonce-n' 'strict-dynamic' 'unsafe-inline' https:"
        );
        // A CSP2 browser must not run inline script on a page without a nonce.
        assert_eq!(backward_compatible.render(None), "script-src 'none'");
        // Hashes are real allowances and stay (with what modifies them).
        let hash = Source::parse("'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='").unwrap();
        let hashed = ContentSecurityPolicy::empty().with(
            Directive::ScriptSrc,
            [Source::Nonce, hash, Source::StrictDynamic, Source::UnsafeInline, https.clone()],
        );
        assert_eq!(
            hashed.render(None),
            "script-src 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=' 'strict-dynamic'"
        );
        // Without 'strict-dynamic' hosts are real allowances; 'unsafe-inline' is still a fallback.
        let hosts = ContentSecurityPolicy::empty()
            .with(Directive::ScriptSrc, [Source::Nonce, Source::UnsafeInline, Source::SelfOrigin]);
        assert_eq!(hosts.render(None), "script-src 'self'");
    }

    #[test]
    fn trusted_types_and_reporting_switches() {
        let p = ContentSecurityPolicy::strict()
            .require_trusted_types()
            .upgrade_insecure_requests()
            .report_uri("/csp-report")
            .report_to("csp");
        p.validate().unwrap();
        let text = p.render(Some("n"));
        assert!(
            text.ends_with(
                "; require-trusted-types-for 'script'; upgrade-insecure-requests; report-uri /csp-report; report-to csp"
            ),
            "{text}"
        );
    }

    #[test]
    fn parses_and_renders_back() {
        let text = "default-src 'self'; img-src 'self' https: data: https://*.example.com:8443/img/; \
                    script-src 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=' 'strict-dynamic'";
        let policy = ContentSecurityPolicy::parse(text).unwrap();
        assert_eq!(policy.render(None), text);
    }

    #[test]
    fn unknown_directives_and_bad_sources_are_refused() {
        assert_eq!(
            ContentSecurityPolicy::parse("script-scr 'self'"),
            Err(CspError::UnknownDirective("script-scr".into()))
        );
        for bad in [
            "'sefl'",
            "https://exa mple.com",
            "example.com;script-src",
            "\"self\"",
            "'sha256-tooshort'",
            "'md5-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
            "https://example.com:99999999",
            "-bad.example",
            "exämple.com",
            "https://",
            "ht tp://x",
        ] {
            assert!(Source::parse(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(Source::parse("'nonce-abc'"), Err(CspError::FixedNonce));
        for good in ["'self'", "https:", "data:", "*.example.com", "https://cdn.example.com/js/", "example.com:*", "*"]
        {
            assert!(Source::parse(good).is_ok(), "{good} refused");
        }
    }

    #[test]
    fn structural_mistakes_are_refused() {
        let empty = ContentSecurityPolicy::empty().with(Directive::ImgSrc, []);
        assert_eq!(empty.validate(), Err(CspError::Empty(Directive::ImgSrc)));
        let none = ContentSecurityPolicy::empty().with(Directive::ImgSrc, [Source::None, Source::SelfOrigin]);
        assert_eq!(none.validate(), Err(CspError::NoneWithOthers(Directive::ImgSrc)));
        let nonce = ContentSecurityPolicy::empty().with(Directive::FrameAncestors, [Source::Nonce]);
        assert!(matches!(nonce.validate(), Err(CspError::NotAllowedIn { directive: Directive::FrameAncestors, .. })));
        assert_eq!(
            ContentSecurityPolicy::parse("img-src 'self'; img-src https:"),
            Err(CspError::Duplicate(Directive::ImgSrc))
        );
        for uri in ["//evil.example/r", "http://x/r", "/r; script-src *", "report"] {
            assert!(ContentSecurityPolicy::strict().report_uri(uri).validate().is_err(), "{uri}");
        }
        assert!(ContentSecurityPolicy::strict().report_to("a b").validate().is_err());
    }

    #[test]
    fn with_replaces_and_without_removes() {
        let p =
            ContentSecurityPolicy::strict().with(Directive::DefaultSrc, [Source::None]).without(Directive::FormAction);
        assert_eq!(p.sources(Directive::DefaultSrc), Some(&[Source::None][..]));
        assert_eq!(p.sources(Directive::FormAction), None);
        assert!(p.uses_nonce());
        assert!(!ContentSecurityPolicy::strict().with(Directive::ScriptSrc, [Source::SelfOrigin]).uses_nonce());
    }
}
