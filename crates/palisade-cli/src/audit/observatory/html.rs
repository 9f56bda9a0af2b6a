//! What the graders read from the page itself: `<meta>` CSP and referrer
//! policies, and `<script>` tags. Parsed with html5ever (through scraper),
//! as a browser parses, never with patterns over the text.

use crate::audit::fetch::Session;
use scraper::{Html, Selector};

/// A `<script>` element.
#[derive(Clone, Debug)]
pub struct Script {
    /// The `src` attribute (absolute URLs normalised as the DOM does).
    pub src: Option<String>,
    /// The `integrity` attribute; an empty one counts as absent.
    pub integrity: Option<String>,
}

/// The parts of a page the tests use.
#[derive(Debug, Default)]
pub struct Page {
    /// The response's media type is HTML (`text/html` or
    /// `application/xhtml+xml`, compared exactly as the Observatory does).
    pub is_html: bool,
    /// `<meta http-equiv="Content-Security-Policy">` contents, in order.
    pub meta_csp: Vec<String>,
    /// The last `<meta name="referrer">` content.
    pub meta_referrer: Option<String>,
    /// Every `<script>`, inline ones included.
    pub scripts: Vec<Script>,
    /// `<link rel="stylesheet">` elements (their `href` in `src`).
    pub stylesheets: Vec<Script>,
    /// Every URL the page loads or submits to, with its element:
    /// `("img", "http://…")`, for the mixed-content check.
    pub references: Vec<(String, String)>,
    /// The whole page text, for the checks beyond the Observatory.
    pub text: String,
}

impl Page {
    pub fn read(session: &Session) -> Self {
        let content_type = session.headers.get("content-type").unwrap_or("");
        // Exact, untrimmed and case-sensitive, as the Observatory compares.
        let essence = content_type.split(';').next().unwrap_or("");
        let is_html = essence == "text/html" || essence == "application/xhtml+xml";
        let text = String::from_utf8_lossy(&session.body).into_owned();
        let mut page = Page { is_html, text, ..Page::default() };
        // The Observatory's HTTP client turns any body that parses as JSON
        // into an object before the HTML parser sees it: no tags then.
        if !is_html || text_is_json(&page.text) || page.text.is_empty() {
            return page;
        }
        let document = Html::parse_document(&page.text);
        let metas = Selector::parse("meta").expect("a valid selector");
        for meta in document.select(&metas) {
            let element = meta.value();
            let content = element.attr("content");
            match (element.attr("http-equiv"), content) {
                (Some(equiv), Some(content)) => {
                    if equiv.trim().eq_ignore_ascii_case("content-security-policy") && !content.is_empty() {
                        page.meta_csp.push(content.to_owned());
                    }
                }
                _ => {
                    let is_referrer = element.attr("name").is_some_and(|n| n.trim().eq_ignore_ascii_case("referrer"));
                    if let (true, Some(content)) = (is_referrer, content.filter(|c| !c.is_empty())) {
                        page.meta_referrer = Some(content.to_owned());
                    }
                }
            }
        }
        let scripts = Selector::parse("script").expect("a valid selector");
        page.scripts = document
            .select(&scripts)
            .map(|script| {
                let element = script.value();
                Script {
                    src: element.attr("src").filter(|s| !s.is_empty()).map(normalise_src),
                    integrity: element.attr("integrity").filter(|s| !s.is_empty()).map(str::to_owned),
                }
            })
            .collect();
        let links = Selector::parse("link[href]").expect("a valid selector");
        page.stylesheets = document
            .select(&links)
            .filter(|link| {
                link.value()
                    .attr("rel")
                    .is_some_and(|rel| rel.split_ascii_whitespace().any(|r| r.eq_ignore_ascii_case("stylesheet")))
            })
            .map(|link| Script {
                src: link.value().attr("href").filter(|s| !s.is_empty()).map(normalise_src),
                integrity: link.value().attr("integrity").filter(|s| !s.is_empty()).map(str::to_owned),
            })
            .collect();
        let loaders = Selector::parse(
            "script[src], link[href], img[src], iframe[src], audio[src], video[src], source[src], embed[src], \
             object[data], form[action], track[src]",
        )
        .expect("a valid selector");
        for element in document.select(&loaders) {
            let element = element.value();
            let url = ["src", "href", "data", "action"].iter().find_map(|a| element.attr(a));
            if let Some(url) = url {
                page.references.push((element.name().to_owned(), url.trim().to_owned()));
            }
        }
        page
    }
}

fn text_is_json(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text).is_ok()
}

/// `script.src` as the DOM reports it with an `about:blank` base: an
/// absolute URL parsed and serialised, anything else as written.
fn normalise_src(src: &str) -> String {
    let trimmed = src.trim();
    let lower = trimmed.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        if let Ok(url) = reqwest::Url::parse(trimmed) {
            return url.to_string();
        }
    }
    src.to_owned()
}
