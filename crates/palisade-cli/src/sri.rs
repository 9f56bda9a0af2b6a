//! `palisade sri`: integrity values for files and URLs, with the library's
//! own hashing (`palisade::sri::Integrity`), so the CLI and an app's
//! `SriAssets` can never disagree.

use crate::cli::{Algo, Input, SriArgs};
use crate::fetch::{self, FetchError};
use palisade::sri::{HashAlgorithm, Integrity, SriError};

#[derive(Debug, thiserror::Error)]
pub enum SriCommandError {
    #[error(transparent)]
    File(#[from] SriError),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(
        "{0}: --html needs to know whether this is a script or a stylesheet; name it .js/.mjs or .css \
         (or serve it with a JavaScript or CSS Content-Type)"
    )]
    UnknownKind(String),
}

fn algorithm(algo: Algo) -> HashAlgorithm {
    match algo {
        Algo::Sha256 => HashAlgorithm::Sha256,
        Algo::Sha384 => HashAlgorithm::Sha384,
        Algo::Sha512 => HashAlgorithm::Sha512,
    }
}

/// One output line per input: the integrity values (space-separated, as
/// the attribute takes them) and the input, or the whole tag with `--html`.
pub async fn run(args: &SriArgs) -> Result<Vec<String>, SriCommandError> {
    let client = if args.inputs.iter().any(|i| matches!(Input::parse(i), Input::Url(_))) {
        Some(fetch::client()?)
    } else {
        None
    };
    let mut lines = Vec::with_capacity(args.inputs.len());
    for text in &args.inputs {
        let (values, kind) = match Input::parse(text) {
            Input::File(path) => {
                let values = args
                    .algo
                    .iter()
                    .map(|&a| Integrity::of_file(algorithm(a), &path))
                    .collect::<Result<Vec<_>, _>>()?;
                (values, Kind::of_name(text))
            }
            Input::Url(url) => {
                let client = client.as_ref().expect("a client was made for URL inputs");
                let fetched = fetch::get(client, &url).await?;
                let values = args.algo.iter().map(|&a| Integrity::of_bytes(algorithm(a), &fetched.body)).collect();
                let kind = fetched.content_type.as_deref().and_then(Kind::of_content_type).or(Kind::of_name(&url));
                (values, kind)
            }
        };
        let integrity = values.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ");
        if args.html {
            let kind = kind.ok_or_else(|| SriCommandError::UnknownKind(text.clone()))?;
            lines.push(kind.tag(&escape_attribute(text), &integrity));
        } else {
            lines.push(format!("{integrity}  {text}"));
        }
    }
    Ok(lines)
}

/// Script or stylesheet: the two kinds of tag `integrity` works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Script,
    Stylesheet,
}

impl Kind {
    fn of_name(name: &str) -> Option<Self> {
        let path = name.split(['?', '#']).next().unwrap_or(name).to_ascii_lowercase();
        if path.ends_with(".js") || path.ends_with(".mjs") {
            Some(Kind::Script)
        } else if path.ends_with(".css") {
            Some(Kind::Stylesheet)
        } else {
            None
        }
    }

    fn of_content_type(value: &str) -> Option<Self> {
        let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match essence.as_str() {
            "text/javascript" | "application/javascript" | "application/x-javascript" => Some(Kind::Script),
            "text/css" => Some(Kind::Stylesheet),
            _ => None,
        }
    }

    /// `crossorigin="anonymous"`: a cross-origin file is checked only when
    /// fetched with CORS (else the browser refuses it), and without
    /// credentials no cookie goes to the CDN.
    fn tag(self, src: &str, integrity: &str) -> String {
        match self {
            Kind::Script => {
                format!(r#"<script src="{src}" integrity="{integrity}" crossorigin="anonymous"></script>"#)
            }
            Kind::Stylesheet => {
                format!(r#"<link rel="stylesheet" href="{src}" integrity="{integrity}" crossorigin="anonymous">"#)
            }
        }
    }
}

/// A path or URL inside a double-quoted attribute.
fn escape_attribute(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_comes_from_the_name_or_the_content_type() {
        assert_eq!(Kind::of_name("static/app.min.js"), Some(Kind::Script));
        assert_eq!(Kind::of_name("https://cdn.example/x.CSS?v=3"), Some(Kind::Stylesheet));
        assert_eq!(Kind::of_name("https://cdn.example/lib"), None);
        assert_eq!(Kind::of_content_type("text/javascript; charset=utf-8"), Some(Kind::Script));
        assert_eq!(Kind::of_content_type("text/html"), None);
    }

    #[test]
    fn a_quote_in_the_path_cannot_break_out_of_the_attribute() {
        let tag = Kind::Script.tag(&escape_attribute(r#"a".js"#), "sha384-x");
        assert!(tag.starts_with(r#"<script src="a&quot;.js" "#), "{tag}");
    }
}
