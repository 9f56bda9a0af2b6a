//! Session binding: a signed-in session only works from the client that
//! signed in.
//!
//! At [`auth::login`](crate::auth::login) the session records a fingerprint
//! of the client: its IP network and its user agent. Each later request that
//! loads the session compares it with its own client. This limits what a
//! **stolen session cookie** (malware, a leaked log or proxy dump, a shared
//! computer) is worth: replayed from the thief's machine it is refused.
//!
//! ```
//! use palisade::binding::{Binding, IpMatch, Mode, UserAgentMatch};
//! use palisade::{auth::AuthConfig, keys::KeyRing, session::SessionLayer, store::MemoryStore};
//!
//! // The default: a different browser ends the session; a different network
//! // only asks for the password again before sensitive actions.
//! let default = Binding::default();
//! // Stricter: also end the session when the IP leaves its /24 (or /64).
//! let strict = Binding::default().ip(Mode::Strong, IpMatch::Network { v4_prefix: 24, v6_prefix: 64 });
//! let layer = SessionLayer::server_side(MemoryStore::new(), KeyRing::generate())
//!     .auth(AuthConfig::new().binding(strict))
//!     .build()?;
//! # let _ = (default, layer, UserAgentMatch::Whole);
//! # Ok::<(), palisade::session::SessionConfigError>(())
//! ```
//!
//! # Modes
//! - [`Mode::Off`]: not compared.
//! - [`Mode::Basic`]: a mismatch marks the session **not fresh**, so actions
//!   behind [`CurrentUser::require_fresh`](crate::auth::CurrentUser::require_fresh)
//!   ask for the password again (Flask-Login's "basic" protection).
//! - [`Mode::Strong`]: a mismatch **destroys** the session (its record is
//!   deleted, so the legitimate copy dies too: one of the two is a thief),
//!   revokes the remember-me token it came from, logs a warning, and the
//!   request goes on as anonymous, so [`CurrentUser`](crate::auth::CurrentUser)
//!   sends it to the login page (or answers 401 to an API client).
//!
//! # Default and why
//! - **User agent: strong, by browser family and platform.** Another
//!   browser family (Chrome → Firefox) or another operating system
//!   (Linux → Windows) is another machine: the session is destroyed. The
//!   same browser can legitimately send another `User-Agent` within a
//!   session: an update restarts it with its session cookies restored, and
//!   "Request desktop site" swaps the mobile agent for a desktop one (Android
//!   → Linux, iPadOS and iOS → macOS, which count as one platform each).
//!   Such a change, any change of version or detail, only counts as a basic
//!   mismatch: the session lives on, not fresh (password again before
//!   sensitive actions). Destroying there logged users out for pressing a
//!   browser menu item, and made them switch binding off.
//! - **IP: basic, by network (/24 for IPv4, /64 for IPv6).** Phones change
//!   address when they move between cells, and often change networks
//!   entirely (Wi-Fi to mobile data). Ending the session there is what makes
//!   users switch Flask-Paranoid off. Comparing networks keeps a phone that
//!   stays on its carrier's pool (and an IPv6 host rotating its privacy
//!   addresses in its /64) in its session without a prompt; leaving the
//!   network only costs a password prompt before sensitive actions.
//!
//! The user agent is no secret: a careful thief copies it along with the
//! cookie. Binding is a speed bump behind HttpOnly, Secure and short
//! timeouts, not a replacement for them.
//!
//! The fingerprint is taken from the same client address the session layer
//! records: the trusted-proxy layer's, never a raw `X-Forwarded-For`
//! ([`crate::client`]).

mod layer;
mod user_agent;

pub use layer::{SkipBindingLayer, SkipBindingService};
pub use user_agent::UserAgentSummary;

use crate::client::ClientSnapshot;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What happens when a part of the fingerprint does not match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mode {
    /// Not compared.
    Off,
    /// A mismatch marks the session not fresh (password again before
    /// sensitive actions).
    Basic,
    /// A mismatch destroys the session and its remember-me token.
    Strong,
}

/// How much of the IP address must stay the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpMatch {
    /// The exact address. Logs out (or un-freshens) phones at every cell
    /// change; only for fixed clients (an intranet).
    Exact,
    /// The network of the address: the first `v4_prefix` bits of an IPv4
    /// address, the first `v6_prefix` bits of an IPv6 one.
    Network { v4_prefix: u8, v6_prefix: u8 },
}

/// How much of the `User-Agent` must stay the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserAgentMatch {
    /// The whole string. Under [`Mode::Strong`], only a change of browser
    /// family or platform destroys the session; any other change (a new
    /// version, the desktop-site switch) marks it not fresh.
    Whole,
    /// Browser family and major version only (see [`UserAgentSummary`]):
    /// tolerates agents that vary minor details between requests.
    BrowserMajor,
}

/// The binding policy: a mode and a granularity for each of IP and user
/// agent. See the [module docs](self) for the defaults and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Binding {
    ip_mode: Mode,
    ip: IpMatch,
    user_agent_mode: Mode,
    user_agent: UserAgentMatch,
}

/// /24 and /64: one carrier or household network (module docs).
const DEFAULT_NETWORK: IpMatch = IpMatch::Network { v4_prefix: 24, v6_prefix: 64 };

impl Default for Binding {
    /// User agent strong (whole string), IP basic by /24 and /64.
    fn default() -> Self {
        Self {
            ip_mode: Mode::Basic,
            ip: DEFAULT_NETWORK,
            user_agent_mode: Mode::Strong,
            user_agent: UserAgentMatch::Whole,
        }
    }
}

impl Binding {
    /// No binding at all.
    pub fn off() -> Self {
        Self { ip_mode: Mode::Off, user_agent_mode: Mode::Off, ..Self::default() }
    }

    /// Both parts [`Mode::Strong`], at the default granularity.
    pub fn strong() -> Self {
        Self { ip_mode: Mode::Strong, user_agent_mode: Mode::Strong, ..Self::default() }
    }

    /// Both parts [`Mode::Basic`], at the default granularity.
    pub fn basic() -> Self {
        Self { ip_mode: Mode::Basic, user_agent_mode: Mode::Basic, ..Self::default() }
    }

    /// Mode and granularity for the IP address.
    pub fn ip(mut self, mode: Mode, granularity: IpMatch) -> Self {
        self.ip_mode = mode;
        self.ip = granularity;
        self
    }

    /// The IP address is not compared (a server that cannot see client
    /// addresses; clients that hop networks all the time).
    pub fn ignoring_ip(mut self) -> Self {
        self.ip_mode = Mode::Off;
        self
    }

    /// Mode and granularity for the user agent.
    pub fn user_agent(mut self, mode: Mode, granularity: UserAgentMatch) -> Self {
        self.user_agent_mode = mode;
        self.user_agent = granularity;
        self
    }

    /// True when neither part is compared.
    pub fn is_off(&self) -> bool {
        self.ip_mode == Mode::Off && self.user_agent_mode == Mode::Off
    }

    /// True when the client's IP address is compared (so it must be known).
    pub fn compares_ip(&self) -> bool {
        self.ip_mode != Mode::Off
    }

    /// Refuses prefixes longer than the address.
    pub(crate) fn validate(&self) -> Result<(), BindingConfigError> {
        match self.ip {
            IpMatch::Network { v4_prefix, v6_prefix } if v4_prefix > 32 || v6_prefix > 128 => {
                Err(BindingConfigError::PrefixTooLong { v4_prefix, v6_prefix })
            }
            _ => Ok(()),
        }
    }
}

/// A binding policy that cannot work.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum BindingConfigError {
    #[error("IP prefix /{v4_prefix} (IPv4) or /{v6_prefix} (IPv6) is longer than the address (at most /32 and /128)")]
    PrefixTooLong { v4_prefix: u8, v6_prefix: u8 },
}

/// What a session remembers of the client that signed in. Stored in the
/// session under [`crate::auth`]'s reserved key; holds the network (not
/// the address) and a hash of the user agent, so it adds nothing the
/// record's own `ip` / `user_agent` do not already show.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Fingerprint {
    /// The client's network at login (`203.0.113.0/24`).
    #[serde(rename = "net", default, skip_serializing_if = "Option::is_none")]
    network: Option<String>,
    /// SHA-256 of the whole user agent (base64url).
    #[serde(rename = "ua", default, skip_serializing_if = "Option::is_none")]
    ua_hash: Option<String>,
    /// Browser family and major version (`Chrome 120`).
    #[serde(rename = "uab", default, skip_serializing_if = "Option::is_none")]
    ua_browser: Option<String>,
    /// Browser family and platform (`Chrome/linux`): what a strong user-agent
    /// binding destroys the session over. Absent in fingerprints of older
    /// versions (then the family is read from `uab`).
    #[serde(rename = "uaf", default, skip_serializing_if = "Option::is_none")]
    ua_family: Option<String>,
}

/// The outcome of comparing a fingerprint with a request's client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Match,
    /// Mark the session not fresh; `what` names the part that differed.
    NotFresh {
        what: &'static str,
    },
    /// Destroy the session.
    Destroy {
        what: &'static str,
    },
}

impl Fingerprint {
    /// The fingerprint of `client` under `policy` (the network is cut at the
    /// policy's prefix now; later checks use the stored network).
    pub(crate) fn of(client: &ClientSnapshot, policy: &Binding) -> Self {
        let network = client.ip.and_then(|ip| {
            let ip = ip.to_canonical();
            let prefix = match (policy.ip, ip) {
                (IpMatch::Exact, std::net::IpAddr::V4(_)) => 32,
                (IpMatch::Exact, std::net::IpAddr::V6(_)) => 128,
                (IpMatch::Network { v4_prefix, .. }, std::net::IpAddr::V4(_)) => v4_prefix,
                (IpMatch::Network { v6_prefix, .. }, std::net::IpAddr::V6(_)) => v6_prefix,
            };
            IpNet::new(ip, prefix).ok().map(|net| net.trunc().to_string())
        });
        let ua = client.user_agent_string();
        let summary = ua.as_deref().map(UserAgentSummary::parse);
        Self {
            network,
            ua_hash: ua.as_deref().map(ua_hash),
            ua_browser: summary.as_ref().map(UserAgentSummary::browser_major),
            ua_family: summary.as_ref().map(UserAgentSummary::family_and_platform),
        }
    }

    /// True when `summary` is of the browser family (and platform) that
    /// signed in: a difference of version or detail only.
    fn same_family(&self, summary: &UserAgentSummary) -> bool {
        match (&self.ua_family, &self.ua_browser) {
            (Some(family), _) => *family == summary.family_and_platform(),
            // An older fingerprint: the family is `uab` without its version.
            (None, Some(browser)) => browser.split(' ').next() == summary.browser.split(' ').next(),
            (None, None) => false,
        }
    }

    /// Compares with the request's `client`. A part recorded at login but
    /// missing now is a mismatch (fail closed); a part unknown at login is
    /// not compared.
    pub(crate) fn verdict(&self, client: &ClientSnapshot, policy: &Binding) -> Verdict {
        let ip_ok = match &self.network {
            None => true,
            Some(net) => match (net.parse::<IpNet>(), client.ip) {
                (Ok(net), Some(ip)) => net.contains(&ip.to_canonical()),
                _ => false,
            },
        };
        let ua = client.user_agent_string();
        let ua_ok = match (policy.user_agent, &self.ua_browser, &self.ua_hash) {
            (UserAgentMatch::BrowserMajor, Some(browser), _) => {
                ua.as_deref().is_some_and(|ua| UserAgentSummary::parse(ua).browser_major() == *browser)
            }
            (_, _, Some(hash)) => ua.as_deref().is_some_and(|ua| ua_hash(ua) == *hash),
            (_, _, None) => true,
        };
        // Same family and platform, another version or detail: at most a
        // basic mismatch (an update, "Request desktop site").
        let ua_mode = match ua.as_deref() {
            Some(ua) if !ua_ok && self.same_family(&UserAgentSummary::parse(ua)) => {
                policy.user_agent_mode.min(Mode::Basic)
            }
            _ => policy.user_agent_mode,
        };
        let parts = [(ip_ok, policy.ip_mode, "ip"), (ua_ok, ua_mode, "user agent")];
        let worst = parts.into_iter().filter(|(ok, _, _)| !ok).max_by_key(|(_, mode, _)| *mode);
        match worst {
            Some((_, Mode::Strong, what)) => Verdict::Destroy { what },
            Some((_, Mode::Basic, what)) => Verdict::NotFresh { what },
            Some((_, Mode::Off, _)) | None => Verdict::Match,
        }
    }
}

fn ua_hash(ua: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::new().chain_update(b"palisade/v1/user-agent\0").chain_update(ua).finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME: &str =
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
    const CHROME_NEXT: &str =
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.1.0 Safari/537.36";
    const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";

    fn client(ip: &str, ua: &str) -> ClientSnapshot {
        ClientSnapshot { ip: Some(ip.parse().unwrap()), user_agent: Some(http::HeaderValue::from_str(ua).unwrap()) }
    }

    #[test]
    fn default_keeps_the_network_and_hashes_the_agent() {
        let fp = Fingerprint::of(&client("203.0.113.7", CHROME), &Binding::default());
        assert_eq!(fp.network.as_deref(), Some("203.0.113.0/24"));
        assert_eq!(fp.ua_browser.as_deref(), Some("Chrome 120"));
        assert!(!fp.ua_hash.as_deref().unwrap().contains("Chrome"), "a hash, not the agent");
        let v6 = Fingerprint::of(&client("2001:db8:1:2:3:4:5:6", CHROME), &Binding::default());
        assert_eq!(v6.network.as_deref(), Some("2001:db8:1:2::/64"));
    }

    #[test]
    fn ipv4_mapped_addresses_count_as_ipv4() {
        let fp = Fingerprint::of(&client("::ffff:203.0.113.7", CHROME), &Binding::default());
        assert_eq!(fp.network.as_deref(), Some("203.0.113.0/24"));
        assert_eq!(fp.verdict(&client("203.0.113.99", CHROME), &Binding::strong()), Verdict::Match);
    }

    #[test]
    fn default_policy_destroys_on_another_agent_and_unfreshens_on_another_network() {
        let policy = Binding::default();
        let fp = Fingerprint::of(&client("203.0.113.7", CHROME), &policy);
        assert_eq!(fp.verdict(&client("203.0.113.200", CHROME), &policy), Verdict::Match);
        assert_eq!(fp.verdict(&client("198.51.100.7", CHROME), &policy), Verdict::NotFresh { what: "ip" });
        assert_eq!(fp.verdict(&client("203.0.113.7", FIREFOX), &policy), Verdict::Destroy { what: "user agent" });
        assert_eq!(fp.verdict(&client("198.51.100.7", FIREFOX), &policy), Verdict::Destroy { what: "user agent" });
    }

    #[test]
    fn a_version_change_unfreshens_and_a_platform_change_destroys() {
        let policy = Binding::default();
        let fp = Fingerprint::of(&client("203.0.113.7", CHROME), &policy);
        assert_eq!(fp.verdict(&client("203.0.113.7", CHROME_NEXT), &policy), Verdict::NotFresh { what: "user agent" });
        let windows = CHROME.replace("X11; Linux x86_64", "Windows NT 10.0; Win64; x64");
        assert_eq!(fp.verdict(&client("203.0.113.7", &windows), &policy), Verdict::Destroy { what: "user agent" });
        // A fingerprint written before the family was recorded.
        let old = Fingerprint { ua_family: None, ..fp.clone() };
        assert_eq!(old.verdict(&client("203.0.113.7", CHROME_NEXT), &policy), Verdict::NotFresh { what: "user agent" });
        assert_eq!(old.verdict(&client("203.0.113.7", FIREFOX), &policy), Verdict::Destroy { what: "user agent" });
    }

    #[test]
    fn exact_ip_refuses_a_neighbour() {
        let policy = Binding::strong().ip(Mode::Strong, IpMatch::Exact);
        let fp = Fingerprint::of(&client("203.0.113.7", CHROME), &policy);
        assert_eq!(fp.verdict(&client("203.0.113.7", CHROME), &policy), Verdict::Match);
        assert_eq!(fp.verdict(&client("203.0.113.8", CHROME), &policy), Verdict::Destroy { what: "ip" });
    }

    #[test]
    fn browser_major_tolerates_a_minor_change_only() {
        let policy = Binding::strong().user_agent(Mode::Strong, UserAgentMatch::BrowserMajor);
        let fp = Fingerprint::of(&client("203.0.113.7", CHROME), &policy);
        assert_eq!(fp.verdict(&client("203.0.113.7", CHROME_NEXT), &policy), Verdict::Match);
        assert_eq!(fp.verdict(&client("203.0.113.7", FIREFOX), &policy), Verdict::Destroy { what: "user agent" });
        let whole = Binding::strong();
        assert_eq!(fp.verdict(&client("203.0.113.7", CHROME_NEXT), &whole), Verdict::NotFresh { what: "user agent" });
    }

    #[test]
    fn a_part_that_disappears_is_a_mismatch_and_off_compares_nothing() {
        let fp = Fingerprint::of(&client("203.0.113.7", CHROME), &Binding::strong());
        let anonymous = ClientSnapshot::default();
        assert!(matches!(fp.verdict(&anonymous, &Binding::strong()), Verdict::Destroy { .. }));
        assert_eq!(fp.verdict(&anonymous, &Binding::off()), Verdict::Match);
        let unknown_at_login = Fingerprint::of(&ClientSnapshot::default(), &Binding::strong());
        assert_eq!(unknown_at_login.verdict(&client("198.51.100.1", FIREFOX), &Binding::strong()), Verdict::Match);
    }

    #[test]
    fn prefixes_longer_than_the_address_are_refused() {
        let bad = Binding::default().ip(Mode::Basic, IpMatch::Network { v4_prefix: 33, v6_prefix: 64 });
        assert!(bad.validate().is_err());
        assert!(Binding::default().validate().is_ok());
    }
}
