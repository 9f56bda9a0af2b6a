//! A minimal `User-Agent` reader: browser family, major version and
//! operating system, enough to bind a session to "the same browser" and to
//! label a device on a "your devices" page.
//!
//! Deliberately small and hand-written: the answer only has to be stable
//! for one browser between two of its requests and readable by its owner.
//! Unknown agents fall back to their first `product/version` token.

use std::fmt;

/// Longest browser name kept (anything longer is cut).
const MAX_BROWSER_LEN: usize = 32;

/// What a `User-Agent` says about the browser, roughly.
///
/// ```
/// use palisade::binding::UserAgentSummary;
/// let ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
/// let summary = UserAgentSummary::parse(ua);
/// assert_eq!(summary.to_string(), "Chrome 120 on Linux");
/// assert_eq!(summary.browser_major(), "Chrome 120");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserAgentSummary {
    /// Browser family (`Chrome`, `Firefox`, `Safari`, `Edge`, …), or the
    /// first product token of an unknown agent (`curl`), or `Unknown`.
    pub browser: String,
    /// The browser's major version, when it has one.
    pub major: Option<u32>,
    /// The operating system, when recognised.
    pub os: Option<&'static str>,
}

/// Product tokens of browsers that also claim to be another one, checked
/// before the one they imitate (Edge and Opera say `Chrome/`, Chrome says
/// `Safari/`). `(token, family)`.
const BROWSERS: &[(&str, &str)] = &[
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("HeadlessChrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
];

/// `(marker, os)`, most specific first: iOS agents say "like Mac OS X" and
/// Android agents say "Linux".
const SYSTEMS: &[(&str, &str)] = &[
    ("iPhone", "iOS"),
    ("iPad", "iOS"),
    ("iPod", "iOS"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Macintosh", "macOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
];

impl UserAgentSummary {
    /// Reads `ua`. Never fails: an unreadable agent is `Unknown`.
    pub fn parse(ua: &str) -> Self {
        let os = SYSTEMS.iter().find(|(marker, _)| ua.contains(marker)).map(|(_, os)| *os);
        for (token, family) in BROWSERS {
            if let Some(major) = version_after(ua, token) {
                return Self { browser: (*family).to_owned(), major, os };
            }
        }
        if ua.contains("Safari/") {
            if let Some(major) = version_after(ua, "Version/") {
                return Self { browser: "Safari".to_owned(), major, os };
            }
        }
        // Not a browser we know: its first `name/version` token (curl/8.5.0).
        if let Some((name, rest)) = ua.split_whitespace().next().and_then(|t| t.split_once('/')) {
            let name: String = name
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .take(MAX_BROWSER_LEN)
                .collect();
            if !name.is_empty() && name != "Mozilla" {
                return Self { browser: name, major: leading_number(rest), os };
            }
        }
        Self { browser: "Unknown".to_owned(), major: None, os }
    }

    /// Browser family and major version (`Chrome 120`): what
    /// [`UserAgentMatch::BrowserMajor`](super::UserAgentMatch::BrowserMajor)
    /// compares.
    pub fn browser_major(&self) -> String {
        match self.major {
            Some(major) => format!("{} {major}", self.browser),
            None => self.browser.clone(),
        }
    }
}

impl UserAgentSummary {
    /// Browser family and platform (`Chrome/linux`): what stays the same
    /// when a browser updates or asks for the desktop site. Android's
    /// desktop mode says Linux and iOS's says macOS, so each pair is one
    /// platform; an unknown system is its own.
    pub fn family_and_platform(&self) -> String {
        let platform = match self.os {
            Some("Android" | "Linux" | "ChromeOS") => "linux",
            Some("iOS" | "macOS") => "apple",
            Some("Windows") => "windows",
            Some(other) => other,
            None => "unknown",
        };
        format!("{}/{platform}", self.browser)
    }
}

impl fmt::Display for UserAgentSummary {
    /// `Chrome 120 on Linux`, `curl 8`, `Unknown browser`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.browser == "Unknown" {
            f.write_str("Unknown browser")?;
        } else {
            f.write_str(&self.browser_major())?;
        }
        match self.os {
            Some(os) => write!(f, " on {os}"),
            None => Ok(()),
        }
    }
}

/// `Some(major)` when `token` occurs in `ua` (the major may be unreadable).
fn version_after(ua: &str, token: &str) -> Option<Option<u32>> {
    let start = ua.find(token)? + token.len();
    Some(leading_number(&ua[start..]))
}

fn leading_number(s: &str) -> Option<u32> {
    let digits: String = s.chars().take_while(char::is_ascii_digit).take(9).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(ua: &str) -> String {
        UserAgentSummary::parse(ua).to_string()
    }

    #[test]
    fn recognises_the_common_browsers() {
        let cases = [
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "Chrome 120 on Windows"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91", "Edge 120 on Windows"),
            ("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox 121 on Linux"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15", "Safari 17 on macOS"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1", "Safari 17 on iOS"),
            ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36", "Chrome 120 on Android"),
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36", "Chrome 131 on Linux"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0", "Opera 106 on Windows"),
        ];
        for (ua, expected) in cases {
            assert_eq!(summary(ua), expected, "{ua}");
        }
    }

    #[test]
    fn unknown_agents_fall_back_to_their_first_product() {
        assert_eq!(summary("curl/8.5.0"), "curl 8");
        assert_eq!(summary(""), "Unknown browser");
        assert_eq!(summary("Mozilla/5.0"), "Unknown browser");
        assert_eq!(summary("<script>/1"), "script 1", "only safe characters are kept");
    }

    #[test]
    fn a_browser_update_changes_the_major_version() {
        let old = UserAgentSummary::parse("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0");
        let new = UserAgentSummary::parse("Mozilla/5.0 (X11; Linux x86_64; rv:122.0) Gecko/20100101 Firefox/122.0");
        assert_ne!(old.browser_major(), new.browser_major());
        assert_eq!(old.browser, new.browser);
    }
}
