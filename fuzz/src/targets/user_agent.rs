//! The user-agent summary the devices page and the binding layer show.
//!
//! Properties: never panics; the summary is short (bounded whatever the
//! header's length) and holds no control characters (it goes into logs and
//! pages).

use crate::input::text;
use palisade::binding::UserAgentSummary;

pub fn run(data: &[u8]) {
    let header = text(data);
    let summary = UserAgentSummary::parse(&header);
    for shown in [summary.to_string(), summary.browser_major(), summary.family_and_platform()] {
        assert!(shown.len() <= 128, "{} bytes: {shown:?}", shown.len());
        assert!(!shown.chars().any(char::is_control), "control characters: {shown:?}");
    }
}
