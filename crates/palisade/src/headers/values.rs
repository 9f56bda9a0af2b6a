//! Typed values of the security headers other than CSP.

use http::HeaderValue;
use std::time::Duration;

/// `Strict-Transport-Security`, sent on HTTPS responses only.
///
/// Default `max-age=63072000; includeSubDomains` (two years, as
/// hstspreload.org recommends): after one HTTPS visit the browser never
/// again tries plain HTTP for this host, so an attacker on the network
/// cannot strip TLS (sslstrip) or read a cookie from an `http://` request.
/// `preload` is left to you: it is a commitment (submission to the
/// browsers' lists) that is slow to undo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hsts {
    max_age: Duration,
    include_subdomains: bool,
    preload: bool,
}

impl Default for Hsts {
    fn default() -> Self {
        Self { max_age: Duration::from_secs(2 * 365 * 24 * 3600), include_subdomains: true, preload: false }
    }
}

/// What the preload lists require.
const PRELOAD_MIN_AGE: Duration = Duration::from_secs(365 * 24 * 3600);

impl Hsts {
    /// `max-age` only (no `includeSubDomains`).
    pub fn max_age(max_age: Duration) -> Self {
        Self { max_age, include_subdomains: false, preload: false }
    }

    pub fn include_subdomains(mut self) -> Self {
        self.include_subdomains = true;
        self
    }

    /// `preload`; the builder refuses it without `includeSubDomains` and a
    /// `max-age` of at least a year (the lists would reject the site).
    pub fn preload(mut self) -> Self {
        self.preload = true;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), super::HeadersConfigError> {
        if self.preload && (!self.include_subdomains || self.max_age < PRELOAD_MIN_AGE) {
            return Err(super::HeadersConfigError::HstsPreload);
        }
        Ok(())
    }

    pub(crate) fn value(&self) -> HeaderValue {
        let mut text = format!("max-age={}", self.max_age.as_secs());
        if self.include_subdomains {
            text.push_str("; includeSubDomains");
        }
        if self.preload {
            text.push_str("; preload");
        }
        HeaderValue::try_from(text).unwrap_or(HeaderValue::from_static("max-age=63072000; includeSubDomains"))
    }
}

macro_rules! header_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum $name { $($(#[$vdoc])* $variant,)+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text,)+ }
            }

            pub(crate) fn value(self) -> HeaderValue {
                HeaderValue::from_static(self.as_str())
            }
        }
    };
}

header_enum! {
    /// `X-Frame-Options`, for browsers that predate CSP `frame-ancestors`.
    /// Default `DENY`: no site can frame the page (clickjacking).
    FrameOptions {
        Deny => "DENY",
        SameOrigin => "SAMEORIGIN",
    }
}

header_enum! {
    /// `Referrer-Policy`. Default `strict-origin-when-cross-origin`: other
    /// sites see only the origin, never paths or query strings (which can
    /// hold tokens or personal data), and nothing at all over plain HTTP.
    ReferrerPolicy {
        NoReferrer => "no-referrer",
        NoReferrerWhenDowngrade => "no-referrer-when-downgrade",
        Origin => "origin",
        OriginWhenCrossOrigin => "origin-when-cross-origin",
        SameOrigin => "same-origin",
        StrictOrigin => "strict-origin",
        StrictOriginWhenCrossOrigin => "strict-origin-when-cross-origin",
        UnsafeUrl => "unsafe-url",
    }
}

header_enum! {
    /// `Cross-Origin-Opener-Policy`. Default `same-origin`: a page from
    /// another site that opens ours (or that ours opens) gets no
    /// `window.opener` handle to it (tab-nabbing, XS-Leaks) and the page is
    /// isolated in its own browsing-context group (Spectre).
    CrossOriginOpenerPolicy {
        SameOrigin => "same-origin",
        SameOriginAllowPopups => "same-origin-allow-popups",
        UnsafeNone => "unsafe-none",
    }
}

header_enum! {
    /// `Cross-Origin-Resource-Policy`. Default `same-origin`: other sites
    /// cannot embed our responses (`<img>`, `<script>`) to read them through
    /// side channels (Spectre, XS-Leaks). Relax to `same-site` or
    /// `cross-origin` for assets you really serve to other sites.
    CrossOriginResourcePolicy {
        SameOrigin => "same-origin",
        SameSite => "same-site",
        CrossOrigin => "cross-origin",
    }
}

header_enum! {
    /// `X-XSS-Protection`. Default `0`: the old XSS auditor of IE, Edge
    /// and Chrome has been removed because it did harm — attackers used its
    /// selective blocking to disable a page's own scripts and to leak
    /// cross-site data (XS-Search), and it never stopped DOM XSS. CSP is the
    /// defence now; `0` turns the auditor off in browsers that still have
    /// it. `Block` (`1; mode=block`) exists for policies that insist.
    XssProtection {
        Disabled => "0",
        Block => "1; mode=block",
    }
}

/// `Permissions-Policy`: which powerful browser features the page (and the
/// frames in it) may use.
///
/// Default: the features below are denied to everyone (`feature=()`), so
/// an injected script or a compromised third-party frame cannot turn on the
/// camera, microphone or location, or take payments. Allow what your page
/// needs with [`allow_self`](Self::allow_self). WebAuthn, fullscreen and
/// autoplay are left alone: denying them breaks ordinary pages without
/// stopping an attack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermissionsPolicy {
    entries: Vec<(String, Allow)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Allow {
    Nobody,
    SelfOnly,
}

/// Denied by [`PermissionsPolicy::deny_powerful_features`]: every feature
/// behind a permission prompt or touching hardware, plus interest-based ads.
pub const DENIED_FEATURES: &[&str] = &[
    "accelerometer",
    "browsing-topics",
    "camera",
    "display-capture",
    "geolocation",
    "gyroscope",
    "hid",
    "idle-detection",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "screen-wake-lock",
    "serial",
    "usb",
    "xr-spatial-tracking",
];

impl Default for PermissionsPolicy {
    fn default() -> Self {
        Self::deny_powerful_features()
    }
}

impl PermissionsPolicy {
    /// The default: [`DENIED_FEATURES`] denied.
    pub fn deny_powerful_features() -> Self {
        Self { entries: DENIED_FEATURES.iter().map(|f| ((*f).to_owned(), Allow::Nobody)).collect() }
    }

    /// No entries.
    pub fn empty() -> Self {
        Self { entries: Vec::new() }
    }

    /// `feature=()`.
    pub fn deny(self, feature: &str) -> Self {
        self.set(feature, Allow::Nobody)
    }

    /// `feature=(self)`: this origin may use it, frames from others may not.
    pub fn allow_self(self, feature: &str) -> Self {
        self.set(feature, Allow::SelfOnly)
    }

    fn set(mut self, feature: &str, allow: Allow) -> Self {
        match self.entries.iter_mut().find(|(f, _)| f == feature) {
            Some(entry) => entry.1 = allow,
            None => self.entries.push((feature.to_owned(), allow)),
        }
        self
    }

    pub(crate) fn validate(&self) -> Result<(), super::HeadersConfigError> {
        for (feature, _) in &self.entries {
            let ok = feature.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
                && feature.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !ok {
                return Err(super::HeadersConfigError::PermissionsFeature(feature.clone()));
            }
        }
        Ok(())
    }

    pub(crate) fn render(&self) -> String {
        let parts: Vec<String> = self
            .entries
            .iter()
            .map(|(f, allow)| match allow {
                Allow::Nobody => format!("{f}=()"),
                Allow::SelfOnly => format!("{f}=(self)"),
            })
            .collect();
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsts_default_and_preload_rules() {
        assert_eq!(Hsts::default().value(), "max-age=63072000; includeSubDomains");
        assert_eq!(Hsts::max_age(Duration::from_secs(60)).value(), "max-age=60");
        assert!(Hsts::max_age(Duration::from_secs(60)).preload().validate().is_err());
        assert!(Hsts::max_age(PRELOAD_MIN_AGE).preload().validate().is_err(), "needs includeSubDomains");
        let ok = Hsts::default().preload();
        ok.validate().unwrap();
        assert_eq!(ok.value(), "max-age=63072000; includeSubDomains; preload");
    }

    #[test]
    fn permissions_policy_default_denies_powerful_features() {
        let text = PermissionsPolicy::default().render();
        for f in ["camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"] {
            assert!(text.contains(f), "{text}");
        }
        assert!(!text.contains("publickey-credentials"), "WebAuthn stays usable");
        let p = PermissionsPolicy::default().allow_self("camera");
        assert!(p.render().contains("camera=(self)") && !p.render().contains("camera=()"));
        assert!(PermissionsPolicy::empty().allow_self("Camera; evil").validate().is_err());
    }
}
