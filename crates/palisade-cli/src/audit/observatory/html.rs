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
}

impl Page {
    pub fn read(session: &Session) -> Self {
        let content_type = session.headers.get("content-type").unwrap_or("");
        // Exact, untrimmed and case-sensitive, as the Observatory compares.
        let essence = content_type.split(';').next().unwrap_or("");
        let is_html = essence == "text/html" || essence == "application/xhtml+xml";
        let text = String::from_utf8_lossy(&session.body).into_owned();
        let source = page_source(&text);
        let mut page = Page { is_html, ..Page::default() };
        let Some(source) = source.filter(|_| is_html) else { return page };
        // Meta tags: parsed as a fragment with scripting on, as the
        // Observatory's JSDOM.fragment does (<noscript> is text there).
        let fragment = Html::parse_fragment(&source);
        let metas = Selector::parse("meta").expect("a valid selector");
        for meta in fragment.select(&metas).filter(|m| !in_template(m)) {
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
        // Scripts: the document parsed with scripting off, as `new JSDOM`
        // parses it (<noscript> then holds elements).
        let document = parse_without_scripting(&source);
        let scripts = Selector::parse("script").expect("a valid selector");
        page.scripts = document
            .select(&scripts)
            .filter(|script| !in_template(script))
            .map(|script| {
                let element = script.value();
                // Only an HTML <script> has `.src` (an SVG one does not).
                let html = element.name.ns == html5ever::ns!(html);
                Script {
                    src: element.attr("src").filter(|s| html && !s.is_empty()).map(normalise_src),
                    integrity: element.attr("integrity").filter(|s| !s.is_empty()).map(str::to_owned),
                }
            })
            .collect();
        let links = Selector::parse("link[href]").expect("a valid selector");
        page.stylesheets = document
            .select(&links)
            .filter(|link| {
                !in_template(link)
                    && link
                        .value()
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
        for element in document.select(&loaders).filter(|e| !in_template(e)) {
            let element = element.value();
            let url = ["src", "href", "data", "action"].iter().find_map(|a| element.attr(a));
            if let Some(url) = url {
                page.references.push((element.name().to_owned(), url.trim().to_owned()));
            }
        }
        page
    }
}

/// Inside a `<template>`: inert content, which `querySelectorAll` (and
/// the browser) does not see.
fn in_template(element: &scraper::ElementRef<'_>) -> bool {
    element.ancestors().any(|node| node.value().as_element().is_some_and(|e| e.name() == "template"))
}

fn parse_without_scripting(source: &str) -> Html {
    use html5ever::driver::ParseOpts;
    use html5ever::tree_builder::TreeBuilderOpts;
    use tendril::TendrilSink;
    let opts = ParseOpts {
        tree_builder: TreeBuilderOpts { scripting_enabled: false, ..TreeBuilderOpts::default() },
        ..ParseOpts::default()
    };
    html5ever::driver::parse_document(scraper::HtmlTreeSink::new(Html::new_document()), opts).one(source)
}

/// What the Observatory's page parsers get: its HTTP client (axios)
/// turns a body that is JSON into a value first, and the parsers then
/// read that value as JavaScript's `String()` writes it (a JSON string
/// as its text, an array joined with commas, an object as
/// `[object Object]`). `None` for a value JavaScript calls false.
fn page_source(text: &str) -> Option<String> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Err(_) => Some(text.to_owned()).filter(|t| !t.is_empty()),
        Ok(value) => {
            let falsy = match &value {
                serde_json::Value::Null => true,
                serde_json::Value::Bool(b) => !b,
                serde_json::Value::Number(n) => n.as_f64() == Some(0.0),
                serde_json::Value::String(s) => s.is_empty(),
                _ => false,
            };
            (!falsy).then(|| js_string(&value))
        }
    }
}

fn js_string(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::Bool(b) => b.to_string(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => items.iter().map(js_string).collect::<Vec<_>>().join(","),
        serde_json::Value::Object(_) => "[object Object]".to_owned(),
    }
}

/// `script.src` as the DOM reports it with an `about:blank` base: an
/// absolute URL parsed and serialised (`http:/x.js` becomes
/// `http://x.js/`), anything else as written.
fn normalise_src(src: &str) -> String {
    match reqwest::Url::parse(src) {
        Ok(url) => url.to_string(),
        Err(_) => src.to_owned(),
    }
}
